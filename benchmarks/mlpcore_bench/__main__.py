# SPDX-License-Identifier: MIT
"""``python -m mlpcore_bench``: the same as ``mlpcore bench``."""
import sys

from . import main

sys.exit(main())
