"""A2 written part, sections 1-2: RMSProp's limit (1.2.1), memory of unrolled GD (2.1.2), the one-step GD
formulas (2.2.x) and L2 vs weight decay (2.3.x).

References are computed from first principles with numpy (finite-difference gradients of the loss, a GD
step, an exact three-point fit of a quadratic for eta*), never from the closed forms they check; the
closed forms shown by `cli.py reference` are verified against them on the same instances.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from workbench import answers as ans
from workbench import grids
from workbench.formulas import (SYNTAX_HINT, EvalError, FormulaError, Sym, evaluate, normalise_tex, numerically_equal,
                                parse_formula)
from workbench.verdicts import detail

SYMBOLS = [
    Sym("X", "matrix", ("X",)),
    Sym("w_0", "vector", ("w_0", "w0", "W_0")),
    Sym("t", "vector", ("t", "y")),
    Sym("a", "vector", ("a",)),
    Sym("eta", "scalar", ("eta", r"\eta", "alpha")),
    Sym("n", "scalar", ("n", "N")),
    Sym("lambda", "scalar", ("lambda", r"\lambda", "lam")),
    Sym("lambda_tilde", "scalar", ("lambdatilde", "lambda_tilde", "tildelambda", "lambda_t")),
    Sym("I", "identity", ("I", "Id", "I_n", "I_d")),  # (I - c X X^T) a: sized by what it is added to
]
SHAPES = ((7, 3), (3, 7), (5, 5))  # n > d, d > n, square: a formula must hold in every regime


# ---------------------------------------------------------------- first principles

def loss(X, w, t, lam=0.0):
    """(1/n)||Xw - t||^2 + lam ||w||^2."""
    r = X @ w - t
    return (r.T @ r).item() / X.shape[0] + lam * (w.T @ w).item()


def fd_grad(f, w, h=1e-3):
    """Central differences: exact (up to rounding) for the quadratic losses here."""
    g = np.zeros_like(w)
    for i in range(w.shape[0]):
        e = np.zeros_like(w)
        e[i] = h
        g[i] = (f(w + e) - f(w - e)) / (2 * h)
    return g


def gd_step(X, w0, t, eta, lam=0.0):
    return w0 - eta * fd_grad(lambda w: loss(X, w, t, lam), w0)


def instances(seed: int = 413):
    """Random instances (n > d, d > n, n = d) with positive eta, lambda, lambda_tilde."""
    rng = np.random.default_rng(seed)
    out = []
    for n, d in SHAPES:
        X, w0, t = rng.normal(size=(n, d)), rng.normal(size=(d, 1)), rng.normal(size=(n, 1))
        out.append({"X": X, "w_0": w0, "t": t, "a": X @ w0 - t, "n": float(n), "eta": float(rng.uniform(0.01, 0.3)),
                    "lambda": float(rng.uniform(0.01, 0.3)), "lambda_tilde": float(rng.uniform(0.01, 0.3))})
    return out


def _l1(v, eta):
    return loss(v["X"], gd_step(v["X"], v["w_0"], v["t"], eta), v["t"])


def _quadratic_vertex(f, x0=0.0, h=0.5):
    """Vertex and curvature of a quadratic from three exact evaluations."""
    fm, f0, fp = f(x0 - h), f(x0), f(x0 + h)
    second = (fp - 2 * f0 + fm) / h**2
    first = (fp - fm) / (2 * h)
    return x0 - first / second, second


@lru_cache(maxsize=1)
def targets() -> list[dict]:
    """Per instance, the first-principles value of every quantity the section-2 answers give."""
    out = []
    for v in instances():
        eta = v["eta"]
        d = {}
        d["w1"] = gd_step(v["X"], v["w_0"], v["t"], eta)
        d["L1"] = _l1(v, eta)
        d["dL1_deta"] = (_l1(v, eta + 1e-3) - _l1(v, eta - 1e-3)) / 2e-3
        d["eta_star"], d["curvature"] = _quadratic_vertex(lambda e: _l1(v, e))
        d["w1_l2"] = gd_step(v["X"], v["w_0"], v["t"], eta, v["lambda_tilde"])
        # Equation (5): w1 = (1 - lambda) w0 - eta grad L(w0)
        d["w1_wd"] = (1 - v["lambda"]) * v["w_0"] - eta * fd_grad(lambda w: loss(v["X"], w, v["t"]), v["w_0"])
        # lambda_tilde making the two updates equal: w1_l2 is affine in lambda_tilde, solve by least squares.
        base = gd_step(v["X"], v["w_0"], v["t"], eta, 0.0)
        slope = gd_step(v["X"], v["w_0"], v["t"], eta, 1.0) - base
        d["lambda_tilde"] = float(np.linalg.lstsq(slope, d["w1_wd"] - base, rcond=None)[0][0, 0])
        out.append(d)
    return out


# The closed forms a student should reach; `reference` shows them after checking them against targets().
CLOSED_FORMS = {
    "w1": r"\mathbf{w}_1 = \mathbf{w}_0 - \frac{2\eta}{n} X^\top (X\mathbf{w}_0 - \mathbf{t})",
    "L1": r"\mathcal{L}_1 = \frac{1}{n}\left\| \mathbf{a} - \frac{2\eta}{n} X X^\top \mathbf{a} \right\|^2,\ \mathbf{a} = X\mathbf{w}_0 - \mathbf{t}",
    "dL1_deta": r"\frac{d\mathcal{L}_1}{d\eta} = -\frac{4}{n^2}\mathbf{a}^\top X X^\top \mathbf{a} + \frac{8\eta}{n^3}\|X X^\top \mathbf{a}\|^2",
    "eta_star": r"\eta^* = \frac{n\, \mathbf{a}^\top X X^\top \mathbf{a}}{2 \|X X^\top \mathbf{a}\|^2}",
    "w1_l2": r"\mathbf{w}_1 = (1 - 2\eta\tilde\lambda)\mathbf{w}_0 - \frac{2\eta}{n} X^\top (X\mathbf{w}_0 - \mathbf{t})",
    "w1_wd": r"\mathbf{w}_1 = (1 - \lambda)\mathbf{w}_0 - \frac{2\eta}{n} X^\top (X\mathbf{w}_0 - \mathbf{t})",
    "lambda_tilde": r"\tilde\lambda = \frac{\lambda}{2\eta}",
}

# Which quantities each problem asks for, how they are labelled in prose, and which symbols they may use.
_W1 = r"w_1|w1"
FORMULA_PROBLEMS = {
    "2.2.1": {"w1": (_W1, ("X", "w_0", "t", "eta", "n", "a")),
              "L1": (r"L_?1|L_?1\(eta\)|L\(w_1\)|L\(eta\)", ("X", "w_0", "t", "eta", "n", "a"))},
    "2.2.3": {"dL1_deta": (r"frac\{(?:d|partial)L_?1(?:\(eta\))?\}\{(?:d|partial)eta\}|(?:d|partial)L_?1/(?:d|partial)eta"
                           r"|L_?1'(?:\(eta\))?|nabla_etaL_?1|frac\{(?:d|partial)\}\{(?:d|partial)eta\}L_?1(?:\(eta\))?",
                           ("X", "w_0", "t", "eta", "n", "a")),
              "eta_star": (r"eta\^\*|eta_\*|eta\*|eta_opt|eta_star|eta\^star|eta\^\{star\}", ("X", "w_0", "t", "n", "a"))},
    # "w1 (L2) = ...": a label in parentheses after w1
    "2.3.1": {"w1_l2": (r"(?:w_1|w1)(?:\^\(?\w+\)?|_\{?\w+\}?)?(?:\(\w+\))?|w_\{1,\w+\}", ("X", "w_0", "t", "eta", "n", "lambda_tilde", "a")),
              "w1_wd": (r"(?:w_1|w1)(?:\^\(?\w+\)?|_\{?\w+\}?)?(?:\(\w+\))?|w_\{1,\w+\}", ("X", "w_0", "t", "eta", "n", "lambda", "a"))},
    "2.3.2": {"lambda_tilde": (r"lambdatilde|lambda_tilde|lambda~|lambda_\{?reg\}?|lambda_\{?L2\}?", ("lambda", "eta", "n"))},
}


def check_closed_forms() -> list[str]:
    """Each CLOSED_FORMS entry parsed and compared with targets(); returns the names that disagree."""
    bad = []
    for name, tex in CLOSED_FORMS.items():
        expr = parse_formula(tex.split(",\\ ")[0], SYMBOLS)
        for v, tgt in zip(instances(), targets()):
            if not numerically_equal(evaluate(expr, v), tgt[name]):
                bad.append(name)
                break
    return bad


def reference_formulas(pid: str) -> dict:
    names = list(FORMULA_PROBLEMS[pid])
    bad = check_closed_forms()
    return {
        "answer": {n: CLOSED_FORMS[n] for n in names},
        "method": "numpy from first principles on random instances (n>d, d>n, n=d): finite-difference gradients of "
                  "the loss, one GD step, dL1/deta by central differences, eta* as the vertex of the exact quadratic "
                  "L1(eta), lambda~ by least squares; the closed forms above are parsed and compared with them",
        "closed_forms_agree": not [b for b in bad if b in names],
        "instances": [{"n": int(v["n"]), "d": v["X"].shape[1]} for v in instances()],
    }


# ---------------------------------------------------------------- checking formulas

def compare_formula(name: str, text: str, allowed: tuple[str, ...]) -> dict:
    """One detail: the formula `text` for quantity `name` against the first-principles targets."""
    what = f"{name} ({CLOSED_FORMS[name].split('=')[0].strip()})"
    try:
        expr = parse_formula(text, SYMBOLS)
    except FormulaError as exc:
        return detail(what, CLOSED_FORMS[name], text, None, note=f"could not read the formula: {exc}; {SYNTAX_HINT}")
    result = _compare_parsed(what, name, text, expr, allowed)
    if result["ok"] is False:  # "\lambda/2\eta": wrong as (lambda/2) eta, perhaps meant as lambda/(2 eta)
        tight = parse_formula(text, SYMBOLS, tight_division=True)
        if tight != expr and _compare_parsed(what, name, text, tight, allowed)["ok"]:
            return detail(what, CLOSED_FORMS[name], text, None,
                          note="ambiguous: a/2b reads as (a/2)·b, which is wrong here, and as a/(2b) it is right; "
                               r"write \frac{a}{2b} or a/(2b)")
    return result


def _compare_parsed(what: str, name: str, text: str, expr, allowed: tuple[str, ...]) -> dict:
    extra = sorted(s.name for s in expr.free_symbols if s.name not in (*allowed, "I"))
    if extra:
        return detail(what, CLOSED_FORMS[name], text, False,
                      note=f"uses {', '.join(extra)}, which the question does not allow here")
    for v, tgt in zip(instances(), targets()):
        try:
            got = evaluate(expr, v)
        except EvalError as exc:
            return detail(what, CLOSED_FORMS[name], text, False, note=f"not well-formed: {exc}")
        if not numerically_equal(got, tgt[name], rtol=1e-6):
            n, dd = int(v["n"]), v["X"].shape[1]
            return detail(what, CLOSED_FORMS[name], text, False,
                          note=f"differs from the reference on a random instance with n={n}, d={dd} ({_diagnose(name, expr, v, tgt)})")
    return detail(what, CLOSED_FORMS[name], text, True)


def _diagnose(name: str, expr, v, tgt) -> str:
    """A hint for common slips: a wrong sign or a factor (2, 1/2, n, ...)."""
    try:
        got = np.asarray(evaluate(expr, v), dtype=float).reshape(-1)
    except EvalError:
        return "cannot evaluate"
    want = np.asarray(tgt[name], dtype=float).reshape(-1)
    if got.size != want.size:  # e.g. an n-vector (X w, or "nan" read as n*a*n) where w1 has d entries
        return f"{got.size} value(s) where the reference has {want.size}: another shape"
    if name in ("w1", "w1_l2", "w1_wd"):  # compare the step, not w1 itself
        got, want = got - v["w_0"].reshape(-1), want - v["w_0"].reshape(-1)
    if np.all(np.abs(want) > 1e-12):
        ratio = got / want
        if np.allclose(ratio, ratio[0], rtol=1e-6):
            r = float(ratio[0])
            step = " in the update step" if name in ("w1", "w1_l2", "w1_wd") else ""
            for label, value in (("the sign is flipped", -1), ("a factor 2 too large", 2), ("a factor 2 missing", 0.5),
                                 ("a factor n too large", v["n"]), ("a factor n missing", 1 / v["n"])):
                if abs(r - value) < 1e-6 * max(1, abs(value)):
                    return label + step
            return f"off by a factor {r:.4g}{step}"
    return "not a constant multiple"


def formulas_from_text(pid: str, text: str) -> dict[str, list[str]]:
    """Candidate right-hand sides per quantity, from `lhs = ... = rhs` chains in the text (last side first)."""
    found: dict[str, list[str]] = {}
    for name, (lhs, _allowed) in FORMULA_PROBLEMS[pid].items():
        # Per chain, the last side that is not a bare constant ("dL/deta = ... = 0" ends a derivation step).
        hits = []
        for f in ans.equations_for(text, lhs):
            sides = [x for x in f.value if re.search(r"[A-Za-z]", ans.compact(normalise_tex(x)))]
            if sides:
                hits.append((f.start, sides[-1]))
        # A Markdown table row `| $w_1$ | $w_0 - ...$ |` (or a column headed $w_1$): the cell is the formula.
        for f in grids.table_cells(text):
            first = re.sub(r"\*\*|__|`|\$", "", grids.row_cells(f.snippet)[0]).strip()
            cell = f.value[2]
            if "=" not in cell and any(re.fullmatch(lhs, ans.compact(normalise_tex(x))) for x in (first, f.value[1])):
                hits.append((f.start, cell))
        found[name] = [side for _, side in sorted(hits, key=lambda h: h[0])]
    if pid == "2.3.1":
        found = _split_l2_wd(found)
    return found


def _split_l2_wd(found: dict) -> dict:
    """Both 2.3.1 answers are "w_1 = ..."; tell them apart by the symbol each uses."""
    rhs = list(dict.fromkeys(found.get("w1_l2", []) + found.get("w1_wd", [])))
    out = {"w1_l2": [], "w1_wd": []}
    for r in rhs:
        norm = r.replace(" ", "")
        if re.search(r"tilde|\\lambda'|λ̃|widetilde|(?:lambda|λ)~", norm):
            out["w1_l2"].append(r)
        elif re.search(r"lambda|λ", norm):
            out["w1_wd"].append(r)
    return out


def check_formulas(pid: str, answer, text: str) -> list[dict]:
    details = []
    for name, (_lhs, allowed) in FORMULA_PROBLEMS[pid].items():
        if isinstance(answer, dict) and answer.get(name) not in (None, ""):
            details.append(compare_formula(name, str(answer[name]), allowed))
            continue
        candidates = formulas_from_text(pid, text).get(name, [])
        if not candidates:
            details.append(detail(f"{name}", CLOSED_FORMS[name], None, None, note=f"no formula for {name} found"))
            continue
        results = [compare_formula(name, c, allowed) for c in candidates]
        readable = [r for r in results if r["ok"] is not None]
        if not readable:
            details.append(results[-1])
            continue
        last = readable[-1]
        distinct = {r["found"] for r in readable if r["ok"] is False}
        if last["ok"] and not distinct:
            details.append(last)
        elif last["ok"]:
            details.append(dict(last, ok=True, credit=0.5,
                                note=f"the final form is right, but the answer also states {len(distinct)} different, "
                                     f"wrong form(s), e.g. {sorted(distinct)[0]!r}"))
        elif any(r["ok"] for r in readable):
            details.append(dict(last, credit=0.5, ok=True,
                                note="states the right formula at some point, but its final form is wrong: " + (last.get("note") or "")))
        else:
            details.append(last)
    return details


# ---------------------------------------------------------------- 2.2.2 convexity

def reference_convex() -> dict:
    curv = [t["curvature"] for t in targets()]
    return {"answer": {"convex": bool(min(curv) >= 0)},
            "method": "second difference of L1(eta) on random instances; L1 is quadratic in eta with leading "
                      "coefficient (4/n^3)||X X^T a||^2 >= 0",
            "second_derivatives": [round(c, 6) for c in curv]}


def check_convex(answer, text: str) -> list[dict]:
    want = reference_convex()["answer"]["convex"]
    said = ans.parse_bool(answer.get("convex")) if isinstance(answer, dict) else None
    if said is None:
        said = _claim(text, yes=[r"\bis (?:a )?convex", r"convex (?:in|w\.?r\.?t\.?|with respect to)", r"yes\b",
                                    r"\b(?:so|hence|thus|therefore)\s*,?\s*(?:(?:it|L_?1)\s+is\s+)?convex\b"],
                      no=[r"not convex", r"non-?convex", r"isn't convex", r"concave",
                          # "not necessarily convex": a no, not a "convex in eta"
                          r"(?:\bnot|n't),?\s+(?:be\s+)?(?:necessarily|always|generally|in general,?|guaranteed to be)\s+(?:be\s+)?convex",
                          r"\bneed not be convex"])
    return [detail("L1 convex in eta", want, said, None if said is None else said == want,
                   note="" if said is not None else "no clear yes/no claim found")]


# a closing "**Answer:** No." says the claim, so do Llama's "The final answer is: $\\boxed{\\text{No}}$" and
# "**Final Answer**\n\\[ \\boxed{\\text{No}} \\]"
# (no \s* beside the [$\s] run, nor one running over lines at ^: blank lines or spaces took seconds, O(n^2))
_ANSWER_LINE = (r"(?m)^[^\S\n]*(?:the\s+)?(?:final\s+)?answer(?:\s*is\b)?(?:\s*:)?"
                r"(?:[$\s]|\\\[|\\\(|\\boxed\s*\{|\\text(?:bf)?\s*\{|\\(?:math)?rm\s*\{|\\rm\b|\{)*")


def _claim(text: str, yes: list[str], no: list[str]):
    """True/False when the text says one and not the other, else None (a "no" phrase is not also read as "yes").
    Emphasis is read as plain words ("does **not** always"), and a final "Answer: yes/no" (true/false) line counts."""
    text = ans.plain_words(text)
    yes, no = [*yes, _ANSWER_LINE + r"(?:yes|true)\b"], [*no, _ANSWER_LINE + r"(?:no|false)\b"]
    n = bool(ans.has_any(text, no))
    rest = text
    for pattern in no:
        rest = re.sub(pattern, " ", rest, flags=re.I)
    y = bool(ans.has_any(rest, yes))
    return True if y and not n else False if n and not y else None


# ---------------------------------------------------------------- 1.2.1 RMSProp

HINT = {"x1": (2.0, 1.0), "t": 2.0}
ETAS = (1e-3, 3e-3, 1e-2, 3e-2)


@lru_cache(maxsize=1)
def rmsprop_limit(beta: float = 0.9, eps: float = 1e-8, steps: int = 20000) -> dict:
    """Simulate RMSProp (3)-(4) on the hint's case for several learning rates at once."""
    X = np.array([HINT["x1"]])  # (1, 2)
    t = np.array([HINT["t"]])
    w = np.zeros((len(ETAS), 2))
    v = np.zeros_like(w)
    eta = np.array(ETAS)[:, None]
    tail = np.zeros_like(w)
    keep = 2000
    for k in range(steps):
        g = 2.0 * (w @ X.T - t) * X  # (E, 2): gradient of (1/n)||Xw - t||^2 with n = 1
        v = beta * v + (1 - beta) * g**2
        w = w - eta / (np.sqrt(v) + eps) * g
        if k >= steps - keep:
            tail += w
    limits = tail / keep
    min_norm = (np.linalg.pinv(X) @ t).reshape(-1)
    return {
        "etas": list(ETAS), "beta": beta, "eps": eps, "steps": steps,
        "limits": limits.tolist(),
        "residuals": (limits @ X.T - t).reshape(-1).tolist(),
        "min_norm": min_norm.tolist(),
        "min_norm_norm": float(np.linalg.norm(min_norm)),
        "limit_norms": np.linalg.norm(limits, axis=1).tolist(),
    }


