"""Run a pack's reference checks on LLM traces and own solutions -> Verdicts, and a readiness report per problem.

The engine knows no pack. A pack's checks live in problems/<pack>/reference.py, loaded by path; it provides
    ANSWER_KEYS                         the front-matter `answer:` shape per checkable problem
    answer_value_error(id, key, value)  why an `answer:` value cannot be read, or None (optional)
    reference(problem, ctx) -> dict     the computed reference answer ("answer", "method", ...)
    check(problem, sub, ctx) -> list    details (see `detail`); raise Unchecked/Missing when it cannot judge
    plot_files(problem, ctx) -> list    the pinned plots a plot problem needs (paths; may not exist)
    CITE_METRICS                        metric names a solution may cite from a pinned run (optional)
    pin_note(run) -> str | None         what `cli.py pin` says of a run (RunRecord) the checks will not count (optional)
Writeup API: verify_pack(pack, problem_ids=None, judge=None) -> [ProblemReport]; check_text(pack, id, text).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
import re
import sys
import threading
import tokenize
import types
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from workbench.answers import after_thinking
from workbench.errors import CheckError, ProblemError, UsageError, WorkbenchError
from workbench.paths import project_root, results_dir, shown_path
from workbench.problems import Pack, Problem, load_pack
from workbench.solutions import cites_as_written, code_pointer, split_front_matter, split_sections
from workbench.results import epoch_rows
from workbench.verdicts import ProblemReport, Verdict, detail, detail_fault, make_verdict, plain, unjudged

DEFAULT_TIMEOUT_S = 60.0


class Unchecked(Exception):
    """A check cannot decide; the message is the reason."""


class Missing(Exception):
    """What the check needs (runs, plots, code) does not exist; the message says what."""


@dataclass(frozen=True)
class Submission:
    """One answer to judge: an own solution (structured `answer`, `code`, `cites`) or free text (a trace sample)."""

    problem: str
    subject: str
    text: str
    answer: object = None
    code: str | None = None
    cites: dict = field(default_factory=dict)

    @property
    def own(self) -> bool:
        return self.subject == "own"


@dataclass
class CheckContext:
    pack: Pack
    root: Path
    judge: object = None  # callable(problem, text) -> dict(score, notes) or None
    timeout_s: float = DEFAULT_TIMEOUT_S
    memo: dict = field(default_factory=dict)

    @property
    def results_dir(self) -> Path:
        return results_dir(self.pack.name)


# ---------------------------------------------------------------- runs (pinned results)

@dataclass(frozen=True)
class RunRecord:
    name: str
    path: Path
    settings: dict
    epochs: list
    final: dict
    complete: bool
    config: dict = field(default_factory=dict)  # config.json as read (records beyond the settings, e.g. palette_source)

    def plots(self) -> list[Path]:
        return sorted(self.path.glob("*.png"))


_METRIC_ALIASES = {"train_loss": ("train_loss", "loss", "training_loss"), "val_loss": ("val_loss", "valid_loss", "validation_loss"),
                   "val_acc": ("val_acc", "val_accuracy", "valid_acc", "validation_accuracy")}


def _metric(record: dict, name: str):
    for key in _METRIC_ALIASES.get(name, (name,)):
        if isinstance(record.get(key), (int, float)):
            return float(record[key])
    return None


def read_run(folder: Path) -> RunRecord | None:
    """A pinned run folder (config.json + metrics.json), tolerant of the metrics layout; None if unreadable."""
    run = _read_run(folder)
    return run if isinstance(run, RunRecord) else None


def _read_run(folder: Path) -> RunRecord | str:
    """The run, or why it cannot be read (damaged_runs names the folder with it)."""
    records = {}
    for name in ("config.json", "metrics.json"):
        try:
            records[name] = json.loads((folder / name).read_text())
        except FileNotFoundError:
            return f"it has no {name}"
        except OSError as exc:
            return f"its {name} cannot be read ({exc.strerror or exc})"
        except ValueError as exc:  # UnicodeDecodeError too
            return f"its {name} is not JSON ({exc})"
    config, metrics = records["config.json"], records["metrics.json"]
    settings = config.get("settings") if isinstance(config, dict) else None
    settings = dict(settings) if isinstance(settings, dict) else {}  # a hand-edited list or text: none
    if isinstance(config, dict):
        settings = {**{k: v for k, v in config.items() if not isinstance(v, (dict, list))}, **settings}
    rows, summary = epoch_rows(metrics)
    epochs = list(rows)
    last = epochs[-1] if epochs else {}
    final = {name: _metric(summary, name) if _metric(summary, name) is not None else _metric(last, name)
             for name in _METRIC_ALIASES}
    final["epochs"] = len(epochs)
    complete = metrics.get("complete", True) if isinstance(metrics, dict) else True  # no flag: written before it
    if not isinstance(complete, bool):  # "no" is truthy: a damaged run file, as one that is not JSON
        return f"its metrics.json's complete flag is {complete!r}, not true or false"
    return RunRecord(folder.name, folder, settings, epochs, final, complete, config if isinstance(config, dict) else {})


def list_runs(results_dir: Path) -> list[RunRecord]:
    if not results_dir.is_dir():
        return []
    # not the hidden folders of a pin in progress (colourize.runs.PIN_TEMP): they are no result of their own
    return [r for r in (read_run(p) for p in sorted(results_dir.iterdir()) if p.is_dir() and not p.name.startswith("."))
            if r is not None]


def damaged_runs(pack) -> list[str]:
    """The pinned run folders that cannot be read, each with why: list_runs leaves them out, so a damaged run
    would otherwise read as one never pinned."""
    folder = results_dir(pack.name)
    dirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) if folder.is_dir() else []
    # a folder with neither run file is no run (a sweep's summary, results/sweep/): nothing to pin again
    dirs = [p for p in dirs if (p / "config.json").exists() or (p / "metrics.json").exists()]
    return [f"{shown_path(p)} is not read: {why}; pin the run again: "
            f"`python cli.py pin RUN --as {p.name}{pack.pack_flag()} --force`"
            for p in dirs if isinstance(why := _read_run(p), str)]


def check_cites(sol, ctx: CheckContext, metrics: tuple[str, ...]) -> list[dict]:
    """Each `cites: {"run.metric": value}` against the run's final metrics, and quoted in the text."""
    out = []
    text = f"{sol.solution}\n{sol.critique}"
    for key, value in (sol.cites or {}).items():
        what = f"cited {key}"
        run_name, _, metric = str(key).rpartition(".")
        if metric not in metrics or not run_name:
            out.append(detail(what, f"<run>.<{'|'.join(metrics)}>", key, False, note="not a run.metric key"))
            continue
        if Path(run_name).name != run_name or run_name.startswith(".") or "\\" in run_name:
            # a path (/tmp/x, ../../runs/x) reaches a run that was never pinned: its numbers are no evidence
            out.append(detail(what, "a pinned run's name", run_name, False,
                              note=f"not a folder name under {ctx.results_dir}: pin the run (`cli.py pin RUN`) and cite its name"))
            continue
        run = read_run(ctx.results_dir / run_name)
        if run is None:
            out.append(detail(what, "a pinned run", run_name, False, note=f"no readable run {run_name} under {ctx.results_dir}"))
            continue
        measured = run.final.get(metric)
        quoted = value if isinstance(value, str) else repr(value)
        try:
            number = float(quoted)
            # the last written digit's place: 41.25 -> 2, 2e-05 -> 5, 4e1 -> -1 (not the digits after a '.' alone)
            decimals = -Decimal(quoted.strip()).as_tuple().exponent
        except (ValueError, InvalidOperation, TypeError):  # TypeError: inf and nan have no digits
            out.append(detail(what, measured, value, False, note="not a number"))
            continue
        # within half a unit of the last quoted digit: at a tie (41.25 to one decimal) 41.3 is as right as 41.2,
        # where round()'s half-to-even took only 41.2
        ok = measured is not None and abs(measured - number) <= 0.5 * 10 ** -decimals + 1e-9 * max(1.0, abs(number))
        # as a number of its own: 6.0 is not quoted by the 56.03 in "56.03 %", nor 60.9 by 60.95
        in_text = re.search(rf"(?<![\d.]){re.escape(quoted)}(?!\.?\d)", text) is not None
        note = "" if in_text else f"the number {quoted} does not appear in the solution text"
        out.append(detail(what, None if measured is None else round(measured, decimals), quoted, ok and in_text, note=note))
    return out


