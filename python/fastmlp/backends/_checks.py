"""Argument checks shared by every backend, so all three raise the same error for the same input.

Each check names the argument in its message. Kernels never scan their data for NaN/Inf (that
is IEEE's job and costs a pass); the model's `fit` does, once, up front.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

ACTIVATIONS = ("identity", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax")
ACTIVATION_ALIASES = {"logistic": "sigmoid", "linear": "identity", "none": "identity"}
LOSSES = ("mse", "cross_entropy", "binary_cross_entropy", "mae", "huber", "poisson")
LOSS_ALIASES = {"squared_error": "mse", "log_loss": "cross_entropy", "bce": "binary_cross_entropy"}


def float_array(arr, name: str, ndim: int | None = None) -> np.ndarray:
    """`arr` must be a float32/float64 ndarray (of `ndim` dimensions when given)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(arr).__name__}")
    if arr.dtype not in FLOAT_DTYPES:
        if arr.dtype.kind == "f" and arr.dtype.newbyteorder("=") in FLOAT_DTYPES:  # '>f4'
            native = arr.dtype.newbyteorder("=").name
            raise TypeError(f"{name} must have dtype float32 or float64 in native byte order, got "
                            f"{native} in big-endian order; convert it with {name}.astype(np.{native})")
        raise TypeError(f"{name} must have dtype float32 or float64, got {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got {arr.ndim}-D with shape {arr.shape}")
    return arr


def new_output(shape, dtype, name: str) -> np.ndarray:
    """``np.empty(shape, dtype)`` for a kernel's result; a request too large to allocate (inputs
    can be zero-stride views of huge shapes) raises MemoryError naming the output and its bytes."""
    try:
        return np.empty(shape, dtype)
    except (MemoryError, ValueError) as exc:  # ValueError: "array is too big" (byte count overflows)
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        raise MemoryError(f"{name} would need {nbytes} bytes ({' x '.join(map(str, shape))} "
                          f"{np.dtype(dtype).name}): {exc}") from None


# The most threads set_num_threads accepts: far above any CPU's core count, far below what would
# exhaust the process's thread limit when the pool starts them.
MAX_THREADS = 1024


# A thread count above this many times the usable CPUs gets a RuntimeWarning: the pool's workers
# spin while they wait, so oversubscribed cores slow an epoch down by tens of times.
OVERSUBSCRIBED = 4


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def warn_if_oversubscribed(n: int, source: str = "num_threads") -> None:
    """RuntimeWarning when ``n`` threads are far more than the CPUs this process may use."""
    import warnings

    cpus = usable_cpus()
    if n > OVERSUBSCRIBED * cpus:
        warnings.warn(f"{source}={n} is more than {OVERSUBSCRIBED}x the {cpus} usable CPU(s); the "
                      f"thread pool's workers compete for the cores and training gets many times "
                      f"slower, not faster", RuntimeWarning, stacklevel=3)


def num_threads(n, name: str = "num_threads") -> int:
    """An int in [1, MAX_THREADS]."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"{name} must be >= 1, got {n!r}")
    if n > MAX_THREADS:
        raise ValueError(f"{name} must be <= {MAX_THREADS}, got {n!r}")
    return int(n)


def same_dtype(**arrays) -> np.dtype:
    """All named arrays share one dtype; the message lists each name with its dtype."""
    dtypes = {name: a.dtype for name, a in arrays.items()}
    if len(set(dtypes.values())) > 1:
        listed = ", ".join(f"{n}={d}" for n, d in dtypes.items())
        raise TypeError(f"arrays must share one dtype, got {listed}")
    return next(iter(dtypes.values()))


def shape_is(arr: np.ndarray, name: str, shape: tuple) -> None:
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")


def out_array(out, name: str, shape: tuple, dtype: np.dtype, inputs: dict) -> np.ndarray:
    """An output buffer: exact dtype and shape, C-contiguous, writable, overlapping no input.

    A wrong `out` is an error, never a silent copy: a kernel that wrote into a temporary
    would leave the caller's array unchanged.
    """
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"{name} must have dtype {dtype}, got {out.dtype}")
    shape_is(out, name, shape)
    if not out.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    if not out.flags.writeable:
        raise ValueError(f"{name} must be writable")
    for in_name, arr in inputs.items():
        if arr is not None and out.size and np.shares_memory(out, arr):
            raise ValueError(f"{name} must not overlap input {in_name}")
    return out


def _choice(name, what: str, choices: tuple, aliases: dict) -> str:
    """The canonical spelling of ``name`` among ``choices``; unknown names list the choices."""
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a str, got {type(name).__name__}")
    key = aliases.get(name.lower(), name.lower())
    if key not in choices:
        raise ValueError(f"{what} {name!r} is unknown; choose one of {', '.join(choices)}")
    return key


def activation_name(name) -> str:
    """Canonical activation name ('logistic' -> 'sigmoid')."""
    return _choice(name, "activation", ACTIVATIONS, ACTIVATION_ALIASES)


def loss_name(name) -> str:
    """Canonical loss name ('squared_error' -> 'mse')."""
    return _choice(name, "loss", LOSSES, LOSS_ALIASES)


def number(value, name: str, *, low=None, high=None, low_open=False, high_open=False) -> float:
    """A finite real number within [low, high] (open ends when asked)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value}")
    return value


