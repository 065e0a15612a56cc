"""``fastmlp train --save``: a path that cannot be written fails before training, as --plot does."""

from __future__ import annotations

import os

import pytest

import fastmlp
from fastmlp.cli import main


def _train(capsys, path, monkeypatch):
    trained = []
    real_fit = fastmlp.MLP.fit
    monkeypatch.setattr(fastmlp.MLP, "fit", lambda self, *a, **k: trained.append(1) or real_fit(self, *a, **k))
    code = main(["train", "--dataset", "xor", "--epochs", "1", "--backend", "numpy", "--quiet", "--save", str(path)])
    captured = capsys.readouterr()
    return code, captured.err, trained


@pytest.mark.parametrize("name, message", [
    ("missing/model.npz", "does not exist"),
    ("model.pkl", "must end in .npz"),
])
def test_bad_save_path_fails_before_training(tmp_path, capsys, monkeypatch, name, message):
    code, err, trained = _train(capsys, tmp_path / name, monkeypatch)
    assert code == 1 and "--save" in err and message in err
    assert not trained  # checked first: no training thrown away


def test_save_path_that_is_a_directory_names_a_file_instead(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "out.npz"
    folder.mkdir()
    code, err, trained = _train(capsys, folder, monkeypatch)
    assert code == 1 and "is a folder" in err and not trained


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_directory_fails_before_training(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        code, err, trained = _train(capsys, folder / "m.npz", monkeypatch)
    finally:
        folder.chmod(0o700)
    assert code == 1 and "not writable" in err and not trained


def test_good_save_path_still_saves(tmp_path, capsys, monkeypatch):
    code, err, trained = _train(capsys, tmp_path / "m.npz", monkeypatch)
    assert code == 0 and trained and (tmp_path / "m.npz").is_file()