# ---------------------------------------------------------------- loading the pack's checks

def pack_package(folder: Path, fresh: bool = False) -> str:
    """Register a pack folder as a package (so its modules import each other relatively); returns its name."""
    name = "workbench_pack_" + re.sub(r"\W", "_", Path(folder).name)
    current = sys.modules.get(name)
    if fresh or current is None or list(getattr(current, "__path__", [])) != [str(folder)]:
        for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[mod]
        pkg = types.ModuleType(name)
        pkg.__path__ = [str(folder)]
        sys.modules[name] = pkg
    return name


def load_reference(pack: Pack):
    """The pack's reference.py, imported as <package>.reference of its folder."""
    folder = Path(pack.path)
    path = folder / "reference.py"
    if not path.exists():
        raise CheckError(f"pack {pack.name!r} has no reference checks ({path})", "add reference.py to the pack folder")
    name = pack_package(folder)
    try:
        module = importlib.import_module(f"{name}.reference")
    except SyntaxError as exc:  # also from a ref_*.py it imports: name the file that has it
        raise CheckError(f"{exc.filename}, line {exc.lineno}: syntax error in the pack's checks ({exc.msg})",
                         "fix that line of the pack's Python code") from None
    except PACK_RAISES as exc:  # a missing module or a raise at import time: the pack's code, not ours
        fix = "fix that line of the pack's Python code, or install what it imports"
        top = (getattr(exc, "name", None) or "").partition(".")[0] if isinstance(exc, ModuleNotFoundError) else ""
        if top and ((folder / f"{top}.py").is_file() or (folder / top).is_dir()):  # its own helper, by a bare name
            fix = f"the pack's own modules are imported relatively: write `from . import {top}`"
        raise CheckError(f"{_pack_line(exc, folder) or path}: the pack's checks fail to import ({type(exc).__name__}: {exc})",
                         fix) from None
    # its tables as the engine reads them: another shape failed later, in a traceback or read letter by letter
    keys = getattr(module, "ANSWER_KEYS", None)
    if keys is not None and not (isinstance(keys, dict) and all(isinstance(v, dict) for v in keys.values())):
        raise CheckError(f"{path}: ANSWER_KEYS must map each problem id to its answer keys",
                         'write e.g. ANSWER_KEYS = {"1.1": {"value": "number: the mean"}}')
    metrics = getattr(module, "CITE_METRICS", None)
    if metrics is not None and (isinstance(metrics, str) or not isinstance(metrics, (list, tuple, set, frozenset, dict))
                                or not all(isinstance(m, str) for m in metrics)):
        raise CheckError(f"{path}: CITE_METRICS must be a list of metric names", 'write e.g. CITE_METRICS = ("val_acc",)')
    return module


