"""Assemble the writeup: Markdown (TeX math) in handout order -> pandoc -> Typst -> PDF, plus the notebook.

Order: title block (course, assignment, student, date, models cited), extra-credit LLM attempts, the
written part, the programming part, the programming part's traces (the handout wants them at the end),
then an appendix with the checklist and the verification verdicts. Anything required that is missing
becomes a red box with the points at risk, and a row in the checklist the CLI prints.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from workbench.evidence import (Entry, collect, damaged_run_notes, may_need_auto_critique, no_run_note, run_verification,
                                with_verdicts)
from workbench.errors import WriteError, WriteupError
from workbench.paths import build_dir, inside_traces, make_folder, project_root, shown_path
from workbench.problems import Pack, Problem, load_pack
from workbench.sections import (ASSETS, code_section, critique_section, embedded_images, figure_warnings, image_warnings,
                                md_table, missing_box, record_figure, risk_note, run_section, slug, solution_section,
                                trace_section)
from workbench.solutions import stray_solution_notes
from workbench.traces import mend_stale, stale_note
from workbench.transcript import IMPORTED
from workbench.atomic import atomic_write, cannot_write, folder_lock, remove_orphans
from workbench.typeset import (compile_pdf, glyphless, markdown_to_typst, md_text, preamble, raw_typst,
                               source_date_epoch, tex_to_markdown, typ_str)
from workbench.verdicts import ProblemReport

PAGEBREAK = raw_typst("#pagebreak(weak: true)")
ASSETS_MARK = ".workbench-figures"  # in ASSETS: made by a build, so the next build may replace the folder


@dataclass(frozen=True)
class Identity:
    name: str = ""
    student_id: str = ""


@dataclass
class WriteupResult:
    pdf: Path
    markdown: Path
    typst: Path
    notebook: Path | None
    checklist: list[ProblemReport]
    notes: list[str] = field(default_factory=list)  # document-wide gaps (no name, verification not run)
    warnings: list[str] = field(default_factory=list)  # pandoc / typst warnings
    seconds: float = 0.0

    @property
    def points_at_risk(self) -> float:
        return sum(r.points_at_risk for r in self.checklist)

    @property
    def incomplete(self) -> bool:
        """Something required is missing: a deliverable, the student's name or id."""
        return any(r.missing for r in self.checklist) or any(n.startswith("missing") for n in self.notes)


# ---------------------------------------------------------------- identity


def configured_student() -> Identity:
    """[student] name, id from workbench.toml (or the git-ignored workbench.local.toml)."""
    from workbench.config import load_config

    student = load_config().get("student") or {}
    return Identity(str(student.get("name") or "").strip(), str(student.get("id") or "").strip())  # blank: none


# ---------------------------------------------------------------- the document


def _anchor(prefix: str, problem: Problem) -> str:
    return f"{prefix}-{problem.id}"


def new_paragraphs(text: str, shown: dict[str, str], here: str = "") -> str:
    """The paragraphs of a problem's shared context that the document has not shown yet (packs repeat them).

    shown maps each paragraph printed so far to the question it stands under; a lead-in (ending in ':') whose next
    paragraph is left out is followed by a link to that question, so its colon does not introduce nothing.
    """
    fresh = []
    pars = [(par, " ".join(par.split())) for par in re.split(r"\n\s*\n", text)]
    for i, (par, key) in enumerate(pars):
        if key and key not in shown:
            shown[key] = here
            fresh.append(par.strip("\n"))
            after = pars[i + 1][1] if i + 1 < len(pars) else ""
            if key.endswith(":") and after in shown and shown[after] != here:
                fresh.append(f"(Shown above, under [{shown[after]}](#q-{shown[after]}).)")
    return "\n\n".join(fresh)


