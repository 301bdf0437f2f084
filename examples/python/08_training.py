"""Training the MLP: the course's full run and its decision boundary.

The 4-arm spiral (sigma 0.16, 1000 points per class), an 80/20 split, a 2-128-4 ReLU network
with He initialization, softmax cross-entropy, Adam (lr 0.001), batches of 128, 100 epochs.
The same run as `mlpcore train` with its defaults.

Run:  python examples/python/08_training.py [--fast] [--out figures]
"""
import argparse
from pathlib import Path

import mlpcore
from mlpcore import datasets, plot


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer epochs")
    parser.add_argument("--out", default="figures", help="folder for the figures")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    X, y = datasets.spiral(classes=4, sigma=0.16, n_per_class=1000, seed=0)
    X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, test_size=0.2, seed=0)
    net = mlpcore.MLP([2, 128, 4], activation="relu", init="he", seed=0)
    epochs = 30 if args.fast else 100
    trainer = mlpcore.Trainer(net, mlpcore.Adam(lr=1e-3), batch_size=128, epochs=epochs, seed=0,
                              validation_data=(X_test, y_test), progress=False)
    history = trainer.fit(X_train, y_train)
    result = trainer.evaluate(X_test, y_test)
    print(f"trained {epochs} epochs in {sum(history.seconds):.2f} s")
    print(f"test loss {result['loss']:.4f}, test accuracy {result['accuracy']:.4f}")
    plot.learning_curves(history, path=out / "08_learning_curves.png", title="2-128-4 ReLU on the spiral")
    plot.decision_boundary(net, X_test, y_test, path=out / "08_decision_boundary.png",
                           title="Decision regions and the test points")
    net.save(out / "spiral.safetensors")
    again = mlpcore.load(out / "spiral.safetensors")
    print(f"saved and reloaded: same predictions {bool((again.predict(X_test) == net.predict(X_test)).all())}")
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
