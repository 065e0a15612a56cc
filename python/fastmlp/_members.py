"""A model file's zip members, checked before anything is decompressed or built.

Order of checks, cheapest first, so a few-KB file can never cost more than it honestly holds:
1. the member list (zip central directory only): every name is unique, a `.npy`, one of the
   names fastmlp writes; the metadata member is small;
2. the metadata (one small member): layer sizes and layer count give every array's shape;
3. each member's `.npy` header (its first bytes): dtype and shape equal what the metadata says,
   and the member's stored size matches that shape.
Only then are the arrays read. A zip bomb or a file whose metadata lies about layer sizes fails
in step 1 to 3, before any weight is decompressed or any layer allocated.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from pathlib import Path

import numpy as np

_NAME = re.compile(r"(meta|class_weight|[wbmvg](0|[1-9][0-9]{0,6}))\.npy")
META_MAX_BYTES = 1 << 20  # metadata is a few hundred bytes; a MiB is generous
# fastmlp writes members uncompressed; a compressed member that inflates past both bounds is
# refused from the central directory (a zip bomb), before a byte of it is decompressed
INFLATE_MAX_RATIO, INFLATE_FREE_BYTES = 100, 64 << 20
_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def member_list(path: Path, zf: zipfile.ZipFile) -> dict:
    """{name without .npy: ZipInfo}, after checking the names from the central directory alone."""
    members = {}
    for info in zf.infolist():
        name = info.filename
        if not name.endswith(".npy"):
            raise ValueError(f"{path}: entry {name!r} is not a .npy array")
        if not _NAME.fullmatch(name):
            raise ValueError(f"{path}: unexpected arrays [{name[:-4]!r}]")
        ratio_limit = INFLATE_MAX_RATIO * max(1, info.compress_size)
        if info.file_size > INFLATE_FREE_BYTES and info.file_size > ratio_limit:
            raise ValueError(f"{path}: entry {name!r} would inflate {info.compress_size} stored "
                             f"bytes to {info.file_size} (a zip bomb?); fastmlp writes "
                             f"uncompressed files")
        if name[:-4] in members:
            raise ValueError(f"{path}: entry {name!r} appears twice (a tampered file; which one "
                             f"counts is ambiguous)")
        members[name[:-4]] = info
    if "meta" not in members:
        raise ValueError(f"{path}: missing the 'meta' JSON entry; not a fastmlp model file")
    if members["meta"].file_size > META_MAX_BYTES:
        raise ValueError(f"{path}: metadata entry holds {members['meta'].file_size} bytes, more "
                         f"than {META_MAX_BYTES}; not a fastmlp model file")
    return members


def header(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo):
    """(shape, dtype, data offset) from a member's .npy header, reading only its first bytes."""
    name = info.filename
    try:
        with zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version not in _READERS:
                raise ValueError(f".npy format version {version} is not one fastmlp writes")
            shape, _, dtype = _READERS[version](f)
            offset = f.tell()
    except ValueError as exc:  # bad magic, unparsable header
        raise ValueError(f"{path}: entry {name!r} is not a valid .npy array ({exc})") from exc
    if dtype.hasobject:
        raise ValueError(f"{path}: entry {name!r} holds Python objects (needs pickle); refused")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes != info.file_size - offset:
        raise ValueError(f"{path}: entry {name!r} promises {shape} {dtype} ({nbytes} bytes) "
                         f"but holds {info.file_size - offset} bytes")
    return shape, dtype


def same_type(got: np.dtype, want: np.dtype) -> bool:
    """Equal up to byte order (a big-endian float32 is float32; reading converts it)."""
    return got.newbyteorder("=") == want.newbyteorder("=")


def read_meta_array(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    shape, dtype = header(path, zf, info)
    if shape != () or dtype.kind != "U":
        raise ValueError(f"{path}: missing the 'meta' JSON entry; not a fastmlp model file")
    return read_array(path, zf, info)


def read_array(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    with zf.open(info) as f:
        arr = np.lib.format.read_array(f, allow_pickle=False)
    return arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))


def expected_shapes(path: Path, meta: dict, present: set) -> dict:
    """{member: (shape, dtype)} the metadata implies for the members that are present; raises on
    a member the metadata has no place for. Checks only what shapes need (the model's own
    constructor checks the rest after the file has passed)."""
    sizes = meta.get("layer_sizes")
    if (not isinstance(sizes, list) or len(sizes) < 2
            or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes)):
        raise ValueError(f"{path}: metadata does not describe a valid model: layer_sizes must be a "
                         f"list of at least 2 positive ints, got {_short(sizes)}")
    n_layers = len(sizes) - 1
    # every layer needs its w and b member: a million layers in the metadata of a file holding
    # a few members is refused here, not after building a million-layer model
    stored_layers = sum(1 for name in present if name[0] == "w" and name != "meta")
    if n_layers != stored_layers:
        raise ValueError(f"{path}: metadata describes {n_layers} layers but the file holds "
                         f"{stored_layers} weight arrays")
    try:
        dtype = np.dtype(meta.get("dtype"))
    except TypeError as exc:
        raise ValueError(f"{path}: metadata does not describe a valid model: bad dtype "
                         f"{_short(meta.get('dtype'))}") from exc
    param_shapes = []
    for i in range(n_layers):
        param_shapes += [(sizes[i], sizes[i + 1]), (sizes[i + 1],)]
    shapes = {}
    for name in present:
        if name == "meta":
            continue
        if name == "class_weight":
            shapes[name] = ((sizes[-1],), np.dtype(np.float64))
            continue
        kind, index = name[0], int(name[1:])
        limit = n_layers if kind in "wb" else 2 * n_layers
        if index >= limit:
            raise ValueError(f"{path}: unexpected arrays [{name!r}]")
        shape = param_shapes[2 * index + (kind == "b")] if kind in "wb" else param_shapes[index]
        shapes[name] = (shape, dtype)
    return shapes


def parse_meta(path: Path, text: str) -> dict:
    try:
        meta = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:  # RecursionError: "[[[[...", fuzzed
        raise ValueError(f"{path}: corrupt metadata JSON: {exc}") from exc
    return meta


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
