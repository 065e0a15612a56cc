"""Turn pytest-benchmark JSON files into the tables of BENCHMARKS.md.

    python bench/report.py 1=bench-1t.json 2=bench-2t.json > BENCHMARKS-tables.md

Each argument is THREADS=FILE. For every group (one shape or config) it prints the median
time of each path and its speed relative to the peer measured in the same run: NumPy's `@`
for matmul, the numpy backend for training. Ratios > 1 mean faster than the peer. Groups that
also hold external peers (torch, sklearn: bench/test_peers.py) get "cpp vs torch" and
"cpp vs sklearn" columns too (> 1: cpp faster).
"""

import json
import sys
from collections import defaultdict

PEERS = ("numpy@", "numpy")
EXTERNAL = ("torch", "sklearn")  # compared with cpp as well as with the numpy peer


def load(path):
    with open(path) as f:
        data = json.load(f)
    groups = defaultdict(dict)
    for bench in data["benchmarks"]:
        path_name = bench["params"]["path"]
        groups[bench["group"]][path_name] = bench
    return data, groups


def fmt_time(seconds):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def ratio(group, slow, fast):
    """How many times faster `fast` is than `slow` in this group ('' if either is missing)."""
    if slow and fast in group and slow in group:
        return f"{group[slow]['stats']['median'] / group[fast]['stats']['median']:.2f}x"
    return ""


def table(groups, threads):
    paths = sorted({p for g in groups.values() for p in g}, key=lambda p: (p not in PEERS, p))
    external = [p for p in EXTERNAL if p in paths]
    head = "| group | " + " | ".join(f"{p} median" for p in paths) + " | " + \
        " | ".join([f"{p} vs peer" for p in paths if p not in PEERS] +
                   [f"cpp vs {p}" for p in external]) + " |"
    lines = [f"### {threads} thread(s)", "", head, "|" + "---|" * (head.count("|") - 1)]
    for name in sorted(groups):
        group = groups[name]
        peer = next((p for p in PEERS if p in group), None)
        cells = [fmt_time(group[p]["stats"]["median"]) if p in group else "" for p in paths]
        ratios = [ratio(group, peer, p) for p in paths if p not in PEERS] + \
            [ratio(group, p, "cpp") for p in external]
        lines.append(f"| {name} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    return "\n".join(lines)


def main(args):
    for arg in args:
        threads, path = arg.split("=", 1)
        data, groups = load(path)
        print(f"Machine: {data['machine_info'].get('cpu', {}).get('brand_raw', '?')}, "
              f"{data['datetime'][:10]}, commit {data.get('commit_info', {}).get('id', '?')[:8]}")
        print()
        print(table(groups, threads))
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
