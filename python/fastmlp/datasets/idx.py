"""MNIST-style IDX files: the reader, full MNIST / Fashion-MNIST from a folder, and the
subset shipped inside the package."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import numpy as np

_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
_MNIST_SMALL = "mnist_small.npz"

# --------------------------------------------------------------------------------------
# IDX files
# --------------------------------------------------------------------------------------

# IDX type code (third byte of the magic number) -> big-endian NumPy dtype.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    """The decoded content of ``path``: gunzipped when it starts with the gzip magic bytes."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"IDX file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise ValueError(f"IDX file {str(path)!r} is a directory, not a file") from None
    if raw[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"IDX file {str(path)!r}: corrupt or truncated gzip data ({exc})") from None
    return raw


def read_idx(path) -> np.ndarray:
    """Read one IDX file (the format of MNIST and Fashion-MNIST) into a NumPy array.

    The file may be gzip-compressed or raw; which one is detected from its first bytes, not its
    name. The header is a big-endian magic number ``0x0000TTNN`` (TT = element type code,
    NN = number of dimensions) followed by NN big-endian uint32 sizes, then the data.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    numpy.ndarray
        Native-endian array of the stored shape, e.g. ``(60000, 28, 28)`` uint8 for images.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        Naming the file, if the gzip stream is corrupt, the magic number is wrong, the type
        code is unknown, or the data is shorter or longer than the header says.
    """
    path = Path(path)
    data = _read_bytes(path)
    name = str(path)
    if len(data) < 4:
        raise ValueError(f"IDX file {name!r} is truncated: {len(data)} bytes, no complete header")
    if data[0] != 0 or data[1] != 0:
        raise ValueError(
            f"IDX file {name!r} has a bad magic number 0x{data[:4].hex()}: "
            "expected 0x0000TTNN (is this an IDX file?)"
        )
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise ValueError(f"IDX file {name!r} has an unknown data type code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise ValueError(f"IDX file {name!r} declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(
            f"IDX file {name!r} is truncated: header needs {header} bytes, file has {len(data)}"
        )
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    count = 1
    for s in shape:
        count *= s
    expected = header + count * dtype.itemsize
    if len(data) < expected:
        raise ValueError(
            f"IDX file {name!r} is truncated: shape {shape} needs {expected} bytes, "
            f"file has {len(data)}"
        )
    if len(data) > expected:
        raise ValueError(
            f"IDX file {name!r} has {len(data) - expected} unexpected trailing bytes "
            f"after the data of shape {shape}"
        )
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=True)


# Standard file names; "train-images.idx3-ubyte" (dot) is the spelling inside the original
# gzip headers and is accepted too.
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


def _find_idx(directory: Path, stem: str) -> Path:
    """The file for ``stem`` in ``directory``: raw or ``.gz``, hyphen or dot spelling."""
    dotted = stem.replace("-idx", ".idx")
    candidates = [stem, stem + ".gz", dotted, dotted + ".gz"]
    for cand in candidates:
        p = directory / cand
        if p.is_file():
            return p
    raise FileNotFoundError(
        f"no IDX file {stem!r} (or {stem}.gz) in {str(directory)!r}; a MNIST / Fashion-MNIST "
        f"directory holds {', '.join(v + '[.gz]' for v in MNIST_FILES.values())}"
    )


def _to_float(images: np.ndarray, dtype, normalize: bool) -> np.ndarray:
    """(n, 28, 28) uint8 -> (n, 784) of ``dtype``, divided by 255 when ``normalize``."""
    dtype = np.dtype(dtype)
    X = images.reshape(images.shape[0], -1)
    if normalize:
        if dtype.kind != "f":
            raise ValueError(f"normalize=True needs a floating dtype, got dtype={dtype.name!r}")
        X = X.astype(dtype)
        X *= dtype.type(1.0 / 255.0)
        return X
    return X.astype(dtype)