# Every integer a kernel takes fits a C++ int64_t unless a check says otherwise (seeds: uint64),
# so a huge Python int gets a message naming it, not nanobind's "incompatible function arguments".
INT64_MAX = 2**63 - 1
SEED_MAX = 2**64 - 1


def integer(value, name: str, *, low=None, high=INT64_MAX) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def loss_target(loss: str, output: np.ndarray, target) -> np.ndarray:
    """Validate a loss target against the (batch, n_out) output.

    cross_entropy takes integer labels (batch,) in [0, n_out) or a float (batch, n_out)
    probability/one-hot array; every other loss takes a float array shaped like output.
    """
    if not isinstance(target, np.ndarray):
        raise TypeError(f"target must be a numpy.ndarray, got {type(target).__name__}")
    batch, n_out = output.shape
    if loss == "cross_entropy" and target.dtype.kind in "iu":
        shape_is(target, "target", (batch,))
        if target.size and (target.min() < 0 or target.max() >= n_out):
            raise ValueError(
                f"target labels must lie in [0, {n_out}), got range "
                f"[{target.min()}, {target.max()}]"
            )
        return target
    if target.dtype not in FLOAT_DTYPES:
        kinds = "integer labels or " if loss == "cross_entropy" else ""
        raise TypeError(f"target must be {kinds}float32/float64, got {target.dtype}")
    if target.dtype != output.dtype:
        raise TypeError(f"target dtype {target.dtype} must match output dtype {output.dtype}")
    shape_is(target, "target", output.shape)
    target_values(loss, target, "target")
    return target


# Rows of a 2-D cross-entropy target must sum to 1 within this: float32 probabilities from a
# softmax or label smoothing sum to 1 within ~1e-6 per 100 classes; 1e-3 also tolerates targets
# rounded to 3 decimals, and still refuses counts, scores and one-hot rows with two ones.
DISTRIBUTION_TOL = 1e-3


def target_values(loss: str, target: np.ndarray, name: str) -> None:
    """Float targets in the range the loss is defined on (a silent negative or meaningless loss
    otherwise): poisson >= 0; binary cross-entropy in [0, 1]; 2-D cross-entropy rows are
    distributions (>= 0, summing to 1)."""
    if not target.size or target.dtype.kind != "f":
        return
    if loss == "poisson" and target.min() < 0:
        raise ValueError(f"{name} must be >= 0 for the poisson loss (counts or rates), got {target.min()}")
    if loss == "binary_cross_entropy" and (target.min() < 0 or target.max() > 1):
        raise ValueError(f"{name} must lie in [0, 1] for binary_cross_entropy (0/1 labels or "
                         f"probabilities), got range [{target.min()}, {target.max()}]")
    if loss == "cross_entropy" and target.ndim == 2:
        if target.min() < 0:
            raise ValueError(f"{name} must be >= 0 for cross_entropy (one-hot rows or class "
                             f"probabilities), got {target.min()}")
        sums = target.sum(axis=1, dtype=np.float64)
        worst = int(np.argmax(np.abs(sums - 1)))
        if abs(sums[worst] - 1) > DISTRIBUTION_TOL:
            raise ValueError(f"{name} rows must sum to 1 for cross_entropy (one-hot rows or class "
                             f"probabilities); row {worst} sums to {sums[worst]:.6g}")


