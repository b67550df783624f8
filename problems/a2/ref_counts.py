"""A2 question 4.3: PoolUpsampleNet's weights, outputs and connections as expressions in NIC, NF and NC.

The real PoolUpsampleNet (colourize.models) is counted with forward hooks (colourize.counting) at many
(NIC, NF, NC); the coefficients over the degree-2 monomials are fitted and compared with a symbolic count
derived from Figure 1a (figure.py), for the 32x32 input and the doubled 64x64 one.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

import numpy as np
import sympy

from workbench import grids
from workbench.answers import unbox
from workbench.formulas import FormulaError, Sym, parse_formula
from workbench.verdicts import detail

from .figure import LAYER_TYPES, symbolic_counts
from .ref_cnn import single_thread

NIC, NF, NC = sympy.symbols("NIC NF NC")
COUNT_SYMBOLS = [Sym("NIC", "scalar", ("NIC", "N_IC", "N_in", "nic", "num_in_channels", "NumInChannels", "C_in")),
                 Sym("NF", "scalar", ("NF", "N_F", "nf", "num_filters")),
                 Sym("NC", "scalar", ("NC", "N_C", "nc", "num_colours", "num_colors"))]
COUNT_KEYS = ("weights", "outputs", "connections")
# Which layers a count includes; credit when an answer matches that convention instead of the primary one.
CONVENTIONS = {
    "conv": ({"Conv2d"}, 1.0, "Conv2d layers only"),
    "conv+bn": ({"Conv2d", "BatchNorm2d"}, 1.0, "BatchNorm2d included (the handout accepts it)"),
    "no-bn": ({"Conv2d", "MaxPool2d", "Upsample", "ReLU"}, 0.5, "every layer but BatchNorm2d counted"),
    "all": (set(LAYER_TYPES), 0.5, "every layer counted (pooling, upsampling, BatchNorm, ReLU)"),
}
# The same conventions in colourize.counting's layer kinds.
CONVENTION_KINDS = {"conv": ("conv",), "conv+bn": ("conv", "norm"), "no-bn": ("conv", "pool", "upsample", "activation"),
                    "all": ("conv", "pool", "upsample", "norm", "activation")}
MONOMIALS = (sympy.Integer(1), NIC, NF, NC, NIC**2, NF**2, NC**2, NIC * NF, NIC * NC, NF * NC)


def _hook_counts(cls, nic: int, nf: int, nc: int, size: int) -> dict[str, dict[str, int]]:
    """Per convention, weights/outputs/connections of the real model by forward hooks (colourize.counting)."""
    from colourize.counting import count_layers, totals

    rows = count_layers(cls(3, nf, nc, nic), (nic, size, size))
    out = {}
    for name, (_types, _, _) in CONVENTIONS.items():
        t = totals(rows, CONVENTION_KINDS[name])
        out[name] = {"weights": t.weights, "outputs": t.outputs, "connections": t.connections}
    return out


def _fit(points: list[tuple[int, int, int]], values: list[int]):
    """Integer coefficients over MONOMIALS by least squares; the fit must be exact."""
    A = np.array([[a**i * b**j * c**k for i, j, k in _EXPONENTS] for a, b, c in points], dtype=float)
    coef, *_ = np.linalg.lstsq(A, np.array(values, dtype=float), rcond=None)
    rounded = np.round(coef)
    if not np.allclose(A @ rounded, values):
        raise AssertionError("the counts are not a degree-2 polynomial in NIC, NF, NC")
    return sympy.expand(sum(int(c) * m for c, m in zip(rounded, MONOMIALS) if c))


_EXPONENTS = [sympy.Poly(m, NIC, NF, NC).monoms()[0] for m in MONOMIALS]


@lru_cache(maxsize=1)
def count_reference() -> dict:
    """{size: {convention: {quantity: polynomial}}} from hooks on colourize.models.PoolUpsampleNet, checked
    against the symbolic count of Figure 1a."""
    from colourize.models import PoolUpsampleNet

    rng = np.random.default_rng(43)
    points = [tuple(int(x) for x in rng.integers(1, 7, size=3)) for _ in range(12)]
    out: dict = {}
    for size in (32, 64):
        with single_thread():
            measured = [_hook_counts(PoolUpsampleNet, *p, size) for p in points]
        hand = symbolic_counts("PoolUpsampleNet", size)
        out[size] = {}
        for conv in CONVENTIONS:
            out[size][conv] = {}
            for q in COUNT_KEYS:
                fitted = _fit(points, [m[conv][q] for m in measured])
                by_hand = sympy.expand(sum(v[q] for t, v in hand if t in CONVENTIONS[conv][0]))
                if sympy.expand(fitted - by_hand) != 0:
                    raise AssertionError(f"{conv} {q} at {size}: model gives {fitted}, Figure 1a gives {by_hand}")
                out[size][conv][q] = fitted
    return out


def _key(q: str, size: int) -> str:
    return q if size == 32 else f"{q}_doubled"


def poly_text(expr) -> str:
    """9 NIC NF + 36 NF^2 + ...: terms in NIC, NF, NC order, as people write them."""
    terms = []
    try:
        poly = sympy.Poly(expr, NIC, NF, NC)
    except sympy.PolynomialError:
        return str(expr)
    for (a, b, c), coef in poly.terms():
        factors = [f"{n}^{e}" if e > 1 else n for n, e in (("NIC", a), ("NF", b), ("NC", c)) if e]
        terms.append(" ".join(([str(coef)] if coef != 1 or not factors else []) + factors))
    return " + ".join(terms).replace("+ -", "- ") or "0"


def reference_counts() -> dict:
    ref = count_reference()
    answer = {_key(q, s): poly_text(ref[s]["conv"][q]) for s in (32, 64) for q in COUNT_KEYS}
    return {"answer": answer,
            "convention": "Conv2d layers only (biases and BatchNorm ignored): weights k^2 C_in C_out, outputs "
                          "C_out H W of each conv, connections = outputs x k^2 C_in; kernel 3",
            "accepted": {_key(q, s): poly_text(ref[s]["conv+bn"][q]) for s in (32, 64) for q in COUNT_KEYS},
            "method": "forward hooks (colourize.counting) on colourize.models.PoolUpsampleNet at 12 random (NIC, NF, NC), 32x32 and 64x64, "
                      "coefficients fitted over the degree-2 monomials; equal to the symbolic count of Figure 1a"}


COUNT_HINT = "write an expression in NIC, NF and NC in Python/sympy or TeX syntax, e.g. `9*NIC*NF + 18*NF^2`"


# the counts are degree 2: expanding (NIC + NF + NC)^100000, or sympy.Poly of NC^(10^30), would never finish
_MAX_DEGREE = 12


def _degree_bound(expr) -> float:
    if expr.is_Pow:
        return _degree_bound(expr.base) * (abs(expr.exp) if expr.exp.is_Number else 1)
    if expr.is_Mul:
        return sum(_degree_bound(a) for a in expr.args)
    if expr.args:
        return max(_degree_bound(a) for a in expr.args)
    return 1 if expr.is_Symbol else 0


def _parse_count(text):
    if isinstance(text, (int, float)):  # as written: YAML's 1.5 is 3/2, judged, never truncated to 1
        if not math.isfinite(text):
            raise ValueError(f"{text} is not a finite number")
        return sympy.Rational(str(text))
    expr = parse_formula(str(text), COUNT_SYMBOLS, constants={"k": 3, "K": 3})
    if _degree_bound(expr) > _MAX_DEGREE:
        raise FormulaError(f"a power far above a count's degree 2 (at most {_MAX_DEGREE} is read)")
    return sympy.expand(expr)


_DOUBLED = re.compile(r"doubl|64\s*(?:x|×|\\times|\*)\s*64|twice", re.I)
_COUNT_LABELS = (("weights", r"weights?|param(?:eter)?s"), ("outputs", r"outputs?|neurons"), ("connections", r"connections?"))
# "weights = A, outputs = B and connections = C" on one line: a value ends where the next labelled count starts
_NEXT_COUNT = (r"(?:,\s*(?:and\s+)?|\s+and\s+)(?:" + "|".join(label for _, label in _COUNT_LABELS)
               + r")\b[^:=\n;,]{0,40}[:=]")


def _count_side(line: str) -> str | None:
    """The last side of `a = b = c` that reads as an expression in NIC, NF, NC."""
    line = re.sub(r"\\[\[\]]|\$", " ", unbox(line)).replace("{,}", "")  # \[ ... \], $...$; TeX 5{,}760: 5760
    for side in reversed(line.split("=")):
        # a remark after it: "(unchanged)", "(BatchNorm not counted)"; not "(NF + NC)"
        side = re.sub(r"\s*\((?![^()]*\b(?:NIC|NF|NC)\b)[A-Za-z][A-Za-z0-9 ,;'-]*\)\W*$", "", side.strip())
        side = side.strip().strip("*.,;")
        try:
            if _parse_count(side).free_symbols:
                return side
        except (FormulaError, TypeError, ValueError, ZeroDivisionError):
            continue
    return None


def _display_math_inline(text: str) -> str:
    """Each display-math block (\\[ ... \\], $$ ... $$) as one line, joined to the line before it, so that
    "**Weights:**" with its formula on the lines below reads like "Weights: formula". A match never starts just
    after a space, tab or newline (one would start there already): so a long run of blank lines is tried once, not
    from each of its positions (quadratic)."""
    return re.sub(r"(?<![ \t\n])[ \t]*\n\s*(\\\[[\s\S]*?\\\]|\$\$[\s\S]*?\$\$)", lambda m: " " + " ".join(m.group(1).split()),
                  text)


def counts_from_text(text: str) -> dict[str, str]:
    """`weights: ...` / `outputs = ...` lines before and after the first mention of the doubled input; Markdown
    tables are read as tables (counts_from_tables), and win."""
    tables = counts_from_tables(text)
    text = _display_math_inline(grids.without_tables(text))
    split = _DOUBLED.search(text)
    halves = {32: text[: split.start()] if split else text, 64: text[split.start():] if split else ""}
    out = {}
    for size, part in halves.items():
        for q, label in _COUNT_LABELS:
            for m in re.finditer(rf"(?:{label})\b[^:=\n;]{{0,40}}(?::|=)\s*((?:(?!{_NEXT_COUNT})[^;\n])+)", part, re.I):
                side = _count_side(m.group(1))
                if side:
                    out[_key(q, size)] = side
    # "doubled: weights unchanged, outputs x4, connections four times": relative to the 32x32 count given
    found = {**out, **tables}
    for q, label in _COUNT_LABELS:
        base = found.get(q)
        m = re.search(rf"(?:{label})\b[^:=\n;,.]{{0,20}}?[:=]?\s*(?:(?:are|is|stay|remain)s?\s+)?(?:the\s+)?"
                      r"(?<![\w.])(same|unchanged|(?:x|×|\*)\s*\d+(?!\d)|\d+\s*(?:x|×)(?!\s*\d)"
                      r"|(?:four|\d+)\s*times|quadruple)",
                      halves[64], re.I)
        if base and m and _key(q, 64) not in found:
            # any factor, not only the right ones: "outputs 2x" is judged (and its slip named), not "not found"
            factor = re.search(r"\d+", m.group(1))
            factor = int(factor.group()) if factor else 1 if re.match(r"same|unchanged", m.group(1), re.I) else 4
            found[_key(q, 64)] = base if factor == 1 else f"{factor}*({base})"
    return found


def counts_from_tables(text: str) -> dict[str, str]:
    """Counts from Markdown tables, either way round (`| | 32x32 | 64x64 |` / `| weights | ... | ... |`), or one row
    per layer with a Total row; a cell "same" / "unchanged" for the doubled input repeats the 32x32 one."""
    split = _DOUBLED.search(grids.without_tables(text))
    cells: dict[str, list[tuple[bool, str]]] = {}
    for f in grids.table_cells(text):
        row, col, cell = f.value
        labels = f"{row} {col}"
        qty = [q for q, label in _COUNT_LABELS if re.search(rf"\b(?:{label})\b", labels, re.I)]
        doubled = bool(_DOUBLED.search(labels)) if re.search(r"doubl|twice|(?<!\d)(?:32|64)(?!\d)|original", labels, re.I) \
            else bool(split and split.start() < f.start)
        side = "same" if doubled and re.match(r"(?:the )?(?:same|unchanged)\b", cell, re.I) else _count_side(cell)
        if len(qty) == 1 and side:
            total = bool(re.search(r"total|overall|\bsum\b|\ball\b", labels, re.I))
            cells.setdefault(_key(qty[0], 64 if doubled else 32), []).append((total, side))
    found = {}
    for key, values in cells.items():
        totals = [v for t, v in values if t]
        if totals or len(values) == 1:  # per-layer rows without a Total row give no total
            found[key] = (totals or [values[0][1]])[-1]
    for key in [k for k, v in found.items() if v == "same"]:
        found[key] = found.get(key.removesuffix("_doubled"))
    return {k: v for k, v in found.items() if v}


def check_counts(answer, text: str) -> list[dict]:
    ref = count_reference()
    given = {k: answer.get(k) for k in (_key(q, s) for s in (32, 64) for q in COUNT_KEYS)} if isinstance(answer, dict) \
        else counts_from_text(text)
    parsed, details, convention = {}, [], {}
    for size in (32, 64):
        for q in COUNT_KEYS:
            key = _key(q, size)
            want = ref[size]["conv"][q]
            raw = given.get(key)
            if raw in (None, ""):
                details.append(detail(key, poly_text(want), None, None, note="no expression found"))
                continue
            try:
                expr = _parse_count(raw)
            except (FormulaError, TypeError, ValueError, ZeroDivisionError) as exc:
                details.append(detail(key, poly_text(want), str(raw), None, note=f"could not read it: {exc}; {COUNT_HINT}"))
                continue
            parsed[key] = expr
            match = next((c for c in CONVENTIONS if sympy.expand(expr - ref[size][c][q]) == 0), None)
            if match is not None and size == 64 and convention.get(q, match) != match:  # one count, at two sizes
                details.append(detail(key, poly_text(want), poly_text(expr), False,
                                      note=f"counts {CONVENTIONS[match][2]}, but the 32x32 answer counts "
                                           f"{CONVENTIONS[convention[q]][2]}: the same count at twice the width and height"))
                continue
            if match is not None:
                convention.setdefault(q, match)
                credit, why = CONVENTIONS[match][1], CONVENTIONS[match][2]
                details.append(detail(key, poly_text(want), poly_text(expr), True, credit=credit, note="" if match == "conv" else why))
                continue
            details.append(detail(key, poly_text(want), poly_text(expr), False,
                                  note=_count_hint(q, size, expr, parsed)))
    return details


def _count_hint(q: str, size: int, expr, parsed) -> str:
    if size == 64 and q == "weights":
        base = parsed.get("weights")
        if base is not None and sympy.expand(expr - 4 * base) == 0:
            return "weights do not depend on the input size: the doubled-input weights equal the 32x32 ones, not 4x"
    if size == 64 and q in ("outputs", "connections"):
        base = parsed.get(q)
        if base is not None and sympy.expand(expr - base) == 0:
            return f"{q} scale with H x W: doubling width and height multiplies them by 4"
        if base is not None and sympy.expand(expr - 2 * base) == 0:
            return f"{q} scale with H x W (x4 when both double), not x2"
    return ""
