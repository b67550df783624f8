"""Shared terminal output: rich consoles, one-line errors, stable JSON."""

from __future__ import annotations

import json
import math
import os
import re
import sys

from rich.console import Console
from rich.measure import Measurement
from rich.segment import Segment
from rich.table import Table

from workbench.errors import UsageError, WorkbenchError
from workbench.paths import path_text


PIPED_TABLE_WIDTH = 160  # at most: wide enough for hashes and model names, prose cells still wrap
# Control characters (ESC, C1 such as CSI, DEL, CR) and BiDi overrides: in a model's reply, a chat export or a trace
# they would clear the screen, write the clipboard (OSC 52), plant links (OSC 8) or reorder a line on the terminal.
# Rich counts them as zero width, so dropping them keeps every table and panel aligned; traces keep the exact bytes.
# A lone surrogate (a \ud800 escape in a streamed reply) is no text: writing it to stdout raised UnicodeEncodeError.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


_EMOJI_OPENER = re.compile(r":(?=[^\s:]+:)")  # a colon that a word and another colon follow: `:name:`


def external(text) -> str:
    """Text from outside the program (a server's model name or error, a pack's statement, a file's name, a trace) as
    rich markup that prints it literally: control characters dropped (as the consoles drop them), and `[bold]`,
    `[/]`, `[link=...]` and `:smile:` escaped, so they are shown, not read as styling, a link, a closing tag with no
    opening or an emoji."""
    from rich.markup import escape

    text = _UNSAFE.sub("", path_text(str(text)))
    body = text.rstrip("\\")
    # rich reads `:smile:` as its emoji in each run of text between tags (a Panel's title, whatever the console says):
    # an empty tag after the colon that could open one splits the run there
    markup = _EMOJI_OPENER.sub(":[none][/none]", escape(body))
    if body == text:
        return markup
    # rich's escape doubles a last backslash, lest it escape a tag after it, and text after it showed both ("C:\\"):
    # a style that changes nothing holds them, each doubled, so they print as they are before a tag or text alike
    return markup + "[none]" + text[len(body):] * 2 + "[/none]"


def paste_command(argv: list[str]) -> str:
    """A command line for the user to paste: on Windows quoted as cmd and PowerShell read it (to cmd, shlex's single
    quotes are part of the word: --out 'C:\\Users\\me\\runs\\unet' named no folder), elsewhere for a POSIX shell."""
    if sys.platform == "win32":
        import subprocess

        return subprocess.list2cmdline(argv)
    import shlex

    return shlex.join(argv)


EXIT_READER_GONE = 141  # 128 + SIGPIPE: what a shell reports for any Unix tool whose reader went away


class ReaderGone(Exception):
    """stdout's reader closed the pipe (`cli.py list | head -1`): stop quietly, exit 141."""


def silence(stream=None) -> None:
    """Point stdout (or `stream`) at /dev/null, so that the interpreter's last flush of a broken pipe cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, (stream or sys.stdout).fileno())
    finally:
        os.close(devnull)


reader_gone = False  # set once stdout's reader has gone: the command may finish its work (save a paid answer), silently


def reader_went_away(which: Console | None = None) -> None:
    """From now on stdout (or `which` console's stream: stderr's reader can go too) shows nothing, and the command
    ends with 141 (cli.main looks at reader_gone)."""
    global reader_gone
    which = which or console
    reader_gone = which.quiet = True
    silence(which.file)


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich's own handler exits 1, which here means "a check failed"
        reader_went_away(self)
        raise ReaderGone()

    def render(self, renderable, options=None):
        """Rich's own styling and cursor moves (control segments) pass; untrusted text loses its control characters."""
        for segment in super().render(renderable, options):
            if segment.control or not _UNSAFE.search(segment.text):
                yield segment
            else:
                # a path's bytes under an ASCII file system encoding (C locale, PYTHONUTF8=0) come as surrogate
                # escapes: decoded first, "/tmp/Über" is not shown as "/tmp/ber"
                yield Segment(_UNSAFE.sub("", path_text(segment.text)), segment.style)

    def print(self, *objects, soft_wrap=None, **kwargs):
        # Piped output is read by scripts and pasted from: a one-line message stays one line, so the commands
        # it quotes stay whole. Tables, panels and terminals keep rich's layout.
        if soft_wrap is None and not self.is_terminal and all(isinstance(o, str) for o in objects):
            soft_wrap = True
        if not self.is_terminal and any(isinstance(o, Table) for o in objects):
            # a piped table gets the width its cells need, so hashes and model names are not folded mid-token
            unlimited = self.options.update(max_width=10_000)
            needed = min(max(Measurement.get(self, unlimited, o).maximum for o in objects), PIPED_TABLE_WIDTH)
            if needed > self.width:
                width = self.width
                self.width = needed
                try:
                    return super().print(*objects, soft_wrap=soft_wrap, **kwargs)
                finally:
                    self.width = width
        super().print(*objects, soft_wrap=soft_wrap, **kwargs)


