"""Small-sample statistics for `study`: does the score fall as the Type label rises, and how sure is a Type's mean?

With a handful of problems per Type most differences between Type means are noise. `order_test` measures the
association between the Type label and the per-problem mean score with Kendall's tau-b (ties in both are the rule:
many problems share a Type, many score 1.0) and asks how often labels dealt out at random to the same problems would
fall at least as clearly: an exact permutation test when the distinct arrangements of the labels are few enough to
list, a seeded Monte Carlo one otherwise. `type_interval` gives a Type's mean a seeded two-stage bootstrap interval
(problems, then each problem's answers), none below MIN_PROBLEMS problems or for answers all alike;
`difference_interval` gives the difference of two Types' means one, resampling them independently. All are
deterministic: the same data give the same numbers.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from itertools import combinations
from math import factorial, prod, sqrt

import numpy as np

SEED = 413  # the course; any fixed seed makes the Monte Carlo and bootstrap results repeatable
EXACT_LIMIT = 200_000  # distinct label arrangements listed at most for the exact test
PERMUTATIONS = 20_000  # Monte Carlo permutations beyond that
RESAMPLES = 10_000  # bootstrap resamples
# Problems a Type needs for an interval. benchmarks/interval_coverage.py simulates Types whose true mean is known
# (each problem's chance of a right answer from one of 7 Beta distributions, 1-10 answers each, 400 studies per
# cell): the 95 % interval below covers the true mean in 47-82 % of studies at 2 problems (median 70 %), 70-86 % at
# 3, 80-92 % at 4, 84-94 % at 5 (median 90 %), 87-97 % at 6, 91-98 % at 10. From 5 it is roughly what it says even
# in the worst setting (nearly every answer right, few samples: too many answers alike to show the spread); below,
# it is the range of a few means, or a point, and would be read as evidence it is not.
MIN_PROBLEMS = 5
# no_interval's reasons say these words, and study's rise line keys its short wording on them: one source for both
TOO_FEW = "too few for an interval"
NO_SPREAD = "no spread to resample"
CHUNK = 5000  # label deals scored at once for the pack's 26 problems: (deals x problem pairs) floats, ~13 MB
CHUNK_FLOATS = CHUNK * 26 * 25 // 2  # and that many floats for any pack: fewer deals at once as the pairs grow


def _chunk(n: int) -> int:
    """Deals scored at once for n problems: a pack of hundreds would otherwise take GBs per chunk (n^2 pairs)."""
    return max(1, CHUNK_FLOATS // max(1, n * (n - 1) // 2))


def _pair_signs(values: np.ndarray) -> np.ndarray:
    """sign(v[j] - v[i]) for every pair i < j, along the last axis."""
    i, j = np.triu_indices(values.shape[-1], 1)
    return np.sign(values[..., j] - values[..., i])


def kendall_tau_b(x, y) -> float | None:
    """Kendall's tau-b of two equally long sequences; None when either is constant (or fewer than 2 values)."""
    sx, sy = _pair_signs(np.asarray(x, float)), _pair_signs(np.asarray(y, float))
    untied_x, untied_y = np.count_nonzero(sx), np.count_nonzero(sy)
    if not untied_x or not untied_y:
        return None
    return float((sx * sy).sum() / sqrt(untied_x * untied_y))


def arrangements(labels) -> int:
    """How many distinct orders the multiset `labels` has: n! / (n_1! n_2! ...)."""
    return factorial(len(labels)) // prod(factorial(c) for c in Counter(labels).values())


def _all_arrangements(labels) -> np.ndarray:
    """Every distinct order of the multiset `labels`, one per row: each label's positions chosen in turn."""
    counts = sorted(Counter(labels).items())
    rows: list[list] = []

    def place(free: list[int], k: int, row: list) -> None:
        if k == len(counts) - 1:
            for s in free:
                row[s] = counts[k][0]
            rows.append(row.copy())
            return
        value, count = counts[k]
        for chosen in combinations(free, count):
            for s in chosen:
                row[s] = value
            taken = set(chosen)
            place([s for s in free if s not in taken], k + 1, row)

    place(list(range(len(labels))), 0, [None] * len(labels))
    return np.array(rows, float)


def order_test(types, scores, *, exact_limit: int = EXACT_LIMIT, permutations: int = PERMUTATIONS,
               seed: int = SEED) -> dict:
    """Kendall's tau-b between Type labels and scores (one pair per problem), and the one-sided p-value for "a
    higher Type scores lower": the share of label arrangements, the observed one included, whose tau-b is at most the
    observed one. tau-b's denominator is the same for every arrangement, so its numerator is compared.

    Exact over every distinct arrangement when there are at most `exact_limit` of them; otherwise `permutations`
    random ones from a generator seeded with `seed`, p = (1 + at most as large) / (1 + permutations). Fewer than 3
    problems, a single Type, or every problem scoring the same: no statistic, and `reason` says why."""
    x, y = np.asarray(types, float), np.asarray(scores, float)
    out = {"tau_b": None, "p_value": None, "method": None, "n_problems": len(x), "permutations": None, "reason": None}
    if len(x) < 3:
        out["reason"] = f"{len(x)} problem{'s' * (len(x) != 1)} scored; the test needs at least 3"
    elif len(set(types)) < 2:
        out["reason"] = "every problem scored is of one Type"
    elif len(set(scores)) < 2:
        out["reason"] = "every problem has the same mean score"
    if out["reason"]:
        return out
    sy = _pair_signs(y)
    observed = (_pair_signs(x) * sy).sum()
    total, chunk = arrangements(list(types)), _chunk(len(x))
    if total <= exact_limit:
        deals = _all_arrangements(list(types))
        at_most = sum(np.count_nonzero(_pair_signs(deals[i:i + chunk]) @ sy <= observed)
                      for i in range(0, total, chunk))  # in chunks: all pairs of all deals at once can take GBs
        p = at_most / total
        out.update(method="exact", permutations=total)
    else:
        rng = np.random.default_rng(seed)
        at_most = 0
        for start in range(0, permutations, chunk):  # the generator deals the same rows whatever the chunk
            deal = rng.permuted(np.tile(x, (min(chunk, permutations - start), 1)), axis=1)
            at_most += np.count_nonzero(_pair_signs(deal) @ sy <= observed)
        p = (1 + at_most) / (1 + permutations)
        out.update(method="monte carlo", permutations=permutations)
    out.update(tau_b=kendall_tau_b(x, y), p_value=float(p))
    return out


