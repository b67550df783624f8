"""Train a colourization CNN the course's way (Adam, pixel-wise cross-entropy, per-epoch validation).

Fast on a CPU: images stay on the device as uint8 and are converted per batch, labels are computed
once, CPU models run channels_last (measured faster with oneDNN), evaluation runs in inference
mode, and --amp autocasts to bfloat16 (float16 with loss scaling on CUDA GPUs without bfloat16). A
checkpoint after every epoch (and before the first) makes Ctrl-C resumable to the same result as an
uninterrupted run.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from colourize import data as cdata
from colourize import palette as cpal
from colourize import plots, runs
from colourize.models import build_model, resolve_model_name
from workbench import __version__
from workbench.atomic import save_figure
from workbench.errors import DataError, TrainingError, UsageError
from workbench.paths import make_folder, path_text

RUN_SCHEMA = "colourize.run/1"
MAX_SEED = 2**64 - 1


@dataclass(frozen=True)
class TrainConfig:
    """Every setting that changes the result. `data` None means torchvision's CIFAR-10 in the cache."""

    model: str = "convtranspose"
    epochs: int = 25
    batch_size: int = 100
    lr: float = 0.001
    kernel: int = 3
    num_filters: int = 32
    num_colours: int = 24
    seed: int = 0
    category: int = 7
    data: str | None = None
    palette: str | None = None
    palette_pixels: int = 20_000
    palette_n_init: int = 10  # k-means++ restarts; the lowest inertia wins
    amp: bool = False
    threads: int | None = None  # torch CPU threads; None keeps torch's default (one per core)
    limit: int | None = None
    samples: int = 10
    device: str = "auto"

    def check(self) -> None:
        """Refuse settings that cannot train, naming the flag (before any folder or data is touched)."""
        whole = {"--epochs": (self.epochs, 25), "--batch-size": (self.batch_size, 100),
                 "--num-filters": (self.num_filters, 32), "--threads": (self.threads, 2), "--limit": (self.limit, 500),
                 "palette_n_init": (self.palette_n_init, 10)}  # (value, an example)
        for name, (value, example) in whole.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise TrainingError(f"{name} {value} is not a positive whole number", f"e.g. {name} {example}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:  # sweep-seed-1 would read as 1
            raise TrainingError(f"--seed {self.seed} is not a whole number >= 0", "e.g. --seed 0")
        if self.seed > MAX_SEED:  # torch's generators take 64-bit seeds
            raise TrainingError(f"--seed {self.seed} is larger than {MAX_SEED} (2**64 - 1), the largest seed torch takes",
                                "e.g. --seed 0")
        k = self.num_colours  # at most as many as a palette file may hold
        if isinstance(k, bool) or not isinstance(k, int) or not 2 <= k <= cpal.MAX_COLOURS:
            raise TrainingError(f"--num-colours {k} is not a whole number from 2 to {cpal.MAX_COLOURS}",
                                "e.g. --num-colours 24 (the handout's)")
        cores = os.cpu_count() or 1
        if self.threads is not None and self.threads > 4 * cores:  # far past any gain; huge counts crash OpenMP
            raise TrainingError(f"--threads {self.threads} is more than 4x this machine's {cores} cores",
                                f"use --threads {cores} or fewer")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise TrainingError(f"--lr {self.lr} is not a positive learning rate", "e.g. --lr 0.001")
        # samples >= 1: samples.png is part of every run folder (plots.samples draws at least one image)
        if self.palette_pixels < self.num_colours or self.samples < 1:
            raise TrainingError(f"num_colours {self.num_colours}, palette_pixels {self.palette_pixels} and samples "
                                f"{self.samples} are out of range", "need num_colours <= palette_pixels, samples >= 1")

    def settings(self) -> dict:
        return asdict(self) | {"model": resolve_model_name(self.model),
                               "data": None if self.data is None else path_text(Path(self.data).expanduser().resolve()),
                               "palette": None if self.palette is None else path_text(Path(self.palette).expanduser().resolve())}


class Reporter:
    """Progress callbacks; the CLI draws a rich progress bar, the library default stays silent."""

    def start(self, first_epoch: int, epochs: int, batches: int) -> None: ...
    def batch(self, epoch: int, done: int, loss: float) -> None: ...
    def epoch(self, record: dict) -> None: ...


def resolve_device(name: str) -> torch.device:
    name = name.lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if torch.backends.mps.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainingError("--device cuda was asked for but this machine has no CUDA GPU (or torch is a CPU build)",
                            "use --device cpu or --device auto")
    if name == "mps" and not torch.backends.mps.is_available():
        raise TrainingError("--device mps was asked for but Apple's MPS backend is not available", "use --device cpu or auto")
    if name not in ("cpu", "cuda", "mps"):
        raise TrainingError(f"unknown device {name!r}", "use auto, cpu, cuda or mps")
    return torch.device(name)


def amp_dtype(device: torch.device) -> torch.dtype:
    """--amp's precision: bfloat16 where the device computes in it (CPUs; CUDA GPUs from Ampere on), else
    float16 on older CUDA GPUs (e.g. Colab's T4), whose small range needs loss scaling (see _train)."""
    if device.type == "cpu":
        return torch.bfloat16
    if device.type == "cuda":
        try:  # without the flag, torch calls bfloat16 "supported" when it is only emulated (slowly)
            native = torch.cuda.is_bf16_supported(including_emulation=False)
        except TypeError:  # older torch: no emulation to exclude
            native = torch.cuda.is_bf16_supported()
        return torch.bfloat16 if native else torch.float16
    raise TrainingError(f"--amp is not supported on {device.type} here", "train without --amp")


def _autocast(device: torch.device, enabled: bool):
    return torch.autocast(device.type, dtype=amp_dtype(device) if enabled else torch.bfloat16, enabled=enabled)


def pixel_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over every pixel: logits (B, NC, H, W), labels (B, H, W).

    Computed on (B*H*W, NC) rows: for channels_last logits (CPU) that is a free view, which skips a layout
    copy forward and backward (measured ~3x faster for the loss); on CUDA it avoids nll_loss2d, whose mean
    reduction adds with atomics, so losses would differ in the last digits between identical runs."""
    return F.cross_entropy(logits.permute(0, 2, 3, 1).reshape(-1, logits.shape[1]), labels.reshape(-1))


def _batches(n: int, size: int):
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def _inputs(images: torch.Tensor, memory_format) -> torch.Tensor:
    return cdata.to_inputs(images)[1].contiguous(memory_format=memory_format)  # (B, 1, H, W) float


def evaluate(model, images, labels, batch_size: int, device, amp: bool = False, memory_format=torch.contiguous_format):
    """Mean loss over batches (as the notebook averages) and pixel accuracy in %, BatchNorm in eval mode."""
    was_training = model.training
    model.eval()
    losses, correct = [], torch.zeros((), dtype=torch.long, device=device)
    with torch.inference_mode(), _autocast(device, amp):
        for sl in _batches(len(images), batch_size):
            logits = model(_inputs(images[sl], memory_format))  # (B, NC, H, W)
            losses.append(pixel_cross_entropy(logits.float(), labels[sl]))
            correct += (logits.argmax(dim=1) == labels[sl]).sum()
    model.train(was_training)
    return torch.stack(losses).mean().item(), 100.0 * correct.item() / labels.numel()


def prepare(cfg: TrainConfig, device: torch.device, run_dir: Path, resume: bool):
    """Images (uint8, on device), their labels (computed once) and the palette, plus their descriptions and the
    images' checksum (a resumed run must find the images it started with)."""
    train_u8, test_u8, source = images_of(cfg)
    n_train = len(train_u8)
    if train_u8.shape[2] % 4 or train_u8.shape[3] % 4:
        raise TrainingError(f"images are {tuple(train_u8.shape[2:])}; the networks halve the size twice",
                            "use images whose height and width are divisible by 4")
    if train_u8.shape[2:] != test_u8.shape[2:]:  # the test split is scored pixel by pixel with the same network
        raise DataError(f"{source.path} has training images of {'x'.join(map(str, train_u8.shape[2:]))} but test images "
                        f"of {'x'.join(map(str, test_u8.shape[2:]))}", "resize both splits to one size (CIFAR-10 is 32x32)")
    _check_kernel(cfg.kernel, tuple(train_u8.shape[2:]))
    _check_batches_of_one(tuple(train_u8.shape[2:]), n_train, cfg.batch_size)
    data_sha256 = images_digest(train_u8, test_u8)
    if resume:  # the run's own palette, so a resumed run labels pixels exactly as before
        config = runs.read_config(run_dir)
        _check_same_images(config, data_sha256, source, run_dir)
        pal, info = runs.read_palette(run_dir, config.get("palette_sha256")), config["palette_source"]
    elif cfg.palette:
        pal, info = cpal.load_palette(cfg.palette)
    else:
        pal = cpal.fit_palette_cached(train_u8, cfg.num_colours, cfg.seed, cfg.palette_pixels, cfg.palette_n_init,
                                      cdata.default_cache_dir())
        info = {"kind": "kmeans", "k": cfg.num_colours, "seed": cfg.seed, "pixels": cfg.palette_pixels,
                "init": "k-means++", "n_init": cfg.palette_n_init, "fitted_on": "training pixels"}
    train_u8, test_u8 = train_u8.to(device), test_u8.to(device)
    labels = (cpal.nearest_colour(train_u8, pal), cpal.nearest_colour(test_u8, pal))  # (N, H, W) long
    return train_u8, test_u8, labels, pal, info, source, data_sha256


def _check_same_images(config: dict, data_sha256: str, source: cdata.Source, run_dir: Path) -> None:
    if config.get("data_sha256", data_sha256) != data_sha256:  # runs made before it was recorded have none
        raise DataError(f"the images in {source.path} are not the ones {run_dir} started with (files were added, "
                        "removed or changed since)", "restore the data as it was, or train again into a new --out folder")


def _record_moved_data(cfg: TrainConfig, run_dir: Path) -> None:
    """A finished run resumed with --data NEWPATH trains nothing, but config.json must say where its images are now:
    a later resume without --data looked for them at the old, gone path."""
    config = runs.read_config(run_dir)
    data = cfg.settings()["data"]
    if config["settings"].get("data") == data:
        return
    train_u8, test_u8, source = images_of(cfg)
    _check_same_images(config, images_digest(train_u8, test_u8), source, run_dir)
    config["settings"]["data"], config["data_source"] = data, source.to_dict()
    runs.write_json(run_dir / runs.CONFIG, config)


def images_of(cfg: TrainConfig) -> tuple[torch.Tensor, torch.Tensor, cdata.Source]:
    """The run's training and test images, uint8 (N, 3, H, W) on the CPU in the run's order, and their source."""
    ds = cdata.shuffled(cdata.load_category(cfg.data, cfg.category), cfg.seed)
    n_train = len(ds.train) if cfg.limit is None else min(cfg.limit, len(ds.train))
    n_test = len(ds.test) if cfg.limit is None else min(cfg.limit, len(ds.test))
    return ds.train[:n_train], ds.test[:n_test], ds.source


def images_digest(train_u8: torch.Tensor, test_u8: torch.Tensor) -> str:
    """The checksum of the images a run trains on, in order (config.json's data_sha256)."""
    return runs.digest({"train": train_u8, "test": test_u8})


def _check_kernel(kernel: int, size: tuple[int, int]) -> None:
    if kernel > min(size):  # legal with padding, but the kernel would mostly see the padding
        raise TrainingError(f"kernel {kernel} is larger than the {size[1]}x{size[0]} images, so most of each kernel "  # WxH
                            "would fall on the zero padding around them",
                            f"use a kernel of at most {min(size)} (the notebook's is 3)")


def _check_batches_of_one(size: tuple[int, int], n_train: int, batch_size: int) -> None:
    """4x4 images are 1x1 after the second halving, where BatchNorm (training mode) needs 2+ values per channel,
    so a batch of one image would stop training with torch's ValueError in the middle of an epoch."""
    lone = n_train % batch_size == 1 if batch_size > 1 else n_train > 0
    if (size[0] // 4) * (size[1] // 4) != 1 or not lone:
        return
    n_batches = -(-n_train // batch_size)
    where = "every batch" if batch_size == 1 else f"the last of {n_batches} batches"
    fix = f"use --batch-size {n_train} (one batch), or" if n_train > 1 else "use 2+ training images, or"
    raise TrainingError(f"images of {size[1]}x{size[0]} are 1x1 after the networks halve them twice, where BatchNorm needs "
                        f"2+ images per batch, and --batch-size {batch_size} leaves one image alone in {where} "
                        f"({n_train} training images)", f"{fix} images of 8x8 or larger")


def train(cfg: TrainConfig, run_dir: Path, resume: bool = False, reporter: Reporter | None = None) -> dict:
    """Train (or resume) into run_dir and write its artefacts; returns metrics.json's content, with
    `nothing_trained: True` where run_dir held a finished run with no epoch left to train."""
    cfg = _colours_of_the_run(cfg, Path(run_dir), resume)
    threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        return _train(cfg, Path(run_dir), resume, reporter or Reporter())
    finally:
        torch.set_num_threads(threads)


def _check_optimizer_state(optimizer: torch.optim.Optimizer) -> None:
    """ValueError unless the loaded Adam state fits its parameters (load_state_dict checks only the group
    sizes; a mismatched moment would fail in the middle of the next step)."""
    for group in optimizer.param_groups:
        if not all(isinstance(group.get(k), (int, float)) and not isinstance(group.get(k), bool)
                   for k in ("lr", "eps", "weight_decay")):
            raise ValueError("its optimizer settings are damaged")
        for p in group["params"]:
            for name, value in optimizer.state.get(p, {}).items():
                if name != "step" and (not isinstance(value, torch.Tensor) or value.shape != p.shape):
                    raise ValueError(f"its optimizer state {name} does not fit a parameter of shape {tuple(p.shape)}")


def with_palette_file_colours(cfg: TrainConfig) -> TrainConfig:
    """A new run with a palette file has as many colours as the file (and records so), whatever num_colours says."""
    return cfg if cfg.palette is None else replace(cfg, num_colours=len(cpal.load_palette(cfg.palette)[0]))


def refuse_other_colour_count(cfg: TrainConfig) -> None:
    """--num-colours K beside a palette file of another count, for a new run: the file sets the run's colours (see
    with_palette_file_colours), so K would be dropped without a word."""
    k = len(cpal.load_palette(cfg.palette)[0])
    if k != cfg.num_colours:
        raise UsageError(f"--num-colours {cfg.num_colours} asks for {cfg.num_colours} colours, but --palette "
                         f"{cfg.palette} holds {k} colours", "leave out --num-colours (the palette file sets the "
                         f"count), or --palette to fit {cfg.num_colours} colours by k-means")


def _colours_of_the_run(cfg: TrainConfig, run_dir: Path, resume: bool) -> TrainConfig:
    """A resumed run keeps the count its config records (runs made before the rule above recorded 24)."""
    if resume and cfg.palette is not None and (run_dir / runs.CONFIG).is_file():
        recorded = runs.read_config(run_dir)["settings"].get("num_colours")
        return replace(cfg, num_colours=recorded) if isinstance(recorded, int) else cfg
    return cfg if resume else with_palette_file_colours(cfg)


def check_folder(run_dir: Path, resume: bool) -> None:
    """The run folder can take a new run, or (resume) holds one: what preflight checks first, and `train --out DIR
    --resume` without a MODEL before it looks for the model DIR's run records."""
    runs.check_run_folder(run_dir)
    existing = run_dir.is_dir() and any(run_dir.iterdir())
    if existing and not (run_dir / runs.CONFIG).is_file():
        found = ", ".join(sorted(p.name for p in run_dir.iterdir())[:3])
        raise TrainingError(f"{run_dir} is not empty and holds no run (it has {found})",
                            "choose an empty or new folder for --out")
    if existing and not resume:
        raise TrainingError(f"{run_dir} already holds a run", "pass --resume to continue it, or choose another --out")
    if resume and not existing:
        raise TrainingError(f"nothing to resume: {run_dir} is empty or missing", "train without --resume first")


def preflight(cfg: TrainConfig, run_dir: Path, resume: bool) -> tuple[torch.device, dict | None]:
    """Everything that can fail before the data is decoded: the run folder, the checkpoint, device, kernel, model.

    train_many checks every run this way before it starts the first, so `--all` does not train one
    model for minutes and then stop at the next one's folder. Returns the device and the checkpoint."""
    cfg.check()
    settings = cfg.settings()
    check_folder(run_dir, resume)
    reason = make_folder(run_dir) if resume else ""  # a real write: a read-only run failed at its first checkpoint
    if reason:
        raise TrainingError(f"cannot write in {run_dir} to resume it ({reason})",
                            "the run is left as it is; make the folder writable, then resume")
    ckpt = runs.load_checkpoint(run_dir, settings) if resume else None
    if ckpt is not None and ckpt["epoch"] > cfg.epochs:
        raise TrainingError(f"{run_dir} has already trained {ckpt['epoch']} epochs, more than --epochs {cfg.epochs}",
                            f"resume with --epochs {ckpt['epoch']} or more")
    device = resolve_device(cfg.device)
    if cfg.amp:
        amp_dtype(device)  # a device without autocast fails before data
    size = cdata.image_size(cdata.find_source(cfg.data), cfg.category)
    if size:  # before the model is built: kernel 1000 builds 6.4e9 weights (26 GB) that fit no image anyway
        _check_kernel(cfg.kernel, size)
    try:  # a bad kernel fails before data, and so does a model too large to build
        build_model(settings["model"], cfg.kernel, cfg.num_filters, cfg.num_colours, 1)
    except (RuntimeError, MemoryError) as exc:
        if not isinstance(exc, MemoryError) and "alloc" not in str(exc):
            raise
        raise TrainingError(f"{settings['model']} with --num-filters {cfg.num_filters} and kernel {cfg.kernel} does not fit in "
                            "memory", "use fewer filters, e.g. --num-filters 32 (the handout's)") from None
    if ckpt is not None:
        _check_resumable(ckpt, cfg, device, run_dir, settings["model"])
    return device, ckpt


def _train(cfg: TrainConfig, run_dir: Path, resume: bool, reporter: Reporter) -> dict:
    settings = cfg.settings()
    device, ckpt = preflight(cfg, run_dir, resume)
    if ckpt is not None and ckpt["epoch"] == cfg.epochs and (run_dir / runs.METRICS).is_file():
        metrics = runs.read_json(run_dir / runs.METRICS)
        if runs.is_finished(metrics, run_dir / runs.METRICS):  # nothing left to train: leave the finished run as it is
            _record_moved_data(cfg, run_dir)  # ... but for where its images are now
            return metrics | {"nothing_trained": True}  # not in the file: the command says so, not the table alone
    if device.type == "cuda":  # determinism for a seed and device
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    memory_format = torch.channels_last if device.type == "cpu" else torch.contiguous_format
    t0 = time.perf_counter()
    train_u8, test_u8, (train_y, test_y), pal, pal_info, source, data_sha256 = prepare(cfg, device, run_dir, resume)

    torch.manual_seed(cfg.seed)
    model = build_model(settings["model"], cfg.kernel, cfg.num_filters, len(pal), 1)
    model = model.to(device, memory_format=memory_format)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    scaler = _scaler(cfg, device)
    history: list[dict] = []
    if ckpt is not None:
        runs.remove_stale_temps(run_dir)
        _restore(ckpt, model, optimizer, scaler, run_dir, settings["model"], len(pal))
        history = list(ckpt["history"])
        config = runs.read_config(run_dir)
        changed = config["settings"].get("epochs") != cfg.epochs
        config["settings"]["epochs"] = cfg.epochs  # --resume --epochs N: the record says how long it trains
        if config["settings"].get("data") != settings["data"]:  # moved data, the same images (prepare checked)
            config["settings"]["data"], config["data_source"], changed = settings["data"], source.to_dict(), True
        session = {"device": str(device), "threads": torch.get_num_threads()}
        if any((config.get("resumed") or [config])[-1].get(k) != v for k, v in session.items()):
            # --resume --threads/--device: the record says which epochs trained with which (figures depend on them)
            config["resumed"], changed = [*config.get("resumed", []), {"after_epoch": len(history), **session}], True
        if changed:
            runs.write_json(run_dir / runs.CONFIG, config)
    else:  # the folder appears whole (palette, config, first checkpoint) or not at all
        with runs.new_run_folder(run_dir) as tmp:
            runs.save_npy_atomic(tmp / runs.PALETTE, pal.numpy().astype(np.float32))
            record = _config_record(settings, device, memory_format, source, pal_info, len(train_u8), len(test_u8))
            record["palette_sha256"] = runs.sha256_of(tmp / runs.PALETTE)  # --resume checks it is the same file
            record["data_sha256"] = data_sha256  # ... and that the images are the same
            runs.write_json(tmp / runs.CONFIG, record)
            _checkpoint(tmp, settings, model, optimizer, history, scaler)
    setup_seconds = time.perf_counter() - t0
    if ckpt is not None and len(history) < cfg.epochs:  # a finished run resumed with more epochs is unfinished again
        runs.write_json(run_dir / runs.METRICS, _metrics(history, len(train_u8), setup_seconds, complete=False))

    batches = _batches(len(train_u8), cfg.batch_size)
    reporter.start(len(history), cfg.epochs, len(batches))
    for epoch in range(len(history) + 1, cfg.epochs + 1):
        start = time.perf_counter()
        model.train()
        losses = []
        for i, sl in enumerate(batches):
            with _autocast(device, cfg.amp):
                logits = model(_inputs(train_u8[sl], memory_format))  # (B, NC, H, W)
            loss = pixel_cross_entropy(logits.float(), train_y[sl])
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()  # without float16 the scaler is off: loss.backward(), optimizer.step()
            scaler.step(optimizer)
            scaler.update()
            losses.append(loss.detach())
            if i % 5 == 4 or i == len(batches) - 1:
                reporter.batch(epoch, i + 1, losses[-1].item())
        train_loss = torch.stack(losses).mean().item()  # mean over batches, as the notebook reports
        train_seconds = time.perf_counter() - start
        val_loss, val_acc = evaluate(model, test_u8, test_y, cfg.batch_size, device, cfg.amp, memory_format)
        record = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "val_acc": val_acc,
                  "seconds": time.perf_counter() - start, "train_seconds": train_seconds}
        history.append(record)
        _checkpoint(run_dir, settings, model, optimizer, history, scaler)
        runs.write_json(run_dir / runs.METRICS, _metrics(history, len(train_u8), setup_seconds, complete=False))
        reporter.epoch(record)

    metrics = _metrics(history, len(train_u8), setup_seconds, complete=True)
    _write_outputs(run_dir, settings, model, test_u8, test_y, pal, history, cfg, device, memory_format)
    runs.write_json(run_dir / runs.METRICS, metrics)
    return metrics


def _restore(ckpt: dict, model, optimizer, scaler, run_dir: Path, model_name: str, n_colours: int) -> None:
    """Load the checkpoint's weights, Adam and loss-scale states and random state; TrainingError where they do not
    fit the model (another model's weights, another palette size, damaged state)."""
    try:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        _check_optimizer_state(optimizer)
        if ckpt.get("scaler"):  # float16 runs' loss scale (checkpoints from before it have none)
            scaler.load_state_dict(ckpt["scaler"])
        torch.set_rng_state(ckpt["rng"]["torch"])
    except (RuntimeError, KeyError, TypeError, ValueError) as exc:  # weights of another model or palette size
        why = str(exc).strip().splitlines()
        raise TrainingError(f"{run_dir / runs.CHECKPOINT} does not fit the run's {model_name} with "
                            f"{n_colours} colours ({why[-1].strip() if why else type(exc).__name__})",
                            "the run is left as it is; train again into a new --out folder") from exc


def _check_resumable(ckpt: dict, cfg: TrainConfig, device: torch.device, run_dir: Path, model_name: str) -> None:
    """The checkpoint loads into the run's model with its own palette: checked in preflight, so that `--all` or a sweep
    is refused before its first run trains, not when the damaged run's turn comes. The random state is kept."""
    pal = runs.read_palette(run_dir, runs.read_config(run_dir).get("palette_sha256"))
    model = build_model(model_name, cfg.kernel, cfg.num_filters, len(pal), 1)
    rng = torch.get_rng_state()
    try:
        _restore(ckpt, model, torch.optim.Adam(model.parameters(), lr=cfg.lr), _scaler(cfg, device), run_dir, model_name,
                 len(pal))
    finally:
        torch.set_rng_state(rng)


def _scaler(cfg: TrainConfig, device: torch.device) -> torch.amp.GradScaler:
    return torch.amp.GradScaler(device.type, enabled=cfg.amp and amp_dtype(device) == torch.float16)


def _checkpoint(run_dir: Path, settings: dict, model, optimizer, history: list[dict], scaler) -> None:
    ckpt = {"schema": runs.CHECKPOINT_SCHEMA, "config": json.dumps(settings, sort_keys=True),
            "epoch": len(history), "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict(), "rng": {"torch": torch.get_rng_state()}, "history": history}
    runs.torch_save_atomic(ckpt | {"sha256": runs.digest(ckpt)}, run_dir / runs.CHECKPOINT)


def _metrics(history: list[dict], n_train: int, setup_seconds: float, complete: bool) -> dict:
    last = history[-1] if history else {}
    train_seconds = sum(e["train_seconds"] for e in history)
    return {"schema": RUN_SCHEMA, "complete": complete, "epochs": history,
            "final": {"epoch": last.get("epoch", 0), "train_loss": last.get("train_loss"), "val_loss": last.get("val_loss"),
                      "val_acc": last.get("val_acc"), "seconds": sum(e["seconds"] for e in history),
                      "setup_seconds": setup_seconds,
                      "train_images_per_s": n_train * len(history) / train_seconds if train_seconds else None}}


def _config_record(settings, device, memory_format, source, pal_info, n_train, n_test) -> dict:
    import torchvision

    return {"schema": RUN_SCHEMA, "settings": settings, "device": str(device),
            "memory_format": "channels_last" if memory_format == torch.channels_last else "contiguous",
            "amp_dtype": str(amp_dtype(device)).removeprefix("torch.") if settings["amp"] else None,
            "threads": torch.get_num_threads(),
            "data_source": source.to_dict(), "n_train": n_train, "n_test": n_test, "palette_source": pal_info,
            "optimizer": "Adam", "loss": "pixel-wise cross-entropy", "num_in_channels": 1,
            "versions": {"python": platform.python_version(), "torch": torch.__version__,
                         "torchvision": torchvision.__version__, "workbench": __version__},
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _write_outputs(run_dir, settings, model, test_u8, test_y, pal, history, cfg, device, memory_format) -> None:
    n = min(cfg.samples, len(test_u8))
    model.eval()
    with torch.inference_mode(), _autocast(device, cfg.amp):
        rgb, grey = cdata.to_inputs(test_u8[:n])
        pred = model(grey.contiguous(memory_format=memory_format)).argmax(dim=1)  # (n, H, W)
    title = f"{type(model).__name__} after epoch {len(history)}: validation images (not trained on)"
    fig = plots.samples(grey[:, 0].cpu().numpy(), cpal.colours_of(test_y[:n], pal).cpu().numpy(),
                        cpal.colours_of(pred, pal).cpu().numpy(), rgb.permute(0, 2, 3, 1).cpu().numpy(), title)
    save_figure(fig, run_dir / "samples.png")
    save_figure(plots.curves(history, type(model).__name__), run_dir / "curves.png")
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    runs.torch_save_atomic({"model": settings["model"], "class": type(model).__name__, "kernel": cfg.kernel,
                            "num_filters": cfg.num_filters, "num_colours": len(pal), "num_in_channels": 1,
                            "palette": pal, "state_dict": state}, run_dir / runs.MODEL)
