"""fit(validation_split=...): validation rows held out of the training data, never trained on,
the same rows on every fit; the CLI validates on them and scores the test set once."""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.cli import main


def _data(n=200):
    X, y = fm.datasets.moons(n_samples=n, seed=0)
    return X.astype(np.float32), y


def test_split_holds_out_the_fraction_and_trains_on_the_rest(monkeypatch):
    X, y = _data()
    model = fm.MLP([2, 8, 2], backend="numpy", seed=3)
    seen = {}
    real = model._split_validation

    def spy(*args):
        out = real(*args)
        seen["train"], seen["val"] = out[0], out[3][0]
        return out

    monkeypatch.setattr(model, "_split_validation", spy)
    history = model.fit(X, y, epochs=2, validation_split=0.25)
    assert len(seen["val"]) == 50 and len(seen["train"]) == 150
    rows = {tuple(r) for r in X}
    train, val = {tuple(r) for r in seen["train"]}, {tuple(r) for r in seen["val"]}
    assert train | val == rows and not (train & val)  # a partition of X: no row in both
    assert len(history.val_loss) == 2
    # the validation loss is the model's loss on exactly those held-out rows
    assert history.val_loss[-1] == pytest.approx(model.evaluate(seen["val"], y[[i for i, r in enumerate(X)
                                                                               if tuple(r) in val]])["loss"])


def test_split_is_the_same_rows_on_every_fit():
    X, y = _data()
    model = fm.MLP([2, 8, 2], backend="numpy", seed=1)
    a = model._split_validation(X, y, None, 0.2)
    b = model._split_validation(X, y, None, 0.2)
    np.testing.assert_array_equal(a[3][0], b[3][0])
    other = fm.MLP([2, 8, 2], backend="numpy", seed=2)._split_validation(X, y, None, 0.2)
    assert not np.array_equal(a[3][0], other[3][0])  # a different seed draws other rows


def test_split_carries_sample_weight_with_its_rows():
    X, y = _data(20)
    w = np.arange(20, dtype=np.float64)
    Xt, yt, wt, (Xv, yv) = fm.MLP([2, 4, 2], backend="numpy")._split_validation(X, y, w, 0.5)
    index = {tuple(r): i for i, r in enumerate(X)}
    assert [w[index[tuple(r)]] for r in Xt] == list(wt)


@pytest.mark.parametrize("kwargs, match", [
    ({"validation_split": 0.0}, "validation_split must be > 0"),
    ({"validation_split": 1.0}, "validation_split must be < 1"),
    ({"validation_split": 0.001}, None),  # rounds up to one row: allowed
    ({"validation_split": "0.1"}, "validation_split must be a real number"),
])
def test_bad_split_names_the_argument(kwargs, match):
    X, y = _data(20)
    model = fm.MLP([2, 4, 2], backend="numpy")
    if match is None:
        model.fit(X, y, epochs=1, **kwargs)
        return
    with pytest.raises((ValueError, TypeError), match=match):
        model.fit(X, y, epochs=1, **kwargs)


def test_split_and_validation_data_exclude_each_other():
    X, y = _data(20)
    with pytest.raises(ValueError, match="validation_split and validation_data exclude each other"):
        fm.MLP([2, 4, 2], backend="numpy").fit(X, y, validation_split=0.2, validation_data=(X, y))
    with pytest.raises(ValueError, match="leaves 0 to train on"):
        fm.MLP([2, 4, 2], backend="numpy").fit(X[:2], y[:2], validation_split=0.9)


def test_cli_validates_on_held_out_rows_and_scores_the_test_set_once(capsys):
    argv = ["train", "--dataset", "moons", "--n-samples", "200", "--epochs", "2", "--backend", "numpy"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "144 train + 16 validation (held out of the 160 training rows), 40 test (scored once, after training)" in out
    assert out.count("val_loss") == 2  # one validation line per epoch
    assert out.count("test accuracy") == 1