def _pack_line(exc: BaseException, folder: Path) -> str:
    """Where in the pack's own files `exc` was raised ("<file>, line N"), or '' when not in them."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).parent == Path(folder)]
    return f"{frames[-1].filename}, line {frames[-1].lineno}" if frames else ""


# What a pack's function may raise that is its own failure: sys.exit() too (it ended the whole command with the
# pack's message), but never KeyboardInterrupt, the user's Ctrl-C
PACK_RAISES = (Exception, SystemExit)


def pack_failure(name: str, exc: BaseException, pack: Pack | None) -> str:
    """One line on a pack function's bug (a raise other than Unchecked / Missing): the pack author's to fix."""
    folder = Path(pack.path) if pack is not None and pack.path else None
    where = (_pack_line(exc, folder) or str(folder / "reference.py")) if folder else "the pack's reference.py"
    return f"the pack's {name}() failed at {where} ({type(exc).__name__}: {str(exc)[:160]})"


def _pack(pack) -> Pack:
    return pack if isinstance(pack, Pack) else load_pack(pack)


_ABANDONED: list[threading.Thread] = []


def leave_checks_running() -> None:
    """Checks still running in worker threads are being left behind (Ctrl-C during a concurrent study)."""
    _ABANDONED.append(threading.current_thread())


def abandoned_checks() -> bool:
    """Whether a check was left running (timed out, or Ctrl-C while it ran); see cli.exit_process."""
    return bool(_ABANDONED)


def run_with_timeout(fn, seconds: float):
    """fn() in a daemon thread; CheckError when it does not finish in time (the thread is abandoned)."""
    box: dict = {}
    done = threading.Event()

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        finished = done.wait(seconds)
    finally:  # Ctrl-C lands here too. Not thread.is_alive(): after a join that Ctrl-C interrupted, it says False for
        if not done.is_set():  # a thread still running (CPython's bpo-45274 fix), and the shutdown then aborted
            _ABANDONED.append(thread)
    if not finished:
        raise CheckError(f"the check did not finish within {seconds:g} s", "raise the timeout or simplify the answer")
    if "error" in box:
        raise box["error"]
    return box.get("value")


GRADER_FAILED = "model grader failed: "  # the note of a free-text answer the --judge grader could not grade


def judge_submission(problem: Problem, sub: Submission, ctx: CheckContext) -> list[dict]:
    if not problem.key_points:
        return []
    if ctx.judge is None:
        return [detail("key points", list(problem.key_points), None, None,
                       note="free-text answer: judged only by a model grader (--judge MODEL)")]
    result = ctx.judge(problem, sub.text)
    score = max(0.0, min(1.0, float(result.get("score", 0.0))))
    graded = detail("key points (model grader, automatic)", list(problem.key_points), f"score {score:.2f}", score > 0,
                    credit=score, note=str(result.get("notes", "")))
    # which model version graded it, and whether that grade was kept from an earlier run (.cache/judge/)
    return [graded | {"grader_model": result.get("model"), "from_cache": bool(result.get("cached"))}]


class NotDetails(Exception):
    """A pack's check returned something other than a list of detail() dicts; the message says what."""


