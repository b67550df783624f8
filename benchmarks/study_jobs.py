"""Benchmark: `study --judge` with --jobs 1 and --jobs 8 on a temp project of generated traces.

    python benchmarks/study_jobs.py [--traces 60] [--latency 0.3]

Writes, in a temp project only, free-text traces of 2.3.3 (each graded by the --judge model, one network call)
and matrix answers of 3.1 (checked locally), labelled as fixture output; the grader is the loopback
OpenAI-compatible server with a fixed latency. Prints the wall time of each --jobs value, the ratio, and
whether both gave the same aggregates (they must: verdicts are gathered in trace order).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from openai_server import FakeOpenAI  # noqa: E402

from workbench.traces import SCHEMA, write_trace  # noqa: E402

ANSWERS = {"2.3.3": "Fixture answer: L2 is not weight decay under Adam.",
           "3.1": "Fixture answer: [[0, 0, -1, -1, -1], [-1, -2, 3, 2, 4], [4, 2, 1, 2, -2], [-2, 3, 1, 3, -1], "
                  "[0, -2, 4, -2, 0]], a sharpening filter."}


def project(root: Path, traces: int) -> None:
    for name in ("problems", "prompts"):
        (root / name).symlink_to(REPO / name, target_is_directory=True)
    (root / "traces").mkdir()
    for k in range(traces):
        pid = "2.3.3" if k % 2 == 0 else "3.1"
        write_trace({"schema": SCHEMA, "problem": pid, "pack": "a2", "strategy": "direct", "source": "manual",
                     "provider": {"base_url": "http://benchmark.invalid/v1"}, "request": {"model": f"bench-{k % 3}", "n": 1},
                     "exchanges": [], "samples": [{"index": 0, "messages": [
                         {"role": "user", "content": "benchmark prompt"}, {"role": "assistant", "content": ANSWERS[pid]}]}],
                     "started_at": f"2026-01-01T00:{k // 60:02d}:{k % 60:02d}.000000Z",
                     "finished_at": "2026-01-01T01:00:00.000000Z"}, root=root / "traces")


def run(root: Path, url: str, jobs: int) -> tuple[float, dict]:
    env = dict(os.environ, WORKBENCH_ROOT=str(root), OPENAI_API_KEY="local")
    argv = [sys.executable, str(REPO / "cli.py"), "study", "--judge", "fake-gpt", "--base-url", url, "--jobs", str(jobs), "--json"]
    t = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if done.returncode:
        sys.exit(f"study --jobs {jobs} failed ({done.returncode}): {done.stderr.strip()}")
    data = json.loads(done.stdout)
    return seconds, {k: v for k, v in data.items() if k != "answers"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--traces", type=int, default=60)
    ap.add_argument("--latency", type=float, default=0.3, help="grader latency in seconds")
    args = ap.parse_args(argv)
    server = FakeOpenAI(delay=args.latency).start()
    server.reply = lambda body, i: json.dumps({"score": 0.5, "notes": "benchmark grader"})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            project(Path(tmp), args.traces)
            one, a = run(Path(tmp), server.url, 1)
            eight, b = run(Path(tmp), server.url, 8)
    finally:
        server.stop()
    print(f"study --judge, {args.traces} traces ({args.traces // 2 + args.traces % 2} graded by the model at "
          f"{args.latency:g} s latency): --jobs 1 {one:.1f} s, --jobs 8 {eight:.1f} s ({one / eight:.1f}x); "
          f"same aggregates: {a == b}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
