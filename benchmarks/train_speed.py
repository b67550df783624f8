#!/usr/bin/env python
"""Training speed of the three colourization CNNs: our loop versus a loop written the notebook's way.

Prints, per model: training images/s, seconds for E epochs with evaluation (measured, then scaled to
25 epochs), achieved GFLOP/s of training (FLOPs from torch.utils.flop_counter) and its fraction of a
dense matmul peak timed in the same run, the end-to-end ratio notebook-style / ours, and the floor:
the time 25 epochs would take if every counted FLOP ran at that peak, with the ratio it would give
(no fp32 loop on this machine can do better). Both loops
use the same data, palette, model, seed and thread count, and run one after the other per model,
so that a shared machine's load hits both alike (run it twice if the machine is busy).

    python benchmarks/train_speed.py [--epochs 3] [--data PATH] [--models unet] [--amp] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the CLI does (see workbench/commands/training.py)
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from colourize import data as cdata  # noqa: E402
from colourize.models import MODELS, build_model  # noqa: E402
from colourize.train import TrainConfig, train  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "cifar10-horse-jpeg"


def notebook_style(model_name: str, cfg: TrainConfig, palette: np.ndarray, train_u8: np.ndarray,
                   test_u8: np.ndarray) -> dict:
    """The course notebook's way: float64 numpy arrays, numpy nearest-colour labels in chunks of 100 images,
    per-step numpy -> torch conversion, transpose-and-view loss, `.item()` every step, evaluation with autograd on."""
    start = time.perf_counter()
    train_x, test_x = train_u8 / 256.0, test_u8 / 256.0  # (N, 3, 32, 32) float64
    train_grey, test_grey = train_x.mean(1, keepdims=True), test_x.mean(1, keepdims=True)
    cs = palette.reshape(len(palette), 1, 3, 1, 1)

    def labels(x):  # [colours, chunk, 3, 32, 32] broadcast, chunk of 100 images
        out = [np.argmin(np.linalg.norm(x[i:i + 100][None] - cs, axis=2), axis=0) for i in range(0, len(x), 100)]
        return np.concatenate(out)[:, None]  # (N, 1, 32, 32)

    train_y, test_y = labels(train_x), labels(test_x)
    label_seconds = time.perf_counter() - start
    torch.manual_seed(cfg.seed)
    model = build_model(model_name, cfg.kernel, cfg.num_filters, len(palette), 1)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    nc, bs = len(palette), cfg.batch_size

    def loss_of(outputs, ys):
        b = outputs.shape[0]
        return torch.nn.functional.cross_entropy(outputs.transpose(1, 3).contiguous().view(b * 32 * 32, nc),
                                                 ys.transpose(1, 3).contiguous().view(b * 32 * 32))

    train_seconds = 0.0
    for _ in range(cfg.epochs):
        t = time.perf_counter()
        model.train()
        losses = []
        for i in range(0, len(train_grey), bs):
            images = torch.from_numpy(train_grey[i:i + bs]).float()
            ys = torch.from_numpy(train_y[i:i + bs]).long()
            opt.zero_grad()
            loss = loss_of(model(images), ys)
            loss.backward()
            opt.step()
            losses.append(loss.data.item())
        train_seconds += time.perf_counter() - t
        model.eval()
        correct, vlosses = 0, []
        for i in range(0, len(test_grey), bs):
            images = torch.from_numpy(test_grey[i:i + bs]).float()
            ys = torch.from_numpy(test_y[i:i + bs]).long()
            outputs = model(images)
            vlosses.append(loss_of(outputs, ys).data.item())
            correct += (torch.max(outputs.data, 1, keepdim=True)[1] == ys.data).sum().item()
    total = time.perf_counter() - start
    return {"seconds": total, "label_seconds": label_seconds, "train_seconds": train_seconds,
            "val_loss": float(np.mean(vlosses)), "val_acc": 100.0 * correct / test_y.size}


def flops_per_image(model_name: str, cfg: TrainConfig) -> tuple[float, float]:
    """(training step, evaluation) FLOPs per image, from torch's flop counter (convolutions and matmuls)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(model_name, cfg.kernel, cfg.num_filters, 24, 1)
    x, y = torch.rand(100, 1, 32, 32), torch.randint(0, 24, (100, 32, 32))
    with FlopCounterMode(display=False) as counter:
        torch.nn.functional.cross_entropy(model(x), y).backward()
    train_flops = counter.get_total_flops() / 100
    model.eval()
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(x)
    return train_flops, counter.get_total_flops() / 100


def matmul_peak(dtype=torch.float32, n: int = 2048, reps: int = 10) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(3):  # best of three: the least disturbed by other jobs
        t = time.perf_counter()
        for _ in range(reps):
            a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 * reps / best / 1e9


def to_25_epochs(total_s: float, epochs_s: float, epochs: int) -> float:
    """Once-only work (setup, outputs) plus the measured epochs scaled to 25."""
    return (total_s - epochs_s) + 25 * epochs_s / epochs


