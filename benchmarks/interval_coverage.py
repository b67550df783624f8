"""How often study's 95 % Type interval (workbench.stats.type_interval) covers a Type's true mean, by problems per Type.

Simulated Types whose true mean is known: each problem's chance of a right answer drawn from Beta(a, b), then 1 to K
answers of it scored 1 or 0 (a study's --samples), the interval made from those scores. Prints, per setting and
number of problems, the share of studies whose interval covers a / (a + b): for a 95 % interval, about 0.95. The
smallest number of problems where the coverage is near that is stats.MIN_PROBLEMS.

    python benchmarks/interval_coverage.py [--studies 400] [--problems 2 3 4 5 6 8 10]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from statistics import median

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workbench import stats  # noqa: E402

# (a, b, most answers per problem): means 0.5, 0.67, 0.83, 0.5, 0.8, 0.5 (U-shaped), 0.75
SETTINGS = [(1, 1, 5), (2, 1, 5), (5, 1, 5), (2, 2, 1), (8, 2, 3), (0.5, 0.5, 5), (3, 1, 10)]


def coverage(n: int, a: float, b: float, most: int, studies: int, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    covered = 0
    for _ in range(studies):
        chances = rng.beta(a, b, n)
        answers = [list((rng.random(k) < p).astype(float)) for p, k in zip(chances, rng.integers(1, most + 1, n))]
        # below the minimum type_interval gives none: lift it to see what the interval would have been
        interval, _ = type_interval_any(answers)  # none where every answer scored alike: a miss, as a point is
        covered += interval is not None and interval[0] - 1e-9 <= a / (a + b) <= interval[1] + 1e-9
    return covered / studies


def type_interval_any(answers):
    saved, stats.MIN_PROBLEMS = stats.MIN_PROBLEMS, 1
    try:
        return stats.type_interval(answers, resamples=2000)
    finally:
        stats.MIN_PROBLEMS = saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=400)
    parser.add_argument("--problems", type=int, nargs="+", default=[2, 3, 4, 5, 6, 8, 10])
    args = parser.parse_args()
    print("problems  " + "  ".join(f"B({a:g},{b:g}) K{k}" for a, b, k in SETTINGS) + "  min  median")
    for n in args.problems:
        row = [coverage(n, a, b, k, args.studies) for a, b, k in SETTINGS]
        print(f"{n:8d}  " + "  ".join(f"{c:10.3f}" for c in row) + f"  {min(row):.3f}  {median(row):.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
