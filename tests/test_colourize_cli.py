"""`train`, `sweep` and `pin` through cli.main: exit codes, one-line errors, smoke runs, one slow full run."""

from __future__ import annotations

import json
import math
import pickle
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from test_colourize_fixtures import make_cifar_batches, one_thread, pal, write_palette  # noqa: F401 (fixtures)

import cli
from workbench.errors import UsageError

pytestmark = pytest.mark.usefixtures("one_thread")

SHARED_HORSES = Path(cli.__file__).resolve().parent.parent / "shared" / "data" / "cifar10-horse-jpeg"


@pytest.fixture
def synth(project) -> Path:
    return make_cifar_batches(project / "data", horses_per_batch=20)  # 100 training, 20 test images


def _one_line_error(capsys, rc, *words):
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    for w in words:
        assert w in err, err
    return err


def test_list_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, cli; cli.main(['list']); print('torch' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(cli.__file__).parent, capture_output=True, text=True)
    assert out.stdout.strip().endswith("False False"), out.stderr


def test_resume_takes_the_runs_own_settings(project, synth, pal, capsys):
    base = ["train", "unet", "--num-filters", "8", "--batch-size", "25", "--data", str(synth), "--palette", pal, "--json"]
    assert cli.main(base + ["--epochs", "1", "--out", str(project / "runs" / "a")]) == 0
    assert cli.main(["train", "unet", "--out", str(project / "runs" / "a"), "--resume", "--epochs", "2", "--json"]) == 0
    assert cli.main(base + ["--epochs", "2", "--out", str(project / "runs" / "b")]) == 0
    epochs = [json.loads((project / "runs" / r / "metrics.json").read_text())["epochs"] for r in "ab"]
    drop = lambda es: [{k: v for k, v in e.items() if "seconds" not in k} for e in es]  # noqa: E731
    assert drop(epochs[0]) == drop(epochs[1])



def test_resume_with_changed_flags_names_the_flags_to_leave_out(project, synth, pal, capsys):
    """The fix said only 'resume with the run's own settings', and the differences ran together ('amp: run has False,
    asked True, lr: ...'); it names what to leave out (flags left out take the run's own), and that resumes."""
    run = project / "runs" / "a"
    assert cli.main(["train", "unet", "--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", pal,
                     "--out", str(run), "--json"]) == 0
    capsys.readouterr()
    resume = ["--out", str(run), "--resume", "--epochs", "2"]
    err = _one_line_error(capsys, cli.main(["train", "unet", *resume, "--amp", "--lr", "0.01"]),
                          "(amp: run has False, asked True; lr: run has 0.001, asked 0.01)", "leave out --amp, --lr")
    assert "train unet" not in err
    _one_line_error(capsys, cli.main(["train", "convtranspose", *resume]), "holds a unet run, not convtranspose",
                    "give unet")
    assert cli.main(["train", "unet", *resume, "--json"]) == 0
    assert json.loads((run / "metrics.json").read_text())["final"]["epoch"] == 2


