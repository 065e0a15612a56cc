"""The bad-input matrix (docs/bad_inputs.md is the same table in prose).

Every row is one bad input at one entry point -- kernel API, model, optimizers, thread count,
file loader, command line, environment -- with the exception it must raise and a fragment of
the message that names the culprit (the argument, the option, the variable or the file). Each
row runs once per backend (the kernel API of that backend, ``MLP(backend=...)``,
``MLP.load(backend=...)``, ``fastmlp train --backend ...``), so no backend may crash, hang or
return numbers where another raises. Rows whose entry point has no backend (the optimizer
classes, ``set_num_threads``) run once.

`python tests/test_bad_input_matrix.py` prints the markdown table of docs/bad_inputs.md;
`test_docs_table_matches` keeps the two in step.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.backends import Network, OptimizerConfig
from fastmlp.io import FORMAT_VERSION

BACKENDS = fm.available_backends()
DOCS_TABLE = Path(__file__).resolve().parents[1] / "docs" / "bad_inputs.md"
SUBPROCESS_TIMEOUT = 120  # seconds; a CLI usage error answers in well under one


@dataclass
class Case:
    id: str
    where: str            # the entry point, as the docs table names it
    bad_input: str        # what is wrong, in words
    exc: type | tuple     # the exception (or one of these)
    match: str            # regex searched in the message (or in the CLI's stderr)
    call: object          # call(backend_name, tmp_path) -> raises (or returns a CLI result)
    per_backend: bool = True
    xfail: str | None = None  # a known bug, the fix proposed in the hardening report
    cli_exit: int | None = None  # CLI / subprocess rows: the exit status expected


def K(name):
    return fm.get_backend(name)


def f64(shape, fill=0.5, dtype=np.float64):
    return np.full(shape, fill, dtype)


def readonly(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def huge(shape, dtype=np.float32):
    """A legal zero-stride view of an absurd size: a few bytes of memory, exabytes nominally."""
    return np.broadcast_to(np.asarray(1, dtype), shape)


def tiny_net(**opt):
    rng = np.random.default_rng(0)
    w = [rng.standard_normal((4, 5)), rng.standard_normal((5, 3))]
    b = [np.zeros(5), np.zeros(3)]
    return Network(w, b, ["relu", "identity"], "cross_entropy", optimizer=OptimizerConfig(**opt))


def batch(n=6):
    rng = np.random.default_rng(1)
    return rng.standard_normal((n, 4)), rng.integers(0, 3, n)


def model(backend, loss="cross_entropy", n_out=3):
    return fm.MLP([4, 5, n_out], loss=loss, backend=backend, seed=0)


def data(n=6):
    rng = np.random.default_rng(2)
    return rng.standard_normal((n, 4)).astype(np.float32), rng.integers(0, 3, n)


def fit(backend, X=None, y=None, loss="cross_entropy", **kwargs):
    X0, y0 = data()
    m = model(backend, loss)
    m.fit(X0 if X is None else X, y0 if y is None else y, **{"epochs": 1, **kwargs})


def sk_data():
    rng = np.random.default_rng(3)
    return rng.standard_normal((20, 4)), rng.integers(0, 3, 20)


def sk_fit(backend, X=None, y=None, regressor=False, **params):
    sk = pytest.importorskip("fastmlp.sklearn", reason="scikit-learn is not installed")
    X0, y0 = sk_data()
    cls = sk.MLPRegressor if regressor else sk.MLPClassifier
    est = cls(hidden_layer_sizes=(5,), max_iter=1, backend=backend or "cpp", **params)
    est.fit(X0 if X is None else X, y0 if y is None else y)


# --- model files --------------------------------------------------------------------------------

_VALID = {}


def valid_file_bytes() -> bytes:
    """A small trained model (Adam state included) saved once per session."""
    if "bytes" not in _VALID:
        import tempfile

        X, y = data(16)
        m = fm.MLP([4, 5, 3], backend="numpy", seed=0)
        m.fit(X, y, epochs=1, batch_size=8)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.npz")
            m.save(path)
            _VALID["bytes"] = Path(path).read_bytes()
    return _VALID["bytes"]


def write_file(tmp, blob: bytes) -> Path:
    path = tmp / "model.npz"
    path.write_bytes(blob)
    return path


def edited_file(tmp, edit) -> Path:
    """The valid file with ``edit(arrays, meta)`` applied (np.savez: object arrays get pickled)."""
    with np.load(io.BytesIO(valid_file_bytes()), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(str(arrays["meta"]))
    edit(arrays, meta)
    arrays["meta"] = np.array(json.dumps(meta))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return write_file(tmp, buf.getvalue())


def member_replaced(tmp, name: str, content: bytes) -> Path:
    """The valid file with one zip member's bytes replaced (CRCs recomputed, so the zip is fine)."""
    with zipfile.ZipFile(io.BytesIO(valid_file_bytes())) as z:
        files = {n: z.read(n) for n in z.namelist()}
    files[name] = content
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, c in files.items():
            z.writestr(n, c)
    return write_file(tmp, buf.getvalue())


