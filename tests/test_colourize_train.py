"""Training: run folder contents, determinism, bit-for-bit resume after Ctrl-C, refusals that leave runs alone."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from test_colourize_fixtures import make_cifar_batches, make_image_folder, one_thread  # noqa: F401 (fixture)

from colourize import runs
from colourize.train import Reporter, TrainConfig, train
from workbench.errors import DataError, TrainingError, UsageError

pytestmark = pytest.mark.usefixtures("one_thread")
RUN_FILES = {"config.json", "metrics.json", "palette.npy", "curves.png", "samples.png", "model.pt", "checkpoint.pt"}


@pytest.fixture(scope="module")
def palette_cache(tmp_path_factory) -> Path:
    """One .cache/colourize/ for this module's cfg runs: the same images give the same k-means palette (the cache is
    keyed by the images and the settings), fitted once here instead of in each test (1-2 s each)."""
    return tmp_path_factory.mktemp("colourize-cache")


@pytest.fixture
def cfg(project, palette_cache) -> TrainConfig:
    (project / ".cache").mkdir()
    (project / ".cache" / "colourize").symlink_to(palette_cache, target_is_directory=True)
    folder = make_cifar_batches(project / "data", horses_per_batch=40)  # 200 training, 40 test images
    return TrainConfig(model="convtranspose", epochs=2, batch_size=50, num_filters=8, data=str(folder),
                       palette_pixels=5000, device="cpu")


@pytest.fixture
def small(cfg) -> TrainConfig:
    """cfg on its first 20 images in batches of 5: 4 batches an epoch, as cfg's 200 in batches of 50, at a tenth of
    the cost, for the tests whose figures only need to agree with another run's."""
    return replace(cfg, limit=20, batch_size=5)


def _weights(run_dir):
    return torch.load(run_dir / "model.pt", weights_only=True)["state_dict"]


def _figures(metrics):
    return [(e["epoch"], e["train_loss"], e["val_loss"], e["val_acc"]) for e in metrics["epochs"]]


class InterruptAt(Reporter):
    """Raises KeyboardInterrupt (as Ctrl-C would) after the given epoch's last batch, before its checkpoint."""

    def __init__(self, epoch):
        self.at = epoch

    def batch(self, epoch, done, loss):
        if epoch == self.at and done == 4:
            raise KeyboardInterrupt


def test_run_folder_has_every_artefact(cfg, project):
    metrics = train(cfg, project / "runs" / "ct")
    run = project / "runs" / "ct"
    assert {p.name for p in run.iterdir()} == RUN_FILES
    config = json.loads((run / "config.json").read_text())
    assert config["settings"]["batch_size"] == 50 and config["settings"]["seed"] == 0
    assert config["device"] == "cpu" and config["data_source"]["kind"] == "batches"
    assert config["n_train"] == 200 and config["n_test"] == 40
    assert (config["memory_format"], config["amp_dtype"], config["threads"]) == ("channels_last", None, 1)  # CPU, no --amp
    assert (config["optimizer"], config["loss"], config["num_in_channels"]) == ("Adam", "pixel-wise cross-entropy", 1)
    import hashlib

    assert config["palette_sha256"] == hashlib.sha256((run / "palette.npy").read_bytes()).hexdigest()
    saved = torch.load(run / "model.pt", weights_only=True)
    assert (saved["model"], saved["kernel"], saved["num_filters"], saved["num_colours"]) == ("convtranspose", 3, 8, 24)
    assert saved["class"] == "ConvTransposeNet" and saved["palette"].shape == (24, 3)
    assert config["palette_source"]["kind"] == "kmeans" and set(config["versions"]) >= {"torch", "torchvision", "python"}
    on_disk = json.loads((run / "metrics.json").read_text())
    assert on_disk == json.loads(json.dumps(metrics)) and on_disk["complete"]
    assert [e["epoch"] for e in on_disk["epochs"]] == [1, 2] and on_disk["final"]["val_acc"] == on_disk["epochs"][1]["val_acc"]
    final, epochs = on_disk["final"], on_disk["epochs"]
    assert [final[k] for k in ("epoch", "train_loss", "val_loss", "val_acc")] == list(_figures(on_disk)[-1])
    assert final["seconds"] == pytest.approx(sum(e["seconds"] for e in epochs))
    assert final["train_images_per_s"] == pytest.approx(200 * 2 / sum(e["train_seconds"] for e in epochs))
    assert not list(run.glob(".*.tmp"))


def test_a_start_removes_the_temp_folders_of_killed_starts_only(project):
    """A start killed by SIGKILL (no cleanup runs) left .ct.*.tmp beside the run for good; now the next start removes
    those whose process is gone, and leaves a start in progress (its pid alive) and names not of this form alone."""
    import subprocess

    gone = subprocess.Popen(["true"])
    gone.wait()
    runs_dir = project / "runs"
    for name in (f".ct.{gone.pid}.k1l2_3.tmp", f".ct.{os.getpid()}.m4n5.tmp", ".ct.q1w2.tmp", f".ct2.{gone.pid}.a.tmp"):
        (runs_dir / name).mkdir(parents=True)
        (runs_dir / name / "config.json").write_text("{}")
    with runs.new_run_folder(runs_dir / "ct") as tmp:
        (tmp / "config.json").write_text("{}")
    assert {p.name for p in runs_dir.iterdir()} == {f".ct.{os.getpid()}.m4n5.tmp", ".ct.q1w2.tmp",
                                                     f".ct2.{gone.pid}.a.tmp", "ct"}



def test_the_temp_folder_of_a_start_killed_by_sigkill_is_removed_by_the_next(project):
    """The fix works only if a start's own temp folder is of the form the next start removes (it carries the pid)."""
    import subprocess
    import sys

    from conftest import REPO

    runs_dir = project / "runs"
    killed = subprocess.run([sys.executable, "-c", "import os, signal, sys\nfrom pathlib import Path\n"
                             "from colourize.runs import new_run_folder\n"
                             "with new_run_folder(Path(sys.argv[1])) as tmp:\n"
                             "    (tmp / 'config.json').write_text('{}')\n"
                             "    os.kill(os.getpid(), signal.SIGKILL)\n", str(runs_dir / "ct")], cwd=REPO)
    assert killed.returncode == -9 and [p.name.startswith(".ct.") for p in runs_dir.iterdir()] == [True]
    with runs.new_run_folder(runs_dir / "ct") as tmp:
        (tmp / "config.json").write_text("{}")
    assert [p.name for p in runs_dir.iterdir()] == ["ct"]

