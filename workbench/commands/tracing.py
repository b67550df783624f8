"""`traces` (list, show, verify, cite) and `import-chat`: the user's evidence of LLM use."""

from __future__ import annotations

import re

from workbench.commands.catalog import add_pack_option
from workbench.console import console, external, one_line, print_json, print_warning
from workbench.errors import MissingWorkError, UsageError, WorkbenchError
from workbench.paths import path_arg

TRACES_USAGE = "traces [ID] | traces show FILE [--raw] | traces verify | traces cite ID"
_CODE = re.compile(r"(^[ \t]*```.*?^[ \t]*```[ \t]*$|`[^`\n]+`)", re.S | re.M)
_MATH = re.compile(r"\$\$.+?\$\$|\\\[.+?\\\]|\\\(.+?\\\)|(?<![\\$])\$(?=\S)[^$\n]+?(?<=[^\s\\])\$(?!\d)", re.S)


def register(sub) -> None:
    p = sub.add_parser("traces", help="list traces; `traces show FILE`, `traces verify`, `traces cite ID`",
                       usage=f"cli.py {TRACES_USAGE} [--json] [--pack PACK]",
                       description="List the saved traces (all, or one problem's), render one, check every hash, "
                                   "or print citation lines. FILE is a path under traces/, a file name or a hash prefix. "
                                   "Exit 0: ok (`verify` names a stale trace, one whose problem changed since, and still "
                                   "exits 0); 1: `verify` found an edited, moved or unreadable trace, or `cite` found "
                                   "no intact trace; 2: bad input.")
    p.add_argument("words", nargs="*", metavar="ARGS", help="ID | show FILE | verify | cite ID")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--raw", action="store_true", help="show: the messages as written, not rendered as Markdown "
                                                      "(where `*`, `_` or `<` in plain text would turn into styling)")
    p.add_argument("--pack", help="problem pack: a name under problems/ or a folder; list, verify and cite only its "
                                  "traces (default: list and verify every pack's, cite a2's)")
    p.set_defaults(func=cmd_traces)

    p = sub.add_parser("import-chat", help="import a ChatGPT or Claude export or a Markdown transcript as a trace",
                       description="Save a conversation held elsewhere as a trace marked `imported`. FILE is a ChatGPT "
                                   "or Claude (claude.ai) data export (conversations.json or its .zip; which one is read "
                                   "from the content) or a Markdown transcript with "
                                   "`## User` / `## ChatGPT`, `**User:**` / `**Assistant:**` or `You said:` / "
                                   "`ChatGPT said:` lines; - reads either from stdin. Exit 0: imported; 2: bad input (the file, the conversation, "
                                   "the problem, or a conversation already imported).")
    p.add_argument("file", metavar="FILE", type=path_arg("FILE", "file", stdin=True),
                   help="conversations.json, the export .zip, or a .md transcript; - for stdin")
    p.add_argument("--problem", required=True, metavar="ID", help="the problem the conversation answers")
    p.add_argument("--conversation", metavar="TITLE_OR_ID",
                   help="which conversation of an export (title or id; for Claude its name or uuid)")
    p.add_argument("--model", help="the model used; required for a Claude export (it names none) and for a Markdown "
                                   "transcript that does not name it")
    p.add_argument("--url", help="the address the citation names: the conversation's share link or the service "
                                 "(e.g. https://claude.ai/share/...); default: https://chatgpt.com for ChatGPT exports "
                                 "and for transcripts whose speaker lines say ChatGPT, https://claude.ai for Claude "
                                 "exports, none otherwise")
    add_pack_option(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_import_chat)