def npy_header_only(shape, descr="<f4") -> bytes:
    """A .npy header that promises ``shape`` followed by almost no data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue() + b"\0" * 16


def load(backend, path):
    return fm.MLP.load(path, backend=backend)


def flipped(blob: bytes) -> bytes:
    mid = len(blob) // 2
    return blob[:mid] + bytes(b ^ 0xFF for b in blob[mid:mid + 64]) + blob[mid + 64:]


def set_key(key, value):
    def edit(arrays, meta):
        meta[key] = value
    return edit


def set_array(key, value):
    def edit(arrays, meta):
        arrays[key] = value
    return edit


# --- command line ---------------------------------------------------------------------------


@dataclass
class CLIResult:
    returncode: int
    stderr: str


def cli(*argv, env=None):
    def run(backend, tmp):
        full_env = {k: v for k, v in os.environ.items() if k != "FASTMLP_ISA"}
        full_env.update(env or {})
        args = [sys.executable, "-m", "fastmlp", *argv]
        if backend is not None:
            args += ["--backend", backend]
        proc = subprocess.run(args, capture_output=True, text=True, env=full_env, cwd=tmp,
                              timeout=SUBPROCESS_TIMEOUT)
        return CLIResult(proc.returncode, proc.stderr)
    return run


def isa_env(code):
    """Run ``code`` in a fresh interpreter with FASTMLP_ISA=avx1024 (the choice is made once per
    process); returns its stderr's last line, where the exception is."""
    def run(backend, tmp):
        env = {**os.environ, "FASTMLP_ISA": "avx1024"}
        proc = subprocess.run([sys.executable, "-c", code.format(backend=backend)], capture_output=True,
                              text=True, env=env, timeout=SUBPROCESS_TIMEOUT)
        return CLIResult(proc.returncode, proc.stderr)
    return run


def restore_threads(call):
    def run(backend, tmp):
        before = fm.get_num_threads()
        try:
            call()
        finally:
            fm.set_num_threads(before)
    return run


# --- the matrix -----------------------------------------------------------------------------

A, B = f64((3, 4)), f64((4, 2))
SQ = f64((4, 4))

