"""What fm.explain *says* about its step: each sentence about rows, the loss and units must follow
from the numbers it prints. Cases are built where rows move away, where the loss rises, where every
row improves, and the text is checked against p, p after and t."""

from __future__ import annotations

import re

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.explain import explain

WIDTH = 1000  # one paragraph per line: sentences are searched without line breaks


def _paragraph(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(start))


def _distances(trace, key):
    return np.abs(np.array(trace[key]) - np.array(trace["t"])).sum(axis=1)


def _said_rows(sentence: str, verb: str) -> list:
    """Rows the sentence lists as having moved ``verb`` ("toward" or "away from")."""
    m = re.search(r"rows? ([\d, and]+) moved " + verb, sentence)
    return [] if m is None else [int(n) for n in re.findall(r"\d+", m.group(1))]


def _check_rows(result):
    data = result.as_dict()
    trace = data["backends"][data["backend"]]
    before, after = _distances(trace, "p"), _distances(trace, "p_after")
    text = result.to_text(width=WIDTH)
    sentence = _paragraph(text, "The batch loss went") if data["loss_after"] != data["loss_before"] else ""
    toward = [i + 1 for i in range(len(before)) if after[i] < before[i]]
    away = [i + 1 for i in range(len(before)) if after[i] > before[i]]
    if len(toward) == len(before):
        assert "Every row moved toward its target" in sentence
    elif len(away) == len(before):
        assert "Every row moved away from its target" in sentence
    else:
        assert _said_rows(sentence, "toward") == toward
        assert _said_rows(sentence, "away from") == away
    return data, text, sentence, toward, away


def test_xor_step_lowers_the_loss_but_two_rows_move_away():
    data, text, sentence, toward, away = _check_rows(explain(example="xor"))
    assert data["loss_after"] < data["loss_before"]
    assert away == [2, 3] and toward == [1, 4]  # the case: both target-1 rows lost ground
    assert sentence.startswith("The batch loss went down.")
    assert "0.3797 -> 0.4873" in sentence  # the distances as the matrix above prints them
    assert "moved the predictions toward the targets" not in text
    assert "That is normal for a batch step" in text


def test_house_step_one_row_error_grows():
    data, text, sentence, toward, away = _check_rows(explain(example="house"))
    assert data["loss_after"] < data["loss_before"] and away
    assert "That is normal for a batch step" in text


def test_loss_rises_at_a_huge_rate_and_every_row_moves_away():
    result = explain(example="house", lr=50.0)
    data, text, sentence, toward, away = _check_rows(result)
    assert data["loss_after"] > data["loss_before"]
    assert sentence.startswith("The batch loss went up") and "lr = 50 is too long a step" in sentence
    assert "That is normal for a batch step" not in text  # it explains a fall, not a rise


def test_every_row_improving_is_said_so():
    model = fm.MLP([1, 1], loss="mse", dtype="float64", backend="numpy", seed=0)
    x, y = np.array([[1.0], [2.0]]), np.array([5.0, 10.0])  # both rows are far below their targets
    result = explain(model, x, y, lr=0.01)
    data, text, sentence, toward, away = _check_rows(result)
    assert toward == [1, 2] and "Every row moved toward its target" in sentence
    assert "That is normal for a batch step" not in text


@pytest.mark.parametrize("seed", range(6))
def test_row_sentences_match_the_numbers_on_random_models(seed):
    rng = np.random.default_rng(seed)
    model = fm.MLP([3, 4, 3], activation="tanh", loss="cross_entropy", dtype="float64", backend="numpy",
                   seed=seed)
    x, labels = rng.standard_normal((5, 3)), rng.integers(0, 3, 5)
    _check_rows(explain(model, x, labels, lr=float(rng.choice([0.1, 1.0, 10.0]))))