def cmd_traces(args) -> int:
    words = list(args.words)
    action = words.pop(0) if words and words[0] in ("show", "verify", "cite", "list") else "list"
    expected = {"list": (0, 1), "show": (1, 1), "verify": (0, 0), "cite": (1, 1)}[action]
    if not expected[0] <= len(words) <= expected[1]:
        raise UsageError(f"wrong arguments for `traces {action}`: {' '.join(args.words)!r}", f"usage: {TRACES_USAGE}")
    if args.raw and action != "show":
        raise UsageError(f"--raw is for `traces show`, not `traces {action}`", f"usage: {TRACES_USAGE}")
    args.only = _pack_filter(args.pack) if action in ("list", "verify") and args.pack else None  # none: every pack's
    if args.pack and action in ("show", "cite"):  # a misspelt pack is refused, not read past as if it named one
        from workbench.problems import load_pack

        load_pack(args.pack)
    args.pack = args.pack or "a2"
    return {"list": _list, "show": _show, "verify": _verify, "cite": _cite}[action](words[0] if words else None, args)


def _scan(problem_id: str | None, pack: str):
    """Readable and unreadable traces; an id with neither must be a problem of the pack (else rc 2, with the fix)."""
    from workbench.traces import scan_traces

    traces, bad = scan_traces(problem_id)
    if problem_id and not traces and not bad:
        from workbench.problems import load_pack

        load_pack(pack).get(problem_id)
    return traces, bad


def _of_pack(traces: list, problem_id: str, pack: str) -> tuple[list, list[str]]:
    """The traces of the pack's own problem `problem_id` (traces/<id>/ is shared by every pack: a3's 3.1 is no
    evidence for a2's 3.1), and, when some were left out, [the pack's name, the other packs' names...]. An id the
    pack does not have keeps every trace."""
    from workbench.problems import load_pack

    loaded = load_pack(pack)
    try:
        name = loaded.get(problem_id).pack
    except UsageError:  # not a problem of this pack
        return traces, []
    mine = [t for t in traces if t.data.get("pack", name) == name]
    others = sorted({str(t.data.get("pack")) for t in traces if t not in mine})
    return mine, ([name] + others if others else [])


def _pack_filter(pack: str):
    """Whether a trace (or an unreadable trace's problem folder) belongs to `pack`: by the pack the trace names, or,
    for a trace that names none (written before traces did) or cannot be read, by its problem being the pack's."""
    from workbench.problems import load_pack

    loaded = load_pack(pack)  # an unknown pack is refused here, not listed as having no traces
    ids = {p.id for p in loaded.problems}

    def mine(problem: str, data: dict | None = None) -> bool:
        named = (data or {}).get("pack")
        return named == loaded.name if named else problem in ids
    return mine


def _list(problem_id: str | None, args) -> int:
    from workbench.problems import load_pack
    from workbench.traces import stale_among

    traces, bad = _scan(problem_id, args.pack)
    if args.only:
        traces = [t for t in traces if args.only(t.problem, t.data)]
        bad = [(f, why) for f, why in bad if args.only(f.parent.name)]
        if problem_id and not traces and not bad:  # as with no traces at all: the id must be the pack's
            load_pack(args.pack).get(problem_id)
    # intact but asked of a question since edited: marked, still citeable (as `traces verify` names it, exit 0)
    stale = {t.path: note for t, _, note in stale_among(traces, load_pack(args.pack) if args.only else None)}
    if args.json:
        print_json([dict(t.summary(), stale=stale.get(t.path)) for t in traces] +
                   [{"file": str(f), "problem": f.parent.name, "intact": False, "unreadable": why} for f, why in bad])
        return 0
    if not traces and not bad:
        from workbench.traces import commands_to_trace

        loaded = load_pack(args.pack) if args.only else None  # --pack given: the commands must name it
        flag = loaded.pack_flag() if loaded else ""
        whose = f" for {problem_id}" if problem_id else f" of pack {loaded.name}" if loaded else ""
        console.print(f"no traces{whose} yet — run {commands_to_trace('ID', flag)}", markup=False, soft_wrap=True)
        return 0
    from rich.table import Table

    wide = console.width >= 160  # the citation gets its own column only where it fits on one line
    table = Table(title=f"traces{' of ' + problem_id if problem_id else ''}")
    for col in ("problem", "date (UTC)", "model version", "strategy", "samples", "source", "hash") + ("citation",) * wide:
        table.add_column(col, overflow="fold")
    def cite(t) -> str:  # an edited or moved trace is refused by `traces cite` and the writeup: no line to paste
        return external(t.citation()) if t.intact else \
            f"[red]not to be cited: {external(t.fault)} (see `python cli.py traces verify`)[/]"

    for t in traces:
        samples = f"{len(t.samples)}" + (f"/{t.samples_requested}" if t.samples_requested != len(t.samples) else "")
        source = "[bold yellow]IMPORTED[/]" if t.imported else t.source
        digest = f"{t.short_hash} [bold yellow]STALE[/]" if t.path in stale else t.short_hash if t.intact else \
            f"[bold red]{external(t.short_hash)} {'EDITED' if 'edited' in t.fault else 'MOVED'}[/]"
        table.add_row(external(t.problem), external(t.started_at[:16].replace("T", " ")), external(t.model_version),
                      external(t.strategy), samples, source, digest, *(cite(t),) * wide)
    for f, why in bad:
        table.add_row(external(f.parent.name), "-", "-", "-", "-", "-", "[bold red]UNREADABLE[/]",
                      *(external(why),) * wide)
    console.print(table)
    if not wide:  # a citation and a file name are the trace's or the user's strings: shown literally
        for t in traces:
            console.print(f"[dim]{external(t.short_hash)}[/] {cite(t)}", soft_wrap=True, highlight=False)
    for f, why in bad:
        console.print(f"[bold red]UNREADABLE[/] {external(one_line(f'{f}: {why}'))}", soft_wrap=True, highlight=False)
    unreadable = f", {len(bad)} unreadable" if bad else ""
    changed = f", {len(stale)} stale (its problem changed since it was asked)" if stale else ""
    console.print(f"{len(traces)} trace(s){unreadable}{changed}; check them with `python cli.py traces verify`")
    return 0