def reference_rmsprop() -> dict:
    sim = rmsprop_limit()
    limit = np.mean(sim["limits"], axis=0)
    reaches = bool(np.allclose(sim["limits"], sim["min_norm"], atol=1e-2))
    return {"answer": {"always_min_norm": reaches, "limit_point": [round(float(x), 4) for x in limit],
                       "min_norm": [round(float(x), 4) for x in sim["min_norm"]]},
            "method": f"numpy simulation of RMSProp (beta {sim['beta']}, eps {sim['eps']}, {sim['steps']} steps, "
                      f"etas {sim['etas']}) on x1=[2,1], t=2, w0=0, compared with the pseudo-inverse solution",
            "simulation": sim}


# [a, b], (a; b), numpy's [a b]
_VEC2 = re.compile(r"[\[(]\s*(-?[\d.]+(?:\s*/\s*\d+)?|\\[dt]?frac\{\d+\}\{\d+\})\s*(?:[,;]|(?<=[\d.])\s)\s*(-?[\d.]+(?:\s*/\s*\d+)?|\\[dt]?frac\{\d+\}\{\d+\})\s*[\])]")
_LIMIT_WORDS = re.compile(r"converg|limit|ends? up|settles|reach|w_\\infty|w_\{\\infty\}|arriv|RMSProp (?:solution|finds)", re.I)
_MIN_NORM_WORDS = re.compile(r"minimum[- ]norm|min[- ]norm|pseudo|least[- ]norm|w\^\s*\*|w\^\{\*\}|w\^\\star|\bw\*(?!\w)", re.I)


