"""Run folders (runs/<name>/): atomic writes, the resumable checkpoint, and pinning results.

A run folder holds config.json, metrics.json, palette.npy, curves.png, samples.png, model.pt and
checkpoint.pt (model + optimizer + RNG states after the last complete epoch; kept after the last epoch
so that a finished run can be extended with --resume --epochs N).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from workbench.atomic import atomic_path, atomic_write
from workbench.errors import TrainingError, UsageError
from workbench.paths import runs_dir, solutions_dir

CONFIG, METRICS, CHECKPOINT, MODEL, PALETTE = "config.json", "metrics.json", "checkpoint.pt", "model.pt", "palette.npy"
PINNED = (CONFIG, METRICS, "curves.png", "samples.png")  # small artefacts; never weights
CHECKPOINT_SCHEMA = "colourize.checkpoint/1"
# settings a resume may change: more epochs, another device or thread count (bit-exact only if unchanged)
RESUMABLE_CHANGES = ("epochs", "device", "threads")


def write_json(path: Path, obj) -> None:
    atomic_write(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def save_npy_atomic(path: Path, array) -> None:
    import numpy as np

    buf = io.BytesIO()
    np.save(buf, array)
    atomic_write(path, buf.getvalue())


def torch_save_atomic(obj, path: Path) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def save_figure(fig, path: Path) -> None:
    """Save a matplotlib Figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)


def resolve_run(run: str | Path) -> Path:
    """A run given as a path, or as a name under runs/."""
    p = Path(run).expanduser()
    if p.is_dir() or p.is_absolute() or len(p.parts) > 1:
        return p.resolve()
    return (runs_dir() / p).resolve()


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise TrainingError(f"cannot read {path} ({exc})", "the run folder is damaged; train it again in a new --out") from exc


def load_checkpoint(run_dir: Path, config: dict) -> dict:
    """The run's checkpoint, checked against the config it must continue (everything but epochs)."""
    import torch

    path = run_dir / CHECKPOINT
    if not path.is_file():
        raise TrainingError(f"{run_dir} has no {CHECKPOINT} to resume from",
                            "train without --resume into a new --out folder")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(ckpt, dict) or ckpt.get("schema") != CHECKPOINT_SCHEMA:
            raise ValueError("not a colourize checkpoint")
    except Exception as exc:  # truncated, foreign or tampered files all land here
        raise TrainingError(f"{path} is unreadable or not a checkpoint ({type(exc).__name__}: {exc})".replace("\n", " "),
                            "the run is left as it is; train again into a new --out folder") from exc
    saved = json.loads(ckpt["config"])
    differ = sorted(k for k in set(saved) | set(config)
                    if k not in RESUMABLE_CHANGES and saved.get(k) != config.get(k))
    if differ:
        detail = ", ".join(f"{k}: run has {saved.get(k)!r}, asked {config.get(k)!r}" for k in differ)
        raise TrainingError(f"checkpoint in {run_dir} was made with other settings ({detail})",
                            "resume with the run's own settings, or train into a new --out folder")
    return ckpt


def pin_run(run: str | Path, name: str | None = None, pack: str = "a2") -> tuple[Path, list[str]]:
    """Copy a run's small artefacts to solutions/<pack>/results/<name>/ (default name: the run's)."""
    src = resolve_run(run)
    if not (src / CONFIG).is_file() or not (src / METRICS).is_file():
        raise UsageError(f"{src} is not a finished run (no {CONFIG}/{METRICS})",
                         "pass a folder written by `cli.py train`, e.g. runs/unet")
    metrics = read_json(src / METRICS)
    if not metrics.get("complete"):
        raise UsageError(f"{src} has not finished training", "resume it with `cli.py train MODEL --out RUN --resume`")
    dest = solutions_dir() / pack / "results" / (name or src.name)
    copied = []
    for fname in PINNED:
        if (src / fname).is_file():
            atomic_write(dest / fname, (src / fname).read_bytes())
            copied.append(fname)
    return dest, copied
