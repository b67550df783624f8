"""Time `python cli.py verify` on the whole A2 pack with no pinned runs (the target: under 10 s on 2 cores).

Runs the real CLI in a fresh process each time, in a temp project holding the real problems/ and the own
solutions (Markdown only: no results/ runs, no traces), and prints the median of several runs.

    python benchmarks/verify_speed.py [--repeat 5] [--cores 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def make_root(tmp: Path, pack: str) -> Path:
    root = tmp / "project"
    (root / "problems").mkdir(parents=True)
    (root / "problems" / pack).symlink_to(REPO / "problems" / pack, target_is_directory=True)
    sol = root / "solutions" / pack
    sol.mkdir(parents=True)
    for md in (REPO / "solutions" / pack).glob("*.md"):
        shutil.copy(md, sol / md.name)
    for name in ("traces", "runs", "build"):
        (root / name).mkdir()
    return root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cores", type=int, default=2, help="pin the CLI to this many cores (Linux)")
    parser.add_argument("--pack", default="a2")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(Path(tmp), args.pack)
        env = {**os.environ, "WORKBENCH_ROOT": str(root)}
        cpus = sorted(os.sched_getaffinity(0))[: args.cores] if hasattr(os, "sched_getaffinity") else None
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        times, codes = [], set()
        for _ in range(args.repeat):
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "cli.py", "verify", "--pack", args.pack, "--json"], cwd=REPO, env=env,
                                  capture_output=True, text=True, preexec_fn=pin)
            times.append(time.perf_counter() - start)
            codes.add(proc.returncode)
            if proc.returncode not in (0, 1):
                print(proc.stderr, file=sys.stderr)
                return 2
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cli.py verify (whole pack '{args.pack}', no runs, no traces) on {len(cpus) if cpus else os.cpu_count()} cores, "
          f"load {load:.1f}: median {statistics.median(times):.2f} s over {len(times)} runs "
          f"(min {min(times):.2f}, max {max(times):.2f}); exit codes {sorted(codes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
