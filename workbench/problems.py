"""Load and validate problem packs: problems/<pack>/pack.yaml + one <id>.yaml record per problem."""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import yaml

from workbench.errors import ProblemError, UsageError, yaml_problem
from workbench.paths import problems_dir, project_hint

SCHEMA = "workbench.problem/1"
KINDS = ("written", "coding", "plot")
ANSWER_FORMS = ("matrix", "number", "numbers", "expression", "claim", "code", "free")
DELIVERABLES = ("trace", "critique", "solution", "plot", "code")
ID_PATTERN = re.compile(r"^[0-9]+(\.[0-9]+)*$")
DEFAULT_ASSIGNMENT = "a university assignment"  # a pack.yaml without `assignment:`
# What a problem asks, as traces fingerprint it (problem_sha256): the text any strategy sends (a strategy that
# sends hints or steps asks them too) and the answer form. Not the labels and grading around it (title, points,
# Type, deliverables, key points): changing those asks nothing new, so no trace of it goes stale (docs/prompting.md).
QUESTION_FIELDS = ("statement", "context", "hints", "steps", "spec", "answer")

class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # C parser: `list` must stay fast
    """Safe loader that rejects a key given twice (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


@dataclass(frozen=True)
class Problem:
    """One question of a pack, as given to an LLM and as graded."""

    id: str
    title: str
    section: str
    part: str
    points: float
    type: int
    kind: str
    statement: str
    answer: str
    extra_credit: bool = False
    context: str = ""
    hints: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()
    deliverables: tuple[str, ...] = ()
    key_points: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    spec: str = ""
    pack: str = ""
    path: str = ""
    assignment: str = ""  # how prompts name the assignment: the pack's `assignment:` (prompts/ serve every pack)

    def pack_flag(self) -> str:
        return pack_flag(self.pack, Path(self.path).parent if self.path else None)

    @property
    def graded(self) -> bool:
        return self.points > 0

    @property
    def needs_trace(self) -> bool:
        return self.graded and "trace" in self.deliverables

    def to_dict(self) -> dict:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in fields(self)}

    @property
    def question_sha256(self) -> str:
        """SHA-256 of the canonical JSON of what the problem asks (QUESTION_FIELDS), as a trace records it."""
        asked = {name: (list(v) if isinstance(v := getattr(self, name), tuple) else v) for name in QUESTION_FIELDS}
        blob = json.dumps(asked, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()


@dataclass(frozen=True)
class Part:
    id: str
    title: str


@dataclass(frozen=True)
class Pack:
    """A problem set: its metadata and its problems in handout order."""

    name: str
    title: str
    course: str
    version: str
    parts: tuple[Part, ...]
    submission: dict
    problems: tuple[Problem, ...] = field(default=())
    path: str = ""

    def pack_flag(self) -> str:
        return pack_flag(self.name, self.path)

    def get(self, problem_id: str) -> Problem:
        for problem in self.problems:
            if problem.id == problem_id:
                return problem
        ids = [p.id for p in self.problems]
        inside = [i for i in ids if i.startswith(f"{problem_id}.")]  # a section's number: its problems, not look-alikes
        close = difflib.get_close_matches(problem_id, ids, n=3, cutoff=0.5)
        hint = (f"{problem_id} is a section: its problems are {', '.join(inside)}" if inside
                else f"did you mean {', '.join(close)}?" if close
                else f"run `python cli.py list{self.pack_flag()}` to see the ids")
        raise UsageError(f"no problem {problem_id!r} in pack {self.name!r}", hint)

    def select(self, ids: list[str]) -> list[Problem]:
        """The problems with these ids (an unknown one is an error), once each, in the pack's order."""
        wanted = {self.get(i).id for i in ids}
        return [p for p in self.problems if p.id in wanted]


_REQUIRED = ("id", "title", "section", "part", "points", "type", "kind", "statement", "answer")
_OPTIONAL = ("extra_credit", "context", "hints", "figures", "deliverables", "key_points", "steps", "spec")
_PACK_KEYS = {"schema", "name", "title", "course", "version", "parts", "order", "submission", "assignment"}


def pack_flag(name: str, folder: str | Path | None) -> str:
    """The `--pack` a command needs for a pack ('' for the default a2): its name, or its folder when it is not
    problems/<name> (a bare `list` or `prompt ID` would take a2's problems)."""
    from workbench.console import paste_command  # quoted, so a folder with a space pastes as one word

    if not folder or Path(folder) == problems_dir() / name:
        return "" if name == "a2" else f" --pack {paste_command([name])}"
    return f" --pack {paste_command([str(folder)])}"


