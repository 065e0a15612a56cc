"""Pictures of a network learning (needs matplotlib: ``pip install 'fastmlp[plot]'``).

    import fastmlp as fm
    history = model.fit(X, y, validation_data=(Xv, yv), epochs=20)
    fm.plot.history(history)                       # loss and accuracy, train and validation
    fm.plot.decision_boundary(model, X, y)         # 2-D data: xor, moons, circles, spirals
    snaps = fm.plot.WeightSnapshots(every=5)       # record the weights during fit ...
    model.fit(X, y, epochs=100, callbacks=[snaps])
    fm.plot.boundary_snapshots(model, snaps, X, y) # ... and see the boundary take shape
    fm.plot.animate_boundary(model, snaps, X, y, path="boundary.gif")
    fm.plot.first_layer_weights(mnist_model)       # 28x28 image per hidden unit
    norms, _ = fm.plot.record_gradient_norms(model, X, y, epochs=20)
    fm.plot.gradient_norms(norms)                  # ||dL/dW|| per layer over training
    fm.plot.lr_find(fm.lr_find(model, X, y))       # loss against learning rate
    fm.plot.lr_sweep(fm.explain())                 # loss curves of explain's learning-rate runs

Every function draws into ``ax=`` when given (a sequence of Axes for multi-panel pictures),
else into a new pyplot figure, and returns the Axes (one panel) or the Figure (several). Nothing
is shown unless ``show=True``; `save_history` writes a file with no display at all.
matplotlib is imported on the first drawing call, not by ``import fastmlp``.
"""

from .boundary import animate_boundary, boundary_snapshots, decision_boundary
from .curves import history, loss_curve, metric_curve, save_history
from .gradients import gradient_norms
from .lr import lr_find, lr_sweep
from .recorders import GradientNorms, WeightSnapshots, record_gradient_norms
from .weights import first_layer_weights

__all__ = [
    "history",
    "loss_curve",
    "metric_curve",
    "save_history",
    "decision_boundary",
    "boundary_snapshots",
    "animate_boundary",
    "first_layer_weights",
    "gradient_norms",
    "GradientNorms",
    "WeightSnapshots",
    "record_gradient_norms",
    "lr_find",
    "lr_sweep",
]
