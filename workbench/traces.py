"""Write-once, hash-named LLM traces (schema workbench.trace/1): write, load, list, verify, cite.

A trace is one JSON file under traces/<problem-id>/. Its `hash` is the SHA-256 of the canonical JSON of
everything else, so any edit is detectable; the file name carries the first 12 hex digits.

Layout of a trace (keys in the hashed content):
    schema, problem, pack, strategy, source (api | import | manual: written by hand or another tool, read as api),
    provider {base_url},
    request {model, temperature, top_p, seed, max_tokens, n, stream},
    exchanges: one per API call, in order: {sample (int or null when one call served all samples via n),
        turn, messages (exact messages sent), response_id, model (version the server returned),
        system_fingerprint, created (unix s), choices [{index, content, finish_reason, refusal (true when
        the model declined: content is then its refusal text), reasoning (text a reasoning model sent beside
        its answer; absent when it sent none; never part of the answer)}], usage,
        latency_s, attempts, started_at},
    samples: one per independent answer: {index, messages (the whole conversation, replies included)},
    started_at, finished_at (UTC ISO-8601 'Z'), workbench_version, import (source details, imports only),
    strategy_sha256 (of the prompts/<strategy>.yaml used, API traces), problem_sha256 (Problem.question_sha256
    of the problem as asked, or as it stood at import; absent in traces written before it), errors (one line per
    requested sample that failed; absent when all succeeded: request.n says how many were asked for).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

from workbench.atomic import atomic_write
from workbench.errors import TraceError, UsageError, WriteError
from workbench.paths import make_folder, traces_dir
from workbench.problems import ID_PATTERN

SCHEMA = "workbench.trace/1"
SOURCES = ("api", "import", "manual")
_UNHASHED = ("hash",)
# Trace.cautions: answers saved as they came that a reader must not take for whole ones
CUT_OFF = "the answer was cut off at the token limit (finish_reason length), so it may be incomplete"
UNFINISHED = {"length": CUT_OFF, "content_filter": "the provider's content filter stopped the answer "
                                                   "(finish_reason content_filter), so it may be incomplete",
              # Mistral: the conversation filled the model's context window before the answer ended
              "model_length": "the answer was cut off at the model's context length (finish_reason model_length), "
                              "so it may be incomplete"}
REFUSED, EMPTY = "the model refused to answer", "the answer is empty"


def canonical_json(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def content_hash(data: dict) -> str:
    """SHA-256 over the canonical JSON of the trace without its own hash field."""
    body = {k: v for k, v in data.items() if k not in _UNHASHED}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def commands_to_trace(problem_id: str, flag: str = "") -> str:
    """The two commands that make a problem's trace, in the words every "no trace" message gives them; `flag` is the
    pack's --pack flag where it is not a2 (Pack.pack_flag)."""
    return f"`python cli.py prompt {problem_id}{flag}` or `python cli.py import-chat FILE --problem {problem_id}{flag}`"


def stale_note(trace: Trace, problem) -> str:
    """'stale: problem ID changed since this trace (date)' when the intact trace records what it asked (problem_sha256)
    and the problem asks something else now; '' otherwise: a trace written before traces recorded it is not known to
    be stale, and an edited one's record is no evidence (it fails `traces verify` instead)."""
    asked = trace.data.get("problem_sha256")
    if not asked or not trace.intact or asked == problem.question_sha256:
        return ""
    return f"stale: problem {problem.id} changed since this trace ({trace.started_at[:10] or 'unknown date'})"


