"""``fastmlp train``: load a data set, build an MLP, train it with progress, report the score.

Every data set has its own default hyperparameters (`DEFAULTS`); options override them.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._renamed import warn_renamed


class CLIError(Exception):
    """A runtime problem reported as one line on stderr with exit code 1."""


@dataclass(frozen=True)
class Defaults:
    """Hyperparameters `fastmlp train` uses for a data set unless an option overrides them."""

    layers: tuple
    epochs: int
    batch_size: int
    lr: float  # for adam / adamw; sgd and rmsprop default to their own rates
    n_samples: int = 0  # generated data sets only


DEFAULTS = {
    "mnist-small": Defaults((256, 128), 5, 64, 1e-3),
    "mnist": Defaults((256, 128), 5, 64, 1e-3),
    "fashion-mnist": Defaults((256, 128), 5, 64, 1e-3),
    "xor": Defaults((8, 8), 100, 16, 1e-2, 200),
    "moons": Defaults((32, 32), 100, 32, 1e-2, 500),
    "circles": Defaults((32, 32), 100, 32, 1e-2, 500),
    "spirals": Defaults((64, 64), 300, 32, 1e-2, 600),
    "house-prices": Defaults((64, 32), 200, 32, 1e-3, 1000),
}

# Rows of the training data held out to validate on during training: the test set is touched
# once, after training, so the reported test score was never used to choose or stop anything.
VALIDATION_SPLIT = 0.1

# Default learning rates of the optimizers themselves (PyTorch's), used for sgd / rmsprop.
OPTIMIZER_LR = {"sgd": 0.01, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 0.01}


# --- train ----------------------------------------------------------------------------------


def check_train_args(args) -> str | None:
    """A usage error message for options that do not go together, or None; the deprecated
    --alpha becomes --l2 here (with its FutureWarning)."""
    real = args.dataset in ("mnist-small", "mnist", "fashion-mnist")
    if args.momentum is not None and args.optimizer not in ("sgd", "rmsprop"):
        return f"--momentum applies to --optimizer sgd or rmsprop, not {args.optimizer}"
    if args.n_samples is not None and real:
        return f"--n-samples applies to generated data sets, not {args.dataset}"
    if (args.data_dir is not None or args.download) and args.dataset not in ("mnist", "fashion-mnist"):
        opt = "--data-dir" if args.data_dir is not None else "--download"
        return f"{opt} applies to --dataset mnist or fashion-mnist, not {args.dataset}"
    if getattr(args, "plot", None) is not None and args.epochs == 0:
        return "--plot draws one point per epoch: it needs --epochs >= 1"
    if getattr(args, "alpha", None) is not None:
        if args.l2 is not None:
            return "give --l2 or its old name --alpha, not both"
        warn_renamed("--alpha", "--l2", stacklevel=2)
        args.l2 = args.alpha
    if args.n_samples is not None:
        minimum = 5
        if args.n_samples < minimum:
            return f"--n-samples must be at least {minimum}, got {args.n_samples}"
    return None


def _load_dataset(args, say):
    """(X_train, y_train, X_test, y_test, description) for ``args.dataset``."""
    from . import datasets as ds

    name = args.dataset
    if name == "mnist-small":
        try:
            Xtr, ytr, Xte, yte = ds.load_mnist_small(dtype=args.dtype)
        except (OSError, ValueError) as exc:
            raise CLIError(str(exc)) from None
        return Xtr, ytr, Xte, yte, "MNIST subset shipped in the package"
    if name in ("mnist", "fashion-mnist"):
        directory = args.data_dir
        if directory is None:
            cached = ds.default_cache_dir() / name
            if args.download:
                say(f"downloading {name} into {cached} (if not cached) ...")
                try:
                    directory = ds.download_mnist(name)
                except (ConnectionError, OSError) as exc:
                    raise CLIError(str(exc)) from None
            elif all(any((cached / (stem + ext)).is_file() for ext in ("", ".gz"))
                     for stem in ds.MNIST_FILES.values()):
                directory = cached
            else:
                raise CLIError(
                    f"--dataset {name} needs --data-dir PATH, a directory with the IDX files "
                    f"({', '.join(s + '[.gz]' for s in ds.MNIST_FILES.values())}), or --download "
                    f"to fetch them into {cached}"
                )
        directory = Path(directory).expanduser()
        if not directory.is_dir():
            raise CLIError(f"data directory {str(directory)!r} does not exist or is not a directory")
        try:
            Xtr, ytr, Xte, yte = ds.load_mnist(directory, dtype=args.dtype)
        except (OSError, ValueError) as exc:
            raise CLIError(str(exc)) from None
        return Xtr, ytr, Xte, yte, f"{'MNIST' if name == 'mnist' else 'Fashion-MNIST'} from {directory}"

    n = args.n_samples or DEFAULTS[name].n_samples
    make = {"xor": ds.xor, "moons": ds.moons, "circles": ds.circles, "spirals": ds.spirals,
            "house-prices": ds.house_prices}[name]
    X, y = make(n_samples=n, seed=args.seed)
    Xtr, Xte, ytr, yte = ds.train_test_split(X, y, test_size=0.2, seed=args.seed)
    return Xtr, ytr, Xte, yte, f"generated, {n} samples, seed {args.seed}"


def _choose_backend(requested, say):
    from .backends import available_backends, get_backend

    if requested is not None:
        try:
            get_backend(requested)
        except ImportError as exc:
            raise CLIError(f"{exc}; available: {', '.join(available_backends()) or 'none'}") from None
        return requested
    try:
        get_backend("cpp")
        return "cpp"
    except ImportError as exc:
        available = available_backends()
        if not available:
            raise CLIError("no backend is available") from None
        say(f"note: the C++ backend is not available ({exc}); using {available[0]!r}")
        return available[0]


def _make_optimizer(args, default_lr):
    from . import optim

    lr = args.lr if args.lr is not None else (
        default_lr if args.optimizer in ("adam", "adamw") else OPTIMIZER_LR[args.optimizer])
    kwargs = {"lr": lr}
    if args.momentum is not None:
        kwargs["momentum"] = args.momentum
    if args.weight_decay is not None:
        kwargs["weight_decay"] = args.weight_decay
    if getattr(args, "clip_norm", None) is not None:
        kwargs["clip_norm"] = args.clip_norm
    cls = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop}[args.optimizer]
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise CLIError(f"bad optimizer settings: {exc}") from None


def _check_plot_target(path):
    """Fail before training, not after it, when --plot cannot be written: no matplotlib, an
    unknown image format, or a missing directory."""
    try:
        from .plot import _mpl

        canvas = _mpl.detached_figure(figsize=(1, 1)).canvas
    except ImportError as exc:
        raise CLIError(f"--plot: {exc}") from None
    suffix = path.suffix.lstrip(".").lower()
    formats = canvas.get_supported_filetypes()
    if suffix not in formats:
        raise CLIError(f"--plot: cannot write {str(path)!r}: the file name must end in one of "
                       f"{', '.join('.' + f for f in sorted(formats))}")
    parent = path.expanduser().parent
    if not parent.is_dir():
        raise CLIError(f"--plot: directory {str(parent)!r} does not exist")


def _write_plot(history, path):
    from .plot import save_history

    try:
        save_history(history, path.expanduser())
    except (OSError, ValueError) as exc:
        raise CLIError(f"--plot: cannot write {str(path)!r}: {exc}") from None


def cmd_train(args) -> int:
    """``fastmlp train``: load data, build the MLP, fit with progress, report metric and time."""
    import fastmlp as fm

    quiet = args.quiet

    def say(msg):
        if not quiet:
            print(msg, flush=True)

    def note(msg):  # notes go to stderr, so they show even with --quiet but stay out of results
        print(msg, file=sys.stderr, flush=True)

    t_start = time.perf_counter()
    plot_path = getattr(args, "plot", None)
    if plot_path is not None:
        _check_plot_target(plot_path)
    if args.save is not None:  # a bad --save fails now, not after the training it would lose
        from ._atomic import check_target

        try:
            check_target(Path(args.save).expanduser(), ".npz", "--save")
        except (OSError, ValueError) as exc:
            raise CLIError(str(exc)) from None
    d = DEFAULTS[args.dataset]
    Xtr, ytr, Xte, yte, source = _load_dataset(args, say)
    if Xte.shape[1:] != Xtr.shape[1:]:
        raise CLIError(f"the test data has {Xte.shape[1]} features per row, the training data "
                       f"{Xtr.shape[1]} (test images of another size?)")
    backend = _choose_backend(args.backend, note)
    if args.threads is not None:
        if "cpp" in fm.available_backends():
            try:
                fm.set_num_threads(args.threads)
            except (ValueError, RuntimeError) as exc:  # RuntimeError: the OS refused the threads
                raise CLIError(f"--threads {args.threads}: {exc}") from None
        if backend == "numba":
            try:
                import numba

                numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
            except (ImportError, ValueError):
                pass
        if backend == "numpy":
            note("note: --threads sets the C++ core's threads; the numpy backend uses NumPy's BLAS threads")
    regression = args.dataset == "house-prices"
    if regression:
        from .datasets import standardize

        Xtr, Xte = standardize(Xtr, Xte)
        ytr_s, _, y_mean, y_std = standardize(ytr, None, return_stats=True)
        fit_y, n_out, loss = ytr_s, 1, "mse"
    else:
        n_out = int(max(ytr.max(), yte.max())) + 1
        fit_y, loss = ytr, "cross_entropy"
    hidden = d.layers if args.layers is None else args.layers
    sizes = [Xtr.shape[1], *hidden, n_out]
    epochs = d.epochs if args.epochs is None else args.epochs
    batch_size = d.batch_size if args.batch_size is None else args.batch_size
    opt = _make_optimizer(args, d.lr)
    try:
        model = fm.MLP(sizes, activation=args.activation, loss=loss, dtype=args.dtype,
                       backend=backend, seed=args.seed, dropout=getattr(args, "dropout", 0.0),
                       l2=getattr(args, "l2", None) or 0.0)
    except (TypeError, ValueError, ImportError) as exc:
        raise CLIError(f"cannot build the model: {exc}") from None
    except MemoryError as exc:
        n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        raise CLIError(f"cannot build the model: {n_params:,} parameters do not fit in memory "
                       f"({exc})") from None

    threads = ""
    if backend == "cpp":
        try:
            n_threads = fm.get_num_threads()
            threads = f", {n_threads} thread{'' if n_threads == 1 else 's'}"
        except Exception:  # noqa: BLE001 - a report line must not fail the run
            threads = ""
    kind = "regression" if regression else f"{n_out} classes"
    n_val = int(np.ceil(VALIDATION_SPLIT * len(Xtr)))
    say(f"data:  {args.dataset} ({source}): {len(Xtr) - n_val} train + {n_val} validation (held out of "
        f"the {len(Xtr)} training rows), {len(Xte)} test (scored once, after training), "
        f"{Xtr.shape[1]} features, {kind}")
    say(f"model: {'-'.join(map(str, sizes))} {args.activation}, loss {loss}, {args.dtype}, "
        f"backend {backend}{threads}, seed {args.seed}"
        + (f", dropout {args.dropout:g}" if getattr(args, "dropout", 0.0) else "")
        + (f", l2 {args.l2:g}" if getattr(args, "l2", None) else ""))
    say(f"train: {opt!r}, batch {batch_size}, {epochs} epochs")

    t_fit = time.perf_counter()
    try:
        history = model.fit(Xtr, fit_y, epochs=epochs, batch_size=batch_size, optimizer=opt,
                            validation_split=VALIDATION_SPLIT, shuffle=True, verbose=0 if quiet else 1)
    except FloatingPointError as exc:
        raise CLIError(f"training diverged ({exc}); try a smaller --lr or --clip-norm") from None
    except (TypeError, ValueError) as exc:  # an option the model refuses: one line, no traceback
        raise CLIError(f"cannot train: {exc}") from None
    except MemoryError as exc:
        raise CLIError(f"out of memory while training: {exc}; try a smaller --batch-size or "
                       f"--layers") from None
    fit_seconds = time.perf_counter() - t_fit

    if regression:
        pred = model.predict(Xte).astype(np.float64) * y_std + y_mean
        rmse = float(np.sqrt(np.mean((pred - yte) ** 2)))
        r2 = float(1.0 - np.sum((pred - yte) ** 2) / np.sum((yte - yte.mean()) ** 2))
        result = f"test RMSE {rmse:.2f} (thousands; price std {yte.std():.2f}), R^2 {r2:.4f}"
    else:
        acc = model.evaluate(Xte, yte)["accuracy"]
        result = f"test accuracy {acc:.4f} ({int(round(acc * len(yte)))}/{len(yte)})"
    per_epoch = ""
    if epochs:
        sec = fit_seconds / epochs
        per_epoch = f", {sec:.2f} s/epoch" if sec >= 0.1 else f", {1e3 * sec:.1f} ms/epoch"
    print(result, flush=True)
    print(f"wall time: training {fit_seconds:.2f} s{per_epoch}; total {time.perf_counter() - t_start:.2f} s",
          flush=True)
    if history.loss and not quiet:
        say(f"final train loss {history.loss[-1]:.4f}")

    if args.save is not None:
        try:
            model.save(args.save)
        except (OSError, ValueError) as exc:
            raise CLIError(f"cannot save the model to {str(args.save)!r}: {exc}") from None
        print(f"saved model to {args.save}", flush=True)
    if plot_path is not None and history.loss:
        _write_plot(history, plot_path)
        print(f"saved plot to {plot_path}", flush=True)
    return 0


