"""Bad input through the public API: clear errors naming the culprit, conversions that are exact,
and failed training steps that leave the model as it was."""
from __future__ import annotations

import numpy as np
import pytest

import mlpcore

N_IN, N_OUT = 4, 3


def make_net(dtype="float32", output="softmax", activation="tanh", seed=0, sizes=(N_IN, 6, N_OUT)):
    return mlpcore.MLP(list(sizes), activation=activation, dtype=dtype, output=output, seed=seed)


def batch(n=10, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, N_IN)).astype(dtype), rng.integers(0, N_OUT, size=n)


def numpy_forward(net, X):
    """Plain NumPy forward of a tanh network (the reference)."""
    A = np.asarray(X, dtype=np.float64)
    layers = net.get_weights()
    for l, (W, b) in enumerate(layers):
        A = A @ W.astype(np.float64).T + b.astype(np.float64)
        if l + 1 < len(layers):
            A = np.tanh(A)
    return A


# -- X: shape, dtype, values -----------------------------------------------------------------------
@pytest.mark.parametrize("n_cols", [1, N_IN - 1, N_IN + 1])
def test_wrong_number_of_features(n_cols):
    net = make_net()
    X = np.zeros((5, n_cols), np.float32)
    for call in (net.forward, net.predict, net.predict_proba):
        with pytest.raises(ValueError, match=f"X has {n_cols} columns, model expects {N_IN}"):
            call(X)
    with pytest.raises(ValueError, match=f"X has {n_cols} columns"):
        net.loss(X, np.zeros(5, int))
    with pytest.raises(ValueError, match=f"X has {n_cols} columns"):
        net.train_step(X, np.zeros(5, int), mlpcore.SGD())


@pytest.mark.parametrize("shape", [(N_IN,), (2, 2, N_IN), ()])
def test_wrong_rank(shape):
    net = make_net()
    with pytest.raises(ValueError, match="2-D"):
        net.forward(np.zeros(shape, np.float32))


def test_single_sample_hint():
    with pytest.raises(ValueError, match=r"reshape\(1, -1\)"):
        make_net().forward(np.zeros(N_IN, np.float32))


@pytest.mark.parametrize("model_dtype,other", [
    ("float32", np.float64), ("float64", np.float32), ("float32", np.int64), ("float32", np.float16),
    ("float64", np.int32), ("float32", np.uint8), ("float32", bool),
])
def test_other_numeric_dtypes_are_converted(model_dtype, other):
    net = make_net(model_dtype)
    X, y = batch(8, seed=1, dtype=np.float64)
    X = (X * 3).astype(other)
    X_model = X.astype(model_dtype)
    out = net.forward(X)
    assert out.dtype == np.dtype(model_dtype)
    assert np.array_equal(out, net.forward(X_model))
    assert np.array_equal(net.predict(X), net.predict(X_model))
    assert net.loss(X, y) == net.loss(X_model, y)
    assert net.loss_and_grad(X, y)[0] == net.loss_and_grad(X_model, y)[0]
    a, b = net.copy(), net.copy()
    a.train_step(X, y, mlpcore.Adam(lr=0.01))
    b.train_step(X_model, y, mlpcore.Adam(lr=0.01))
    assert np.array_equal(a.parameters, b.parameters)


def test_float64_into_float32_model_matches_float32_result():
    net = make_net("float32")
    X64, _ = batch(12, seed=2, dtype=np.float64)
    out = net.forward(X64)
    assert np.array_equal(out, net.forward(X64.astype(np.float32)))
    np.testing.assert_allclose(out, numpy_forward(net, X64.astype(np.float32)), rtol=1e-5, atol=1e-6)


def test_python_lists_work():
    net = make_net()
    X, y = batch(3)
    assert np.array_equal(net.forward(X.tolist()), net.forward(X))
    assert net.loss(X.tolist(), y.tolist()) == net.loss(X, y)


