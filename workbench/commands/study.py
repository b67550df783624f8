"""`study`: every intact trace judged, scores per problem and per Type label, by model or strategy."""

from __future__ import annotations

from pathlib import Path

from workbench.commands.catalog import add_pack_option
from workbench.commands.checking import (add_judge_options, check_timeout, judge_failure_exit, judge_from_args,
                                         print_cached_grades)
from workbench.console import console, counted, err_console, external, one_line, print_json
from workbench.errors import MissingWorkError, UsageError
from workbench.paths import inside_traces, path_arg

ALPHA = 0.05  # a one-sided p-value at most this says the scores fall as the Type rises
SKIPPED_NAMED = 5  # skipped trace files an error names; the rest are counted
NO_TRACES_FIX = ("get some with `python cli.py prompt --type 1,2,3,4{flag}` (every graded problem) or `import-chat`, or "
                 "widen --problem/--type/--model/--strategy")


def register(sub) -> None:
    p = sub.add_parser(
        "study", help="how well LLMs solve each problem, and whether the Type labels hold (every trace judged)",
        description="Judge every sample of every intact trace with the pack's checks (verify judges only the trace "
                    "a writeup shows), then show the mean score per problem and per Type label for each model, "
                    "strategy, both, or model and provider (--by). Type 1 should score highest and Type 4 lowest: per column, Kendall's tau-b "
                    "between Type and problem mean with a one-sided permutation p-value, a 95 % bootstrap interval per Type "
                    "(problems, then their answers, resampled; none for a Type of fewer than 5 problems or of answers all alike), "
                    # 5 is stats.MIN_PROBLEMS, written out: importing stats (numpy) here slowed every command's start
                    "and every rise (a higher Type above any lower one) named with the 95 % interval of the difference "
                    "of the two means: the labels' order is broken only where it lies above 0. "
                    "Free-text answers are unchecked unless --judge grades them. A stale trace (its problem changed "
                    "since it was asked) is left out and counted, unless --include-stale. Exit 0: report printed; "
                    "1: no trace to study; 2: bad input; 3: the --judge model failed; 130: interrupted.")
    add_pack_option(p)
    p.add_argument("--problem", action="append", metavar="ID", help="only this problem (repeatable)")
    p.add_argument("--type", metavar="1,2", help="only problems of these Types")
    p.add_argument("--model", action="append", metavar="NAME",
                   help="only traces of this model: its reported version or the requested name, in any case "
                        "(repeatable)")
    p.add_argument("--strategy", action="append", metavar="NAME", help="only traces of this strategy (repeatable)")
    p.add_argument("--by", choices=("model", "strategy", "model+strategy", "model+provider"), default="model",
                   help="what a column compares (default: model, as the server reported its version; model+provider: "
                        "one column per model and base URL, as one name on two servers can be two models; an imported "
                        "chat's provider is the service it was held at)")
    p.add_argument("--include-stale", action="store_true",
                   help="also score stale traces, asked before their problem's record changed (left out by default: "
                        "they answer another question than the record asks now), each of their answers marked stale")
    p.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                   help="traces judged at once (default 1); more pays with --judge, whose grader is a network call")
    p.add_argument("--plot", metavar="FILE.png", type=path_arg("--plot", "file", write=True),
                   help="also draw the mean score per Type for each column, with its 95 %% interval")
    p.add_argument("--json", action="store_true", help="machine-readable output: aggregates and every judged answer")
    add_judge_options(p)
    p.set_defaults(func=cmd_study)


