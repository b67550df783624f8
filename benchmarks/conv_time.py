#!/usr/bin/env python
"""Where a training step's time goes: convolutions versus everything else, in fp32 and bfloat16 autocast.

Times one training step of each model (batch 100, 32x32, the defaults; the run's channels_last layout)
under torch.profiler and splits its CPU time into the convolutions (forward and backward, transposed
ones included) and the rest (BatchNorm, ReLU, pooling, concatenation, the loss, Adam, casts). The
convolutions alone bound how fast any loop built on these kernels can be: compare 50 x conv ms (one
epoch's steps) with the per-epoch time a speed target allows (benchmarks/train_speed.py prints the
notebook-style loop's time).

    python benchmarks/conv_time.py [--steps 10] [--models unet] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the CLI does
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

from colourize.models import MODELS, build_model  # noqa: E402
from colourize.train import pixel_cross_entropy  # noqa: E402


def step_profile(name: str, amp: bool, steps: int) -> dict:
    """Milliseconds per training step: total, in convolution ops, and the rest (means over `steps`)."""
    torch.manual_seed(0)
    model = build_model(name, 3, 32, 24, 1).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(100, 1, 32, 32).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 24, (100, 32, 32))

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            logits = model(x)
        loss = pixel_cross_entropy(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(10):  # warm-up: oneDNN builds its kernels (bf16: the first ~5 steps are slow)
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    conv = sum(e.self_cpu_time_total for e in events if "convolution" in e.key)
    return {"model": name, "precision": "bf16" if amp else "fp32", "step_ms": total / steps / 1e3,
            "conv_ms": conv / steps / 1e3, "other_ms": (total - conv) / steps / 1e3}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10, help="profiled steps per model and precision")
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--one", nargs=2, metavar=("MODEL", "PRECISION"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.one:  # a child: one model and precision in a fresh process (oneDNN's bf16 kernels ran ~20x slower
        # for dozens of steps in a process that had trained in fp32 before)
        print(json.dumps(step_profile(args.one[0], args.one[1] == "bf16", args.steps)))
        return 0
    rows = []
    for model in args.models:
        for precision in ("fp32", "bf16"):
            child = subprocess.run([sys.executable, __file__, "--one", model, precision, "--steps", str(args.steps),
                                    "--threads", str(args.threads)], capture_output=True, text=True, check=True)
            rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"one training step, batch 100, {args.threads} threads, mean of {args.steps} profiled steps")
    print(f"{'model':<15}{'precision':>10}{'step ms':>10}{'conv ms':>10}{'other ms':>10}{'conv share':>12}")
    for r in rows:
        print(f"{r['model']:<15}{r['precision']:>10}{r['step_ms']:>10.1f}{r['conv_ms']:>10.1f}{r['other_ms']:>10.1f}"
              f"{r['conv_ms'] / r['step_ms']:>12.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