def _as_details(out) -> list[dict]:
    """A check's result as a list of details (None: none), or NotDetails: make_verdict reads every key."""
    if out is None:
        return []
    if isinstance(out, (dict, str, bytes)) or not hasattr(out, "__iter__"):
        raise NotDetails(f"a {type(out).__name__}")
    items = list(out)
    bad = [(d, fault) for d in items if (fault := detail_fault(d))]
    if bad:
        raise NotDetails(f"a list holding {repr(bad[0][0])[:60]} ({bad[0][1]})")
    return items


def run_check(ref, problem: Problem, sub: Submission, ctx: CheckContext) -> Verdict:
    """One submission through the pack's check, with a time limit; bad input becomes a status, never a crash.
    A reasoning model's <think> block is not judged, only the answer after it (see answers.after_thinking)."""
    text, no_answer = after_thinking(sub.text)
    if no_answer and sub.answer in (None, "", {}) and not sub.code:
        return unjudged(problem.id, sub.subject, "unchecked", no_answer)
    sub = dataclasses.replace(sub, text=text)
    if not sub.text.strip() and sub.answer in (None, "", {}) and not sub.code:
        return unjudged(problem.id, sub.subject, "missing", "empty answer")
    try:
        details = run_with_timeout(lambda: _as_details(ref.check(problem, sub, ctx)), ctx.timeout_s)
    except NotDetails as exc:
        return unjudged(problem.id, sub.subject, "unchecked",
                        f"the pack's check() returned {exc}, not a list of details: make each with "
                        "workbench.verdicts.detail(what, expected, found, ok)")
    except Unchecked as exc:
        return unjudged(problem.id, sub.subject, "unchecked", str(exc))
    except Missing as exc:
        return unjudged(problem.id, sub.subject, "missing", str(exc))
    except CheckError as exc:
        return unjudged(problem.id, sub.subject, "unchecked", exc.message)
    except PACK_RAISES as exc:  # a check's bug on odd input must not end the whole report; say what broke
        return unjudged(problem.id, sub.subject, "unchecked", pack_failure("check", exc, ctx.pack))
    graded = any(d["what"].startswith("key points") for d in details)  # a pack's check that asked the grader itself
    if all(d.get("ok") is None for d in details) and not graded:
        try:
            details += judge_submission(problem, sub, ctx)
        except WorkbenchError as exc:
            details.append(detail("key points", list(problem.key_points), None, None, note=f"{GRADER_FAILED}{exc.message}"))
    return make_verdict(problem.id, sub.subject, details)


# ---------------------------------------------------------------- entry points

def context(pack, judge=None, timeout_s: float = DEFAULT_TIMEOUT_S) -> CheckContext:
    return CheckContext(pack=_pack(pack), root=project_root(), judge=judge, timeout_s=timeout_s)