def cmd_study(args) -> int:
    from workbench.problems import parse_types
    from workbench.study import foreign_trace_folders, run_study, traces_to_judge
    from workbench.verify import context, load_reference

    types = parse_types(args.type)
    plot = _plot_target(args.plot) if args.plot else None
    if args.jobs < 1:
        raise UsageError(f"--jobs {args.jobs} is not a positive number", "use --jobs 1 or more")
    check_timeout(args.timeout)
    judge = judge_from_args(args)
    ctx = context(args.pack, judge, args.timeout)
    problems = ctx.pack.select(args.problem) if args.problem else list(ctx.pack.problems)  # a Type's interval follows the order
    outside = [p for p in problems if types is not None and p.type not in types]
    if args.problem and outside:  # the two filters contradict: it would say "no trace", or drop it without a word
        wanted = ",".join(map(str, sorted(types)))
        raise UsageError(f"--problem {outside[0].id} is Type {outside[0].type}, which --type {wanted} leaves out",
                         "drop --type, or name only problems of those Types")
    problems = [p for p in problems if types is None or p.type in types]
    pairs, skipped, stale = traces_to_judge(problems, ctx.pack.name, args.model, args.strategy, args.include_stale)
    if not args.problem and types is None:
        skipped += foreign_trace_folders({p.id for p in ctx.pack.problems})
    if not pairs and stale:  # not "no intact trace": there are some, asked of the question as it was
        whose = "its" if len(stale) == 1 else "their"
        raise MissingWorkError(f"no current trace to study among {len(problems)} problem(s): "
                               f"{counted(len(stale), 'stale trace')} left out ({whose} problem changed since it was "
                               "asked)",
                               "ask again (`python cli.py traces verify` names each stale trace with the command), or "
                               "add --include-stale to score them as they are")
    if not pairs:
        more = f"; and {len(skipped) - SKIPPED_NAMED} more" if len(skipped) > SKIPPED_NAMED else ""  # one line, not thousands
        why = f"; skipped: {'; '.join(skipped[:SKIPPED_NAMED])}{more}" if skipped else ""
        raise MissingWorkError(f"no intact trace to study among {len(problems)} problem(s){why}",
                               NO_TRACES_FIX.format(flag=ctx.pack.pack_flag()))
    if plot:
        _pyplot()
    ref = load_reference(ctx.pack)
    with _progress(len(pairs), quiet=args.json) as advance:
        study = run_study(ctx, ref, pairs, skipped, problems, args.by, on_trace=advance, jobs=args.jobs, stale=stale)
    if plot:
        _draw(study, plot)
    if args.json:
        print_json(study.to_dict() | {"plot": str(plot) if plot else None})
    else:
        _print(study, plot, judged_free_text=judge is not None)
        print_cached_grades(judge)
    return judge_failure_exit(judge)


def _plot_target(path: str) -> Path:
    """Checked before any judging: a plot that cannot be written must not cost the whole study. What any output path
    must be (a file's name, not too long, in a folder that takes files) was checked as --plot was read (path_arg);
    here, what a plot must be. Its folder, if not there yet (build/ on a fresh clone), is made when the plot is saved."""
    # the name printed and in --json: absolute, usable from any folder; its folder as the system reads `link/..` (as
    # --plot was checked), the file itself not followed, as saving replaces it
    given = Path(path).expanduser()
    target = given.parent.resolve() / given.name
    if target.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise UsageError(f"--plot {path}: the name must end in .png, .pdf or .svg", "e.g. --plot build/study.png")
    if inside_traces(target):
        raise UsageError(f"--plot {path}: traces/ holds only the LLM's traces", "write the plot elsewhere, e.g. --plot build/study.png")
    return target


class _progress:
    """A transient rich bar over the traces on a terminal; nothing when piped or for --json."""

    def __init__(self, total: int, quiet: bool):
        self.total, self.quiet, self.progress = total, quiet or not err_console.is_terminal, None

    def __enter__(self):
        if self.quiet:
            return lambda: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("judging traces"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 console=err_console, transient=True)
        task = self.progress.add_task("judge", total=self.total)
        self.progress.start()
        return lambda: self.progress.advance(task)

    def __exit__(self, *exc):
        if self.progress:
            self.progress.stop()
        return False


def _score_cell(mean: float | None, n: int, extra: str = "") -> str:
    if mean is None:
        return f"[dim]—{extra}[/]"
    return f"[{_style(mean)}]{mean:.2f}[/] ({n}){extra}"


def _style(mean: float) -> str:
    return "green" if mean >= 0.8 else "red" if mean < 0.4 else "yellow"


