"""Several training runs at once, each in its own process (`train --all --jobs N`, `sweep --jobs N`).

These networks are small: one run uses two cores only ~1.5x as well as one, so two single-thread runs
side by side finish ~1.3-1.5x sooner than the same runs one after the other with two threads each.
Workers are spawned (not forked: OpenMP thread pools do not survive a fork), report progress to the
parent through a queue, and ignore SIGINT: on Ctrl-C the parent stops them, and every run keeps its
last complete epoch (checkpoints are written atomically), so `--resume` continues it.
"""

from __future__ import annotations

import multiprocessing as mp
import queue as queue_mod
import signal
import sys
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from colourize.train import Reporter, TrainConfig, preflight, train
from workbench.errors import TrainingError, WorkbenchError


@dataclass(frozen=True)
class Task:
    """One run: its settings, its folder, and whether to continue a checkpoint there."""

    cfg: TrainConfig
    run_dir: Path
    resume: bool = False


def threads_per_job(jobs: int, cores: int) -> int:
    """Torch threads for each of `jobs` concurrent runs on `cores` cores (at least one)."""
    return max(1, cores // jobs)


def train_many(tasks: list[Task], jobs: int = 1, reporter_for=lambda index: Reporter(),
               before=lambda: None) -> list[dict]:
    """Train every task and return their metrics in task order.

    Every run is checked first (train.preflight), then `before()` runs (a caller's check on the data, which
    preflight does not read). jobs 1 then trains them one after another in this
    process. With jobs > 1, up to `jobs` worker processes run at once, each with threads_per_job() torch
    threads unless the task sets its own (the thread count changes float summation order, so results
    differ from jobs 1 in the last digits); the first error stops the other runs (their folders keep
    their last complete epoch) and is raised here.
    """
    if jobs < 1:
        raise TrainingError(f"--jobs {jobs} is not a positive number", "use --jobs 1 or more")
    for t in tasks:  # a run that cannot start stops all of them before any trains
        preflight(t.cfg, t.run_dir, t.resume)
    before()
    if jobs == 1 or len(tasks) <= 1:
        return [train(t.cfg, t.run_dir, resume=t.resume, reporter=reporter_for(i)) for i, t in enumerate(tasks)]
    return _train_in_workers(tasks, min(jobs, len(tasks)), reporter_for)


def _train_in_workers(tasks: list[Task], jobs: int, reporter_for) -> list[dict]:
    import torch

    threads = threads_per_job(jobs, torch.get_num_threads())
    ctx = mp.get_context("spawn")
    events = ctx.Queue()
    reporters = [reporter_for(i) for i in range(len(tasks))]
    results: list[dict | None] = [None] * len(tasks)
    waiting = list(enumerate(tasks))
    running: dict[int, mp.Process] = {}
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                i, task = waiting.pop(0)
                cfg = task.cfg if task.cfg.threads else replace(task.cfg, threads=threads)
                running[i] = ctx.Process(target=_worker, args=(i, cfg, task.run_dir, task.resume, events), daemon=True)
                _start_without_sigint(running[i])
            _check_alive(running, tasks)  # each turn: while the other workers report, the queue never times out
            try:
                kind, i, payload = events.get(timeout=0.5)
            except queue_mod.Empty:
                continue
            if kind == "done":
                results[i] = payload
                running.pop(i).join()
            elif kind == "error":
                running.pop(i).join()
                raise payload
            else:  # start / batch / epoch: the worker's Reporter calls, replayed here
                getattr(reporters[i], kind)(*payload)
    finally:
        for proc in running.values():  # an error or Ctrl-C: stop the others at their next safe point
            proc.terminate()
        for proc in running.values():
            proc.join(timeout=STOP_GRACE_S)
            if proc.is_alive():  # stuck outside the training loop: no safe point is coming
                proc.kill()
                proc.join()
    return results


def _start_without_sigint(proc: mp.Process) -> None:
    """Start a worker with SIGINT blocked (the mask survives the spawn), so Ctrl-C during its start-up
    does not kill it with a traceback; the parent stops workers itself."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no signal masks; the worker ignores SIGINT once it runs
        proc.start()
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        proc.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _check_alive(running: dict[int, mp.Process], tasks: list[Task]) -> None:
    """A worker that died without reporting (killed, out of memory) is an error, not a hang."""
    for i, proc in list(running.items()):
        if not proc.is_alive() and proc.exitcode not in (None, 0):
            running.pop(i)
            raise TrainingError(f"the worker training {tasks[i].run_dir} died (exit code {proc.exitcode})",
                                "its folder keeps the last complete epoch; rerun with --resume, or with --jobs 1")


class _QueueReporter(Reporter):
    """Sends the Reporter calls to the parent. They come from the training loop between steps, outside any
    file write, so they are also where a worker stops when the parent asks it to."""

    def __init__(self, index: int, events):
        self.index, self.events = index, events

    def start(self, first_epoch: int, epochs: int, batches: int) -> None:
        self._stop_if_asked()
        self.events.put(("start", self.index, (first_epoch, epochs, batches)))

    def batch(self, epoch: int, done: int, loss: float) -> None:
        self._stop_if_asked()
        self.events.put(("batch", self.index, (epoch, done, loss)))

    def epoch(self, record: dict) -> None:
        self._stop_if_asked()
        self.events.put(("epoch", self.index, (record,)))

    @staticmethod
    def _stop_if_asked() -> None:
        if _stop_asked.is_set():
            sys.exit(143)


STOP_GRACE_S = 60  # how long a stopped worker may take to reach its next safe point before it is killed
_stop_asked = threading.Event()


def _worker(index: int, cfg: TrainConfig, run_dir: Path, resume: bool, events) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # blocked since start; ignored too, so it is never delivered
    # The parent stops workers with SIGTERM. Exiting right in the handler could land inside a checkpoint or
    # figure write and leave its temp file (a signal can even fall between a `with`'s enter and its block),
    # so the handler only asks, and the worker exits at its next Reporter call.
    signal.signal(signal.SIGTERM, lambda *_: _stop_asked.set())
    try:
        metrics = train(cfg, run_dir, resume=resume, reporter=_QueueReporter(index, events))
    except WorkbenchError as exc:
        events.put(("error", index, exc))
        return
    events.put(("done", index, metrics))