def reference_answer(pack, problem_id: str) -> dict:
    ctx = context(pack)
    problem = ctx.pack.get(problem_id)
    ref = load_reference(ctx.pack)
    try:
        out = run_with_timeout(lambda: ref.reference(problem, ctx), ctx.timeout_s)
    except (Unchecked, Missing) as exc:
        return {"problem": problem.id, "answer": None, "status": "unchecked", "reason": str(exc)}
    except WorkbenchError:
        raise
    except PACK_RAISES as exc:
        raise CheckError(f"{problem.id}: {pack_failure('reference', exc, ctx.pack)}",
                         "fix that line of the pack's reference.py") from None
    if out is not None and not isinstance(out, dict):
        raise CheckError(f"{problem.id}: the pack's reference() returned a {type(out).__name__}, not a mapping",
                         'return e.g. {"answer": ..., "method": "how it was computed"}')
    keys = getattr(ref, "ANSWER_KEYS", None) or {}  # optional: a pack may read `answer:` its own way
    # the id is the workbench's: a `problem` the pack returns (a bug, a typo) must not relabel its answer
    own = {k: v for k, v in (out or {}).items() if k != "problem"}
    return plain({"problem": problem.id, "answer_key": keys.get(problem.id), **own})


def answer_key_error(ref, problem: Problem, answer, pack: Pack | None = None) -> ProblemError | None:
    """What is wrong with an own solution's `answer:` for this problem's check, or None: a key the check does
    not read (a misspelt one) would be ignored without a word, a value it cannot read would leave it unchecked.
    CheckError when the pack's answer_value_error itself fails."""
    table = getattr(ref, "ANSWER_KEYS", None)
    if answer is None or table is None:  # a pack without the table reads `answer:` its own way
        return None
    keys = list(table.get(problem.id) or ())
    if not keys:
        return ProblemError(f"`answer:` is given, but {problem.id} has no answer keys to check",
                            "remove `answer:`; the solution's text is what is judged")
    if not isinstance(answer, dict):
        return ProblemError(f"`answer:` must be a mapping of {', '.join(keys)}",
                            f"e.g. answer: {{{keys[0]}: ...}}")
    unknown = [k for k in answer if k not in keys]
    if unknown:
        return ProblemError(f"unknown answer key {unknown[0]!r} for {problem.id}", f"use only: {', '.join(keys)}")
    read = getattr(ref, "answer_value_error", None)
    for key, value in answer.items():  # a value given as machine-checkable that cannot be read: the same kind of slip
        try:
            why = read(problem.id, key, value) if read else None
        except PACK_RAISES as exc:
            raise CheckError(f"{problem.id}: {pack_failure('answer_value_error', exc, pack)}",
                             "fix that line of the pack's reference.py") from None
        if why:
            shown = f"'{value}'" if isinstance(value, str) else str(value)
            return ProblemError(f"answer key {key!r} of {problem.id} cannot be read: {why}, in {shown}",
                                f"write {key} as {table[problem.id][key]}")
    return None


def check_text(pack, problem_id: str, text: str, judge=None, label: str = "text",
               timeout_s: float = DEFAULT_TIMEOUT_S) -> Verdict:
    """Judge one answer given as text: a solution file (front matter used) or an LLM's / a student's prose.
    `label` names what was checked (a file's name, stdin) in the verdict's subject; it is judged as text whatever
    it is called (a file named `own` is no own solution)."""
    return dataclasses.replace(_check_text(pack, problem_id, text, judge, timeout_s), subject=label)