def loss_args(name, output, target, sample_weight=None, class_weight=None):
    """loss_forward_backward's arguments: a known loss, a non-empty 2-D float output, a target
    that fits it and optional weights. Returns (canonical name, target, sample_weight,
    class_weight), the weights as contiguous arrays of output's dtype or None."""
    name = loss_name(name)
    float_array(output, "output", 2)
    target = loss_target(name, output, target)
    if output.size == 0:
        raise ValueError("output must not be empty")
    sample_weight = weights(sample_weight, "sample_weight", output.shape[0], output.dtype)
    class_weight = class_weights(class_weight, name, target, output.shape[1], output.dtype)
    return name, target, sample_weight, class_weight


def weights(w, name: str, n: int, dtype) -> np.ndarray | None:
    """None, or a 1-D array of ``n`` finite real numbers >= 0, returned C-contiguous in ``dtype``.

    Weights are few (one per row or class), so checking them costs nothing next to the kernel;
    a negative or NaN weight would silently turn the loss into nonsense."""
    if w is None:
        return None
    if not isinstance(w, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray or None, got {type(w).__name__}")
    if w.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, got dtype {w.dtype}")
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},), got {w.shape}")
    w = np.ascontiguousarray(w, dtype=dtype)
    if not np.isfinite(w).all():
        raise ValueError(f"{name} must be finite, got NaN or infinity")
    if w.size and w.min() < 0:
        raise ValueError(f"{name} must be >= 0, got {w.min()}")
    return w


def class_weights(cw, loss: str, target, n_out: int, dtype) -> np.ndarray | None:
    """None, or one weight per class for cross_entropy with integer labels or one-hot targets
    (a soft-probability row has no single class to weigh)."""
    if cw is None:
        return None
    if loss != "cross_entropy":
        raise ValueError(f"class_weight needs the cross_entropy loss, got {loss!r}")
    cw = weights(cw, "class_weight", n_out, dtype)
    if target is not None and target.ndim == 2:
        is_onehot = ((target == 0) | (target == 1)).all() and (target.sum(axis=1) == 1).all()
        if not is_onehot:
            raise ValueError("class_weight needs integer labels or one-hot targets, "
                             "got targets that are not one-hot")
    return cw


def optimizer_config(opt) -> None:
    """Reject impossible optimizer hyperparameters with the field's name."""
    from .network import OPTIMIZERS

    if opt.name not in OPTIMIZERS:
        raise ValueError(f"optimizer {opt.name!r} is unknown; choose one of {', '.join(OPTIMIZERS)}")
    number(opt.lr, "lr", low=0.0, low_open=True)
    number(opt.momentum, "momentum", low=0.0, high=1.0, high_open=True)
    number(opt.weight_decay, "weight_decay", low=0.0)
    number(opt.beta1, "beta1", low=0.0, high=1.0, high_open=True)
    number(opt.beta2, "beta2", low=0.0, high=1.0, high_open=True)
    number(opt.eps, "eps", low=0.0, low_open=True)
    number(opt.alpha, "alpha", low=0.0, high=1.0, high_open=True)
    if opt.nesterov and opt.momentum <= 0:
        raise ValueError("nesterov momentum requires momentum > 0")
    number(opt.dampening, "dampening", low=0.0, high=1.0)
    if opt.nesterov and opt.dampening != 0:
        raise ValueError("nesterov momentum requires dampening 0 (as torch.optim.SGD)")
    if not isinstance(opt.centered, (bool, np.bool_)):
        raise TypeError(f"centered must be a bool, got {type(opt.centered).__name__}")
    if opt.clip_norm is not None:
        number(opt.clip_norm, "clip_norm", low=0.0, low_open=True)


def dropout_mask_args(seed, step, layer, p, shape, dtype):
    """dropout_mask's arguments, canonical: (seed, step, layer, p, (rows, cols), dtype)."""
    seed = integer(seed, "seed", low=0, high=SEED_MAX)
    step = integer(step, "step", low=1)
    layer = integer(layer, "layer", low=0)
    p = number(p, "p", low=0.0, high=1.0, high_open=True)
    if not isinstance(shape, tuple) or len(shape) != 2:
        raise ValueError(f"shape must be a (rows, cols) tuple, got {shape!r}")
    shape = (integer(shape[0], "shape[0]", low=0), integer(shape[1], "shape[1]", low=0))
    dtype = np.dtype(dtype)
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return seed, step, layer, p, shape, dtype