def test_the_figures_are_the_notebooks(cfg, project, monkeypatch):
    """train_loss: mean of the batches' losses; val_loss: mean over test batches; val_acc: % of test pixels right,
    with BatchNorm in eval mode (recomputed from model.pt)."""
    import colourize.train as ctrain
    from colourize import data as cdata
    from colourize.models import build_model
    from colourize.palette import nearest_colour

    real, train_losses = ctrain.pixel_cross_entropy, []

    def spy(logits, labels):
        loss = real(logits, labels)
        if torch.is_grad_enabled():  # evaluation runs in inference mode
            train_losses.append(loss.item())
        return loss

    monkeypatch.setattr(ctrain, "pixel_cross_entropy", spy)
    cfg = replace(cfg, epochs=1, batch_size=30)  # 7 training batches (the last of 20); test batches of 30 and 10
    final = train(cfg, project / "runs" / "ct")["final"]
    assert len(train_losses) == 7 and final["train_loss"] == pytest.approx(sum(train_losses) / 7, rel=1e-6)
    saved = torch.load(project / "runs" / "ct" / "model.pt", weights_only=True)
    model = build_model("convtranspose", 3, 8, len(saved["palette"]), 1)
    model.load_state_dict(saved["state_dict"])
    test = cdata.shuffled(cdata.load_category(cfg.data, cfg.category), cfg.seed).test  # (40, 3, 32, 32)
    labels = nearest_colour(test, saved["palette"])
    with torch.no_grad():
        logits = model.eval()((test.double() / 256).mean(1, keepdim=True).float())
    batch_losses = [torch.nn.functional.cross_entropy(logits[s], labels[s]).item() for s in (slice(0, 30), slice(30, 40))]
    assert final["val_loss"] == pytest.approx(sum(batch_losses) / 2, rel=1e-4)
    assert final["val_acc"] == pytest.approx(100 * (logits.argmax(1) == labels).double().mean().item(), abs=0.01)


def test_same_seed_same_result(small, project):
    a = train(small, project / "runs" / "a")
    b = train(small, project / "runs" / "b")
    c = train(replace(small, seed=1), project / "runs" / "c")
    assert _figures(a) == _figures(b) != _figures(c)


def test_the_same_object_saved_twice_is_the_same_bytes(tmp_path):
    """torch.save given the atomic write's temp path named the archive's records after it: model.pt and
    checkpoint.pt of two identical runs differed in every save."""
    state = {"model": "unet", "state_dict": {"w": torch.arange(6.0).reshape(2, 3)}}
    runs.torch_save_atomic(state, tmp_path / "a" / "model.pt")
    runs.torch_save_atomic(state, tmp_path / "b" / "model.pt")
    data = (tmp_path / "a" / "model.pt").read_bytes()
    assert data == (tmp_path / "b" / "model.pt").read_bytes() and b".model.pt." not in data
    assert torch.equal(torch.load(tmp_path / "a" / "model.pt", weights_only=True)["state_dict"]["w"], state["state_dict"]["w"])


def test_resume_after_ctrl_c_equals_an_uninterrupted_run(small, project):
    full = train(small, project / "runs" / "full")
    run = project / "runs" / "cut"
    with pytest.raises(KeyboardInterrupt):
        train(small, run, reporter=InterruptAt(2))
    partial = json.loads((run / "metrics.json").read_text())
    assert not partial["complete"] and len(partial["epochs"]) == 1
    (run / ".checkpoint.pt.x1y2.tmp").write_bytes(b"half a checkpoint")  # as a SIGKILLed writer leaves it
    (run / ".notes.txt.tmp").write_text("not ours")
    resumed = train(small, run, resume=True)
    assert _figures(resumed) == _figures(full)
    assert [p.name for p in run.glob(".*")] == [".notes.txt.tmp"]  # our stale temp removed, nothing else
    a, b = _weights(project / "runs" / "full"), _weights(run)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_extending_a_finished_run_equals_a_longer_run(small, project):
    full = train(small, project / "runs" / "full")
    run = project / "runs" / "short"
    train(replace(small, epochs=1), run)
    assert _figures(train(small, run, resume=True)) == _figures(full)
    # config.json says how long the run trains: `train MODEL --out RUN --resume` takes --epochs from it (it said 1,
    # and a later resume without --epochs was refused for "more than --epochs 1"), and the writeup shows it
    assert json.loads((run / "config.json").read_text())["settings"]["epochs"] == 2
    with pytest.raises(TrainingError, match="already trained 2 epochs"):
        train(replace(small, epochs=1), run, resume=True)


def test_resuming_a_stopped_run_with_fewer_epochs_records_them(small, project):
    """`--resume --epochs 2` on a run of 3 stopped after epoch 1: config.json says 2, as long as the run now trains."""
    run = project / "runs" / "cut"
    with pytest.raises(KeyboardInterrupt):
        train(replace(small, epochs=3), run, reporter=InterruptAt(2))
    assert len(train(small, run, resume=True)["epochs"]) == 2
    assert json.loads((run / "config.json").read_text())["settings"]["epochs"] == 2


def test_a_resume_with_another_thread_count_is_recorded(cfg, project):
    """The figures depend on the thread count: config.json said only the first session's 1 thread, for a run whose
    epochs 2-3 trained with 2 (`--resume --threads 2`); a resume with the same threads adds nothing."""
    run, cfg = project / "runs" / "cut", replace(cfg, limit=20)
    train(replace(cfg, epochs=1), run)
    train(replace(cfg, threads=2), run, resume=True)
    train(replace(cfg, epochs=3, threads=2), run, resume=True)
    config = json.loads((run / "config.json").read_text())
    assert (config["threads"], config["resumed"]) == (1, [{"after_epoch": 1, "device": "cpu", "threads": 2}])
    train(replace(cfg, epochs=4, threads=1), run, resume=True)  # back to 1 thread: a second entry, the first kept
    assert json.loads((run / "config.json").read_text())["resumed"] == [
        {"after_epoch": 1, "device": "cpu", "threads": 2}, {"after_epoch": 3, "device": "cpu", "threads": 1}]
    train(replace(cfg, epochs=5, threads=2), run, resume=True)  # compared with the last session, not the first resumed
    assert [(r["after_epoch"], r["threads"]) for r in json.loads((run / "config.json").read_text())["resumed"]] == [
        (1, 2), (3, 1), (4, 2)]


