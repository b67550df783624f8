"""`train --all --jobs N` and `sweep --jobs N`: runs in worker processes, the same results, errors and Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from test_colourize_fixtures import make_cifar_batches, one_thread, pal  # noqa: F401 (fixtures)

import cli
from colourize.parallel import threads_per_job, train_many
from workbench.errors import TrainingError

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(cli.__file__).resolve().parent


@pytest.fixture
def synth(project) -> Path:
    return make_cifar_batches(project / "data", horses_per_batch=8)  # 40 training, 8 test images


def _epochs(run: Path) -> list[dict]:
    epochs = json.loads((run / "metrics.json").read_text())["epochs"]
    return [{k: v for k, v in e.items() if "seconds" not in k} for e in epochs]


def test_workers_train_exactly_what_one_process_trains(project, synth, pal, capsys):
    common = ["--epochs", "2", "--num-filters", "4", "--batch-size", "10", "--threads", "1", "--data", str(synth),
              "--palette", pal, "--json"]
    assert cli.main(["train", "--all", "--out", str(project / "seq")] + common) == 0
    assert cli.main(["train", "--all", "--jobs", "3", "--out", str(project / "par")] + common) == 0
    for model in ("poolupsample", "convtranspose", "unet"):
        assert _epochs(project / "par" / model) == _epochs(project / "seq" / model)
        assert (project / "par" / model / "samples.png").is_file()


def test_workers_get_a_share_of_the_cores(project, synth, pal, capsys):
    assert (threads_per_job(2, 16), threads_per_job(3, 16), threads_per_job(3, 2), threads_per_job(1, 2)) == (8, 5, 1, 2)
    assert cli.main(["sweep", "batch-size", "10", "20", "--model", "unet", "--jobs", "2", "--epochs", "1",
                     "--num-filters", "4", "--data", str(synth), "--palette", pal, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["batch-size"] for r in out["runs"]] == [10, 20]  # in the order asked, whichever finished first
    for bs in (10, 20):
        config = json.loads((project / "runs" / f"sweep-bs{bs}" / "config.json").read_text())
        assert config["settings"]["batch_size"] == bs and config["threads"] == 1  # the parent has 1 thread here
    # the runs record their workers' thread count; resuming the sweep (here: to extend it) took it from them,
    # and the sweep was refused as one 'with another settings' than its own summary
    assert cli.main(["sweep", "batch-size", "10", "20", "--model", "unet", "--jobs", "2", "--epochs", "2",
                     "--resume", "--json"]) == 0
    assert [r["batch-size"] for r in json.loads(capsys.readouterr().out)["runs"]] == [10, 20]


def test_an_error_in_a_worker_is_one_line(project, capsys):
    (project / "empty").mkdir()
    rc = cli.main(["train", "--all", "--jobs", "2", "--data", str(project / "empty")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error: ") and "\n" not in err, err
    assert "holds no CIFAR-10 data" in err and "--data" in err  # the message and its fix survive the process hop


def test_bad_jobs(project, synth):
    with pytest.raises(TrainingError, match="--jobs 0"):
        train_many([], jobs=0)


def test_ctrl_c_stops_every_worker_and_resume_finishes(project, synth, pal, capsys):
    """A real SIGINT to the command's process group while two runs train side by side."""
    out = project / "runs"
    argv = [sys.executable, str(REPO / "cli.py"), "train", "--all", "--jobs", "2", "--epochs", "30", "--num-filters",
            "4", "--batch-size", "5", "--data", str(synth), "--palette", pal, "--out", str(out), "--json"]
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    # Ctrl-C at the first epoch either run finishes: waiting for both let the faster run finish all 30 epochs while
    # the other's worker was still starting (a race seen on a quiet machine)
    while not any((out / m / "metrics.json").is_file() for m in ("poolupsample", "convtranspose")):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    stdout, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"train --all --out {out} --jobs 2 --epochs 30" in err and "Traceback" not in err, err
    assert json.loads(stdout)["exit_code"] == 130  # --json: one JSON document, even for Ctrl-C
    assert [str(p) for p in out.rglob(".*")] == []  # stopped workers leave no temp files or half-made folders
    time.sleep(0.5)
    ps = subprocess.run(["ps", "-o", "stat=,args=", "-g", str(proc.pid)], capture_output=True, text=True).stdout
    alive = [line for line in ps.splitlines() if not line.strip().startswith("Z")]  # zombies wait for init to reap
    assert alive == [], ps  # no worker outlives the command
    done = {m: len(_epochs(out / m)) if (out / m / "metrics.json").is_file() else 0 for m in ("poolupsample", "convtranspose")}
    assert all(n < 30 for n in done.values()) and any(n > 0 for n in done.values()), done  # stopped mid-run, both
    assert cli.main(argv[2:] + ["--resume"]) == 0  # in this process: what the stop left is resumable (one start less)
    assert all(len(_epochs(out / m)) == 30 for m in ("poolupsample", "convtranspose", "unet"))