@pytest.mark.parametrize("bad", [
    np.array([["a", "b", "c", "d"]]), np.array([[object()] * N_IN], dtype=object),
    np.zeros((2, N_IN), complex), np.array([["1", "2", "3", "4"]]), np.zeros((2, N_IN), "datetime64[s]"),
])
def test_non_real_X_refused_with_typeerror(bad):
    net = make_net()
    with pytest.raises(TypeError, match="X must hold real numbers"):
        net.forward(bad)
    with pytest.raises(TypeError, match="X must hold real numbers"):
        net.loss(bad, np.zeros(len(bad), int))
    with pytest.raises(TypeError, match="X must hold real numbers"):
        net.train_step(bad, np.zeros(len(bad), int), mlpcore.SGD())


def test_non_real_y_refused_with_typeerror():
    net = make_net()
    X, y = batch(4)
    for bad in (y.astype(str), y.astype(object), y.astype(complex)):
        with pytest.raises(TypeError, match="y must hold numbers"):
            net.loss(X, bad)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_non_finite_X_refused_everywhere(value, dtype):
    net = make_net(dtype)
    X, y = batch(6, dtype=np.float64)
    X[4, 2] = value
    before = net.parameters.copy()
    opt = mlpcore.Adam()
    calls = [lambda: net.forward(X), lambda: net.predict(X), lambda: net.predict_proba(X),
             lambda: net.loss(X, y), lambda: net.loss_and_grad(X, y), lambda: net.train_step(X, y, opt)]
    for call in calls:
        with pytest.raises(ValueError, match="X contains NaN or infinity at row 4"):
            call()
    assert np.array_equal(net.parameters, before)
    assert opt.steps == 0


def test_value_overflowing_float32_is_refused():
    # 1e39 is finite in float64 but infinite once converted to the model's float32.
    net = make_net("float32")
    X, _ = batch(3, dtype=np.float64)
    X[1, 0] = 1e39
    with pytest.raises(ValueError, match="NaN or infinity at row 1"):
        net.forward(X)


# -- finite X that overflows inside the network --------------------------------------------------
OVERFLOW = "the inputs overflowed the network; scale them \\(e.g. standardize each feature"


@pytest.mark.parametrize("dtype,big", [("float32", 1e38), ("float32", 3e38), ("float64", 1e308)])
def test_inputs_overflowing_the_network_raise_instead_of_nan(dtype, big):
    # The reliability issue's case: the course's 2-128-4 ReLU net, a finite input near the dtype's
    # limit. predict_proba returned NaN and predict an arbitrary class; now every call refuses.
    net = mlpcore.MLP([2, 128, 4], "relu", seed=0, dtype=dtype)
    X = np.array([[0.1, 0.2], [big, big], [0.3, -0.1]], dtype=dtype)
    for call in (net.forward, net.predict, net.predict_proba):
        with pytest.raises(ValueError, match=r"NaN or infinite for row 1 \(1 of 3 rows\): " + OVERFLOW):
            call(X)
    # The rows that fit still predict, and their probabilities are finite.
    assert np.isfinite(net.predict_proba(X[[0, 2]])).all()


def test_overflow_message_names_the_first_rows_and_counts_them():
    net = mlpcore.MLP([2, 128, 4], "relu", seed=0)
    X = np.full((2000, 2), 0.5, np.float32)
    bad = [3, 700, 1100, 1999]  # over the engine's 1024-row chunks
    X[bad] = 1e38
    with pytest.raises(ValueError, match=r"for rows 3, 700, 1100 and 1 more \(4 of 2000 rows\): " + OVERFLOW):
        net.predict(X)


def test_float64_model_takes_what_overflows_float32():
    net = mlpcore.MLP([2, 128, 4], "relu", seed=0, dtype="float64")
    X = np.array([[1e38, 1e38], [3e38, -3e38]])
    assert np.isfinite(net.predict_proba(X)).all() and np.isfinite(net.forward(X)).all()


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_targets_refused(value):
    X, _ = batch(5)
    reg = make_net(output="identity")
    t = np.zeros((5, N_OUT))
    t[3, 1] = value
    with pytest.raises(ValueError, match="y contains NaN or infinity"):
        reg.loss(X, t)
    before = reg.parameters.copy()
    with pytest.raises(ValueError, match="y contains NaN or infinity"):
        reg.train_step(X, t, mlpcore.SGD())
    assert np.array_equal(reg.parameters, before)
    clf = make_net()
    with pytest.raises(ValueError, match="y contains NaN or infinity"):
        clf.loss(X, np.array([0, 1, value, 2, 0]))
    probs = np.full((5, N_OUT), 1 / N_OUT)
    probs[0, 0] = value
    with pytest.raises(ValueError, match="y contains NaN or infinity"):
        clf.loss(X, probs)


