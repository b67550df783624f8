"""Time a full writeup build (PDF + sources + notebook, checks included, no training) as the user runs it.

    python benchmarks/writeup_speed.py [--runs 5] [--pack a2] [--no-verify]

Each run is a fresh `python cli.py build-writeup` process pinned to two CPU cores, writing into a temp
folder; prints every wall time, the CPU time the run used (its process and pandoc's), and the medians.
On a busy machine the wall time grows with the load; the CPU time does not.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pack", default="a2")
    parser.add_argument("--no-verify", action="store_true", help="leave the pack's checks out")
    args = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))[:2] if hasattr(os, "sched_getaffinity") else []
    times, cpus = [], []
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, str(REPO / "cli.py"), "build-writeup", "--pack", args.pack, "--out", tmp,
               "--name", "Benchmark Student", "--student-id", "0"] + (["--no-verify"] if args.no_verify else [])
        for i in range(args.runs + 1):  # the first run warms the OS file cache and is not counted
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                                  preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if cores else None)
            elapsed = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            if proc.returncode != 0:
                print(proc.stdout[-2000:], proc.stderr[-2000:], sep="\n", file=sys.stderr)
                return proc.returncode
            if i:
                times.append(elapsed)
                cpus.append(cpu)
                print(f"run {i}: {elapsed:.2f} s wall, {cpu:.2f} s CPU")
    print(f"writeup build ({args.pack}{', no checks' if args.no_verify else ', with checks'}, "
          f"{len(cores) or 'all'} cores): median {statistics.median(times):.2f} s over {len(times)} runs "
          f"(min {min(times):.2f}, max {max(times):.2f}); median CPU time {statistics.median(cpus):.2f} s; "
          f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