def test_num_colours_sets_the_k_means_colours_and_a_resume_with_another_count_is_refused(project, synth, capsys):
    """TrainConfig had num_colours, but the command line no flag for it: every k-means palette had 24 colours.
    --num-colours K fits K (the palette, the network's output channels and config.json say so); a resume keeps the
    run's own count, and another is refused as other changed settings are."""
    run = project / "runs" / "a"
    base = ["unet", "--num-filters", "4", "--limit", "20", "--batch-size", "5", "--data", str(synth), "--json"]
    assert cli.main(["train", *base, "--epochs", "1", "--num-colours", "8", "--out", str(run)]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["settings"]["num_colours"] == 8 and config["palette_source"]["k"] == 8
    assert np.load(run / "palette.npy").shape == (8, 3)
    weights = torch.load(run / "model.pt", weights_only=True)["state_dict"]
    assert [w.shape[0] for k, w in weights.items() if k.endswith("weight")][-1] == 8  # the last layer: one per colour
    capsys.readouterr()
    resume = ["--out", str(run), "--resume", "--epochs", "2"]
    _one_line_error(capsys, cli.main(["train", "unet", *resume, "--num-colours", "6"]),
                    "(num_colours: run has 8, asked 6)", "leave out --num-colours")
    assert cli.main(["train", *resume, "--json"]) == 0  # flags left out: the run's own 8
    assert np.load(run / "palette.npy").shape == (8, 3)
    assert json.loads((run / "metrics.json").read_text())["final"]["epoch"] == 2


def test_num_colours_beside_a_palette_file_of_another_count_is_refused_naming_both(project, synth, pal, capsys):
    """A palette file sets the run's colour count: --num-colours 8 beside a 6-colour file was dropped without a word.
    It is one line naming both counts, before anything is written; the file's own count is accepted, and a palette
    run resumed with another count is refused as other changed settings are."""
    flags = ["--epochs", "1", "--num-filters", "4", "--limit", "20", "--data", str(synth), "--palette", pal]
    for argv in (["train", "unet"], ["train", "--all"], ["sweep", "seed", "0", "1", "--model", "unet"]):
        _one_line_error(capsys, cli.main([*argv, *flags, "--num-colours", "8"]), "--num-colours 8",
                        f"--palette {pal} holds 6 colours", "leave out --num-colours")
    assert not any((project / "runs").iterdir())
    run = project / "runs" / "a"
    assert cli.main(["train", "unet", *flags, "--num-colours", "6", "--out", str(run), "--json"]) == 0
    assert json.loads((run / "config.json").read_text())["settings"]["num_colours"] == 6
    capsys.readouterr()
    _one_line_error(capsys, cli.main(["train", "--out", str(run), "--resume", "--epochs", "2", "--num-colours", "8"]),
                    "(num_colours: run has 6, asked 8)", "leave out --num-colours")


def test_resume_without_a_model_takes_the_runs_own(project, synth, pal, capsys):
    """`train --out RUN --resume` was refused with 'no model given' though config.json records the model; it resumes
    the run's model with its settings, as a straight run of that length trains it."""
    base = ["unet", "--num-filters", "4", "--limit", "20", "--batch-size", "5", "--data", str(synth), "--palette", pal,
            "--json"]
    run = project / "runs" / "a"
    assert cli.main(["train", *base, "--epochs", "1", "--out", str(run)]) == 0
    assert cli.main(["train", *base, "--epochs", "2", "--out", str(project / "runs" / "b")]) == 0
    capsys.readouterr()
    assert cli.main(["train", "--out", str(run), "--resume", "--epochs", "2", "--json"]) == 0, capsys.readouterr().err
    (row,) = json.loads(capsys.readouterr().out)["runs"]
    assert row["model"] == "unet" and Path(row["run"]) == run
    epochs = [json.loads((project / "runs" / r / "metrics.json").read_text())["epochs"] for r in "ab"]
    drop = lambda es: [{k: v for k, v in e.items() if "seconds" not in k} for e in es]  # noqa: E731
    assert len(epochs[0]) == 2 and drop(epochs[0]) == drop(epochs[1])


def test_resume_with_a_model_other_than_the_runs_is_one_line_naming_both(project, synth, pal, capsys):
    run = project / "runs" / "a"
    assert cli.main(["train", "unet", "--epochs", "1", "--num-filters", "4", "--limit", "20", "--data", str(synth),
                     "--palette", pal, "--out", str(run), "--json"]) == 0
    before = {p: p.read_bytes() for p in run.rglob("*")}
    capsys.readouterr()
    err = _one_line_error(capsys, cli.main(["train", "ConvTransposeNet", "--out", str(run), "--resume", "--epochs", "2"]),
                          f"{run} holds a unet run, not convtranspose", "leave MODEL out")
    assert "no model given" not in err
    assert {p: p.read_bytes() for p in run.rglob("*")} == before
    config = json.loads((run / "config.json").read_text())
    config["settings"]["model"] = "resnet"  # a hand-edited record: damaged, not a typo of the user's
    (run / "config.json").write_text(json.dumps(config))
    _one_line_error(capsys, cli.main(["train", "--out", str(run), "--resume", "--epochs", "2"]),
                    "records no model this workbench trains ('resnet')", "damaged")


@pytest.mark.parametrize("argv", [
    ["--resume"],                                 # no --out: the default runs/<model> needs the model
    ["--out", "runs/a"],                          # a run, but no --resume
])
def test_without_a_run_to_resume_a_missing_model_is_still_no_model_given(project, synth, pal, capsys, monkeypatch,
                                                                          argv):
    monkeypatch.chdir(project)
    assert cli.main(["train", "unet", "--epochs", "1", "--num-filters", "4", "--limit", "20", "--data", str(synth),
                     "--palette", pal, "--out", "runs/a", "--json"]) == 0
    (project / "runs" / "empty").mkdir()
    capsys.readouterr()
    _one_line_error(capsys, cli.main(["train", *argv]), "no model given")


@pytest.mark.parametrize("out", ["runs/empty", "runs/missing", "runs/other"])
def test_resume_of_an_out_without_a_run_is_nothing_to_resume_with_or_without_a_model(project, capsys, monkeypatch, out):
    """`train --out EMPTY --resume` said 'no model given' where `train unet --out EMPTY --resume` said 'nothing to
    resume': no model would resume anything there, so both say the same line."""
    monkeypatch.chdir(project)
    (project / "runs" / "empty").mkdir(parents=True)
    (project / "runs" / "other").mkdir()
    (project / "runs" / "other" / "notes.txt").write_text("not a run")
    errors = [_one_line_error(capsys, cli.main(["train", *model, "--out", out, "--resume"])) for model in ([], ["unet"])]
    assert errors[0] == errors[1] and "no model given" not in errors[0]
    assert ("holds no run" if out == "runs/other" else "nothing to resume") in errors[0]
    assert not (project / "runs" / "missing").exists()


def test_a_run_whose_data_moved_resumes_from_the_new_place_on_the_same_images_only(project, synth, pal, capsys):
    """Moved data left a run no way on: without --data the old path did not exist, and --data at the new place was
    refused as 'made with other settings'. The images' checksum says whether they are the run's own."""
    import shutil

    base = ["train", "unet", "--num-filters", "4", "--batch-size", "25", "--palette", pal, "--json"]
    assert cli.main(base + ["--epochs", "1", "--data", str(synth), "--out", str(project / "runs" / "a")]) == 0
    assert cli.main(base + ["--epochs", "2", "--data", str(synth), "--out", str(project / "runs" / "b")]) == 0
    capsys.readouterr()
    moved = project / "moved"
    shutil.move(synth.parent, moved)
    other = make_cifar_batches(project / "other", horses_per_batch=20, seed=5)  # same sizes, other images
    resume = ["train", "unet", "--out", str(project / "runs" / "a"), "--resume", "--epochs", "2"]
    _one_line_error(capsys, cli.main(resume + ["--data", str(other)]), "are not the ones", "started with")
    assert cli.main(resume + ["--data", str(moved), "--json"]) == 0, capsys.readouterr().err
    epochs = [json.loads((project / "runs" / r / "metrics.json").read_text())["epochs"] for r in "ab"]
    drop = lambda es: [{k: v for k, v in e.items() if "seconds" not in k} for e in es]  # noqa: E731
    assert drop(epochs[0]) == drop(epochs[1])  # as if it had never moved
    config = json.loads((project / "runs" / "a" / "config.json").read_text())
    assert config["settings"]["data"] == str(moved) and config["data_source"]["path"] == str(moved / "cifar-10-batches-py")


def test_a_finished_run_resumed_from_moved_data_records_the_new_place(project, synth, pal, capsys):
    """A finished run resumed with --data NEWPATH had nothing to train and returned before config.json recorded the
    new place, so the next resume without --data said the images were gone; other images are still refused."""
    import shutil

    run = project / "runs" / "a"
    assert cli.main(["train", "unet", "--epochs", "1", "--num-filters", "4", "--batch-size", "25", "--data", str(synth),
                     "--palette", pal, "--out", str(run), "--json"]) == 0
    metrics = (run / "metrics.json").read_bytes()
    moved = project / "moved"
    shutil.move(synth.parent, moved)
    other = make_cifar_batches(project / "other", horses_per_batch=20, seed=5)  # same sizes, other images
    capsys.readouterr()
    resume = ["train", "unet", "--out", str(run), "--resume"]
    _one_line_error(capsys, cli.main(resume + ["--data", str(other)]), "are not the ones", "started with")
    assert json.loads((run / "config.json").read_text())["settings"]["data"] == str(synth)
    assert cli.main(resume + ["--data", str(moved), "--json"]) == 0, capsys.readouterr().err
    config = json.loads((run / "config.json").read_text())
    assert config["settings"]["data"] == str(moved) and config["data_source"]["path"] == str(moved / "cifar-10-batches-py")
    assert cli.main(resume + ["--json"]) == 0, capsys.readouterr().err  # no --data: the recorded new place
    assert (run / "metrics.json").read_bytes() == metrics  # nothing was trained


def test_a_run_without_an_image_checksum_is_not_resumed_from_other_data(project, synth, pal, capsys):
    run = project / "runs" / "a"
    assert cli.main(["train", "unet", "--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", pal,
                     "--out", str(run), "--json"]) == 0
    config = json.loads((run / "config.json").read_text())
    del config["data_sha256"]  # runs made before it was recorded
    (run / "config.json").write_text(json.dumps(config))
    other = make_cifar_batches(project / "other", horses_per_batch=20, seed=5)
    capsys.readouterr()
    rc = cli.main(["train", "unet", "--out", str(run), "--resume", "--epochs", "2", "--data", str(other)])
    _one_line_error(capsys, rc, "made with other settings (data: run has")
    assert json.loads((run / "metrics.json").read_text())["final"]["epoch"] == 1

def test_a_run_trained_in_the_c_locale_on_a_non_ascii_path_records_it_as_text(project, tmp_path, capsys):
    # LANG=C with PYTHONUTF8=0: the path's bytes came as surrogate escapes and config.json kept them as
    # "\\udcc3\\udcb6", so the run, resumed in a UTF-8 locale, was refused as trained on other data
    import os
    import subprocess
    import sys

    folder = tmp_path / "Über ö 課題"
    data, palette = make_cifar_batches(folder, horses_per_batch=20), write_palette(folder / "palette.npy")
    env = {**os.environ, "LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    run = project / "runs" / "a"
    done = subprocess.run([sys.executable, cli.__file__, "train", "unet", "--epochs", "1", "--num-filters", "8",
                           "--batch-size", "25", "--threads", "1", "--data", str(data), "--palette", str(palette),
                           "--out", str(run), "--json"], capture_output=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    config = json.loads((run / "config.json").read_text(encoding="utf-8"))
    assert config["settings"]["data"] == str(data) and config["data_source"]["path"] == str(data)
    assert config["settings"]["palette"] == str(palette)
    assert cli.main(["train", "unet", "--out", str(run), "--resume", "--epochs", "2", "--json"]) == 0, capsys.readouterr().err
    assert len(json.loads((run / "metrics.json").read_text())["epochs"]) == 2


def test_all_trains_three_models_and_a_later_train_on_the_same_images_reuses_their_palette(project, synth, capsys,
                                                                                           monkeypatch):
    # the two commands with the default k-means palette (the other CLI tests pass --palette to stay fast)
    import colourize.palette

    fit = colourize.palette.fit_palette
    calls = []
    monkeypatch.setattr(colourize.palette, "fit_palette", lambda *a, **k: calls.append(1) or fit(*a, **k))
    argv = ["train", "--all", "--epochs", "1", "--limit", "40", "--num-filters", "4", "--data", str(synth)]
    assert cli.main(argv) == 0
    assert len(calls) == 1  # one k-means for the three runs: the palette is cached
    assert {p.name for p in (project / "runs").iterdir()} == {"poolupsample", "convtranspose", "unet"}
    assert "final epoch" in capsys.readouterr().out
    rc = cli.main(["train", "ConvTransposeNet", "--epochs", "1", "--limit", "40", "--num-filters", "8", "--data",
                   str(synth), "--out", str(project / "ct"), "--json"])
    out = capsys.readouterr().out
    assert rc == 0 and len(calls) == 1  # nor one more for a later command
    (run,) = json.loads(out)["runs"]
    assert run["model"] == "convtranspose" and Path(run["run"]) == project / "ct"
    assert (project / "ct" / "samples.png").is_file()


def test_sweep_batch_size(project, synth, pal, capsys):
    rc = cli.main(["sweep", "batch-size", "25", "50", "--model", "unet", "--epochs", "1", "--num-filters", "4",
                   "--data", str(synth), "--palette", pal])
    assert rc == 0, capsys.readouterr().err
    runs = project / "runs"
    assert (runs / "sweep-bs25" / "metrics.json").is_file() and (runs / "sweep-bs50" / "metrics.json").is_file()
    summary = json.loads((runs / "sweep-batch-size.json").read_text())
    assert [r["batch-size"] for r in summary["runs"]] == [25, 50] and summary["model"] == "unet"
    assert (runs / "sweep-batch-size.png").stat().st_size > 1000
    bs = json.loads((runs / "sweep-bs25" / "config.json").read_text())["settings"]["batch_size"]
    assert bs == 25


def test_sweep_num_colours_fits_each_count_and_a_palette_file_is_refused(project, synth, pal, capsys):
    """`sweep num-colours 4 8` trains one run per k-means palette size; a --palette file (which sets the count) or a
    --num-colours beside the swept values is refused before any run."""
    flags = ["--model", "unet", "--epochs", "1", "--num-filters", "4", "--limit", "20", "--batch-size", "5", "--data",
             str(synth)]
    _one_line_error(capsys, cli.main(["sweep", "num-colours", "4", "8", *flags, "--palette", pal]),
                    "--palette", "sets the colour count", "leave out --palette")
    _one_line_error(capsys, cli.main(["sweep", "num-colours", "4", "8", *flags, "--num-colours", "6"]),
                    "--num-colours 6 conflicts with the swept num-colours values")
    _one_line_error(capsys, cli.main(["sweep", "num-colours", "8", "1", *flags]), "--num-colours 1 is not")
    from colourize.sweep import run_sweep
    from colourize.train import TrainConfig

    with pytest.raises(UsageError, match="sets the colour count"):  # the library too: each run had the file's 6
        run_sweep("num-colours", [4, 8], TrainConfig(epochs=1, limit=20, data=str(synth), palette=pal),
                  project / "runs")
    assert not any((project / "runs").iterdir())
    assert cli.main(["sweep", "num-colours", "4", "8", *flags, "--json"]) == 0, capsys.readouterr().err
    out = json.loads(capsys.readouterr().out)
    runs = project / "runs"
    assert [r["num-colours"] for r in out["runs"]] == [4, 8]
    assert [r["run"] for r in out["runs"]] == ["sweep-nc4", "sweep-nc8"]
    for k in (4, 8):
        assert np.load(runs / f"sweep-nc{k}" / "palette.npy").shape == (k, 3)
        assert json.loads((runs / f"sweep-nc{k}" / "config.json").read_text())["settings"]["num_colours"] == k
    summary = json.loads((runs / "sweep-num-colours.json").read_text())
    assert summary["values"] == [4, 8] and summary["settings"]["num_colours"] is None
    assert (runs / "sweep-num-colours.png").stat().st_size > 1000


def test_sweep_num_colours_refuses_a_count_the_pixels_lack_before_any_run_trains(project, capsys):
    """`sweep num-colours 4 32` on images of at most 24 colours trained num-colours 4 and was refused only when 32's
    turn came; every count is checked against the pixels k-means samples (the same for every count) before any run."""
    data = make_cifar_batches(project / "data", horses_per_batch=20, step=64)
    images = np.concatenate([pickle.loads((data / f"data_batch_{i}").read_bytes())[b"data"] for i in range(1, 6)])
    colours = len(np.unique(images.reshape(len(images), 3, -1).transpose(0, 2, 1).reshape(-1, 3), axis=0))
    assert colours <= 24  # of every image, horses or not: the training pixels hold no more
    flags = ["--model", "unet", "--epochs", "1", "--num-filters", "4", "--batch-size", "25", "--data", str(data)]
    err = _one_line_error(capsys, cli.main(["sweep", "num-colours", "4", "32", *flags]), "num-colours 32")
    assert not (project / "runs").exists() or not any((project / "runs").iterdir()), "a run trained before the refusal"
    found = int(re.search(r"only (\d+) distinct", err).group(1))
    assert 4 <= found <= colours and f"at most {found}" in err, err
    # the count said is the most k-means fits there: one more is refused by the palette step itself, that many trains
    _one_line_error(capsys, cli.main(["train", "unet", *flags[2:], "--num-colours", str(found + 1), "--out",
                                      str(project / "one")]), f"only {found} distinct")
    assert cli.main(["sweep", "num-colours", str(found), *flags, "--json"]) == 0, capsys.readouterr().err


def test_sweep_offers_every_setting_the_library_sweeps():
    """The command's PARAM choices are written out (importing colourize.sweep would import torch): they must stay
    colourize.sweep.SWEEPABLE's names."""
    from colourize.sweep import SWEEPABLE

    sweep = cli.build_parser()._subparsers._group_actions[0].choices["sweep"]
    (param,) = [a for a in sweep._actions if a.dest == "param"]
    assert sorted(param.choices) == sorted(SWEEPABLE)


def test_pin_command(project, synth, pal, capsys):
    (project / "solutions").unlink()  # never pin into the real solutions/ from a test
    (project / "solutions").mkdir()
    cli.main(["train", "poolupsample", "--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", pal,
              "--json"])
    capsys.readouterr()
    assert cli.main(["pin", "poolupsample", "--as", "pu"]) == 0
    dest = project / "solutions" / "a2" / "results" / "pu"
    assert sorted(p.name for p in dest.iterdir()) == ["config.json", "curves.png", "metrics.json", "samples.png"]
    assert "note: not the handout's run (epochs 1, not at least 25; num_filters 4, not 32;" in capsys.readouterr().out
    cli.main(["train", "poolupsample", "--epochs", "1", "--num-filters", "4", "--limit", "40", "--data", str(synth),
              "--palette", pal, "--out", str(project / "runs" / "smoke"), "--json"])
    capsys.readouterr()
    assert cli.main(["pin", "smoke", "--json"]) == 0
    assert "limit 40, not all the data" in json.loads(capsys.readouterr().out)["note"]  # a smoke run is pinned, with a warning
    # a run Ctrl-C stopped: the fix names its model and folder (it said `train MODEL --out RUN --resume`)
    metrics = project / "runs" / "smoke" / "metrics.json"
    metrics.write_text(json.dumps(json.loads(metrics.read_text()) | {"complete": False}))
    _one_line_error(capsys, cli.main(["pin", "smoke", "--as", "smoke2"]), "has not finished training",
                    "`python cli.py train poolupsample --out runs/smoke --resume`")


def test_the_resume_command_pin_gives_for_an_unfinished_run_names_a_folder_with_spaces_and_quotes_whole(
        project, synth, pal, capsys):
    # `--out runs/Über $HOME 'q' --resume`, pasted, resumed runs/Über with a shell's $HOME and stray quotes
    import shlex

    run = project / "runs" / "Über $HOME 'q'"
    assert cli.main(["train", "poolupsample", "--epochs", "1", "--num-filters", "4", "--limit", "40", "--data",
                     str(synth), "--palette", pal, "--out", str(run), "--json"]) == 0
    capsys.readouterr()
    metrics = run / "metrics.json"
    metrics.write_text(json.dumps(json.loads(metrics.read_text()) | {"complete": False}))
    err = _one_line_error(capsys, cli.main(["pin", str(run)]), "has not finished training")
    argv = shlex.split(err.split("`")[1])
    assert argv[:4] == ["python", "cli.py", "train", "poolupsample"] and argv[-1] == "--resume"
    assert project / argv[argv.index("--out") + 1] == run


@pytest.mark.parametrize("argv,words", [
    (["train", "resnet"], ["unknown model 'resnet'", "poolupsample", "convtranspose", "unet"]),
    (["train"], ["no model given"]),
    (["train", "unet", "--all"], ["give a MODEL or --all, not both"]),
    (["train", "unet", "--kernel", "0"], ["kernel 0 is not a valid kernel size"]),
    (["train", "unet", "--category", "unicorn"], ["unknown category"]),
    (["sweep", "batch-size", "32", "--model", "vgg"], ["unknown model"]),
    (["pin", "no-such-run"], ["is not a finished run"]),
    (["train", "unet", "--jobs", "2"], ["--jobs 2", "is one", "--threads"]),
])
def test_bad_input_gives_one_line(project, capsys, argv, words):
    _one_line_error(capsys, cli.main(argv), *words)


def test_empty_data_path(project, capsys):
    (project / "empty").mkdir()
    _one_line_error(capsys, cli.main(["train", "unet", "--data", str(project / "empty")]), "holds no CIFAR-10 data",
                    "--data")


def test_train_and_test_images_of_other_sizes_are_one_line_and_leave_no_run(project, capsys):
    from PIL import Image

    for split, size in (("train", 32), ("test", 28)):
        (project / "data" / split / "horse").mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (size, size), (40 * i, 90, 200)).save(project / "data" / split / "horse" / f"{i}.png")
    rc = cli.main(["train", "poolupsample", "--epochs", "1", "--num-filters", "4", "--data", str(project / "data")])
    _one_line_error(capsys, rc, "training images of 32x32 but test images of 28x28", "one size")
    assert not any((project / "runs").iterdir())


def test_images_not_divisible_by_4_are_one_line_and_leave_no_run(project, capsys):
    from PIL import Image

    for split in ("train", "test"):  # 30 halves to 15, which does not halve again
        (project / "data" / split / "horse").mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (30, 30), (40 * i, 90, 200)).save(project / "data" / split / "horse" / f"{i}.png")
    rc = cli.main(["train", "poolupsample", "--epochs", "1", "--num-filters", "4", "--data", str(project / "data")])
    _one_line_error(capsys, rc, "images are (30, 30)", "divisible by 4")
    assert not (project / "runs").exists() or not any((project / "runs").iterdir())



@pytest.mark.parametrize("batch,alone", [("2", "the last of 3 batches"), ("1", "every batch")])
def test_4x4_images_with_a_batch_of_one_image_are_one_line_and_leave_no_run(project, pal, capsys, batch, alone):
    """4x4 images are 1x1 after the second halving, where BatchNorm in training mode needs 2+ values per channel:
    a batch of one image stopped epoch 1 with a ValueError traceback and left a run folder at epoch 0."""
    from PIL import Image

    for split, n in (("train", 5), ("test", 2)):
        (project / "data" / split / "horse").mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (4, 4), (40 * i, 90, 200)).save(project / "data" / split / "horse" / f"{i}.png")
    argv = ["train", "unet", "--epochs", "1", "--num-filters", "4", "--data", str(project / "data"), "--palette", pal]
    _one_line_error(capsys, cli.main(argv + ["--batch-size", batch]), "4x4", "1x1", f"--batch-size {batch}", alone,
                    "--batch-size 5")
    assert not any((project / "runs").iterdir())
    assert cli.main(argv + ["--batch-size", "5", "--json"]) == 0  # batches of 2+ images train
def test_a_cache_folder_that_cannot_be_written_only_costs_time(project, synth, capsys):
    (project / ".cache").write_text("not a folder")  # as a read-only .cache/ would, every cache write fails
    argv = ["train", "unet", "--epochs", "1", "--num-filters", "4", "--data", str(synth), "--json"]  # data and k-means
    assert cli.main(argv) == 0, capsys.readouterr().err
    assert (project / "runs" / "unet" / "model.pt").is_file() and (project / ".cache").read_text() == "not a folder"