def _snapshot(run):
    return {p.name: p.read_bytes() for p in run.iterdir()}


def test_existing_run_is_not_overwritten(cfg, project, monkeypatch):
    from colourize import data as cdata

    run = project / "runs" / "ct"
    train(replace(cfg, epochs=1), run)
    before = _snapshot(run)
    monkeypatch.setattr(cdata, "load_category", lambda *a, **k: pytest.fail("data read"))  # refused before that
    with pytest.raises(TrainingError, match="already holds a run") as err:
        train(cfg, run)
    assert "--resume" in err.value.fix and _snapshot(run) == before


def test_corrupt_checkpoint_is_refused_and_run_untouched(cfg, project):
    run = project / "runs" / "ct"
    train(replace(cfg, epochs=1), run)
    (run / "checkpoint.pt").write_bytes(b"\x00garbage")
    before = _snapshot(run)
    with pytest.raises(TrainingError, match="unreadable or not a checkpoint"):
        train(cfg, run, resume=True)
    assert _snapshot(run) == before


def test_a_checkpoint_with_a_flipped_byte_is_refused_and_run_untouched(cfg, project):
    run = project / "runs" / "ct"
    train(replace(cfg, epochs=1), run)
    weight = torch.load(run / "checkpoint.pt", weights_only=True)["model"]["block1.0.weight"]
    flipped = bytearray((run / "checkpoint.pt").read_bytes())
    flipped[flipped.find(weight.numpy().tobytes()) + 3] ^= 0x40  # torch.load reads it without complaint
    (run / "checkpoint.pt").write_bytes(bytes(flipped))
    before = _snapshot(run)
    with pytest.raises(TrainingError, match="does not match its checksum"):
        train(cfg, run, resume=True)
    assert _snapshot(run) == before


def test_resume_refuses_a_data_folder_that_changed_and_leaves_the_run(cfg, project):
    folder = make_image_folder(project / "images", n_train=8, n_test=4)
    cfg = replace(cfg, data=str(folder), batch_size=4, palette_pixels=1000)
    run = project / "runs" / "ct"
    train(replace(cfg, epochs=1), run)
    (folder / "train" / "horse" / "0000.png").rename(folder / "train" / "horse" / "0100.png")  # same images, new order
    before = _snapshot(run)
    with pytest.raises(DataError, match="are not the ones .* started with"):
        train(cfg, run, resume=True)
    assert _snapshot(run) == before
    (folder / "train" / "horse" / "0100.png").rename(folder / "train" / "horse" / "0000.png")  # put back: it resumes
    assert len(train(cfg, run, resume=True)["epochs"]) == 2


def test_mismatched_checkpoint_names_the_setting(cfg, project):
    run = project / "runs" / "ct"
    train(replace(cfg, epochs=1), run)
    before = _snapshot(run)
    with pytest.raises(TrainingError, match="lr: run has 0.001, asked 0.01"):
        train(replace(cfg, lr=0.01), run, resume=True)
    with pytest.raises(TrainingError, match="seed: run has 0, asked 1"):  # its random state is the seed's: no mix
        train(replace(cfg, seed=1), run, resume=True)
    assert _snapshot(run) == before


@pytest.mark.parametrize("change,words", [
    ({"num_colours": 1}, "--num-colours 1 is not"), ({"num_colours": 257}, "--num-colours 257 is not"),
    ({"num_colours": 30, "palette_pixels": 20}, "palette_pixels 20"),
    ({"samples": 0}, "samples 0"), ({"palette_n_init": 0}, "palette_n_init 0"),
])
def test_library_settings_out_of_range_are_refused(change, words):
    with pytest.raises(TrainingError, match=words):
        replace(TrainConfig(), **change).check()


def test_the_largest_torch_seed_is_accepted():
    from colourize.train import MAX_SEED

    assert MAX_SEED == 2**64 - 1
    TrainConfig(seed=MAX_SEED).check()
    torch.Generator().manual_seed(MAX_SEED)  # torch takes it


def test_a_run_palette_that_is_not_float_colours_is_refused(tmp_path):
    import numpy as np

    np.save(tmp_path / "palette.npy", np.array([[0, 0, 0], [255, 255, 255]], dtype=np.int64))
    with pytest.raises(TrainingError, match="holds int64 \\(2, 3\\), not a \\(K, 3\\) palette"):
        runs.read_palette(tmp_path)
    for shape in ((2, 4), (6,), (2, 3, 1)):  # colours of another channel count, or not one row per colour
        np.save(tmp_path / "palette.npy", np.zeros(shape, dtype=np.float32))
        with pytest.raises(TrainingError, match=f"holds float32 \\({', '.join(map(str, shape))},?\\), not a"):
            runs.read_palette(tmp_path)
    np.save(tmp_path / "palette.npy", np.zeros((2, 3), dtype=np.float32))
    assert runs.read_palette(tmp_path).shape == (2, 3)


def test_a_run_named_by_a_folder_here_is_that_folder(project, tmp_path, monkeypatch):
    from workbench.paths import runs_dir

    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").mkdir()
    assert runs.resolve_run("mine") == tmp_path / "mine"
    assert runs.resolve_run("unet") == (runs_dir() / "unet").resolve()  # otherwise a name under runs/
    # a path (absolute, or of two parts or more) is a path even where nothing is there yet
    assert runs.resolve_run("gone/unet") == tmp_path / "gone" / "unet"
    assert runs.resolve_run(tmp_path / "gone") == tmp_path / "gone"


