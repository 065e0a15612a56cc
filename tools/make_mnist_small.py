"""Build python/fastmlp/data/mnist_small.npz, the MNIST subset shipped inside the wheel.

Run once from the repository root:

    PYTHONPATH=python python tools/make_mnist_small.py [--src DIR] [--check]

It reads the four standard MNIST IDX files, draws a stratified, seeded subset (each class
keeps its share of the split: 19000 of the 60000 training images, 2500 of the 10000 official
test images), keeps the images as uint8 (n, 784) and the labels as uint8, and writes them with
np.savez_compressed together with a 0-d str array "meta" (JSON: source files, their SHA-256,
seed, counts, per-class counts). Rows keep their original MNIST order (selected indices are
sorted), so the output depends only on the source files and the seed.

--check trains the default CLI network (784-256-128-10 relu, Adam lr 1e-3, batch 64, 5 epochs,
He-normal init) with a small NumPy implementation over a few seeds and prints test accuracy.
Sizes were chosen with it (accuracy over training seeds, 5 epochs):
    15000 train / 5000 test   3.29 MB   ~95.7%
    18000 train / 3000 test   3.45 MB   ~96.0% (95.7-96.4)
    19000 train / 2500 test   3.54 MB   ~96.6% (96.4-96.9)   <- chosen (3.37 MiB)
    20000 train / 5000 test   4.11 MB   ~96.4%
Every image costs about 165 bytes compressed, so the budget (~3.5 MB) allows ~21500 images.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from fastmlp.datasets import MNIST_FILES, download_mnist, read_idx  # noqa: E402

SEED = 20240601
N_TRAIN = 19000
N_TEST = 2500
OUT = ROOT / "python" / "fastmlp" / "data" / "mnist_small.npz"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stratified(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of n rows whose class counts are proportional to the class counts of
    ``labels`` (largest-remainder rounding), drawn without replacement."""
    counts = np.bincount(labels, minlength=10)
    exact = counts * (n / len(labels))
    take = np.floor(exact).astype(int)
    remainder = n - take.sum()
    # largest remainders first; ties broken by class number (stable sort)
    take[np.argsort(-(exact - take), kind="stable")[:remainder]] += 1
    picks = [rng.choice(np.flatnonzero(labels == c), take[c], replace=False) for c in range(10)]
    return np.sort(np.concatenate(picks))


