"""From perceptron to MLP: one hidden layer solves XOR, and what its hidden units see.

Each hidden unit draws its own line across the plane (where its pre-activation is zero); the
output layer combines the units, so the network's boundary need not be a single line.

Run:  python examples/python/02_xor_mlp.py [--fast] [--out figures]
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import mlpcore  # noqa: E402
from mlpcore import datasets, plot  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer epochs (a few seconds)")
    parser.add_argument("--out", default="figures", help="folder for the figures")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    X, y = datasets.xor()  # the four corners of the unit square, labelled x0 XOR x1
    # Without a hidden layer the network is a linear classifier: it cannot get all four right.
    linear = mlpcore.MLP([2, 2], seed=0)
    mlpcore.Trainer(linear, mlpcore.Adam(lr=0.05), batch_size=4, epochs=300, progress=False).fit(X, y)
    print(f"no hidden layer: accuracy {(linear.predict(X) == y).mean():.2f}")

    # One hidden layer of 4 tanh units.
    net = mlpcore.MLP([2, 4, 2], activation="tanh", init="xavier", seed=0)
    epochs = 300 if args.fast else 1000
    history = mlpcore.Trainer(net, mlpcore.Adam(lr=0.05), batch_size=4, epochs=epochs, progress=False).fit(X, y)
    accuracy = (net.predict(X) == y).mean()
    print(f"one hidden layer (2-4-2, tanh): accuracy {accuracy:.2f}, final loss {history.loss[-1]:.4f}")
    print("probability of class 1 at (0,0) (0,1) (1,0) (1,1): "
          + " ".join(f"{p:.3f}" for p in net.predict_proba(X)[:, 1]))

    plot.decision_boundary(net, X, y, path=out / "02_xor_boundary.png", title="XOR learned by a 2-4-2 MLP")

    # What the hidden units see: each unit's activation tanh(w·x + b) over the plane, computed
    # from the learned weights, with its zero line.
    (W1, b1), _ = net.get_weights()
    grid = np.linspace(-0.5, 1.5, 201)
    gx, gy = np.meshgrid(grid, grid)
    points = np.column_stack([gx.ravel(), gy.ravel()])
    hidden = np.tanh(points @ W1.T.astype(np.float64) + b1)
    fig, axes = plt.subplots(1, W1.shape[0], figsize=(3.2 * W1.shape[0], 3.2))
    for j, ax in enumerate(axes):
        im = ax.contourf(gx, gy, hidden[:, j].reshape(gx.shape), levels=21, cmap="RdBu_r", vmin=-1, vmax=1)
        ax.contour(gx, gy, hidden[:, j].reshape(gx.shape), levels=[0], colors="k", linewidths=1)
        ax.scatter(X[:, 0], X[:, 1], c=["tab:blue" if t == 0 else "tab:orange" for t in y],
                   edgecolors="k", s=80, zorder=3)
        ax.set_title(f"hidden unit {j}")
        ax.set_aspect("equal")
    fig.colorbar(im, ax=axes, fraction=0.02)
    fig.suptitle("Each hidden unit's activation over the plane (black: its line, where it is 0)")
    fig.savefig(out / "02_hidden_units.png", dpi=90)
    plt.close(fig)
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
