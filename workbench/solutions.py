"""Own solutions: solutions/<pack>/<id>.md with YAML front matter and `## Solution` / `## Critique` sections.

Front matter keys:
    problem  the problem id (must match the file name)
    answer   machine-checkable values (shape per problem: see the pack's reference.py ANSWER_KEYS)
    trace    optional trace file name (or hash prefix) the writeup shows instead of the latest; read as written
             (`trace: 0123456` is that prefix, not a number)
    cites    optional {"<run>.<metric>": value} numbers quoted from pinned runs, checked by verify
    code     optional pointer to the code that is the solution, e.g. "colourize.models:UNet"

HTML comments (<!-- ... -->) in a section are notes to the student; they are not part of the text, so a
section holding only comments counts as not written.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from workbench.errors import ProblemError, yaml_problem
from workbench.paths import project_root, solutions_dir

FRONT_KEYS = ("problem", "answer", "trace", "cites", "code")
_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.S)
_SECTION = re.compile(r"^## +(.+?)\s*$", re.M)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
READ_SECTIONS = ("solution", "critique")
_OFF_LEVEL = re.compile(r"^(?:#|#{3,6}) *(?:solution|critique)\b.*$", re.M | re.I)


def stray_solution_notes(pack) -> list[str]:
    """Files in solutions/<pack>/ named for no problem of the pack (misnamed, e.g. 3_2.md, or drafts), or for one
    under another extension (3.1.md.txt, as Windows Notepad saves it; 3.1.MD): never read."""
    folder = solutions_dir() / pack.name
    ids = {p.id for p in pack.problems}
    notes = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else ():
        name, where = path.name, os.path.relpath(path, project_root())
        if not path.is_file() or not name.lower().endswith((".md", ".txt", ".markdown")):
            continue  # figures, results/
        if name.endswith(".md") and path.stem in ids:
            continue  # read
        own = max((i for i in ids if name.lower().startswith(f"{i.lower()}.")), key=len, default=None)
        if own is not None:
            notes.append(f"{where} is not read: solutions are read from <id>.md files only (rename it {own}.md)")
        elif name.endswith(".md"):
            notes.append(f"{where} is not read: no problem {path.stem!r} in pack {pack.name} "
                         f"(name it <id>.md, e.g. {pack.problems[0].id}.md)")
    return notes


@dataclass(frozen=True)
class Solution:
    problem: str
    path: Path
    answer: object = None
    trace: str | None = None
    cites: dict = field(default_factory=dict)
    code: str | None = None
    solution: str = ""
    critique: str = ""
    off_level: tuple[str, ...] = ()  # "### Solution"-like headings, not read as sections (they must be "## ")
    open_fence: tuple | None = None  # (line, titles): a code block never closed that hides these sections
    unread: tuple[str, ...] = ()  # titles of the other "## " sections with text: in neither the PDF nor the checks

    @property
    def has_solution(self) -> bool:
        return bool(self.solution)

    @property
    def has_critique(self) -> bool:
        return bool(self.critique)


def heading_notes(sol: "Solution | None") -> list[str]:
    """Why a missing section may only look missing: its heading is not a level-2 "## " one."""
    out = []
    for section, present in (("Solution", sol and sol.has_solution), ("Critique", sol and sol.has_critique)):
        found = [h for h in (sol.off_level if sol else ()) if section.lower() in h.lower()]
        if not present and found:
            out.append(f"{sol.path.name} has {found[0]!r}, which is not read: write it as '## {section}'")
    if sol and sol.open_fence:
        line, titles = sol.open_fence
        hidden = " and ".join(repr(f"## {t}") for t in titles)
        out.append(f"{sol.path.name}: the code block opened at line {line} is never closed, so {hidden} after it is "
                   "read as code: end the block with a line ```")
    for title in sol.unread if sol else ():  # a "## Part (b)" inside the solution ends it there
        out.append(f"{sol.path.name} has '## {title}', which is not read (only '## Solution' and '## Critique' are), "
                   f"so its text is not in the PDF: write it as '### {title}' to keep it in the section above")
    return out


def _err(path: Path, message: str, fix: str) -> ProblemError:
    return ProblemError(f"{path}: {message}", fix)


def parse_solution(path: Path) -> Solution:
    """Parse one solution file; broken front matter or unknown keys name the file and key."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _err(path, f"cannot read ({exc.strerror})", "check the file") from None
    except UnicodeDecodeError as exc:
        raise _err(path, f"is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})",
                   "save it as UTF-8 Markdown, or move it out of the solutions folder") from None
    try:
        front, body = split_front_matter(text)
    except ProblemError as exc:
        raise _err(path, exc.message, exc.fix) from None
    if front is None:
        raise _err(path, "no YAML front matter", "start the file with a `---` block holding `problem: <id>`")
    unknown = sorted(set(front) - set(FRONT_KEYS))
    if unknown:
        raise _err(path, f"unknown front-matter key {unknown[0]!r}", f"use only: {', '.join(FRONT_KEYS)}")
    problem = str(front.get("problem", path.stem))
    if problem != path.stem:
        raise _err(path, f"front matter says problem {problem!r}", f"set `problem: {path.stem}` or rename the file")
    cites = front.get("cites") or {}
    if not isinstance(cites, dict):
        raise _err(path, "`cites` must be a mapping of run.metric to value", "e.g. cites: {unet.val_acc: 60.9}")
    cites = cites_as_written(text, cites)
    try:
        trace = trace_pin(text, front)
    except ProblemError as exc:
        raise _err(path, exc.message, exc.fix) from None
    try:
        code = code_pointer(front)
    except ProblemError as exc:
        raise _err(path, exc.message, exc.fix) from None
    try:
        sections = split_sections(body)
    except ProblemError as exc:
        raise _err(path, exc.message, exc.fix) from None
    return Solution(
        problem=problem,
        path=path,
        answer=front.get("answer"),
        trace=trace,
        cites=cites,
        code=code,
        solution=sections.get("solution", ""),
        critique=sections.get("critique", ""),
        off_level=tuple(m.group(0).strip() for m in _OFF_LEVEL.finditer(_COMMENT.sub("", body))),
        open_fence=_hidden_by_open_fence(text, body),
        unread=tuple(dict.fromkeys(t for t in (m.group(1).strip() for m in _section_headings(body))
                                   if t.lower() not in READ_SECTIONS and sections.get(t.lower()))),
    )


