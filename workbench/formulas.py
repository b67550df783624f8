"""Parse TeX or plain-text formulas into sympy, over a caller's table of named symbols, and evaluate them.

Scalars are commutative sympy Symbols; vectors and matrices are non-commutative Symbols, so products keep
their order; `T(x)` is a transpose and `norm(x)` a Euclidean norm. `evaluate` computes an expression on
numpy values (column vectors as (k, 1) arrays), so a formula can be compared with a reference numerically
on random instances. Supported: + - * / ^, implicit products, \\frac, \\sqrt, ( ) [ ] { }, \\left/\\right,
^T ^\\top ^{T} and ', \\|v\\|, \\lVert v\\rVert, ||v||, ‖v‖ with optional _2, \\cdot, \\times, Greek names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy

KINDS = ("scalar", "vector", "matrix", "identity")
IDENTITY = "I"  # a Sym of kind "identity" has this name: the identity matrix, sized by what it is added to


# what a user whose formula could not be read should write instead
SYNTAX_HINT = r"write one formula in TeX or Python/sympy syntax, e.g. `2*x + 1` or `\frac{\eta}{n} a^T X`"


class FormulaError(ValueError):
    """The text is not a formula over the given symbols."""


class T(sympy.Function):
    """Transpose (kept symbolic: sympy has no transpose of non-commutative symbols)."""

    is_commutative = False
    nargs = 1


class norm(sympy.Function):  # noqa: N801 - reads as the math
    """Euclidean norm; its value is a scalar."""

    is_commutative = True
    nargs = 1


@dataclass(frozen=True)
class Sym:
    """A named symbol: canonical name, kind, and spellings (after normalise_tex) that mean it."""

    name: str
    kind: str = "scalar"
    aliases: tuple[str, ...] = ()

    def sympy(self):
        if self.kind == "identity":
            return sympy.Symbol(IDENTITY, commutative=False)
        return sympy.Symbol(self.name, commutative=self.kind == "scalar")


# ---------------------------------------------------------------- TeX clean-up

_GREEK = {"λ\u0303": r" lambdatilde ", "η": r"\eta", "λ": r"\lambda", "α": r"\alpha", "β": r"\beta", "ε": r"\epsilon", "∇": r"\nabla",
          "ᵀ": "^T", "⊤": "^T", "‖": r"\|", "·": "*", "×": "*", "⋅": "*", "−": "-", "√": r"\sqrt",
          "²": "^2", "³": "^3"}
_DROP_CMDS = r"left|right|big|Big|bigg|Bigg|bigl|bigr|Bigl|Bigr|displaystyle|textstyle|quad|qquad"
_WRAPPERS = r"mathbf|boldsymbol|bm|mathrm|text|textbf|mathit|operatorname|mathsf|mathbb|vec|mathcal|textrm|pmb"


_SUBSCRIPT_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def normalise_tex(text: str) -> str:
    """Reduce TeX and Unicode math to a small plain dialect the parser reads (idempotent)."""
    s = text
    for k, v in _GREEK.items():
        s = s.replace(k, v)
    s = s.replace("$", "")
    s = re.sub("[₀-₉]+", lambda m: "_" + m.group(0).translate(_SUBSCRIPT_DIGITS), s)  # w₁ -> w_1
    s = re.sub(rf"\\(?:{_DROP_CMDS})(?![A-Za-z])|\\[,;:! ]", " ", s)
    s = re.sub(r"\\(?:lVert|rVert|Vert)(?![A-Za-z])", r"\\|", s)
    s = s.replace("||", r"\|")
    s = re.sub(r"\\(?:top|intercal|mathsf\{T\}|mathrm\{T\})(?![A-Za-z])", "T", s)
    s = re.sub(r"\\(?:widetilde|tilde|Tilde)\s*\{?\s*\\lambda\s*\}?", " lambdatilde ", s)
    s = re.sub(r"(?:\\lambda|(?<![A-Za-z\\])lambda)\s*[~']", " lambdatilde ", s)  # lambda' and lambda~ (ASCII tilde)
    s = re.sub(r"\\(?:widetilde|tilde|Tilde|hat|bar)\s*", "", s)
    s = re.sub(r"\\(?:cdot|times|ast)(?![A-Za-z])", "*", s)  # before unwrapping: "\cdot\mathbf{X}" is no "\cdotX"
    # Unwrap \mathbf{x} -> x (repeat for nesting), drop font switches.
    for _ in range(3):
        s = re.sub(rf"\\(?:{_WRAPPERS})\s*\{{([^{{}}]*)\}}", r"\1", s)
    s = re.sub(rf"\\(?:{_WRAPPERS})(?![A-Za-z])\s*", "", s)
    s = re.sub(r"\\[dt]frac", r"\\frac", s)
    s = re.sub(r"_\{\s*([A-Za-z0-9]+)\s*\}", r"_\1", s)
    s = re.sub(r"\^\{\s*([A-Za-z0-9*]+)\s*\}", r"^\1", s)
    # a subscript stays on its letter: \lambda_t is the name lambda_t, as its alias is stored
    s = re.sub(r"\\(eta|lambda|alpha|beta|epsilon|mu|gamma|theta|sigma|nabla)(?![A-Za-z])(_[A-Za-z0-9]+)?", r" \1\2 ", s)
    s = re.sub(r"\s+", " ", s).strip().rstrip(".,;")
    return s


# ---------------------------------------------------------------- tokenizer

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?|\.\d+)|(?P<cmd>\\frac|\\sqrt|\\\|)|(?P<id>[A-Za-z]+(?:_[A-Za-z0-9]+|[0-9]+)?)"
    r"|(?P<op>[-+*/^_(){}\[\]',|]))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise FormulaError(f"cannot read {text[pos:pos + 12]!r}")
        kind = m.lastgroup
        value = m.group(kind)
        out.append(("norm" if value == "\\|" else kind, value))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, tokens, table: dict[str, Sym], extra: dict[str, object], tight_division: bool = False):
        self.toks = tokens
        self.i = 0
        self.table = table
        self.extra = extra
        self.norm_depth = 0
        self.tight_division = tight_division  # "a/2b" as a/(2b) rather than (a/2) b

    def peek(self, k: int = 0):
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else ("end", "")

    def take(self, value=None):
        tok = self.peek()
        if value is not None and tok[1] != value:
            raise FormulaError(f"expected {value!r}, found {tok[1] or 'the end'!r}")
        self.i += 1
        return tok

    def parse(self):
        expr = self.expr()
        if self.peek()[0] != "end":
            raise FormulaError(f"unexpected {self.peek()[1]!r}")
        return expr

    def expr(self):
        sign = 1
        while self.peek()[1] in "+-" and self.peek()[0] == "op":
            sign *= -1 if self.take()[1] == "-" else 1
        value = sign * self.term()
        while self.peek()[0] == "op" and self.peek()[1] in "+-":
            op = self.take()[1]
            rhs = self.term()
            value = value + rhs if op == "+" else value - rhs
        return value

    def _starts_factor(self) -> bool:
        kind, value = self.peek()
        if kind in ("num", "id", "cmd"):
            return True
        if kind == "norm":
            return self.norm_depth == 0 or self._norm_opens()
        return kind == "op" and value in "({["

    def _norm_opens(self) -> bool:
        # Inside a norm, a '\|' closes it unless it is followed by something that starts an operand.
        nxt = self.peek(1)
        return nxt[0] in ("num", "id", "cmd") or (nxt[0] == "op" and nxt[1] in "({[")

    def term(self):
        value = self.unary()
        while True:
            kind, tok = self.peek()
            if kind == "op" and tok in "*/":
                self.take()
                rhs = self.unary()
                while tok == "/" and self.tight_division and self._starts_factor():
                    rhs = rhs * self.postfix()
                value = value * rhs if tok == "*" else value * rhs ** -1
            elif self._starts_factor():
                value = value * self.postfix()
            else:
                return value

    def unary(self):
        if self.peek() == ("op", "-"):
            self.take()
            return -self.unary()
        if self.peek() == ("op", "+"):
            self.take()
            return self.unary()
        return self.postfix()

    def postfix(self):
        value = self.atom()
        while True:
            kind, tok = self.peek()
            if kind == "op" and tok == "'":
                self.take()
                value = T(value)
            elif kind == "op" and tok == "^":
                self.take()
                nxt = self.peek()
                if nxt[0] == "id" and nxt[1].startswith("T") and "T" not in self.table:
                    # "X^Ta" (braces dropped): the transpose mark glued to the next name
                    self.take()
                    if nxt[1] not in ("T", "top"):
                        self.toks.insert(self.i, ("id", nxt[1][1:]))
                    value = T(value)
                elif nxt[0] == "num":
                    value = _power(value, self.atom())
                elif nxt == ("op", "*"):  # eta^* as a name, not a power
                    self.take()
                else:
                    value = _power(value, self.atom())
            elif kind == "op" and tok == "_" and isinstance(value, norm):
                self.take()
                self.atom()  # the 2 of ||v||_2 changes nothing
            else:
                return value

    def group(self, close):
        value = self.expr()
        self.take(close)
        return value

    def atom(self):
        kind, tok = self.take()
        if kind == "end":
            raise FormulaError("it ends too early (an unclosed bracket, or an operator with nothing after it)")
        if kind == "num":
            try:
                return sympy.Rational(tok)
            except (TypeError, ValueError):  # past Python's 4300-digit limit for int(str): "invalid input"
                raise FormulaError(f"the number {tok[:12]}... has {len(tok)} digits: too long to read") from None
        if kind == "op" and tok in "({[":
            return self.group({"(": ")", "{": "}", "[": "]"}[tok])
        if kind == "cmd" and tok == "\\frac":
            num = self.tex_argument()
            return num * self.tex_argument() ** -1
        if kind == "cmd" and tok == "\\sqrt":
            return sympy.sqrt(self.atom())
        if kind == "norm":
            self.norm_depth += 1
            inner = self.expr()
            self.norm_depth -= 1
            self.take("\\|")
            return norm(inner)
        if kind == "op" and tok == "|":
            inner = self.expr()
            self.take("|")
            return sympy.Abs(inner)
        if kind == "id":
            return self.identifier(tok)
        raise FormulaError(f"unexpected {tok!r}")

    def tex_argument(self):
        """One argument of \\frac as TeX reads it: a {group}, or else one token: \\frac12 is 1/2, \\frac1n is 1/n."""
        kind, tok = self.peek()
        if kind == "op" and tok == "{":
            self.take()
            return self.group("}")
        if kind == "num" and len(tok) > 1 and tok[0].isdigit():
            self.toks[self.i] = ("num", tok[1:])  # TeX takes the first digit; the rest follows the fraction
            return sympy.Rational(tok[0])
        if kind == "id" and len(tok) > 1 and tok not in self.table and tok not in self.extra:
            rest = tok[1:]  # a letter: \\frac1nX is (1/n) X, \\frac n2 is n/2
            self.toks[self.i] = ("num" if rest.isdigit() else "id", rest)
            return self.identifier(tok[0])
        return self.atom()

    def identifier(self, name: str):
        if name in self.table:
            return self.table[name].sympy()
        if name in self.extra:
            return self.extra[name]
        # Juxtaposed names without spaces ("Xw_0", "NICNF"): split greedily into known spellings.
        parts = _split_names(name, list(self.table) + list(self.extra))
        if parts is None:
            raise FormulaError(f"unknown symbol {name!r}")
        # Re-queue all but the first, so "XX^T" reads as X (X^T), not (X X)^T.
        self.toks[self.i:self.i] = [("id", p) for p in parts[1:]]
        first = parts[0]
        return self.table[first].sympy() if first in self.table else self.extra[first]


_MAX_POWER_BITS = 100_000  # sympy computes a number's power exactly: 2^999999999999 would never finish


def _power(base, exp):
    """base ** exp; a number to a power too large to compute is a FormulaError, not a hang."""
    if base.is_Rational and exp.is_Number and base not in (0, 1, -1):
        bits = max(abs(base.p).bit_length(), abs(base.q).bit_length())
        if abs(exp) * bits > _MAX_POWER_BITS:
            raise FormulaError(f"the power ({base})^{exp} is too large to compute")
    return base ** exp


def _split_names(name: str, known: list[str]) -> list[str] | None:
    if not name:
        return []
    for k in sorted(known, key=len, reverse=True):
        if name.startswith(k):
            rest = _split_names(name[len(k):], known)
            if rest is not None:
                return [k, *rest]
    return None


def symbol_table(symbols: list[Sym]) -> dict[str, Sym]:
    table = {}
    for sym in symbols:
        for alias in (sym.name, *sym.aliases):
            table[normalise_tex(alias).replace(" ", "")] = sym
    return table


def parse_formula(text: str, symbols: list[Sym], constants: dict[str, float] | None = None, *,
                  tight_division: bool = False):
    """A formula over `symbols` as a sympy expression; FormulaError names what could not be read.

    "a/2b" is (a/2) b, as Python and sympy read it; tight_division reads it a/(2b), as many people write it
    (a checker can try both and call a formula that is right only one way ambiguous)."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("empty formula")
    s = normalise_tex(text)
    if "=" in s:
        s = s.split("=")[-1]
    extra = {k: sympy.sympify(v) for k, v in (constants or {}).items()}
    try:
        return _Parser(_tokens(s), symbol_table(symbols), extra, tight_division).parse()
    except RecursionError:  # the parser recurses once per bracket: hundreds of "(" exhaust the stack
        raise FormulaError("brackets nested too deeply to read") from None


