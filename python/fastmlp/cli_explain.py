"""``fastmlp explain``: one training step of a small network, every number named.

    fastmlp explain                          XOR on a 2-2-1 network, as terminal text
    fastmlp explain --example house --lr 0.5
    fastmlp explain --format html -o step.html
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXAMPLES = ("xor", "house")
FORMATS = ("text", "markdown", "html", "json")
BACKENDS = ("cpp", "numba", "numpy")
MIN_WIDTH = 40  # fastmlp.explain's narrowest text layout


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


def _int_at_least(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        return value

    return parse


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``explain`` subcommand to ``fastmlp``'s subparsers; returns its parser."""
    parser = subparsers.add_parser(
        "explain",
        help="show one training step of a small network, every number named",
        description=(
            "One step of backpropagation and gradient descent on a small network, in the order a "
            "learner meets it: inputs, each layer's z = x W + b and a = f(z), prediction, error and "
            "loss, the deltas going back by the chain rule, the gradients, the update and the loss "
            "after it. Then short runs at many learning rates (which crawl, which train, which diverge), and "
            "the C++, Numba and NumPy backends computing the same numbers digit by digit."
        ),
    )
    parser.add_argument("--example", choices=EXAMPLES, default="xor",
                        help="xor: the XOR truth table on a 2-2-1 sigmoid network (default); "
                             "house: 4 scaled houses on a 3-2-1 tanh regression network")
    parser.add_argument("--lr", type=_positive_float, metavar="LR",
                        help="learning rate of the step (default: the best single step the sweep finds)")
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="text for the terminal (default), markdown, html or json")
    parser.add_argument("--backend", choices=BACKENDS,
                        help="whose numbers to show (default: the fastest available); all are compared")
    parser.add_argument("--seed", type=_int_at_least(0), default=0, metavar="N",
                        help="seeds the initial weights (and the houses drawn) (default 0)")
    parser.add_argument("--width", type=_int_at_least(MIN_WIDTH), metavar="N",
                        help="text format: line width (default: the terminal's)")
    parser.add_argument("--output", "-o", type=Path, metavar="PATH",
                        help="write to PATH instead of printing")
    parser.set_defaults(func=run, check=_check, subparser=parser)
    return parser


def _check(args) -> str | None:
    """A usage error for options that do not go together, or None."""
    if args.width is not None and args.format != "text":
        return f"--width applies to --format text, not {args.format}"
    return None


def run(args) -> int:
    """Compute the explanation and print (or write) it; returns the exit code."""
    from .cli_train import CLIError
    from .explain import explain

    try:
        result = explain(example=args.example, lr=args.lr, backend=args.backend, seed=args.seed,
                         format=args.format)
    except ImportError as exc:  # the chosen backend does not import on this machine
        raise CLIError(str(exc)) from exc
    text = result.to_text(width=args.width) if args.format == "text" else result.render()
    if args.output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CLIError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
    print(f"wrote {args.output} ({args.format}, lr {result.lr:g}, loss {result.loss_before:.6g} -> "
          f"{'overflow' if result.loss_after is None else format(result.loss_after, '.6g')})")
    return 0
