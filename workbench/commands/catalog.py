"""`list` and `show`: browse a problem pack."""

from __future__ import annotations

import argparse

from workbench.console import console, counted, external, fmt_points, print_json
from workbench.problems import Pack, Problem, load_pack


def add_pack_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pack", default="a2", help="problem pack: a name under problems/ or a folder (default: a2)")


def register(sub) -> None:
    p = sub.add_parser("list", help="list the problems of a pack with Type, points and deliverables",
                       description="List the problems of a pack: id, title, points, Type label, kind (written, "
                                   "coding, plot) and deliverables, with totals per part. Exit 0: listed; 2: bad input (an unknown or "
                                   "malformed pack).")
    add_pack_option(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", help="show one problem: statement, context, hints, deliverables",
                       description="Show one problem in full: statement, context, hints, deliverables; with "
                                   "--prompt, the exact messages a strategy would send (nothing is sent). Exit 0: "
                                   "shown; 2: bad input (an unknown problem, strategy or pack).")
    p.add_argument("id", help="problem id, e.g. 2.2.3")
    add_pack_option(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--prompt", metavar="STRATEGY", help="print the exact chat messages a strategy would send (nothing is sent)")
    p.set_defaults(func=cmd_show)


def pack_summary(pack: Pack) -> dict:
    totals = {}
    for part in pack.parts:
        probs = [p for p in pack.problems if p.part == part.id]
        totals[part.id] = {"title": part.title, "problems": len(probs), "points": sum(p.points for p in probs)}
    return {
        "pack": pack.name,
        "title": pack.title,
        "course": pack.course,
        "version": pack.version,
        "problems": [_row(p) for p in pack.problems],
        "totals": totals,
        "points": sum(p.points for p in pack.problems),
    }


def _row(p: Problem) -> dict:
    return {
        "id": p.id,
        "title": p.title,
        "part": p.part,
        "points": p.points,
        "type": p.type,
        "kind": p.kind,
        "extra_credit": p.extra_credit,
        "answer": p.answer,
        "deliverables": list(p.deliverables),
        "graded": p.graded,
    }


def cmd_list(args) -> int:
    pack = load_pack(args.pack)
    if args.json:
        print_json(pack_summary(pack))
        return 0
    from rich.table import Table

    # Names and titles come from the pack's YAML: printed literally ("[a, b]" is not rich markup).
    table = Table(title=external(f"{pack.course} — {pack.title} (v{pack.version})"))
    for col, kw in (("id", {}), ("title", {}), ("pts", {"justify": "right"}), ("Type", {"justify": "center"}),
                    ("kind", {}), ("deliverables", {})):
        table.add_column(col, overflow="fold", **kw)
    for part in pack.parts:
        probs = [p for p in pack.problems if p.part == part.id]
        table.add_section()
        for p in probs:
            deliver = ", ".join(p.deliverables) + ("" if p.graded else " (optional)")
            table.add_row(external(p.id), external(p.title), fmt_points(p.points), str(p.type), p.kind, deliver,
                          style=None if p.graded else "dim")
        total = sum(p.points for p in probs)
        table.add_row("", f"[bold]{external(part.title)}: {counted(len(probs), 'problem')}[/]", f"[bold]{fmt_points(total)}[/]",
                      "", "", "")
    console.print(table)
    console.print(f"{counted(len(pack.problems), 'problem')}, {counted(sum(p.points for p in pack.problems), 'point')}")
    return 0


def cmd_show(args) -> int:
    pack = load_pack(args.pack)
    problem = pack.get(args.id)
    if args.prompt:
        from workbench.prompts import load_strategy, render

        messages = render(load_strategy(args.prompt), problem)
        if args.json:
            print_json({"problem": problem.id, "strategy": args.prompt, "turns": messages})
        else:
            from workbench.prompts import print_turns

            print_turns(messages)
        return 0
    if args.json:
        print_json(problem.to_dict())
        return 0
    _render_problem(problem)
    return 0


def _render_problem(p: Problem) -> None:
    from rich.panel import Panel
    from rich.text import Text

    # Plain text, not rich Markdown: Markdown would eat TeX (`\|`, `\\`, `_..._`).

    flags = f"Type {p.type} · {fmt_points(p.points)} pt" + (" · extra credit" if p.extra_credit else "")
    flags += "" if p.graded else " · not graded (optional)"
    title = f"[bold]{external(f'{p.id} {p.title}')}[/]"
    console.print(Panel(Text(p.statement), title=title, subtitle=flags, expand=True))
    if p.context:
        console.print(Panel(Text(p.context), title="context", border_style="dim"))
    if p.hints:
        console.print(Panel(Text("\n".join(f"- {h}" for h in p.hints)), title="hints", border_style="dim"))
    console.print(f"[bold]deliverables:[/] {', '.join(p.deliverables)}   [bold]answer form:[/] {p.answer}   "
                  f"[bold]kind:[/] {p.kind}")
