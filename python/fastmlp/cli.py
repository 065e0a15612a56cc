"""The ``fastmlp`` command line.

    fastmlp train                      784-256-128-10 relu MLP on the shipped MNIST subset
    fastmlp train --dataset moons      a toy problem for learners (xor, moons, circles, spirals)
    fastmlp train --dataset house-prices          regression: RMSE and R^2
    fastmlp train --dataset mnist --data-dir DIR  full MNIST from the standard IDX files
    fastmlp explain [--example xor|house]  one training step, every number named
    fastmlp bench [--quick]            fastmlp vs NumPy, PyTorch, scikit-learn on this machine
    fastmlp info                       versions, backends, threads, CPU features
    fastmlp export MODEL.npz --onnx OUT.onnx   the saved model as a standard ONNX graph
    fastmlp playground [--port N]      a local web page: train a network, open any step

Exit codes: 0 success, 1 a runtime problem (missing or corrupt data, unavailable backend),
2 bad command-line options, 130 interrupted with Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .bench_cli import add_parser as add_bench_parser
from .cli_explain import add_parser as add_explain_parser
from .cli_export import add_parser as add_export_parser
from .cli_playground import add_parser as add_playground_parser
from .cli_train import DEFAULTS, CLIError, check_train_args, cmd_train
from .names import OPTIMIZERS

DATASETS = ("mnist-small", "mnist", "fashion-mnist", "xor", "moons", "circles", "spirals", "house-prices")
BACKENDS = ("cpp", "numba", "numpy")
ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "gelu", "identity")


# --- argument types -------------------------------------------------------------------------


def _number(convert, accept, expected: str):
    """An argparse type: ``convert`` the text, then require ``accept(value)``; errors say ``expected``."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


_positive_int = _number(int, lambda v: v >= 1, "a positive integer")
_thread_count = _number(int, lambda v: 1 <= v <= 1024, "a positive integer up to 1024")
_seed = _number(int, lambda v: 0 <= v < 2**64, "an integer from 0 to 2**64 - 1")
_nonneg_int = _number(int, lambda v: v >= 0, "an integer >= 0")
_positive_float = _number(float, lambda v: 0 < v < np.inf, "a positive finite number")
_unit_float = _number(float, lambda v: 0.0 <= v < 1.0, "a number in [0, 1)")
_nonneg_float = _number(float, lambda v: 0 <= v < np.inf, "a finite number >= 0")


def _layers(text: str) -> tuple:
    """'256,128' -> (256, 128); '' or 'none' -> () (no hidden layer: a linear model)."""
    text = text.strip()
    if text.lower() in ("", "none"):
        return ()
    sizes = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated positive hidden-layer sizes such as 256,128, got {text!r}"
            )
        sizes.append(int(part))
    return tuple(sizes)


# --- parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``fastmlp`` and its subcommands."""
    from ._version import __version__

    parser = argparse.ArgumentParser(
        prog="fastmlp",
        description="Train dense neural networks (MLPs) on the CPU, fast.",
    )
    parser.add_argument("--version", action="version", version=f"fastmlp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = sub.add_parser(
        "train",
        help="train a network and report test accuracy (or RMSE / R^2) and wall time",
        description=(
            "Train an MLP on a data set and report the test metric and wall time. With no "
            "options: a 784-256-128-10 relu network, Adam lr 1e-3, batch 64, 5 epochs, on the "
            "MNIST subset shipped inside the package (no download)."
        ),
        epilog="Defaults for --layers, --epochs, --batch-size and --lr depend on --dataset: "
        + "; ".join(f"{k}: layers {','.join(map(str, d.layers))}, {d.epochs} epochs, batch {d.batch_size}, "
                    f"adam lr {d.lr:g}" for k, d in DEFAULTS.items()),
    )
    g = train.add_argument_group("data")
    g.add_argument("--dataset", choices=DATASETS, default="mnist-small",
                   help="data set (default: mnist-small, shipped in the package)")
    g.add_argument("--data-dir", type=Path, metavar="PATH",
                   help="directory with the IDX files (train-images-idx3-ubyte[.gz], ...) for mnist / "
                        "fashion-mnist; default: the download cache if it holds them")
    g.add_argument("--download", action="store_true",
                   help="mnist / fashion-mnist: download the IDX files (SHA-256 checked) into the cache "
                        "($FASTMLP_DATA or ~/.cache/fastmlp) when no --data-dir is given")
    g.add_argument("--n-samples", type=_positive_int, metavar="N",
                   help="generated data sets: number of samples (80%% train, 20%% test)")
    g = train.add_argument_group("model")
    g.add_argument("--layers", type=_layers, metavar="SIZES",
                   help="hidden-layer sizes, comma-separated, e.g. 256,128 ('none' for no hidden layer)")
    g.add_argument("--activation", choices=ACTIVATIONS, default="relu", help="hidden activation (default relu)")
    g.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="(default float32)")
    g.add_argument("--backend", choices=BACKENDS,
                   help="kernel backend (default cpp, or the best available one if cpp is missing)")
    g.add_argument("--threads", type=_thread_count, metavar="N", help="threads of the C++ core")
    g.add_argument("--seed", type=_seed, default=0, help="seeds weights, shuffling and toy data (default 0)")
    g.add_argument("--dropout", type=_unit_float, default=0.0, metavar="P",
                   help="drop each hidden unit with probability P in [0, 1) while training (default 0)")
    g.add_argument("--l2", type=_nonneg_float, metavar="L2",
                   help="L2 penalty on the weights, scikit-learn's definition (its alpha; default 0)")
    g.add_argument("--alpha", type=_nonneg_float, help="deprecated alias of --l2")
    g = train.add_argument_group("training")
    g.add_argument("--optimizer", choices=OPTIMIZERS, default="adam", help="(default adam)")
    g.add_argument("--lr", type=_positive_float, help="learning rate")
    g.add_argument("--momentum", type=_unit_float, help="sgd / rmsprop momentum in [0, 1) (default 0)")
    g.add_argument("--weight-decay", type=_nonneg_float, help="L2 (adamw: decoupled) weight decay")
    g.add_argument("--clip-norm", type=_positive_float, metavar="MAX",
                   help="clip each step's gradients to global L2 norm MAX (default: no clipping)")
    g.add_argument("--epochs", type=_nonneg_int, help="passes over the training data")
    g.add_argument("--batch-size", type=_positive_int, help="rows per gradient step")
    g = train.add_argument_group("output")
    g.add_argument("--save", type=Path, metavar="PATH", help="write the trained model to PATH (.npz)")
    g.add_argument("--plot", type=Path, metavar="PATH",
                   help="write the loss and metric curves (train and validation) to PATH (.png, .pdf, "
                        ".svg; needs matplotlib: pip install 'fastmlp[plot]')")
    g.add_argument("--quiet", "-q", action="store_true", help="no progress bar; print only the results")
    train.set_defaults(func=cmd_train, check=check_train_args, subparser=train)

    add_bench_parser(sub, _positive_int, BACKENDS)

    info = sub.add_parser("info", help="versions, backends, threads and CPU features",
                          description="Print fastmlp's version, its dependencies, the available "
                                      "backends, the thread count and the CPU's SIMD features.")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(func=cmd_info, check=None, subparser=info)
    add_explain_parser(sub)
    add_export_parser(sub)
    add_playground_parser(sub)
    return parser


