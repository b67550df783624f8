"""A2 programming part: pinned runs (solutions/a2/results/<run>/), their plots, and comparative claims.

4.2 / 5.2 / 6.2 need a pinned run of the model with the handout's settings and its plots; 5.3 / 6.3 / 5.5
claims ("ConvTransposeNet has lower validation loss", "skip connections improved accuracy", "smaller
batches gave lower loss") are compared with the final-epoch metrics of those runs. Anything else in the
text stays unchecked (free text, judged against key points only by a model grader).
"""

from __future__ import annotations

import bisect
import re

from workbench import answers as ans
from workbench.verdicts import detail
from workbench.verify import Missing, Unchecked, list_runs

MODEL_NAMES = {"poolupsample": "PoolUpsampleNet", "poolupsamplenet": "PoolUpsampleNet",
               "convtranspose": "ConvTransposeNet", "convtransposenet": "ConvTransposeNet", "unet": "UNet"}
PLOT_PROBLEMS = {"4.2": ("PoolUpsampleNet", ("curves.png", "samples.png")),
                 "5.2": ("ConvTransposeNet", ("curves.png",)),
                 "6.2": ("UNet", ("curves.png",))}
# The handout's defaults (questions 4.2, 5.2, 6.2; epochs is a minimum: "at least 25 epochs"). A run that differs in
# any of them, or that trained on a subset (--limit), is not "the handout's run": it would move the figures the
# comparisons are checked against.
# category 7: the notebook's horse images (colourize's --category).
REQUIRED = {"epochs": 25, "batch_size": 100, "kernel": 3, "num_filters": 32, "lr": 0.001, "num_colours": 24, "category": 7}
SHOWN = REQUIRED | {"epochs": f"at least {REQUIRED['epochs']}"}  # as messages state the settings
# 5.3 compares ConvTransposeNet with PoolUpsampleNet, 6.3 UNet with ConvTransposeNet.
COMPARISONS = {"5.3": ("ConvTransposeNet", "PoolUpsampleNet"), "6.3": ("UNet", "ConvTransposeNet")}
_MODEL_RE = {"PoolUpsampleNet": r"pool\s*-?\s*upsample(?:\s*net)?|section 4|max[- ]?pool",
             "ConvTransposeNet": r"conv\s*-?\s*transpose(?:\s*net)?|transposed conv|section 5",
             "UNet": r"\bu-?net\b|skip[- ]connections?"}


def model_of(run) -> str | None:
    name = str(run.settings.get("model") or run.settings.get("model_name") or "").lower()
    return MODEL_NAMES.get(name)


_ALIASES = {"epochs": ("epochs", "num_epochs"), "batch_size": ("batch_size", "batch"), "kernel": ("kernel", "kernel_size"),
            "num_filters": ("num_filters", "nf"), "lr": ("lr", "learn_rate", "learning_rate"),
            "num_colours": ("num_colours", "num_colors"), "limit": ("limit",), "category": ("category",)}


def _setting(run, key: str):
    for a in _ALIASES[key]:
        if a in run.settings:
            return run.settings[a]
    return None


def _colours(run):
    """The palette's colour count: config.json's palette_source.k where colourize wrote one (runs made before
    a palette file set num_colours recorded 24 there whatever the file held), else the num_colours setting."""
    source = run.config.get("palette_source")
    k = source.get("k") if isinstance(source, dict) else None
    return k if isinstance(k, int) and not isinstance(k, bool) else _setting(run, "num_colours")


def departures(run, free: tuple[str, ...] = ()) -> dict:
    """{setting: the run's value} where the run is not the handout's experiment (settings a record lacks count
    as the handout's; `free` settings may differ, e.g. the batch size in the 5.5 sweep)."""
    out = {} if run.complete else {"complete": False}
    # 5.2 and 6.2: "Train the model for at least 25 epochs": a longer run is the handout's experiment too.
    epochs = run.final.get("epochs")
    if not (isinstance(epochs, int) and epochs >= REQUIRED["epochs"]) and "epochs" not in free:
        out["epochs"] = epochs
    for key, want in REQUIRED.items():
        value = _colours(run) if key == "num_colours" else _setting(run, key)
        if key != "epochs" and key not in free and value is not None and value != want:
            out[key] = value
    if _setting(run, "limit") is not None:
        out["limit"] = _setting(run, "limit")
    return out


