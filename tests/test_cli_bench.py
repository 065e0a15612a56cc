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
INSTALLED_PEERS = ["numpy"] + [p for p, module in (("torch", "torch"), ("sklearn", "sklearn"))
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
    for short in ("B4", "D32", "A64", "C256"):  # the configurations issue 7 names
        assert f"epoch {short}" in names
    for r in report["results"]:
        peers = ["numpy"] if r["kind"] == "matmul" else INSTALLED_PEERS
        assert sorted(r["seconds"]) == sorted(["fastmlp", *peers]), r["name"]
        assert sorted(r["ratio"]) == sorted(peers), r["name"]
        for seconds in r["seconds"].values():
            assert math.isfinite(seconds) and seconds > 0, r
        for peer, ratio in r["ratio"].items():
            assert math.isfinite(ratio) and ratio > 0, r
            # ratio = peer's time / fastmlp's; the division is the only rounding (1e-12)
            assert ratio == pytest.approx(r["seconds"][peer] / r["seconds"]["fastmlp"], rel=1e-12)
        if r["kind"] == "epoch":
            batch = configs.EPOCH_CONFIGS[r["config"]][3]
            assert r["steps"] == -(-r["rows"] // batch)


def test_bench_table_in_process(capsys):
    assert main(["bench", "--tiny", "--peers", "numpy", "--backend", "numpy"]) == 0
    out = capsys.readouterr().out
    assert "backend numpy" in out and "1 thread" in out
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
    seconds = timing.median_seconds(lambda: calls.append(1), repeats=3, warmup=2)
    assert len(calls) == 5 and seconds > 0
    calls.clear()
    # a no-op call lasts far less than 1 ms, so the timer must loop it to fill each sample
    timing.median_seconds(lambda: calls.append(1), repeats=2, warmup=0, min_sample=1e-3)
    assert len(calls) > 2 + 2
    with pytest.raises(ValueError, match="repeats"):
        timing.median_seconds(lambda: None, repeats=0)


def test_table_marks_missing_peers():
    report = {"results": [
        {"name": "matmul 8x8x8 f32", "seconds": {"fastmlp": 2e-6, "numpy": 3e-6}, "ratio": {"numpy": 1.5}},
        {"name": "epoch B4", "seconds": {"fastmlp": 1e-3, "numpy": 4e-2, "torch": 1e-2},
         "ratio": {"numpy": 40.0, "torch": 10.0}},
    ]}
    lines = suite.table(report).splitlines()
    assert lines[0].split() == ["fastmlp", "numpy", "torch", "vs", "numpy", "vs", "torch"]
    assert lines[1].split()[-3:] == ["-", "1.50x", "-"]  # no torch time, ratio or column gap
    assert lines[2].split()[-2:] == ["40.00x", "10.00x"]
    assert "2 us" in lines[1] and "40 ms" in lines[2]


def test_interleaved_medians_sample_round_robin():
    order = []
    medians = timing.interleaved_medians({"a": lambda: order.append("a"), "b": lambda: order.append("b")},
                                         repeats=3, warmup=1)
    assert order == ["a", "b"] + ["a", "b"] * 3  # warm-ups, then one sample of each per round
    assert set(medians) == {"a", "b"} and all(v > 0 for v in medians.values())