def test_a_resume_removes_only_the_temp_files_of_the_run_files(tmp_path):
    """What a SIGKILLed atomic write of a run file leaves (.checkpoint.pt.<random>.tmp); not a folder of that name,
    nor the temp file of a name that is not a run file's."""
    (tmp_path / ".checkpoint.pt.x1y2.tmp").write_bytes(b"half")
    (tmp_path / ".model.pt.a1.tmp").mkdir()
    (tmp_path / ".notes.txt.b2.tmp").write_text("not ours")
    assert runs.remove_stale_temps(tmp_path) == [".checkpoint.pt.x1y2.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".model.pt.a1.tmp", ".notes.txt.b2.tmp"]


def test_resume_without_a_run(cfg, project):
    with pytest.raises(TrainingError, match="nothing to resume"):
        train(cfg, project / "runs" / "none", resume=True)


def test_cuda_without_gpu(cfg, project, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(TrainingError, match="no CUDA GPU"):
        train(replace(cfg, device="cuda"), project / "runs" / "gpu")
    assert not (project / "runs" / "gpu").exists()


def test_bad_kernel_fails_before_anything_is_written(cfg, project):
    with pytest.raises(TrainingError, match="kernel 0 is not a valid kernel size"):
        train(replace(cfg, kernel=0), project / "runs" / "k0")
    assert not (project / "runs" / "k0").exists()


@pytest.mark.parametrize("folder", [False, True])
def test_a_kernel_larger_than_the_images_is_refused_before_the_model_is_built(cfg, project, monkeypatch, folder):
    import colourize.train

    if folder:
        cfg = replace(cfg, data=str(make_image_folder(project / "images", n_train=2, n_test=1)))
    monkeypatch.setattr(colourize.train, "build_model", lambda *a: pytest.fail("built"))  # kernel 1000: 26 GB of weights
    with pytest.raises(TrainingError, match="kernel 40 is larger than the 32x32 images"):
        train(replace(cfg, kernel=40), project / "runs" / "k40")
    assert not (project / "runs" / "k40").exists()


def test_a_refused_run_leaves_none_of_the_folders_its_out_would_need(cfg, project):
    """The run folder's parents are made to probe that a file can be written there; a run refused after that
    probe (kernel 40 on 32x32 images) removes the ones it made, as nothing was written."""
    with pytest.raises(TrainingError, match="kernel 40 is larger"):
        train(replace(cfg, kernel=40), project / "new" / "deeper" / "k40")
    assert not (project / "new").exists()


def test_amp_trains_in_bfloat16(cfg, project):
    metrics = train(replace(cfg, amp=True, epochs=1), project / "runs" / "amp")
    assert 0 < metrics["final"]["val_loss"] < 10
    assert json.loads((project / "runs" / "amp" / "config.json").read_text())["amp_dtype"] == "bfloat16"


def test_palette_file_is_used(cfg, project):
    import numpy as np

    np.save(project / "pal.npy", np.array([[0, 0, 0], [255, 255, 255], [200, 40, 40], [40, 40, 200]], np.float32))
    train(replace(cfg, palette=str(project / "pal.npy"), epochs=1), project / "runs" / "p")
    run = project / "runs" / "p"
    assert np.load(run / "palette.npy").shape == (4, 3)
    assert torch.load(run / "model.pt", weights_only=True)["num_colours"] == 4
    assert json.loads((run / "config.json").read_text())["palette_source"]["scale"] == "0-255"


def test_limit_uses_the_first_shuffled_images(cfg, project):
    from colourize import data as cdata

    train(replace(cfg, limit=60, epochs=1), project / "runs" / "l")
    config = json.loads((project / "runs" / "l" / "config.json").read_text())
    assert (config["n_train"], config["n_test"]) == (60, 40)
    train(replace(cfg, limit=30, epochs=1), project / "runs" / "l30")  # both splits are cut
    config = json.loads((project / "runs" / "l30" / "config.json").read_text())
    ds = cdata.shuffled(cdata.load_category(cfg.data, cfg.category), cfg.seed)
    assert (config["n_train"], config["n_test"]) == (30, 30)
    assert config["data_sha256"] == runs.digest({"train": ds.train[:30], "test": ds.test[:30]})


def test_pin_copies_small_artefacts_only(cfg, project):
    (project / "solutions").unlink()  # the fixture links the real solutions/; pin into a private one
    (project / "solutions").mkdir()
    run = project / "runs" / "unet"
    train(replace(cfg, model="unet", epochs=1), run)
    dest, copied = runs.pin_run("unet", "my-unet")
    assert dest == project / "solutions" / "a2" / "results" / "my-unet"
    assert sorted(p.name for p in dest.iterdir()) == sorted(runs.PINNED) == sorted(copied)
    assert (dest / "metrics.json").read_bytes() == (run / "metrics.json").read_bytes()


def test_pin_of_a_run_with_a_config_but_no_metrics_says_it_is_not_finished(project):
    run = project / "runs" / "started"  # as a run stopped before its first epoch ended leaves it
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"schema": "colourize.run/1", "settings": {"model": "unet"}}))
    with pytest.raises(UsageError, match="is not a finished run"):
        runs.pin_run(run)


def test_pin_of_a_sweep_folder_says_to_pin_its_runs(project):
    """`pin runs/sweep-out` (a sweep's folder) said 'pass a folder written by `cli.py train`, e.g. runs/unet'."""
    sweep = project / "runs" / "bs"
    for name in ("sweep-bs64", "sweep-bs32"):
        (sweep / name).mkdir(parents=True)
        (sweep / name / "config.json").write_text(json.dumps({"schema": "colourize.run/1", "settings": {"model": "unet"}}))
    (sweep / "sweep-batch-size.json").write_text("{}")
    with pytest.raises(UsageError, match="holds a sweep, not a run") as err:
        runs.pin_run(sweep)
    assert err.value.fix == "pin each of its runs, e.g. `python cli.py pin runs/bs/sweep-bs32`"


def test_a_run_marked_complete_short_of_its_configs_epochs_is_unfinished(cfg, project):
    """Runs extended with --resume --epochs before 82face6 could be left 'complete' at 1 epoch beside a config.json
    of 2: pin must not take that pair as a finished 2-epoch run."""
    (project / "solutions").unlink()  # the fixture links the real solutions/; pin into a private one
    (project / "solutions").mkdir()
    run = project / "runs" / "cut"
    train(replace(cfg, epochs=1), run)
    config = json.loads((run / "config.json").read_text())
    config["settings"]["epochs"] = 2
    (run / "config.json").write_text(json.dumps(config))
    assert json.loads((run / "metrics.json").read_text())["complete"]
    with pytest.raises(UsageError, match="has not finished"):
        runs.pin_run(run)


