"""Every course example runs in its fast mode, prints what its page says, and draws its figures."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "python"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

FIGURES = {
    "01_perceptron.py": ["01_two_images_weights.png", "01_xor_line.png"],
    "02_xor_mlp.py": ["02_xor_boundary.png", "02_hidden_units.png"],
    "03_activations.py": ["03_activation_gallery.png", "03_activation_curves.png"],
    "04_data.py": ["04_spiral_data.png"],
    "05_initialization.py": ["05_init_layer_stds.png", "05_init_curves.png"],
    "06_loss.py": ["06_cross_entropy.png"],
    "07_adam_vs_sgd.py": ["07_adam_vs_sgd.png"],
    "08_training.py": ["08_learning_curves.png", "08_decision_boundary.png"],
}


def run_example(name, out):
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), "--fast", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    for figure in FIGURES[name]:
        data = (out / figure).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5000, figure
    return proc.stdout


def number(pattern, text):
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in output:\n{text}"
    return float(match.group(1))


def test_every_example_is_tested():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(FIGURES)


def test_perceptron_learns_two_images_and_fails_on_xor(tmp_path):
    out = run_example("01_perceptron.py", tmp_path)
    assert number(r"two images: training accuracy ([\d.]+)", out) == 1.0
    assert number(r"accuracy on new noisy copies ([\d.]+)", out) >= 0.95
    assert number(r"Perceptron training accuracy ([\d.]+)", out) == 1.0
    assert number(r"XOR: still (\d+) mistakes", out) >= 1
    assert number(r"XOR: still \d+ mistakes in epoch \d+; accuracy ([\d.]+)", out) <= 0.75
    assert number(r"XOR: mlpcore.sklearn.Perceptron accuracy ([\d.]+)", out) <= 0.75


def test_one_hidden_layer_solves_xor(tmp_path):
    out = run_example("02_xor_mlp.py", tmp_path)
    assert number(r"no hidden layer: accuracy ([\d.]+)", out) <= 0.75
    assert number(r"one hidden layer \(2-4-2, tanh\): accuracy ([\d.]+)", out) == 1.0


def test_activations_train_on_the_spiral(tmp_path):
    out = run_example("03_activations.py", tmp_path)
    for name in ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "maxout"]:
        accuracy = number(rf"{name}\s+init \w+\s+test accuracy after \d+ epochs: ([\d.]+)", out)
        assert 0.25 <= accuracy <= 1.0
    # Even in the short run the piecewise-linear units beat the saturating sigmoid.
    sigmoid = number(r"sigmoid\s+init \w+\s+test accuracy after \d+ epochs: ([\d.]+)", out)
    assert number(r"relu\s+init \w+\s+test accuracy after \d+ epochs: ([\d.]+)", out) > sigmoid
    assert number(r"maxout\s+init \w+\s+test accuracy after \d+ epochs: ([\d.]+)", out) > sigmoid


def test_data_preparation(tmp_path):
    out = run_example("04_data.py", tmp_path)
    assert "points per class [1000, 1000, 1000, 1000]" in out
    assert "3200 training / 800 test points" in out
    assert "test points per class [200, 200, 200, 200]" in out
    assert re.search(r"after:  training mean \[[+-]0\.000, [+-]0\.000\], std \[\+1\.000, \+1\.000\]", out)
    assert "25 per epoch of batch size 128" in out


def test_initialization_statistics(tmp_path):
    out = run_example("05_initialization.py", tmp_path)

    def last_std(act, init):
        line = re.search(rf"{act}\s+{init}\s+activation std per layer: (.*)", out).group(1)
        return float(line.split()[-1])

    # He keeps a ReLU stack's signal alive; a small random start lets it vanish.
    assert last_std("relu", "he") > 0.3
    assert last_std("relu", "random") < 1e-6
    assert last_std("relu", "he") > 100 * last_std("relu", "xavier")
    assert last_std("tanh", "normalized_xavier") > 10 * last_std("tanh", "xavier")
    he = number(r"he\s+test accuracy after \d+ epochs ([\d.]+)", out)
    random = number(r"random\s+test accuracy after \d+ epochs ([\d.]+)", out)
    assert he > random


def test_cross_entropy_reproduces_the_lecture(tmp_path):
    out = run_example("06_loss.py", tmp_path)
    assert "by hand: -log2(0.775) = 0.3677 bits" in out
    assert number(r"cross-entropy [\d.]+ nats = ([\d.]+) bits", out) == 0.3677
    assert number(r"mean ([\d.]+); mlpcore", out) == number(r"; mlpcore ([\d.]+)", out)


def test_adam_against_sgd(tmp_path):
    out = run_example("07_adam_vs_sgd.py", tmp_path)
    plain = number(r"SGD lr=0.01 \s+after \d+ epochs: training loss ([\d.]+)", out)
    adam = number(r"Adam lr=0.001\s+after \d+ epochs: training loss ([\d.]+)", out)
    assert adam < plain


def test_training_the_mlp(tmp_path):
    out = run_example("08_training.py", tmp_path)
    assert number(r"test accuracy ([\d.]+)", out) > 0.8
    assert "same predictions True" in out
    assert (tmp_path / "spiral.safetensors").is_file()
