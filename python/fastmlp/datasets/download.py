"""Download MNIST / Fashion-MNIST IDX files into a cache folder, each checked by SHA-256."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from .idx import load_mnist

# --------------------------------------------------------------------------------------
# Download with checksums
# --------------------------------------------------------------------------------------

# Mirrors tried in order; every file is checked against its SHA-256 whatever the mirror.
_MIRRORS = {
    "mnist": (
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
    ),
    "fashion-mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
}

# SHA-256 of the published .gz files.
_SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
}


def default_cache_dir() -> Path:
    """``$FASTMLP_DATA`` if set, else ``~/.cache/fastmlp``."""
    env = os.environ.get("FASTMLP_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "fastmlp"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_name(name: str) -> str:
    if name not in _SHA256:
        raise ValueError(f"name must be one of {', '.join(_SHA256)}, got {name!r}")
    return name


def download_mnist(name: str = "mnist", cache_dir=None, timeout: float = 60.0) -> Path:
    """Download the four IDX ``.gz`` files of ``name`` into ``cache_dir/name`` if needed.

    Files already present with the right SHA-256 are not downloaded again. Each download goes
    to a temporary file, is checked against the published SHA-256 and only then renamed into
    place, so an interrupted or tampered download never leaves a bad file behind.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
    cache_dir : str or os.PathLike, optional
        Defaults to :func:`default_cache_dir` (``$FASTMLP_DATA`` or ``~/.cache/fastmlp``).
    timeout : float
        Seconds per network request.

    Returns
    -------
    pathlib.Path
        The directory holding the files (pass it to :func:`load_mnist`).

    Raises
    ------
    ValueError
        Unknown ``name``.
    ConnectionError
        If no mirror delivers a file (no network, mirror down) or every copy fails its checksum.
    """
    name = _check_name(name)
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    target = root / name
    target.mkdir(parents=True, exist_ok=True)
    for fname, sha in _SHA256[name].items():
        dest = target / fname
        if dest.is_file() and _sha256(dest) == sha:
            continue
        errors = []
        for mirror in _MIRRORS[name]:
            url = mirror + fname
            fd, tmp = tempfile.mkstemp(dir=target, prefix=fname + ".", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                    shutil.copyfileobj(resp, out)
                got = _sha256(Path(tmp))
                if got != sha:
                    errors.append(f"{url}: SHA-256 {got} != expected {sha}")
                    continue
                os.replace(tmp, dest)
                break
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                errors.append(f"{url}: {exc}")
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        else:
            raise ConnectionError(
                f"could not download {fname} for {name}:\n  " + "\n  ".join(errors)
                + f"\nCopy the four IDX files into {str(target)!r} by hand, or pass the directory "
                "that holds them to load_mnist()."
            )
    return target


def fetch_mnist(name: str = "mnist", cache_dir=None, dtype="float32", normalize: bool = True):
    """Download (once, SHA-256 checked) and load full MNIST or Fashion-MNIST.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
    cache_dir : str or os.PathLike, optional
        Where the files are cached, under a ``name`` subfolder; defaults to ``$FASTMLP_DATA``
        or ``~/.cache/fastmlp``.
    dtype, normalize
        As in :func:`load_mnist`.

    Returns
    -------
    (X_train, y_train, X_test, y_test)
        60000 training and 10000 test images, X ``(n, 784)``, y int64.

    Raises
    ------
    ConnectionError
        If the files are not cached and cannot be downloaded.
    """
    directory = download_mnist(name, cache_dir)
    return load_mnist(directory, kind="both", dtype=dtype, normalize=normalize)


