"""How well LLMs solve each problem, and whether the Type labels hold (the instructor's question).

`verify` judges the one trace a student's writeup shows; a study judges every sample of every intact
trace with the same pack checks and groups the scores by model (the version the server reported),
strategy, both, or model and provider (base URL; an imported chat's service: provider_of). Per group and problem it
keeps the mean score of the judged answers (correct 1, partial its credit, incorrect 0); per Type label the mean of
those problem means, so a problem sampled ten times weighs as much as one sampled once. The handout's labels say
Type 1 problems are the easiest for an LLM and Type 4 the hardest, so no Type's mean should rise above a lower Type's;
`type_order` names every pair of Types where one does, with the 95 % interval of the difference of their means (a
seeded two-stage bootstrap over each Type's problems and their answers, the two Types resampled independently; none
below stats.MIN_PROBLEMS problems or for answers all alike, so the rise is not tested): the labels' order is broken
only where it lies above 0. With a few problems per Type most rises are noise: `type_trend` measures the order with
Kendall's tau-b between Type and problem mean and a one-sided permutation p-value (workbench.stats).
Answers the checks cannot judge in full (unchecked: free text without --judge, or any part not judged) or that
lack what the check needs (missing) are counted, never scored. A stale trace (asked before its problem's record
changed: traces.stale_note) answers another question than the record asks now, so it is no measure of the model on
this one: it is left out and counted per column, unless asked for (include_stale), then scored and marked. Answers
cut off at the token limit, filtered, refused or empty are scored as they came and counted (`cautioned`): a low
mean may be the token limit's doing, not the problem's.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path
from statistics import mean
from urllib.parse import urlsplit

from workbench.console import counted
from workbench.errors import UsageError
from workbench.paths import traces_dir
from workbench.stats import difference_interval, order_test, type_interval
from workbench.traces import scan_traces, stale_note, trace_files

SCORED = ("correct", "partial", "incorrect")


@dataclass(frozen=True)
class JudgedAnswer:
    problem: str
    type: int
    group: str
    model: str
    strategy: str
    trace: str
    sample: int
    status: str
    score: float | None  # None when not scored (unchecked, missing): never a 0 to average
    reason: str = ""
    caution: str = ""  # cut off at the token limit, filtered, refused or empty (Trace.cautions): scored as it came
    grader_model: str | None = None  # --judge: the model version that graded it (None: no grader did)
    from_cache: bool | None = None  # --judge: the grade was kept from an earlier run (.cache/judge/)
    provider: str = ""  # provider_of(its trace): one model name on two servers can be two models
    stale: bool = False  # its trace is stale (include_stale): an answer to the question as it was


@dataclass
class Cell:
    """The answers of one group to one problem."""

    counts: dict = field(default_factory=lambda: defaultdict(int))  # status -> answers; "failed": samples the API lost
    scores: list = field(default_factory=list)  # of the scored answers

    @property
    def mean(self) -> float | None:
        return mean(self.scores) if self.scores else None

    def to_dict(self) -> dict:
        return {"mean": self.mean, "scored": len(self.scores),
                **{s: self.counts.get(s, 0) for s in (*SCORED, "unchecked", "missing", "failed", "cautioned")}}


@dataclass
class Study:
    groups: list[str]
    problems: list  # the Problem records with at least one judged trace, in pack order
    cells: dict  # (problem id, group) -> Cell
    answers: list[JudgedAnswer]
    skipped: list[str]  # edited or unreadable trace files and unreadable trace folders, with why
    untraced: list[str]  # selected problems with no trace of the selected groups
    by: str = "model"  # what a column compares: model, strategy, model+strategy or model+provider
    stale: dict = field(default_factory=dict)  # column -> {traces, answers, problems} of its stale traces
    stale_scored: bool = False  # they were judged (include_stale), their answers marked; else left out of the scores
    # by_type() and the data it was computed from: its intervals are 10,000 resamples each, and the text, --json,
    # --plot and type_order() all ask for it
    _by_type: tuple = field(default=(None, None), init=False, repr=False, compare=False)

    def scored_cells(self, group: str) -> list[tuple]:
        """(problem, cell) of every problem with a scored answer of `group`, in pack order."""
        return [(p, c) for p in self.problems
                for c in [self.cells.get((p.id, group))] if c is not None and c.mean is not None]

    def by_type(self) -> dict[int, dict[str, dict]]:
        """Type -> group -> {mean (of problem means), problems (with a scored answer), answers (scored), ci_low,
        ci_high (the 95 % two-stage bootstrap interval over the problems and their answers; None with fewer than
        stats.MIN_PROBLEMS problems or answers all alike), ci_reason (why there is none, else None), unscored_problems (ids the group
        answered with none scored: left out of the mean, so it may stand on fewer problems than were asked)}.
        Computed once for the data it reads (a Study's fields can still be changed: then anew); callers share it, so
        they read it and never change it."""
        data = (tuple(self.groups), tuple((p.id, p.type) for p in self.problems),
                tuple((key, tuple(c.scores)) for key, c in self.cells.items()))
        if self._by_type[0] != data:
            self._by_type = (data, self._compute_by_type())
        return self._by_type[1]

    def _compute_by_type(self) -> dict[int, dict[str, dict]]:
        out: dict[int, dict[str, dict]] = {}
        for t in sorted({p.type for p in self.problems}):
            out[t] = {}
            for g in self.groups:
                cells = [c for p, c in self.scored_cells(g) if p.type == t]
                means = [c.mean for c in cells]
                ci, why = type_interval([c.scores for c in cells])
                unscored = [p.id for p in self.problems if p.type == t
                            and (p.id, g) in self.cells and self.cells[(p.id, g)].mean is None]
                out[t][g] = {"mean": mean(means) if means else None, "problems": len(means),
                             "answers": sum(len(c.scores) for c in cells),
                             "ci_low": ci[0] if ci else None, "ci_high": ci[1] if ci else None,
                             "ci_reason": why, "unscored_problems": unscored}
        return out

    def type_order(self) -> dict[str, dict]:
        """Per group: do the Type means fall (or stay) from Type 1 to Type 4? Every pair of Types with data whose
        higher Type scores above the lower one is a rise, listed as [lower Type, higher Type] in the Types' order: not
        only neighbours (Type 3 above Type 1 with Type 2 below both). Per rise, `difference_ci` is the 95 % bootstrap
        interval of (higher Type's mean - lower's) and `broken` whether it lies above 0 (both None when either Type
        has no interval: too few problems or answers all alike, so the rise is not tested); `problems` gives each
        Type's mean its sample, as the text does."""
        table = self.by_type()
        out = {}
        for g in self.groups:
            means = {t: row[g]["mean"] for t, row in table.items() if row[g]["mean"] is not None}
            types = sorted(means)
            rises = [[a, b] for a, b in combinations(types, 2) if means[b] > means[a] + 1e-9]
            cis = [difference_interval(*(self._type_scores(t, g) for t in rise))[0] for rise in rises]
            out[g] = {"means": means, "problems": {t: table[t][g]["problems"] for t in types},  # each mean's sample
                      "ordered": not rises if len(types) > 1 else None, "rises": rises,
                      "difference_ci": [list(ci) if ci else None for ci in cis],
                      # float sums may set a difference of 0 a hair above it: that is no broken order
                      "broken": [ci[0] > 1e-9 if ci else None for ci in cis]}
        return out

    def _type_scores(self, t: int, group: str) -> list[list[float]]:
        """Each scored problem of Type t's answers in the group, as stats' intervals take them."""
        return [c.scores for p, c in self.scored_cells(group) if p.type == t]

    @property
    def mixed_kind(self) -> str | None:
        """What a column can mix: models under --by strategy, strategies under --by model or model+provider, nothing
        under --by model+strategy. One answer for uneven_mixes and the line that names them."""
        return None if self.by == "model+strategy" else "model" if self.by == "strategy" else "strategy"

    def uneven_mixes(self) -> dict[str, dict[str, list[int]]]:
        """Per column that mixes strategies or models (mixed_kind) whose scored answers cover different Types: each
        one's Types. decompose needs a record's steps, so it covers only some: the column's Type means then compare
        the strategies as much as the Types."""
        if self.mixed_kind is None:
            return {}
        covered = self._types_by(lambda a: a.model if self.mixed_kind == "model" else a.strategy)
        return {g: kinds for g, kinds in covered.items() if len({frozenset(t) for t in kinds.values()}) > 1}

    def uneven_problems(self) -> dict[int, dict[str, list[str]]]:
        """Per Type whose columns (those with a scored problem of it) scored different problems: each one's problems.
        decompose needs a record's steps, so a strategy's Type mean can stand on other problems than another's: the
        columns there compare problems as much as models or strategies."""
        out = {}
        for t in sorted({p.type for p in self.problems}):
            sets = {g: ids for g in self.groups if (ids := [p.id for p, _ in self.scored_cells(g) if p.type == t])}
            if len({tuple(ids) for ids in sets.values()}) > 1:
                out[t] = sets
        return out

    def mixed_providers(self) -> dict[str, dict[str, list[int]]]:
        """Per model column (--by model or model+strategy) whose scored answers came from more than one provider (base
        URL): each one's Types. One name can be two models (llama3.1 of one local server and another's, of another
        size, quantisation or tag), which the column would average without a word; --by model+provider parts them."""
        if self.by not in ("model", "model+strategy"):
            return {}
        return {g: kinds for g, kinds in self._types_by(lambda a: a.provider).items()
                if len(kinds) > 1}

    def _types_by(self, kind) -> dict[str, dict[str, list[int]]]:
        """Per column, per kind(answer) among its scored answers, the Types they cover."""
        covered: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
        for a in self.answers:
            if a.score is not None:
                covered[a.group][kind(a)].add(a.type)
        return {g: {k: sorted(t) for k, t in sorted(kinds.items())} for g, kinds in covered.items()}

    def type_trend(self) -> dict[str, dict]:
        """Per group: Kendall's tau-b between Type label and problem mean, and the one-sided permutation p-value
        for "a higher Type scores lower" (stats.order_test). Means are rounded to 9 places so that equal scores
        reached by different sums tie."""
        trend = {}
        for g in self.groups:
            scored = self.scored_cells(g)
            trend[g] = order_test([p.type for p, _ in scored], [round(c.mean, 9) for _, c in scored])
        return trend

    def to_dict(self) -> dict:
        return {
            "groups": self.groups,
            "by_problem": [{"problem": p.id, "type": p.type, "points": p.points,
                            "groups": {g: self.cells[(p.id, g)].to_dict() for g in self.groups if (p.id, g) in self.cells}}
                           for p in self.problems],
            "by_type": [{"type": t, "groups": row} for t, row in self.by_type().items()],
            "type_order": self.type_order(),
            "type_trend": self.type_trend(),
            "mixed_columns": self.uneven_mixes(),
            "mixed_providers": self.mixed_providers(),
            "uneven_problems": self.uneven_problems(),
            "answers": [asdict(a) for a in self.answers],
            "stale_left_out": {} if self.stale_scored else self.stale,
            "skipped_traces": self.skipped,
            "problems_without_traces": self.untraced,
        }


def studied_status(verdict) -> str:
    """The verdict's status, but `unchecked` when some part was not judged: verify already never calls such an
    answer correct, and scoring its wrong parts alone (5.3's claims without the reasons a grader judges) would
    count only the answers that fail and pull the mean down."""
    if verdict.status in SCORED and any(d.get("ok") is None for d in verdict.details):
        return "unchecked"
    return verdict.status


def provider_of(trace) -> str:
    """Who answered, as columns tell providers apart: the base URL an API trace records; for an imported chat the
    service it was held at (scheme and host: a share link is one conversation's, not a provider), marked imported, as
    it is its own provider and never an API's result (prompt --missing says so too), or 'an imported transcript'."""
    if trace.source != "import":
        return trace.base_url or "unknown provider"
    where = urlsplit(trace.base_url)
    return f"{where.scheme}://{where.netloc} (imported)" if where.netloc else "an imported transcript"


def group_of(trace, by: str) -> str:
    model = trace.model_version
    return {"model": model, "strategy": trace.strategy or "?", "model+strategy": f"{model} / {trace.strategy or '?'}",
            "model+provider": f"{model} via {provider_of(trace)}"}[by]


def traces_to_judge(problems, pack: str, models: list[str] | None = None, strategies: list[str] | None = None,
                    include_stale: bool = False):
    """(problem, trace) pairs of the intact traces of `pack` that pass the filters, the skipped files with why, and
    the (problem, trace) pairs of the stale ones among them (in the first list too only with include_stale).

    A model filter matches the reported version or the requested name ("gpt-4o" takes gpt-4o-2024-08-06), in any
    case (GPT-4o is gpt-4o). A model or strategy that no trace of the pack's selected problems has, where there are
    some, is refused as a typo would be: it would say "nothing to study", or drop out of the study without a word."""
    pairs, stale, skipped, unreadable, seen, seen_strategies = [], [], [], [], set(), set()
    wanted = {m.casefold() for m in models or ()}
    if os.path.lexists(traces_dir()) and not traces_dir().is_dir():  # a file there: not "no trace"
        skipped.append(unread_folder(traces_dir()))
    for problem in problems:
        unread = unread_folder(traces_dir() / problem.id)
        loaded, bad = scan_traces(problem.id)
        unknown = [unread] * bool(unread) + [f"{path}: {why}" for path, why in bad]  # of no model or strategy known
        skipped += unknown
        unreadable += unknown
        for trace in loaded:
            if trace.data.get("pack", pack) != pack:
                skipped.append(f"{trace.path}: a trace of pack {trace.data.get('pack')!r}, not {pack!r}")
                continue
            seen |= {trace.model_version, trace.requested_model} - {""}
            seen_strategies |= {trace.strategy} - {None, ""}
            if wanted and not {trace.model_version.casefold(), trace.requested_model.casefold()} & wanted:
                continue
            if strategies and trace.strategy not in strategies:
                continue
            if not trace.intact:
                skipped.append(f"{trace.path}: {trace.fault}")
                continue
            if stale_note(trace, problem):
                stale.append((problem, trace))
                if not include_stale:
                    continue
            pairs.append((problem, trace))
    _refuse_unknown("model", models, seen, "the reported version or the requested name, in any case", unreadable,
                    str.casefold)
    _refuse_unknown("strategy", strategies, seen_strategies, "as the traces list it", unreadable)
    return pairs, skipped, stale


def _refuse_unknown(flag: str, asked: list[str] | None, seen: set[str], how: str, unreadable: list[str],
                    same=lambda name: name) -> None:
    """UsageError naming the --model/--strategy values no trace has, and those the traces have (none: nothing to
    suggest, and the "nothing to study" error says how to get traces). Unreadable traces are named in it: the name
    may be one of theirs, and then the fix is to repair the trace, not to pick another name."""
    known = {same(name) for name in seen}
    unknown = list(dict.fromkeys(a for a in asked or () if same(a) not in known))
    if unknown and seen:
        plural = {"model": "models", "strategy": "strategies"}[flag]
        damaged = fix = ""
        if unreadable:
            more = f" (and {len(unreadable) - 1} more)" if len(unreadable) > 1 else ""
            damaged = (f"; {counted(len(unreadable), 'trace')} could not be read, so "
                       f"{'its' if len(unreadable) == 1 else 'their'} {flag} is unknown: "
                       f"{unreadable[0]}{more}")
            fix = f", or repair or remove the unreadable {'trace' if len(unreadable) == 1 else 'traces'} (`python cli.py traces verify` lists {'it' if len(unreadable) == 1 else 'them'})"
        raise UsageError(f"--{flag} {', '.join(unknown)}: no trace of the selected problems is of "
                         f"{f'that {flag}' if len(unknown) == 1 else f'those {plural}'}; {plural} with traces: "
                         f"{', '.join(sorted(seen))}{damaged}", f"give one of those ({how}){fix}")


def unread_folder(folder: Path) -> str:
    """Why a trace folder's traces cannot be read (it is a file, or cannot be listed), else "": glob finds nothing
    there and says nothing, so the problem would look as if the LLM had never been asked."""
    if not os.path.lexists(folder):
        return ""
    if not folder.is_dir():
        return f"{folder}: not a folder, so no trace in it is read"
    try:
        with os.scandir(folder):
            pass
    except OSError as exc:
        return f"{folder}: cannot read the folder ({exc.strerror}), so no trace in it is read"
    return ""


def foreign_trace_folders(pack_ids: set[str]) -> list[str]:
    """Folders under traces/ named for no problem of the pack (a renamed or removed problem): named, not judged.
    One that cannot be read is named too: it may hold such traces."""
    base = traces_dir()
    if not base.is_dir():
        return []
    try:
        with os.scandir(base) as entries:
            folders = sorted(Path(e.path) for e in entries)
    except OSError as exc:
        return [f"{base}: cannot read the folder ({exc.strerror}), so folders of problems not in the pack are not found"]
    out = []
    for d in folders:
        if d.name in pack_ids or not d.is_dir():
            continue
        unread = unread_folder(d)
        if unread:
            out.append(unread)
        elif trace_files(d):
            out.append(f"{d}: no problem {d.name} in this pack")
    return out


def run_study(ctx, ref, pairs, skipped, problems, by: str = "model", on_trace=None, jobs: int = 1,
              stale=()) -> Study:
    """Judge every sample of every (problem, trace) pair with the pack's checks, `jobs` traces at a time (a
    --judge grader is a network call per free-text answer); on_trace() after each trace. The result does not
    depend on `jobs`: verdicts are gathered in the pairs' order. `stale`: the stale (problem, trace) pairs
    (traces_to_judge): those among `pairs` are scored and their answers marked, the others counted as left out."""
    from workbench.pool import imap_unordered
    from workbench.verdicts import credit
    from workbench.verify import check_trace, leave_checks_running

    verdicts: dict[int, list] = {}
    try:
        for k, result, exc in imap_unordered(lambda pair: check_trace(ref, pair[0], pair[1], ctx), pairs, jobs):
            if exc is not None:
                raise exc
            verdicts[k] = result
            if on_trace:
                on_trace()
    except BaseException:  # Ctrl-C lands here, in the main thread, while workers may be inside a check
        if len(verdicts) < len(pairs):
            leave_checks_running()  # so the CLI exits without the interpreter shutdown they could abort
        raise
    cells: dict = {}
    answers: list[JudgedAnswer] = []
    groups: set[str] = set()
    spelling: dict[str, str] = {}  # GPT-4o and gpt-4o are one model: one column, spelt as first met
    judged_stale = {trace.path for _, trace in stale} & {trace.path for _, trace in pairs}
    for k, (problem, trace) in enumerate(pairs):
        group = spelling.setdefault(group_of(trace, by).casefold(), group_of(trace, by))
        groups.add(group)
        cell = cells.setdefault((problem.id, group), Cell())
        cell.counts["failed"] += max(0, trace.samples_requested - len(trace.samples))  # API errors: no answer to judge
        for i, (v, caution) in enumerate(zip(verdicts[k], trace.cautions())):
            status = studied_status(v)
            cell.counts[status] += 1
            cell.counts["cautioned"] += bool(caution)
            # the unrounded credit: a verdict's 4-place score (0.6667) would set 2/3 above the 2/3 of 1, 1, 0
            score = credit(v.details) if status in SCORED else None
            if score is not None and round(score, 4) != v.score:  # a score not made from its details: as it is
                score = v.score
            if score is not None:
                cell.scores.append(score)
            graded = next((d for d in v.details if "from_cache" in d), {})
            answers.append(JudgedAnswer(problem.id, problem.type, group, trace.model_version, trace.strategy,
                                        trace.path.name, i, status, score, v.reason,
                                        caution, graded.get("grader_model"), graded.get("from_cache"),
                                        provider_of(trace), trace.path in judged_stale))
    counts: dict[str, dict] = {}
    for problem, trace in stale:
        count = counts.setdefault(spelling.setdefault(group_of(trace, by).casefold(), group_of(trace, by)),
                                    {"traces": 0, "answers": 0, "problems": []})
        count["traces"] += 1
        count["answers"] += len(trace.samples)
        count["problems"] += [problem.id] * (problem.id not in count["problems"])
    order = {p.id: k for k, p in enumerate(problems)}
    for count in counts.values():
        count["problems"].sort(key=order.get)
    judged = {p.id for p, _ in pairs}
    traced = judged | {p.id for p, _ in stale}  # a problem whose traces are all stale has some: the stale line names it
    return Study(groups=sorted(groups), problems=[p for p in problems if p.id in judged], cells=cells, answers=answers,
                 skipped=skipped, untraced=[p.id for p in problems if p.id not in traced], by=by,
                 stale=dict(sorted(counts.items())), stale_scored=bool(judged_stale))