@pytest.mark.parametrize("how,code", [("exit", "3"), ("sigkill", "-9")])  # -9: e.g. the out-of-memory killer
def test_a_worker_that_dies_without_reporting_is_an_error(tmp_path, how, code):
    import multiprocessing
    import time

    from colourize.parallel import Task, _check_alive
    from colourize.train import TrainConfig

    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=os._exit, args=(3,)) if how == "exit" else ctx.Process(target=time.sleep, args=(60,))
    proc.start()
    if how == "sigkill":
        proc.kill()
    proc.join()
    running = {0: proc}
    with pytest.raises(TrainingError, match=rf"died \(exit code {code}\).*--resume"):
        _check_alive(running, [Task(TrainConfig(), tmp_path / "run")])
    assert running == {}


def test_a_worker_that_exited_after_reporting_done_is_not_an_error(tmp_path):
    """Its 'done' can still be in the queue when the parent looks (after a get that timed out just before)."""
    import multiprocessing

    from colourize.parallel import Task, _check_alive
    from colourize.train import TrainConfig

    proc = multiprocessing.get_context("spawn").Process(target=os._exit, args=(0,))
    proc.start()
    proc.join()
    running = {0: proc}
    _check_alive(running, [Task(TrainConfig(), tmp_path / "run")])
    assert running == {0: proc}  # left for its 'done' to collect


@pytest.mark.parametrize("jobs", ["1", "3"])
def test_a_run_that_cannot_start_stops_all_before_any_trains(project, synth, pal, capsys, jobs):
    (project / "runs" / "unet").mkdir()
    (project / "runs" / "unet" / "config.json").write_text("{}")  # someone's earlier run
    rc = cli.main(["train", "--all", "--jobs", jobs, "--epochs", "1", "--data", str(synth), "--palette", pal])
    err = capsys.readouterr().err
    assert rc == 2 and "already holds a run" in err and "--resume" in err, err
    assert sorted(p.name for p in (project / "runs").iterdir()) == ["unet"]  # poolupsample was never started
    assert (project / "runs" / "unet" / "config.json").read_text() == "{}"  # left as it was


def test_workers_share_the_cores_among_the_runs_there_are_and_report_to_their_own_reporter(project, synth, pal,
                                                                                          monkeypatch):
    """--jobs 3 for two runs starts two workers: each gets half the parent's 6 threads (not a third), but a run
    given its own --threads keeps it; every worker's start and epoch calls reach that run's reporter."""
    import torch

    from colourize.parallel import Task
    from colourize.train import Reporter, TrainConfig

    class Recorder(Reporter):
        def __init__(self):
            self.calls = []

        def start(self, first_epoch, epochs, batches):
            self.calls.append(("start", first_epoch, epochs, batches))

        def epoch(self, record):
            self.calls.append(("epoch", record["epoch"]))

    monkeypatch.setattr(torch, "get_num_threads", lambda: 6)  # the parent's count the workers share
    base = TrainConfig(model="poolupsample", epochs=1, batch_size=10, num_filters=4, num_colours=6, data=str(synth),
                       palette=pal)
    tasks = [Task(base, project / "runs" / "shared"), Task(replace(base, threads=1), project / "runs" / "own")]
    recorders = [Recorder(), Recorder()]
    results = train_many(tasks, jobs=3, reporter_for=lambda i: recorders[i])
    assert [r["final"]["epoch"] for r in results] == [1, 1]
    assert [json.loads((t.run_dir / "config.json").read_text())["threads"] for t in tasks] == [3, 1]  # 6 // 2; its own
    calls = [rec.calls for rec in recorders]
    assert calls == [[("start", 0, 1, 4), ("epoch", 1)]] * 2  # none done before; 40 images in batches of 10


