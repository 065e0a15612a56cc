"""fastmlp's GEMM against NumPy's `@` (OpenBLAS) on the issue's shape list, interleaved.

    python bench/gemm_ratios.py --threads 1 [--repeats 15] [--peak]

The VM is shared and noisy, so absolute times mean little across runs: every repeat times a
batch of NumPy calls and the same batch of each fastmlp path back to back, and the table reports
the median over repeats of the ratio within a repeat (> 1: fastmlp faster). Columns:
- "py": fastmlp.backends.cpp.matmul, the public API (Python argument checks + binding + GEMM);
- "core": fastmlp._core.matmul, the binding and GEMM without the Python checks, which shows
  how much of a small product's time is the per-call overhead in backends/cpp.py;
- "dense/gemm": _core.dense_forward (GEMM + bias + relu fused) over _core.matmul on the
  forward shapes (target <= 1.05);
- GFLOP/s and % of the FMA peak of the core path, the peak measured in the same process by
  fastmlp.backends.cpp.fma_peak (12 FMA chains under the active ISA) when --peak is given.
Rows "out ...": the three products of a 10-class output layer, outside the MLP-shape summary.
Compare like with like: FASTMLP_ISA=avx2 against OPENBLAS_CORETYPE=Haswell, avx512 against
SkylakeX (set OPENBLAS_CORETYPE only in the benchmark's command).
Threads: --threads sets fastmlp's and, through threadpoolctl, OpenBLAS's count alike. Check
that the second core is really free first: on the shared 2-vCPU dev VM, while other processes
held it (a plain 2-thread busy loop took 1.4-2x its 1-thread time), OpenBLAS at 2 threads
stalled erratically (a 200 us product averaging 6-30 ms per call, fastmlp not even imported)
and neither library scaled, so such a run's 2-thread ratios measure the contention.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

# (label, M, K, N, trans_a, trans_b): op(A) is M x K, op(B) is K x N.
SHAPES = [(f"sq{n}", n, n, n, False, False) for n in (32, 64, 128, 256, 512, 1024, 2048)] + [
    ("fwd 64x784x256", 64, 784, 256, False, False),
    ("fwd 256x784x512", 256, 784, 512, False, False),
    ("fwd 128x256x256", 128, 256, 256, False, False),
    ("fwd 32x128x128", 32, 128, 128, False, False),
    ("fwd 4096x512x512", 4096, 512, 512, False, False),
    ("dW (784,64)@(64,256)", 784, 64, 256, True, False),
    ("dW (784,256)@(256,512)", 784, 256, 512, True, False),
    ("dX (64,256)@(256,784)", 64, 256, 784, False, True),
    ("dX (256,512)@(512,784)", 256, 512, 784, False, True),
] + [  # an output layer of 10 classes (batch 200, 100 inputs): its three products
    ("out fwd 200x100x10", 200, 100, 10, False, False),
    ("out dW (100,200)@(200,10)", 100, 200, 10, True, False),
    ("out dX (200,10)@(10,100)", 200, 10, 100, False, True),
]
# The summary line: the hidden-layer shapes (not the squares, not the output layer).
MLP_SHAPES = {label for label, *_ in SHAPES if not label.startswith(("sq", "out"))}


CLOCK = time.perf_counter  # --clock thread: time.thread_time (1 thread only)


def batch_time(fn, number):
    t0 = CLOCK()
    for _ in range(number):
        fn()
    return (CLOCK() - t0) / number


def measure(fns, flops, repeats, batch_flops=1e8, blocked=False):
    """Seconds per call of each fn in every repeat: {name: [t_repeat0, t_repeat1, ...]}.

    Interleaved (the default): within a repeat the fns run one after the other (batches of
    batch_flops, ~1 ms at 100 GFLOP/s), in an order that alternates between repeats, so a slow
    phase of the shared VM hits all of them alike; compare them with paired ratios.
    blocked (for threads > 1): each fn runs all its repeats back to back, after a pause and a
    warm-up, and fns compare by their medians. Interleaving cannot work there: after a call
    OpenBLAS's idle threads spin (sched_yield) for tens of milliseconds, and with 2 threads on
    2 cores the next library's woken worker is then placed on its caller's core; fastmlp
    measured right after numpy ran at one core's rate (and would as a user's program mixing
    the two does; a training step's stream of GEMMs does not)."""
    number = max(1, int(batch_flops / flops))
    names = list(fns)
    times = {name: [] for name in fns}
    if blocked:
        for name in names:
            time.sleep(PAUSE_S)  # the previous fn's threads stop spinning
            batch_time(fns[name], number)  # warm-up: wakes the threads, fills caches
            batch_time(fns[name], number)
            times[name] = [batch_time(fns[name], number) for _ in range(repeats)]
        return times
    for fn in fns.values():  # warm-up: pack buffers, thread pool, caches
        batch_time(fn, number)
    for r in range(repeats):
        for name in (names if r % 2 == 0 else names[::-1]):
            times[name].append(batch_time(fns[name], number))
    return times


PAUSE_S = 0.3  # > OpenBLAS's idle spin (2^28 cycles by default: ~65 ms at 4 GHz)


