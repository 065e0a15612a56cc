"""Model files: a .npz of plain numeric arrays plus one JSON metadata string. No pickle, ever.

Layout (format version 2):
    meta           0-d unicode array, JSON: format, format_version, fastmlp_version,
                   layer_sizes, activations, loss, dtype, init, seed, optimizer, step,
                   schedule (learning-rate schedule; absent means constant), fit_count
    w0, b0, ...    weights (n_in, n_out) and biases (n_out,) per layer
    m0, v0, ...    optimizer slots per parameter (w0, b0, w1, b1, ... order), when present
    class_weight   float64 (n_out,), the last fit's class weights, when it had them

meta also holds alpha (the L2 penalty; absent means 0).
Versions: 1 had no class_weight array and no alpha. Every field version 2 added is optional with the
old behaviour as its default, so version 1 files load unchanged.

Saving writes a temporary file in the same folder and renames it over the target, so a crash
or Ctrl-C mid-save never destroys the previous file. Loading uses ``allow_pickle=False`` and
checks every key, dtype and shape against the metadata before building the model.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

FORMAT = "fastmlp.MLP"
FORMAT_VERSION = 2


def save_model(model, path) -> None:
    """Write ``model`` to ``path`` (a .npz), atomically."""
    from . import __version__

    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"path must end in .npz, got {str(path)!r}")
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
    }
    arrays = {"meta": np.array(json.dumps(meta))}
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        arrays[f"w{i}"], arrays[f"b{i}"] = w, b
    if model.optimizer is not None:
        for j, (m, v) in enumerate(zip(net.slots_m, net.slots_v)):
            arrays[f"m{j}"], arrays[f"v{j}"] = m, v
    if net.class_weight is not None:
        arrays["class_weight"] = np.asarray(net.class_weight, dtype=np.float64)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        # KeyboardInterrupt included: drop the partial file, the old one is untouched
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_model(path, backend=None):
    """Read a model written by `save_model`; ValueError naming the file on anything unexpected."""
    from .model import MLP
    from .optim import OPTIMIZER_CLASSES

    path = Path(path)
    arrays = _read_arrays(path)
    meta = _read_meta(path, arrays)
    try:
        model = MLP(meta["layer_sizes"], activation=meta["activations"], loss=meta["loss"],
                    dtype=meta["dtype"], backend=backend or "cpp", seed=meta["seed"], init=meta["init"],
                    alpha=meta.get("alpha", 0.0))
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
        cls = OPTIMIZER_CLASSES.get(opt.get("name")) if isinstance(opt, dict) else None
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
        net.step = _int(path, meta, "step")
    sched = meta.get("schedule")  # absent in files written before schedules: constant
    if sched is not None:
        net.schedule = _schedule_from_meta(path, sched)
    model._fit_count = _int(path, meta, "fit_count")
    if "class_weight" in arrays:
        net.class_weight = _class_weight(path, arrays["class_weight"], model)
        expected.add("class_weight")
    extra = set(arrays) - expected
    if extra:
        raise ValueError(f"{path}: unexpected arrays {sorted(extra)}")
    return model


def _schedule_from_meta(path, sched):
    from .backends import _checks as check
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


def _read_arrays(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except ValueError as exc:  # object arrays need pickle: refused
        raise ValueError(f"{path}: not a fastmlp model file ({exc})") from exc
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as exc:
        raise ValueError(f"{path}: not a readable .npz model file (truncated or corrupt: {exc})") from exc


def _read_meta(path: Path, arrays: dict) -> dict:
    raw = arrays.get("meta")
    if raw is None or raw.shape != () or raw.dtype.kind != "U":
        raise ValueError(f"{path}: missing the 'meta' JSON entry; not a fastmlp model file")
    try:
        meta = json.loads(str(raw))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: corrupt metadata JSON: {exc}") from exc
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


def _int(path: Path, meta: dict, key: str) -> int:
    value = meta.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{path}: metadata {key!r} must be a non-negative int, got {value!r}")
    return value