def test_a_pinned_result_name_is_1_to_100_plain_characters_starting_with_a_letter_or_digit(cfg, project):
    """A leading '.' hides the result (and .unet.123.x.old reads as a pin's leftover, which the next pin removes);
    a leading '-' reads as a flag in the commands that name it."""
    (project / "solutions").unlink()  # the fixture links the real solutions/; pin into a private one
    (project / "solutions").mkdir()
    run = project / "runs" / "ct"
    train(replace(cfg, epochs=1), run)
    for name in (".ct", ".ct.123.x.old", "-ct", "_ct", "a" * 101):
        with pytest.raises(UsageError, match="not a plain folder name of at most 100 characters"):
            runs.pin_run(run, name)
    assert not (project / "solutions" / "a2" / "results").exists() or not any(
        (project / "solutions" / "a2" / "results").iterdir())
    for name in ("a" * 100, "0.ct_x-1"):
        assert runs.pin_run(run, name)[0].name == name


def test_pin_into_an_empty_folder_of_its_name_needs_no_force(cfg, project):
    """An empty folder holds no result the writeup quotes: nothing to protect."""
    (project / "solutions").unlink()  # the fixture links the real solutions/; pin into a private one
    (project / "solutions" / "a2" / "results" / "ct").mkdir(parents=True)
    run = project / "runs" / "ct"
    train(replace(cfg, epochs=1), run)
    dest, copied = runs.pin_run(run)
    assert sorted(p.name for p in dest.iterdir()) == sorted(copied)


def test_a_run_folder_and_its_pinned_result_have_the_mode_mkdir_gives(cfg, project):
    """Both are built in a private temp folder (mkdtemp: 0o700) and renamed into place; others on the machine
    (a grader, a shared group) must read them as they read any folder made under the user's umask."""
    import stat

    (project / "solutions").unlink()  # never pin into the real solutions/ from a test
    (project / "solutions").mkdir()
    mask = os.umask(0o022)
    try:
        train(replace(cfg, epochs=1, limit=20, batch_size=5), project / "runs" / "unet")
        dest, _ = runs.pin_run("unet", "shared")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((project / "runs" / "unet").stat().st_mode) == 0o755
    assert stat.S_IMODE(dest.stat().st_mode) == 0o755


@pytest.mark.parametrize("metrics,epochs", [
    ({"final": {"epoch": 3}}, 3), ({"final": {"epoch": 0}}, 0), ({}, None), ({"final": None}, None),
    ({"final": [3]}, None), ({"final": {"epoch": "3"}}, None), ({"final": {"epoch": 3.0}}, None),
])
def test_epochs_trained_reads_only_an_int_in_the_final_record(metrics, epochs):
    """pin compares it with config.json's epochs: a damaged metrics.json must give None, not a str to compare."""
    assert runs.epochs_trained(metrics) == epochs


@pytest.mark.parametrize("config,missing", [
    ({"palette_source": {"kind": "kmeans"}}, "settings"), ({"settings": {}}, "palette_source"),
    ({"settings": {}, "palette_source": "kmeans"}, "palette_source"),
])
def test_a_config_without_a_record_a_resume_reads_is_damaged(tmp_path, config, missing):
    """A resume reads both records (the palette's source is copied into the new config.json): a KeyError later."""
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(TrainingError, match=f"has no '{missing}' record"):
        runs.read_config(tmp_path)


def test_digest_tells_apart_what_differs_in_shape_keys_order_or_value():
    """The checksum a checkpoint keeps of itself: a change in any part of the record is a different digest, and
    the same content (a copy, a non-contiguous view) the same one."""
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    assert runs.digest({"w": t, "n": [1, "a"]}) == runs.digest({"n": [1, "a"], "w": t.clone()})
    assert runs.digest(t.t()) == runs.digest(t.t().contiguous())
    pairs = [(t, t.reshape(3, 2)), (t, t.double()), ({"a": 1}, {"b": 1}), ({"a": 1}, {"a": 2}), (1, "1"),
             ([{}, {"a": 1}], [{"a": 1}, {}]), ([1, 2], [[1, 2]]), ({"a": [1]}, {"a": 1})]
    for one, other in pairs:
        assert runs.digest(one) != runs.digest(other), (one, other)


def test_pin_refuses_an_unfinished_run(cfg, project):
    run = project / "runs" / "cut"
    with pytest.raises(KeyboardInterrupt):
        train(cfg, run, reporter=InterruptAt(2))
    with pytest.raises(UsageError, match="has not finished"):
        runs.pin_run(run)


def test_a_finished_run_stopped_in_its_first_extra_epoch_is_unfinished(cfg, project):
    """`--resume --epochs 2` on a run of 1, Ctrl-C in epoch 2: metrics.json said complete (1 epoch) beside a
    config.json of 2 epochs, and pin took that pair as a finished run (as it refuses it one epoch later)."""
    run, cfg = project / "runs" / "cut", replace(cfg, limit=20, batch_size=5)  # 4 batches
    train(replace(cfg, epochs=1), run)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, run, resume=True, reporter=InterruptAt(2))
    assert not json.loads((run / "metrics.json").read_text())["complete"]
    with pytest.raises(UsageError, match="has not finished"):
        runs.pin_run(run)


def test_a_run_left_complete_short_of_its_epochs_by_older_code_is_unfinished(cfg, project, capsys):
    """Before 82face6, Ctrl-C in the first extra epoch of `--resume --epochs 2` left metrics.json 'complete'
    with 1 epoch beside a config.json of 2 epochs; pin took such a run as finished. It says to resume it."""
    (project / "solutions").unlink()  # never pin into the real solutions/ from a test
    (project / "solutions").mkdir()
    run = project / "runs" / "cut"
    train(replace(cfg, epochs=1, limit=20, batch_size=5), run)
    config = json.loads((run / "config.json").read_text())
    config["settings"]["epochs"] = 2  # what 137fa69..82face6^ wrote at the start of the resumed session
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(UsageError, match="has not finished") as err:
        runs.pin_run(run)
    assert "--resume" in err.value.fix
    assert not (project / "solutions" / "a2" / "results" / "cut").exists()