def question(entry: Entry, traces_at_end: bool, files: dict[Path, str], shown: dict[str, str] | None = None,
             pending: bool = False) -> list[str]:
    p = entry.problem
    flags = [f"{p.points:g} pt" if p.graded else "0 pt (optional)", f"Type {p.type}", p.kind]
    if p.extra_credit:
        flags.append("extra credit")
    out = [f"## {p.id} {md_text(p.title)} {{#{_anchor('q', p)}}}", raw_typst(f"#wb-meta({typ_str(' · '.join(flags))})")]
    context = new_paragraphs(p.context, shown if shown is not None else {}, p.id)
    if context:
        out += [raw_typst("#wb-statement["), tex_to_markdown(context), raw_typst("]")]
    out += [raw_typst("#wb-statement["), tex_to_markdown(p.statement), raw_typst("]")]
    for fig in p.figures:
        src, suffix = record_figure(p, fig)
        if src is not None:  # else figure_warnings says why
            name = files.setdefault(src, f"fig-{slug(p.id)}-{slug(src.stem)}{suffix}")
            out.append(raw_typst(f"#wb-figure({typ_str(ASSETS + '/' + name)}, [])"))
    if entry.shows_trace:
        out.append("### Program trace")
        if p.extra_credit and entry.pick.trace is not None:
            out.append(f"Shown at the beginning with the other extra-credit attempts: [program trace for {p.id}]"
                       f"(#{_anchor('trace', p)}).")
        elif traces_at_end and entry.pick.trace is not None:
            out.append(f"Appended at the end, as the handout asks: [program trace for {p.id}](#{_anchor('trace', p)}).")
        else:
            out += trace_section(entry)
    out += [slot(f"critique-{p.id}")] if pending and may_need_auto_critique(entry) else critique_section(entry, files)
    if p.kind == "plot":
        embedded = embedded_images(entry)
        out += [line for run in entry.runs for line in run_section(run, p, files, embedded)]
        if "plot" in entry.report.required and not entry.runs:
            out.append(missing_box("Missing: plots", risk_note(p, entry.plot_note or no_run_note(p))))
    out += solution_section(entry, files)
    out += code_section(entry.code, p)
    return out


def appended_trace(entry: Entry, why: str) -> list[str]:
    p = entry.problem
    return ([f"## Program trace for {p.id} {md_text(p.title)} {{#{_anchor('trace', p)}}}",
             f"{why} Question: [{p.id}](#{_anchor('q', p)})."] + trace_section(entry))


def models_used(entries: list[Entry]) -> list[tuple[str, str]]:
    """(model version, where / when / which questions) for every trace the document shows."""
    seen: dict[tuple[str, str, bool], list[Entry]] = {}
    shown: dict[tuple[str, str, bool], tuple[str, str]] = {}  # as the first trace of each model spells it
    for e in entries:
        t = e.pick.trace
        if e.pick.usable and (e.shows_trace or e.problem.extra_credit):
            info = t.data.get("import") or {}  # as the trace's own citation names it
            where = (info.get("url") or info.get("origin") or "chat export") if t.imported else t.base_url
            # one line each: a newline in a server's model name or an export's address would print as list items
            model, where = " ".join(t.model_version.split()), " ".join(str(where or "unknown provider").split())
            key = (model.casefold(), _same_address(where), t.imported)  # GPT-4o and gpt-4o are one model
            shown.setdefault(key, (model, where))
            seen.setdefault(key, []).append(e)
    out = []
    for key, group in seen.items():
        (model, where), imported = shown[key], key[2]
        span = _date_span(e.pick.trace.started_at for e in group) or "unknown date"
        if imported:  # the model was used when the conversation was held, not when it was imported
            held = _date_span((e.pick.trace.data.get("import") or {}).get("created_at") for e in group)
            how = (f"conversation of {held}, " if held else "") + f"{IMPORTED} on {span}"
        else:
            how = f"accessed {span} (UTC)"
        out.append((model, f"{where}; {how}; questions {', '.join(e.problem.id for e in group)}"))
    return out