def ratio(times, slow, fast, blocked=False):
    """How many times faster `fast` is: the median over repeats of times[slow] / times[fast]
    within the same repeat (interleaved), or the ratio of their medians (blocked)."""
    if blocked:
        return float(np.median(times[slow]) / np.median(times[fast]))
    return float(np.median(np.asarray(times[slow]) / np.asarray(times[fast])))


def fma_peak(threads):
    """{(dtype, threads): GFLOP/s}: one core's FMA peak under fastmlp's active ISA, measured in
    this process (fastmlp.backends.cpp.fma_peak), times the thread count."""
    from fastmlp.backends import cpp

    return {(dt, threads): cpp.fma_peak(dt) * threads for dt in ("float32", "float64")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--peak", action="store_true", help="measure the FMA peak first")
    parser.add_argument("--only", default="", help="substring of the shape labels to run")
    parser.add_argument("--clock", choices=("wall", "thread"), default="wall",
                        help="thread: the calling thread's CPU time (1 thread only), which another "
                             "process sharing the core does not inflate")
    parser.add_argument("--blocked", action=argparse.BooleanOptionalAction, default=None,
                        help="each path's repeats back to back (default: with threads; see measure)")
    args = parser.parse_args(argv)
    if args.clock == "thread":
        if args.threads != 1:
            parser.error("--clock thread measures the calling thread: use it with --threads 1")
        global CLOCK
        CLOCK = time.thread_time
    # Longer batches with threads: a worker woken at the start of a batch costs 40-100 us here.
    batch_flops = 1e9 if args.threads > 1 else 1e8
    blocked = args.threads > 1 if args.blocked is None else args.blocked

    from threadpoolctl import threadpool_limits

    from fastmlp import _core
    from fastmlp.backends import cpp
    from fastmlp.benchmarks.configs import aligned

    cpp.set_num_threads(args.threads)
    threadpool_limits(limits=args.threads, user_api="blas")
    peak = fma_peak(args.threads) if args.peak else {}
    relu = cpp._ACTIVATION["relu"]
    rng = np.random.default_rng(0)

    how = ("ratios of medians, each path's repeats back to back after a pause" if blocked
           else "median paired ratios of interleaved repeats")
    from threadpoolctl import threadpool_info

    from fastmlp.runtime import cpu_model

    blas = ", ".join(f"{i.get('internal_api')} ({i.get('architecture')})" for i in threadpool_info()
                     if i.get("user_api") == "blas")
    print(f"CPU {cpu_model()}; fastmlp ISA {cpp.isa()}; NumPy's BLAS {blas}; {args.threads} thread(s), "
          f"{how} ({args.repeats} repeats, {args.clock} clock); FMA peak (same run, fastmlp's ISA): "
          + (", ".join(f"{d} {g:.0f}" for (d, t), g in sorted(peak.items())) or "not measured"))
    print()
    print("| shape (M x K x N) | dtype | vs numpy (py) | vs numpy (core) | core GFLOP/s | % peak | dense/gemm |")
    print("|---|---|---|---|---|---|---|")
    mlp_ratios = []
    for label, m, k, n, ta, tb in SHAPES:
        if args.only not in label:
            continue
        for dtype in ("float32", "float64"):
            a = aligned((k, m) if ta else (m, k), dtype, rng)
            b = aligned((n, k) if tb else (k, n), dtype, rng)
            out = aligned((m, n), dtype, rng)
            op_a, op_b = (a.T if ta else a), (b.T if tb else b)
            fns = {
                "numpy": lambda: np.matmul(op_a, op_b, out=out),
                "py": lambda: cpp.matmul(a, b, trans_a=ta, trans_b=tb, out=out),
                "core": lambda: _core.matmul(a, b, ta, tb, out, 1.0, 0.0),
            }
            dense = label.startswith(("fwd", "sq"))
            if dense:
                bias, act_out = aligned((n,), dtype, rng), aligned((m, n), dtype, rng)
                fns["dense"] = lambda: _core.dense_forward(a, b, bias, relu, out, act_out)
            flops = 2.0 * m * n * k
            t = measure(fns, flops, args.repeats if flops < 2e9 else max(5, args.repeats // 3),
                        batch_flops, blocked)
            gflops = flops / float(np.median(t["core"])) / 1e9
            pk = peak.get((dtype, args.threads))
            py, core = ratio(t, "numpy", "py", blocked), ratio(t, "numpy", "core", blocked)
            if label in MLP_SHAPES:
                mlp_ratios.append(py)
            pct = f"{100 * gflops / pk:.0f} %" if pk else ""
            fused = f"{ratio(t, 'dense', 'core', blocked):.3f}" if dense else ""
            print(f"| {label} | {dtype} | {py:.2f}x | {core:.2f}x | {gflops:.0f} | {pct} | {fused} |",
                  flush=True)
    if mlp_ratios:
        print()
        print(f"MLP shapes (py path): median ratio {np.median(mlp_ratios):.2f}x, "
              f"min {min(mlp_ratios):.2f}x over {len(mlp_ratios)} shape x dtype cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