def test_xor_sweep_text_says_the_best_single_step_is_not_the_best_run():
    result = explain(example="xor")
    by_label = {label: e for e in result.as_dict()["lr_sweep"]["rates"] for label in e["labels"]}
    greedy, good = by_label["best single step"], by_label["good"]
    assert greedy["run_curve"][-1] > good["run_curve"][-1]  # the numbers behind the sentence
    text = result.to_text(width=1000)
    assert (f"Here the best single step, lr = {greedy['lr']:g}, falls at every step too, but ends higher after "
            f"100 steps than lr = {good['lr']:g}") in text
    assert "100 steps: the loss" in text and "after 30 steps" in text  # the curve, in the table


def _dead_unit_case():
    model = fm.MLP([2, 3, 2], activation="relu", loss="cross_entropy", dtype="float64", backend="numpy", seed=0)
    model.weights[0][:, 1] = -1.0  # unit 2's z is negative for every non-negative input
    model.biases[0][1] = -0.5
    x, y = np.array([[0.5, 1.0], [1.0, 0.2], [0.3, 0.3]]), np.array([0, 1, 1])
    return explain(model, x, y, lr=0.1)


def test_a_dead_relu_unit_is_pointed_out_and_its_zeros_are_in_the_numbers():
    result = _dead_unit_case()
    trace = result.as_dict()["backends"]["numpy"]
    a1, delta1 = np.array(trace["a1"]), np.array(trace["delta1"])
    assert np.all(a1[:, 1] == 0) and np.all(delta1[:, 1] == 0)  # what the text is about to claim
    assert np.all(np.array(trace["dL_dW1"])[:, 1] == 0) and np.array(trace["dL_db1"])[1] == 0
    assert np.all(np.array(trace["dL_dW2"])[1] == 0)  # the weights out of it: a1 is 0 there
    np.testing.assert_array_equal(np.array(trace["W1_new"])[:, 1], np.array(trace["W1"])[:, 1])
    text = result.to_text(width=1000)
    note = _paragraph(text, "Unit 2 of layer 1")
    assert "is 0 for every row" in note and "no gradient flows back through it" in note
    assert "(column 2 of W1, entry 2 of b1) do not change" in note and "(row 2 of W2)" in note
    assert "dead" in note


def test_no_dead_unit_note_without_one():
    text = explain(example="xor").to_text(width=1000)
    assert "dead" not in text  # sigmoid units never are
    model = fm.MLP([2, 3, 2], activation="relu", loss="cross_entropy", dtype="float64", backend="numpy", seed=0)
    model.weights[0][...] = [[1.0, 0.5, 0.2], [0.3, 1.0, 0.4]]  # positive inputs: every unit on
    x = np.array([[0.5, 1.0], [1.0, 0.2], [0.3, 0.3]])
    data = explain(model, x, np.array([0, 1, 1]), lr=0.1)
    a1 = np.array(data.as_dict()["backends"]["numpy"]["a1"])
    assert np.all(a1.max(axis=0) > 0) and "dead" not in data.to_text(width=1000)


def test_a_row_with_every_unit_off_is_pointed_out():
    model = fm.MLP([1, 2, 1], activation="relu", loss="mse", dtype="float64", backend="numpy", seed=0)
    model.weights[0][...] = [[1.0, 2.0]]
    x, y = np.array([[1.0], [-1.0]]), np.array([0.5, 0.5])  # row 2: both z negative
    result = explain(model, x, y, lr=0.1)
    trace = result.as_dict()["backends"]["numpy"]
    assert np.all(np.array(trace["a1"])[1] == 0) and np.all(np.array(trace["delta1"])[1] == 0)
    text = result.to_text(width=1000)
    assert ("Row 2 of a1 is 0 in every unit: that example adds nothing to dL/dW2 and sends no gradient "
            "further back, to layer 1.") in text


def test_header_describes_how_matrices_are_rounded():
    result = explain(example="xor")
    text = result.to_text(width=1000)
    assert "each matrix shows its largest entry to 4 significant digits" in text
    from fastmlp.explain._format import matrix_cells

    w1 = np.array(result.as_dict()["backends"]["numpy"]["W1"])
    cells = [c.strip() for row in matrix_cells(w1) for c in row]
    largest = cells[int(np.argmax(np.abs(w1).ravel()))]
    assert len(largest.lstrip("-").replace(".", "").lstrip("0")) == 4  # 1.184: four significant digits
