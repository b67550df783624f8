"""`train`, `sweep` and `pin`: the colourization CNNs of the A2 pack (torch is imported only when used)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from colourize.runs import CHECKPOINT, MODEL_NAMES, RESUMABLE_CHANGES, check_runs_parent
from workbench.commands.catalog import add_pack_option
from workbench.console import console, external, one_line, paste_command, print_json, print_warning
from workbench.errors import DataError, Interrupted, TrainingError, UsageError, WorkbenchError, WriteError
from workbench.paths import path_arg, project_hint, runs_dir

# flag dest -> TrainConfig field; None defaults let --resume take the run's own settings
SETTINGS = ("epochs", "batch_size", "lr", "kernel", "num_filters", "num_colours", "seed", "device", "data", "category",
            "palette", "amp", "threads", "limit")


def _add_train_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("training settings (defaults: the handout's)")
    g.add_argument("--epochs", type=int, help="epochs to train (default 25)")
    g.add_argument("--batch-size", type=int, help="batch size (default 100)")
    g.add_argument("--lr", type=float, help="Adam learning rate (default 0.001)")
    g.add_argument("--kernel", type=int, help="kernel size (default 3)")
    g.add_argument("--num-filters", type=int, help="NF, filters of the first layer (default 32)")
    g.add_argument("--num-colours", type=int, metavar="K", help="palette colours k-means fits, the classes each "
                   "pixel is sorted into (default 24; a --palette file has its own count)")
    g.add_argument("--seed", type=int, help="seed for shuffling, palette and weights (default 0)")
    g.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="default auto")
    g.add_argument("--data", metavar="PATH", type=path_arg("--data"),
                   help="cifar-10-batches-py folder, cifar-10-python.tar.gz, or train|test/<class>/ image folders "
                        "(default: torchvision's download into .cache/colourize)")
    g.add_argument("--category", help="CIFAR-10 class name or label (default horse = 7)")
    g.add_argument("--palette", metavar="FILE", type=path_arg("--palette", "file"),
                   help=".npy palette, (K, 3) or (K, 1, 3), values 0-1 or 0-255 "
                        "(default: k-means with --num-colours K over training pixels)")
    g.add_argument("--amp", action="store_true", default=None, help="mixed precision: bfloat16 autocast (CPU, CUDA from Ampere on), "
                   "float16 with loss scaling on older CUDA GPUs")
    g.add_argument("--threads", type=int, metavar="N", help="CPU threads for torch (default: one per core)")
    g.add_argument("--limit", type=int, metavar="N", help="use only N training and N test images (smoke runs)")
    g.add_argument("--resume", action="store_true", help="continue from the last checkpoints: the run in --out (train "
                   "MODEL), or the runs under --out that exist (--all, sweep); the others start")
    g.add_argument("--json", action="store_true", help="machine-readable output, no progress bar")


def _add_jobs_flag(p: argparse.ArgumentParser, runs: str) -> None:
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help=f"runs at once, each in its own process with cores/N torch threads (default 1). These small "
                        f"networks use extra cores poorly, so on 2 cores {runs} side by side finish 1.1-1.3x sooner; "
                        "the thread count changes float summation order, so figures differ from --jobs 1 slightly")


def register(sub) -> None:
    p = sub.add_parser("train", help="train a colourization CNN (A2 questions 4-6) into runs/<model>/",
                       description="Train PoolUpsampleNet, ConvTransposeNet or UNet (or --all three) on one CIFAR-10 "
                                   "category, evaluating on the test split every epoch, into a run folder (config, "
                                   "metrics, curves, samples, model); Ctrl-C keeps the last complete epoch for "
                                   "--resume. Exit 0: trained; 2: bad input (model, settings, data, device, run "
                                   "folder or checkpoint) or a file that cannot be written (disk full); 130: "
                                   "interrupted.")
    p.add_argument("model", nargs="?", metavar="MODEL", help="poolupsample, convtranspose or unet (class names too); with "
                   "--resume, left out: the model of the run in --out")
    p.add_argument("--all", action="store_true", help="train the three models (one after another unless --jobs)")
    p.add_argument("--out", metavar="DIR", type=path_arg("--out", "folder", write=True),
                   help="run folder (default runs/<model>; with --all, the parent folder)")
    _add_jobs_flag(p, "the three models of --all with --jobs 3")
    _add_train_flags(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("sweep", help="train one run per value: `sweep batch-size 32 64 128 --model convtranspose`, "
                                      "`sweep seed 0 1 2 --model unet` (mean ± sd)",
                       description="Train one run per value of a setting (question 5.5: batch sizes), then table and "
                                   "plot the final losses and accuracies; `seed` repeats one configuration and "
                                   "reports mean ± sd; `num-colours` fits a k-means palette of each size (losses "
                                   "and accuracies of different sizes score different tasks); --resume continues "
                                   "the runs that exist and starts the others. Exit 0: swept; 2: bad input; 130: "
                                   "interrupted (each run keeps its last complete epoch).")
    # colourize.sweep.SWEEPABLE's names, without importing torch; errors name it PARAM as usage does
    p.add_argument("param", choices=("batch-size", "num-colours", "seed"), metavar="PARAM",
                   help="batch-size, num-colours or seed: the setting to sweep; `seed` repeats one configuration and "
                        "reports mean ± sd")
    p.add_argument("values", nargs="+", type=int, metavar="VALUE", help="the values to train with, e.g. 32 64 128 256 512")
    p.add_argument("--model", help="model to train (default convtranspose; with --resume, the model of the sweep's "
                   "runs under --out)")
    p.add_argument("--out", metavar="DIR", type=path_arg("--out", "folder", write=True),
                   help="parent folder of the runs (default runs/)")
    _add_jobs_flag(p, "three runs with --jobs 3")
    _add_train_flags(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("pin", help="copy a run's config, metrics and plots to solutions/<pack>/results/<name>/",
                       description="Copy a finished run's config, metrics and plots to solutions/<pack>/results/"
                                   "<name>/, where verify and build-writeup read them. Exit 0: pinned (or already "
                                   "pinned); 2: bad input (an unfinished or missing run, or another result under "
                                   "that name without --force) or a file that cannot be written (disk full: the "
                                   "pinned result stays as it was).")
    p.add_argument("run", metavar="RUN", type=path_arg("RUN"), help="run folder or name under runs/")
    p.add_argument("--as", dest="name", metavar="NAME", help="result name (default: the run folder's name)")
    add_pack_option(p)
    p.add_argument("--force", action="store_true", help="replace a different result already pinned under that name")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_pin)


def _config(args, model: str, run_dir: Path):
    """TrainConfig from the flags; with --resume, flags left out take the run's saved settings."""
    from colourize import runs
    from colourize.data import resolve_category
    from colourize.train import TrainConfig, refuse_other_colour_count

    given = {k: getattr(args, k) for k in SETTINGS if getattr(args, k) is not None}
    if "category" in given:
        given["category"] = resolve_category(given["category"])
    saved = {}
    if args.resume and os.path.isfile(run_dir / runs.CONFIG):  # os.path: False for a name too long
        config = runs.read_config(run_dir)
        saved = {k: v for k, v in config["settings"].items() if k in TrainConfig.__dataclass_fields__}
        done = _epochs_trained(run_dir)  # runs extended by --resume --epochs before 137fa69 kept the first length
        if done is not None and isinstance(saved.get("epochs"), int) and done > saved["epochs"]:
            saved["epochs"] = done
        try:  # a damaged record must not read as a bad flag the user never gave
            TrainConfig(**saved | {"model": model}).check()
        except (TrainingError, TypeError) as exc:
            raise TrainingError(f"{run_dir / runs.CONFIG} holds settings that cannot train ({exc})", runs.DAMAGED) from None
        if "data" not in given and isinstance(saved.get("data"), str) and not os.path.exists(saved["data"]):
            # the run's path, not the user's: say so, and how a resume from moved data goes on
            raise DataError(f"{run_dir} was trained on the images in {saved['data']}, which are gone",
                            "if they moved, resume with --data NEWPATH (the images there must be the run's own)"
                            if "data_sha256" in config else f"put them back at {saved['data']} to resume")
    cfg = TrainConfig(**(saved | given | {"model": model}))
    if not saved and "num_colours" in given and cfg.palette is not None:  # a resumed run's checkpoint compares them
        refuse_other_colour_count(cfg)
    return cfg