def _check_text(pack, problem_id: str, text: str, judge, timeout_s: float) -> Verdict:
    subject = "text"
    ctx = context(pack, judge, timeout_s)
    problem = ctx.pack.get(problem_id)
    try:
        front, body = split_front_matter(text)
        code = code_pointer(front) if front is not None else None
    except ProblemError as exc:
        raise UsageError(exc.message, exc.fix) from None
    try:
        sections = split_sections(body) if front is not None else {}
    except ProblemError as exc:
        raise UsageError(f"the {subject} {exc.message}", exc.fix) from None
    if front is None:
        sub = Submission(problem.id, subject, text)
    else:
        sub = Submission(problem.id, subject, sections.get("solution") or body,
                         answer=front.get("answer"), code=code, cites=front.get("cites") or {})
    if not isinstance(sub.cites, dict):  # refused before the check runs, as a solution file is
        raise UsageError("`cites` must be a mapping of run.metric to value", "e.g. cites: {unet.val_acc: 60.9}")
    ref = load_reference(ctx.pack)
    bad = answer_key_error(ref, problem, sub.answer, ctx.pack)
    if bad:
        raise UsageError(bad.message, bad.fix)
    verdict = run_check(ref, problem, sub, ctx)
    if front is None or not sub.cites:
        return verdict
    # a solution file's cites are checked as verify checks them, or a wrong number would pass `check`
    quoted = types.SimpleNamespace(solution=sub.text, critique=sections.get("critique", ""),
                                   cites=cites_as_written(text, sub.cites))
    return _with_cites(verdict, check_cites(quoted, ctx, tuple(getattr(ref, "CITE_METRICS", _METRIC_ALIASES))))


def check_solution(ref, problem: Problem, sol, ctx: CheckContext) -> Verdict:
    try:
        bad = answer_key_error(ref, problem, sol.answer, ctx.pack)
    except CheckError as exc:  # the pack's answer_value_error failed: its bug, not the solution's
        return unjudged(problem.id, "own", "unchecked", exc.message)
    if bad:
        return unjudged(problem.id, "own", "missing", f"{bad.message} ({bad.fix})")
    sub = Submission(problem.id, "own", sol.solution, answer=sol.answer, code=sol.code, cites=sol.cites)
    verdict = run_check(ref, problem, sub, ctx)
    return _with_cites(verdict, check_cites(sol, ctx, tuple(getattr(ref, "CITE_METRICS", _METRIC_ALIASES))))


def _with_cites(verdict: Verdict, cites: list[dict]) -> Verdict:
    """The verdict with the cited numbers' details merged in."""
    if not cites:
        return verdict
    pid, subject = verdict.problem, verdict.subject
    details = list(verdict.details) + cites
    if verdict.status == "missing" or (verdict.status == "unchecked" and not verdict.details):
        merged = make_verdict(pid, subject, cites)
        reason = "; ".join(x for x in (verdict.reason, "only the cited numbers were checked") if x)
        if merged.status == "correct":  # the cites agree, but the answer itself was not judged: no `correct`
            return unjudged(pid, subject, verdict.status, reason, merged.details)
        return Verdict(pid, subject, merged.status, merged.score, merged.details, merged.critique, reason)
    return make_verdict(pid, subject, details, verdict.reason if verdict.status == "unchecked" else "")


def check_trace(ref, problem: Problem, trace, ctx: CheckContext) -> list[Verdict]:
    verdicts = []
    for i, (replies, caution) in enumerate(zip(trace.replies(), trace.cautions())):
        subject = f"{trace.path.name}#{i}"
        last = replies[-1] if replies else ""
        v = run_check(ref, problem, Submission(problem.id, subject, last), ctx)
        if _nothing_read(v) or not last.strip():  # an empty last reply answers nothing
            v = _latest_answer(ref, problem, subject, replies, ctx) or v
        if caution:  # a cut-off answer is judged as it came; the critique says why it may fall short
            v = dataclasses.replace(v, critique=f"{v.critique} Note: {caution}.")
        if not trace.intact:
            v = dataclasses.replace(v, reason="; ".join(x for x in (v.reason, f"trace not intact: {trace.fault}") if x))
        verdicts.append(v)
    return verdicts


def _latest_answer(ref, problem: Problem, subject: str, replies: list[str], ctx: CheckContext) -> Verdict | None:
    """A conversation that ends without an answer ("Glad it helped!", "My answer above stands"): the verdict on
    the latest earlier reply that holds one, saying which reply it judged; None when none does. After an empty last
    reply (the token limit spent on reasoning), the latest reply with text when none holds an answer the check reads
    (free text)."""
    def judged_from(v: Verdict, k: int) -> Verdict:
        note = f"judged from reply {k + 1} of {len(replies)}: the last reply holds no answer the check could read"
        return dataclasses.replace(v, reason="; ".join(x for x in (v.reason, note) if x),
                                   critique=f"{v.critique} Note: {note}.")

    fallback = None
    for k in (k for k in range(len(replies) - 2, -1, -1) if replies[k].strip()):
        v = run_check(ref, problem, Submission(problem.id, subject, replies[k]), ctx)
        if not _nothing_read(v):
            return judged_from(v, k)
        if fallback is None and not replies[-1].strip():
            fallback = judged_from(v, k)
    return fallback