def pin_note(run) -> str | None:
    """What `cli.py pin` says of a run that is not the handout's (None when it is): the settings where it differs,
    as `departures` sees them, and the questions whose checks will leave it out (a batch-size sweep run still
    counts for 5.5)."""
    model = model_of(run)
    differ = departures(run) if model else {}
    if not differ:
        return None
    questions = [p for p, (m, _) in PLOT_PROBLEMS.items() if m == model] + [p for p, pair in COMPARISONS.items() if model in pair]
    sweep = model == "ConvTransposeNet" and not departures(run, free=("batch_size",))
    if model == "ConvTransposeNet" and not sweep:
        questions.append("5.5")
    wanted = SHOWN | {"limit": "all the data", "complete": True}
    shown = "; ".join(f"{k} {v}, not {wanted[k]}" for k, v in differ.items())
    ids = sorted(questions, key=lambda p: tuple(map(int, p.split("."))))
    return (f"not the handout's run ({shown}): {', '.join(ids)} will not count it"
            + ("; 5.5's batch-size sweep will" if sweep else ""))


def runs_by_model(ctx) -> dict[str, list]:
    if "runs" not in ctx.memo:
        grouped: dict[str, list] = {}
        for run in list_runs(ctx.results_dir):
            if model_of(run):
                grouped.setdefault(model_of(run), []).append(run)
        ctx.memo["runs"] = grouped
    return ctx.memo["runs"]


def standard_runs(ctx, model: str) -> list:
    """The model's runs with the handout's settings; the one pinned under the model's own name
    (results/unet) alone when it is one of them, as `cli.py pin unet` puts it there."""
    runs = [r for r in runs_by_model(ctx).get(model, []) if not departures(r)]
    own = [r for r in runs if MODEL_NAMES.get(r.name.lower()) == model]
    return own[:1] or runs


def final_metrics(ctx, model: str) -> dict | None:
    runs = standard_runs(ctx, model)
    if not runs:
        return None
    out = {}
    for key in ("train_loss", "val_loss", "val_acc"):
        values = [r.final[key] for r in runs if r.final.get(key) is not None]
        out[key] = sum(values) / len(values) if values else None  # several runs (e.g. seeds): their mean
    out["runs"] = [r.name for r in runs]
    return out


def plot_files(problem_id: str, ctx) -> list:
    model, names = PLOT_PROBLEMS[problem_id]
    runs = standard_runs(ctx, model)
    return [runs[0].path / n for n in names] if runs else []


def reference_run(problem_id: str, ctx) -> dict:
    if problem_id in PLOT_PROBLEMS:
        model = PLOT_PROBLEMS[problem_id][0]
        metrics = final_metrics(ctx, model)
        if metrics is None:
            raise Missing(_no_run(model, ctx))
        return {"answer": {"run": metrics.pop("runs"), "final": metrics}, "method": "final epoch of the pinned run(s)"}
    if problem_id in COMPARISONS:
        a, b = COMPARISONS[problem_id]
        ma, mb = final_metrics(ctx, a), final_metrics(ctx, b)
        if ma is None or mb is None:
            raise Unchecked(_no_run(a if ma is None else b, ctx))
        key = "lower_val_loss" if problem_id == "5.3" else "improved_val_loss"
        answer = {key: ma["val_loss"] < mb["val_loss"]}
        if problem_id == "6.3":
            answer["improved_val_acc"] = ma["val_acc"] > mb["val_acc"]
        return {"answer": answer, "final": {a: ma, b: mb}, "method": "final-epoch metrics of the pinned runs"}
    sweep = batch_sweep(ctx)
    if len(sweep) < 2:
        raise Unchecked("needs ConvTransposeNet runs with at least two batch sizes under " + str(ctx.results_dir))
    return {"answer": {"batch_sweep": sweep}, "method": "final-epoch metrics of the pinned ConvTransposeNet runs"}