# -- labels ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [-1, N_OUT, N_OUT + 5, -(2**40), 2**40, 2**31, -(2**31) - 1])
def test_labels_out_of_range(bad):
    net = make_net()
    X, y = batch(6)
    y = y.astype(np.int64)
    y[2] = bad
    before = net.parameters.copy()
    with pytest.raises(ValueError, match=rf"label {bad}\b.*out of range \[0, {N_OUT}\)"):
        net.loss(X, y)
    with pytest.raises(ValueError, match="out of range"):
        net.train_step(X, y, mlpcore.SGD(lr=0.1))
    assert np.array_equal(net.parameters, before)


def test_unsigned_labels_out_of_range():
    net = make_net()
    X, _ = batch(3)
    with pytest.raises(ValueError, match="out of range"):
        net.loss(X, np.array([0, 1, 255], np.uint8))


@pytest.mark.parametrize("bad", [0.5, 1.0001, -0.25, 2.9999])
def test_non_integer_float_labels(bad):
    net = make_net()
    X, y = batch(4)
    y = y.astype(float)
    y[1] = bad
    with pytest.raises(ValueError, match="class labels must be integers"):
        net.loss(X, y)


def test_integral_float_labels_equal_int_labels():
    net = make_net()
    X, y = batch(8)
    assert net.loss(X, y.astype(np.float64)) == net.loss(X, y)
    assert net.loss(X, y.astype(np.int8)) == net.loss(X, y)


def test_probability_targets_of_wrong_width():
    net = make_net()
    X, _ = batch(4)
    with pytest.raises(ValueError, match=f"{N_OUT}"):
        net.loss(X, np.full((4, N_OUT + 1), 0.25))


# -- batch shape -----------------------------------------------------------------------------------
def test_empty_input():
    net = make_net()
    empty = np.zeros((0, N_IN), np.float32)
    for call in (net.forward, net.predict, net.predict_proba):
        with pytest.raises(ValueError, match="X is empty"):
            call(empty)
    with pytest.raises(ValueError, match="X is empty"):
        net.loss(empty, np.zeros(0, int))
    with pytest.raises(ValueError, match="X is empty"):
        net.train_step(empty, np.zeros(0, int), mlpcore.SGD())


@pytest.mark.parametrize("n_y", [0, 5, 7, 12])
def test_X_y_length_mismatch(n_y):
    net = make_net()
    X, _ = batch(6)
    y = np.zeros(n_y, int)
    with pytest.raises(ValueError, match=f"y has {n_y} rows but X has 6"):
        net.loss(X, y)
    with pytest.raises(ValueError, match=f"y has {n_y} rows but X has 6"):
        net.train_step(X, y, mlpcore.SGD())
    reg = make_net(output="identity")
    with pytest.raises(ValueError, match=f"y has {n_y} rows but X has 6"):
        reg.loss(X, np.zeros((n_y, N_OUT)))


