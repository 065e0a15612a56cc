"""fastmlp: fast dense neural networks (multilayer perceptrons) on the CPU.

    import fastmlp as fm
    X, y, X_test, y_test = fm.datasets.load_mnist_small()
    model = fm.MLP([784, 256, 128, 10], activation="relu", loss="cross_entropy")
    model.fit(X, y, epochs=5, batch_size=64, optimizer=fm.optim.Adam(lr=1e-3), verbose=1)
    model.evaluate(X_test, y_test)
"""

from . import callbacks, convert, datasets, optim, plot  # plot imports matplotlib lazily
from ._version import __version__
from .backends import available_backends, get_backend
from .explain import explain
from .gradcheck import gradcheck
from .lr_find import lr_find
from .model import MLP
from .runtime import get_num_threads, info, set_num_threads
from .train import History

from_sklearn = MLP.from_sklearn  # the conversion users reach for first, at the top level

__all__ = [
    "MLP",
    "History",
    "explain",
    "from_sklearn",
    "convert",
    "gradcheck",
    "lr_find",
    "optim",
    "callbacks",
    "datasets",
    "plot",
    "available_backends",
    "get_backend",
    "set_num_threads",
    "get_num_threads",
    "info",
    "__version__",
]
