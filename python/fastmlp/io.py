"""Model files: a .npz of plain numeric arrays plus one JSON metadata string. No pickle, ever.

Layout (format version 2):
    meta           0-d unicode array, JSON: format, format_version, fastmlp_version,
                   layer_sizes, activations, loss, dtype, init, seed, optimizer, step,
                   schedule (learning-rate schedule; absent means constant), fit_count
    w0, b0, ...    weights (n_in, n_out) and biases (n_out,) per layer
    m0, v0, ...    optimizer slots per parameter (w0, b0, w1, b1, ... order), when present
    g0, g1, ...    centered RMSprop's gradient averages per parameter, when it is the optimizer
    class_weight   float64 (n_out,), the last fit's class weights, when it had them

meta also holds alpha (the L2 penalty; absent means 0) and dropout (per hidden layer; absent
means none); the optimizer's dampening, centered and
clip_norm default to 0, False and None when absent.
Versions: 1 had no class_weight or g arrays and no alpha, dropout, dampening, centered or
clip_norm. Every field version 2 added is optional with the
old behaviour as its default, so version 1 files load unchanged.

Saving refuses NaN or infinite weights (load refuses them too, so a save never replaces a good
file by one that cannot be read back) and writes through `_atomic.write_atomically`: a crash,
Ctrl-C or SIGTERM mid-save never destroys the previous file nor leaves a temporary one. Loading
uses ``allow_pickle=False`` and checks the member list, the metadata and every member's header
against each other (`_members`) before decompressing an array or building the model.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from . import _members
from . import checks as check
from ._atomic import check_target, write_atomically  # noqa: F401 -- safetensors_io imports it here

FORMAT = "fastmlp.MLP"
FORMAT_VERSION = 2


def save_model(model, path) -> None:
    """Write ``model`` to ``path`` (a .npz), atomically."""
    from . import __version__

    path = check_target(path, ".npz")
    _refuse_non_finite(model)
    net = model.network
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "fastmlp_version": __version__,
        "layer_sizes": model.layer_sizes,
        "activations": model.hidden_activations,
        "loss": model.loss,
        "dtype": model.dtype.name,
        "init": model.init,
        "seed": model.seed,
        "optimizer": vars(net.optimizer) if model.optimizer is not None else None,
        "step": net.step,
        "schedule": vars(net.schedule),
        "fit_count": model._fit_count,
        "alpha": model.alpha,
        "dropout": model.dropout,
    }
    arrays = {"meta": np.array(json.dumps(meta))}
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        arrays[f"w{i}"], arrays[f"b{i}"] = w, b
    if model.optimizer is not None:
        for j, (m, v) in enumerate(zip(net.slots_m, net.slots_v)):
            arrays[f"m{j}"], arrays[f"v{j}"] = m, v
    if model.optimizer is not None and net.slots_g:
        for j, g in enumerate(net.slots_g):
            arrays[f"g{j}"] = g
    if net.class_weight is not None:
        arrays["class_weight"] = np.asarray(net.class_weight, dtype=np.float64)
    write_atomically(path, lambda f: np.savez(f, **arrays))


# Above this a saved step counter could overflow the C++ int64 counter within a run, and float64
# (which the optimizers' bias correction uses) no longer counts steps exactly.
MAX_STEP = check.MAX_STEP


def _refuse_non_finite(model) -> None:
    net = model.network
    named = [(f"w{i}", w) for i, w in enumerate(net.weights)] + [(f"b{i}", b) for i, b in enumerate(net.biases)]
    if model.optimizer is not None:
        for slot, arrays in (("m", net.slots_m), ("v", net.slots_v), ("g", net.slots_g)):
            named += [(f"{slot}{j}", a) for j, a in enumerate(arrays)]
    for name, arr in named:
        if not check.all_finite(arr):  # no full-size bool temporary
            raise ValueError(f"model holds NaN or infinity in {name!r}; not saved (load would refuse "
                             f"the file, and an existing file is kept)")


def load_model(path, backend=None):
    """Read a model written by `save_model`; ValueError naming the file on anything unexpected."""
    from .model import MLP
    from .optim import OPTIMIZER_CLASSES

    path = Path(path)
    arrays, meta = _read_checked(path)
    try:
        model = MLP(meta["layer_sizes"], activation=meta["activations"], loss=meta["loss"],
                    dtype=meta["dtype"], backend=backend or "cpp", seed=meta["seed"], init=meta["init"],
                    alpha=meta.get("alpha", 0.0), dropout=meta.get("dropout", 0.0))
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"{path}: metadata does not describe a valid model: {exc}") from exc
    net = model.network
    n_layers = len(net.weights)
    for i in range(n_layers):
        net.weights[i][...] = _array(path, arrays, f"w{i}", net.weights[i])
        net.biases[i][...] = _array(path, arrays, f"b{i}", net.biases[i])
    opt = meta.get("optimizer")
    expected = {"meta"} | {f"{k}{i}" for i in range(n_layers) for k in "wb"}
    if opt is not None:
        name = opt.get("name") if isinstance(opt, dict) else None
        cls = OPTIMIZER_CLASSES.get(name) if isinstance(name, str) else None
        if cls is None:
            raise ValueError(f"{path}: unknown optimizer in metadata: {opt!r}")
        try:
            hyper = {k: v for k, v in opt.items() if k != "name"}
            model._set_optimizer(_optimizer_from_config(cls, hyper))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: bad optimizer settings: {exc}") from exc
        for j, p in enumerate(net.params):
            net.slots_m[j][...] = _array(path, arrays, f"m{j}", p)
            net.slots_v[j][...] = _array(path, arrays, f"v{j}", p)
            expected |= {f"m{j}", f"v{j}"}
            if net.slots_g:  # centered RMSprop
                net.slots_g[j][...] = _array(path, arrays, f"g{j}", p)
                expected.add(f"g{j}")
        net.step = _int(path, meta, "step", MAX_STEP)
    sched = meta.get("schedule")  # absent in files written before schedules: constant
    if sched is not None:
        net.schedule = _schedule_from_meta(path, sched)
    model._fit_count = _int(path, meta, "fit_count", MAX_STEP)
    if "class_weight" in arrays:
        net.class_weight = _class_weight(path, arrays["class_weight"], model)
        expected.add("class_weight")
    extra = set(arrays) - expected
    if extra:
        raise ValueError(f"{path}: unexpected arrays {sorted(extra)}")
    return model


def _schedule_from_meta(path, sched):
    from . import checks as check
    from .backends.network import ScheduleConfig

    try:
        if not isinstance(sched, dict):
            raise TypeError(f"expected an object, got {sched!r}")
        config = ScheduleConfig(**sched)
        check.schedule_config(config)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: bad schedule settings: {exc}") from exc
    return config


def _class_weight(path, arr, model):
    if model.loss != "cross_entropy":
        raise ValueError(f"{path}: class_weight is stored but the loss is {model.loss!r}")
    like = np.empty(model.layer_sizes[-1], np.float64)
    arr = _array(path, {"class_weight": arr}, "class_weight", like)
    if arr.min() < 0:
        raise ValueError(f"{path}: array 'class_weight' holds negative weights")
    return arr.copy()


def _optimizer_from_config(cls, hyper):
    from .optim import Optimizer

    opt = cls.__new__(cls)
    Optimizer.__init__(opt, **hyper)
    return opt


def _read_checked(path: Path):
    """(arrays, meta), every member checked against the metadata before any array is read."""
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a model file")
    if path.exists() and not path.is_file():  # a FIFO would block the reader; a device is no file
        raise ValueError(f"{path} is not a regular file")
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    try:
        with zipfile.ZipFile(path) as zf:
            members = _members.member_list(path, zf)
            meta = _read_meta(path, _members.read_meta_array(path, zf, members["meta"]))
            shapes = _members.expected_shapes(path, meta, set(members))
            for name, (shape, dtype) in sorted(shapes.items(), key=_member_order):
                got_shape, got_dtype = _members.header(path, zf, members[name])
                if got_shape != shape or not _members.same_type(got_dtype, dtype):
                    raise ValueError(f"{path}: array {name!r} is {got_dtype.name}{got_shape}, expected "
                                     f"{dtype.name}{shape}")
            arrays = {name: _members.read_array(path, zf, info) for name, info in members.items()
                      if name != "meta"}
        return arrays, meta
    except MemoryError:
        raise
    except ValueError as exc:  # ours (names the file already), or NumPy's: object arrays, headers
        if str(path) in str(exc):
            raise
        raise ValueError(f"{path}: not a fastmlp model file ({exc})") from exc
    except Exception as exc:  # noqa: BLE001 -- zipfile, tokenize, ...: any parser failure on a
        # corrupt file is the same user-facing fact (fuzzing found six exception types here)
        raise ValueError(f"{path}: not a readable .npz model file (truncated or corrupt: "
                         f"{type(exc).__name__}: {exc})") from exc


def _member_order(item):
    """w0, w1, ..., b0, ...: a mismatch is reported on the first weight matrix it affects."""
    name = item[0]
    return ("wbmvgc".index(name[0]), int(name[1:]) if name[1:].isdigit() else 0)


def _meta_text(path: Path, raw: np.ndarray) -> str:
    """The metadata string, refusing UCS4 code points beyond Unicode or surrogates (NumPy would
    build a malformed str from them, which CPython then rejects with SystemError)."""
    codes = np.frombuffer(raw.tobytes(), np.dtype(raw.dtype.str[0] + "u4"))
    if ((codes > 0x10FFFF) | ((codes >= 0xD800) & (codes <= 0xDFFF))).any():
        raise ValueError(f"{path}: metadata holds invalid characters")
    return str(raw)


def _read_meta(path: Path, raw: np.ndarray) -> dict:
    meta = _members.parse_meta(path, _meta_text(path, raw))
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path}: not a fastmlp model file (format {meta.get('format') if isinstance(meta, dict) else None!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"{path}: bad format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(f"{path}: format_version {version} is newer than this fastmlp reads "
                         f"({FORMAT_VERSION}); upgrade fastmlp")
    for key in ("layer_sizes", "activations", "loss", "dtype", "seed", "init"):
        if key not in meta:
            raise ValueError(f"{path}: metadata lacks {key!r}")
    return meta


def _array(path: Path, arrays: dict, key: str, like: np.ndarray) -> np.ndarray:
    arr = arrays.get(key)
    if arr is None:
        raise ValueError(f"{path}: missing array {key!r}")
    if arr.dtype != like.dtype or arr.shape != like.shape:
        raise ValueError(f"{path}: array {key!r} is {arr.dtype}{arr.shape}, expected {like.dtype}{like.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{path}: array {key!r} holds NaN or infinity")
    return arr


def _int(path: Path, meta: dict, key: str, high: int) -> int:
    value = meta.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise ValueError(f"{path}: metadata {key!r} must be an int in [0, {high}], got {value!r}")
    return value
