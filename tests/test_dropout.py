"""Dropout: inverted dropout on the hidden layers in training only.

Checked against independent references: a NumPy forward pass with the engine's masks, central
finite differences in float64 with a fixed mask, the Monte-Carlo mean over masks against the
no-dropout forward pass, plain SGD arithmetic for a training step, and DistributedTrainer /
MPI runs against one process. Masks are keyed on each input row's values, not its position:
equal rows share a mask, a row's mask ignores its position and the rest of the batch, and a
row of integer sample weight w trains like the row repeated w times (in the engine and in
scikit-learn's estimator). Also: p = 0 changes nothing bit for bit, inference never drops,
validation names the problem, and the model file keeps the rates.

Run as ``python test_dropout.py mpi OUT DATA`` under mpiexec, it is the MPI worker of
``test_mpi_deterministic_with_dropout``.
"""
import json
import os
import pathlib
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest

import mlpcore

HERE = pathlib.Path(__file__).parent
ACTS = {"identity": lambda z: z, "tanh": np.tanh, "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
        "relu": lambda z: np.maximum(z, 0)}


def data(n=64, d=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, rng.integers(0, classes, size=n)


def numpy_forward(net, X, masks=None):
    """Logits by NumPy from the model's weights; hidden outputs times masks[l] when given."""
    a = X
    pairs = net.get_weights()
    for l, (W, b) in enumerate(pairs):
        a = a @ W.T + b
        if l < len(pairs) - 1:
            a = ACTS[net.activations[l]](a)
            if masks is not None:
                a = a * masks[l]
    return a


# -- validation ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dropout, match", [
    (1.0, r"dropout must be in \[0, 1\), got 1"),
    (-0.1, r"dropout must be in \[0, 1\), got -0.1"),
    (float("nan"), "dropout must be finite"),
    ([0.1, 0.2, 0.3], "dropout must be one value or one per hidden layer: 2 expected, got 3"),
    ([0.1, 1.5], r"dropout\[1\] must be in \[0, 1\), got 1.5"),
    ("0.1", "dropout must be a number or a list of numbers"),
    ([0.1, "a"], r"dropout\[1\] must be a number"),
])
def test_bad_dropout_is_refused_by_name(dropout, match):
    with pytest.raises(ValueError, match=match):
        mlpcore.MLP([3, 4, 4, 2], dropout=dropout)


def test_dropout_needs_a_hidden_layer():
    with pytest.raises(ValueError, match="dropout applies to hidden layers and this network has none; got 0.5"):
        mlpcore.MLP([3, 2], dropout=0.5)
    assert mlpcore.MLP([3, 2], dropout=0.0).dropout == []


def test_rates_per_layer_and_broadcast():
    assert mlpcore.MLP([3, 4, 4, 2], dropout=0.25).dropout == [0.25, 0.25]
    assert mlpcore.MLP([3, 4, 4, 2], dropout=[0.0, 0.5]).dropout == [0.0, 0.5]
    assert mlpcore.MLP([3, 4, 4, 2]).dropout == [0.0, 0.0]
    assert "dropout=0.25" in repr(mlpcore.MLP([3, 4, 4, 2], dropout=0.25))