# (not "[a, b] / [c, d]": "min-norm / limit: [...] / [...]" names each, respectively)
_VEC_HEDGE = re.compile(r"[\])}]\s*\$?\s*(?:,?\s*\(?\s*or(?:\s+(?:possibly|maybe|perhaps|even))?|,?\s*but\s+(?:it\s+)?"
                        r"(?:could|might|may)(?:\s+also)?\s+be)\s*\$?\s*$", re.I)


def _hedged(vec) -> tuple:
    """The vectors of a hedge (a tuple of 2-vectors), or the one vector."""
    return vec if isinstance(vec[0], tuple) else (vec,)


def vectors_in(text: str) -> list[tuple[tuple[float, float], str]]:
    """2-vectors written as [a, b] / (a, b) or as a 2x1 / 1x2 matrix, each with the clause before it (what it is said to be)."""
    out = []
    for sentence in ans.sentences(text):
        sentence = re.sub(r"\\(?:left|right|[bB]igg?[lr]?)\s*(?=[\[\]()])", "", sentence)  # $\left[ a, b \right]$
        found = [(m.start(), (ans.parse_number(m.group(1)), ans.parse_number(m.group(2)))) for m in _VEC2.finditer(sentence)]
        found += [(f.start, tuple(x for row in f.value for x in row))  # a column or row vector in bmatrix/pmatrix
                  for f in grids.find_matrices(sentence) if len(f.value) * len(f.value[0]) == 2 and f.source != "markdown table"]
        first = len(out)
        for start, (a, b) in sorted(found):
            if a is not None and b is not None:
                # "[0.8, 0.4] or [0.6667, 0.6667]", "... (or possibly ...)", ".../...": a hedge, two answers for one
                # vector (a tuple of them), said of what the first is said of
                if len(out) > first and _VEC_HEDGE.search(sentence[:start]) and (a, b) not in _hedged(out[-1][0]):
                    out[-1] = (_hedged(out[-1][0]) + ((a, b),), out[-1][1])
                    continue
                parts = re.split(r"[,;:]|\bwhereas\b|\bwhile\b|\bbut\b|\bthan\b", sentence[:start])
                clause = parts[-1]
                # "Minimum-norm solution: [0.8, 0.4]", "Limit: $w = [...]$": the label before the colon says what it is
                # (a claim before it, "RMSProp not always min-norm: [...] vs [...]", is no label)
                if len(parts) > 1 and sentence[:start - len(clause)].endswith(":") and \
                        not re.search(r"[A-Za-z]{2}", re.sub(r"\\[A-Za-z]+", "", clause)) and \
                        not re.search(r"\b(?:not|no|never)\b|n't", parts[-2], re.I):
                    clause = parts[-2] + ":" + clause
                out.append(((a, b), clause))
    return out


