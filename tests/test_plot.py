"""mlpcore.plot: every figure renders headless to a valid PNG and shows the data it claims."""
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
import matplotlib.image  # noqa: E402
from matplotlib.collections import QuadMesh  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import mlpcore  # noqa: E402
from mlpcore import plot  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def check_png(path, fig):
    """A non-empty PNG of the figure's aspect ratio that is not one flat colour."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 1000
    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[2] in (3, 4)
    assert min(img.shape[:2]) >= 200
    w, h = fig.get_size_inches()
    assert img.shape[1] / img.shape[0] == pytest.approx(w / h, rel=0.01)
    assert img[..., :3].std() > 0.01
    # Written atomically: no temporary file is left beside it.
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def xor_blobs(n=240, seed=0):
    """Four Gaussian blobs at (±1, ±1); class 1 where the signs agree."""
    rng = np.random.default_rng(seed)
    centres = np.array([[1, 1], [-1, -1], [1, -1], [-1, 1]], dtype=float)
    X = np.concatenate([c + 0.35 * rng.normal(size=(n // 4, 2)) for c in centres])
    y = np.repeat([1, 1, 0, 0], n // 4)
    return X, y


@pytest.fixture(scope="module")
def xor_net():
    X, y = xor_blobs()
    net = mlpcore.MLP([2, 16, 2], activation="tanh", seed=0)
    trainer = mlpcore.Trainer(net, mlpcore.Adam(lr=0.02), batch_size=32, epochs=40, validation_split=0.25,
                              early_stopping=mlpcore.EarlyStopping(patience=1000), progress=False)
    history = trainer.fit(X, y)
    assert np.mean(net.predict(X) == y) > 0.9
    return net, X, y, history


# -- import and global state ----------------------------------------------------------------------
def run_python(code):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=120)


def test_import_touches_no_global_state_and_never_uses_pyplot(tmp_path):
    out = run_python(f"""
        import sys
        import mlpcore
        assert "matplotlib" not in sys.modules, "import mlpcore imported matplotlib"
        import matplotlib
        rc = dict(dict.items(matplotlib.rcParams))  # raw values: reading "backend" would resolve it
        import mlpcore.plot as plot
        import numpy as np
        net = mlpcore.MLP([2, 4, 3], seed=0)
        X = np.random.default_rng(0).normal(size=(30, 2))
        plot.decision_boundary(net, X, net.predict(X), path={str(tmp_path / "a.png")!r}, resolution=20)
        plot.confusion_matrix([0, 1, 1], [0, 1, 0])
        assert "matplotlib.pyplot" not in sys.modules, "pyplot was imported"
        assert dict(dict.items(matplotlib.rcParams)) == rc, "rcParams changed"
        print("ok")
    """)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_missing_matplotlib_raises_import_error_naming_the_extra():
    out = run_python("""
        import sys
        sys.modules["matplotlib"] = None  # as if it were not installed
        import mlpcore
        try:
            import mlpcore.plot
        except ImportError as e:
            print(e)
        else:
            print("no error")
    """)
    assert out.returncode == 0, out.stderr
    assert "pip install mlpcore[plot]" in out.stdout


# -- learning curves ------------------------------------------------------------------------------
def test_learning_curves_from_history(xor_net, tmp_path):
    _, _, _, history = xor_net
    path = tmp_path / "curves.png"
    fig = plot.learning_curves(history, path=path, title="xor")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    check_png(path, fig)
    ax_loss, ax_acc = fig.axes
    lines = {l.get_label(): l for l in ax_loss.lines}
    np.testing.assert_array_equal(lines["train"].get_xdata(), history.epoch)
    np.testing.assert_array_equal(lines["train"].get_ydata(), history.loss)
    np.testing.assert_array_equal(lines["validation"].get_ydata(), history.val_loss)
    acc = {l.get_label(): l for l in ax_acc.lines}
    np.testing.assert_array_equal(acc["train"].get_ydata(), history.train_metric)
    np.testing.assert_array_equal(acc["validation"].get_ydata(), history.val_metric)
    assert ax_acc.get_ylabel() == "accuracy"
    assert history.best_epoch is not None
    for ax in fig.axes:
        best = [l for l in ax.lines if l.get_label().startswith("best epoch")]
        assert len(best) == 1 and list(best[0].get_xdata()) == [history.best_epoch] * 2
    assert fig._suptitle.get_text() == "xor"


def test_learning_curves_from_dict_with_gaps_r2_and_log_scale(tmp_path):
    history = {"epoch": [1, 2, 3, 4], "loss": [10.0, 1.0, 0.1, 0.01], "val_loss": [None, 2.0, float("nan"), 0.05],
               "train_r2": [0.1, 0.5, 0.9, 0.99], "val_r2": [None] * 4, "lr": [0.1] * 4, "best_epoch": 4}
    path = tmp_path / "r2.png"
    fig = plot.learning_curves(history, path=path)
    check_png(path, fig)
    ax_loss, ax_metric = fig.axes
    assert ax_loss.get_yscale() == "log"  # 10 .. 0.01 spans three decades
    val = [l for l in ax_loss.lines if l.get_label() == "validation"][0].get_ydata()
    np.testing.assert_array_equal(val, [np.nan, 2.0, np.nan, 0.05])
    assert ax_metric.get_ylabel() == "R²"
    assert [l.get_label() for l in ax_metric.lines] == ["train", "best epoch 4"]  # val_r2 is all missing

    narrow = plot.learning_curves({"epoch": [1, 2, 3], "loss": [1.0, 0.5, 0.02]})  # 50x: linear
    assert narrow.axes[0].get_yscale() == "linear"
    assert not any(l.get_label().startswith("best") for l in narrow.axes[0].lines)


def test_learning_curves_reads_history_json(xor_net, tmp_path):
    _, _, _, history = xor_net
    history.to_json(tmp_path / "h.json")
    data = json.loads((tmp_path / "h.json").read_text())
    fig = plot.learning_curves(data)
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_ydata(), history.loss)
    assert any(l.get_label() == f"best epoch {history.best_epoch}" for l in fig.axes[1].lines)


def test_learning_curves_bad_input():
    with pytest.raises(ValueError, match=r"\['val_loss'\] has 2 entries"):
        plot.learning_curves({"epoch": [1, 2, 3], "loss": [1, 2, 3], "val_loss": [1, 2]})
    with pytest.raises(ValueError, match="no 'loss'"):
        plot.learning_curves({"epoch": [1]})
    with pytest.raises(ValueError, match="empty"):
        plot.learning_curves({"epoch": [], "loss": []})
    with pytest.raises(ValueError, match="History"):
        plot.learning_curves([1, 2, 3])


# -- decision boundary ----------------------------------------------------------------------------
def grid_of(fig):
    """The QuadMesh of a decision_boundary figure, its cell centres and its plotted class indices."""
    (mesh,) = [c for c in fig.axes[0].collections if isinstance(c, QuadMesh)]
    corners = mesh.get_coordinates()  # (ny + 1, nx + 1, 2)
    ex, ey = corners[0, :, 0], corners[:, 0, 1]
    gx, gy = np.meshgrid((ex[:-1] + ex[1:]) / 2, (ey[:-1] + ey[1:]) / 2)
    return np.column_stack([gx.ravel(), gy.ravel()]), np.asarray(mesh.get_array()).reshape(gx.shape), (ex, ey)


def test_decision_boundary_plots_the_models_predictions(xor_net, tmp_path):
    net, X, y, _ = xor_net
    path = tmp_path / "boundary.png"
    fig = plot.decision_boundary(net, X, y, path=path)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    check_png(path, fig)
    points, plotted, (ex, ey) = grid_of(fig)
    assert plotted.shape == (300, 300)
    np.testing.assert_array_equal(plotted.ravel(), net.predict(points))  # classes are 0, 1: index = label
    assert set(np.unique(plotted)) == {0, 1}
    # The grid covers the data with a margin on every side.
    assert ex[0] < X[:, 0].min() and ex[-1] > X[:, 0].max()
    assert ey[0] < X[:, 1].min() and ey[-1] > X[:, 1].max()
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1"]
    accuracy = np.mean(net.predict(X) == y)
    assert f"accuracy {accuracy:.4f}" in ax.get_title()
    # Points are drawn where the data is, coloured by true class.
    offsets = np.concatenate([c.get_offsets() for c in ax.collections[1:]])
    np.testing.assert_allclose(np.sort(offsets, axis=0), np.sort(X, axis=0))


def test_decision_boundary_string_classes_sigmoid_output_and_names(tmp_path):
    X, y = xor_blobs(seed=1)
    labels = np.where(y == 1, "same", "differ")
    net = mlpcore.MLP([2, 12, 1], activation="relu", output="sigmoid", seed=2)
    mlpcore.Trainer(net, mlpcore.Adam(lr=0.02), epochs=30, batch_size=32, progress=False).fit(X, labels)
    assert net.classes.tolist() == ["differ", "same"]
    fig = plot.decision_boundary(net, X, labels, resolution=40, classes=["signs differ", "signs agree"],
                                 title="xor")
    points, plotted, _ = grid_of(fig)
    assert plotted.shape == (40, 40)
    expected = np.where(net.predict(points) == "same", 1, 0)
    np.testing.assert_array_equal(plotted.ravel(), expected)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["signs differ", "signs agree"]
    assert ax.get_title().startswith("xor — accuracy ")
    # Without labels the points are black and the legend names the predicted regions.
    fig = plot.decision_boundary(net, X, resolution=10)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["differ", "same", "data"]


def test_decision_boundary_bad_input(xor_net):
    net, X, y, _ = xor_net
    with pytest.raises(ValueError, match="2 inputs, this one has 3"):
        plot.decision_boundary(mlpcore.MLP([3, 4, 2]), np.zeros((5, 3)), [0] * 5)
    with pytest.raises(ValueError, match="y has 239 labels but X has 240"):
        plot.decision_boundary(net, X, y[:-1])
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        plot.decision_boundary(net, X[:, :1])
    with pytest.raises(ValueError, match="not classes"):
        plot.decision_boundary(net, X, y + 5)
    with pytest.raises(ValueError, match="regresses"):
        plot.decision_boundary(mlpcore.MLP([2, 3, 1], output="identity"), X)
    with pytest.raises(ValueError, match="resolution"):
        plot.decision_boundary(net, X, y, resolution=1)
    with pytest.raises(ValueError, match="classes names 3"):
        plot.decision_boundary(net, X, y, classes=["a", "b", "c"])


# -- activation gallery ---------------------------------------------------------------------------
def sigmoid(x):
    return 1 / (1 + np.exp(-x))


REFERENCE = {  # name -> (f, f') for leaky_relu slope 0.1 and elu alpha 1
    "sigmoid": (sigmoid, lambda x: sigmoid(x) * (1 - sigmoid(x))),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "relu": (lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(float)),
    "leaky_relu": (lambda x: np.where(x > 0, x, 0.1 * x), lambda x: np.where(x > 0, 1.0, 0.1)),
    "elu": (lambda x: np.where(x >= 0, x, np.expm1(x)), lambda x: np.where(x >= 0, 1.0, np.exp(x))),
    "identity": (lambda x: x, np.ones_like),
    "maxout": (lambda x: np.maximum(x, -0.5 * x - 1), lambda x: np.where(x > -2 / 3, 1.0, -0.5)),
}


def curves(ax):
    lines = {l.get_label(): l for l in ax.lines}
    f, df = lines["f(x)"], lines["f'(x)"]
    np.testing.assert_array_equal(f.get_xdata(), df.get_xdata())
    return np.asarray(f.get_xdata()), np.asarray(f.get_ydata()), np.asarray(df.get_ydata())


def test_activation_gallery_shows_the_engines_functions(tmp_path):
    path = tmp_path / "activations.png"
    fig = plot.activation_gallery(path=path)
    assert isinstance(fig, Figure) and len(fig.axes) == 7
    check_png(path, fig)
    names = [ax.get_title().split()[0] for ax in fig.axes]
    assert names == list(REFERENCE)
    assert plot.MAXOUT_PIECES == ((1.0, 0.0), (-0.5, -1.0))
    for ax, name in zip(fig.axes, names):
        x, f, df = curves(ax)
        np.testing.assert_array_equal(x, np.linspace(-4, 4, 401))
        ref_f, ref_df = REFERENCE[name]
        np.testing.assert_allclose(f, ref_f(x), rtol=0, atol=1e-12, err_msg=name)
        away = np.abs(x - (-2 / 3 if name == "maxout" else 0)) > 1e-9  # one-sided values at a kink
        np.testing.assert_allclose(df[away], ref_df(x)[away], rtol=0, atol=1e-6, err_msg=name)


def test_activation_gallery_passes_slope_and_alpha_to_the_engine():
    x = np.array([-3.0, -1.0, -0.25, 0.5, 2.0])
    fig = plot.activation_gallery(x=x, leaky_relu_slope=0.25, elu_alpha=2.0)
    axes = {ax.get_title().split()[0]: ax for ax in fig.axes}
    _, f, df = curves(axes["leaky_relu"])
    np.testing.assert_allclose(f, np.where(x > 0, x, 0.25 * x), atol=1e-12, rtol=0)
    np.testing.assert_allclose(df, np.where(x > 0, 1.0, 0.25), atol=1e-6, rtol=0)
    _, f, df = curves(axes["elu"])
    np.testing.assert_allclose(f, np.where(x > 0, x, 2.0 * np.expm1(x)), atol=1e-12, rtol=0)
    np.testing.assert_allclose(df, np.where(x > 0, 1.0, 2.0 * np.exp(x)), atol=1e-6, rtol=0)
    assert "0.25x" in axes["leaky_relu"].get_title() and "=2" in axes["elu"].get_title()
    with pytest.raises(ValueError, match="1-D"):
        plot.activation_gallery(x=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="leaky_relu_slope"):
        plot.activation_gallery(x=x, leaky_relu_slope=1.5)


# -- first-layer weights --------------------------------------------------------------------------
def test_first_layer_weights_shows_each_row_as_an_image(tmp_path):
    net = mlpcore.MLP([12, 5, 3], seed=4)
    path = tmp_path / "weights.png"
    fig = plot.first_layer_weights(net, (3, 4), path=path)
    assert isinstance(fig, Figure) and len(fig.axes) == 5 + 1  # five images and a colorbar
    check_png(path, fig)
    W = net.get_weights()[0][0]
    vmax = np.abs(W).max()
    for i, ax in enumerate(fig.axes[:5]):
        (image,) = ax.images
        np.testing.assert_array_equal(image.get_array(), W[i].reshape(3, 4))
        assert image.get_clim() == pytest.approx((-vmax, vmax))  # centred at zero
        assert image.get_cmap().name == "RdBu_r"


def test_first_layer_weights_caps_units_and_checks_shape():
    net = mlpcore.MLP([16, 100, 2], seed=0)
    assert len(plot.first_layer_weights(net, (4, 4)).axes) == 64 + 1
    assert len(plot.first_layer_weights(net, (4, 4), max_units=7).axes) == 7 + 1
    maxout = mlpcore.MLP([4, 3, 2], activation="maxout", maxout_pieces=2, seed=0)
    fig = plot.first_layer_weights(maxout, (2, 2))
    assert len(fig.axes) == 6 + 1 and fig.axes[5].get_title() == "2.1"  # unit 2, piece 1
    with pytest.raises(ValueError, match="does not fit the model's 16 inputs"):
        plot.first_layer_weights(net, (3, 5))
    with pytest.raises(ValueError, match="max_units"):
        plot.first_layer_weights(net, (4, 4), max_units=0)


# -- confusion matrix -----------------------------------------------------------------------------
def test_confusion_counts_by_hand():
    y_true = [2, 0, 1, 1, 2, 2, 0, 1]
    y_pred = [2, 0, 2, 1, 0, 2, 0, 1]
    # true 0: predicted 0, 0          -> [2, 0, 0]
    # true 1: predicted 2, 1, 1       -> [0, 2, 1]
    # true 2: predicted 2, 0, 2       -> [1, 0, 2]
    m, labels = plot.confusion_counts(y_true, y_pred)
    assert m.dtype == np.int64 and labels.tolist() == [0, 1, 2]
    assert m.tolist() == [[2, 0, 0], [0, 2, 1], [1, 0, 2]]
    # An explicit order permutes rows and columns; a class never seen gives a zero row and column.
    m, labels = plot.confusion_counts(y_true, y_pred, labels=[2, 1, 0, 3])
    assert m.tolist() == [[2, 0, 1, 0], [1, 2, 0, 0], [0, 0, 2, 0], [0, 0, 0, 0]]
    m, labels = plot.confusion_counts(["cat", "dog", "dog"], ["cat", "cat", "eel"])
    assert labels.tolist() == ["cat", "dog", "eel"] and m.tolist() == [[1, 0, 0], [1, 0, 1], [0, 0, 0]]


def test_confusion_counts_bad_input():
    with pytest.raises(ValueError, match="y_true has 3 labels but y_pred has 2"):
        plot.confusion_counts([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match=r"not classes \[0, 1\]: \[2\]"):
        plot.confusion_counts([0, 1], [0, 2], labels=[0, 1])
    with pytest.raises(ValueError, match="strings"):
        plot.confusion_counts(["a", "b"], [0, 1])
    with pytest.raises(ValueError, match="distinct"):
        plot.confusion_counts([0, 1], [0, 1], labels=[0, 1, 1])
    with pytest.raises(ValueError, match="empty"):
        plot.confusion_counts([], [])
    with pytest.raises(ValueError, match="1-D"):
        plot.confusion_counts(np.zeros((2, 2)), np.zeros((2, 2)))


def test_confusion_matrix_figure(tmp_path):
    y_true = ["b", "a", "c", "c", "b", "b", "a"]
    y_pred = ["b", "a", "a", "c", "c", "b", "a"]
    path = tmp_path / "confusion.png"
    fig = plot.confusion_matrix(y_true, y_pred, path=path)
    assert isinstance(fig, Figure) and len(fig.axes) == 2  # matrix and colorbar
    check_png(path, fig)
    ax = fig.axes[0]
    m, _ = plot.confusion_counts(y_true, y_pred)
    np.testing.assert_array_equal(ax.images[0].get_array(), m)
    assert [t.get_text() for t in ax.texts] == [str(v) for v in m.ravel()]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert "accuracy 0.7143" in ax.get_title()

    fig = plot.confusion_matrix(y_true, y_pred, labels=["c", "b", "a"], normalize=True, title="t")
    ax = fig.axes[0]
    # rows (c, b, a): true c -> predicted c, a; true b -> b, c, b; true a -> a, a
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.5, 0, 0.5], [1 / 3, 2 / 3, 0], [0, 0, 1]])
    assert ax.texts[0].get_text() == "0.50\n(1)" and ax.get_title() == "t"


def test_saving_replaces_an_existing_file_and_fails_cleanly(tmp_path):
    path = tmp_path / "cm.png"
    path.write_bytes(b"old")
    fig = plot.confusion_matrix([0, 1], [1, 1], path=path)
    check_png(path, fig)
    with pytest.raises(OSError):
        plot.confusion_matrix([0, 1], [1, 1], path=tmp_path / "missing" / "cm.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cm.png"]