# -- the masks ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_mask_values_rate_and_layout(dtype):
    p = 0.3
    net = mlpcore.MLP([3, 200, 50, 2], dropout=[p, 0.0], seed=4, dtype=dtype)
    X = np.random.default_rng(0).normal(size=(500, 3)).astype(dtype)
    m = net.dropout_mask(0, X, step=7)
    assert m.shape == (500, 200) and m.dtype == np.dtype(dtype)
    scale = np.array(1, dtype=dtype) / np.array(1 - p, dtype=dtype)  # torch's 1/(1-p) in the dtype
    assert set(np.unique(m)) == {0, scale}
    dropped = float((m == 0).mean())
    sd = np.sqrt(p * (1 - p) / m.size)
    assert abs(dropped - p) < 5 * sd
    # Units are independent: neighbouring units are not correlated.
    a, b = (m[:, 0::2] == 0).ravel(), (m[:, 1::2] == 0).ravel()
    assert abs(np.corrcoef(a, b)[0, 1]) < 5 / np.sqrt(a.size)
    # Masks follow the rows, not their positions: a slice of the batch keeps its rows' masks.
    np.testing.assert_array_equal(net.dropout_mask(0, X[30:50], step=7), m[30:50])
    # Other steps, layers, seeds give other masks; the same ones the same mask.
    np.testing.assert_array_equal(net.dropout_mask(0, X, step=7), m)
    assert not np.array_equal(net.dropout_mask(0, X, step=8), m)
    other = mlpcore.MLP([3, 200, 50, 2], dropout=[p, 0.0], seed=5, dtype=dtype)
    assert not np.array_equal(other.dropout_mask(0, X, step=7), m)
    assert (net.dropout_mask(1, X[:10], step=7) == 1).all()  # layer without dropout
    assert net.dropout_mask(1, X[:10], step=7).shape == (10, 50)
    net.dropout_step = 7
    np.testing.assert_array_equal(net.dropout_mask(0, X), m)  # default: the next step
    with pytest.raises(ValueError, match="dropout layer 2 is not a hidden layer"):
        net.dropout_mask(2, X[:4])
    with pytest.raises(ValueError, match="X has 4 columns, model expects 3"):
        net.dropout_mask(0, np.zeros((2, 4)))


def test_training_forward_is_numpy_with_the_masks():
    X, _ = data()
    net = mlpcore.MLP([5, 12, 9, 3], ["tanh", "relu"], dropout=[0.4, 0.2], seed=2, dtype="float64")
    masks = [net.dropout_mask(l, X, step=11) for l in range(2)]
    np.testing.assert_allclose(net.forward(X, dropout_step=11), numpy_forward(net, X, masks), rtol=1e-12, atol=1e-12)
    # Inference uses every unit.
    np.testing.assert_allclose(net.forward(X), numpy_forward(net, X), rtol=1e-12, atol=1e-12)


def test_expectation_over_masks_is_the_inference_forward():
    # With identity hidden activations the logits are linear in each mask, and E[mask] = 1 under
    # inverted dropout, so the mean over masks is the no-dropout forward pass. Monte Carlo over
    # 3000 steps; each logit's mean must be within 5 standard errors.
    X, _ = data(n=8)
    net = mlpcore.MLP([5, 16, 16, 3], "identity", dropout=[0.5, 0.3], seed=1, dtype="float64")
    draws = np.stack([net.forward(X, dropout_step=s) for s in range(3000)])
    mean, se = draws.mean(axis=0), draws.std(axis=0) / np.sqrt(len(draws))
    assert (se > 0).all()
    assert (np.abs(mean - net.forward(X)) < 5 * se).all()
    # Without the 1/(1-p) scale the mean would be far off: the test can tell.
    assert (np.abs(mean * 0.5 * 0.7 - net.forward(X)) > 5 * se).any()


# -- masks keyed on the row's values --------------------------------------------------------------
def test_equal_rows_share_a_mask_and_different_rows_do_not():
    p = 0.3
    net = mlpcore.MLP([4, 400, 2], dropout=p, seed=2, dtype="float64")
    rng = np.random.default_rng(1)
    distinct = rng.normal(size=(1000, 4))
    pick = rng.integers(0, 1000, size=3000)  # many rows appear several times
    m = net.dropout_mask(0, distinct[pick], step=3)
    alone = net.dropout_mask(0, distinct, step=3)
    np.testing.assert_array_equal(m, alone[pick])  # every copy of a row has that row's mask
    # Different rows: each drops at rate p (binomial, 5 standard deviations) ...
    dropped = alone == 0
    assert abs(dropped.mean() - p) < 5 * np.sqrt(p * (1 - p) / dropped.size)
    # ... and two different rows' masks are uncorrelated, also for rows one ulp apart.
    a, b = dropped[0::2].ravel(), dropped[1::2].ravel()
    assert abs(np.corrcoef(a, b)[0, 1]) < 5 / np.sqrt(a.size)
    nudged = distinct.copy()
    nudged[:, 2] = np.nextafter(nudged[:, 2], np.inf)
    c = net.dropout_mask(0, nudged, step=3) == 0
    assert abs(np.corrcoef(dropped.ravel(), c.ravel())[0, 1]) < 5 / np.sqrt(c.size)


