"""Loss functions by name and the output link each one fuses.

poisson's link, exp, is no hidden-layer activation: the model applies it in `predict`.

cross_entropy is fused with softmax and binary_cross_entropy with sigmoid: the network's last
layer produces raw scores (logits) and the loss applies the link, which is both faster and
numerically stable (no log of a rounded-to-zero probability).
"""

from __future__ import annotations

from . import names

NAMES = names.LOSSES
ALIASES = dict(names.LOSS_ALIASES)
OUTPUT_LINK = {
    "mse": "identity",
    "mae": "identity",
    "huber": "identity",
    "cross_entropy": "softmax",
    "binary_cross_entropy": "sigmoid",
    "poisson": "exp",  # the output is the log of the predicted rate; predict returns exp(output)
}
CLASSIFICATION = ("cross_entropy", "binary_cross_entropy")


def canonical(name: str) -> str:
    """The canonical loss name ('squared_error' -> 'mse')."""
    return names.loss_name(name)


def output_link(name: str) -> str:
    """The activation that turns the last layer's scores into predictions for this loss."""
    return OUTPUT_LINK[canonical(name)]


def is_classification(name: str) -> bool:
    return canonical(name) in CLASSIFICATION