# -- layouts: any strided array works through the public API and gives the contiguous result -------
def _layouts(X):
    wide = np.zeros((X.shape[0], 2 * X.shape[1]), X.dtype)
    wide[:, ::2] = X
    tall = np.zeros((2 * X.shape[0], X.shape[1]), X.dtype)
    tall[::2] = X
    reversed_rows = X[::-1].copy()[::-1]
    return {
        "column_stride": wide[:, ::2],
        "row_stride": tall[::2],
        "fortran": np.asfortranarray(X),
        "transposed": np.ascontiguousarray(X.T).T,
        "negative_stride": reversed_rows,
    }


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_non_contiguous_inputs_match_contiguous_copies(dtype):
    net = make_net(dtype, activation="relu")
    X, y = batch(9, seed=3, dtype=dtype)
    yt = np.zeros(2 * len(y), np.int64)
    yt[::2] = y
    w = np.linspace(0.5, 2.0, 2 * len(y))
    base_opt = mlpcore.Adam(lr=0.05)
    ref = net.copy()
    ref_loss = ref.train_step(X, y, base_opt, sample_weight=np.ascontiguousarray(w[::2]))
    for name, Xs in _layouts(X).items():
        assert not Xs.flags.c_contiguous, name
        assert np.array_equal(Xs, X), name
        assert np.array_equal(net.forward(Xs), net.forward(X)), name
        assert np.array_equal(net.predict_proba(Xs), net.predict_proba(X)), name
        assert np.array_equal(net.predict(Xs), net.predict(X)), name
        assert net.loss(Xs, yt[::2]) == net.loss(X, y), name
        l1, g1 = net.loss_and_grad(Xs, yt[::2], sample_weight=w[::2])
        l0, g0 = net.loss_and_grad(X, y, sample_weight=np.ascontiguousarray(w[::2]))
        assert l1 == l0 and np.array_equal(g1, g0), name
        other = net.copy()
        loss = other.train_step(Xs, yt[::2], mlpcore.Adam(lr=0.05), sample_weight=w[::2])
        assert loss == ref_loss and np.array_equal(other.parameters, ref.parameters), name


def test_non_contiguous_targets_for_regression():
    net = make_net(output="identity")
    X, _ = batch(5)
    T = np.random.default_rng(1).normal(size=(N_OUT, 5))
    assert not T.T.flags.c_contiguous
    assert net.loss(X, T.T) == net.loss(X, np.ascontiguousarray(T.T))


# -- sample weights --------------------------------------------------------------------------------
@pytest.mark.parametrize("w,pattern", [
    (np.ones(5), r"sample_weight must have shape \(6,\)"),
    (np.ones(7), r"sample_weight must have shape \(6,\)"),
    (np.ones((6, 1)), r"sample_weight must have shape \(6,\)"),
    (np.ones((1, 6)), r"sample_weight must have shape \(6,\)"),
    (np.array(1.0), r"sample_weight must have shape \(6,\)"),
    (np.array([1, 1, -1, 1, 1, 1.0]), "sample_weight must be finite and >= 0"),
    (np.array([1, 1, np.nan, 1, 1, 1.0]), "sample_weight must be finite and >= 0"),
    (np.array([1, 1, np.inf, 1, 1, 1.0]), "sample_weight must be finite and >= 0"),
    (np.zeros(6), "sample_weight sums to zero"),
])
def test_bad_sample_weight(w, pattern):
    net = make_net()
    X, y = batch(6)
    before = net.parameters.copy()
    with pytest.raises(ValueError, match=pattern):
        net.loss(X, y, sample_weight=w)
    with pytest.raises(ValueError, match=pattern):
        net.train_step(X, y, mlpcore.SGD(), sample_weight=w)
    assert np.array_equal(net.parameters, before)


def test_non_numeric_sample_weight():
    net = make_net()
    X, y = batch(3)
    with pytest.raises((TypeError, ValueError)):
        net.loss(X, y, sample_weight=np.array(["a", "b", "c"]))


# -- losses that do not fit the output -------------------------------------------------------------
@pytest.mark.parametrize("output,loss", [("softmax", "mse"), ("softmax", "binary_cross_entropy"),
                                         ("identity", "cross_entropy"), ("identity", "binary_cross_entropy"),
                                         ("sigmoid", "mse"), ("sigmoid", "cross_entropy")])
def test_loss_output_mismatch(output, loss):
    net = make_net(output=output)
    X, _ = batch(4)
    y = np.zeros((4, N_OUT))
    with pytest.raises(ValueError, match=f"loss '{loss}' needs output"):
        net.loss(X, y, loss=loss)
    with pytest.raises(ValueError, match=f"loss '{loss}'"):
        net.train_step(X, y, mlpcore.SGD(), loss=loss)