# ---------------------------------------------------------------- numeric evaluation

class EvalError(ValueError):
    """The formula is not well-formed for the given shapes (e.g. adding a vector to a matrix)."""


def _squeeze(v):
    import numpy as np

    if isinstance(v, np.ndarray) and v.size == 1:
        return float(v.reshape(()))
    return v


def evaluate(expr, values: dict[str, object]):
    """Compute `expr` with numpy: scalars are floats, vectors (k, 1) and matrices (r, c) arrays."""
    import numpy as np

    def is_identity(e):
        return e.is_Symbol and e.name == IDENTITY and IDENTITY not in values

    def ev(e):
        if is_identity(e):
            raise EvalError("the identity I stands alone: nothing gives its size")
        if e.is_Symbol:
            if e.name not in values:
                raise EvalError(f"no value for {e.name}")
            v = values[e.name]
            return np.asarray(v, dtype=float) if isinstance(v, (list, tuple, np.ndarray)) else float(v)
        if e.is_Number:
            return float(e)
        if isinstance(e, T):
            v = ev(e.args[0])
            return v.T if isinstance(v, np.ndarray) else v
        if isinstance(e, norm):
            v = ev(e.args[0])
            return float(np.linalg.norm(v)) if isinstance(v, np.ndarray) else abs(v)
        if isinstance(e, sympy.Abs):
            v = ev(e.args[0])
            if isinstance(v, np.ndarray):
                raise EvalError("|...| of a vector or matrix: write a norm \\|...\\|")
            return abs(v)
        if e.is_Add:
            total, eye = None, 0.0  # c*I terms are added last, sized by the rest: (I - c X X^T)
            for arg in e.args:
                c_part, nc_part = arg.args_cnc() if arg.is_Mul else ([], [arg])
                if len(nc_part) == 1 and is_identity(nc_part[0]):
                    eye = eye + ev(sympy.Mul(*c_part))
                    continue
                v = ev(arg)
                if total is None:
                    total = v
                    continue
                a, b = (isinstance(total, np.ndarray), isinstance(v, np.ndarray))
                if a and b and total.shape != v.shape:
                    raise EvalError(f"adds shapes {total.shape} and {v.shape}")
                if a != b and (total if a else v).size != 1:
                    raise EvalError("adds a scalar to a vector or matrix")
                total = _squeeze(total + v) if a != b else total + v
            if isinstance(eye, np.ndarray) or eye != 0.0:
                if not isinstance(total, np.ndarray) or total.shape[0] != total.shape[1]:
                    raise EvalError("adds the identity I to something that is not a square matrix")
                total = total + eye * np.eye(total.shape[0])
            return _squeeze(total)
        if e.is_Mul:
            c_part, nc_part = e.args_cnc()
            acc = 1.0
            for arg in c_part:
                acc = acc * ev(arg)
            for arg in nc_part:
                if is_identity(arg):  # I x = x
                    continue
                v = ev(arg)
                if isinstance(acc, np.ndarray) and isinstance(v, np.ndarray):
                    if acc.shape[1] != v.shape[0]:
                        if acc.size == 1 or v.size == 1:
                            acc = acc * v
                            continue
                        raise EvalError(f"multiplies shapes {acc.shape} and {v.shape}")
                    acc = _squeeze(acc @ v)
                else:
                    acc = acc * v
            return _squeeze(acc)
        if e.is_Pow:
            base, exp = ev(e.args[0]), ev(e.args[1])
            if isinstance(exp, np.ndarray):
                raise EvalError("a vector or matrix as an exponent")
            if isinstance(base, np.ndarray):
                if base.shape[0] == base.shape[1] and float(exp).is_integer() and exp > 0:
                    return np.linalg.matrix_power(base, int(exp))
                raise EvalError(f"power {exp:g} of a {base.shape} array (write \\|v\\|^2 for a squared norm)")
            if base == 0 and exp < 0:
                raise EvalError("division by zero")
            return float(base) ** float(exp)
        if isinstance(e, sympy.Function) and e.func is sympy.sqrt:
            return float(np.sqrt(ev(e.args[0])))
        raise EvalError(f"cannot evaluate {type(e).__name__}")

    with np.errstate(all="ignore"):
        return _squeeze(ev(expr))


def numerically_equal(a, b, rtol: float = 1e-7, atol: float = 1e-9) -> bool:
    import numpy as np

    a, b = _squeeze(a), _squeeze(b)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        if a.size != b.size:
            return False
        a, b = a.reshape(-1), b.reshape(-1)
        scale = max(1.0, float(np.max(np.abs(b))))
        return bool(np.all(np.isfinite(a)) and np.allclose(a, b, rtol=rtol, atol=atol * scale))
    return bool(np.isfinite(a) and abs(a - b) <= atol + rtol * max(1.0, abs(b)))

