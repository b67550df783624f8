"""Benchmark: `prompt --all --samples 2 --jobs 8` against a loopback server with 1 s latency, and CLI start-up.

    python benchmarks/prompt_all.py [--latency 1.0]

Prints the wall time of the batch, the sum of its request latencies and their ratio (target <= 0.3: the
requests overlap), then the time of `python cli.py prompt --help` (target < 0.5 s) and whether that
imported torch or openai (neither should be). The batch runs twice in one process: the first (cold) run
also pays the one-off `import openai` (0.6-1.2 s), shown as the time before the first request.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from openai_server import FakeOpenAI  # noqa: E402


def batch(latency: float = 1.0) -> dict:
    server = FakeOpenAI(delay=latency).start()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in ("problems", "prompts"):
            (root / name).symlink_to(REPO / name, target_is_directory=True)
        (root / "traces").mkdir()
        os.environ.update(WORKBENCH_ROOT=str(root), OPENAI_BASE_URL=server.url, OPENAI_MODEL="fake-gpt")
        os.environ.pop("OPENAI_API_KEY", None)
        from cli import main

        out = io.StringIO()
        t0 = time.monotonic()
        with contextlib.redirect_stdout(out):
            code = main(["prompt", "--all", "--samples", "2", "--jobs", "8", "--json"])
        wall = time.monotonic() - t0
        first = min(r["time"] for r in server.chat_requests()) - t0  # the server stamps arrivals with monotonic()
        outcomes = json.loads(out.getvalue())["outcomes"]
        traces = len(list((root / "traces").rglob("*.json")))
    server.stop()
    latencies = sum(o["mean_latency_s"] * o["requests"] for o in outcomes if o["requests"])
    return {"exit": code, "problems": len(outcomes), "traces": traces, "requests": len(server.chat_requests()),
            "samples": sum(o["samples"] for o in outcomes), "wall_s": wall, "first_request_s": first,
            "latency_sum_s": latencies, "ratio": wall / latencies if latencies else float("nan")}


def startup(runs: int = 5) -> dict:
    cmd = [sys.executable, str(REPO / "cli.py"), "prompt", "--help"]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True, cwd=REPO)
        times.append(time.perf_counter() - t0)
    trace = subprocess.run([sys.executable, "-X", "importtime"] + cmd[1:], capture_output=True, text=True, cwd=REPO).stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in trace.splitlines() if line.startswith("import time:")}
    return {"median_s": statistics.median(times), "min_s": min(times), "torch": "torch" in imported,
            "openai": "openai" in imported, "modules": len(imported)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency", type=float, default=1.0, help="the loopback server's latency per request, in seconds")
    args = ap.parse_args(argv)
    runs = [batch(args.latency), batch(args.latency)]
    b = runs[0]
    print(f"prompt --all --samples 2 --jobs 8: {b['problems']} problems, {b['samples']} samples, {b['requests']} requests, "
          f"{b['traces']} traces, exit {b['exit']}")
    for label, r in zip(("cold", "warm"), runs):
        print(f"  {label}: wall {r['wall_s']:.2f} s ({r['first_request_s']:.2f} s before the first request), "
              f"sum of request latencies {r['latency_sum_s']:.2f} s, ratio {r['ratio']:.3f} (target <= 0.3) "
              f"{'OK' if r['ratio'] <= 0.3 else 'MISSED'}")
    s = startup()
    print(f"python cli.py prompt --help: median {s['median_s'] * 1000:.0f} ms, best {s['min_s'] * 1000:.0f} ms "
          f"(target < 500 ms) {'OK' if s['median_s'] < 0.5 else 'MISSED'}; "
          f"torch imported: {s['torch']}, openai imported: {s['openai']} ({s['modules']} modules)")
    ok = all(r["exit"] == 0 for r in runs) and runs[-1]["ratio"] <= 0.3 and s["median_s"] < 0.5 and not s["torch"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
