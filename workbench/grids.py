"""Matrices and tables in answers as LLMs and students write them: bmatrix/pmatrix/array environments,
nested lists, plain grids of numbers, and Markdown tables (each cell with its row and column labels).

Every finder returns answers.Found items in text order so a caller can report ambiguity instead of guessing.
"""

from __future__ import annotations

import ast
import re

from workbench.answers import MINUS, Found, Matrix, find_numbers, parse_number

_ENV = re.compile(r"\\begin\{([bpvBV]?matrix\*?|array|smallmatrix)\}(?:\[[^\]]*\])?(?:\{[^}]*\})?(.*?)\\end\{\1\}", re.S)
_LIST = re.compile(r"\[\s*\[[^\[\]]*\](?:\s*,\s*\[[^\[\]]*\])+\s*,?\s*\]", re.S)
_MATLAB = re.compile(r"\[([-+\d.,\s]+(?:;[-+\d.,\s]+)+);?\s*\]")  # [0 0 -1; -1 -2 3; ...]
_GRID_LINE = re.compile(r"^\s*[|\[(]{0,2}\s*(?:[-+\u2212]?\d+(?:\.\d*)?[\s,|]+)+[-+\u2212]?\d+(?:\.\d*)?\s*[|\])]{0,2},?\s*$")


def _row_numbers(cells: list[str]) -> tuple[float, ...] | None:
    values = []
    for cell in cells:
        cell = cell.strip()
        if not cell:
            continue
        v = parse_number(cell)
        if v is None:
            return None
        values.append(v)
    return tuple(values) if values else None


def _matrix(rows: list[tuple[float, ...] | None]) -> Matrix | None:
    rows = [r for r in rows if r is not None]
    if not rows or len({len(r) for r in rows}) != 1:
        return None
    return tuple(rows)


def find_matrices(text: str, shape: tuple[int, int] | None = None) -> list[Found]:
    """Numeric matrices in LaTeX environments, Markdown tables, nested lists and plain grids.

    A matrix with a non-numeric cell (e.g. "?") is skipped. With `shape`, only matrices of that shape.
    """
    text = text.translate(MINUS)
    found: list[Found] = []
    taken: list[tuple[int, int]] = []

    def add(matrix, source, start, end):
        if matrix is None or any(s < end and start < e for s, e in taken):
            return
        taken.append((start, end))
        if shape is None or (len(matrix), len(matrix[0])) == tuple(shape):
            found.append(Found(matrix, source, start, text[start:end][:200]))

    for m in _ENV.finditer(text):
        body = re.sub(r"\\hline|(?<!\\)\\[,;:!](?!\\)", " ", m.group(2))
        rows = [_row_numbers(r.split("&")) for r in re.split(r"\\\\(?:\[[^\]]*\])?", body) if r.strip()]
        if all(r is not None for r in rows):
            add(_matrix(rows), m.group(1).rstrip("*"), m.start(), m.end())
    for m in _LIST.finditer(text):
        try:
            value = ast.literal_eval(m.group(0))
        except (ValueError, SyntaxError):
            continue
        if all(isinstance(r, (list, tuple)) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in r) for r in value):
            add(_matrix([tuple(float(x) for x in r) for r in value]), "list", m.start(), m.end())
    for m in _MATLAB.finditer(text):
        rows = [_row_numbers(re.split(r"[\s,]+", r)) for r in m.group(1).split(";")]
        if all(r is not None for r in rows):
            add(_matrix(rows), "matlab", m.start(), m.end())
    _markdown_tables(text, add)
    _plain_grids(text, add)
    return sorted(found, key=lambda f: f.start)


def _line_spans(text: str):
    pos = 0
    for line in text.splitlines(keepends=True):
        yield pos, pos + len(line.rstrip("\n")), line.rstrip("\n")
        pos += len(line)


