"""What an explanation says, in the order a learner meets it, as blocks every renderer shows.

`build` turns the numbers (`Explanation.as_dict()`) into a list of blocks: headings, prose,
formula lines, rows of named matrices, and tables. The text, markdown and HTML renderers only
lay those blocks out, so the three formats always tell the same story with the same numbers.
"""

from __future__ import annotations

from . import _format as fmt, _rows
from . import _lr_sweep as sweep_rules
from ._blocks import Formula, Heading, Matrices, Para, Table
from ._formulas import ACTIVATION_FORMULA, DERIVATIVE, LOSS_FORMULA, LOSS_NAME, OUTPUT_DELTA

MAX_ROWS_LISTED = 6  # more rows than this moving one way are counted, not listed


def label(key: str) -> str:
    """A quantity's name as a learner reads it: dL_dW1 -> dL/dW1, W1_new -> W1 new."""
    if key.startswith("dL_d"):
        return "dL/d" + key[4:]
    if key.startswith("fprime"):
        return f"f'(z{key[6:]})"
    return key.replace("_new", " new").replace("_after", " after")


def build(data: dict) -> list:
    """The blocks of the explanation of ``data`` (an `Explanation.as_dict()`)."""
    v = data["backends"][data["backend"]]
    net = data["network"]
    sizes, acts, loss = net["layer_sizes"], net["activations"], net["loss"]
    L = len(sizes) - 1
    lr = fmt.rate(data["lr"])
    blocks = [Heading(data["title"], 1)]
    blocks += _intro(data, sizes, acts, loss, lr)
    blocks += _inputs(data, v)
    blocks += _forward(v, sizes, acts, L)
    blocks += _loss(v, loss)
    blocks += _backward(v, acts, loss, L)
    blocks += _update(v, lr, L)
    blocks += _after(data, v)
    blocks += _sweep(data)
    blocks += _backends(data)
    return blocks


def _intro(data, sizes, acts, loss, lr) -> list:
    layers = ", then ".join(
        f"{n} {'output' if k == len(sizes) - 1 else 'hidden'} unit{'s' if n != 1 else ''} ({act})"
        for k, (n, act) in enumerate(zip(sizes[1:], acts), start=1))
    chosen = ("the rate whose one step lowers this batch's loss most (section 7 shows what it does "
              "over many steps)" if data["lr_from"] == "sweep" else "the rate you chose")
    dtype = data["network"]["model_dtype"]
    cast = f" (the model is {dtype}; its weights were copied to float64)" if dtype != "float64" else ""
    seed = data["network"].get("seed")
    text = (f"The network: {sizes[0]} inputs, then {layers}; loss: {LOSS_NAME[loss]}. "
            f"{'Its weights are fastmlp initial weights (seed ' + str(seed) + '). ' if seed is not None else ''}"
            f"The step is plain gradient descent with learning rate lr = {lr}, {chosen}. "
            f"Every number was computed by the {data['backend']} backend's kernels in float64{cast}; "
            f"each matrix shows its largest entry to {fmt.MATRIX_DIGITS} significant digits and its "
            "other entries with as many decimals, so the decimal points line up.")
    blocks = [Para(text)]
    if data["data"]["note"]:
        blocks.append(Para(data["data"]["note"]))
    return blocks


def _inputs(data, v) -> list:
    names, target = data["data"]["feature_names"], data["data"]["target_name"]
    columns = f" (columns: {', '.join(names)})" if names else ""
    of = f" ({target})" if target else ""
    return [Heading("1. The inputs"),
            Para(f"Each row of x is one example{columns}; the same row of t is its target{of}. "
                 "The whole batch goes through the network at once."),
            Matrices([("x", v["x"]), ("t", v["t"])])]