def check_rmsprop(answer, text: str) -> list[dict]:
    ref = reference_rmsprop()["answer"]
    sim_limit, min_norm = np.array(ref["limit_point"]), np.array(ref["min_norm"])
    details = []
    said = ans.parse_bool(answer.get("always_min_norm")) if isinstance(answer, dict) else None
    if said is None:
        said = _claim(text,
                      # not "GD, which always converges to the minimum-norm solution" (a clause about another method)
                      yes=[r"\A\s*yes\s*[.,!:;]",  # a leading bare "Yes." / "No." / "Not always." is the claim
                           r"(?<!which )(?<!that )(?:does|will) always (?:obtain|find|converge to|reach|give)[^.]*min(?:imum)?[- ]norm",
                           r"(?<!which )(?<!that )always (?:obtains|finds|converges to|reaches)[^.]*min(?:imum)?[- ]norm"],
                      no=[r"(?:not|n't|never)\s*(?:always\s+|necessarily\s+|guaranteed\s+to\s+|,\s*in general,\s*)?(?:obtain|find|converge|reach|yield|give|return|recover)[^.]*min(?:imum)?[- ]norm",
                          r"need not\b[^.]*min(?:imum)?[- ]norm", r"counter-?example", r"is not the min(?:imum)?[- ]norm",
                          r"differs? from the min(?:imum)?[- ]norm", r"not (?:equal to )?the min(?:imum)?[- ]norm",
                          r"\A\s*(?:no|not always|not necessarily)\s*[.,!:;]", r"not (?:always|necessarily) (?:the |a )?min(?:imum)?[- ]norm"])
    details.append(detail("RMSProp always reaches the minimum-norm solution?", ref["always_min_norm"], said,
                          None if said is None else bool(said) == ref["always_min_norm"], weight=2.0,
                          note="" if said is not None else "no clear yes/no claim found"))
    limit = answer.get("limit_point") if isinstance(answer, dict) else None
    mn = answer.get("min_norm") if isinstance(answer, dict) else None
    if limit is None and mn is None:
        for vec, sentence in vectors_in(text):
            if vec in ((2.0, 1.0), (0.0, 0.0)):
                continue
            if _MIN_NORM_WORDS.search(sentence):
                mn = mn or vec
            elif _LIMIT_WORDS.search(sentence):
                limit = vec
    hedge = "two answers for one quantity: only one can be the answer"
    if mn is not None and isinstance(mn[0], tuple):
        ok = all(_close(v, min_norm, 5e-3) for v in mn)
        details.append(detail("minimum-norm solution of the hint's case", ref["min_norm"],
                              " or ".join(str(_vec(v)) for v in mn), ok, weight=0.5, note="" if ok else hedge))
    elif mn is not None:
        ok = _close(mn, min_norm, 5e-3)
        details.append(detail("minimum-norm solution of the hint's case", ref["min_norm"], _vec(mn), ok, weight=0.5))
    if limit is not None and isinstance(limit[0], tuple):
        ok = all(_close(v, sim_limit, 2e-2) for v in limit)
        details.append(detail("RMSProp limit point (simulated)", ref["limit_point"],
                              " or ".join(str(_vec(v)) for v in limit), ok, weight=1.0, note="" if ok else hedge))
    elif limit is not None:
        ok = _close(limit, sim_limit, 2e-2)
        note = "" if ok else ("that is the minimum-norm solution, which the simulation does not reach"
                              if _close(limit, min_norm, 5e-3) else "the simulation does not end there")
        details.append(detail("RMSProp limit point (simulated)", ref["limit_point"], _vec(limit), ok, weight=1.0, note=note))
    return details