@pytest.mark.parametrize("name", ["hinge", "MSE", "", "crossentropy"])
def test_unknown_loss(name):
    net = make_net()
    X, y = batch(3)
    with pytest.raises(ValueError, match="unknown loss"):
        net.loss(X, y, loss=name)


def test_predict_proba_on_regressor():
    with pytest.raises(ValueError, match="predict_proba"):
        make_net(output="identity").predict_proba(np.zeros((2, N_IN)))


# -- hyper-parameters ------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,field", [
    (dict(lr=-1e-3), "lr"), (dict(lr=float("nan")), "lr"), (dict(lr=float("inf")), "lr"),
    (dict(lr="0.1"), "lr"),
    (dict(betas=(1.0, 0.999)), "beta1"), (dict(betas=(-0.1, 0.999)), "beta1"),
    (dict(betas=(0.9, 1.0)), "beta2"), (dict(betas=(0.9, 1.5)), "beta2"),
    (dict(betas=(0.9,)), "betas"), (dict(betas=(0.9, 0.99, 0.9)), "betas"), (dict(betas=0.9), "betas"),
    (dict(eps=0.0), "eps"), (dict(eps=-1e-8), "eps"), (dict(eps=float("nan")), "eps"),
    (dict(weight_decay=-0.1), "weight_decay"),
])
def test_bad_adam_hyperparameters(kwargs, field):
    with pytest.raises(ValueError, match=field):
        mlpcore.Adam(**kwargs)
    with pytest.raises(ValueError, match=field):
        mlpcore.AdamW(**kwargs)


@pytest.mark.parametrize("kwargs,field", [
    (dict(lr=-0.5), "lr"), (dict(momentum=1.0), "momentum"), (dict(momentum=-0.1), "momentum"),
    (dict(dampening=1.0), "dampening"), (dict(weight_decay=-1), "weight_decay"),
    (dict(nesterov=True), "nesterov"), (dict(nesterov=True, momentum=0.9, dampening=0.5), "nesterov"),
])
def test_bad_sgd_hyperparameters(kwargs, field):
    with pytest.raises(ValueError, match=field):
        mlpcore.SGD(**kwargs)


@pytest.mark.parametrize("value", [-0.1, float("nan"), float("inf"), None])
def test_bad_learning_rate_assignment(value):
    opt = mlpcore.Adam()
    make_net().train_step(*batch(4), opt)  # with engine state bound
    with pytest.raises(ValueError, match="lr"):
        opt.lr = value
    assert opt.lr == 1e-3


@pytest.mark.parametrize("kwargs,field", [
    (dict(sizes=[N_IN, 0, N_OUT]), r"sizes\[1\]"), (dict(sizes=[N_IN, -3, N_OUT]), r"sizes\[1\]"),
    (dict(sizes=[0, 4, N_OUT]), r"sizes\[0\]"), (dict(sizes=[N_IN, 4, 0]), r"sizes\[2\]"),
    (dict(sizes=[N_IN, 2.5, N_OUT]), r"sizes\[1\]"), (dict(sizes=[N_IN, 4.0, N_OUT]), r"sizes\[1\]"),
    (dict(sizes=[N_IN, "4", N_OUT]), r"sizes\[1\]"), (dict(sizes=[N_IN, None, N_OUT]), r"sizes\[1\]"),
    (dict(sizes=[N_IN, True, N_OUT]), r"sizes\[1\]"), (dict(sizes=[N_IN, 2**40, N_OUT]), r"sizes\[1\]"),
    (dict(sizes=[N_IN]), "sizes"), (dict(sizes=[]), "sizes"), (dict(sizes=7), "sizes"),
    (dict(activation="swish"), "activation"), (dict(activation="ReLU"), "activation"),
    (dict(activation=["relu", "swish"]), "activation"), (dict(activation=["relu"]), "activation"),
    (dict(activation=["relu", "relu", "relu"]), "activation"), (dict(activation=3), "activation"),
    (dict(init="lecun"), "init"), (dict(init=None), "init"),
    (dict(output="tanh"), "output"), (dict(output="Softmax"), "output"),
    (dict(dtype="float16"), "dtype"), (dict(dtype="int32"), "dtype"), (dict(dtype="bogus"), "dtype"),
    (dict(leaky_relu_slope=0.0), "leaky_relu_slope"), (dict(leaky_relu_slope=1.0), "leaky_relu_slope"),
    (dict(leaky_relu_slope=-0.1), "leaky_relu_slope"), (dict(leaky_relu_slope=2.0), "leaky_relu_slope"),
    (dict(leaky_relu_slope=float("nan")), "leaky_relu_slope"),
    (dict(elu_alpha=0.0), "elu_alpha"), (dict(elu_alpha=-1.0), "elu_alpha"),
    (dict(elu_alpha=float("inf")), "elu_alpha"),
    (dict(maxout_pieces=1), "maxout_pieces"), (dict(maxout_pieces=0), "maxout_pieces"),
    (dict(maxout_pieces=-2), "maxout_pieces"), (dict(maxout_pieces=2.5), "maxout_pieces"),
    (dict(maxout_pieces=65), "maxout_pieces"),
    (dict(seed=-1), "seed"), (dict(seed=1.5), "seed"), (dict(seed=2**64), "seed"),
    (dict(init_scale=0.0), "init_scale"), (dict(init_scale=-1.0), "init_scale"),
])
def test_bad_model_configuration(kwargs, field):
    args = dict(sizes=[N_IN, 5, 5, N_OUT], activation="relu")
    args.update(kwargs)
    with pytest.raises(ValueError, match=field):
        mlpcore.MLP(args.pop("sizes"), **args)