def _forward(v, sizes, acts, L) -> list:
    blocks = [Heading("2. Forward pass"),
              Para("Each layer multiplies its input by a weight matrix, adds a bias and applies an "
                   "activation function: z = a_prev W + b, then a = f(z). Row i of z depends only on "
                   "row i of the input; column j of W holds the weights into unit j.")]
    for k in range(1, L + 1):
        prev = "x" if k == 1 else f"a{k - 1}"
        act = acts[k - 1]
        out = f"a{k}" if k < L else "p"
        blocks.append(Heading(f"Layer {k}: {sizes[k - 1]} -> {sizes[k]}, {act}", 3))
        blocks.append(Formula(f"z{k} = {prev} W{k} + b{k}"))
        formula = f"{out} = {act}(z{k}),  {ACTIVATION_FORMULA[act]}"
        blocks.append(Formula(formula + ("   (p is the prediction)" if k == L else "")))
        blocks.append(Matrices([(prev, v[prev]), (f"W{k}", v[f"W{k}"]), (f"b{k}", v[f"b{k}"]),
                                (f"z{k}", v[f"z{k}"]), (out, v[out])]))
        if k == L and act != "identity":
            blocks.append(Para(f"fastmlp fuses this {act} into the loss, which is faster and never takes "
                               "the log of a probability rounded to 0; the numbers are the same."))
        if k < L:
            blocks += _dead_units(v, k, act)
    return blocks


def _dead_units(v, k, act) -> list:
    """A note when a ReLU unit is 0 for every row (or a row has every unit at 0): no gradient
    flows back through it, which the backward pass will show as zeros."""
    blocks = []
    dead = _rows.dead_units(v, k, act)
    if dead:
        cols = _rows.listing(dead)
        one = len(dead) == 1
        blocks.append(Para(
            f"Unit{'' if one else 's'} {cols} of layer {k} (column{'' if one else 's'} {cols} of a{k}, "
            f"counted from 1) {'is' if one else 'are'} 0 for every row: z{k} is never positive there, so "
            f"relu's slope f'(z) is 0 and no gradient flows back through {'it' if one else 'them'}. The "
            f"backward pass shows {'this column' if one else 'these columns'} of delta{k} and dL/dW{k} as "
            f"zeros, so the weights into {'it' if one else 'them'} (column{'' if one else 's'} {cols} of W{k}, "
            f"entr{'y' if one else 'ies'} {cols} of b{k}) do not change in this step, nor, since a{k} is 0 "
            f"there, the weights out of {'it' if one else 'them'} (row{'' if one else 's'} {cols} of W{k + 1}). "
            "A ReLU unit that is off for every example is called dead; if it stays so on all the data, it "
            "never learns again (a smaller learning rate, or leaky_relu, can avoid it)."))
    silent = _rows.silent_rows(v, k, act)
    if silent and len(silent) < len(v[f"a{k}"]):
        rows = _rows.listing(silent)
        one = len(silent) == 1
        blocks.append(Para(
            f"Row{'' if one else 's'} {rows} of a{k} {'is' if one else 'are'} 0 in every unit: "
            f"{'that example adds' if one else 'those examples add'} nothing to dL/dW{k + 1} and "
            f"{'sends' if one else 'send'} no gradient further back, to "
            f"{'layer 1' if k == 1 else f'layers 1 to {k}'}."))
    return blocks


def _loss(v, loss) -> list:
    return [Heading("3. Prediction, error and loss"),
            Formula("error = p - t"),
            Matrices([("p", v["p"]), ("t", v["t"]), ("error", v["error"])]),
            Formula(LOSS_FORMULA[loss]),
            Formula(f"L = {fmt.scalar(v['loss'], 10)}")]