def mend_stale(trace: Trace, problem) -> str:
    """How to answer a stale trace: the command that asks the question as it is now of the same model, server and
    strategy (for an import, the two commands that make a trace), or to keep it knowingly."""
    from workbench.console import paste_command

    keep = "or keep it knowingly (its answers are to the question as it was)"
    if trace.imported:
        return f"trace it again: {commands_to_trace(problem.id, problem.pack_flag())}, {keep}"
    chat = trace.strategy.startswith("chat:")
    strategy = trace.strategy.removeprefix("chat:")
    argv = [] if strategy in ("", "direct") else ["--strategy", strategy]
    argv += ["--model", trace.requested_model] if trace.requested_model else []
    argv += ["--base-url", trace.base_url] if trace.base_url else []
    if not chat and trace.samples_requested > 1:
        argv += ["--samples", str(trace.samples_requested)]
    command = f"python cli.py {'chat' if chat else 'prompt'} {problem.id}{problem.pack_flag()}"
    return f"ask it again with `{command}{' ' + paste_command(argv) if argv else ''}`, {keep}"


def check_problem_id(problem_id: str) -> str:
    """Ids become folder names: allow only dotted numbers (no path traversal out of traces/)."""
    if not isinstance(problem_id, str) or not ID_PATTERN.match(problem_id):
        raise UsageError(f"invalid problem id {problem_id!r}", 'use a dotted number such as "1.2.1"')
    return problem_id


_SURROGATE = re.compile("[\ud800-\udfff]")


