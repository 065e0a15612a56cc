"""Data sets: the MNIST subset shipped in the package, IDX readers, a checked downloader,
and small seeded generators for learners.

Real images
    load_mnist_small()          the stratified MNIST subset inside the wheel (no download)
    load_mnist(path)            full MNIST or Fashion-MNIST from the standard IDX files
    fetch_mnist(name)           download the four IDX files (SHA-256 checked) into a cache
    read_idx(path)              one IDX file (gzip or raw) as a NumPy array

Toy problems (each seeded: the same seed gives the same arrays)
    xor()  moons()  circles()  spirals()      classification: X float64 (n, 2), y int64
    house_prices()                            regression: X float64 (n, 8), y float64

Helpers
    train_test_split(X, y)      a seeded shuffle and split
    standardize(X_train, X_test)  zero mean, unit variance using the training statistics
"""

from .download import default_cache_dir, download_mnist, fetch_mnist
from .idx import FASHION_MNIST_CLASSES, MNIST_FILES, load_mnist, load_mnist_small, mnist_small_meta, read_idx
from .split import standardize, train_test_split
from .toy import HOUSE_FEATURES, circles, house_prices, moons, spirals, xor

__all__ = [
    "load_mnist_small",
    "mnist_small_meta",
    "load_mnist",
    "fetch_mnist",
    "download_mnist",
    "default_cache_dir",
    "read_idx",
    "xor",
    "moons",
    "circles",
    "spirals",
    "house_prices",
    "HOUSE_FEATURES",
    "MNIST_FILES",
    "FASHION_MNIST_CLASSES",
    "train_test_split",
    "standardize",
]

