"""What the writeup shows for each problem: the trace picked, the own solution, model code, pinned runs,
the automatic critique, and the checklist of required pieces that are missing (with points at risk)."""

from __future__ import annotations

import ast
import json
import re
import tokenize
from dataclasses import dataclass, field, replace
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.paths import REPO_ROOT, project_root, results_dir, shown_path, traces_dir
from workbench.problems import Pack, Problem, pack_flag
from workbench.results import epoch_rows
from workbench.solutions import Solution, heading_notes, load_solution
from workbench.traces import Trace, commands_to_trace, pinned_among, scan_traces
from workbench.verdicts import ProblemReport

# verify labels its critiques itself; the writeup's box carries the label, so it is not repeated
_AUTO_PREFIX = re.compile(r"^\s*Automatic check \([^)]*\):\s*")
IMAGES = ("curves.png", "samples.png")
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


@dataclass(frozen=True)
class TracePick:
    """The trace a problem shows, or why none can be shown (issue: pin-not-found, edited, unreadable)."""

    trace: Trace | None = None
    issue: str = ""
    detail: str = ""
    unreadable: tuple[str, ...] = ()  # "file: why" of each trace file of the problem that could not be read
    passed_over: tuple[str, ...] = ()  # newer traces not shown because they were edited (an intact one is)

    @property
    def usable(self) -> bool:
        return self.trace is not None and not self.issue


@dataclass(frozen=True)
class CodeSource:
    pointer: str
    name: str
    path: Path | None = None
    source: str = ""
    error: str = ""


@dataclass(frozen=True)
class Run:
    """A pinned training run: solutions/<pack>/results/<name>/ with config, metrics and two images."""

    name: str
    path: Path
    config: dict = field(default_factory=dict)
    epochs: tuple[dict, ...] = ()
    summary: dict = field(default_factory=dict)
    curves: Path | None = None
    samples: Path | None = None
    problems: tuple[str, ...] = ()  # what is wrong with it, for the missing box
    figures: tuple[Path, ...] = ()  # the other plot files a pack's plot_files names (e.g. a3's loss.png)
    plots_only: bool = False  # a folder of plots a pack names, no training run (neither config.json nor metrics.json)

    @property
    def complete(self) -> bool:
        return self.path.is_dir() and not self.problems


@dataclass(frozen=True)
class Entry:
    problem: Problem
    solution: Solution | None
    pick: TracePick
    code: CodeSource | None
    runs: tuple[Run, ...]
    auto_critique: str
    report: ProblemReport  # the writeup's own checklist row
    checked: ProblemReport | None = None  # verify's report, when verification ran
    plot_note: str = ""  # why the pack's plot_files named no plot (it failed): said instead of "no pinned run"

    @property
    def shows_trace(self) -> bool:
        """A trace section appears when the trace is required, or when there is one (an optional attempt)."""
        return "trace" in self.report.required or self.pick.issue != "none"


def pick_trace(problem_id: str, pin: str | None, root: Path | None = None, pack: str | None = None) -> TracePick:
    """The pinned trace (file name or hash prefix), else the newest intact one (the newest edited one when none
    is intact); unreadable files are reported. With `pack`, traces that record another pack (its own problem
    of the same id: traces/<id>/ is shared by all packs) are never picked."""
    folder = (root or traces_dir()) / problem_id
    loaded, bad = scan_traces(problem_id, root)
    if pack is not None:
        other = [t for t in loaded if t.data.get("pack", pack) != pack]
        loaded = [t for t in loaded if t not in other]
        if pin and not pinned_among(loaded, pin) and (theirs := pinned_among(other, pin)):
            return TracePick(issue="pin-not-found", detail=f"the solution pins trace {pin!r}, which is a trace of "
                             f"pack {theirs[-1].data.get('pack')!r}, not {pack!r}")
    shown = [f"{shown_path(f)}: {why}" for f, why in bad]  # the detail goes into the PDF: no home folder
    pick = _pick(loaded, shown, shown_path(folder), pin)
    return replace(pick, unreadable=tuple(f"{f}: {why}" for f, why in bad))