def _backward(v, acts, loss, L) -> list:
    n = _mean_count(v, loss)
    delta, why = OUTPUT_DELTA[loss]
    out = f"delta{L}"
    blocks = [Heading("4. Backward pass"),
              Para("Backpropagation finds how much each weight contributed to the loss, the partial "
                   "derivative dL/dW, starting at the output and going back one layer at a time with "
                   "the chain rule. A layer's delta is dL/dz, the loss's sensitivity to its z."),
              Heading(f"Layer {L} (output): the output delta", 3),
              Formula(f"{out} = dL/dz{L} = {delta},  N = {n}"),
              Para(f"Why so simple: {why}."),
              Matrices([("error", v["error"]), (out, v[out])])]
    blocks += _gradients(v, L)
    for k in range(L - 1, 0, -1):
        act = acts[k - 1]
        blocks.append(Heading(f"Layer {k}: the chain rule", 3))
        blocks.append(Formula(f"dL/da{k} = delta{k + 1} W{k + 1}^T"))
        blocks.append(Matrices([(f"delta{k + 1}", v[f"delta{k + 1}"]), (f"W{k + 1}", v[f"W{k + 1}"]),
                                (f"dL/da{k}", v[f"dL_da{k}"])]))
        if f"fprime{k}" in v:
            blocks.append(Formula(f"delta{k} = dL/da{k} * f'(z{k}),  {DERIVATIVE[act]}  (* entry by entry)"))
            blocks.append(Matrices([(f"dL/da{k}", v[f"dL_da{k}"]), (f"f'(z{k})", v[f"fprime{k}"]),
                                    (f"delta{k}", v[f"delta{k}"])]))
        else:  # softmax: every output depends on every z of the row
            blocks.append(Formula(f"delta{k} = a{k} * (dL/da{k} - sum_j dL/da{k}_j a{k}_j)  "
                                  "(softmax's Jacobian times dL/da, row by row)"))
            blocks.append(Matrices([(f"dL/da{k}", v[f"dL_da{k}"]), (f"delta{k}", v[f"delta{k}"])]))
        blocks += _gradients(v, k)
    return blocks


def _gradients(v, k) -> list:
    prev = "x" if k == 1 else f"a{k - 1}"
    return [Formula(f"dL/dW{k} = {prev}^T delta{k}   (each input times each delta, summed over the rows)"),
            Formula(f"dL/db{k} = sum of delta{k} over the rows"),
            Matrices([(prev, v[prev]), (f"delta{k}", v[f"delta{k}"]), (f"dL/dW{k}", v[f"dL_dW{k}"]),
                      (f"dL/db{k}", v[f"dL_db{k}"])])]


def _update(v, lr, L) -> list:
    blocks = [Heading("5. The update (gradient descent)"),
              Para("Each weight moves against its gradient, by the learning rate times the gradient: a "
                   "weight whose increase would raise the loss goes down, and the steeper, the further."),
              Formula(f"dW = -lr * dL/dW,   W new = W + dW   (lr = {lr}; the same for b)")]
    for k in range(1, L + 1):
        blocks.append(Heading(f"Layer {k}", 3))
        blocks.append(Matrices([(f"W{k}", v[f"W{k}"]), (f"dL/dW{k}", v[f"dL_dW{k}"]),
                                (f"dW{k}", v[f"dW{k}"]), (f"W{k} new", v[f"W{k}_new"])]))
        blocks.append(Matrices([(f"b{k}", v[f"b{k}"]), (f"dL/db{k}", v[f"dL_db{k}"]),
                                (f"db{k}", v[f"db{k}"]), (f"b{k} new", v[f"b{k}_new"])]))
    return blocks


def _after(data, v) -> list:
    before, after = v["loss"], v["loss_after"]
    one = len(v["t"][0]) == 1
    dist = "|p - t|" if one else "sum |p - t|"
    rows = _rows.moves(v)
    blocks = [Heading("6. After the step"),
              Para(f"The same batch through the new weights, and each row's distance from its target, "
                   f"{dist}{'' if one else ' over its outputs'}:"),
              Matrices([("p before", v["p"]), ("p after", v["p_after"]), ("t", v["t"]),
                        (f"{dist} before", rows["before"][:, None]), (f"{dist} after", rows["after"][:, None])])]
    if after is None:
        blocks.append(Formula(f"loss before {fmt.scalar(before)}  ->  after: overflow"))
        blocks.append(Para("The step was so large that the loss overflowed: this learning rate is far "
                           "too large (see the next section)."))
        return blocks
    change = after - before
    rel = f", {change / before:+.2%}" if before else ""
    blocks.append(Formula(f"loss before {fmt.scalar(before)}  ->  after {fmt.scalar(after)}   "
                          f"(change {fmt.scalar(change, 3)}{rel})"))
    blocks.append(Para(_loss_sentence(data, before, after) + " " + _rows_sentence(rows, dist)))
    if after < before and rows["away"]:
        blocks.append(Para(
            "That is normal for a batch step: the gradient is the mean of the rows' gradients, so the step "
            "goes where the rows gain most together, and a row whose own gradient points another way can "
            "lose ground. The next steps start from new gradients and can win it back."))
    return blocks


