"""Run by tests/test_distributed.py under ``mpiexec -n N python mpi_worker.py SCENARIO OUT DATA``.

Each rank loads the same data file, runs the scenario and writes what it saw to
``OUT/<scenario>-rank<r>.npz`` or ``.json``; the test compares the ranks and the references.
"""
import json
import os
import signal
import sys
import threading

import numpy as np

import mlpcore
from mlpcore.distributed import DistributedTrainer, world

SETUP = dict(sizes=[6, 24, 3], lr=0.01, batch_size=100, epochs=3, alpha=1e-3)


def make_net(dtype, sizes=None):
    net = mlpcore.MLP(sizes or SETUP["sizes"], activation="tanh", seed=3, dtype=dtype)
    net.weight_penalty = SETUP["alpha"]
    return net


def fit(data, dtype, comm=None, optimizer=None, simulate_ranks=None, **kwargs):
    """The run the deterministic test repeats in one process (simulate_ranks) as its reference."""
    net = make_net(dtype)
    opt = optimizer or mlpcore.Adam(lr=SETUP["lr"])
    trainer = DistributedTrainer(net, opt, batch_size=SETUP["batch_size"], epochs=SETUP["epochs"], progress=False,
                                 comm=comm, simulate_ranks=simulate_ranks, **kwargs)
    history = trainer.fit(data["X"], data["y"], sample_weight=data["w"])
    return net.parameters.copy(), np.array(history.loss)


def scenario_train(comm, data, out):
    results = {}
    for dtype in ("float32", "float64"):
        for mode in ("det", "fast"):
            params, loss = fit(data, dtype, comm, deterministic=mode == "det")
            results[f"{dtype}-{mode}-params"], results[f"{dtype}-{mode}-loss"] = params, loss
    # Plain SGD in file order, for the NumPy oracle.
    params, _ = fit(data, "float64", comm, optimizer=mlpcore.SGD(lr=0.1), shuffle=False)
    results["sgd-params"] = params
    np.savez(os.path.join(out, f"train-rank{comm.Get_rank()}.npz"), **results)


def scenario_faults(comm, data, out):
    rank, size = comm.Get_rank(), comm.Get_size()
    seen = {}

    def poison(trainer, logs):  # a NaN in one rank's weights after the first epoch
        if rank == 1 and logs["epoch"] == 1:
            trainer.net.parameters[0] = np.nan

    net = make_net("float32")
    trainer = DistributedTrainer(net, mlpcore.Adam(), batch_size=100, epochs=5, progress=False, callbacks=[poison])
    try:
        trainer.fit(data["X"], data["y"])
    except mlpcore.NonFiniteLossError as e:
        seen["nan_loss"] = [type(e).__name__, str(e), e.epoch]
    X = data["X"].copy()
    if rank == size - 1:
        X[7, 2] = np.nan
    try:
        DistributedTrainer(make_net("float32"), mlpcore.Adam(), epochs=2, progress=False).fit(X, data["y"])
    except ValueError as e:
        seen["nan_data"] = [type(e).__name__, str(e)]
    # Mismatches: the thread count on rank 1, then the model's shape on the last rank.
    mlpcore.set_num_threads(2 if rank == 1 else 1)
    try:
        DistributedTrainer(make_net("float32"), mlpcore.Adam(), epochs=1, progress=False).fit(data["X"], data["y"])
    except ValueError as e:
        seen["threads"] = str(e)
    mlpcore.set_num_threads(1)
    sizes = [6, 16, 3] if rank == size - 1 else None
    try:
        DistributedTrainer(make_net("float32", sizes), mlpcore.Adam(), epochs=1, progress=False).fit(data["X"], data["y"])
    except ValueError as e:
        seen["shape"] = str(e)
    with open(os.path.join(out, f"faults-rank{rank}.json"), "w") as f:
        json.dump(seen, f)


def scenario_signals(comm, data, out):
    """SIGINT on rank 1, then SIGTERM on the last rank, each during a long fit."""
    rank, size = comm.Get_rank(), comm.Get_size()
    seen = {}
    for name, signum, target in (("sigint", signal.SIGINT, 1), ("sigterm", signal.SIGTERM, size - 1)):
        def send(trainer, logs, signum=signum, target=target):  # once training runs
            if rank == target and logs["epoch"] == 1:
                threading.Timer(0.3, os.kill, (os.getpid(), signum)).start()

        net = make_net("float32")
        trainer = DistributedTrainer(net, mlpcore.Adam(), batch_size=50, epochs=100_000, progress=False,
                                     callbacks=[send])
        history = trainer.fit(data["X"], data["y"])
        seen[name] = {"interrupted": history.interrupted, "epochs": len(history),
                      "params": net.parameters.tolist()}
    with open(os.path.join(out, f"signals-rank{rank}.json"), "w") as f:
        json.dump(seen, f)


if __name__ == "__main__":
    scenario, out, data_path = sys.argv[1:4]
    mlpcore.set_num_threads(1)
    with np.load(data_path) as z:
        data = {k: z[k] for k in z.files}
    globals()[f"scenario_{scenario}"](world(), data, out)
