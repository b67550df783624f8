"""Time study's report stage (the text, and --json's to_dict) on a synthetic study: no traces, no judging.

26 problems dealt over Types 1-4 (7, 6, 7, 6, so every Type gets an interval), 3 columns, 5 seeded 0/1 answers per
problem and column (fixture scores); a fresh Study per run, as each command builds one, and the bootstrap
draws stats keeps per process cleared (a command is one process). Prints the CPU time (this
process's: other work on a shared machine does not count), median of 9 runs.

    python benchmarks/study_report.py
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path
from statistics import median
from types import SimpleNamespace

import numpy as np
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workbench import stats  # noqa: E402
from workbench.commands import study as command  # noqa: E402
from workbench.study import Cell, Study  # noqa: E402


def main() -> int:
    rng = np.random.default_rng(0)
    problems = [SimpleNamespace(id=f"{t}.{k}", type=t, points=1)
                for k, t in enumerate([1] * 7 + [2] * 6 + [3] * 7 + [4] * 6)]
    groups = ["a", "b", "c"]
    cells = {(p.id, g): Cell(scores=list(rng.integers(0, 2, 5).astype(float))) for p in problems for g in groups}
    command.console = Console(file=io.StringIO())  # the text is built in full, not shown
    for name, report in (("text", lambda s: command._print(s, None)), ("json", lambda s: s.to_dict())):
        seconds = []
        for _ in range(9):
            study = Study(groups=groups, problems=problems, cells=cells, answers=[], skipped=[], untraced=[])
            stats._first_draws.cache_clear()
            start = time.process_time()
            report(study)
            seconds.append(time.process_time() - start)
        print(f"{name}: {median(seconds):.2f} s (median of 9)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