def test_ctrl_c_while_the_run_folder_is_made_leaves_nothing(cfg, project, monkeypatch):
    import colourize.train

    real = colourize.train._checkpoint

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(colourize.train, "_checkpoint", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, project / "runs" / "ct")
    assert not (project / "runs").exists() or list((project / "runs").iterdir()) == []  # no run, no temp folder
    monkeypatch.setattr(colourize.train, "_checkpoint", real)
    assert train(replace(cfg, epochs=1), project / "runs" / "ct")["complete"]  # a plain start works again


def test_model_names_match_the_models():
    from colourize.models import MODELS

    assert tuple(MODELS) == runs.MODEL_NAMES and {k: c.__name__ for k, c in MODELS.items()} == runs.MODEL_CLASSES


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_pixel_cross_entropy_is_torchs_per_pixel_loss(memory_format):
    from colourize.train import pixel_cross_entropy

    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 5, 4, 6, generator=g).contiguous(memory_format=memory_format).requires_grad_()
    labels = torch.randint(0, 5, (3, 4, 6), generator=g)
    ours = pixel_cross_entropy(logits, labels)
    (grad_ours,) = torch.autograd.grad(ours, logits)
    reference = torch.nn.functional.cross_entropy(logits, labels)  # the 4-D (nll_loss2d) form
    (grad_ref,) = torch.autograd.grad(reference, logits)
    manual = -torch.log_softmax(logits, 1).gather(1, labels[:, None]).mean()  # by hand
    assert torch.allclose(ours, reference) and torch.allclose(ours, manual) and torch.allclose(grad_ours, grad_ref)


def test_samples_show_ten_test_images_as_grey_original_truth_and_the_saved_models_prediction(cfg, project, monkeypatch):
    """... and the title says they are validation images, never trained on (it said only 'ConvTransposeNet (epoch 2)',
    so whether 4.2's 'do these results look good' was asked of training images was left to guess)."""
    import numpy as np

    from colourize import data as cdata
    from colourize import plots
    from colourize.models import build_model
    from colourize.palette import nearest_colour

    shown = {}
    real = plots.samples
    monkeypatch.setattr(plots, "samples", lambda *a: shown.update(args=a) or real(*a))
    train(cfg, project / "runs" / "ct")
    grey, truth, pred, original, title = shown["args"]
    saved = torch.load(project / "runs" / "ct" / "model.pt", weights_only=True)
    pal = saved["palette"]
    test = cdata.shuffled(cdata.load_category(cfg.data, cfg.category), cfg.seed).test[:10]  # (10, 3, 32, 32) uint8
    rgb = test.double() / 256
    assert grey.shape == (10, 32, 32) and np.allclose(grey, rgb.mean(1).numpy(), atol=1e-6)
    assert np.allclose(original, rgb.permute(0, 2, 3, 1).numpy(), atol=1e-6)
    assert np.allclose(truth, pal[nearest_colour(test, pal)].numpy())
    model = build_model("convtranspose", 3, 8, len(pal), 1)
    model.load_state_dict(saved["state_dict"])
    with torch.no_grad():
        expected = model.eval()(rgb.mean(1, keepdim=True).float()).argmax(1)
    assert np.allclose(pred, pal[expected].numpy()) and title == "ConvTransposeNet after epoch 2: validation images (not trained on)"


def test_amp_in_float16_scales_the_loss_and_resumes_to_the_same_result(small, project, monkeypatch):
    """The path CUDA GPUs without bfloat16 take (float16 autocast + GradScaler), run here on the CPU."""
    import colourize.train as ctrain

    monkeypatch.setattr(ctrain, "amp_dtype", lambda device: torch.float16)
    small = replace(small, amp=True)
    full = train(small, project / "runs" / "full")
    assert json.loads((project / "runs" / "full" / "config.json").read_text())["amp_dtype"] == "float16"
    scaler = torch.load(project / "runs" / "full" / "checkpoint.pt", weights_only=True)["scaler"]
    assert scaler["scale"] > 0 and "_growth_tracker" in scaler  # the loss scale is saved for --resume
    run = project / "runs" / "cut"
    with pytest.raises(KeyboardInterrupt):
        train(small, run, reporter=InterruptAt(2))
    assert _figures(train(small, run, resume=True)) == _figures(full)
    assert 0 < full["final"]["val_loss"] < 10
    resumed = torch.load(run / "checkpoint.pt", weights_only=True)["scaler"]
    assert resumed == scaler and scaler["_growth_tracker"] == 8  # 2 epochs of 4 steps: the count goes on across the resume


def test_amp_on_a_device_without_autocast_fails_before_anything_is_written(cfg, project, monkeypatch):
    import colourize.train as ctrain

    def no_autocast(device):
        raise TrainingError("--amp is not supported on mps here", "train without --amp")

    monkeypatch.setattr(ctrain, "amp_dtype", no_autocast)
    monkeypatch.setattr(ctrain.cdata, "load_category", lambda *a: pytest.fail("data decoded"))
    with pytest.raises(TrainingError, match="--amp is not supported"):
        train(replace(cfg, amp=True), project / "runs" / "mps")
    assert not (project / "runs" / "mps").exists()


@pytest.mark.parametrize("was_training", [False, True])
def test_evaluate_averages_the_batch_losses_over_every_test_image_in_eval_mode(was_training):
    """5 images in batches of 2 (2, 2, 1): the loss is the mean of the three batch means (the notebook's, not the
    per-pixel mean), the accuracy counts every pixel of every image, BatchNorm uses its running statistics and
    the model is left in the mode it was in."""
    from colourize.data import to_inputs
    from colourize.train import evaluate

    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (5, 3, 4, 4), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 3, (5, 4, 4), generator=g)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 1), torch.nn.BatchNorm2d(3))
    model[1].running_mean.fill_(0.3)
    model[1].running_var.fill_(2.0)
    model.train(was_training)
    loss, acc = evaluate(model, images, labels, 2, torch.device("cpu"))
    assert model.training is was_training

    model.eval()
    with torch.no_grad():
        logits = model(to_inputs(images)[1])
    by_hand = [-torch.log_softmax(logits[s], 1).gather(1, labels[s][:, None]).mean() for s in (slice(0, 2), slice(2, 4), slice(4, 5))]
    assert loss == pytest.approx(float(sum(by_hand) / 3), rel=1e-6)
    assert loss != pytest.approx(float(-torch.log_softmax(logits, 1).gather(1, labels[:, None]).mean()), rel=1e-6)
    assert acc == pytest.approx(100.0 * (logits.argmax(1) == labels).sum().item() / 80)