def default_deliverables(type_: int, kind: str) -> tuple[str, ...]:
    """The handout's rule: Type 1/2 need trace + critique + solution; coding adds code; plots add a plot.

    The handout contradicts itself on coding questions: its grading section asks for "(i) the program trace,
    (ii) your own solution", while its hand-in checklist lists "program trace · critique of the model output ·
    code for model ..." for 4.1, 5.1 and 6.1. We follow the checklist: a critique too many costs nothing, one
    too few may cost the points."""
    out = ["trace", "critique"] if type_ in (1, 2) else []
    out.append("solution")
    if kind == "coding":
        out.append("code")
    if kind == "plot":
        out.append("plot")
    return tuple(out)


def _fail(path: Path, key: str | None, message: str, fix: str) -> ProblemError:
    where = f"{path}" + (f": key {key!r}" if key else "")
    return ProblemError(f"{where}: {message}", fix)


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        problem = yaml_problem(exc)
        fix = "keep one of the two" if "appears twice" in problem else "fix the YAML syntax"
        raise _fail(path, None, f"malformed YAML{line}: {problem}", fix) from None
    except OSError as exc:
        raise _fail(path, None, f"cannot read: {exc.strerror}", "check the file exists and is readable") from None
    except UnicodeDecodeError as exc:  # e.g. UTF-16, as Windows Notepad saves "Unicode"
        raise _fail(path, None, f"is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})",
                    "save it as UTF-8") from None
    except ValueError:  # (after UnicodeDecodeError, a ValueError too) int()'s limit on a number of over 4300 digits
        raise _fail(path, None, "malformed YAML: a number in it is too long to read", "fix the YAML syntax") from None
    if data is None:  # nothing but blank lines and comments: not a record of another shape
        raise _fail(path, None, "is empty", "write the record as `key: value` lines")
    if not isinstance(data, dict):
        raise _fail(path, None, "expected a mapping of keys to values", "write the record as `key: value` lines")
    return data


def _str_list(path: Path, key: str, value) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(path, key, "must be a list of strings", f"write `{key}:` as a YAML list of text items")
    return tuple(value)


def parse_problem(path: Path, data: dict, pack: str, parts: set[str]) -> Problem:
    """Validate one record's mapping and build the frozen Problem."""
    unknown = sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        allowed = ", ".join(_REQUIRED + _OPTIONAL)
        raise _fail(path, unknown[0], "unknown key", f"remove it or use one of: {allowed}")
    for key in _REQUIRED:
        if key not in data:
            raise _fail(path, key, "missing", f"add `{key}:` to the record")
    for key in ("id", "title", "section", "part", "statement", "kind", "answer"):
        if not isinstance(data[key], str) or not data[key].strip():
            raise _fail(path, key, "must be non-empty text", f"quote it, e.g. {key}: \"...\"")
    pid = data["id"]
    if not ID_PATTERN.match(pid):
        raise _fail(path, "id", f"{pid!r} is not a dotted number", 'use ids like "2.2.3"')
    if path.stem != pid:
        raise _fail(path, "id", f"{pid!r} does not match the file name", f"rename the file to {pid}.yaml")
    points = data["points"]
    # NaN too; and an int past float's range (float() of it raised OverflowError)
    if isinstance(points, bool) or not isinstance(points, (int, float)) or not 0 <= points <= sys.float_info.max:
        raise _fail(path, "points", f"{points!r} is not a number >= 0", "use e.g. points: 0.5 (0 = not graded)")
    type_ = data["type"]
    if isinstance(type_, bool) or not isinstance(type_, int) or type_ not in (1, 2, 3, 4):  # 1.0 would show as "Type 1.0"
        raise _fail(path, "type", f"{type_!r} is not a Type label", "use type: 1, 2, 3 or 4")
    if data["kind"] not in KINDS:
        raise _fail(path, "kind", f"unknown kind {data['kind']!r}", f"use one of: {', '.join(KINDS)}")
    if data["answer"] not in ANSWER_FORMS:
        raise _fail(path, "answer", f"unknown answer form {data['answer']!r}", f"use one of: {', '.join(ANSWER_FORMS)}")
    if data["part"] not in parts:
        raise _fail(path, "part", f"unknown part {data['part']!r}", f"use one of the pack's parts: {', '.join(sorted(parts))}")
    extra = data.get("extra_credit", False)
    if not isinstance(extra, bool):
        raise _fail(path, "extra_credit", f"{extra!r} is not true/false", "use extra_credit: true or false")
    for key in ("context", "spec"):
        if not isinstance(data.get(key) or "", str):  # left blank (`context:`) is not given, as for the lists
            raise _fail(path, key, "must be text", f"write `{key}:` as a text block (`{key}: |`)")
    deliverables = _str_list(path, "deliverables", data.get("deliverables"))
    bad = [d for d in deliverables if d not in DELIVERABLES]
    if bad:
        raise _fail(path, "deliverables", f"unknown deliverable {bad[0]!r}", f"use: {', '.join(DELIVERABLES)}")
    return Problem(
        id=pid,
        title=data["title"].strip(),
        section=data["section"].strip(),
        part=data["part"],
        points=float(points),
        type=type_,
        kind=data["kind"],
        statement=data["statement"].strip(),
        answer=data["answer"],
        extra_credit=extra,
        context=(data.get("context") or "").strip(),
        hints=_str_list(path, "hints", data.get("hints")),
        figures=_str_list(path, "figures", data.get("figures")),
        deliverables=deliverables or default_deliverables(type_, data["kind"]),
        key_points=_str_list(path, "key_points", data.get("key_points")),
        steps=_str_list(path, "steps", data.get("steps")),
        spec=(data.get("spec") or "").strip(),
        pack=pack,
        path=str(path),
    )


