# SPDX-License-Identifier: MIT
"""The engine at the hardware's limit: whole training epochs, mlpcore against PyTorch and scikit-learn.

Trains ReLU MLPs (float32, Adam, softmax cross-entropy) on an MNIST-shaped random task (784 inputs,
10 classes) for one whole epoch per timed run:

- 784-256-128-10 at batch 128 and 1024, 784-1024-1024-10 at batch 256;
- mlpcore with 1 engine thread, and 2 (the 2-thread/1-thread row);
- PyTorch eager float32 with ``torch.set_num_threads(1)``: a plain loop over pre-shuffled tensors
  (``nn.Sequential`` of ``nn.Linear``/``nn.ReLU``, ``F.cross_entropy``, ``torch.optim.Adam``);
- scikit-learn's ``MLPClassifier`` (adam, one epoch, BLAS limited to one thread) on the smaller net.

Engines alternate inside every round, so drift on a shared machine hits all alike; the report gives
median samples/s, mlpcore's ratio to each, and the share of one core's FMA peak (the probe of
``mlpcore bench``, python/mlpcore/bench/peak.py) that mlpcore reaches in real FLOPs: 2 per
multiply-add of the forward product, the weight gradient and the input gradient of every layer but
the first (whose input gradient is never computed).

    python benchmarks/bench_engine.py [--rows 8192] [--rounds 5] [--no-sklearn] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

import mlpcore
from mlpcore.bench.peak import fma_peak

CASES = [((784, 256, 128, 10), 128), ((784, 256, 128, 10), 1024), ((784, 1024, 1024, 10), 256)]


def flops_per_sample(sizes) -> float:
    """Real FLOPs of one training sample: forward, dW and dX (not the first layer's)."""
    products = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 2.0 * (3 * sum(products) - products[0])


def mlpcore_epoch(X, y, sizes, batch, threads) -> float:
    mlpcore.set_num_threads(threads)
    net = mlpcore.MLP(list(sizes), "relu", seed=0)
    trainer = mlpcore.Trainer(net, mlpcore.Adam(lr=1e-3), batch_size=batch, epochs=1, seed=0, progress=False)
    start = time.perf_counter()
    trainer.fit(X, y)
    return time.perf_counter() - start


def torch_epoch(torch, X, y, sizes, batch) -> float:
    # One thread for PyTorch only: torch.set_num_threads also sets the calling thread's OpenMP
    # limit, which caps mlpcore's threads when both use the same libgomp.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _torch_epoch(torch, X, y, sizes, batch)
    finally:
        torch.set_num_threads(previous)


def _torch_epoch(torch, X, y, sizes, batch) -> float:
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    perm = torch.randperm(X.shape[0], generator=gen)
    Xs, ys = X[perm], y[perm]
    for i in range(0, X.shape[0], batch):
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(Xs[i:i + batch]), ys[i:i + batch])
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def sklearn_epoch(X, y, sizes, batch) -> float:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=sizes[1:-1], solver="adam", batch_size=batch, max_iter=1,
                        shuffle=True, random_state=0, tol=0.0)
    # Only scikit-learn's BLAS is limited: threadpoolctl's limit also caps the calling thread's
    # OpenMP setting, which mlpcore obeys, so the 2-thread rows must run outside it.
    with warnings.catch_warnings(), threadpool_limits(1, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        clf.fit(X, y)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=8192, help="training rows per epoch (default 8192)")
    parser.add_argument("--rounds", type=int, default=5, help="timed epochs per engine and case (default 5)")
    parser.add_argument("--no-sklearn", action="store_true", help="leave scikit-learn out")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.rows, 784), dtype=np.float32)
    y = rng.integers(0, 10, args.rows).astype(np.int64)
    torch = None
    if not args.no_torch:
        import torch

        tX, ty = torch.from_numpy(X), torch.from_numpy(y)
    peak = fma_peak(4_000_000)
    previous = mlpcore.get_num_threads()
    rows = []
    try:
        for sizes, batch in CASES:
            engines = {"mlpcore 1T": lambda: mlpcore_epoch(X, y, sizes, batch, 1),
                       "mlpcore 2T": lambda: mlpcore_epoch(X, y, sizes, batch, 2)}
            if torch is not None:
                engines["torch 1T"] = lambda: torch_epoch(torch, tX, ty, sizes, batch)
            if not args.no_sklearn and sizes == (784, 256, 128, 10):
                engines["sklearn 1T"] = lambda: sklearn_epoch(X, y, sizes, batch)
            times = {name: [] for name in engines}
            for fn in engines.values():
                fn()  # warm-up
            for r in range(args.rounds):
                for name in (list(engines) if r % 2 == 0 else list(engines)[::-1]):
                    times[name].append(engines[name]())
            med = {name: statistics.median(t) for name, t in times.items()}
            sps = {name: args.rows / m for name, m in med.items()}
            gflops = sps["mlpcore 1T"] * flops_per_sample(sizes) / 1e9
            rows.append({"net": "-".join(map(str, sizes)), "batch": batch, "samples_per_s": sps,
                         "mlpcore_gflops": gflops,
                         "peak_share": gflops / peak["gflops"] if peak.get("gflops") else None,
                         "ratio": {name: sps["mlpcore 1T"] / s for name, s in sps.items() if name != "mlpcore 1T"}})
    finally:
        mlpcore.set_num_threads(previous)

    print(f"FMA peak (probe): {peak.get('gflops') or float('nan'):.1f} GFLOP/s; {args.rows} rows/epoch, "
          f"median of {args.rounds}")
    print(f"{'net':18} {'batch':>5} {'engine':11} {'samples/s':>10} {'mlpcore 1T / it':>16}")
    for row in rows:
        for name, s in row["samples_per_s"].items():
            ratio = row["ratio"].get(name)
            note = "" if ratio is None else f"{ratio:16.2f}"
            print(f"{row['net']:18} {row['batch']:5d} {name:11} {s:10.0f} {note}")
        share = row["peak_share"]
        print(f"{'':18} {'':5} mlpcore 1T: {row['mlpcore_gflops']:.1f} GFLOP/s real"
              + ("" if share is None else f" = {100 * share:.0f} % of the FMA peak")
              + f"; 2T/1T = {1 / row['ratio']['mlpcore 2T']:.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"peak": peak, "rows": args.rows, "rounds": args.rounds, "results": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