def cites_as_written(text: str, cites: dict) -> dict:
    """Cited numbers as the student wrote them: YAML reads `1.070` as 1.07, which verify would check to two
    decimals, not the three written (the measured 1.067 would pass)."""
    match = _FRONT.match(text.removeprefix("\ufeff"))
    try:
        raw = (yaml.load(match.group(1), Loader=yaml.BaseLoader) or {}).get("cites") if match else None
    except yaml.YAMLError:
        return cites
    if not isinstance(raw, dict) or len(raw) != len(cites):
        return cites
    return {key: literal if isinstance(value, (int, float)) and not isinstance(value, bool) else value
            for (key, value), literal in zip(cites.items(), raw.values())}


def trace_pin(text: str, front: dict) -> str | None:
    """The `trace:` pin as written: a hash prefix of digits only is hex too, and YAML read `0123456` as the octal
    number 42798 and `2026-01-01` as a date. A list or mapping names no one trace: refused."""
    pin = front.get("trace")
    if pin is None or isinstance(pin, str):
        return pin
    if isinstance(pin, (list, dict)):
        raise ProblemError("`trace` must be one trace's file name or hash prefix", "e.g. trace: 1a2b3c4d5e6f")
    match = _FRONT.match(text.removeprefix("\ufeff"))
    raw = (yaml.load(match.group(1), Loader=yaml.BaseLoader) or {}).get("trace")  # safe_load read it: so can this
    return raw if isinstance(raw, str) else str(pin)


_SINGLE_QUOTES = "write TeX in single quotes (eta_star: '\\frac{n}{2}'), where a backslash is just a backslash"
_TEX_ESCAPE = re.compile(r"\\(.)", re.S)  # YAML reads escapes pair by pair: `\\\\` is one backslash


def _tex_in_double_quotes(front: str) -> None:
    """Refuse `eta_star: "\\frac{n}{2}"`: YAML reads `\\f` as a form feed, so the answer became 'rac{n}{2}' (an unknown
    symbol 'rac') without a visible sign; `\\eta`, `\\top`, `\\nabla`, `\\beta`, `\\vec` are escapes too. Only `answer:`
    values hold TeX (a `cites:` key may hold a "\\n" on purpose)."""
    root = yaml.compose(front)
    values = [v for k, v in root.value if k.value == "answer"] if isinstance(root, yaml.MappingNode) else []
    while values:
        node = values.pop()
        if isinstance(node, yaml.MappingNode):
            values += [v for _, v in node.value]
        elif isinstance(node, yaml.SequenceNode):
            values += node.value
        elif node.style == '"':
            raw = front[node.start_mark.index:node.end_mark.index]
            for m in _TEX_ESCAPE.finditer(raw):
                if m.group(1) in "abefnrtvNLP" and raw[m.end():m.end() + 1].isalpha():
                    shown = " ".join(raw.split())  # one line, however the value was wrapped
                    shown = shown if len(shown) <= 60 else shown[:57] + '..."'
                    word = m.group(0) + re.match(r"[A-Za-z]*", raw[m.end():]).group(0)
                    raise ProblemError(f"malformed front matter at line {node.start_mark.line + 2}: {shown} is in "
                                       f"double quotes, where YAML reads the {m.group(0)} of {word} as an escape (a "
                                       "control character), not TeX", _SINGLE_QUOTES)


