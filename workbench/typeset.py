"""Markdown (TeX math) -> pandoc -> Typst -> PDF, and the escaping that keeps untrusted text literal.

Untrusted text (LLM transcripts, citations derived from trace files, checker output) never reaches a
markup parser as markup: block text goes into fenced code blocks (pandoc writes them as Typst raw
blocks, which are literal), inline text is backslash-escaped for pandoc's Markdown reader (pandoc then
escapes it again for Typst), and values handed to the Typst helpers are Typst string literals.
Trusted text (problem statements, the student's own solutions) is Markdown with TeX math.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from workbench.atomic import atomic_write
from workbench.errors import WriteupError

# Pandoc's Markdown without the extensions that would turn ordinary text into something else:
# raw TeX/HTML would be dropped silently by the Typst writer, `@name` would become a citation to a
# missing label, and a `---` block inside a solution would be read as document metadata.
MARKDOWN = "markdown-raw_tex-raw_html-citations-yaml_metadata_block-pandoc_title_block-smart"
FONTS = {"body": "Libertinus Serif", "math": "New Computer Modern Math", "mono": "DejaVu Sans Mono"}

_ASCII_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Characters none of Typst's bundled fonts draw (emoji, CJK, Hangul, private use), and invisible
# characters that reorder or hide text: shown as <U+XXXX> so a reader sees that something is there.
_NO_GLYPH = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2e80-\ua4cf\uac00-\ud7af\ue000-\uf8ff"
                       "\uf900-\ufaff\ufe00-\ufe0f\ufe30-\ufe4f\uff00-\uffef\ufff0-\uffff\U00010000-\U0010ffff]")
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufe00-\ufe0f]")
_LANG = re.compile(r"^[A-Za-z0-9_+-]{1,24}$")


def clean(text: str) -> str:
    """Untrusted text made printable: LF line ends, tabs as spaces, no control or glyph-less characters."""
    text = str(text).replace("\r\n", "\n").replace("\r", "\n").expandtabs(4)
    text = _CONTROL.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)
    return _NO_GLYPH.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def glyphless(text: str) -> list[str]:
    """Visible characters of trusted text that no bundled font draws (they would print as empty boxes)."""
    return sorted({c for c in _NO_GLYPH.findall(text) if not _INVISIBLE.match(c)})


def md_text(text: str) -> str:
    """Inline untrusted text for pandoc's Markdown reader: every ASCII punctuation mark escaped, one line."""
    flat = " ".join(clean(text).split())
    return _ASCII_PUNCT.sub(r"\\\1", flat)


def code_block(text: str, lang: str = "text") -> str:
    """A fenced code block whose fence is longer than any backtick run inside, so nothing can close it."""
    body = clean(text).rstrip("\n")
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    lang = lang if _LANG.match(lang or "") else "text"
    return f"{fence}{lang}\n{body}\n{fence}"


def typ_str(text: str) -> str:
    """A Typst string literal; backticks are escaped too, so it can sit inside a fenced raw block."""
    out = []
    for ch in clean(text):
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "`":
            out.append("\\u{60}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def raw_typst(code: str) -> str:
    """A raw Typst block inside the Markdown; only for code built here, from typ_str values."""
    if re.search(r"^\s*```", code, re.M):
        raise ValueError("raw Typst must not contain a fence line")
    return f"```{{=typst}}\n{code}\n```"


# TeX environments outside $$ would be dropped by pandoc's Markdown reader: make them display math.
_ENV = re.compile(r"\\begin\{(equation|align|gather|multline|eqnarray)(\*?)\}(.*?)\\end\{\1\2\}", re.S)
# A matrix or cases environment outside math is an error in LaTeX and source text in pandoc: made display math too.
_BARE_ENV = r"(\\begin\{(?P<env>cases|[pbBvV]?matrix|smallmatrix|array|aligned|gathered|split)\}.*?\\end\{(?P=env)\})"
_TEXT_CMDS = ((re.compile(r"\\textbf\{([^{}]*)\}"), r"**\1**"), (re.compile(r"\\(?:emph|textit)\{([^{}]*)\}"), r"*\1*"),
              (re.compile(r"\\texttt\{([^{}]*)\}"), r"`\1`"),
              (re.compile(r"(?<=\d) (?=%)"), "\u00a0"))  # '58.5 %' never broken between the number and its sign


_CODE = re.compile(r"(^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\2[`~]*[ \t]*$|`+[^`]*`+)", re.S | re.M)
_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?![\s$])(.+?)(?<![\s\\])\$(?!\d)", re.S)
_BAR = re.compile(r"(?<!\\left)(?<!\\right)(?<!\\big)(?<!\\Big)(?<!\\bigg)(?<!\\)\|")