def _same_address(where: str) -> str:
    """An address as compared: its scheme and host in any case, no trailing slash (the path keeps its case)."""
    try:
        parts = urlsplit(where)
    except ValueError:
        return where
    if not parts.scheme or not parts.netloc:  # "chat export", not an address
        return where
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query, parts.fragment))


def _date_span(stamps) -> str:
    """'2023-11-14' or '2023-11-14 to 2023-12-01' from ISO time stamps; '' when none is given."""
    dates = sorted({str(s or "")[:10] for s in stamps} - {""})
    return dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}" if dates else ""


def title_block(pack: Pack, who: Identity, entries: list[Entry], date: str) -> str:
    missing = []
    if not who.name:
        missing.append("Missing: student name (--name, or [student] name in workbench.toml)")
    if not who.student_id:
        missing.append("Missing: student number (--student-id, or [student] id in workbench.toml)")
    models = ", ".join(f"({typ_str(m)}, {typ_str(c)})" for m, c in models_used(entries))
    return raw_typst(
        f"#wb-title(course: {typ_str(pack.course)}, assignment: {typ_str(pack.title)}, student: {typ_str(who.name)}, "
        f"sid: {typ_str(who.student_id)}, date: {typ_str(date)}, models: ({models}{',' if models else ''}), "
        f"missing: ({', '.join(typ_str(m) for m in missing)}{',' if missing else ''}))")


def _statuses(report: ProblemReport | None) -> tuple[str, str]:
    if report is None:
        return "not checked", "not checked"
    own = report.own_verdict
    llm = [v.status for v in report.verdicts if v.subject != "own"]
    counts = ", ".join(f"{llm.count(s)} {s}" for s in dict.fromkeys(llm)) or "none"
    return (own.status if own else "none"), counts


def appendix(entries: list[Entry], verify_note: str, notes: list[str]) -> list[str]:
    out = ["# Appendix: checklist and verification {#appendix}",
           "Each question's required pieces as found by the workbench when this document was built, and the "
           "verdicts of the pack's checks (reference solvers and pinned runs) on the student's solution and on "
           "each LLM sample shown. A missing piece puts the question's points at risk."]
    if verify_note:
        out.append(f"Verification {md_text(verify_note)}.")
    for note in notes:
        out.append(missing_box(note, ""))
    rows = []
    for e in entries:
        r = e.report
        own, llm = _statuses(e.checked)
        rows.append([f"[{md_text(e.problem.id)}](#{_anchor('q', e.problem)})", md_text(f"{e.problem.points:g}"), md_text(str(e.problem.type)),
                     md_text(", ".join(r.required) or "—"), md_text(", ".join(r.missing) or "none"),
                     md_text(f"{r.points_at_risk:g}"), md_text(own), md_text(llm)])
    out.append(md_table(["Q", "pts", "Type", "required", "missing", "at risk", "own solution", "LLM samples"], rows,
                      widths=[7, 5, 5, 22, 18, 6, 12, 20]))
    total = sum(e.report.points_at_risk for e in entries)
    out.append(f"Points at risk in total: **{total:g}** of {sum(e.problem.points for e in entries):g}.")
    details = []
    for e in entries:
        details += [f"- {md_text(e.problem.id)}: {md_text(note)}" for note in e.report.notes]
        for v in (e.checked.verdicts if e.checked else ()):
            order = {False: 0, None: 1, True: 2}  # what failed first: it is what a reader looks for
            given = [d for d in v.details if d not in (None, "")]
            # a detail that is not a record (a check's plain text) is shown as text, as undecided
            shown = sorted(given, key=lambda d: order.get(d.get("ok"), 1) if isinstance(d, dict) else 1)[:MAX_DETAILS]
            what = "; ".join(_detail(d) if isinstance(d, dict) else _clip(d) for d in shown)
            more = len(given) - len(shown)
            what += f" (and {more} more)" if more > 0 else ""
            details.append(f"- {md_text(e.problem.id)} {md_text(v.subject)}: **{md_text(v.status)}**"
                           + (f" — {md_text(what)}" if what else "") + (f" — {md_text(_clip(v.reason))}" if v.reason else ""))
    if details:
        out += ["## What was checked", raw_typst("#wb-small["), "\n".join(details), raw_typst("]")]
    return out