def test_structured_rows_get_distinct_masks():
    # One-hot and two-hot rows and small-integer grids: the inputs a weak row hash collides on.
    # With p = 0.5 a 256-unit mask is 256 fair coins, so two different rows share it with
    # probability 2^-256: every row's mask must differ from every other's.
    hot = np.eye(48)
    i, j = np.triu_indices(48, 1)
    two = np.zeros((len(i), 48))
    two[np.arange(len(i)), i] = 1.0
    two[np.arange(len(i)), j] = 1.0
    net = mlpcore.MLP([48, 256, 2], dropout=0.5, seed=0)
    rows = np.vstack([hot, two, np.zeros((1, 48))])
    assert len(np.unique(net.dropout_mask(0, rows), axis=0)) == len(rows)
    grid = np.stack(np.meshgrid(np.arange(-40, 41), np.arange(-40, 41)), axis=-1).reshape(-1, 2)
    small = mlpcore.MLP([2, 256, 2], dropout=0.5, seed=0)
    assert len(np.unique(small.dropout_mask(0, grid), axis=0)) == len(grid)


def test_a_rows_mask_ignores_its_position_and_the_other_rows():
    net = mlpcore.MLP([5, 64, 32, 3], "tanh", dropout=[0.5, 0.25], seed=6, dtype="float64")
    X, y = data(n=40)
    perm = np.random.default_rng(2).permutation(40)
    for layer in range(2):
        m = net.dropout_mask(layer, X, step=9)
        np.testing.assert_array_equal(net.dropout_mask(layer, X[perm], step=9), m[perm])
        np.testing.assert_array_equal(net.dropout_mask(layer, X[17:18], step=9), m[17:18])
        others = np.vstack([X[17:18], data(n=10, seed=5)[0]])  # the same row among other rows
        np.testing.assert_array_equal(net.dropout_mask(layer, others, step=9)[0], m[17])
    # -0 and +0 are the same input; a float32 model keys float32 values as a float64 one does.
    zeros = np.array([[0.0, 1.0, -2.0, 0.5, 3.0], [-0.0, 1.0, -2.0, 0.5, 3.0]])
    z = net.dropout_mask(0, zeros, step=9)
    np.testing.assert_array_equal(z[0], z[1])
    net32 = mlpcore.MLP([5, 64, 32, 3], "tanh", dropout=[0.5, 0.25], seed=6)
    X32 = X.astype(np.float32)
    np.testing.assert_array_equal(net32.dropout_mask(0, X32, step=9) > 0,
                                  net.dropout_mask(0, X32.astype(float), step=9) > 0)
    # Training uses these masks: a permuted batch gives the permuted logits and the same loss
    # and gradient (up to the order of the sums).
    np.testing.assert_allclose(net.forward(X[perm], dropout_step=9), net.forward(X, dropout_step=9)[perm],
                               rtol=1e-13, atol=1e-15)
    value, grad = net.loss_and_grad(X, y, dropout_step=9)
    value_p, grad_p = net.loss_and_grad(X[perm], y[perm], dropout_step=9)
    np.testing.assert_allclose(value_p, value, rtol=1e-13)
    np.testing.assert_allclose(grad_p, grad, rtol=1e-11, atol=1e-14)


def test_integer_weights_train_like_repeated_rows():
    # One batch per epoch: a row of weight w must train exactly like w copies of it, wherever
    # the copies land in the batch. With position-keyed masks the copies were dropped differently.
    X, y = data(n=30)
    w = np.random.default_rng(3).integers(0, 4, size=30)
    order = np.random.default_rng(4).permutation(int(w.sum()))
    Xr, yr = np.repeat(X, w, axis=0)[order], np.repeat(y, w)[order]
    nets = [mlpcore.MLP([5, 32, 16, 3], "relu", seed=1, dropout=[0.5, 0.2], dtype="float64")
            for _ in range(3)]
    kw = dict(batch_size=200, epochs=8, seed=3, progress=False)
    mlpcore.Trainer(nets[0], mlpcore.Adam(lr=1e-2), **kw).fit(X, y, sample_weight=w.astype(float))
    mlpcore.Trainer(nets[1], mlpcore.Adam(lr=1e-2), **kw).fit(Xr, yr)
    mlpcore.Trainer(nets[2], mlpcore.Adam(lr=1e-2), **kw).fit(X, y)  # unweighted: another model
    np.testing.assert_allclose(nets[0].parameters, nets[1].parameters, rtol=1e-10, atol=1e-12)
    assert np.abs(nets[0].parameters - nets[2].parameters).max() > 1e-3