def ours(cfg: TrainConfig, run_dir: Path) -> tuple[float, dict]:
    t = time.perf_counter()
    metrics = train(cfg, run_dir)
    total = time.perf_counter() - t
    return to_25_epochs(total, sum(e["seconds"] for e in metrics["epochs"]), cfg.epochs), metrics


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3, help="epochs to measure (scaled to 25; the first carries warm-up)")
    ap.add_argument("--data", default=str(SHARED) if SHARED.is_dir() else None, help="data path (see cli.py train)")
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--threads", type=int, help="torch threads (default: one per core)")
    ap.add_argument("--amp", action="store_true", help="also time our loop with bfloat16 autocast")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    peak = matmul_peak()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            cfg = TrainConfig(model=name, epochs=args.epochs, data=args.data, device="cpu")
            ours_25, metrics = ours(cfg, Path(tmp) / name)
            ds = cdata.shuffled(cdata.load_category(args.data, 7), cfg.seed)
            palette = np.load(Path(tmp) / name / "palette.npy").astype(np.float64)
            nb = notebook_style(name, cfg, palette, ds.train.numpy(), ds.test.numpy())
            nb_25 = to_25_epochs(nb["seconds"], nb["seconds"] - nb["label_seconds"], args.epochs)
            images = len(ds.train) * args.epochs
            ips = images / sum(e["train_seconds"] for e in metrics["epochs"])
            step_flops, eval_flops = flops_per_image(name, cfg)
            gflops = step_flops * ips / 1e9
            # the time 25 epochs would take if every FLOP ran at the dense matmul peak: no loop can beat it
            floor_25 = 25 * (len(ds.train) * step_flops + len(ds.test) * eval_flops) / (peak * 1e9)
            row = {"model": name, "epochs_measured": args.epochs, "ours_25_epochs_s": ours_25,
                   "notebook_25_epochs_s": nb_25, "ratio_25_epochs": nb_25 / ours_25, "train_images_per_s": ips,
                   "notebook_train_images_per_s": images / nb["train_seconds"], "train_gflops": gflops,
                   "fraction_of_fp32_matmul_peak": gflops / peak, "fp32_floor_25_epochs_s": floor_25,
                   "best_possible_ratio": nb_25 / floor_25, "val_acc": metrics["final"]["val_acc"],
                   "notebook_val_acc": nb["val_acc"]}
            if args.amp:
                amp_25, amp = ours(replace(cfg, amp=True), Path(tmp) / f"{name}-amp")
                row |= {"amp_25_epochs_s": amp_25, "amp_ratio_25_epochs": nb_25 / amp_25,
                        "amp_train_images_per_s": images / sum(e["train_seconds"] for e in amp["epochs"]),
                        "amp_val_acc": amp["final"]["val_acc"]}
            rows.append(row)
    summary = {"matmul_peak_gflops_fp32": peak, "matmul_peak_gflops_bf16": matmul_peak(torch.bfloat16) if args.amp else None,
               "threads": torch.get_num_threads(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
               "load_average": os.getloadavg(), "rows": rows,
               "all_models_25_epochs_s": sum(r["ours_25_epochs_s"] for r in rows),
               "notebook_all_models_25_epochs_s": sum(r["notebook_25_epochs_s"] for r in rows),
               "fp32_floor_all_models_25_epochs_s": sum(r["fp32_floor_25_epochs_s"] for r in rows)}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_table(summary, args.amp)
    return 0


def print_table(summary: dict, amp: bool) -> None:
    bf16 = summary["matmul_peak_gflops_bf16"]
    print(f"dense fp32 matmul peak {summary['matmul_peak_gflops_fp32']:.0f} GFLOP/s" + (f", bf16 {bf16:.0f}" if bf16 else "")
          + f"; threads {summary['threads']}; load average after the run {summary['load_average'][0]:.1f}")
    cols = [("model", 14, "model", "s"), ("img/s", 8, "train_images_per_s", ".0f"),
            ("nb img/s", 9, "notebook_train_images_per_s", ".0f"), ("25 ep s", 9, "ours_25_epochs_s", ".0f"),
            ("nb 25 ep", 9, "notebook_25_epochs_s", ".0f"), ("ratio", 7, "ratio_25_epochs", ".2f"),
            ("GFLOP/s", 9, "train_gflops", ".1f"), ("%peak", 7, "fraction_of_fp32_matmul_peak", ".0%"),
            ("floor s", 8, "fp32_floor_25_epochs_s", ".0f"), ("max ratio", 10, "best_possible_ratio", ".2f"),
            ("acc", 7, "val_acc", ".1f"), ("nb acc", 8, "notebook_val_acc", ".1f")]
    print("".join(f"{h:<{w}}" if i == 0 else f"{h:>{w}}" for i, (h, w, _, _) in enumerate(cols)))
    for r in summary["rows"]:
        print("".join(f"{r[k]:<{w}{f}}" if i == 0 else f"{r[k]:>{w}{f}}" for i, (_, w, k, f) in enumerate(cols)))
        if amp:
            print(f"{'  + amp bf16':<14}{r['amp_train_images_per_s']:>8.0f}{'':>9}{r['amp_25_epochs_s']:>9.0f}{'':>9}"
                  f"{r['amp_ratio_25_epochs']:>7.2f}{'':>34}{r['amp_val_acc']:>14.1f}")
    print(f"all {len(summary['rows'])} model(s), 25 epochs with evaluation: ours {summary['all_models_25_epochs_s']:.0f} s, "
          f"notebook-style {summary['notebook_all_models_25_epochs_s']:.0f} s; at the fp32 matmul peak (floor) "
          f"{summary['fp32_floor_all_models_25_epochs_s']:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
