"""Median timers: warm-up calls, then the median of ``repeats`` samples per function.

`interleaved_medians` times several functions round-robin (one sample of each, then the next
round), so a slow phase of a shared machine (another tenant, seconds long)
hits every path of a row alike instead of whichever happened to run then.

A call much shorter than the clock's resolution and the timer's own overhead (a 64^3 GEMM
takes ~6 us) is repeated in an inner loop until one sample lasts ``min_sample`` seconds; the
sample is then divided by the loop count. The garbage collector is off while timing, as in
`timeit`, so a collection triggered by someone else's garbage does not land in one sample.
"""

from __future__ import annotations

import gc
import time

import numpy as np

MAX_INNER = 1 << 16


def _run(fn, inner) -> float:
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return time.perf_counter() - start


def _inner_count(fn, min_sample) -> int:
    """Calls per sample so that one sample lasts at least ``min_sample`` seconds."""
    inner = 1
    if min_sample > 0:
        elapsed = _run(fn, inner)
        while elapsed < min_sample and inner < MAX_INNER:
            # grow toward the target in one or two jumps, never more than 100x at once
            inner = min(MAX_INNER, inner * max(2, min(100, int(min_sample / max(elapsed, 1e-9)) + 1)))
            elapsed = _run(fn, inner)
    return inner


def interleaved_medians(fns, *, repeats, warmup=1, min_sample=0.0) -> dict:
    """``{name: median seconds per call}`` for the zero-argument callables in the dict ``fns``,
    sampled round-robin, ``repeats`` samples each after ``warmup`` calls each."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        inner = {name: _inner_count(fn, min_sample) for name, fn in fns.items()}
        samples = {name: [] for name in fns}
        for _ in range(repeats):
            for name, fn in fns.items():
                samples[name].append(_run(fn, inner[name]) / inner[name])
    finally:
        if was_enabled:
            gc.enable()
    return {name: float(np.median(values)) for name, values in samples.items()}


def median_seconds(fn, *, repeats, warmup=1, min_sample=0.0) -> float:
    """Median seconds per call of ``fn()`` over ``repeats`` samples after ``warmup`` calls."""
    return interleaved_medians({"fn": fn}, repeats=repeats, warmup=warmup, min_sample=min_sample)["fn"]
