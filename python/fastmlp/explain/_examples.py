"""The two networks a learner can explain without bringing a model: XOR and house prices.

XOR is the classic problem a single layer cannot solve: 2 inputs, 2 sigmoid hidden units and one
sigmoid output trained with binary cross-entropy, the network of most backpropagation tutorials,
on the four rows of the truth table. House prices is a small regression: 3 of the synthetic
house features (area, age, distance to the centre) through 2 tanh hidden units to one linear
output trained with mean squared error, on 4 houses. Both are seeded, so the same seed shows the
same numbers on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EXAMPLES = ("xor", "house")

# House features a learner can reason about ("bigger, newer, closer costs more"), by name.
HOUSE_COLUMNS = ("area_m2", "age_years", "distance_km")
HOUSE_POOL = 200  # houses whose mean and standard deviation scale the inputs and the price
HOUSE_BATCH = 4  # houses in the explained step: few enough to follow every row


@dataclass
class Example:
    """A network and one batch, ready to explain."""

    name: str
    title: str  # what the batch is, for the first paragraph
    layer_sizes: list
    hidden_activation: str
    loss: str
    x: np.ndarray  # (batch, n_in) float64
    y: np.ndarray  # targets as the loss takes them
    feature_names: list = field(default_factory=list)
    target_name: str = ""
    data_note: str = ""  # how the inputs were prepared (scaling), or ""


def load(name: str, seed: int) -> Example:
    """The example called ``name`` ("xor" or "house"), drawn with ``seed``."""
    return _xor() if name == "xor" else _house(seed)


def _xor() -> Example:
    from ..datasets import xor

    x, labels = xor(n_samples=4)  # n_samples=4 is the exact truth table, in order, no noise
    return Example(
        name="xor", title="the XOR truth table (4 rows, one batch)",
        layer_sizes=[2, 2, 1], hidden_activation="sigmoid", loss="binary_cross_entropy",
        x=np.ascontiguousarray(x, dtype=np.float64),
        y=np.ascontiguousarray(labels.reshape(-1, 1), dtype=np.float64),
        feature_names=["x_a", "x_b"], target_name="x_a XOR x_b",
    )


def _house(seed: int) -> Example:
    from ..datasets import HOUSE_FEATURES, house_prices

    X, price = house_prices(n_samples=HOUSE_POOL, seed=seed)
    columns = [HOUSE_FEATURES.index(c) for c in HOUSE_COLUMNS]
    X = X[:, columns]
    # scale to mean 0, standard deviation 1: raw areas (~100) and ages (~30) would saturate tanh
    x = (X - X.mean(axis=0)) / X.std(axis=0)
    y = (price - price.mean()) / price.std()
    return Example(
        name="house", title=f"house prices ({HOUSE_BATCH} houses, one batch)",
        layer_sizes=[3, 2, 1], hidden_activation="tanh", loss="mse",
        x=np.ascontiguousarray(x[:HOUSE_BATCH]),
        y=np.ascontiguousarray(y[:HOUSE_BATCH].reshape(-1, 1)),
        feature_names=list(HOUSE_COLUMNS), target_name="price",
        data_note=(f"Inputs and price are scaled to mean 0 and standard deviation 1 over "
                   f"{HOUSE_POOL} synthetic houses (fm.datasets.house_prices(seed={seed})); "
                   f"the first {HOUSE_BATCH} form the batch."),
    )
