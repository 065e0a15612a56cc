"""The isa table (csrc/isa/): caches detected, the GEMM blocking derived from them by the model
of docs/gemm.md, the environment switches FASTMLP_CACHES / FASTMLP_BLOCKING, and the in-process
FMA peak probe. Environment switches are read once per process, so those tests run a child."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

cpp = pytest.importorskip("fastmlp.backends.cpp", reason="the C++ core is not built")
import fastmlp  # noqa: E402

PYTHON_DIR = str(Path(fastmlp.__file__).resolve().parents[1])
ELEM = {"float32": 4, "float64": 8}


def _child(code, **env):
    """Run `code` in a fresh interpreter with `env` added; returns (returncode, stdout, stderr)."""
    full = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [PYTHON_DIR, os.environ.get("PYTHONPATH")])))
    for key in ("FASTMLP_CACHES", "FASTMLP_BLOCKING", "FASTMLP_ISA"):
        full.pop(key, None)
    full.update(env)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


INFO_BY_ISA = """
import json
from fastmlp.backends import cpp
out = {}
for name in cpp.available_isas():
    cpp.set_isa(name)
    out[name] = cpp.core_info()["kernels"]
print(json.dumps(out))
"""


def _blockings(**env):
    rc, out, err = _child(INFO_BY_ISA, **env)
    assert rc == 0, err
    return json.loads(out.splitlines()[-1])


def test_caches_are_detected_and_ordered():
    caches = cpp.core_info()["kernels"]["caches"]
    assert caches["source"] in ("sysfs", "sysconf", "defaults")
    assert 4096 <= caches["l1d"] <= caches["l2"] <= caches["l3"]
    assert caches["l2_sharing"] >= 1 and caches["l3_sharing"] >= 1


@pytest.mark.parametrize("caches", ["32K,512K,32M", "48K,1M,32M", "32K,256K,8M"])
def test_blocking_follows_the_cache_model(caches):
    l1, l2, l3 = (int(x[:-1]) * (1024 if x[-1] == "K" else 1 << 20) for x in caches.split(","))
    for isa, info in _blockings(FASTMLP_CACHES=caches).items():
        assert info["caches"]["source"] == "FASTMLP_CACHES"
        for dtype, elem in ELEM.items():
            b = info[dtype]
            assert b["mc"] % b["mr"] == 0 and b["nc"] % b["nr"] == 0, (isa, dtype, b)
            assert b["kc"] % 8 == 0 and 64 <= b["kc"] <= 1024, (isa, dtype, b)
            # the B micro-panel in half of L1, or (avx512: its tile's rule) in 1/16 of L2
            home = l2 // 16 if isa == "avx512" else l1 // 2
            assert b["kc"] * b["nr"] * elem <= home < (b["kc"] + 8) * b["nr"] * elem or b["kc"] in (64, 1024)
            # the A block in half of L2 (a quarter beside avx512's B micro-panels), as large as fits
            share = l2 // 4 if isa == "avx512" else l2 // 2
            assert b["mc"] * b["kc"] * elem <= share < (b["mc"] + b["mr"]) * b["kc"] * elem
            # the B panel in half this core's L3 share (l3_sharing 1 here), at most 2 MiB
            panel = min(2 << 20, max(l3 // 2, l2))
            assert b["kc"] * b["nc"] * elem <= panel < b["kc"] * (b["nc"] + b["nr"]) * elem


def test_blocking_for_a_zen3_sized_cache():
    # 32 KiB L1d, 512 KiB L2: avx2 float32 KC = 16 KiB / (16 * 4 B) = 256, MC = 256 KiB / 1 KiB
    # = 256 rows -> 252 (whole 6-row tiles), NC = 2 MiB / 1 KiB = 2048 columns
    info = _blockings(FASTMLP_CACHES="32K,512K,32M")
    if "avx2" in info:
        b = info["avx2"]["float32"]
        assert (b["mr"], b["nr"], b["mc"], b["kc"], b["nc"]) == (6, 16, 252, 256, 2048)
        assert b["pack_a_bytes"] == 256 * 1024


@pytest.mark.parametrize("value", ["32K,512K", "1K,2K,x", "64K,32K,1M", "", "0,0,0"])
def test_bad_fastmlp_caches_names_the_variable(value):
    if value == "":
        return  # empty means unset: covered by every other test
    rc, out, err = _child("from fastmlp.backends import cpp\ncpp.isa()", FASTMLP_CACHES=value)
    assert rc != 0 and "FASTMLP_CACHES" in err and "Traceback" in err
    assert "ValueError" in err


def test_fastmlp_blocking_forces_a_blocking_and_stays_correct():
    code = """
