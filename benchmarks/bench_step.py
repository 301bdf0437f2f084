# SPDX-License-Identifier: MIT
"""Per-step training speed against PyTorch eager: a shortcut for

    mlpcore bench --sections step --boundary [options]

the step section of the benchmark harness (``mlpcore_bench``) with the boundary diagnostics: the
public ``net.train_step``, the raw engine call, the C++ epoch loop per step, a PyTorch eager step
and scikit-learn's ``partial_fit`` on one batch. Every ``mlpcore bench`` option works here too
(``--quick``, ``--threads``, ``--net``, ``--json``, ``--wait-quiet`` ...).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mlpcore_bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["--sections", "step", "--boundary", *sys.argv[1:]]))
