"""Softmax and cross-entropy, with the lecture's numbers.

Softmax turns a network's outputs (logits) z into probabilities p_k = e^{z_k} / sum_j e^{z_j}.
Cross-entropy charges -log p_true for each sample: when the network gives the true class
p = 0.775, the loss is -log2(0.775) = 0.3677 bits (0.2549 in natural-log units, which mlpcore,
like PyTorch, uses). A confident right answer costs almost nothing; a confident wrong one costs a
lot.

Run:  python examples/python/06_loss.py [--fast] [--out figures]
"""
import argparse
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import mlpcore  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="accepted for symmetry; this script is fast")
    parser.add_argument("--out", default="figures", help="folder for the figures")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # By hand: the true class gets p = 0.775.
    p = 0.775
    print(f"by hand: -log2({p}) = {-math.log2(p):.4f} bits = {-math.log(p):.4f} nats")

    # The engine: a network with no hidden layer whose biases are the logits log(p), log(1 - p)
    # (weights zero), so softmax gives exactly (p, 1 - p) for any input.
    net = mlpcore.MLP([1, 2], dtype="float64")
    net.set_weights([(np.zeros((2, 1)), np.log([p, 1 - p]))])
    x = np.zeros((1, 1))
    probs = net.predict_proba(x)[0]
    loss = net.loss(x, np.array([0]))  # cross-entropy of true class 0, natural log
    print(f"mlpcore: softmax probabilities {probs.round(4).tolist()}, cross-entropy {loss:.4f} nats "
          f"= {loss / math.log(2):.4f} bits")

    # Softmax of a batch of logits, and the mean loss over the batch.
    logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3], [1.2, 0.2, 3.1]])
    labels = np.array([0, 1, 0])
    net3 = mlpcore.MLP([3, 3], dtype="float64")
    net3.set_weights([(np.eye(3), np.zeros(3))])  # identity layer: the logits are the inputs
    softmax = net3.predict_proba(logits)
    by_hand = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    print("softmax of [2.0, 1.0, 0.1]:", softmax[0].round(4).tolist(),
          "(by hand", by_hand[0].round(4).tolist(), ")")
    per_sample = -np.log(by_hand[np.arange(3), labels])
    print(f"batch: per-sample losses {per_sample.round(4).tolist()}, mean {per_sample.mean():.4f}; "
          f"mlpcore {net3.loss(logits, labels):.4f}")

    ps = np.linspace(0.01, 1.0, 400)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(ps, -np.log2(ps), label="-log2 p (bits)")
    ax.plot([p], [-math.log2(p)], "o", color="tab:red")
    ax.annotate(f"p = {p}: {-math.log2(p):.4f} bits", (p, -math.log2(p)), xytext=(0.35, 2.5),
                arrowprops=dict(arrowstyle="->"))
    ax.set(xlabel="probability given to the true class", ylabel="cross-entropy (bits)",
           title="Cross-entropy of one sample")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "06_cross_entropy.png", dpi=90)
    plt.close(fig)
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
