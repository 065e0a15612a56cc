"""Processes and signals: fastmlp keeps working across fork / spawn / forkserver, Ctrl-C
during fit leaves a usable model, and Ctrl-C (or a kill) during save never destroys the old file.

Every wait has a timeout, so a hang (a thread pool copied half-alive into a forked child, a
signal the C++ loop never checks) fails the test instead of stalling the suite.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.backends import Network

TIMEOUT = 120  # seconds for any child process: a healthy one takes about one


def tiny_job(backend):
    """Train a small model 2 epochs; its weights as bytes (deterministic for a seed)."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((64, 10)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    m = fm.MLP([10, 16, 3], backend=backend, seed=3)
    m.fit(X, y, epochs=2, batch_size=16)
    a = rng.standard_normal((40, 30))
    return [w.tobytes() for w in m.weights + m.biases] + [fm.get_backend(backend).matmul(a, a.T).tobytes()]


def _child_job(backend, queue):
    queue.put(tiny_job(backend))


def run_in_context(method, backend):
    ctx = multiprocessing.get_context(method)
    queue = ctx.Queue()
    child = ctx.Process(target=_child_job, args=(backend, queue))
    child.start()
    try:
        return queue.get(timeout=TIMEOUT)
    finally:
        child.join(timeout=TIMEOUT)
        if child.is_alive():
            child.kill()
            pytest.fail(f"the {method} child hung")


@pytest.fixture
def warm_pool():
    """The C++ pool started (workers exist) before any fork, the state a fork must survive."""
    cpp = pytest.importorskip("fastmlp.backends.cpp", reason="the C++ core is not built")
    before, threshold = cpp.get_num_threads(), cpp.parallel_min_macs()
    cpp.set_parallel_min_macs(0)
    cpp.set_num_threads(2)
    cpp.matmul(np.ones((64, 64)), np.ones((64, 64)))
    try:
        yield
    finally:
        cpp.set_num_threads(before)
        cpp.set_parallel_min_macs(threshold)


@pytest.mark.timeout(300)
@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform")
def test_kernels_and_training_in_a_forked_child(backend, warm_pool):
    """os.fork() directly (no multiprocessing machinery): the child trains and multiplies, gets
    the parent's bits, and exits; the parent waits with a timeout."""
    name = backend.__name__.rsplit(".", 1)[-1]
    want = tiny_job(name)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            os.close(read)
            got = tiny_job(name)
            code = 0 if got == want else 3
        finally:
            os._exit(code)
    os.close(write)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung")
    os.close(read)
    assert os.waitstatus_to_exitcode(status) == 0, "the child's results differ (3) or it failed (1)"
    assert tiny_job(name) == want  # and the parent's pool still works


@pytest.mark.timeout(300)
@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_kernels_under_spawn_and_forkserver(method, warm_pool):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method here")
    for name in fm.available_backends():
        assert run_in_context(method, name) == tiny_job(name), f"{method} child, backend {name}"


# --- Ctrl-C during fit ------------------------------------------------------------------------


def interrupt_main_after(seconds):
    main_id = threading.main_thread().ident
    timer = threading.Timer(seconds, lambda: signal.pthread_kill(main_id, signal.SIGINT))
    timer.start()
    return timer


@pytest.mark.timeout(300)
@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs signal.pthread_kill")
def test_ctrl_c_during_fit_leaves_a_usable_model(backend, tmp_path):
    """A real SIGINT to the main thread 0.3 s into a long fit: KeyboardInterrupt within seconds,
    then the model predicts finite numbers, trains on, and saves and loads."""
    name = backend.__name__.rsplit(".", 1)[-1]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4096, 32)).astype(np.float32)
    y = rng.integers(0, 10, 4096)
    m = fm.MLP([32, 128, 10], backend=name, seed=0)
    m.fit(X[:64], y[:64], epochs=1, batch_size=32)  # compile (numba) before the clock starts
    timer = interrupt_main_after(0.3)
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            m.fit(X, y, epochs=10_000, batch_size=32)
    finally:
        timer.cancel()
    # numba's compiled epoch cannot see signals: it stops at the next epoch boundary (one
    # epoch here is 128 steps of a 32-128-10 net, well under the limit)
    assert time.monotonic() - started < 30, "Ctrl-C took too long to stop fit"
    assert all(np.isfinite(w).all() for w in m.weights + m.biases)
    assert np.isfinite(m.forward(X[:100])).all()
    m.fit(X[:256], y[:256], epochs=1, batch_size=32)
    m.save(tmp_path / "after_interrupt.npz")
    again = fm.MLP.load(tmp_path / "after_interrupt.npz", backend=name)
    np.testing.assert_array_equal(again.predict(X[:100]), m.predict(X[:100]))


