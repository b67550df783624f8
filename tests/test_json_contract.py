"""docs/json.md is the --json contract: each command's document has exactly the keys its table lists, each value
of the type its row gives.

The tables are parsed from the doc, so a key added in code without the doc, or documented but gone, fails here."""

from __future__ import annotations

import json
import re

import pytest

from conftest import REPO
from llm_fixtures import fake_llm, wb  # noqa: F401

DOC = REPO / "docs" / "json.md"


def documented() -> dict[str, dict[str, bool]]:
    """Heading -> {key path: required}; a row whose meaning starts with "sometimes" is a key that may be absent."""
    tables, name = {}, None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("### "):
            name = line[4:].strip()
            tables[name] = {}
        elif name and (m := re.match(r"\| `([^`]+)` \|", line)):
            meaning = line.rstrip(" |").rsplit("|", 1)[-1].strip()
            tables[name][m.group(1)] = not meaning.startswith("sometimes")
    return tables


def key_paths(doc: dict, spec: dict[str, bool]) -> set[str]:
    """The document's key paths, descending only where the spec lists keys below (the rest is free-form);
    a key under a `<name>` placeholder that the spec does not list is data, and is named by the placeholder."""
    out: set[str] = set()

    def walk(value, path):
        if isinstance(value, list):
            for item in value:
                walk(item, path + "[]")
            return
        if not isinstance(value, dict):
            return
        prefix = f"{path}." if path else ""
        placeholder = next((p[len(prefix):].split(".")[0].split("[")[0] for p in spec
                            if p.startswith(prefix + "<")), None)
        unlisted = [k for k in value if prefix + k not in spec]
        # beside listed keys (sweep's runs[].run beside runs[].<param>) a placeholder stands for one key, no more
        one = len(unlisted) == 1 or len(unlisted) == len(value)
        for key, item in value.items():
            data = placeholder and key in unlisted and one
            sub = prefix + (placeholder if data else key)
            if not data or sub in spec:  # a data key's record is documented by its own keys
                out.add(sub)
            if any(p.startswith(sub + ".") or p.startswith(sub + "[]") for p in spec):
                walk(item, sub)

    walk(doc, "")
    return out


def declared_types() -> dict[str, dict[str, tuple[str, bool]]]:
    """Heading -> {key path: (its type column, whether the null? column says yes)}."""
    tables, name = {}, None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("### "):
            name = line[4:].strip()
            tables[name] = {}
        elif name and line.startswith("| `"):
            key, kind, null = (cell.strip() for cell in line.strip("|").split("|")[:3])
            tables[name][key.strip("`")] = (kind, null == "yes")
    return tables


_KINDS = {"string": str, "int": int, "float": (int, float), "number": (int, float), "bool": bool, "object": dict,
          "list": list, "list of string": list, "list of object": list, "null": type(None)}


def type_errors(doc, spec: dict[str, tuple[str, bool]]) -> list[str]:
    """Where a value is not of its documented type, or null where the table says it never is."""
    errors = []

    def walk(value, path):
        if path in spec:
            kind, nullable = spec[path]
            if value is None:
                if not nullable and kind != "any":
                    errors.append(f"{path}: null, documented as never null")
            elif kind != "any":
                want = _KINDS[kind]
                # a bool is an int to isinstance; an int is no bool
                if (isinstance(value, bool) and kind not in ("bool", "any")) or not isinstance(value, want):
                    errors.append(f"{path}: {type(value).__name__} {value!r:.40}, documented as {kind}")
                elif kind == "list of string" and not all(isinstance(v, str) for v in value):
                    errors.append(f"{path}: a list holding {sorted({type(v).__name__ for v in value})}, documented as {kind}")
                elif kind == "list of object" and not all(isinstance(v, dict) for v in value):
                    errors.append(f"{path}: a list holding {sorted({type(v).__name__ for v in value})}, documented as {kind}")
        if isinstance(value, list):
            for item in value:
                walk(item, path + "[]")
        elif isinstance(value, dict):
            prefix = f"{path}." if path else ""
            for key, item in value.items():
                sub = prefix + key
                if sub not in spec and not any(p.startswith(sub + ".") or p.startswith(sub + "[]") for p in spec):
                    # a key that is data (a group's name): the rows of its placeholder
                    sub = next((prefix + p[len(prefix):].split(".")[0].split("[")[0] for p in spec
                                if p.startswith(prefix + "<")), sub)
                walk(item, sub)

    walk(doc, "")
    return errors