def _show(ref: str, args) -> int:
    from workbench.traces import find_trace

    trace = find_trace(ref)
    if args.json:
        print_json(dict(trace.data, file=str(trace.path), intact=trace.intact, citation=trace.citation()))
        return 0
    render_trace(trace, raw=args.raw)
    return 0


def _verify(_, args) -> int:
    from workbench.problems import load_pack
    from workbench.traces import mend_stale, scan_traces, stale_traces, verify_traces

    scanned = scan_traces()  # read once for both checks
    count, bad = verify_traces(keep=args.only, scanned=scanned)
    # intact but asked of a question since edited: named, not failed (the evidence is whole; its question is old)
    stale = stale_traces(keep=args.only, pack=load_pack(args.pack) if args.only else None, scanned=scanned)
    if args.json:
        print_json({"checked": count, "bad": [{"file": str(f), "reason": why} for f, why in bad],
                    "stale": [{"file": str(t.path), "problem": t.problem, "date": t.started_at, "reason": note,
                               "fix": mend_stale(t, p)} for t, p, note in stale]})
        return 1 if bad else 0
    for f, why in bad:
        console.print(f"[bold red]FAILED[/] {external(one_line(f'{f}: {why}'))}", soft_wrap=True)
    for t, p, note in stale:
        console.print(f"[bold yellow]STALE[/] {external(one_line(f'{t.path}: {note}; {mend_stale(t, p)}'))}", soft_wrap=True)
    also = f"; {len(stale)} stale (see above)" if stale else ""
    if bad:
        console.print(f"{len(bad)} of {count} trace(s) failed verification — restore them with `git checkout -- traces/` "
                      f"or delete them and prompt again{also}")
    elif count == 0:  # '0 trace(s) verified: every hash matches' read as evidence checked and sound
        from workbench.traces import commands_to_trace

        flag = load_pack(args.pack).pack_flag() if args.only else ""
        console.print(f"no traces yet, nothing to verify — run {commands_to_trace('ID', flag)}", markup=False,
                      soft_wrap=True)
    else:
        console.print(f"{count} trace(s) verified: every hash matches its content{also}")
    return 1 if bad else 0


