# SPDX-License-Identifier: MIT
"""``python -m mlpcore.bench``: the same as ``mlpcore bench``."""
import sys

from . import main

sys.exit(main())
