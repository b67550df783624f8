"""Train one model per value of a swept setting and summarise the final figures."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from colourize import plots, runs
from colourize.parallel import Task, train_many
from colourize.train import Reporter, TrainConfig

# setting name on the command line -> (TrainConfig field, run-folder prefix)
SWEEPABLE = {"batch-size": ("batch_size", "bs")}


def run_sweep(param: str, values: list[int], base: TrainConfig, out_dir: Path, resume: bool = False,
              reporter_for=lambda value: Reporter(), jobs: int = 1) -> dict:
    """Runs go to out_dir/sweep-<prefix><value>/; the summary to out_dir/sweep-<param>.json and .png.

    jobs > 1 trains that many runs at once in worker processes (see colourize.parallel)."""
    field, prefix = SWEEPABLE[param]
    # --resume continues the runs that exist and starts the others
    dirs = [out_dir / f"sweep-{prefix}{v}" for v in values]
    tasks = [Task(replace(base, **{field: v}), d, resume and d.is_dir()) for v, d in zip(values, dirs)]
    results = train_many(tasks, jobs, lambda i: reporter_for(values[i]))
    rows = []
    for value, task, metrics in zip(values, tasks, results):
        final = metrics["final"]
        rows.append({param: value, "run": task.run_dir.name, "train_loss": final["train_loss"],
                     "val_loss": final["val_loss"], "val_acc": final["val_acc"], "seconds": final["seconds"]})
    summary = {"schema": "colourize.sweep/1", "param": param, "values": values, "model": base.settings()["model"],
               "epochs": base.epochs, "settings": base.settings() | {field: None}, "runs": rows}
    runs.write_json(out_dir / f"sweep-{param}.json", summary)
    fig = plots.sweep(values, rows, param, f"{base.settings()['model']}, {base.epochs} epochs")
    runs.save_figure(fig, out_dir / f"sweep-{param}.png")
    return summary