MAX_DETAILS, MAX_CHARS = 4, 160


def _clip(value) -> str:
    """A check's expected/found value as a reader's text: lists joined, not Python reprs (whose escaping doubles
    every backslash), paths relative to the project, clipped."""
    if value is None:  # a check that found nothing: the automatic critique's word, not Python's
        return "nothing"
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = "; ".join(f"{k}: {v}" for k, v in value.items())
    text = " ".join(str(value).split()).replace(str(project_root()) + os.sep, "")
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS - 1] + "…"


def _detail(d: dict) -> str:
    mark = {True: "ok", False: "wrong", None: "undecided"}.get(d.get("ok"), "undecided")
    return f"{_clip(d.get('what', ''))} [{mark}]: expected {_clip(d.get('expected', ''))}, found {_clip(d.get('found', ''))}"


def slot(name: str) -> str:
    """A placeholder for what depends on the checks' verdicts, filled in once verify has run."""
    return raw_typst(f"// wb-slot {name}")


def assemble(pack: Pack, entries: list[Entry], who: Identity, date: str, files: dict[Path, str]) -> str:
    """The whole document as Markdown with TeX math and raw Typst calls to the preamble's helpers.

    The parts that depend on verify's verdicts (automatic critiques, the appendix) are slots: see slot_contents."""
    at_end = bool(pack.submission.get("programming_traces_at_end"))
    end_part = next((part.id for part in pack.parts if part.id == "programming"), pack.parts[-1].id if pack.parts else "")
    out = [raw_typst(f"// Writeup source (Markdown with TeX math, built by python cli.py build-writeup). The wb-* calls "
                     f"are defined in the preamble of {Path(output_names(pack)[0]).stem}.typ."),
           title_block(pack, who, entries, date)]
    ec = [e for e in entries if e.problem.extra_credit and e.pick.trace is not None]
    if ec:
        out.append("# Extra-credit attempts with LLMs {#extra-credit}")
        for e in ec:
            out += appended_trace(e, "Extra-credit attempt with an LLM, placed first as the handout asks.")
    shown: dict[str, str] = {}  # context paragraphs already printed, each once, above its first question (its id)
    for i, part in enumerate(pack.parts):
        out += [PAGEBREAK if i else "", f"# {md_text(part.title)} {{#part-{slug(part.id)}}}"]
        moved = at_end and part.id == end_part
        for e in (e for e in entries if e.problem.part == part.id):
            out += question(e, moved, files, shown, pending=True)
    tail = [e for e in entries if at_end and e.problem.part == end_part and e.shows_trace
            and not e.problem.extra_credit and e.pick.trace is not None]
    if tail:
        title = next(part.title for part in pack.parts if part.id == end_part)
        out += [PAGEBREAK, f"# Program traces: {md_text(title)} {{#traces-end}}"]
        for e in tail:
            out += appended_trace(e, "Appended at the end of the writeup, as the handout asks.")
    out += [PAGEBREAK, slot("appendix")]
    return "\n\n".join(s for s in out if s) + "\n"


def slot_contents(entries: list[Entry], verify_note: str, notes: list[str], files: dict[Path, str]) -> dict[str, str]:
    """The Markdown of every slot, from entries that carry verify's verdicts."""
    out = {f"critique-{e.problem.id}": "\n\n".join(critique_section(e, files)) for e in entries
           if may_need_auto_critique(e)}
    out["appendix"] = "\n\n".join(appendix(entries, verify_note, notes))
    return out


