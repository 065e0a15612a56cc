"""fastmlp.datasets: IDX reading (real files and corrupt ones), the shipped MNIST subset, the
offline half of the downloader, the seeded generators and the split / scaling helpers."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from fastmlp import datasets as ds
from fastmlp.datasets import download


def _test_data() -> Path | None:
    """The folder holding mnist/ and fashion-mnist/ IDX files for these tests, if one is given."""
    env = os.environ.get("FASTMLP_TEST_DATA")
    return Path(env) if env else None


SHARED = _test_data()


def _need(name: str) -> Path:
    if SHARED is None:
        pytest.skip(f"{name} IDX files: set FASTMLP_TEST_DATA to the folder holding {name}/")
    d = SHARED / name
    if not (d / "t10k-labels-idx1-ubyte.gz").is_file():
        pytest.skip(f"{name} IDX files not found in {d} (FASTMLP_TEST_DATA)")
    return d


def idx_bytes(arr: np.ndarray, code: int = 0x08) -> bytes:
    """An IDX file's bytes for ``arr`` (big-endian header, then the data)."""
    dt = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    head = bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">I", s) for s in arr.shape)
    return head + np.ascontiguousarray(arr, dtype=dt).tobytes()


def write_mnist_dir(root: Path, n_train=12, n_test=5, n_labels=None, compress=True, seed=0) -> Path:
    """A tiny MNIST-shaped directory of IDX files."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n if n_labels is None else n_labels, dtype=np.uint8)
        for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
            data = idx_bytes(arr)
            name = f"{split}-{kind}-ubyte"
            if compress:
                (root / (name + ".gz")).write_bytes(gzip.compress(data))
            else:
                (root / name).write_bytes(data)
    return root


# --- real files -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist():
    return ds.load_mnist(_need("mnist"))


def test_real_mnist_shapes_and_labels(mnist):
    X_train, y_train, X_test, y_test = mnist
    assert X_train.shape == (60000, 784) and X_test.shape == (10000, 784)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    assert 0.0 <= X_train.min() and X_train.max() <= 1.0 and X_train.max() == 1.0
    assert set(np.unique(y_train)) == set(range(10)) and set(np.unique(y_test)) == set(range(10))
    # published per-class counts of the test split
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_real_fashion_mnist_test_split():
    X, y = ds.load_mnist(_need("fashion-mnist"), kind="test")
    assert X.shape == (10000, 784) and y.shape == (10000,)
    assert np.bincount(y).tolist() == [1000] * 10


def test_real_gzip_and_raw_read_the_same(tmp_path):
    src = _need("mnist") / "t10k-labels-idx1-ubyte.gz"
    raw = tmp_path / "t10k-labels-idx1-ubyte"
    raw.write_bytes(gzip.decompress(src.read_bytes()))
    a, b = ds.read_idx(src), ds.read_idx(raw)
    assert a.dtype == np.uint8 and a.shape == (10000,)
    np.testing.assert_array_equal(a, b)


def test_checksum_table_matches_the_test_data_files():
    for name in ("mnist", "fashion-mnist"):
        d = _need(name)
        for fname, sha in download._SHA256[name].items():
            assert hashlib.sha256((d / fname).read_bytes()).hexdigest() == sha, fname


# --- IDX parsing on synthetic files ---------------------------------------------------------


@pytest.mark.parametrize("code", [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E])
def test_read_idx_every_type_code(tmp_path, code):
    arr = (np.arange(24).reshape(2, 3, 4) - 5)
    if code == 0x08:
        arr = np.abs(arr)
    p = tmp_path / "a.idx"
    p.write_bytes(idx_bytes(arr, code))
    got = ds.read_idx(p)
    assert got.shape == (2, 3, 4) and got.dtype.isnative
    np.testing.assert_array_equal(got, arr)


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
def test_load_mnist_directory_gzip_and_raw(tmp_path, compress):
    d = write_mnist_dir(tmp_path / "d", compress=compress)
    X_train, y_train, X_test, y_test = ds.load_mnist(d)
    assert X_train.shape == (12, 784) and X_test.shape == (5, 784)
    assert y_train.dtype == np.int64 and X_train.dtype == np.float32
    X_raw, _ = ds.load_mnist(d, kind="train", dtype="uint8", normalize=False)
    np.testing.assert_allclose(X_train, X_raw / np.float32(255), rtol=1e-6)


def test_load_mnist_accepts_dotted_names(tmp_path):
    d = write_mnist_dir(tmp_path / "d")
    for p in list(d.iterdir()):
        p.rename(d / p.name.replace("-idx", ".idx"))
    assert ds.load_mnist(d, kind="test")[0].shape == (5, 784)


def test_load_mnist_kind_and_missing(tmp_path):
    d = write_mnist_dir(tmp_path / "d")
    (d / "t10k-labels-idx1-ubyte.gz").unlink()
    assert len(ds.load_mnist(d, kind="train")) == 2
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        ds.load_mnist(d, kind="test")
    with pytest.raises(ValueError, match="kind"):
        ds.load_mnist(d, kind="validation")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ds.load_mnist(tmp_path / "nowhere")


def _corrupt_cases():
    good = idx_bytes(np.zeros((3, 28, 28), np.uint8))
    return {
        "empty": (b"", "truncated"),
        "short-header": (good[:10], "truncated"),
        "bad-magic": (b"\x01\x02" + good[2:], "bad magic"),
        "unknown-type": (bytes([0, 0, 0x07, 3]) + good[4:], "unknown data type"),
        "zero-dims": (bytes([0, 0, 0x08, 0]), "0 dimensions"),
        "truncated-data": (good[:-100], "truncated"),
        "trailing-bytes": (good + b"\x00" * 7, "trailing"),
        "truncated-gzip": (gzip.compress(good)[:-20], "gzip"),
        "garbage-gzip": (b"\x1f\x8b" + b"\x00" * 30, "gzip"),
    }


@pytest.mark.parametrize("case", list(_corrupt_cases()))
def test_read_idx_corrupt_raises_valueerror_naming_file(tmp_path, case):
    data, why = _corrupt_cases()[case]
    p = tmp_path / f"broken-{case}.idx"
    p.write_bytes(data)
    with pytest.raises(ValueError, match=re.escape(p.name)) as info:
        ds.read_idx(p)
    assert why in str(info.value)


def test_count_mismatch_names_both_files(tmp_path):
    d = write_mnist_dir(tmp_path / "d", n_labels=11)
    with pytest.raises(ValueError, match="count mismatch") as info:
        ds.load_mnist(d, kind="train")
    assert "train-images-idx3-ubyte.gz" in str(info.value) and "train-labels-idx1-ubyte.gz" in str(info.value)


def test_wrong_kind_of_file_is_rejected(tmp_path):
    d = write_mnist_dir(tmp_path / "d")
    shutil.copy(d / "train-labels-idx1-ubyte.gz", d / "train-images-idx3-ubyte.gz")
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz.*not an image file"):
        ds.load_mnist(d, kind="train")
    (d / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros((12, 28, 28)), 0x0D)))
    with pytest.raises(ValueError, match="not an image file"):
        ds.load_mnist(d, kind="train")


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.idx"):
        ds.read_idx(tmp_path / "nothing.idx")


# --- shipped subset -------------------------------------------------------------------------


def test_load_mnist_small():
    X_train, y_train, X_test, y_test = ds.load_mnist_small()
    meta = ds.mnist_small_meta()
    assert X_train.shape == (meta["n_train"], 784) and X_test.shape == (meta["n_test"], 784)
    assert 15000 <= meta["n_train"] and 2000 <= meta["n_test"]
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64 and y_test.dtype == np.int64
    assert 0.0 <= X_train.min() and X_train.max() <= 1.0 and X_test.max() == 1.0
    assert np.bincount(y_train, minlength=10).tolist() == meta["train_class_counts"]
    assert np.bincount(y_test, minlength=10).tolist() == meta["test_class_counts"]
    assert min(meta["train_class_counts"]) > 0.08 * meta["n_train"]  # stratified: every class present
    assert set(meta["source_files"]) == {f + ".gz" for f in ds.MNIST_FILES.values()}
    path = Path(ds.__file__).parent.parent / "data" / "mnist_small.npz"
    assert path.stat().st_size < 3.7e6  # small enough to ship in the wheel


def test_load_mnist_small_dtypes():
    X64 = ds.load_mnist_small(dtype="float64")[2]
    raw = ds.load_mnist_small(dtype="uint8", normalize=False)[2]
    assert X64.dtype == np.float64 and raw.dtype == np.uint8 and raw.max() == 255
    np.testing.assert_allclose(X64 * 255, raw, atol=1e-9)
    with pytest.raises(ValueError, match="floating"):
        ds.load_mnist_small(dtype="int32", normalize=True)


def test_mnist_small_is_a_subset_of_the_real_files(mnist):
    X_train, y_train, _, _ = mnist
    small, ys, _, _ = ds.load_mnist_small()
    key = {row.tobytes(): lab for row, lab in zip(X_train[:20000], y_train[:20000])}
    hits = [(key[r.tobytes()], y) for r, y in zip(small[:300], ys[:300]) if r.tobytes() in key]
    assert len(hits) > 50 and all(a == b for a, b in hits)


# --- download (offline parts) ---------------------------------------------------------------


def _no_network(*args, **kwargs):
    raise OSError("network disabled in tests")


def test_download_uses_valid_cache_without_network(tmp_path, monkeypatch):
    src = _need("mnist")
    cache = tmp_path / "cache"
    (cache / "mnist").mkdir(parents=True)
    for fname in download._SHA256["mnist"]:
        os.symlink(src / fname, cache / "mnist" / fname)
    monkeypatch.setattr(download.urllib.request, "urlopen", _no_network)
    assert ds.download_mnist("mnist", cache_dir=cache) == cache / "mnist"
    monkeypatch.setenv("FASTMLP_DATA", str(cache))
    assert ds.default_cache_dir() == cache


def test_download_failure_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(download.urllib.request, "urlopen", _no_network)
    bad = tmp_path / "mnist"
    bad.mkdir()
    (bad / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not the real file")
    with pytest.raises(ConnectionError, match="could not download") as info:
        ds.fetch_mnist("mnist", cache_dir=tmp_path)
    assert "storage.googleapis.com" in str(info.value)
    assert not list(bad.glob("*.part"))
    with pytest.raises(ValueError, match="name"):
        ds.download_mnist("cifar10", cache_dir=tmp_path)


# --- generators -----------------------------------------------------------------------------

CLASSIFIERS = [
    (ds.xor, {}, 200, 2),
    (ds.moons, {}, 500, 2),
    (ds.circles, {}, 500, 2),
    (ds.spirals, {}, 600, 3),
    (ds.spirals, {"n_classes": 5, "n_samples": 101}, 101, 5),
    (ds.moons, {"n_samples": 7}, 7, 2),
]


@pytest.mark.parametrize("make, kwargs, n, k", CLASSIFIERS,
                         ids=[f"{m.__name__}-{n}" for m, _, n, _ in CLASSIFIERS])
def test_classification_generators(make, kwargs, n, k):
    X, y = make(**kwargs)
    assert X.shape == (n, 2) and X.dtype == np.float64 and y.shape == (n,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=k)
    assert len(counts) == k and counts.max() - counts.min() <= 1
    assert np.isfinite(X).all()
    X2, y2 = make(**kwargs)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, y3 = make(**kwargs, seed=1)
    assert not np.array_equal(X, X3)
    assert X.flags.c_contiguous


def test_generators_are_shuffled():
    for make in (ds.xor, ds.moons, ds.circles, ds.spirals):
        y = make()[1]
        assert (np.diff(y) != 0).sum() > len(y) // 10, make.__name__


def test_xor_truth_table_and_clusters():
    X, y = ds.xor(4)
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])
    X, y = ds.xor(400, noise=0.1)
    np.testing.assert_array_equal(y, (X[:, 0] > 0.5) ^ (X[:, 1] > 0.5))
    with pytest.raises(ValueError, match="n_samples"):
        ds.xor(3)


def test_noise_free_geometry():
    X, y = ds.circles(200, noise=0.0, factor=0.3)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0)
    np.testing.assert_allclose(r[y == 1], 0.3)
    X, y = ds.moons(100, noise=0.0)
    np.testing.assert_allclose(np.hypot(*X[y == 0].T), 1.0)
    np.testing.assert_allclose(np.hypot(X[y == 1, 0] - 1.0, X[y == 1, 1] - 0.5), 1.0)
    X, _ = ds.spirals(300, noise=0.0)
    assert np.hypot(X[:, 0], X[:, 1]).max() <= 1.0 + 1e-12


@pytest.mark.parametrize("bad", [dict(noise=-1.0), dict(noise=float("nan")), dict(n_samples=0),
                                 dict(n_samples=2.5), dict(factor=1.0)])
def test_generator_bad_arguments(bad):
    with pytest.raises((ValueError, TypeError)):
        ds.circles(**bad)
    with pytest.raises(ValueError, match="n_classes"):
        ds.spirals(n_classes=1)


def test_house_prices():
    X, y = ds.house_prices()
    assert X.shape == (1000, len(ds.HOUSE_FEATURES)) == (1000, 8)
    assert X.dtype == np.float64 and y.dtype == np.float64 and y.shape == (1000,)
    assert (y > 0).all() and np.isfinite(X).all()
    X2, y2, names = ds.house_prices(return_names=True)
    np.testing.assert_array_equal(y, y2)
    assert names == ds.HOUSE_FEATURES and "area_m2" in names
    assert not np.array_equal(y, ds.house_prices(seed=1)[1])
    area = X[:, names.index("area_m2")]
    dist = X[:, names.index("distance_km")]
    assert np.corrcoef(area, y)[0, 1] > 0.5 and np.corrcoef(dist, y)[0, 1] < -0.2
    # noise=0 is the exact formula: same X, prices differ only by the noise factor
    X0, y0 = ds.house_prices(noise=0.0)
    np.testing.assert_array_equal(X0, X)
    assert 0.05 < np.std(np.log(y / y0)) < 0.15


# --- helpers --------------------------------------------------------------------------------


def test_train_test_split():
    X = np.arange(100).reshape(50, 2)
    y = np.arange(50)
    Xtr, Xte, ytr, yte = ds.train_test_split(X, y, test_size=0.2, seed=3)
    assert len(Xte) == 10 and len(Xtr) == 40
    np.testing.assert_array_equal(np.sort(np.concatenate([ytr, yte])), y)
    np.testing.assert_array_equal(Xtr[:, 0] // 2, ytr)  # rows stay paired
    again = ds.train_test_split(X, y, test_size=0.2, seed=3)
    np.testing.assert_array_equal(again[3], yte)
    assert not np.array_equal(ds.train_test_split(X, y, seed=4)[3], yte)
    assert len(ds.train_test_split(X, y, test_size=7)[1]) == 7
    for bad in (0.0, 1.0, 0, 50, "a"):
        with pytest.raises((ValueError, TypeError)):
            ds.train_test_split(X, y, test_size=bad)
    with pytest.raises(ValueError, match="rows"):
        ds.train_test_split(X, y[:-1])


def test_standardize():
    rng = np.random.default_rng(0)
    A = rng.normal(5.0, 3.0, (200, 3))
    A[:, 2] = 7.0
    B = rng.normal(5.0, 3.0, (20, 3))
    As, Bs, mean, std = ds.standardize(A, B, return_stats=True)
    np.testing.assert_allclose(As[:, :2].mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(As[:, :2].std(0), 1.0)
    np.testing.assert_array_equal(As[:, 2], 0.0)
    np.testing.assert_allclose(Bs * std + mean, B)
    ys, none = ds.standardize(np.arange(10))
    assert none is None and ys.dtype == np.float64 and abs(ys.mean()) < 1e-12
