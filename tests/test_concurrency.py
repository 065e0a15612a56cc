"""Python threads using fastmlp at the same time: the C++ core releases the GIL, so these
really run in parallel inside the kernels and the thread pool.

- 4 threads, each training its own model and calling kernels between epochs, end with the same
  bits as the same work done one after another;
- set_num_threads called over and over while another thread trains is safe, and (results do
  not depend on the thread count) the trained weights are still the serial ones.

Training here is deterministic: the same seed, data and batch order give the same bits, and the
C++ GEMM splits work so that every thread count gives identical results (tests/test_isa.py).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import fastmlp as fm

JOIN_TIMEOUT = 120  # seconds; the whole test trains a few hundred tiny steps


def job_data(i):
    rng = np.random.default_rng(100 + i)
    X = rng.standard_normal((96, 12)).astype(np.float32)
    return X, rng.integers(0, 4, 96), rng.standard_normal((33, 12)), rng.standard_normal((12, 17))


def run_job(backend, i):
    """Train model i for 3 epochs, with a matmul and a dense_forward after each; returns every
    array produced, as bytes."""
    X, y, a, b = job_data(i)
    kernels = fm.get_backend(backend)
    model = fm.MLP([12, 32, 4], backend=backend, seed=i)
    produced = []
    for _ in range(3):
        model.fit(X, y, epochs=1, batch_size=16, optimizer=None if produced else "adam")
        produced.append(kernels.matmul(a, b).tobytes())
        z, act = kernels.dense_forward(X, model.weights[0], model.biases[0], "relu")
        produced += [z.tobytes(), act.tobytes()]
    produced += [w.tobytes() for w in model.weights + model.biases]
    return produced


def run_in_threads(target, n):
    results, errors = [None] * n, []
    start = threading.Barrier(n)

    def work(i):
        try:
            start.wait()
            results[i] = target(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors
    return results


@pytest.fixture
def pool_always():
    """Make even these small GEMMs use the C++ thread pool, so threads really contend for it."""
    cpp = pytest.importorskip("fastmlp.backends.cpp", reason="the C++ core is not built")
    before, threshold = cpp.get_num_threads(), cpp.parallel_min_macs()
    cpp.set_parallel_min_macs(0)
    cpp.set_num_threads(2)
    try:
        yield cpp
    finally:
        cpp.set_num_threads(before)
        cpp.set_parallel_min_macs(threshold)


@pytest.mark.timeout(300)
def test_four_threads_training_and_calling_kernels_match_serial(backend, pool_always):
    name = backend.__name__.rsplit(".", 1)[-1]
    serial = [run_job(name, i) for i in range(4)]
    concurrent = run_in_threads(lambda i: run_job(name, i), 4)
    for i, (got, want) in enumerate(zip(concurrent, serial)):
        assert got == want, f"thread {i} differs from the serial run"


@pytest.mark.timeout(300)
def test_set_num_threads_while_another_thread_trains(pool_always):
    cpp = pool_always
    X, y, _, _ = job_data(0)

    def train():
        m = fm.MLP([12, 64, 4], backend="cpp", seed=0)
        m.fit(X, y, epochs=8, batch_size=8)
        return [w.tobytes() for w in m.weights + m.biases]

    want = train()
    done = threading.Event()
    counts = []

    def toggle(_):
        n = 0
        while not done.is_set():
            fm.set_num_threads(1 + n % 3)  # 1, 2, 3, ...: the pool is rebuilt between GEMMs
            counts.append(fm.get_num_threads())
            n += 1
        return n

    def worker(i):
        if i == 0:
            try:
                return train()
            finally:
                done.set()
        return toggle(i)

    got, n_changes = run_in_threads(worker, 2)
    assert n_changes > 0 and set(counts) <= {1, 2, 3}
    assert got == want, "training under thread-count changes gave different weights"
    assert cpp.matmul(np.eye(3), np.eye(3)).tolist() == np.eye(3).tolist()  # the pool still works