def _epochs_trained(run_dir: Path) -> int | None:
    """The epochs metrics.json says the run trained, or None where it cannot tell (the resume checks the rest)."""
    from colourize import runs

    try:
        return runs.epochs_trained(runs.read_json(run_dir / runs.METRICS))
    except TrainingError:  # missing or damaged: nothing to learn here
        return None


def _resolve_models(args) -> list[str]:
    from colourize.models import resolve_model_name

    if args.all and args.model:
        raise UsageError("give a MODEL or --all, not both", "e.g. `cli.py train unet` or `cli.py train --all`")
    if args.all:
        return list(MODEL_NAMES)
    run_dir = Path(args.out).expanduser().resolve() if args.resume and args.out else None  # a run to resume
    recorded = _run_model(run_dir) if run_dir else None
    if not args.model:
        if recorded is None and run_dir:  # no run there: no model would resume anything, say so
            from colourize.train import check_folder

            check_folder(run_dir, resume=True)
        if recorded is None:
            raise UsageError("no model given", f"name one of {', '.join(MODEL_NAMES)}, or pass --all")
        return [recorded]  # --resume of the run in --out: its config.json says which model it trains
    model = resolve_model_name(args.model)
    if recorded is not None and model != recorded:
        raise UsageError(f"{run_dir} holds a {recorded} run, not {model}",
                         f"leave MODEL out (or give {recorded}) to resume it, or train {model} into a new --out folder")
    return [model]


