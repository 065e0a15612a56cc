"""The constructor parameters both estimators share, in scikit-learn's order and defaults,
then fastmlp's own (documented once here, appended to each estimator's docstring)."""

SKLEARN_DEFAULTS = dict(
    hidden_layer_sizes=(100,), activation="relu", solver="adam", alpha=0.0001,
    batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
    max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
    momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
    beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
)

FASTMLP_DEFAULTS = dict(
    dropout=0.0, weight_decay=0.0, schedule=None, backend="cpp", dtype=None, n_threads=None,
    validation_data=None, monitor="auto", sklearn_compat=False,
)

FASTMLP_PARAMS_DOC = """
    fastmlp's parameters (scikit-learn's come first, with its defaults and meanings):

    activation : str or list of str
        Besides scikit-learn's names, 'sigmoid' (= 'logistic'), 'leaky_relu' and 'gelu'; a list
        gives one activation per hidden layer.
    dropout : float or list of float, default=0.0
        Probability of zeroing each hidden unit during training (inverted dropout), one rate
        for all hidden layers or one per layer.
    weight_decay : float, default=0.0
        PyTorch's weight decay: added to the gradient for solver='sgd', decoupled (AdamW) for
        'adam'. Independent of ``alpha`` (scikit-learn's L2 penalty).
    schedule : str or fastmlp.optim schedule, default=None
        A learning-rate schedule ('cosine', 'invscaling', ``fastmlp.optim.StepSchedule(...)``...)
        multiplying the rate of every update, for solver 'sgd' or 'adam'.
    backend : {'cpp', 'numba', 'numpy'}, default='cpp'
    dtype : None, 'float32' or 'float64', default=None
        None trains in the input's dtype (float32 stays float32, anything else float64).
    n_threads : int or None, default=None
        C++ threads for this fit. None: the pool's default, one per fit inside a dask worker;
        joblib/loky workers already limit the pool to their share of the cores.
    validation_data : (X_val, y_val) or None
        Data scored after every epoch (``validation_scores_``, ``validation_loss_curve_``);
        with ``early_stopping=True`` it replaces the split of ``validation_fraction``.
    monitor : {'auto', 'loss', 'val_loss', 'val_score'}, default='auto'
        What the stopping rule watches; 'auto' is scikit-learn's (the validation score with
        early_stopping, else the training loss).
    sklearn_compat : bool, default=False
        Run scikit-learn's rules batch by batch through the backend's kernels with the updates
        in NumPy, instead of whole epochs in the compiled engine (lbfgs: scikit-learn's loss
        and gradient written out in NumPy around the backend's layers, instead of the
        backend's ``loss_gradient``). Both give scikit-learn's
        numbers (its initialisation, update rules with Adam's epsilon placement, losses,
        shuffling and stopping rule): with the same random_state and float64 data, n_iter_
        equals scikit-learn's and loss_curve_ and coefs_ agree to rounding (1e-10 relative).
        This mode is a slower reference written out in NumPy, and refuses fastmlp's extras.

    As in scikit-learn: parameters are checked on every fit (``InvalidParameterError``);
    ``partial_fit`` re-reads them on every call (alpha, activation, batch_size, shuffle, tol,
    n_iter_no_change, verbose; also dropout), except the optimizer's (learning_rate_init,
    learning_rate, power_t, momentum, nesterovs_momentum, beta_1, beta_2, epsilon,
    weight_decay), which are those of its first call; arrays assigned to ``coefs_`` /
    ``intercepts_`` are what the next ``partial_fit`` (or warm-start fit) trains. A fit whose
    loss turns non-finite raises scikit-learn's ValueError ("Solver produced non-finite
    parameter weights"), or, with early stopping, keeps the weights of the best validation
    score. Either way the epochs run on, as scikit-learn's do in NaN, so ``n_iter_``,
    ``loss_curve_`` and the validation scores are its (the compiled engine trains the NaN
    weights no more and says in a ConvergenceWarning which epoch diverged).

    Sparse X (CSR/CSC) is densified once per fit / predict call. Fitted attributes are
    scikit-learn's plus ``validation_loss_curve_`` (one validation loss per epoch when there
    is validation data). lbfgs also records ``loss_curve_`` (the loss after each iteration).
"""
