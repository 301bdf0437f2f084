"""What dropout costs in the engine's training loop: epochs of 784-256-128-10 (and the course's
2-128-4) at batch 128 with p = 0 (no mask: the plain path), p = 0.2 and p = 0.5, float32,
one engine thread by default. Prints the median seconds per epoch over --repeats runs and the
ratio to p = 0; PyTorch's nn.Dropout loop beside it when torch is installed (--torch).

    python benchmarks/bench_dropout.py [--threads 1] [--repeats 7] [--torch]
"""
import argparse
import statistics
import time

import numpy as np

import mlpcore

NETS = {"784-256-128-10": ([784, 256, 128, 10], 8192), "2-128-4": ([2, 128, 4], 8192)}


def engine_epoch_seconds(sizes, n, p, repeats):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], size=n).astype(np.int32)
    net = mlpcore.MLP(sizes, "relu", seed=0, dropout=p)
    opt = mlpcore.Adam(lr=1e-3)
    net.train_epoch(X, y, None, opt, loss="cross_entropy", batch_size=128, shuffle=True, seed=0, epoch=0)
    times = []
    for e in range(repeats):
        t0 = time.perf_counter()
        net.train_epoch(X, y, None, opt, loss="cross_entropy", batch_size=128, shuffle=True, seed=0, epoch=e + 1)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def torch_epoch_seconds(sizes, n, p, repeats):
    import torch

    torch.manual_seed(0)
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers += [torch.nn.ReLU()] + ([torch.nn.Dropout(p)] if p > 0 else [])
    model = torch.nn.Sequential(*layers).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    X = torch.randn(n, sizes[0])
    y = torch.randint(0, sizes[-1], (n,))

    def epoch():
        order = torch.randperm(n)
        for s in range(0, n, 128):
            idx = order[s:s + 128]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(X[idx]), y[idx]).backward()
            opt.step()

    epoch()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        epoch()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--torch", action="store_true")
    args = ap.parse_args()
    mlpcore.set_num_threads(args.threads)
    if args.torch:
        import torch

        torch.set_num_threads(args.threads)
    print(f"threads {args.threads}, median of {args.repeats} epochs, batch 128, float32, relu")
    for name, (sizes, n) in NETS.items():
        base = None
        for p in (0.0, 0.2, 0.5):
            s = engine_epoch_seconds(sizes, n, p, args.repeats)
            base = base or s
            line = f"{name:16s} p={p:.1f}  mlpcore {s * 1e3:8.2f} ms/epoch  x{s / base:5.2f}"
            if args.torch:
                t = torch_epoch_seconds(sizes, n, p, args.repeats)
                line += f"   torch {t * 1e3:8.2f} ms/epoch  (torch/mlpcore {t / s:5.2f})"
            print(line)


if __name__ == "__main__":
    main()