def _loss_sentence(data, before, after) -> str:
    if after < before:
        return "The batch loss went down."
    if after > before:
        return (f"The batch loss went up: a step against the gradient lowers the loss when it is short "
                f"enough, so lr = {fmt.rate(data['lr'])} is too long a step for this batch (see the next section).")
    return "The loss did not change (the gradient is zero, or the step too small to show)."


def _rows_sentence(rows, dist) -> str:
    """Which rows moved toward their targets and which away, with the distances shown above."""
    n = len(rows["before"])
    if len(rows["toward"]) == n:
        return f"Every row moved toward its target: {dist} fell in each one."
    if len(rows["away"]) == n:
        return f"Every row moved away from its target: {dist} grew in each one."
    shown_before, shown_after = _column_text(rows["before"]), _column_text(rows["after"])
    parts = []
    for key, verb in (("toward", "moved toward its target"), ("away", "moved away from its target"),
                      ("same", "stayed where it was")):
        picked = rows[key]
        if not picked:
            continue
        plural = len(picked) > 1
        verb = verb.replace("its target", "their targets") if plural else verb
        if len(picked) > MAX_ROWS_LISTED:  # a long list reads worse than a count
            parts.append(f"{len(picked)} rows {verb}")
            continue
        changes = ", ".join(f"{shown_before[i - 1]} -> {shown_after[i - 1]}" for i in picked)
        parts.append(f"row{'s' if plural else ''} {_rows.listing(picked)} {verb} ({dist} {changes})")
    return f"Row by row (counted from 1): {'; '.join(parts)}."


def _column_text(values) -> list:
    """A column's entries as the matrix above prints them (same decimals), so the prose matches."""
    return [row[0].strip() for row in fmt.matrix_cells(values[:, None], max_rows=len(values))]


def _sweep(data) -> list:
    sweep = data["lr_sweep"]
    runs, steps = sweep["run_grid"], sweep["run_steps"]
    entries = sweep["rates"]
    rows = [["lr"] + [fmt.rate(e["lr"]) for e in entries],
            ["loss at the start"] + [fmt.scalar(e["loss_before"]) for e in entries],
            ["after 1 step"] + [fmt.scalar(e["loss_after"]) for e in entries],
            ["1 step: the loss"] + [e["verdict"] for e in entries]]
    for j, n in enumerate(sweep["checkpoints"][1:], start=1):
        rows.append([f"after {n} steps"] + [_run_loss(e["run_loss"][j]) for e in entries])
    rows.append([f"{steps} steps: the loss"] + [e["run_verdict"] for e in entries])
    rules = sweep_rules
    return [Heading("7. The learning rate: what a rate does over many steps"),
            Para("The gradient fixes the direction of a step; the learning rate sets its length. One step "
                 "says little about training, which takes many: so, starting from the same weights, "
                 f"{steps} steps of gradient descent on this batch were run (by the NumPy oracle) at every "
                 f"rate 1, 2, 5 x 10^k from {fmt.rate(runs[0])} to {fmt.rate(runs[-1])}. A run "
                 f"'{rules.DIVERGES}' when it ends no lower than it started (runs are stopped once the loss "
                 f"passes {rules.GIVE_UP:g} times its start), is '{rules.UNSTEADY}' when the loss rose on "
                 f"some step on the way, and '{rules.CRAWLS}' when it falls less than "
                 f"{rules.CRAWL_FRACTION:.0%} as far as the good run. 'good' ends lowest among the runs "
                 f"that fall at every step; 'too small' is the largest smaller rate that crawls; 'too large' "
                 f"the smallest larger rate that diverges; 'best single step' is the rate whose first step "
                 f"alone lowers the loss most (fm.plot.lr_sweep draws each run's whole curve). The first "
                 f"step at each is by the {data['backend']} backend:"),
            Table([""] + [e["label"] for e in entries], rows, [False] + [True] * len(entries)),
            Para(_sweep_moral(entries, steps))]


def _run_loss(value) -> str:
    return "stopped" if value is None else fmt.scalar(value)


