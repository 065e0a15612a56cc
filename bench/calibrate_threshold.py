"""Calibrate the GEMM's serial threshold (csrc/gemm/gemm.hpp parallel_min_macs): from how many
multiply-adds does splitting a GEMM over the thread pool beat running it on the caller alone?

For cubes and MLP-like shapes whose m*n*k spans 2^14 .. 2^24, it times back-to-back calls (a
stream, as in a training step: the workers stay awake) with the threshold forced to 0 (always
split over N threads) against the threshold forced above the size (the caller alone; the pool
keeps its N threads, so neither side pays for creating it), interleaved per repeat, and prints
the median speed-up of each. The smallest size from which N threads win by >= 10 % at every larger size is the
suggested threshold; the built-in default is printed beside it. Run it on a quiet machine:

    python bench/calibrate_threshold.py [--threads 2] [--repeats 15]

(The default 2^19 was chosen this way on the 2-vCPU dev VM; docs/tuning.md.)
"""

from __future__ import annotations

import argparse
import math
import os

import numpy as np

from fastmlp.backends import cpp
from fastmlp.benchmarks.configs import aligned
from fastmlp.benchmarks.timing import interleaved_medians

# (m, k, n): cubes and the batch x width shapes of small and medium nets, by growing m*n*k
SHAPES = sorted([(24, 24, 24), (32, 32, 32), (48, 48, 48), (32, 64, 64), (64, 64, 64),
                 (32, 128, 128), (96, 96, 96), (64, 128, 128), (128, 128, 128), (64, 256, 256),
                 (160, 160, 160), (128, 256, 256), (256, 256, 256)], key=lambda s: s[0] * s[1] * s[2])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=int(os.environ.get("FASTMLP_NUM_THREADS", 2)))
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    default, threads_before = cpp.parallel_min_macs(), cpp.get_num_threads()
    cpp.set_num_threads(args.threads)
    rows = []
    try:
        for m, k, n in SHAPES:
            a, b = aligned((m, k), args.dtype, rng), aligned((k, n), args.dtype, rng)
            out = aligned((m, n), args.dtype, rng)

            def stream(min_macs, calls=max(1, int(2e8 // (m * n * k)))):  # ~1-3 ms a sample
                def run():
                    cpp.set_parallel_min_macs(min_macs)
                    for _ in range(calls):
                        cpp.matmul(a, b, out=out)
                return run

            t = interleaved_medians({"serial": stream(2**62), "split": stream(0)},
                                    repeats=args.repeats, warmup=2)
            rows.append((m * n * k, f"{m}x{k}x{n}", t["serial"] / t["split"]))
    finally:
        cpp.set_parallel_min_macs(default)
        cpp.set_num_threads(threads_before)
    print(f"| m x k x n | multiply-adds | {args.threads} threads vs 1 (median of {args.repeats}) |")
    print("|---|---:|---:|")
    for macs, shape, speedup in rows:
        print(f"| {shape} | 2^{math.log2(macs):.1f} | {speedup:.2f}x |")
    winning = [macs for i, (macs, _, _) in enumerate(rows) if all(s >= 1.1 for _, _, s in rows[i:])]
    suggestion = f"2^{math.log2(winning[0]):.1f}" if winning else "none of these sizes"
    print(f"\nsuggested threshold: {suggestion}; built-in default: 2^{math.log2(default):.1f}")


if __name__ == "__main__":
    main()
