"""Figures for training and inspecting networks: learning curves, decision boundaries, the
activation functions, first-layer weights and confusion matrices.

matplotlib is an optional dependency (``pip install mlpcore[plot]``). This module needs it at
import: ``import mlpcore.plot`` (or ``mlpcore.plot``) raises :class:`ImportError` naming that
command when matplotlib is missing; ``import mlpcore`` alone never imports it.

Every figure is a stand-alone :class:`matplotlib.figure.Figure` drawn by the Agg canvas: no
display is needed, pyplot is never imported, no backend or rcParams setting is changed, and the
figures are not registered with pyplot (nothing to close; garbage collection frees them). Each
function returns its Figure and, given ``path=``, also writes it as a PNG atomically (a temporary
file in the same folder, then a rename), so an existing file is never left half-written.

(Longer than the usual ~400 lines: five figures sharing label and saving helpers, about half
of it NumPy-style docstrings; splitting it would scatter one small public module.)
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

try:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator
except ImportError as e:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError("mlpcore.plot needs matplotlib, which is not installed; "
                      "install it with: pip install mlpcore[plot]") from e

from ._files import atomic_write
from .metrics import _labels_array, _positions, confusion_counts
from .model import MLP, REGRESSION_OUTPUTS

__all__ = ["activation_gallery", "confusion_counts", "confusion_matrix", "decision_boundary",
           "first_layer_weights", "learning_curves"]

_DPI = 110


# -- shared helpers ---------------------------------------------------------------------------------
def _new_figure(width, height) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save_png(fig: Figure, path) -> None:
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=_DPI)


def _finish(fig: Figure, path) -> Figure:
    if path is not None:
        _save_png(fig, path)
    return fig


def _class_colors(k: int) -> list:
    if k <= 10:
        cmap = matplotlib.colormaps["tab10"]
        return [cmap(i) for i in range(k)]
    if k <= 20:
        cmap = matplotlib.colormaps["tab20"]
        return [cmap(i) for i in range(k)]
    cmap = matplotlib.colormaps["turbo"]
    return [cmap(i / (k - 1)) for i in range(k)]


# -- learning curves ---------------------------------------------------------------------------------
_HISTORY_KEYS = ("epoch", "loss", "val_loss", "train_accuracy", "val_accuracy", "train_r2", "val_r2",
                 "train_deviance", "val_deviance", "lr")


def _column(values, key) -> np.ndarray:
    try:
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"history[{key!r}] must be a list of numbers (None/NaN where absent)") from None


def _history_columns(history):
    if hasattr(history, "as_dict"):
        raw = dict(history.as_dict())
        best = getattr(history, "best_epoch", None)
    elif isinstance(history, Mapping):
        raw = dict(history)
        best = None
    else:
        raise ValueError("history must be a mlpcore.History (anything with .as_dict()) or a dict of lists, "
                         f"got {type(history).__name__}")
    if best is None:
        best = raw.get("best_epoch")
    for key in ("epoch", "loss"):
        if key not in raw:
            raise ValueError(f"history has no {key!r} column")
    cols = {k: _column(raw[k], k) for k in _HISTORY_KEYS if k in raw}
    n = len(cols["epoch"])
    for k, col in cols.items():
        if len(col) != n:
            raise ValueError(f"history[{k!r}] has {len(col)} entries but history['epoch'] has {n}")
    if n == 0:
        raise ValueError("history is empty: no epoch was recorded")
    return cols, best


def _has_data(cols, key) -> bool:
    return key in cols and bool(np.isfinite(cols[key]).any())


def learning_curves(history, path=None, title=None) -> Figure:
    """Loss and accuracy (R², or the Poisson deviance) per epoch, for training and validation.

    Parameters
    ----------
    history : mlpcore.History or dict
        Either an object with ``.as_dict()`` (such as the :class:`mlpcore.History` that
        :meth:`mlpcore.Trainer.fit` returns) or a dict of equal-length lists with the keys
        ``"epoch"`` and ``"loss"`` and, optionally, ``"val_loss"``, ``"train_accuracy"``,
        ``"val_accuracy"``, ``"train_r2"``, ``"val_r2"``, ``"train_deviance"``, ``"val_deviance"``,
        ``"lr"``; ``None`` or NaN marks a missing
        value. Other keys are ignored, so the dict read from ``History.to_json`` works as is. The
        best epoch (attribute ``best_epoch`` or key ``"best_epoch"``), when given, is marked by a
        vertical line in both panels.
    path : str or os.PathLike, optional
        Where to write the figure as a PNG (atomically).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: the loss (log scale when its positive values span more than two decades), then
        the accuracy — or R² for regression, the mean Poisson deviance for the poisson loss; the
        learning rate when none was recorded.

    Raises
    ------
    ValueError
        If ``epoch`` or ``loss`` is missing, the history is empty, or the columns differ in length.
    OSError
        If ``path`` cannot be written.
    """
    cols, best = _history_columns(history)
    epoch = cols["epoch"]
    style = {"marker": "o", "markersize": 3} if len(epoch) <= 30 else {}
    fig = _new_figure(11, 4.2)
    ax_loss, ax_metric = fig.subplots(1, 2)

    ax_loss.plot(epoch, cols["loss"], color="C0", label="train", **style)
    if _has_data(cols, "val_loss"):
        ax_loss.plot(epoch, cols["val_loss"], color="C1", label="validation", **style)
    losses = np.concatenate([cols["loss"], cols.get("val_loss", np.empty(0))])
    losses = losses[np.isfinite(losses)]
    if losses.size and losses.min() > 0 and losses.max() / losses.min() > 100:
        ax_loss.set_yscale("log")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")

    if _has_data(cols, "train_accuracy") or _has_data(cols, "val_accuracy"):
        keys, label = ("train_accuracy", "val_accuracy"), "accuracy"
    elif _has_data(cols, "train_r2") or _has_data(cols, "val_r2"):
        keys, label = ("train_r2", "val_r2"), "R²"
    elif _has_data(cols, "train_deviance") or _has_data(cols, "val_deviance"):
        keys, label = ("train_deviance", "val_deviance"), "Poisson deviance"
    elif _has_data(cols, "lr"):
        keys, label = ("lr", None), "learning rate"
    else:
        keys, label = (None, None), "no accuracy, R², deviance or learning rate recorded"
    for key, name, color in zip(keys, ("train", "validation"), ("C0", "C1")):
        if key is not None and _has_data(cols, key):
            ax_metric.plot(epoch, cols[key], color=color, label=name if key != "lr" else "lr", **style)
    ax_metric.set(xlabel="epoch", ylabel=label if keys[0] else "", title=label)

    if best is not None and np.isfinite(float(best)):
        for ax in (ax_loss, ax_metric):
            ax.axvline(float(best), color="0.35", linestyle="--", linewidth=1, label=f"best epoch {best:g}")
    for ax in (ax_loss, ax_metric):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return _finish(fig, path)


# -- decision boundary ---------------------------------------------------------------------------------
def _class_labels(net: MLP) -> np.ndarray:
    if net.output in REGRESSION_OUTPUTS:
        raise ValueError("decision_boundary needs a classifier (output 'softmax' or 'sigmoid'); "
                         f"this model regresses (output '{net.output}')")
    if net.output == "sigmoid" and net.n_outputs != 1:
        raise ValueError(f"decision_boundary needs one class per sample; this sigmoid model has "
                         f"{net.n_outputs} independent outputs")
    k = 2 if net.output == "sigmoid" else net.n_outputs
    classes = net.classes
    return np.arange(k) if classes is None else classes


def decision_boundary(net: MLP, X, y=None, path=None, resolution=300, classes=None, title=None) -> Figure:
    """The class a 2-input classifier predicts over the plane, with the data on top.

    The region map is drawn as a :class:`matplotlib.collections.QuadMesh` (``ax.collections[0]``):
    ``resolution × resolution`` cells covering the data plus a 10 % margin, each coloured by
    ``net.predict`` at the cell's centre. Its ``get_array()`` holds the predicted class index of
    each cell (row = y, column = x) and ``get_coordinates()`` the cell corners. (A contour of
    class indices would invent thin bands of other classes where two non-adjacent indices meet.)

    Parameters
    ----------
    net : mlpcore.MLP
        A classifier with ``n_inputs == 2`` (output ``softmax``, or ``sigmoid`` with one output).
    X : array-like, shape (n, 2)
        The points to show (in the units the model takes; its input scaling is applied inside).
    y : array-like, shape (n,), optional
        Their true labels (values of ``net.classes``, or class indices when it is unset). Points are
        then coloured by class and the accuracy of ``net`` on them is shown in the title; without
        ``y`` they are drawn in black.
    path : str or os.PathLike, optional
        Where to write the figure as a PNG (atomically).
    resolution : int, default 300
        Grid cells along each axis (2 to 2000).
    classes : sequence of str, optional
        Legend names of the classes, in output order; default ``net.classes`` or ``0..K-1``.
    title : str, optional
        Axes title (the accuracy is appended when ``y`` is given).

    Returns
    -------
    matplotlib.figure.Figure
        One axes.

    Raises
    ------
    ValueError
        If the model does not take 2 inputs or is not a single-label classifier; if ``X`` is not
        ``(n, 2)``; if ``y`` has a different length or unknown labels; if ``classes`` has the
        wrong length; if ``resolution`` is out of range.
    OSError
        If ``path`` cannot be written.
    """
    if not isinstance(net, MLP):
        raise ValueError(f"net must be an mlpcore.MLP, got {type(net).__name__}")
    if net.n_inputs != 2:
        raise ValueError(f"decision_boundary needs a model with 2 inputs, this one has {net.n_inputs}")
    labels = _class_labels(net)
    k = len(labels)
    names = [str(c) for c in (labels if classes is None else list(classes))]
    if len(names) != k:
        raise ValueError(f"classes names {len(names)} classes but the model has {k}")
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) \
            or not 2 <= resolution <= 2000:
        raise ValueError(f"resolution must be an integer in [2, 2000], got {resolution!r}")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2 or X.shape[0] == 0:
        raise ValueError(f"X must have shape (n, 2) with n >= 1, got {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinity")
    y_idx = None
    if y is not None:
        y = _labels_array(y, "y")
        if len(y) != len(X):
            raise ValueError(f"y has {len(y)} labels but X has {len(X)} rows")
        y_idx = _positions(y, labels, "y")

    lo, hi = X.min(axis=0), X.max(axis=0)
    span = hi - lo
    pad = np.where(span > 0, 0.1 * span, 1.0)
    edges = [np.linspace(lo[j] - pad[j], hi[j] + pad[j], resolution + 1) for j in range(2)]
    centres = [(e[:-1] + e[1:]) / 2 for e in edges]
    gx, gy = np.meshgrid(*centres)  # (resolution, resolution): row = y, column = x
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    region = _positions(np.asarray(net.predict(grid)), labels, "net.predict").reshape(gx.shape)

    colors = _class_colors(k)
    light = [tuple(0.35 * np.asarray(c[:3]) + 0.65) for c in colors]
    fig = _new_figure(6.4, 5.6)
    ax = fig.subplots()
    ax.pcolormesh(edges[0], edges[1], region, shading="flat", cmap=ListedColormap(light),
                  vmin=-0.5, vmax=k - 0.5)
    size = float(np.clip(3000 / len(X), 6, 30))
    if y_idx is None:
        ax.scatter(X[:, 0], X[:, 1], s=size, c="k", linewidths=0, label="data")
        handles = [Patch(facecolor=light[i], edgecolor="0.5", label=names[i]) for i in range(k)]
        ax.legend(handles=handles + ax.get_legend_handles_labels()[0], fontsize=8, title="predicted class",
                  loc="best")
    else:
        for i in range(k):
            pts = X[y_idx == i]
            ax.scatter(pts[:, 0], pts[:, 1], s=size, color=colors[i], edgecolors="k", linewidths=0.3,
                       label=names[i])
        ax.legend(fontsize=8, title="class (points: true, regions: predicted)", title_fontsize=8, loc="best")
        pred_idx = _positions(np.asarray(net.predict(X)), labels, "net.predict")
        accuracy = float(np.mean(pred_idx == y_idx))
        score = f"accuracy {accuracy:.4f} on {len(X)} points"
        title = f"{title} — {score}" if title else score
    ax.set(xlim=(edges[0][0], edges[0][-1]), ylim=(edges[1][0], edges[1][-1]), xlabel="x₀", ylabel="x₁")
    if title:
        ax.set_title(title)
    return _finish(fig, path)


# -- activation gallery --------------------------------------------------------------------------------
_GALLERY = (
    ("sigmoid", r"sigmoid  $1/(1+e^{-x})$"),
    ("tanh", r"tanh  $\tanh x$"),
    ("relu", r"relu  $\max(0, x)$"),
    ("leaky_relu", r"leaky_relu  $\max(SLOPEx, x)$"),
    ("elu", r"elu  $x$ if $x \geq 0$ else $\alpha(e^x-1)$, $\alpha$=ALPHA"),
    ("identity", r"identity  $x$"),
    ("maxout", r"maxout  $\max(w_1x+b_1,\ w_2x+b_2)$"),
)
#: The two linear pieces (w, b) of the illustrative maxout unit: max(1.0x + 0.0, -0.5x - 1.0).
MAXOUT_PIECES = ((1.0, 0.0), (-0.5, -1.0))


def _engine_activation(name, x, slope, alpha):
    """f(x) and f'(x) of one hidden unit, computed by the engine in float64.

    A 1-1-1 network with input weight w, bias b and an identity output (weight 1, bias 0) outputs
    z = f(w x + b) exactly. Its backward pass on one sample gives dL/db1 (= dL/d pre-activation)
    and dL/db2 (= dL/dz), so dz/dx = Σ_j w_j dL/db1_j / dL/db2 for each x, by backpropagation.
    """
    pieces = MAXOUT_PIECES if name == "maxout" else ((1.0, 0.0),)
    net = MLP([1, 1, 1], activation=name, dtype="float64", output="identity", leaky_relu_slope=slope,
              elu_alpha=alpha, maxout_pieces=max(2, len(pieces)))
    w1 = np.array([[w] for w, _ in pieces])
    b1 = np.array([b for _, b in pieces])
    net.set_weights([(w1, b1), (np.ones((1, 1)), np.zeros(1))])
    X = np.ascontiguousarray(x.reshape(-1, 1))
    values = net.forward(X)[:, 0].copy()
    n_w, n_b = w1.size, b1.size  # flat layout: W1, b1, W2, b2
    derivative = np.empty_like(values)
    for i in range(len(x)):
        _, grad = net.loss_and_grad(X[i:i + 1], np.array([[values[i] - 1.0]]), loss="mse")
        derivative[i] = (w1[:, 0] @ grad[n_w:n_w + n_b]) / grad[-1]
    return values, derivative


def activation_gallery(path=None, x=None, leaky_relu_slope=0.1, elu_alpha=1.0, title=None) -> Figure:
    """Each activation function of mlpcore and its derivative, as the engine computes them.

    Nothing is re-implemented here: for each activation a float64 1-1-1 :class:`mlpcore.MLP`
    is set up so that its output is the hidden unit's activation of ``x``, and the derivative
    comes from the engine's backpropagation (:meth:`MLP.loss_and_grad`) at each ``x``.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Where to write the figure as a PNG (atomically).
    x : array-like, shape (m,), optional
        Inputs to evaluate at; default ``np.linspace(-4, 4, 401)``.
    leaky_relu_slope : float in (0, 1), default 0.1
    elu_alpha : float > 0, default 1.0
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Seven axes, in the order sigmoid, tanh, relu, leaky_relu, elu, identity, maxout; each holds
        the lines labelled ``"f(x)"`` and ``"f'(x)"`` (maxout also its two pieces, see
        :data:`MAXOUT_PIECES`). At a kink the derivative is the engine's choice of one-sided value.

    Raises
    ------
    ValueError
        If ``x`` is not a finite 1-D array of at least 2 points, or a parameter is out of range.
    OSError
        If ``path`` cannot be written.
    """
    x = np.linspace(-4.0, 4.0, 401) if x is None else np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or len(x) < 2 or not np.isfinite(x).all():
        raise ValueError(f"x must be a finite 1-D array of at least 2 points, got shape {x.shape}")
    fig = _new_figure(15, 7)
    grid = fig.add_gridspec(2, 4)
    for n, (name, label) in enumerate(_GALLERY):
        values, derivative = _engine_activation(name, x, leaky_relu_slope, elu_alpha)
        ax = fig.add_subplot(grid[n // 4, n % 4])
        ax.axhline(0, color="0.6", linewidth=0.6)
        ax.axvline(0, color="0.6", linewidth=0.6)
        if name == "maxout":
            for j, (w, b) in enumerate(MAXOUT_PIECES, start=1):
                ax.plot(x, w * x + b, ":", color="0.45", linewidth=1, label=f"piece {j}: {w:g}x{b:+g}")
        ax.plot(x, values, color="C0", linewidth=2, label="f(x)")
        ax.plot(x, derivative, "--", color="C3", linewidth=1.5, label="f'(x)")
        label = label.replace("SLOPE", f"{leaky_relu_slope:g}").replace("ALPHA", f"{elu_alpha:g}")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("x")
        ax.grid(True, alpha=0.25)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(title or "mlpcore activations f(x) and derivatives f'(x), computed by the engine")
    return _finish(fig, path)


# -- first-layer weights --------------------------------------------------------------------------------
def first_layer_weights(net: MLP, image_shape, path=None, max_units=64, title=None) -> Figure:
    """The first layer's weight rows shown as images: what each unit responds to.

    Parameters
    ----------
    net : mlpcore.MLP
        Its first layer's ``W`` has shape ``(units, n_inputs)`` (``(units*k, n_inputs)`` for maxout,
        one image per piece).
    image_shape : (int, int)
        ``(height, width)`` with ``height * width == net.n_inputs``; inputs are read row-major.
    path : str or os.PathLike, optional
        Where to write the figure as a PNG (atomically).
    max_units : int, default 64
        Show at most this many rows (the first ones).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per image shown, then one colorbar axes. All images share one diverging colour
        scale centred at 0 (red positive, blue negative), so units can be compared.

    Raises
    ------
    ValueError
        If ``image_shape`` does not match ``net.n_inputs`` or ``max_units`` is not a positive int.
    OSError
        If ``path`` cannot be written.
    """
    if not isinstance(net, MLP):
        raise ValueError(f"net must be an mlpcore.MLP, got {type(net).__name__}")
    try:
        shape = tuple(int(s) for s in image_shape)
    except (TypeError, ValueError):
        raise ValueError(f"image_shape must be (height, width), got {image_shape!r}") from None
    if len(shape) != 2 or min(shape) < 1 or shape[0] * shape[1] != net.n_inputs:
        raise ValueError(f"image_shape {tuple(image_shape)} does not fit the model's {net.n_inputs} inputs")
    if isinstance(max_units, bool) or not isinstance(max_units, (int, np.integer)) or max_units < 1:
        raise ValueError(f"max_units must be a positive integer, got {max_units!r}")
    W = net.get_weights()[0][0].astype(np.float64)
    pieces = net.maxout_pieces if net.activations[:1] == ["maxout"] else 1
    n = min(len(W), int(max_units))
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    vmax = float(np.abs(W[:n]).max()) or 1.0
    cell = 1.3 if n > 16 else 2.0
    fig = _new_figure(cols * cell + 1.2, rows * cell * shape[0] / shape[1] + 0.8)
    grid = fig.add_gridspec(rows, cols)
    axes = []
    for i in range(n):
        ax = fig.add_subplot(grid[i // cols, i % cols])
        image = ax.imshow(W[i].reshape(shape), cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
        ax.set_title(f"{i // pieces}.{i % pieces}" if pieces > 1 else str(i), fontsize=7, pad=2)
        ax.set_xticks([])
        ax.set_yticks([])
        axes.append(ax)
    fig.colorbar(image, ax=axes, shrink=0.8, label="weight")
    what = "pieces" if pieces > 1 else "units"
    fig.suptitle(title or f"first-layer weights ({n} of {len(W)} {what})")
    return _finish(fig, path)


# -- confusion matrix ------------------------------------------------------------------------------------
def confusion_matrix(y_true, y_pred, labels=None, path=None, normalize=False, title=None) -> Figure:
    """Heatmap of :func:`confusion_counts`: rows are true classes, columns predicted ones.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n,)
        Class labels (numbers or strings), the same length.
    labels : array-like, shape (K,), optional
        Classes in display order; default the sorted distinct values of both.
    path : str or os.PathLike, optional
        Where to write the figure as a PNG (atomically).
    normalize : bool, default False
        Colour each row by the fraction of its true class (annotated as fraction and count)
        instead of by the count.
    title : str, optional
        Axes title; default states the accuracy.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: the matrix and its colorbar. Every cell is annotated with its count when
        K <= 30.

    Raises
    ------
    ValueError
        As :func:`confusion_counts`.
    OSError
        If ``path`` cannot be written.
    """
    matrix, labels = confusion_counts(y_true, y_pred, labels)
    k = len(labels)
    totals = matrix.sum(axis=1, keepdims=True)
    if normalize:
        shown = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
        vmax = 1.0
    else:
        shown = matrix.astype(np.float64)
        vmax = max(float(shown.max()), 1.0)
    side = float(np.clip(0.55 * k + 2.5, 4.5, 14))
    fig = _new_figure(side + 1.2, side)
    ax = fig.subplots()
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=vmax, interpolation="nearest")
    bar = fig.colorbar(image, ax=ax, shrink=0.8, label="fraction of the true class" if normalize else "count")
    if not normalize:
        bar.locator = MaxNLocator(integer=True)
        bar.update_ticks()
    names = [str(c) for c in labels.tolist()]
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 3 else 0, ha="right"
                  if max(map(len, names)) > 3 else "center")
    ax.set_yticks(range(k), names)
    ax.set(xlabel="predicted", ylabel="true")
    if k <= 30:
        size = 10 if k <= 10 else 7
        for i in range(k):
            for j in range(k):
                text = f"{shown[i, j]:.2f}\n({matrix[i, j]})" if normalize else str(matrix[i, j])
                ax.text(j, i, text, ha="center", va="center", fontsize=size,
                        color="white" if shown[i, j] > 0.55 * vmax else "black")
    accuracy = np.trace(matrix) / matrix.sum()
    ax.set_title(title or f"confusion matrix — accuracy {accuracy:.4f} ({matrix.sum()} samples)")
    return _finish(fig, path)