def _pair(tex: str, pattern: re.Pattern, left: str, right: str) -> str:
    """Alternate a bar token as opening / closing delimiter, when it comes in pairs."""
    hits = list(pattern.finditer(tex))
    if not hits or len(hits) % 2:
        return tex
    out, last = [], 0
    for i, m in enumerate(hits):
        out += [tex[last:m.start()], left if i % 2 == 0 else right]
        last = m.end()
    return "".join(out) + tex[last:]


# pandoc's TeX math reader drops \tag{1} silently or fails the whole formula on it (shown as TeX source), and always
# fails on \label, \notag and \nonumber: a tag is set as text at the formula's end, the others are dropped
_TAG = re.compile(r"\\tag(\*?)\s*\{([^{}]*)\}")
_NO_NUMBER = re.compile(r"\\(?:notag|nonumber)(?![A-Za-z])|\\label\s*\{[^{}]*\}")


def fix_math(tex: str) -> str:
    """Norms and absolute values as delimiter pairs: pandoc's Typst math sets `\\|w\\|_2` with limits; equation
    tags as text; the spaces \\; and \\! as pandoc can write them."""
    tex = _TAG.sub(lambda m: r"\qquad \text{" + (m.group(2) if m.group(1) else f"({m.group(2)})") + "}", tex)
    tex = _NO_NUMBER.sub(" ", tex)
    # pandoc writes spaces in whole ems: \; (5/18 em) as 0em, which drops a relation's spacing, and \! (-1/6 em) as
    # -1em, which overprints; \: is the nearest it sets right, and no space is nearer than -1em
    tex = re.sub(r"(?<!\\)\\;", r"\\:", tex)
    tex = re.sub(r"(?<!\\)\\!", " ", tex)
    # 18{,}432: a comma that is no punctuation; pandoc writes it as one (`18 \, 432`, spaced): the number as text
    tex = re.sub(r"\d+(?:\{,\}\d+)+", lambda m: r"\text{" + m.group().replace("{,}", ",") + "}", tex)
    # LaTeX spaces an aligned block's column pairs apart, Typst does not: `x^2 && (4)` would print as x^2 times 4
    tex = re.sub(r"\\begin\{aligned\}.*?\\end\{aligned\}", lambda m: re.sub(r"(?<!\\)&\s*&", r"& \\qquad &", m.group()),
                 tex, flags=re.S)
    tex = re.sub(r"\\left\s*\\\|", r"\\lVert ", tex)
    tex = re.sub(r"\\right\s*\\\|", r"\\rVert ", tex)
    tex = _pair(tex, re.compile(r"\\\|"), r"\lVert ", r"\rVert ")
    if "\\left" not in tex:  # a bare \lvert x \rvert is spaced like two relations: pair it as well
        tex = re.sub(r"\\[lr]vert\b", "|", tex)
    return _pair(tex, _BAR, r"\left\lvert ", r"\right\rvert ")


