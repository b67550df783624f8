"""Fixtures for the prompting tests: a loopback OpenAI-compatible server and a small project around it.

Import into a test module with `from llm_fixtures import fake_llm, wb  # noqa: F401`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from openai_server import FakeOpenAI

REPO = Path(__file__).resolve().parent.parent
SECRET = "sk-test-SECRET-7f3a9c1e5b"

DEMO_PACK = {
    "pack.yaml": """
        name: demo
        title: "Demo set"
        course: "TEST 101"
        version: "1"
        parts: [{id: written, title: Written}, {id: programming, title: Programming}]
        order: ["1.1", "1.2", "1.3", "2.1", "2.2", "3.1"]
        """,
    "1.1.yaml": """
        id: "1.1"
        title: "Minimum norm"
        section: "1 Optimization"
        part: written
        points: 1
        type: 1
        kind: written
        answer: expression
        context: "Let $L = \\\\frac{1}{n}\\\\|Xw - t\\\\|^2$ with $X \\\\in \\\\mathbb{R}^{n \\\\times d}$."
        statement: "Find $w^*$ with minimum norm. Braces {like} these stay."
        hints: ["Use the pseudo-inverse.", "Think about the row space of $X$."]
        steps: ["Write the gradient of $L$.", "Solve for $w$ in the row space."]
        """,
    "1.2.yaml": """
        id: "1.2"
        title: "Learning rate"
        section: "1 Optimization"
        part: written
        points: 1
        type: 2
        kind: written
        answer: number
        statement: "What is the optimal learning rate?"
        steps: ["Write $L_1$ as a function of $\\\\eta$.", "Differentiate.", "Solve."]
        """,
    "1.3.yaml": """
        id: "1.3"
        title: "Plain"
        section: "1 Optimization"
        part: written
        points: 0.5
        type: 1
        kind: written
        answer: free
        statement: "Explain momentum in one sentence."
        """,
    "2.1.yaml": """
        id: "2.1"
        title: "Tiny net"
        section: "2 Coding"
        part: programming
        points: 1
        type: 1
        kind: coding
        answer: code
        statement: "Implement TinyNet."
        spec: "1. `nn.Conv2d(1, 8, 3, padding=1)`; shape `[B, 8, 32, 32]`"
        """,
    "2.2.yaml": """
        id: "2.2"
        title: "Hard one"
        section: "2 Coding"
        part: programming
        points: 1
        type: 3
        kind: written
        answer: free
        statement: "Prove it."
        """,
    "3.1.yaml": """
        id: "3.1"
        title: "Optional"
        section: "3 Extra"
        part: written
        points: 0
        type: 1
        kind: written
        answer: free
        statement: "An optional question."
        """,
}
TRACED = ["1.1", "1.2", "1.3", "2.1"]  # graded and needing a trace: what `prompt --all` covers


def question_sha256(record: Path) -> str:
    """The fingerprint of what a problem record asks, computed here from the YAML itself (not through workbench):
    its statement, context, hints, steps, spec and answer form, as the record gives them (text stripped)."""
    data = yaml.safe_load(record.read_text())
    question = {"statement": data["statement"].strip(), "context": (data.get("context") or "").strip(),
                "hints": list(data.get("hints") or []), "steps": list(data.get("steps") or []),
                "spec": (data.get("spec") or "").strip(), "answer": data["answer"]}
    blob = json.dumps(question, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


@dataclass
class Workbench:
    root: Path
    server: FakeOpenAI
    capsys: object

    def run(self, *argv: str) -> tuple[int, str, str]:
        """Run the CLI in-process; (exit code, stdout, stderr)."""
        from cli import main

        self.capsys.readouterr()
        code = main(list(argv))
        out, err = self.capsys.readouterr()
        return code, out, err

    def traces(self) -> list[Path]:
        return sorted(p for p in (self.root / "traces").rglob("*.json"))

    def all_bytes(self) -> bytes:
        """Every file the project holds (not following the symlinked repo folders)."""
        return b"".join(p.read_bytes() for p in self.root.rglob("*") if p.is_file() and not p.is_symlink())


@pytest.fixture
def fake_llm():
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def wb(project, fake_llm, monkeypatch, capsys) -> Workbench:
    """The isolated project with a `demo` pack, its own prompts/ copy, and OPENAI_* pointing at the fake server."""
    (project / "problems").unlink()
    (project / "problems").mkdir()
    (project / "problems" / "a2").symlink_to(REPO / "problems" / "a2", target_is_directory=True)
    demo = project / "problems" / "demo"
    demo.mkdir()
    for name, text in DEMO_PACK.items():
        (demo / name).write_text(textwrap.dedent(text).lstrip())
    (project / "prompts").unlink()
    shutil.copytree(REPO / "prompts", project / "prompts")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_llm.url)
    monkeypatch.setenv("OPENAI_MODEL", "fake-gpt")
    monkeypatch.setattr("workbench.llm.BACKOFF_BASE", 0.01)
    return Workbench(project, fake_llm, capsys)
