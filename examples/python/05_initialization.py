"""Weight initialization: Xavier, normalized Xavier, He and random, in a deep network.

For a stack of 8 hidden layers of 256 units, a batch of standard-normal inputs is pushed
through the freshly initialized network and the standard deviation of each layer's activations
is recorded. A good initializer keeps it roughly constant with depth; a poor one lets the signal
vanish (and with it the gradients) or explode. Then the same deep network is trained on the
spiral from each start.

  xavier             U(-1/sqrt(fan_in), 1/sqrt(fan_in))
  normalized_xavier  U(-sqrt(6/(fan_in+fan_out)), +sqrt(6/(fan_in+fan_out)))
  he                 N(0, 2/fan_in)
  random             N(0, 0.01^2)

Run:  python examples/python/05_initialization.py [--fast] [--out figures]
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import mlpcore  # noqa: E402
from mlpcore import datasets  # noqa: E402

INITS = ["xavier", "normalized_xavier", "he", "random"]
ACT = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0)}


def layer_stds(net, X, activation):
    """Standard deviation of each hidden layer's activations, computed from the net's weights;
    the last layer's logits are checked against the engine's own forward pass."""
    A = X.astype(np.float64)
    stds = []
    layers = net.get_weights()
    for W, b in layers[:-1]:
        A = ACT[activation](A @ W.T.astype(np.float64) + b)
        stds.append(A.std())
    W, b = layers[-1]
    logits = A @ W.T.astype(np.float64) + b
    np.testing.assert_allclose(net.forward(X), logits, rtol=1e-3, atol=1e-5 * max(1.0, np.abs(logits).max()))
    return stds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="narrower layers, fewer points and epochs")
    parser.add_argument("--out", default="figures", help="folder for the figures")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    depth, width = 8, (64 if args.fast else 256)

    # 1. Activation statistics per layer at initialization.
    X = np.random.default_rng(0).standard_normal((1000, width)).astype(np.float32)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, activation in zip(axes, ["tanh", "relu"]):
        for init in INITS:
            net = mlpcore.MLP([width] * (depth + 1) + [4], activation=activation, init=init, seed=0)
            stds = layer_stds(net, X, activation)
            ax.plot(range(1, depth + 1), stds, marker="o", label=init)
            print(f"{activation:<4} {init:<17} activation std per layer: "
                  + " ".join(f"{s:.3g}" for s in stds))
        ax.set(yscale="log", xlabel="hidden layer", ylabel="std of the activations",
               title=f"{depth} x {width} {activation} layers at initialization")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "05_init_layer_stds.png", dpi=90)
    plt.close(fig)

    # 2. Learning curves of a deep ReLU network on the spiral from each start.
    n_per_class, epochs, hidden = (250, 20, 64) if args.fast else (1000, 60, 128)
    Xs, ys = datasets.spiral(n_per_class=n_per_class, seed=0)
    X_train, X_test, y_train, y_test = datasets.train_test_split(Xs, ys, test_size=0.2, seed=0)
    fig, ax = plt.subplots(figsize=(6, 4))
    for init in INITS:
        net = mlpcore.MLP([2] + [hidden] * 6 + [4], activation="relu", init=init, seed=0)
        history = mlpcore.Trainer(net, mlpcore.Adam(lr=1e-3), batch_size=128, epochs=epochs, seed=0,
                                  validation_data=(X_test, y_test), progress=False).fit(X_train, y_train)
        ax.plot(history.epoch, history.val_metric, label=init)
        print(f"deep relu 2-{hidden}x6-4, {init:<17} test accuracy after {epochs} epochs "
              f"{history.val_metric[-1]:.4f}, after epoch 5 {history.val_metric[4]:.4f}")
    ax.set(xlabel="epoch", ylabel="test accuracy", title=f"2-{hidden}x6-4 ReLU on the spiral")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "05_init_curves.png", dpi=90)
    plt.close(fig)
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