def _outside_code(text: str, fn) -> str:
    """fn applied to the text between code spans and blocks, which stay as they are."""
    pieces = _CODE.split(text)  # re.split with two groups yields [text, code, fence-char, text, ...]
    return "".join(fn(piece) if i % 3 == 0 else (piece if i % 3 == 1 else "")
                   for i, piece in enumerate(pieces) if piece is not None)


def _outside_math(text: str, fn) -> str:
    """fn applied to the text between math spans, which stay as they are."""
    out, last = [], 0
    for m in _MATH.finditer(text):
        out += [fn(text[last:m.start()]), m.group()]
        last = m.end()
    return "".join(out) + fn(text[last:])


def _fix_math_spans(text: str) -> str:
    def one(m: re.Match) -> str:
        if m.group(1) is not None:
            return f"$${fix_math(m.group(1))}$$"
        # pandoc reads `$...$` as math only when no space comes before the closing dollar (fix_math's `\rVert `)
        return f"${fix_math(m.group(2)).strip()}$"

    return _outside_code(text, lambda piece: _MATH.sub(one, piece))


_BACKSLASH_MATH = re.compile(r"(?<!\\)\\\[(.+?)\\\]|(?<!\\)\\\((.+?)\\\)", re.S)  # \[...\] and \(...\)
# a math span, or one environment in $ ... $ with spaces inside the dollars (which no math span allows)
_SPAN_OR_ENV = re.compile(_MATH.pattern + r"|(?<![\\$])\$\s+(\\begin\{.*?)\s*\$(?!\$)", re.S)
_SPAN_OR_BARE_ENV = re.compile(_MATH.pattern + "|" + _BARE_ENV, re.S)  # a math span is left as it is
_WHOLE_ENV = re.compile(r"\s*\\begin\{(equation|align|gather|multline|eqnarray)(\*?)\}.*\\end\{\1\2\}\s*", re.S)


def _dollar_math(text: str) -> str:
    """LaTeX's \\[ \\] and \\( \\) delimiters (LLMs write them often) as $$ $$ and $ $, and an environment already
    inside $$ ... $$ or $ ... $ without the extra dollars (it becomes its own display below)."""
    def strip(m: re.Match) -> str:
        body = next(group for group in m.groups() if group is not None)
        return body.strip() if _WHOLE_ENV.fullmatch(body) else m.group()

    text = _BACKSLASH_MATH.sub(lambda m: f"$${m.group(1).strip()}$$" if m.group(1) is not None
                               else f"${m.group(2).strip()}$", text)
    return _SPAN_OR_ENV.sub(strip, text)


_OPEN_FENCE = re.compile(r"^ {0,3}(`{3,}(?=[^`]*$)|~{3,})")


def close_fences(text: str) -> str:
    """A code fence left open closed at the end of the text: it would run on through the rest of the writeup."""
    fence = ""
    for line in text.split("\n"):
        if not fence:
            m = _OPEN_FENCE.match(line)
            fence = m.group(1) if m else ""
        elif re.fullmatch(rf" {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*", line):
            fence = ""
    return f"{text.rstrip()}\n{fence}\n" if fence else text


def tex_to_markdown(text: str) -> str:
    """The TeX habits of trusted text (statements, own solutions) that pandoc's Markdown would drop."""
    text = _outside_code(close_fences(text), _dollar_math)
    def env(m: re.Match) -> str:
        name, body = m.group(1), m.group(3).strip()
        if name in ("align", "eqnarray"):
            body = f"\\begin{{aligned}}{body}\\end{{aligned}}"
        elif name == "gather":
            body = f"\\begin{{gathered}}{body}\\end{{gathered}}"
        return f"\n$${body}$$\n"

    text = _outside_code(text, lambda piece: _ENV.sub(env, piece))
    text = _outside_code(text, lambda piece: _SPAN_OR_BARE_ENV.sub(
        lambda m: f"\n$${m.group()}$$\n" if m.group("env") is not None else m.group(), piece))
    for pattern, repl in _TEXT_CMDS:  # in text only: `$\textbf{W}$` as `$**W**$` would print the asterisks
        text = _outside_code(text, lambda piece: _outside_math(piece, lambda t: pattern.sub(repl, t)))
    return _fix_math_spans(text)