def _nothing_read(v: Verdict) -> bool:
    """The check found nothing in the text: no part of an answer, so not a wrong answer either. Only an unchecked
    verdict: an incorrect one judged an answer ('it blurs' names no feature word yet is a wrong feature). Nor one the
    --judge grader failed on: the answer is there, and grading earlier replies (a conversation's steps) would pay for
    more requests and could score a step's note as the answer."""
    return (v.status == "unchecked" and all(d.get("found") in (None, "", []) for d in v.details)
            and not any(d.get("note", "").startswith(GRADER_FAILED) for d in v.details))


def code_resolves(pointer: str | None) -> bool:
    """`module:attr` names an importable module file that defines attr at top level (checked without importing)."""
    module, _, attr = (pointer or "").partition(":")
    if not module or not attr:  # "pkg.mod:" names nothing (the writeup's class_source refuses it too)
        return False
    root = str(project_root())
    added = root not in sys.path
    if added:
        sys.path.insert(0, root)
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    finally:
        if added:
            sys.path.remove(root)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return False
    try:
        with tokenize.open(spec.origin) as fh:  # in the encoding Python imports it in: its coding line, else UTF-8
            source = fh.read()
    except (OSError, SyntaxError, ValueError):  # unreadable, or not in its encoding: Python could not import it either
        return False
    return bool(re.search(rf"^(?:class|def)\s+{re.escape(attr)}\b|^{re.escape(attr)}\s*=", source, re.M))


def pack_plot_files(ref, problem: Problem, ctx: CheckContext) -> list[Path] | None:
    """The plot files the pack's plot_files names (None: it has none); Unchecked / Missing pass, and its failure or a
    result that is no list of paths (one path string would be read letter by letter) is a CheckError saying so."""
    fn = getattr(ref, "plot_files", None)
    if fn is None:
        return None
    try:
        out = fn(problem, ctx)
    except (Unchecked, Missing, WorkbenchError):
        raise
    except PACK_RAISES as exc:
        raise CheckError(pack_failure("plot_files", exc, ctx.pack)) from None
    if out is not None and (isinstance(out, (str, bytes, Path, dict)) or not hasattr(out, "__iter__")):
        raise CheckError(f"the pack's plot_files() returned a {type(out).__name__}, not a list of paths: return [path, ...]")
    paths = list(out or [])
    if not all(isinstance(p, (str, Path)) for p in paths):
        raise CheckError("the pack's plot_files() returned a list holding no path: return [path, ...]")
    return [Path(p) for p in paths]