def _no_run(model: str, ctx) -> str:
    wanted = ", ".join(f"{k} {v}" for k, v in SHOWN.items())
    return (f"no pinned {model} run with the handout's settings ({wanted}, all the data) under {ctx.results_dir} "
            f"(train it, then `python cli.py pin RUN`)")


def batch_sweep(ctx) -> dict[int, dict]:
    out: dict[int, dict] = {}
    for run in runs_by_model(ctx).get("ConvTransposeNet", []):
        bs = _setting(run, "batch_size")
        if isinstance(bs, int) and not departures(run, free=("batch_size",)):
            out.setdefault(bs, {"val_loss": run.final["val_loss"], "val_acc": run.final["val_acc"], "run": run.name})
    return dict(sorted(out.items()))


# ---------------------------------------------------------------- checks

def check_plot_problem(problem_id: str, ctx) -> list[dict]:
    model, names = PLOT_PROBLEMS[problem_id]
    runs = runs_by_model(ctx).get(model, [])
    if not runs:
        raise Missing(_no_run(model, ctx))
    good = standard_runs(ctx, model)
    details = []
    if not good:
        found = {r.name: departures(r) for r in runs}
        details.append(detail(f"{model} run settings", REQUIRED, found, False,
                              note="no pinned run has the handout's settings (shown: where each one differs)"))
        return details
    run = good[0]
    details.append(detail(f"{model} run settings", REQUIRED, run.name, True))
    for name in names:
        details.append(detail(f"{model} {name}", str(run.path / name), name if (run.path / name).is_file() else None,
                              (run.path / name).is_file()))
    return details


_DOWN = r"lower|smaller|less|decreas\w*|reduc\w*|drop\w*|falls|fell|(?:goes|went|going)\s+down"
_UP = r"higher|greater|larger|more|increas\w*|rais\w*|rises|rose|(?:goes|went|going)\s+up"
_GOOD = r"better|improv\w*|outperform\w*"
_BAD = r"worse|degrad\w*|underperform\w*"


# A question back to the previous stop, table bar or heading mark (group 1), else the text up to and with the next
# stop, kept: each try consumes a whole stretch, where r"[^.!?|#]*\?[*_`]*" alone was retried from every position
# of a long stretch without a stop (quadratic: 1.5 s for 25 kB of prose without full stops).
_QUESTION = re.compile(r"([^.!?|#]*\?[*_`]*)|[^.!?|#]*[.!|#]?")


def claims(text: str, subject: str, other: str) -> list[dict]:
    """Sentences comparing two models on a metric: {"metric", "direction" (lower|higher), "sentence"}."""
    out = []
    for sentence in ans.sentences(text):
        # a restated question ("Does X result in lower loss than Y?", "**Does X ... than Y?**") is no claim, also
        # where it shares a sentence with the answer ("Does X ... than Y? yes, X reaches ..."): it is cut out, back
        # to the previous stop, table bar or heading mark
        sentence = _QUESTION.sub(lambda m: " " if m.group(1) else m.group(0), sentence).strip()
        names = [m for m in (subject, other) if re.search(_MODEL_RE[m], sentence, re.I)]
        if subject not in names and not (re.search(r"\bit\b|the (?:new|skip) model|this model", sentence, re.I) and other in names):
            continue
        swapped = _swapped(sentence, subject, other)
        # "better loss but worse accuracy": each clause carries its own direction
        for clause in re.split(r"\b(?:but|while|whereas|however|although)\b|;", sentence, flags=re.I):
            if any(re.search(_MODEL_RE[m], clause, re.I) for m in (subject, other)):
                swapped = _swapped(clause, subject, other)
            for metric, pattern in (("val_acc", r"accura\w*"), ("train_loss", r"train(?:ing)? loss"), ("val_loss", r"loss")):
                if not re.search(pattern, clause, re.I):
                    continue
                respective = _respective(clause, metric, subject, other, swapped)
                if respective is not None:  # "A and B reach a lower and higher loss, respectively"
                    if respective:
                        out.append({"metric": metric, "direction": respective, "sentence": sentence[:200]})
                    if metric == "train_loss":
                        break
                    continue
                direction = _metric_direction(clause, metric, pattern)
                if direction and swapped:
                    direction = "higher" if direction == "lower" else "lower"
                # "a lower (or possibly higher) loss": two answers, neither the claim; said of this metric, in the part
                # that names it ("a lower loss and a higher accuracy, i.e. better or more accurate colours", "a lower
                # loss, though it could be higher or lower with another seed" hedge no loss)
                hedge = _HEDGED.search(_metric_part(clause, pattern))
                if direction and hedge and _direction(hedge.group(1), metric) != _direction(hedge.group(2), metric):
                    direction = f"{direction} or {'higher' if direction == 'lower' else 'lower'}"
                if direction:
                    out.append({"metric": metric, "direction": direction, "sentence": sentence[:200]})
                if metric == "train_loss":
                    break
            # "..., but it could be higher" (no metric named): the claim before it hedged
            if re.match(r"\s*(?:it|that|this)?\s*(?:could|might|may)(?:\s+also)?\s+be\b(?!.*(?:accura|loss))", clause, re.I | re.S):
                if out and out[-1]["sentence"] == sentence[:200] and " or " not in out[-1]["direction"]:
                    said = _direction(clause, out[-1]["metric"])
                    if said and said != out[-1]["direction"]:
                        out[-1] = {**out[-1], "direction": f"{out[-1]['direction']} or {said}"}
    return out