def resolve_pack_dir(pack: str) -> Path:
    """A pack is a name under problems/ or a path to a folder."""
    candidate = Path(pack)
    folder = problems_dir() / pack
    try:
        if candidate.is_dir() and (candidate / "pack.yaml").exists():
            return candidate
        found = folder.is_dir()
    except OSError as exc:  # a name longer than the file system allows
        raise UsageError(f"no problem pack {pack!r} ({exc.strerror})",
                         "give a pack name under problems/ or the path of its folder") from exc
    if not found or folder == problems_dir():  # --pack "" (an unset $PACK in a script) or "." named problems/ itself
        known = sorted(p.name for p in problems_dir().glob("*") if (p / "pack.yaml").exists()) if problems_dir().is_dir() else []
        fix = f"known packs: {', '.join(known)}" if known else "create problems/<pack>/pack.yaml"
        raise UsageError(f"no problem pack {pack!r} (looked in {folder})", fix + project_hint(pack))
    return folder


_SUBMISSION_KEYS = ("writeup", "notebook", "programming_traces_at_end")


def _check_submission(path: Path, submission: dict) -> None:
    """pack.yaml's `submission:` as build-writeup reads it: a misspelt key was ignored, and bool("no") is True."""
    unknown = sorted(str(k) for k in set(submission) - set(_SUBMISSION_KEYS))
    if unknown:
        raise _fail(path, "submission", f"unknown key {unknown[0]!r}", f"use only: {', '.join(_SUBMISSION_KEYS)}")
    for key, example in (("writeup", "ps1-writeup.pdf"), ("notebook", "ps1-code.ipynb")):
        value = submission.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip() or Path(value).name != value):
            raise _fail(path, "submission", f"{key!r} must be a file name, without a folder (it is written in --out), "
                        f"not {value!r}", f"write e.g. `{key}: {example}`")
    if not isinstance(submission.get("programming_traces_at_end", False), bool):
        raise _fail(path, "submission", f"'programming_traces_at_end' is "
                    f"{submission['programming_traces_at_end']!r}, not true/false", "write true or false")