def _vec(v):
    try:
        return [round(float(x), 4) for x in v]
    except (TypeError, ValueError, OverflowError):
        return v


def _close(v, want, tol) -> bool | None:
    try:
        # an int through parse_number: float() of one past float's range (1 and 400 zeros) raised OverflowError
        arr = np.array([ans.parse_number(x) if isinstance(x, (str, int)) and not isinstance(x, bool) else float(x)
                        for x in v], dtype=float)
    except (TypeError, ValueError):
        return None
    return bool(arr.shape == want.shape and np.allclose(arr, want, atol=tol))


# ---------------------------------------------------------------- 2.1.2 memory

MEMORY = {"forward": "O(1)", "backward": "O(t)"}
MEMORY_REASON = (
    "Forward propagation through t GD steps only needs the current iterate w_i (and its gradient) to compute "
    "w_{i+1}; earlier iterates can be overwritten, so the memory does not grow with t: O(1). Standard "
    "(reverse-mode) back-propagation to eta must revisit every step in reverse, so the forward pass keeps every "
    "w_i (and the intermediate gradients) of the t steps: O(t). (With O(d) per stored iterate; only t is asked.)"
)


def reference_memory() -> dict:
    return {"answer": dict(MEMORY), "method": "complexity argument (documented)", "reasoning": MEMORY_REASON}