import json
import numpy as np
from fastmlp.backends import cpp
rng = np.random.default_rng(0)
worst = {}
for name in cpp.available_isas():
    cpp.set_isa(name)
    info = cpp.core_info()["kernels"]
    err = 0.0
    for m, k, n in [(1, 1, 1), (61, 131, 67), (130, 257, 301), (7, 600, 5)]:
        for dt in (np.float32, np.float64):
            a = rng.standard_normal((m, k)).astype(dt); b = rng.standard_normal((k, n)).astype(dt)
            ref = a.astype(np.float64) @ b.astype(np.float64)
            bound = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64)
            u = np.finfo(dt).eps / 2
            got = cpp.matmul(a, b)
            err = max(err, float(np.max(np.abs(got - ref) / (2 * k * u * bound + 1e-300))))
    worst[name] = {"f32": info["float32"], "f64": info["float64"], "err": err}
print(json.dumps(worst))
"""
    rc, out, err = _child(code, FASTMLP_BLOCKING="60,100,200")
    assert rc == 0, err
    for isa, r in json.loads(out.splitlines()[-1]).items():
        for b in (r["f32"], r["f64"]):
            assert b["kc"] == 100
            assert b["mc"] == -(-60 // b["mr"]) * b["mr"] and b["nc"] == -(-200 // b["nr"]) * b["nr"]
        # |C - Cref| <= 2 k u |A||B| (tests/tolerances.py's GEMM bound): KC 100 splits k = 257
        # and 600 into several passes over C, which the bound covers
        assert r["err"] <= 1.0, (isa, r)


@pytest.mark.parametrize("value", ["1,2", "a,b,c", "0,256,256", "64,-1,128", "64,256,99999999"])
def test_bad_fastmlp_blocking_names_the_variable(value):
    rc, out, err = _child("from fastmlp.backends import cpp\ncpp.isa()", FASTMLP_BLOCKING=value)
    assert rc != 0 and "FASTMLP_BLOCKING" in err and "ValueError" in err


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fma_peak_is_measured_for_every_isa(dtype):
    for name in cpp.available_isas():
        peak = cpp.fma_peak(dtype, isa=name, seconds=0.01, runs=1)
        assert math.isfinite(peak) and peak > 0.1, (name, peak)


def test_fma_peak_bad_arguments():
    with pytest.raises(ValueError, match="dtype"):
        cpp.fma_peak("int32")
    with pytest.raises(ValueError, match="no instruction set named 'sse9'"):
        cpp.fma_peak(isa="sse9")
    with pytest.raises(ValueError, match="seconds"):
        cpp.fma_peak(seconds=0)
    with pytest.raises(ValueError, match="runs"):
        cpp.fma_peak(runs=0)


def test_active_entry_governs_the_small_path_rounding():
    # generic adds a product with two roundings, avx2/avx512 with one (fused_madd); the small
    # path follows the active entry, so its forward equals the GEMM's under every entry
    before = cpp.isa()
    try:
        for name in cpp.available_isas():
            cpp.set_isa(name)
            info = cpp.core_info()["kernels"]
            assert info["fused_madd"] == (name != "generic")
    finally:
        cpp.set_isa(before)