def test_bad_thread_count():
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="threads"):
            mlpcore.set_num_threads(bad)


# -- weights, scaling, classes ---------------------------------------------------------------------
def test_bad_set_weights_leaves_model_unchanged():
    net = make_net()
    before = net.parameters.copy()
    good = net.get_weights()
    bad_lists = [
        (good[:1], "weights has 1 layers, model has 2"),
        ([(good[0][0].T, good[0][1]), good[1]], "layer 0 weight has shape"),
        ([good[0], (good[1][0], good[1][1][:-1])], "layer 1 bias has shape"),
        ([good[0], (np.full_like(good[1][0], np.nan), good[1][1])], "layer 1 weights contain NaN"),
        ([(good[0][0], np.full_like(good[0][1], np.inf)), good[1]],
         "layer 0 weights contain NaN or infinity"),
    ]
    for weights, pattern in bad_lists:
        with pytest.raises(ValueError, match=pattern):
            net.set_weights(weights)
        assert np.array_equal(net.parameters, before)


@pytest.mark.parametrize("mean,scale,field", [
    (np.zeros(N_IN - 1), np.ones(N_IN - 1), "input scaling has 3 values"),
    (np.zeros(N_IN), np.ones(N_IN - 1), "input_scale"),
    (np.zeros(N_IN), np.array([1, 0, 1, 1.0]), r"input_scale\[1\]"),
    (np.zeros(N_IN), np.array([1, 1, -2, 1.0]), r"input_scale\[2\]"),
    (np.array([0, np.nan, 0, 0]), np.ones(N_IN), r"input_mean\[1\]"),
    (np.zeros(N_IN), np.array([1, 1, 1, np.inf]), r"input_scale\[3\]"),
])
def test_bad_input_scaling(mean, scale, field):
    net = make_net()
    X, _ = batch(3)
    out = net.forward(X)
    with pytest.raises(ValueError, match=field):
        net.set_input_scaling(mean, scale)
    assert net.input_scaling is None
    assert np.array_equal(net.forward(X), out)


@pytest.mark.parametrize("mean,scale,field", [
    (np.array([0, 0, 1e300, 0]), np.ones(N_IN), r"input_mean\[2\]"),
    (np.zeros(N_IN), np.array([1, 1, 1, 1e-40]), r"input_scale\[3\]"),
])
def test_input_scaling_must_be_representable_in_model_dtype(mean, scale, field):
    # Finite in float64, but a float32 model would apply an infinite mean or 1/scale and turn
    # every finite input into inf/NaN.
    net = make_net("float32")
    with pytest.raises(ValueError, match=field):
        net.set_input_scaling(mean, scale)


