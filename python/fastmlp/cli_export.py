"""``fastmlp export``: write a saved model in a format other programs run.

    fastmlp export model.npz --onnx model.onnx    a standard ONNX graph (pip install "fastmlp[onnx]")

Every problem (missing or unreadable model, no onnx package, unwritable output) is one line on
stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``export`` subcommand to ``fastmlp``'s subparsers; returns its parser."""
    from .onnx_export import DEFAULT_OPSET

    parser = subparsers.add_parser(
        "export",
        help="write a saved model (.npz) as a standard ONNX graph",
        description=(
            "Read a model written by fastmlp.MLP.save (or fastmlp train --save) and write it as an "
            "ONNX graph: input X, outputs label and probabilities (classifiers) or predictions, "
            "as predict and predict_proba give them. Needs pip install \"fastmlp[onnx]\"."
        ),
    )
    parser.add_argument("model", type=Path, metavar="MODEL.npz", help="a model saved by fastmlp")
    parser.add_argument("--onnx", type=Path, required=True, metavar="OUT.onnx", help="where to write the graph")
    parser.add_argument("--opset", type=int, default=None,
                        help=f"ONNX opset of the graph (default {DEFAULT_OPSET})")
    parser.set_defaults(func=cmd_export, check=None, subparser=parser)
    return parser


def _fail(message: str) -> int:
    print(f"fastmlp export: error: {message}", file=sys.stderr, flush=True)
    return 2


def cmd_export(args) -> int:
    """``fastmlp export MODEL.npz --onnx OUT.onnx``."""
    from .model import MLP
    from .onnx_export import require_onnx

    if not args.model.is_file():
        return _fail(f"model file {str(args.model)!r} does not exist")
    try:
        require_onnx()
    except ImportError as exc:
        return _fail(str(exc))
    try:
        model = MLP.load(args.model, backend="numpy")  # export reads weights only: no C++ core needed
    except (OSError, ValueError) as exc:
        return _fail(f"cannot read model {str(args.model)!r}: {exc}")
    try:
        model.to_onnx(args.onnx, opset=args.opset)
    except (OSError, ValueError) as exc:
        return _fail(f"cannot write {str(args.onnx)!r}: {exc}" if isinstance(exc, OSError) else str(exc))
    print(f"wrote {args.onnx} (ONNX, {model.layer_sizes}, loss {model.loss}, {model.dtype.name})")
    return 0
