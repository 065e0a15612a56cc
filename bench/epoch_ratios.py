"""One training epoch of the GEMM-bound configurations against the peers a user would pick,
with fastmlp's rate as a percentage of this core's FMA peak (target: at least
1.0x a lean NumPy loop and 85 % of the peak).

    FASTMLP_ISA=avx2 OPENBLAS_CORETYPE=Haswell python bench/epoch_ratios.py --threads 1
    FASTMLP_ISA=avx512 OPENBLAS_CORETYPE=SkylakeX python bench/epoch_ratios.py --threads 2

Compare like with like: fastmlp's AVX2 kernels against OpenBLAS's Haswell ones, AVX-512 against
SkylakeX (OPENBLAS_CORETYPE in the benchmark command only). Peers, all on the same rows, order,
initial weights, float32, SGD lr 0.01: "numpy" is a hand-written NumPy loop (what a user would
write: preallocated, in place, one OpenBLAS call per product; fastmlp.benchmarks.peers), "torch"
PyTorch eager. Each repeat runs every path once, in an order that alternates between repeats;
ratios are medians of the paired ratios within a repeat. % peak: the epoch's forward, dW and dX
(all layers but the first) FLOPs over its median time, against the FMA peak measured in this
process under fastmlp's ISA, times the thread count.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

CONFIGS = ("A64 784-256-128-10 relu ce b64", "A256 784-256-128-10 relu ce b256",
           "C256 784-1024-1024-10 relu ce b256")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rows", type=int, default=16384)
    parser.add_argument("--clock", choices=("wall", "thread"), default="wall",
                        help="thread: the calling thread's CPU time (1 thread only; PyTorch and "
                             "OpenBLAS then also run on the calling thread)")
    args = parser.parse_args(argv)
    if args.clock == "thread" and args.threads != 1:
        parser.error("--clock thread measures the calling thread: use it with --threads 1")
    clock = time.thread_time if args.clock == "thread" else time.perf_counter

    from threadpoolctl import threadpool_info, threadpool_limits

    import fastmlp as fm
    from fastmlp.backends import cpp
    from fastmlp.benchmarks import peers
    from fastmlp.benchmarks.configs import make_epoch_problem, short_name
    from fastmlp.benchmarks.suite import epoch_flops
    from fastmlp.runtime import cpu_model

    fm.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    peak = cpp.fma_peak("float32") * args.threads
    blas = ", ".join(f"{i.get('internal_api')} ({i.get('architecture')})" for i in threadpool_info()
                     if i.get("user_api") == "blas")
    print(f"CPU {cpu_model()}; fastmlp ISA {cpp.isa()}; NumPy's BLAS {blas}; torch "
          f"{peers.torch_version()}; {args.threads} thread(s); {args.rows} rows an epoch; "
          f"FMA peak (same run) {peak:.0f} GFLOP/s float32; median of {args.repeats} repeats, "
          f"{args.clock} clock")
    print()
    print("| config | fastmlp GFLOP/s | % peak | vs numpy loop | vs torch |")
    print("|---|---|---|---|---|")
    for config in CONFIGS:
        rng = np.random.default_rng(0)
        net, X, y, batch = make_epoch_problem(config, args.rows, rng)
        order = rng.permutation(len(X))
        mine = net.copy()
        runs = {"fastmlp": lambda: cpp.train_epoch(mine, X, y, order, batch),
                "numpy": peers.numpy_lean_epoch(net.copy(), X, y, order, batch)}
        torch_run = peers.torch_epoch(net.copy(), X, y, order, batch, args.threads)
        if torch_run is not None:
            runs["torch"] = torch_run
        for run in runs.values():  # warm-up: pool, packing buffers, allocator caches
            run()
        times = {name: [] for name in runs}
        for r in range(args.repeats):
            for name in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
                t0 = clock()
                runs[name]()
                times[name].append(clock() - t0)
        t = {name: np.asarray(v) for name, v in times.items()}
        gflops = epoch_flops(config, len(X)) / np.median(t["fastmlp"]) / 1e9
        ratio = {name: float(np.median(t[name] / t["fastmlp"])) for name in t if name != "fastmlp"}
        torch_ratio = f"{ratio['torch']:.2f}x" if "torch" in ratio else "-"
        print(f"| {short_name(config)} {config.split(' ', 1)[1]} | {gflops:.0f} | {100 * gflops / peak:.0f} % | "
              f"{ratio['numpy']:.2f}x | {torch_ratio} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
