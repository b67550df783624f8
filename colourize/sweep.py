"""Train one model per value of a swept setting and summarise the final figures.

A seed sweep repeats one configuration, so its summary also gives the spread (mean and sample standard
deviation) of the final figures: how much one run's numbers can be trusted.
"""

from __future__ import annotations

import math
import os
import statistics
from dataclasses import replace
from pathlib import Path

from colourize import palette, plots, runs
from colourize.parallel import Task, train_many
from colourize.train import Reporter, TrainConfig, images_digest, images_of, with_palette_file_colours
from workbench.atomic import save_figure
from workbench.console import paste_command
from workbench.errors import DataError, TrainingError, UsageError
from workbench.paths import runs_dir

# setting name on the command line -> (TrainConfig field, run-folder prefix, plot x scale)
SWEEPABLE = {"batch-size": ("batch_size", "bs", "log2"), "num-colours": ("num_colours", "nc", "linear"),
             "seed": ("seed", "seed", "linear")}
FIGURES = ("train_loss", "val_loss", "val_acc")


def run_dir_for(out_dir: Path, param: str, value: int) -> Path:
    return out_dir / f"sweep-{SWEEPABLE[param][1]}{value}"


def run_sweep(param: str, values: list[int], base: TrainConfig, out_dir: Path, resume: bool = False,
              reporter_for=lambda value: Reporter(), jobs: int = 1, given: frozenset[str] | None = None) -> dict:
    """Runs go to out_dir/sweep-<prefix><value>/; the summary to out_dir/sweep-<param>.json and .png.

    jobs > 1 trains that many runs at once in worker processes (see colourize.parallel). given: the settings' flags
    the command gave (e.g. --lr), the others taken from a run of the sweep (None: every setting given)."""
    field, _, scale = SWEEPABLE[param]
    if field == "num_colours" and base.palette is not None:  # the file would set every run's count alike
        raise UsageError(f"--palette {base.palette} sets the colour count, and a num-colours sweep fits a palette of "
                         "each count by k-means", "leave out --palette, or sweep another setting with it")
    unreadable = None
    try:  # the colour count the runs record (see train.with_palette_file_colours)
        base = with_palette_file_colours(base)
    except DataError as exc:
        if not resume:  # resumed runs keep their own palette copy; the file may be gone
            raise
        unreadable = exc
    summary = {"schema": "colourize.sweep/1", "param": param, "model": base.settings()["model"],
               "epochs": base.epochs, "settings": base.settings() | {field: None}}
    earlier = _earlier_summary(out_dir / f"sweep-{param}.json")
    differ = [k for k in ("model", "settings") if earlier and _but_epochs(earlier.get(k)) != _but_epochs(summary[k])]
    if resume and differ == ["settings"] and _moved_data(earlier, summary, param, base, out_dir):
        differ = []  # as `train --resume --data NEWPATH`: the sweep's own images, found at another place
    dirs = [run_dir_for(out_dir, param, v) for v in values]
    starts = [not (resume and d.is_dir()) for d in dirs]  # runs that start now, and read the palette file
    if unreadable and (differ or any(starts)):  # a run to start needs the file (and its colour count to compare)
        raise DataError(f"{unreadable.message}, the palette of the {param} sweep in {out_dir}",
                        "put the file back there (runs not started yet need it), or sweep into another --out")
    if differ:
        raise TrainingError(f"{out_dir} already holds a {param} sweep {_difference(earlier, summary, differ[0])} "
                            f"(its summary sweep-{param}.json would be replaced)", "sweep into another --out")
    if earlier and earlier.get("epochs") != base.epochs:  # more epochs extend the sweep when every run goes along
        _check_all_runs_extended(earlier, param, values, base.epochs, out_dir, resume)
    # --resume continues the runs that exist and starts the others
    tasks = [Task(replace(base, **{field: v}), d, not start) for v, d, start in zip(values, dirs, starts)]
    fitted = [t.cfg.num_colours for t in tasks if not t.resume] if field == "num_colours" else []
    try:
        results = train_many(tasks, jobs, lambda i: reporter_for(values[i]),
                             before=lambda: _refuse_colours_the_pixels_lack(base, fitted))
    except runs.OtherSettings as exc:  # its fix named `train MODEL`, which would train runs/MODEL, not this sweep's run
        at = [] if out_dir.resolve() == runs_dir() else ["--out", str(out_dir)]
        model = ["--model", exc.model] if exc.model else []
        again = ["sweep", param, *map(str, values), *model, *at, "--resume"]  # only a resume meets a checkpoint
        raise exc.resumed_with(paste_command(again), swept=param, given=given) from None
    rows = []
    for value, task, metrics in zip(values, tasks, results):
        final = metrics["final"]
        rows.append({param: value, "run": task.run_dir.name, "train_loss": final["train_loss"],
                     "val_loss": final["val_loss"], "val_acc": final["val_acc"], "seconds": final["seconds"]})
    rows = _with_earlier_runs(earlier, param, rows, out_dir)
    if field == "num_colours":  # each row scores its own task: K colours, where a uniform guess scores 1/K
        rows = [r | {"chance_acc": 100.0 / r[param], "chance_loss": math.log(r[param])} for r in rows]
    values = [r[param] for r in rows]
    summary |= {"values": values, "runs": rows}
    if param == "seed" and len(rows) > 1:
        summary["spread"] = spread(rows)
    runs.write_json(out_dir / f"sweep-{param}.json", summary)
    title = f"{summary['model']}, {base.epochs} epoch{'s' if base.epochs != 1 else ''}"
    fig = plots.sweep(values, rows, param, title, xscale=scale, spread=summary.get("spread"))
    save_figure(fig, out_dir / f"sweep-{param}.png")
    return summary


