"""The training loop: epochs, seeded shuffling, batching, validation, progress, History.

Each epoch hands the backend's `train_epoch` a shuffled row order. With a progress bar the
order is cut into chunks of whole batches (about a tenth of a second of work each), so the
bar moves while the compiled epoch still runs many steps per call; the chunks visit the same
batches in the same order, so the weights are identical with or without the bar.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .errors import NonFiniteLossError
from .fit_guard import EpochRollback, warn_if_rounded_to_zero

CHUNK_SECONDS = 0.1  # target wall time per train_epoch call when a progress bar is shown


@dataclass
class History:
    """Per-epoch records of one `fit`: train loss and metric, validation loss and metric, seconds.

    ``metric`` is accuracy for classification and empty for regression (``val_metric`` then
    holds R^2 on the validation data).
    """

    loss: list = field(default_factory=list)
    metric: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_metric: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    metric_name: str = "accuracy"
    stopped_epoch: int | None = None  # the 0-based epoch after which a callback stopped training

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def as_dict(self) -> dict:
        return {
            "loss": list(self.loss),
            self.metric_name: list(self.metric),
            "val_loss": list(self.val_loss),
            f"val_{self.metric_name}": list(self.val_metric),
            "seconds": list(self.seconds),
        }

    def epoch_logs(self, epoch: int) -> dict:
        """The numbers of one epoch under the keys callbacks and `as_dict` use."""
        return {key: values[epoch] for key, values in self.as_dict().items() if len(values) > epoch}

    def __repr__(self) -> str:
        last = f", last loss {self.loss[-1]:.4g}" if self.loss else ""
        return f"History({self.epochs} epochs{last})"


def run_epochs(model, X, y, *, epochs, batch_size, validation_data, shuffle, verbose, rng,
               callbacks=(), sample_weight=None, row_weights=None):
    """Train ``model`` for ``epochs`` passes over (X, y), or until a callback says stop;
    returns a History. ``sample_weight`` goes to the backend's train_epoch; ``row_weights``
    (float64, each row's total weight, or None) weighs the progress bar's running loss."""
    history = History(metric_name=model.metric_name)
    n = len(X)
    warn_if_rounded_to_zero(model.network, model.dtype)
    for cb in callbacks:
        getattr(cb, "on_train_begin", lambda model: None)(model)
    try:
        for epoch in range(epochs):
            start = time.perf_counter()
            order = rng.permutation(n) if shuffle else np.arange(n)
            rollback = EpochRollback(model.network)  # the last finite state, restored on failure
            try:
                loss, n_correct = _one_epoch(model, X, y, order, batch_size, verbose, epoch, epochs,
                                             sample_weight, row_weights)
            except NonFiniteLossError as exc:  # the backend names the batch
                rollback.restore()
                raise exc.in_epoch(epoch) from None
            except (FloatingPointError, ZeroDivisionError) as exc:
                rollback.restore()  # ZeroDivisionError: Numba's 0/0 where C++ and NumPy give NaN
                what = exc if isinstance(exc, FloatingPointError) else f"an update divided by zero ({exc})"
                raise FloatingPointError(f"epoch {epoch} of this fit (0-based): {what}; the weights "
                                         f"and optimizer state are rolled back to the start of "
                                         f"this epoch") from None
            except MemoryError as exc:  # the backends' batch workspaces: say how big they are
                rollback.restore()
                raise MemoryError(f"training with batch_size={batch_size} needs about "
                                  f"{_workspace_bytes(model, min(batch_size, n)):,} bytes of "
                                  f"workspace, which could not be allocated ({exc}); use a smaller "
                                  f"batch_size") from None
            rollback.check(epoch)
            history.loss.append(loss)
            if model.is_classifier:
                history.metric.append(n_correct / n)
            if validation_data is not None:
                scores = model.evaluate(*validation_data)
                history.val_loss.append(scores["loss"])
                history.val_metric.append(scores[model.metric_name])
            history.seconds.append(time.perf_counter() - start)
            if verbose == 2:
                print(_epoch_line(history, epoch, epochs), flush=True)
            elif verbose == 1 and validation_data is not None:  # the bar showed the training side
                print(f"  val_loss {history.val_loss[-1]:.4f}  "
                      f"val_{history.metric_name} {history.val_metric[-1]:.4f}", flush=True)
            logs = history.epoch_logs(epoch)
            # every callback sees the epoch, even when an earlier one already asked to stop
            stops = [bool(cb.on_epoch_end(epoch, logs, model)) for cb in callbacks]
            if any(stops):
                history.stopped_epoch = epoch
                if verbose:
                    print(f"stopped after epoch {epoch + 1}", flush=True)
                break
    finally:
        for cb in callbacks:
            getattr(cb, "on_train_end", lambda model: None)(model)
    return history


def _workspace_bytes(model, rows: int) -> int:
    """A batch's activations, pre-activations and their gradients, plus one gradient per parameter."""
    sizes = model.layer_sizes
    return (rows * (sizes[0] + 4 * sum(sizes[1:])) + model.n_params) * model.dtype.itemsize


def _one_epoch(model, X, y, order, batch_size, verbose, epoch, epochs, sample_weight=None,
               row_weights=None):
    backend, net = model.backend, model.network
    if verbose != 1:
        return backend.train_epoch(net, X, y, order, batch_size, sample_weight)
    from tqdm.auto import tqdm

    n_steps = -(-len(order) // batch_size)
    loss_sum, weight_sum, n_correct, done = 0.0, 0.0, 0, 0
    steps_per_chunk = 1
    with tqdm(total=n_steps, desc=f"epoch {epoch + 1}/{epochs}", unit="step", leave=True) as bar:
        while done < n_steps:
            rows = order[done * batch_size:(done + steps_per_chunk) * batch_size]
            tic = time.perf_counter()
            try:
                loss, correct = backend.train_epoch(net, X, y, rows, batch_size, sample_weight)
            except NonFiniteLossError as exc:  # numbered within this chunk: renumber from the epoch's start
                raise exc.shifted(done, done * batch_size) from None
            elapsed = time.perf_counter() - tic
            # each chunk's mean is weighted by the chunk's total weight, as train_epoch weighs batches
            chunk_weight = len(rows) if row_weights is None else float(row_weights[rows].sum())
            loss_sum += loss * chunk_weight
            weight_sum += chunk_weight
            n_correct += correct
            taken = -(-len(rows) // batch_size)
            done += taken
            bar.update(taken)
            rows_done = min(done * batch_size, len(order))
            metric = {model.metric_name: f"{n_correct / rows_done:.4f}"} if model.is_classifier else {}
            bar.set_postfix(loss=f"{loss_sum / weight_sum:.4f}", **metric,
                            ms_per_step=f"{1e3 * elapsed / taken:.3f}", refresh=False)
            # grow or shrink the chunk toward CHUNK_SECONDS of work per call
            per_step = max(elapsed / taken, 1e-7)
            steps_per_chunk = max(1, min(n_steps, int(CHUNK_SECONDS / per_step)))
    return loss_sum / weight_sum, n_correct


def _epoch_line(history, epoch, epochs) -> str:
    parts = [f"epoch {epoch + 1}/{epochs}", f"loss {history.loss[-1]:.4f}"]
    if history.metric:
        parts.append(f"{history.metric_name} {history.metric[-1]:.4f}")
    if history.val_loss:
        parts.append(f"val_loss {history.val_loss[-1]:.4f}")
        parts.append(f"val_{history.metric_name} {history.val_metric[-1]:.4f}")
    parts.append(f"{history.seconds[-1]:.2f}s")
    return "  ".join(parts)
