"""`reference`, `check` and `verify`: reference answers, checking one answer, the readiness report."""

from __future__ import annotations

from pathlib import Path

from workbench.commands.catalog import add_pack_option
from workbench.console import (console, external, fmt_points, print_error, print_json, print_warning, read_stdin,
                               value_text)
from workbench.errors import LLMError, UsageError
from workbench.paths import path_arg, project_hint

ANSWER_LIMIT = 16 * 2**20  # bytes of an answer: /dev/zero as the answer file read until memory ran out
STATUS_STYLE = {"correct": "green", "partial": "yellow", "incorrect": "red", "unchecked": "dim", "missing": "red"}


def add_judge_options(p, timeout: bool = True) -> None:
    """--judge and its --base-url, and (for commands that run many checks) --timeout per check."""
    p.add_argument("--judge", metavar="MODEL", help="grade free-text answers against key points with this model; "
                                                    "each grade is kept under .cache/judge/ and reused when the same "
                                                    "answer is graded again (same model, endpoint, key points)")
    p.add_argument("--base-url", metavar="URL", help="OpenAI-compatible endpoint for --judge, e.g. "
                                                     "http://localhost:11434/v1 (env OPENAI_BASE_URL)")
    p.add_argument("--rejudge", action="store_true", help="with --judge: grade every answer afresh, ignoring and "
                                                          "replacing the grades kept under .cache/judge/")
    if timeout:
        p.add_argument("--timeout", type=float, default=60.0, metavar="S", help="time limit per check in seconds (default 60)")


def check_timeout(seconds: float) -> None:
    """--timeout must be a finite positive number: the check's wait overflows on inf and returns at once on nan."""
    if not 0 < seconds < float("inf"):  # written this way to catch nan too
        raise UsageError(f"--timeout {seconds:g} is not a time limit", "give a positive number of seconds, e.g. --timeout 60")


def register(sub) -> None:
    p = sub.add_parser("reference", help="compute and show the reference answer of a problem",
                       description="Compute and show the reference answer of a problem with the pack's solver "
                                   "(free-text problems show the key points a full answer makes). Exit 0: shown; "
                                   "2: bad input (an unknown problem or pack).")
    p.add_argument("id", help="problem id, e.g. 3.1")
    add_pack_option(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_reference)

    p = sub.add_parser("check", help="check one answer (a solution file or plain text) against the reference",
                       description="Check one answer against the pack's reference solver and draft a critique. "
                                   "Exit 0: correct or not checkable automatically (unchecked); 1: incorrect, partial "
                                   "or missing; 2: bad input; 3: the --judge model failed; 130: interrupted.")
    p.add_argument("id", help="problem id, e.g. 2.2.3")
    p.add_argument("file", metavar="FILE", type=path_arg("FILE", "file", stdin=True),
                   help="answer file (Markdown with optional front matter, LaTeX or text; a .ipynb notebook: its code "
                        "cells as Python blocks), or - for stdin")
    add_pack_option(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_judge_options(p, timeout=False)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("verify", help="readiness report: deliverables, own-solution and trace verdicts, points at risk",
                       description="Check every problem's deliverables (traces, own solutions, critiques, plots), the "
                                   "model's answers and your own against the reference solvers, and the points at risk. "
                                   "Exit 0: ready to hand in (a stale trace, asked before its problem changed, is "
                                   "named but still counts); 1: not ready (see the report); 2: bad input; 3: the "
                                   "--judge model failed; 130: interrupted.")
    p.add_argument("--problem", action="append", metavar="ID", help="only this problem (repeatable)")
    add_pack_option(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_judge_options(p)
    p.set_defaults(func=cmd_verify)


def cmd_reference(args) -> int:
    from workbench.verify import reference_answer

    out = reference_answer(args.pack, args.id)
    if args.json:
        print_json(out)
        return 0
    console.print(f"[bold]{external(out['problem'])}[/] reference answer")  # the pack's reference() may name it
    if out.get("reason"):
        console.print(f"[dim]unchecked: {external(out['reason'])}[/]")
    # a free-text problem has no answer or key, only key points; formulas as written (a repr doubled each backslash)
    shown = {key: value for key, value in out.items() if key not in ("problem", "reason") and value is not None}
    console.print(value_text(shown), markup=False, soft_wrap=True)
    return 0


def _named(path: str) -> str:
    """The answer's file as check's messages name it: its path as given, or stdin for -."""
    return "stdin" if path == "-" else path


def _read_answer(path: str) -> str:
    # read as bytes, as UTF-8, from a file as from stdin (a UTF-16 answer read in the locale's encoding was checked
    # as mojibake, "not judged"), with \r\n and \r read as \n (a fence ending "```\r" is no fence)
    if path == "-":
        raw = read_stdin("pipe UTF-8 text, or pass the file's name", ANSWER_LIMIT + 1)
    else:
        try:
            with Path(path).open("rb") as file:
                raw = file.read(ANSWER_LIMIT + 1)
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}",
                             "pass a readable UTF-8 text file, or - for stdin" + project_hint(path)) from None
    if len(raw) > ANSWER_LIMIT:
        raise UsageError(f"the answer in {_named(path)} is longer than {ANSWER_LIMIT // 2**20} MB", "pass the answer's own text file")
    try:
        # without the byte-order mark Windows editors put first: a notebook behind one was read as text, not JSON
        text = raw.decode("utf-8").removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:  # in the words solution files and problem records use, not the codec's
        where = f"byte {raw[exc.start]:#04x} at offset {exc.start}"
        raise UsageError(f"cannot read {_named(path)}: not UTF-8 text ({where})",
                         "pipe UTF-8 text, or pass the file's name" if path == "-" else "save it as UTF-8 text") from None
    if not text.strip():
        raise UsageError(f"{_named(path)} is empty", "give the answer text to check")
    return text


