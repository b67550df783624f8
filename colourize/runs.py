"""Run folders (runs/<name>/): atomic writes, the resumable checkpoint, and pinning results.

A run folder holds config.json, metrics.json, palette.npy, curves.png, samples.png, model.pt and
checkpoint.pt (model + optimizer + RNG states after the last complete epoch; kept after the last epoch
so that a finished run can be extended with --resume --epochs N).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from workbench.atomic import (atomic_path, atomic_write, cannot_write, creation_mode, folder_lock, pid_gone,
                              remove_orphans)
from workbench.errors import TrainingError, UsageError, WriteError
from workbench.paths import (inside_traces, missing_folders, path_problem, remove_empty, results_dir, runs_dir,
                             shown_path)

CONFIG, METRICS, CHECKPOINT, MODEL, PALETTE = "config.json", "metrics.json", "checkpoint.pt", "model.pt", "palette.npy"
PINNED = (CONFIG, METRICS, "curves.png", "samples.png")  # small artefacts; never weights
# colourize.models.MODELS (short name: class name), without importing torch
MODEL_CLASSES = {"poolupsample": "PoolUpsampleNet", "convtranspose": "ConvTransposeNet", "unet": "UNet"}
MODEL_NAMES = tuple(MODEL_CLASSES)
CHECKPOINT_SCHEMA = "colourize.checkpoint/1"
# settings a resume may change: more epochs, another device or thread count (bit-exact only if unchanged)
RESUMABLE_CHANGES = ("epochs", "device", "threads")
# ... and the data's path, for runs whose config.json records their images' checksum (data_sha256)
MOVABLE = ("data",)
# device names Windows reserves in any folder, with any extension and in any case
WINDOWS_RESERVED = re.compile(r"(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?", re.IGNORECASE)


def write_json(path: Path, obj) -> None:
    atomic_write(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def save_npy_atomic(path: Path, array) -> None:
    import numpy as np

    buf = io.BytesIO()
    np.save(buf, array)
    atomic_write(path, buf.getvalue())


def torch_save_atomic(obj, path: Path) -> None:
    import torch

    # saved through a file object: given a path, torch names the archive's records after the file, here the random
    # temp name, so two saves of the same object (the same run twice) gave different bytes
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        try:
            torch.save(obj, fh)
        except RuntimeError as exc:  # torch's zip writer hides a failed write (disk full) under its own error
            if isinstance(exc.__context__, OSError):
                raise exc.__context__ from None
            raise


def check_run_folder(run_dir: Path) -> None:
    """Refuse a run folder that is a file, or that sits where no folder can be made. The CLI checked --out as it
    read it (paths.path_arg); this checks the folder a run goes in, which the program may build from --out
    (--out/<model>, --out/sweep-seed-0, runs/<model>): too long, say, where --out was not."""
    problem = path_problem(run_dir, "folder", write=True)
    if problem is not None:
        raise TrainingError(f"cannot make {run_dir} ({problem[0]})", "choose another --out")
    if inside_traces(run_dir):
        raise TrainingError(f"{run_dir}: traces/ holds only the LLM's traces", "train elsewhere, e.g. --out runs/<name>")


def check_runs_parent(out_dir: Path) -> None:
    """Refuse a run's own folder as the --out of --all or a sweep: their runs (and a sweep's summary) would go
    inside that run."""
    if os.path.isfile(out_dir / CONFIG):  # os.path: False for a name too long (check_run_folder names that)
        raise UsageError(f"{out_dir} is a run folder (it holds {CONFIG}), and this --out is the folder its runs go in",
                         f"choose another --out, e.g. {shown_path(out_dir.parent)}")


@contextmanager
def new_run_folder(run_dir: Path):
    """Yield a temporary folder beside run_dir that becomes run_dir on success (removed on any failure),
    so an interrupted start never leaves a half-made run that neither --resume nor a new start accepts."""
    try:
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        # those of starts killed by SIGKILL (no cleanup runs); a start in progress keeps its own
        remove_orphans(run_dir.parent, re.compile(rf"\.{re.escape(run_dir.name)}\.(\d+)\.[a-z0-9_]+\.tmp"))
        tmp = Path(tempfile.mkdtemp(dir=run_dir.parent, prefix=f".{run_dir.name}.{os.getpid()}.", suffix=".tmp"))
    except OSError as exc:
        raise TrainingError(f"cannot make {run_dir} ({exc.strerror or exc})", "choose a writable place for --out") from exc
    try:
        try:
            yield tmp
        except WriteError as exc:  # it named a file in tmp, which is about to go
            raise exc.moved(tmp, run_dir) from exc
        os.chmod(tmp, creation_mode(0o777))
        try:
            if run_dir.is_dir():
                run_dir.rmdir()  # an empty folder (preflight refuses any other) gives way
            os.rename(tmp, run_dir)
        except OSError as exc:  # another run started into the same --out at the same time, and won
            raise TrainingError(f"{run_dir} already holds a run (made while this one was starting: {exc.strerror})",
                                "pass --resume to continue it, or choose another --out") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


RUN_FILES = (CONFIG, METRICS, PALETTE, CHECKPOINT, MODEL, "curves.png", "samples.png")


def remove_stale_temps(run_dir: Path) -> list[str]:
    """Temp files a killed writer left in a run folder (SIGKILL skips the cleanup of atomic writes); only the
    names our atomic writes of this folder's own files use. Called when a run is resumed."""
    stale = [p for name in RUN_FILES for p in run_dir.glob(f".{name}.*.tmp") if p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return [p.name for p in stale]


def resolve_run(run: str | Path) -> Path:
    """A run given as a path, or as a name under runs/."""
    p = Path(run).expanduser()
    if p.is_dir() or p.is_absolute() or len(p.parts) > 1:
        return p.resolve()
    return (runs_dir() / p).resolve()


DAMAGED = "the run folder is damaged; train it again into a new --out"


def read_json(path: Path) -> dict:
    """A run folder's JSON record (always an object)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise TrainingError(f"cannot read {path} ({exc})", DAMAGED) from exc
    if not isinstance(data, dict):
        raise TrainingError(f"{path} is not a JSON object", DAMAGED)
    return data


def is_finished(metrics: dict, path: Path) -> bool:
    """metrics.json's `complete` flag (absent: not finished). Only a boolean: "no" is truthy, and a hand-edited
    "complete": "no" was taken as a finished run."""
    flag = metrics.get("complete", False)
    if not isinstance(flag, bool):
        raise TrainingError(f"{path}: `complete` is {json.dumps(flag)}, not true or false", DAMAGED)
    return flag


def epochs_trained(metrics: dict) -> int | None:
    """The epochs metrics.json's final record says the run trained; None where it says none."""
    final = metrics.get("final")
    epoch = final.get("epoch") if isinstance(final, dict) else None
    return epoch if isinstance(epoch, int) else None


def read_config(run_dir: Path) -> dict:
    """config.json, with the records a resume relies on."""
    config = read_json(run_dir / CONFIG)
    for key in ("settings", "palette_source"):
        if not isinstance(config.get(key), dict):
            raise TrainingError(f"{run_dir / CONFIG} has no {key!r} record", DAMAGED)
    return config


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digest(obj) -> str:
    """sha256 of nested dicts, lists and tensors: the checksum a checkpoint or cache file keeps of itself, since
    torch.load does not check its zip's CRCs (a flipped byte loads as a wrong weight or pixel)."""
    import torch

    h = hashlib.sha256()

    def walk(x) -> None:
        if isinstance(x, torch.Tensor):
            flat = x.detach().cpu().contiguous().reshape(-1)
            h.update(f"T{x.dtype}{tuple(x.shape)}|".encode())
            h.update(flat.view(torch.uint8).numpy())
        elif isinstance(x, dict):
            h.update(f"D{len(x)}|".encode())
            for k in sorted(x, key=repr):
                h.update(f"{k!r}:".encode())
                walk(x[k])
        elif isinstance(x, (list, tuple)):
            h.update(f"L{len(x)}|".encode())
            for v in x:
                walk(v)
        else:
            h.update(f"{x!r}|".encode())

    walk(obj)
    return h.hexdigest()


def read_palette(run_dir: Path, sha256: str | None = None):
    """The run's own palette.npy as a (K, 3) float tensor; with sha256 (config.json's), it must be that file."""
    import numpy as np
    import torch

    if sha256 is not None and (run_dir / PALETTE).is_file() and sha256_of(run_dir / PALETTE) != sha256:
        raise TrainingError(f"{run_dir / PALETTE} is not the palette this run was made with (its hash changed)",
                            DAMAGED)
    try:
        pal = np.load(run_dir / PALETTE, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise TrainingError(f"{run_dir / PALETTE} is unreadable ({exc})".replace("\n", " "), DAMAGED) from exc
    if pal.ndim != 2 or pal.shape[1] != 3 or pal.dtype.kind != "f":
        raise TrainingError(f"{run_dir / PALETTE} holds {pal.dtype} {pal.shape}, not a (K, 3) palette", DAMAGED)
    return torch.from_numpy(pal)


EPOCH_FIELDS = ("epoch", "train_loss", "val_loss", "val_acc", "seconds", "train_seconds")


def _check_checkpoint_fields(ckpt: dict, saved) -> None:
    """ValueError unless the checkpoint has what resuming reads, of the right types (the weights' shapes are
    checked when the model loads them)."""
    import torch

    history, epoch = ckpt.get("history"), ckpt.get("epoch")
    if not isinstance(saved, dict) or not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise ValueError("its config or epoch is damaged")
    if not isinstance(history, list) or len(history) != epoch or not all(
            isinstance(e, dict) and all(isinstance(e.get(k), (int, float)) for k in EPOCH_FIELDS) for e in history):
        raise ValueError(f"its history does not hold {epoch} epoch records")
    rng = ckpt.get("rng")
    if not all(isinstance(ckpt.get(k), dict) for k in ("model", "optimizer")) or not isinstance(rng, dict) or \
            not isinstance(rng.get("torch"), torch.Tensor):
        raise ValueError("its model, optimizer or random state is missing")


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
        if "sha256" in ckpt and digest({k: v for k, v in ckpt.items() if k != "sha256"}) != ckpt["sha256"]:
            raise ValueError("its content does not match its checksum: the file was damaged")  # older ones have none
        saved = json.loads(ckpt["config"])
        _check_checkpoint_fields(ckpt, saved)
    except Exception as exc:  # truncated, foreign or tampered files all land here
        raise TrainingError(f"{path} is unreadable or not a checkpoint ({type(exc).__name__}: {exc})".replace("\n", " "),
                            "the run is left as it is; train again into a new --out folder") from exc
    config_json = read_config(run_dir)
    recorded = config_json["settings"]  # what the flags left out were taken from
    # data moved elsewhere: the run's images found at another path (prepare compares them with the checksum)
    movable = MOVABLE if "data_sha256" in config_json else ()
    differ = _differ(saved, recorded, movable)
    if differ:  # the checkpoint of another run copied in, or an edited config.json: nothing the user asked for
        detail = ", ".join(f"{k}: {CHECKPOINT} has {saved.get(k)!r}, {CONFIG} has {recorded.get(k)!r}" for k in differ)
        raise TrainingError(f"{path} does not match the run's {CONFIG} ({detail})",
                            f"put back the run's own {CHECKPOINT} and {CONFIG}, or train again into a new --out folder")
    differ = _differ(saved, config, movable)
    if differ:
        detail = "; ".join(f"{k}: run has {saved.get(k)!r}, asked {config.get(k)!r}" for k in differ)
        flags = [f"--{k.replace('_', '-')}" for k in differ if k != "model"]  # only flags given differ from the run's
        raise OtherSettings.of(run_dir, detail, saved.get("model") if "model" in differ else None, flags)
    return ckpt


class OtherSettings(TrainingError):
    """A checkpoint made with settings other than those asked. The fix names `train MODEL` (the run's model);
    a caller that ran another command (a sweep) names its own with resumed_with, in the same words."""

    @classmethod
    def of(cls, run_dir: Path, detail: str, model: str | None, flags: list[str], command: str | None = None,
           swept: str | None = None, given: frozenset[str] | None = None):
        """model: the run's, where the model is one of the settings that differ; flags: the others, as flags;
        swept: the setting a sweep's values set, given: the flags its command gave (None: all). A swept setting or
        one not given (a resumed sweep takes those from its first run) is no flag to leave out: the run is not the
        sweep's."""
        command = command or f"train {model}"
        stray = [f for f in flags if f == f"--{swept}" or given is not None and f not in given] if swept else []
        if stray:
            why = " or ".join(f"the {swept} its folder's name says" if f == f"--{swept}" else f"the sweep's {f[2:]}"
                              for f in stray)
            fix = [f"move {run_dir} aside (it was not trained with {why}); `{command}` then trains it anew"]
        else:
            fix = ([f"resume it with `{command}`"] if model else []) + \
                ([f"leave out {', '.join(flags)} (flags left out take the run's own)"] if flags else [])
        exc = cls(f"checkpoint in {run_dir} was made with other settings ({detail})",
                  f"{' and '.join(fix)}, or {command.split()[0]} into a new --out folder")
        # kept when pickled (__reduce__)
        exc.run_dir, exc.detail, exc.model, exc.flags = run_dir, detail, model, flags
        return exc

    def resumed_with(self, command: str, swept: str | None = None,
                     given: frozenset[str] | None = None) -> "OtherSettings":
        """The same error, its fix naming `command` (e.g. `sweep seed 0 1 --model unet`) in place of `train MODEL`;
        with `swept`, a run trained with another value of it (or of a setting not in `given`) is to be moved aside."""
        return OtherSettings.of(self.run_dir, self.detail, self.model, self.flags, command, swept, given)


def _differ(saved: dict, config: dict, movable: tuple[str, ...] = ()) -> list[str]:
    """The settings that differ, but for those a resume may change."""
    return sorted(k for k in set(saved) | set(config)
                  if k not in RESUMABLE_CHANGES + movable and saved.get(k) != config.get(k))


def pin_run(run: str | Path, name: str | None = None, pack: str = "a2", force: bool = False) -> tuple[Path, list[str]]:
    """Copy a run's small artefacts to solutions/<pack>/results/<name>/ (default name: the run's).

    Pinned results are what the writeup and `verify` quote, so a different result already pinned under
    that name is replaced only with force, and a name that is a model's must hold that model's run."""
    try:
        src = resolve_run(run)
        finished = (src / CONFIG).is_file() and (src / METRICS).is_file()
    except OSError as exc:  # a name longer than the file system allows
        raise UsageError(f"cannot read the run {run} ({exc.strerror})",
                         "pass a folder written by `cli.py train`, e.g. runs/unet") from exc
    if not finished:
        # a sweep's folder holds its runs (and its summary), not a run: pin them one by one
        swept = sorted(p.name for p in src.glob("sweep-*") if (p / CONFIG).is_file()) if src.is_dir() else []
        if swept:
            raise UsageError(f"{src} holds a sweep, not a run (no {CONFIG}/{METRICS} of its own)",
                             f"pin each of its runs, e.g. `python cli.py pin {shown_path(src / swept[0])}`")
        raise UsageError(f"{src} is not a finished run (no {CONFIG}/{METRICS})",
                         "pass a folder written by `cli.py train`, e.g. runs/unet")
    metrics = read_json(src / METRICS)
    settings, done = read_config(src)["settings"], epochs_trained(metrics)
    # runs extended with --resume --epochs before 82face6 could be left 'complete' short of config.json's epochs
    short = isinstance(settings.get("epochs"), int) and done is not None and done < settings["epochs"]
    if not is_finished(metrics, src / METRICS) or short:
        model = str(settings.get("model") or "MODEL")
        from workbench.console import paste_command

        again = paste_command(["python", "cli.py", "train", model, "--out", shown_path(src), "--resume"])
        raise UsageError(f"{src} has not finished training", f"finish it with `{again}`, then pin it")
    name = src.name if name is None else name
    # 300 characters: an OSError traceback. Nor a name Windows refuses (CON, nul.txt) or cuts (a trailing dot):
    # the pinned result is committed, and a clone on Windows failed on it
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", name) or name.endswith(".") or WINDOWS_RESERVED.fullmatch(name):
        raise UsageError(f"result name {name!r} is not a plain folder name of at most 100 characters", "use letters, digits, '.', '_' or '-', e.g. --as unet")
    model = settings.get("model")
    # the checks read model names in any case, and the class names too (ConvTransposeNet is convtranspose's own pin)
    as_model = next((short for short, cls in MODEL_CLASSES.items() if name.lower() in (short, cls.lower())), name.lower())
    if as_model in MODEL_NAMES and model != as_model:
        other = model if src.name == model else f"{model}-{src.name}"
        raise UsageError(f"{src} trained {model}, not {name}", f"pin it under another name, e.g. --as {other}")
    if as_model in MODEL_NAMES:  # so `--as UNet` meets (and may not silently outrank) the result pinned as unet
        name = as_model
    from workbench.problems import load_pack

    dest = results_dir(load_pack(pack).name) / name  # where verify and the writeup read it, --pack a name or a folder
    files = {f: (src / f).read_bytes() for f in PINNED if (src / f).is_file()}
    made = missing_folders(dest.parent)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with folder_lock(dest.parent):  # two pins into one name at once: the second checks what the first pinned
            foreign = sorted(p.name for p in dest.iterdir() if p.name not in PINNED) if dest.is_dir() else []
            if foreign:
                raise UsageError(f"{dest} holds more than a pinned run ({', '.join(foreign[:3])})",
                                 "pin under another name with --as")
            changed = [f for f, data in files.items() if not (dest / f).is_file() or (dest / f).read_bytes() != data]
            changed += [f for f in PINNED if f not in files and (dest / f).is_file()]  # the swap would drop it
            if dest.is_dir() and any(dest.iterdir()) and changed and not force:
                raise UsageError(f"{dest} already holds another pinned result (the writeup and verify quote it)",
                                 "pass --force to replace it, or pin under another name with --as")
            _replace_folder(dest, files)
    except OSError as exc:
        raise cannot_write(dest, exc) from exc
    finally:
        if not dest.exists():
            remove_empty(made)
    return dest, list(files)


# .<name>.<pid>.<random>.new: a result being built; .old: the result it replaces, set aside for the swap
PIN_TEMP = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.[a-z0-9_]+\.(?P<kind>new|old)")


def recover_pins(results: Path) -> None:
    """Undo what pins killed mid-swap (SIGKILL, power loss) left in results/: an .old folder whose name took no
    new result is the whole old result, and goes back; the other hidden folders of gone processes are removed."""
    for path in sorted(results.iterdir()):
        found = PIN_TEMP.fullmatch(path.name)
        if found and path.is_dir() and pid_gone(int(found["pid"])):
            if found["kind"] == "old" and not (results / found["name"]).exists():
                os.rename(path, results / found["name"])
            else:
                shutil.rmtree(path, ignore_errors=True)


def _replace_folder(dest: Path, files: dict[str, bytes]) -> None:
    """Make dest hold exactly `files`, replacing the whole folder at once: the new one is built complete beside it,
    then two renames swap them, so readers find the old result or the new one, never a mix of both. Between the
    renames dest is absent for an instant (a reader sees no result); a pin killed there leaves the old result in
    .<name>.<pid>.*.old, which the next pin puts back (recover_pins)."""
    new = old = None
    try:
        recover_pins(dest.parent)
        new = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.{os.getpid()}.", suffix=".new"))
        for fname, data in files.items():
            atomic_write(new / fname, data)
        os.chmod(new, creation_mode(0o777))
        if dest.is_dir():
            old = new.with_name(new.name.removesuffix(".new") + ".old")
            os.rename(dest, old)
        os.rename(new, dest)
    except WriteError as exc:  # it named a file in the staging folder, which is about to go
        raise exc.moved(new, dest) from exc
    finally:  # an OSError goes on to pin_run, which names dest
        if old is not None and not dest.exists():  # the new result never took its place: the old one goes back
            try:
                os.rename(old, dest)
            except OSError:  # left for the next pin to put back
                pass
        if new is not None:
            shutil.rmtree(new, ignore_errors=True)
        if old is not None and dest.exists():
            shutil.rmtree(old, ignore_errors=True)