def _type_cell(row: dict) -> str:
    """A Type's mean, its 95 % interval (none for too few problems), (problems, answers scored) and the problems
    answered with none scored: the mean stands on fewer problems than were asked, and a dash alone is never asked."""
    unscored = len(row["unscored_problems"])
    # named problems: the problem table's "+N unscored" counts answers, and this one sits beside answers scored
    extra = f" [dim]+{counted(unscored, 'unscored problem')}[/]" if unscored else ""
    if row["mean"] is None:
        return f"[dim]—[/]{extra}"
    ci = f"[{row['ci_low']:.2f}, {row['ci_high']:.2f}]" if row["ci_low"] is not None else "[dim]no interval[/]"
    return f"[{_style(row['mean'])}]{row['mean']:.2f}[/] {ci} ({row['problems']}, {row['answers']}){extra}"


def _p(p: float) -> str:
    if p < 0.001:
        return "p < 0.001"
    digits = 3 if p < 0.01 else 2
    while p > ALPHA and round(p, digits) <= ALPHA:  # 0.0508 is not "p = 0.05": that one would say "scores fall"
        digits += 1
    return f"p = {p:.{digits}f}"


def _trend_verdict(trend: dict) -> str:
    """What a column's p-value says, in words (the table's line and the plot's legend)."""
    return "scores fall as the Type rises" if trend["p_value"] <= ALPHA else "no evidence of an order"


def _trend_line(trend: dict) -> str:
    """Kendall's tau-b of Type vs problem mean and what its one-sided p-value says (or why there is none)."""
    if trend["tau_b"] is None:
        return f"Type labels vs scores: no statistic ({trend['reason']})"
    how = "exact" if trend["method"] == "exact" else f"Monte Carlo, {trend['permutations']:,} permutations"
    verdict = f"[{'green' if trend['p_value'] <= ALPHA else 'yellow'}]{_trend_verdict(trend)}[/]"
    if trend["p_value"] > ALPHA and trend["tau_b"] > 0:
        verdict += " (if anything, scores rise with the Type)"
    return (f"Type labels vs scores: tau-b = {trend['tau_b']:.2f}, {_p(trend['p_value'])} "
            f"({how}, {trend['n_problems']} problems): {verdict}")


def _legend_entry(group: str, trend: dict) -> str:
    """A column's legend entry: its name, then its statistic, the problems it stands on and what it says, so a figure
    taken on its own into a report carries the verdict its bars alone cannot give."""
    if trend["tau_b"] is None:
        return f"{_legend_label(group)}\nno statistic ({trend['reason']})"
    return (f"{_legend_label(group)}\ntau-b = {trend['tau_b']:.2f}, {_p(trend['p_value'])} ({trend['n_problems']} problems)\n"
            f"{_trend_verdict(trend)}")


def _apart(low: float, high: float) -> int:
    """Decimals that show a rise's two means apart (2, up to 4): 0.904 above 0.900 read "0.90 above 0.90"."""
    digits = 2
    while digits < 4 and f"{low:.{digits}f}" == f"{high:.{digits}f}":
        digits += 1
    return digits


def _rise(ci: list | None, broken: bool | None, rows: dict, digits: int = 2) -> str:
    """What a rise's difference interval says; `rows` maps its lower and higher Types to their by_type cells, and the
    difference has the means' `digits` (_apart). Without an interval on either side the rise is not tested: the Types' means alone would read as a finding they
    cannot carry. Why is each Type's ci_reason (stats.no_interval), shortened for the reasons it knows."""
    from workbench.stats import NO_SPREAD, TOO_FEW

    if broken is None:
        why = {t: r["ci_reason"] for t, r in rows.items() if r["ci_reason"]}
        few = ", ".join(f"Type {t} has {rows[t]['problems']}" for t, w in why.items() if TOO_FEW in w)
        rest = [f"Type {t}'s answers all scored {rows[t]['mean']:.2f}" if NO_SPREAD in w else f"Type {t}: {w}"
                for t, w in why.items() if TOO_FEW not in w]
        return f"not tested ({'; '.join([f'too few problems for an interval: {few}'] * bool(few) + rest)})"
    low, high = rows.values()
    what = f"difference {high['mean'] - low['mean']:.{digits}f}, 95 % interval [{ci[0]:.2f}, {ci[1]:.2f}]"
    return f"the labels' order is broken ({what})" if broken else f"may be noise ({what} holds 0)"


