"""Data-parallel speed (not a test). Run on one machine:

    python benchmarks/bench_distributed.py            # launches the mpiexec runs itself

It trains 784-1024-1024-10 (float32, global batch 1024, synthetic MNIST-sized data) and reports
samples/s for 1 process × 1 thread, 1 process × 2 threads and 2 ranks × 1 thread (default
all-reduce with per-layer overlap, one-bucket all-reduce, deterministic gather); then times an
all-reduce of the 784-256-128-10 gradient (235,146 float32 = 0.94 MB) between 2 ranks against
a plain memory copy of the same bytes. Medians of the repeats; JSON on the last line.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

SIZES = [784, 1024, 1024, 10]
ROWS, BATCH, EPOCHS = 8192, 1024, 4


def data():
    rng = np.random.default_rng(0)
    X = rng.random((ROWS, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], ROWS)
    return X, y


def train_rate(comm=None, threads=1, **kwargs):
    """Median samples/s over EPOCHS epochs after a warm-up epoch."""
    import mlpcore
    from mlpcore.distributed import DistributedTrainer

    mlpcore.set_num_threads(threads)
    X, y = data()
    net = mlpcore.MLP(SIZES, seed=0)
    opt = mlpcore.Adam()
    if comm is None:
        trainer = mlpcore.Trainer(net, opt, batch_size=BATCH, epochs=1, progress=False)
    else:
        trainer = DistributedTrainer(net, opt, batch_size=BATCH, epochs=1, progress=False, comm=comm, **kwargs)
    trainer.fit(X, y)
    rates = []
    for _ in range(EPOCHS):
        if comm is not None:
            comm.Barrier()
        t0 = time.perf_counter()
        trainer.fit(X, y)
        rates.append(ROWS / (time.perf_counter() - t0))
    return statistics.median(rates)


def allreduce_vs_copy(comm):
    from mpi4py import MPI

    n = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10
    buf = np.ones(n, np.float32)
    dst = np.empty_like(buf)
    times_ar, times_copy = [], []
    for _ in range(300):
        comm.Barrier()
        t0 = time.perf_counter()
        comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
        times_ar.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        np.copyto(dst, buf)
        times_copy.append(time.perf_counter() - t0)
    return {"bytes": buf.nbytes, "allreduce_us": statistics.median(times_ar[20:]) * 1e6,
            "copy_us": statistics.median(times_copy[20:]) * 1e6}


def rank_main():
    from mlpcore.distributed import world

    comm = world()
    out = {"2x1 overlap": train_rate(comm), "2x1 one bucket": train_rate(comm, overlap=False),
           "2x1 deterministic": train_rate(comm, deterministic=True), "allreduce": allreduce_vs_copy(comm)}
    if comm.Get_rank() == 0:
        print(json.dumps(out), flush=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--rank":
        rank_main()
        return
    single1 = train_rate(threads=1)
    single2 = train_rate(threads=2)
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or "mpiexec"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
    run = subprocess.run([mpiexec, "-n", "2", sys.executable, os.path.abspath(__file__), "--rank"],
                         capture_output=True, text=True, env=env, check=True)
    ranks = json.loads(run.stdout.strip().splitlines()[-1])
    ar = ranks.pop("allreduce")
    print(f"784-1024-1024-10 float32, global batch {BATCH}, {ROWS} rows, median of {EPOCHS} epochs (samples/s)")
    print(f"  1 process x 1 thread : {single1:9.0f}")
    print(f"  1 process x 2 threads: {single2:9.0f}  ({single2 / single1:.2f}x)")
    for name, rate in ranks.items():
        print(f"  {name:21s}: {rate:9.0f}  ({rate / single1:.2f}x vs 1x1, {rate / single2:.2f}x vs 1x2)")
    print(f"all-reduce of {ar['bytes'] / 1e6:.2f} MB between 2 ranks: {ar['allreduce_us']:.0f} us; "
          f"memory copy of the same bytes: {ar['copy_us']:.0f} us ({ar['allreduce_us'] / ar['copy_us']:.1f}x)")
    print(json.dumps({"1x1": single1, "1x2": single2, **ranks, "allreduce": ar}))


if __name__ == "__main__":
    main()