def sgd_first_step(dampening, step) -> bool:
    """Whether an SGD update with ``dampening`` is the first (step == 1); step may be None
    only without dampening."""
    dampening = number(dampening, "dampening", low=0.0, high=1.0)
    if step is None:
        if dampening:
            raise ValueError("sgd_step with dampening needs step (the 1-based update count): "
                             "update 1 is not dampened")
        return False
    return integer(step, "step", low=1) == 1


def needed(arr, name: str, what: str):
    if arr is None:
        raise ValueError(f"{name} is required for {what}")
    return arr


def schedule_config(sched) -> None:
    """Reject impossible schedule fields with the field's name."""
    from .network import SCHEDULES

    if sched.name not in SCHEDULES:
        raise ValueError(f"schedule {sched.name!r} is unknown; choose one of {', '.join(SCHEDULES)}")
    integer(sched.step_size, "step_size", low=1)
    number(sched.gamma, "gamma", low=0.0, high=1.0, low_open=True)
    integer(sched.total_steps, "total_steps", low=1)
    integer(sched.warmup_steps, "warmup_steps", low=0)
    if sched.name == "cosine" and sched.warmup_steps >= sched.total_steps:
        raise ValueError(f"warmup_steps must be < total_steps ({sched.total_steps}), "
                         f"got {sched.warmup_steps}")
    number(sched.min_lr, "min_lr", low=0.0)
    number(sched.power_t, "power_t", low=0.0)


def network(net) -> None:
    """A Network whose arrays chain by shape, share one dtype and are C-contiguous."""
    n_layers = len(net.weights)
    if n_layers == 0:
        raise ValueError("network must have at least one layer")
    if len(net.biases) != n_layers or len(net.activations) != n_layers:
        raise ValueError("network needs one bias and one activation per weight matrix")
    dtype = net.weights[0].dtype
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        float_array(w, f"weights[{i}]", 2)
        float_array(b, f"biases[{i}]", 1)
        if w.dtype != dtype or b.dtype != dtype:
            raise TypeError(f"layer {i} dtype differs from weights[0] dtype {dtype}")
        if b.shape[0] != w.shape[1]:
            raise ValueError(f"biases[{i}] has {b.shape[0]} entries, weights[{i}] has {w.shape[1]} outputs")
        if i and w.shape[0] != net.weights[i - 1].shape[1]:
            raise ValueError(
                f"weights[{i}] takes {w.shape[0]} inputs but layer {i - 1} gives {net.weights[i - 1].shape[1]}"
            )
        if not (w.flags.c_contiguous and w.flags.writeable and b.flags.c_contiguous and b.flags.writeable):
            raise ValueError(f"weights[{i}] and biases[{i}] must be C-contiguous and writable")
    for i, act in enumerate(net.activations):
        activation_name(act)
    if activation_name(net.activations[-1]) != "identity":
        raise ValueError("the last activation must be 'identity': the loss applies the output link")
    loss = loss_name(net.loss)
    class_weights(getattr(net, "class_weight", None), loss, None, net.weights[-1].shape[1], dtype)
    number(getattr(net, "l2", 0.0), "alpha (L2 penalty)", low=0.0)
    dropout(net.dropout, n_layers)
    integer(getattr(net, "step", 0), "step", low=0, high=MAX_STEP)
    seed = integer(net.seed, "seed", low=0, high=SEED_MAX)
    if seed >= 2**64:
        raise ValueError(f"seed must be < 2**64, got {seed}")
    optimizer_config(net.optimizer)
    schedule_config(net.schedule)
    params = net.params
    slot_lists = [(net.slots_m, "slots_m"), (net.slots_v, "slots_v")]
    if net.optimizer.centered:
        slot_lists.append((net.slots_g, "slots_g"))
    for slots, label in slot_lists:
        if len(slots) != len(params):
            raise ValueError(f"{label} needs {len(params)} arrays, got {len(slots)}")
        for j, (s, p) in enumerate(zip(slots, params)):
            if not isinstance(s, np.ndarray) or s.shape != p.shape or s.dtype != p.dtype or not s.flags.c_contiguous:
                raise ValueError(f"{label}[{j}] must be a C-contiguous {p.dtype} array of shape {p.shape}")