def no_interval(scores) -> str | None:
    """Why a Type's answers (each problem's scored answers) give no interval, else None: fewer than MIN_PROBLEMS
    problems (see MIN_PROBLEMS), or answers that all scored alike (every resample that score: a point, which would
    set the Type apart from any other)."""
    n = len(scores)
    if n < MIN_PROBLEMS:
        return (f"{n} problem{'s' * (n != 1)}: {TOO_FEW} (it needs {MIN_PROBLEMS})" if n
                else "no problem scored")
    flat = [v for s in scores for v in s]
    if min(flat) == max(flat):
        return f"all {len(flat)} answers scored {flat[0]:.2f}: {NO_SPREAD}"
    return None


def _resampled_means(scores, resamples: int, rng) -> np.ndarray:
    """`resamples` two-stage bootstrap means of a Type: each draws the problems with replacement, then each drawn
    problem's answers with replacement (anew for each copy of a problem drawn twice)."""
    n, counts = len(scores), np.array([len(s) for s in scores])
    table = np.zeros((n, counts.max()))  # (problems, most answers): a problem's answers, then 0s it never draws
    for j, s in enumerate(scores):
        table[j, :len(s)] = s
    means = np.empty(resamples)
    step = max(1, CHUNK_FLOATS // table.size)  # resamples at once: bounded memory for large packs and many samples
    for start in range(0, resamples, step):
        m = min(step, resamples - start)
        drawn = rng.integers(0, n, (m, n))  # stage 1: (m, n) problems
        k = counts[drawn]  # (m, n) answers each drawn problem has
        picks = np.minimum((rng.random((m, n, table.shape[1])) * k[..., None]).astype(int), k[..., None] - 1)
        used = np.arange(table.shape[1]) < k[..., None]  # stage 2: a drawn problem's own k answers
        means[start:start + m] = ((table[drawn[..., None], picks] * used).sum(-1) / k).mean(-1)
    return means


@lru_cache(maxsize=256)  # a study's columns x Types; 10,000 floats each
def _first_draws(scores: tuple[tuple[float, ...], ...], resamples: int, seed: int) -> tuple[np.ndarray, dict]:
    """A Type's resampled means drawn first from a generator seeded with `seed`, and the generator's state after
    them: type_interval draws exactly these, and so does difference_interval for its lower Type (drawn first), so a
    study draws them once for a Type's interval and all the rises it is the lower Type of. Read-only: shared."""
    rng = np.random.default_rng(seed)
    means = _resampled_means(scores, resamples, rng)
    means.flags.writeable = False
    return means, rng.bit_generator.state


def _key(scores) -> tuple[tuple[float, ...], ...]:
    """Each problem's scored answers as _first_draws' cache key (a caller's lists can change after a call)."""
    return tuple(tuple(float(v) for v in s) for s in scores)


def _percentiles(values: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def type_interval(scores, level: float = 0.95, resamples: int = RESAMPLES,
                  seed: int = SEED) -> tuple[tuple[float, float] | None, str | None]:
    """A Type's interval for the mean of its problems' mean scores: ((low, high), None), or (None, why not).

    `scores` holds each problem's scored answers. A two-stage percentile bootstrap (generator seeded with `seed`):
    each resample draws the problems with replacement, then each drawn problem's answers with replacement, so the
    interval carries both sources of doubt: which problems the Type happened to get, and which answers a few samples
    of each happened to give. No interval where no_interval() says why."""
    why = no_interval(scores)
    if why:
        return None, why
    return _percentiles(_first_draws(_key(scores), resamples, seed)[0], level), None


def difference_interval(low_type, high_type, level: float = 0.95, resamples: int = RESAMPLES,
                        seed: int = SEED) -> tuple[tuple[float, float] | None, str | None]:
    """The interval of (high_type's mean - low_type's mean), each a Type's scored answers per problem as in
    type_interval: ((low, high), None), or (None, why not) when either Type gets no interval (no_interval).

    Each resample draws both Types as type_interval does, independently of each other (one generator, one Type's
    draws after the other's), and takes the difference of their means. Whether two 95 % intervals overlap is a
    stricter test than it seems (apart is roughly p < 0.006, and overlapping intervals can still differ); this one
    excludes 0 from below, for Types of equal true means, in about 2.5 % of studies (one-sided)."""
    why = no_interval(low_type) or no_interval(high_type)
    if why:
        return None, why
    # the lower Type's draws are its own interval's (_first_draws); the higher Type's follow them from the same
    # generator, so they are independent of them. Its own interval's draws would not do: drawn from the same seed,
    # two Types of like shape would be resampled alike, and their difference's spread lost
    low_means, after = _first_draws(_key(low_type), resamples, seed)
    rng = np.random.default_rng(seed)
    rng.bit_generator.state = after
    return _percentiles(_resampled_means(high_type, resamples, rng) - low_means, level), None