def _refuse_colours_the_pixels_lack(base: TrainConfig, counts: list[int]) -> None:
    """Every count of a num-colours sweep against the distinct colours of the pixels k-means samples, the same pixels
    for every count (one seed, one set of images): K=64 was refused when its run came, after K=8 had trained. The
    images come from the data cache the first run reads anyway."""
    if not counts:
        return
    most = palette.colours_to_fit(images_of(base)[0], base.seed, base.palette_pixels)
    over = [str(k) for k in counts if k > most]
    if not over:
        return
    fix = (f"sweep num-colours values of at most {most} (leave out {', '.join(over)}), or train on more varied "
           "images" if most >= 2 else "train on more varied images: a palette needs 2 colours or more, and these "
           "pixels hold one")
    raise DataError(f"num-colours {', '.join(over)}: k-means finds only {most} distinct "
                    f"colour{'s' if most != 1 else ''} among the training pixels it samples (the same pixels for every "
                    "count)", fix)


def _earlier_summary(path: Path) -> dict | None:
    """The summary an earlier sweep of this setting left in the folder (None if none or unreadable)."""
    try:
        return runs.read_json(path) if os.path.isfile(path) else None  # os.path: False for a name too long
    except TrainingError:
        return None


def _difference(earlier: dict, summary: dict, key: str) -> str:
    """'of another model (unet there, convtranspose now)' / 'with other settings (lr 0.001 there, 0.01 now)'."""
    if key == "model":
        return f"of another model ({earlier.get('model')} there, {summary['model']} now)"
    old, new = _but_epochs(earlier.get("settings")), _but_epochs(summary["settings"])
    if not isinstance(old, dict):
        return "with other settings"
    keys = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    return "with other settings (" + "; ".join(f"{k} {old.get(k)} there, {new.get(k)} now" for k in keys[:3]) + ")"


def _but_epochs(settings):
    """The settings a sweep's runs share; not epochs (extensible) nor threads (--jobs workers record theirs)."""
    return {k: v for k, v in settings.items() if k not in ("epochs", "threads")} if isinstance(settings, dict) else settings


def _moved_data(earlier: dict, summary: dict, param: str, base: TrainConfig, out_dir: Path) -> bool:
    """True when the data's path is all that differs from the earlier sweep and the images there are its runs' own
    (the checksum a run's config.json records); DataError when they are other images. False where no run of the
    sweep recorded a checksum (runs made before it was), as `train --resume` cannot tell either."""
    old, new = _but_epochs(earlier.get("settings")), _but_epochs(summary["settings"])
    if not isinstance(old, dict) or old | {"data": None} != new | {"data": None}:
        return False
    for value, row in _earlier_runs(earlier, param, out_dir).items():
        try:
            recorded = runs.read_config(out_dir / row["run"]).get("data_sha256")
        except TrainingError:  # a damaged record: another run may tell
            continue
        if recorded is None:
            continue
        train_u8, test_u8, source = images_of(replace(base, **{SWEEPABLE[param][0]: value}))
        if images_digest(train_u8, test_u8) != recorded:
            raise DataError(f"the images in {source.path} are not the ones the {param} sweep in {out_dir} was trained on "
                            "(files were added, removed or changed since)",
                            "restore the data as it was, or sweep into another --out")
        return True
    return False


def _earlier_runs(earlier: dict | None, param: str, out_dir: Path) -> dict[int, dict]:
    """The earlier sweep's rows whose runs are still there, by value."""
    return {r[param]: r for r in (earlier or {}).get("runs", []) if isinstance(r, dict)
            and isinstance(r.get(param), int) and (out_dir / str(r.get("run")) / runs.METRICS).is_file()}


def _check_all_runs_extended(earlier: dict, param: str, values: list[int], epochs: int, out_dir: Path,
                             resume: bool) -> None:
    """A summary holds runs of one length: another --epochs must resume every run of the sweep, as a single
    run's --resume --epochs N extends it (a run asked for fewer epochs than it has is refused by preflight)."""
    kept = _earlier_runs(earlier, param, out_dir)
    left = sorted(set(kept) - (set(values) if resume else set()))
    if left:
        every, had = sorted(set(kept) | set(values)), earlier.get("epochs")
        raise TrainingError(
            f"{out_dir} holds a {param} sweep of {had} epoch{'s' if had != 1 else ''}: --epochs {epochs} would leave "
            f"{param} {', '.join(map(str, left))} at {had} beside runs of {epochs} in its summary sweep-{param}.json",
            f"extend every run: `sweep {param} {' '.join(map(str, every))} --epochs {epochs} --resume` with the "
            "sweep's other flags, or sweep into another --out")


def _with_earlier_runs(earlier: dict | None, param: str, rows: list[dict], out_dir: Path) -> list[dict]:
    """This sweep's rows plus the earlier sweep's (same model, settings and epochs, checked before training) whose
    runs are still there: `sweep batch-size 1024` into a sweep's folder adds a value to its summary instead of
    replacing it. Merged rows are sorted by value; this sweep's rows win."""
    kept = _earlier_runs(earlier, param, out_dir)
    if set(kept) <= {r[param] for r in rows}:
        return rows  # nothing to add: the order asked
    kept.update({r[param]: r for r in rows})
    return [kept[v] for v in sorted(kept)]


def spread(rows: list[dict]) -> dict:
    """Mean and sample standard deviation of each final figure over the runs."""
    return {k: {"mean": statistics.fmean(r[k] for r in rows), "sd": statistics.stdev(r[k] for r in rows),
                "n": len(rows)} for k in FIGURES}
