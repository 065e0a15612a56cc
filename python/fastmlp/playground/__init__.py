"""The playground: a local web page that trains a small network with the real engine and opens
any step as `fastmlp.explain` computes it. Start it with ``fastmlp playground``."""

from .server import make_server

__all__ = ["make_server"]