def pandoc_path() -> str:
    try:
        import pypandoc

        return pypandoc.get_pandoc_path()
    except (ImportError, OSError):
        raise WriteupError("pandoc is not available", "pip install pypandoc-binary (see requirements.txt)") from None


def pandoc_warnings(stderr: str) -> list[str]:
    """Pandoc's warnings, one line each (it spreads one over several: the message, the source, a caret, the parser's
    expectations), without the parser detail a student cannot act on."""
    out: list[str] = []
    for line in stderr.splitlines():
        if line.startswith("[WARNING]") or not out:
            out.append(line.removeprefix("[WARNING]").strip())
    return [w.rstrip(":").replace("rendering as TeX", "shown as TeX source") for w in out if w]


def markdown_to_typst(markdown: str, source: Path) -> tuple[str, list[str]]:
    """Convert the whole document with one pandoc call; returns the Typst body and pandoc's warnings."""
    cmd = [pandoc_path(), "-f", MARKDOWN, "-t", "typst", "--wrap=preserve",
           "--lua-filter", str(Path(__file__).with_name("foreign_images.lua")),
           "--lua-filter", str(Path(__file__).with_name("soft_hyphen.lua"))]
    try:
        proc = subprocess.run(cmd, input=markdown, capture_output=True, text=True, encoding="utf-8", timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WriteupError(f"pandoc failed on {source}: {exc}", "check the pypandoc-binary install") from None
    warnings = pandoc_warnings(proc.stderr)
    if proc.returncode != 0:
        first = warnings[0] if warnings else f"exit status {proc.returncode}"
        raise WriteupError(f"pandoc failed on {source}: {first}", "fix the Markdown at that place and rebuild")
    return proc.stdout, warnings


def preamble(title: str, author: str) -> str:
    """Page setup and the wb-* helpers the assembled Markdown calls from its raw Typst blocks."""
    return _PREAMBLE.replace("@TITLE@", typ_str(title)).replace("@AUTHOR@", typ_str(author)) \
        .replace("@BODY@", FONTS["body"]).replace("@MATH@", FONTS["math"]).replace("@MONO@", FONTS["mono"])


_PREAMBLE = r"""// Generated by the workbench (python cli.py build-writeup); edit and compile with `typst compile`.
#set document(title: @TITLE@, author: @AUTHOR@)
#set page(paper: "a4", margin: (x: 2cm, top: 2cm, bottom: 2.2cm),
  footer: context align(center, text(size: 8pt, fill: luma(110))[#@TITLE@ · #@AUTHOR@ · page #counter(page).display("1 of 1", both: true)]))
#set text(font: "@BODY@", size: 10.5pt, lang: "en")
#set par(justify: true)
// a long run without spaces (a hash, a URL, a base64 blob) may break every 64 characters, in prose and in trace text;
// the break point is an empty box: a zero-width space would be copied with a URL and break the link
#let wb-wrap(it) = it.text.clusters().chunks(64).map(c => c.join()).join(box())
#show regex("\\S{72,}"): wb-wrap
#show math.equation: set text(font: "@MATH@")
// Typst does not break display math: one wider than the text is scaled down to fit, not run off the page
#show math.equation.where(block: true): it => layout(size => {
  let w = measure(it).width
  if w > size.width { scale(size.width / w * 100%, reflow: true, it) } else { it } })
#show raw: set text(font: "@MONO@", size: 8pt)
// `chat` blocks are a transcript's prose (literal text); other raw blocks are code
#show raw.where(block: true): it => if it.lang == "chat" { block(inset: (x: 2pt, y: 2pt), width: 100%, it) } else {
  block(fill: luma(246), stroke: 0.5pt + luma(215), inset: 6pt, radius: 2pt, width: 100%, it) }
#show heading: set text(weight: "bold")
#show link: set text(fill: rgb("#1a4f8b"))
#show heading.where(level: 1): it => block(above: 1.4em, below: 1em, text(size: 17pt, it))
#show heading.where(level: 2): it => block(above: 1.6em, below: 0.8em, stroke: (bottom: 0.6pt + luma(150)), inset: (bottom: 3pt), width: 100%, text(size: 13pt, it))
#show heading.where(level: 3): set text(size: 11pt)
#set table(inset: 5pt, stroke: 0.4pt + luma(190))
#show table: set text(size: 9pt)
#show table: set par(justify: false)
// an identifier or code span too long for its cell (`torch.nn.functional.cross_entropy`) may break after its dots,
// underscores and slashes, or every 8 characters (only where it must: a token that fits is set as it was); the break
// points are empty boxes, so a name copied from the PDF has no zero-width spaces in it
#show table.cell: it => { show regex("\\S{24,}"): t => t.text.matches(regex("[^._/:,=-]{0,8}[._/:,=-]|[^._/:,=-]{1,8}"))
  .map(m => m.text).join(box()); it }
#show figure.where(kind: table): set figure(placement: none)
// an image figure taller than the page (a phone screenshot) gets an image short enough for its caption to fit too
#show figure.where(kind: image): it => layout(size => if measure(it, width: size.width).height <= size.height { it } else {
  set image(height: size.height - measure(it.caption, width: size.width).height - 2em, fit: "contain"); it })
#let horizontalrule = line(start: (25%, 0%), end: (75%, 0%), stroke: 0.5pt + luma(150))

#let wb-box(title, color, body) = block(width: 100%, breakable: true, inset: 8pt, radius: 2pt,
  fill: color.lighten(88%), stroke: 1pt + color)[#text(weight: "bold", fill: color.darken(25%), title) #if body != "" [\ #body]]
#let wb-missing(title, body) = wb-box(title, rgb("#c62828"), body)
#let wb-edited(title, body) = block(width: 100%, inset: 10pt, radius: 2pt, fill: rgb("#c62828"))[
  #set text(fill: white)
  #text(weight: "bold", title) \ #body]
// the addresses in a citation (the handout asks for the model's url) are links; trailing punctuation is not part of one
#let wb-urls(body) = { show regex("https?://\\S*[^\\s.,;:)]"): it => link(it.text.replace("\u{200b}", ""), it); body }
#let wb-title(course: "", assignment: "", student: "", sid: "", date: "", models: (), missing: ()) = {
  align(center)[
    #text(size: 11pt, course) \
    #v(0.2em) #text(size: 20pt, weight: "bold", assignment) \
    #v(0.4em) #text(size: 12pt)[#student #if sid != "" [(#sid)]] \
    #text(size: 10pt, fill: luma(90), date)
  ]
  for m in missing { wb-missing(m, "") }
  if models.len() > 0 {
    v(0.6em)
    block(width: 100%, inset: 8pt, stroke: 0.5pt + luma(190), radius: 2pt)[
      #text(weight: "bold")[Models used] (every program trace below is cited beneath its transcript)
      #for m in models [- #text(weight: "bold", m.at(0)): #wb-urls(m.at(1))]
    ]
  }
}
#let wb-small(body) = text(size: 8.5pt, body)
// the student's own text: its headings (`# Part (a)`) nest under "Own solution" / "Critique of the model output"
#let wb-own(body) = { set heading(offset: 3); body }
// a question's points line stays on the page of the statement it introduces (and so does its heading)
#let wb-meta(body) = block(sticky: true, emph(body))
#let wb-note(body) = block(width: 100%, inset: 6pt, fill: luma(243), radius: 2pt, text(size: 9pt, body))
#let wb-statement(body) = block(width: 100%, inset: (left: 10pt, y: 4pt), stroke: (left: 2pt + luma(170)), text(size: 9.5pt, body))
#let wb-label(body) = block(above: 1em, below: 0.5em, text(weight: "bold", size: 10.5pt, body))
#let wb-auto(body) = block(width: 100%, inset: 8pt, radius: 2pt, fill: rgb("#fff8e1"), stroke: 1pt + rgb("#f9a825"))[
  #text(weight: "bold", fill: rgb("#8d6e00"))[Automatic critique (generated by the workbench, not by the student)] \
  #body]
#let wb-roles = (system: rgb("#6a1b9a"), user: rgb("#1565c0"), assistant: rgb("#2e7d32"), tool: rgb("#8d6e00"), other: luma(90))
#let wb-msg(role, body) = block(width: 100%, breakable: true, above: 0.5em, below: 0.5em, inset: (left: 8pt, y: 3pt),
  stroke: (left: 2.5pt + wb-roles.at(role)))[#block(sticky: true, text(size: 8.5pt, weight: "bold", fill: wb-roles.at(role),
  upper(role))) #body]
#let wb-tag(body) = block(above: 0.5em, below: 0.5em, box(inset: (x: 4pt, y: 2pt), fill: rgb("#e3f2fd"), radius: 2pt, text(size: 8.5pt, body)))
#let wb-cite(body) = block(width: 100%, above: 0.4em, inset: 6pt, fill: luma(243), radius: 2pt,
  text(size: 8.5pt)[#text(weight: "bold")[Cite:] #wb-urls(body)])
#let wb-figure(path, caption) = figure(image(path, width: 80%), caption: caption)
"""


def source_date_epoch() -> int | None:
    """SOURCE_DATE_EPOCH, the time a build gives as its own (reproducible-builds.org, honoured by the typst command
    line too), so the same sources give the same bytes on any day; None when unset."""
    from datetime import datetime, timezone

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        return None
    try:
        if not re.fullmatch(r"[0-9]+", epoch):
            raise ValueError
        datetime.fromtimestamp(int(epoch), timezone.utc)  # a date the title block can show
    except (ValueError, OverflowError, OSError):
        raise WriteupError(f"SOURCE_DATE_EPOCH={epoch!r} is not a time in whole seconds since 1970 (before year 10000)",
                           "set it to e.g. $(git log -1 --format=%ct), or unset it") from None
    return int(epoch)


def compile_pdf(typ_path: Path, pdf_path: Path) -> list[str]:
    """Typst source -> PDF with the bundled fonts only (the same glyphs on every machine); returns warnings."""
    try:
        import typst
    except ImportError:
        raise WriteupError("the typst package is not installed", "pip install typst (see requirements.txt)") from None
    epoch = source_date_epoch()  # the PDF's dates and the ID made from them: the build's time unless it is set
    try:
        pdf, warnings = typst.compile_with_warnings(str(typ_path), root=str(typ_path.parent), ignore_system_fonts=True,
                                                    **({"timestamp": int(epoch)} if epoch is not None else {}))
    except typst.TypstError as exc:
        raise WriteupError(f"typst failed on {typ_path}{_line_of(exc)}: {_first_line(exc)}",
                           "fix the source at that place and rebuild") from None
    except RuntimeError as exc:  # older typst-py raise RuntimeError with the diagnostic as text
        raise WriteupError(f"typst failed on {typ_path}: {_first_line(exc)}", "fix the source at that place and rebuild") from None
    atomic_write(pdf_path, pdf)
    return [_first_line(w) for w in warnings]


def _line_of(exc) -> str:
    """':line:column' of the first place a Typst diagnostic points at, or '' (older typst-py give none)."""
    m = re.search(r"┌─ \S*?:(\d+):(\d+)", str(getattr(exc, "diagnostic", "") or ""))
    return f":{m.group(1)}:{m.group(2)}" if m else ""


def _first_line(exc) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return (message.strip().splitlines() or ["unknown error"])[0]