def judge_from_args(args):
    """The --judge grader of check, verify and study (None without --judge), the flags that need one checked."""
    if args.judge is not None and not args.judge.strip():  # taken as no --judge, free text was silently unchecked
        raise UsageError(f"--judge {args.judge!r} names no model", "give the grader's name, e.g. --judge gpt-4o, or drop --judge")
    if not args.judge:
        if args.base_url is not None:  # silently unused, it would look like the endpoint had been checked
            raise UsageError("--base-url is the endpoint of the --judge model, and no --judge was given",
                             "add --judge MODEL, or drop --base-url")
        if args.rejudge:  # likewise: nothing would be graded again
            raise UsageError("--rejudge grades the answers again with the --judge model, and no --judge was given",
                             "add --judge MODEL, or drop --rejudge")
        return None
    from workbench.judge import make_judge

    return make_judge(args.judge, args.base_url, rejudge=args.rejudge)


def _warn_other_problem(text: str, problem_id: str, path: str) -> None:
    """A solution file written for another problem is checked as asked, but most likely by mistake."""
    from workbench.errors import ProblemError
    from workbench.solutions import split_front_matter

    try:
        front, _ = split_front_matter(text)
    except ProblemError:
        return  # check_text reports it
    claimed = (front or {}).get("problem")
    if claimed is not None and str(claimed) != problem_id:
        print_warning(f"{_named(path)} says `problem: {claimed}` in its front matter, but is checked against "
                      f"{problem_id}; is that the right id?")


def _notebook_as_markdown(text: str) -> str:
    """A Jupyter notebook (the handout's code is one) as the Markdown it shows: its code cells as Python blocks,
    which the code checks read; its JSON read as text held none. Any other text is returned as it is."""
    import json

    if not text.lstrip().startswith("{"):
        return text
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return text
    cells = data.get("cells") if isinstance(data, dict) and "nbformat" in data else None
    if not isinstance(cells, list):
        return text
    parts = []
    for cell in cells:
        if not isinstance(cell, dict):  # a damaged notebook is read as far as it goes
            continue
        source = cell.get("source", "")
        source = "".join(map(str, source)) if isinstance(source, list) else str(source)
        parts.append(f"```python\n{source}\n```" if cell.get("cell_type") == "code" else source)
    return "\n\n".join(parts) + "\n"