def test_sklearn_classifier_weights_equal_repetition_with_dropout():
    # What scikit-learn's check_sample_weight_equivalence asks, with the repeated rows shuffled.
    from mlpcore.sklearn import MLPClassifier

    rng = np.random.RandomState(42)
    X = rng.rand(20, 8)
    y = rng.randint(0, 3, size=20)
    w = rng.randint(0, 5, size=20)
    order = rng.permutation(int(w.sum()))
    Xr, yr = X.repeat(w, axis=0)[order], y.repeat(w)[order]
    params = dict(hidden_layer_sizes=(16,), dropout=0.2, random_state=0, max_iter=50)
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = MLPClassifier(**params).fit(X, y, sample_weight=w)
        repeated = MLPClassifier(**params).fit(Xr, yr)
        plain = MLPClassifier(**params).fit(X, y)
    assert weighted.predict_proba(X).dtype == np.float64
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), rtol=0, atol=1e-10)
    assert np.abs(weighted.predict_proba(X) - plain.predict_proba(X)).max() > 1e-3


# -- gradients with a fixed mask ------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "elu", "identity", "maxout"])
@pytest.mark.parametrize("output", ["softmax", "identity", "exp"])
def test_fixed_mask_gradient_matches_finite_differences(activation, output):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(10, 4))
    if output == "softmax":
        y = rng.integers(0, 3, size=10)
    elif output == "identity":
        y = rng.normal(size=(10, 3))
    else:  # small inputs keep e^z moderate, so the difference quotients stay well conditioned
        X *= 0.3
        y = rng.poisson(2.0, size=(10, 3)).astype(float)
    net = mlpcore.MLP([4, 7, 6, 3], activation, dropout=[0.5, 0.25], seed=9, dtype="float64", output=output)
    step = 5
    value, grad = net.loss_and_grad(X, y, dropout_step=step)
    plain, plain_grad = net.loss_and_grad(X, y)
    assert value != plain and not np.allclose(grad, plain_grad)  # the mask does act
    p = net.parameters
    h = 1e-6
    numeric = np.empty_like(grad)
    for i in range(len(p)):
        keep = p[i]
        p[i] = keep + h
        up = net.loss_and_grad(X, y, dropout_step=step)[0]
        p[i] = keep - h
        down = net.loss_and_grad(X, y, dropout_step=step)[0]
        p[i] = keep
        numeric[i] = (up - down) / (2 * h)
    # The quotients' round-off is ~1e-16 * |loss| / h; entries far below the largest are judged
    # against that (atol), the rest to rtol.
    assert np.linalg.norm(grad - numeric) / np.linalg.norm(grad + numeric) < 1e-7
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8 * max(1.0, abs(value)))


def test_train_step_uses_the_current_step_then_advances():
    X, y = data()
    net = mlpcore.MLP([5, 10, 10, 3], "tanh", dropout=0.5, seed=1, dtype="float64")
    net.dropout_step = 41
    before = net.parameters.copy()
    value, grad = net.loss_and_grad(X, y, dropout_step=41)
    loss = net.train_step(X, y, mlpcore.SGD(lr=0.1))
    assert loss == value
    np.testing.assert_allclose(net.parameters, before - 0.1 * grad, rtol=1e-13, atol=1e-15)
    assert net.dropout_step == 42
    # A model without dropout counts steps too but computes exactly as before.
    assert mlpcore.MLP([5, 3]).dropout_step == 0


# -- training: reproducible, zero cost at p = 0, off in inference ---------------------------------
def fit(net, X, y, epochs=3, **kw):
    mlpcore.Trainer(net, mlpcore.Adam(lr=1e-2), batch_size=16, epochs=epochs, seed=2, progress=False,
                    **kw).fit(X, y)
    return net.parameters.copy()


