"""`prompt` and `chat`: send problems to an LLM and save citeable traces (plus `traces`, `import-chat`)."""

from __future__ import annotations

import re
import sys
import threading

from workbench.commands import tracing
from workbench.commands.catalog import add_pack_option
from workbench import console as console_state
from workbench.console import (ReaderGone, console, counted, err_console, external, one_line, paste_command,
                               print_error, print_json, print_line, print_warning)
from workbench.errors import Interrupted, LLMError, TraceError, UsageError, WorkbenchError


CHAT_COMMANDS = ("/retry", "/quit", "/exit")


def add_llm_options(p) -> None:
    g = p.add_argument_group("model settings (flags > workbench.toml [llm] > OPENAI_* environment)")
    g.add_argument("--model", "-m", help="model name (default gpt-4o; env OPENAI_MODEL)")
    g.add_argument("--base-url", help="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 (env OPENAI_BASE_URL)")
    g.add_argument("--temperature", type=float, help="sampling temperature, 0-2")
    g.add_argument("--top-p", type=float, help="nucleus sampling, (0, 1]")
    g.add_argument("--seed", type=int, help="sampling seed, for providers that honour it")
    g.add_argument("--max-tokens", type=int, help="longest answer, in tokens")
    g.add_argument("--timeout", type=float, help="seconds per request (default 120)")


