"""The ONNX nodes of a fastmlp network: dense layers, activations and output heads.

One builder serves two callers: `fastmlp.onnx_export` (a stand-alone ModelProto) and the
skl2onnx converter in `fastmlp.sklearn._onnx` (nodes added to skl2onnx's container). Both hand
in a `Sink` that names values uniquely and stores nodes and initializers; this module decides
what the graph computes. Only default-domain operators of opset 13 or later are used.
"""

from __future__ import annotations

import math

import numpy as np

LEAKY_RELU_SLOPE = 0.01  # the backends' slope (fastmlp.backends.numpy.LEAKY_RELU_SLOPE)

# float64 Phi(z) by piecewise polynomials (onnxruntime has no float64 Erf kernel). |z| is cut
# into pieces of PHI_WIDTH up to PHI_CUT, where erf(z / sqrt 2) is 1 to double precision; on each
# piece a degree-PHI_DEGREE Chebyshev interpolant of erf(z / sqrt 2), fitted here with math.erf,
# is within about 2e-15 of it (tests/test_onnx.py checks the whole range).
PHI_WIDTH, PHI_CUT, PHI_DEGREE = 0.5, 9.0, 12


class Sink:
    """Where nodes and initializers go; `fastmlp.onnx_export` and the skl2onnx glue subclass it."""

    def name(self, hint: str) -> str:  # a value name unused so far
        raise NotImplementedError

    def add_initializer(self, name: str, array: np.ndarray) -> None:
        raise NotImplementedError

    def add_node(self, op: str, inputs: list, outputs: list, **attrs) -> None:
        raise NotImplementedError

    # conveniences built on the three above
    def const(self, hint: str, array) -> str:
        name = self.name(hint)
        self.add_initializer(name, np.asarray(array))
        return name

    def op(self, op: str, inputs: list, hint: str | None = None, output: str | None = None, **attrs) -> str:
        output = output or self.name(hint or op.lower())
        self.add_node(op, list(inputs), [output], **attrs)
        return output


def dense_layers(sink: Sink, x: str, weights, biases, activations, dtype) -> str:
    """Gemm (x @ W + b) and the activation for every layer; returns the last layer's output."""
    dtype = np.dtype(dtype)
    for i, (w, b, act) in enumerate(zip(weights, biases, activations)):
        w_name = sink.const(f"W{i}", np.ascontiguousarray(w, dtype=dtype))
        b_name = sink.const(f"B{i}", np.ascontiguousarray(b, dtype=dtype).reshape(-1))
        z = sink.op("Gemm", [x, w_name, b_name], hint=f"z{i}")
        x = activation(sink, act, z, dtype, hint=f"a{i}")
    return x


def activation(sink: Sink, name: str, z: str, dtype, hint: str = "a") -> str:
    """The nodes of one fastmlp activation (canonical name, or 'logistic' / 'exp') on z."""
    if name in ("identity", "linear"):
        return z
    if name == "relu":
        return sink.op("Relu", [z], hint)
    if name == "leaky_relu":
        if np.dtype(dtype) == np.float32:
            return sink.op("LeakyRelu", [z], hint, alpha=LEAKY_RELU_SLOPE)
        # LeakyRelu's alpha attribute is a float32, 0.01 rounded; max(z, 0.01 z) is exact in float64
        scaled = sink.op("Mul", [z, sink.const("slope", np.array(LEAKY_RELU_SLOPE, dtype))])
        return sink.op("Max", [z, scaled], hint)
    if name in ("sigmoid", "logistic"):
        return sink.op("Sigmoid", [z], hint)
    if name == "tanh":
        return sink.op("Tanh", [z], hint)
    if name == "softmax":
        return sink.op("Softmax", [z], hint, axis=1)
    if name == "exp":
        return sink.op("Exp", [z], hint)
    if name == "gelu":
        return sink.op("Mul", [z, gaussian_cdf(sink, z, dtype)], hint)
    raise ValueError(f"activation {name!r} has no ONNX form")


def gaussian_cdf(sink: Sink, z: str, dtype) -> str:
    """Phi(z) = (1 + erf(z / sqrt 2)) / 2: the Erf operator in float32, polynomials in float64."""
    dtype = np.dtype(dtype)
    half = sink.const("half", np.array(0.5, dtype))
    if dtype == np.float32:
        scaled = sink.op("Mul", [z, sink.const("inv_sqrt2", np.array(1 / math.sqrt(2), dtype))])
        erf = sink.op("Erf", [scaled])
        return sink.op("Mul", [sink.op("Add", [erf, sink.const("one", np.array(1.0, dtype))]), half])
    erf_abs = _erf_scaled_abs(sink, z)
    signed = sink.op("Mul", [sink.op("Sign", [z]), erf_abs])
    return sink.op("Add", [half, sink.op("Mul", [half, signed])])