_GROWTH = {"constant": "1", "linear": "t", "quadratic": "t^2"}


def _o_arg(value) -> str | None:
    """The argument of a front-matter big-O ("O(t)", "t"), or a growth word ("constant", "linear in t")."""
    if value is None:
        return None
    if m := re.fullmatch(r"\s*(constant|linear|quadratic)(?:\s+in\s+t)?\s*", str(value), re.I):
        return _GROWTH[m.group(1).lower()]
    terms = ans.big_o_terms(str(value)) or ([ans.Found(str(value), "plain")] if re.fullmatch(r"\s*[\w^ ]+\s*", str(value)) else [])
    return terms[0].value.lower() if terms else None


_COMPARED_BEFORE = re.compile(r"\b(?:ratios?|factor|gap|differences?|comparison|relation(?:ship)?|trade-?off|"
                              r"distinction|contrast|choice|choose|choosing|times)\b[^.;:\n]{0,40}\bbetween[\s$]*$", re.I)
# after the second term of "between A and B": "there is a factor of t", "the tradeoff is ..."
_COMPARED_AFTER = re.compile(r"[\s$)}]*,?\s*(?:there\s+(?:is|are|was)|(?:the\s+|a\s+)?(?:trade-?off|difference|gap|"
                             r"ratio|factor)s?\b)", re.I)


