"""fastmlp: fast dense neural networks (multilayer perceptrons) on the CPU.

    import fastmlp as fm
    X, y, X_test, y_test = fm.datasets.load_mnist_small()
    model = fm.MLP([784, 256, 128, 10], activation="relu", loss="cross_entropy")
    model.fit(X, y, epochs=5, batch_size=64, optimizer=fm.optim.Adam(lr=1e-3), verbose=1)
    model.evaluate(X_test, y_test)
"""

__version__ = "0.1.0"

from . import callbacks, convert, datasets, optim, plot  # noqa: E402  (plot imports matplotlib lazily)
from .backends import available_backends, get_backend  # noqa: E402
from .convert import from_sklearn  # noqa: E402
from .explain import explain  # noqa: E402
from .gradcheck import gradcheck  # noqa: E402
from .lr_find import lr_find  # noqa: E402
from .model import MLP  # noqa: E402
from .runtime import get_num_threads, info, set_num_threads  # noqa: E402
from .train import History  # noqa: E402

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