def phi_table() -> np.ndarray:
    """Monomial coefficients (pieces, degree + 1) in s in [-1, 1] of erf(u / sqrt 2) on each piece
    [k w, (k + 1) w] of u = |z|, s = 2 (u - k w) / w - 1."""
    from numpy.polynomial import chebyshev

    erf = np.frompyfunc(math.erf, 1, 1)
    rows = []
    for k in range(int(round(PHI_CUT / PHI_WIDTH))):
        lo = k * PHI_WIDTH

        def piece(s, lo=lo):
            u = lo + (np.asarray(s, dtype=np.float64) + 1) * (PHI_WIDTH / 2)
            return erf(u / math.sqrt(2)).astype(np.float64)

        rows.append(chebyshev.cheb2poly(chebyshev.chebinterpolate(piece, PHI_DEGREE)))
    return np.array(rows, dtype=np.float64)


def _erf_scaled_abs(sink: Sink, z: str) -> str:
    """erf(|z| / sqrt 2) in float64: pick each element's piece, evaluate its polynomial."""
    f64 = np.float64
    table = phi_table()
    u = sink.op("Min", [sink.op("Abs", [z]), sink.const("phi_cut", np.array(PHI_CUT, f64))])
    piece = sink.op("Floor", [sink.op("Mul", [u, sink.const("inv_width", np.array(1 / PHI_WIDTH, f64))])])
    piece = sink.op("Min", [piece, sink.const("last_piece", np.array(len(table) - 1, f64))])
    # s = 2 (u - piece w) / w - 1 = (2 / w) u - 2 piece - 1
    s = sink.op("Sub", [sink.op("Mul", [u, sink.const("two_over_w", np.array(2 / PHI_WIDTH, f64))]),
                        sink.op("Add", [sink.op("Mul", [piece, sink.const("two", np.array(2.0, f64))]),
                                        sink.const("one64", np.array(1.0, f64))])])
    powers = sink.op("Pow", [sink.op("Unsqueeze", [s, sink.const("last_axis", np.array([-1], np.int64))]),
                             sink.const("exponents", np.arange(PHI_DEGREE + 1, dtype=f64))])
    coefs = sink.op("Gather", [sink.const("phi_table", table),
                               sink.op("Cast", [piece], to=_INT64)], axis=0)
    return sink.op("ReduceSum", [sink.op("Mul", [coefs, powers]), sink.const("sum_axis", np.array([-1], np.int64))],
                   keepdims=0)


_INT64 = 7  # onnx.TensorProto.INT64 (this module never imports onnx)


# --- output heads ---------------------------------------------------------------------------


def class_labels(classes) -> np.ndarray:
    """Classes as an ONNX label table: int64 for integer (or integral float, or bool) labels,
    UTF-8 strings for text labels; anything else is refused."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "iub":
        return classes.astype(np.int64)
    if classes.dtype.kind == "f":
        if not np.all(classes == np.round(classes)):
            raise ValueError(f"ONNX labels must be integers or strings; classes {classes.tolist()} "
                             "hold fractions (relabel y with integers or strings)")
        return classes.astype(np.int64)
    if classes.dtype.kind in "USO":
        return np.array([str(c) for c in classes], dtype=object)
    raise ValueError(f"ONNX labels must be integers or strings, got classes of dtype {classes.dtype}")


def argmax_label(sink: Sink, proba: str, classes, output: str) -> str:
    """label = classes[argmax(proba, axis=1)]."""
    index = sink.op("ArgMax", [proba], "argmax", axis=1, keepdims=0)
    return sink.op("Gather", [sink.const("classes", class_labels(classes)), index], output=output, axis=0)


def indicator(sink: Sink, values: str, threshold, dtype, hint="indicator", output=None) -> str:
    """int64 (values > threshold)."""
    above = sink.op("Greater", [values, sink.const("threshold", np.array(threshold, dtype))])
    return sink.op("Cast", [above], hint, output=output, to=_INT64)


def binary_columns(sink: Sink, p: str, dtype, output: str) -> str:
    """[1 - p, p] for a (N, 1) probability of the positive class."""
    one_minus = sink.op("Sub", [sink.const("one_p", np.array(1.0, dtype)), p])
    return sink.op("Concat", [one_minus, p], output=output, axis=1)


def flatten(sink: Sink, x: str, output: str) -> str:
    """(N, 1) -> (N,)."""
    return sink.op("Reshape", [x, sink.const("flat", np.array([-1], np.int64))], output=output)