def _cite(ref: str, args) -> int:
    from workbench.problems import ID_PATTERN, load_pack, pack_flag
    from workbench.traces import commands_to_trace, find_trace, mend_stale, scan_traces, stale_among

    if "." in ref and ID_PATTERN.match(ref):
        traces, bad = _scan(ref, args.pack)
        traces, theirs = _of_pack(traces, ref, args.pack)
        if not traces and theirs:
            from workbench.paths import problems_dir

            # a trace records its pack's name only: a pack given by its folder cannot be named by a flag that works
            other = (f"--pack {theirs[1]}" if (problems_dir() / theirs[1] / "pack.yaml").is_file()
                     else f"--pack and the folder of pack {theirs[1]!r}")
            raise MissingWorkError(f"no traces for problem {ref} of pack {theirs[0]!r}: traces/{ref}/ holds only "
                                   f"traces of pack {', '.join(map(repr, theirs[1:]))}",
                                   f"cite those with {other}, or run `python cli.py prompt {ref}{pack_flag(args.pack, None)}` first")
    else:  # a hash prefix or a file name; digits alone may also be an id
        traces, bad = scan_traces(ref) if ID_PATTERN.match(ref) else ([], [])
        if not traces and not bad:
            traces = [find_trace(ref)]
    for f, why in bad:
        print_warning(f"unreadable trace {f}: {why}; not cited")
    skipped = [t for t in traces if not t.intact]  # an edited or moved trace is no evidence: citing it would vouch for it
    for t in skipped:
        print_warning(f"trace {t.path}: {t.fault}; not cited")
    traces = [t for t in traces if t.intact]
    if not traces:
        if bad or skipped:
            raise MissingWorkError(f"no intact trace for {ref}", "restore the files above from git, or prompt again")
        raise MissingWorkError(f"no traces for problem {ref}",
                               f"run {commands_to_trace(ref, pack_flag(args.pack, None))} first")
    # intact, so still cited, but its answers are to the question as it was: said beside the line to paste
    stale = {}
    for t, problem, note in stale_among(traces, load_pack(args.pack)):
        print_warning(f"trace {t.path}: {note}, cited as it is; {mend_stale(t, problem)}")
        stale[t.path] = note
    shown, pinned, note = _writeup_choice(traces, args.pack)
    if args.json:
        print_json([{"file": str(t.path), "citation": t.citation(), "intact": t.intact, "shown": t is shown,
                     "pinned": t is shown and pinned, "stale": stale.get(t.path)} for t in traces])
        return 0
    for t in traces:  # stdout holds only the lines to paste; which one the writeup shows is a note beside them
        console.print(t.citation(), markup=False, soft_wrap=True)
    if note:
        print_warning(note, "note")
    return 0


def _writeup_choice(traces: list, pack: str):
    """(the trace among `traces` build-writeup shows or None, whether the solution's `trace:` pins it, a note saying
    which it shows and how to show another). It asks evidence.pick_trace, as the writeup does; another pack's: none."""
    from workbench.evidence import pick_trace
    from workbench.paths import shown_path
    from workbench.problems import load_pack
    from workbench.solutions import load_solution, solution_path

    loaded = load_pack(pack)
    problem_ids = {t.problem for t in traces}
    if len(problem_ids) != 1 or not any(p.id in problem_ids for p in loaded.problems) or \
            any(t.data.get("pack", loaded.name) != loaded.name for t in traces):
        return None, False, ""
    (problem_id,) = problem_ids
    where = shown_path(solution_path(loaded.name, problem_id))
    try:
        solution = load_solution(loaded.name, problem_id)
    except WorkbenchError as exc:  # build-writeup stops at it too: what is wrong, and the fix
        fix = f" — {exc.fix}" if exc.fix else ""
        return None, False, f"which trace build-writeup shows is unknown: {exc.message}{fix}"
    pin = solution.trace if solution else None
    pick = pick_trace(problem_id, pin, pack=loaded.name)
    if not pick.usable:
        return None, False, (f"build-writeup shows none of these: {pick.detail}; pin one of them in {where} "
                             "(`trace: HASH`), or remove its `trace:` line to show the newest intact one")
    shown = next((t for t in traces if t.path == pick.trace.path), None)
    which = f"build-writeup shows trace {pick.trace.short_hash}" + \
        (f", pinned by `trace: {pin}` in {where}" if pin else " (the newest intact one)") + \
        ("" if shown else ", not this one")
    how = ("change that line (without it: the newest intact one)" if pin
           else f"put `trace: HASH` in {where}'s front matter")
    return shown, bool(pin), f"{which}; to show another, {how}"