def _load_split(directory: Path, split: str, dtype, normalize: bool):
    img_path = _find_idx(directory, MNIST_FILES[f"{split}_images"])
    lab_path = _find_idx(directory, MNIST_FILES[f"{split}_labels"])
    images = read_idx(img_path)
    labels = read_idx(lab_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"IDX file {str(img_path)!r} is not an image file: expected uint8 (n, rows, cols), "
            f"got {images.dtype.name} with shape {images.shape}"
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise ValueError(
            f"IDX file {str(lab_path)!r} is not a label file: expected uint8 (n,), "
            f"got {labels.dtype.name} with shape {labels.shape}"
        )
    if labels.size and labels.max() > 9:  # MNIST has digits 0-9; a corrupt file would make a
        # classifier with up to 256 classes without a word
        raise ValueError(f"IDX file {str(lab_path)!r} holds label {int(labels.max())}; MNIST labels "
                         f"are the digits 0 to 9 (a corrupt or foreign label file)")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"count mismatch: {str(img_path)!r} holds {images.shape[0]} images but "
            f"{str(lab_path)!r} holds {labels.shape[0]} labels"
        )
    return _to_float(images, dtype, normalize), labels.astype(np.int64)


def load_mnist(path, kind: str = "both", dtype="float32", normalize: bool = True):
    """Load MNIST or Fashion-MNIST from the standard IDX files in a directory.

    Parameters
    ----------
    path : str or os.PathLike
        Directory holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each raw or ``.gz``;
        compression is detected from the bytes). Only the files of the requested ``kind``
        must be present.
    kind : {"both", "train", "test"}
        Which split(s) to read.
    dtype : str or numpy.dtype
        dtype of X (default float32).
    normalize : bool
        Scale pixels from 0..255 to [0, 1] (needs a floating dtype).

    Returns
    -------
    tuple
        ``kind="both"``: ``(X_train, y_train, X_test, y_test)``; ``"train"`` or ``"test"``:
        ``(X, y)``. X is ``(n, 784)`` of ``dtype``, y is int64 in 0..9.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a directory or a file is missing.
    ValueError
        Naming the file, if a file is corrupt, truncated or of the wrong type, or if images
        and labels counts differ.
    """
    directory = Path(path).expanduser()
    if not directory.is_dir():
        raise FileNotFoundError(f"MNIST data directory {str(directory)!r} does not exist or is not a directory")
    if kind not in ("both", "train", "test"):
        raise ValueError(f"kind must be 'both', 'train' or 'test', got {kind!r}")
    if kind == "train":
        return _load_split(directory, "train", dtype, normalize)
    if kind == "test":
        return _load_split(directory, "test", dtype, normalize)
    return (*_load_split(directory, "train", dtype, normalize),
            *_load_split(directory, "test", dtype, normalize))


def load_mnist_small(dtype="float32", normalize: bool = True):
    """The MNIST subset shipped inside the package (no download needed).

    A stratified, seeded subset of MNIST built by ``tools/make_mnist_small.py``: training
    images drawn from the official training split, test images from the official test split
    (see ``fastmlp/data/README.md`` and :func:`mnist_small_meta` for counts and checksums).

    Parameters
    ----------
    dtype : str or numpy.dtype
        dtype of X (default float32). Use ``"uint8"`` with ``normalize=False`` for raw pixels.
    normalize : bool
        Scale pixels from 0..255 to [0, 1] (needs a floating dtype).

    Returns
    -------
    (X_train, y_train, X_test, y_test)
        X is ``(n, 784)`` of ``dtype``; y is int64 in 0..9.
    """
    with np.load(_mnist_small_path(), allow_pickle=False) as f:
        x_train, y_train = f["x_train"], f["y_train"]
        x_test, y_test = f["x_test"], f["y_test"]
    return (
        _to_float(x_train, dtype, normalize),
        y_train.astype(np.int64),
        _to_float(x_test, dtype, normalize),
        y_test.astype(np.int64),
    )


def mnist_small_meta() -> dict:
    """How the shipped MNIST subset was built: sources, their SHA-256, seed and counts."""
    with np.load(_mnist_small_path(), allow_pickle=False) as f:
        return json.loads(str(f["meta"][()]))


def _mnist_small_path() -> Path:
    p = _DATA_DIR / _MNIST_SMALL
    if not p.is_file():
        raise FileNotFoundError(
            f"the shipped MNIST subset {str(p)!r} is missing; rebuild it with "
            "tools/make_mnist_small.py or reinstall fastmlp"
        )
    return p