def fill_markdown(draft: str, contents: dict[str, str]) -> str:
    for name, text in contents.items():
        draft = draft.replace(slot(name), text)
    return draft


def fill_typst(body: str, contents: dict[str, str], source: Path) -> tuple[str, list[str]]:
    """Convert all slots with one pandoc call and put each in place of its marker line in the body."""
    joined = "\n\n".join(f"{slot(name)}\n\n{text}" for name, text in contents.items())
    typ, warnings = markdown_to_typst(joined, source)
    pieces: dict[str, list[str]] = {}
    current = None
    for line in typ.split("\n"):
        if line.startswith("// wb-slot "):
            current = pieces.setdefault(line[len("// wb-slot "):].strip(), [])
        elif current is not None:
            current.append(line)
    for name, lines in pieces.items():
        body = body.replace(f"// wb-slot {name}\n", "\n".join(lines).strip("\n") + "\n", 1)
    return body, warnings


# ---------------------------------------------------------------- build


def _with_source(warning: str, entries: list[Entry]) -> str:
    """A pandoc warning about some TeX math, prefixed with the file that holds it (a solution or a problem record)."""
    m = re.match(r"Could not convert TeX math (.+?), shown as TeX source$", warning, re.S)
    if not m:
        return warning
    for e in entries:
        texts = [(e.problem.path, e.problem.statement + e.problem.context)]
        if e.solution:
            texts.insert(0, (e.solution.path, e.solution.solution + e.solution.critique))
        for where, text in texts:
            if m.group(1).strip() in text:
                return f"{shown_path(Path(where))}: {warning}"
    return warning


def glyph_warnings(entries: list[Entry]) -> list[str]:
    """The student's and the pack's text with characters the bundled fonts cannot draw (traces are escaped)."""
    out = []
    for e in entries:
        sources = [(e.problem.path, " ".join((e.problem.title, e.problem.context, e.problem.statement)))]
        if e.solution:
            sources.append((str(e.solution.path), e.solution.solution + e.solution.critique))
        for where, text in sources:
            chars = glyphless(text)
            if chars:
                shown = ", ".join(f"U+{ord(c):04X} ({c})" for c in chars[:6])
                out.append(f"{shown_path(Path(where))}: no glyph in the bundled fonts for {shown}; they print as empty boxes")
    return out



def output_names(pack: Pack) -> tuple[str, str]:
    pdf = str(pack.submission.get("writeup") or f"{pack.name}-writeup.pdf")
    notebook = str(pack.submission.get("notebook") or f"{pack.name}-code.ipynb")
    return pdf, notebook


FAILED_BUILD = "failed-build"  # inside --out: the sources of the last build that pandoc or typst refused