_CONTRAST = re.compile(r"\b(?:unlike|as\s+opposed\s+to|compared\s+(?:to|with)|in\s+contrast\s+(?:to|with)|contrary\s+to)"
                       r"(?:\s+(?:the|its|their))?[\s$]*$", re.I)
# a setting after a term: "O(sqrt t) with checkpointing", "O(1) if we recompute the iterates"
_CONDITION = re.compile(r"[\s$)}]*,?\s*(?:with|using|via|through|by|if|when|under)\b", re.I)


def _term_end(text: str, end: int) -> int:
    """Where the big-O term after "between A and" (starting at or after end) ends."""
    m = re.search(r"\band\b[\s$]*O\s*\([^()]*(?:\([^()]*\)[^()]*)*\)", text[end:], re.I)
    return end + m.end() if m else end


def memory_from_text(text: str) -> dict[str, str]:
    """Assign each O(...) term to the nearest preceding "forward"/"back(ward)-propagation" mention."""
    out: dict[str, str] = {}
    marks: list[tuple[int, str]] = []
    for m in re.finditer(r"forward|back[- ]?prop\w*|backward|reverse[- ]mode|\b(?:fwd|bwd)\b", text, re.I):
        # "back-propagation stores every w_i from the forward pass, O(t)": a pass named after "from" in a sentence
        # that already named one is what that pass reads from, not the pass the term is said of ("the memory from
        # forward propagation is O(1)" names its own)
        if marks and re.search(r"\bfrom\s+(?:the\s+)?$", text[:m.start()], re.I) and not re.search(
                r"[.;\n]", text[marks[-1][0]:m.start()]):
            continue
        marks.append((m.start(), "backward" if re.match(r"b|reverse", m.group(0), re.I) else "forward"))
    hedged = None  # the pass of the last term and where it ends
    for term in ans.big_o_terms(text):
        # "O(t) memory, not O(1)", "rather than O(1)", "instead of O(1)": a negated term is no answer
        if re.search(r"\b(?:not|rather\s+than|instead\s+of)[\s$]*$", text[:term.start], re.I):
            continue
        before = [kind for pos, kind in marks if pos < term.start]
        end = term.start + len(term.snippet)  # "O(1) for forward propagation": the label after the term wins
        after = re.match(r"[\s$)]*(?:memory\s+)?(?:for|in|during|of)\s+(?:the\s+)?(?:standard\s+)?(forward|fwd|back|bwd|reverse)",
                         text[end:], re.I)
        # "O(t) (unlike the O(1) ...)", "as opposed to O(1)": a term set against the answer is the other pass's
        # (when named after it) or none
        if not after and _CONTRAST.search(text[:term.start]):
            continue
        if after:
            before = ["forward" if after.group(1).lower() in ("forward", "fwd") else "backward"]
        # "both forward and back-propagation need O(1)", "O(1) for both": the term is said of each
        both = re.match(r"[\s$)}]*(?:memory\s+)?for\s+both\b", text[end:], re.I) or any(
            re.search(r"\bboth\s+(?:the\s+)?$", text[:pos], re.I) and "forward" in before and "backward" in before
            for pos, _ in marks if pos < term.start)
        if both:
            out["forward"] = out["backward"] = term.value.lower()
        elif before:
            value = term.value.lower()
            # "O(1) or O(t)", "either O(1) or O(t)": a hedge, two answers for one pass, not a conclusion; so are
            # "O(1) (or possibly O(t))", "O(1), or maybe O(t)", "O(1), but it could be O(t)", "between O(1) and O(t)"
            # (not "O(1)/O(t)": "forward/backward: O(1)/O(t)" says each pass's, respectively)
            sentence = re.split(r"[.;\n]", text[:term.start])[-1]
            if hedged and hedged[0] == before[-1] and re.fullmatch(
                    r"[\s$)}]*(?:,?\s*\(?\s*or(?:\s+(?:possibly|maybe|perhaps|even))?|,?\s*but\s+(?:it\s+)?"
                    r"(?:could|might|may)(?:\s+also)?\s+be" + (r"|and" if hedged[2] else "") + r")[\s$]*",
                    text[hedged[1]:term.start], re.I):
                # "O(t), but could be O(sqrt t) with checkpointing": another method's, an aside (not after "either")
                if _CONDITION.match(text, end) and not re.search(r"\beither\b", sentence, re.I):
                    continue
                value = f"{out[before[-1]]} or {value}"
            out[before[-1]] = value  # the last statement of each wins (conclusions come last)
            # "between O(1) and O(t)" is a hedge; "the difference between O(1) and O(t)" compares two answers
            # ("a factor of t between O(1) and O(t)", "a choice between ...", "Between O(1) and O(t) the tradeoff is
            # ...": a comparison word a few words before or just after, or no pass named in the sentence, is no hedge)
            hedged = (before[-1], end, bool(
                re.search(r"\bbetween[\s$]*$", sentence, re.I) and not _COMPARED_BEFORE.search(sentence)
                and not _COMPARED_AFTER.match(text, _term_end(text, end))
                and re.search(r"forward|back[- ]?prop|backward|reverse[- ]mode|\b(?:fwd|bwd)\b", sentence, re.I)))
    return out


