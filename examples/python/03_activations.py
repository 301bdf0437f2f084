"""Activation functions and their derivatives, and what each does to training on the spiral.

sigmoid 1/(1+e^-x), tanh, ReLU max(0, x), leaky ReLU max(0.1x, x), ELU (x if x > 0 else
e^x - 1) and maxout max(w1·x + b1, w2·x + b2): the same 2-128-4 network is trained with each,
from the same seed, for the same epochs, and the test accuracy is recorded after every epoch.

Run:  python examples/python/03_activations.py [--fast] [--out figures]
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import mlpcore  # noqa: E402
from mlpcore import datasets, plot  # noqa: E402

ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "maxout"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a smaller spiral and fewer epochs")
    parser.add_argument("--out", default="figures", help="folder for the figures")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    plot.activation_gallery(path=out / "03_activation_gallery.png")

    n_per_class, epochs = (250, 30) if args.fast else (1000, 100)
    X, y = datasets.spiral(classes=4, sigma=0.16, n_per_class=n_per_class, seed=0)
    X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, test_size=0.2, seed=0)
    curves = {}
    for name in ACTIVATIONS:
        init = "xavier" if name in ("sigmoid", "tanh") else "he"
        net = mlpcore.MLP([2, 128, 4], activation=name, init=init, seed=0)
        trainer = mlpcore.Trainer(net, mlpcore.Adam(lr=1e-3), batch_size=128, epochs=epochs, seed=0,
                                  validation_data=(X_test, y_test), progress=False)
        history = trainer.fit(X_train, y_train)
        curves[name] = history
        print(f"{name:<11} init {init:<7} test accuracy after {epochs} epochs: {history.val_metric[-1]:.4f}"
              f"  (training loss {history.loss[-1]:.4f})")

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for name, history in curves.items():
        ax_loss.plot(history.epoch, history.loss, label=name)
        ax_acc.plot(history.epoch, history.val_metric, label=name)
    ax_loss.set(xlabel="epoch", ylabel="training loss", title="Training loss, 2-128-4 on the spiral")
    ax_acc.set(xlabel="epoch", ylabel="test accuracy", title="Test accuracy")
    ax_loss.set_yscale("log")
    ax_acc.legend()
    fig.tight_layout()
    fig.savefig(out / "03_activation_curves.png", dpi=90)
    plt.close(fig)
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