def test_cuda_without_gpu(project, synth, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    _one_line_error(capsys, cli.main(["train", "unet", "--device", "cuda", "--data", str(synth)]), "no CUDA GPU")


def test_existing_run_and_corrupt_checkpoint(project, synth, pal, capsys):
    args = ["train", "unet", "--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", pal, "--json"]
    assert cli.main(args) == 0
    config = json.loads((project / "runs" / "unet" / "config.json").read_text())
    assert config["settings"]["num_colours"] == config["palette_source"]["k"] == 6  # the file's count, not 24
    capsys.readouterr()
    _one_line_error(capsys, cli.main(args), "already holds a run", "--resume")
    (project / "runs" / "unet" / "checkpoint.pt").write_bytes(b"junk")
    _one_line_error(capsys, cli.main(args + ["--resume"]), "unreadable or not a checkpoint")


def _other_models_weights(ckpt, run):
    from colourize.models import build_model

    ckpt["model"] = build_model("convtranspose", 3, 4, 6, 1).state_dict()


def _nine_colour_palette(ckpt, run):
    np.save(run / "palette.npy", np.random.default_rng(0).uniform(0, 1, (9, 3)).astype(np.float32))


def _same_size_other_palette(ckpt, run):
    np.save(run / "palette.npy", np.random.default_rng(0).uniform(0, 1, (6, 3)).astype(np.float32))


def _adam_state_of_other_shapes(ckpt, run):
    for state in ckpt["optimizer"]["state"].values():
        state["exp_avg"] = torch.zeros(7)


@pytest.mark.parametrize("damage,words", [
    (_other_models_weights, ["does not fit the run's unet with 6 colours", "size mismatch"]),
    (_nine_colour_palette, ["palette.npy is not the palette this run was made with"]),
    (_same_size_other_palette, ["palette.npy is not the palette this run was made with"]),
    (_adam_state_of_other_shapes, ["does not fit the run's unet", "optimizer state exp_avg"]),
    (lambda ckpt, run: ckpt["optimizer"]["param_groups"][0].update(lr="fast"), ["optimizer settings are damaged"]),
    (lambda ckpt, run: ckpt["optimizer"]["param_groups"][0].update(eps=True), ["optimizer settings are damaged"]),  # bool, not 1
    (lambda ckpt, run: ckpt.update(schema="colourize.checkpoint/0"), ["unreadable or not a checkpoint",
                                                                      "ValueError: not a colourize checkpoint"]),
    (lambda ckpt, run: ckpt.pop("config"), ["unreadable or not a checkpoint", "KeyError"]),
    (lambda ckpt, run: ckpt.update(config="{not json"), ["unreadable or not a checkpoint", "JSONDecodeError"]),
    (lambda ckpt, run: ckpt.pop("history"), ["history does not hold 1 epoch records"]),
    (lambda ckpt, run: ckpt.update(history=[]), ["history does not hold 1 epoch records"]),
    (lambda ckpt, run: ckpt.update(history=ckpt["history"] * 2), ["history does not hold 1 epoch records"]),
    (lambda ckpt, run: ckpt.update(epoch="1"), ["config or epoch is damaged"]),
    (lambda ckpt, run: ckpt.update(epoch=True), ["config or epoch is damaged"]),  # a bool is an int to Python
    (lambda ckpt, run: ckpt["rng"].pop("torch"), ["model, optimizer or random state is missing"]),
    (lambda ckpt, run: ckpt["history"][0].pop("train_seconds"), ["history does not hold 1 epoch records"]),
    (lambda ckpt, run: ckpt.pop("optimizer"), ["model, optimizer or random state is missing"]),
])
def test_a_mismatched_or_damaged_checkpoint_is_one_line_and_the_run_stays(project, synth, pal, capsys, damage, words):
    args = ["train", "unet", "--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", pal, "--json"]
    assert cli.main(args) == 0
    run = project / "runs" / "unet"
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    damage(ckpt, run)
    ckpt.pop("sha256")  # as in a checkpoint from before checksums (a damaged checksummed one is refused for that)
    torch.save(ckpt, run / "checkpoint.pt")
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    capsys.readouterr()
    _one_line_error(capsys, cli.main(args[:3] + ["2"] + args[4:] + ["--resume"]), *words)
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_a_checkpoint_of_another_run_is_named_as_not_matching_config_json(project, synth, pal, capsys):
    """The user asked for nothing: blaming 'asked 8' would point at a flag never given."""
    for nf in ("4", "8"):
        assert cli.main(["train", "unet", "--epochs", "1", "--num-filters", nf, "--data", str(synth), "--palette", pal,
                         "--out", str(project / "runs" / f"nf{nf}"), "--json"]) == 0
    run = project / "runs" / "nf8"
    (run / "checkpoint.pt").write_bytes((project / "runs" / "nf4" / "checkpoint.pt").read_bytes())
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    capsys.readouterr()
    err = _one_line_error(capsys, cli.main(["train", "unet", "--out", str(run), "--resume", "--epochs", "2"]),
                          "checkpoint.pt does not match the run's config.json",
                          "num_filters: checkpoint.pt has 4, config.json has 8", "put back the run's own")
    assert "asked" not in err
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


@pytest.fixture
def ctrl_c_in_epoch_2(monkeypatch):
    """Every run the CLI starts is interrupted (as by Ctrl-C) in its second epoch, after one checkpoint.

    Returns the switch that stops the interruptions (not monkeypatch.undo(), which would also undo the
    project fixture's WORKBENCH_ROOT and let the rest of the test write into the real project).
    """
    import colourize.parallel
    from colourize.train import Reporter, train

    class CtrlCInEpoch2(Reporter):
        def batch(self, epoch, done, loss):
            if epoch == 2:
                raise KeyboardInterrupt

    monkeypatch.setattr(colourize.parallel, "train", lambda cfg, run_dir, resume, reporter: train(
        cfg, run_dir, resume, CtrlCInEpoch2()))
    return lambda: monkeypatch.setattr(colourize.parallel, "train", train)


def test_ctrl_c_says_how_to_resume(project, synth, pal, capsys, ctrl_c_in_epoch_2):
    argv = ["train", "unet", "--epochs", "2", "--num-filters", "4", "--data", str(synth), "--palette", pal]
    assert cli.main(argv) == 130
    assert f"train unet --out {project / 'runs' / 'unet'} --epochs 2 --resume" in capsys.readouterr().err
    ctrl_c_in_epoch_2()
    assert cli.main(["train", "unet", "--out", str(project / "runs" / "unet"), "--resume", "--json"]) == 0


def test_on_windows_the_resume_command_is_quoted_as_cmd_and_powershell_read_it(project, synth, pal, capsys,
                                                                               ctrl_c_in_epoch_2, monkeypatch):
    """shlex's single quotes are part of the word to cmd: the printed --out 'C:\\...\\my runs\\unet' named no folder."""
    run = project / "my runs" / "unet"
    monkeypatch.setattr(sys, "platform", "win32")
    argv = ["train", "unet", "--epochs", "2", "--num-filters", "4", "--data", str(synth), "--palette", pal, "--out", str(run)]
    assert cli.main(argv) == 130
    err = capsys.readouterr().err
    assert f'`python cli.py train unet --out "{run}" --epochs 2 --resume`' in err and "'" not in err, err


def test_the_command_printed_after_ctrl_c_in_a_longer_resume_trains_the_longer_run(project, synth, pal, capsys,
                                                                                 ctrl_c_in_epoch_2):
    import shlex

    run = project / "runs" / "unet"
    argv = ["train", "unet", "--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", pal, "--json"]
    assert cli.main(argv) == 0  # epoch 1 is not interrupted
    capsys.readouterr()
    assert cli.main(["train", "unet", "--out", str(run), "--resume", "--epochs", "3", "--json"]) == 130
    again = json.loads(capsys.readouterr().out)["fix"].split("`")[1]
    ctrl_c_in_epoch_2()
    assert cli.main(shlex.split(again)[2:] + ["--json"]) == 0
    assert json.loads((run / "metrics.json").read_text())["final"]["epoch"] == 3


def test_ctrl_c_in_a_resume_from_moved_data_prints_a_command_that_names_the_new_place(project, synth, pal, capsys,
                                                                                      ctrl_c_in_epoch_2, monkeypatch):
    """Ctrl-C before the resume recorded the new place printed `... --resume` without --data, which looked for the
    images at the old, gone path; a plain resume (data where the run says) still prints no --data."""
    import shlex
    import shutil

    import colourize.parallel

    run = project / "runs" / "unet"
    assert cli.main(["train", "unet", "--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", pal,
                     "--out", str(run), "--json"]) == 0
    moved = project / "moved"
    shutil.move(synth.parent, moved)

    def interrupted(*a, **k):  # while the images load: config.json still names the old place
        raise KeyboardInterrupt

    monkeypatch.setattr(colourize.parallel, "train", interrupted)
    capsys.readouterr()
    assert cli.main(["train", "unet", "--out", str(run), "--resume", "--epochs", "2", "--data", str(moved)]) == 130
    err = capsys.readouterr().err
    again = shlex.split(err[err.index("`") + 1:err.rindex("`")])
    assert again[again.index("--data") + 1] == str(moved), err
    ctrl_c_in_epoch_2()
    assert cli.main(again[2:] + ["--json"]) == 0, capsys.readouterr().err  # pasted, it finishes the run
    assert json.loads((run / "metrics.json").read_text())["final"]["epoch"] == 2
    monkeypatch.setattr(colourize.parallel, "train", interrupted)  # now config.json names the new place
    capsys.readouterr()
    assert cli.main(["train", "unet", "--out", str(run), "--resume", "--epochs", "3", "--data", str(moved)]) == 130
    assert f"train unet --out {run} --epochs 3 --resume`" in capsys.readouterr().err


def test_the_resume_command_printed_for_all_works_as_printed(project, synth, pal, capsys, ctrl_c_in_epoch_2):
    import shlex

    argv = ["train", "--all", "--epochs", "2", "--num-filters", "4", "--limit", "40", "--data", str(synth),
            "--palette", pal, "--out", str(project / "runs" / "all"), "--json"]
    assert cli.main(argv) == 130
    out, err = capsys.readouterr()
    assert json.loads(out) == {"error": "interrupted: each run keeps its last complete epoch",
                               "fix": err.split(" — ", 1)[1].strip(), "exit_code": 130}
    command = shlex.split(err[err.index("`") + 1:err.rindex("`")])
    assert "--limit" in command and "--num-filters" in command  # runs not yet started need the flags too
    ctrl_c_in_epoch_2()
    assert cli.main(command[2:]) == 0
    for model in ("poolupsample", "convtranspose", "unet"):
        config = json.loads((project / "runs" / "all" / model / "config.json").read_text())
        assert (config["n_train"], config["settings"]["num_filters"]) == (40, 4)
        assert json.loads((project / "runs" / "all" / model / "metrics.json").read_text())["complete"]


def test_ctrl_c_before_the_first_checkpoint_offers_no_resume(project, synth, capsys, monkeypatch):
    import colourize.parallel

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(colourize.parallel, "train", interrupted)
    assert cli.main(["train", "unet", "--data", str(synth)]) == 130
    err = capsys.readouterr().err
    assert "nothing was kept" in err and "--resume" not in err


@pytest.mark.parametrize("flags,words", [
    (["--epochs", "0"], ["--epochs 0", "positive whole number"]),
    (["--epochs", "-1"], ["--epochs -1"]),
    (["--batch-size", "0"], ["--batch-size 0"]),
    (["--num-filters", "0"], ["--num-filters 0"]),
    (["--lr", "-1"], ["--lr -1.0", "learning rate"]),
    (["--lr", "nan"], ["--lr nan"]),
    (["--lr", "0"], ["--lr 0.0"]),
    (["--threads", "-1"], ["--threads -1"]),
    (["--threads", "0"], ["--threads 0"]),
    (["--limit", "-5"], ["--limit -5"]),
    (["--limit", "0"], ["--limit 0"]),
    (["--threads", "100000"], ["--threads 100000 is more than 4x"]),
    (["--kernel", "35"], ["kernel 35 is larger than the 32x32 images", "at most 32"]),
    (["--num-filters", "10000000"], ["--num-filters 10000000", "does not fit in memory"]),  # petabytes of weights
    (["--seed", "-1"], ["--seed -1 is not a whole number >= 0"]),
    (["--seed", str(2**64)], [f"--seed {2**64} is larger than {2**64 - 1}"]),
    (["--num-colours", "1"], ["--num-colours 1 is not a whole number from 2 to 256", "e.g. --num-colours 24"]),
    (["--num-colours", "257"], ["--num-colours 257 is not a whole number from 2 to 256"]),
    (["--all", "--num-colours", "0"], ["--num-colours 0 is not a whole number from 2 to 256"]),
])
def test_out_of_range_settings_are_refused_before_anything_is_written(project, synth, capsys, flags, words):
    model = [] if "--all" in flags else ["convtranspose"]
    _one_line_error(capsys, cli.main(["train", *model, "--data", str(synth)] + flags), *words)
    assert not (project / "runs").exists() or not any((project / "runs").iterdir())


def test_out_that_is_a_file_or_a_foreign_folder(project, synth, pal, capsys):
    (project / "notes.md").write_text("mine")
    base = ["train", "unet", "--epochs", "1", "--data", str(synth), "--palette", pal]
    _one_line_error(capsys, cli.main(base + ["--out", str(project / "notes.md")]), "--out", "notes.md: it is a file, not a folder")
    _one_line_error(capsys, cli.main(base + ["--out", str(project / "notes.md" / "run")]), "--out",
                    f"{project / 'notes.md'} is a file, not a folder")
    (project / "mine").mkdir()
    (project / "mine" / "notes.txt").write_text("keep me")
    _one_line_error(capsys, cli.main(base + ["--out", str(project / "mine")]), "not empty and holds no run", "notes.txt")
    assert (project / "notes.md").read_text() == "mine" and [p.name for p in (project / "mine").iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("command", [["sweep", "seed", "0"], ["sweep", "batch-size", "20", "--resume"], ["train", "--all"]])
def test_a_sweep_or_all_into_a_run_folder_is_refused_and_the_run_stays(project, synth, pal, capsys, command):
    """Their --out is the folder their runs go in: given a run's folder, they trained new runs and wrote a sweep
    summary inside that run."""
    run = project / "runs" / "pu"
    assert cli.main(["train", "poolupsample", "--epochs", "1", "--num-filters", "4", "--limit", "20", "--data", str(synth),
                     "--palette", pal, "--out", str(run), "--json"]) == 0
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    capsys.readouterr()
    rc = cli.main(command + ["--epochs", "1", "--num-filters", "4", "--limit", "20", "--data", str(synth), "--palette",
                             pal, "--out", str(run)])
    _one_line_error(capsys, rc, f"{run} is a run folder", "the folder its runs go in", "another --out")
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before

def test_resuming_a_finished_run_changes_nothing(project, synth, pal, capsys):
    run = project / "runs" / "pu"
    argv = ["train", "poolupsample", "--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", pal,
            "--out", str(run), "--json"]
    assert cli.main(argv) == 0
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.iterdir()}
    capsys.readouterr()
    assert cli.main(argv + ["--resume"]) == 0
    assert json.loads(capsys.readouterr().out)["runs"][0]["val_acc"] == \
        json.loads((run / "metrics.json").read_text())["final"]["val_acc"]
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.iterdir()} == before


