"""A2 section 3: the convolution (3.1) and the network sizes (3.2).

3.1 convolves by explicit loops (flipped and unflipped kernel, which must agree); 3.2 builds both networks
in torch and counts with forward hooks, cross-checked by hand formulas. The counting question 4.3 is in
ref_counts.py, the paddings of 5.4 in ref_padding.py.
"""

from __future__ import annotations

import bisect
import re
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

from workbench import answers as ans
from workbench import grids
from workbench.verdicts import detail


@contextmanager
def single_thread():
    """Tiny tensors: one thread avoids OpenMP hand-offs that cost ~10 ms per op on a busy machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# ---------------------------------------------------------------- 3.1 convolution

I_MATRIX = ((0, 0, 0, 0, 0), (0, 0, 1, 1, 1), (1, 1, 1, 1, 0), (0, 1, 1, 1, 0), (0, 0, 1, 0, 0))
J_FILTER = ((0, -1, 0), (-1, 5, -1), (0, -1, 0))
FEATURE_WORDS = (r"sharpen", r"edge", r"laplacian", r"high[- ]?pass", r"boundar", r"detail")
_OTHER_FEATURES = (r"blur", r"smooth", r"averag", r"low[- ]?pass", r"denois", r"emboss", r"identity")  # wrong ones
# a feature named only to deny it: "not an edge detector", "rather than detecting edges" ("not only" is no denial)
_DENIED = re.compile(r"\b(?:not(?!\s+only\b)|n't|never|no|rather than|instead of|unlike)\s+(?:\w+\s+){0,2}?(?:"
                     + "|".join(FEATURE_WORDS) + r")\w*", re.I)


_RIGHT_F, _WRONG_F = "(?:" + "|".join(FEATURE_WORDS) + r")\w*", "(?:" + "|".join(_OTHER_FEATURES) + r")\w*"
# a right and a wrong feature joined by "or" / "/" ("either sharpens or blurs", "blur (or possibly sharpen)")
_OR = (r"(?:(?!\bnot\b|n't|\bno\b|\bnever\b|\bnor\b|rather|instead|unlike)[^.;\n]){0,30}?"
       r"(?:\bor\b(?:\s+(?:possibly|maybe|perhaps|even))?|/)\s*(?:(?!not\b|no\b|never\b)\w+\s+){0,2}?")
_FEATURE_HEDGE = re.compile(rf"\b{_RIGHT_F}{_OR}{_WRONG_F}|\b{_WRONG_F}{_OR}{_RIGHT_F}", re.I)


def conv_same(image, kernel, flip: bool) -> np.ndarray:
    """Zero-padded 'same' 2-D convolution (flip=True) or cross-correlation (flip=False), by loops."""
    img, ker = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    if flip:
        ker = ker[::-1, ::-1]
    kh, kw = ker.shape
    ph, pw = kh // 2, kw // 2
    out = np.zeros_like(img)
    for r in range(img.shape[0]):
        for c in range(img.shape[1]):
            total = 0.0
            for i in range(kh):
                for j in range(kw):
                    rr, cc = r + i - ph, c + j - pw
                    if 0 <= rr < img.shape[0] and 0 <= cc < img.shape[1]:
                        total += img[rr, cc] * ker[i, j]
            out[r, c] = total
    return out


@lru_cache(maxsize=1)
def conv_reference() -> tuple[tuple[float, ...], ...]:
    conv, corr = conv_same(I_MATRIX, J_FILTER, True), conv_same(I_MATRIX, J_FILTER, False)
    assert np.array_equal(conv, corr), "J is symmetric: convolution and correlation must agree"
    return tuple(tuple(float(x) for x in row) for row in conv)


def reference_conv() -> dict:
    return {"answer": {"matrix": [[int(x) for x in row] for row in conv_reference()],
                       "feature": "sharpening: identity plus a negative Laplacian, so it enhances edges "
                                  "(pixels that differ from their 4 neighbours)"},
            "method": "zero-padded convolution by explicit loops, with the flipped kernel (lecture 4's definition) "
                      "and without the flip; J is symmetric, so both agree (asserted)"}


def _matrix_diff(found, want) -> tuple[list, float]:
    diffs = [(r + 1, c + 1, want[r][c], found[r][c]) for r in range(len(want)) for c in range(len(want[0]))
             if abs(found[r][c] - want[r][c]) > 1e-9]
    return diffs, 1 - len(diffs) / (len(want) * len(want[0]))


def _fmt(x) -> str:
    return f"{x:g}"


def matrix_detail(found, want, what: str) -> dict:
    diffs, credit = _matrix_diff(found, want)
    if not diffs:
        return detail(what, want, found, True)
    where = " and ".join(f"({r},{c})" for r, c, _, _ in diffs[:6])
    exp = " and ".join(_fmt(e) for _, _, e, _ in diffs[:6])
    got = " and ".join(_fmt(f) for _, _, _, f in diffs[:6])
    more = f" (+{len(diffs) - 6} more)" if len(diffs) > 6 else ""
    noun = "entry" if len(diffs) == 1 else "entries"
    return detail(what, want, found, False, credit=max(0.0, credit),
                  note=f"{noun} {where} differ{'s' if len(diffs) == 1 else ''}: expected {exp}, found {got}{more}")


def check_conv(answer, text: str) -> list[dict]:
    want = conv_reference()
    details = []
    matrix = feature = None
    if isinstance(answer, dict):
        matrix = grids.parse_matrix_value(answer.get("matrix"))
        feature = answer.get("feature")  # an unreadable matrix never gets here: verify names it (answer_value_error)
    if matrix is None:
        cands = [f for f in grids.find_matrices(text, (5, 5)) if f.value != tuple(tuple(float(x) for x in r) for r in I_MATRIX)]
        distinct = list(dict.fromkeys(f.value for f in cands))
        if len(distinct) == 1:
            matrix = distinct[0]
        elif len(distinct) > 1:
            right = [i + 1 for i, m in enumerate(distinct) if not _matrix_diff(m, want)[0]]
            details.append(detail("I * J", want, [list(m) for m in distinct], None,
                                  note=f"ambiguous: {len(distinct)} different 5x5 matrices in the answer"
                                       + (f" (number {right[0]} is right)" if right else " (none is right)")))
        else:
            details.append(detail("I * J", want, None, None, note="no 5x5 numeric matrix found"))
    if matrix is not None:
        if (len(matrix), len(matrix[0])) != (5, 5):
            details.append(detail("I * J", want, [list(r) for r in matrix], False, note="not 5x5"))
        else:
            details.append(matrix_detail([list(r) for r in matrix], [list(r) for r in want], "I * J"))
    source = _DENIED.sub(" ", ans.plain_words(str(feature) if feature else text))
    hits = ans.has_any(source, FEATURE_WORDS)
    # a text with no matrix and no feature word holds no answer to judge ("Glad it helped!"): not a wrong one
    # the other features an answer names ("it blurs"): shown as found, not "nothing", when it names no right one
    others = [m.group(0).lower() for p in _OTHER_FEATURES if (m := re.search(p + r"\w*", source, re.I))]
    answered = bool(hits or feature) or any(d["found"] is not None for d in details) or bool(others)
    hedge = _FEATURE_HEDGE.search(source) if hits else None  # "it either sharpens or blurs": two answers, not one
    details.append(detail("feature detected", "sharpening / edges (Laplacian-like)", feature if feature else
                          (hedge.group(0) if hedge else None) or
                          (", ".join(h.strip("\\b") for h in hits) or ", ".join(others) or None),
                          bool(hits) and not hedge if answered else None,
                          weight=0.5, note="two answers for one quantity: only one can be the answer" if hedge else
                          "" if hits else "names no sharpening / edge / Laplacian feature"))
    return details


# ---------------------------------------------------------------- 3.2 network sizes

CNN_SPEC = (("conv", 32), ("pool", None), ("conv", 64), ("pool", None), ("conv", 3))
INPUT_SHAPE = (3, 32, 32)
# Readings of "the fully connected layers do not change the output shape of inputs" (handout v1.3). The
# literal one is primary: v1.3 "simplified" the FCNN and its figure gives the FC layers no channel counts.
FCNN_READINGS = {
    "keep-shape": "each FC layer's output has exactly its input's shape",
    "conv-sized": "each FC layer keeps its input's height and width and has the conv layer's channels (32, 64, 3)",
}


def _build(kind: str):
    """The CNN or an FCNN reading as torch modules. FC weights are stride-0 views of one zero (numel() counts
    them all; ~10^8 weights take no memory), and an FC layer only produces its output shape."""
    import torch
    from torch import nn

    class FC(nn.Module):
        def __init__(self, in_shape, out_shape):
            super().__init__()
            self.out_shape = out_shape
            self.weight = nn.Parameter(torch.zeros(()).expand(int(np.prod(out_shape)), int(np.prod(in_shape))))

        def forward(self, x):  # (B, C, H, W) -> (B, C', H', W')
            return x.new_zeros(x.shape[0], *self.out_shape)

    layers, shape = [], INPUT_SHAPE
    for op, channels in CNN_SPEC:
        c, h, w = shape
        if op == "pool":
            layers.append(nn.MaxPool2d(2))
            shape = (c, h // 2, w // 2)
        elif kind == "cnn":
            layers.append(nn.Conv2d(c, channels, 3, padding=1, bias=False))
            shape = (channels, h, w)
        else:
            out = (channels, h, w) if kind == "conv-sized" else shape
            layers.append(FC(shape, out))
            shape = out
    return nn.Sequential(*layers), torch.zeros((1, *INPUT_SHAPE))


def count_with_hooks(kind: str) -> dict:
    import torch

    model, x = _build(kind)
    outputs: list[tuple[str, int]] = []
    hooks = [m.register_forward_hook(lambda m, i, o: outputs.append((type(m).__name__, o[0].numel()))) for m in model]
    with torch.no_grad(), single_thread():
        model(x)
    for h in hooks:
        h.remove()
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return _conventions(outputs, params)


def count_by_hand(kind: str) -> dict:
    outputs, params, (c, h, w) = [], 0, INPUT_SHAPE
    for op, channels in CNN_SPEC:
        if op == "pool":
            h, w = h // 2, w // 2
            outputs.append(("MaxPool2d", c * h * w))
            continue
        out_c = channels if kind in ("cnn", "conv-sized") else c
        params += 9 * c * out_c if kind == "cnn" else (c * h * w) * (out_c * h * w)
        c = out_c
        outputs.append(("Conv2d" if kind == "cnn" else "FC", c * h * w))
    return _conventions(outputs, params)


def _conventions(outputs, params) -> dict:
    inp = int(np.prod(INPUT_SHAPE))
    layers = sum(n for _, n in outputs)
    no_pool = sum(n for t, n in outputs if t != "MaxPool2d")
    return {"params": int(params), "neurons": int(layers),
            "alternatives": {int(layers + inp): "the input image counted as neurons",
                             int(no_pool): "pooling layers not counted",
                             int(no_pool + inp): "input counted, pooling layers not counted"}}


@lru_cache(maxsize=1)
def size_reference() -> dict:
    out = {}
    for kind in ("cnn", *FCNN_READINGS):
        hooks, hand = count_with_hooks(kind), count_by_hand(kind)
        assert hooks == hand, f"{kind}: hooks {hooks} != hand formula {hand}"
        out[kind] = hooks
    return out


def reference_sizes() -> dict:
    ref = size_reference()
    return {"answer": {"cnn_neurons": ref["cnn"]["neurons"], "cnn_params": ref["cnn"]["params"],
                       "fcnn_neurons": ref["keep-shape"]["neurons"], "fcnn_params": ref["keep-shape"]["params"]},
            "also_correct": {"fcnn_neurons": ref["conv-sized"]["neurons"], "fcnn_params": ref["conv-sized"]["params"],
                             "reading": FCNN_READINGS["conv-sized"]},
            "convention": "neurons = outputs of every layer after the input, pooling included; parameters = weights "
                          "(no biases); FCNN: " + FCNN_READINGS["keep-shape"],
            "alternatives": {k: {str(n): why for n, why in v["alternatives"].items()} for k, v in ref.items()},
            "method": "torch models counted with forward hooks (outputs) and numel() (weights), equal to the hand "
                      "formulas (asserted)"}


_NETS = re.compile(r"FCNN|FC[- ]?NN|fully[- ]connected(?: neural)?(?: network| architecture| model| NN)|\bCNN\b|"
                   r"convolutional(?: neural)? (?:network|architecture|model)", re.I)
_NEURON = [r"neurons?", r"units?", r"activations?"]
_PARAM = [r"(?:trainable )?param(?:eter)?s?", r"weights?"]
_SENTENCE_END = re.compile(r"\n|;|\.(?=\s)")
_CLAUSE_START = re.compile(r",\s|\b(?:and|but|whereas|while|compared)\b", re.I)


_RATIO = re.compile(r"[-+\d.,]+\s*(?:times\b|×|-?fold\b|more\b|fewer\b|less\b)", re.I)  # "...more/fewer ... than"
# "than the CNN", "as the CNN", "compared to the CNN": the other network of a comparison, not a new subject
_COMPARED = re.compile(r"\b(?:than|as|vs\.?|versus|compared\s+(?:to|with))\s+(?:that\s+of\s+)?(?:the\s+)?$", re.I)


def sizes_from_text(text: str) -> dict:
    """Per network, the labelled totals: a number with "total" before it wins, else the last one. A network's
    text starts with the sentence that names it ("Number of neurons in the CNN = 61632"), or, in a sentence that
    names both, with the clause that names it ("The CNN has 61632 neurons, whereas the FCNN has 4992 neurons").
    Markdown tables are read as tables (sizes_from_tables), and win."""
    text = ans.dot_grouped(text)  # "61.632 neurons ... 10.063.872 parameters": one reading for the whole answer
    tables = sizes_from_tables(text)
    text = grids.without_tables(text)
    marks, previous_end = [], 0
    for m in _NETS.finditer(text):
        if marks and _COMPARED.search(text, max(0, m.start() - 30), m.start()):
            continue
        start = max((b.end() for b in _SENTENCE_END.finditer(text, 0, m.start())), default=0)
        if start < previous_end:
            start = max((b.start() for b in _CLAUSE_START.finditer(text, previous_end, m.start())), default=previous_end)
        marks.append((start, "fcnn" if re.match(r"FC|fully", m.group(0), re.I) else "cnn"))
        previous_end = m.end()
    found: dict[str, float] = {}
    for i, (start, net) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else len(text)
        segment = text[start:end]
        for qty, labels in (("neurons", _NEURON), ("params", _PARAM)):
            hits = ans.labelled_numbers(segment, labels)
            hits = [h for h in hits if h.value >= 10  # skip kernel sizes, layer indices
                    and not _RATIO.match(h.snippet)]  # and a ratio: "478 times as many parameters as the CNN"
            if not hits:
                continue
            totals = [h for h in hits if re.search(r"total|overall|in all|sum", segment[max(0, h.start - 80):h.start + 20], re.I)]
            found[f"{net}_{qty}"] = _hedge(segment, (totals or hits)[-1].value)
    return {**found, **tables}


_N = rf"(?:{ans.NUMBER_RE.pattern})"
# "either A or B", "A or B", "A (or possibly B)", "A/B", "between A and B", "A, or maybe B", "A ..., but it could be B"
# (not "A (or 10.06 million)", "A (or 8,064 if the input is counted)": a restatement, a stated convention; nor "the
# ratio / difference between A and B": a comparison of the two networks)
_NOT_A_RANGE = r"(?<!ratio )(?<!ratios )(?<!gap )(?<!difference )(?<!differences )(?<!factor )(?<!comparison )(?<!relation )(?<!relationship )(?<!trade-off )(?<!tradeoff )(?<!distinction )"
_HEDGE = re.compile(rf"(?:{_NOT_A_RANGE}\bbetween\s+(?P<a1>{_N})\s+and\s+|(?P<a2>{_N})(?:\s*,?\s*\(?\s*or(?:\s+(?:possibly|maybe|perhaps|even))?\s+"
                    rf"|(?P<slash>/)|(?:\s+[A-Za-z-]+){{0,2}}\s*,?\s*but\s+(?:it\s+)?(?:could|might|may)(?:\s+also)?\s+be\s+))"
                    rf"(?P<b>{_N})(?![.,]?\d|\s*(?:million|billion|thousand|[MBk]\b|×|\\times|x\s*10|=|≈|\\approx|\(?\s*(?:if|when)\b))", re.I)


# a comparison named a few words before "between" or just after "between A and B": the two networks compared
_COMPARED_BEFORE = re.compile(r"\b(?:ratio|factor|gap|difference|comparison|relation(?:ship)?|trade-?off|distinction|"
                              r"contrast|times)\b[^.;:\n]{0,40}$", re.I)
_COMPARED_AFTER = re.compile(r"\s*,?\s*(?:there\s+(?:is|are|was)|(?:is|are)\s+(?:a|an|the)\s+(?:ratio|factor|gap|"
                             r"difference))\b", re.I)


def _hedge(segment: str, value: float):
    """The value, or both values of a hedge that names it ("either 10,063,871 or 10,063,872 parameters"): two
    answers for one quantity, not the last one."""
    text = ans.clean_number_text(segment.replace("**", ""))
    for m in _HEDGE.finditer(text):
        pair = tuple(ans.parse_number(m.group(g)) for g in ("a1" if m.group("a1") else "a2", "b"))
        if m.group("a1") and (_COMPARED_BEFORE.search(text, 0, m.start()) or _COMPARED_AFTER.match(text, m.end())):
            continue  # "a factor of about 479 between 21,024 and 10,063,872", "between A and B there is a factor of"
        if m.group("slash") and None not in pair and max(pair) > 10 * min(pair):
            continue  # "10,063,872/21,024": a ratio
        if value in pair and None not in pair and pair[0] != pair[1]:
            return pair
    return value


def _net(label: str) -> str | None:
    nets = {"fcnn" if re.match(r"FC|fully", m.group(0), re.I) else "cnn" for m in _NETS.finditer(label)}
    return nets.pop() if len(nets) == 1 else None


_DERIVED = re.compile(r"\bratio|\bfactor\b|\bdifference\b|\bdiff\b|\bfold\b|percent|%", re.I)


def sizes_from_tables(text: str) -> dict:
    """Totals from Markdown tables, either way round (`| | CNN | FCNN |` / `| neurons | 61,632 | 4,992 |`), or
    one row per layer with a Total row, the network named in the table or before it."""
    cells: dict[str, list[tuple[bool, float]]] = {}
    named = list(_NETS.finditer(text))  # once: a row starts a line, and no name spans a line end
    ends = [m.end() for m in named]
    for f in grids.table_cells(text):
        row, col, cell = f.value
        k = bisect.bisect_right(ends, f.start)  # the names before the row
        net = _net(col) or _net(row) or (_net(named[k - 1].group(0)) if k else None)
        qty = [q for q, labels in (("neurons", _NEURON), ("params", _PARAM)) if ans.has_any(f"{row} {col}", labels)]
        value = grids.cell_number(cell)
        if _DERIVED.search(f"{row} {col}") or (value is not None and not float(value).is_integer()):
            continue  # a ratio or difference row ('| Ratio | 0.08 | 478.7 |') counts nothing
        if net and len(qty) == 1 and value is not None and value >= 10:
            total = bool(re.search(r"total|overall|\bsum\b|\ball\b", f"{row} {col}", re.I))
            cells.setdefault(f"{net}_{qty[0]}", []).append((total, value))
    found = {}
    for key, values in cells.items():
        totals = [v for t, v in values if t]
        if totals or len(values) == 1:  # per-layer rows without a Total row give no total
            found[key] = (totals or [values[0][1]])[-1]
    return found


def check_sizes(answer, text: str) -> list[dict]:
    ref = size_reference()
    structured = isinstance(answer, dict)
    got = {k: ans.parse_number(answer.get(k)) for k in ("cnn_neurons", "cnn_params", "fcnn_neurons", "fcnn_params")} \
        if structured else sizes_from_text(text)
    details = []
    fcnn_reading = None  # both FCNN numbers must come from one reading of the figure, not one each
    fcnn_both = False  # the FCNN's neurons hedged between the two readings: its parameters must name both too
    for key in ("cnn_neurons", "cnn_params", "fcnn_neurons", "fcnn_params"):
        net, qty = key.split("_")
        readings = ["cnn"] if net == "cnn" else [r for r in FCNN_READINGS if fcnn_reading in (None, r)]
        want = ref[readings[0]][qty]
        value = got.get(key)
        if value is None:
            details.append(detail(key, want, None, None, note="no number found"))
            continue
        if isinstance(value, tuple):  # "either A or B": two answers for one quantity, right only if both are
            shown = " or ".join(str(int(v)) if v == int(v) else f"{v:g}" for v in value)
            covered = {r for v in value for r in readings if ref[r][qty] == v}
            if all(any(ref[r][qty] == v for r in readings) for v in value):  # "either 4,992 or 61,632 neurons"
                fcnn_both = len(covered) > 1
                details.append(detail(key, want, shown, True, note="each an accepted reading of the FCNN"))
            else:
                details.append(detail(key, want, shown, False, note="two answers for one quantity: only one can be "
                                                                    "the answer"))
            continue
        exact = [r for r in readings if ref[r][qty] == value]
        if exact and net == "fcnn" and fcnn_both:
            details.append(detail(key, want, int(value), False, note="the FCNN's neurons are given for both readings, "
                                                                     "this for one: one network has both numbers"))
            continue
        if exact:
            note = "" if exact[0] == "cnn" or exact[0] == list(FCNN_READINGS)[0] else \
                f"accepted reading of the FCNN: {FCNN_READINGS[exact[0]]}"
            if net == "fcnn" and len(exact) == 1:
                fcnn_reading = exact[0]
            details.append(detail(key, want, int(value), True, note=note))
            continue
        other = [r for r in FCNN_READINGS if r not in readings and ref[r][qty] == value] if net == "fcnn" else []
        if other:
            details.append(detail(key, ref[fcnn_reading][qty], int(value), False,
                                  note=f"this is the FCNN under another reading ({FCNN_READINGS[other[0]]}) than "
                                       f"fcnn_neurons' ({FCNN_READINGS[fcnn_reading]}): one network has both numbers"))
            continue
        alt = [(r, ref[r]["alternatives"].get(int(value))) for r in readings if qty == "neurons" and int(value) == value]
        alt = [(r, why) for r, why in alt if why]
        if alt:
            details.append(detail(key, want, int(value), True, credit=0.5, note=f"alternative convention: {alt[0][1]}"))
            continue
        details.append(detail(key, want, value if value != int(value) else int(value), False,
                              note=_size_hint(value, want)))
    disadvantage = answer.get("disadvantage") if structured else text
    if disadvantage:
        hits = ans.has_any(str(disadvantage), [r"overfit", r"memory", r"comput", r"slow", r"more data", r"generali[sz]",
                                               r"storage", r"expensive", r"cost"])
        # no size and no disadvantage named: no answer to judge, not a wrong one
        answered = bool(hits) or structured or any(d["found"] is not None for d in details)
        details.append(detail("disadvantage of more parameters", "overfitting / memory / computation",
                              str(disadvantage)[:120] if structured else ", ".join(hits) or None,
                              bool(hits) if answered else None, weight=0.5,
                              note="" if hits else "names no recognised disadvantage"))
    return details


def _size_hint(value, want) -> str:
    if want and value and abs(value / want - round(value / want)) < 1e-9 and round(value / want) > 1:
        return f"{round(value / want)} times the reference"
    return ""