def _refuse_trace(text: str, pack: str, problem_id: str, path: str) -> None:
    """A trace file read as answer text finds no formula in its JSON escapes: it would pass as `unchecked`."""
    import json

    from workbench.problems import load_pack
    from workbench.traces import SCHEMA

    if not text.lstrip().startswith("{"):
        return
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # ValueError: also int()'s limit on a number of over 4300 digits
        return
    if isinstance(data, dict) and data.get("schema") == SCHEMA:
        ref, loaded = str(data.get("hash") or "")[:12] or "HASH", load_pack(pack)
        # the solution file that may pin it is its own problem's: verify never reads a trace of 3.3 for 3.1
        own = str(data.get("problem") or problem_id)
        of = "" if own == problem_id else f" of {own}"
        raise UsageError(f"{_named(path)} is a trace{of}, not an answer (check reads answer text)",
                         f"to check its answers, put `trace: {ref}` in the front matter of solutions/"
                         f"{loaded.name}/{own}.md and run `python cli.py verify --problem {own}"
                         f"{loaded.pack_flag()}`")


def judge_failure_exit(judge) -> int:
    """After the report: a grader the user asked for that failed is an LLM failure (exit 3), not a pass."""
    if judge is None or not judge.failures:
        return 0
    n = len(judge.failures)
    print_error(LLMError(f"the model grader {judge.model} failed on {n} answer{'s' * (n > 1)} (left unchecked above): "
                         f"{judge.failures[0]}", "check --judge MODEL, --base-url / OPENAI_BASE_URL and OPENAI_API_KEY, then run it again"))
    return LLMError.exit_code


def print_cached_grades(judge) -> None:
    """After a text report: how many grades cost no request, and how to have them graded again."""
    n = judge.from_cache if judge is not None else 0
    if n:
        console.print(f"{n} model grade{'s' * (n > 1)} from the cache (.cache/judge/, no request made); "
                      "--rejudge grades afresh", markup=False, soft_wrap=True)


def cmd_check(args) -> int:
    from workbench.problems import load_pack
    from workbench.verify import check_text

    # the command line first: with `-` the answer is read from stdin, which waits for as long as nobody types
    load_pack(args.pack).get(args.id)
    judge = judge_from_args(args)
    text = _notebook_as_markdown(_read_answer(args.file))
    _refuse_trace(text, args.pack, args.id, args.file)
    _warn_other_problem(text, args.id, args.file)
    label = "stdin" if args.file == "-" else Path(args.file).name  # the verdict's subject: the name, not the path
    verdict = check_text(args.pack, args.id, text, judge=judge, label=label)
    if args.json:
        print_json(verdict.to_dict())
    else:
        _print_verdict(verdict)
        print_cached_grades(judge)
    return judge_failure_exit(judge) or (0 if verdict.status in ("correct", "unchecked") else 1)


def _print_verdict(v) -> None:
    from rich.table import Table

    style = STATUS_STYLE.get(v.status, "")
    console.print(f"[bold]{v.problem}[/] {external(v.subject)}: [{style}]{v.status}[/] (score {v.score:.2f})")  # a file's name
    if v.reason:
        console.print(f"[dim]{external(v.reason)}[/]")
    if v.details:
        table = Table(show_header=True, header_style="bold")
        for col in ("what", "expected", "found", "ok"):
            table.add_column(col, overflow="fold")
        for d in v.details:
            ok = {True: "[green]yes[/]", False: "[red]no[/]", None: "[dim]?[/]"}[d["ok"]]
            if d["ok"] and (d.get("credit") or 0) < 1:
                ok = "[yellow]partly[/]"
            found = external(value_text(d["found"])) + (f"\n[dim]{external(d['note'])}[/]" if d.get("note") else "")
            table.add_row(external(str(d["what"])), external(value_text(d["expected"])), found, ok)
        console.print(table)
    if v.critique:
        console.print(v.critique, markup=False)


