"""Where benchmarks write their figures: ``benchmarks/results/``, made on first use.

The folder is git-ignored, so a fresh clone has none; every benchmark that writes there
asks this module for the path instead of assuming the folder exists.
"""

from __future__ import annotations

import os

from testkit.moto import ROOT

RESULTS = os.path.join(ROOT, "benchmarks", "results")


def results_path(name: str) -> str:
    """``benchmarks/results/<name>``, creating the folder if a fresh clone lacks it."""
    os.makedirs(RESULTS, exist_ok=True)
    return os.path.join(RESULTS, name)
