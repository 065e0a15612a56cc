"""Adversarial probe: hostile inputs, limits and signals, each in a fresh process, one table.

    python fuzz/adversarial.py                 # every case (about a minute on 2 cores)
    python fuzz/adversarial.py -k save -v      # cases whose name or kind contains "save", verbose
    python fuzz/adversarial.py --markdown      # the table as Markdown (RELIABILITY.md holds one)

Each case of `adversarial_cases.CASES` runs its snippet in a child Python (so a crash, an abort,
a hang, a blocked signal or a memory blow-up is contained and measured), under a timeout. The
child reports how the snippet ended (returned, or raised TYPE: message), the warnings it raised
and its peak resident memory (VmHWM). The case's expectation then says pass or FAIL. The exit
status is the number of failures (0: nothing lost, nothing silent).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from adversarial_cases import CASES, PRELUDE  # noqa: E402

TIMEOUT_S = 120  # per case; a healthy case takes about a second

# Runs the snippet and reports on the last line of stdout, whatever happens.
_WRAPPER = """
import json as _json, sys as _sys, warnings as _warnings
_caught = []
def _report(outcome, kind="", message=""):
    hwm = 0
    try:
        with open("/proc/self/status") as _f:
            hwm = int(_f.read().split("VmHWM:")[1].split()[0]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    print("\\n@@REPORT " + _json.dumps({{"outcome": outcome, "type": kind, "message": message[:400],
          "warnings": [str(w.message)[:300] for w in _caught], "peak": hwm}}), flush=True)
with _warnings.catch_warnings(record=True) as _caught_list:
    _warnings.simplefilter("always")
    _caught = _caught_list
    try:
{prelude}
{snippet}
    except BaseException as _exc:  # noqa: BLE001 -- every way the snippet can end is reported
        _report("raised", type(_exc).__name__, str(_exc))
    else:
        _report("returned")
"""


def child_source(snippet: str) -> str:
    indent = " " * 8
    return _WRAPPER.format(prelude=textwrap.indent(textwrap.dedent(PRELUDE), indent),
                           snippet=textwrap.indent(textwrap.dedent(snippet), indent))


def run_case(case, env) -> dict:
    with tempfile.TemporaryDirectory(prefix="fastmlp-adv-") as tmp:
        child_env = {**env, **case.env, "ADV_TMP": tmp}
        tic = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, "-c", child_source(case.code)], capture_output=True,
                                  text=True, timeout=case.timeout or TIMEOUT_S, env=child_env, cwd=tmp)
        except subprocess.TimeoutExpired:
            return {"outcome": "hang", "type": "", "message": f"no end within {case.timeout or TIMEOUT_S} s",
                    "warnings": [], "peak": 0, "seconds": time.perf_counter() - tic, "rc": None,
                    "stderr": ""}
        seconds = time.perf_counter() - tic
        leftovers = sorted(p.name for p in Path(tmp).rglob("*.tmp"))
    report = None
    for line in proc.stdout.splitlines():
        if line.startswith("@@REPORT "):
            report = json.loads(line[len("@@REPORT "):])
    if report is None:  # died without reporting: a signal, an abort, os._exit
        report = {"outcome": "died", "type": "", "message": f"exit status {proc.returncode}",
                  "warnings": [], "peak": 0}
    report.update(seconds=seconds, rc=proc.returncode, stderr=proc.stderr[-2000:],
                  stdout=proc.stdout[-2000:], leftovers=leftovers)
    return report


def judge(case, got: dict) -> tuple[bool, str]:
    """(passed, why not) for a case's expectation against what the child reported."""
    exp = case.expect
    if got["outcome"] in ("hang", "died"):
        return False, got["message"]
    if exp.raises:
        if got["outcome"] != "raised" or got["type"] not in exp.raises.split("|"):
            return False, f"expected {exp.raises}, got {got['outcome']} {got['type']}"
        if exp.match and not re.search(exp.match, got["message"]):
            return False, f"message does not match {exp.match!r}"
    elif got["outcome"] != "returned":
        return False, f"raised {got['type']}: {got['message'][:150]}"
    if exp.warns and not any(re.search(exp.warns, w) for w in got["warnings"]):
        return False, f"no warning matching {exp.warns!r}"
    if exp.max_mib is not None and got["peak"] > exp.max_mib * 2**20:
        return False, f"peak memory {got['peak'] / 2**20:.0f} MiB > {exp.max_mib} MiB"
    if exp.max_s is not None and got["seconds"] > exp.max_s:
        return False, f"took {got['seconds']:.1f} s > {exp.max_s} s"
    if got.get("leftovers"):
        return False, f"left temporary files {got['leftovers']}"
    if "Traceback" in got.get("stderr", "") and exp.no_traceback:
        return False, "a traceback on stderr"
    return True, ""


def expected_text(exp) -> str:
    parts = [f"raises {exp.raises}" if exp.raises else "returns"]
    if exp.warns:
        parts.append("warns")
    if exp.max_mib is not None:
        parts.append(f"<= {exp.max_mib} MiB")
    return ", ".join(parts)


def got_text(got) -> str:
    if got["outcome"] == "raised":
        return f"{got['type']}: {got['message'][:70]}"
    return got["outcome"] + (f" (warned: {got['warnings'][0][:50]})" if got["warnings"] else "")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="run the cases whose name or kind contains this")
    parser.add_argument("-v", action="store_true", help="print each child's stderr on failure")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    root = HERE.parent / "python"
    if root.is_dir():  # a source checkout: test it, not whatever fastmlp is installed
        env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("FASTMLP_NUM_THREADS", None)
    cases = [c for c in CASES if args.k in c.name or args.k in c.kind]
    rows, failures, start = [], 0, time.perf_counter()
    for i, case in enumerate(cases, 1):
        got = run_case(case, env)
        ok, why = judge(case, got)
        failures += not ok
        rows.append((i, case.kind, case.name, expected_text(case.expect), got_text(got),
                     f"{got['seconds']:.1f}", f"{got['peak'] / 2**20:.0f}", "pass" if ok else f"FAIL: {why}"))
        if not args.markdown:
            print(f"{i:3d} {'pass' if ok else 'FAIL'} {case.kind:<14} {case.name:<44} {got_text(got)[:60]}"
                  + (f"\n      why: {why}" if not ok else ""), flush=True)
            if not ok and args.v:
                print(textwrap.indent(got["stderr"] or got.get("stdout", ""), "      | "))
    if args.markdown:
        print("| # | kind | case | expected | got | s | peak MiB | verdict |")
        print("|---|---|---|---|---|---|---|---|")
        for row in rows:
            print("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
    kinds = sorted({c.kind for c in cases})
    print(f"\n{len(cases)} cases ({', '.join(kinds)}), {len(cases) - failures} passed, {failures} failed, "
          f"{time.perf_counter() - start:.0f} s")
    return min(failures, 100)


if __name__ == "__main__":
    sys.exit(main())