def _run_model(run_dir: Path) -> str | None:
    """The model the run in run_dir records, or None where run_dir holds no run."""
    from colourize import runs
    from colourize.models import resolve_model_name

    if not os.path.isfile(run_dir / runs.CONFIG):  # os.path: False for a name too long
        return None
    model = runs.read_config(run_dir)["settings"].get("model")
    try:
        return resolve_model_name(model)
    except (UsageError, AttributeError):  # not a model's name, or no string at all: the record is damaged
        raise TrainingError(f"{run_dir / runs.CONFIG} records no model this workbench trains ({model!r})",
                            runs.DAMAGED) from None


def _sweep_model(args, model: str | None, out_dir: Path, dirs: list[Path]) -> str:
    """The model a resumed sweep trains: its runs' own, which a --model must match."""
    models = {d.name: m for d, m in zip(dirs, map(_run_model, dirs)) if m is not None}
    if len(set(models.values())) > 1:  # no one model resumes them all: a --model would loop on the other run
        each = ", ".join(f"{name}: {m}" for name, m in models.items())
        raise UsageError(f"{out_dir} holds a {args.param} sweep whose runs record different models ({each})",
                         f"move the runs of the model you do not sweep out of {out_dir}, or sweep into a new --out")
    recorded = next(iter(models.values()), None)
    if recorded is None or model in (None, recorded):
        return recorded or model or "convtranspose"
    raise UsageError(f"{out_dir} holds a {args.param} sweep of {recorded}, not {model}",
                     f"leave --model out (or give {recorded}) to resume it, or sweep {model} into another --out")


def _openmp_threads_sleep() -> None:
    """Let idle OpenMP threads sleep instead of spin (only takes effect before torch is first imported).

    Measured on the project's 2-core machine shared with other jobs (load ~8): with the default spinning,
    2 threads trained 2.7x slower than 1; with PASSIVE, 2 threads were as fast as 1 or faster.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _resume_elsewhere(args) -> None:
    """`--out runs/unet --resume` run from another folder looks there, where nothing is: name the project's run."""
    hint = project_hint(args.out) if args.resume and args.out else ""
    if hint:
        raise UsageError(f"nothing to resume: {Path(args.out).expanduser().resolve()} is missing",
                         "pass the folder the runs were made in" + hint)