def test_resuming_a_finished_run_says_nothing_was_trained(project, synth, pal, capsys):
    """`train --resume` of a finished run printed its final table as if it had trained; one line says it trained
    nothing and how to train further. A resume that trains, and --json, say no such thing."""
    run = project / "runs" / "pu"
    argv = ["train", "poolupsample", "--epochs", "1", "--num-filters", "4", "--limit", "20", "--data", str(synth),
            "--palette", pal, "--out", str(run)]
    assert cli.main(argv) == 0
    assert "nothing trained" not in capsys.readouterr().out
    assert cli.main(argv + ["--resume"]) == 0
    out = capsys.readouterr().out
    line = f"{run} already finished its 1 epoch: nothing trained; resume with --epochs N (more than 1) to train further"
    assert [x for x in out.splitlines() if "nothing trained" in x] == [line], out
    assert cli.main(argv + ["--resume", "--json"]) == 0
    assert list(json.loads(capsys.readouterr().out)) == ["runs"]
    assert cli.main(argv[:2] + ["--out", str(run), "--resume", "--epochs", "2"]) == 0  # trains its second epoch
    assert "nothing trained" not in capsys.readouterr().out
    assert cli.main(argv[:2] + ["--out", str(run), "--resume", "--epochs", "2"]) == 0
    assert "already finished its 2 epochs: nothing trained" in capsys.readouterr().out


def test_resuming_a_run_in_a_read_only_folder_is_one_line(project, synth, pal, capsys, monkeypatch):
    import colourize.train
    from workbench.paths import make_folder as real

    run = project / "runs" / "pu"
    argv = ["train", "poolupsample", "--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", pal,
            "--out", str(run), "--json"]
    assert cli.main(argv) == 0
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    monkeypatch.setattr(colourize.train, "make_folder", lambda folder, keep=True:  # root writes anywhere: the probe says
                        "Read-only file system" if folder == run else real(folder, keep), raising=False)
    _one_line_error(capsys, cli.main(argv + ["--resume", "--epochs", "2"]), f"cannot write in {run}", "Read-only")
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_a_full_disk_while_a_run_starts_names_the_run_not_its_temp_folder_and_leaves_nothing(project, synth, pal,
                                                                                               capsys, monkeypatch):
    """The error named the file in the start's temp folder (runs/.unet.<pid>.<random>.tmp/checkpoint.pt), a path
    that is gone when the user reads it; it names the run's own file now. Nothing is left, and with space it starts."""
    import errno
    import io
    import os

    import colourize.runs

    class FullDisk(io.FileIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(colourize.runs, "open", FullDisk, raising=False)  # torch_save_atomic's file: the checkpoint
    argv = ["train", "unet", "--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", pal]
    err = _one_line_error(capsys, cli.main(argv), "no space left on device")
    assert f"cannot write {project / 'runs' / 'unet' / 'checkpoint.pt'}: " in err
    assert list((project / "runs").iterdir()) == []
    monkeypatch.delattr(colourize.runs, "open")  # space freed (undo() would also lift the project's WORKBENCH_ROOT)
    assert cli.main(argv) == 0 and (project / "runs" / "unet" / "model.pt").is_file()


def test_a_full_disk_in_epoch_2_says_how_to_continue_and_the_command_does(project, synth, pal, capsys, monkeypatch):
    """The error said to run it again, which a run folder refuses ('pass --resume'); it gives the command that
    continues from the last complete epoch, as Ctrl-C does, and that command finishes the run once there is space."""
    import errno
    import io
    import os
    import shlex

    import colourize.runs

    opened = []

    class FullFromTheThird(io.FileIO):  # the checkpoints of epochs 0 and 1 fit, epoch 2's does not
        def write(self, data):
            name = str(self.name)
            if ".checkpoint.pt." in name and name not in opened:  # not the data cache's file
                opened.append(name)
            if len(opened) >= 3 and name == opened[-1]:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return super().write(data)

    monkeypatch.setattr(colourize.runs, "open", FullFromTheThird, raising=False)
    run = project / "runs" / "unet"
    argv = ["train", "unet", "--epochs", "2", "--num-filters", "4", "--data", str(synth), "--palette", pal]
    err = _one_line_error(capsys, cli.main(argv), f"cannot write {run / 'checkpoint.pt'}: no space left on device")
    assert json.loads((run / "metrics.json").read_text())["final"]["epoch"] == 1
    monkeypatch.delattr(colourize.runs, "open")  # space freed
    command = shlex.split(err[err.index("`") + 1:err.rindex("`")])
    assert cli.main(command[2:]) == 0
    assert json.loads((run / "metrics.json").read_text())["final"]["epoch"] == 2 and (run / "model.pt").is_file()


def test_resume_with_nothing_to_resume_is_refused(project, synth, pal, capsys):
    common = ["--epochs", "1", "--data", str(synth), "--palette", pal, "--out", str(project / "elsewhere"), "--resume"]
    _one_line_error(capsys, cli.main(["train", "--all"] + common), "nothing to resume")
    _one_line_error(capsys, cli.main(["sweep", "seed", "0", "1"] + common), "nothing to resume")
    assert not (project / "elsewhere").exists()


@pytest.mark.parametrize("argv,words", [
    (["sweep", "batch-size", "0", "32"], ["--batch-size 0"]),
    (["sweep", "batch-size", "-32"], ["--batch-size -32"]),
    (["sweep", "batch-size", "32", "64", "32"], ["batch-size 32 given more than once"]),
    (["sweep", "batch-size", "64", "128", "--batch-size", "32"], ["--batch-size 32 conflicts"]),
    (["sweep", "seed", "0", "1", "--seed", "5"], ["--seed 5 conflicts"]),
])
def test_bad_sweeps_are_refused_before_any_run(project, synth, pal, capsys, argv, words):
    rc = cli.main(argv + ["--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", pal])
    _one_line_error(capsys, rc, *words)
    assert not (project / "runs").exists() or not any((project / "runs").iterdir())


def test_pin_protects_pinned_results(project, synth, pal, capsys):
    (project / "solutions").unlink()  # never pin into the real solutions/ from a test
    (project / "solutions").mkdir()
    base = ["--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", pal, "--json"]
    cli.main(["train", "convtranspose"] + base)
    cli.main(["train", "convtranspose", "--seed", "1", "--out", str(project / "runs" / "ct1")] + base)
    capsys.readouterr()
    results = project / "solutions" / "a2" / "results"
    assert cli.main(["pin", "convtranspose"]) == 0
    assert cli.main(["pin", "convtranspose"]) == 0  # the same result again: nothing to protect
    pinned = (results / "convtranspose" / "metrics.json").read_bytes()
    capsys.readouterr()
    _one_line_error(capsys, cli.main(["pin", "ct1", "--as", "convtranspose"]), "already holds another", "--force")
    assert (results / "convtranspose" / "metrics.json").read_bytes() == pinned
    _one_line_error(capsys, cli.main(["pin", "ct1", "--as", "unet"]), "trained convtranspose, not unet",
                    "--as convtranspose-ct1")  # not --as convtranspose: that name holds another result
    _one_line_error(capsys, cli.main(["pin", "ct1", "--as", "UNet"]), "trained convtranspose, not UNet")
    _one_line_error(capsys, cli.main(["pin", "ct1", "--as", "ConvTranspose"]), "already holds another", "--force")
    # the class name is the model's own pin to the checks too: it outranked results/convtranspose, silently
    _one_line_error(capsys, cli.main(["pin", "ct1", "--as", "ConvTransposeNet"]), "already holds another", "--force")
    _one_line_error(capsys, cli.main(["pin", "ct1", "--as", "PoolUpsampleNet"]), "trained convtranspose, not PoolUpsampleNet")
    assert [p.name for p in results.iterdir()] == ["convtranspose"]  # the checks read model names in any case
    _one_line_error(capsys, cli.main(["pin", "ct1", "--as", "../../evil"]), "not a plain folder name")
    _one_line_error(capsys, cli.main(["pin", "ct1", "--as", ""]), "not a plain folder name")
    _one_line_error(capsys, cli.main(["pin", "ct1", "--as", "a" * 300]), "at most 100 characters")  # was a traceback
    for windows_refuses in ("CON", "nul", "com1", "aux.txt", "ct1."):  # a clone on Windows failed on the pinned folder
        _one_line_error(capsys, cli.main(["pin", "ct1", "--as", windows_refuses]), "not a plain folder name")
    assert [p.name for p in results.iterdir()] == ["convtranspose"]
    _one_line_error(capsys, cli.main(["pin", "ct1", "--as", "ct1", "--pack", "zz"]), "no problem pack 'zz'")
    assert not (project / "solutions" / "zz").exists()
    assert not (project / "evil").exists() and not (project / "solutions" / "evil").exists()
    assert cli.main(["pin", "ct1", "--as", "convtranspose", "--force"]) == 0
    assert (results / "convtranspose" / "metrics.json").read_bytes() == (project / "runs" / "ct1" / "metrics.json").read_bytes()


def test_a_pin_that_runs_out_of_space_leaves_the_pinned_result_whole(project, capsys, file_size_limit):
    """pin --force wrote its files one by one: out of space at curves.png, the pinned config.json and metrics.json
    were the new run's already, beside the old run's figures (a result of no run, quoted by the writeup). Now every
    file is written before any is replaced: the old result stays whole, and with space the pin goes through."""
    _two_finished_runs(project, curves_bytes=20_000)
    assert cli.main(["pin", "a", "--as", "unet"]) == 0
    dest = project / "solutions" / "a2" / "results" / "unet"
    before = {p.name: p.read_bytes() for p in dest.iterdir()}
    capsys.readouterr()
    file_size_limit(4096)  # config.json and metrics.json fit, curves.png does not
    _one_line_error(capsys, cli.main(["pin", "b", "--as", "unet", "--force"]), f"cannot write {dest / 'curves.png'}")
    file_size_limit(None)
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == before
    assert cli.main(["pin", "b", "--as", "unet", "--force"]) == 0
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == {p.name: p.read_bytes()
                                                                 for p in (project / "runs" / "b").iterdir()}


def test_a_first_pin_that_runs_out_of_space_leaves_no_empty_results_folder(project, capsys, file_size_limit):
    """The folders it made for the result go with it: an empty results/ would read as a pack with nothing pinned."""
    _two_finished_runs(project, curves_bytes=20_000)
    file_size_limit(4096)  # config.json and metrics.json fit, curves.png does not
    _one_line_error(capsys, cli.main(["pin", "b", "--as", "unet"]), "cannot write", "curves.png")
    file_size_limit(None)
    assert [p.name for p in (project / "solutions").iterdir()] == []


def _two_finished_runs(project, curves_bytes: int = 2000) -> tuple[dict, dict]:
    """runs/a and runs/b, finished unet runs in colourize's layout (fixture bytes; b has no samples.png), and the
    files each would pin."""
    (project / "solutions").unlink()  # never pin into the real solutions/ from a test
    (project / "solutions").mkdir()
    for name, seed in (("a", 0), ("b", 1)):
        folder = project / "runs" / name
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps({"schema": "colourize.run/1", "palette_source": {"k": 24}, "settings": {
            "model": "unet", "epochs": 1, "seed": seed}}))
        (folder / "metrics.json").write_text(json.dumps({"complete": True, "final": {"val_acc": 50.0 + seed}}))
        (folder / "curves.png").write_bytes(bytes([seed]) * curves_bytes)
        if name == "a":
            (folder / "samples.png").write_bytes(b"a" * 2000)
    return tuple({p.name: p.read_bytes() for p in (project / "runs" / n).iterdir()} for n in "ab")


def test_a_pin_failing_at_any_rename_leaves_the_whole_old_result_or_the_whole_new_one(project, capsys, monkeypatch):
    """pin --force replaced the pinned files one rename at a time: a failure (or a kill) between two renames left
    the new metrics.json beside the old curves.png, one result of no run. The whole folder is swapped now."""
    import errno
    import os

    old, new = _two_finished_runs(project)
    results = project / "solutions" / "a2" / "results"
    assert cli.main(["pin", "a", "--as", "unet"]) == 0
    capsys.readouterr()
    for n in range(1, 20):  # fail the nth rename or replace of the pin, for each n until the pin has none left
        calls = []

        def failing(real):
            def call(*args, **kwargs):
                calls.append(args)
                if len(calls) == n:
                    raise OSError(errno.EIO, "Input/output error")
                return real(*args, **kwargs)
            return call

        with monkeypatch.context() as m:
            m.setattr(os, "rename", failing(os.rename))
            m.setattr(os, "replace", failing(os.replace))
            rc = cli.main(["pin", "b", "--as", "unet", "--force"])
        assert [p.name for p in results.iterdir()] == ["unet"]  # nothing half-made left beside it
        got = {p.name: p.read_bytes() for p in (results / "unet").iterdir()}
        if rc == 0:
            break
        _one_line_error(capsys, rc, f"cannot write {results / 'unet'}", "input/output error", "nothing was replaced")
        assert got == old, n
    assert n == 6 and got == new  # it failed at each of the 3 files and the 2 renames of the swap, then went through
    assert cli.main(["pin", "a", "--as", "unet", "--force"]) == 0
    assert {p.name: p.read_bytes() for p in (results / "unet").iterdir()} == old


def test_a_pin_that_would_drop_a_pinned_file_needs_force(project, capsys):
    """A run like the pinned one but for a file it lacks (no samples.png) was pinned without --force, and the swap
    dropped the pinned samples.png: a missing file is a change like any other."""
    old, _ = _two_finished_runs(project)
    results = project / "solutions" / "a2" / "results"
    assert cli.main(["pin", "a", "--as", "unet"]) == 0
    capsys.readouterr()
    (project / "runs" / "c").mkdir()
    for name, data in old.items():
        if name != "samples.png":
            (project / "runs" / "c" / name).write_bytes(data)
    _one_line_error(capsys, cli.main(["pin", "c", "--as", "unet"]), "already holds another", "--force")
    assert {p.name: p.read_bytes() for p in (results / "unet").iterdir()} == old
    assert cli.main(["pin", "c", "--as", "unet", "--force"]) == 0
    assert sorted(p.name for p in (results / "unet").iterdir()) == sorted(set(old) - {"samples.png"})


