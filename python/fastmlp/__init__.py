"""fastmlp: fast dense neural networks (multilayer perceptrons) on the CPU."""

__version__ = "0.1.0"