def cmd_train(args) -> int:
    _openmp_threads_sleep()
    from colourize.parallel import Task, train_many

    _resume_elsewhere(args)
    models, tasks = _resolve_models(args), []
    if args.all and args.out:
        check_runs_parent(Path(args.out).expanduser().resolve())
    if not args.all and args.jobs > 1:  # silently training one run would leave the user thinking N ran
        raise UsageError(f"--jobs {args.jobs} runs several trainings at once, and `train {models[0]}` is one",
                         "give one run more cores with --threads N, or train several with --all --jobs N")
    for model in models:
        if args.out and not args.all:
            run_dir = Path(args.out).expanduser().resolve()
        else:
            run_dir = (Path(args.out).expanduser().resolve() if args.out else runs_dir()) / model
        # with --all, --resume continues the runs that exist and starts the others (os.path: False for a name too
        # long, where Path.is_dir raises)
        resume = args.resume and (not args.all or os.path.isdir(run_dir))
        tasks.append(Task(_config(args, model, run_dir), run_dir, resume))
    if args.all and args.resume and not any(t.resume for t in tasks):
        raise UsageError(f"nothing to resume: no run of --all under {tasks[0].run_dir.parent}",
                         "train without --resume, or pass the --out the runs were made with")
    with _Bars(args.json) as bars:
        try:
            results = train_many(tasks, args.jobs, lambda i: bars.bar(models[i]))
        except (KeyboardInterrupt, WriteError) as exc:
            # one run resumes from its own config.json; with --all, runs not yet started need the flags given
            # ... and one resumed with more epochs (or another device or thread count) needs those flags again
            which = ["--all", "--out", str(tasks[0].run_dir.parent), "--jobs", str(args.jobs), *_given_flags(args)] \
                if args.all else [models[0], "--out", str(tasks[0].run_dir), *_given_flags(args, RESUMABLE_CHANGES),
                                  *_moved_data(tasks[0])]
            again = paste_command(["python", "cli.py", "train", *which, "--resume"])
            raise _stopped(exc, [t.run_dir for t in tasks], again) from None
    rows = [{"model": m, "run": str(t.run_dir), **r["final"]} for m, t, r in zip(models, tasks, results)]
    for t, r in zip(tasks, results):
        if r.get("nothing_trained") and not args.json:  # the table alone reads as if it had just trained
            n = t.cfg.epochs
            line = (f"{t.run_dir} already finished its {n} epoch{'s' if n != 1 else ''}: nothing trained; "
                    f"resume with --epochs N (more than {n}) to train further")
            console.print(one_line(line), markup=False, soft_wrap=True)
    _report(rows, args.json, "run")
    return 0


def cmd_sweep(args) -> int:
    _openmp_threads_sleep()
    from colourize.models import resolve_model_name
    from colourize.sweep import run_dir_for, run_sweep

    _resume_elsewhere(args)
    model = resolve_model_name(args.model) if args.model else None
    out_dir = Path(args.out).expanduser().resolve() if args.out else runs_dir()
    check_runs_parent(out_dir)
    flag = args.param.replace("-", "_")
    if getattr(args, flag) is not None:
        raise UsageError(f"--{args.param} {getattr(args, flag)} conflicts with the swept {args.param} values",
                         f"leave --{args.param} out; the values after `sweep {args.param}` set it")
    repeated = sorted({v for v in args.values if args.values.count(v) > 1})
    if repeated:
        raise UsageError(f"{args.param} {', '.join(map(str, repeated))} given more than once", "list each value once")
    dirs = [run_dir_for(out_dir, args.param, v) for v in args.values]
    if args.resume and not any(map(os.path.isdir, dirs)):
        raise UsageError(f"nothing to resume: no run of this sweep under {out_dir}",
                         "train without --resume, or pass the --out the sweep was made with")
    model = _sweep_model(args, model, out_dir, dirs) if args.resume else model or "convtranspose"
    base = _config(args, model, next((d for d in dirs if os.path.isdir(d)), dirs[0]))  # flags left out: a run's own
    with _Bars(args.json) as bars:
        try:
            summary = run_sweep(args.param, args.values, base, out_dir, resume=args.resume, jobs=args.jobs,
                                reporter_for=lambda v: bars.bar(f"{model} {args.param} {v}"),
                                given=frozenset(f"--{k.replace('_', '-')}" for k in SETTINGS
                                                if getattr(args, k) not in (None, False)))
        except (KeyboardInterrupt, WriteError) as exc:
            again = ["python", "cli.py", "sweep", args.param, *map(str, args.values), "--model", model, "--out",
                     str(out_dir), "--jobs", str(args.jobs), *_given_flags(args), "--resume"]
            raise _stopped(exc, dirs, paste_command(again)) from None
    if args.json:
        print_json({"runs": summary["runs"]} | ({"spread": summary["spread"]} if "spread" in summary else {})
                   | {"summary": str(out_dir / f"sweep-{args.param}.json"), "plot": str(out_dir / f"sweep-{args.param}.png")})
        return 0
    _report(summary["runs"], False, args.param)
    if "spread" in summary:
        sp = summary["spread"]
        console.print(f"over {sp['val_acc']['n']} seeds (mean ± sample sd): train loss {sp['train_loss']['mean']:.4f} ± "
                      f"{sp['train_loss']['sd']:.4f}, val loss {sp['val_loss']['mean']:.4f} ± {sp['val_loss']['sd']:.4f}, "
                      f"val acc {sp['val_acc']['mean']:.2f} ± {sp['val_acc']['sd']:.2f} %", soft_wrap=True)
    stem = out_dir / f"sweep-{args.param}"
    console.print(one_line(f"summary: {stem}.json, plot: {stem}.png"), markup=False, soft_wrap=True)
    return 0