def test_two_pins_into_one_name_at_once_are_taken_in_turn(project):
    """Two pins of different runs into one name at the same time both found it empty and both swapped in their
    result: the second replaced the first without --force. They take the results folder in turn now: the second
    finds the first's result and is refused."""
    import threading
    import time

    from colourize import runs
    from workbench.atomic import folder_lock

    old, new = _two_finished_runs(project)
    results = project / "solutions" / "a2" / "results"
    results.mkdir(parents=True)
    outcomes = {}

    def pin(run):
        try:
            outcomes[run] = runs.pin_run(run, "unet")[0].name
        except UsageError as exc:
            outcomes[run] = exc.message

    threads = [threading.Thread(target=pin, args=(run,)) for run in "ab"]
    with folder_lock(results):  # another pin holding it: both wait
        for t in threads:
            t.start()
        time.sleep(0.5)
        assert outcomes == {} and list(results.iterdir()) == []
    for t in threads:
        t.join(30)
    first = next(run for run in "ab" if outcomes[run] == "unet")
    second = "b" if first == "a" else "a"
    assert "already holds another pinned result" in outcomes[second], outcomes
    assert {p.name: p.read_bytes() for p in (results / "unet").iterdir()} == (old if first == "a" else new)


def test_a_pin_killed_after_its_swap_leaves_an_old_folder_the_next_pin_removes(project, capsys):
    """Killed after both renames, before removing the old result set aside: the name holds the new result, so the
    hidden old one is removed, not renamed onto it (which failed every later pin into the folder)."""
    import shutil
    import subprocess

    old, new = _two_finished_runs(project)
    results = project / "solutions" / "a2" / "results"
    assert cli.main(["pin", "b", "--as", "unet"]) == 0
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid no process has now
    shutil.copytree(project / "runs" / "a", results / f".unet.{gone.pid}.x1.old")
    capsys.readouterr()
    assert cli.main(["pin", "a", "--as", "other"]) == 0, capsys.readouterr().err
    assert sorted(p.name for p in results.iterdir()) == ["other", "unet"]
    assert {p.name: p.read_bytes() for p in (results / "unet").iterdir()} == new


def test_a_pin_killed_between_its_renames_is_put_right_by_the_next_pin(project, capsys):
    """SIGKILL (or a power loss) in the middle of pin --force: the results folder holds the whole old result or the
    whole new one, or, killed between the two renames, none beside the hidden old one, which the next pin puts back;
    verify never reads the hidden folders as runs."""
    import shutil
    import subprocess
    import sys

    from conftest import REPO
    from workbench.verify import list_runs

    old, new = _two_finished_runs(project)
    results = project / "solutions" / "a2" / "results"
    assert cli.main(["pin", "a", "--as", "unet"]) == 0
    kill_at = (f"import os, signal, sys; sys.path.insert(0, {str(REPO)!r}); calls = []; real = os.rename\n"
               "def rename(*args):\n"
               "    calls.append(args)\n"
               "    if len(calls) == int(sys.argv[1]): os.kill(os.getpid(), signal.SIGKILL)\n"
               "    return real(*args)\n"
               "os.rename = rename\n"
               "from colourize.runs import pin_run; pin_run('b', 'unet', force=True)\n")
    for n in (1, 2):  # the swap's renames: the old result aside, the new one in its place
        done = subprocess.run([sys.executable, "-c", kill_at, str(n)], capture_output=True, timeout=60)
        assert done.returncode == -9, done.stderr.decode()
        assert len(list(results.iterdir())) == 2  # unet and the hidden new folder, or the hidden old and new ones
        if n == 1:
            assert {p.name: p.read_bytes() for p in (results / "unet").iterdir()} == old
        else:
            assert not (results / "unet").exists()
        assert [r.name for r in list_runs(results)] == (["unet"] if n == 1 else [])
        capsys.readouterr()
        assert cli.main(["pin", "b", "--as", "other"]) == 0  # any later pin into the folder puts it right
        assert sorted(p.name for p in results.iterdir()) == ["other", "unet"]
        assert {p.name: p.read_bytes() for p in (results / "unet").iterdir()} == old
        assert cli.main(["pin", "b", "--as", "unet", "--force"]) == 0
        assert {p.name: p.read_bytes() for p in (results / "unet").iterdir()} == new
        assert cli.main(["pin", "a", "--as", "unet", "--force"]) == 0
        shutil.rmtree(results / "other")


def test_pin_says_which_settings_and_questions_keep_the_checks_from_counting_a_run(project, capsys):
    """Only a --limit run was noted; one with other epochs, batch size, lr, ... was pinned silently and only
    verify later refused it. The note comes from the checks' own REQUIRED (problems/a2/ref_runs.py)."""
    (project / "solutions").unlink()  # never pin into the real solutions/ from a test
    (project / "solutions").mkdir()

    def run(name, model, epochs=25, k=24, **settings):  # a finished run in colourize's layout (fixture numbers)
        folder = project / "runs" / name
        folder.mkdir()
        row = {"epoch": 1, "train_loss": 1.0, "val_loss": 1.0, "val_acc": 50.0, "seconds": 1.0}
        (folder / "config.json").write_text(json.dumps({"schema": "colourize.run/1", "palette_source": {"k": k}, "settings": {
            "model": model, "epochs": epochs, "batch_size": 100, "kernel": 3, "num_filters": 32, "lr": 0.001,
            "num_colours": 24, "category": 7, "limit": None} | settings}))
        rows = [row | {"epoch": e + 1} for e in range(epochs)]
        (folder / "metrics.json").write_text(json.dumps({"complete": True, "epochs": rows, "final": rows[-1]}))

    def note(*argv):
        assert cli.main(["pin", *argv, "--json"]) == 0
        return json.loads(capsys.readouterr().out)["note"]

    run("unet-lr", "unet", lr=0.01)
    assert note("unet-lr") == "not the handout's run (lr 0.01, not 0.001): 6.2, 6.3 will not count it"
    run("pu", "poolupsample", epochs=3, kernel=5, category=3)
    assert note("pu") == "not the handout's run (epochs 3, not at least 25; kernel 5, not 3; category 3, not 7): 4.2, 5.3 will not count it"
    run("sweep-bs32", "convtranspose", batch_size=32)  # a sweep run: pinned on purpose, and 5.5 takes it
    assert note("sweep-bs32") == ("not the handout's run (batch_size 32, not 100): 5.2, 5.3, 6.3 will not count it; "
                                  "5.5's batch-size sweep will")
    run("ct-nf", "convtranspose", num_filters=8, k=6)  # a 6-colour --palette file
    assert note("ct-nf").endswith("(num_filters 8, not 32; num_colours 6, not 24): 5.2, 5.3, 5.5, 6.3 will not count it")
    run("convtranspose", "convtranspose")
    assert note("convtranspose") is None  # the handout's run: nothing to say
    assert cli.main(["pin", "unet-lr", "--as", "u2"]) == 0
    assert "note: not the handout's run (lr 0.01, not 0.001): 6.2, 6.3 will not count it" in capsys.readouterr().out


def test_pin_into_a_pack_given_as_a_folder_lands_where_verify_reads(project, tmp_path, synth, pal, capsys):
    import shutil

    (project / "solutions").unlink()  # never pin into the real solutions/ from a test
    (project / "solutions").mkdir()
    folder = tmp_path / "my-copy-of-a2"  # pack.yaml still says name: a2
    shutil.copytree(project / "problems" / "a2", folder)
    cli.main(["train", "poolupsample", "--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", pal,
              "--json"])
    capsys.readouterr()
    assert cli.main(["pin", "poolupsample", "--as", "pu", "--pack", str(folder)]) == 0
    assert (project / "solutions" / "a2" / "results" / "pu" / "metrics.json").is_file()
    assert not (folder / "results").exists()  # it was written into the pack folder itself


def _finished_unet_run(project) -> None:
    """runs/unet-lr: a finished 1-epoch run, written by hand (pin reads only its files)."""
    run = project / "runs" / "unet-lr"
    run.mkdir()
    row = {"epoch": 1, "train_loss": 1.0, "val_loss": 1.0, "val_acc": 50.0, "seconds": 1.0}
    (run / "config.json").write_text(json.dumps({"schema": "colourize.run/1", "palette_source": {"k": 24},
                                                     "settings": {"model": "unet", "epochs": 1, "lr": 0.01}}))
    (run / "metrics.json").write_text(json.dumps({"complete": True, "epochs": [row], "final": row}))