def _print(study, plot: Path | None, judged_free_text: bool = False) -> None:
    from rich.table import Table

    from workbench.stats import MIN_PROBLEMS, NO_SPREAD, TOO_FEW

    # each title on its own line: as a table's title it wrapped to the table's width (three lines for one column)
    console.print("[italic]mean score per problem (answers scored; N! = N of them cut off, filtered, refused or empty)[/]")
    table = Table()
    for col, kw in (("id", {}), ("Type", {"justify": "center"}), ("pts", {"justify": "right"})):
        table.add_column(col, overflow="fold", **kw)
    for g in study.groups:
        table.add_column(external(g), justify="right", overflow="fold")
    for p in study.problems:
        cells = []
        for g in study.groups:
            c = study.cells.get((p.id, g))
            if c is None:  # a column whose traces of it are all stale has some: left out, not missing
                left_out = p.id in study.stale.get(g, {}).get("problems", ()) and not study.stale_scored
                cells.append("[dim]stale, left out[/]" if left_out else "[dim]no trace[/]")
                continue
            unscored = sum(c.counts.get(s, 0) for s in ("unchecked", "missing"))
            cautioned = c.counts.get("cautioned", 0)  # cut off, filtered, refused or empty: scored as they came
            extra = (f" [dim]+{unscored} unscored[/]" if unscored else "") + (f" [yellow]{cautioned}![/]" if cautioned else "")
            cells.append(_score_cell(c.mean, len(c.scores), extra))
        table.add_row(p.id, str(p.type), f"{p.points:g}", *cells)
    console.print(table)

    console.print("[italic]per Type: mean of problem means \\[95%\u00a0interval] (problems, answers scored)[/]")
    by_type = Table()
    by_type.add_column("Type", justify="center", overflow="fold")
    for g in study.groups:
        by_type.add_column(external(g), justify="right", overflow="fold")
    table = study.by_type()
    for t, row in table.items():
        by_type.add_row(str(t), *(_type_cell(row[g]) for g in study.groups))
    console.print(by_type)
    why = [row[g]["ci_reason"] for row in table.values() for g in study.groups if row[g]["mean"] is not None
           and row[g]["ci_reason"]]
    # short lines: a Type's interval on 2 problems is their range, on answers all alike a point (stats.type_interval);
    # any other reason is on the rise's line (_rise)
    if any(TOO_FEW in w for w in why):
        console.print(f"[dim]no interval: fewer than {MIN_PROBLEMS} problems, too few; its rises are not tested[/]")
    if any(NO_SPREAD in w for w in why):
        console.print("[dim]no interval: every answer scored alike, no spread; its rises are not tested[/]")

    trend = study.type_trend()
    for g, order in study.type_order().items():
        console.print(f"{external(g)}: {_trend_line(trend[g])}")
        means = " ≥ ".join(f"Type {t} {m:.2f}" for t, m in sorted(order["means"].items()))
        over = "" if len(order["means"]) == 4 else f" over Types {', '.join(map(str, sorted(order['means'])))} (those scored)"
        if not order["means"]:
            console.print(f"{external(g)}: no answer scored on any Type; nothing to compare")
        elif order["ordered"] is None:
            console.print(f"{external(g)}: scored on one Type only ({means}); nothing to compare")
        elif order["ordered"]:
            sized = " ≥ ".join(f"Type {t} {m:.2f} ({counted(table[t][g]['problems'], 'problem')})"
                               for t, m in sorted(order["means"].items()))  # a verdict carries its sample
            console.print(f"{external(g)}: [green]Type means in the labels' order[/]{over}: {sized}")
        else:
            # each Type with the problems it stands on: a verdict quoted alone must carry its sample
            rises = "; ".join(f"Type {b} ({order['means'][b]:.{d}f}, {counted(table[b][g]['problems'], 'problem')}) "
                              f"above Type {a} ({order['means'][a]:.{d}f}, {counted(table[a][g]['problems'], 'problem')}), "
                              f"{_rise(ci, broken, {a: table[a][g], b: table[b][g]}, d)}"
                              for (a, b), ci, broken in zip(order["rises"], order["difference_ci"], order["broken"])
                              for d in [_apart(order["means"][a], order["means"][b])])
            console.print(f"{external(g)}: [yellow]Type means out of the labels' order[/]{over}: {rises}")
    other = {"strategy": "strategies", "model": "models"}.get(study.mixed_kind)
    for g, kinds in study.uneven_mixes().items():
        each = "; ".join(f"{external(k)}: Type{'s' * (len(t) > 1)} {', '.join(map(str, t))}" for k, t in kinds.items())
        console.print(f"[yellow]{external(g)}: its answers mix {other} over different Types[/] ({each}), so its Type means "
                      f"compare {other} too; --by model+strategy keeps them apart")
    for g, providers in study.mixed_providers().items():
        each = "; ".join(f"{external(k)}: Type{'s' * (len(t) > 1)} {', '.join(map(str, t))}" for k, t in providers.items())
        console.print(f"[yellow]{external(g)}: its answers come from {len(providers)} providers[/] ({each}), which may serve "
                      "different models under one name (size, quantisation, tag), so its means average them; "
                      "--by model+provider keeps them apart")
    uneven = study.uneven_problems()
    if uneven:
        order = {p.id: k for k, p in enumerate(study.problems)}
        types = ", ".join(f"Type {t} ({_lacking(sets, order)})" for t, sets in uneven.items())
        console.print("[yellow]columns scored different problems of a Type, so their Type means there are not like for "
                      f"like[/]: {types}; --problem with the problems they share compares the same ones")
    counts = {s: sum(1 for a in study.answers if a.status == s) for s in ("unchecked", "missing")}
    failed = sum(c.counts.get("failed", 0) for c in study.cells.values())
    traces = len({(a.trace, a.problem) for a in study.answers})
    line = f"{counted(len(study.answers), 'answer')} from {counted(traces, 'trace')}"
    if counts["unchecked"]:
        hint = "" if judged_free_text else ", e.g. free text: add --judge MODEL to score it"
        line += f"; {counts['unchecked']} unchecked (the check could not judge them{hint}; --json gives each reason)"
    if counts["missing"]:
        line += f"; {counts['missing']} missing (the answer lacks what the check needs)"
    if failed:
        line += f"; {counted(failed, 'requested sample')} failed at the API (no answer, not counted)"
    cautioned = [a for a in study.answers if a.caution]
    if cautioned:
        unscored = sum(a.score is None for a in cautioned)  # a refusal or an empty answer has nothing to score
        how = f"{len(cautioned) - unscored} scored as they came, {unscored} unscored" if unscored else "scored as they came"
        line += f"; {len(cautioned)} cut off at the token limit, filtered, refused or empty ({how}; --json gives each caution)"
    console.print(line)
    _print_stale(study)
    if study.untraced:
        console.print(f"[dim]no trace: {', '.join(study.untraced)}[/]")
    for s in study.skipped:
        console.print(f"[dim]skipped {external(s)}[/]")
    if plot:
        console.print(one_line(f"plot: {plot}"), markup=False, soft_wrap=True)  # one line, to copy whole