def test_p_zero_is_bit_identical_to_no_dropout():
    X, y = data(n=100)
    a = fit(mlpcore.MLP([5, 16, 16, 3], "tanh", seed=3), X.astype(np.float32), y)
    b = fit(mlpcore.MLP([5, 16, 16, 3], "tanh", seed=3, dropout=0.0), X.astype(np.float32), y)
    c = fit(mlpcore.MLP([5, 16, 16, 3], "tanh", seed=3, dropout=[0.0, 0.0]), X.astype(np.float32), y)
    assert a.tobytes() == b.tobytes() == c.tobytes()
    net = mlpcore.MLP([5, 16, 3], seed=3, dropout=0.0)
    assert net.to_bytes() == mlpcore.MLP([5, 16, 3], seed=3).to_bytes()  # no "dropout" key written


def test_same_seed_same_weights_and_dropout_changes_training():
    X, y = data(n=100)
    a = fit(mlpcore.MLP([5, 16, 16, 3], "relu", seed=3, dropout=0.3), X, y)
    b = fit(mlpcore.MLP([5, 16, 16, 3], "relu", seed=3, dropout=0.3), X, y)
    none = fit(mlpcore.MLP([5, 16, 16, 3], "relu", seed=3), X, y)
    assert a.tobytes() == b.tobytes()
    assert not np.allclose(a, none, atol=1e-4)


def test_thread_count_does_not_change_the_masks():
    # A net large enough that the engine splits its products between threads: the masks are the
    # same, so training differs by the products' rounding only, far less than another mask does.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(512, 256)).astype(np.float32)
    y = rng.integers(0, 10, size=512)
    before = mlpcore.get_num_threads()
    runs = {}
    try:
        for threads, mask_seed in ((1, 5), (2, 5), (1, 6)):
            mlpcore.set_num_threads(threads)
            net = mlpcore.MLP([256, 512, 256, 10], "relu", seed=5, dropout=0.5)
            assert net.dropout_seed == 5
            net.dropout_seed = mask_seed  # same weights, other masks
            opt = mlpcore.SGD(lr=0.05)  # plain steps: Adam would magnify rounding in tiny gradients
            regions = mlpcore._core.parallel_regions()
            for s in range(4):
                net.train_step(X[s * 128:(s + 1) * 128], y[s * 128:(s + 1) * 128], opt)
            assert (mlpcore._core.parallel_regions() > regions) == (threads == 2)  # products were split
            runs[threads, mask_seed] = net.parameters.copy()
    finally:
        mlpcore.set_num_threads(before)
    rounding = np.abs(runs[1, 5] - runs[2, 5]).max()
    other_masks = np.abs(runs[1, 5] - runs[1, 6]).max()
    assert rounding < 1e-5 and other_masks > 100 * max(rounding, 1e-7)


def test_inference_never_drops():
    X, y = data()
    net = mlpcore.MLP([5, 16, 3], "tanh", seed=1, dropout=0.5)
    twin = mlpcore.MLP([5, 16, 3], "tanh", seed=1)
    np.testing.assert_array_equal(net.forward(X), twin.forward(X))
    np.testing.assert_array_equal(net.predict_proba(X), twin.predict_proba(X))
    np.testing.assert_array_equal(net.predict(X), twin.predict(X))
    assert net.evaluate(X, y) == twin.evaluate(X, y)
    assert net.loss(X, y) == twin.loss(X, y)
    np.testing.assert_array_equal(net.loss_and_grad(X, y)[1], twin.loss_and_grad(X, y)[1])


def test_a_dropout_net_still_learns():
    # XOR of two features' signs: not linearly separable; the dropout net must still fit it.
    X, _ = data(n=300)
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    net = mlpcore.MLP([5, 64, 2], "tanh", seed=0, dropout=0.2)
    mlpcore.Trainer(net, mlpcore.Adam(lr=1e-2), batch_size=32, epochs=60, progress=False).fit(X, y)
    assert net.evaluate(X, y)["accuracy"] > 0.9


# -- data-parallel and MPI ------------------------------------------------------------------------
def test_sharded_training_draws_the_masks_of_one_process():
    from mlpcore.distributed import DistributedTrainer

    X, y = data(n=203)
    ref = mlpcore.MLP([5, 16, 16, 3], "tanh", seed=3, dropout=[0.5, 0.2], dtype="float64")
    mlpcore.Trainer(ref, mlpcore.Adam(lr=1e-2), batch_size=50, epochs=2, progress=False).fit(X, y)
    for parts in (2, 3):
        net = mlpcore.MLP([5, 16, 16, 3], "tanh", seed=3, dropout=[0.5, 0.2], dtype="float64")
        DistributedTrainer(net, mlpcore.Adam(lr=1e-2), batch_size=50, epochs=2, progress=False,
                           simulate_ranks=parts).fit(X, y)
        np.testing.assert_allclose(net.parameters, ref.parameters, rtol=1e-10, atol=1e-12)
        assert net.dropout_step == ref.dropout_step == 2 * 5


MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")


def _mpi_fit(comm=None, simulate_ranks=None, dtype="float32"):
    from mlpcore.distributed import DistributedTrainer

    X, y = data(n=203)
    rank = 0 if comm is None else comm.Get_rank()
    # Other ranks start from other weights and masks: rank 0's are broadcast.
    net = mlpcore.MLP([5, 24, 16, 3], "tanh", seed=3 + rank, dropout=[0.5, 0.25], dtype=dtype)
    net.dropout_step = 7 * rank
    DistributedTrainer(net, mlpcore.Adam(lr=1e-2), batch_size=50, epochs=2, progress=False, comm=comm,
                       simulate_ranks=simulate_ranks, deterministic=True).fit(X, y)
    return net.parameters.copy()


@pytest.mark.skipif(MPIEXEC is None, reason="needs mpiexec (the mpi extra)")
def test_mpi_deterministic_with_dropout(tmp_path, engine_one_thread):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "MLPCORE"))}
    run = subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(HERE / "test_dropout.py"), "mpi", str(tmp_path)],
                         capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    for dtype in ("float32", "float64"):
        ranks = [np.load(tmp_path / f"rank{r}-{dtype}.npy") for r in range(2)]
        assert ranks[0].tobytes() == ranks[1].tobytes()
        assert ranks[0].tobytes() == _mpi_fit(simulate_ranks=2, dtype=dtype).tobytes()


# -- the model file -------------------------------------------------------------------------------
def _rewrite_metadata(blob: bytes, change) -> bytes:
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    change(header["__metadata__"])
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + blob[8 + n:]


def test_model_file_keeps_the_rates(tmp_path):
    net = mlpcore.MLP([4, 6, 5, 2], "tanh", dropout=[0.5, 0.125], seed=1)
    net.save(tmp_path / "m.safetensors")
    back = mlpcore.load(tmp_path / "m.safetensors")
    assert back.dropout == [0.5, 0.125]
    assert back.dropout_step == 0
    blob = (tmp_path / "m.safetensors").read_bytes()
    n = struct.unpack("<Q", blob[:8])[0]
    assert json.loads(json.loads(blob[8:8 + n])["__metadata__"]["dropout"]) == [0.5, 0.125]
    import pickle

    assert pickle.loads(pickle.dumps(net)).dropout == [0.5, 0.125]
    assert net.copy().dropout == [0.5, 0.125]


def test_old_files_without_dropout_load_as_zero(tmp_path):
    blob = mlpcore.MLP([4, 6, 5, 2], seed=1).to_bytes()
    assert b'"dropout"' not in blob  # what files written before dropout existed look like
    path = tmp_path / "old.safetensors"
    path.write_bytes(blob)
    assert mlpcore.load(path).dropout == [0.0, 0.0]


@pytest.mark.parametrize("value, match", [
    ("[1.5, 0.1]", r"invalid model file: architecture: dropout\[0\] must be in \[0, 1\), got 1.5"),
    ("[-0.5, 0.1]", r"dropout\[0\] must be in \[0, 1\)"),
    ("[0.1]", "dropout has 1 values; the architecture has 2 hidden layers"),
    ('["a", 0.1]', "dropout must be an array of numbers"),
    ("0.5", "dropout must be an array of numbers"),
    ("[0.1,", "invalid model file: dropout"),
])
def test_bad_dropout_in_a_file_is_refused(tmp_path, value, match):
    blob = mlpcore.MLP([4, 6, 5, 2], dropout=0.2, seed=1).to_bytes()
    bad = _rewrite_metadata(blob, lambda md: md.__setitem__("dropout", value))
    path = tmp_path / "bad.safetensors"
    path.write_bytes(bad)
    with pytest.raises(ValueError, match=match):
        mlpcore.load(path)