def _pick(loaded: list[Trace], broken: list[str], folder: str, pin: str | None) -> TracePick:
    """The choice among the readable traces; `broken` only explains why none could be shown."""
    if pin:
        matches = pinned_among(loaded, pin)
        if not matches:
            detail = f"the solution pins trace {pin!r}, which is not in {folder}"
            if broken:
                detail += f"; unreadable there: {'; '.join(broken)}"
            return TracePick(issue="pin-not-found", detail=detail)
        chosen = matches[-1]
    elif loaded:  # the newest intact trace; an edited one only when there is no other
        intact = [t for t in loaded if t.intact]
        chosen = intact[-1] if intact else loaded[-1]
        newer_edited = tuple(t.path.name for t in loaded[loaded.index(chosen) + 1:])
        if newer_edited:
            return TracePick(trace=chosen, passed_over=newer_edited)
    elif broken:
        return TracePick(issue="unreadable", detail="; ".join(broken))
    else:
        return TracePick(issue="none")
    if not chosen.intact:
        return TracePick(trace=chosen, issue="edited",
                         detail=f"{chosen.path.name}: {chosen.fault}")
    return TracePick(trace=chosen)


def class_source(pointer: str) -> CodeSource:
    """`package.module:Name` -> the top-level class/function's source text, read with ast (nothing imported)."""
    module, _, name = str(pointer).partition(":")
    if not module or not name:
        return CodeSource(pointer, name or "?", error=f"code pointer {pointer!r} is not of the form package.module:Name")
    rel = Path(*module.split("."))
    candidates = [base / rel.with_suffix(".py") for base in (project_root(), REPO_ROOT)]
    candidates += [base / rel / "__init__.py" for base in (project_root(), REPO_ROOT)]
    path = next((c for c in candidates if c.is_file()), None)
    if path is None:
        return CodeSource(pointer, name, error=f"module {module} not found ({rel.with_suffix('.py')})")
    try:
        with tokenize.open(path) as fh:  # in the encoding Python imports it in: its coding line, else UTF-8
            text = fh.read()
    except OSError as exc:
        return CodeSource(pointer, name, path, error=f"{shown_path(path)}: cannot be read ({exc.strerror or exc})")
    except (SyntaxError, ValueError):  # tokenize's SyntaxError: no such encoding; ValueError: not in it
        return CodeSource(pointer, name, path,
                          error=f"{shown_path(path)}: not UTF-8 text (or not in the encoding its coding line names)")
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as exc:
        return CodeSource(pointer, name, path, error=f"{shown_path(path)}: syntax error at line {exc.lineno}")
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            lines = text.splitlines()[start - 1:node.end_lineno]
            return CodeSource(pointer, name, path, "\n".join(lines))
    return CodeSource(pointer, name, path, error=f"{shown_path(path)} defines no top-level {name}")


