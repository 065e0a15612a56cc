"""The C++ epoch of four networks at 1 thread, median thread-CPU seconds, as JSON: run it once per
build, alternating builds, to compare two versions of the code on a shared machine.

    for i in 1 2 3; do for tree in OLD NEW; do PYTHONPATH=$tree/python python bench/epoch_ab.py 5; done; done

B4: 2-16-1 tanh mse, batch 4, 4096 rows; D32: 13-64-64-1 relu mse, batch 32, 8192 rows;
A64: 784-256-128-10 relu cross-entropy, batch 64, 4096 rows; C256: 784-1024-1024-10, batch 256,
2048 rows; SGD lr 0.01, float32. K200: scikit-learn's default classifier on 64 features and 10
classes (64-100-10 relu cross-entropy, batch 200, 20000 rows, float64, Adam with its epsilon
placement, L2 1e-4).
"""
import json, sys, time
import numpy as np
from fastmlp.backends import get_backend, Network, OptimizerConfig
from fastmlp.init import initialize
cpp = get_backend("cpp"); cpp.set_num_threads(1)
CONFIGS = {"B4": ([2, 16, 1], "tanh", "mse", 4, 4096), "D32": ([13, 64, 64, 1], "relu", "mse", 32, 8192),
           "A64": ([784, 256, 128, 10], "relu", "cross_entropy", 64, 4096),
           "C256": ([784, 1024, 1024, 10], "relu", "cross_entropy", 256, 2048),
           "K200": ([64, 100, 10], "relu", "cross_entropy", 200, 20000)}
SKLEARN_LIKE = {"K200"}
out = {}
for name, (sizes, act, loss, batch, rows) in CONFIGS.items():
    acts = [act] * (len(sizes) - 2) + ["identity"]
    dtype = np.float64 if name in SKLEARN_LIKE else np.float32
    w, b = initialize(sizes, acts, dtype, seed=0)
    opt = (OptimizerConfig("adam", lr=1e-3, eps=1e-8, eps_on_raw_moment=True) if name in SKLEARN_LIKE
           else OptimizerConfig("sgd", lr=0.01))
    net = Network(w, b, acts, loss, opt)
    if name in SKLEARN_LIKE:
        net.l2 = 1e-4
    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], rows) if loss == "cross_entropy" else rng.standard_normal((rows, 1)).astype(dtype)
    order = rng.permutation(rows)
    cpp.train_epoch(net, X, y, order, batch)
    ts = []
    for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 7):
        t0 = time.thread_time(); cpp.train_epoch(net, X, y, order, batch); ts.append(time.thread_time() - t0)
    out[name] = float(np.median(ts))
print(json.dumps(out))
