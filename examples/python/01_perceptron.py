"""The perceptron (Rosenblatt, 1958): learning to tell two images apart, and failing on XOR.

A perceptron fires (output 1) when the weighted sum of its inputs plus a bias is above zero, and
stays silent (output 0) otherwise. Positive weights are excitatory (that pixel pushes the unit to
fire), negative weights inhibitory. The learning rule changes the weights only after a mistake:

    w <- w + eta * (target - output) * x        b <- b + eta * (target - output)

Run:  python examples/python/01_perceptron.py [--fast] [--out figures]
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mlpcore import datasets  # noqa: E402
from mlpcore.sklearn import Perceptron  # noqa: E402


def fire(X, w, b):
    """1 where w·x + b > 0, else 0."""
    return (X @ w + b > 0).astype(int)


def train_perceptron(X, y, eta=1.0, max_epochs=100, seed=0, trail=None):
    """The 1958 rule, one sample at a time, in a shuffled order each epoch.

    Returns the weights, the bias and the number of mistakes in each epoch; training stops after
    the first epoch without a mistake. With a list as ``trail``, (w, b) is appended after every
    update.
    """
    rng = np.random.default_rng(seed)
    w, b = np.zeros(X.shape[1]), 0.0
    mistakes = []
    for _ in range(max_epochs):
        errors = 0
        for i in rng.permutation(len(X)):
            out = int(X[i] @ w + b > 0)
            if out != y[i]:
                w += eta * (y[i] - out) * X[i]
                b += eta * (y[i] - out)
                errors += 1
                if trail is not None:
                    trail.append((w.copy(), b))
        mistakes.append(errors)
        if errors == 0:
            break
    return w, b, mistakes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer samples (a few seconds)")
    parser.add_argument("--out", default="figures", help="folder for the figures")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # 1. Two images: a cross (label 0) and a circle (label 1), 5x5 pixels, with noisy copies.
    n_noisy = 20 if args.fast else 100
    X, y = datasets.two_images(n_noisy=n_noisy, flip_prob=0.1, seed=0, dtype=np.float64)
    X_test, y_test = datasets.two_images(n_noisy=n_noisy, flip_prob=0.1, seed=1, dtype=np.float64)
    w, b, mistakes = train_perceptron(X, y)
    train_acc = (fire(X, w, b) == y).mean()
    test_acc = (fire(X_test, w, b) == y_test).mean()
    print(f"two images: {len(X)} training images, converged after {len(mistakes)} epochs "
          f"(mistakes per epoch {mistakes})")
    print(f"two images: training accuracy {train_acc:.3f}, accuracy on new noisy copies {test_acc:.3f}")
    lib = Perceptron(random_state=0).fit(X, y)
    print(f"two images: mlpcore.sklearn.Perceptron training accuracy {lib.score(X, y):.3f}, "
          f"new copies {lib.score(X_test, y_test):.3f}")

    templates = datasets.two_images_templates()
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
    for ax, image, name in zip(axes[:2], templates, ["cross (label 0)", "circle (label 1)"]):
        ax.imshow(image, cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(name)
    limit = np.abs(w).max()
    im = axes[2].imshow(w.reshape(5, 5), cmap="RdBu_r", vmin=-limit, vmax=limit)
    axes[2].set_title(f"learned weights (bias {b:+.0f})\nred excitatory, blue inhibitory")
    fig.colorbar(im, ax=axes[2], fraction=0.046)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(out / "01_two_images_weights.png", dpi=100)
    plt.close(fig)

    # 2. XOR: no line separates (0,0),(1,1) from (0,1),(1,0), so the rule never settles.
    X_xor, y_xor = datasets.xor(dtype=np.float64)
    epochs = 20 if args.fast else 100
    trail = []
    w, b, mistakes = train_perceptron(X_xor, y_xor, max_epochs=epochs, trail=trail)
    xor_acc = (fire(X_xor, w, b) == y_xor).mean()
    print(f"XOR: still {mistakes[-1]} mistakes in epoch {len(mistakes)}; accuracy {xor_acc:.2f} "
          f"(a line gets at most 3 of the 4 points right)")
    lib_xor = Perceptron(random_state=0, max_iter=epochs, tol=None).fit(X_xor, y_xor)
    print(f"XOR: mlpcore.sklearn.Perceptron accuracy {lib_xor.score(X_xor, y_xor):.2f}")

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for label, marker, color in [(0, "o", "tab:blue"), (1, "s", "tab:orange")]:
        pts = X_xor[y_xor == label]
        ax.scatter(pts[:, 0], pts[:, 1], s=160, marker=marker, color=color, label=f"class {label}", zorder=3)
    # The lines of the last updates: the rule keeps moving the line, since every position
    # misclassifies at least one corner.
    xs = np.linspace(-0.5, 1.5, 2)
    shown = 0
    for k, (wk, bk) in enumerate(trail[-6:]):
        if abs(wk[1]) > 1e-12:
            ax.plot(xs, -(wk[0] * xs + bk) / wk[1], color="0.3", alpha=0.4 + 0.1 * k,
                    label="lines of the last updates" if shown == 0 else None)
            shown += 1
        elif abs(wk[0]) > 1e-12:
            ax.axvline(-bk / wk[0], color="0.3", alpha=0.4 + 0.1 * k,
                       label="lines of the last updates" if shown == 0 else None)
            shown += 1
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylim(-0.5, 1.5)
    ax.set_title(f"XOR: no single line separates the classes\n(accuracy {xor_acc:.2f} after {len(mistakes)} epochs)")
    ax.legend(loc="upper center", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "01_xor_line.png", dpi=100)
    plt.close(fig)
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