def assert_matches(name: str, *docs) -> None:
    spec = documented()[name]
    wrong = [e for d in docs for e in type_errors(d, declared_types()[name])]
    assert not wrong, f"docs/json.md `{name}` says otherwise: {sorted(set(wrong))}"
    seen = set().union(*(key_paths(d, spec) for d in docs))
    assert not seen - set(spec), f"docs/json.md `{name}` lacks keys the command prints: {sorted(seen - set(spec))}"
    # a required key must appear wherever its parent record did
    parents = {p.rsplit(".", 1)[0] if "." in p else "" for p in seen} | {""}
    gone = [p for p, required in spec.items() if required and p not in seen
            and (p.rsplit(".", 1)[0] if "." in p else "") in parents]
    assert not gone, f"docs/json.md `{name}` lists keys the command no longer prints: {gone}"


def run_json(wb, *argv, code=0):
    try:
        got, out, _ = wb.run(*argv, "--json")
    except SystemExit as exc:  # argparse refused the command line
        got, out = exc.code, wb.capsys.readouterr().out
    assert got == code, out
    return json.loads(out)


def test_the_doc_parses_into_one_table_per_command():
    tables = documented()
    for name in ("error", "list", "show", "show --prompt", "prompt --dry-run", "prompt", "prompt failed", "prompt --all",
                 "traces", "traces show", "traces verify", "traces cite", "import-chat", "reference", "check", "verify",
                 "study", "train", "sweep", "pin"):
        assert tables.get(name), f"no table for {name} in docs/json.md"


def test_the_documented_trace_sources_are_the_ones_a_trace_can_have():
    """docs/json.md gave `chat` as a trace's source, which no trace has (a chat's trace is an `api` one, its strategy
    `chat:<strategy>`): the values listed are the sources write_trace accepts."""
    import re

    from workbench.traces import SOURCES

    for name, key in (("traces", "[].source"), ("traces show", "source")):
        row = next(line for line in DOC.read_text(encoding="utf-8").splitlines()
                   if line.startswith(f"| `{key}` |") and line in _section(name))
        meaning = row.strip("|").split("|")[3].split(" (")[0]
        assert re.findall(r"`([^`]+)`", meaning) == list(SOURCES), row


def _section(name: str) -> str:
    """The text under `### name` in docs/json.md, up to the next heading."""
    text = DOC.read_text(encoding="utf-8")
    return text.split(f"\n### {name}\n", 1)[1].split("\n#", 1)[0]


def test_problem_documents_match_the_doc(wb):
    assert_matches("list", run_json(wb, "list"))
    assert_matches("show", run_json(wb, "show", "2.2.3"))
    assert_matches("show --prompt", run_json(wb, "show", "1.2.1", "--prompt", "decompose"))
    assert_matches("error", run_json(wb, "show", "9.9", code=2), run_json(wb, "list", "--bogus", code=2))


def test_reference_documents_match_the_doc(wb):
    from workbench.problems import load_pack

    # every a2 problem: the table lists the keys the pack's solver adds for some of them
    assert_matches("reference", *(run_json(wb, "reference", p.id) for p in load_pack("a2").problems))


def test_check_and_verify_documents_match_the_doc(wb, tmp_path):
    assert_matches("check", run_json(wb, "check", "3.1", str(REPO / "solutions" / "a2" / "3.1.md")))
    wrong = tmp_path / "answer.md"
    wrong.write_text("The answer is $x^2$.\n")
    assert_matches("check", run_json(wb, "check", "2.2.3", str(wrong)))  # unchecked: nulls in its details
    wb.run("prompt", "2.2.3")  # a trace's verdicts beside the own solution's
    from workbench.traces import load_trace, write_trace

    asked = load_trace(next((wb.root / "traces" / "2.2.3").glob("*.json"))).data  # 1.2.1's, of an earlier record: stale
    write_trace(dict(asked, problem="1.2.1", problem_sha256="0" * 64), wb.root / "traces")
    doc = run_json(wb, "verify", "--problem", "2.2.3", "--problem", "3.1", "--problem", "1.2.1", code=1)
    assert {r["problem"]: r["stale"] is None for r in doc["reports"]} == {"1.2.1": False, "2.2.3": True, "3.1": True}
    assert_matches("verify", doc)