CASES = [
    # kernel API: matmul
    Case("matmul-int", "kernel matmul", "a of dtype int64", TypeError, r"^a must have dtype float32 or float64",
         lambda k, t: K(k).matmul(A.astype(np.int64), B)),
    Case("matmul-float16", "kernel matmul", "a of dtype float16", TypeError, r"^a must have dtype",
         lambda k, t: K(k).matmul(A.astype(np.float16), B)),
    Case("matmul-object", "kernel matmul", "b of dtype object", TypeError, r"^b must have dtype",
         lambda k, t: K(k).matmul(A, B.astype(object))),
    Case("matmul-bool", "kernel matmul", "a of dtype bool", TypeError, r"^a must have dtype",
         lambda k, t: K(k).matmul(A > 0, B)),
    Case("matmul-complex", "kernel matmul", "b of dtype complex128", TypeError, r"^b must have dtype",
         lambda k, t: K(k).matmul(A, B.astype(np.complex128))),
    Case("matmul-string", "kernel matmul", "a is an array of strings", TypeError, r"^a must have dtype",
         lambda k, t: K(k).matmul(np.array([["1", "2"]]), B[:2])),
    Case("matmul-list", "kernel matmul", "a is a list, not an ndarray", TypeError, r"^a must be a numpy.ndarray",
         lambda k, t: K(k).matmul([[1.0] * 4] * 3, B)),
    Case("matmul-mixed-dtypes", "kernel matmul", "a float32, b float64", TypeError, r"a=float32, b=float64",
         lambda k, t: K(k).matmul(A.astype(np.float32), B)),
    Case("matmul-ndim", "kernel matmul", "a is 1-D", ValueError, r"^a must be 2-D",
         lambda k, t: K(k).matmul(f64(4), B)),
    Case("matmul-shapes", "kernel matmul", "inner dimensions 4 and 3", ValueError, r"inner dimensions differ",
         lambda k, t: K(k).matmul(A, f64((3, 2)))),
    Case("matmul-out-readonly", "kernel matmul", "out is read-only", ValueError, r"^out must be writable",
         lambda k, t: K(k).matmul(A, B, out=readonly(f64((3, 2))))),
    Case("matmul-out-strided", "kernel matmul", "out is a non-contiguous view", ValueError,
         r"^out must be C-contiguous", lambda k, t: K(k).matmul(A, B, out=f64((3, 4))[:, ::2])),
    Case("matmul-out-aliased", "kernel matmul", "out is the same array as a", ValueError,
         r"^out must not overlap input a", lambda k, t: (lambda s: K(k).matmul(s, SQ, out=s))(SQ.copy())),
    Case("matmul-out-dtype", "kernel matmul", "out float32 for float64 inputs", TypeError,
         r"^out must have dtype float64", lambda k, t: K(k).matmul(A, B, out=f64((3, 2), dtype=np.float32))),
    Case("matmul-alpha-nan", "kernel matmul", "alpha = NaN", ValueError, r"^alpha must be finite",
         lambda k, t: K(k).matmul(A, B, alpha=float("nan"))),
    Case("matmul-byte-overflow", "kernel matmul", "2^40 x 2^20 zero-stride operands: the output's byte "
         "count is 4 EiB", (MemoryError, ValueError), r"out",
         lambda k, t: K(k).matmul(huge((2**40, 2**20)), huge((2**20, 2**20)))),
    Case("matmul-size-overflow", "kernel matmul", "2^40 x 2^40 output: the element count overflows int64 "
         "bytes", (MemoryError, ValueError), r"out",
         lambda k, t: K(k).matmul(huge((2**40, 1)), huge((1, 2**40)))),
    # kernel API: dense layer, activations, losses, optimizers, training
    Case("dense-int", "kernel dense_forward", "x of dtype int32", TypeError, r"^x must have dtype",
         lambda k, t: K(k).dense_forward(f64((5, 4), dtype=np.int32), f64((4, 3)), f64(3), "relu")),
    Case("dense-shapes", "kernel dense_forward", "x has 4 features, w has 5 rows", ValueError,
         r"x has 4 features but w has 5 rows", lambda k, t: K(k).dense_forward(f64((5, 4)), f64((5, 3)), f64(3), "relu")),
    Case("dense-bias-ndim", "kernel dense_forward", "b is 2-D", ValueError, r"^b must be 1-D",
         lambda k, t: K(k).dense_forward(f64((5, 4)), f64((4, 3)), f64((1, 3)), "relu")),
    Case("dense-unknown-activation", "kernel dense_forward", "activation 'swish'", ValueError,
         r"activation 'swish' is unknown; choose one of",
         lambda k, t: K(k).dense_forward(f64((5, 4)), f64((4, 3)), f64(3), "swish")),
    Case("dense-out-aliased", "kernel dense_forward", "out_a is out_z", ValueError,
         r"^out_a must not overlap input out_z",
         lambda k, t: (lambda o: K(k).dense_forward(f64((5, 4)), f64((4, 3)), f64(3), "relu", out_z=o, out_a=o))(f64((5, 3)))),
    Case("dense-byte-overflow", "kernel dense_forward", "x is a 2^40 x 2^20 zero-stride view, w 2^20 x 2^20",
         (MemoryError, ValueError), r"out_z",
         lambda k, t: K(k).dense_forward(huge((2**40, 2**20)), huge((2**20, 2**20)), np.zeros(2**20, np.float32), "relu")),
    Case("dense-backward-shape", "kernel dense_backward", "grad_a has 2 columns, z has 3", ValueError,
         r"^grad_a must have shape \(5, 3\)",
         lambda k, t: K(k).dense_backward(f64((5, 4)), f64((4, 3)), f64((5, 3)), f64((5, 3)), f64((5, 2)), "tanh")),
    Case("activation-complex", "kernel activation_forward", "z of dtype complex64", TypeError, r"^z must have dtype",
         lambda k, t: K(k).activation_forward("tanh", f64((2, 3), dtype=np.complex64))),
    Case("loss-labels-range", "kernel loss_forward_backward", "label 3 with 3 outputs", ValueError,
         r"^target labels must lie in \[0, 3\)",
         lambda k, t: K(k).loss_forward_backward("cross_entropy", f64((4, 3)), np.array([0, 1, 3, 2]))),
    Case("loss-empty", "kernel loss_forward_backward", "0-row output", ValueError, r"^output must not be empty",
         lambda k, t: K(k).loss_forward_backward("mse", f64((0, 3)), f64((0, 3)))),
    Case("loss-unknown", "kernel loss_forward_backward", "loss 'hinge'", ValueError,
         r"loss 'hinge' is unknown; choose one of",
         lambda k, t: K(k).loss_forward_backward("hinge", f64((4, 3)), f64((4, 3)))),
    Case("loss-string-target", "kernel loss_forward_backward", "target of strings", TypeError, r"^target must be",
         lambda k, t: K(k).loss_forward_backward("mse", f64((2, 1)), np.array([["a"], ["b"]]))),
    Case("sgd-readonly-param", "kernel sgd_step", "param read-only", ValueError,
         r"^param must be C-contiguous and writable",
         lambda k, t: K(k).sgd_step(readonly(f64(5)), f64(5), f64(5), lr=0.1)),
    Case("adam-strided-slot", "kernel adam_step", "m is a strided view", ValueError,
         r"^m must be C-contiguous and writable",
         lambda k, t: K(k).adam_step(f64(5), f64(5), f64(10)[::2], f64(5), step=1, lr=0.1)),
    Case("train-batch-size-0", "kernel train_epoch", "batch_size 0", ValueError, r"^batch_size must be >= 1",
         lambda k, t: K(k).train_epoch(tiny_net(), *batch(), np.arange(6), 0)),
    Case("train-lr-nan", "kernel train_step", "optimizer lr NaN", ValueError, r"^lr must be finite",
         lambda k, t: K(k).train_step(tiny_net(lr=float("nan")), *batch())),
    Case("train-order-range", "kernel train_epoch", "order holds row 6 of 6", ValueError,
         r"^order indices must lie in \[0, 6\)", lambda k, t: K(k).train_epoch(tiny_net(), *batch(), np.array([0, 6]), 2)),
    # the model
    Case("mlp-dtype", "fm.MLP", "dtype 'float16'", TypeError, r"^dtype must be 'float32' or 'float64'",
         lambda k, t: fm.MLP([4, 3], dtype="float16", backend=k)),
    Case("mlp-layer-zero", "fm.MLP", "layer_sizes [4, 0, 3]", ValueError, r"^layer_sizes must be positive ints",
         lambda k, t: fm.MLP([4, 0, 3], backend=k)),
    Case("mlp-unknown-activation", "fm.MLP", "activation 'swish'", ValueError, r"activation 'swish' is unknown",
         lambda k, t: fm.MLP([4, 5, 3], activation="swish", backend=k)),
    Case("mlp-unknown-backend", "fm.MLP", "backend 'cuda'", ValueError, r"backend 'cuda' is unknown; choose one of",
         lambda k, t: fm.MLP([4, 3], backend="cuda"), per_backend=False),
    Case("fit-X-bool", "MLP.fit", "X of dtype bool", TypeError, r"^X must hold real numbers, got dtype bool",
         lambda k, t: fit(k, X=data()[0] > 0)),
    Case("fit-X-complex", "MLP.fit", "X of dtype complex128", TypeError, r"^X must hold real numbers",
         lambda k, t: fit(k, X=data()[0].astype(np.complex128))),
    Case("fit-X-strings", "MLP.fit", "X of strings", TypeError, r"^X must hold real numbers",
         lambda k, t: fit(k, X=np.full((6, 4), "1.0"))),
    Case("fit-X-object", "MLP.fit", "X of dtype object", TypeError, r"^X must hold real numbers",
         lambda k, t: fit(k, X=data()[0].astype(object))),
    Case("fit-X-ndim", "MLP.fit", "X is 1-D", ValueError, r"^X must be 2-D",
         lambda k, t: fit(k, X=np.zeros(6, np.float32))),
    Case("fit-X-empty", "MLP.fit", "X has 0 rows", ValueError, r"^X is empty",
         lambda k, t: fit(k, X=np.zeros((0, 4), np.float32), y=np.zeros(0, np.int64))),
    Case("fit-X-nan", "MLP.fit", "NaN in X", ValueError, r"^X contains NaN or infinity",
         lambda k, t: fit(k, X=np.where(np.eye(6, 4) > 0, np.nan, data()[0]))),
    Case("fit-X-inf", "MLP.fit", "+inf in X", ValueError, r"^X contains NaN or infinity",
         lambda k, t: fit(k, X=np.where(np.eye(6, 4) > 0, np.inf, data()[0]))),
    Case("fit-y-nan", "MLP.fit", "NaN in a regression y", ValueError, r"^y contains NaN or infinity",
         lambda k, t: fit(k, y=np.array([0.0, np.nan, 1, 2, 3, 4]).reshape(6, 1).repeat(3, 1), loss="mse")),
    Case("fit-y-label-range", "MLP.fit", "label 3 for 3 classes", ValueError, r"^y labels must lie in \[0, 3\)",
         lambda k, t: fit(k, y=np.array([0, 1, 2, 3, 0, 1]))),
    Case("fit-y-negative", "MLP.fit", "label -1", ValueError, r"^y labels must lie in \[0, 3\)",
         lambda k, t: fit(k, y=np.array([0, 1, 2, -1, 0, 1]))),
    Case("fit-y-rows", "MLP.fit", "y has 5 rows, X 6", ValueError, r"^y has 5 rows, X has 6",
         lambda k, t: fit(k, y=np.zeros(5, np.int64))),
    Case("fit-y-strings", "MLP.fit", "y of strings", TypeError, r"^y must hold integer class labels",
         lambda k, t: fit(k, y=np.array(list("abcabc")))),
    Case("fit-y-fractional", "MLP.fit", "class labels 0.5", TypeError, r"^y must hold integer class labels",
         lambda k, t: fit(k, y=np.full(6, 0.5))),
    Case("fit-epochs-negative", "MLP.fit", "epochs -1", ValueError, r"^epochs must be >= 0",
         lambda k, t: fit(k, epochs=-1)),
    Case("fit-batch-size-0", "MLP.fit", "batch_size 0", ValueError, r"^batch_size must be >= 1",
         lambda k, t: fit(k, batch_size=0)),
    Case("fit-unknown-optimizer", "MLP.fit", "optimizer 'lbfgs'", ValueError, r"optimizer 'lbfgs' is unknown",
         lambda k, t: fit(k, optimizer="lbfgs")),
    Case("fit-unknown-schedule", "MLP.fit", "schedule 'warp'", ValueError, r"schedule 'warp' is unknown",
         lambda k, t: fit(k, schedule="warp")),
    Case("predict-features", "MLP.predict", "X has 3 features, the model 4", ValueError,
         r"^X has 3 features, the model takes 4", lambda k, t: model(k).predict(np.zeros((2, 3)))),
    Case("save-suffix", "MLP.save", "path without .npz", ValueError, r"^path must end in .npz",
         lambda k, t: model(k).save(t / "model.pkl")),
    # optimizers and threads (no backend involved)
    Case("sgd-lr-zero", "fm.optim.SGD", "lr = 0", ValueError, r"^lr must be > 0",
         lambda k, t: fm.optim.SGD(lr=0.0), per_backend=False),
    Case("sgd-lr-negative", "fm.optim.SGD", "lr = -0.1", ValueError, r"^lr must be > 0",
         lambda k, t: fm.optim.SGD(lr=-0.1), per_backend=False),
    Case("adam-lr-nan", "fm.optim.Adam", "lr = NaN", ValueError, r"^lr must be finite",
         lambda k, t: fm.optim.Adam(lr=float("nan")), per_backend=False),
    Case("sgd-momentum-one", "fm.optim.SGD", "momentum = 1", ValueError, r"^momentum must be < 1",
         lambda k, t: fm.optim.SGD(momentum=1.0), per_backend=False),
    Case("adam-beta-one", "fm.optim.Adam", "beta2 = 1", ValueError, r"^beta2 must be < 1",
         lambda k, t: fm.optim.Adam(beta2=1.0), per_backend=False),
    Case("threads-zero", "fm.set_num_threads", "0", ValueError, r"num_threads must be >= 1",
         restore_threads(lambda: fm.set_num_threads(0)), per_backend=False),
    Case("threads-negative", "fm.set_num_threads", "-4", ValueError, r"num_threads must be >= 1",
         restore_threads(lambda: fm.set_num_threads(-4)), per_backend=False),
    Case("threads-huge", "fm.set_num_threads", "10^6 (the pool would start a million threads)", ValueError,
         r"num_threads must be <= ", restore_threads(lambda: fm.set_num_threads(10**6)), per_backend=False),
    Case("threads-beyond-int", "fm.set_num_threads", "2^40 (beyond a C int)", ValueError,
         r"num_threads must be <= ", restore_threads(lambda: fm.set_num_threads(2**40)), per_backend=False),
    # the file loader
    Case("load-missing", "MLP.load", "no such file", FileNotFoundError, r"no model file at .*model.npz",
         lambda k, t: load(k, t / "model.npz")),
    Case("load-truncated", "MLP.load", "the file cut in half", ValueError, r"model.npz: .*truncated or corrupt",
         lambda k, t: load(k, write_file(t, valid_file_bytes()[: len(valid_file_bytes()) // 2]))),
    Case("load-corrupt", "MLP.load", "64 bytes inverted mid-file", ValueError, r"model.npz: ",
         lambda k, t: load(k, write_file(t, flipped(valid_file_bytes())))),
    Case("load-not-zip", "MLP.load", "a text file named .npz", ValueError, r"model.npz: ",
         lambda k, t: load(k, write_file(t, b"hello, I am not a model\n"))),
    Case("load-newer-version", "MLP.load", "format_version one above the newest this fastmlp writes",
         ValueError, r"model.npz: format_version \d+ is newer than this fastmlp reads",
         lambda k, t: load(k, edited_file(t, set_key("format_version", FORMAT_VERSION + 1)))),
    Case("load-wrong-shape", "MLP.load", "w0 of shape (3, 5) for layer_sizes [4, 5, 3]", ValueError,
         r"model.npz: array 'w0' is float32\(3, 5\), expected float32\(4, 5\)",
         lambda k, t: load(k, edited_file(t, set_array("w0", np.zeros((3, 5), np.float32))))),
    Case("load-wrong-dtype", "MLP.load", "b0 stored as float64", ValueError, r"model.npz: array 'b0' is float64",
         lambda k, t: load(k, edited_file(t, set_array("b0", np.zeros(5))))),
    Case("load-pickle", "MLP.load", "w0 is a pickled object array", ValueError,
         r"model.npz: .*(pickle|allow_pickle)",
         lambda k, t: load(k, edited_file(t, set_array("w0", np.array([{"boom": 1}], dtype=object))))),
    Case("load-nan-weights", "MLP.load", "NaN in w1", ValueError, r"model.npz: array 'w1' holds NaN",
         lambda k, t: load(k, edited_file(t, set_array("w1", np.full((5, 3), np.nan, np.float32))))),
    Case("load-bad-meta", "MLP.load", "metadata layer_sizes 'many'", ValueError,
         r"model.npz: metadata does not describe a valid model",
         lambda k, t: load(k, edited_file(t, set_key("layer_sizes", "many")))),
    Case("load-member-not-npy", "MLP.load", "zip member b0.npy holds raw bytes, not a .npy", ValueError,
         r"model.npz: .*b0",
         lambda k, t: load(k, member_replaced(t, "b0.npy", b"raw bytes, no npy magic"))),
    Case("load-huge-header", "MLP.load", "w0.npy header promises 2^40 x 2^10 float32 in 100 bytes", ValueError,
         r"model.npz: .*w0",
         lambda k, t: load(k, member_replaced(t, "w0.npy", npy_header_only((2**40, 2**10))))),
    # command line (subprocess)
    Case("cli-lr-zero", "fastmlp train", "--lr 0", None, r"argument --lr: expected a positive finite number",
         cli("train", "--lr", "0"), cli_exit=2),
    Case("cli-lr-nan", "fastmlp train", "--lr nan", None, r"argument --lr: expected a positive finite number",
         cli("train", "--lr", "nan"), cli_exit=2),
    Case("cli-batch-size-0", "fastmlp train", "--batch-size 0", None, r"argument --batch-size: expected a positive",
         cli("train", "--batch-size", "0"), cli_exit=2),
    Case("cli-epochs-negative", "fastmlp train", "--epochs -1", None, r"argument --epochs: expected an integer >= 0",
         cli("train", "--epochs=-1"), cli_exit=2),
    Case("cli-momentum-one", "fastmlp train", "--optimizer sgd --momentum 1", None,
         r"argument --momentum: expected a number in \[0, 1\)", cli("train", "--optimizer", "sgd", "--momentum", "1"),
         cli_exit=2),
    Case("cli-threads-zero", "fastmlp train", "--threads 0", None, r"argument --threads: expected a positive",
         cli("train", "--threads", "0"), cli_exit=2),
    Case("cli-unknown-optimizer", "fastmlp train", "--optimizer lbfgs", None,
         r"argument --optimizer: invalid choice: 'lbfgs'", cli("train", "--optimizer", "lbfgs"), cli_exit=2),
    Case("cli-isa", "fastmlp train", "FASTMLP_ISA=avx1024 in the environment", None,
         r"^fastmlp train: error: FASTMLP_ISA='avx1024'",
         cli("train", "--dataset", "xor", "--epochs", "1", "-q", env={"FASTMLP_ISA": "avx1024"}),
         cli_exit=2, per_backend=False),
    # scikit-learn estimators (fastmlp.sklearn)
    Case("sk-X-nan", "MLPClassifier.fit", "NaN in X", ValueError, r"Input X contains NaN",
         lambda k, t: sk_fit(k, X=np.where(np.eye(20, 4) > 0, np.nan, sk_data()[0]))),
    Case("sk-X-complex", "MLPClassifier.fit", "X of dtype complex128", ValueError, r"Complex data not supported",
         lambda k, t: sk_fit(k, X=sk_data()[0].astype(np.complex128))),
    Case("sk-y-inf", "MLPRegressor.fit", "+inf in y", ValueError, r"Input y contains infinity",
         lambda k, t: sk_fit(k, y=np.where(np.arange(20) == 3, np.inf, 1.0), regressor=True)),
    Case("sk-lr-zero", "MLPClassifier", "learning_rate_init = 0", ValueError, r"'learning_rate_init' parameter .* range \(0.0, inf\)",
         lambda k, t: sk_fit(k, learning_rate_init=0.0)),
    Case("sk-batch-size-0", "MLPClassifier", "batch_size = 0", ValueError, r"'batch_size' parameter .* range \[1, inf\)",
         lambda k, t: sk_fit(k, batch_size=0)),
    Case("sk-unknown-solver", "MLPClassifier", "solver 'newton'", ValueError, r"'solver' parameter .* a str among",
         lambda k, t: sk_fit(k, solver="newton")),
    Case("sk-n-threads-zero", "MLPClassifier", "n_threads = 0", ValueError, r"'n_threads' parameter .* range \[1, inf\)",
         lambda k, t: sk_fit(k, n_threads=0)),
    Case("sk-n-threads-huge", "MLPClassifier", "n_threads = 10^6", ValueError, r"n_threads must be .*<=",
         lambda k, t: sk_fit(k, n_threads=10**6), per_backend=False),
    # environment
    Case("env-isa-kernel", "kernel matmul (cpp)", "FASTMLP_ISA=avx1024 in the environment", None,
         r"ValueError: FASTMLP_ISA='avx1024' names no instruction set fastmlp knows; choose one of",
         isa_env("import numpy as np, fastmlp.backends.cpp as c; c.matmul(np.ones((2, 2)), np.ones((2, 2)))"),
         cli_exit=1, per_backend=False),
]


def _params():
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        if case.per_backend:
            for name in BACKENDS:
                yield pytest.param(case, name, id=f"{case.id}-{name}", marks=marks)
        else:
            yield pytest.param(case, None, id=case.id, marks=marks)


@pytest.mark.timeout(180)
@pytest.mark.filterwarnings("ignore:Stochastic Optimizer:UserWarning")  # max_iter=1 on purpose
@pytest.mark.parametrize("case,backend", list(_params()))
def test_bad_input(case, backend, tmp_path):
    if case.cli_exit is not None:
        result = case.call(backend, tmp_path)
        assert result.returncode == case.cli_exit, result.stderr[-2000:]
        assert re.search(case.match, result.stderr, re.MULTILINE), result.stderr[-2000:]
        assert "Traceback" not in result.stderr or case.cli_exit == 1, result.stderr[-2000:]
        return
    with pytest.raises(case.exc, match=case.match):
        case.call(backend, tmp_path)


def test_enough_distinct_cases():
    """At least 40 bad inputs; ids are unique so the docs table can key on them."""
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 40


def markdown_table() -> str:
    lines = ["| id | input | where | exception | message contains |", "|---|---|---|---|---|"]
    for c in CASES:
        if c.cli_exit is not None:
            exc = f"exit {c.cli_exit}"
        elif isinstance(c.exc, tuple):
            exc = " or ".join(e.__name__ for e in c.exc)
        else:
            exc = c.exc.__name__
        if c.xfail:
            exc += " (known bug, see below)"
        fragment = c.match.lstrip("^").replace("\\", "").replace("|", "\\|")
        lines.append(f"| {c.id} | {c.bad_input} | {c.where} | {exc} | `{fragment}` |")
    return "\n".join(lines)


def test_docs_table_matches():
    """docs/bad_inputs.md carries exactly this table (regenerate: python tests/test_bad_input_matrix.py)."""
    assert markdown_table() in DOCS_TABLE.read_text(), (
        "docs/bad_inputs.md is out of date: paste the output of python tests/test_bad_input_matrix.py")


if __name__ == "__main__":
    print(markdown_table())
