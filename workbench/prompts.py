"""Prompt strategies (prompts/<name>.yaml) rendered for a problem into chat messages.

A strategy file:

    name: hinted                      # must match the file name
    description: one line for `--help` and listings
    requires: [hints]                 # record fields that must be non-empty (else a clear error)
    system: "You are ..."             # optional system message
    turns:                            # user turns, sent one at a time with the conversation so far
      - |
        {context}

        {statement}
      - each: steps                   # one turn per item of a list field (steps or hints)
        first: "... Step 1 of {total}: {item}"   # optional text for the first item
        text: "Step {n} of {total}: {item}"

Placeholders are `{field}` (`{{` and `}}` for literal braces); values are inserted verbatim, never
re-parsed, so LaTeX braces in a statement are safe. A paragraph (text between blank lines) of a
template that renders empty is dropped, so `{context}` on its own paragraph vanishes when a record has
no context; a whole turn (or system message) that renders empty is an error, never sent. Fields: assignment (the pack's `assignment:`, e.g. "a university deep-learning assignment"; prompts/
serve every pack), id, title, section, points, type, kind, answer, statement, context, hints
(a bulleted list), steps (a numbered list), spec; inside `each`: item, n, total.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from workbench.errors import ConfigError, UsageError, yaml_problem
from workbench.paths import prompts_dir
from workbench.problems import DEFAULT_ASSIGNMENT, Problem

SCHEMA_KEYS = {"name", "description", "requires", "system", "turns"}
EACH_KEYS = {"each", "first", "text"}
PROBLEM_FIELDS = ("assignment", "id", "title", "section", "points", "type", "kind", "answer", "statement", "context", "hints",
                  "steps", "spec")
LIST_FIELDS = ("steps", "hints")
LOOP_FIELDS = ("item", "n", "total")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_PARAGRAPH = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True)
class Each:
    """One user turn per item of a list field."""

    each: str
    text: str
    first: str = ""


@dataclass(frozen=True)
class Strategy:
    name: str
    description: str
    turns: tuple  # of str | Each
    system: str = ""
    requires: tuple[str, ...] = ()
    path: str = ""
    sha256: str = ""


def _err(path: Path, message: str, fix: str) -> ConfigError:
    return ConfigError(f"{path}: {message}", fix)


def _check_template(path: Path, where: str, template, allowed: tuple[str, ...]) -> str:
    if not isinstance(template, str) or not template.strip():
        raise _err(path, f"{where} must be non-empty text", "write the template as a YAML string or `|` block")
    for match in _PLACEHOLDER.finditer(template):
        name = match.group(1)
        if name is not None and name not in allowed:
            raise _err(path, f"{where}: unknown field {{{name}}}",
                       f"use one of: {', '.join('{' + f + '}' for f in allowed)} (write {{{{ and }}}} for braces)")
    return template


def strategy_names() -> list[str]:
    folder = prompts_dir()
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def load_strategy(name: str) -> Strategy:
    """Load and strictly validate prompts/<name>.yaml."""
    known = strategy_names()
    if name in known and not NAME_PATTERN.match(name):  # e.g. Direct.yaml: listed as known, then "no strategy"
        raise _err(prompts_dir() / f"{name}.yaml", "a strategy's name is lower-case letters, digits, - and _",
                   "rename the file (and its name:) to such a name, one no other strategy has")
    if not NAME_PATTERN.match(name or "") or name not in known:
        raise UsageError(f"no prompt strategy {name!r}", f"known strategies: {', '.join(known) or 'none (prompts/ is empty)'}")
    path = prompts_dir() / f"{name}.yaml"
    try:
        raw = path.read_bytes()
    except OSError as exc:  # a folder or a dangling link named like a strategy was a traceback
        raise _err(path, f"cannot read: {exc.strerror}", "make it a readable strategy file, or remove it") from None
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise _err(path, f"malformed YAML: {yaml_problem(exc)}", "fix the YAML syntax") from None
    except ValueError:  # int()'s limit on a number of over 4300 digits: not a YAMLError
        raise _err(path, "malformed YAML: a number in it is too long to read", "fix the YAML syntax") from None
    if data is None:  # nothing but blank lines and comments, as a problem record is named
        raise _err(path, "is empty", "write name:, description:, turns: ...")
    if not isinstance(data, dict):
        raise _err(path, "expected a mapping", "write name:, description:, turns: ...")
    unknown = sorted(set(data) - SCHEMA_KEYS)
    if unknown:
        raise _err(path, f"unknown key {unknown[0]!r}", f"use only: {', '.join(sorted(SCHEMA_KEYS))}")
    if data.get("name") != name:
        raise _err(path, f"name {data.get('name')!r} does not match the file name", f"set name: {name}")
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise _err(path, "description must be text", "write one line of text")
    requires = data.get("requires") or []
    if not isinstance(requires, list) or any(r not in PROBLEM_FIELDS for r in requires):
        raise _err(path, f"requires must list record fields, got {requires!r}", f"use some of: {', '.join(PROBLEM_FIELDS)}")
    system = data.get("system") or ""
    if system:
        _check_template(path, "system", system, PROBLEM_FIELDS)
    turns_raw = data.get("turns")
    if not isinstance(turns_raw, list) or not turns_raw:
        raise _err(path, "turns must be a non-empty list", "add `turns:` with at least one user-turn template")
    turns: list = []
    for i, turn in enumerate(turns_raw, 1):
        if isinstance(turn, dict):
            bad = sorted(set(turn) - EACH_KEYS)
            if bad:
                raise _err(path, f"turn {i}: unknown key {bad[0]!r}", f"use only: {', '.join(sorted(EACH_KEYS))}")
            if turn.get("each") not in LIST_FIELDS:
                raise _err(path, f"turn {i}: each must name a list field, got {turn.get('each')!r}",
                           f"use one of: {', '.join(LIST_FIELDS)}")
            fields = PROBLEM_FIELDS + LOOP_FIELDS
            first = _check_template(path, f"turn {i} first", turn["first"], fields) if "first" in turn else ""
            turns.append(Each(turn["each"], _check_template(path, f"turn {i} text", turn.get("text"), fields), first))
        else:
            turns.append(_check_template(path, f"turn {i}", turn, PROBLEM_FIELDS))
    return Strategy(name=name, description=description.strip(), turns=tuple(turns), system=system,
                    requires=tuple(requires), path=str(path), sha256=hashlib.sha256(raw).hexdigest())


def problem_fields(problem: Problem) -> dict[str, str]:
    """The text each placeholder stands for (key points stay out: they are the grader's, not the model's)."""
    return {
        "id": problem.id, "title": problem.title, "section": problem.section, "points": f"{problem.points:g}",
        "type": str(problem.type), "kind": problem.kind, "answer": problem.answer,
        "assignment": problem.assignment or DEFAULT_ASSIGNMENT,
        "statement": problem.statement, "context": problem.context, "spec": problem.spec,
        "hints": "\n".join(f"- {h}" for h in problem.hints),
        "steps": "\n".join(f"{i}. {s}" for i, s in enumerate(problem.steps, 1)),
    }


def fill(template: str, fields: dict[str, str], where: str = "template") -> str:
    """Substitute {field}s paragraph by paragraph; drop paragraphs that end up empty."""

    def sub(match: re.Match) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(1)
        if name not in fields:
            raise ConfigError(f"{where}: unknown field {{{name}}}", f"use one of: {', '.join(sorted(fields))}")
        return fields[name]

    paragraphs = (_PLACEHOLDER.sub(sub, para).strip() for para in _PARAGRAPH.split(template))
    return "\n\n".join(p for p in paragraphs if p)


def missing_fields(strategy: Strategy, problem: Problem) -> list[str]:
    """The record fields the strategy needs that this problem leaves empty (it cannot be rendered then)."""
    needed = list(strategy.requires) + [t.each for t in strategy.turns if isinstance(t, Each)]
    return [name for name in dict.fromkeys(needed) if not getattr(problem, name)]


def render(strategy: Strategy, problem: Problem) -> list[dict]:
    """The messages a strategy sends for a problem: the system message, then each user turn in order."""
    fields = problem_fields(problem)
    for name in missing_fields(strategy, problem):
        raise UsageError(f"strategy {strategy.name!r} needs the record's {name}, and problem {problem.id} has none",
                         f"choose another strategy (e.g. direct) or add `{name}:` to {problem.path or 'the record'}")
    def filled(template: str, values: dict[str, str], where: str) -> str:
        text = fill(template, values, where)
        if not text:  # every field it names is empty here: an empty message would be sent (and paid for)
            raise UsageError(f"{where} renders empty for problem {problem.id}",
                             "list the fields it needs under `requires:`, or give it text of its own")
        return text

    messages = []
    if strategy.system:
        messages.append({"role": "system", "content": filled(strategy.system, fields, f"{strategy.path}: system")})
    for i, turn in enumerate(strategy.turns, 1):
        where = f"{strategy.path}: turn {i}"
        if isinstance(turn, Each):
            items = getattr(problem, turn.each)
            for n, item in enumerate(items, 1):
                template = turn.first if (n == 1 and turn.first) else turn.text
                loop = dict(fields, item=item, n=str(n), total=str(len(items)))
                messages.append({"role": "user", "content": filled(template, loop, where)})
        else:
            messages.append({"role": "user", "content": filled(turn, fields, where)})
    return messages


def print_turns(messages: list[dict]) -> None:
    """Show messages exactly as they are sent: plain text (no Markdown), one panel per message."""
    from rich.panel import Panel
    from rich.text import Text

    from workbench.console import console

    turn = 0
    for m in messages:
        if m["role"] == "user":
            turn += 1
        title = {"system": "system", "user": f"user · turn {turn}", "assistant": f"assistant · turn {turn}"}
        style = {"system": "dim", "user": "cyan", "assistant": "green"}.get(m["role"], "white")
        console.print(Panel(Text(m["content"]), title=title.get(m["role"], m["role"]), title_align="left",
                            border_style=style))