def cmd_import_chat(args) -> int:
    from pathlib import Path

    from workbench.atomic import folder_lock
    from workbench.chat_import import existing_import, import_trace
    from workbench.paths import traces_dir
    from workbench.problems import load_pack
    from workbench.traces import check_problem_id, load_trace, trace_folder, write_trace

    problem = load_pack(args.pack).get(check_problem_id(args.problem))
    trace_folder(problem.id)  # a blocked traces/<id> is said first, in the same words as for prompt
    data = import_trace(Path(args.file), problem, args.conversation, args.model, args.url)
    traces_dir().mkdir(parents=True, exist_ok=True)
    with folder_lock(traces_dir()):  # two imports at once: the second sees the first's trace, not a duplicate
        duplicate = existing_import(data)
        if duplicate:
            raise UsageError(f"this conversation is already imported for {problem.id}: {duplicate}",
                             f"cite that trace (`python cli.py traces cite {problem.id}{problem.pack_flag()}`); nothing was written")
        path = write_trace(data)
    trace = load_trace(path)
    info = trace.data["import"]
    turns = sum(1 for m in trace.samples[0]["messages"] if m["role"] == "user")
    if args.json:
        print_json(dict(trace.summary(), title=info["title"], turns=turns))
        return 0
    console.print(f"[bold yellow]IMPORTED[/] {external(repr(info['title'] or info['file']))}: {turns} user turn(s), "
                  f"model {external(trace.model_version)}", soft_wrap=True)
    console.print(one_line(f"saved {path}"), markup=False, soft_wrap=True)
    console.print(f"cite: {trace.citation()}", markup=False, soft_wrap=True)
    return 0


def protect_math(text: str) -> str:
    """Markdown with its TeX turned into code, so `_`, `*` and `\\` in math reach the screen intact."""

    def as_code(match: re.Match) -> str:
        math, src = match.group(0), match.string
        own_lines = (match.start() == 0 or src[match.start() - 1] == "\n") and src[match.end():match.end() + 1] in ("", "\n")
        if own_lines and math.startswith(("$$", "\\[")):
            return f"```latex\n{math}\n```"
        math = " ".join(math.split("\n"))
        fence = "``" if "`" in math else "`"
        return f"{fence}{math}{fence}"

    pieces = _CODE.split(text)  # odd pieces are code already: leave them alone
    return "".join(p if i % 2 else _MATH.sub(as_code, p) for i, p in enumerate(pieces))


def render_markdown(text: str):
    from markdown_it import MarkdownIt
    from rich.markdown import Markdown

    # hyperlinks=False: a link shows as "text (address)", never as text whose address only a click reveals
    md = Markdown(protect_math(text), hyperlinks=False)
    # rich's parser reads HTML and then drops it (`List<int>` lost `<int>`, a `<details>` block vanished): read it as text
    md.parsed = MarkdownIt("commonmark", {"html": False}).enable("strikethrough").enable("table").parse(md.markup)
    for token in md.parsed:
        if token.children:
            token.children = visible_addresses(token.children)
    return md


def visible_addresses(tokens: list) -> list:
    """Inline tokens with each image as text naming its address, and a bare link (<https://x>) as its text alone,
    so rich's "text (address)" shows every address once."""
    from markdown_it.token import Token

    out = []
    for token in tokens:
        if token.type == "image":  # rich shows only the alt text (or the file's name)
            alt, src = token.content, str(token.attrs.get("src", ""))
            token = Token("text", "", 0, content=f"image {alt} ({src})" if alt else f"image {src}")
        elif token.type == "link_close" and len(out) > 1 and [t.type for t in out[-2:]] == ["link_open", "text"] \
                and str(out[-2].attrs.get("href", "")) in (out[-1].content, f"mailto:{out[-1].content}"):
            del out[-2]  # its text is its address: drop the link, keep the text
            continue
        out.append(token)
    return out


