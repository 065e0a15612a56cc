"""The bad-input matrix, file rows: MLP.load on a missing, cut, corrupt, edited or hostile .npz,
on every backend; each file is a valid one with one thing broken (bad_input_cases.py: how a row
runs; test_bad_input_matrix.py: the whole table, as docs/bad_inputs.md carries it)."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.io import FORMAT_VERSION

from bad_input_cases import Case, check, data, params

_VALID = {}


def valid_file_bytes() -> bytes:
    """A small trained model (Adam state included) saved once per session."""
    if "bytes" not in _VALID:
        import tempfile

        X, y = data(16)
        m = fm.MLP([4, 5, 3], backend="numpy", seed=0)
        m.fit(X, y, epochs=1, batch_size=8)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.npz")
            m.save(path)
            _VALID["bytes"] = Path(path).read_bytes()
    return _VALID["bytes"]


def write_file(tmp, blob: bytes) -> Path:
    path = tmp / "model.npz"
    path.write_bytes(blob)
    return path


def edited_file(tmp, edit) -> Path:
    """The valid file with ``edit(arrays, meta)`` applied (np.savez: object arrays get pickled)."""
    with np.load(io.BytesIO(valid_file_bytes()), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(str(arrays["meta"]))
    edit(arrays, meta)
    arrays["meta"] = np.array(json.dumps(meta))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return write_file(tmp, buf.getvalue())


def member_replaced(tmp, name: str, content: bytes) -> Path:
    """The valid file with one zip member's bytes replaced (CRCs recomputed, so the zip is fine)."""
    with zipfile.ZipFile(io.BytesIO(valid_file_bytes())) as z:
        files = {n: z.read(n) for n in z.namelist()}
    files[name] = content
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, c in files.items():
            z.writestr(n, c)
    return write_file(tmp, buf.getvalue())


def npy_header_only(shape, descr="<f4") -> bytes:
    """A .npy header that promises ``shape`` followed by almost no data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue() + b"\0" * 16


def load(backend, path):
    return fm.MLP.load(path, backend=backend)


def flipped(blob: bytes) -> bytes:
    mid = len(blob) // 2
    return blob[:mid] + bytes(b ^ 0xFF for b in blob[mid:mid + 64]) + blob[mid + 64:]


def set_key(key, value):
    def edit(arrays, meta):
        meta[key] = value
    return edit


def set_array(key, value):
    def edit(arrays, meta):
        arrays[key] = value
    return edit


CASES = [
    # the file loader
    Case("load-missing", "MLP.load", "no such file", FileNotFoundError, r"no model file at .*model.npz",
         lambda k, t: load(k, t / "model.npz")),
    Case("load-truncated", "MLP.load", "the file cut in half", ValueError, r"model.npz: .*truncated or corrupt",
         lambda k, t: load(k, write_file(t, valid_file_bytes()[: len(valid_file_bytes()) // 2]))),
    Case("load-corrupt", "MLP.load", "64 bytes inverted mid-file", ValueError, r"model.npz: ",
         lambda k, t: load(k, write_file(t, flipped(valid_file_bytes())))),
    Case("load-not-zip", "MLP.load", "a text file named .npz", ValueError, r"model.npz: ",
         lambda k, t: load(k, write_file(t, b"hello, I am not a model\n"))),
    Case("load-newer-version", "MLP.load", "format_version one above the newest this fastmlp writes",
         ValueError, r"model.npz: format_version \d+ is newer than this fastmlp reads",
         lambda k, t: load(k, edited_file(t, set_key("format_version", FORMAT_VERSION + 1)))),
    Case("load-wrong-shape", "MLP.load", "w0 of shape (3, 5) for layer_sizes [4, 5, 3]", ValueError,
         r"model.npz: array 'w0' is float32\(3, 5\), expected float32\(4, 5\)",
         lambda k, t: load(k, edited_file(t, set_array("w0", np.zeros((3, 5), np.float32))))),
    Case("load-wrong-dtype", "MLP.load", "b0 stored as float64", ValueError, r"model.npz: array 'b0' is float64",
         lambda k, t: load(k, edited_file(t, set_array("b0", np.zeros(5))))),
    Case("load-pickle", "MLP.load", "w0 is a pickled object array", ValueError,
         r"model.npz: .*(pickle|allow_pickle)",
         lambda k, t: load(k, edited_file(t, set_array("w0", np.array([{"boom": 1}], dtype=object))))),
    Case("load-nan-weights", "MLP.load", "NaN in w1", ValueError, r"model.npz: array 'w1' holds NaN",
         lambda k, t: load(k, edited_file(t, set_array("w1", np.full((5, 3), np.nan, np.float32))))),
    Case("load-bad-meta", "MLP.load", "metadata layer_sizes 'many'", ValueError,
         r"model.npz: metadata does not describe a valid model",
         lambda k, t: load(k, edited_file(t, set_key("layer_sizes", "many")))),
    Case("load-member-not-npy", "MLP.load", "zip member b0.npy holds raw bytes, not a .npy", ValueError,
         r"model.npz: .*b0",
         lambda k, t: load(k, member_replaced(t, "b0.npy", b"raw bytes, no npy magic"))),
    Case("load-huge-header", "MLP.load", "w0.npy header promises 2^40 x 2^10 float32 in 100 bytes", ValueError,
         r"model.npz: .*w0",
         lambda k, t: load(k, member_replaced(t, "w0.npy", npy_header_only((2**40, 2**10))))),
]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("case,backend", params(CASES))
def test_bad_input(case, backend, tmp_path):
    check(case, backend, tmp_path)