# emoji=False: rich turns `:smile:` into its emoji, markup or not, and file names, titles and model names may hold
# such words (a file `:x:.md` was named as `❌.md`); the project's own text uses none
console = _Console(highlight=False, emoji=False)
err_console = _Console(stderr=True, highlight=False, emoji=False)


def print_error(exc: WorkbenchError) -> None:
    """One line: what is wrong, then how to fix it."""
    line = exc.message
    if exc.fix:
        line += f" — {exc.fix}"
    print_warning(line, "error")


def print_warning(line: str, label: str = "warning") -> None:
    """`label: line` on stderr, in one line (print_line)."""
    print_line(f"{label}: {line}")


def print_line(line: str) -> None:
    """One line on stderr, printed as written (one_line)."""
    err_console.print(one_line(line), markup=False, soft_wrap=True)


def one_line(text: str) -> str:
    """A file's name or a server's message may hold a line break ("a\\nb.md"): it is shown as \\n, as Python writes
    it, so a line that quotes it stays one line for the scripts that read it."""
    return text.replace("\n", "\\n")


def _finite(data):
    """JSON has no NaN or infinity (Python's NaN/Infinity are refused by strict parsers): such a float is written
    as the string "nan", "inf" or "-inf", in its place, everywhere in every document."""
    if isinstance(data, float) and not math.isfinite(data):
        return "nan" if math.isnan(data) else "inf" if data > 0 else "-inf"
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(v) for v in data]
    return data


json_written = False  # whether this command printed its JSON document yet (cli.main resets it)


def print_json(data) -> None:
    """Machine-readable output: sorted keys, UTF-8, newline-terminated, no rich markup. Where stdout cannot
    encode a character (a code page, an ASCII locale), every non-ASCII one is written as a \\u escape, so the
    document stays whole and exact instead of losing characters to ? or ending in a UnicodeEncodeError."""
    global json_written
    json_written = True
    data = _finite(data)
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    readable = path_text(text)  # a path's bytes under an ASCII file system encoding: give readers its text
    if readable != text:
        data = json.loads(readable)
        text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        text.encode(getattr(sys.stdout, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    sys.stdout.write(text)
    sys.stdout.flush()  # a reader that went away is noticed here, inside the command, not at interpreter exit


def fmt_points(points: float) -> str:
    return f"{points:g}"


def counted(n: float, word: str) -> str:
    """"1 problem", "2 problems", "0.5 points": a count and its noun, singular only for one."""
    return f"{n:g} {word}{'s' * (n != 1)}"


def value_text(value) -> str:
    """A check's or reference's value as a reader's text, not a Python repr (None, quotes, every backslash doubled):
    a matrix one row a line, texts and records one item a line, a record's keys as `key: value` (what holds more
    lines indented below its key), whole floats as integers."""
    def number(v):
        return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)

    if value is None:
        return "—"
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            text = value_text(item)
            if "\n" in text or (isinstance(item, (dict, list, tuple)) and text.startswith("- ")) or \
                    (isinstance(item, dict) and item):  # a record or a list of items goes below its key
                lines += [f"{key}:"] + ["  " + line for line in text.splitlines()]
            else:
                lines.append(f"{key}: {text}")
        return "\n".join(lines)
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, (str, dict)) for v in value):
            lines = []
            for item in value:
                first, *rest = value_text(item).splitlines() or [""]
                lines += [f"- {first}"] + ["  " + line for line in rest]
            return "\n".join(lines)
        if value and all(isinstance(v, (list, tuple)) for v in value):
            return "\n".join(value_text(row) for row in value)
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    return number(value)


def read_stdin(fix: str, limit: int | None = None) -> bytes:
    """stdin's bytes (at most `limit`), for a command given `-` to decode as it decodes a file: a text stdin decodes
    with the locale's encoding (a Windows code page) or lets any bytes through (a C locale). UsageError with `fix`
    where it cannot be read: closed (`<&-` leaves sys.stdin None) or an I/O error."""
    if sys.stdin is None:
        raise UsageError("cannot read stdin: it is closed", fix)
    raw = getattr(sys.stdin, "buffer", None)
    try:
        if raw is not None:
            return raw.read(-1 if limit is None else limit)
        return sys.stdin.read(-1 if limit is None else limit).encode("utf-8")
    except (OSError, ValueError) as exc:  # ValueError: read from a closed file, a text stdin that was not UTF-8
        raise UsageError(f"cannot read stdin: {exc}", fix) from None
