"""The `fastmlp bench` run: GEMM shapes against NumPy's `@`, and one training epoch of each
standard configuration against a hand-written NumPy loop, fastmlp's own NumPy backend (the
checked oracle), PyTorch eager and scikit-learn.

Every figure is a ratio against a peer measured in the same run ("vs numpy" = numpy's time /
fastmlp's time, so > 1 means fastmlp is faster): absolute times depend on the machine and on
whatever else it is doing. fastmlp's own rate is also given as a percentage of this core's FMA
peak, measured in the same process (fastmlp.backends.cpp.fma_peak), times the thread count.

The peers of an epoch: "numpy" is what a NumPy user writes (peers.numpy_lean_epoch: buffers
preallocated, in place, one BLAS call per product), "oracle" is fastmlp's NumPy backend (every
kernel's arguments checked, float64-capable textbook code), "torch" is PyTorch eager and
"sklearn" scikit-learn's partial_fit.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass

import numpy as np

from . import peers
from .configs import EPOCH_CONFIGS, GEMM_SHAPES, aligned, make_epoch_problem, short_name
from .timing import interleaved_medians

PEERS = ("numpy", "oracle", "torch", "sklearn")


@dataclass(frozen=True)
class Settings:
    """How long the run is: rows per epoch, timed repeats, and the shortest GEMM sample."""

    mode: str
    epoch_rows: int
    repeats: int
    gemm_min_sample: float  # seconds; short GEMMs loop until one sample lasts this long


MODES = {
    "full": Settings("full", epoch_rows=4096, repeats=7, gemm_min_sample=0.02),
    "quick": Settings("quick", epoch_rows=1024, repeats=3, gemm_min_sample=0.005),
    # for the test suite only: every row of the table, each measured once on a few rows
    "tiny": Settings("tiny", epoch_rows=256, repeats=1, gemm_min_sample=0.0),
}


@contextlib.contextmanager
def thread_limit(n, backend_name):
    """fastmlp's pool, the BLAS under NumPy and scikit-learn (threadpoolctl, when installed) and
    Numba at ``n`` threads for the run; yields notes on what could not be limited."""
    import fastmlp as fm

    notes = []
    with contextlib.ExitStack() as stack:
        if "cpp" in fm.available_backends():
            before = fm.get_num_threads()
            fm.set_num_threads(n)
            stack.callback(fm.set_num_threads, before)
        try:
            from threadpoolctl import threadpool_limits

            stack.enter_context(threadpool_limits(limits=n))
        except ImportError:
            notes.append("threadpoolctl is not installed, so NumPy's BLAS threads are not limited "
                         "(pip install threadpoolctl)")
        if backend_name == "numba":
            import numba

            before_numba = numba.get_num_threads()
            numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
            stack.callback(numba.set_num_threads, before_numba)
        yield notes


def _ratios(seconds):
    mine = seconds["fastmlp"]
    return {peer: seconds[peer] / mine for peer in PEERS if peer in seconds}


def bench_gemm(name, backend, settings, rng):
    """fastmlp's matmul and NumPy's `@` (both into a preallocated out) on one float32 shape."""
    m, k, n = GEMM_SHAPES[name]
    a, b, out = aligned((m, k), np.float32, rng), aligned((k, n), np.float32, rng), aligned((m, n), np.float32, rng)
    backend.matmul(a, b, out=out)
    expected = a.astype(np.float64) @ b.astype(np.float64)
    # float32 products summed over k <= 784 terms: far inside 1e-3 of the largest entry
    if not np.allclose(out, expected, rtol=0, atol=1e-3 * np.abs(expected).max()):
        raise RuntimeError(f"fastmlp's matmul disagrees with NumPy on {name}; not timing a wrong result")
    seconds = interleaved_medians({"fastmlp": lambda: backend.matmul(a, b, out=out),
                                   "numpy": lambda: np.matmul(a, b, out=out)},
                                  repeats=settings.repeats, min_sample=settings.gemm_min_sample)
    return {"name": f"matmul {name} f32", "kind": "matmul", "shape": [m, k, n], "dtype": "float32",
            "flops": 2.0 * m * k * n, "seconds": seconds, "ratio": _ratios(seconds)}


def _backend_epoch(backend, net, X, y, order, batch):
    backend.train_epoch(net, X, y, order[: 4 * batch], batch)  # warm-up (JIT compile, pool start)

    def epoch():
        loss, _ = backend.train_epoch(net, X, y, order, batch)
        if not np.isfinite(loss):
            raise RuntimeError("the epoch's loss is not finite")
        return loss

    return epoch


def bench_epoch(config, backend, settings, threads, rng, with_peers=PEERS):
    """One epoch of ``config`` on settings.epoch_rows rows: fastmlp, the NumPy backend and,
    when installed, PyTorch eager and scikit-learn."""
    from ..backends import get_backend

    net, X, y, batch = make_epoch_problem(config, max(settings.epoch_rows, EPOCH_CONFIGS[config][3]), rng)
    order = rng.permutation(len(X))
    runners = {"fastmlp": _backend_epoch(backend, net.copy(), X, y, order, batch)}
    if "numpy" in with_peers:
        runners["numpy"] = peers.numpy_lean_epoch(net.copy(), X, y, order, batch)
    if "oracle" in with_peers:
        runners["oracle"] = _backend_epoch(get_backend("numpy"), net.copy(), X, y, order, batch)
    if "torch" in with_peers:
        runners["torch"] = peers.torch_epoch(net.copy(), X, y, order, batch, threads)
    if "sklearn" in with_peers:
        runners["sklearn"] = peers.sklearn_epoch(config, X, y)
    # warm-ups were done above (a few batches; scikit-learn's first partial_fit sets it up)
    seconds = interleaved_medians({path: run for path, run in runners.items() if run is not None},
                                  repeats=settings.repeats, warmup=0)
    return {"name": f"epoch {short_name(config)}", "kind": "epoch", "config": config, "rows": len(X),
            "steps": -(-len(X) // batch), "flops": epoch_flops(config, len(X)), "seconds": seconds,
            "ratio": _ratios(seconds)}


def epoch_flops(config, rows):
    """Floating-point operations of one epoch's products: forward, dW of every layer and dX of
    every layer but the first, 2 per multiply-add (the elementwise work is not counted)."""
    sizes = EPOCH_CONFIGS[config][0]
    macs = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return 2.0 * rows * (3 * macs - sizes[0] * sizes[1])


def machine(threads, backend_name):
    """What the figures were measured on: CPU, fastmlp's ISA, OpenBLAS's kernel (core type)
    and this core's FMA peak (GFLOP/s, float32, times the threads)."""
    from ..runtime import cpu_model

    out = {"cpu": cpu_model(), "isa": None, "blas": None, "peak_gflops": None}
    try:
        from threadpoolctl import threadpool_info

        blas = [f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})"
                for i in threadpool_info() if i.get("user_api") == "blas"]
        out["blas"] = ", ".join(blas) or None
    except ImportError:
        pass
    try:
        from ..backends import cpp
    except ImportError:
        return out
    out["isa"] = cpp.isa()
    out["peak_gflops"] = cpp.fma_peak("float32") * threads
    return out