def test_dropout_is_a_reserved_metadata_key():
    net = mlpcore.MLP([4, 6, 2])
    net.metadata = {"dropout": "0.5"}
    with pytest.raises(ValueError, match="metadata key 'dropout' is reserved"):
        net.to_bytes()


# -- configuration and command line ---------------------------------------------------------------
def test_config_and_cli(tmp_path):
    from mlpcore.config import ConfigError, build_model, dump_config, from_dict, load_config, parse_value

    cfg = from_dict({"model": {"hidden": [8, 8], "dropout": [0.1, 0.3]}})
    assert build_model(cfg.model, [2, 8, 8, 4]).dropout == [0.1, 0.3]
    (tmp_path / "run.toml").write_text(dump_config(cfg))
    assert load_config(tmp_path / "run.toml") == cfg
    assert parse_value("model.dropout", "0.2") == 0.2
    assert parse_value("model.dropout", "0.2,0.1") == [0.2, 0.1]
    with pytest.raises(ConfigError, match=r"model.dropout must be in \[0, 1\), got 1"):
        from_dict({"model": {"dropout": 1.0}})
    with pytest.raises(ConfigError, match="model.dropout must be one value or one per hidden layer: 1 expected, got 2"):
        from_dict({"model": {"dropout": [0.1, 0.2]}})
    with pytest.raises(ConfigError, match="model.dropout must be a number or a list of numbers"):
        from_dict({"model": {"dropout": "high"}})
    with pytest.raises(ConfigError, match="model.dropout must be a number or comma-separated numbers"):
        parse_value("model.dropout", "x")
    out = tmp_path / "run"
    run = subprocess.run([sys.executable, "-m", "mlpcore", "train", "--epochs", "2", "--no-progress",
                          "--output.plots", "false", "--hidden", "16,16", "--model.dropout", "0.2,0.4",
                          "--data.n_per_class", "50", "--out", str(out)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert mlpcore.load(out / "model.safetensors").dropout == [0.2, 0.4]


# -- Poisson evaluation ---------------------------------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True])
def test_poisson_evaluate_gives_sklearns_mean_poisson_deviance(weighted):
    from sklearn.metrics import mean_poisson_deviance

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = rng.poisson(np.exp(0.5 * X[:, 0] + 0.3)).astype(float)
    assert (y == 0).any()  # y log y at y = 0 is taken as 0
    w = rng.uniform(0.1, 2.0, size=300) if weighted else None
    net = mlpcore.MLP([4, 8, 1], "tanh", output="exp", seed=1, dtype="float64")
    mlpcore.Trainer(net, mlpcore.Adam(lr=1e-2), epochs=20, progress=False).fit(X, y)
    got = net.evaluate(X, y, sample_weight=w)
    expected = mean_poisson_deviance(y, net.predict(X), sample_weight=w)
    assert set(got) == {"loss", "deviance"}
    np.testing.assert_allclose(got["deviance"], expected, rtol=1e-9)
    net32 = mlpcore.MLP([4, 8, 1], "tanh", output="exp", seed=1)
    net32.set_weights(net.get_weights())
    np.testing.assert_allclose(net32.evaluate(X, y, sample_weight=w)["deviance"],
                               mean_poisson_deviance(y, net32.predict(X).astype(float), sample_weight=w), rtol=1e-4)


if __name__ == "__main__" and sys.argv[1:2] == ["mpi"]:
    from mpi4py import MPI

    mlpcore.set_num_threads(1)
    for dt in ("float32", "float64"):
        params = _mpi_fit(comm=MPI.COMM_WORLD, dtype=dt)
        np.save(os.path.join(sys.argv[2], f"rank{MPI.COMM_WORLD.Get_rank()}-{dt}.npy"), params)


def test_onnx_export_is_the_inference_network():
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    import mlpcore.onnx

    net = mlpcore.MLP([5, 12, 8, 3], "tanh", seed=4, dropout=[0.5, 0.25])
    model = mlpcore.onnx.to_onnx(net)
    assert not any(node.op_type == "Dropout" for node in model.graph.node)
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props["dropout"]) == [0.5, 0.25]
    X, _ = data(n=20)
    X = X.astype(np.float32)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": X})[0]
    np.testing.assert_allclose(got, net.forward(X), rtol=1e-5, atol=1e-6)
    assert onnx.checker.check_model(model) is None