def test_a_run_stopped_after_its_last_checkpoint_is_finished_by_resume(small, project):
    """Ctrl-C after the last epoch's checkpoint, before model.pt and the figures: --resume trains nothing
    more, writes them and marks the run complete, as an uninterrupted run."""
    class StopAfterEpoch(Reporter):
        def epoch(self, record):
            if record["epoch"] == 2:
                raise KeyboardInterrupt

    full = train(small, project / "runs" / "full")
    run = project / "runs" / "cut"
    with pytest.raises(KeyboardInterrupt):
        train(small, run, reporter=StopAfterEpoch())
    assert not json.loads((run / "metrics.json").read_text())["complete"] and not (run / "model.pt").exists()
    resumed = train(small, run, resume=True)
    assert resumed["complete"] and _figures(resumed) == _figures(full)
    assert {p.name for p in run.iterdir()} == RUN_FILES
    a, b = _weights(project / "runs" / "full"), _weights(run)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_reporter_hears_every_fifth_batch_and_the_last_each_epoch_and_where_a_resume_starts(cfg, project):
    class Recorder(Reporter):
        def __init__(self, stop_in=None):
            self.calls, self.stop_in = [], stop_in

        def start(self, first_epoch, epochs, batches):
            self.calls.append(("start", first_epoch, epochs, batches))

        def batch(self, epoch, done, loss):
            assert 0 < loss < 10
            self.calls.append(("batch", epoch, done))
            if epoch == self.stop_in:
                raise KeyboardInterrupt

        def epoch(self, record):
            self.calls.append(("epoch", record["epoch"]))

    cfg, run = replace(cfg, limit=60, batch_size=5), project / "runs" / "cut"  # 12 batches an epoch
    first = Recorder(stop_in=2)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, run, reporter=first)
    assert first.calls == [("start", 0, 2, 12), ("batch", 1, 5), ("batch", 1, 10), ("batch", 1, 12), ("epoch", 1),
                           ("batch", 2, 5)]
    second = Recorder()
    train(cfg, run, resume=True, reporter=second)
    assert second.calls == [("start", 1, 2, 12), ("batch", 2, 5), ("batch", 2, 10), ("batch", 2, 12), ("epoch", 2)]


def test_metrics_final_is_the_last_epoch_with_summed_times_and_training_speed():
    from colourize.train import RUN_SCHEMA, _metrics

    history = [{"epoch": 1, "train_loss": 2.0, "val_loss": 2.5, "val_acc": 30.0, "seconds": 3.0, "train_seconds": 2.0},
               {"epoch": 2, "train_loss": 1.5, "val_loss": 2.0, "val_acc": 40.0, "seconds": 5.0, "train_seconds": 4.0}]
    metrics = _metrics(history, 100, 1.5, complete=True)
    assert metrics == {"schema": RUN_SCHEMA, "complete": True, "epochs": history,
                       "final": {"epoch": 2, "train_loss": 1.5, "val_loss": 2.0, "val_acc": 40.0, "seconds": 8.0,
                                 "setup_seconds": 1.5, "train_images_per_s": pytest.approx(200 / 6.0)}}
    assert _metrics([], 100, 0.5, complete=False)["final"] == {
        "epoch": 0, "train_loss": None, "val_loss": None, "val_acc": None, "seconds": 0, "setup_seconds": 0.5,
        "train_images_per_s": None}


def test_an_epochs_seconds_include_its_evaluation(cfg, project, monkeypatch):
    import colourize.train as ctrain

    evaluate = ctrain.evaluate

    def slow_evaluate(*args, **kwargs):
        import time

        time.sleep(0.2)
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(ctrain, "evaluate", slow_evaluate)
    metrics = train(replace(cfg, epochs=1, limit=20), project / "runs" / "slow")
    assert metrics["epochs"][0]["seconds"] >= metrics["epochs"][0]["train_seconds"] + 0.2


def test_settings_at_the_edge_of_their_range_are_accepted():
    from colourize.train import _check_kernel

    cores = os.cpu_count() or 1
    for edge in ({"threads": 4 * cores}, {"num_colours": 2, "palette_pixels": 2}, {"num_colours": 256}, {"samples": 1},
                 {"seed": 0}):
        replace(TrainConfig(), **edge).check()
    with pytest.raises(TrainingError, match=f"--threads {4 * cores + 1} is more than 4x"):
        replace(TrainConfig(), threads=4 * cores + 1).check()
    _check_kernel(32, (32, 40))  # the kernel may be as large as the smaller side
    with pytest.raises(TrainingError, match="kernel 33 is larger than the 40x32 images"):  # (H, W): 40 wide, 32 high
        _check_kernel(33, (32, 40))


def test_image_sizes_in_train_messages_are_width_x_height_as_in_the_data_message():
    from colourize.train import _check_batches_of_one

    with pytest.raises(TrainingError, match=r"images of 5x4 are 1x1"):  # (H, W) = (4, 5): 5 wide, 4 high
        _check_batches_of_one((4, 5), 1, 1)


def test_a_model_that_fails_to_build_for_another_reason_than_memory_is_not_called_too_large(cfg, project, monkeypatch):
    import colourize.train as ctrain

    def broken(*args):
        raise RuntimeError("a bug in the model")

    monkeypatch.setattr(ctrain, "build_model", broken)
    with pytest.raises(RuntimeError, match="a bug in the model"):
        train(cfg, project / "runs" / "bug")


