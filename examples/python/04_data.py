"""Preparing data: the 4-arm spiral, the 80/20 split, standardization and mini-batches.

Run:  python examples/python/04_data.py [--fast] [--out figures]
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mlpcore import datasets  # noqa: E402


def _fmt(values):
    return "[" + ", ".join(f"{v:+.3f}" for v in values) + "]"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="accepted for symmetry; this script is fast")
    parser.add_argument("--out", default="figures", help="folder for the figures")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # The course's data set: 4 classes, noise sigma 0.16, 1000 points per class.
    X, y = datasets.spiral(classes=4, sigma=0.16, n_per_class=1000, seed=0)
    print(f"spiral: X {X.shape} {X.dtype}, y {y.shape}, points per class {np.bincount(y).tolist()}")

    # 80/20 split, stratified so each class keeps its share in both parts.
    X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, test_size=0.2, seed=0, stratify=True)
    print(f"split: {len(X_train)} training / {len(X_test)} test points; "
          f"test points per class {np.bincount(y_test).tolist()}")

    # Standardization: mean and scale measured on the training part only, applied to both.
    scaler = datasets.Standardizer().fit(X_train)
    Z_train, Z_test = scaler.transform(X_train), scaler.transform(X_test)
    print(f"before: training mean {_fmt(X_train.mean(axis=0))}, std {_fmt(X_train.std(axis=0))}")
    print(f"after:  training mean {_fmt(Z_train.mean(axis=0))}, std {_fmt(Z_train.std(axis=0))}")
    print(f"after:  test mean {_fmt(Z_test.mean(axis=0))} (close to 0, not exactly: "
          f"the test part was not used to fit the scaler)")

    # Mini-batches: each epoch visits the training rows once, in a new order, batch_size at a time.
    batch_size = 128
    n_batches = -(-len(X_train) // batch_size)
    rng = np.random.default_rng(0)
    orders = [rng.permutation(len(X_train)) for _ in range(2)]
    print(f"batches: {n_batches} per epoch of batch size {batch_size} "
          f"(the last one holds {len(X_train) - (n_batches - 1) * batch_size} rows)")
    print(f"batches: first rows of epoch 1 {orders[0][:5].tolist()}, of epoch 2 {orders[1][:5].tolist()}")

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    colors = plt.get_cmap("tab10")
    for c in range(4):
        axes[0].scatter(*X[y == c].T, s=3, color=colors(c), label=f"class {c}")
    axes[0].set_title("The spiral: 4 arms, sigma 0.16, 1000 points each")
    axes[0].legend(markerscale=4, fontsize=8)
    for c in range(4):
        axes[1].scatter(*X_train[y_train == c].T, s=3, color=colors(c), alpha=0.5)
        axes[1].scatter(*X_test[y_test == c].T, s=10, color=colors(c), marker="x")
    axes[1].set_title(f"80/20 split: dots {len(X_train)} training, crosses {len(X_test)} test")
    first = orders[0][:batch_size]
    axes[2].scatter(*Z_train.T, s=2, color="0.8")
    axes[2].scatter(*Z_train[first].T, s=12, c=[colors(c) for c in y_train[first]])
    axes[2].set_title("Standardized; one mini-batch of 128 in colour")
    for ax in axes:
        ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(out / "04_spiral_data.png", dpi=90)
    plt.close(fig)
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