_COMPARATIVE = rf"\b({_DOWN}|{_UP}|{_GOOD}|{_BAD})\b"
# "lower or higher", "lower (or possibly higher)", "either lower or higher", "better or worse" (not "more or less the
# same"; nor "lower/higher loss/accuracy", each respectively)
_HEDGED = re.compile(rf"(?!more\s+or\s+less\b){_COMPARATIVE}\s*,?\s*(?:\(\s*)?or(?:\s+(?:possibly|maybe|perhaps|even))?\s*"
                     rf"{_COMPARATIVE}", re.I)


# Two opposite comparatives side by side, "lower and higher", "higher, lower", "better and a worse"
_PAIR = re.compile(rf"{_COMPARATIVE}\s*(?:,|/|&|\band\b)\s*(?:(?:a|an|the)\s+)?{_COMPARATIVE}", re.I)
_KINDS = (("val_acc", r"accura\w*"), ("loss", r"(?:train\w*\s+|validation\s+|val\s+)?loss\w*"))


def _respective(clause: str, metric: str, subject: str, other: str, swapped: bool) -> str | None:
    """The subject's direction for the metric in a clause that pairs two opposite comparatives with a list
    "respectively": with the models in the order named ("ConvTransposeNet and PoolUpsampleNet reach a lower and
    higher loss, respectively"), or with the metrics ("a lower and a higher loss and accuracy, respectively");
    '' where the pairing cannot be read (a guess could judge the wrong direction); None where nothing is paired."""
    said = list(re.finditer(r"\brespectively\b|\bresp\.", clause, re.I))
    if not said:
        return None
    # the pair comes before its "respectively" ("... 1.11 and 1.01, respectively, so its loss is lower and more
    # training would help" pairs no comparatives)
    pairs = [(_direction(p.group(1), metric), _direction(p.group(2), metric)) for p in _PAIR.finditer(clause, 0, said[-1].start())]
    pairs = [p for p in pairs if p[0] != p[1]]
    if len(pairs) != 1:
        return None if not pairs else ""
    kinds = [k for k, pat in _KINDS if re.search(pat, clause, re.I)]
    names = sorted((m.start(), m.end(), model) for model in (subject, other) for m in re.finditer(_MODEL_RE[model], clause, re.I))
    for (_, end, a), (start, _, b) in zip(names, names[1:]):
        if a != b and re.fullmatch(r"[\s`*_'’s]*(?:,|/|&|and)\s*(?:the\s+)?[`*_]*", clause[end:start], re.I):
            return pairs[0][0 if a == subject else 1] if len(kinds) == 1 else ""
    listed = re.search(rf"({_KINDS[0][1]}|{_KINDS[1][1]})\s*(?:,|/|&|\band\b)\s*(?:the\s+)?({_KINDS[0][1]}|{_KINDS[1][1]})",
                       clause, re.I)
    if not listed or bool(re.match("accura", listed.group(1), re.I)) == bool(re.match("accura", listed.group(2), re.I)):
        return ""
    direction = pairs[0][0 if bool(re.match("accura", listed.group(1), re.I)) == (metric == "val_acc") else 1]
    return ("higher" if direction == "lower" else "lower") if swapped else direction