def check_memory(answer, text: str) -> list[dict]:
    found = {k: _o_arg(answer.get(k)) for k in MEMORY} if isinstance(answer, dict) else memory_from_text(text)
    details = []
    for key, want in MEMORY.items():
        arg = found.get(key)
        if arg is None:
            details.append(detail(f"{key} memory", want, None, None, note="no O(.) term found for it"))
            continue
        # the d weights of one iterate are a constant factor: only t is asked ("O(t \\cdot d)" is O(t))
        in_ts = [{"d": "1", "td": "t", "dt": "t"}.get(re.sub(r"cdot|times|[*·×]", "", a), a) for a in arg.split(" or ")]
        shown = " or ".join(f"O({a})" for a in arg.split(" or "))
        if len(set(in_ts)) > 1:
            details.append(detail(f"{key} memory", want, shown, False,
                                  note="two answers for one pass: only one can be the answer"))
            continue
        in_t = in_ts[0]
        ok = f"O({in_t})" == want
        note, credit = "" if in_t == arg else f"O({in_t}) in terms of t (d is fixed)", None
        if key == "forward" and in_t == "t":
            note, credit = ("O(t) is the memory when the forward pass keeps every w_i for back-propagation; "
                            "forward propagation alone needs only the current iterate, O(1)"), 0.5
        details.append(detail(f"{key} memory", want, shown, ok if credit is None else True, credit=credit, note=note))
    return details