def cmd_pin(args) -> int:
    from colourize.runs import pin_run
    from workbench.problems import load_pack
    from workbench.verify import PACK_RAISES, load_reference, pack_failure, read_run

    pack = load_pack(args.pack)
    # the pack's own checks say which settings keep them from counting the run (a2: problems/a2/ref_runs.py)
    hook = getattr(load_reference(pack), "pin_note", None) if (Path(pack.path) / "reference.py").is_file() else None
    try:
        dest, copied = pin_run(args.run, args.name, args.pack, force=args.force)
    except UsageError as exc:  # run from another folder, `runs/unet` is looked for there
        raise UsageError(exc.message, exc.fix + project_hint(args.run)) from None
    try:
        note = hook(read_run(dest)) if hook else None
    except PACK_RAISES as exc:  # the run is pinned already: the pack's bug must not make the pin look failed
        note = None
        print_warning(f"{pack_failure('pin_note', exc, pack)}: the run is pinned, without a settings note")
    if args.json:
        print_json({"pinned": str(dest), "files": copied, "note": note})
    else:
        console.print(one_line(f"pinned {', '.join(copied)} -> {dest}"), markup=False, soft_wrap=True)
        if note:
            console.print(f"[yellow]note:[/] {external(note)}", soft_wrap=True)  # the pack's text: shown as written
    return 0


def _given_flags(args, which: tuple[str, ...] = SETTINGS) -> list[str]:
    """The training flags the user gave, as command-line words (runs not yet started need them on --resume)."""
    words = []
    for k in which:
        value = getattr(args, k)
        if value is None or value is False:
            continue
        words += [f"--{k.replace('_', '-')}"] + ([] if value is True else [str(value)])
    return words


def _moved_data(task) -> list[str]:
    """--data NEW for a resume from moved data stopped before config.json recorded the new place: without it the
    printed command would look for the images where the run says they were."""
    from colourize import runs

    data = task.cfg.settings()["data"]
    try:
        recorded = runs.read_config(task.run_dir)["settings"].get("data")
    except TrainingError:  # no readable record: the resume itself says so
        return []
    return ["--data", data] if task.resume and data is not None and recorded != data else []


def _stopped(exc: BaseException, run_dirs: list[Path], again: str) -> WorkbenchError:
    """Ctrl-C, or a write that failed (a full disk): either way the runs keep their last complete epoch."""
    if not isinstance(exc, WriteError):
        return _interrupted(run_dirs, again)
    if any((d / CHECKPOINT).is_file() for d in run_dirs):  # a plain rerun would be refused: the folders hold runs
        return WriteError(exc.message, f"{exc.advice}, then continue with `{again}` (each run keeps its last complete "
                          "epoch)", exc.reason, exc.advice)
    return exc


