"""Regenerates the figures the README shows (docs/images/): python tools/make_readme_figures.py"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import fastmlp as fm  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "images"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    X, y = fm.datasets.moons(n_samples=400, noise=0.15, seed=0)
    Xtr, Xte, ytr, yte = fm.datasets.train_test_split(X, y, test_size=0.25, seed=0)
    model = fm.MLP([2, 32, 32, 2], activation="tanh", seed=0)
    history = model.fit(Xtr, ytr, epochs=60, batch_size=16, optimizer=fm.optim.Adam(lr=3e-3),
                        validation_data=(Xte, yte))
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    fm.plot.loss_curve(history, ax=axes[0])
    fm.plot.metric_curve(history, ax=axes[1])
    fm.plot.decision_boundary(model, Xtr, ytr, ax=axes[2])
    fig.tight_layout()
    fig.savefig(OUT / "moons.png", dpi=80)
    print(f"wrote {OUT / 'moons.png'}")


if __name__ == "__main__":
    main()
