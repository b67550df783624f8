"""Time and peak memory of study's Type-order statistic (workbench.stats.order_test, one study column) as the pack grows.

Deals the Types 1-4 round-robin over N problems with seeded random scores (fixture data, no traces) and runs the
Monte Carlo permutation test with its default 20,000 deals; prints seconds and the peak of numpy's allocations per N.

    python benchmarks/study_stat_scale.py [--sizes 26 78 156 312]
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workbench.stats import order_test  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[26, 78, 156, 312])
    args = parser.parse_args()
    for n in args.sizes:
        types = [1 + k % 4 for k in range(n)]
        scores = list(np.random.default_rng(n).integers(0, 4, n) / 3)
        tracemalloc.start()
        start = time.perf_counter()
        result = order_test(types, scores)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"{n:4d} problems: {seconds:6.2f} s, peak {peak / 2**20:8.1f} MiB ({result['method']}, "
              f"{result['permutations']:,} deals, p = {result['p_value']:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