def report_problem(ref, problem: Problem, ctx: CheckContext) -> ProblemReport:
    from workbench.evidence import mend_edited, pick_trace
    from workbench.solutions import heading_notes, load_solution
    from workbench.traces import mend_stale, stale_note

    notes: list[str] = []
    try:
        sol = load_solution(ctx.pack.name, problem.id)
    except WorkbenchError as exc:
        sol = None
        notes.append(str(exc))
    notes += heading_notes(sol)
    try:
        bad = answer_key_error(ref, problem, sol.answer, ctx.pack) if sol else None
    except CheckError:  # the own verdict says so (check_solution)
        bad = None
    if bad:
        notes.append(f"{sol.path}: {bad}")
    pick = pick_trace(problem.id, sol.trace if sol else None, pack=ctx.pack.name)  # the trace the writeup shows is the one judged
    trace = pick.trace
    notes += [f"unreadable trace {bad} (see `python cli.py traces verify`)" for bad in pick.unreadable]
    if pick.issue == "pin-not-found":
        notes.append(pick.detail)
    if pick.passed_over:
        notes.append(f"judging the newest intact trace {trace.path.name}; newer, edited: {', '.join(pick.passed_over)}")
    present = {
        "trace": bool(trace and trace.intact),
        "critique": bool(sol and sol.has_critique),
        "solution": bool(sol and sol.has_solution),
        "code": code_resolves(sol.code if sol else None),
    }
    if "code" in problem.deliverables and not present["code"]:  # say how to fix it, as the writeup's checklist does
        notes.append(f"code: {sol.code} names no module file under the project that defines it at top level"
                     if sol and sol.code else
                     f"the solution names no `code:` (e.g. code: \"package.module:Name\" in solutions/{ctx.pack.name}/{problem.id}.md)")
    if "plot" in problem.deliverables:
        try:
            found = pack_plot_files(ref, problem, ctx)
            plots = found or []
            if found is None:
                notes.append(f"no plot file: {Path(ctx.pack.path) / 'reference.py'} defines no plot_files(problem, ctx) "
                             f"to name the plots of {problem.id}")
            elif not plots:
                notes.append(f"no plot file: the pack's plot_files (reference.py) names none for {problem.id}")
        except (Unchecked, Missing) as exc:
            plots = []
            notes.append(f"plot: {exc}")
        except CheckError as exc:  # the pack's bug: this problem's plots are unknown, the others still checked
            plots = []
            notes.append(exc.message)
        present["plot"] = bool(plots) and all(Path(p).is_file() for p in plots)
        notes += [f"plot {shown_path(Path(p))} is missing" for p in plots if not Path(p).is_file()]
    if trace and not trace.intact:
        notes.append(f"trace {trace.path.name} is not intact evidence (edited): {trace.fault}; "
                     f"{mend_edited(trace, problem)}")
    stale = stale_note(trace, problem) if trace else ""
    if stale:  # still the problem's trace (nothing missing), but its answers are to the question as it was
        notes.append(f"{stale}; {mend_stale(trace, problem)}")
    verdicts = []
    if sol:
        verdicts.append(check_solution(ref, problem, sol, ctx))
    if trace:
        judged = check_trace(ref, problem, trace, ctx)
        if stale:  # judged against the question as it is now, which the model was not asked: said so
            judged = [dataclasses.replace(v, reason="; ".join(x for x in (v.reason, stale) if x), critique=f"{v.critique} "
                                          f"Note: {stale}; this answer is to the question as it was.") for v in judged]
        verdicts.extend(judged)
    required = tuple(problem.deliverables)
    missing = [d for d in required if not present.get(d)]
    own = next((v for v in verdicts if v.subject == "own"), None)
    at_risk = 0.0
    if problem.graded:
        if missing:
            at_risk = problem.points
            if "trace" in missing and pick.issue != "pin-not-found":
                notes.append(NO_TRACE_NOTE)
        elif own and own.status in ("incorrect", "partial"):
            at_risk = round(problem.points * (1 - own.score), 4)
    return ProblemReport(problem.id, problem.points, problem.type, required,
                         {d: present.get(d, False) for d in sorted(set(required) | set(present))},
                         tuple(verdicts), at_risk, tuple(notes), stale)


NO_TRACE_NOTE = "no intact LLM trace: the handout gives 0 points without one"


def verify_pack(pack="a2", problem_ids: list[str] | None = None, judge=None,
                timeout_s: float = DEFAULT_TIMEOUT_S) -> list[ProblemReport]:
    """Readiness report for each problem (all, or the given ids) in handout order."""
    ctx = context(pack, judge, timeout_s)
    problems = ctx.pack.select(problem_ids) if problem_ids else list(ctx.pack.problems)
    ref = load_reference(ctx.pack)
    return [report_problem(ref, p, ctx) for p in problems]


def ready(reports: list[ProblemReport]) -> bool:
    """Everything a graded problem requires is present and every checkable own solution is correct."""
    for r in reports:
        if r.points <= 0:
            continue
        own = r.own_verdict
        if r.missing or (own is not None and own.status in ("incorrect", "partial", "missing")):
            return False
    return True


def summary(reports: list[ProblemReport]) -> dict:
    graded = [r for r in reports if r.points > 0]
    own = [r.own_verdict for r in reports if r.own_verdict]
    return {
        "problems": len(reports),
        "points": sum(r.points for r in graded),
        "points_at_risk": round(sum(r.points_at_risk for r in reports), 4),
        "missing_deliverables": {r.problem: r.missing for r in graded if r.missing},
        "own_status": {s: sum(1 for v in own if v.status == s) for s in ("correct", "partial", "incorrect", "unchecked", "missing")},
        "ready": ready(reports),
    }