def register(sub) -> None:
    p = sub.add_parser("prompt", help="send problems to an LLM with a prompt strategy; save a citeable trace each",
                       description="Render a problem with a strategy (prompts/*.yaml), send it turn by turn and save "
                                   "the exchange under traces/<id>/. The API key comes from OPENAI_API_KEY only. "
                                   "Exit 0: every trace saved; 2: bad input or settings, or a trace that could not be saved (a full "
                                   "disk: no further problem is sent, the answer is kept in the temp folder); 3: the LLM failed (also when "
                                   "only some samples or problems did: their traces are kept); 130: Ctrl-C.")
    p.add_argument("ids", nargs="*", metavar="ID", help="problem ids (or use --all)")
    p.add_argument("--all", action="store_true", help="every graded problem whose deliverables include a trace")
    p.add_argument("--type", metavar="1,2", help="graded problems of these Types instead (implies --all)")
    p.add_argument("--missing", action="store_true",
                   help="skip problems that already have an intact trace of this model, base URL and strategy with at "
                        "least --samples answers, or are covered by an imported chat of this model (named: it is no "
                        "trace of the base URL); a stale one (asked before the problem's record changed) does not count")
    p.add_argument("--strategy", "-s", default="direct",
                   help="prompt strategy from prompts/: direct (default), hinted, decompose, self-critique, code")
    p.add_argument("--samples", "-n", type=int, default=1, help="independent answers in the trace (default 1)")
    p.add_argument("--stream", action="store_true", help="show the answer live as it arrives")
    p.add_argument("--dry-run", action="store_true", help="print the messages and settings; send nothing")
    p.add_argument("--jobs", "-j", type=int, default=4, help="problems in flight at once with several ids (default 4)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_pack_option(p)
    add_llm_options(p)
    p.set_defaults(func=cmd_prompt)

    p = sub.add_parser("chat", help="talk to an LLM about a problem in the terminal; saved as one trace",
                       description="Starts from the strategy's rendered prompt; type follow-ups. An empty line or "
                                   "/quit ends and saves the conversation; /retry resends a message that failed, or "
                                   "else asks the last question again. A failed message is left out of the "
                                   "conversation (the next one is sent without it) and listed again at the end. "
                                   "Exit 0: saved; 2: bad input or settings; 3: nothing was answered, so nothing "
                                   "was saved; 130: Ctrl-C (what was answered is saved).")
    p.add_argument("id", help="problem id")
    p.add_argument("--strategy", "-s", default="direct", help="prompt strategy to start from (default: direct)")
    p.add_argument("--no-stream", action="store_true", help="print each answer when complete instead of live")
    add_pack_option(p)
    add_llm_options(p)
    p.set_defaults(func=cmd_chat)



def _settings(args, *, stream: bool, require_key: bool = True):
    from workbench.llm_settings import resolve_settings

    return resolve_settings(model=args.model, base_url=args.base_url, temperature=args.temperature, top_p=args.top_p,
                            seed=args.seed, max_tokens=args.max_tokens, timeout=args.timeout, stream=stream,
                            require_key=require_key)


def cmd_prompt(args) -> int:
    from workbench.problems import load_pack, parse_types
    from workbench.runner import select_problems

    problems = select_problems(load_pack(args.pack), args.ids, every=args.all, types=parse_types(args.type))
    for flag, value in (("--samples", args.samples), ("--jobs", args.jobs)):
        if value < 1:
            raise UsageError(f"{flag} {value} is not a positive number", f"use {flag} 1 or more")
    problems, skipped = _servable(problems, args)
    several = len(problems) > 1 or args.all or bool(args.type)
    batch = several or args.missing  # --missing reports what it skipped: the batch's report, whatever is left
    if args.stream and batch:
        raise UsageError("--stream shows one problem's answer live; it does not combine with "
                         + ("several problems" if several else "--missing"),
                         "drop --stream, or prompt one problem at a time" + ("" if several else " without --missing"))
    settings = _settings(args, stream=args.stream, require_key=not (args.dry_run or args.missing))
    traced, stale = {}, {}
    if args.missing:
        problems, traced, stale = _untraced(problems, args, settings)
        if problems and not args.dry_run:  # the key is needed only once something is to be sent
            settings = _settings(args, stream=args.stream)
    if args.dry_run:
        return _dry_run(problems, args, settings, skipped, traced, stale)
    from workbench.traces import trace_folder

    for problem in problems:  # before any paid request: an answer that cannot be saved is lost
        trace_folder(problem.id)
    if batch:
        return _batch(problems, args, settings, skipped, traced, stale)
    return _single(problems[0], args, settings)


def _servable(problems, args):
    """(problems the strategy can render, ids skipped). Named ids must all be servable; from --all/--type the
    others are skipped with a note, so one record without e.g. `spec:` does not cost the whole batch."""
    from workbench.prompts import load_strategy, missing_fields

    strategy = load_strategy(args.strategy)
    lacking = {p.id: missing_fields(strategy, p) for p in problems}
    unserved = [pid for pid, names in lacking.items() if names]
    if not unserved:
        return problems, []
    fields = ", ".join(dict.fromkeys(n for pid in unserved for n in lacking[pid]))
    what = f"strategy {strategy.name!r} needs the record's {fields}, which {', '.join(unserved)} lack{'s' * (len(unserved) == 1)}"
    if args.ids or len(unserved) == len(problems):
        raise UsageError(what, "choose another strategy (e.g. direct), or leave those ids out")
    err_console.print(f"skipped: {what}", markup=False, soft_wrap=True)
    return [p for p in problems if p.id not in unserved], unserved


def _untraced(problems, args, settings):
    """(the problems --missing still sends, {id left out: the trace that covers it}, {id sent again: its stale trace}):
    one line per kind of trace. An imported chat is its own provider's answer, never the asked provider's result (study
    keeps it apart too): it covers the problem so that the model's answer is not paid for again, and its line says how
    to ask anyway. A stale trace (its problem changed since) covers nothing: the problem is asked again."""
    from workbench.prompts import load_strategy
    from workbench.runner import traced_already

    strategy = load_strategy(args.strategy).name
    found, stale = traced_already(problems, strategy, settings.model, settings.public_base_url, args.samples)
    of = f" of {args.samples} samples or more" if args.samples > 1 else ""
    traced = [i for i, t in found.items() if not t.imported]
    if traced:
        err_console.print(f"skipped {counted(len(traced), 'problem')} that already {'has' if len(traced) == 1 else 'have'} "
                          f"a {settings.model} / {strategy} trace from {settings.public_base_url}{of} (--missing): "
                          f"{', '.join(traced)}", markup=False, soft_wrap=True)
    chats = [i for i, t in found.items() if t.imported]
    if chats:
        err_console.print(f"skipped {counted(len(chats), 'problem')} covered by an imported {settings.model} chat "
                          f"(--missing): {', '.join(chats)}; an imported chat is no trace of "
                          f"{settings.public_base_url}: to have it answer too, `{_rerun_command(args, chats)}`",
                          markup=False, soft_wrap=True)
    api = f"{settings.model} / {strategy} trace from {settings.public_base_url}{of}"
    for ids, what in (([i for i, t in stale.items() if not t.imported], api),
                      ([i for i, t in stale.items() if t.imported], f"imported {settings.model} chat")):
        if ids:  # its answers are to the question as it was: the user wants an answer to the question as it is
            err_console.print(f"asking {counted(len(ids), 'problem')} again whose {what} is stale (its problem changed "
                              "since) (--missing): " + ", ".join(f"{i} ({stale[i].started_at[:10]})" for i in ids),
                              markup=False, soft_wrap=True)
    left = [p for p in problems if p.id not in found]
    if not left:  # named as the lines above name them: an imported chat is no such trace
        cover = " or ".join(what for what, ids in (("such a trace", traced),
                                                   (f"an imported {settings.model} chat", chats)) if ids)
        err_console.print(f"nothing left to send: every problem selected has {cover} (drop --missing to ask again)",
                          markup=False, soft_wrap=True)
    return left, found, stale


def _already(traced: dict | None, stale: dict | None = None) -> dict:
    """--json's already_traced (the ids --missing left out), already_traced_by: per id, the trace that covers it
    and whether it is an imported chat (the model's answer held elsewhere, not a result of the provider asked), and
    stale_traced: the ids sent again because their only such trace is stale."""
    traced = traced or {}
    return {"already_traced": list(traced),
            "already_traced_by": {i: {"file": str(t.path), "imported": t.imported} for i, t in traced.items()},
            "stale_traced": list(stale or {})}


def _dry_run(problems, args, settings, skipped=(), traced=None, stale=None) -> int:
    import os

    from workbench.llm_settings import PLACEHOLDER_KEY
    from workbench.prompts import load_strategy, print_turns, render

    strategy = load_strategy(args.strategy)
    rendered = [(p, render(strategy, p)) for p in problems]
    key = ("set" if os.environ.get("OPENAI_API_KEY") else
           "not needed" if settings.api_key == PLACEHOLDER_KEY else "missing")
    request = settings.request(args.samples)
    if args.json:
        print_json({"dry_run": True, "strategy": strategy.name, "provider": {"base_url": settings.public_base_url},
                    "request": request, "api_key": key,
                    "problems": [{"problem": p.id, "turns": m} for p, m in rendered], "skipped": list(skipped),
                    **_already(traced, stale)})
        return 0
    if not rendered:  # --missing left nothing: its lines said so
        return 0
    for p, messages in rendered:
        console.rule(external(f"{p.id} {p.title} · strategy {strategy.name}"))
        print_turns(messages)
    settings_line = ", ".join(f"{k}={v}" for k, v in request.items() if v is not None)
    note = {"set": "set (OPENAI_API_KEY)", "not needed": "not needed (local server)",
            "missing": "MISSING: set OPENAI_API_KEY before sending"}[key]
    console.print(f"[bold]would send to[/] {external(f'{settings.public_base_url}: {settings_line}; API key {note}')}",
                  soft_wrap=True)
    console.print("dry run: nothing was sent")
    return 0


class _Thinking:
    """While a reasoning model thinks (minutes, with nothing of the answer to show), one dim line on stderr counts its
    words, so a thinking model is not taken for a hung one: "thinking… 312 words", updated in place after whatever
    the line already holds, and erased by clear() before the answer is shown. The reasoning itself is never shown.
    Only on a terminal: piped or redirected stderr gets nothing, so scripts and logs stay clean; so does a dumb one
    (TERM=dumb, e.g. Emacs' shell), which cannot step back over the line: it showed the escape codes as text."""

    def __init__(self):
        self.out = err_console.file if err_console.is_terminal and not err_console.is_dumb_terminal else None
        self.label = "thinking…" if (err_console.encoding or "").lower().startswith("utf") else "thinking..."
        self.lock = threading.Lock()
        self.words, self.in_word, self.shown = 0, False, 0

    def __call__(self, *args) -> None:
        """A piece of reasoning (the last argument; those before it say whose, as on_delta's do)."""
        text = args[-1]
        with self.lock:
            if self.out is None or not text:
                return
            before = self.words
            self.words += len(text.split()) - (self.in_word and not text[0].isspace())  # a word split across pieces
            self.in_word = not text[-1].isspace()
            if self.words != before:
                self._write(f"{self.label} {self.words} word{'s' * (self.words != 1)}")

    def clear(self) -> None:
        """Erase the line (the answer, or an error, is about to be shown) and count afresh for the next reply."""
        with self.lock:
            if self.out is not None and self.shown:
                self._write("")
            self.words, self.in_word = 0, False

    def _write(self, status: str) -> None:
        erase = f"\x1b[{self.shown}D\x1b[K" if self.shown else ""  # back over the last status, not the whole line
        self.out.write(erase + (f"\x1b[2m{status}\x1b[0m" if status else ""))
        self.out.flush()
        self.shown = len(status)


class _LiveAnswers:
    """Streamed answers shown as they arrive: one panel per sample, turns separated. Until the first answer piece
    a reasoning model's thinking is counted on stderr (_Thinking); the live view starts only then, as both would
    redraw the same terminal line."""

    def __init__(self):
        from rich.live import Live

        self.parts: dict[tuple[int, int], str] = {}
        self.lock = threading.Lock()
        self.live = Live(console=console, refresh_per_second=8, vertical_overflow="visible")
        self.thinking = _Thinking()
        self.started = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.thinking.clear()
        try:
            return self.live.__exit__(*exc) if self.started else None
        except ReaderGone:  # piped to `head`: the last frame is lost, the paid-for answer still goes into its trace
            return None

    def __call__(self, sample: int, turn: int, text: str) -> None:
        with self.lock:
            if not self.started:
                self.thinking.clear()
                self.live.__enter__()
                self.started = True
            self.parts[(sample, turn)] = self.parts.get((sample, turn), "") + text
            self.live.update(self._view())

    def reasoning(self, sample: int, turn: int, text: str) -> None:
        with self.lock:
            if not self.started:
                self.thinking(text)

    def _view(self):
        from rich.console import Group
        from rich.panel import Panel
        from rich.text import Text

        panels = []
        for sample in sorted({s for s, _ in self.parts}):
            turns = sorted(t for s, t in self.parts if s == sample)
            body = "\n\n".join((f"── turn {t + 1} ──\n" if len(turns) > 1 or t else "") + self.parts[(sample, t)]
                               for t in turns)
            panels.append(Panel(Text(body), title=f"sample {sample + 1}", title_align="left", border_style="green"))
        return Group(*panels)


def _single(problem, args, settings) -> int:
    from workbench.prompts import load_strategy
    from workbench.runner import run_problem
    from workbench.traces import load_trace, write_trace

    strategy = load_strategy(args.strategy)
    path = None
    try:
        if args.stream and not args.json:
            with _LiveAnswers() as live:
                trace = run_problem(problem, strategy, settings, samples=args.samples, on_delta=live,
                                    on_reasoning=live.reasoning)
        else:
            trace = run_problem(problem, strategy, settings, samples=args.samples)
        path = write_trace(trace)
        saved = load_trace(path)  # before any more output: a reader gone mid-print loses no answer
    except KeyboardInterrupt:  # a bare 'interrupted' left the student to guess whether a trace was kept
        if path:
            raise Interrupted(f"interrupted: the trace of {problem.id} was saved: {path}",
                              f"see it with `python cli.py traces show {path.name}`") from None
        raise Interrupted(f"interrupted: no trace saved for {problem.id} (a trace is written whole, once answered)",
                          f"ask again with `{_rerun_command(args, [problem.id])}`") from None
    except WorkbenchError as exc:
        if not args.json:
            raise
        print_error(exc)  # the one line on stderr as ever; scripts get the same on stdout
        print_json({"problem": problem.id, "file": None, "error": exc.message, "fix": exc.fix,
                    "exit_code": exc.exit_code, "samples": 0, "samples_requested": args.samples})
        return exc.exit_code
    errors = trace.get("errors", [])
    if args.json:
        print_json(dict(saved.summary(), answers=saved.answers(), cautions=saved.cautions(), errors=errors))
        return LLMError.exit_code if errors else 0
    if args.stream:
        console.print()
    else:
        for i, answer in enumerate(saved.answers()):
            from rich.panel import Panel

            # the model version is the server's string: shown as written, never as styling
            title = f"{problem.id} · {external(saved.model_version)}" + (f" · sample {i + 1}" if len(saved.samples) > 1 else "")
            console.print(Panel(tracing.render_markdown(answer), title=title, title_align="left", border_style="green"))
    _print_cautions({problem.id: saved.cautions()}, settings)
    for error in errors:
        print_warning(error, "failed sample")
    if errors:
        err_console.print(f"{len(saved.samples)} of {args.samples} samples completed; the trace keeps those")
    console.print(one_line(f"saved {saved.path}"), markup=False, soft_wrap=True)
    console.print(f"cite: {saved.citation()}", markup=False, soft_wrap=True)
    return LLMError.exit_code if errors else 0


def _print_cautions(cautions_by_problem: dict[str, list[str]], settings) -> None:
    """Warn about answers saved cut off, filtered, refused or empty: the trace keeps them as they came."""
    for problem_id, cautions in cautions_by_problem.items():
        for i, caution in enumerate(cautions):
            if caution:
                where = f"{problem_id} sample {i + 1}" if len(cautions) > 1 else problem_id
                err_console.print(f"[yellow]caution[/] {external(where)}: {external(caution)}", soft_wrap=True)
    from workbench.traces import CUT_OFF

    if any(CUT_OFF in cautions for cautions in cautions_by_problem.values()):
        now = f" (now {settings.max_tokens})" if settings.max_tokens else ""
        err_console.print(f"to get whole answers, prompt again with a larger --max-tokens{now}; the trace stays as "
                          "the record of what came back", markup=False, soft_wrap=True)


def _batch(problems, args, settings, skipped=(), traced=None, stale=None) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from workbench.runner import run_many

    if not problems:  # --missing left nothing: its lines said so
        if args.json:
            print_json({"outcomes": [], "failed": [], "skipped": list(skipped), **_already(traced, stale)})
        return 0
    progress = Progress(TextColumn("prompting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.description}"), console=err_console, transient=True)
    finished = []
    with progress:
        task = progress.add_task("", total=len(problems))

        def done(outcome) -> None:
            finished.append(outcome)
            progress.update(task, advance=1, description=f"{outcome.problem} {'ok' if outcome.ok else 'failed'}")

        try:
            outcomes = run_many(problems, args.strategy, settings, samples=args.samples, jobs=args.jobs, on_outcome=done)
        except KeyboardInterrupt:
            saved = [o.problem for o in finished if o.path]
            rest = [p.id for p in problems if p.id not in saved]
            raise Interrupted(f"interrupted: {len(saved)} of {len(problems)} problem(s) got a trace, each whole"
                              + (f" ({', '.join(saved)})" if saved else ""),
                              f"ask the others with `{_rerun_command(args, rest)}`") from None
    failed = [o for o in outcomes if not o.ok or o.error]
    if args.json:
        print_json({"outcomes": [{"problem": o.problem, "file": str(o.path) if o.path else None, "error": o.error,
                                  "samples": o.samples, "requested": o.requested, "seconds": round(o.seconds, 3),
                                  "requests": o.requests, "cautions": list(o.cautions),
                                  "mean_latency_s": None if o.mean_latency_s is None else round(o.mean_latency_s, 3)}
                                 for o in outcomes],
                    "failed": [o.problem for o in failed], "skipped": list(skipped), **_already(traced, stale)})
        return TraceError.exit_code if any(o.unsaved for o in failed) else LLMError.exit_code if failed else 0
    from rich.table import Table

    table = Table(title=external(f"prompt --strategy {args.strategy} · {settings.model} · {counted(len(problems), 'problem')}"),
                  caption="s/request: the model's mean time per request · wall s: start to saved trace")
    for col in ("problem", "status", "samples", "s/request", "wall s", "trace"):
        table.add_column(col, overflow="fold")
    for o in outcomes:
        status = ("[red]unsaved[/]" if o.unsaved else "[red]not sent[/]" if o.unsent else
                  "[red]failed[/]" if not o.ok else "[yellow]partial[/]" if o.error else
                  "[yellow]caution[/]" if any(o.cautions) else "[green]ok[/]")
        table.add_row(o.problem, status, f"{o.samples}/{o.requested}", f"{o.mean_latency_s:.1f}" if o.ok else "-",
                      f"{o.seconds:.1f}", str(o.path.name) if o.path else "-")
    console.print(table)
    _print_cautions({o.problem: list(o.cautions) for o in outcomes}, settings)
    for o in failed:
        if not o.unsent:  # an unsaved answer's line says where it is kept: one line each
            print_line(f"{'unsaved' if o.unsaved else 'failed' if not o.ok else 'partial'} {o.problem}: {o.error}")
    return _batch_exit(args, outcomes, failed)


def _batch_exit(args, outcomes, failed) -> int:
    """The batch's last line and exit code: 3 for the LLM's failures; 2 once a trace could not be saved (a file
    that cannot be written), when the answers kept elsewhere must not be asked for (and paid for) again."""
    if not failed:
        return 0
    unsaved = [o.problem for o in failed if o.unsaved]
    again = [o.problem for o in failed if not o.unsaved]
    if not unsaved:
        err_console.print(f"{len(failed)} of {len(outcomes)} problem(s) had failures; rerun them with "
                          f"`{_rerun_command(args, again)}`", markup=False, soft_wrap=True)
        return LLMError.exit_code
    rest = f"; then ask the others with `{_rerun_command(args, again)}`" if again else ""
    err_console.print(f"{len(unsaved)} trace(s) could not be saved in traces/ ({', '.join(unsaved)}); no further "
                      f"problem was sent. Fix the folder, then move each kept answer named above into it unchanged"
                      f"{rest}", markup=False, soft_wrap=True)
    return TraceError.exit_code


def _rerun_command(args, ids: list[str]) -> str:
    """The prompt command for `ids` with every flag given that shapes a trace (pack, strategy, samples, model
    settings): without them a rerun would ask another model, strategy or sample count."""
    argv = ["python", "cli.py", "prompt", *ids]
    if args.pack != "a2":
        argv += ["--pack", args.pack]
    if args.strategy != "direct":
        argv += ["--strategy", args.strategy]
    if args.samples != 1:
        argv += ["--samples", str(args.samples)]
    for flag in ("model", "base_url", "temperature", "top_p", "seed", "max_tokens", "timeout"):
        value = getattr(args, flag)
        if flag == "base_url" and value is not None:  # never print user:password or a query-string key: *** to fill in
            value = re.sub(r"\?[^#]*", "?***", re.sub(r"//[^/?#]*@", "//***@", value), count=1)
        if value is not None:
            argv += [f"--{flag.replace('_', '-')}", f"{value:g}" if isinstance(value, float) else str(value)]
    return paste_command(argv)


def cmd_chat(args) -> int:
    from rich.panel import Panel
    from rich.text import Text

    from workbench.chat import ChatSession
    from workbench.problems import load_pack
    from workbench.prompts import load_strategy
    from workbench.traces import UNFINISHED, check_problem_id, load_trace, trace_folder, write_trace

    problem = load_pack(args.pack).get(check_problem_id(args.id))
    strategy = load_strategy(args.strategy)
    settings = _settings(args, stream=not args.no_stream)
    trace_folder(problem.id)  # before the conversation: it could not be saved at the end
    prefix = f"[bold green]{external(settings.model)}[/] ›"
    # Piped (`chat ID > answers.md`), stdout holds the replies and the saved trace's lines; the banner, the
    # strategy's prompt, "model ›" and "you> " are for the person typing, on stderr.
    ui = console if _stdout_is_terminal() else err_console

    def on_turn(message) -> None:
        if strategy_turns and message is strategy_turns[0]:  # the rendered prompt: show what is sent
            ui.print(Panel(Text(strategy_turns.pop(0)["content"]), title="you (from the strategy)",
                           title_align="left", border_style="cyan"))
        ui.print(prefix, end=" ")
        partial.clear()

    thinking = _Thinking()
    partial: list[str] = []  # the reply being streamed since the last "model ›"

    def on_delta(_, text) -> None:
        thinking.clear()
        partial.append(text)
        console.print(text, end="", markup=False, highlight=False, soft_wrap=True)

    def end_lines() -> None:
        """A reply cut short by an error or Ctrl-C: end the prompt's line, and the reply's where it differs."""
        ui.print()
        if partial and ui is not console:
            console.print()
        partial.clear()

    def on_reply(text) -> None:
        thinking.clear()
        console.print(("" if settings.stream else text), markup=False, highlight=False, soft_wrap=True)
        partial.clear()
        if ui is not console:  # the reply went to stdout: end "model ›"'s line, or "you> " would follow on it
            ui.print()
        choice = session.exchanges[-1]["choices"][0]
        reason = choice.get("finish_reason")
        if reason == "length":
            err_console.print("[yellow]caution[/] this reply was cut off at the token limit: type \"continue\", or "
                              "/quit and chat again with a larger --max-tokens", soft_wrap=True)
        elif reason == "model_length":  # the conversation fills the context window: more turns cannot help
            err_console.print(f"[yellow]caution[/] {UNFINISHED[reason]}: /quit and start a shorter conversation, or "
                              "chat with a model that has a longer context", soft_wrap=True)
        elif reason in UNFINISHED:
            err_console.print(f"[yellow]caution[/] {UNFINISHED[reason]}: /retry asks again", soft_wrap=True)
        elif not text.strip():
            only = " (the model sent only its reasoning, kept in the trace)" if choice.get("reasoning") else ""
            err_console.print(f"[yellow]caution[/] this reply is empty{only}: /retry asks again", soft_wrap=True)

    def shown(show):
        """A reader gone mid-reply (`chat ... | head`) must not cut off the paid-for reply: it goes into the trace
        unshown, and the loop below ends the chat before sending anything more."""
        def call(*a) -> None:
            try:
                show(*a)
            except ReaderGone:
                pass
        return call

    session = ChatSession(problem, strategy, settings, on_turn=shown(on_turn), on_reply=shown(on_reply),
                          on_delta=shown(on_delta) if settings.stream else None,
                          on_reasoning=thinking if settings.stream else None)
    strategy_turns = list(session.pending)

    def say(action, *a) -> None:
        """One request; on failure print one line (what got no answer, what to do) and keep the session going."""
        try:
            action(*a)
        except LLMError as exc:
            thinking.clear()
            shown(end_lines)()
            print_error(session.failure(exc))
        except UsageError as exc:
            print_error(exc)

    ui.print(f"chat about {problem.id} {problem.title} with {settings.model} — empty line or /quit ends, "
             "/retry asks again", markup=False, soft_wrap=True)
    interrupted = False
    try:
        say(session.drain)
        while not console_state.reader_gone:
            try:
                line = _read_line("you> ")
            except EOFError:
                break
            except BrokenPipeError:  # input() writes its prompt to stdout, whose reader went away
                console_state.reader_went_away()
                break
            if line.lstrip().startswith("```") and line.count("```") == 1:  # a pasted code block is one message, its blank lines included
                block = [line]
                while True:
                    try:
                        block.append(_read_line("... "))
                    except EOFError:
                        break
                    if block[-1].strip().startswith("```"):
                        break
                line = "\n".join(block)
            command = line.strip()
            if command in ("", "/quit", "/exit"):
                break
            if command == "/retry":
                say(session.retry)
            elif re.fullmatch(r"/\w+", command):  # a mistyped command must not reach the model (and the trace)
                print_error(UsageError(f"unknown command {command}", f"known commands: {', '.join(CHAT_COMMANDS)}"))
            elif re.search(r"[\udc80-\udcff]", line):  # bytes stdin could not decode: the request could not be encoded
                print_error(UsageError("your message holds bytes that are not UTF-8 (the terminal sent another "
                                       "encoding); it was not sent", "set the terminal to UTF-8 and type it again"))
            else:
                say(session.ask, line)
    except KeyboardInterrupt:  # save what was answered, then exit as an interrupted command does
        thinking.clear()
        shown(end_lines)()
        interrupted = True
    trace = session.trace()
    if session.unsent:  # typed text must not vanish: show it for copying into the next chat
        n = len(session.unsent)
        err_console.print(f"{n} message{'s' * (n > 1)} got no answer and {'are' if n > 1 else 'is'} not in the trace:",
                          markup=False)
        for message in session.unsent:
            err_console.print(f"  {message['content']}", markup=False, highlight=False, soft_wrap=True)
    if trace is None:
        if interrupted:
            raise KeyboardInterrupt
        raise LLMError("nothing was answered, so no trace was saved", "check the settings and start the chat again")
    saved = load_trace(write_trace(trace))
    if session.pending:
        err_console.print("the rest of the strategy's turns got no answer; they are not in the trace", markup=False)
    console.print(one_line(f"saved {saved.path} ({session.turns} turn(s))"), markup=False, soft_wrap=True)
    console.print(f"cite: {saved.citation()}", markup=False, soft_wrap=True)
    return 130 if interrupted else 0


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # replaced by an object without isatty, or closed
        return False


def _read_line(prompt: str) -> str:
    """input(), with its prompt on stderr when stdout is piped (input() writes it to stdout). On a terminal input()
    shows it itself, so that line editing knows where the prompt ends."""
    if _stdout_is_terminal():
        return input(prompt)
    err_console.file.write(prompt)
    err_console.file.flush()
    return input("")