def cmd_verify(args) -> int:
    from workbench.problems import load_pack
    from workbench.verify import ready, summary, verify_pack

    check_timeout(args.timeout)
    judge = judge_from_args(args)
    reports = verify_pack(args.pack, args.problem, judge=judge, timeout_s=args.timeout)
    info = summary(reports)
    strays = _stray_solutions(args.pack)
    if args.json:
        print_json({"reports": [r.to_dict() for r in reports], "summary": info, "ignored_files": strays})
    else:
        _print_reports(reports, info, load_pack(args.pack))
        print_cached_grades(judge)
        for line in strays:
            print_warning(line)
    return judge_failure_exit(judge) or (0 if ready(reports) else 1)


def _stray_solutions(pack) -> list[str]:
    """What under solutions/ is not read: misnamed solution files, and pinned runs too damaged to read."""
    from workbench.problems import load_pack
    from workbench.solutions import stray_solution_notes
    from workbench.verify import damaged_runs

    pack = load_pack(pack)
    return stray_solution_notes(pack) + damaged_runs(pack)


def _verdict_cell(v) -> str:
    if v is None:
        return "[dim]—[/]"
    style = STATUS_STYLE.get(v.status, "")
    score = f" {v.score:.2f}" if v.status == "partial" else ""
    return f"[{style}]{v.status}{score}[/]"


def _print_reports(reports, info, pack) -> None:
    from rich.table import Table

    from workbench.traces import commands_to_trace
    from workbench.verify import NO_TRACE_NOTE

    table = Table(title="verify: readiness per problem")
    for col, kw in (("id", {}), ("pts", {"justify": "right"}), ("Type", {"justify": "center"}), ("present", {}),
                    ("missing", {}), ("own", {}), ("traces", {}), ("at risk", {"justify": "right"})):
        table.add_column(col, overflow="fold", **kw)
    for r in reports:
        present = ", ".join(d for d in r.required if r.present.get(d)) or "—"
        missing = ", ".join(r.missing) or "—"
        traces = [v for v in r.verdicts if v.subject != "own"]
        trace_cell = " ".join(_verdict_cell(v) for v in traces) if traces else "[dim]—[/]"
        table.add_row(r.problem, fmt_points(r.points), str(r.type), present,
                      f"[red]{missing}[/]" if r.missing and r.points > 0 else missing,
                      _verdict_cell(r.own_verdict), trace_cell,
                      f"[red]{fmt_points(r.points_at_risk)}[/]" if r.points_at_risk else "0",
                      style=None if r.points > 0 else "dim")
    console.print(table)
    own = ", ".join(f"{n} {s}" for s, n in info["own_status"].items() if n) or "none yet"
    n, points = info["problems"], info["points"]
    console.print(f"{n} problem{'s' * (n != 1)}, {fmt_points(points)} point{'s' * (points != 1)}; own solutions: {own}; "
                  f"points at risk: {fmt_points(info['points_at_risk'])}")
    shared: dict[str, list[str]] = {}  # a note several problems have (no trace yet) is one line naming them all
    for r in reports:
        for note in r.notes:
            shared.setdefault(note, []).append(r.problem)
    for note, ids in shared.items():
        pid = ids[0] if len(ids) == 1 else "ID"
        fix = f" — get one with {commands_to_trace(pid, pack.pack_flag())}" if note == NO_TRACE_NOTE else ""
        console.print(f"[dim]{', '.join(ids)}: {external(note)}{external(fix)}[/]")
    for piece, what in (("solution", "no “## Solution” of your own"), ("critique", "no “## Critique” of the model's answer")):
        ids = [r.problem for r in reports if piece in r.missing and r.points > 0]
        if ids:  # the table says the piece is missing, not where one goes
            console.print(f"[dim]{', '.join(ids)}: {what}: write one in "
                          f"solutions/{external(pack.name)}/{ids[0] if len(ids) == 1 else 'ID'}.md[/]")
    for r in reports:
        own_v = r.own_verdict
        if own_v and own_v.status in ("incorrect", "partial") and own_v.critique:
            console.print(f"{r.problem}: {own_v.critique}", markup=False)
        elif own_v and own_v.reason and (own_v.status == "missing" or not own_v.details):
            # what is missing and how to get it; why nothing was judged (the pack's check failed)
            console.print(f"{r.problem}: {own_v.reason}", markup=False)
    console.print("[green]ready[/]" if info["ready"] else "[red]not ready[/]: see the missing deliverables and verdicts above")
