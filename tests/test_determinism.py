"""Same seed, same data, same thread count: the same weights, bit for bit.

Checked for Python loops of ``train_step`` and for the engine's own epoch loop (shuffled
mini-batches in C++), with 1 and 2 threads. Where a test needs both threads to work, its products
are above the engine's threshold for splitting a product (2M multiply-adds, cpp/src/parallel.hpp).
"""
import concurrent.futures
import subprocess
import sys
import time

import numpy as np
import pytest

import mlpcore

SIZES = [64, 256, 128, 10]


@pytest.fixture
def threads(request):
    previous = mlpcore.get_num_threads()
    mlpcore.set_num_threads(request.param)
    assert mlpcore.get_num_threads() == request.param
    yield request.param
    mlpcore.set_num_threads(previous)


def data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], size=n).astype(np.int32)
    return X, y


def bits(a):
    """The raw bit patterns, so -0.0 != 0.0 and NaN payloads count too."""
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


OPTIMIZERS = {
    "adam": lambda: mlpcore.Adam(lr=1e-3),
    "adamw_amsgrad": lambda: mlpcore.AdamW(lr=1e-3, amsgrad=True),
    "sgd_nesterov": lambda: mlpcore.SGD(lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4),
}


def train_steps(activation, opt_name, X, y, steps=6, batch=32, dtype="float32"):
    net = mlpcore.MLP(SIZES, activation, seed=7, dtype=dtype)
    opt = OPTIMIZERS[opt_name]()
    losses = []
    for s in range(steps):
        rows = slice((s * batch) % len(X), (s * batch) % len(X) + batch)
        losses.append(net.train_step(X[rows], y[rows], opt))
    return net.parameters.copy(), np.array(losses)


# Every optimizer on one thread; on two threads (where only the matrix products change) a subset,
# since a busy machine makes each multi-threaded step costly.
STEP_CASES = [(act, opt, 1) for act in ("relu", "maxout") for opt in OPTIMIZERS] + \
    [("relu", "adam", 2), ("maxout", "sgd_nesterov", 2)]


@pytest.mark.parametrize("activation,opt_name,threads", STEP_CASES, indirect=["threads"])
def test_train_step_loop_is_bit_identical(activation, opt_name, threads):
    X, y = data()
    p1, l1 = train_steps(activation, opt_name, X, y)
    p2, l2 = train_steps(activation, opt_name, X, y)
    np.testing.assert_array_equal(bits(p1), bits(p2))
    np.testing.assert_array_equal(l1, l2)
    assert np.isfinite(l1).all() and l1[-1] != l1[0]


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
def test_float64_train_step_loop_is_bit_identical(threads):
    X, y = data()
    p1, _ = train_steps("elu", "adam", X.astype(np.float64), y, steps=4, dtype="float64")
    p2, _ = train_steps("elu", "adam", X.astype(np.float64), y, steps=4, dtype="float64")
    np.testing.assert_array_equal(bits(p1), bits(p2))


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
def test_interleaved_networks_do_not_share_state(threads):
    # Two identical nets trained step by step in alternation end up identical to each other.
    X, y = data()
    nets = [mlpcore.MLP(SIZES, "relu", seed=3) for _ in range(2)]
    opts = [mlpcore.Adam(lr=1e-3) for _ in range(2)]
    for s in range(6):
        rows = slice(s * 40, s * 40 + 40)
        losses = [net.train_step(X[rows], y[rows], opt) for net, opt in zip(nets, opts)]
        assert losses[0] == losses[1]
    np.testing.assert_array_equal(bits(nets[0].parameters), bits(nets[1].parameters))


def train_epochs(X, y, seed, epochs=2, batch_size=32, shuffle=True, activation="relu", *,
                 loss="cross_entropy", sample_weight=None, scaling=None):
    output = {"cross_entropy": "softmax", "mse": "identity"}[loss]
    net = mlpcore.MLP(SIZES, activation, seed=11, output=output)
    if scaling is not None:
        net.set_input_scaling(*scaling)
    opt = mlpcore.Adam(lr=1e-3)
    results = []
    for epoch in range(epochs):
        r = net._net.train_epoch(X, y, sample_weight, getattr(mlpcore._core.Loss, loss),
                                 opt._engine("float32"), batch_size, shuffle, seed, epoch)
        results.append((r.loss, r.batches, r.samples, r.correct, r.counted))
    return net, results


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
@pytest.mark.parametrize("activation", ["relu", "maxout"])
def test_engine_epoch_loop_is_bit_identical(activation, threads):
    X, y = data(n=100)  # 3 full batches and a short one of 4 rows
    a, ra = train_epochs(X, y, seed=5, activation=activation)
    b, rb = train_epochs(X, y, seed=5, activation=activation)
    np.testing.assert_array_equal(bits(a.parameters), bits(b.parameters))
    assert ra == rb
    assert ra[0][1:3] == (4, 100)
    # a different shuffling seed visits the rows in another order: different weights
    c, _ = train_epochs(X, y, seed=6, activation=activation)
    assert not np.array_equal(a.parameters, c.parameters)


EPOCH_CASES = [("cross_entropy", False, False), ("cross_entropy", True, True), ("mse", True, False)]


