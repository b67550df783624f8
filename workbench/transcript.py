"""A trace as a chat transcript in the writeup's Markdown: roles, the model's code blocks, the citation.

Every message is untrusted text and stays literal: prose goes into `chat` raw blocks (shown as wrapped
monospace text, so the model's own Markdown and TeX read exactly as it wrote them), fenced code into raw
blocks with the model's language tag (highlighted, never run), and the citation into a Typst string.
A reasoning model's reasoning is not shown: under its reply one line gives its word count and the trace file.
"""

from __future__ import annotations

import re

from workbench.traces import Trace
from workbench.typeset import code_block, raw_typst, typ_str

ROLES = ("system", "user", "assistant", "tool")
# An opening fence with at most a language tag: a line such as "``` and \\(r\\)." is prose, since the words
# after a fence (CommonMark's info string) would otherwise vanish from a transcript that must stay literal.
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*([^\s`]*)[ \t]*$")
IMPORTED = "imported from the user's chat export"


def _message_text(content) -> str:
    """A message's text; multi-part content (OpenAI format) keeps its text parts and names the others."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                parts.append(str(part.get("text", "")))
            else:
                kind = part.get("type", "part") if isinstance(part, dict) else type(part).__name__
                parts.append(f"[{kind} not shown]")
        return "\n".join(parts)
    return "" if content is None else str(content)


def split_fences(text: str) -> list[tuple[str, str]]:
    """(lang, text) segments: prose has lang "chat"; the model's fenced code keeps its language tag."""
    segments, buf, lang, fence = [], [], "chat", ""
    for line in text.split("\n"):
        m = _FENCE.match(line)
        if not fence and m:
            _flush(segments, "chat", buf)
            buf, fence, lang = [], m.group(1), (m.group(2) or "text")
        elif fence and line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
            _flush(segments, lang, buf)
            buf, fence, lang = [], "", "chat"
        else:
            buf.append(line)
    _flush(segments, lang, buf)
    return segments


def _flush(segments: list, lang: str, lines: list[str]) -> None:
    """Keep a segment without its leading and trailing blank lines (indentation inside stays)."""
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if lines:
        segments.append((lang, "\n".join(lines)))


def transcript(trace: Trace) -> list[str]:
    """A trace as a chat transcript: every message of every sample, literal, with the citation beneath."""
    samples, cautions = trace.samples, trace.cautions()
    out = [raw_typst(f"#wb-tag({typ_str(IMPORTED)})")] if trace.imported else []
    for sample, caution, reasonings in ((s, c, r) for s, c, r in zip(samples, cautions, trace.reasonings())
                                        if isinstance(s, dict)):
        if len(samples) > 1:
            label = f"Sample {int(sample.get('index') or 0) + 1} of {len(samples)}"
            out.append(raw_typst(f"#wb-label({typ_str(label)})"))
        for message in (m for m in sample.get("messages") or [] if isinstance(m, dict)):
            role = message.get("role") if message.get("role") in ROLES else "other"
            segments = split_fences(_message_text(message.get("content"))) or [("chat", "(empty message)")]
            out.append(raw_typst(f'#wb-msg("{role}")['))
            out.extend(code_block(text, lang) for lang, text in segments)
            out.append(raw_typst("]"))
            reasoning = reasonings.pop(0) if message.get("role") == "assistant" else ""
            if reasoning:  # it can run to pages: the grader is told where it is, not shown it
                words = len(reasoning.split())
                note = f"The model's reasoning ({words} words) is kept in the trace file {trace.path.name}"
                out.append(raw_typst(f"#wb-tag({typ_str(note)})"))
        if caution:  # the reader must not take a cut-off answer for the model's whole reply
            out.append(raw_typst(f"#wb-tag({typ_str('Caution: ' + caution)})"))
    out.append(raw_typst(f"#wb-cite({typ_str(trace.citation() + ' (' + trace.path.name + ')')})"))
    return out