def build_writeup(pack_name: str = "a2", out: str | Path | None = None, name: str | None = None,
                  student_id: str | None = None, verify: bool = True, notebook: bool = True) -> WriteupResult:
    """Build PDF, its .md/.typ sources and the notebook; missing pieces become boxes, never crashes."""
    start = time.perf_counter()
    pack = load_pack(pack_name)
    # absolute, as the default build/ and train's runs: the files named are found from any folder; resolved, as the
    # system reads `link/..`
    out_dir = Path(out).resolve() if out else build_dir()
    if inside_traces(out_dir):
        raise WriteupError(f"cannot write the writeup to {out}: traces/ holds only the LLM's traces",
                           "write it elsewhere, e.g. --out build")
    reason = make_folder(out_dir)  # before the build: a bad --out would fail after all the work
    if reason:
        raise WriteupError(f"cannot write the writeup to {out_dir}: {reason}",
                           "give --out a folder you can write to (it is created if missing)")
    _check_assets_are_ours(out_dir / ASSETS)
    source_date_epoch()  # a malformed one fails here, not after all the work
    # Everything is built in a hidden folder inside out_dir and moved in when complete: an interrupted or
    # failed build leaves the previous PDF, sources, notebook and figures as they were, never a mix.
    remove_orphans(out_dir, re.compile(r"\.building-(\d+)-[a-z0-9_]+"))  # those of builds killed by SIGKILL
    stage = Path(tempfile.mkdtemp(dir=out_dir, prefix=f".building-{os.getpid()}-"))
    try:
        result = _build(pack, stage, name, student_id, verify, notebook, start)
        built = (result.markdown, result.typst, result.notebook, result.pdf)  # the PDF last
        _swap_in(stage, out_dir, [ASSETS, *(b.name for b in built if b is not None)])
        shutil.rmtree(out_dir / FAILED_BUILD, ignore_errors=True)  # an earlier failure's sources are stale now
    except WriteError as exc:  # a full disk: it named a file in the stage, which is about to go
        raise exc.moved(stage, out_dir) from None
    except WriteupError as exc:  # pandoc or typst refused a source: keep the sources its message names
        kept = out_dir / FAILED_BUILD
        shutil.rmtree(kept, ignore_errors=True)
        os.replace(stage, kept)
        raise WriteupError(exc.message.replace(str(stage), str(kept)), exc.fix) from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return replace(result, pdf=out_dir / result.pdf.name, markdown=out_dir / result.markdown.name,
                   typst=out_dir / result.typst.name, notebook=result.notebook and out_dir / result.notebook.name)


def _swap_in(stage: Path, out_dir: Path, names: list[str]) -> None:
    """Move the built `names` from stage into out_dir. The previous outputs are set aside first, so one that cannot
    be moved (on Windows, a PDF open in a viewer) stops the swap before anything new is in place, and all go back.
    Two builds into one --out swap one after the other: interleaved, they left a mix of both, or a traceback."""
    with folder_lock(out_dir):
        _swap(stage, out_dir, names)


def _swap(stage: Path, out_dir: Path, names: list[str]) -> None:
    aside, moved, current = [], [], None
    try:
        for current in names:
            if os.path.lexists(out_dir / current):
                os.replace(out_dir / current, stage / f"old-{current}")
                aside.append(current)
        for current in names:
            os.replace(stage / current, out_dir / current)
            moved.append(current)
    except BaseException as exc:  # also Ctrl-C: the stage, where the previous outputs are now, is about to go
        for name in moved:  # the new outputs go, those the previous build did not have too
            if (out_dir / name).is_dir():
                shutil.rmtree(out_dir / name)
            else:
                (out_dir / name).unlink(missing_ok=True)
        for name in aside:  # the previous outputs go back, whole
            os.replace(stage / f"old-{name}", out_dir / name)
        if not isinstance(exc, OSError):
            raise
        raise WriteError(f"cannot replace {out_dir / current}: {exc.strerror or exc}",
                         "close it in any program that has it open (a PDF viewer), then build again; "
                         "the previous outputs are as they were") from None


def _check_assets_are_ours(assets: Path) -> None:
    """A build replaces --out/files/ whole, so it must be one a build made: marked, or (before the marker) PNGs only."""
    if not assets.is_dir() or (assets / ASSETS_MARK).is_file():
        return
    foreign = sorted(p.name for p in assets.iterdir() if not (p.is_file() and p.suffix == ".png"))
    if foreign:
        raise WriteupError(f"{assets} holds files no writeup build made ({', '.join(foreign[:3])}); a build replaces it",
                           "move them elsewhere, or build into another --out")