# A `|` splits a table row except inside $math$ or `code`, or escaped as \| (GitHub's escape in tables), so
# norms such as $|\theta|$ or $\|w\|^2$ stay in their cell.
_ROW_PIECE = re.compile(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`|\\.|[^|]|\|")


def row_cells(line: str) -> list[str]:
    """The cells of a Markdown table row (outer pipes dropped)."""
    pieces = _ROW_PIECE.findall(line.strip())
    pieces = pieces[1:] if pieces[:1] == ["|"] else pieces
    pieces = pieces[:-1] if pieces[-1:] == ["|"] else pieces
    cells = [""]
    for piece in pieces:
        if piece == "|":
            cells.append("")
        else:
            cells[-1] += piece
    return cells


def _markdown_tables(text: str, add) -> None:
    block: list[tuple[int, int, str]] = []
    for span in list(_line_spans(text)) + [(len(text), len(text), "")]:
        if span[2].strip().startswith("|"):
            block.append(span)
            continue
        if len(block) >= 2:
            rows = []
            for _, _, line in block:
                cells = row_cells(line)
                if all(re.fullmatch(r"\s*:?-+:?\s*", c) for c in cells):
                    continue
                rows.append(cells)
            numeric = [_row_numbers(c) for c in rows]
            # A header row of labels (or blank) is allowed; the body must be numeric.
            if numeric and numeric[0] is None:
                numeric = numeric[1:]
            # A first column of row labels is allowed too.
            if numeric and any(r is None for r in numeric):
                numeric = [_row_numbers(c[1:]) for c in rows[len(rows) - len(numeric):]]
            if numeric and all(r is not None for r in numeric):
                add(_matrix(numeric), "markdown table", block[0][0], block[-1][1])
        block = []


_TABLE_RULE = re.compile(r"\s*:?-+:?\s*")


def table_cells(text: str) -> list[Found]:
    """The cells of Markdown tables (a header row, a |---| rule, body rows) with their labels.

    value: (row label, column label, cell), markup (`**`, `$`, backticks) removed; the row label is the first
    column's header and the row's first cell ("kernel 4" from `| kernel | ... |` and `| 4 | ... |`), so a
    caller reads a table either way round by searching both labels. start: the position of the row.
    """
    out = []
    block: list[tuple[int, int, str]] = []
    for span in list(_line_spans(text)) + [(len(text), len(text), "")]:
        if span[2].strip().startswith("|"):
            block.append(span)
            continue
        rows = [[re.sub(r"\*\*|__|`|\$", "", c).strip() for c in row_cells(line)] for _, _, line in block]
        if len(rows) >= 3 and all(_TABLE_RULE.fullmatch(c) for c in rows[1]):
            header = rows[0]
            for (start, _, line), row in zip(block[2:], rows[2:]):
                for j in range(1, min(len(row), len(header))):
                    if row[j]:
                        label = f"{header[0]} {row[0]}".strip()
                        out.append(Found((label, header[j], row[j]), "markdown table", start, line))
        block = []
    return out


def _table_spans(text: str) -> list[tuple[int, int]]:
    """Where the Markdown tables of the text are (start, end): for callers that read them apart from the prose."""
    spans, block = [], []
    for span in list(_line_spans(text)) + [(len(text), len(text), "")]:
        if span[2].strip().startswith("|"):
            block.append(span)
            continue
        if len(block) >= 2:
            spans.append((block[0][0], block[-1][1]))
        block = []
    return spans


def without_tables(text: str) -> str:
    """The text with its Markdown tables blanked (same length, so positions stay those of the caller's text)."""
    for start, end in _table_spans(text):
        text = text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]
    return text


def cell_number(cell: str) -> float | None:
    """The number a table cell states: "61,632", "864 + 18,432 + 1,728 = 21,024" (the result), "10,063,872 (≈ 1e7)"."""
    result = re.split(r"≈|\\approx|\(", cell.rsplit("=", 1)[-1])[0]
    value = parse_number(result)
    if value is None:
        nums = find_numbers(result)
        value = nums[0].value if len(nums) == 1 else None
    return value


def _plain_grids(text: str, add) -> None:
    """Consecutive lines of numbers only (e.g. inside a code block): one matrix."""
    block: list[tuple[int, int, str]] = []
    for span in list(_line_spans(text)) + [(len(text), len(text), "")]:
        line = span[2]
        if _GRID_LINE.match(line) and not line.strip().startswith("|"):
            block.append(span)
            continue
        if len(block) >= 2:
            rows = [_row_numbers(re.split(r"[\s,|\[\]()]+", ln)) for _, _, ln in block]
            add(_matrix(rows), "grid", block[0][0], block[-1][1])
        block = []


def parse_matrix_value(value) -> Matrix | None:
    """A matrix given as a YAML/JSON value (list of rows) or as text in any supported notation."""
    if isinstance(value, (list, tuple)) and value and all(isinstance(r, (list, tuple)) for r in value):
        rows = [_row_numbers([str(x) for x in r]) if not all(isinstance(x, (int, float)) for x in r)
                else tuple(float(x) for x in r) for r in value]
        return _matrix(rows) if all(r is not None for r in rows) else None
    if isinstance(value, str):
        found = find_matrices(value)
        return found[0].value if len(found) == 1 else None
    return None
