"""Optional safetensors export and import of fastmlp models (``pip install safetensors``).

safetensors is a no-code tensor format: a JSON header (names, dtypes, shapes, byte offsets,
checked against the file size by the library) and raw little-endian data, so reading one can
never execute code or allocate more than the file holds. A fastmlp model is stored as

    tensors   w0, b0, w1, b1, ... and, when trained, m0, v0, m1, v1, ... (optimizer slots)
    metadata  {"format": "fastmlp.MLP", "fastmlp_meta": <the same JSON as a .npz model's meta>}

The tensors and the metadata are exactly those of `fastmlp.io` (a .npz model file), and loading
goes through `fastmlp.io.read_state`'s validation (every key, dtype and shape checked against
the metadata, format version, finite values) and `MLP.from_state`, so both formats accept and
refuse the same models.
Saving is atomic like `MLP.save`: a temporary file in the same folder, renamed over the target.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import numpy as np

from . import io as _io
from ._atomic import check_target, write_atomically
from ._optional import require
from .io import FORMAT
from .model import MLP  # a face above the model: it builds the model a file's state describes

META_KEY = "fastmlp_meta"


def _safetensors():
    package = require("safetensors", "fastmlp's safetensors export/import", "safetensors")
    require("safetensors.numpy", "fastmlp's safetensors export/import", "safetensors")
    return package


def save_safetensors(model, path) -> None:
    """Write ``model`` (architecture, weights, optimizer state) to ``path`` (.safetensors), atomically."""
    st = _safetensors()
    path = Path(path)
    check_target(path, ".safetensors")  # before any work: suffix, folder
    with tempfile.TemporaryDirectory() as scratch:  # the .npz writer owns the metadata layout
        npz = Path(scratch) / "model.npz"
        model.save(npz)
        with np.load(npz, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    meta = str(arrays.pop("meta"))
    blob = st.numpy.save({k: np.ascontiguousarray(v) for k, v in arrays.items()},
                         metadata={"format": FORMAT, META_KEY: meta})
    write_atomically(path, lambda f: f.write(blob))


def load_safetensors(path, backend=None):
    """Read a model written by `save_safetensors`; ValueError naming the file on anything unexpected."""
    st = _safetensors()
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a model file")
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    try:
        with st.safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            arrays = {key: f.get_tensor(key) for key in f.keys()}
    except Exception as exc:  # SafetensorError, a bad header, an unsupported dtype, ...
        if isinstance(exc, MemoryError):
            raise
        raise ValueError(f"{path}: not a readable safetensors file ({type(exc).__name__}: {exc})") from exc
    if meta.get("format") != FORMAT or META_KEY not in meta:
        raise ValueError(f"{path}: not a fastmlp model (safetensors metadata lacks format {FORMAT!r})")
    if "meta" in arrays:
        raise ValueError(f"{path}: unexpected tensor 'meta'")
    arrays["meta"] = np.array(meta[META_KEY])
    with tempfile.TemporaryDirectory() as scratch:  # one validation path for both formats
        npz = Path(scratch) / "model.npz"
        _write_npz(npz, arrays)
        try:
            state = _io.read_state(npz)
        except ValueError as exc:
            raise ValueError(str(exc).replace(str(npz), str(path))) from exc
    try:
        return MLP.from_state(state, backend=backend or "cpp")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc


def _write_npz(path: Path, arrays: dict) -> None:
    """np.savez without its keyword pitfalls (a tensor named 'allow_pickle' or 'file' would be
    taken as an argument) and never pickling."""
    with zipfile.ZipFile(path, "w") as z:
        for key, arr in arrays.items():
            with z.open(f"{key}.npy", "w") as f:
                np.lib.format.write_array(f, np.asarray(arr), allow_pickle=False)