# What a comparison is measured against: "than (that of) the UNet", "compared with the model with skip connections".
_BASE = (r"(?:\bthan|\bcompared\s+(?:to|with)|\brelative\s+to|\bversus|\bvs\.?)\s+(?:that\s+of\s+|those\s+of\s+)?"
         r"(?:the\s+)?(?:(?:model|network|one)\s+(?:with|using)\s+)?[`*_]*$")
_BASE_RE = re.compile(_BASE, re.I)
# Where a _BASE match can begin; none of the words after it begins like these, so a match ending at a model's name
# begins at the last of them before the name (searching each name's whole prefix was quadratic in long sentences).
_BASE_START = re.compile(r"\bthan|\bcompared|\brelative|\bversus|\bvs", re.I)


def _swapped(text: str, subject: str, other: str) -> bool:
    """Whether the text describes the other model against the subject ("PoolUpsampleNet's loss is higher than
    ConvTransposeNet's", "Compared with ConvTransposeNet, PoolUpsampleNet has ..."): the subject named only as
    what is compared against, the other model named otherwise; its directions are then the subject's reversed."""
    starts = [k.start() for k in _BASE_START.finditer(text)]

    def as_base(model):  # a comparison that ends where the name starts begins at the last comparison word before it
        found = []
        for m in re.finditer(_MODEL_RE[model], text, re.I):
            i = bisect.bisect_left(starts, m.start())
            found.append(i > 0 and bool(_BASE_RE.match(text, starts[i - 1], m.start())))
        return found
    s, o = as_base(subject), as_base(other)
    return bool(s) and all(s) and not all(o)


def _metric_direction(clause: str, metric: str, pattern: str) -> str | None:
    """The direction said of one metric: from the part of the clause (split at ', ' and 'and') that names it, so
    "a lower validation loss and a higher accuracy" gives each its own word; a part without a comparative word
    ("loss and accuracy are both higher") takes the clause's."""
    for part in re.split(r",\s|\band\b", clause, flags=re.I):
        if re.search(pattern, part, re.I):
            direction = _direction(part, metric)
            if direction:
                return direction
    return _direction(clause, metric)


def _metric_part(clause: str, pattern: str) -> str:
    """The part of the clause (split at ', ' and 'and', not at ', or') that names the metric with a comparative
    word, else the whole clause ("lower, or possibly higher, loss")."""
    for part in re.split(r",\s(?!\s*\(?\s*or\b)|\band\b", clause, flags=re.I):
        if re.search(pattern, part, re.I) and re.search(_COMPARATIVE, part, re.I):
            return part
    return clause


_NEGATION = re.compile(r"^(?:not|no|never|neither|nor|hardly)$|n't$", re.I)


def _direction(sentence: str, metric: str) -> str | None:
    """lower|higher for the metric, from the first comparative word; a negation counts only just before it
    ("not lower", "didn't improve"), so "..., not a fluctuation: UNet has the lower loss" stays lower, and
    "not only lower loss but also ..." is no negation."""
    found = None
    for pattern, value in ((_DOWN, "lower"), (_UP, "higher"), (_GOOD, "good"), (_BAD, "bad")):
        m = re.search(rf"\b(?:{pattern})\b", sentence, re.I)
        if m:
            found = (m, value)
            break
    if found is None:
        return None
    m, word = found
    if word in ("good", "bad"):
        lower_is_good = metric != "val_acc"
        word = ("lower" if lower_is_good else "higher") if word == "good" else ("higher" if lower_is_good else "lower")
    before = re.findall(r"[\w']+", re.sub(r"\bnot\s+(?:only|just|merely|simply)\b", " ", sentence[:m.start()], flags=re.I))[-3:]
    if any(_NEGATION.search(w) for w in before):
        word = "higher" if word == "lower" else "lower"
    return word