def load_pack(pack: str = "a2") -> Pack:
    """Load a pack folder; every record is validated and ids are unique."""
    folder = resolve_pack_dir(pack)
    meta_path = folder / "pack.yaml"
    if not meta_path.exists():
        raise _fail(meta_path, None, "missing", "add pack.yaml with name, title, course, version, parts, order")
    meta = _read_yaml(meta_path)
    unknown = sorted(set(meta) - _PACK_KEYS)
    if unknown:
        raise _fail(meta_path, unknown[0], "unknown key", f"use only: {', '.join(sorted(_PACK_KEYS))}")
    for key in ("name", "title", "course", "version", "parts", "order"):
        if key not in meta:
            raise _fail(meta_path, key, "missing", f"add `{key}:` to pack.yaml")
    for key in ("name", "title", "course", "version"):
        value = meta[key]
        if isinstance(value, bool) or not isinstance(value, (str, int, float) if key == "version" else str) or not str(value).strip():
            raise _fail(meta_path, key, f"{value!r} is not text", f'quote it, e.g. {key}: "..."')
    assignment = meta.get("assignment", DEFAULT_ASSIGNMENT)
    if not isinstance(assignment, str) or not assignment.strip():
        raise _fail(meta_path, "assignment", f"{assignment!r} is not text",
                    'write how prompts should name it, e.g. assignment: "a university statistics assignment"')
    if not isinstance(meta.get("submission") or {}, dict):
        raise _fail(meta_path, "submission", "must be a mapping", "write e.g. `submission: {writeup: a2-writeup.pdf}`")
    _check_submission(meta_path, meta.get("submission") or {})
    raw_parts = meta["parts"]
    if not isinstance(raw_parts, list) or not all(
        isinstance(p, dict) and isinstance(p.get("id"), str) and isinstance(p.get("title"), str) for p in raw_parts
    ):
        raise _fail(meta_path, "parts", "must be a list of {id, title} entries", "write e.g. `- {id: written, title: \"Written\"}`")
    parts = tuple(Part(id=p["id"], title=p["title"]) for p in raw_parts)
    part_ids = {p.id for p in parts}
    if len(part_ids) < len(parts):  # each part lists (and the writeup prints) its problems: they would appear twice
        twice = next(p.id for i, p in enumerate(parts) if p.id in {q.id for q in parts[:i]})
        raise _fail(meta_path, "parts", f"part id {twice!r} is given more than once", "give each part its own id")
    if not isinstance(meta["order"], list):
        raise _fail(meta_path, "order", "must be a list of problem ids", 'write e.g. order: ["1.1", "1.2"]')

    stray = sorted(folder.glob("*.yml"))
    if stray:  # read as nothing, it would be a problem missing without a word
        raise _fail(stray[0], None, "problem records end in .yaml, so this file would be ignored",
                    f"rename it to {stray[0].stem}.yaml")
    by_id: dict[str, Problem] = {}
    for path in sorted(folder.glob("*.yaml")):
        if path.name == "pack.yaml":
            continue
        problem = parse_problem(path, _read_yaml(path), meta["name"], part_ids)
        if problem.id in by_id:
            raise _fail(path, "id", f"duplicate id {problem.id!r} (also in {by_id[problem.id].path})", "give each problem its own id")
        by_id[problem.id] = problem
    if not by_id:
        raise ProblemError(f"{folder}: the pack has no problem records", "add <id>.yaml files beside pack.yaml")

    order = [str(i) for i in meta["order"]]
    repeated = sorted({i for i in order if order.count(i) > 1})
    if repeated:  # a repeated id would list (and grade) the same problem twice
        raise _fail(meta_path, "order", f"{repeated[0]} is listed more than once", "list every problem id once")
    missing = sorted(set(by_id) - set(order))
    if missing:
        raise _fail(meta_path, "order", f"problem {missing[0]} is not listed", "add every problem id to `order:`")
    absent = [i for i in order if i not in by_id]
    if absent:
        raise _fail(meta_path, "order", f"{absent[0]} has no record", f"add {absent[0]}.yaml or remove it from `order:`")
    return Pack(
        name=meta["name"],
        title=meta["title"],
        course=meta["course"],
        version=str(meta["version"]),
        parts=parts,
        submission=dict(meta.get("submission") or {}),
        problems=tuple(replace(by_id[i], assignment=assignment.strip()) for i in order),
        path=str(folder),
    )


def parse_types(text: str | None) -> set[int] | None:
    """--type "1,2" -> {1, 2}; None when not given."""
    if text is None:
        return None
    try:
        types = {int(t) for t in text.split(",") if t.strip()}
    except ValueError:
        types = set()
    if not types:
        raise UsageError(f"--type {text!r} is not a list of Types", "use e.g. --type 1,2 or --type 3")
    if not types <= {1, 2, 3, 4}:  # a list, of a Type no problem has: name it and the range
        bad = ", ".join(str(t) for t in sorted(types - {1, 2, 3, 4}))
        raise UsageError(f"--type {text!r}: no Type {bad}; Types are 1 to 4", "use e.g. --type 1,2 or --type 3")
    return types