def render_trace(trace, raw: bool = False) -> None:
    """The transcript: a header with provenance, each sample's messages by role, then the exchanges."""
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    status = ("[green]hash intact[/]" if trace.intact else "[bold red]EDITED: the hash no longer matches[/]"
              if "edited" in trace.fault else f"[bold red]MOVED: {external(trace.fault)}[/]")
    # everything but our own styling comes from the trace (a server's or an export's strings): shown literally
    head = [f"problem {external(trace.problem)} · strategy {external(trace.strategy or '-')} · {len(trace.samples)} sample(s)"
            + (f" of {trace.samples_requested} requested" if trace.samples_requested != len(trace.samples) else ""),
            f"model {external(trace.model_version)} · provider {external(trace.base_url or '-')} · {external(trace.started_at)} "
            f"· {status}", f"cite: {external(trace.citation())}"]
    if trace.imported:
        info = trace.data.get("import") or {}
        head.insert(0, external(f"from {info.get('origin', trace.source)}: {info.get('file', '')} "
                              f"(sha256 {str(info.get('file_sha256', ''))[:12]}) {info.get('title', '')!r}"))
        head[0] = "[bold yellow]IMPORTED[/] " + head[0]
    for error in trace.data.get("errors", []):
        head.append(f"[red]failed sample:[/] {external(str(error))}")
    console.print(Panel("\n".join(head), title=external(trace.path.name), title_align="left",
                        border_style="yellow" if trace.imported else "blue"))
    first = trace.samples[0]["messages"] if trace.samples else []
    for sample, reasonings in zip(trace.samples, trace.reasonings()):
        if len(trace.samples) > 1:
            console.rule(f"sample {sample['index'] + 1}")
        turn = 0
        for i, m in enumerate(sample["messages"]):
            turn += m["role"] == "user"
            label = {"system": "system", "user": f"user · turn {turn}",
                     "assistant": f"assistant · turn {turn}" + (" (imported)" if trace.imported else "")}
            style = {"system": "dim", "user": "cyan", "assistant": "green"}.get(m["role"], "white")
            if sample is not trace.samples[0] and m["role"] != "assistant" and i < len(first) and first[i] == m:
                # the prompt every sample was sent: printed once, not once a sample (--json has every message)
                console.print(f"[dim]{external(label.get(m['role'], m['role']))}: as in sample 1[/]")
                continue
            reasoning = reasonings.pop(0) if m["role"] == "assistant" else ""
            if reasoning:  # what the model thought before answering: shown first, never taken for the answer
                console.print(Panel(Text(reasoning) if raw else render_markdown(reasoning), border_style="dim",
                                    title=f"assistant · turn {turn} · reasoning (not part of the answer)",
                                    title_align="left"))
            content = m.get("content") or ""
            body = Text(content) if raw else render_markdown(content)
            console.print(Panel(body, title=external(label.get(m["role"], m["role"])),
                                title_align="left", border_style=style))
    table = Table(title="exchanges", title_justify="left", show_edge=False)
    for col in ("sample", "turn", "model", "fingerprint", "response id", "tokens", "latency", "attempts", "finish"):
        table.add_column(col, overflow="fold")
    for ex in trace.data.get("exchanges", []):
        usage = ex.get("usage") or {}
        table.add_row("all" if ex.get("sample") is None else str(ex["sample"] + 1), str((ex.get("turn") or 0) + 1),
                      *(external(str(ex.get(k) or "-")) for k in ("model", "system_fingerprint", "response_id")),
                      external(usage.get("total_tokens", "-")), f"{ex['latency_s']:.2f} s" if ex.get("latency_s") else "-",
                      external(ex.get("attempts") or "-"),
                      external(", ".join(str(c.get("finish_reason") or "-") for c in ex.get("choices", []))))
    console.print(table)