# --- info -----------------------------------------------------------------------------------


def collect_info() -> dict:
    """What ``fastmlp info`` prints: `fastmlp.info()`."""
    from .runtime import info

    return info()


def cmd_info(args) -> int:
    """``fastmlp info``: one ``key: value`` line per fact (or JSON with --json)."""
    data = collect_info()
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=False, default=str))
        return 0
    labels = {
        "fastmlp": "fastmlp", "python": "Python", "platform": "platform", "numpy": "NumPy",
        "numba": "numba", "torch": "torch", "sklearn": "scikit-learn", "backends": "backends",
        "num_threads": "threads", "cpu": "CPU", "cpu_count": "CPU count", "usable_cpus": "usable CPUs",
        "cpu_flags": "CPU features",
    }
    width = max(len(v) for v in labels.values()) + 1
    shown = set()
    for key, label in labels.items():
        if key not in data:
            continue
        shown.add(key)
        value = data[key]
        if isinstance(value, (list, tuple)):
            value = ", ".join(map(str, value)) or "(none)"
        elif value is None:
            value = "not installed" if key in ("numba", "torch", "sklearn") else "unknown"
        print(f"{label + ':':<{width}} {value}")
    for key, value in data.items():  # whatever else info() reports (C++ core details, ...)
        if key in shown:
            continue
        if isinstance(value, dict):  # one indented line per entry (the C++ core's details)
            print(f"{key}:")
            for sub_key, sub_value in value.items():
                if isinstance(sub_value, (list, tuple)):
                    sub_value = ", ".join(map(str, sub_value))
                if isinstance(sub_value, dict):  # e.g. the kernels: one line per dtype / cache
                    print(f"  {sub_key}:")
                    for k, v in sub_value.items():
                        print(f"    {k}: {v}")
                    continue
                print(f"  {sub_key}: {sub_value}")
            continue
        if isinstance(value, (list, tuple)):
            value = ", ".join(map(str, value))
        print(f"{key + ':':<{width}} {value}")
    return 0


# --- entry point ----------------------------------------------------------------------------


def _isa_problem():
    """FASTMLP_ISA's error message when it names no usable instruction set, else None."""
    try:
        from .backends import cpp
    except ImportError:
        return None  # no C++ core: cmd_train says so itself
    try:
        cpp.isa()
    except (ValueError, RuntimeError) as exc:
        return str(exc)
    return None


def main(argv=None) -> int:
    """Run the ``fastmlp`` command line with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help / --version (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if args.command == "train" and (getattr(args, "backend", None) or "cpp") == "cpp":
        problem = _isa_problem()
        if problem:  # a bad FASTMLP_ISA is a usage error: one line, exit 2, before any work
            print(f"fastmlp train: error: {problem}", file=sys.stderr, flush=True)
            return 2
    if args.check is not None:
        problem = args.check(args)
        if problem:
            try:
                args.subparser.error(problem)  # prints usage and the message, exits 2
            except SystemExit as exc:
                return exc.code if isinstance(exc.code, int) else 2
    try:
        return args.func(args)
    except CLIError as exc:
        print(f"fastmlp {args.command}: error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print(f"fastmlp {args.command}: interrupted", file=sys.stderr, flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
