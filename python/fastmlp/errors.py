"""Exceptions every backend raises alike, so callers read fields, never messages."""

from __future__ import annotations


class NonFiniteLossError(FloatingPointError):
    """A batch's loss was NaN or infinite; training stopped before that batch's update, so the
    weights stay finite. ``batch`` counts batches from the start of the epoch (0-based), and
    ``first_row`` .. ``last_row`` are that batch's positions in the epoch's row order.
    ``epoch`` is set when `fit` raises it: that epoch's updates were rolled back."""

    def __init__(self, loss: float, batch: int, first_row: int, last_row: int,
                 epoch: int | None = None):
        self.loss, self.batch = float(loss), int(batch)
        self.first_row, self.last_row = int(first_row), int(last_row)
        self.epoch = epoch
        message = (f"loss is {self.loss} at batch {self.batch} of the epoch (rows {self.first_row} "
                   f"to {self.last_row} of order); the weights were not updated with it")
        if epoch is not None:
            message = (f"epoch {epoch} of this fit (0-based): {message}; the weights and optimizer "
                       "state are rolled back to the start of this epoch")
        super().__init__(message)

    def __reduce__(self):  # pickles (multiprocessing) rebuild it from the fields
        return type(self), (self.loss, self.batch, self.first_row, self.last_row, self.epoch)

    def shifted(self, batches_before: int, rows_before: int) -> NonFiniteLossError:
        """The same error numbered from further back: an epoch run as several calls adds the
        batches and rows of the calls before this one."""
        return NonFiniteLossError(self.loss, batches_before + self.batch,
                                  rows_before + self.first_row, rows_before + self.last_row,
                                  self.epoch)

    def in_epoch(self, epoch: int) -> NonFiniteLossError:
        """The same error as `fit` raises it, after rolling epoch ``epoch`` back."""
        return NonFiniteLossError(self.loss, self.batch, self.first_row, self.last_row, epoch)