def _is_image(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError:
        return False
    return any(head.startswith(m) for m in _IMAGE_MAGIC)


def load_run(path: Path, needs: tuple[str, ...] = IMAGES, run_files: bool = True) -> Run:
    """A pinned run folder; what is missing or unreadable among `needs` is listed in Run.problems, never raised.
    With run_files=False (the plot files a pack names, as verify counts them) config.json and metrics.json are
    shown when there, not required: a plot need not come from a training run."""
    name = path.name
    if not path.is_dir():
        return Run(name, path, problems=(f"no pinned run folder {shown_path(path)}",))
    problems, config, epochs, summary = [], {}, (), {}
    for fname in ("config.json", "metrics.json"):
        file = path / fname
        if not file.is_file():
            if run_files:
                problems.append(f"{shown_path(file)} is missing")
            continue
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:  # ValueError: not UTF-8, not JSON, or a number of over 4300 digits
            problems.append(f"{shown_path(file)} is unreadable ({exc})")
            continue
        if fname == "config.json":
            config = data if isinstance(data, dict) else {}
        else:
            epochs, summary = epoch_rows(data)
    images = {}
    for fname in IMAGES + tuple(n for n in dict.fromkeys(needs) if n not in IMAGES):
        file = path / fname
        if not file.is_file():
            if fname in needs:
                problems.append(f"{shown_path(file)} is missing")
        elif not _is_image(file):
            problems.append(f"{shown_path(file)} is not a PNG or JPEG image")
        else:
            images[fname] = file
    figures = tuple(f for n, f in images.items() if n not in IMAGES)
    plots_only = not run_files and not any((path / f).is_file() for f in ("config.json", "metrics.json"))
    return Run(name, path, config, epochs, summary, images.get("curves.png"), images.get("samples.png"), tuple(problems),
               figures, plots_only)


def cited_runs(pack: str, solution: Solution | None) -> list[Path]:
    """The run folders a solution quotes in `cites:` ({"<run>.<metric>": value}), in order."""
    if not solution or not solution.cites:
        return []
    base = results_dir(pack)
    out: list[Path] = []
    for key in solution.cites:
        parts = str(key).split(".")
        # the longest prefix that is a pinned run folder (run names may contain dots); else the first part
        name = next((".".join(parts[:i]) for i in range(len(parts) - 1, 0, -1) if (base / ".".join(parts[:i])).is_dir()),
                    parts[0])
        if Path(name).name != name or name.startswith(".") or "\\" in name:
            continue  # a path (/tmp/runs/x, ../../runs/x) names no pinned run: verify fails that cite
        out.append(base / name)
    return out


def plot_finder(pack: Pack):
    """The pack's `plot_files(problem, ctx)` (its reference.py, through verify), or None when it has none."""
    verify = _verify_module()
    if verify is None:
        return None
    try:
        ref, ctx = verify.load_reference(pack), verify.context(pack)
    except WorkbenchError:
        return None
    if getattr(ref, "plot_files", None) is None:
        return None

    def find(problem: Problem) -> list[Path]:
        try:
            return verify.pack_plot_files(ref, problem, ctx) or []
        except (verify.Missing, verify.Unchecked):
            return []
        except WorkbenchError as exc:  # the pack's bug: the checklist says it, not "train and pin a run"
            find.failures[problem.id] = exc.message
            return []

    find.failures = {}

    return find


def _named_plots(pack: Pack, folder: Path, names: tuple[str, ...]) -> Run:
    """The plot files a pack names in `folder`; a folder not yet made outside results/ is one for plots, not a
    training run to pin, and is named as such."""
    if not folder.is_dir() and folder.parent != results_dir(pack.name):
        return Run(folder.name, folder, plots_only=True, problems=tuple(
            f"{shown_path(folder / n)} is missing (no folder {shown_path(folder)} yet)" for n in dict.fromkeys(names)))
    return load_run(folder, names, run_files=False)


def runs_for(pack: Pack, problem: Problem, solution: Solution | None, finder=None) -> tuple[Run, ...]:
    """The pinned runs a plot problem shows: those the pack names (with the files it needs), else the runs
    the solution quotes in `cites:`."""
    if problem.kind != "plot":
        return ()
    needs: dict[Path, list[str]] = {}
    for file in finder(problem) if finder is not None else []:
        needs.setdefault(file.parent, []).append(file.name)
    if needs:
        return tuple(_named_plots(pack, folder, tuple(names)) for folder, names in needs.items())
    cited = tuple(load_run(folder) for folder in dict.fromkeys(cited_runs(pack.name, solution)))
    if finder is None:
        return cited
    # the pack's checks take none of the pinned runs (a2: none has the handout's settings): a run the solution
    # cites is shown, but is not the question's plot, as verify says (it was counted present: 0 points at risk)
    why = (f"the checks do not count this run for {problem.id} "
           f"(`python cli.py verify --problem {problem.id}{pack_flag(pack.name, getattr(pack, 'path', None))}` says why)")
    return tuple(replace(r, problems=r.problems + (why,)) if r.path.is_dir() else r for r in cited)


def _verify_module():
    """workbench.verify, or None in an installation without it: the writeup is then built without its checks."""
    try:
        import workbench.verify as verify
    except ModuleNotFoundError as exc:
        if exc.name != "workbench.verify":
            raise
        return None
    return verify


def damaged_run_notes(pack: Pack) -> list[str]:
    """The pinned run folders that cannot be read, each with how to mend it (see verify.damaged_runs)."""
    verify = _verify_module()
    return verify.damaged_runs(pack) if verify is not None else []


def run_verification(pack: Pack) -> tuple[dict[str, ProblemReport], str]:
    """verify_pack's reports by problem id, and a note when verification could not run."""
    verify = _verify_module()
    if verify is None:
        return {}, "not run: workbench.verify is not available in this installation"
    try:
        reports = verify.verify_pack(pack)
    except WorkbenchError as exc:
        return {}, f"not run: {exc}"
    return {r.problem: r for r in reports}, ""


def auto_critique(pick: TracePick, checked: ProblemReport | None) -> str:
    """The verify critiques of the trace shown (one paragraph per sample)."""
    if not pick.usable or checked is None:
        return ""
    name = pick.trace.path.name
    mine = [(v.subject.rpartition("#")[2], _AUTO_PREFIX.sub("", v.critique).strip())
            for v in checked.verdicts if v.subject.startswith(name + "#") or v.subject == name]
    if len(mine) == 1:
        return mine[0][1]
    return "\n\n".join(f"Sample {int(i) + 1 if i.isdigit() else i}: {text}" for i, text in mine if text)


def no_run_note(problem: Problem) -> str:
    return (f"no pinned run found: train the model, pin the run under solutions/{problem.pack}/results/, "
            "or name it in the solution's “cites:”")


def mend_edited(trace: Trace, problem: Problem) -> str:
    """How to mend an edited trace, in the words verify's note and the writeup's checklist both use."""
    return (f"restore it from git (git checkout -- {shown_path(trace.path)}) or prompt again "
            f"(python cli.py prompt {problem.id}{problem.pack_flag()})")


def checklist_row(problem: Problem, solution: Solution | None, pick: TracePick, code: CodeSource | None,
                  runs: tuple[Run, ...], auto: str = "", plot_note: str = "") -> ProblemReport:
    """Which required pieces the document holds; a missing one puts the question's points at risk."""
    required = tuple(problem.deliverables) if problem.graded else ()
    code_ok = code is not None and not code.error
    has_text = bool(solution and solution.has_solution)
    present = {
        "trace": pick.usable,
        "critique": bool(solution and solution.has_critique),
        "solution": has_text or (problem.kind == "coding" and code_ok),
        "code": code_ok,
        "plot": bool(runs) and all(r.complete for r in runs),
    }
    notes = []
    if pick.issue == "edited":  # as the PDF's box: how to mend it, not only what is wrong
        notes.append(f"edited trace: {pick.detail}; {mend_edited(pick.trace, problem)}")
    elif pick.passed_over:
        notes.append(f"showing the newest intact trace {pick.trace.path.name}; newer, edited: {', '.join(pick.passed_over)}")
    elif pick.issue in ("unreadable", "pin-not-found"):
        notes.append(pick.detail)
    where = f"solutions/{problem.pack}/{problem.id}.md"
    if "trace" in required and pick.issue == "none":  # the critique needs a trace first: one note says both
        notes.append(f"no LLM trace: {commands_to_trace(problem.id, problem.pack_flag())}, then critique it "
                     f"under “## Critique” in {where}")
    elif "critique" in required and not present["critique"]:
        notes.append(f"automatic critique shown; add your own “## Critique” to {where}" if auto
                     else f"add a “## Critique” section to {where}")
    notes += heading_notes(solution)
    if code is not None and code.error:
        notes.append(code.error)
    for run in runs:
        notes.extend(run.problems)
    if "plot" in required and not runs:
        notes.append(plot_note or no_run_note(problem))
    if "solution" in required and not present["solution"]:
        notes.append(f"write your own solution under “## Solution” in {where}")
    missing = [d for d in required if not present.get(d)]
    return ProblemReport(
        problem=problem.id,
        points=problem.points,
        type=problem.type,
        required=required,
        present={d: present[d] for d in required},
        points_at_risk=problem.points if missing else 0.0,
        notes=tuple(notes),
    )


def collect(pack: Pack) -> list[Entry]:
    """Everything the writeup needs but the checks' verdicts; a broken solution file stops the build."""
    solutions = {p.id: load_solution(pack.name, p.id) for p in pack.problems}  # ProblemError names the file
    finder = plot_finder(pack)
    entries = []
    for problem in pack.problems:
        sol = solutions[problem.id]
        pick = pick_trace(problem.id, sol.trace if sol else None, pack=pack.name)
        code = class_source(sol.code) if sol and sol.code else None
        if code is None and "code" in problem.deliverables and problem.graded:
            code = CodeSource("", "?", error="the solution names no “code:” (e.g. code: package.module:ClassName)")
        runs = runs_for(pack, problem, sol, finder)
        note = finder.failures.get(problem.id, "") if finder is not None else ""
        entries.append(Entry(problem, sol, pick, code, runs, "", checklist_row(problem, sol, pick, code, runs, plot_note=note),
                             plot_note=note))
    return entries


def with_verdicts(entries: list[Entry], checked: dict[str, ProblemReport]) -> list[Entry]:
    """Entries with verify's reports attached: the automatic critique of each trace shown, and the notes."""
    out = []
    for e in entries:
        report = checked.get(e.problem.id)
        crit = auto_critique(e.pick, report)
        row = checklist_row(e.problem, e.solution, e.pick, e.code, e.runs, crit, e.plot_note)
        out.append(replace(e, auto_critique=crit, report=row, checked=report))
    return out


def may_need_auto_critique(e: Entry) -> bool:
    """The critique section depends on verify's output: a trace is shown and the student wrote no critique."""
    return e.pick.usable and not (e.solution and e.solution.has_critique)