def test_prompt_and_trace_documents_match_the_doc(wb, tmp_path):
    assert_matches("prompt --dry-run", run_json(wb, "prompt", "1.2.1", "--dry-run"))
    single = run_json(wb, "prompt", "1.2.1")
    wb.server.script({"finish_reason": "length"})
    assert_matches("prompt", single, run_json(wb, "prompt", "2.2.3"))
    wb.server.script({"status": 401, "message": "bad key"})
    assert_matches("prompt failed", run_json(wb, "prompt", "3.1", code=3))
    assert_matches("prompt --all", run_json(wb, "prompt", "1.2.1", "3.1"))
    transcript = tmp_path / "chat.md"
    transcript.write_text("## User\n\nWhat is 1+1?\n\n## ChatGPT\n\nIt is 2.\n")
    imported = run_json(wb, "import-chat", str(transcript), "--problem", "1.2.2", "--model", "gpt-4o")
    assert_matches("import-chat", imported)
    listed = run_json(wb, "traces")
    (wb.root / "traces" / "1.2.2" / "broken.json").write_text("{")  # an unreadable file is listed too
    assert_matches("traces", listed, run_json(wb, "traces"))
    (wb.root / "traces" / "1.2.2" / "broken.json").unlink()
    assert_matches("traces show", run_json(wb, "traces", "show", single["hash"][:12]),
                   run_json(wb, "traces", "show", imported["hash"][:12]))
    current = run_json(wb, "traces", "verify")
    from workbench.traces import load_trace, write_trace

    asked = load_trace(single["file"]).data  # the same trace, as if asked before 1.2.1's record changed: stale
    write_trace(dict(asked, problem_sha256="0" * 64, started_at="2026-01-01T00:00:00.000000Z"), wb.root / "traces")
    stale = run_json(wb, "traces", "verify")
    assert len(stale["stale"]) == 1
    assert_matches("traces verify", current, stale)
    assert_matches("traces cite", run_json(wb, "traces", "cite", "1.2.1"))
    assert_matches("study", run_json(wb, "study"))


def test_training_documents_match_the_doc(wb):
    from test_colourize_fixtures import make_cifar_batches, write_palette

    (wb.root / "solutions").unlink()  # pin into a private solutions/, never the real one
    (wb.root / "solutions").mkdir()
    data = make_cifar_batches(wb.root / "data", horses_per_batch=8)  # 40 training, 8 test images
    tiny = ["--epochs", "1", "--num-filters", "4", "--threads", "1", "--data", str(data),
            "--palette", str(write_palette(wb.root / "palette.npy"))]
    assert_matches("train", run_json(wb, "train", "unet", *tiny),
                   run_json(wb, "train", "--all", "--limit", "20", "--out", str(wb.root / "runs" / "all"), *tiny))
    # a batch-size sweep, and a seed sweep (its spread of 2+ runs)
    sizes = run_json(wb, "sweep", "batch-size", "20", "40", "--model", "unet", *tiny)
    assert_matches("sweep", sizes, run_json(wb, "sweep", "seed", "0", "1", "--model", "unet", *tiny))
    assert [r["batch-size"] for r in sizes["runs"]] == [20, 40]  # the value's key, as the doc names it
    assert_matches("pin", run_json(wb, "pin", "unet"))


def _no_constants(name):
    raise ValueError(f"{name} is not JSON")


def test_a_float_that_is_not_finite_is_written_as_a_string_strict_parsers_read(capsys):
    from workbench.console import print_json

    nan, inf = float("nan"), float("inf")
    print_json({"answer": {"loss": nan, "values": [1.5, inf, (-inf, 2)]}, "score": 0.5})
    doc = json.loads(capsys.readouterr().out, parse_constant=_no_constants)
    assert doc == {"answer": {"loss": "nan", "values": [1.5, "inf", ["-inf", 2]]}, "score": 0.5}


def test_the_doc_says_how_a_float_that_is_not_finite_is_written():
    text = " ".join(DOC.read_text(encoding="utf-8").split())
    assert '"nan", "inf" or "-inf"' in text
