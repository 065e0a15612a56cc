"""The C++ epoch of each benchmark configuration (fastmlp.benchmarks.configs) at 1 thread and at N threads, in one process,
interleaved per repeat (target: "at 2 threads, no config slower than at 1 thread, and A256 /
C256 >= 1.6x faster"). bench/run.sh measures 1 and 2 threads in separate processes, minutes
apart, so small differences there (B4 at ~4 ms an epoch) are the machine's drift; here each
repeat times both thread counts back to back and the ratio is the median of the paired ones.

    python bench/epoch_threads.py [--threads 2] [--repeats 7] [--rows 60000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fastmlp.backends import cpp
from fastmlp.benchmarks.configs import EPOCH_CONFIGS, make_epoch_problem, short_name


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rows", type=int, default=60000)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    before = cpp.get_num_threads()
    print(f"| config | 1 thread | {args.threads} threads | {args.threads} threads vs 1 (median of "
          f"{args.repeats} paired) |")
    print("|---|---:|---:|---:|")
    try:
        for config in EPOCH_CONFIGS:
            net, X, y, batch = make_epoch_problem(config, args.rows, rng)
            order = rng.permutation(len(X))
            nets = {t: net.copy() for t in (1, args.threads)}
            times = {t: [] for t in nets}
            for t in nets:  # warm-up: workspaces, pool start
                cpp.set_num_threads(t)
                cpp.train_epoch(nets[t], X, y, order[: 8 * batch], batch)
            for r in range(args.repeats):
                for t in (nets if r % 2 == 0 else list(nets)[::-1]):
                    cpp.set_num_threads(t)
                    start = time.perf_counter()
                    cpp.train_epoch(nets[t], X, y, order, batch)
                    times[t].append(time.perf_counter() - start)
            one, many = np.asarray(times[1]), np.asarray(times[args.threads])
            print(f"| {short_name(config)} | {np.median(one) * 1e3:.1f} ms | {np.median(many) * 1e3:.1f} ms "
                  f"| {np.median(one / many):.2f}x |", flush=True)
    finally:
        cpp.set_num_threads(before)


if __name__ == "__main__":
    main()
