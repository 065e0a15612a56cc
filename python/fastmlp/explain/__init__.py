"""Explain one training step of a small network, every number named (``fm.explain``).

    import fastmlp as fm
    print(fm.explain())                      # XOR on a 2-2-1 network, as terminal text
    fm.explain(example="house").to_markdown()
    fm.explain(model, x[:2], y[:2], lr=0.1).as_dict()

Files: _api (explain itself), _examples (the XOR and house networks), _trace (one step by one
backend's kernels), _lr_sweep (rates named by what a short run at each does), _compare (backends
against the NumPy oracle), _explanation (the result object), _document (what is said, in the
learner's order), _format (numbers), and one renderer per format: _text, _markdown, _html, _json.
"""

from ._api import explain
from ._explanation import Explanation

__all__ = ["explain", "Explanation"]