def quick_accuracy(x_tr, y_tr, x_te, y_te, seed, epochs=5, batch=64, lr=1e-3):
    """Test accuracy of 784-256-128-10 relu + softmax cross-entropy trained with Adam (NumPy)."""
    rng = np.random.default_rng(seed)
    X = x_tr.astype(np.float32) / 255
    Xt = x_te.astype(np.float32) / 255
    sizes = [784, 256, 128, 10]
    W = [(rng.standard_normal((a, b)) * np.sqrt(2 / a)).astype(np.float32) for a, b in zip(sizes, sizes[1:])]
    B = [np.zeros(b, np.float32) for b in sizes[1:]]
    params = W + B
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    t = 0
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for s in range(0, len(X), batch):
            idx = order[s:s + batch]
            acts, zs = [X[idx]], []
            for i in range(3):
                z = acts[-1] @ W[i] + B[i]
                zs.append(z)
                acts.append(np.maximum(z, 0) if i < 2 else z)
            o = acts[-1] - acts[-1].max(1, keepdims=True)
            g = np.exp(o)
            g /= g.sum(1, keepdims=True)
            g[np.arange(len(idx)), y_tr[idx]] -= 1
            g /= len(idx)
            gW, gB = [None] * 3, [None] * 3
            for i in (2, 1, 0):
                gW[i], gB[i] = acts[i].T @ g, g.sum(0)
                if i:
                    g = (g @ W[i].T) * (zs[i - 1] > 0)
            t += 1
            for p, gr, mm, vv in zip(params, gW + gB, m, v):
                mm *= 0.9
                mm += 0.1 * gr
                vv *= 0.999
                vv += 0.001 * gr * gr
                p -= lr * (mm / (1 - 0.9 ** t)) / (np.sqrt(vv / (1 - 0.999 ** t)) + 1e-8)
    h = Xt
    for i in range(3):
        h = h @ W[i] + B[i]
        if i < 2:
            h = np.maximum(h, 0)
    return float((h.argmax(1) == y_te).mean())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=None,
                    help="directory with the MNIST IDX .gz files; default $FASTMLP_DATA/mnist "
                         "(else ~/.cache/fastmlp/mnist), fetched there with checksums if missing")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true", help="measure test accuracy of the default network")
    ap.add_argument("--check-seeds", type=int, default=3)
    ap.add_argument("--n-train", type=int, default=N_TRAIN)
    ap.add_argument("--n-test", type=int, default=N_TEST)
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    if args.src is None:
        args.src = download_mnist("mnist")

    files = {key: args.src / (stem + ".gz") for key, stem in MNIST_FILES.items()}
    for p in files.values():
        if not p.is_file():
            sys.exit(f"missing {p}")
    arrays = {key: read_idx(p) for key, p in files.items()}
    x_train_all = arrays["train_images"].reshape(-1, 784)
    y_train_all = arrays["train_labels"]
    x_test_all = arrays["test_images"].reshape(-1, 784)
    y_test_all = arrays["test_labels"]

    rng = np.random.default_rng(args.seed)
    i_tr = stratified(y_train_all, args.n_train, rng)
    i_te = stratified(y_test_all, args.n_test, rng)
    out = {
        "x_train": np.ascontiguousarray(x_train_all[i_tr], dtype=np.uint8),
        "y_train": np.ascontiguousarray(y_train_all[i_tr], dtype=np.uint8),
        "x_test": np.ascontiguousarray(x_test_all[i_te], dtype=np.uint8),
        "y_test": np.ascontiguousarray(y_test_all[i_te], dtype=np.uint8),
    }
    meta = {
        "name": "mnist_small",
        "description": "stratified seeded subset of MNIST; train rows from the official training "
                       "split, test rows from the official test split; original order kept",
        "source": "MNIST (Y. LeCun, C. Cortes, C.J.C. Burges), CC BY-SA 3.0",
        "source_files": {p.name: {"sha256": sha256(p), "bytes": p.stat().st_size} for p in files.values()},
        "builder": "tools/make_mnist_small.py",
        "seed": int(args.seed),
        "sampling": "numpy.random.default_rng(seed); per class choice without replacement, "
                    "largest-remainder class quotas; train drawn before test",
        "n_train": int(args.n_train),
        "n_test": int(args.n_test),
        "train_class_counts": np.bincount(out["y_train"], minlength=10).tolist(),
        "test_class_counts": np.bincount(out["y_test"], minlength=10).tolist(),
        "train_indices_sha256": hashlib.sha256(i_tr.astype("<i8").tobytes()).hexdigest(),
        "test_indices_sha256": hashlib.sha256(i_te.astype("<i8").tobytes()).hexdigest(),
        "image_shape": [28, 28],
        "x_dtype": "uint8 (n, 784), pixels 0..255",
        "y_dtype": "uint8 (n,), 0..9",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **out, meta=np.array(json.dumps(meta, indent=1, sort_keys=True)))
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size} bytes): {args.n_train} train, {args.n_test} test")
    print("train class counts", meta["train_class_counts"])
    print("test class counts ", meta["test_class_counts"])

    if args.check:
        for s in range(args.check_seeds):
            t0 = time.perf_counter()
            acc = quick_accuracy(out["x_train"], out["y_train"].astype(np.int64),
                                 out["x_test"], out["y_test"].astype(np.int64), seed=s)
            print(f"seed {s}: test accuracy {acc:.4f} ({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