def _build(pack: Pack, out_dir: Path, name, student_id, verify: bool, notebook: bool, start: float) -> WriteupResult:
    name, student_id = (name or "").strip(), (student_id or "").strip()  # a blank flag is no name
    config = configured_student() if not (name and student_id) else Identity()
    who = Identity(name or config.name, student_id or config.student_id)
    entries = collect(pack)
    pdf_name, nb_name = output_names(pack)
    stem = Path(pdf_name).stem
    md_path, typ_path, pdf_path = out_dir / f"{stem}.md", out_dir / f"{stem}.typ", out_dir / pdf_name
    files: dict[Path, str] = {}
    epoch = source_date_epoch()
    date = (datetime.now(timezone.utc) if epoch is None else datetime.fromtimestamp(epoch, timezone.utc)).strftime("%Y-%m-%d")
    draft = assemble(pack, entries, who, date, files)
    # pandoc converts the bulk of the document on the other core while the pack's checks run here
    with ThreadPoolExecutor(max_workers=1) as pool:
        converting = pool.submit(markdown_to_typst, draft, md_path)
        checked, verify_note = run_verification(pack) if verify else ({}, "not run (--no-verify)")
        entries = with_verdicts(entries, checked)
        notes = []
        if not who.name:
            notes.append("missing student name: pass --name or set [student] name in workbench.toml")
        if not who.student_id:
            notes.append("missing student number: pass --student-id or set [student] id in workbench.toml")
        contents = slot_contents(entries, verify_note, notes, files)
        if verify_note:
            notes.append(f"verification {verify_note}")
        judged = [(pid, rep.own_verdict) for pid, rep in checked.items()
                  if rep.own_verdict and rep.own_verdict.status in ("incorrect", "partial")]
        if judged:  # present, so not on the checklist; verify counts them as points at risk
            notes.append("own solutions the checks judge wrong: " + ", ".join(
                f"{pid} ({v.status}{f' {v.score:.2f}' if v.status == 'partial' else ''})" for pid, v in judged)
                + "; see `python cli.py verify`")
        atomic_write(md_path, fill_markdown(draft, contents).encode("utf-8"))
        body, warnings = converting.result()
    body, more = fill_typst(body, contents, md_path)
    warnings = [_with_source(w, entries) for w in warnings]
    warnings += (more + glyph_warnings(entries) + image_warnings(entries) + figure_warnings(entries)
                 + stray_solution_notes(pack) + damaged_run_notes(pack))
    # the checklist already names them where no trace could be shown; elsewhere they would go unnoticed
    warnings += [f"unreadable trace {bad} (see `python cli.py traces verify`)" for e in entries
                 if e.pick.issue not in ("unreadable", "pin-not-found") for bad in e.pick.unreadable]
    warnings += [f"{e.problem.id}: showing the newest intact trace {e.pick.trace.path.name}; newer, edited: "
                 f"{', '.join(e.pick.passed_over)} (see `python cli.py traces verify`)" for e in entries if e.pick.passed_over]
    warnings += [f"{e.problem.id}: {note}; trace {e.pick.trace.path.name} is shown; "
                 f"{mend_stale(e.pick.trace, e.problem)}"
                 for e in entries if e.pick.usable and (note := stale_note(e.pick.trace, e.problem))]
    asset_dir = out_dir / ASSETS
    asset_dir.mkdir(exist_ok=True)
    target = asset_dir / ASSETS_MARK
    try:  # plain writes: the whole build is staged (build_writeup), so a failed one leaves nothing behind
        target.write_text("figures of a writeup build; the next build replaces this folder\n")
        for src, dest in files.items():
            target = asset_dir / dest
            shutil.copyfile(src, target)
    except OSError as exc:  # a full disk: a traceback before
        raise cannot_write(target, exc) from exc
    title = f"{pack.course}: {pack.title}"
    atomic_write(typ_path, (preamble(title, who.name or "student") + "\n" + body).encode("utf-8"))
    warnings += [f"typst: {w}" for w in compile_pdf(typ_path, pdf_path)]
    nb_path = None
    if notebook:
        from workbench.notebook import build_notebook

        nb_path = out_dir / nb_name
        build_notebook(pack, entries, who, nb_path)
    return WriteupResult(pdf_path, md_path, typ_path, nb_path, [e.report for e in entries], notes, warnings,
                         time.perf_counter() - start)
