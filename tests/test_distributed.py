"""Data-parallel training over MPI (mlpcore.distributed) and nested parallelism in sweeps.

The MPI tests spawn ``mpiexec -n N`` (MPICH from the `mpi` extra) on tests/mpi_worker.py in a
subprocess with a timeout; 3 and 4 ranks oversubscribe the 2-core machine on purpose.
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import mlpcore
from mlpcore.distributed import DistributedTrainer

import reference as ref

HERE = pathlib.Path(__file__).parent
sys.path.insert(0, str(HERE))
import mpi_worker  # noqa: E402  (the worker's set-up is the single-process references' too)

MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")



@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    # 1003 rows: the last global batch has 3 rows, so with 4 ranks one part is empty.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1003, 6))
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)
    w = rng.uniform(0.0, 2.0, size=1003)
    w[:40] = 0.0  # some zero weights
    path = tmp_path_factory.mktemp("data") / "data.npz"
    np.savez(path, X=X, y=y, w=w)
    return path


def mpirun(n, scenario, out, data, timeout=60):
    """Run the worker on n ranks; returns the seconds it took."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "MLPCORE"))}
    t0 = time.perf_counter()
    run = subprocess.run([MPIEXEC, "-n", str(n), sys.executable, str(HERE / "mpi_worker.py"), scenario, str(out),
                          str(data)], capture_output=True, text=True, timeout=timeout, env=env, cwd=out)
    assert run.returncode == 0, run.stdout + run.stderr
    return time.perf_counter() - t0


