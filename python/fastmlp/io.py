"""Model files: a .npz of plain numeric arrays plus one JSON metadata string. No pickle, ever.

`write_state` and `read_state` turn an `MLP.state()` dict into a file and back; this module
checks the file, never imports the model (`MLP.save` / `MLP.load` call it, and
`MLP.from_state` checks the model a state describes).

Layout (format version 2):
    meta           0-d unicode array, JSON: format, format_version, fastmlp_version,
                   layer_sizes, activations, loss, dtype, init, seed, optimizer, step,
                   schedule (learning-rate schedule; absent means constant), fit_count
    w0, b0, ...    weights (n_in, n_out) and biases (n_out,) per layer
    m0, v0, ...    optimizer slots per parameter (w0, b0, w1, b1, ... order), when present
    g0, g1, ...    centered RMSprop's gradient averages per parameter, when it is the optimizer
    class_weight   float64 (n_out,), the last fit's class weights, when it had them

meta also holds l2 (the L2 penalty; absent means 0) and dropout (per hidden layer; absent
means none); the optimizer's dampening, centered and
clip_norm default to 0, False and None when absent.
Versions: 1 had no class_weight or g arrays and no l2, dropout, dampening, centered or
clip_norm. Every field version 2 added is optional with the
old behaviour as its default, so version 1 files load unchanged.
Old names: files written before the renames hold the L2 penalty as "alpha" and RMSprop's
smoothing as the optimizer's "alpha"; both load as "l2" and "smoothing" (a file never holds
both names of one field).

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
from ._atomic import check_target, write_atomically
from ._version import __version__
from . import checks as check

FORMAT = "fastmlp.MLP"
FORMAT_VERSION = 2
SLOTS = (("m", "slots_m"), ("v", "slots_v"), ("g", "slots_g"))  # file prefix, optimizer record key


def write_state(state: dict, path) -> None:
    """Write an `MLP.state()` dict to ``path`` (a .npz), atomically."""
    path = check_target(path, ".npz")
    meta, arrays = members(state)
    bad = _first_non_finite(arrays)  # no full-size bool temporary
    if bad is not None:
        raise ValueError(f"model holds NaN or infinity in {bad!r}; not saved (load would refuse "
                         f"the file, and an existing file is kept)")
    arrays = {"meta": np.array(json.dumps(meta)), **arrays}
    write_atomically(path, lambda f: np.savez(f, **arrays))


def members(state: dict):
    """(meta, arrays): the JSON metadata and the named arrays a model file holds for ``state``."""
    config, record = state["config"], state.get("optimizer")
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "fastmlp_version": __version__,
        **{key: config[key] for key in ("layer_sizes", "activations", "loss", "dtype", "init", "seed")},
        "optimizer": None if record is None else record["config"],
        "step": 0 if record is None else record.get("step", 0),
        "schedule": state.get("schedule"),
        "fit_count": state.get("fit_count", 0),
        "l2": config.get("l2", config.get("alpha", 0.0)),
        "dropout": config.get("dropout", 0.0),
    }
    arrays = {}
    for i, (w, b) in enumerate(zip(state["weights"], state["biases"])):
        arrays[f"w{i}"], arrays[f"b{i}"] = w, b
    if record is not None:  # m0, v0, m1, v1, ..., then g0, g1, ...: the order files always had
        for j, (m, v) in enumerate(zip(record["slots_m"], record["slots_v"])):
            arrays[f"m{j}"], arrays[f"v{j}"] = m, v
        for j, g in enumerate(record.get("slots_g") or []):
            arrays[f"g{j}"] = g
    if state.get("class_weight") is not None:
        arrays["class_weight"] = np.asarray(state["class_weight"], dtype=np.float64)
    return meta, arrays


def _first_non_finite(arrays: dict):
    for name, arr in arrays.items():
        if not check.all_finite(arr):
            return name
    return None


def read_state(path) -> dict:
    """The `MLP.state()` dict a file written by `write_state` holds; ValueError naming the file
    on anything the format does not allow (`MLP.from_state` checks the model it describes)."""
    path = Path(path)
    arrays, meta = _read_checked(path)
    bad = _first_non_finite(arrays)
    if bad is not None:
        raise ValueError(f"{path}: array {bad!r} holds NaN or infinity")
    n_layers = len(meta["layer_sizes"]) - 1
    config = {key: meta[key] for key in ("layer_sizes", "activations", "loss", "dtype", "init", "seed")}
    config |= {key: meta[key] for key in ("l2", "alpha") if key in meta}  # alpha: l2's old name
    state = {
        "config": config | {"dropout": meta.get("dropout", 0.0)},
        "weights": [_take(path, arrays, f"w{i}") for i in range(n_layers)],
        "biases": [_take(path, arrays, f"b{i}") for i in range(n_layers)],
        "optimizer": _optimizer_record(path, meta, arrays, 2 * n_layers),
        "schedule": meta.get("schedule"),  # absent in files written before schedules: constant
        "fit_count": meta.get("fit_count", 0),
        "class_weight": arrays.pop("class_weight", None),
    }
    if arrays:
        raise ValueError(f"{path}: unexpected arrays {sorted(arrays)}")
    return state


def _optimizer_record(path: Path, meta: dict, arrays: dict, n_params: int):
    """The optimizer's settings, step and slots; its arrays leave ``arrays``."""
    settings = meta.get("optimizer")
    if settings is None:
        return None
    if not isinstance(settings, dict):
        raise ValueError(f"{path}: unknown optimizer in metadata: {settings!r}")
    record = {"config": settings, "step": meta.get("step", 0)}
    for prefix, key in SLOTS:
        # centered RMSprop alone keeps third slots: other optimizers' files must not hold them
        wanted = prefix != "g" or settings.get("centered", False)
        record[key] = [_take(path, arrays, f"{prefix}{j}") for j in range(n_params)] if wanted else []
    return record


def _take(path: Path, arrays: dict, key: str) -> np.ndarray:
    if key not in arrays:
        raise ValueError(f"{path}: missing array {key!r}")
    return arrays.pop(key)


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
