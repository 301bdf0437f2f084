# SPDX-License-Identifier: MIT
"""Whole-epoch training throughput of ``Trainer.fit`` against PyTorch and scikit-learn: a shortcut for

    mlpcore bench --sections train accuracy overhead [options]

the training-throughput and accuracy sections of the benchmark harness (``mlpcore_bench``) plus
the cost of progress bars and callbacks in ``Trainer.fit``. Every ``mlpcore bench`` option works
here too (``--quick``, ``--threads``, ``--net``, ``--json``, ``--wait-quiet`` ...).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mlpcore_bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["--sections", "train", "accuracy", "overhead", *sys.argv[1:]]))