def dropout(rates, n_layers: int) -> None:
    """Empty (no dropout) or one rate in [0, 1) per layer, the output layer's 0."""
    if len(rates) == 0:
        return
    if len(rates) != n_layers:
        raise ValueError(f"dropout needs one rate per layer ({n_layers}), got {len(rates)}")
    for i, p in enumerate(rates):
        number(p, f"dropout[{i}]", low=0.0, high=1.0, high_open=True)
    if rates[-1] != 0:
        raise ValueError("dropout on the output layer must be 0: the loss takes the raw output")


def batch_arrays(net, x, y, x_name="x", y_name="y", sample_weight=None):
    """x is (batch, n_in) of the network's dtype; y fits the loss (labels or targets); the
    optional sample_weight has one weight per row. Returns sample_weight in the network's
    dtype (or None)."""
    float_array(x, x_name, 2)
    if x.dtype != net.dtype:
        raise TypeError(f"{x_name} dtype {x.dtype} must match the network dtype {net.dtype}")
    n_in = net.weights[0].shape[0]
    if x.shape[1] != n_in:
        raise ValueError(f"{x_name} has {x.shape[1]} features, the network takes {n_in}")
    if not isinstance(y, np.ndarray):
        raise TypeError(f"{y_name} must be a numpy.ndarray, got {type(y).__name__}")
    if y.shape[:1] != x.shape[:1]:
        raise ValueError(f"{y_name} has {y.shape[0] if y.ndim else 0} rows, {x_name} has {x.shape[0]}")
    probe = np.empty((0, net.weights[-1].shape[1]), net.dtype)
    loss_target(loss_name(net.loss), probe, y[:0])
    if loss_name(net.loss) == "cross_entropy" and y.dtype.kind in "iu" and y.size:
        n_out = net.weights[-1].shape[1]
        if y.min() < 0 or y.max() >= n_out:
            raise ValueError(f"{y_name} labels must lie in [0, {n_out}), got [{y.min()}, {y.max()}]")
    if loss_name(net.loss) == "poisson" and y.size and y.min() < 0:
        raise ValueError(f"{y_name} must be >= 0 for the poisson loss (counts or rates), got {y.min()}")
    if getattr(net, "class_weight", None) is not None and y.ndim == 2:
        class_weights(net.class_weight, "cross_entropy", y, y.shape[1], net.dtype)
    return weights(sample_weight, "sample_weight", x.shape[0], net.dtype)


# --- per-kernel argument bundles (shared so every backend checks and allocates alike) -------


def matmul_args(a, b, trans_a, trans_b, out, alpha, beta):
    """Check matmul's arguments; allocate ``out`` when None. Returns (a, b, out, alpha, beta)."""
    float_array(a, "a", 2)
    float_array(b, "b", 2)
    dtype = same_dtype(a=a, b=b)
    m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
    k_b, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if k != k_b:
        raise ValueError(
            f"inner dimensions differ: op(a) is {(m, k)}, op(b) is {(k_b, n)} "
            f"(trans_a={bool(trans_a)}, trans_b={bool(trans_b)})"
        )
    alpha = number(alpha, "alpha")
    beta = number(beta, "beta")
    if out is None:
        if beta != 0.0:
            raise ValueError("beta must be 0 when out is not given (there is no C to scale)")
        out = new_output((m, n), dtype, "out")
    else:
        out_array(out, "out", (m, n), dtype, {"a": a, "b": b})
    return a, b, out, alpha, beta


def activation_backward_args(name, z, a, grad_a) -> str:
    """z, a and grad_a: 2-D float arrays of one shape and dtype. Returns the canonical name."""
    name = activation_name(name)
    for arr, label in ((z, "z"), (a, "a"), (grad_a, "grad_a")):
        float_array(arr, label, 2)
        shape_is(arr, label, z.shape)
    same_dtype(z=z, a=a, grad_a=grad_a)
    return name


def dense_forward_args(x, w, b, activation, out_z, out_a):
    """Check dense_forward's arguments; allocate missing outputs. Returns (x, w, b, out_z, out_a)."""
    float_array(x, "x", 2)
    float_array(w, "w", 2)
    float_array(b, "b", 1)
    dtype = same_dtype(x=x, w=w, b=b)
    activation_name(activation)
    batch, n_in = x.shape
    if w.shape[0] != n_in:
        raise ValueError(f"x has {n_in} features but w has {w.shape[0]} rows (w is (n_in, n_out))")
    shape_is(b, "b", (w.shape[1],))
    shape = (batch, w.shape[1])
    inputs = {"x": x, "w": w, "b": b}
    out_z = new_output(shape, dtype, "out_z") if out_z is None else out_array(out_z, "out_z", shape, dtype, inputs)
    inputs["out_z"] = out_z
    out_a = new_output(shape, dtype, "out_a") if out_a is None else out_array(out_a, "out_a", shape, dtype, inputs)
    return x, w, b, out_z, out_a