def _print_stale(study) -> None:
    """One line: the stale traces left out of the study's scores (or, --include-stale, scored), per column."""
    if not study.stale:
        return
    traces, answers = (sum(c[k] for c in study.stale.values()) for k in ("traces", "answers"))
    what = f"{counted(traces, 'stale trace')} ({counted(answers, 'answer')})"
    each = "; ".join(f"{external(g)} {counted(c['traces'], 'trace')}, {counted(c['answers'], 'answer')} "
                     f"({', '.join(c['problems'])})" for g, c in study.stale.items())
    how = f"scored {what} as they came (--include-stale)" if study.stale_scored else f"left out {what}"
    it = ("it was", "it answers") if traces == 1 else ("they were", "they answer")
    line = (f"[yellow]{how}[/], whose problem changed since {it[0]} asked, so {it[1]} another question than it asks "
            f"now: {each}")
    if not study.stale_scored:
        line += ("; `python cli.py traces verify` names each with the command that asks it again; --include-stale "
                 "scores them")
    console.print(line)


def _lacking(sets: dict[str, list[str]], order: dict[str, int]) -> str:
    """'decompose lacks 2.2.1; ...': per column, the problems of the Type that another column scored and it did not."""
    every = set().union(*sets.values())
    return "; ".join(f"{external(g)} lacks {', '.join(sorted(every - set(ids), key=order.get))}"
                     for g, ids in sets.items() if len(ids) < len(every))