@pytest.mark.parametrize("cuda,mps,expected", [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")])
def test_device_auto_takes_a_cuda_gpu_then_apples_mps_then_the_cpu(monkeypatch, cuda, mps, expected):
    from colourize.train import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert resolve_device("Auto") == torch.device(expected)


def test_training_with_threads_gives_the_callers_thread_count_back(cfg, project):
    assert torch.get_num_threads() == 1  # the one_thread fixture's
    train(replace(cfg, threads=2, epochs=1, limit=20), project / "runs" / "two")
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize("flag", ["no", 1, None])
def test_a_complete_flag_that_is_no_boolean_is_a_damaged_run_file_for_pin(project, flag):
    """`"complete": "no"` was truthy, so pin took a hand-edited run as finished; it is a damaged run file."""
    run = project / "runs" / "edited"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"schema": "colourize.run/1", "settings": {"model": "unet", "epochs": 1},
                                                   "palette_source": {"k": 24}}))
    (run / "metrics.json").write_text(json.dumps({"complete": flag, "epochs": [], "final": {"epoch": 1}}))
    with pytest.raises(TrainingError) as err:
        runs.pin_run(run)
    assert err.value.message == f"{run / 'metrics.json'}: `complete` is {json.dumps(flag)}, not true or false"
    assert err.value.fix == runs.DAMAGED
    assert not (project / "solutions" / "a2" / "results" / "edited").exists()


def test_a_complete_flag_that_is_no_boolean_is_a_damaged_run_file_for_resume(cfg, project):
    run, cfg = project / "runs" / "edited", replace(cfg, epochs=1, limit=20)
    train(cfg, run)
    metrics = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").write_text(json.dumps(metrics | {"complete": "yes"}))
    with pytest.raises(TrainingError, match="`complete` is \"yes\", not true or false"):
        train(cfg, run, resume=True)


def test_a_run_s_figures_keep_their_words_legible_at_the_writeup_s_width():
    """The writeup prints curves.png, samples.png and the sweep plot 80 % of an A4 text width wide (typeset.py: a4,
    2 cm side margins; wb-figure: 80 %); drawn 10-11 inches wide, their ticks, legend and row names came out at
    4-5.5 pt there. Every text must print at 7 pt at least (a common floor for figures in a report)."""
    import numpy as np
    from matplotlib.text import Text

    from colourize import plots

    printed_in = 0.8 * (210 - 2 * 20) / 25.4
    rng = np.random.default_rng(0)
    n = 10  # the images samples.png shows by default (TrainConfig.samples)
    epochs = [{"epoch": e, "train_loss": 2.0 / e, "val_loss": 2.1 / e, "val_acc": 30.0 + e} for e in range(1, 26)]
    rows = [{"train_loss": 1.0, "val_loss": 1.1, "val_acc": 50.0 + i} for i in range(5)]
    figures = {"curves": plots.curves(epochs, "UNet"),
               "samples": plots.samples(rng.random((n, 32, 32)), *rng.random((3, n, 32, 32, 3)), "UNet (epoch 25)"),
               "sweep": plots.sweep([32, 64, 128, 256, 512], rows, "batch size", "ConvTransposeNet")}
    import matplotlib.pyplot as plt

    for name, fig in figures.items():
        fig.canvas.draw()
        scale = printed_in / fig.get_size_inches()[0]
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        assert len(texts) > 4, name
        small = {t.get_text(): round(t.get_fontsize() * scale, 1) for t in texts if t.get_fontsize() * scale < 7}
        assert not small, (name, small)
        plt.close(fig)


def test_the_samples_figure_is_one_grid_of_the_rows_images_labelled_by_row():
    """samples.png drew 40 separate plots (about 1 s of every run's end, more than a smoke run's training); it is one
    image: each row's images side by side in the row's order, a white gap between them, each row named on the left."""
    import numpy as np

    from colourize import plots

    rng = np.random.default_rng(0)
    grey, truth, pred, original = rng.random((3, 4, 6)), rng.random((3, 4, 6, 3)), rng.random((3, 4, 6, 3)), rng.random((3, 4, 6, 3))
    fig = plots.samples(grey, truth, pred, original, "UNet (epoch 2)")
    (ax,) = fig.axes
    grid = np.asarray(ax.images[0].get_array())
    rows = [np.repeat(grey[..., None], 3, -1), original, truth, pred]  # top to bottom, grey shown as grey
    step_y, step_x = (grid.shape[0] + 1) // 4, (grid.shape[1] + 1) // 3  # an image and its gap
    for r, images in enumerate(rows):
        for c in range(3):
            y, x = r * step_y, c * step_x
            assert np.allclose(grid[y:y + 4, x:x + 6], images[c]), (r, c)
            assert np.all(grid[y + 4:y + step_y, x:x + 6] == 1) and np.all(grid[y:y + 4, x + 6:x + step_x] == 1)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["input (grey)", "original", "truth (palette)", "prediction"]
    assert list(ax.get_yticks()) == [r * step_y + 1.5 for r in range(4)]  # a 4-high image's middle and list(ax.get_xticks()) == []
    assert fig._suptitle.get_text() == "UNet (epoch 2)"
    import matplotlib.pyplot as plt

    plt.close(fig)


@pytest.mark.parametrize("epochs", [1, 3, 25])
def test_the_curves_epoch_axis_ticks_only_whole_epochs(epochs):
    """curves.png of a 1-epoch run ticked its epoch axis 0.96, 0.98, 1.00, ... and of a 3-epoch run 1.25, 1.50, ...:
    epochs that no run has. Both panels tick whole epochs only, every epoch of a short run among them."""
    import matplotlib.pyplot as plt

    from colourize import plots

    history = [{"epoch": e, "train_loss": 3.0 - 0.1 * e, "val_loss": 3.1 - 0.05 * e, "val_acc": 5.0 + e}
               for e in range(1, epochs + 1)]
    fig = plots.curves(history, "UNet")
    fig.canvas.draw()  # the locator picks the ticks when the figure is drawn
    for ax in fig.axes:
        lo, hi = ax.get_xlim()
        shown = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert shown and all(float(t).is_integer() for t in shown), (ax.get_title(), shown)
        assert ax.get_xlabel() == "epoch"
        if epochs <= 3:
            assert set(range(1, epochs + 1)) <= set(shown), shown
    plt.close(fig)
