"""Extract structured answers from Markdown, LaTeX and plain text as LLMs and students write them.

Numbers (thousands separators, scientific notation, fractions), labelled quantities, equations
`lhs = rhs = ...`, big-O terms and fenced code blocks; matrices and tables are in workbench.grids. Expressions are parsed by workbench.formulas. Nothing here knows a pack.
Every finder returns `Found` items in text order so a caller can report ambiguity instead of guessing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

Matrix = tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class Found:
    """One extracted item: its value, what kind of notation it came from, and where."""

    value: object
    source: str
    start: int = 0
    snippet: str = ""


# ---------------------------------------------------------------- reasoning blocks

_THINK_OPEN = re.compile(r"\A\s*<(think|thinking)>", re.I)
_THINK_CLOSE = re.compile(r"</(?:think|thinking)>", re.I)


def after_thinking(text: str) -> tuple[str, str]:
    """The answer a reasoning model gives after its `<think>...</think>` block (DeepSeek-R1, QwQ, Qwen3 through an
    OpenAI-compatible server), and '' or why there is none. The drafts inside the block are not the answer; the text
    after the last `</think>` is (also when the server dropped the opening tag). A `<think>` never closed (cut off
    at the token limit) leaves no answer: ('', reason)."""
    closes = list(_THINK_CLOSE.finditer(text))
    if closes:
        return text[closes[-1].end():], ""
    if _THINK_OPEN.match(text):
        return "", "the answer is only an unclosed <think> block (reasoning cut off before a final answer)"
    return text, ""


# ---------------------------------------------------------------- numbers

MINUS = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-", "\u00a0": " ", "\u2009": " ", "\u202f": " "})
_TEX_SPACES = re.compile(r"(?<!\\)\\[,;:! ]|\\q?quad|~|\{,\}")
_GROUPED = r"\d{1,3}(?:(?:,|\s|'|\{,\}|\\,)\d{3})+"
NUMBER_RE = re.compile(
    rf"(?<![\w.])[-+]?(?:{_GROUPED}|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w])"
    rf"|(?<![\w.])[-+]?\.\d+(?![\w])"
)
_SCI_TEX = re.compile(r"^([-+]?\d+(?:\.\d+)?)\s*(?:\\times|\\cdot|\*|x|×|·)\s*10\s*\^\s*\{?\s*([-+]?\d+)\s*\}?$")
_FRAC_TEX = re.compile(r"^([-+]?)\\[dt]?frac\s*\{\s*([-+]?[\d.]+)\s*\}\s*\{\s*([-+]?[\d.]+)\s*\}$")
_FRAC_PLAIN = re.compile(r"^([-+]?\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)$")


def clean_number_text(text: str) -> str:
    text = text.translate(MINUS)
    text = _TEX_SPACES.sub(" ", text)
    return text.replace("$", "").strip().rstrip(".")


def parse_bool(value) -> bool | None:
    """A yes/no answer: a YAML bool, or true/false, yes/no written in quotes (any case); else None."""
    if isinstance(value, bool):
        return value
    word = value.strip().rstrip(".").lower() if isinstance(value, str) else None
    return True if word in ("true", "yes") else False if word in ("false", "no") else None


def parse_number(text) -> float | None:
    """A number written any common way ("21,024", "1.2e4", "1.2 \\times 10^{4}", "\\frac{1}{2}", "-3"), else None."""
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        try:
            return float(text)
        except OverflowError:  # an int past float's range (YAML reads 1 followed by 400 zeros as one): as "1e400" reads
            return math.inf if text > 0 else -math.inf
    if not isinstance(text, str):
        return None
    s = clean_number_text(text)
    s = re.sub(r"^\{(.*)\}$", r"\1", s).strip()
    if m := _SCI_TEX.match(s):
        return float(m.group(1)) * 10.0 ** int(m.group(2))
    if m := _FRAC_TEX.match(s):
        return _ratio(m.group(1), m.group(2), m.group(3))
    if m := _FRAC_PLAIN.match(s):
        return _ratio("", m.group(1), m.group(2))
    if re.fullmatch(rf"[-+]?{_GROUPED}(?:\.\d+)?", s):
        s = re.sub(r"[,\s'{}\\]", "", s)
    try:
        return float(s)
    except ValueError:
        return None


def _ratio(sign: str, num: str, den: str) -> float | None:
    if float(den) == 0:
        return None
    value = float(Fraction(num) / Fraction(den))
    return -value if sign == "-" else value


def find_numbers(text: str) -> list[Found]:
    """Every number in the text with its position; "21,024" is one number, "1, 2, 3" three."""
    text = text.translate(MINUS)  # one character for one: positions stay those of the caller's text
    out = []
    for m in NUMBER_RE.finditer(text):
        value = parse_number(m.group(0))
        if value is not None:
            out.append(Found(value, "number", m.start(), m.group(0)))
    return out


def labelled_numbers(text: str, labels: list[str], window: int = 60) -> list[Found]:
    """Numbers tied to a label in the same sentence: "parameters: 21,024", "21,024 parameters", "params = 21024".

    `labels` are regular expressions (case-insensitive). In order of preference: the label followed by ':', '=',
    'is', 'of' and a number; a number right before the label (at most two words between); else the nearest
    number after the label within `window` characters, else before it (no sentence end in between).
    """
    plain = clean_number_text(unbox(text.replace("**", "").replace("`", "")))  # "\\boxed{61,632} neurons"
    plain = _APPROX.sub(lambda m: " " * len(m.group(0)), plain)  # "10,063,872 ≈ 1.0 × 10^7 parameters": the exact one
    plain = _RESTATED.sub(_blank_restated, plain)  # "10,063,872 (or 10.06 million) parameters": the exact one
    plain = re.sub(r"(?i)\b(approx|ca)\.", r"\1 ", plain)  # "params: approx. 21 024": not a sentence end
    out = []
    for label in labels:
        for m in re.finditer(label, plain, re.I):
            after = re.split(_SENTENCE_STOP, plain[m.end(): m.end() + window], maxsplit=1)[0]
            before = re.split(_SENTENCE_STOP, plain[max(0, m.start() - window): m.start()])[-1]
            nums_after, nums_before = find_numbers(after), find_numbers(before)
            pick = None
            if nums_after and re.fullmatch(r"\s*(?:\([^)]*\)\s*)?(?::|=|\bis\b|\bare\b|\bof\b|\bequals?\b|≈)?\s*(?:(?:approx|ca|about|around|~)\s*)?",
                                           after[: nums_after[0].start]):
                at, n = _chain_result(plain, m.end() + nums_after[0].start, nums_after[0])
                pick = (at, n.value, plain[m.start(): at + len(n.snippet)])
            elif nums_before and re.fullmatch(r"\s*(?:[A-Za-z-]+\s+){0,2}", before[nums_before[-1].start + len(nums_before[-1].snippet):]):
                n = nums_before[-1]
                pick = (m.start() - len(before) + n.start, n.value, before[n.start:] + m.group(0))
            elif nums_after:
                at, n = _chain_result(plain, m.end() + nums_after[0].start, nums_after[0])
                pick = (at, n.value, plain[m.start(): at + len(n.snippet)])
            elif nums_before:
                n = nums_before[-1]
                pick = (m.start() - len(before) + n.start, n.value, before[n.start:] + m.group(0))
            if pick:
                out.append(Found(pick[1], "labelled", pick[0], pick[2]))
    return sorted(out, key=lambda f: f.start)


# A sentence ends at '.', ';' or a line end, but not inside "1.5" nor between a label and its number on the next line;
# a heading or list item on the next line starts a new one also after a number ("Total: 61,632\n#### Parameters")
_SENTENCE_STOP = re.compile(r"(?<!\d)[.;\n](?!\d)|\n(?=[ \t]*(?:#|[-*+][ \t]))")


_DOT_GROUPED = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{3}){2,}(?![\w.]|,\d)")
_DOT_GROUPED_ONE = re.compile(r"(?<![\w.])\d{1,3}\.\d{3}(?![\w.]|,\d)")


def dot_grouped(text: str) -> str:
    """Dots as thousands separators ("10.063.872"), as spaces of the same length ("10 063 872"). Two or more
    dot groups of three digits are always an integer; a single group ("61.632") stays a decimal unless the same
    text also writes a number with two or more dot groups, then it is read the same way."""
    if not _DOT_GROUPED.search(text):
        return text
    return _DOT_GROUPED_ONE.sub(lambda m: m.group(0).replace(".", " "),
                                _DOT_GROUPED.sub(lambda m: m.group(0).replace(".", " "), text))


# A rounded restatement right after a number: "≈ 1.0 \\times 10^7", "\\approx 10.1 million".
_APPROX = re.compile(r"(?<=\d)\s*\(?\s*(?:≈|\\approx)\s*[-+]?\d[\d.,]*"
                     r"(?:\s*(?:\\times|\\cdot|×|·|\*|x)\s*10\s*\^\s*\{?\s*[-+]?\d+\s*\}?)?"
                     r"(?:\s*(?:million|billion|thousand|[MBk])\b)?\)?")


# The same number again, rounded to a scale word, right after it: "10,063,872 (or 10.06 million)", "(~10.1M)",
# "(about 10 million)", "10,063,872, or about 10 million,".
_SCALES = {"million": 1e6, "m": 1e6, "billion": 1e9, "b": 1e9, "thousand": 1e3, "k": 1e3}
_RESTATED = re.compile(rf"(?<![\w.,])(?P<n>(?:{_GROUPED}|\d+)(?:\.\d+)?)(?P<rest>\s*(?:\(|,?\s+(?=or\b|i\.e\.|that\s+is\b))\s*"
                       r"(?:(?:or|i\.e\.,?|that\s+is,?|about|around|roughly|nearly|almost|approx(?:imately|\.)?|~)\s*)*"
                       r"(?P<r>\d+(?:\.\d+)?)\s*(?P<scale>million|billion|thousand|[MBk])\b\s*\)?,?)", re.I)


def _blank_restated(m: re.Match) -> str:
    """A rounded restatement blanked (positions kept), when it is within 5% of the number before it; another
    number in millions is left to be read (a second answer, or a wrong one)."""
    n = parse_number(m.group("n"))
    restated = float(m.group("r")) * _SCALES[m.group("scale").lower()]
    if n and abs(restated - n) <= 0.05 * n:
        return m.group("n") + " " * len(m.group("rest"))
    return m.group(0)


# Arithmetic from a number up to an "=" on the same line: "864 + 18,432 + 1,728 = ", "3 \\times 3 \\times 32 = ".
_CHAIN = re.compile(r"(?:[\d.,()^*/+×·x \t{}-]|\\times|\\cdot|\\left|\\right)*?=[ \t]*")
_OPERATOR = re.compile(r"[\^*/+×·x-]|\\times|\\cdot")


def _chain_result(text: str, at: int, found: Found) -> tuple[int, Found]:
    """The number a worked sum starting at text[at] ends in ("864 + 18,432 + 1,728 = 21,024" -> 21,024), else found.
    A sum inside a parenthesis opened after the number is its breakdown: "21,024 (= 864 + ...)" stays 21,024, and so
    does one after a bare "=": "21,024 = 864 + ..." (no arithmetic before the "=" to give a result)."""
    while m := _CHAIN.match(text, at):
        nums = find_numbers(text[m.end(): m.end() + 40])
        if not nums or nums[0].start or m.group(0).count("(") > m.group(0).count(")"):
            break
        if not _OPERATOR.search(m.group(0)[len(found.snippet):]):
            break
        at, found = m.end(), nums[0]
    return at, found


# ---------------------------------------------------------------- math, equations, code

_MATH = re.compile(
    r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|(?<![\\$])\$([^$\n]+?)\$"
    r"|\\begin\{(equation|align|gather|multline|eqnarray)\*?\}(.+?)\\end\{\5\*?\}",
    re.S,
)


def math_segments(text: str) -> list[Found]:
    """The math of a text: $$..$$, \\[..\\], \\(..\\), $..$ and equation/align environments."""
    out = []
    for m in _MATH.finditer(text):
        body = next(g for g in (m.group(1), m.group(2), m.group(3), m.group(4), m.group(6)) if g is not None)
        out.append(Found(body, "math", m.start(), m.group(0)[:200]))
    return out


def balanced(text: str, open_at: int) -> tuple[str | None, int]:
    """The content of the brace group opening at `open_at` and the index after it."""
    pairs = {"{": "}", "(": ")", "[": "]"}
    opener = text[open_at]
    closer = pairs[opener]
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == opener and (i == 0 or text[i - 1] != "\\" or opener != "{"):
            depth += 1
        elif text[i] == closer and (i == 0 or text[i - 1] != "\\" or closer != "}"):
            depth -= 1
            if depth == 0:
                return text[open_at + 1: i], i + 1
    return None, len(text)


def equation_chains(text: str) -> list[Found]:
    """Every `a = b = c` chain in the math (and in plain lines with an '='), split on top-level '='.

    value: the list of sides, stripped. Alignment marks (&), line breaks (\\\\) and tags are removed.
    """
    chains = []
    segments = math_segments(text)
    covered = [(s.start, s.start + len(s.snippet)) for s in segments]
    sources = [(s.value, s.start) for s in segments]
    pos = 0
    for line in text.splitlines(keepends=True):
        if "=" in line and "$" not in line and "\\[" not in line and not any(a <= pos < b for a, b in covered):
            # "1. w1 = ...", "**Answer:** `w1 = ...`" (inline code)
            sources.append((re.sub(r"^(?:[-*+]|\d+[.)])\s+", "", line.strip()).replace("`", "").strip("*"), pos))
        pos += len(line)
    for body, start in sources:
        body = re.sub(r"\\(?:begin|end)\{[a-z*]+\}(?:\{[^}]*\})?", " ", unbox(body))
        pieces: list[str] = []
        for piece in re.split(r"\\\\(?:\[[^\]]*\])?|\n\s*\n", body):
            piece = re.sub(r"\\(?:tag|label)\{[^}]*\}|\\(?:nonumber|notag)|&", " ", piece)
            if pieces and piece.strip().startswith("="):  # an aligned continuation line: "&= ..."
                pieces[-1] += piece
            else:
                pieces.append(piece)
        for piece in pieces:
            piece = re.sub(r"(?<!\\)\\[,;:!]", " ", piece)  # TeX spacing, not separators
            for part in _split_top_re(piece, _CLAUSE):
                sides = _split_top(part, "=")
                if len(sides) >= 2:
                    chains.append(Found([s.strip().rstrip(".,;") for s in sides], "equation", start, part.strip()[:200]))
    return sorted(chains, key=lambda f: f.start)


# clause boundaries inside one line of math or prose: "L_1 = A where a = B" gives L_1 the A, not the B
_CLAUSE = re.compile(r"\\(?:Rightarrow|implies|iff|Longrightarrow|therefore|quad|qquad|text\{[^}]*\})|⇒|=+>|;|,\s+(?=[A-Za-z\\])"
                     r"|\s(?:where|with|for|if)\s")


def _split_top_re(text: str, pattern: re.Pattern) -> list[str]:
    """Split on `pattern` only outside brackets."""
    depth, level = 0, []
    for ch in text:
        level.append(depth)
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
    parts, last = [], 0
    for m in pattern.finditer(text):
        if level[m.start()] == 0:
            parts.append(text[last:m.start()])
            last = m.end()
    return parts + [text[last:]]


def unbox(text: str) -> str:
    """\\boxed{x} -> x (balanced braces), so an equation inside a box splits like any other."""
    while (m := re.search(r"\\boxed\s*\{", text)):
        body, end = balanced(text, m.end() - 1)
        if body is None:
            break
        text = text[:m.start()] + body + text[end:]
    return text


def _split_top(text: str, sep: str) -> list[str]:
    """Split on `sep` outside brackets; '==', '<=', '>=', '\\neq' are not splits."""
    parts, depth, cur, i = [], 0, [], 0
    while i < len(text):
        ch = text[i]
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        if ch == sep and depth == 0 and text[i - 1: i] not in ("<", ">", "!", "=") and text[i + 1: i + 2] != "=":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


def compact(text: str) -> str:
    """Backslashes and spaces removed: the form left-hand sides are matched in ("\\frac{dL_1}{d eta}" -> "frac{dL_1}{deta}")."""
    return re.sub(r"[\\\s]", "", text)


# "The", "rate", "is", "Hence,", a label "L2:", a bold label "**Answer:**" (not "n", "2", "/", "\\eta")
_PROSE_WORD = re.compile(r"^(?:\*\*|__)?(?:[A-Za-z][a-z]+|L\d)(?:\*\*|__)?[,:]?(?:\*\*|__)?$")


def equations_for(text: str, lhs: str) -> list[Found]:
    """Right-hand sides given for a left-hand side matching the regex `lhs` on the compact() form.

    value: the sides after the matching one (a derivation chain), in order.
    """
    from workbench.formulas import normalise_tex

    pattern = re.compile(rf"^(?:{lhs})$")

    def is_lhs(side: str, first: bool) -> bool:
        # A chain's first side may carry the prose before it ("The optimal rate is eta* = ..."): its last words,
        # when everything before them is words of prose. A coefficient or operator in front ("2 eta* =",
        # "1 / eta* =", "n L_1 =") is part of the left side, which then is not the quantity itself.
        words = side.split()
        tails = [" ".join(words[-k:]) for k in range(1, min(3, len(words) - 1) + 1)
                 if all(_PROSE_WORD.match(w) for w in words[:-k])] if first else []
        return any(pattern.match(compact(normalise_tex(s))) for s in [side, *tails])

    out = []
    for chain in equation_chains(text):
        sides = chain.value
        for i, side in enumerate(sides[:-1]):
            if is_lhs(side, i == 0):
                rest = [s for s in sides[i + 1:] if s]
                if rest:
                    out.append(Found(rest, "equation", chain.start, chain.snippet))
                break
    return out


_FENCE = re.compile(r"^(```+|~~~+)[ \t]*([\w+-]*)[^\n]*\n(.*?)^\1[ \t]*$", re.S | re.M)


def code_blocks(text: str, language: str | None = None) -> list[Found]:
    """Fenced code blocks; with `language`, only those tagged so (or untagged)."""
    out = []
    for m in _FENCE.finditer(text):
        lang = m.group(2).lower()
        if language is None or lang in (language.lower(), ""):
            out.append(Found(m.group(3), lang or "code", m.start(), m.group(0)[:200]))
    return out


_BIG_O = re.compile(r"(?:\\mathcal\s*\{\s*O\s*\}|\\mathcal\s+O|\\operatorname\{O\}|\\mathrm\{O\}|\bO|𝒪|\\Theta|Θ)\s*(?:\\left)?\s*\(", re.S)


def big_o_terms(text: str) -> list[Found]:
    """O(...) terms (and Θ(...), a tight bound that says the O(...) too), value = the argument with spaces and TeX
    braces removed, products as '·' ("1", "t", "t^2", "t·d", "tlogt")."""
    out = []
    for m in _BIG_O.finditer(text):
        body, end = balanced(text, m.end() - 1)
        if body is None:
            continue
        arg = re.sub(r"\\(?:cdot|times|ast)(?![A-Za-z])|[*×⋅]", "·", body)
        arg = re.sub(r"\\right|\\left|[\s{}$\\]", "", arg)
        out.append(Found(arg, "big-O", m.start(), text[m.start():end]))
    return out


# Markdown lines that are a block of their own: a heading, a table row, a wholly bold line ("**Why it helps**")
_LINE_BLOCK = re.compile(r"\s*(?:#{1,6}(?:\s|$)|\||\*\*(?:(?!\*\*).)+\*\*[.:]?\s*$)")
_LIST_ITEM = re.compile(r"\s*(?:[-*+]|\d+[.)])\s")


def blocks(text: str) -> list[str]:
    """Markdown blocks, each flattened to one line: paragraphs (a hard-wrapped one stays whole), list items (with
    their wrapped lines), headings, table rows and wholly bold lines. Display math ($$...$$, \\[...\\]) stays in the
    block that introduces it, also after a blank line, and the text right after it continues that block."""
    out, current, gap, closer = [], [], False, None
    for line in text.splitlines():
        s = line.strip()
        if closer is not None:  # inside display math: blank lines and all
            current.append(s)
            closer = None if s.endswith(closer) else closer
            continue
        if not s:
            gap = True
            continue
        if s.startswith(("$$", "\\[")):
            current.append(s)
            end = "$$" if s.startswith("$$") else "\\]"
            closer = None if len(s) > 2 and s.endswith(end) else end
        elif _LINE_BLOCK.match(s):
            out += [" ".join(current), s]
            current = []
        elif gap or _LIST_ITEM.match(line):
            out.append(" ".join(current))
            current = [s]
        else:
            current.append(s)
        gap = False
    out.append(" ".join(current))
    return [b for b in (re.sub(r"\s+", " ", b).strip() for b in out) if b]


def sentences(text: str) -> list[str]:
    """Rough sentence split within each Markdown block (see `blocks`): keeps decimals such as 1.5 together, and
    splits after a bold label that ends in a stop ("**Comparison.** Both runs ...")."""
    stop = r"(?:(?<=[.!?])|(?<=[.!?]\*\*)|(?<=[.!?]__))"  # "$$" after a stop closes display math: no new sentence
    return [s.strip() for b in blocks(text) for s in re.split(stop + r"\s+(?=[A-Z*_(\[]|\$(?!\$))", b) if s.strip()]


def plain_words(text: str) -> str:
    """Emphasis read as plain words: "does **not** always", "_not_", "\\emph{not}" -> "does not always", ..."""
    text = re.sub(r"\\(?:textbf|emph|textit|underline)\{([^{}]*)\}", r"\1", text)
    return re.sub(r"\*\*|__|(?<![\w\\^])[*_](?=\w)|(?<=\w)[*_](?![\w{])", "", text)


def has_any(text: str, patterns) -> list[str]:
    """Which of the regex `patterns` occur (case-insensitive)."""
    return [p for p in patterns if re.search(p, text, re.I)]