def test_pin_into_a_pack_without_reference_checks_pins_with_no_note(project, tmp_path, capsys):
    """The settings note comes from the pack's checks (reference.py's pin_note); a pack without them still pins."""
    import shutil

    (project / "solutions").unlink()  # never pin into the real solutions/ from a test
    (project / "solutions").mkdir()
    folder = tmp_path / "no-checks"
    shutil.copytree(project / "problems" / "a2", folder)
    (folder / "reference.py").unlink()
    _finished_unet_run(project)
    assert cli.main(["pin", "unet-lr", "--pack", str(folder), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["note"] is None
    assert (project / "solutions" / "a2" / "results" / "unet-lr" / "metrics.json").is_file()


def test_smoke_on_the_shared_horses(project, capsys):
    if not SHARED_HORSES.is_dir():
        pytest.skip(f"shared horse data not present at {SHARED_HORSES}")
    rc = cli.main(["train", "unet", "--epochs", "1", "--limit", "300", "--data", str(SHARED_HORSES), "--json"])
    assert rc == 0, capsys.readouterr().err
    metrics = json.loads((project / "runs" / "unet" / "metrics.json").read_text())
    config = json.loads((project / "runs" / "unet" / "config.json").read_text())
    assert (config["n_train"], config["n_test"], config["data_source"]["kind"]) == (300, 300, "folder")
    assert metrics["final"]["val_loss"] < 3.2  # log(24) = 3.18 is a uniform guess


@pytest.mark.slow
def test_convtranspose_learns_on_the_shared_horses(project, capsys):
    if not SHARED_HORSES.is_dir():
        pytest.skip(f"shared horse data not present at {SHARED_HORSES}")
    rc = cli.main(["train", "convtranspose", "--epochs", "5", "--data", str(SHARED_HORSES), "--json"])
    assert rc == 0, capsys.readouterr().err
    epochs = json.loads((project / "runs" / "convtranspose" / "metrics.json").read_text())["epochs"]
    losses = [e["val_loss"] for e in epochs]
    assert losses == sorted(losses, reverse=True)  # validation loss falls every epoch
    assert epochs[-1]["val_acc"] > 38.0  # measured 42.7 % after 5 epochs (57 % after 25)


def test_sweep_seeds_reports_the_spread(project, synth, pal, capsys):
    argv = ["sweep", "seed", "0", "1", "2", "--model", "convtranspose", "--epochs", "1", "--num-filters", "4",
            "--data", str(synth), "--palette", pal]
    assert cli.main(argv + ["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    accs = [r["val_acc"] for r in out["runs"]]
    assert [r["seed"] for r in out["runs"]] == [0, 1, 2] and len(set(accs)) > 1  # the seeds do differ
    mean = sum(accs) / 3
    sd = (sum((a - mean) ** 2 for a in accs) / 2) ** 0.5  # sample standard deviation, by hand
    assert out["spread"]["val_acc"] == pytest.approx({"mean": mean, "sd": sd, "n": 3})
    runs = project / "runs"
    assert [json.loads((runs / f"sweep-seed{s}" / "config.json").read_text())["settings"]["seed"] for s in (0, 1, 2)] \
        == [0, 1, 2]
    assert json.loads((runs / "sweep-seed.json").read_text())["spread"] == out["spread"]
    assert (out["summary"], out["plot"]) == (str(runs / "sweep-seed.json"), str(runs / "sweep-seed.png"))  # as printed
    assert (runs / "sweep-seed.png").stat().st_size > 1000  # seed 0 on a linear axis (a log axis cannot show 0)
    assert cli.main(argv + ["--resume"]) == 0  # the finished runs are kept; the table and spread are printed again
    assert "over 3 seeds (mean ± sample sd)" in capsys.readouterr().out


def _sweep_without_training(monkeypatch, accs: dict[str, float]):
    """colourize.sweep.run_sweep with train_many replaced: each run folder gets a metrics.json whose val_acc is
    accs[folder name] (the summary's arithmetic, without training)."""
    import colourize.sweep

    def fake(tasks, jobs, reporter_for, before=lambda: None):
        before()
        out = []
        for t in tasks:
            t.run_dir.mkdir(parents=True, exist_ok=True)
            metrics = {"final": {"train_loss": 1.0, "val_loss": 2.0, "val_acc": accs[t.run_dir.name], "seconds": 3.0}}
            (t.run_dir / "metrics.json").write_text(json.dumps(metrics))
            out.append(metrics)
        return out

    monkeypatch.setattr(colourize.sweep, "train_many", fake)
    return colourize.sweep.run_sweep


def test_a_sweep_of_two_seeds_has_a_spread_and_one_seed_none(project, monkeypatch):
    from colourize.train import TrainConfig

    run_sweep = _sweep_without_training(monkeypatch, {"sweep-seed0": 40.0, "sweep-seed1": 44.0})
    summary = run_sweep("seed", [0, 1], TrainConfig(epochs=1), project / "two")
    assert summary["spread"]["val_acc"] == pytest.approx({"mean": 42.0, "sd": 8 ** 0.5, "n": 2})  # sd: sqrt((4+4)/1)
    assert "spread" not in run_sweep("seed", [0], TrainConfig(epochs=1), project / "one")  # no sd of one run


def test_a_batch_size_sweep_has_no_spread_and_its_plot_a_log2_axis_and_the_epoch_count(project, monkeypatch):
    """Runs of other batch sizes are not repeats of one setting: no mean and sd of them, points joined on a log2 axis."""
    import colourize.plots
    from colourize.train import TrainConfig

    drawn = []
    real = colourize.plots.sweep
    monkeypatch.setattr(colourize.plots, "sweep", lambda *a, **k: drawn.append((a, k)) or real(*a, **k))
    run_sweep = _sweep_without_training(monkeypatch, {"sweep-bs4": 40.0, "sweep-bs8": 44.0, "sweep-seed0": 1.0,
                                                       "sweep-seed1": 2.0})
    assert "spread" not in run_sweep("batch-size", [4, 8], TrainConfig(model="unet", epochs=1), project / "bs")
    run_sweep("seed", [0, 1], TrainConfig(model="unet", epochs=2), project / "seed")
    (_, _, _, title), kwargs = drawn[0]
    assert title == "unet, 1 epoch" and kwargs["xscale"] == "log2" and kwargs["spread"] is None
    (_, _, _, title), kwargs = drawn[1]
    assert title == "unet, 2 epochs" and kwargs["xscale"] == "linear" and kwargs["spread"]["val_acc"]["n"] == 2


def test_a_num_colours_sweep_gives_each_counts_chance_level_in_its_table_summary_and_plot(project, synth, monkeypatch,
                                                                                           capsys):
    """`sweep num-colours 4 32` set accuracies of tasks with different chance levels side by side (a uniform guess
    scores 25 % over 4 colours, 3.125 % over 32) with nothing saying so, so 4's higher accuracy read as the better run;
    each row gives its chance level, 100/K % and the uniform guess's loss ln K, in the table, the summary and the
    plot."""
    import colourize.plots

    drawn = []
    real = colourize.plots.sweep
    monkeypatch.setattr(colourize.plots, "sweep", lambda *a, **k: drawn.append(real(*a, **k)) or drawn[-1])
    _sweep_without_training(monkeypatch, {"sweep-nc4": 40.0, "sweep-nc32": 20.0})
    argv = ["sweep", "num-colours", "4", "32", "--model", "unet", "--epochs", "1", "--data", str(synth)]
    assert cli.main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "chance acc" in out and "25.00 %" in out and "3.12 %" in out, out
    assert "chance loss" in out and f"{math.log(32):.4f}" in out, out
    rows = json.loads((project / "runs" / "sweep-num-colours.json").read_text())["runs"]
    assert [r["chance_acc"] for r in rows] == pytest.approx([25.0, 3.125])
    assert [r["chance_loss"] for r in rows] == pytest.approx([math.log(4), math.log(32)])
    ax_loss, ax_acc = drawn[0].axes
    for ax, want in ((ax_acc, [25.0, 3.125]), (ax_loss, [math.log(4), math.log(32)])):
        chance = [line for line in ax.lines if "chance" in line.get_label()]
        assert len(chance) == 1 and list(chance[0].get_ydata()) == pytest.approx(want)
        assert any("chance" in t.get_text() for t in ax.get_legend().get_texts())
    assert cli.main([*argv, "--json"]) == 0  # the same runs again: --json's rows carry them too
    assert json.loads(capsys.readouterr().out)["runs"][0]["chance_acc"] == pytest.approx(25.0)
    drawn.clear()
    _sweep_without_training(monkeypatch, {"sweep-bs4": 40.0})
    assert cli.main(["sweep", "batch-size", "4", "--epochs", "1", "--data", str(synth), "--out",
                     str(project / "bs")]) == 0
    assert "chance" not in capsys.readouterr().out  # one task, one chance level: nothing to compare it against
    assert not any("chance" in line.get_label() for ax in drawn[0].axes for line in ax.lines)


def test_a_sweep_again_with_other_threads_adds_to_it_and_other_settings_name_three(project, monkeypatch):
    """--jobs workers record their own thread count, so threads (like epochs) is no setting the runs must share;
    a refusal names the first three settings that differ, in name order."""
    from colourize.train import TrainConfig
    from workbench.errors import TrainingError

    run_sweep = _sweep_without_training(monkeypatch, {"sweep-bs4": 40.0, "sweep-bs8": 44.0})
    run_sweep("batch-size", [4], TrainConfig(epochs=1, threads=1), project / "bs")
    assert run_sweep("batch-size", [8], TrainConfig(epochs=1, threads=2), project / "bs")["values"] == [4, 8]
    other = TrainConfig(epochs=1, lr=0.01, kernel=5, num_filters=8, seed=3)
    with pytest.raises(TrainingError) as err:
        run_sweep("batch-size", [8], other, project / "bs")
    assert "with other settings (kernel 3 there, 5 now; lr 0.001 there, 0.01 now; num_filters 32 there, 8 now)" \
        in err.value.message


def test_a_sweep_adding_a_value_drops_the_rows_of_runs_deleted_since(project, monkeypatch):
    import shutil

    from colourize.train import TrainConfig

    run_sweep = _sweep_without_training(monkeypatch, {"sweep-bs4": 40.0, "sweep-bs8": 44.0, "sweep-bs16": 41.0})
    run_sweep("batch-size", [4, 8], TrainConfig(epochs=1), project / "bs")
    shutil.rmtree(project / "bs" / "sweep-bs8")
    assert run_sweep("batch-size", [16], TrainConfig(epochs=1), project / "bs")["values"] == [4, 16]


def test_a_batch_size_past_int64_is_plotted(project, monkeypatch):
    """`sweep batch-size 1000000000000000000000000000000` trained, then crashed drawing its log2 axis with a TypeError
    traceback (matplotlib's object array of Python ints)."""
    from colourize.train import TrainConfig

    run_sweep = _sweep_without_training(monkeypatch, {f"sweep-bs{10 ** 30}": 40.0, "sweep-bs4": 41.0})
    run_sweep("batch-size", [4, 10 ** 30], TrainConfig(epochs=1), project / "big")
    assert (project / "big" / "sweep-batch-size.png").stat().st_size > 0


def test_a_value_swept_again_replaces_its_row_in_the_summary(project, monkeypatch):
    from colourize.train import TrainConfig

    accs = {"sweep-bs20": 30.0, "sweep-bs30": 35.0}
    run_sweep = _sweep_without_training(monkeypatch, accs)
    run_sweep("batch-size", [30, 20], TrainConfig(epochs=1), project / "runs")
    accs["sweep-bs30"] = 37.5  # e.g. its folder was deleted and the run trained again
    summary = run_sweep("batch-size", [30], TrainConfig(epochs=1), project / "runs")
    assert [(r["batch-size"], r["val_acc"]) for r in summary["runs"]] == [(20, 30.0), (30, 37.5)]
    on_disk = json.loads((project / "runs" / "sweep-batch-size.json").read_text())
    assert [r["val_acc"] for r in on_disk["runs"]] == [30.0, 37.5]


def test_damaged_run_files_are_one_line(project, synth, pal, capsys):
    run = project / "runs" / "pu"
    argv = ["train", "poolupsample", "--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", pal,
            "--out", str(run), "--json"]
    assert cli.main(argv) == 0
    config = (run / "config.json").read_text()
    resume = ["train", "poolupsample", "--out", str(run), "--resume", "--epochs", "2"]
    (run / "config.json").write_text(json.dumps({k: v for k, v in json.loads(config).items() if k != "settings"}))
    capsys.readouterr()
    _one_line_error(capsys, cli.main(resume), "has no 'settings' record", "damaged")
    damaged = json.loads(config)
    damaged["settings"]["batch_size"] = "two"
    (run / "config.json").write_text(json.dumps(damaged))
    err = _one_line_error(capsys, cli.main(resume), "config.json holds settings that cannot train")
    assert err.index("config.json") < err.index("--batch-size")  # blames the file, not a flag never given
    (run / "config.json").write_text(config)
    (run / "palette.npy").write_text("junk")
    _one_line_error(capsys, cli.main(resume), "palette.npy is not the palette this run was made with", "damaged")
    (run / "config.json").write_text(json.dumps({k: v for k, v in json.loads(config).items() if k != "palette_sha256"}))
    _one_line_error(capsys, cli.main(resume), "palette.npy is unreadable", "damaged")  # a run without the hash
    (run / "config.json").write_text('{"schema": 1}')
    _one_line_error(capsys, cli.main(["pin", str(run), "--as", "x"]), "has no 'settings' record")
    (run / "config.json").write_text(config)
    (run / "metrics.json").write_text("[]")
    _one_line_error(capsys, cli.main(["pin", str(run)]), "metrics.json is not a JSON object")


def test_a_sweep_that_adds_a_value_keeps_the_earlier_runs_in_its_summary(project, synth, pal, capsys):
    common = ["--model", "unet", "--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", pal, "--json"]
    assert cli.main(["sweep", "batch-size", "50", "25"] + common) == 0
    summary = project / "runs" / "sweep-batch-size.json"
    assert json.loads(summary.read_text())["values"] == [50, 25]  # the order asked
    assert cli.main(["sweep", "batch-size", "50", "--resume"] + common) == 0
    assert json.loads(summary.read_text())["values"] == [25, 50]
    assert cli.main(["sweep", "batch-size", "20"] + common) == 0
    assert [r["batch-size"] for r in json.loads(summary.read_text())["runs"]] == [20, 25, 50]
    before = summary.read_bytes()
    capsys.readouterr()
    # other settings make another sweep, whose summary would replace this one's: refused before it trains
    _one_line_error(capsys, cli.main(["sweep", "batch-size", "30", "--lr", "0.01"] + common[:-1]),
                    "already holds a batch-size sweep with other settings (lr 0.001 there, 0.01 now)", "another --out")
    assert summary.read_bytes() == before and not (project / "runs" / "sweep-bs30").exists()
    # each setting that differs is named, and another model as the model it was and is
    data = ["--epochs", "1", "--data", str(synth), "--palette", pal]
    _one_line_error(capsys, cli.main(["sweep", "batch-size", "30", "--model", "unet", "--lr", "0.01", "--num-filters", "8"]
                                     + data), "with other settings (lr 0.001 there, 0.01 now; num_filters 4 there, 8 now)")
    _one_line_error(capsys, cli.main(["sweep", "batch-size", "30", "--model", "convtranspose", "--num-filters", "4"] + data),
                    "already holds a batch-size sweep of another model (unet there, convtranspose now)")
    assert summary.read_bytes() == before and not (project / "runs" / "sweep-bs30").exists()


def test_a_resumed_sweep_starts_the_values_it_has_no_run_for(project, synth, pal, capsys):
    common = ["--model", "poolupsample", "--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", pal,
              "--json"]
    assert cli.main(["sweep", "seed", "0"] + common) == 0
    kept = (project / "runs" / "sweep-seed0" / "metrics.json").read_bytes()
    assert cli.main(["sweep", "seed", "0", "1", "--resume"] + common) == 0, capsys.readouterr().err
    assert (project / "runs" / "sweep-seed0" / "metrics.json").read_bytes() == kept  # finished: left as it was
    assert json.loads((project / "runs" / "sweep-seed1" / "metrics.json").read_text())["complete"]
    assert json.loads((project / "runs" / "sweep-seed.json").read_text())["values"] == [0, 1]


def test_a_sweep_resumed_with_more_epochs_extends_every_run_or_says_which_are_left(project, synth, pal, capsys):
    """As `train --resume --epochs N` extends a run; a summary never mixes runs of two lengths."""
    common = ["--model", "poolupsample", "--num-filters", "4", "--data", str(synth), "--palette", pal, "--json"]
    assert cli.main(["sweep", "seed", "0", "1", "--epochs", "1"] + common) == 0
    summary = project / "runs" / "sweep-seed.json"
    before = summary.read_bytes()
    capsys.readouterr()
    _one_line_error(capsys, cli.main(["sweep", "seed", "0", "--epochs", "2", "--resume"] + common),
                    "seed sweep of 1 epoch:", "leave seed 1 at 1", "`sweep seed 0 1 --epochs 2 --resume`")
    assert summary.read_bytes() == before
    assert cli.main(["sweep", "seed", "0", "1", "--epochs", "2", "--resume"] + common) == 0
    extended = json.loads(summary.read_text())
    assert extended["epochs"] == extended["settings"]["epochs"] == 2 and extended["values"] == [0, 1]
    assert all(json.loads((project / "runs" / f"sweep-seed{s}" / "metrics.json").read_text())["final"]["epoch"] == 2
               for s in (0, 1))


def test_sweep_resume_without_a_model_takes_the_sweeps_own_and_refuses_another(project, synth, pal, capsys):
    """`sweep --resume` without --model swept convtranspose, so a unet sweep stopped before its summary was refused
    ('made with other settings'); it resumes the model its runs record, as a straight sweep of that length trains
    it, and another --model is one line naming both, before any run is touched. Without --resume the default stays."""
    out = project / "runs"
    common = ["--num-filters", "4", "--limit", "20", "--batch-size", "5", "--data", str(synth), "--palette", pal, "--json"]
    assert cli.main(["train", "unet", "--epochs", "1", *common, "--out", str(out / "sweep-seed0")]) == 0  # no summary yet
    assert cli.main(["sweep", "seed", "0", "--model", "unet", "--epochs", "2", *common, "--out", str(project / "b")]) == 0
    capsys.readouterr()
    assert cli.main(["sweep", "seed", "0", "--resume", "--epochs", "2", "--out", str(out), "--json"]) == 0, \
        capsys.readouterr().err
    assert json.loads((out / "sweep-seed.json").read_text())["model"] == "unet"
    epochs = [json.loads((d / "sweep-seed0" / "metrics.json").read_text())["epochs"] for d in (out, project / "b")]
    drop = lambda es: [{k: v for k, v in e.items() if "seconds" not in k} for e in es]  # noqa: E731
    assert len(epochs[0]) == 2 and drop(epochs[0]) == drop(epochs[1])
    tree = lambda: {p: p.read_bytes() if p.is_file() else "folder" for p in out.rglob("*")}  # noqa: E731
    before = tree()
    capsys.readouterr()
    for model in ("convtranspose", "ConvTransposeNet"):
        err = _one_line_error(capsys, cli.main(["sweep", "seed", "0", "1", "--model", model, "--resume", "--epochs", "3",
                                                "--out", str(out)]),
                              f"{out} holds a seed sweep of unet, not convtranspose", "leave --model out (or give unet)")
        assert "checkpoint" not in err
    assert tree() == before and not (out / "sweep-seed1").exists()
    # without --resume --model is convtranspose, as before: a new sweep, refused beside the unet one
    _one_line_error(capsys, cli.main(["sweep", "seed", "1", "--epochs", "2", "--out", str(out)]),
                    "already holds a seed sweep of another model (unet there, convtranspose now)")
    assert tree() == before


def test_a_sweep_whose_runs_record_different_models_is_refused_naming_each_runs_model(project, synth, pal, capsys):
    """`sweep --resume` took the first run's model, met the other run's checkpoint and suggested `--model` of that
    run, which it then refused as not the first run's: a loop. It names each run's model in one line, before any run
    is touched, with or without --model."""
    out = project / "runs"
    common = ["--epochs", "1", "--num-filters", "4", "--limit", "20", "--data", str(synth), "--palette", pal, "--json"]
    assert cli.main(["train", "unet", *common, "--out", str(out / "sweep-seed0")]) == 0
    assert cli.main(["train", "convtranspose", *common, "--seed", "1", "--out", str(out / "sweep-seed1")]) == 0
    tree = lambda: {p: p.read_bytes() if p.is_file() else "folder" for p in out.rglob("*")}  # noqa: E731
    before = tree()
    capsys.readouterr()
    for model in ([], ["--model", "unet"], ["--model", "convtranspose"]):
        err = _one_line_error(capsys, cli.main(["sweep", "seed", "0", "1", *model, "--resume", "--epochs", "2"]),
                              f"{out} holds a seed sweep whose runs record different models (sweep-seed0: unet, "
                              "sweep-seed1: convtranspose)", "move", "new --out")
        assert "checkpoint" not in err
    assert tree() == before


@pytest.mark.parametrize("where", ["runs", "elsewhere"])
def test_a_sweep_meeting_a_run_of_another_model_names_the_sweep_command_that_resumes_it(project, synth, pal, where):
    """A resumed sweep whose run was made with another model said 'resume it with `train unet`', a command that
    trains runs/unet, not the sweep's run; it names the sweep's own command with the run's model (and --out where
    not the default, and --resume: a sweep without it is refused beside its runs), and the run and the sweep's folder
    stay byte for byte."""
    from colourize.sweep import run_sweep
    from colourize.train import TrainConfig
    from workbench.errors import TrainingError

    out = project / where
    assert cli.main(["train", "unet", "--epochs", "1", "--num-filters", "4", "--limit", "20", "--data", str(synth),
                     "--palette", pal, "--out", str(out / "sweep-seed0"), "--json"]) == 0  # a sweep stopped before its summary
    tree = lambda: {p: p.read_bytes() if p.is_file() else "folder" for p in out.rglob("*")}  # noqa: E731
    before = tree()
    base = TrainConfig(model="convtranspose", epochs=2, num_filters=4, limit=20, data=str(synth), palette=pal)
    with pytest.raises(TrainingError) as caught:
        run_sweep("seed", [0, 1], base, out, resume=True)
    exc = caught.value
    assert exc.message == f"checkpoint in {out / 'sweep-seed0'} was made with other settings (model: run has 'unet', " \
                          "asked 'convtranspose')"
    at = "" if where == "runs" else f" --out {out}"
    assert exc.fix == f"resume it with `sweep seed 0 1 --model unet{at} --resume`, or sweep into a new --out folder"
    assert tree() == before


@pytest.mark.parametrize("odd_flags,detail,why", [
    (["--seed", "5"], "(seed: run has 5, asked 1)", "the seed its folder's name says"),
    (["--seed", "1", "--lr", "0.01"], "(lr: run has 0.01, asked 0.001)", "the sweep's lr"),
])
def test_a_sweep_run_trained_with_another_swept_value_is_to_be_moved_aside_not_its_flag_left_out(project, synth, pal,
                                                                                                capsys, odd_flags,
                                                                                                detail, why):
    """A run in sweep-seed1 trained by hand with --seed 5 got 'leave out --seed' on `sweep seed 0 1 --resume`, though no
    --seed was given (the swept values set it, and --seed beside them is refused); one trained with --lr 0.01 got
    'leave out --lr', though the sweep took its lr from its other run, not from a flag. Neither run is the sweep's: the
    fix says to move it aside, after which the printed command trains seed 1 anew. Nothing is touched. A flag the user
    did give is still the one to leave out."""
    import shutil

    flags = ["--epochs", "1", "--num-filters", "4", "--limit", "20", "--batch-size", "5", "--data", str(synth),
             "--palette", pal, "--json"]
    out = project / "sw"
    assert cli.main(["sweep", "seed", "0", "1", "--model", "unet", "--out", str(out), *flags]) == 0
    odd = out / "sweep-seed1"
    shutil.rmtree(odd)
    assert cli.main(["train", "unet", *odd_flags, "--out", str(odd), *flags]) == 0
    tree = lambda: {p: p.read_bytes() if p.is_file() else "folder" for p in out.rglob("*")}  # noqa: E731
    before = tree()
    capsys.readouterr()
    again = ["sweep", "seed", "0", "1", "--model", "unet", "--out", str(out), "--resume"]
    err = _one_line_error(capsys, cli.main([*again, "--epochs", "2"]), f"checkpoint in {odd}", detail,
                          f"move {odd} aside (it was not trained with {why})",
                          f"`sweep seed 0 1 --out {out} --resume` then trains it anew")
    assert "leave out" not in err
    assert tree() == before
    (out / "sweep-seed.json").unlink()  # a sweep stopped before its summary: a flag given is met by the checkpoint
    _one_line_error(capsys, cli.main([*again, "--epochs", "2", "--kernel", "5"]),
                    f"checkpoint in {out / 'sweep-seed0'}", "(kernel: run has 3, asked 5)", "leave out --kernel")
    shutil.move(odd, project / "aside")  # as the fix says: the printed command then resumes the sweep
    assert cli.main(["sweep", "seed", "0", "1", "--out", str(out), "--resume", "--json"]) == 0
    assert json.loads((odd / "config.json").read_text())["settings"]["seed"] == 1


def test_resuming_a_sweep_whose_palette_file_is_gone_names_the_file(project, synth, pal, capsys):
    common = ["--model", "poolupsample", "--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", pal]
    assert cli.main(["sweep", "seed", "0", "1"] + common + ["--json"]) == 0
    Path(pal).unlink()  # its 6 colours are unknown now; the first value (2) is a run not started yet
    capsys.readouterr()
    _one_line_error(capsys, cli.main(["sweep", "seed", "2", "0", "1", "--resume"] + common),
                    f"cannot read palette {pal}", "the palette of the seed sweep in", "put the file back")
    assert not (project / "runs" / "sweep-seed2").exists()


def test_pin_refuses_a_folder_that_is_not_a_pinned_run(project, synth, pal, capsys):
    (project / "solutions").unlink()  # never pin into the real solutions/ from a test
    (project / "solutions" / "a2" / "results" / "sweep").mkdir(parents=True)
    (project / "solutions" / "a2" / "results" / "sweep" / "sweep-batch-size.json").write_text("{}")
    cli.main(["train", "unet", "--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", pal, "--json"])
    capsys.readouterr()
    _one_line_error(capsys, cli.main(["pin", "unet", "--as", "sweep", "--force"]), "holds more than a pinned run",
                    "sweep-batch-size.json")
    assert [p.name for p in (project / "solutions" / "a2" / "results" / "sweep").iterdir()] == ["sweep-batch-size.json"]


def test_pin_of_a_name_too_long_for_the_file_system_is_one_line(project, capsys):
    """`pin` of a 300-character name crashed with an OSError (File name too long) traceback."""
    _one_line_error(capsys, cli.main(["pin", "a" * 300]), "RUN aaa", "File name too long")


@pytest.mark.parametrize("resume", [[], ["--resume"]])
def test_train_into_an_out_too_long_for_the_file_system_is_one_line(project, synth, pal, capsys, resume):
    """`train --out <300 characters>` (with or without --resume) crashed with an OSError (File name too long) traceback."""
    rc = cli.main(["train", "unet", "--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", pal,
                   "--out", str(project / ("a" * 300)), *resume])
    _one_line_error(capsys, rc, "File name too long")


def test_sweep_into_an_out_too_long_for_the_file_system_is_one_line(project, synth, pal, capsys):
    """`sweep --out <300 characters>` crashed with an OSError (File name too long) traceback looking for an earlier
    sweep's summary."""
    rc = cli.main(["sweep", "seed", "0", "--model", "unet", "--epochs", "1", "--num-filters", "4", "--data", str(synth),
                   "--palette", pal, "--out", str(project / ("a" * 300))])
    _one_line_error(capsys, rc, "File name too long")


def test_ctrl_c_in_a_sweep_prints_the_command_that_continues_it(project, synth, pal, capsys, ctrl_c_in_epoch_2):
    import shlex

    argv = ["sweep", "seed", "0", "1", "--model", "poolupsample", "--epochs", "2", "--num-filters", "4", "--data",
            str(synth), "--palette", pal]
    assert cli.main(argv) == 130
    err = capsys.readouterr().err
    command = shlex.split(err[err.index("`") + 1:err.rindex("`")])
    assert command[:3] == ["python", "cli.py", "sweep"] and "--num-filters" in command and command[-1] == "--resume"
    ctrl_c_in_epoch_2()
    assert cli.main(command[2:] + ["--json"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [r["seed"] for r in runs] == [0, 1]
    assert all(json.loads((project / "runs" / f"sweep-seed{s}" / "metrics.json").read_text())["complete"] for s in (0, 1))


def test_a_run_made_before_palette_files_set_the_colour_count_still_resumes(project, synth, pal, capsys):
    """Such runs recorded num_colours 24 beside a 6-colour palette file (and no palette hash)."""
    args = ["train", "unet", "--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", pal, "--json"]
    assert cli.main(args) == 0
    run = project / "runs" / "unet"
    config = json.loads((run / "config.json").read_text())
    config["settings"]["num_colours"] = 24
    del config["palette_sha256"]
    (run / "config.json").write_text(json.dumps(config))
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    ckpt["config"] = json.dumps(dict(json.loads(ckpt["config"]), num_colours=24), sort_keys=True)
    ckpt.pop("sha256")  # nor a checkpoint checksum
    torch.save(ckpt, run / "checkpoint.pt")
    capsys.readouterr()
    assert cli.main(["train", "unet", "--epochs", "2", "--out", str(run), "--resume", "--json"]) == 0, capsys.readouterr().err
    assert json.loads((run / "metrics.json").read_text())["final"]["epoch"] == 2


def test_a_run_extended_before_config_recorded_its_epochs_resumes_without_flags(project, synth, pal, capsys):
    """Before 137fa69, `--resume --epochs 2` left config.json at epochs 1; a flag-less resume was refused
    ('already trained 2 epochs, more than --epochs 1', a flag never given). It is a finished 2-epoch run."""
    args = ["train", "unet", "--num-filters", "4", "--data", str(synth), "--palette", pal, "--json"]
    assert cli.main(args + ["--epochs", "2"]) == 0
    run = project / "runs" / "unet"
    config = json.loads((run / "config.json").read_text())
    config["settings"]["epochs"] = 1  # what 137fa69^ left after extending a 1-epoch run to 2
    (run / "config.json").write_text(json.dumps(config))
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    capsys.readouterr()
    assert cli.main(["train", "unet", "--out", str(run), "--resume", "--json"]) == 0, capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before  # nothing left to train: left as it is

def test_two_runs_started_into_one_folder_at_once_leave_one_run_and_one_line(project, synth, pal, capsys, monkeypatch):
    from colourize import runs

    real = runs.new_run_folder
    out = project / "runs" / "race"

    @__import__("contextlib").contextmanager
    def another_run_wins(run_dir):
        with real(run_dir) as tmp:
            yield tmp
            (run_dir / "config.json").parent.mkdir(parents=True, exist_ok=True)
            (run_dir / "config.json").write_text("{}")  # the other run's folder appears just before our rename

    monkeypatch.setattr(runs, "new_run_folder", another_run_wins)
    rc = cli.main(["train", "unet", "--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", pal,
                   "--out", str(out)])
    _one_line_error(capsys, rc, "already holds a run (made while this one was starting")
    assert [p.name for p in out.iterdir()] == ["config.json"] and not list(out.parent.glob(".race.*"))


@pytest.mark.parametrize("body, said", [("raise ValueError('no table yet')", "ValueError: no table yet"),
                                        ("sys.exit('later')", "SystemExit: later")])
def test_a_packs_pin_note_that_fails_leaves_the_run_pinned_and_says_so_in_one_line(project, tmp_path, capsys, body, said):
    """The pack's pin_note() raising (or calling sys.exit) after the run was pinned ended pin in a traceback (or with
    the pack's message), so the pin looked failed; the run stays pinned and one warning names the pack's failure."""
    import shutil

    (project / "solutions").unlink()  # never pin into the real solutions/ from a test
    (project / "solutions").mkdir()
    folder = tmp_path / "note-fails"
    shutil.copytree(project / "problems" / "a2", folder, ignore=shutil.ignore_patterns("*.py"))
    (folder / "reference.py").write_text(f"import sys\n\n\ndef pin_note(run):\n    {body}\n")
    _finished_unet_run(project)
    assert cli.main(["pin", "unet-lr", "--pack", str(folder), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["note"] is None
    assert (project / "solutions" / "a2" / "results" / "unet-lr" / "metrics.json").is_file()
    [line] = err.splitlines()
    assert line.startswith("warning: the pack's pin_note() failed at ") and said in line
    assert f"{folder / 'reference.py'}, line 5" in line and line.endswith("the run is pinned, without a settings note")


def test_a_packs_pin_note_is_shown_as_written_not_taken_for_styling(project, tmp_path, capsys):
    """pin printed the pack's note as rich markup: a note quoting a tensor shape or a tag ("out [/] here", "[bold]")
    ended pin in a MarkupError traceback after the run was pinned, or lost its brackets."""
    import shutil

    (project / "solutions").unlink()  # never pin into the real solutions/ from a test
    (project / "solutions").mkdir()
    folder = tmp_path / "note-brackets"
    shutil.copytree(project / "problems" / "a2", folder, ignore=shutil.ignore_patterns("*.py"))
    (folder / "reference.py").write_text("def pin_note(run):\n    return 'out [/] here, [bold]not bold'\n")
    _finished_unet_run(project)
    assert cli.main(["pin", "unet-lr", "--pack", str(folder)]) == 0
    assert "note: out [/] here, [bold]not bold" in capsys.readouterr().out


def test_a_sweep_of_an_unknown_setting_names_it_as_help_does(project, capsys):
    """`sweep lr 1` said 'argument param: invalid choice', a name neither --help nor docs/json.md use (PARAM)."""
    with pytest.raises(SystemExit) as bad:
        cli.main(["sweep", "lr", "1"])
    err = capsys.readouterr().err
    assert bad.value.code == 2 and "argument PARAM: invalid choice: 'lr'" in err and "argument param" not in err
    with pytest.raises(SystemExit):
        cli.main(["sweep", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "PARAM VALUE [VALUE ...]" in help_text and "batch-size, num-colours or seed" in help_text


@pytest.mark.parametrize("argv", [["train", "convtranspose", "--out", "traces/4.2"],
                                  ["train", "--all", "--out", "traces"],
                                  ["sweep", "seed", "0", "--out", "runs/../traces/5.5"]])
def test_runs_inside_traces_are_refused_before_any_run(project, synth, pal, capsys, monkeypatch, argv):
    """A run's config.json and metrics.json under traces/ failed `traces verify` as edited traces and were warned
    about by verify and the writeup: traces/ holds only the LLM's traces, so --out there is refused, as study's
    --plot and build-writeup's --out are."""
    monkeypatch.chdir(project)
    rc = cli.main(argv + ["--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", pal])
    _one_line_error(capsys, rc, "traces/ holds only the LLM's traces", "--out runs/")
    assert list((project / "traces").iterdir()) == []


def test_a_palette_file_with_a_colour_twice_is_one_line_and_writes_nothing(project, synth, capsys):
    colours = np.array([[20, 20, 20], [120, 120, 120], [230, 230, 230], [120, 120, 120]], dtype=np.float32)
    np.save(project / "dup.npy", colours)
    flags = ["--epochs", "1", "--num-filters", "4", "--data", str(synth), "--palette", str(project / "dup.npy")]
    _one_line_error(capsys, cli.main(["train", "unet", *flags]), "rows 1 and 3", "(120, 120, 120)", "distinct")
    _one_line_error(capsys, cli.main(["sweep", "seed", "0", "1", "--model", "unet", *flags]), "rows 1 and 3")
    assert not any((project / "runs").iterdir())


def test_data_with_fewer_colours_than_the_palette_is_one_line_and_writes_nothing(project, capsys):
    """Five flat-coloured images hold 5 colours: k-means for 24 repeated colours without a word."""
    from PIL import Image

    for split, n in (("train", 5), ("test", 2)):
        (project / "data" / split / "horse").mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (8, 8), (40 * i, 90, 200)).save(project / "data" / split / "horse" / f"{i}.png")
    argv = ["train", "unet", "--epochs", "1", "--num-filters", "4", "--data", str(project / "data")]
    _one_line_error(capsys, cli.main(argv), "needs 24 colours", "only 5 distinct colours", "--num-colours 5",
                    "--palette")
    assert not any((project / "runs").iterdir())
    assert cli.main([*argv, "--num-colours", "5", "--json"]) == 0  # the count it names trains
    assert np.load(project / "runs" / "unet" / "palette.npy").shape == (5, 3)


def test_a_sweep_whose_data_moved_resumes_from_the_new_place_on_the_same_images_only(project, synth, pal, capsys):
    """`train --resume --data NEWPATH` continues a run whose data moved (the images' checksum says they are its own);
    `sweep --resume --data NEWPATH` was refused as a sweep 'with other settings (data OLD there, NEW now)'."""
    import shutil

    common = ["--model", "poolupsample", "--num-filters", "4", "--batch-size", "25", "--palette", pal, "--json"]
    assert cli.main(["sweep", "seed", "0", "1", "--epochs", "1", "--data", str(synth)] + common) == 0
    assert cli.main(["sweep", "seed", "0", "1", "2", "--epochs", "2", "--data", str(synth), "--out",
                     str(project / "still")] + common) == 0  # the same sweep, never moved: the reference
    moved = project / "moved"
    shutil.move(synth.parent, moved)
    runs, summary = project / "runs", project / "runs" / "sweep-seed.json"
    before = {p: p.read_bytes() for p in runs.rglob("*") if p.is_file()}
    capsys.readouterr()
    other = make_cifar_batches(project / "other", horses_per_batch=20, seed=5)  # same sizes, other images
    for values in (["0", "1"], ["2", "0", "1"]):  # resumed runs, and a new one that would join the summary first
        rc = cli.main(["sweep", "seed", *values, "--epochs", "2", "--resume", "--data", str(other)] + common[:-1])
        _one_line_error(capsys, rc, f"the images in {other} are not the ones", str(runs))
        assert {p: p.read_bytes() for p in runs.rglob("*") if p.is_file()} == before  # byte for byte
    rc = cli.main(["sweep", "seed", "0", "1", "2", "--epochs", "2", "--resume", "--data", str(moved)] + common)
    assert rc == 0, capsys.readouterr().err
    got, want = json.loads(summary.read_text()), json.loads((project / "still" / "sweep-seed.json").read_text())
    figures = lambda s: [{k: v for k, v in r.items() if k != "seconds"} for r in s["runs"]]  # noqa: E731
    assert figures(got) == figures(want)  # as if it had never moved
    assert got["settings"]["data"] == str(moved)
    assert json.loads((runs / "sweep-seed0" / "config.json").read_text())["settings"]["data"] == str(moved)


@pytest.mark.parametrize("damage,words", [
    (_other_models_weights, ["does not fit the run's unet with 6 colours", "size mismatch"]),
    (_nine_colour_palette, ["palette.npy is not the palette this run was made with"]),
    (_adam_state_of_other_shapes, ["does not fit the run's unet", "optimizer state exp_avg"]),
])
def test_a_damaged_checkpoint_of_a_later_run_stops_all_resume_before_any_run_trains(project, synth, pal, capsys,
                                                                                     damage, words):
    """`train --all --resume` checked each checkpoint's weights, Adam state and palette only when its run's turn
    came: poolupsample and convtranspose trained on, then unet's damaged checkpoint stopped the command, exit 2."""
    args = ["train", "--all", "--epochs", "1", "--num-filters", "4", "--limit", "20", "--data", str(synth), "--palette",
            pal, "--json"]
    assert cli.main(args) == 0
    run = project / "runs" / "unet"
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    damage(ckpt, run)
    ckpt.pop("sha256")  # as in a checkpoint from before checksums
    torch.save(ckpt, run / "checkpoint.pt")
    before = {p: p.read_bytes() for p in (project / "runs").rglob("*") if p.is_file()}
    capsys.readouterr()
    _one_line_error(capsys, cli.main(["train", "--all", "--resume", "--epochs", "2"]), *words)
    assert {p: p.read_bytes() for p in (project / "runs").rglob("*") if p.is_file()} == before


def _no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.mark.parametrize("argv,words", [
    (["train", "resnet", "--resume"], ["unknown model 'resnet'", "unet (UNet)"]),
    (["sweep", "seed", "0", "--model", "vgg", "--resume"], ["unknown model 'vgg'"]),
    (["train", "unet", "--resume", "--device", "cuda", "--epochs", "2"], ["--device cuda", "no CUDA GPU", "--device cpu"]),
    (["train", "unet", "--resume", "--device", "mps", "--epochs", "2"], ["--device mps", "MPS", "--device cpu"]),
    (["train", "--all", "--resume", "--device", "cuda", "--epochs", "2"], ["--device cuda", "no CUDA GPU"]),
    (["train", "unet", "--kernel", "40", "--new"], ["kernel 40 is larger than the 32x32 images", "zero padding", "at most 32"]),
    (["train", "unet", "--kernel", "0", "--new"], ["kernel 0 is not a valid kernel size", "1x1", "positive"]),
    (["train", "unet", "--category", "ship", "--new"], ["no training images of category 8 (ship)", "--category"]),
    (["train", "unet", "--resume", "--epochs", "2", "--category", "ship"], ["made with other settings", "category"]),
])
def test_bad_input_beside_a_run_is_one_line_and_leaves_every_run_byte_for_byte(project, synth, pal, capsys, monkeypatch,
                                                                                 argv, words):
    """Each bad input (model, device, kernel, data without the category) is refused in one line, exit 2, whether it
    names a new --out (nothing may appear) or the existing run (nothing in it may change)."""
    run = project / "runs" / "unet"
    assert cli.main(["train", "unet", "--epochs", "1", "--num-filters", "4", "--limit", "20", "--data", str(synth),
                     "--palette", pal, "--out", str(run), "--json"]) == 0
    _no_gpu(monkeypatch)  # where the machine has a GPU, as where it has none
    tree = lambda: {p: p.read_bytes() if p.is_file() else "folder" for p in (project / "runs").rglob("*")}  # noqa: E731
    before = tree()
    capsys.readouterr()
    new = argv[-1] == "--new"
    out = ["--out", str(project / "runs" / "new" if new else run if argv[0] == "train" and "--all" not in argv
                        else project / "runs")]
    given = ["--data", str(synth), "--palette", pal, "--epochs", "1"] if new else []
    _one_line_error(capsys, cli.main([a for a in argv if a != "--new"] + out + given), *words)
    assert tree() == before


@pytest.mark.parametrize("command", [["train", "unet", "--out", "runs/unet"], ["sweep", "seed", "0", "--model", "unet"]])
def test_resuming_after_the_data_moved_without_data_says_to_name_the_new_place(project, synth, pal, capsys, command,
                                                                               monkeypatch):
    """The data path a resume takes from the run was named as if the user had passed it ('data path X does not
    exist — pass a CIFAR-10 folder ...'); it says the run's data is gone and that --data NEWPATH resumes."""
    import shutil

    monkeypatch.chdir(project)
    out = "runs/unet" if command[0] == "train" else "runs/sweep-seed0"
    assert cli.main(["train", "unet", "--epochs", "1", "--num-filters", "4", "--limit", "20", "--data", str(synth),
                     "--palette", pal, "--out", out, "--json"]) == 0
    shutil.move(synth.parent, project / "moved")
    before = {p: p.read_bytes() for p in (project / "runs").rglob("*") if p.is_file()}
    capsys.readouterr()
    _one_line_error(capsys, cli.main(command + ["--resume", "--epochs", "2"]),
                    f"{project / out} was trained on the images in {synth}, which are gone", "--data NEWPATH")
    assert {p: p.read_bytes() for p in (project / "runs").rglob("*") if p.is_file()} == before


def test_a_resumed_sweep_takes_its_settings_from_a_run_it_has_whatever_value_comes_first(project, synth, pal, capsys):
    """`sweep seed 0 1 --resume` took the flags left out from the run of seed 0, but `sweep seed 1 0 --resume` from
    seed 1's, which did not exist yet: the defaults, refused as 'other settings (data ... there, None now; ...)'."""
    common = ["--model", "unet", "--epochs", "1", "--num-filters", "4", "--limit", "20", "--data", str(synth),
              "--palette", pal, "--json"]
    assert cli.main(["sweep", "seed", "0"] + common) == 0
    capsys.readouterr()
    assert cli.main(["sweep", "seed", "1", "0", "--resume", "--model", "unet", "--json"]) == 0, capsys.readouterr().err
    config = json.loads((project / "runs" / "sweep-seed1" / "config.json").read_text())["settings"]
    assert (config["num_filters"], config["limit"], config["epochs"], config["palette"]) == (4, 20, 1, pal)
    assert json.loads((project / "runs" / "sweep-seed.json").read_text())["values"] == [1, 0]  # the order asked


def _near_path_max(project: Path) -> str:
    """An --out the argument check lets pass (4090 bytes, under PATH_MAX) whose run folders (--out/<model>,
    --out/sweep-seed-0) are too long for the system: the paths built from it are checked where they are built."""
    out = str(project)
    while len(out) < 4090 - 201:
        out += "/" + "b" * 200
    return out + "/" + "c" * (4090 - len(out) - 1)


@pytest.mark.parametrize("given", ["name", "built"])
def test_a_resumed_sweep_into_an_out_too_long_for_the_file_system_is_one_line(project, capsys, given):
    """`sweep --resume --out <300 characters>` crashed with an OSError (File name too long) looking for its runs: it
    is refused at parsing (paths.path_arg); an --out whose runs' folders alone are too long has no run to resume."""
    out = str(project / ("a" * 300)) if given == "name" else _near_path_max(project)
    rc = cli.main(["sweep", "seed", "0", "--model", "unet", "--resume", "--out", out])
    _one_line_error(capsys, rc, *(["--out", "File name too long"] if given == "name" else
                                  ["nothing to resume: no run of this sweep under"]))


@pytest.mark.parametrize("given", ["name", "built"])
def test_train_all_resumed_into_an_out_too_long_for_the_file_system_is_one_line(project, capsys, given):
    """`train --all --resume --out <300 characters>` ended in an OSError (File name too long) traceback looking for
    its runs, the bug fixed in sweep alone (4f832f7, fce6ac1): it is refused at parsing (paths.path_arg); an --out
    whose runs' folders alone are too long holds no run: 'nothing to resume', as sweep says."""
    out = str(project / ("a" * 300)) if given == "name" else _near_path_max(project)
    rc = cli.main(["train", "--all", "--resume", "--out", out])
    _one_line_error(capsys, rc, *(["--out", "File name too long"] if given == "name" else
                                  ["nothing to resume: no run of --all under"]))


@pytest.mark.parametrize("where", ["long", "runs is a file"])
def test_a_run_folder_built_from_a_good_out_is_checked_where_it_is_built(project, synth, pal, capsys, where):
    """--out passes its check as it is read (paths.path_arg), but the folders the runs go in are built from it
    (--out/<model>; runs/<model> without --out): too long there, or under a runs/ that is a file, each is refused
    in one line before any data is read, and nothing is made."""
    if where == "runs is a file":
        (project / "runs").rmdir()
        (project / "runs").write_text("mine")
    out = ["--out", _near_path_max(project)] if where == "long" else []
    before = sorted(project.rglob("*"))
    rc = cli.main(["train", "--all", "--epochs", "1", "--data", str(synth), "--palette", pal, *out])
    _one_line_error(capsys, rc, "cannot make", "File name too long" if where == "long" else
                    f"{project / 'runs'} is a file, not a folder")
    assert sorted(project.rglob("*")) == before


def test_the_lines_naming_runs_and_files_stay_whole_where_the_project_folder_holds_a_line_break(
        project, synth, pal, capsys, monkeypatch):
    """train's 'unet: RUN', sweep's 'summary: ..., plot: ...' and pin's 'pinned ... -> DEST' printed a line break in
    a path as it was, so each ran over two lines, the second naming nothing; each stays one line, the break shown
    as \\n (console.one_line)."""
    root = project.with_name("pro\nject")
    project.rename(root)
    monkeypatch.setenv("WORKBENCH_ROOT", str(root))
    (root / "solutions").unlink()  # never pin into the real solutions/ from a test
    (root / "solutions").mkdir()
    flags = ["--epochs", "1", "--num-filters", "4", "--data", str(root / synth.relative_to(project)),
             "--palette", str(root / Path(pal).name)]

    def shown(path: Path) -> str:
        return str(path).replace("\n", "\\n")

    assert cli.main(["train", "unet", *flags]) == 0
    assert f"unet: {shown(root / 'runs' / 'unet')}" in capsys.readouterr().out.splitlines()
    assert cli.main(["sweep", "seed", "1", "--model", "unet", *flags]) == 0
    summary, plot = root / "runs" / "sweep-seed.json", root / "runs" / "sweep-seed.png"
    assert f"summary: {shown(summary)}, plot: {shown(plot)}" in capsys.readouterr().out.splitlines()
    assert summary.is_file() and plot.is_file()
    assert cli.main(["pin", str(root / "runs" / "unet")]) == 0
    dest = root / "solutions" / "a2" / "results" / "unet"
    assert any(line.startswith("pinned ") and line.endswith(f" -> {shown(dest)}")
               for line in capsys.readouterr().out.splitlines())
