#!/usr/bin/env python
"""Wall time of `cli.py train --all` end to end (process start, data, three models, outputs), run one after
another (--jobs 1) and side by side (--jobs 3), in one invocation so that both meet the same machine.

    python benchmarks/train_all_wall.py [--epochs 25] [--data PATH] [--jobs 1 3] [--device cuda] [--json]

On a GPU, `--jobs 1 --device cuda` gives the 25-epoch time per model (each run's seconds are printed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "cifar10-horse-jpeg"


def wall(jobs: int, epochs: int, data: str | None, device: str, out: Path) -> tuple[float, list[dict]]:
    argv = [sys.executable, str(ROOT / "cli.py"), "train", "--all", "--jobs", str(jobs), "--epochs", str(epochs),
            "--device", device, "--out", str(out), "--json"] + (["--data", data] if data else [])
    t = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if done.returncode:
        sys.exit(f"train --all --jobs {jobs} failed: {done.stderr.strip()}")
    return seconds, json.loads(done.stdout)["runs"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--data", default=str(SHARED) if SHARED.is_dir() else None, help="data path (see cli.py train)")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 3], help="--jobs values to time (default 1 3)")
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for jobs in args.jobs:
            seconds, runs = wall(jobs, args.epochs, args.data, args.device, Path(tmp) / f"jobs{jobs}")
            rows.append({"jobs": jobs, "wall_s": seconds, "val_acc": {r["model"]: r["val_acc"] for r in runs},
                         "run_s": {r["model"]: r["seconds"] for r in runs}})
    for r in rows:
        r["speedup_vs_first"] = rows[0]["wall_s"] / r["wall_s"]
    if args.json:
        print(json.dumps({"epochs": args.epochs, "device": args.device, "rows": rows}, indent=2))
        return 0
    print(f"train --all, {args.epochs} epochs, device {args.device}, end to end")
    for r in rows:
        accs = ", ".join(f"{m} {a:.2f} %" for m, a in r["val_acc"].items())
        each = ", ".join(f"{m} {t:.0f} s" for m, t in r["run_s"].items())
        print(f"--jobs {r['jobs']}: {r['wall_s']:.0f} s ({r['speedup_vs_first']:.2f}x)  val acc {accs}; "
              f"epochs per run {each}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