def load_data(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


# -- training -------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 4])
def test_ranks_agree_and_match_single_process(n, tmp_path, data_file, engine_one_thread):
    mpirun(n, "train", tmp_path, data_file)
    ranks = [dict(np.load(tmp_path / f"train-rank{r}.npz")) for r in range(n)]
    data = load_data(data_file)
    for key in ranks[0]:  # parameters (and histories) equal on every rank, bit for bit
        for r in range(1, n):
            assert np.array_equal(ranks[r][key], ranks[0][key]), (key, r)
    for dtype in ("float32", "float64"):
        # deterministic=True: bit-identical to one process adding the same parts in order.
        params, loss = mpi_worker.fit(data, dtype, simulate_ranks=n)
        assert np.array_equal(ranks[0][f"{dtype}-det-params"], params), dtype
        assert np.array_equal(ranks[0][f"{dtype}-det-loss"], loss), dtype
        # Default mode: within rounding of ordinary single-process training.
        net = mpi_worker.make_net(dtype)
        mlpcore.Trainer(net, mlpcore.Adam(lr=mpi_worker.SETUP["lr"]), batch_size=mpi_worker.SETUP["batch_size"],
                        epochs=mpi_worker.SETUP["epochs"], progress=False).fit(data["X"], data["y"],
                                                                                sample_weight=data["w"])
        tol = 2e-4 if dtype == "float32" else 1e-10
        np.testing.assert_allclose(ranks[0][f"{dtype}-fast-params"], net.parameters, rtol=tol, atol=tol)
    # An independent oracle: NumPy forward/backward on each whole global batch (global sample
    # weight sum, the L2 penalty once), plain SGD, file order.
    net = mpi_worker.make_net("float64")
    pairs = net.get_weights()
    p = ref.flatten(pairs)
    opt, alpha, bs = ref.SGD(lr=0.1), mpi_worker.SETUP["alpha"], mpi_worker.SETUP["batch_size"]
    n_rows = len(data["y"])
    for _ in range(mpi_worker.SETUP["epochs"]):
        for start in range(0, n_rows, bs):
            sl = slice(start, start + bs)
            w = data["w"][sl]
            _, g = ref.loss_and_grad(ref.unflatten(p, pairs), data["X"][sl], data["y"][sl], "cross_entropy",
                                     ["tanh"], sample_weight=w)
            penalty = ref.flatten([(W * alpha / w.sum(), np.zeros_like(b)) for W, b in ref.unflatten(p, pairs)])
            p = opt.step(p, g + penalty)
    np.testing.assert_allclose(ranks[0]["sgd-params"], p, rtol=1e-9, atol=1e-11)


def test_faults_end_every_rank_with_the_same_error(tmp_path, data_file):
    seconds = mpirun(3, "faults", tmp_path, data_file)
    seen = [json.loads((tmp_path / f"faults-rank{r}.json").read_text()) for r in range(3)]
    for s in seen[1:]:
        assert s == seen[0]
    kind, message, epoch = seen[0]["nan_loss"]
    assert kind == "NonFiniteLossError" and epoch == 2 and "the loss became nan at epoch 2, batch 1" in message
    kind, message = seen[0]["nan_data"]
    assert kind == "ValueError" and "on rank 2:" in message and "NaN or infinity at row 7" in message
    assert "threads (rank 0: 1; rank 1: 2)" in seen[0]["threads"]
    assert "sizes (rank 0: [6, 24, 3]; rank 2: [6, 16, 3])" in seen[0]["shape"]
    assert seconds < 30


def test_ctrl_c_and_sigterm_on_one_rank_stop_all(tmp_path, data_file):
    seconds = mpirun(3, "signals", tmp_path, data_file)
    seen = [json.loads((tmp_path / f"signals-rank{r}.json").read_text()) for r in range(3)]
    for name in ("sigint", "sigterm"):
        first = seen[0][name]
        assert first["interrupted"] and 0 < first["epochs"] < 100_000
        for s in seen[1:]:
            assert s[name] == first  # same epoch count, same weights
    assert seconds < 30


def test_cli_writes_one_model(tmp_path):
    for n in (1, 2):
        out = tmp_path / f"run{n}"
        run = subprocess.run([MPIEXEC, "-n", str(n), sys.executable, "-m", "mlpcore", "train", "--distributed",
                              "--epochs", "3", "--no-progress", "--output.plots", "false", "--out", str(out)],
                             capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert run.returncode == 0, run.stdout + run.stderr
        assert run.stdout.count("wrote ") == 1  # rank 0 alone reports and writes
        net = mlpcore.load(out / "model.safetensors")
        assert net.sizes == [2, 128, 4]
        assert sorted(p.name for p in tmp_path.iterdir()) == [f"run{k}" for k in range(1, n + 1)]


def test_reference_needs_no_mpi_and_rejects_comm(data_file, engine_one_thread):
    data = load_data(data_file)
    with pytest.raises(ValueError, match="either comm or simulate_ranks"):
        DistributedTrainer(mpi_worker.make_net("float32"), mlpcore.Adam(), comm=object(), simulate_ranks=2)
    # One part is ordinary training up to rounding; parts change only the summation order.
    a, _ = mpi_worker.fit(data, "float64", simulate_ranks=1)
    b, _ = mpi_worker.fit(data, "float64", simulate_ranks=4)
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


# -- thread limits and sweeps ---------------------------------------------------------------------
def test_threads_obey_threadpool_limits_and_omp_num_threads():
    from threadpoolctl import threadpool_limits

    mlpcore.set_num_threads(2)
    with threadpool_limits(1):
        assert mlpcore.get_num_threads() == 1
        assert mlpcore.build_info()["num_threads"] == 1
    assert mlpcore.get_num_threads() == 2
    code = "import mlpcore; mlpcore.set_num_threads(2); print(mlpcore.get_num_threads())"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert run.stdout.strip().splitlines()[-1] == "1", run.stderr  # (an editable install may print first)


def _threads_scorer(estimator, X, y):
    return mlpcore.get_num_threads()


def _grid():
    from sklearn.model_selection import GridSearchCV

    from mlpcore.sklearn import MLPClassifier

    est = MLPClassifier(hidden_layer_sizes=(32,), max_iter=300, learning_rate_init=0.01, tol=1e-3, random_state=0)
    return GridSearchCV(est, {"alpha": [1e-4, 1e-2]}, cv=2, scoring={"acc": "accuracy", "threads": _threads_scorer},
                        refit="acc", n_jobs=2)


def _digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:400] / 16.0, y[:400]


def test_gridsearch_joblib_under_threadpool_limits():
    from threadpoolctl import threadpool_limits

    X, y = _digits()
    with threadpool_limits(1):
        search = _grid().set_params(n_jobs=1).fit(X, y)
        assert list(search.cv_results_["mean_test_threads"]) == [1, 1]
    search = _grid().fit(X, y)  # loky workers: joblib caps OpenMP at cores // n_jobs = 1
    assert list(search.cv_results_["mean_test_threads"]) == [1, 1]
    assert search.best_score_ > 0.85


def test_gridsearch_on_dask_local_cluster():
    from dask.distributed import Client, LocalCluster
    from joblib import parallel_backend

    X, y = _digits()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster), parallel_backend("dask"):
        search = _grid().fit(X, y)
    # Dask's nanny starts workers with OMP_NUM_THREADS=1; the engine obeys it.
    assert list(search.cv_results_["mean_test_threads"]) == [1, 1]
    assert search.best_score_ > 0.85