def run(settings, threads=1, backend_name="cpp", with_peers=PEERS, progress=None):
    """Every GEMM shape and epoch configuration; returns a JSON-ready dict."""
    import fastmlp as fm
    from ..backends import get_backend

    backend = get_backend(backend_name)
    rng = np.random.default_rng(0)
    with_peers = tuple(p for p in with_peers if p in PEERS)
    results = []
    with thread_limit(threads, backend_name) as notes:
        where = machine(threads, backend_name)
        for name in GEMM_SHAPES:
            if progress:
                progress(f"matmul {name}")
            results.append(bench_gemm(name, backend, settings, rng))
        for config in EPOCH_CONFIGS:
            if progress:
                progress(f"epoch {config}")
            results.append(bench_epoch(config, backend, settings, threads, rng, with_peers))
    peak = where["peak_gflops"]
    for r in results:
        r["gflops"] = r["flops"] / r["seconds"]["fastmlp"] / 1e9
        r["pct_peak"] = 100 * r["gflops"] / peak if peak else None
    versions = {"numpy": np.__version__}
    if "torch" in with_peers:
        versions["torch"] = peers.torch_version()
    if "sklearn" in with_peers:
        versions["sklearn"] = peers.sklearn_version()
    return {
        "fastmlp": fm.__version__,
        "backend": backend_name,
        "threads": threads,
        "settings": asdict(settings),
        "versions": versions,
        "machine": where,
        "notes": notes,
        "results": results,
    }


def fmt_time(seconds):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def table(report) -> str:
    """The results as an aligned text table: times, then fastmlp's speed-up over each peer."""
    peers_seen = [p for p in PEERS if any(p in r["seconds"] for r in report["results"])]
    head = ["", "fastmlp", "GFLOP/s", "% peak", *peers_seen, *(f"vs {p}" for p in peers_seen)]
    rows = []
    for r in report["results"]:
        times = [fmt_time(r["seconds"][p]) if p in r["seconds"] else "-" for p in ["fastmlp", *peers_seen]]
        ratios = [f"{r['ratio'][p]:.2f}x" if p in r["ratio"] else "-" for p in peers_seen]
        rate = f"{r['gflops']:.1f}"
        pct = f"{r['pct_peak']:.0f} %" if r.get("pct_peak") is not None else "-"
        rows.append([r["name"], times[0], rate, pct, *times[1:], *ratios])
    widths = [max(len(str(row[i])) for row in [head, *rows]) for i in range(len(head))]
    lines = []
    for row in [head, *rows]:
        cells = [str(row[0]).ljust(widths[0])] + [str(c).rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
