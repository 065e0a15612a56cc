"""``fastmlp bench``: it runs every configuration against every installed peer and reports
positive times and consistent ratios. No timing is asserted (tests never judge speed)."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fastmlp
from fastmlp.benchmarks import configs, suite, timing
from fastmlp.cli import main

PYTHON_DIR = str(Path(fastmlp.__file__).resolve().parents[1])
INSTALLED_PEERS = ["numpy", "oracle"] + [p for p, module in (("torch", "torch"), ("sklearn", "sklearn"))
                               if importlib.util.find_spec(module) is not None]


def _env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [PYTHON_DIR, os.environ.get("PYTHONPATH")])))


def test_bench_json_has_every_config_with_positive_times_and_ratios():
    # --tiny (hidden) keeps --quick's table but measures each cell once on a few rows
    proc = subprocess.run([sys.executable, "-m", "fastmlp.cli", "bench", "--quick", "--tiny", "--json"],
                          capture_output=True, text=True, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr
    # an editable install that rebuilds on import prints "Running cmake ..." first: skip to the JSON
    lines = proc.stdout.splitlines()
    report = json.loads("\n".join(lines[lines.index("{"):]))
    assert report["threads"] == 1 and report["backend"] == fastmlp.available_backends()[0]
    assert report["settings"]["mode"] == "tiny"
    names = [r["name"] for r in report["results"]]
    expected = [f"matmul {s} f32" for s in configs.GEMM_SHAPES] + \
        [f"epoch {configs.short_name(c)}" for c in configs.EPOCH_CONFIGS]
    assert names == expected
    for short in ("B4", "D32", "A64", "C256"):  # every configuration the bench documents
        assert f"epoch {short}" in names
    for r in report["results"]:
        peers = ["numpy"] if r["kind"] == "matmul" else INSTALLED_PEERS
        times = r["seconds"]  # the report's fields, checked for form: no speed is asserted
        assert sorted(times) == sorted(["fastmlp", *peers]), r["name"]
        assert sorted(r["ratio"]) == sorted(peers), r["name"]
        for t in times.values():
            assert math.isfinite(t) and t > 0, r
        for peer, ratio in r["ratio"].items():
            assert math.isfinite(ratio) and ratio > 0, r
            # ratio = peer's time / fastmlp's; the division is the only rounding (1e-12)
            assert ratio == pytest.approx(times[peer] / times["fastmlp"], rel=1e-12)
        assert r["flops"] > 0 and r["gflops"] == pytest.approx(r["flops"] / times["fastmlp"] / 1e9)
        if report["machine"]["peak_gflops"]:  # the cpp backend measured the peak in process
            assert r["pct_peak"] == pytest.approx(100 * r["gflops"] / report["machine"]["peak_gflops"])
        if r["kind"] == "epoch":
            batch = configs.EPOCH_CONFIGS[r["config"]][3]
            assert r["steps"] == -(-r["rows"] // batch)
            assert r["flops"] == suite.epoch_flops(r["config"], r["rows"])


def test_epoch_flops_counts_forward_dw_and_dx_but_the_first():
    # A64: 784-256-128-10; forward and dW of all three layers, dX of layers 2 and 3 only
    macs = 784 * 256 + 256 * 128 + 128 * 10
    expected = 2.0 * 100 * (macs + macs + (macs - 784 * 256))
    assert suite.epoch_flops("A64 784-256-128-10 relu ce b64", 100) == expected


def test_lean_numpy_epoch_trains_like_the_oracle():
    # the hand-written peer does the same SGD epoch as the backends: same loss to float32 noise
    import numpy as np
    from fastmlp.backends import get_backend
    from fastmlp.benchmarks import peers

    for config in ("D32 13-64-64-1 relu mse b32", "A64 784-256-128-10 relu ce b64", "B4 2-16-1 tanh mse b4"):
        rng = np.random.default_rng(1)
        net, X, y, batch = configs.make_epoch_problem(config, 200, rng)
        order = rng.permutation(len(X))
        lean = peers.numpy_lean_epoch(net.copy(), X, y, order, batch)
        oracle_net = net.copy()
        oracle = get_backend("numpy")
        for _ in range(2):  # the second epoch starts from the first one's weights in both
            expected, _ = oracle.train_epoch(oracle_net, X, y, order, batch)
            got = lean()
        # float32 sums in another order (BLAS) over <= 784 terms and two epochs of updates
        assert got == pytest.approx(expected, rel=2e-4), config


def test_bench_table_in_process(capsys):
    assert main(["bench", "--tiny", "--peers", "numpy", "--backend", "numpy"]) == 0
    out = capsys.readouterr().out
    assert "backend numpy" in out and "1 thread" in out and "CPU:" in out and "% peak" in out
    header = next(line for line in out.splitlines() if "vs numpy" in line)
    assert "torch" not in header and "sklearn" not in header  # --peers numpy
    for short in ("B4", "D32", "A64", "A256", "C256"):
        row = next(line for line in out.splitlines() if line.startswith(f"epoch {short} "))
        assert row.rstrip().endswith("x")  # a ratio in the last column


@pytest.mark.parametrize("argv, message", [
    (["bench", "--threads", "0"], "positive integer"),
    (["bench", "--peers", "numpy,jax"], "unknown peer(s) jax"),
    (["bench", "--backend", "fortran"], "invalid choice"),
])
def test_bench_bad_options_exit_2(capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_median_seconds_counts_warmup_and_repeats():
    calls = []
    median = timing.median_seconds(lambda: calls.append(1), repeats=3, warmup=2)
    assert len(calls) == 5 and median > 0
    calls.clear()
    # a no-op call lasts far less than 1 ms, so the timer must loop it to fill each sample
    timing.median_seconds(lambda: calls.append(1), repeats=2, warmup=0, min_sample=1e-3)
    assert len(calls) > 2 + 2
    with pytest.raises(ValueError, match="repeats"):
        timing.median_seconds(lambda: None, repeats=0)


def test_table_marks_missing_peers():
    report = {"results": [
        {"name": "matmul 8x8x8 f32", "seconds": {"fastmlp": 2e-6, "numpy": 3e-6}, "ratio": {"numpy": 1.5},
         "gflops": 0.5, "pct_peak": 25.0},
        {"name": "epoch B4", "seconds": {"fastmlp": 1e-3, "numpy": 4e-2, "torch": 1e-2},
         "ratio": {"numpy": 40.0, "torch": 10.0}, "gflops": 1.25, "pct_peak": None},
    ]}
    lines = suite.table(report).splitlines()
    assert lines[0].split() == ["fastmlp", "GFLOP/s", "%", "peak", "numpy", "torch", "vs", "numpy",
                                "vs", "torch"]
    assert lines[1].split()[5:8] == ["0.5", "25", "%"]  # the rate and its share of the peak
    assert lines[2].split()[4:6] == ["1.2", "-"]  # no peak measured: a dash
    assert lines[1].split()[-3:] == ["-", "1.50x", "-"]  # no torch time, ratio or column gap
    assert lines[2].split()[-2:] == ["40.00x", "10.00x"]
    assert "2 us" in lines[1] and "40 ms" in lines[2]


def test_interleaved_medians_sample_round_robin():
    order = []
    medians = timing.interleaved_medians({"a": lambda: order.append("a"), "b": lambda: order.append("b")},
                                         repeats=3, warmup=1)
    assert order == ["a", "b"] + ["a", "b"] * 3  # warm-ups, then one sample of each per round
    assert set(medians) == {"a", "b"} and all(v > 0 for v in medians.values())