def _interrupted(run_dirs: list[Path], again: str) -> Interrupted:
    """After Ctrl-C: how to continue (the whole command, flags included), offered only if some run saved a
    checkpoint to continue from. cli.main prints it as one line (and as JSON with --json), exit 130."""
    if any((d / CHECKPOINT).is_file() for d in run_dirs):
        return Interrupted("interrupted: each run keeps its last complete epoch", f"continue with `{again}`")
    return Interrupted("interrupted before any run saved its first checkpoint: nothing was kept",
                       "run the same command again")


def _report(rows: list[dict], as_json: bool, key: str) -> None:
    if as_json:
        print_json({"runs": rows})
        return
    from rich.table import Table

    table = Table(title="final epoch")
    chance = bool(rows) and "chance_acc" in rows[0]  # num-colours: each count has its own chance level
    columns = ("train loss", "val loss", "chance loss", "val acc", "chance acc", "time")
    for col in (key, *(c for c in columns if chance or not c.startswith("chance"))):
        table.add_column(col, justify="left" if col == key else "right")
    for r in rows:
        name = str(r.get(key) if key != "run" else r["model"])
        loss, acc = [f"{r['val_loss']:.4f}"], [f"{r['val_acc']:.2f} %"]
        if chance:
            loss, acc = loss + [f"{r['chance_loss']:.4f}"], acc + [f"{r['chance_acc']:.2f} %"]
        table.add_row(name, f"{r['train_loss']:.4f}", *loss, *acc, f"{r['seconds']:.0f} s")
    console.print(table)
    if chance:
        console.print("chance: a uniform guess over K colours, accuracy 100/K % and loss ln K; each count is a task of "
                      "its own, so read its figures against its own chance, not across counts", soft_wrap=True)
    if key == "run":
        for r in rows:
            console.print(one_line(f"{r['model']}: {r['run']}"), markup=False, soft_wrap=True)


class _Bars:
    """One rich Progress for the command, with a bar per run (`bar(title)` is that run's Reporter), plus one
    notebook-style line per epoch. Runs may go side by side (--jobs).

    The Progress starts with the first epoch, so an error during setup prints nothing but its own line."""

    def __init__(self, quiet: bool):
        self.quiet, self.progress = quiet, None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def bar(self, title: str) -> "_RunBar":
        return _RunBar(self, title)

    def live(self):
        if self.progress is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn(),
                                     console=console, transient=True)
            self.progress.__enter__()
        return self.progress


class _RunBar:
    """The Reporter of one run: its own task in the shared Progress."""

    def __init__(self, bars: _Bars, title: str):
        self.bars, self.title, self.task, self.epochs, self.batches = bars, title, None, 0, 0

    def start(self, first_epoch: int, epochs: int, batches: int) -> None:
        self.epochs, self.batches = epochs, batches
        if not self.bars.quiet:
            self.task = self.bars.live().add_task(f"{self.title} epoch {first_epoch + 1}/{epochs}", total=batches,
                                                  loss="-")

    def batch(self, epoch: int, done: int, loss: float) -> None:
        if self.task is not None:
            self.bars.progress.update(self.task, completed=done, loss=f"{loss:.4f}",
                                      description=f"{self.title} epoch {epoch}/{self.epochs}")

    def epoch(self, r: dict) -> None:
        if self.task is None:
            return
        progress = self.bars.progress
        progress.console.print(
            f"{self.title} epoch [{r['epoch']}/{self.epochs}]  loss {r['train_loss']:.4f}  "
            f"val loss {r['val_loss']:.4f}  val acc {r['val_acc']:.2f} %  ({r['seconds']:.1f} s)", markup=False,
            soft_wrap=True)
        if r["epoch"] >= self.epochs:
            progress.remove_task(self.task)  # done: make room for the next run's bar
            self.task = None
        else:
            progress.reset(self.task, total=self.batches, loss="-",
                           description=f"{self.title} epoch {r['epoch'] + 1}/{self.epochs}")