def check_comparison(problem_id: str, answer, text: str, ctx) -> list[dict]:
    subject, other = COMPARISONS[problem_id]
    ms, mo = final_metrics(ctx, subject), final_metrics(ctx, other)
    if ms is None or mo is None:
        raise Unchecked(_no_run(subject if ms is None else other, ctx))
    details = []
    bools = {"lower_val_loss": ("val_loss", "lower"), "improved_val_loss": ("val_loss", "lower"),
             "improved_val_acc": ("val_acc", "higher")}
    stated = []
    if isinstance(answer, dict):
        for key, (metric, direction) in bools.items():
            said = ans.parse_bool(answer.get(key))
            if said is not None:
                stated.append({"metric": metric, "direction": direction if said else
                               ("higher" if direction == "lower" else "lower"), "sentence": f"{key}: {said}"})
    stated += claims(text, subject, other)
    seen = set()
    for c in stated:
        key = (c["metric"], c["direction"])
        if key in seen:
            continue
        seen.add(key)
        truth = "lower" if ms[c["metric"]] < mo[c["metric"]] else "higher"
        details.append(detail(f"claim: {subject} has {c['direction']} {c['metric']} than {other}",
                              f"{truth} ({ms[c['metric']]:.4g} vs {mo[c['metric']]:.4g})", c["sentence"],
                              c["direction"] == truth,
                              note="" if c["direction"] == truth else ("two answers for one quantity: " if " or " in c["direction"]
                                                                       else "") + f"the pinned runs measured {ms[c['metric']]:.4g} vs {mo[c['metric']]:.4g}"))
    if not details:
        details.append(detail(f"{subject} vs {other}", "a comparison of loss/accuracy", None, None,
                              note="no comparative claim about loss or accuracy found"))
    return details


# "larger batches", "increasing the batch size", "as the batch size grows": which way the batch size goes
_BATCH_CHANGE = re.compile(
    r"(?:(?P<up>larger|bigger|increasing|higher|raising|growing)|smaller|decreasing|lower|reducing|shrinking)"
    r"\s+(?:the\s+)?batch"
    r"|batch[\s-]sizes?\s+(?:(?P<up2>grows|increases|rises|goes\s+up|gets\s+(?:larger|bigger)|is\s+increased)"
    r"|shrinks|decreases|falls|goes\s+down|gets\s+smaller|is\s+(?:decreased|reduced))\b", re.I)


def check_sweep(text: str, ctx) -> list[dict]:
    sweep = batch_sweep(ctx)
    if len(sweep) < 2:
        raise Unchecked("needs ConvTransposeNet runs with at least two batch sizes under " + str(ctx.results_dir))
    sizes = sorted(sweep)
    details = []
    for sentence in ans.sentences(text):
        m = _BATCH_CHANGE.search(sentence)
        if not m:
            continue
        bigger = bool(m.group("up") or m.group("up2"))
        for metric, pattern in (("val_acc", r"accura\w*"), ("val_loss", r"loss")):
            if not re.search(pattern, sentence, re.I):
                continue
            rest = sentence[m.end():]
            direction = _metric_direction(rest, metric, pattern)  # "a lower loss and a higher accuracy": each its own
            if re.search(pattern, sentence[:m.start()], re.I):  # "the loss was lower with smaller batches and higher ..."
                direction = _metric_direction(sentence[:m.start()], metric, pattern) or direction
            if not direction:
                continue
            first, last = sweep[sizes[0]][metric], sweep[sizes[-1]][metric]
            trend_up = last > first  # metric grows with batch size
            claim_up = (direction == "higher") == bigger
            details.append(detail(f"claim: {metric} vs batch size", f"{metric} {first:.4g} at {sizes[0]} -> {last:.4g} at {sizes[-1]}",
                                  sentence[:200], claim_up == trend_up))
    if not details:
        details.append(detail("batch-size claims", "a trend of loss/accuracy with batch size", None, None,
                              note="no claim about batch size and loss/accuracy found"))
    return details