def split_front_matter(text: str) -> tuple[dict | None, str]:
    """(front matter, body) of a Markdown text; (None, text) when it has none; an unclosed one is refused."""
    text = text.removeprefix("\ufeff")  # the byte-order mark some Windows editors put first
    match = _FRONT.match(text)
    if not match and re.match(r"---\s*\n", text):  # else check read it as plain text where verify refuses it
        raise ProblemError("front matter is not closed", "end it with a line `---` before the `## Solution` section")
    if not match:
        return None, text
    try:
        front = yaml.safe_load(match.group(1)) or {}
        _tex_in_double_quotes(match.group(1))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 2}" if mark else ""
        quoted = getattr(exc, "context", None) == "while scanning a double-quoted scalar"
        raise ProblemError(f"malformed front matter{line}: {yaml_problem(exc)}",
                           _SINGLE_QUOTES if quoted else "fix the YAML between the `---` lines") from None
    except ValueError:  # int()'s limit on a number of over 4300 digits: not a YAMLError
        raise ProblemError("malformed front matter: a number in it is too long to read",
                           "fix the YAML between the `---` lines") from None
    if not isinstance(front, dict):
        raise ProblemError("front matter is not a mapping", "write it as `key: value` lines")
    return front, text[match.end():]


def code_pointer(front: dict) -> str | None:
    """The `code:` front-matter value: a `module:Name` string, or None."""
    code = front.get("code")
    if code is not None and not isinstance(code, str):
        raise ProblemError("`code` must be a `module:Name` string", 'e.g. code: "colourize.models:UNet"')
    return code


_FENCE = re.compile(r"^ {0,3}(`{3,}(?=[^`]*$)|~{3,})", re.M)


def _fences(body: str) -> tuple[list[tuple[int, int]], int | None]:
    """The (start, end) of each fenced code block, and where the one left open starts (None if all are closed)."""
    fenced, fence, start = [], "", 0
    for m in _FENCE.finditer(body):
        if not fence:
            fence, start = m.group(1), m.start()
        elif m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not body[m.end():].split("\n", 1)[0].strip():
            fenced.append((start, m.end()))
            fence = ""
    if fence:  # left open: it runs to the end
        fenced.append((start, len(body)))
    return fenced, start if fence else None


def _section_headings(body: str) -> list[re.Match]:
    """The `## Title` lines outside fenced code (a Python `## step 1` comment is no section)."""
    fenced, _ = _fences(body)
    return [m for m in _SECTION.finditer(body) if not any(a <= m.start() < b for a, b in fenced)]


def _hidden_by_open_fence(text: str, body: str) -> tuple[int, tuple[str, ...]] | None:
    """(line in the file, titles) of the read sections a code block never closed turns into code."""
    _, start = _fences(body)
    if start is None:
        return None
    titles = tuple(t for t in (m.group(1).strip() for m in _SECTION.finditer(body, start)) if t.lower() in READ_SECTIONS)
    head = text.removeprefix("\ufeff")[:len(text.removeprefix("\ufeff")) - len(body)]
    return (head.count("\n") + body.count("\n", 0, start) + 1, titles) if titles else None


def split_sections(body: str) -> dict[str, str]:
    """`## Title` sections keyed by lower-case title, comments removed, whitespace trimmed."""
    heads = _section_headings(body)
    parts = [body[:heads[0].start()] if heads else body]
    for m, after in zip(heads, heads[1:] + [None]):
        parts += [m.group(1), body[m.end():after.start() if after else len(body)]]
    out = {}
    for title, content in zip(parts[1::2], parts[2::2]):
        key = title.strip().lower()
        if key in out and key in READ_SECTIONS:  # keeping one would drop the other from the checks and the PDF
            raise ProblemError(f"has two “## {title.strip()}” sections", "merge them into one: only one can be read")
        out[key] = _COMMENT.sub("", content).strip()
    return out


def solution_path(pack: str, problem_id: str) -> Path:
    return solutions_dir() / pack / f"{problem_id}.md"


def load_solution(pack: str, problem_id: str) -> Solution | None:
    """The own solution of a problem, or None when there is no file."""
    path = solution_path(pack, problem_id)
    if path.is_symlink() and not path.exists():  # else it would pass for a solution not yet written
        raise _err(path, f"is a link to {os.readlink(path)}, which does not exist", "point the link at your file, or remove it")
    return parse_solution(path) if path.exists() else None