@pytest.mark.parametrize("loss,weighted,scaled", EPOCH_CASES)
@pytest.mark.parametrize("threads", [1, 2], indirect=True)
def test_unshuffled_epoch_equals_train_step_loop(threads, loss, weighted, scaled):
    # Without shuffling, the engine's epoch is the sequence of consecutive batches (targets,
    # sample weights and the model's input scaling included); a Python loop of train_step over
    # the same batches computes the same thing, to float32 rounding: the engine gathers rows
    # into its own buffer, whose alignment may change vectorised sums.
    X, labels = data(n=128)
    rng = np.random.default_rng(9)
    y = labels if loss == "cross_entropy" else rng.normal(size=(128, SIZES[-1])).astype(np.float32)
    w = rng.uniform(0.0, 2.0, size=128).astype(np.float32) if weighted else None
    scaling = (rng.normal(size=SIZES[0]), rng.uniform(0.5, 2.0, size=SIZES[0])) if scaled else None
    net, results = train_epochs(X, y, seed=0, epochs=1, batch_size=32, shuffle=False, loss=loss,
                                sample_weight=w, scaling=scaling)
    loop = mlpcore.MLP(SIZES, "relu", seed=11, output=net.output)
    if scaled:
        loop.set_input_scaling(*scaling)
    opt = mlpcore.Adam(lr=1e-3)
    losses, weights = [], []
    for start in range(0, 128, 32):
        rows = slice(start, start + 32)
        losses.append(loop.train_step(X[rows], y[rows], opt, sample_weight=None if w is None else w[rows]))
        weights.append(32.0 if w is None else float(w[rows].sum()))
    np.testing.assert_allclose(net.parameters, loop.parameters, rtol=1e-5, atol=1e-7)
    # the epoch's loss is the (weighted) mean of its batches' losses before their updates
    assert results[0][0] == pytest.approx(np.dot(losses, weights) / np.sum(weights), rel=1e-5)


@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_probabilities_are_bit_stable(output, dtype):
    # 10 outputs: a float64 row is 80 bytes, so rows start at every alignment, and the output array
    # of each call lands at another address. Vectorised exp computed some values of a row with SIMD
    # code and others with scalar code, by address: float64 probabilities moved by 1-2 ulp from
    # call to call. Now each probability depends on its row's logits alone.
    net = mlpcore.MLP([10, 64, 10], "tanh", seed=3, dtype=dtype, output=output)
    X = np.random.default_rng(4).normal(size=(1000, 10)).astype(dtype)
    first = net.predict_proba(X)
    for _ in range(100):
        np.testing.assert_array_equal(bits(net.predict_proba(X)), bits(first))
    # This net's layers compute each row on its own (10 inputs, 10 outputs: row-wise kernels), so its
    # logits, and now its probabilities, are the same for a row alone and inside any batch. (Layers
    # wider than 16 on both sides use Eigen's GEMM, whose sums for one row and for a batch differ.)
    for i in range(0, 1000, 37):
        np.testing.assert_array_equal(bits(net.predict_proba(X[i:i + 1])[0]), bits(first[i]))
        np.testing.assert_array_equal(bits(net.predict_proba(X[i:i + 7])), bits(first[i:i + 7]))


# -- large products: pieces shared out between the threads, taken by whichever thread is free ------
LARGE = [256, 512, 256, 10]  # at 128 rows: 16.8M and 16.8M multiply-adds, cut into pieces


def train_large(X, y, steps=4):
    net = mlpcore.MLP(LARGE, "relu", seed=5)
    opt = mlpcore.Adam(lr=1e-3)
    for s in range(steps):
        net.train_step(X[s * 128:(s + 1) * 128], y[s * 128:(s + 1) * 128], opt)
    return net.parameters.copy()


@pytest.fixture
def busy_core():
    """A process spinning on a core: a worker thread of the engine is descheduled now and then."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.1)
    yield
    spinner.kill()
    spinner.wait()


@pytest.mark.parametrize("threads", [2], indirect=True)
def test_large_products_repeat_bit_for_bit_on_a_busy_machine(threads, busy_core):
    # Which thread takes which piece depends on timing, above all with a core taken by another
    # process; the pieces' bounds do not, so every weight is computed the same way each time.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(512, LARGE[0])).astype(np.float32)
    y = rng.integers(0, LARGE[-1], size=512).astype(np.int32)
    before = mlpcore._core.parallel_regions()
    reference = train_large(X, y)
    assert mlpcore._core.parallel_regions() > before  # the products did use the workers
    for _ in range(3):
        np.testing.assert_array_equal(bits(train_large(X, y)), bits(reference))


@pytest.mark.parametrize("threads", [2], indirect=True)
def test_concurrent_predictions_equal_one_at_a_time(threads):
    # Predictions from several Python threads at once (the GIL is released): one gets the
    # workers, the others run the same pieces on their own thread, with the same results.
    net = mlpcore.MLP(LARGE, "relu", seed=2)
    X = np.random.default_rng(3).normal(size=(256, LARGE[0])).astype(np.float32)
    reference = net.forward(X)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        outputs = list(pool.map(lambda _: net.forward(X), range(16)))
    for out in outputs:
        np.testing.assert_array_equal(bits(out), bits(reference))
