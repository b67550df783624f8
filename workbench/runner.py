"""Run a prompt strategy for a problem against an LLM and build its trace; run many problems concurrently.

    trace = run_problem(problem, load_strategy("direct"), resolve_settings(), samples=3)
    path = write_trace(trace)
    outcomes = run_many(problems, "direct", settings, samples=2, jobs=8)   # writes one trace per problem

Multi-turn strategies send each user turn with the conversation so far (assistant replies included);
samples are independent conversations. A sample that fails is left out of the trace, which records how
many were requested and why the others failed; if none succeeds, nothing is written.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from workbench import __version__, llm
from workbench.errors import LLMError, TraceError, UsageError, WorkbenchError
from workbench.pool import imap_unordered
from workbench.problems import Pack, Problem
from workbench.prompts import Strategy, load_strategy, render
from workbench.traces import SCHEMA, Trace, check_problem_id, scan_traces, stale_note, utc_now, write_trace

OnDelta = Callable[[int, int, str], None]  # (sample, turn, text piece)


@dataclass(frozen=True)
class Outcome:
    """What became of one problem in a batch run."""

    problem: str
    path: Path | None = None
    error: str | None = None
    samples: int = 0
    requested: int = 0
    seconds: float = 0.0
    requests: int = 0  # requests answered (its trace's exchanges)
    # the mean, not the sum: parallel samples' requests overlap, so a sum can exceed the wall time
    mean_latency_s: float | None = None
    cautions: tuple[str, ...] = ()  # per saved sample, what a reader must know ('' when nothing): Trace.cautions
    unsaved: bool = False  # answered, but the trace could not be saved (the error says where the answer is kept)
    unsent: bool = False  # not sent: an earlier trace of the batch could not be saved

    @property
    def ok(self) -> bool:
        return self.path is not None


def select_problems(pack: Pack, ids: list[str] | None = None, *, every: bool = False,
                    types: set[int] | None = None) -> list[Problem]:
    """Named problems; or (every) each graded problem whose deliverables include a trace; or graded ones of `types`."""
    if ids and (every or types):
        raise UsageError("give problem ids or --all/--type, not both", "e.g. `prompt 1.2.1 2.2.3` or `prompt --all`")
    if ids:  # a repeated id is one problem: it would otherwise be paid for twice
        return pack.select([check_problem_id(i) for i in ids])
    if not (every or types):
        raise UsageError("which problem?", f"give a problem id (see `python cli.py list{pack.pack_flag()}`) or --all")
    chosen = [p for p in pack.problems if (p.graded and p.type in types if types else p.needs_trace)]
    if not chosen:
        raise UsageError("no problem matches the selection", "check --type, or name the ids")
    return chosen


def traced_already(problems: list[Problem], strategy: str, model: str, provider: str,
                   samples: int = 1) -> tuple[dict[str, Trace], dict[str, Trace]]:
    """Per problem that has one, a trace `prompt --missing` takes as its answer, so that it is not asked (and paid
    for) again: intact (an edited or moved one fails `traces verify`, an unreadable one is none), of the problem's
    pack, with at least `samples` answers, naming `model` (in any case) as asked or as the server reported it, and
    either asked of `provider` (Settings.public_base_url) with `strategy` or in a chat begun with it, or imported (a
    conversation held elsewhere: what was asked is not the workbench's to know). An imported chat is its own
    provider's answer, never `provider`'s result (study keeps it apart), but it is the model's answer all the same, the
    problem's evidence, and is not paid for again: the caller says so. The provider counts because one name can be
    two models (llama3.1 of one server and another's, of another size or quantisation), and the citation names it.
    Second, per problem whose only such traces are stale (asked before its record changed: the user wants an answer to
    the question as it is), the newest of them; a trace that does not record its question is not known to be stale,
    and counts."""
    def serves(t: Trace, pack: str) -> bool:
        named = [t.requested_model, *(ex.get("model") for ex in t.data.get("exchanges", []))]
        return (t.intact and t.data.get("pack", pack) == pack and len(t.samples) >= samples
                and model.lower() in {m.lower() for m in named if isinstance(m, str)}
                and (t.imported or (t.base_url == provider and t.strategy in (strategy, f"chat:{strategy}"))))

    found, stale = {}, {}
    for problem in problems:
        fits = [t for t in scan_traces(problem.id)[0] if serves(t, problem.pack)]
        current = [t for t in fits if not stale_note(t, problem)]
        if current:
            found[problem.id] = min(current, key=lambda t: t.imported)  # one asked through the API first
        elif fits:
            stale[problem.id] = fits[-1]
    return found, stale


def build_trace(problem: Problem, strategy: str, settings: llm.Settings, requested: int, exchanges: list[dict],
                conversations: list[list[dict]], errors: list[str], started_at: str, **extra) -> dict:
    """A workbench.trace/1 dict for API exchanges (not yet hashed or written)."""
    trace = {
        "schema": SCHEMA, "problem": problem.id, "pack": problem.pack, "strategy": strategy, "source": "api",
        "provider": {"base_url": settings.public_base_url}, "request": settings.request(requested),
        "exchanges": sorted(exchanges, key=lambda e: (-1 if e["sample"] is None else e["sample"], e["turn"])),
        "samples": [{"index": i, "messages": msgs} for i, msgs in enumerate(conversations)],
        "started_at": started_at, "finished_at": utc_now(), "workbench_version": __version__,
        "problem_sha256": problem.question_sha256, **extra,
    }
    if errors:
        trace["errors"] = errors
    return trace


def run_problem(problem: Problem, strategy: Strategy, settings: llm.Settings, *, samples: int = 1,
                on_delta: OnDelta | None = None, on_reasoning: OnDelta | None = None, jobs: int = 4) -> dict:
    """Ask the strategy's turns for one problem; the trace dict of the completed samples (raises if none).
    Streaming, on_delta gets the answers' pieces and on_reasoning a reasoning model's thinking, as they arrive."""
    if samples < 1:
        raise UsageError(f"--samples must be at least 1, got {samples}", "use --samples 1 or more")
    messages = render(strategy, problem)
    system = [m for m in messages if m["role"] != "user"]
    turns = [m for m in messages if m["role"] == "user"]
    started = utc_now()
    if len(turns) == 1:
        exchanges, conversations, errors = _single_turn(system + turns, settings, samples, on_delta, on_reasoning, jobs)
    else:
        exchanges, conversations, errors = _multi_turn(system, turns, settings, samples, on_delta, on_reasoning, jobs)
    return build_trace(problem, strategy.name, settings, samples, exchanges, conversations, errors, started,
                       strategy_sha256=strategy.sha256)


def _single_turn(messages, settings, samples, on_delta, on_reasoning, jobs):
    """One call with n=samples (topped up by single calls if the server gives fewer choices)."""
    shown = (lambda i, text: on_delta(i, 0, text)) if on_delta else None
    thinking = (lambda i, text: on_reasoning(i, 0, text)) if on_reasoning else None
    result = llm.sample(messages, settings, samples, on_delta=shown, on_reasoning=thinking, jobs=jobs)
    exchanges, conversations = [], []
    for completion in result.completions:
        shared = len(completion.choices) > 1
        exchanges.append(completion.to_exchange(sample=None if shared else len(conversations), turn=0))
        for choice in completion.choices:
            conversations.append(messages + [{"role": "assistant", "content": choice.content}])
    return exchanges, conversations, [e.message for e in result.errors]


def _multi_turn(system, turns, settings, samples, on_delta, on_reasoning, jobs):
    """Independent conversations, one per sample, each sending the turns in order."""

    def converse(k: int):
        history, exchanges = list(system), []
        for t, turn in enumerate(turns):
            history.append(turn)
            shown = (lambda i, text, t=t: on_delta(k, t, text)) if on_delta else None
            thinking = (lambda i, text, t=t: on_reasoning(k, t, text)) if on_reasoning else None
            completion = llm.complete(history, settings, on_delta=shown, on_reasoning=thinking)
            exchanges.append((t, completion))
            history.append({"role": "assistant", "content": completion.text})
        return exchanges, history

    done: dict[int, tuple] = {}
    errors: list[LLMError] = []
    for k, result, exc in imap_unordered(converse, range(samples), jobs):
        if exc is None:
            done[k] = result
        elif isinstance(exc, LLMError):
            errors.append(exc)
        else:
            raise exc
    if not done:
        raise errors[0]
    exchanges, conversations = [], []
    for index, k in enumerate(sorted(done)):
        calls, history = done[k]
        exchanges += [c.to_exchange(sample=index, turn=t) for t, c in calls]
        conversations.append(history)
    return exchanges, conversations, [e.message for e in errors]


class _Cancelled(Exception):
    """The batch was interrupted before this trace was written."""


def run_many(problems: list[Problem], strategy_name: str, settings: llm.Settings, *, samples: int = 1,
             jobs: int = 4, on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Run and save every problem, `jobs` at a time; a failure is recorded and does not stop the others.

    On Ctrl-C no new trace is started or written; traces already written are complete. Once a trace cannot be
    saved (a full disk, traces/ turned read-only) no further problem is sent: its answer could not be saved either."""
    strategy = load_strategy(strategy_name)
    stop, unsaveable, write_lock = threading.Event(), threading.Event(), threading.Lock()
    written: list[Outcome] = []  # every saved trace's outcome, reported or not: Ctrl-C must name them all

    def job(problem: Problem) -> Outcome:
        t0 = time.monotonic()
        if unsaveable.is_set():
            return Outcome(problem.id, error="not sent: an earlier trace could not be saved", requested=samples,
                           unsent=True)
        try:
            trace = run_problem(problem, strategy, settings, samples=samples, jobs=samples)
            with write_lock:
                if stop.is_set():
                    raise _Cancelled()
                try:
                    path = write_trace(trace)
                except TraceError as exc:
                    unsaveable.set()
                    return Outcome(problem.id, error=exc.message, requested=samples,
                                   seconds=time.monotonic() - t0, unsaved=True)
                latencies = [e["latency_s"] for e in trace["exchanges"]]
                outcome = Outcome(problem.id, path=path, samples=len(trace["samples"]), requested=samples,
                                  seconds=time.monotonic() - t0, requests=len(latencies),
                                  mean_latency_s=sum(latencies) / len(latencies),
                                  error="; ".join(trace.get("errors", [])) or None,
                                  cautions=tuple(Trace(path, trace).cautions()))
                written.append(outcome)
        except WorkbenchError as exc:
            return Outcome(problem.id, error=exc.message, requested=samples, seconds=time.monotonic() - t0)
        return outcome

    outcomes: list[Outcome | None] = [None] * len(problems)
    results = imap_unordered(job, problems, jobs)
    try:
        for pos, outcome, exc in results:
            if exc is not None:
                raise exc
            outcomes[pos] = outcome
            if on_outcome:
                on_outcome(outcome)
    except KeyboardInterrupt:
        stop.set()
        with write_lock:  # wait for a write in progress, so only whole traces remain
            unreported = [o for o in written if all(o is not r for r in outcomes)]
        if on_outcome:  # traces written but not yet taken from the pool: the caller names them as kept too
            for outcome in unreported:
                on_outcome(outcome)
        raise
    finally:
        results.close()
    return [o for o in outcomes if o is not None]