@pytest.mark.timeout(300)
@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs signal.pthread_kill")
def test_ctrl_c_in_the_cpp_epoch_stops_on_a_step_boundary(warm_pool):
    """The C++ epoch finishes the current step and reports it in net.step, so the interrupted
    weights are exactly those of a clean run of net.step steps (replayed through train_epoch
    with the same batch order as fit uses)."""
    cpp = fm.get_backend("cpp")
    rng = np.random.default_rng(1)
    X = rng.standard_normal((8192, 64)).astype(np.float32)
    y = rng.integers(0, 10, 8192)
    m = fm.MLP([64, 256, 10], backend="cpp", seed=0)
    timer = interrupt_main_after(0.3)
    try:
        with pytest.raises(KeyboardInterrupt):
            m.fit(X, y, epochs=10_000, batch_size=32, shuffle=False)
    finally:
        timer.cancel()
    steps = m.network.step
    assert steps > 0
    replay = fm.MLP([64, 256, 10], backend="cpp", seed=0)
    replay._set_optimizer(m.optimizer)  # same hyperparameters, fresh state
    per_epoch = -(-len(X) // 32)
    order = np.arange(len(X))
    for _ in range(steps // per_epoch):
        cpp.train_epoch(replay.network, X, y, order, 32)
    cpp.train_epoch(replay.network, X, y, order[: (steps % per_epoch) * 32], 32)
    assert replay.network.step == steps
    for got, want in zip(m.network.params + m.network.slots_m + m.network.slots_v,
                         replay.network.params + replay.network.slots_m + replay.network.slots_v):
        np.testing.assert_array_equal(got, want)


# --- signals during save ----------------------------------------------------------------------

_SAVER = textwrap.dedent("""
    import sys
    import numpy as np
    import fastmlp as fm
    path = sys.argv[1]
    m = fm.MLP([784, 512, 512, 10], backend="numpy", seed=0)   # ~4 MB of float32: saves take ms
    i = 0
    while True:
        i += 1
        m.weights[0][0, 0] = i
        m.save(path)
        print(i, flush=True)
""")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_signal_during_save_keeps_a_loadable_file(tmp_path, sig):
    """A child saves over one file in a loop; it is interrupted at several random moments (most
    land mid-save). The file always loads and holds one complete save: weights[0][0, 0] is a
    save's counter, no older than the last one the child reported. SIGINT (KeyboardInterrupt)
    also removes the temporary file; SIGKILL may leave one behind, never a damaged target."""
    path = tmp_path / "model.npz"
    rng = np.random.default_rng(int(sig))
    for round_ in range(3):
        child = subprocess.Popen([sys.executable, "-c", _SAVER, str(path)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        try:
            first = child.stdout.readline()  # one complete save exists from here on
            while first and not first.strip().isdigit():  # an editable install's rebuild log
                first = child.stdout.readline()
            assert first, child.stderr.read()
            time.sleep(float(rng.uniform(0.05, 0.4)))
            child.send_signal(sig)
            out, _ = child.communicate(timeout=TIMEOUT)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        reported = [int(line) for line in (first + out).split() if line.isdigit()]
        model = fm.MLP.load(path)
        counter = int(model.weights[0][0, 0])
        assert reported[-1] <= counter <= reported[-1] + 1, (round_, reported[-1], counter)
        if sig == signal.SIGINT:
            assert child.returncode != 0
            leftovers = [p.name for p in tmp_path.iterdir() if p.name != "model.npz"]
            assert leftovers == [], f"temporary files left after Ctrl-C: {leftovers}"


@pytest.mark.timeout(300)
@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs signal.pthread_kill")
def test_ctrl_c_in_the_cpp_loss_gradient_stops_between_blocks(warm_pool):
    """A full-batch gradient of seconds of work (its rows sized from a timed fraction of them)
    polls for Ctrl-C between its blocks of rows: a SIGINT 0.3 s in raises KeyboardInterrupt
    well before the call could have ended, and the network is untouched."""
    cpp = fm.get_backend("cpp")
    rng = np.random.default_rng(2)
    sizes = [64, 2048, 2048, 10]
    net = Network([(rng.standard_normal((i, o)) / np.sqrt(i)).astype(np.float32)
                   for i, o in zip(sizes[:-1], sizes[1:])],
                  [np.zeros(o, np.float32) for o in sizes[1:]], ["relu", "relu", "identity"],
                  "cross_entropy")
    X = rng.standard_normal((5_000, 64)).astype(np.float32)
    y = rng.integers(0, 10, len(X))
    started = time.monotonic()
    cpp.loss_gradient(net, X, y)
    part = time.monotonic() - started
    copies = min(80, max(4, int(np.ceil(3.0 / part))))  # a call of >= 3 s on this machine
    X, y = np.tile(X, (copies, 1)), np.tile(y, copies)
    whole = copies * part  # what the full call would take
    before = [p.copy() for p in net.params]
    timer = interrupt_main_after(0.3)
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            cpp.loss_gradient(net, X, y)
    finally:
        timer.cancel()
    took = time.monotonic() - started
    assert took < 0.3 + max(1.0, whole / 4), f"stopped after {took:.2f} s of a ~{whole:.1f} s call"
    assert copies * part >= 1.0, "the call was too short to show where it stopped"
    for b, p in zip(before, net.params):
        np.testing.assert_array_equal(b, p)
