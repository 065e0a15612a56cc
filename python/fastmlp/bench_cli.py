"""``fastmlp bench``: a short benchmark on the user's own machine.

    fastmlp bench               GEMM shapes and B4/D32/A64/A256/C256 epochs, 7 repeats (under a minute)
    fastmlp bench --quick       fewer rows and repeats (well under 30 s)
    fastmlp bench --threads 2   fastmlp, NumPy's BLAS, PyTorch and scikit-learn all at 2 threads
    fastmlp bench --json        one JSON object instead of the table

The measurement code lives in fastmlp.benchmarks (bench/ in the repository uses it too).
"""

from __future__ import annotations

import argparse
import json
import sys

from .benchmarks import suite


def _peer_list(text: str) -> tuple:
    names = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in names if p not in suite.PEERS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown peer(s) {', '.join(unknown)}; choose from {', '.join(suite.PEERS)}")
    return names


def add_parser(sub, positive_int, backends):
    """Register ``bench`` on the ``fastmlp`` subparsers."""
    bench = sub.add_parser(
        "bench", help="time fastmlp against NumPy, PyTorch and scikit-learn on this machine",
        description="Time matrix multiplies and one training epoch of the standard configurations "
                    "(float32, SGD lr 0.01) with fastmlp and, in the same run, NumPy's @ / a "
                    "hand-written NumPy epoch ('numpy'), fastmlp's checked NumPy backend ('oracle'), "
                    "PyTorch eager and scikit-learn partial_fit (when installed). Prints medians "
                    "after warm-up, fastmlp's GFLOP/s and %% of this core's FMA peak (measured in "
                    "the same run), and its speed-up over each peer.",
    )
    bench.add_argument("--quick", action="store_true", help="fewer rows and repeats (under 30 s)")
    bench.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # for the test suite
    bench.add_argument("--threads", type=positive_int, default=1, metavar="N",
                       help="threads for fastmlp and every peer (default 1)")
    bench.add_argument("--backend", choices=backends,
                       help="fastmlp backend to time (default cpp, or the best available one)")
    bench.add_argument("--peers", type=_peer_list, default=suite.PEERS, metavar="LIST",
                       help=f"comma-separated peers to time (default {','.join(suite.PEERS)}; "
                            "torch and sklearn are skipped when not installed)")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.set_defaults(func=cmd_bench, check=None, subparser=bench)
    return bench


def _choose_backend(requested):
    from .backends import available_backends, get_backend
    from .cli_train import CLIError

    if requested is not None:
        try:
            get_backend(requested)
        except ImportError as exc:
            raise CLIError(f"{exc}; available: {', '.join(available_backends())}") from None
        return requested
    return available_backends()[0]  # cpp, then numba, then numpy


def _header(report) -> str:
    s = report["settings"]
    v = report["versions"]
    threads = f"{report['threads']} thread{'' if report['threads'] == 1 else 's'}"
    peers = ", ".join(f"{name} {version}" if version else f"{name} not installed" for name, version in v.items())
    backend = report["backend"]
    if backend == "cpp":
        from .runtime import info

        isa = info().get("core", {}).get("isa")
        backend += f" ({isa})" if isa else ""
    m = report.get("machine", {})
    peak = f"{m['peak_gflops']:.1f} GFLOP/s float32" if m.get("peak_gflops") else "not measured"
    return (f"fastmlp {report['fastmlp']} bench ({s['mode']}): backend {backend}, {threads}; "
            f"epochs of {s['epoch_rows']} rows, float32, SGD lr 0.01; median of {s['repeats']} after warm-up\n"
            f"CPU: {m.get('cpu') or 'unknown'}; fastmlp ISA {m.get('isa') or '-'}; "
            f"BLAS: {m.get('blas') or 'unknown'}; FMA peak ({threads}): {peak}\n"
            f"peers: {peers}")


def _progress_line(what):
    """One self-overwriting status line on a terminal's stderr (never in piped output)."""
    print(f"\rmeasuring {what:<50}", end="", file=sys.stderr, flush=True)


def cmd_bench(args) -> int:
    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    backend = _choose_backend(args.backend)
    progress = _progress_line if not args.json and sys.stderr.isatty() else None
    report = suite.run(suite.MODES[mode], threads=args.threads, backend_name=backend,
                       with_peers=args.peers, progress=progress)
    if progress:
        print("\r" + " " * 61 + "\r", end="", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(_header(report))
    print()
    print(suite.table(report))
    print()
    print("vs X = X's median time / fastmlp's (> 1: fastmlp is faster). Times vary with the load on "
          "this machine; the ratios, measured in the same run, are what to compare. % peak: fastmlp's "
          "rate over the FMA peak above. Epoch peers: numpy = a hand-written NumPy loop (what a user "
          "writes), oracle = fastmlp's checked NumPy backend.")
    for note in report["notes"]:
        print(f"note: {note}")
    return 0
