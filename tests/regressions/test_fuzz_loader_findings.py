"""Regression tests for what fuzz/fuzz_loader.py found (fuzz/README.md has the run log).

Each builds the smallest file with the same fault as the fuzzer's input, deterministically, and
requires what every damaged model file must give: a ValueError naming the file. Each failed
before io.py's member and header checks landed.
"""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np
import pytest

import fastmlp as fm

PATCH = "io._read_arrays/_read_meta patch pending (hardening report)"


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    """The zip members of a small saved model (Adam state included)."""
    rng = np.random.default_rng(0)
    m = fm.MLP([4, 5, 3], backend="numpy")
    m.fit(rng.standard_normal((16, 4)).astype(np.float32), rng.integers(0, 3, 16), epochs=1, batch_size=8)
    path = tmp_path_factory.mktemp("valid") / "m.npz"
    m.save(path)
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def write(tmp_path, files: dict) -> str:
    path = tmp_path / "model.npz"
    with zipfile.ZipFile(path, "w") as z:
        for name, content in files.items():
            z.writestr(name, content)
    return path


def assert_refused(path):
    with pytest.raises(ValueError, match=str(path).replace(".", r"\.")):
        fm.MLP.load(path)


def test_member_that_is_not_npy(tmp_path, members):
    """np.load hands back raw bytes for a member without the .npy magic."""
    assert_refused(write(tmp_path, {**members, "b0.npy": b"no magic here"}))


def test_meta_member_that_is_not_npy(tmp_path, members):
    assert_refused(write(tmp_path, {**members, "meta.npy": b"{\"format\": \"fastmlp.MLP\"}"}))


def test_npy_header_with_an_unclosed_bracket(tmp_path, members):
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (4, 5, }"  # '(' never closed
    header += b" " * (118 - len(header)) + b"\n"
    npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + b"\0" * 80
    assert_refused(write(tmp_path, {**members, "w0.npy": npy}))


def test_zip_that_needs_a_newer_zip_version(tmp_path, members):
    path = write(tmp_path, members)
    blob = bytearray(path.read_bytes())
    central = blob.find(b"PK\x01\x02")
    blob[central + 6:central + 8] = struct.pack("<H", 96)  # "version needed to extract": 9.6
    path.write_bytes(bytes(blob))
    assert_refused(path)


def test_metadata_with_an_invalid_code_point(tmp_path, members):
    """A '<U' array whose UCS4 data holds 0x110000 (beyond Unicode): NumPy builds a malformed str."""
    with np.load(write(tmp_path, members), allow_pickle=False) as npz:
        meta = str(npz["meta"])
    raw = bytearray(np.array(meta).tobytes())
    at = meta.index('"cross_entropy"') + 1  # inside the loss name
    raw[4 * at:4 * at + 4] = struct.pack("<I", 0x110000)
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": f"<U{len(meta)}", "fortran_order": False, "shape": ()})
    assert_refused(write(tmp_path, {**members, "meta.npy": buf.getvalue() + bytes(raw)}))


def test_npy_header_with_an_unparsable_dtype(tmp_path, members):
    header = b"{'descr': '08<f4', 'fortran_order': False, 'shape': (4, 5), }"  # '08': not a number
    header += b" " * (118 - len(header)) + b"\n"
    npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + b"\0" * 80
    assert_refused(write(tmp_path, {**members, "w0.npy": npy}))


def test_optimizer_name_that_is_not_a_string(tmp_path, members):
    import json

    with np.load(write(tmp_path, members), allow_pickle=False) as npz:
        meta = json.loads(str(npz["meta"]))
    meta["optimizer"]["name"] = {"not": "a name"}
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array(json.dumps(meta)), allow_pickle=False)
    assert_refused(write(tmp_path, {**members, "meta.npy": buf.getvalue()}))