def _legend_label(group: str, limit: int = 40) -> str:
    """A column's name as matplotlib shows it literally: $...$ is no formula (a bad one raised after all the
    judging), a leading _ does not hide it from the legend, and a long name is cut in the middle so the legend fits
    the figure and dated versions stay apart."""
    text = group if len(group) <= limit else group[:limit // 2 - 1] + "…" + group[-(limit // 2):]
    return "\u200b" * text.startswith("_") + text.replace("$", r"\$")


def _pyplot():
    """Loaded before the judging: the import takes a while, and a Ctrl-C inside matplotlib's C extensions is an
    ImportError ("initialization failed") traceback, exit 1, instead of exit 130."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _colours(n: int) -> list:
    """One colour per column: matplotlib's cycle repeats after 10, so the 11th column looked like the 1st."""
    from matplotlib import colormaps

    if n <= 20:
        palette = colormaps["tab10" if n <= 10 else "tab20"]
        return [palette(k) for k in range(n)]
    return [colormaps["turbo"](k / (n - 1)) for k in range(n)]  # more: spread along one colour map


def _draw(study, path: Path) -> None:
    """Grouped bars: mean score per Type label, one bar per column, each labelled with its problem count, with the
    95 % two-stage bootstrap interval as an error bar (none for a Type of fewer than stats.MIN_PROBLEMS problems or
    whose answers all scored alike)."""
    from workbench.atomic import save_figure
    from workbench.stats import MIN_PROBLEMS

    plt = _pyplot()

    by_type, trend = study.by_type(), study.type_trend()
    types = list(by_type)
    width = 0.8 / max(1, len(study.groups))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.6 * len(types) + 0.6 * len(study.groups)), 3.6))
    colours = _colours(len(study.groups))
    for k, g in enumerate(study.groups):
        xs = [i + (k - (len(study.groups) - 1) / 2) * width for i in range(len(types))]
        means = [by_type[t][g]["mean"] for t in types]
        # edged in its own colour, a mean of 0 shows as a line at 0 (the axis starts below it); nan draws no bar
        bars = ax.bar(xs, [float("nan") if m is None else m for m in means], width, color=colours[k],
                      edgecolor=colours[k], linewidth=1.2, label=_legend_entry(g, trend[g]))
        spans = [(x, by_type[t][g]) for x, t in zip(xs, types) if by_type[t][g]["ci_low"] is not None]
        if spans:
            ax.errorbar([x for x, _ in spans], [r["mean"] for _, r in spans],
                        yerr=[[max(0.0, r["mean"] - r["ci_low"]) for _, r in spans],
                              [max(0.0, r["ci_high"] - r["mean"]) for _, r in spans]],
                        fmt="none", ecolor="black", elinewidth=0.8, capsize=3)
        for bar, t, m in zip(bars, types, means):
            if m is not None:  # an unscored Type gets no bar and no label (the footnote says so): labels would collide
                # below the axis: a whisker reaching 0 crossed it at the bar's base; the number alone: "n=3" under
                # a dozen narrow bars ran together
                ax.annotate(str(by_type[t][g]["problems"]), (bar.get_x() + bar.get_width() / 2, 0), xytext=(0, -3),
                            xycoords=("data", "axes fraction"), textcoords="offset points", ha="center", va="top",
                            fontsize=7)
    ax.set_xticks(range(len(types)), [f"Type {t}" for t in types])
    ax.tick_params(axis="x", length=0, pad=14)  # the Type names go under the row of problem counts
    ax.set_ylim(-0.03, 1.1)
    ax.set_ylabel("mean score (problem means)")
    # two short lines: one long one wider than a narrow figure leaves tight_layout unable to fit the axes
    ax.annotate(f"under each bar: problems scored; whiskers: 95 % interval (none below {MIN_PROBLEMS} problems or for answers all alike)\n"
                "a line at 0: a mean of 0; no bar and no number: no scored answer of that Type", (0, 0),
                xycoords="axes fraction", xytext=(0, -34), textcoords="offset points", va="top", fontsize=7)
    ax.set_title("LLM answers by Type label (Type 1 should be easiest)")
    fig.tight_layout()
    # outside the axes, where bars reaching 1.0 cannot hide behind it; after the layout, which would narrow the axes
    # for it (the bars' counts then collide): the saved image widens to take it in
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    save_figure(fig, path, dpi=150)