def _unicode(value):
    """value with each lone surrogate (a \\ud800 escape in a server's reply or an export: no UTF-8 file can hold it,
    and json.loads never leaves a valid pair as surrogates) written as U+FFFD, the replacement character."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_unicode(k): _unicode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unicode(v) for v in value]
    return value


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:48] or "model"


@dataclass(frozen=True)
class Trace:
    """A loaded trace file. `data` is the parsed JSON; `intact` says whether its hash still matches."""

    path: Path
    data: dict

    @property
    def problem(self) -> str:
        return self.data["problem"]

    @property
    def hash(self) -> str:
        return self.data.get("hash", "")

    @property
    def short_hash(self) -> str:
        return self.hash[:12]

    @cached_property  # hashing the whole trace: once per loaded trace, however often intact/fault are asked
    def fault(self) -> str:
        """'' when the trace is intact evidence, else what is wrong with it."""
        if self.hash != content_hash(self.data):
            return "content edited: the hash no longer matches"
        # a copy under another problem's folder would otherwise count as that problem's evidence
        if not self.path.stem.endswith(self.short_hash) or self.problem != self.path.parent.name:
            return "renamed or moved: the file name does not match its content"
        return ""

    @property
    def intact(self) -> bool:
        return not self.fault

    @property
    def source(self) -> str:
        return self.data.get("source", "api")

    @property
    def imported(self) -> bool:
        """A chat held elsewhere (import-chat). A `manual` trace, written in this format by hand or by another tool,
        records its provider and exchanges as an API trace does and is read as one (as study's provider_of does)."""
        return self.source == "import"

    @property
    def strategy(self) -> str:
        return self.data.get("strategy", "")

    @property
    def started_at(self) -> str:
        return self.data.get("started_at", "")

    @property
    def requested_model(self) -> str:
        return (self.data.get("request") or {}).get("model") or ""

    @property
    def model_version(self) -> str:
        """The model the server said it used (first exchange), else the requested name; for an imported chat
        whose replies name several models (switched mid-conversation), all of them in order of use."""
        if self.source == "import":
            named = list(dict.fromkeys(m for ex in self.data.get("exchanges", []) if isinstance(m := ex.get("model"), str) and m))
            if len(named) > 1:
                return ", ".join(named)
        for ex in self.data.get("exchanges", []):
            if ex.get("model"):
                return ex["model"]
        return self.requested_model or "unknown model"

    @property
    def base_url(self) -> str:
        return (self.data.get("provider") or {}).get("base_url") or ""

    @property
    def samples(self) -> list[dict]:
        return self.data.get("samples", [])

    @property
    def samples_requested(self) -> int:
        """How many answers were asked for; more than len(samples) when some failed."""
        return int((self.data.get("request") or {}).get("n") or len(self.samples))

    def answers(self) -> list[str]:
        """The final assistant message of each sample: what a check judges."""
        return [replies[-1] if replies else "" for replies in self.replies()]

    def replies(self) -> list[list[str]]:
        """Every assistant message of each sample, in order (a multi-turn chat, decompose or self-critique)."""
        return [[m.get("content") or "" for m in sample.get("messages", []) if m.get("role") == "assistant"]
                for sample in self.samples]

    def _choices(self) -> list[tuple[int, int, dict]]:
        """(sample, turn, choice) of every API choice, in exchange order.

        Exchanges are stored by (sample, turn), a call that served several samples (n > 1) first with
        sample null: its choices are samples 0, 1, ... in order."""
        out, shared = [], 0
        for ex in self.data.get("exchanges", []):
            for c in ex.get("choices") or []:
                if ex.get("sample") is None:
                    sample, shared = shared, shared + 1
                else:
                    sample = ex["sample"]
                out.append((sample, ex.get("turn") or 0, c))
        return out

    def final_choices(self) -> list[dict]:
        """The API choice behind each sample's final reply ({} where the trace does not say): its last choice, as a
        sample's later turn replaces its earlier."""
        final = {sample: c for sample, _, c in self._choices()}
        return [final.get(i, {}) for i in range(len(self.samples))]

    def reasonings(self) -> list[list[str]]:
        """Per sample, per assistant reply (as replies()), the reasoning the model sent with it ('' when none).

        A reply's call is the sample's exchange of that turn whose answer is the reply (the last such: a chat's
        /retry asks a turn again)."""
        calls = self._choices()
        return [[next((c["reasoning"] for s, turn, c in reversed(calls)
                       if s == i and turn == k and c.get("content") == reply and c.get("reasoning")), "")
                 for k, reply in enumerate(replies)] for i, replies in enumerate(self.replies())]

    def cautions(self) -> list[str]:
        """Per sample, what a reader of its answer must know before judging it ('' when nothing)."""
        out = []
        for answer, choice in zip(self.answers(), self.final_choices()):
            if choice.get("refusal"):
                out.append(REFUSED)
            elif not answer.strip() and choice.get("finish_reason") not in UNFINISHED:  # cut off: say why it is empty
                out.append(EMPTY)
            else:
                out.append(UNFINISHED.get(choice.get("finish_reason"), ""))
        return out

    def citation(self) -> str:
        """One line a writeup can print under the transcript: model, version, URL, date, hash."""
        date = (self.started_at or "")[:10] or "unknown date"
        if self.source == "import":
            info = self.data.get("import") or {}
            where = info.get("url") or info.get("origin") or "chat export"
            created = (info.get("created_at") or "")[:10]
            when = f"conversation of {created}, " if created else ""
            line = (f"{self.model_version} via {where}; {when}imported {date} (UTC) from the user's own chat export; "
                    f"trace {self.short_hash}")
        else:
            line = f"{self.model_version} via {self.base_url or 'unknown provider'}, accessed {date} (UTC); trace {self.short_hash}"
        return " ".join(line.split())  # a newline in a model name or address would spoof lines in the Cite box

    def summary(self) -> dict:
        return {
            "file": str(self.path),
            "problem": self.problem,
            "model_version": self.model_version,
            "requested_model": self.requested_model,
            "date": self.started_at,
            "strategy": self.strategy,
            "source": self.source,
            "samples": len(self.samples),
            "samples_requested": self.samples_requested,
            "hash": self.hash,
            "intact": self.intact,
            "citation": self.citation(),
        }


def write_trace(data: dict, root: Path | None = None) -> Path:
    """Validate, hash and write a new trace once, atomically; never replaces an existing file."""
    problem = check_problem_id(data.get("problem", ""))
    if data.get("schema") != SCHEMA:
        raise TraceError(f"trace schema must be {SCHEMA!r}", "build traces with workbench.traces")
    if data.get("source") not in SOURCES:
        raise TraceError(f"unknown trace source {data.get('source')!r}", f"use one of: {', '.join(SOURCES)}")
    if not data.get("samples"):
        raise TraceError("a trace needs at least one completed sample", "nothing was written")
    body = {k: _unicode(v) for k, v in data.items() if k not in _UNHASHED}
    digest = content_hash(body)
    body["hash"] = digest
    folder = (root or traces_dir()) / problem
    stamp = (data.get("started_at") or utc_now()).replace("-", "").replace(":", "")[:15] + "Z"
    model = _slug(Trace(Path(), body).model_version)
    final = folder / f"{stamp}-{model}-{digest[:12]}.json"
    blob = (json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
    reason = make_folder(folder, keep=False)  # atomic_write makes it, and removes it again if the write fails
    advice = "free disk space or fix the folder's permissions"
    if not reason:
        try:
            atomic_write(final, blob, exclusive=True)  # a trace is never overwritten
            return final
        except OSError as exc:
            reason = exc.strerror or str(exc)
        except WriteError as exc:  # its advice fits the cause: a file size limit (ulimit -f) is no full disk
            reason, advice = exc.reason, exc.advice or advice
    kept = _keep_unsaved(problem, final.name, blob)  # the answer may have been paid for: never drop it
    if kept is None:
        raise TraceError(f"cannot save the trace in {folder}: {reason}", f"{advice}, then run it again")
    raise TraceError(f"cannot save the trace in {folder}: {reason}; the answer is kept in {kept}",
                     f"fix {folder}, then move that file into it unchanged (`python cli.py traces verify` checks it)")


def _keep_unsaved(problem: str, name: str, blob: bytes) -> Path | None:
    """Save a trace that could not go to traces/ under the system's temp folder, same name; None if that fails too."""
    try:  # gettempdir() too fails when no temp folder can be written (a full disk fills /tmp as well)
        kept = Path(tempfile.gettempdir()) / "workbench-unsaved-traces" / problem / name
        atomic_write(kept, blob, exclusive=True)
    except (OSError, TraceError, WriteError):
        return None
    return kept


def trace_folder(problem_id: str, root: Path | None = None) -> Path:
    """traces/<id>/; TraceError when no trace can be written there. A folder it had to make is removed
    again (write_trace makes it for real), so a send that then fails leaves no empty folder.

    Callers that pay for an answer check this before sending, so the answer is not lost at the end."""
    folder = (root or traces_dir()) / check_problem_id(problem_id)
    reason = make_folder(folder, keep=False)
    if reason:
        raise TraceError(f"cannot save traces in {folder}: {reason}",
                         f"make {folder} a writable folder (move away what is in the way), then run it again")
    return folder


def load_trace(path: str | Path) -> Trace:
    path = Path(path)
    data, reason = _read(path)
    if data is None:
        raise TraceError(f"{path}: {reason}", "restore it from git (`git checkout -- traces/`) or delete it")
    return Trace(path=path, data=data)


def _read(path: Path) -> tuple[dict | None, str]:
    """(the trace's data, "") or (None, why the file is not a readable trace)."""
    if not path.is_file():  # a FIFO or device named *.json would block the read forever
        return None, "not a regular file"
    try:
        text = path.read_bytes().decode("utf-8")
        data = json.loads(text)
    except OSError as exc:
        return None, f"cannot read ({exc.strerror})"
    except UnicodeDecodeError:
        return None, "not valid UTF-8 text"
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON (line {exc.lineno})"
    except ValueError:  # int()'s limit on a number of over 4300 digits
        return None, "a number in it is too long to read"
    except RecursionError:
        return None, "JSON nested too deeply to read"
    try:  # a \ud800 escape is valid JSON but no text: hashing, printing and typesetting it would crash
        if re.search(r"\\u[dD][89a-fA-F]", text):  # only such an escape can leave one (a file is UTF-8)
            canonical_json(data)
    except UnicodeEncodeError:
        return None, "holds a lone surrogate escape (\\ud800-\\udfff), which is no Unicode text"
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(data.get("problem"), str):
        return None, f"not a {SCHEMA} trace"
    wrong = _wrong_field(data)
    return (None, f"malformed {SCHEMA} trace: {wrong}") if wrong else (data, "")


def _is(value, kind, optional: bool = True) -> bool:
    if value is None:
        return optional
    return isinstance(value, kind) and not isinstance(value, bool)  # True is an int to Python, not to us


def _wrong_field(data: dict) -> str:
    """The first field the listing, citations, checks and transcripts rely on that has the wrong type, else ''."""
    for key in ("hash", "strategy", "source", "started_at", "finished_at", "problem_sha256"):
        if not _is(data.get(key), str):
            return f"{key} is not text"
    for key in ("provider", "request", "import"):
        if not _is(data.get(key), dict):
            return f"{key} is not an object"
    if not _is((data.get("provider") or {}).get("base_url"), str):
        return "provider.base_url is not text"
    if not all(_is((data.get("import") or {}).get(k), str) for k in ("created_at", "url", "origin", "file", "title")):
        return "an import field is not text"
    request = data.get("request") or {}
    if not _is(request.get("model"), str) or not _is(request.get("n"), int):
        return "request.model or request.n has the wrong type"
    if not _is(data.get("errors"), list) or not all(isinstance(e, str) for e in data.get("errors") or []):
        return "errors is not a list of text"
    samples, exchanges = data.get("samples", []), data.get("exchanges", [])
    if not isinstance(samples, list) or not all(isinstance(s, dict) for s in samples):
        return "samples is not a list of objects"
    for sample in samples:
        messages = sample.get("messages", [])
        if not _is(sample.get("index"), int, optional=False) or not isinstance(messages, list) or not all(
                isinstance(m, dict) and isinstance(m.get("role"), str) and _is(m.get("content"), str) for m in messages):
            return "a sample lacks an index or a list of {role, content} messages"
    if not isinstance(exchanges, list) or not all(isinstance(e, dict) for e in exchanges):
        return "exchanges is not a list of objects"
    for ex in exchanges:
        if not (_is(ex.get("model"), str) and _is(ex.get("sample"), int) and _is(ex.get("turn"), int)
                and _is(ex.get("latency_s"), (int, float)) and _is(ex.get("usage"), dict)
                and isinstance(ex.get("choices", []), list)
                and all(isinstance(c, dict) and _is(c.get("finish_reason"), str)
                        and ("reasoning" not in c or isinstance(c["reasoning"], str)) for c in ex.get("choices", []))):
            return "an exchange has a field of the wrong type"
    return ""


def trace_files(folder: Path) -> list[Path]:
    """The trace files of one folder; hidden names (write_trace's .tmp- files) are not traces."""
    if not os.path.isdir(folder):  # none yet, or a name longer than the file system allows (glob would raise)
        return []
    return sorted(f for f in folder.glob("*.json") if not f.name.startswith("."))


def _all_trace_files(problem_id: str | None = None, root: Path | None = None) -> list[Path]:
    base = root or traces_dir()
    folders = [base / check_problem_id(problem_id)] if problem_id else sorted(p for p in base.glob("*") if p.is_dir())
    return [f for folder in folders for f in trace_files(folder)]


def scan_traces(problem_id: str | None = None, root: Path | None = None) -> tuple[list[Trace], list[tuple[Path, str]]]:
    """The readable traces of one problem (or all), oldest first, and the unreadable files with the reason."""
    traces, bad = [], []
    for f in _all_trace_files(problem_id, root):
        data, reason = _read(f)
        if data is None:
            bad.append((f, reason))
        else:
            traces.append(Trace(path=f, data=data))
    return sorted(traces, key=lambda t: (t.started_at, t.path.name)), bad


def find_trace(ref: str, root: Path | None = None) -> Trace:
    """A trace named by its path, file name or hash prefix; it must lie inside traces/ (no path traversal)."""
    base = (root or traces_dir()).resolve()
    if ref.endswith(".json") and ("/" in ref or os.sep in ref):
        path = Path(ref).resolve()
        if not os.path.exists(path) and not Path(ref).is_absolute():  # os.path: False for a name too long
            path = (base.parent / ref).resolve()  # relative to the project root
        if not path.is_relative_to(base):
            raise UsageError(f"{ref} is not a trace under {base}", "give a file inside traces/, its name or its hash")
        if not os.path.isfile(path):
            raise UsageError(f"no trace file {ref}", "run `python cli.py traces` to see the trace files")
        return load_trace(path)
    if not re.fullmatch(r"[A-Za-z0-9._-]+", ref) or ref.startswith("."):
        raise UsageError(f"invalid trace reference {ref!r}", "give a trace file name or the first digits of its hash")
    files = _all_trace_files(root=base)
    matches = [f for f in files if ref in (f.name, f.stem)] or (
        [f for f in files if f.stem.rsplit("-", 1)[-1].startswith(ref.lower())] if len(ref) >= 4 else [])
    if not matches and len(ref) < 4:  # a digit or three would name many traces: say so, not "no trace matches"
        raise UsageError(f"{ref!r} is too few digits to name a trace",
                         "give at least 4 digits of its hash, or its file name (see `python cli.py traces`)")
    if not matches:
        raise UsageError(f"no trace matches {ref!r}", "run `python cli.py traces` to see names and hashes")
    if len(matches) > 1:
        raise UsageError(f"{ref!r} matches {len(matches)} traces: {', '.join(m.name for m in matches[:5])}",
                         "give more digits of the hash or the full file name")
    return load_trace(matches[0])


def pinned_among(traces: list[Trace], pin: str) -> list[Trace]:
    """The traces a solution's `trace:` pin names: by file name, or by a hash prefix of 6+ characters (in any case)."""
    pin = str(pin)
    return [t for t in traces
            if t.path.name in (pin, pin + ".json") or (len(pin) >= 6 and t.hash.startswith(pin.lower()))]


def stale_traces(root: Path | None = None, keep=None, pack=None, scanned=None) -> list[tuple[Trace, Any, str]]:
    """(trace, its problem, stale_note) of every intact trace whose problem asks something else now (keep, scanned:
    as in verify_traces; pack: as in stale_among)."""
    traces = (scanned or scan_traces(root=root))[0]
    return stale_among([t for t in traces if keep is None or keep(t.problem, t.data)], pack)


def stale_among(traces: list[Trace], pack=None) -> list[tuple[Trace, Any, str]]:
    """(trace, its problem, stale_note) of the stale ones among `traces`. A trace's problem is looked up in the pack
    it names (`pack`, a loaded Pack, where it is that one); a pack or problem that cannot be loaded leaves its traces
    not known to be stale."""
    from workbench.errors import WorkbenchError
    from workbench.problems import load_pack

    packs = {pack.name: pack} if pack is not None else {}
    out = []
    for t in traces:
        name = t.data.get("pack")
        if not t.data.get("problem_sha256") or not isinstance(name, str):
            continue
        if name not in packs:
            try:
                packs[name] = load_pack(name)
            except WorkbenchError:  # a pack since removed or broken: `list --pack` says what is wrong with it
                packs[name] = None
        problem = next((p for p in packs[name].problems if p.id == t.problem), None) if packs[name] else None
        note = stale_note(t, problem) if problem is not None else ""
        if note:
            out.append((t, problem, note))
    return out


def verify_traces(root: Path | None = None, keep=None, scanned=None) -> tuple[int, list[tuple[Path, str]]]:
    """Recompute every trace's hash: (number checked, [(file, what is wrong)]). keep(problem id, data or None):
    whether to check a trace (None: all), e.g. only one pack's; scanned: scan_traces()'s result where the caller
    has read the files already."""
    traces, bad = scanned or scan_traces(root=root)
    if keep is not None:
        traces = [t for t in traces if keep(t.problem, t.data)]
        bad = [(f, why) for f, why in bad if keep(f.parent.name)]
    count = len(traces) + len(bad)
    bad = bad + [(t.path, t.fault) for t in traces if t.fault]  # a new list: `scanned` stays as it was
    return count, sorted(bad)
