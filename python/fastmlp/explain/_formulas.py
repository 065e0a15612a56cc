"""The formulas an explanation writes out: each activation, its derivative, each loss, and the
output layer's delta with why it is that simple."""

ACTIVATION_FORMULA = {
    "sigmoid": "sigmoid(z) = 1 / (1 + e^-z)",
    "tanh": "tanh(z) = (e^z - e^-z) / (e^z + e^-z)",
    "relu": "relu(z) = max(0, z)",
    "leaky_relu": "leaky_relu(z) = z if z > 0, else 0.01 z",
    "identity": "identity(z) = z",
    "gelu": "gelu(z) = z Phi(z), Phi the standard normal CDF",
    "softmax": "softmax(z)_j = e^z_j / sum_k e^z_k, over each row",
}

DERIVATIVE = {  # f'(z), written with a = f(z) where that is how it is computed
    "sigmoid": "f'(z) = a (1 - a)",
    "tanh": "f'(z) = 1 - a^2",
    "relu": "f'(z) = 1 if z > 0, else 0",
    "leaky_relu": "f'(z) = 1 if z > 0, else 0.01",
    "identity": "f'(z) = 1",
    "gelu": "f'(z) = Phi(z) + z phi(z)",
}

LOSS_NAME = {
    "binary_cross_entropy": "binary cross-entropy",
    "cross_entropy": "cross-entropy",
    "mse": "mean squared error",
    "mae": "mean absolute error",
    "huber": "Huber loss (delta 1)",
}

LOSS_FORMULA = {
    "binary_cross_entropy": "L = mean( -t log(p) - (1 - t) log(1 - p) )",
    "cross_entropy": "L = mean over rows of ( -sum_j t_j log(p_j) )",
    "mse": "L = mean( (p - t)^2 )",
    "mae": "L = mean( |p - t| )",
    "huber": "L = mean( d^2 / 2 if |d| <= 1, else |d| - 1/2 ),  d = p - t",
}

OUTPUT_DELTA = {  # dL/dz of the last layer, and why it is that simple
    "binary_cross_entropy": ("(p - t) / N", "the sigmoid's slope p (1 - p) cancels the log's 1 / (p (1 - p)), "
                             "so the output delta is the error itself, divided by N because the loss is a mean"),
    "cross_entropy": ("(p - t) / N", "softmax and cross-entropy differentiate together to the error, "
                      "divided by N because the loss is a mean over the rows"),
    "mse": ("2 (p - t) / N", "the derivative of the square (p - t)^2 is 2 (p - t); dividing by N "
            "because the loss is a mean; the output has no activation, so dL/dz = dL/dp"),
    "mae": ("sign(p - t) / N", "|p - t| slopes by -1 or +1; dividing by N because the loss is a mean"),
    "huber": ("d / N if |d| <= 1, else sign(d) / N", "quadratic near 0, linear further out; "
              "dividing by N because the loss is a mean"),
}
