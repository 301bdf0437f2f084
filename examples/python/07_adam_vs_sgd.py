"""Adam against SGD on the spiral.

The same 2-128-4 ReLU network, from the same He-initialized weights and the same batch order,
trained with plain SGD, SGD with momentum 0.9, and Adam, each at its customary learning rate.

Run:  python examples/python/07_adam_vs_sgd.py [--fast] [--out figures]
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import mlpcore  # noqa: E402
from mlpcore import datasets  # noqa: E402

OPTIMIZERS = {
    "SGD lr=0.01": lambda: mlpcore.SGD(lr=0.01),
    "SGD lr=0.01, momentum 0.9": lambda: mlpcore.SGD(lr=0.01, momentum=0.9),
    "Adam lr=0.001": lambda: mlpcore.Adam(lr=1e-3),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a smaller spiral and fewer epochs")
    parser.add_argument("--out", default="figures", help="folder for the figures")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    n_per_class, epochs = (250, 30) if args.fast else (1000, 100)
    X, y = datasets.spiral(n_per_class=n_per_class, seed=0)
    X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, test_size=0.2, seed=0)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for name, make in OPTIMIZERS.items():
        net = mlpcore.MLP([2, 128, 4], activation="relu", init="he", seed=0)
        history = mlpcore.Trainer(net, make(), batch_size=128, epochs=epochs, seed=0,
                                  validation_data=(X_test, y_test), progress=False).fit(X_train, y_train)
        ax_loss.plot(history.epoch, history.loss, label=name)
        ax_acc.plot(history.epoch, history.val_metric, label=name)
        print(f"{name:<26} after {epochs} epochs: training loss {history.loss[-1]:.4f}, "
              f"test accuracy {history.val_metric[-1]:.4f}")
    ax_loss.set(xlabel="epoch", ylabel="training loss", yscale="log", title="Training loss")
    ax_acc.set(xlabel="epoch", ylabel="test accuracy", title="Test accuracy")
    ax_acc.legend(fontsize=8)
    fig.suptitle("2-128-4 ReLU on the spiral: SGD against Adam")
    fig.tight_layout()
    fig.savefig(out / "07_adam_vs_sgd.png", dpi=90)
    plt.close(fig)
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