def _workers(parent: int) -> list[int]:
    """The pids of a command's spawned training workers (not multiprocessing's resource tracker)."""
    ps = subprocess.run(["ps", "-ww", "-o", "pid=,args=", "--ppid", str(parent)], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in ps.splitlines() if "spawn_main" in line]


def _left_alive(group: int) -> list[str]:
    time.sleep(0.5)
    ps = subprocess.run(["ps", "-o", "stat=,args=", "-g", str(group)], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines() if not line.strip().startswith("Z")]  # zombies wait for init to reap


def _start_all(out: Path, synth: Path, pal: str, epochs: int, python=("cli.py",)) -> subprocess.Popen:
    """`train --all --jobs 2` as its own process group, once its first two runs have each finished an epoch."""
    argv = [sys.executable, *python, "train", "--all", "--jobs", "2", "--epochs", str(epochs), "--num-filters", "4",
            "--batch-size", "5", "--data", str(synth), "--palette", pal, "--out", str(out)]
    proc = subprocess.Popen(argv, cwd=REPO, env=os.environ | {"OMP_NUM_THREADS": "1"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while not all((out / m / "metrics.json").is_file() for m in ("poolupsample", "convtranspose")):
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"the runs did not start: {proc.communicate()}")
        time.sleep(0.1)
    return proc


def _finish(proc: subprocess.Popen, timeout: float) -> tuple[str, str]:
    """The command's stdout and stderr once it ends; one still running after `timeout` hangs: killed, and failed."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"the command still ran {timeout} s later: it hangs")


def test_a_worker_killed_mid_run_stops_the_command_at_once(project, synth, pal):
    """SIGKILL (as the out-of-memory killer sends) to one of two workers mid-run: the command ends with the
    one-line error naming that run, without waiting for the other run to finish its 3000 epochs."""
    out = project / "runs"
    proc = _start_all(out, synth, pal, epochs=3000)
    workers = _workers(proc.pid)
    assert len(workers) == 2, workers
    os.kill(workers[0], signal.SIGKILL)
    err = _finish(proc, timeout=90)[1].strip()
    assert proc.returncode == 2 and err.startswith("error: ") and "\n" not in err, err
    killed = next(m for m in ("poolupsample", "convtranspose") if f"training {out / m} died (exit code -9)" in err)
    assert "--resume" in err, err
    assert _left_alive(proc.pid) == []  # the other worker was stopped, not left training
    other = out / ({"poolupsample", "convtranspose"} - {killed}).pop()
    metrics = json.loads((other / "metrics.json").read_text())
    assert not metrics["complete"] and 0 < len(metrics["epochs"]) < 3000, len(metrics["epochs"])
    assert [p.name for p in other.iterdir() if p.name.startswith(".")] == []  # stopped at a safe point
    assert not (out / "unet").exists()  # the run not yet started is never started


def _corrupt_copy(synth: Path, where: Path) -> Path:
    """The data with one batch that passes train's preflight (which reads no batch) but not decoding, in the worker."""
    bad = where / "cifar-10-batches-py"
    bad.mkdir(parents=True)
    for f in synth.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    (bad / "data_batch_3").write_bytes(b"not a pickle")
    return bad


def test_an_error_raised_inside_a_worker_is_the_one_line_error(project, synth, pal):
    """Not one the parent's checks find first: each worker fails decoding the data, after preflight."""
    bad = _corrupt_copy(synth, project / "bad")
    argv = [sys.executable, "cli.py", "train", "--all", "--jobs", "2", "--epochs", "1", "--num-filters", "4",
            "--data", str(bad), "--palette", pal]
    proc = subprocess.Popen(argv, cwd=REPO, env=os.environ | {"OMP_NUM_THREADS": "1"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    err = _finish(proc, timeout=120)[1].strip()  # the workers' stderr too: no traceback from a worker either
    assert proc.returncode == 2 and err.startswith("error: ") and "\n" not in err, err
    assert f"{bad / 'data_batch_3'} is not a readable CIFAR-10 batch" in err and "re-download" in err, err
    assert list((project / "runs").iterdir()) == []  # no run folder, whole or half-made
    assert _left_alive(proc.pid) == []


def test_an_error_in_one_worker_stops_the_others_at_a_safe_point(project, synth, pal, tmp_path):
    """Three runs, two at a time: a long one, a short one that finishes, then one whose data fails to decode
    while the long one trains. train_many raises that run's own error; the long run keeps its last complete
    epoch and no temp file; the short one is complete; the failed one made no folder."""
    bad = _corrupt_copy(synth, tmp_path / "bad")
    script = (
        "import sys\n"
        "from dataclasses import replace\n"
        "from pathlib import Path\n"
        "from colourize.parallel import Task, train_many\n"
        "from colourize.train import TrainConfig\n"
        "good, bad, pal, runs = sys.argv[1:]\n"
        "long = TrainConfig(model='poolupsample', epochs=3000, batch_size=5, num_filters=4, threads=1, data=good,"
        " palette=pal)\n"
        "short = replace(long, epochs=1)\n"
        "tasks = [Task(long, Path(runs, 'long')), Task(short, Path(runs, 'short')),"
        " Task(replace(short, data=bad), Path(runs, 'bad'))]\n"
        "try:\n"
        "    train_many(tasks, jobs=2)\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n")
    runs = project / "runs"
    proc = subprocess.Popen([sys.executable, "-c", script, str(synth), str(bad), pal, str(runs)], cwd=REPO,
                            env=os.environ | {"OMP_NUM_THREADS": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    out, err = _finish(proc, timeout=120)
    assert proc.returncode == 0 and err == "", err
    assert out.startswith(f"DataError {bad / 'data_batch_3'} is not a readable CIFAR-10 batch"), out
    assert out.count("\n") == 1, out  # that run's error alone, raised once
    assert _left_alive(proc.pid) == []
    long = json.loads((runs / "long" / "metrics.json").read_text())
    assert not long["complete"] and 0 < len(long["epochs"]) < 3000, len(long["epochs"])
    assert json.loads((runs / "short" / "metrics.json").read_text())["complete"]
    assert sorted(p.name for p in runs.iterdir()) == ["long", "short"]
    assert [str(p) for p in runs.rglob(".*")] == []


def test_ctrl_c_kills_a_worker_that_never_reaches_a_safe_point(project, synth, pal):
    """A worker stuck where no Reporter call comes (here: stopped with SIGSTOP) is killed once its grace
    (1 s here) is over; the command ends as any Ctrl-C does and leaves no process behind."""
    out = project / "runs"
    grace_1s = ("-c", "import sys, cli, colourize.parallel as p; p.STOP_GRACE_S = 1; "
                      "cli.exit_process(cli.main(sys.argv[1:]))")
    proc = _start_all(out, synth, pal, epochs=3000, python=grace_1s)
    workers = _workers(proc.pid)
    assert len(workers) == 2, workers
    os.kill(workers[0], signal.SIGSTOP)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    err = _finish(proc, timeout=60)[1]
    assert proc.returncode == 130 and "--resume" in err and "Traceback" not in err, err
    assert _left_alive(proc.pid) == []  # the stuck worker was killed, not waited for
    stopped = [m for m in ("poolupsample", "convtranspose")
               if not any(p.name.startswith(".") for p in (out / m).iterdir())]
    assert stopped, "the worker that was not stuck stopped at a safe point"
