"""fit's keywords made ready for the epoch loop: validation_split's held-out rows, the other
keywords checked in the order fit has always checked them (so the same argument is named when
several are wrong), and a new optimizer's fresh state. `MLP.fit` calls these, then
`train.run_epochs`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import checks as check
from . import model_inputs
from . import optim as _optim
from . import weighting as _weighting
from .backends.network import OptimizerConfig
from .callbacks import resolve as resolve_callbacks

VALIDATION_STREAM = 0x5EED_7A11  # seeds validation_split's draw apart from init and shuffling


@dataclass(frozen=True)
class FitSettings:
    """fit's keywords, checked: what `MLP.fit` hands the optimizer, the network and run_epochs."""

    epochs: int
    batch_size: int
    verbose: int
    validation_data: tuple | None
    sample_weight: np.ndarray | None  # float64 here; fit hands run_epochs the model's dtype
    class_weight: np.ndarray | None
    row_weights: np.ndarray | None
    callbacks: list
    schedule: object | None  # a fastmlp.optim schedule, not yet resolved to this fit's length


def split_validation(seed, X, y, sample_weight, fraction):
    """(X_train, y_train, sample_weight_train, (X_val, y_val)): ``fraction`` of the rows held
    out at random, drawn from ``seed`` so every fit of a model holds out the same rows."""
    fraction = check.number(fraction, "validation_split", low=0.0, high=1.0, low_open=True, high_open=True)
    n = len(X)
    n_val = int(np.ceil(fraction * n))
    if not 1 <= n_val <= n - 1:
        raise ValueError(f"validation_split={fraction:g} of {n} rows leaves {n - n_val} to train on "
                         f"and {n_val} to validate; each needs at least 1")
    order = np.random.default_rng([seed, VALIDATION_STREAM]).permutation(n)
    val, train = np.sort(order[:n_val]), np.sort(order[n_val:])
    sample_weight = _weighting.check_sample_weight(sample_weight, n)
    if sample_weight is not None:
        sample_weight = sample_weight[train]
    return X[train], y[train], sample_weight, (X[val], y[val])


def settings(model, X, y, *, epochs, batch_size, verbose, validation_data, sample_weight, class_weight,
             callbacks, early_stopping, schedule) -> FitSettings:
    """fit's keywords checked against the model and its checked training data (X, y)."""
    epochs = check.integer(epochs, "epochs", low=0)
    # a batch larger than the data is the whole data (and may exceed what C++ can count)
    batch_size = min(check.integer(batch_size, "batch_size", low=1, high=None), len(X))
    if verbose not in (0, 1, 2, True, False):
        raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (X_val, y_val)")
        validation_data = model_inputs.check_xy(model, *validation_data, "X_val", "y_val")
    sample_weight = _weighting.check_sample_weight(sample_weight, len(X))
    class_weight = _weighting.resolve_class_weight(class_weight, y, model.layer_sizes[-1], model.loss)
    row_weights = _weighting.fit_row_weights(sample_weight, class_weight, y)
    return FitSettings(epochs=epochs, batch_size=batch_size, verbose=int(verbose), validation_data=validation_data,
                       sample_weight=sample_weight, class_weight=class_weight, row_weights=row_weights,
                       callbacks=resolve_callbacks(callbacks, early_stopping),
                       schedule=None if schedule is None else _optim.get_schedule(schedule))


def fresh_optimizer(net, optimizer):
    """The `fastmlp.optim` optimizer ``optimizer`` names (None: Adam), installed in ``net`` with
    zeroed slots and step 0; returned for the model to keep."""
    optimizer = _optim.get_optimizer("adam" if optimizer is None else optimizer)
    net.start_optimizer(OptimizerConfig(**vars(optimizer.config)))
    return optimizer