def dense_backward_args(x, w, z, a, grad_a, activation):
    """Check dense_backward's arguments (shapes chain as in dense_forward)."""
    float_array(x, "x", 2)
    float_array(w, "w", 2)
    for arr, label in ((z, "z"), (a, "a"), (grad_a, "grad_a")):
        float_array(arr, label, 2)
    same_dtype(x=x, w=w, z=z, a=a, grad_a=grad_a)
    activation_name(activation)
    if w.shape[0] != x.shape[1]:
        raise ValueError(f"x has {x.shape[1]} features but w has {w.shape[0]} rows (w is (n_in, n_out))")
    shape = (x.shape[0], w.shape[1])
    for arr, label in ((z, "z"), (a, "a"), (grad_a, "grad_a")):
        shape_is(arr, label, shape)


# The largest update count a kernel takes: the C++ core counts steps in int64, and beta**step
# needs no more (2^53 is where float64 stops counting exactly).
MAX_STEP = 2**53


def optimizer_args(param, grad, slots: dict, **hyper) -> None:
    """param, grad and each slot: same shape and dtype; param and slots writable, contiguous, no
    two sharing memory. ``hyper``: the kernel's scalars, each a finite real (``step``: an int in
    [1, MAX_STEP]; None where the kernel does not need it), so every backend refuses a NaN rate
    or step 0 alike instead of returning NaN (C++) or raising ZeroDivisionError (NumPy, Numba)."""
    float_array(param, "param")
    float_array(grad, "grad")
    same_dtype(param=param, grad=grad, **slots)
    for name, arr in [("param", param), *slots.items()]:
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray, got {type(arr).__name__}")
        shape_is(arr, name, grad.shape)
        if not (arr.flags.writeable and arr.flags.c_contiguous):
            raise ValueError(f"{name} must be C-contiguous and writable (it is updated in place)")
    named = [("param", param), ("grad", grad), *slots.items()]
    for i, (name_a, a) in enumerate(named):
        for name_b, b in named[i + 1:]:
            if a.size and np.may_share_memory(a, b):  # contiguous: bounds overlap is exact
                raise ValueError(f"{name_a} and {name_b} share memory; each optimizer slot needs "
                                 f"its own array")
    for name, value in hyper.items():
        if name == "step":
            if value is not None and integer(value, "step", low=1) > MAX_STEP:
                raise ValueError(f"step must be <= {MAX_STEP}, got {value}")
        else:
            number(value, name)


def epoch_order(order, n_rows: int) -> np.ndarray:
    """order: 1-D integer row indices, each in [0, n_rows). Returned as C-contiguous int64."""
    if not isinstance(order, np.ndarray) or order.dtype.kind not in "iu":
        raise TypeError("order must be an integer numpy.ndarray of row indices")
    if order.ndim != 1:
        raise ValueError(f"order must be 1-D, got shape {order.shape}")
    if order.size and (order.min() < 0 or order.max() >= n_rows):
        raise ValueError(f"order indices must lie in [0, {n_rows}), got [{order.min()}, {order.max()}]")
    return np.ascontiguousarray(order, dtype=np.int64)


def all_finite(arr: np.ndarray) -> bool:
    """True when no element of the float array is NaN or infinite, without a full-size temporary.

    ``np.isfinite(arr).all()`` allocates a bool array as large as ``arr`` (45 MiB for MNIST). A
    float64-accumulated sum is one buffered pass: NaN or infinity anywhere makes it non-finite,
    and finite float32 values cannot overflow it. Only when the sum is not finite (or float64
    values overflowed it) are the rows checked exactly, a slice of about 1 MiB at a time.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # an overflowing sum only means: look closer
        total = np.sum(arr, dtype=np.float64) if arr.size else 0.0
    if np.isfinite(total):
        return True
    flat = arr.reshape(len(arr), -1) if arr.ndim > 1 else arr.reshape(-1, 1)
    rows = max(1, (1 << 20) // max(1, flat.shape[1] * arr.itemsize))
    return all(np.isfinite(flat[i:i + rows]).all() for i in range(0, len(flat), rows))
