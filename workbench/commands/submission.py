"""`build-writeup`: the writeup PDF (with its .md/.typ sources) and the code notebook, plus the checklist."""

from __future__ import annotations

from workbench.commands.catalog import add_pack_option
from workbench.console import console, counted, err_console, external, fmt_points, one_line
from workbench.paths import path_arg


def register(sub) -> None:
    p = sub.add_parser("build-writeup", help="build the writeup PDF, its Markdown/Typst sources and the code notebook",
                       description="Build the writeup PDF (with its .md/.typ sources) and the code notebook from traces, "
                                   "critiques, own solutions, pinned runs and citations; anything missing is a red box "
                                   "in the PDF and a row of the checklist printed (warnings, e.g. an image not shown, "
                                   "go to stderr). The previous outputs stay as they "
                                   "were unless the build completes. Exit 0: built; 1: built, but --strict and "
                                   "something required is missing; 2: bad input or the build failed; 130: Ctrl-C.")
    add_pack_option(p)
    p.add_argument("--out", default=None, type=path_arg("--out", "folder", write=True),
                   help="output folder (default: build/ in the project)")
    p.add_argument("--name", default=None, help="student name for the title (default: [student] name in workbench.toml)")
    p.add_argument("--student-id", default=None, help="student number (default: [student] id in workbench.toml)")
    p.add_argument("--strict", action="store_true", help="exit with status 1 when anything required is missing")
    p.add_argument("--no-verify", action="store_true", help="skip the pack's checks (faster; the appendix says so)")
    p.set_defaults(func=cmd_build_writeup)


def cmd_build_writeup(args) -> int:
    from workbench.writeup import build_writeup

    result = build_writeup(args.pack, out=args.out, name=args.name, student_id=args.student_id,
                          verify=not args.no_verify)
    print_checklist(result)
    # warnings on stderr, as every command's: `build-writeup > report.txt` must still show them
    for line in result.warnings:  # file names and pandoc's text may hold [brackets]: never markup
        err_console.print(f"[yellow]warning:[/] {external(one_line(line))}", markup=True, highlight=False, soft_wrap=True)
    for path in (result.pdf, result.markdown, result.typst, result.notebook):
        if path is not None:
            console.print(one_line(f"wrote {path}"), markup=False, soft_wrap=True)
    console.print(f"built in {result.seconds:.1f} s")
    if args.strict and result.incomplete:
        err_console.print("[red]--strict: required pieces are missing (see the checklist)[/]")
        return 1
    return 0


def print_checklist(result) -> None:
    """One row per question with something required missing (or a note), then the totals."""
    from rich.table import Table

    table = Table(title="Writeup checklist", show_lines=False)
    for col, kw in (("Q", {}), ("pts", {"justify": "right"}), ("Type", {"justify": "center"}), ("missing", {}),
                    ("at risk", {"justify": "right"}), ("notes", {})):
        table.add_column(col, overflow="fold", **kw)
    complete = 0
    for r in result.checklist:
        if not r.missing and not r.notes:
            complete += 1
            continue
        missing = ", ".join(r.missing)
        table.add_row(r.problem, fmt_points(r.points), str(r.type), f"[red]{external(missing)}[/]" if missing else "ok",
                      fmt_points(r.points_at_risk), external("; ".join(r.notes)))
    if table.row_count:
        console.print(table)
    console.print(f"{complete} of {len(result.checklist)} questions complete; "
                  f"{counted(result.points_at_risk, 'point')} at risk")
    for note in result.notes:
        style = "red" if note.startswith("missing") else "yellow"
        console.print(f"[{style}]{external(note)}[/]")