def _sweep_moral(entries, steps) -> str:
    """What the columns teach, said from this batch's runs."""
    by_label = {label: e for e in entries for label in e["labels"]}
    good, greedy, large = by_label["good"], by_label["best single step"], by_label["too large"]
    g, best = fmt.rate(greedy["lr"]), fmt.rate(good["lr"])
    if good["run_verdict"] != sweep_rules.STEADY:
        return ("No rate tried lowered this batch's loss at every step of its run: the gradient is zero "
                "or nearly so here, and the rates cannot be told apart.")
    why = ("One step is judged only along the first gradient, where the loss curves gently; the next "
           "gradients point across the valley's steeper sides, where a step that long jumps from wall to wall.")
    if greedy is good:
        text = (f"Here the best single step, lr = {g}, is also the rate whose {steps}-step run ends lowest "
                "while falling at every step.")
        if large["run_verdict"] == sweep_rules.DIVERGES:
            text += (f" A few times larger, lr = {fmt.rate(large['lr'])} overshoots: its loss ends no lower "
                     "than it started.")
        return text
    if greedy["run_verdict"] == sweep_rules.DIVERGES:
        return (f"The best single step, lr = {g}, is too large to train with: after {steps} steps its loss is "
                f"no lower than at the start, while at lr = {best} it falls at every step. " + why)
    if greedy["run_verdict"] == sweep_rules.UNSTEADY:
        end = "lower" if _end(greedy) < _end(good) else "higher"
        return (f"The best single step, lr = {g}, overshoots: over {steps} steps its loss rose on some steps "
                f"(it ends {end} than at lr = {best}, which falls at every step). " + why)
    return (f"Here the best single step, lr = {g}, falls at every step too, but ends higher after {steps} "
            f"steps than lr = {best}: which rate looks best depends on how many steps you look at, and "
            "training takes many.")


def _end(entry) -> float:
    end = entry["run_loss"][-1]
    return float("inf") if end is None else end


def _backends(data) -> list:
    names = list(data["backends"])
    blocks = [Heading("8. Three implementations, the same numbers"),
              Para("Each backend ran the step above with its own kernels: dense_forward, "
                   "activation_forward, loss_forward_backward, activation_backward, dense_backward "
                   "and sgd_step. NumPy is the oracle. Each row shows one entry of a quantity, the one "
                   "where the backends differ most, with all 17 significant digits a float64 has; the "
                   "last column is the largest difference from NumPy over all of its entries.")]
    rows = []
    for row in data["comparison"]:
        index = "[" + ",".join(map(str, row["index"])) + "]" if row["index"] else ""
        diff = row["max_abs_diff"]
        rows.append([label(row["quantity"]) + index] + [fmt.exact(row["values"][n]) for n in names]
                    + ["0" if diff == 0 else ("inf" if diff is None else f"{diff:.1e}")])
    blocks.append(Table(["quantity"] + names + ["max abs diff"], rows, [False] + [True] * (len(names) + 1)))
    worst = max((r["max_abs_diff"] for r in data["comparison"] if r["max_abs_diff"] is not None), default=0.0)
    blocks.append(Para(
        f"Largest difference anywhere: {'0 (identical to the last bit)' if worst == 0 else format(worst, '.1e')}. "
        "float64 carries about 16 significant digits; the backends add and multiply in different orders "
        "(blocked matrix multiply, vectorized exp and tanh), so the last digit or two may differ, "
        "and nothing more."))
    for name, why in data["unavailable_backends"].items():
        blocks.append(Para(f"The {name} backend is not available here: {why}"))
    return blocks


def _mean_count(v, loss) -> int:
    """N, the count the loss averages over: rows for cross_entropy, every entry otherwise."""
    t = v["t"]
    rows, cols = len(t), len(t[0])
    return rows if loss == "cross_entropy" else rows * cols


def _change(entry) -> str:
    """The loss's change as a percentage, or as a factor once it has grown tenfold or more."""
    if entry["loss_after"] is None:
        return "overflow"
    rel = entry["relative_change"]
    if rel is None:  # the loss before was 0
        return fmt.scalar(entry["change"], 3)
    return f"x{rel + 1:.3g}" if rel + 1 >= 10 else f"{rel:+.2%}"