def test_bad_classes():
    net = make_net()
    with pytest.raises(ValueError, match="distinct"):
        net.classes = [1, 1, 2]
    with pytest.raises(ValueError, match="1-D"):
        net.classes = [[0, 1, 2]]
    with pytest.raises(ValueError, match="3 outputs but 2 class labels"):
        net.classes = ["a", "b"]
    assert net.classes is None


# -- optimizers bound to one network ---------------------------------------------------------------
@pytest.mark.parametrize("make_opt", [lambda: mlpcore.Adam(), lambda: mlpcore.SGD(momentum=0.9)])
def test_one_optimizer_two_networks(make_opt):
    X, y = batch(5)
    a = make_net()
    b = make_net(sizes=(N_IN, 7, N_OUT))
    opt = make_opt()
    a.train_step(X, y, opt)
    before = b.parameters.copy()
    with pytest.raises(ValueError, match=f"{a.n_params} parameters but this network has {b.n_params}"):
        b.train_step(X, y, opt)
    assert np.array_equal(b.parameters, before)
    assert opt.steps == 1
    c = make_net("float64")
    with pytest.raises(ValueError, match="float32"):
        c.train_step(X, y, opt)
    opt.reset()
    b.train_step(X, y, opt)
    assert opt.steps == 1


# -- non-finite training steps ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output", ["softmax", "identity", "sigmoid"])
def test_step_with_non_finite_loss_leaves_parameters_unchanged(dtype, output):
    net = make_net(dtype, output=output, activation="identity",
                   sizes=(N_IN, 6, 1 if output == "sigmoid" else N_OUT))
    big = np.finfo(dtype).max / 10
    weights = net.get_weights()
    W0, b0 = weights[0]
    W1, b1 = weights[1]
    sign = np.where(np.arange(W1.size) % 2, -1.0, 1.0).reshape(W1.shape)
    net.set_weights([(np.full_like(W0, big), b0), (sign * big, b1)])
    X, y = batch(4, dtype=np.float64)
    X = np.abs(X) + 1
    if output == "identity":
        y = np.zeros((4, N_OUT))
    elif output == "sigmoid":
        y = np.ones((4, 1))
    opt = mlpcore.Adam(lr=0.1)
    before = net.parameters.copy()
    with pytest.raises(ValueError, match="not finite"):
        net.train_step(X, y, opt)
    assert np.array_equal(net.parameters, before)
    assert opt.steps == 0


def test_huge_learning_rate_divergence_is_caught():
    net = make_net(activation="relu")
    X, y = batch(16, seed=4)
    opt = mlpcore.SGD(lr=1e30)
    for step in range(20):
        before = net.parameters.copy()
        try:
            net.train_step(X * 1e3, y, opt)
        except ValueError as e:
            assert "not finite" in str(e)
            assert np.array_equal(net.parameters, before, equal_nan=True)
            assert opt.steps == step
            break
    else:
        pytest.fail("a learning rate of 1e30 never produced a non-finite loss")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_non_finite_X_refused_by_whole_epochs(value, dtype):
    # The epoch loop scans all of X (every row and column, the last value included) before any
    # update; Trainer.fit has the engine scan it in its first epoch.
    net = make_net(dtype)
    X, y = batch(37, dtype=np.dtype(dtype))
    t = y.astype(np.int32)
    before = net.parameters.copy()
    opt = mlpcore.Adam()
    engine_opt = opt._engine(dtype)
    for row, col in [(0, 0), (36, X.shape[1] - 1), (17, 1)]:
        bad = X.copy()
        bad[row, col] = value
        with pytest.raises(ValueError, match=f"X contains NaN or infinity at row {row}"):
            net._net.train_epoch(bad, t, None, mlpcore.model.LOSSES["cross_entropy"], engine_opt, 8, True, 0, 0)
        with pytest.raises(ValueError, match="NaN or infinity"):
            mlpcore.Trainer(net, opt, batch_size=8, epochs=3, progress=False).fit(bad, y)
    assert np.array_equal(net.parameters, before)
    assert opt.steps == 0
