"""Writeup: document order, transcripts kept literal, missing-piece boxes, math, notebook, --strict, bad input.

Everything is built from a small fixture pack written into a temp project (never the repo's traces/).
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path

import pytest

from cli import main
from workbench.errors import ProblemError, WriteupError
from workbench.traces import SCHEMA, write_trace

import pypdf  # noqa: E402  (requirements-dev.txt)

HOSTILE = [
    "#set page(fill: red)",
    r"$\input{/etc/passwd}$",
    "@fig",
    "<script>alert(1)</script>",
    "`code`",
    r"\newpage",
    "*not bold* _not italic_ [not a link](http://x) ```{=typst}",
]

PACK = """\
schema: workbench.pack/1
name: fx
title: "Fixture Assignment"
course: "FIX101 Fixture Course"
version: "0.1"
parts:
  - id: written
    title: "Written Part"
  - id: programming
    title: "Programming Part"
order: ["1.1", "1.2", "1.3", "1.4", "2.1", "2.2"]
submission:
  writeup: fx-writeup.pdf
  notebook: fx-code.ipynb
  programming_traces_at_end: true
"""

RECORDS = {
    "1.1": dict(title="Fixture minimum-norm solution", points=1, type=1, kind="written", answer="matrix",
                statement=r"Show that $\hat{\mathbf{w}} = \mathbf{X}^\top(\mathbf{X}\mathbf{X}^\top)^{-1}\mathbf{t}$."),
    "1.2": dict(title="Fixture gradient question", points=0.5, type=2, kind="written", answer="expression",
                statement=r"Compute $\frac{\partial L}{\partial w}$ for $L = \|w\|_2^2$."),
    "1.3": dict(title="Fixture extra-credit question", points=1, type=1, kind="written", answer="free",
                extra_credit=True, statement="Prove the fixture claim."),
    "1.4": dict(title="Fixture optional question", points=0, type=3, kind="written", answer="free",
                statement="An ungraded fixture question."),
    "2.1": dict(title="Fixture model code", points=0.5, type=1, kind="coding", answer="code",
                statement="Implement `TinyNet`."),
    "2.2": dict(title="Fixture training plots", points=0.5, type=4, kind="plot", answer="free",
                statement="Train TinyNet and comment on the curves."),
}

SOLUTIONS = {
    "1.1": """\
---
problem: "1.1"
---
## Critique
FIXTURE-CRITIQUE: the model skipped the invertibility argument.

## Solution
FIXTURE-SOLUTION-1.1. The minimiser is
$$\\hat{\\mathbf{w}} = \\frac{a}{b}\\begin{bmatrix} 1 & 0 \\\\ 0 & 1 \\end{bmatrix}\\tilde{\\mathbf{v}}^\\top$$
""",
    "1.2": """\
---
problem: "1.2"
---
## Solution
FIXTURE-SOLUTION-1.2: $\\nabla L = 2w$.
""",
    "1.3": """\
---
problem: "1.3"
---
## Critique
FIXTURE-EC-CRITIQUE.

## Solution
FIXTURE-EC-SOLUTION.
""",
    "2.1": """\
---
problem: "2.1"
code: fxpkg.models:TinyNet
---
## Critique
FIXTURE-CODE-CRITIQUE.

## Solution
See the class below.
""",
    "2.2": """\
---
problem: "2.2"
cites: {tiny.val_acc: 50.0}
---
## Solution
FIXTURE-COMMENTARY on the curves.
""",
}

PKG = {
    "__init__.py": '"""Fixture package."""\n',
    "data.py": '"""Fixture data."""\n\n\ndef load_data(n=4):\n    return list(range(n))\n',
    "models.py": textwrap.dedent('''\
        """Fixture models."""
        from __future__ import annotations

        from fxpkg.data import load_data


        class TinyNet:
            """A fixture network whose code the writeup shows."""

            def forward(self, x):
                return [v * 2 for v in load_data(len(x))]  # FIXTURE-CODE-LINE


        def other():
            return 1
        '''),
    "train.py": textwrap.dedent('''\
        """Fixture training."""
        from fxpkg import data as fxdata
        from fxpkg.models import TinyNet as Net


        def train():
            from fxpkg.data import load_data
            return Net().forward(load_data()) + fxdata.load_data()


        if __name__ == "__main__":
            train()
        '''),
}


def trace_data(problem: str, reply: str, source: str = "api", user: str = "Solve the fixture question.") -> dict:
    """A schema-valid trace (fixture content) with one sample."""
    messages = [{"role": "system", "content": "You are a fixture."}, {"role": "user", "content": user},
                {"role": "assistant", "content": reply}]
    data = {
        "schema": SCHEMA, "problem": problem, "pack": "fx", "strategy": "direct", "source": source,
        "provider": {"base_url": "http://127.0.0.1:9/v1"},
        "request": {"model": "fixture-model", "temperature": 0, "n": 1},
        "exchanges": [{"sample": None, "turn": 0, "messages": messages[:2], "model": "fixture-model-2024-01-01",
                       "choices": [{"index": 0, "content": reply, "finish_reason": "stop"}]}],
        "samples": [{"index": 0, "messages": messages}],
        "started_at": "2024-05-01T12:00:00.000000Z", "finished_at": "2024-05-01T12:00:01.000000Z",
    }
    if source == "import":
        data["import"] = {"origin": "chat export", "url": "https://chat.example/c/fixture", "created_at": "2024-04-30"}
    return data


def _png(path: Path, colour: tuple[int, int, int]) -> None:
    from PIL import Image

    Image.new("RGB", (60, 30), colour).save(path)


def _write_run(root: Path, name: str = "tiny") -> Path:
    run = root / "solutions" / "fx" / "results" / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"model": "TinyNet", "epochs": 2, "batch_size": 4, "seed": 0,
                                                 "data_source": "fixture-data (generated)"}))
    (run / "metrics.json").write_text(json.dumps({"epochs": [
        {"epoch": 1, "train_loss": 2.0, "val_loss": 2.1, "val_acc": 30.0, "seconds": 1.0},
        {"epoch": 2, "train_loss": 1.5, "val_loss": 1.6, "val_acc": 50.0, "seconds": 1.0}]}))
    _png(run / "curves.png", (200, 220, 255))
    _png(run / "samples.png", (255, 220, 200))
    return run


@pytest.fixture
def fx(tmp_path, monkeypatch) -> Path:
    """A temp project with the fixture pack, solutions, a package, a pinned run and traces (fixture content)."""
    import yaml

    root = tmp_path / "proj"
    pack = root / "problems" / "fx"
    pack.mkdir(parents=True)
    (pack / "pack.yaml").write_text(PACK)
    for pid, rec in RECORDS.items():
        (pack / f"{pid}.yaml").write_text(yaml.safe_dump({"id": pid, "section": pid.split(".")[0],
                                                          "part": "written" if pid < "2" else "programming", **rec}))
    sols = root / "solutions" / "fx"
    sols.mkdir(parents=True)
    for pid, text in SOLUTIONS.items():
        (sols / f"{pid}.md").write_text(text)
    (root / "fxpkg").mkdir()
    for name, text in PKG.items():
        (root / "fxpkg" / name).write_text(text)
    _write_run(root)
    for name in ("traces", "runs", "build"):
        (root / name).mkdir()
    (root / "workbench.toml").write_text('[student]\nname = "Fixture Student"\nid = "000000001"\n')
    monkeypatch.setenv("WORKBENCH_ROOT", str(root))
    hostile = "\n".join(HOSTILE)
    reply = (f"FIXTURE-ANSWER-1.1 with math $\\frac{{1}}{{2}}$ kept literal.\n{hostile}\n"
             "```python\nprint('FIXTURE-CODE-IN-REPLY')\n````\n```\n")
    evil = trace_data("1.1", reply)
    evil["exchanges"][0]["model"] = "evil-model #set page(fill: red) $x$ `y`"
    evil["samples"][0]["messages"].append({"role": 'user")[#set page(fill: red)]', "content": "FIXTURE-ODD-ROLE"})
    evil["samples"][0]["messages"].append({"role": "assistant", "content": "```python{=typst}\n#set page(fill: red)\n```"})
    evil["samples"][0]["messages"].append({"role": "assistant", "content": "```{=typst}\n#set page(fill: red)\n```"})
    write_trace(evil, root / "traces")
    write_trace(trace_data("1.3", "FIXTURE-EC-ANSWER"), root / "traces")
    write_trace(trace_data("2.1", "FIXTURE-IMPORTED-ANSWER class TinyNet: ...", source="import"), root / "traces")
    return root


def _pdf_text(path: Path) -> str:
    reader = pypdf.PdfReader(str(path))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return text.replace("\u200b", "")


def _pdf_glyph_chars(path: Path) -> set[str]:
    """Every character some embedded font of the PDF has a glyph for (its ToUnicode maps); a character
    Typst found no glyph for is drawn as .notdef and is in no map."""
    reader = pypdf.PdfReader(str(path))
    chars: set[str] = set()
    seen: set[int] = set()

    def walk(resources) -> None:
        resources = resources.get_object() if resources is not None else {}
        for font in (resources.get("/Font") or {}).values():
            font = font.get_object()
            if id(font) in seen or "/ToUnicode" not in font:
                continue
            seen.add(id(font))
            cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
            for dst in re.findall(r"<[0-9A-Fa-f]+>\s*<([0-9A-Fa-f]+)>", cmap):
                chars.update(bytes.fromhex(dst).decode("utf-16-be", errors="ignore"))
        for xobj in (resources.get("/XObject") or {}).values():
            xobj = xobj.get_object()
            if "/Resources" in xobj:
                walk(xobj["/Resources"])

    for page in reader.pages:
        walk(page.get("/Resources"))
    return chars


def _missing_glyphs(build: Path, stem: str) -> set[str]:
    """Non-ASCII characters of the Typst source's text that no font of the PDF draws (Greek is set in
    math as italic letters of other code points, so it is left out)."""
    typ = (build / f"{stem}.typ").read_text()
    wanted = {c for c in typ if ord(c) > 127 and not c.isspace() and not 0x370 <= ord(c) < 0x400 and c != "\u200b"}
    return wanted - _pdf_glyph_chars(build / f"{stem}.pdf")


def _in_order(text: str, marks: list[str]) -> bool:
    """Each mark occurs after the previous one."""
    pos = 0
    for mark in marks:
        pos = text.find(mark, pos)
        assert pos >= 0, f"{mark!r} missing or out of order"
    return True


def _build(root: Path, *extra: str) -> tuple[int, str]:
    rc = main(["build-writeup", "--pack", "fx", "--out", str(root / "build"), *extra])
    return rc, _pdf_text(root / "build" / "fx-writeup.pdf")


def test_document_order_traces_citations_and_boxes(fx, capsys):
    rc, text = _build(fx)
    assert rc == 0
    flat = " ".join(text.split())
    # title block: course, assignment, student, models cited
    for s in ("FIX101 Fixture Course", "Fixture Assignment", "Fixture Student", "000000001", "fixture-model-2024-01-01",
              "Models used"):
        assert s in flat
    # extra-credit trace first, then written questions in order, then programming, then its traces, then appendix
    marks = ["FIXTURE-EC-ANSWER", "1.1 Fixture minimum-norm", "FIXTURE-ANSWER-1.1", "1.2 Fixture gradient",
             "1.3 Fixture extra-credit", "1.4 Fixture optional", "2.1 Fixture model code", "FIXTURE-CODE-LINE",
             "2.2 Fixture training plots", "FIXTURE-COMMENTARY", "FIXTURE-IMPORTED-ANSWER", "Appendix"]
    assert _in_order(flat, marks)
    # citations under transcripts; the imported trace is marked
    assert "evil-model #set page(fill: red) $x$ `y` via http://127.0.0.1:9/v1, accessed 2024-05-01 (UTC)" in flat
    assert "fixture-model-2024-01-01 via https://chat.example/c/fixture" in flat
    assert "imported from the user's chat export" in flat
    # 1.2: no trace and no critique -> boxes with the points at risk
    assert "Missing: program trace" in flat and "0.5 pt at risk" in flat
    assert "Missing: critique of the model output" in flat
    assert "Points at risk in total: 0.5 of 3.5." in flat  # 1.2's 0.5 pt, of 1 + 0.5 + 1 + 0 + 0.5 + 0.5
    # the own critique and solution appear
    assert "FIXTURE-CRITIQUE" in flat and "FIXTURE-SOLUTION-1.1" in flat
    # run figures and data source
    assert "fixture-data (generated)" in flat and "Final figures of the run (2 epochs)" in flat
    # the last epoch's figures (epoch 2 of the fixture's metrics.json), in the order epoch, losses, accuracy, time
    assert "from its metrics.json: epoch train_loss val_loss val_acc seconds 2 1.5 1.6 50 1" in flat
    assert "1.4 Fixture optional question 0 pt (optional) · Type 3 · written An ungraded fixture question. " \
           "Not attempted (optional question, 0 points)." in flat
    out = capsys.readouterr().out
    assert "1.2" in out and "trace, critique" in out and "points at risk" in out
    # the checklist and the box say how to get the trace, for this pack: a bare `prompt 1.2` would ask a2's 1.2
    assert "`python cli.py prompt 1.2 --pack fx`" in " ".join(out.split())
    assert "run python cli.py prompt 1.2 --pack fx, or python cli.py import-chat FILE --problem 1.2 --pack fx" in flat
    assert not _missing_glyphs(fx / "build", "fx-writeup")


def test_hostile_trace_text_stays_literal(fx):
    _, text = _build(fx)
    flat = " ".join(text.split())
    for s in HOSTILE:
        assert " ".join(s.split()) in flat, s
    assert "FIXTURE-CODE-IN-REPLY" in flat and "FIXTURE-ODD-ROLE" in flat and "OTHER" in flat
    assert "evil-model #set page(fill: red) $x$ `y`" in flat  # in the title block and the citation
    # the trace's math stays TeX source, not typeset
    assert r"$\frac{1}{2}$" in flat
    # no page was painted red: render page 1..n of the transcript at low resolution and look at the corners
    import typst

    pngs = typst.compile(str(fx / "build" / "fx-writeup.typ"), root=str(fx / "build"), format="png", ppi=8,
                         ignore_system_fonts=True)
    from io import BytesIO

    from PIL import Image

    for png in pngs if isinstance(pngs, list) else [pngs]:
        r, g, b = Image.open(BytesIO(png)).convert("RGB").getpixel((1, 1))
        assert (r, g, b) == (255, 255, 255)


def test_math_renders_as_math(fx):
    _, text = _build(fx)
    assert r"\frac" not in text.split("FIXTURE-ANSWER-1.1")[0]  # the statement and solution of 1.1 come first
    assert r"\mathbf" not in text and r"\begin{bmatrix}" not in text
    typ = (fx / "build" / "fx-writeup.typ").read_text()
    assert "mat(delim:" in typ and "tilde(" in typ and "top" in typ and "a / b" in typ


def _auto_critiques(fx, status: str):
    """A run_verification stand-in: each trace of the fixture gets a `status` verdict whose automatic critique names
    its problem (FIXTURE-AUTO-CRITIQUE for ID)."""
    from workbench.verdicts import ProblemReport, Verdict

    def fake_verify(pack):
        reports = []
        for p in pack.problems:
            verdicts = tuple(Verdict(p.id, f"{t.name}#0", status, 0.0, (), critique=f"FIXTURE-AUTO-CRITIQUE for {p.id}.")
                             for t in (fx / "traces" / p.id).glob("*.json"))
            reports.append(ProblemReport(p.id, p.points, p.type, p.deliverables, verdicts=verdicts))
        return {r.problem: r for r in reports}, ""
    return fake_verify


@pytest.mark.parametrize("pid, status, missing_box", [("1.2", "incorrect", True), ("2.2", "unchecked", False)])
def test_automatic_critique_is_labelled_and_boxed_only_where_a_critique_is_required(fx, monkeypatch, pid, status,
                                                                                    missing_box):
    """1.2 needs the student's critique: its automatic one comes with a Missing box. 2.2 is Type 4 (solution + plot):
    a trace of it is an optional attempt, its automatic critique no missing piece."""
    from workbench import writeup

    monkeypatch.setattr(writeup, "run_verification", _auto_critiques(fx, status))
    (fx / "traces" / pid).mkdir()
    write_trace(trace_data(pid, f"FIXTURE-ANSWER-{pid}"), fx / "traces")
    _, text = _build(fx)
    flat = " ".join(text.split())
    assert "Automatic critique (generated by the workbench, not by the student)" in flat
    assert f"FIXTURE-AUTO-CRITIQUE for {pid}" in flat
    assert "FIXTURE-AUTO-CRITIQUE for 1.1" not in flat  # the student wrote this one
    assert ("Missing: the student's own critique" in flat) is missing_box


def test_slots_convert_like_the_whole_document(fx, monkeypatch):
    """The draft converted while the checks run, with the slots filled in, equals converting the final .md."""
    from workbench.typeset import markdown_to_typst

    _build(fx)
    md = (fx / "build" / "fx-writeup.md").read_text()
    assert "wb-slot" not in md and "Appendix: checklist" in md
    direct, _ = markdown_to_typst(md, Path("fx-writeup.md"))
    built = (fx / "build" / "fx-writeup.typ").read_text()
    assert " ".join(direct.split()) in " ".join(built.split())


def run_cells(code: list[str], work: Path, monkeypatch, modules: tuple[str, ...]) -> dict:
    """Run notebook code cells top to bottom as Jupyter would, in a fresh folder (%%writefile cells write, the rest
    execute, with the fixture's modules unimported first); the namespace they leave."""
    import sys

    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr("sys.path", list(sys.path))
    for mod in [m for m in sys.modules if m.startswith(modules)]:
        monkeypatch.delitem(sys.modules, mod)
    namespace: dict = {}
    for src in code:
        if src.startswith("%%writefile "):
            head, body = src.split("\n", 1)
            (work / head.split(" ", 1)[1]).write_text(body)
        else:
            exec(compile(src, "<cell>", "exec"), namespace)
    return namespace


def test_notebook_validates_and_holds_code_and_outputs(fx, tmp_path, monkeypatch):
    import nbformat

    _build(fx)
    first = (fx / "build" / "fx-code.ipynb").read_bytes()
    _build(fx)
    assert (fx / "build" / "fx-code.ipynb").read_bytes() == first  # same inputs, same file (cell ids included)
    nb = nbformat.read(str(fx / "build" / "fx-code.ipynb"), as_version=4)
    nbformat.validate(nb)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    written = [src.split("\n", 1) for src in code if src.startswith("%%writefile ")]
    assert [head for head, _ in written] == ["%%writefile fxpkg/__init__.py", "%%writefile fxpkg/data.py",
                                              "%%writefile fxpkg/models.py", "%%writefile fxpkg/train.py"]
    assert written[2][1] == PKG["models.py"]  # the real source, unchanged
    assert all(c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2
    assert "Fixture Student (000000001)" in nb.cells[0].source
    assert any(c.source.startswith("### Run `tiny` (question 2.2)") for c in nb.cells)
    [table] = [o["data"]["text/markdown"] for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if "text/markdown" in o.get("data", {})]
    assert table.splitlines()[2:] == ["| 1 | 2.0000 | 2.1000 | 30.0000 | 1.0000 |",  # every epoch, not the last only
                                      "| 2 | 1.5000 | 1.6000 | 50.0000 | 1.0000 |"]
    namespace = run_cells(code, tmp_path / "nbrun", monkeypatch, ("fxpkg",))
    assert namespace["TinyNet"]().forward([1, 2]) == [0, 2]
    assert "RUN_CONFIGS" in namespace and namespace["RUN_CONFIGS"]["tiny"]["batch_size"] == 4


def test_a_code_folder_without_init_is_written_into_the_notebook(fx, tmp_path, monkeypatch):
    """`code: fxpkg.models:TinyNet` in a folder without __init__.py (a namespace package) passed verify and was shown
    in the PDF, but the notebook said "Code `fxpkg`: not found in the project"."""
    import nbformat

    (fx / "fxpkg" / "__init__.py").unlink()
    _build(fx)
    nb = nbformat.read(str(fx / "build" / "fx-code.ipynb"), as_version=4)
    assert not any("not found in the project" in c.source for c in nb.cells)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert "%%writefile fxpkg/models.py\n" + PKG["models.py"] in code
    namespace = run_cells(code, tmp_path / "nbrun", monkeypatch, ("fxpkg",))
    assert namespace["TinyNet"]().forward([1, 2]) == [0, 2]


def test_a_run_name_with_a_line_break_stays_inside_the_notebook_s_comments(fx, monkeypatch):
    """A run named with a line break (a `cites:` key) ended the comment of its outputs cell and of the retrain cell
    early: the rest of the name was a line of code that a grader running the notebook ran. Both are literals now."""
    import ast

    import nbformat

    sol = fx / "solutions" / "fx" / "2.2.md"
    sol.write_text(sol.read_text().replace("cites: {tiny.val_acc: 50.0}",
                                           'cites: {"x\\nprint(\'PWNED\')\\n.val_acc": 1, "tiny.val_acc": 50.0}'))
    with (fx / "fxpkg" / "train.py").open("a") as fh:
        fh.write("\n\nclass TrainConfig:\n    pass\n")
    _build(fx, "--no-verify")
    nb = nbformat.read(str(fx / "build" / "fx-code.ipynb"), as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code" and not c.source.startswith("%%")]
    assert any("PWNED" in src and "Pinned outputs" in src for src in code)
    assert any("PWNED" in src and "rerun" in src for src in code)
    calls = [n.func.id for src in code for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name)]
    assert "print" not in calls


def test_strict_exit_codes(fx):
    rc, _ = _build(fx, "--strict")
    assert rc == 1  # 1.2 has no trace and no critique
    (fx / "solutions" / "fx" / "1.2.md").write_text(SOLUTIONS["1.2"].replace("## Solution", "## Critique\nOwn.\n\n## Solution"))
    write_trace(trace_data("1.2", "FIXTURE-ANSWER-1.2"), fx / "traces")
    rc, text = _build(fx, "--strict")
    assert rc == 0, text
    assert "Missing:" not in text


def test_no_verify_skips_the_checks_and_says_so(fx, capsys, monkeypatch):
    from workbench import writeup

    monkeypatch.setattr(writeup, "run_verification", lambda pack: pytest.fail("the checks ran under --no-verify"))
    rc, text = _build(fx, "--no-verify")
    assert rc == 0 and "Verification not run (--no-verify)." in " ".join(text.split())  # the appendix says so
    assert "verification not run (--no-verify)" in capsys.readouterr().out


def test_help_says_what_each_exit_code_means(capsys):
    with pytest.raises(SystemExit):
        main(["build-writeup", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Exit 0: built; 1: built, but --strict and something required is missing; 2:" in text and "130" in text


def test_edited_trace_shows_red_box_and_fails_strict(fx, capsys):
    path = next((fx / "traces" / "1.1").glob("*.json"))
    data = json.loads(path.read_text())
    data["samples"][0]["messages"][-1]["content"] = "FIXTURE-TAMPERED answer"
    path.write_text(json.dumps(data))
    rc, text = _build(fx, "--strict")
    flat = " ".join(text.split())
    assert rc == 1
    assert "Edited trace" in flat and "hash no longer matches" in flat and "FIXTURE-TAMPERED" not in flat
    assert "Edited trace 1 pt at risk: " in flat  # as in every other box for a required piece not shown
    assert "evil-model #set" not in flat  # a trace not shown is not cited under "Models used" either
    assert "edited trace: " in capsys.readouterr().out


def test_the_checklist_says_how_to_mend_an_edited_trace(fx, capsys):
    """The checklist named the edited trace and only asked for a critique; the PDF's box says to restore the trace
    or prompt again, and so does the checklist now."""
    path = next((fx / "traces" / "1.1").glob("*.json"))
    path.write_text(path.read_text().replace('"content": "', '"content": "EDITED ', 1))
    _build(fx, "--no-verify")
    out = " ".join(capsys.readouterr().out.replace("│", " ").split())  # the notes cell, its lines joined
    assert f"restore it from git (git checkout -- traces/1.1/{path.name}) or prompt again (python cli.py prompt 1.1 " \
           "--pack fx)" in out, out


def test_a_trace_copied_into_another_problem_is_not_shown_there(fx, capsys):
    path = next((fx / "traces" / "1.1").glob("*.json"))
    (fx / "traces" / "1.2").mkdir(exist_ok=True)
    (fx / "traces" / "1.2" / path.name).write_bytes(path.read_bytes())
    rc, text = _build(fx, "--strict")
    flat = " ".join(text.split())
    assert rc == 1 and "renamed or moved" in flat


@pytest.mark.parametrize("verify", [True, False])
def test_unreadable_trace_is_a_warning_and_the_good_one_is_still_shown(fx, capsys, verify):
    bad = fx / "traces" / "1.1" / "zz-bad.json"
    bad.write_bytes(b"\xff\xfe")
    (fx / "traces" / "1.1" / "foreign.json").write_text("[1, 2]")
    rc, text = _build(fx, *([] if verify else ["--no-verify"]))
    out = capsys.readouterr().err  # warnings: on stderr
    assert rc == 0 and "FIXTURE-ANSWER-1.1" in " ".join(text.split())
    assert f"unreadable trace {bad}: not valid UTF-8 text" in out and "foreign.json: not a workbench.trace/1" in out


def test_a_warning_naming_a_trace_file_with_a_line_break_stays_one_line(fx, capsys):
    """build-writeup's warnings name files, whose names may hold a line break: the unreadable trace's warning ran over
    two lines, the second naming nothing; the break is shown as \\n, as in every warning and error line."""
    (fx / "traces" / "1.1" / "zz\nbad.json").write_bytes(b"\xff\xfe")
    rc, _ = _build(fx, "--no-verify")
    lines = [line for line in capsys.readouterr().err.splitlines() if "bad.json" in line]
    assert rc == 0 and lines == [f"warning: unreadable trace {fx / 'traces' / '1.1'}/zz\\nbad.json: not valid UTF-8 text "
                                 "(see `python cli.py traces verify`)"], lines


def test_a_trace_that_cannot_be_shown_is_a_box_naming_it_without_the_home_folder(fx, capsys):
    """The PDF is handed in: the box names the trace file relative to the project, as every other path in it."""
    for pid in ("1.2", "1.4"):
        (fx / "traces" / pid).mkdir()
        (fx / "traces" / pid / "bad.json").write_text("{not json")
    sol = fx / "solutions" / "fx" / "1.1.md"
    sol.write_text(sol.read_text().replace('problem: "1.1"', 'problem: "1.1"\ntrace: nope'))
    rc, text = _build(fx, "--no-verify")
    flat = " ".join(text.split())
    assert rc == 0 and str(fx) not in flat and "pytest-of" not in flat
    assert ("Missing: program trace (unreadable) 0.5 pt at risk: traces/1.2/bad.json: not valid JSON (line 1); the "
            "handout gives 0 points on this question without the program trace") in flat
    assert "Missing: program trace (unreadable) traces/1.4/bad.json: not valid JSON (line 1) " in flat  # 0 pt: no risk
    assert ("Missing: program trace (pin not found) 1 pt at risk: the solution pins trace 'nope', which is not in "
            "traces/1.1;") in flat
    assert "unreadable trace" not in capsys.readouterr().err  # the boxes and the checklist name them already


def test_broken_front_matter_fails_with_the_file_name(fx, capsys):
    bad = fx / "solutions" / "fx" / "1.2.md"
    bad.write_text("---\nproblem: [1.2\n---\n## Solution\nx\n")
    pdf = fx / "build" / "fx-writeup.pdf"
    assert main(["build-writeup", "--pack", "fx", "--out", str(fx / "build")]) == ProblemError.exit_code
    err = capsys.readouterr().err
    assert "1.2.md" in err and "front matter" in err and "Traceback" not in err
    assert not pdf.exists()


def test_a_damaged_pinned_run_is_named_with_how_to_pin_it_again(fx, capsys):
    """verify named a pinned run whose metrics.json is not JSON; build-writeup left it out without a word, so the
    PDF's Missing box read as if the run had never been pinned."""
    (fx / "solutions" / "fx" / "results" / "tiny" / "metrics.json").write_text("{not json")
    rc, _ = _build(fx, "--no-verify")
    err = " ".join(capsys.readouterr().err.split())
    assert "solutions/fx/results/tiny is not read: its metrics.json is not JSON" in err, err
    assert "`python cli.py pin RUN --as tiny --pack fx --force`" in err


def test_missing_plot_and_code_are_boxes(fx, capsys):
    import shutil

    shutil.rmtree(fx / "solutions" / "fx" / "results" / "tiny")
    (fx / "fxpkg" / "models.py").write_text('"""No TinyNet here."""\n')
    rc, text = _build(fx, "--strict")
    flat = " ".join(text.split())
    assert rc == 1
    assert "Missing: plot / results of run tiny" in flat and "Missing: code" in flat
    # named relative to the project: the PDF is handed in, without the home folder
    assert "no pinned run folder solutions/fx/results/tiny" in flat and str(fx) not in flat
    assert "Missing: code 0.5 pt at risk: fxpkg/models.py defines no top-level TinyNet" in flat
    out = " ".join(capsys.readouterr().out.split())
    assert "plot" in out and "code" in out


def test_corrupt_plot_is_a_box_not_a_typst_error(fx):
    (fx / "solutions" / "fx" / "results" / "tiny" / "curves.png").write_bytes(b"not an image")
    rc, text = _build(fx, "--strict")
    flat = " ".join(text.split())
    assert rc == 1 and "solutions/fx/results/tiny/curves.png is not a PNG or JPEG image" in flat and str(fx) not in flat


@pytest.mark.parametrize("where, reason", [("FILE", "it is a file, not a folder"), ("/proc/x", "cannot write in /proc"),
                                           ("LONG", "File name too long")])  # LONG: was an OSError traceback
def test_unusable_out_folder_is_one_line(fx, capsys, where, reason):
    """Refused while the arguments are parsed (paths.path_arg); tests/test_paths.py has the table over commands."""
    target = fx / "notes.txt" if where == "FILE" else fx / ("a" * 300) if where == "LONG" else Path(where)
    if where == "FILE":
        target.write_text("keep me")
    assert main(["build-writeup", "--pack", "fx", "--no-verify", "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out ") and reason in err and err.count("\n") == 1 and "Traceback" not in err
    assert where != "FILE" or target.read_text() == "keep me"


@pytest.mark.parametrize("sub", ["traces/build", "traces/1.1", "build/../traces"])
def test_out_inside_traces_is_refused_before_building(fx, capsys, sub):
    """traces/ holds only the LLM's traces (verify and study read it as evidence): a writeup there is refused, as
    study's --plot is, and nothing is written there."""
    from workbench.paths import traces_dir

    before = sorted(p.relative_to(fx) for p in (fx / "traces").rglob("*"))
    assert traces_dir().resolve() == (fx / "traces").resolve()
    assert main(["build-writeup", "--pack", "fx", "--no-verify", "--out", str(fx / sub)]) == 2
    err = capsys.readouterr().err
    assert "traces/ holds only the LLM's traces" in err and "--out build" in err and err.count("\n") == 1
    assert sorted(p.relative_to(fx) for p in (fx / "traces").rglob("*")) == before


def test_pandoc_failure_names_the_file(fx, monkeypatch, capsys):
    from workbench import typeset

    monkeypatch.setattr(typeset, "pandoc_path", lambda: "/bin/false")
    assert main(["build-writeup", "--pack", "fx", "--out", str(fx / "build")]) == WriteupError.exit_code
    err = " ".join(capsys.readouterr().err.split())
    assert "pandoc failed on" in err and "fx-writeup.md" in err
    assert not (fx / "build" / "fx-writeup.pdf").exists()


def test_missing_name_is_a_box_and_fails_strict(fx):
    (fx / "workbench.toml").unlink()
    rc, text = _build(fx, "--strict")
    assert rc == 1 and "Missing: student name" in text
    rc, text = _build(fx, "--name", "Cli Name", "--student-id", "42")
    assert "Cli Name" in text


def test_a_name_with_quotes_backslashes_and_markup_is_printed_as_written(fx):
    """The name goes into the title block and every page's footer (the document's author) as text."""
    name = 'Ann "Q" O\\Brien #set page(fill: red) $x$'
    rc, text = _build(fx, "--no-verify", "--name", name, "--student-id", "42")
    flat = " ".join(text.split())
    assert rc == 0 and flat.count(name) >= 2
    assert pypdf.PdfReader(str(fx / "build" / "fx-writeup.pdf")).metadata.author == name


def test_a_question_title_is_printed_as_written_not_run_as_typst(fx):
    """A pack's question title went into its heading as Markdown: an inline raw Typst span in it ran (painting the
    page, or failing the build). The title is text in the question's heading and in its appended trace's heading."""
    import yaml

    title = "Gradient `#set page(fill: red)`{=typst} *not em* {#spoof}"
    for pid in ("1.2", "2.1"):
        path = fx / "problems" / "fx" / f"{pid}.yaml"
        path.write_text(yaml.safe_dump(dict(yaml.safe_load(path.read_text()), title=title)))
    rc, text = _build(fx, "--no-verify")
    assert rc == 0 and " ".join(text.split()).count(f"1.2 {title}") == 1
    assert " ".join(text.split()).count(f"2.1 {title}") == 2  # the question and the trace appended at the end


def test_a_missing_name_alone_fails_strict(fx):
    """Every question complete, only the name and number missing: still exit 1 under --strict."""
    (fx / "solutions" / "fx" / "1.2.md").write_text(SOLUTIONS["1.2"].replace("## Solution", "## Critique\nOwn.\n\n## Solution"))
    write_trace(trace_data("1.2", "FIXTURE-ANSWER-1.2"), fx / "traces")
    (fx / "workbench.toml").unlink()
    rc, text = _build(fx, "--strict", "--no-verify")
    assert rc == 1 and "Missing: student name" in text and "Missing: student number" in text
    assert _build(fx, "--strict", "--no-verify", "--name", "A", "--student-id", "1")[0] == 0


def test_a_plot_question_without_any_run_is_a_box_with_its_points(fx):
    import shutil

    shutil.rmtree(fx / "solutions" / "fx" / "results" / "tiny")
    sol = fx / "solutions" / "fx" / "2.2.md"
    sol.write_text(sol.read_text().replace("cites: {tiny.val_acc: 50.0}\n", ""))  # no run named, none pinned
    rc, text = _build(fx, "--strict", "--no-verify")
    flat = " ".join(text.split())
    assert rc == 1 and "Missing: plots 0.5 pt at risk: no pinned run found" in flat


def test_an_extra_credit_trace_is_shown_once_even_in_a_part_whose_traces_go_last(fx):
    """2.1 (programming part, traces appended at the end) made extra credit: its trace goes first, and only there."""
    import yaml

    record = fx / "problems" / "fx" / "2.1.yaml"
    record.write_text(yaml.safe_dump(dict(yaml.safe_load(record.read_text()), extra_credit=True)))
    rc, text = _build(fx, "--no-verify")
    flat = " ".join(text.split())
    assert rc == 0 and flat.count("FIXTURE-IMPORTED-ANSWER") == 1
    assert flat.index("FIXTURE-IMPORTED-ANSWER") < flat.index("1.1 Fixture minimum-norm")
    assert "Program traces: Programming Part" not in flat  # nothing else of that part has a trace to append


def test_typst_error_names_the_file_and_keeps_no_partial_pdf(fx, monkeypatch):
    from workbench import typeset

    monkeypatch.setattr(typeset, "_PREAMBLE", typeset._PREAMBLE + "\n#let broken = (\n")
    with pytest.raises(WriteupError, match=r"typst failed on .*fx-writeup\.typ"):
        from workbench.writeup import build_writeup

        build_writeup("fx", out=fx / "build")
    assert not (fx / "build" / "fx-writeup.pdf").exists()
    assert not [p for p in (fx / "build").iterdir() if p.name.endswith(".tmp")]


def test_a_new_pdf_replaces_the_old_one_and_never_rewrites_it_in_place(tmp_path):
    """A viewer that has the old PDF open (here: a second link to it) keeps reading the whole old file."""
    from workbench.typeset import compile_pdf

    typ, pdf, viewer = tmp_path / "doc.typ", tmp_path / "doc.pdf", tmp_path / "viewer.pdf"
    pdf.write_bytes(b"%PDF-old")
    viewer.hardlink_to(pdf)
    typ.write_text("Hello")
    assert compile_pdf(typ, pdf) == []
    assert pdf.read_bytes().startswith(b"%PDF-1.") and viewer.read_bytes() == b"%PDF-old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.pdf", "doc.typ", "viewer.pdf"]


def test_source_date_epoch_makes_the_pdf_the_same_bytes_every_build(fx, monkeypatch, capsys):
    """The PDF's dates (and the ID typst makes from them) and the title block's date were the build's time, so two
    builds of the same sources differed; SOURCE_DATE_EPOCH fixes them, as the typst command line does."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    pdf = fx / "build" / "fx-writeup.pdf"
    rc, text = _build(fx, "--no-verify")
    first = pdf.read_bytes()
    assert _build(fx, "--no-verify")[0] == rc == 0
    assert pdf.read_bytes() == first and b"CreationDate(D:20231114221320Z)" in first
    assert "2023-11-14" in text
    for bad in ("yesterday", "9" * 15, "-1", "9" * 25):  # malformed, negative or past 9999: an error before any work
        monkeypatch.setenv("SOURCE_DATE_EPOCH", bad)
        assert _build(fx, "--no-verify")[0] == WriteupError.exit_code
        assert f"SOURCE_DATE_EPOCH='{bad}' is not a time" in capsys.readouterr().err
        assert pdf.read_bytes() == first and not (fx / "build" / "failed-build").exists()


def test_source_date_epoch_zero_and_a_far_timezone_give_the_utc_date(fx, monkeypatch):
    """0 is 1970-01-01 (a time, not unset); the date is UTC's whatever the machine's zone, so any machine gives the same."""
    import time

    zone = os.environ.get("TZ")
    monkeypatch.setenv("TZ", "XST-14")  # 14 hours ahead: 1700000000 is already 2023-11-15 there
    time.tzset()
    try:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
        rc, text = _build(fx, "--no-verify")
        assert rc == 0 and "2023-11-14" in text and "2023-11-15" not in text
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
        rc, text = _build(fx, "--no-verify")
        pdf = (fx / "build" / "fx-writeup.pdf").read_bytes()
        assert rc == 0 and "1970-01-01" in text and b"CreationDate(D:19700101000000Z)" in pdf
    finally:
        if zone is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = zone
        time.tzset()


def test_glyphless_characters_are_named(fx, capsys):
    """An emoji in a trace is shown as its code point; one in the student's own text is reported."""
    write_trace(trace_data("1.4", "FIXTURE smile \U0001F600 and 中文"), fx / "traces")
    sol = fx / "solutions" / "fx" / "1.4.md"
    sol.write_text('---\nproblem: "1.4"\n---\n## Solution\nOwn text with \U0001F642.\n')
    _, text = _build(fx)
    assert "<U+1F600>" in text and "<U+4E2D><U+6587>" in text
    assert "U+1F642" in " ".join(capsys.readouterr().err.split())
    assert _missing_glyphs(fx / "build", "fx-writeup") == {"\U0001F642"}


def test_code_block_fence_cannot_be_closed_from_inside():
    from workbench.typeset import code_block, md_text, raw_typst, typ_str

    block = code_block("a\n````\n#set page(fill: red)\n``````")
    fence = block.split("\n")[0].rstrip("text")
    assert len(fence) == 7 and block.endswith("\n" + fence)
    assert md_text("#x $y$ @z") == r"\#x \$y\$ \@z"
    assert md_text("~~x~~ H~2~O {y} |z|") == r"\~\~x\~\~ H\~2\~O \{y\} \|z\|"  # no strikeout or subscript
    assert typ_str('a"b\\c`\n') == '"a\\"b\\\\c\\u{60}\\n"'
    assert "<U+1F600>" in code_block("smile \U0001F600")
    with pytest.raises(ValueError):
        raw_typst("#wb-note[x]\n```\n#set page(fill: red)")
    # a model's fence info string is its language only: "{=typst}" would make pandoc pass the body on as raw Typst
    assert code_block("#set page(fill: red)", "{=typst}") == "```text\n#set page(fill: red)\n```"


def test_untrusted_text_is_made_printable_and_trusted_tex_habits_become_markdown():
    from workbench.typeset import code_block, glyphless, md_text, tex_to_markdown

    assert code_block("bell\x07 esc\x1b[31m") == "```text\nbell<U+0007> esc<U+001B>[31m\n```"
    assert code_block("a\rb\r\nc\td") == "```text\na\nb\nc   d\n```"  # old Mac and Windows line ends, tab stops of 4
    # a 150-character token is kept as written (the PDF's preamble gives it break points that are no characters)
    assert code_block("x " + "a" * 150) == "```text\nx " + "a" * 150 + "\n```"
    assert md_text("two\nlines\n\n- not a list") == r"two lines \- not a list"  # inline: one line, never a block
    assert tex_to_markdown(r"\textbf{bold} \emph{it} \textit{it2} \texttt{mono}") == "**bold** *it* *it2* `mono`"
    assert glyphless("a\u200bb\u202e \U0001F600 \u4e2d") == ["\u4e2d", "\U0001F600"]  # invisible ones are not 'boxes'


def test_tex_text_commands_inside_math_are_left_to_the_math():
    r"""`$\textbf{W} x$` became `$**W** x$`, printed as `* * W * *`: the Markdown rewrite is for text outside math."""
    from workbench.typeset import markdown_to_typst, tex_to_markdown

    md = r"\textbf{Claim}: $\textbf{W} x$, $$\texttt{ab} = \textit{c}$$"
    assert tex_to_markdown(md) == r"**Claim**: $\textbf{W} x$, $$\texttt{ab} = \textit{c}$$"
    assert markdown_to_typst(tex_to_markdown(md), Path("t.md")) == \
        ('#strong[Claim]: $bold("W") x$, $ mono("ab") = italic("c") $\n', [])


def test_an_own_solution_fence_left_open_is_closed_at_its_end():
    """An unclosed ``` in a solution ran on into the next section's raw Typst: typst failed on an 'unexpected closing
    bracket' in build/failed-build/a2-writeup.typ, naming neither the solution nor the fence."""
    from workbench.typeset import tex_to_markdown

    assert tex_to_markdown("Text\n\n```python\nx = 1\n") == "Text\n\n```python\nx = 1\n```\n"
    assert tex_to_markdown("````\n``` inside\n") == "````\n``` inside\n````\n"  # a shorter fence does not close it
    assert tex_to_markdown("~~~\nx\n~~~\n$a$") == "~~~\nx\n~~~\n$a$"
    assert tex_to_markdown("``` and `x` inline") == "``` and `x` inline"  # not a fence: backticks in its info string
    assert tex_to_markdown("````\nx\n`````\n$a$") == "````\nx\n`````\n$a$"  # a longer fence closes it
    assert tex_to_markdown("~~~\nx\n") == "~~~\nx\n~~~\n"
    # no closing fence: one of the other character, one with words after it, one indented 4 spaces (code)
    for inside in ("~~~", "``` python", "    ```"):
        assert tex_to_markdown(f"```\n{inside}\n") == f"```\n{inside}\n```\n"


def test_a_matrix_or_cases_environment_outside_math_is_display_math():
    r"""A bare \begin{cases} or \begin{pmatrix} in a solution was printed as TeX source, its \\ shown as \, unwarned."""
    from workbench.typeset import tex_to_markdown

    assert tex_to_markdown("A\n\\begin{cases} 1 & x > 0 \\\\ 0 & \\text{else} \\end{cases}\nB") == \
        "A\n\n$$\\begin{cases} 1 & x > 0 \\\\ 0 & \\text{else} \\end{cases}$$\n\nB"
    assert tex_to_markdown("v = \\begin{pmatrix} a \\\\ b \\end{pmatrix}.") == "v = \n$$\\begin{pmatrix} a \\\\ b \\end{pmatrix}$$\n."
    for kept in ("$\\begin{pmatrix} a \\\\ b \\end{pmatrix}$", "$$f = \\begin{cases} a \\end{cases}$$",  # already math
                 "```\n\\begin{bmatrix} a \\end{bmatrix}\n```", "`\\begin{cases}x\\end{cases}`"):  # code
        assert tex_to_markdown(kept) == kept


def test_tex_in_an_own_solution_s_code_block_stays_as_written():
    """A ```latex block showing \\begin{align} or \\textbf in a solution was rewritten into $$ and ** inside the code."""
    from workbench.typeset import tex_to_markdown

    for kept in ("```latex\n\\begin{align}a &= b\\end{align}\n\\textbf{b} \\emph{c}\n```", "`\\begin{equation}x\\end{equation}`"):
        assert tex_to_markdown(kept) == kept


def test_a_display_environment_inside_single_dollars_loses_the_dollars():
    r"""$\begin{align*}...\end{align*}$ became a display with a stray $ printed on each side, unwarned."""
    from workbench.typeset import tex_to_markdown

    aligned = "\n$$\\begin{aligned}p &= q \\\\ r\\end{aligned}$$\n"
    assert tex_to_markdown("x $\\begin{align*} p &= q \\\\ r \\end{align*}$ end") == f"x {aligned} end"
    assert tex_to_markdown("x $ \\begin{align*} p &= q \\\\ r \\end{align*} $ end") == f"x {aligned} end"
    assert tex_to_markdown("\\[\\begin{align*} p &= q \\\\ r \\end{align*}\\]") == aligned  # was $$ $$ $$...$$ $$ $$
    # the closing $ of a span before the environment, and the opening one after it, are not taken for its dollars
    assert tex_to_markdown("$f(x)$ \\begin{align} p \\end{align} $g$") == \
        "$f(x)$ \n$$\\begin{aligned}p\\end{aligned}$$\n $g$"


def test_an_equation_tag_is_printed_and_label_or_notag_do_not_break_the_formula():
    r"""The handout's $$... \tag{1}$$ lost its (1) in the PDF (statements then cite "equation (1)"), and \tag beside a
    \frac, or any \label / \notag / \nonumber, made pandoc print the whole formula as TeX source."""
    from workbench.typeset import markdown_to_typst, tex_to_markdown

    cases = {r"$$x = 1 \tag{1}$$": '"(1)"', r"$$\frac{1}{n} x \tag{2}$$": '"(2)"', r"$$y = 2 \tag*{A.3}$$": '"A.3"',
             r"$$z = 3 \label{eq:z} \nonumber$$": "z = 3", r"$$\begin{aligned} a &= b \notag \\ c &= d \end{aligned}$$": "c"}
    for md, shown in cases.items():
        typ, warnings = markdown_to_typst(tex_to_markdown(md), Path("t.md"))
        assert warnings == [] and shown in typ and "tag" not in typ and "label" not in typ, (md, typ)
    assert tex_to_markdown("`\\tag{1}`") == "`\\tag{1}`"  # code stays as written


def test_a_hyphen_before_a_question_mark_is_printed(tmp_path):
    """Typst reads `-?` in text as a soft hyphen and pandoc's Typst writer left it unescaped, so a URL's "item-?id=7"
    (an own solution's link, or a model's name in a citation) printed as "itemid=7", two characters gone."""
    from workbench.typeset import compile_pdf, markdown_to_typst, md_text, preamble

    md = "See https://example.com/item-?id=7 and x-?-?y.\n\n" + md_text("model says a-?b") + "\n"
    body, _ = markdown_to_typst(md, tmp_path / "t.md")
    (tmp_path / "t.typ").write_text(preamble("T", "A") + body, encoding="utf-8")
    compile_pdf(tmp_path / "t.typ", tmp_path / "t.pdf")
    text = pypdf.PdfReader(tmp_path / "t.pdf").pages[0].extract_text()
    assert "https://example.com/item-?id=7 and x-?-?y." in text and "model says a-?b" in text, text


def test_a_long_run_without_spaces_wraps_inside_the_page(tmp_path):
    """A 5,000-character line without spaces in an own solution ran off the right edge of the page (trace text
    wraps, the student's text did not)."""
    from workbench.typeset import compile_pdf, preamble

    (tmp_path / "t.typ").write_text(preamble("T", "A") + "\nSee " + "x" * 5000 + " here.\n", encoding="utf-8")
    compile_pdf(tmp_path / "t.typ", tmp_path / "t.pdf")
    lines = [line for page in pypdf.PdfReader(tmp_path / "t.pdf").pages for line in page.extract_text().splitlines()]
    assert "".join(lines).count("x") == 5000 and max(len(line) for line in lines) < 100




def _copied_chars(path: Path) -> set[str]:
    """Every character a PDF viewer may put into copied text: the fonts' ToUnicode maps and the ActualText of
    marked spans (Typst writes a glyph's extra characters there; pypdf's extract_text leaves it out)."""
    chars = _pdf_glyph_chars(path)
    for page in pypdf.PdfReader(str(path)).pages:
        stream = page.get_contents().get_data().decode("latin-1")
        for hexed in re.findall(r"/ActualText\s*<([0-9A-Fa-f]*)>", stream):
            chars.update(bytes.fromhex(hexed).decode("utf-16-be", errors="ignore"))
    return chars


def test_a_long_url_in_a_trace_wraps_and_copies_without_hidden_characters(tmp_path):
    """Long tokens of trace text got a zero-width space every 64 characters so they would wrap: a grader who copied a
    URL from the PDF got those characters in it (Typst puts them in the text a viewer copies) and the link broke. The
    break points are Typst's own now (no character): the URL copies as written and still wraps inside the margin."""
    from workbench.typeset import code_block, compile_pdf, markdown_to_typst, preamble

    url = "https://example.com/models/" + "checkpoint-" * 8 + "v2?token=" + "Zq9" * 40
    reply = f"The weights are at {url} and the digest is {'f0' * 60} (see above)."
    body, _ = markdown_to_typst("Reply:\n\n" + code_block(reply, "chat") + f"\n\nProse with {url} too.\n", tmp_path / "t.md")
    (tmp_path / "t.typ").write_text(preamble("T", "A") + body, encoding="utf-8")
    compile_pdf(tmp_path / "t.typ", tmp_path / "t.pdf")
    assert "\u200b" not in _copied_chars(tmp_path / "t.pdf")
    page = pypdf.PdfReader(tmp_path / "t.pdf").pages[0]
    text = page.extract_text()
    assert text.replace("\n", "").count(url) == 2 and "f0" * 60 in text.replace("\n", "")  # wrapped, not altered
    runs = []  # (x, text) of every text run outside the footer
    page.extract_text(visitor_text=lambda text, cm, tm, *_: runs.append((pypdf.mult(tm, cm)[4], text))
                      if text.strip() and pypdf.mult(tm, cm)[5] > 60 else None)
    right = float(page.mediabox.width) - 2 / 2.54 * 72  # the preamble's 2 cm margin
    assert all(x + 4.9 * len(t.strip()) < right + 1 for x, t in runs if "Zq9" in t or "f0f0" in t), runs  # 8 pt mono


def test_a_long_identifier_in_a_table_cell_breaks_inside_its_cell(tmp_path):
    """A six-column table of an own solution with `torch.nn.functional.cross_entropy_loss`-like code spans ran into
    the next cells and past the margin (A2's 5.5 with a table of runs): such a token breaks after its dots and
    underscores (one without any, every 8 characters) inside its cell, and a table that fits is set as before. The
    break points are no characters: one copied from the PDF is the name as written, not one with zero-width spaces."""
    from workbench.typeset import compile_pdf, markdown_to_typst, preamble

    long = ["`torch.nn.functional.cross_entropy_loss`", "`torch.optim.lr_scheduler.ReduceLROnPlateau`",
            "`colourize.train.train_one_epoch_with_validation_and_logging`"]
    md = ("| batch | optimiser | loss function used | scheduler | final val loss | notes |\n|---|---|---|---|---|---|\n"
          f"| 32 | `torch.optim.Adam` | {long[0]} | {long[1]} | 1.61 | {long[2]} |\n"
          "| 64 | `Adam` | `CrossEntropyLoss` | `ReduceLROnPlateau` | 1.70 | `TrainedWithLabelSmoothingAndLinearWarmupFirst` |\n\n"
          "| run | optimiser | scheduler | notes |\n|---|---|---|---|\n"  # a token without dots breaks every 8 characters
          f"| 1 | {long[1]} | `torch.optim.lr_scheduler.CosineAnnealingLR` | `TrainedWithLabelSmoothingAndLinearWarmupFirst` |\n\n"
          "| batch size | observations made |\n|---|---|\n| 32 | the smallest batch converges fastest |\n")
    body, _ = markdown_to_typst(md, tmp_path / "t.md")
    (tmp_path / "t.typ").write_text(preamble("T", "A") + body, encoding="utf-8")
    compile_pdf(tmp_path / "t.typ", tmp_path / "t.pdf")
    page = pypdf.PdfReader(tmp_path / "t.pdf").pages[0]
    runs = []  # (x, text) of every text run outside the footer
    page.extract_text(visitor_text=lambda text, cm, tm, *_: runs.append((pypdf.mult(tm, cm)[4], text))
                      if text.strip() and pypdf.mult(tm, cm)[5] > 60 else None)
    margin = 2 / 2.54 * 72  # the preamble's 2 cm
    assert all(margin - 1 < x and x + 4.9 * len(text.strip()) < float(page.mediabox.width) - margin + 1
               for x, text in runs if text.strip().isascii()), runs  # 8 pt DejaVu Sans Mono: 4.8 pt a character
    text = page.extract_text()
    assert "the smallest batch converges fastest" in text and "\u200b" not in text.split("batch size")[1]
    assert "\u200b" not in _copied_chars(tmp_path / "t.pdf")  # its break points copy as nothing: the name as written


def test_a_figure_taller_than_the_page_keeps_its_caption_above_the_bottom_margin(tmp_path):
    """An own phone screenshot (1170x2532) was scaled to the page height and its caption fell about 14 pt into the
    bottom margin, over the footer: the image is made short enough for the caption to fit on the page too."""
    from PIL import Image
    from workbench.typeset import compile_pdf, markdown_to_typst, preamble

    (tmp_path / "files").mkdir()
    Image.new("RGB", (1170, 2532), (200, 220, 240)).save(tmp_path / "files" / "phone.png")
    body, _ = markdown_to_typst("Before.\n\n![Loss curves on my phone screen](files/phone.png)\n\nAfter.\n", tmp_path / "t.md")
    (tmp_path / "t.typ").write_text(preamble("T", "A") + body, encoding="utf-8")
    compile_pdf(tmp_path / "t.typ", tmp_path / "t.pdf")
    ys = []
    for page in pypdf.PdfReader(tmp_path / "t.pdf").pages:
        page.extract_text(visitor_text=lambda text, cm, tm, *_: ys.append(pypdf.mult(tm, cm)[5])
                          if "phone screen" in text else None)
    assert ys and min(ys) > 2.2 / 2.54 * 72, ys  # the caption's baseline above the preamble's 2.2 cm bottom margin


def test_the_url_of_a_citation_is_a_link(tmp_path):
    """A trace's citation printed the conversation's share link (the handout asks for the model's url) as dead text:
    a grader could not click through to it. Its address is now a link, trailing punctuation left out, and a long
    address that wraps still links to the whole of it."""
    from workbench.typeset import compile_pdf, preamble, typ_str

    share = "https://chatgpt.com/share/" + "a1b2c3d4" * 12
    cite = f"gpt-4o via {share}; imported 2026-12-01 (UTC); see also https://claude.ai."
    bracketed = "gpt-4o, o3 via ChatGPT (https://chatgpt.com); imported 2026-12-01 (UTC)"  # an import without --url
    (tmp_path / "t.typ").write_text(preamble("T", "A") + f"\n#wb-cite({typ_str(cite)})\n#wb-cite({typ_str(bracketed)})\n",
                                    encoding="utf-8")
    compile_pdf(tmp_path / "t.typ", tmp_path / "t.pdf")
    annots = [a.get_object() for a in pypdf.PdfReader(tmp_path / "t.pdf").pages[0].get("/Annots") or []]
    assert {a["/A"]["/URI"] for a in annots if "/A" in a} == {share, "https://claude.ai", "https://chatgpt.com"}


def test_the_addresses_in_the_models_used_list_are_links(tmp_path):
    """The title page's "Models used" list names each model with its citation: its share link, or a local server's
    http:// address, is a link there too."""
    from workbench.typeset import compile_pdf, preamble, typ_str

    share, local = "https://chatgpt.com/share/" + "e5f6" * 8, "http://127.0.0.1:8000/v1"
    models = f'(("gpt-4o", {typ_str("via " + share + ";")}), ("qwen2.5-coder", {typ_str("via " + local + ".")}))'
    (tmp_path / "t.typ").write_text(preamble("T", "A") + f'\n#wb-title(course: "C", assignment: "A", models: {models})\n',
                                    encoding="utf-8")
    compile_pdf(tmp_path / "t.typ", tmp_path / "t.pdf")
    annots = [a.get_object() for a in pypdf.PdfReader(tmp_path / "t.pdf").pages[0].get("/Annots") or []]
    assert {a["/A"]["/URI"] for a in annots if "/A" in a} == {share, local}


def test_a_heading_in_the_student_s_text_nests_under_its_question(fx):
    """A student's `# Part (a)` in an own solution came out as a top-level heading, larger than the question's own
    and beside "Written Part" in the PDF's outline (A2's 3.2, page 18 of a built writeup)."""
    sol = fx / "solutions" / "fx" / "1.1.md"
    sol.write_text(sol.read_text().replace("## Solution\n", "## Solution\n# FIXTURE-OWN-HEADING\n\nPart a.\n")
                   .replace("## Critique\n", "## Critique\n# FIXTURE-CRITIQUE-HEADING\n\n"))
    _build(fx)

    def titles(items, depth=0):
        for item in items:
            if isinstance(item, list):
                yield from titles(item, depth + 1)
            else:
                yield depth, item.title

    outline = list(titles(pypdf.PdfReader(fx / "build" / "fx-writeup.pdf").outline))
    depth = dict((title, d) for d, title in outline)
    question = next(d for d, title in outline if title.startswith("1.1 Fixture"))
    assert depth["FIXTURE-OWN-HEADING"] > depth["Own solution"] > question > depth["Written Part"], outline
    assert depth["FIXTURE-CRITIQUE-HEADING"] > depth["Critique of the model output"] > question, outline

def _on_one_page_at_every_gap(folder, typst_body: str, first: str, then: str, gaps) -> None:
    """Push typst_body down a short page a little more each time: the page holding `first` must hold `then` too."""
    from workbench.typeset import compile_pdf, preamble

    for gap in gaps:
        (folder / "t.typ").write_text(preamble("T", "A") + f"#set page(height: 320pt)\n#v({gap}pt)\n\n" + typst_body)
        compile_pdf(folder / "t.typ", folder / "t.pdf")
        pages = [page.extract_text() for page in pypdf.PdfReader(folder / "t.pdf").pages]
        a, b = (next(i for i, text in enumerate(pages) if mark in text) for mark in (first, then))
        assert a == b, f"{first!r} on page {a + 1}, {then!r} on page {b + 1} (gap {gap}pt)"


def test_a_question_heading_and_its_points_line_are_never_left_at_a_page_bottom(fx):
    """A question's heading and its "0.5 pt · Type 4 · plot" line sat alone at the bottom of a page (A2's 6.2 Train
    UNet, page 34 of a built writeup) and the statement it introduces began the next page."""
    _build(fx)
    typ = (fx / "build" / "fx-writeup.typ").read_text()
    start = typ.index("== 1.2 Fixture gradient")
    snippet = typ[start:typ.index("\n]\n", typ.index("#wb-statement[", start)) + 3]
    _on_one_page_at_every_gap(fx, snippet, "Fixture gradient", "Compute", range(60, 200, 8))


def test_a_display_equation_wider_than_the_page_is_shrunk_to_fit(tmp_path):
    """A display equation of an own solution wider than the text ran past both margins (A2's 2.3.1 with one long
    $$...$$ line): Typst does not break display math, so the writeup scales such an equation to the text width."""
    from workbench.typeset import compile_pdf, markdown_to_typst, preamble, tex_to_markdown

    term = r"\eta\left(\frac{2}{n}X^\top(X\mathbf{w}_1 - \mathbf{t}) + 2\tilde\lambda\mathbf{w}_1\right)"
    md = tex_to_markdown("Before.\n\n$$\n\\mathbf{w}_2 = \\mathbf{w}_1 - " + " - ".join([term] * 4) + " + x_{i}\n$$\n\n$$ y = 1 $$\n")
    body, _ = markdown_to_typst(md, tmp_path / "t.md")
    (tmp_path / "t.typ").write_text(preamble("T", "A") + body, encoding="utf-8")
    compile_pdf(tmp_path / "t.typ", tmp_path / "t.pdf")
    page = pypdf.PdfReader(tmp_path / "t.pdf").pages[0]
    xs = []
    page.extract_text(visitor_text=lambda text, cm, tm, *_: xs.append(pypdf.mult(tm, cm)[4]) if text.strip() else None)
    margin = 2 / 2.54 * 72  # the preamble's 2 cm
    assert margin - 1 < min(xs) and max(xs) < float(page.mediabox.width) - margin, (min(xs), max(xs))

@pytest.mark.skipif(not (Path(__file__).resolve().parent.parent / "problems" / "a2").is_dir(), reason="no A2 pack")
@pytest.mark.parametrize("checks", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["no-checks", "checks"])
def test_real_pack_builds(project, tmp_path, checks):
    """The repository's own A2 pack, with whatever records, solutions and runs exist (no traces here)."""
    from workbench.problems import load_pack

    pack = load_pack("a2")
    out = tmp_path / "out"
    rc = main(["build-writeup", "--out", str(out), "--name", "Test Student", "--student-id", "1"]
              + ([] if checks else ["--no-verify"]))
    assert rc == 0
    text = " ".join(_pdf_text(out / pack.submission.get("writeup", "a2-writeup.pdf")).split())
    assert _in_order(text, [f"{p.id} {p.title.split()[0]}" for p in pack.problems])
    graded_t12 = [p for p in pack.problems if p.needs_trace]
    if graded_t12:
        assert "Missing: program trace" in text  # the isolated project has no traces
    assert not _missing_glyphs(out, Path(pack.submission.get("writeup", "a2-writeup.pdf")).stem)
    body = text.split("Appendix: checklist")[0]  # the appendix quotes checker output literally
    assert re.search(r"\\(frac|mathbf|begin)\b", body) is None


NOTEBOOK_RUNNER = """
import json, sys
nb = json.load(open(sys.argv[1]))
ns = {"__name__": "__main__"}
for cell in nb["cells"]:
    if cell["cell_type"] != "code":
        continue
    src = "".join(cell["source"])
    if src.startswith("%%writefile "):  # what IPython's magic does
        head, _, body = src.partition("\\n")
        open(head.split(None, 1)[1], "w").write(body)
    else:
        exec(compile(src, "<cell>", "exec"), ns)
import torch
for name in ("PoolUpsampleNet", "ConvTransposeNet", "UNet"):
    out = ns[name](3, 32, 24, 1)(torch.zeros(2, 1, 32, 32))
    print(name, tuple(out.shape))
print(sorted(ns["RUN_CONFIGS"]))
"""


def test_real_notebook_runs_on_its_own(project, tmp_path):
    """Top to bottom in an empty folder, without the repository on the path: the models import and run."""
    import subprocess
    import sys

    out = tmp_path / "out"
    assert main(["build-writeup", "--out", str(out), "--name", "T", "--student-id", "1", "--no-verify"]) == 0
    work = tmp_path / "fresh"
    work.mkdir()
    (work / "run.py").write_text(NOTEBOOK_RUNNER)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(work)}
    done = subprocess.run([sys.executable, "run.py", str(out / "a2-code.ipynb")], cwd=work, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ("PoolUpsampleNet", "ConvTransposeNet", "UNet"):
        assert f"{name} (2, 24, 32, 32)" in done.stdout
    assert "unet" in done.stdout


@pytest.mark.parametrize("where", ["workbench.writeup.compile_pdf", "workbench.notebook.build_notebook"])
def test_an_interrupted_build_leaves_the_previous_outputs_as_they_were(fx, monkeypatch, where):
    assert _build(fx)[0] == 0
    out = fx / "build"
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert any(p.parts[0] == "files" for p in before) and len(before) > 4

    def interrupt(*_, **__):
        raise KeyboardInterrupt

    monkeypatch.setattr(where, interrupt)
    assert main(["build-writeup", "--pack", "fx", "--out", str(out), "--name", "Someone Else"]) == 130
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before and sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []


def test_a_full_disk_while_copying_the_figures_is_one_line_and_the_previous_outputs_stay(fx, monkeypatch, capsys):
    """A figure copy that ran out of space was an OSError traceback; now one line names the figure and the reason,
    and the previous build's PDF, sources, notebook and figures stay as they were."""
    import errno
    import shutil

    assert _build(fx)[0] == 0
    out = fx / "build"
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()

    def half_then_full(src, dst, **_):
        Path(dst).write_bytes(Path(src).read_bytes()[:100])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(src), None, str(dst))

    monkeypatch.setattr(shutil, "copyfile", half_then_full)
    assert main(["build-writeup", "--pack", "fx", "--out", str(out), "--name", "Someone Else"]) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(r"error: cannot write \S+/files/\S+\.png: no space left on device — .*\n", err), err
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before and sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []


def test_a_full_disk_names_the_output_not_the_staging_folder(fx, monkeypatch, capsys):
    """The error named the file in the build's staging folder (build/.building-<pid>-<random>/fx-writeup.md), gone by
    the time it is read; it names the output the build was writing. The previous outputs stay."""
    import errno
    import io

    assert _build(fx)[0] == 0
    out = fx / "build"
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()

    class FullDisk(io.FileIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("workbench.atomic.open", FullDisk, raising=False)
    assert main(["build-writeup", "--pack", "fx", "--out", str(out), "--name", "Someone Else"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot write {out / 'fx-writeup.md'}: no space left on device — ") and \
        err.count("\n") == 1, err
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before and sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize("locked", ["fx-writeup.pdf", "files", "ctrl-c", "ctrl-c-no-notebook-before"])
def test_an_output_open_in_another_program_is_one_line_and_the_previous_outputs_stay(fx, monkeypatch, capsys, locked):
    """On Windows a file open in another program (the PDF in a viewer) cannot be replaced or moved: the build was an
    OSError traceback after the sources, notebook and figures were already the new build's, beside the old PDF. Now
    the swap stops before anything new is in place, names the file, and the previous outputs stay as they were."""
    import errno

    assert _build(fx)[0] == 0
    out = fx / "build"
    if locked == "ctrl-c-no-notebook-before":  # the new build's notebook, moved in before the Ctrl-C, must go again
        notebooks = list(out.glob("*.ipynb"))
        assert len(notebooks) == 1
        notebooks[0].unlink()
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    real_replace, interrupted = os.replace, []

    def windows_replace(src, dst):  # what Windows does to a file another program holds open
        if locked.startswith("ctrl-c") and Path(dst) == out / "fx-writeup.pdf" and not interrupted:  # all set aside now
            interrupted.append(dst)
            raise KeyboardInterrupt
        if Path(src) == out / locked:
            raise PermissionError(errno.EACCES, "The process cannot access the file because it is being used by "
                                  "another process", str(src), 32, str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", windows_replace)
    rc = main(["build-writeup", "--pack", "fx", "--out", str(out), "--name", "Someone Else"])
    err = capsys.readouterr().err
    if locked.startswith("ctrl-c"):
        assert rc == 130
    else:
        assert rc == 2 and err.startswith(f"error: cannot replace {out / locked}: The process cannot access the file") \
            and "PDF viewer" in err and err.count("\n") == 1, err
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before and sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []


def test_two_builds_swapping_into_one_out_at_once_leave_the_later_one_whole(tmp_path, monkeypatch):
    """A second build's swap ran while the first had set the previous outputs aside: the first then failed on a
    non-empty files/ (a raw OSError) or, a moment later, left some outputs of each. Now the swaps take turns."""
    import threading

    from workbench.writeup import _swap_in

    names = ["files", "w.md", "w.pdf"]
    out = tmp_path / "out"
    stages = {}
    for who in ("old", "A", "B"):
        stage = out if who == "old" else tmp_path / f"stage-{who}"
        (stage / "files").mkdir(parents=True)
        (stage / "files" / "f.png").write_text(who)
        for name in names[1:]:
            (stage / name).write_text(who)
        stages[who] = stage
    real_replace, errors = os.replace, []

    def swap(who):
        try:
            _swap_in(stages[who], out, names)
        except BaseException as exc:  # noqa: BLE001 (any failure of either build fails the test)
            errors.append(exc)

    second = threading.Thread(target=swap, args=("B",))

    def replace(src, dst):
        real_replace(src, dst)
        if Path(dst) == stages["A"] / "old-w.pdf":  # A has set every previous output aside: B's build ends now
            second.start()
            second.join(0.3)  # with the lock B waits for A; without it, B swaps in here

    monkeypatch.setattr(os, "replace", replace)
    swap("A")
    second.join(10)
    assert errors == []
    assert {str(p.relative_to(out)): p.read_text() for p in out.rglob("*") if p.is_file()} == {
        "files/f.png": "B", "w.md": "B", "w.pdf": "B"}


def test_a_build_removes_the_staging_folders_of_killed_builds_only(fx):
    """A build killed by SIGKILL (no cleanup runs) left its .building-* folder in --out for good, one per kill; now
    the next build removes those whose process is gone, and leaves one in progress (its pid alive) alone."""
    import subprocess

    gone = subprocess.Popen(["true"])
    gone.wait()
    out = fx / "build"
    for name in (f".building-{gone.pid}-k1l2_3", f".building-{os.getpid()}-m4n5", ".building-q1w2"):
        (out / name).mkdir(parents=True)
        (out / name / "a2-writeup.typ").write_text("half a source")
    assert _build(fx)[0] == 0
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [f".building-{os.getpid()}-m4n5",
                                                                               ".building-q1w2"]



def test_a_build_s_staging_folder_is_of_the_form_the_next_build_removes(fx, monkeypatch):
    """Its name carries the builder's pid, so a build killed by SIGKILL leaves a folder the next build recognizes."""
    import workbench.writeup

    staged = []

    def killed(pack, stage, *_, **__):
        staged.append(stage.name)
        raise KeyboardInterrupt

    monkeypatch.setattr(workbench.writeup, "_build", killed)
    assert main(["build-writeup", "--pack", "fx", "--out", str(fx / "build"), "--name", "A"]) == 130
    assert len(staged) == 1 and re.fullmatch(rf"\.building-{os.getpid()}-[a-z0-9_]+", staged[0]), staged

def test_a_failed_typesetting_keeps_the_source_it_names(fx, monkeypatch, capsys):
    import workbench.writeup

    def refuse(typ_path, pdf_path):
        raise WriteupError(f"typst failed on {typ_path}: error: unclosed delimiter", "fix the source at that place")

    real = workbench.writeup.compile_pdf
    monkeypatch.setattr(workbench.writeup, "compile_pdf", refuse)
    out = fx / "build"
    assert main(["build-writeup", "--pack", "fx", "--out", str(out), "--name", "A", "--student-id", "1"]) == 2
    err = capsys.readouterr().err
    named = Path(err.split("typst failed on ")[1].split(":")[0])
    assert named.parent == out / "failed-build" and "#set document" in named.read_text()  # the Typst source
    assert not (out / named.with_suffix(".pdf").name).exists() and not list(out.glob(".building-*"))
    monkeypatch.setattr(workbench.writeup, "compile_pdf", real)
    assert main(["build-writeup", "--pack", "fx", "--out", str(out), "--name", "A", "--student-id", "1"]) in (0, 1)
    assert not (out / "failed-build").exists() and (out / named.with_suffix(".pdf").name).is_file()


def test_a_files_folder_the_build_did_not_make_is_never_replaced(fx, capsys):
    out = fx / "mine"
    (out / "files").mkdir(parents=True)
    (out / "files" / "notes.txt").write_text("keep me")
    assert main(["build-writeup", "--pack", "fx", "--out", str(out), "--name", "A", "--student-id", "1"]) == 2
    assert "files no writeup build made (notes.txt)" in capsys.readouterr().err
    assert [p.name for p in (out / "files").iterdir()] == ["notes.txt"] and not list(out.glob("*.pdf"))
    (out / "files" / "notes.txt").unlink()
    argv = ["build-writeup", "--pack", "fx", "--out", str(out), "--name", "A", "--student-id", "1"]
    assert main(argv) in (0, 1) and main(argv) in (0, 1)  # an empty one, and then its own, are replaced
    assert (out / "fx-writeup.pdf").is_file() and (out / "files" / ".workbench-figures").is_file()


def test_images_in_the_students_text_are_embedded_or_named_as_not_shown(fx, capsys):
    sol = fx / "solutions" / "fx" / "1.1.md"
    (fx / "solutions" / "fx" / "figs").mkdir()
    _png(fx / "solutions" / "fx" / "figs" / "sketch.png", (10, 200, 10))
    (fx / "solutions" / "fx" / "figs" / "notes.txt").write_text("not an image")
    sol.write_text(sol.read_text() + "\n![my sketch](figs/sketch.png)\n\n![web](https://example.com/a.png) "
                   "![gone](figs/missing.png) ![notes](figs/notes.txt) ![folder](figs) ![win](C:/figs/a.png)\n")
    rc, text = _build(fx)
    assert rc == 0
    copied = list((fx / "build" / "files").glob("own-*-sketch.png"))
    assert len(copied) == 1 and copied[0].read_bytes() == (fx / "solutions" / "fx" / "figs" / "sketch.png").read_bytes()
    assert f'image("files/{copied[0].name}")' in (fx / "build" / "fx-writeup.typ").read_text()
    flat = " ".join(text.split())
    assert "my sketch" in flat  # an image on its own line shows its caption, as the README's ![caption](path) says
    assert "image https://example.com/a.png not shown" in flat and "image figs/missing.png not shown" in flat
    out = " ".join(capsys.readouterr().err.split())  # the build's warnings
    assert "solutions/fx/1.1.md: image 'figs/missing.png' not shown" in out and "'https://example.com/a.png'" in out
    # why, in words to act on: a missing file was "only local PNG, JPEG, GIF or SVG files can be", like a URL
    assert "image 'figs/missing.png' not shown: no such file solutions/fx/figs/missing.png" in out
    assert "image 'https://example.com/a.png' not shown: a URL; save the image beside the solution file" in out
    assert "figs/missing.png not shown: no such file" in flat
    assert "image 'figs/notes.txt' not shown: only .png, .jpg, .jpeg, .gif or .svg files can be" in out
    assert "image 'figs' not shown: solutions/fx/figs is not a file" in out
    assert "image 'C:/figs/a.png' not shown: no such file" in out  # a drive letter is no URL scheme


def test_an_image_with_a_non_ascii_name_is_embedded_in_the_c_locale(fx):
    # LANG=C with PYTHONUTF8=0 (an ASCII file system encoding): the name as the UTF-8 solution spells it could not be
    # looked up, so an image that is there was "not shown: no such file"
    import os
    import subprocess
    import sys

    from conftest import REPO

    figs = fx / "solutions" / "fx" / "Bilder ü"
    figs.mkdir()
    _png(figs / "Skizze ö.png", (10, 200, 10))
    sol = fx / "solutions" / "fx" / "1.1.md"
    sol.write_text(sol.read_text(encoding="utf-8") + "\n![Skizze](<Bilder ü/Skizze ö.png>) ![weg](<Bilder ü/weg ö.png>)\n",
                   encoding="utf-8")
    env = {**os.environ, "LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    done = subprocess.run([sys.executable, str(REPO / "cli.py"), "build-writeup", "--pack", "fx", "--out",
                           str(fx / "build")], capture_output=True, env=env, timeout=120)
    assert done.returncode in (0, 1) and b"Traceback" not in done.stderr, done.stderr.decode(errors="replace")
    (copied,) = (fx / "build" / "files").glob("own-*.png")
    assert copied.read_bytes() == (figs / "Skizze ö.png").read_bytes()
    assert f'image("files/{copied.name}")' in (fx / "build" / "fx-writeup.typ").read_text(encoding="utf-8")
    assert "image Bilder ü/weg ö.png not shown: no such file" in " ".join(_pdf_text(fx / "build" / "fx-writeup.pdf").split())


def test_latex_delimiters_and_environments_in_dollars_render_as_math(fx):
    sol = fx / "solutions" / "fx" / "1.1.md"
    sol.write_text(sol.read_text() + "\nDISPLAY-CHECK \\[ \\mathcal{L}_1(\\eta) = \\frac{1}{n} \\| a \\|^2 \\] and "
                   "\\(x_i^\\top w\\) inline.\n\n$$ \\begin{align} p &= q \\\\ r &= s \\end{align} $$\n\n"
                   "Code keeps it: `\\[literal\\]`\n")
    rc, text = _build(fx)
    typ = (fx / "build" / "fx-writeup.typ").read_text()
    after = typ.split("DISPLAY-CHECK")[1].split("Code keeps it")[0]  # Typst math, not literal TeX
    assert rc == 0 and "$ cal(L)_1" in after and "1 / n" in after and "$x_i^top w$" in after
    assert "p & = q" in after and "\\[" not in after and "$$" not in after and "begin" not in after
    assert "\\[literal\\]" in " ".join(text.split())


def test_raw_tex_html_and_at_names_in_own_text_are_shown_not_dropped(fx):
    """Pandoc would drop raw TeX and HTML silently and make @name a citation: in the student's text they stay."""
    sol = fx / "solutions" / "fx" / "1.2.md"
    sol.write_text(sol.read_text() + "\nKEEP-CHECK \\vspace{1cm} then <b>tag</b> then @fig and a -- b.\n")
    rc, text = _build(fx, "--no-verify")
    assert rc == 0 and "KEEP-CHECK \\vspace{1cm} then <b>tag</b> then @fig and a -- b." in " ".join(text.split())


@pytest.mark.parametrize("message", [
    "Using ```python\nprint('x')\n``` and \\(r_l = 1\\).",  # a fence followed by words is prose, not an info string
    "```python extra words\ncode()\n```",
    "text\n~~~\nx = 1\n~~~ trailing\nmore",
    "````\n```\nnested\n```\n````\nafter",
])
def test_a_transcript_keeps_every_word_of_a_message(message):
    from workbench.transcript import split_fences

    shown = "\n".join(text for _, text in split_fences(message))
    for line in message.splitlines():
        if line.strip().strip("`~"):  # everything but bare fence lines must be shown
            assert line.strip() in shown, line


def test_an_edited_newest_trace_gives_way_to_the_newest_intact_one(fx, capsys):
    older = next((fx / "traces" / "1.1").glob("*.json"))
    newer_data = trace_data("1.1", "FIXTURE-NEWER-ANSWER")
    newer_data["started_at"] = newer_data["finished_at"] = "2025-01-01T00:00:00.000000Z"
    newer = write_trace(newer_data, fx / "traces")
    data = json.loads(newer.read_text())
    data["samples"][0]["messages"][-1]["content"] = "FIXTURE-TAMPERED answer"
    newer.write_text(json.dumps(data))
    rc, text = _build(fx, "--strict")
    flat = " ".join(text.split())
    assert "FIXTURE-ANSWER-1.1" in flat and "FIXTURE-TAMPERED" not in flat and "Edited trace" not in flat
    out = " ".join(capsys.readouterr().err.split())
    assert f"showing the newest intact trace {older.name}; newer, edited: {newer.name}" in out


def test_the_appendix_lists_failed_checks_first_in_plain_text(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from workbench import writeup
    from workbench.verdicts import ProblemReport, Verdict

    monkeypatch.setenv("WORKBENCH_ROOT", str(tmp_path))
    details = tuple({"what": f"check {i}", "expected": "x", "found": "x", "ok": True} for i in range(5)) + (
        {"what": "cited run.val_acc", "expected": ["$\\nabla_{\\mathbf{w}}$", "40.9"],
         "found": str(tmp_path / "solutions" / "a2" / "results" / "r" / "curves.png"), "ok": False},)
    own = Verdict("4.2", "own", "partial", 0.8, details)
    report = ProblemReport("4.2", 1.0, 2, ("solution",), {"solution": True}, (own,), 0.2, ())
    entry = SimpleNamespace(problem=SimpleNamespace(id="4.2", points=1.0, type=2), report=report, checked=report)
    text = "\n".join(writeup.appendix([entry], "", []))
    line = next(part for part in text.splitlines() if part.startswith("- 4\\.2 own"))  # Markdown-escaped
    assert line.index("cited run") < line.index("check 0")  # the failed check is shown, and first
    plain = line.replace("\\", "")  # md_text's escapes off: what the PDF shows
    assert "nabla_{mathbf{w}}" in plain and "\\\\\\\\nabla" not in line  # escaped once per TeX backslash, a repr doubled it
    assert "solutions/a2/results/r/curves.png" in plain and str(tmp_path) not in plain
    assert "check 2 [ok]" in plain and "check 3" not in plain and plain.endswith("(and 2 more)")  # 6 details, 4 shown


def test_the_appendix_says_nothing_where_a_check_found_nothing_not_python_s_none(tmp_path, monkeypatch):
    # 'found None' was Python's word in a grader's document; the automatic critique says 'found nothing'
    from types import SimpleNamespace

    from workbench import writeup
    from workbench.verdicts import ProblemReport, Verdict, detail, make_verdict

    monkeypatch.setenv("WORKBENCH_ROOT", str(tmp_path))
    found_none = detail("w1", "w_0 - 2 eta X^T a / n", None, False)
    assert "found nothing" in make_verdict("2.2.1", "own", [found_none]).critique  # the critique's word for it
    v = Verdict("2.2.1", "own", "incorrect", 0.0, (found_none,))
    report = ProblemReport("2.2.1", 1.0, 2, ("solution",), {"solution": True}, (v,), 1.0, ())
    entry = SimpleNamespace(problem=SimpleNamespace(id="2.2.1", points=1.0, type=2), report=report, checked=report)
    line = next(x for x in "\n".join(writeup.appendix([entry], "", [])).splitlines() if x.startswith("- 2\\.2\\.1"))
    assert "found nothing" in line and "None" not in line


def test_the_checklist_links_each_question_to_its_section(fx):
    """The appendix checklist named each question with its missing pieces, but its "Q" cells were dead text: a grader
    reading "missing: trace" could not click through to that question, as the appended traces' "Question:" lines do."""
    _build(fx)
    reader = pypdf.PdfReader(fx / "build" / "fx-writeup.pdf")
    last = reader.pages[-1]
    assert "Appendix: checklist" in last.extract_text()
    dests = [str(a.get_object().get("/Dest")) for a in last.get("/Annots") or []]
    questions = [name for name in reader.named_destinations if name.startswith("q-")]
    assert dests == ["q-1.1", "q-1.2", "q-1.3", "q-1.4", "q-2.1", "q-2.2"] and sorted(questions) == dests, dests
    assert all(reader.get_destination_page_number(reader.named_destinations[d]) < len(reader.pages) - 1 for d in dests)


def test_own_solutions_judged_wrong_are_named_though_nothing_is_missing(fx, monkeypatch, capsys):
    from workbench import writeup
    from workbench.verdicts import ProblemReport, Verdict

    def fake_verify(pack):
        own = Verdict("1.1", "own", "partial", 0.5, ({"what": "w", "expected": "1", "found": "2", "ok": False},))
        return {p.id: ProblemReport(p.id, p.points, p.type, p.deliverables, verdicts=(own,) if p.id == "1.1" else ())
                for p in pack.problems}, ""

    monkeypatch.setattr(writeup, "run_verification", fake_verify)
    _, text = _build(fx)
    out = " ".join(capsys.readouterr().out.split())
    assert "own solutions the checks judge wrong: 1.1 (partial 0.50); see `python cli.py verify`" in out
    assert "judge wrong" not in text  # a console note, not a box in the submitted PDF


def test_models_used_names_an_import_as_its_citation_does():
    from types import SimpleNamespace

    from workbench.traces import Trace
    from workbench.writeup import models_used

    data = trace_data("1.1", "FIXTURE", source="import")
    data["import"] = {"origin": "https://chatgpt.example/c/abc"}  # an export that gives no url
    trace = Trace(path=Path("x.json"), data=data)
    entry = SimpleNamespace(pick=SimpleNamespace(trace=trace, usable=True), shows_trace=True,
                            problem=SimpleNamespace(id="1.1", extra_credit=False))
    [(model, where)] = models_used([entry])
    assert where.startswith("https://chatgpt.example/c/abc;") and "https://chatgpt.example/c/abc" in trace.citation()


def test_models_used_dates_an_import_by_its_conversation_not_by_the_import():
    from types import SimpleNamespace

    from workbench.traces import Trace
    from workbench.writeup import models_used

    data = trace_data("1.1", "FIXTURE", source="import")
    data["started_at"] = "2026-03-01T10:00:00Z"  # the day of the import
    data["import"] = {"url": "https://chatgpt.com", "created_at": "2023-11-14T22:13:20Z"}  # the day the model answered
    trace = Trace(path=Path("x.json"), data=data)
    entry = SimpleNamespace(pick=SimpleNamespace(trace=trace, usable=True), shows_trace=True,
                            problem=SimpleNamespace(id="1.1", extra_credit=False))
    [(model, where)] = models_used([entry])
    assert where == ("https://chatgpt.com; conversation of 2023-11-14, imported from the user's chat export on "
                     "2026-03-01; questions 1.1")
    assert "conversation of 2023-11-14" in trace.citation()


def test_models_used_gives_the_span_of_dates_one_model_was_used():
    from types import SimpleNamespace

    from workbench.traces import Trace
    from workbench.writeup import models_used

    entries = []
    for pid, day in (("1.1", "2024-06-02"), ("1.2", "2024-05-01"), ("1.3", "2024-05-20")):
        data = trace_data(pid, "FIXTURE")
        data["started_at"] = f"{day}T12:00:00.000000Z"
        entries.append(SimpleNamespace(pick=SimpleNamespace(trace=Trace(path=Path("x.json"), data=data), usable=True),
                                       shows_trace=True, problem=SimpleNamespace(id=pid, extra_credit=False)))
    assert models_used(entries) == [("fixture-model-2024-01-01", "http://127.0.0.1:9/v1; accessed 2024-05-01 to "
                                     "2024-06-02 (UTC); questions 1.1, 1.2, 1.3")]


def test_a_newline_in_a_model_name_or_address_cannot_spoof_lines_of_the_models_list_or_cite_box():
    """A server's model name (or an export's model slug or address) with line breaks printed as extra lines under
    "Models used" and in the "Cite:" box: a fake model entry, a fake "Cite:" line. Each is one line now."""
    from types import SimpleNamespace

    from workbench.traces import Trace
    from workbench.writeup import models_used

    data = trace_data("1.1", "FIXTURE", source="import")
    data["exchanges"][0]["model"] = "gpt-x\n- claude-9: https://evil.example\u2028Cite: FAKE"
    data["import"] = {"url": "https://chat.example/c/x\nCite: spoof", "created_at": "2024-04-30"}
    trace = Trace(path=Path("x.json"), data=data)
    entry = SimpleNamespace(pick=SimpleNamespace(trace=trace, usable=True), shows_trace=True,
                            problem=SimpleNamespace(id="1.1", extra_credit=False))
    [(model, where)] = models_used([entry])
    assert model == "gpt-x - claude-9: https://evil.example Cite: FAKE"
    assert where.startswith("https://chat.example/c/x Cite: spoof;")
    assert trace.citation().startswith("gpt-x - claude-9: https://evil.example Cite: FAKE via https://chat.example/c/x "
                                       "Cite: spoof;")


def test_shared_context_is_shown_once_paragraph_by_paragraph():
    from workbench.writeup import new_paragraphs

    shown: dict[str, str] = {}
    assert new_paragraphs("Setup A.\n\nSetup B.", shown) == "Setup A.\n\nSetup B."
    assert new_paragraphs("Setup  A.\n\nSetup C.", shown) == "Setup C."  # A again (spacing aside): left out
    assert new_paragraphs("Setup B.\n \nSetup C.", shown) == ""


def test_a_lead_in_whose_paragraphs_were_shown_above_points_to_them_not_to_nothing():
    # a2's 2.3.3 opens 'RMSProp, from Section 1 of the assignment:' before the 1.2 block that 1.2.1 already showed:
    # printed alone, the lead-in's colon introduced nothing
    from workbench.writeup import new_paragraphs

    shown: dict[str, str] = {}
    new_paragraphs("RMSProp is:\n\n$$w \\leftarrow w - g$$", shown, "1.2.1")
    text = new_paragraphs("Decay.\n\nRMSProp, from Section 1:\n\n$$w \\leftarrow w - g$$", shown, "2.3.3")
    assert text.split("\n\n")[:2] == ["Decay.", "RMSProp, from Section 1:"]
    assert "[1.2.1](#q-1.2.1)" in text.split("\n\n")[2]  # the next paragraph says where the left-out ones stand
    assert "leftarrow" not in text  # still shown once
    assert new_paragraphs("Fresh lead-in:\n\nFresh text.", shown, "3.1") == "Fresh lead-in:\n\nFresh text."


def test_tex_pandoc_cannot_convert_is_one_warning_naming_its_file(fx, capsys):
    sol = fx / "solutions" / "fx" / "1.1.md"
    sol.write_text(sol.read_text() + "\nWith $\\mathbbm{1}_{x>0}$ here.\n")
    rc, _ = _build(fx)
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert rc == 0 and warnings == [
        "warning: solutions/fx/1.1.md: Could not convert TeX math \\mathbbm{1}_{x>0}, shown as TeX source"]


def test_an_own_image_whose_content_is_not_its_suffix_is_shown_or_named_not_a_typst_error(fx, capsys):
    from PIL import Image

    figs = fx / "solutions" / "fx" / "figs"
    figs.mkdir()
    Image.new("RGB", (60, 30), (10, 10, 200)).save(figs / "photo.png", format="JPEG")  # a JPEG saved as .png
    (figs / "broken.png").write_bytes(b"not an image at all")
    _png(figs / "cut.png", (200, 10, 10))
    (figs / "cut.png").write_bytes((figs / "cut.png").read_bytes()[:40])  # a PNG header, then cut off
    import numpy as np

    noise = (np.random.default_rng(0).random((40, 40, 3)) * 255).astype("uint8")
    Image.fromarray(noise).save(figs / "half.png")
    (figs / "half.png").write_bytes((figs / "half.png").read_bytes()[:2000])
    sol = fx / "solutions" / "fx" / "1.1.md"
    sol.write_text(sol.read_text() + "\n![photo](figs/photo.png)\n\n![broken](figs/broken.png)\n\n![cut](figs/cut.png)\n"
                   "\n![half](figs/half.png)\n")
    rc, text = _build(fx)
    assert rc == 0  # the cut-off PNG failed the whole build in Typst ("failed to decode image" at a .typ line)
    [copied] = (fx / "build" / "files").glob("own-*-photo.jpg")
    assert copied.read_bytes() == (figs / "photo.png").read_bytes()
    assert "image figs/broken.png not shown" in " ".join(text.split())
    out = " ".join(capsys.readouterr().err.split())
    assert "solutions/fx/1.1.md: image 'figs/broken.png' not shown" in out
    assert "image 'figs/cut.png' not shown: solutions/fx/figs/cut.png is not a readable PNG" in out
    # cut off inside its pixel data: the header reads, the pixels do not
    assert "image 'figs/half.png' not shown: solutions/fx/figs/half.png is not a readable PNG" in out


def test_every_markdown_image_form_is_embedded_or_a_note_never_a_typst_error(fx, capsys):
    figs = fx / "solutions" / "fx" / "figs"
    figs.mkdir()
    _png(figs / "my plot.png", (10, 200, 10))
    _png(figs / "b.png", (200, 10, 10))
    sol = fx / "solutions" / "fx" / "1.1.md"
    sol.write_text(sol.read_text() + "\n![spaces](<figs/my plot.png>) ![quoted](figs/b.png 'title') "
                   "![Figure [1]](figs/b.png) ![bare spaces](figs/my plot.png)\n\n![by reference][r]\n\n"
                   "[r]: figs/b.png\n")
    rc, text = _build(fx)
    assert rc == 0
    typ = (fx / "build" / "fx-writeup.typ").read_text()
    assert len(list((fx / "build" / "files").glob("own-*"))) == 2 and typ.count('image("files/own-') == 4
    assert "image figs/b.png not shown" in " ".join(text.split())  # the reference-style one
    assert "image figs/b.png not shown: write it as" in " ".join(capsys.readouterr().err.split())


def test_warnings_with_brackets_are_printed_as_written(fx, capsys):
    sol = fx / "solutions" / "fx" / "1.1.md"
    sol.write_text(sol.read_text() + "\n![x](figs/[/]draft[b].png)\n")
    rc, _ = _build(fx)
    out = " ".join(capsys.readouterr().err.split())
    assert rc == 0 and "image 'figs/[/]draft[b].png' not shown" in out


def test_build_warnings_and_the_strict_failure_go_to_stderr_the_report_to_stdout(fx, capsys):
    """`build-writeup > report.txt` put the warnings in the file and showed nothing: warnings (and --strict's
    failure, exit 1) are on stderr as every other command's; the checklist and the files written on stdout."""
    sol = fx / "solutions" / "fx" / "1.1.md"
    sol.write_text(sol.read_text() + "\n![x](figs/missing.png)\n")
    rc, _ = _build(fx, "--strict")  # 1.2 has no trace and no critique
    out, err = capsys.readouterr()
    assert rc == 1
    assert "warning: solutions/fx/1.1.md: image 'figs/missing.png' not shown" in " ".join(err.split())
    assert "--strict: required pieces are missing" in err
    assert "warning:" not in out and "--strict" not in out
    assert "Writeup checklist" in out and f"wrote {fx / 'build' / 'fx-writeup.pdf'}" in out


def test_a_typst_error_names_the_line_of_the_kept_source(fx, capsys):
    sol = fx / "solutions" / "fx" / "1.1.md"
    sol.write_text(sol.read_text() + '\n```{=typst}\n#panic("FIXTURE-BOOM")\n```\n')
    assert main(["build-writeup", "--pack", "fx", "--out", str(fx / "build"), "--no-verify"]) == 2
    err = capsys.readouterr().err
    m = re.search(r"typst failed on (\S+\.typ):(\d+):\d+: panicked with: FIXTURE-BOOM", err)
    assert m, err
    assert "FIXTURE-BOOM" in Path(m.group(1)).read_text().splitlines()[int(m.group(2)) - 1]


def test_a_transcript_marks_a_cut_off_sample(tmp_path):
    """The writeup shows a sample cut off at the token limit as such, whoever wrote the critique."""
    from workbench.traces import load_trace
    from workbench.transcript import transcript

    data = trace_data("1.2", "FIXTURE half an answer")
    data["exchanges"][0]["choices"][0]["finish_reason"] = "length"
    blocks = "\n".join(transcript(load_trace(write_trace(data, tmp_path / "traces"))))
    assert "Caution: the answer was cut off at the token limit" in blocks
    whole = "\n".join(transcript(load_trace(write_trace(trace_data("1.2", "FIXTURE whole"), tmp_path / "traces"))))
    assert "Caution" not in whole


def test_a_transcript_names_the_reasoning_kept_in_the_trace_without_printing_it(tmp_path):
    """Reasoning can run to pages: the writeup says under the reply that it exists and where, not what it says."""
    from workbench.traces import load_trace
    from workbench.transcript import transcript

    data = trace_data("1.2", "FIXTURE answer")
    data["exchanges"][0]["choices"][0]["reasoning"] = "FIXTURE-THOUGHT one two three four"
    path = write_trace(data, tmp_path / "traces")
    text = "\n".join(transcript(load_trace(path)))
    note = f"The model's reasoning (5 words) is kept in the trace file {path.name}"
    assert note in text and "FIXTURE-THOUGHT" not in text
    assert text.index("FIXTURE answer") < text.index(note) < text.index("#wb-cite")
    plain = "\n".join(transcript(load_trace(write_trace(trace_data("1.2", "FIXTURE plain"), tmp_path / "traces"))))
    assert "reasoning" not in plain


def test_a_transcripts_reasoning_note_sits_under_its_own_sample_and_turn(tmp_path):
    from workbench.traces import load_trace
    from workbench.transcript import transcript

    data = trace_data("1.2", "FIXTURE first")
    chat = data["samples"][0]["messages"] + [{"role": "user", "content": "And then?"},
                                             {"role": "assistant", "content": "FIXTURE second"}]
    data["samples"] = [{"index": 0, "messages": data["samples"][0]["messages"]}, {"index": 1, "messages": chat}]
    data["exchanges"] = [
        {"sample": 0, "turn": 0, "model": "fixture-model-2024-01-01",
         "choices": [{"index": 0, "content": "FIXTURE first", "finish_reason": "stop"}]},
        {"sample": 1, "turn": 0, "model": "fixture-model-2024-01-01",
         "choices": [{"index": 0, "content": "FIXTURE first", "finish_reason": "stop"}]},
        {"sample": 1, "turn": 1, "model": "fixture-model-2024-01-01",
         "choices": [{"index": 0, "content": "FIXTURE second", "finish_reason": "stop",
                      "reasoning": "First,  check\nthe rows.\n\nThen sum."}]}]
    path = write_trace(data, tmp_path / "traces")
    text = "\n".join(transcript(load_trace(path)))
    note = f"The model's reasoning (6 words) is kept in the trace file {path.name}"  # words, not spaces or lines
    assert text.count("The model's reasoning") == 1 and note in text
    assert text.index("Sample 2 of 2") < text.index("FIXTURE second") < text.index(note)



def test_a_transcript_message_s_role_label_stays_with_its_first_lines(tmp_path):
    """"Program trace" and the SYSTEM label of the first message sat alone at the bottom of a page (A2's 2.1.2,
    page 8 of a built writeup) and the message's text began the next page."""
    from workbench.traces import load_trace
    from workbench.transcript import transcript
    from workbench.typeset import markdown_to_typst

    data = trace_data("1.2", "FIXTURE answer")
    data["samples"][0]["messages"][0]["content"] = "FIXTURE-SYSTEM you are a fixture.\nReason step by step."
    body, _ = markdown_to_typst("\n\n".join(transcript(load_trace(write_trace(data, tmp_path / "traces")))),
                                tmp_path / "t.md")
    _on_one_page_at_every_gap(tmp_path, "=== Program trace\n" + body, "SYSTEM", "FIXTURE-SYSTEM", range(100, 200, 6))

def test_a_transcript_labels_samples_marks_imports_and_shows_empty_messages(tmp_path):
    from workbench.traces import load_trace
    from workbench.transcript import split_fences, transcript

    data = trace_data("1.2", "FIXTURE first", source="import")
    second = [{"role": "user", "content": "FIXTURE again"}, {"role": "assistant", "content": ""}]
    data["samples"].append({"index": 1, "messages": second})
    blocks = transcript(load_trace(write_trace(data, tmp_path / "traces")))
    assert blocks[0] == '```{=typst}\n#wb-tag("imported from the user\'s chat export")\n```'  # above the transcript
    text = "\n".join(blocks)
    assert text.index('"Sample 1 of 2"') < text.index("FIXTURE first") < text.index('"Sample 2 of 2"')
    assert "(empty message)" in text
    assert split_fences("```python\nx = 1\n```\n\n") == [("python", "x = 1")]  # no empty blocks around it
    assert split_fences("a\n```\n\n```\nb") == [("chat", "a"), ("chat", "b")]


def test_a_transcript_splits_fenced_code_as_commonmark_does():
    from workbench.transcript import split_fences

    assert split_fences("see\n~~~python\nx = 1\n~~~\nok") == [("chat", "see"), ("python", "x = 1"), ("chat", "ok")]
    assert split_fences("```\nplain\n```") == [("text", "plain")]  # untagged code is code, not chat prose
    assert split_fences("   ```sh\nls\n```") == [("sh", "ls")]  # up to 3 spaces before a fence
    assert split_fences("    ```sh\n    ls") == [("chat", "    ```sh\n    ls")]  # 4: indented text, no fence
    # a shorter fence inside a longer one is the code's own text
    assert split_fences("````\n```\nnested\n```\n````\nafter") == [("text", "```\nnested\n```"), ("chat", "after")]
    assert split_fences("\n \n  a\n\n  b\n\t\n") == [("chat", "  a\n\n  b")]  # blank edges go, the rest stays


def test_a_transcript_shows_a_null_message_as_empty_an_unknown_role_as_other_and_cites_the_file(tmp_path):
    from workbench.traces import load_trace
    from workbench.transcript import transcript

    data = trace_data("1.2", "FIXTURE answer")
    data["samples"][0]["messages"][:0] = [{"role": "developer", "content": "FIXTURE-DEV"},
                                          {"role": "assistant", "content": None}]
    path = write_trace(data, tmp_path / "traces")
    blocks = transcript(load_trace(path))
    assert blocks[0].startswith('```{=typst}\n#wb-msg("other")[') and "FIXTURE-DEV" in blocks[1]
    assert blocks[3].startswith('```{=typst}\n#wb-msg("assistant")[') and "(empty message)" in blocks[4]
    assert "None" not in "\n".join(blocks)
    assert blocks[-1] == ('```{=typst}\n#wb-cite("fixture-model-2024-01-01 via http://127.0.0.1:9/v1, accessed '
                          f'2024-05-01 (UTC); trace {path.stem[-12:]} ({path.name})")\n```')


def test_a_one_epoch_run_is_one_epoch_not_one_epochs():
    from workbench import sections
    from workbench.evidence import Run

    one = Run("r", Path("r"), epochs=({"epoch": 1, "val_acc": 40.0},))
    assert "Final figures of the run (1 epoch), from its metrics.json:" in sections.run_section(one, object(), {})


def test_run_figures_pick_the_known_keys_and_risk_notes_count_graded_points_only():
    from types import SimpleNamespace

    from workbench import sections
    from workbench.evidence import Run

    run = Run("r", Path("r"), epochs=({"lr": 0.1, "val_acc": 40.0, "epoch": 1}, {"lr": 0.01, "val_acc": 55.5, "epoch": 2}))
    table = next(line for line in sections.run_section(run, object(), {}) if line.startswith("| "))
    assert table.splitlines()[0] == "| epoch | val\\_acc |" and table.splitlines()[2] == "| 2 | 55\\.5 |"
    assert sections.risk_note(SimpleNamespace(points=0.5, graded=True), "why") == "0.5 pt at risk: why"
    assert sections.risk_note(SimpleNamespace(points=0.0, graded=False), "why") == "why"


def test_code_shown_is_the_whole_top_level_definition_with_its_decorators(tmp_path, monkeypatch):
    from workbench.evidence import class_source

    monkeypatch.setenv("WORKBENCH_ROOT", str(tmp_path))
    (tmp_path / "wbfixpkg").mkdir()
    (tmp_path / "wbfixpkg" / "mod.py").write_text("import dataclasses\n\n\n@dataclasses.dataclass(\n    frozen=True)\n"
                                                  "class Net:\n    x: int = 1\n\n\ndef after():\n    pass\n")
    code = class_source("wbfixpkg.mod:Net")
    assert code.error == "" and code.source == "@dataclasses.dataclass(\n    frozen=True)\nclass Net:\n    x: int = 1"


def test_a_run_is_complete_with_the_images_asked_for(tmp_path):
    """A pack that needs only curves.png from a run does not count its missing samples.png against it."""
    from workbench.evidence import load_run

    run = tmp_path / "r"
    run.mkdir()
    (run / "config.json").write_text("{}")
    (run / "metrics.json").write_text('{"epochs": [{"epoch": 1, "val_acc": 40.0}]}')
    (run / "curves.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(8))
    only = load_run(run, ("curves.png",))
    assert only.problems == () and only.complete and only.curves == run / "curves.png" and only.samples is None
    both = load_run(run)
    assert len(both.problems) == 1 and both.problems[0].endswith("samples.png is missing") and not both.complete


@pytest.mark.parametrize("metrics", [b"\xff\xfe{}", b'{"epochs": [{"epoch": 1' + b"0" * 5000 + b"}]}"])
def test_a_run_whose_metrics_are_not_utf8_or_hold_a_number_too_long_is_unreadable_not_a_crash(tmp_path, metrics):
    """UnicodeDecodeError, and json.loads' ValueError on an int of over 4300 digits, are no JSONDecodeError."""
    from workbench.evidence import load_run

    run = tmp_path / "r"
    run.mkdir()
    (run / "config.json").write_text("{}")
    (run / "metrics.json").write_bytes(metrics)
    assert any(p.endswith(")") and "metrics.json is unreadable" in p for p in load_run(run, ()).problems)


def test_cited_runs_take_the_longest_pinned_name_and_each_run_is_shown_once(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from workbench.evidence import cited_runs, runs_for

    monkeypatch.setenv("WORKBENCH_ROOT", str(tmp_path))
    base = tmp_path / "solutions" / "fx" / "results"
    for name in ("lr", "lr.0.01"):
        (base / name).mkdir(parents=True)
    sol = SimpleNamespace(cites={"lr.0.01.val_acc": 50.0, "lr.val_loss": 1.5, "gone.val_acc": 1.0, "lr.0.01.val_loss": 1.4})
    assert cited_runs("fx", sol) == [base / "lr.0.01", base / "lr", base / "gone", base / "lr.0.01"]
    runs = runs_for(SimpleNamespace(name="fx"), SimpleNamespace(kind="plot"), sol)
    assert [r.name for r in runs] == ["lr.0.01", "lr", "gone"]


def test_a_plot_the_pack_names_outside_a_training_run_is_shown_and_counted_as_verify_counts_it(fx):
    """A pack's plot_files naming solutions/<pack>/figs/loss.png: verify said the plot was there, while the writeup
    wanted a training run around it (config.json and metrics.json missing, points at risk) and never showed it."""
    (fx / "problems" / "fx" / "reference.py").write_text(textwrap.dedent('''\
        from pathlib import Path

        from workbench.verify import Unchecked

        ANSWER_KEYS = {}


        def reference(problem, ctx):
            raise Unchecked("no reference")


        def check(problem, sub, ctx):
            raise Unchecked("checked by hand")


        def plot_files(problem, ctx):
            return [Path(ctx.results_dir).parent / "figs" / "loss.png"] if problem.id == "2.2" else []
        '''))
    sol = fx / "solutions" / "fx" / "2.2.md"
    sol.write_text(sol.read_text().replace("cites: {tiny.val_acc: 50.0}\n", ""))
    (fx / "solutions" / "fx" / "figs").mkdir()
    _png(fx / "solutions" / "fx" / "figs" / "loss.png", (10, 200, 10))
    assert main(["verify", "--pack", "fx", "--problem", "2.2"]) == 0
    rc, text = _build(fx)
    flat = " ".join(text.split())
    assert "config.json is missing" not in flat and "Missing: plot" not in flat
    assert "Plots in solutions/fx/figs Figure 1: loss.png" in flat  # the plot itself is in the PDF, under no "run"
    assert (fx / "build" / "fx-writeup.md").read_text().count("loss.png") >= 1
    # the notebook: the plot among the pinned outputs, and no training configuration of a run that is none
    import nbformat
    nb = nbformat.read(str(fx / "build" / "fx-code.ipynb"), as_version=4)
    [cell] = [c for c in nb.cells if c.cell_type == "code" and "solutions/fx/figs" in c.source]
    assert cell.source == "# Plots in 'solutions/fx/figs', as the writeup shows them: ['loss.png']"
    assert [o["data"]["text/plain"] for o in cell.outputs] == ["<loss.png>"] and "image/png" in cell.outputs[0]["data"]
    assert not any("RUN_CONFIGS" in c.source for c in nb.cells)
    (fx / "solutions" / "fx" / "figs" / "loss.png").unlink()  # gone: a box, as verify says
    assert main(["verify", "--pack", "fx", "--problem", "2.2"]) == 1
    _, text = _build(fx)
    assert ("Missing: plot 0.5 pt at risk: solutions/fx/figs/loss.png is missing. Fix: make the plot and save it in "
            "solutions/fx/figs/") in " ".join(text.split())  # not "train the model and pin the run"


def test_a_cited_run_the_packs_checks_do_not_take_is_shown_but_not_counted_as_the_plot(tmp_path, monkeypatch):
    """A2 with only a --limit UNet run pinned: verify said 6.2's plot was missing, while the writeup showed the cited
    run as 6.2's plot and its checklist put 0 points at risk."""
    from types import SimpleNamespace

    from workbench.evidence import runs_for

    monkeypatch.setenv("WORKBENCH_ROOT", str(tmp_path))
    _write_run(tmp_path, "unet")
    sol, problem = SimpleNamespace(cites={"unet.val_acc": 50.0}), SimpleNamespace(kind="plot", id="6.2")
    (run,) = runs_for(SimpleNamespace(name="fx"), problem, sol, finder=lambda p: [])  # the pack's checks take none
    assert run.curves is not None and not run.complete  # shown, and missing
    assert "the checks do not count this run for 6.2 (`python cli.py verify --problem 6.2 --pack fx` says why)" in run.problems
    assert runs_for(SimpleNamespace(name="fx"), problem, sol)[0].complete  # a pack without plot_files: cites decide
    # the run's own faults stay beside that line, and a cited run that is not there is only 'no pinned run folder'
    (_write_run(tmp_path, "bare") / "curves.png").unlink()
    sol.cites = {"bare.val_acc": 50.0, "gone.val_acc": 1.0}
    bare, gone = runs_for(SimpleNamespace(name="fx"), problem, sol, finder=lambda p: [])
    assert bare.problems == ("solutions/fx/results/bare/curves.png is missing",
                             "the checks do not count this run for 6.2 (`python cli.py verify --problem 6.2 --pack fx` says why)")
    assert gone.problems == ("no pinned run folder solutions/fx/results/gone",)


def test_a_pinned_run_the_checks_do_not_take_is_not_fixed_by_pinning_it_again(tmp_path, monkeypatch):
    """The box under a pinned 1-epoch run said 'Fix: train the model and pin the run (python cli.py pin) to
    solutions/fx/results/tiny/', where that run already is: another run, with the question's settings, is needed."""
    from types import SimpleNamespace

    from workbench import sections
    from workbench.evidence import runs_for

    monkeypatch.setenv("WORKBENCH_ROOT", str(tmp_path))
    _write_run(tmp_path, "tiny")
    problem = SimpleNamespace(kind="plot", id="6.2", points=0.5, graded=True)
    sol = SimpleNamespace(cites={"tiny.val_acc": 50.0, "gone.val_acc": 1.0})
    tiny, gone = runs_for(SimpleNamespace(name="fx"), problem, sol, finder=lambda p: [])
    text = " ".join("\n".join(sections.run_section(tiny, problem, {})).split())
    assert "Fix: train a run with the settings the question asks for" in text and "pin that run" in text
    assert "to solutions/fx/results/tiny/" not in text
    text = " ".join("\n".join(sections.run_section(gone, problem, {})).split())  # nothing pinned there: pin it there
    assert "Fix: train the model and pin the run (python cli.py pin) to solutions/fx/results/gone/" in text


def test_a_cite_of_a_run_outside_the_pinned_results_shows_no_run(tmp_path, monkeypatch):
    """A cite naming a path (/tmp/runs/x.val_acc, ../../../runs/x.val_acc) put that unpinned run's plots in the PDF,
    as the question's plot where the pack names none."""
    from types import SimpleNamespace

    from workbench.evidence import cited_runs, runs_for

    monkeypatch.setenv("WORKBENCH_ROOT", str(tmp_path))
    _write_run(tmp_path, "tiny")
    outside = _write_run(tmp_path, "elsewhere").rename(tmp_path / "elsewhere")
    sol = SimpleNamespace(cites={f"{outside}.val_acc": 50.0, "../../../elsewhere.val_acc": 50.0, "tiny.val_acc": 50.0})
    assert cited_runs("fx", sol) == [tmp_path / "solutions" / "fx" / "results" / "tiny"]
    sol.cites.pop("tiny.val_acc")
    assert runs_for(SimpleNamespace(name="fx"), SimpleNamespace(kind="plot", id="6.2"), sol) == ()


def test_a_checklist_counts_code_as_a_coding_answer_and_every_run_of_a_plot(tmp_path):
    from types import SimpleNamespace

    from workbench.evidence import CodeSource, Run, TracePick, checklist_row

    none = TracePick(issue="none")
    coding = SimpleNamespace(id="2.1", pack="fx", points=0.5, type=1, kind="coding", graded=True,
                             deliverables=("solution", "code"))
    code = CodeSource("fxpkg.models:TinyNet", "TinyNet", tmp_path / "models.py", "class TinyNet: ...")
    row = checklist_row(coding, None, none, code, ())
    assert row.missing == [] and row.points_at_risk == 0.0  # the code is the answer of a coding question
    written = SimpleNamespace(**{**vars(coding), "kind": "written"})
    row = checklist_row(written, None, none, code, ())
    assert row.missing == ["solution"] and row.points_at_risk == 0.5
    plot = SimpleNamespace(id="2.2", pack="fx", points=0.5, type=4, kind="plot", graded=True, deliverables=("plot",))
    good, bad = Run("a", tmp_path), Run("b", tmp_path, problems=("b/curves.png is missing",))
    row = checklist_row(plot, None, none, None, (good, bad))
    assert row.missing == ["plot"] and row.points_at_risk == 0.5 and "b/curves.png is missing" in row.notes


def test_a_checklist_counts_an_edited_trace_as_missing_and_requires_nothing_of_an_ungraded_question(tmp_path):
    from types import SimpleNamespace

    from workbench.evidence import TracePick, checklist_row

    edited = TracePick(trace=SimpleNamespace(path=tmp_path / "t.json"), issue="edited", detail="t.json: content edited")
    graded = SimpleNamespace(id="1.1", pack="fx", points=2.0, type=2, kind="written", graded=True,
                             deliverables=("trace",), pack_flag=lambda: " --pack fx")
    row = checklist_row(graded, None, edited, None, ())
    assert row.present == {"trace": False} and row.missing == ["trace"] and row.points_at_risk == 2.0
    assert any(note.startswith("edited trace: t.json: content edited; restore it") for note in row.notes)
    ungraded = SimpleNamespace(**{**vars(graded), "points": 0.0, "graded": False})
    row = checklist_row(ungraded, None, TracePick(issue="none"), None, ())
    assert (row.required, row.missing, row.points_at_risk) == ((), [], 0.0)


def test_a_checklist_without_a_trace_names_both_commands_that_make_one(tmp_path):
    """The note said '(or import-chat)', where verify, traces and the PDF's box give the whole command."""
    from types import SimpleNamespace

    from workbench.evidence import TracePick, checklist_row

    graded = SimpleNamespace(id="1.1", pack="fx", points=2.0, type=2, kind="written", graded=True,
                             deliverables=("trace", "critique"), pack_flag=lambda: " --pack fx")
    row = checklist_row(graded, None, TracePick(issue="none"), None, ())
    assert ("no LLM trace: `python cli.py prompt 1.1 --pack fx` or `python cli.py import-chat FILE --problem 1.1 "
            "--pack fx`, then critique it under “## Critique” in solutions/fx/1.1.md") in row.notes, row.notes


def test_a_checklist_without_an_own_solution_says_where_it_goes(tmp_path):
    """With no solutions/fx/1.1.md, the row's only note on the file was 'automatic critique shown; add your own
    “## Critique”', though `solution` was missing too (its points at risk); it names the section and the file."""
    from types import SimpleNamespace

    from workbench.evidence import TracePick, checklist_row

    graded = SimpleNamespace(id="1.1", pack="fx", points=1.0, type=2, kind="written", graded=True,
                             deliverables=("trace", "critique", "solution"), pack_flag=lambda: " --pack fx")
    row = checklist_row(graded, None, TracePick(trace=SimpleNamespace(path=tmp_path / "t.json")), None, (), auto="automatic")
    assert row.missing == ["critique", "solution"]
    assert "write your own solution under “## Solution” in solutions/fx/1.1.md" in row.notes, row.notes
    written = SimpleNamespace(problem="1.1", path=tmp_path / "1.1.md", has_solution=True, has_critique=True,
                              off_level=(), unread=(), open_fence=None)
    row = checklist_row(graded, written, TracePick(trace=SimpleNamespace(path=tmp_path / "t.json")), None, ())
    assert row.missing == [] and not any("Solution" in n for n in row.notes), row.notes


def test_a_plot_needs_a_run_with_real_images_and_a_plot_folder_needs_no_run_files(tmp_path):
    from types import SimpleNamespace

    from workbench.evidence import TracePick, checklist_row, load_run

    run = tmp_path / "r"
    run.mkdir()
    (run / "curves.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(8))
    plots = load_run(run, ("curves.png",), run_files=False)  # a folder of plots: no config.json or metrics.json asked
    assert (plots.problems, plots.plots_only, plots.complete) == ((), True, True)
    (run / "samples.png").write_text("not an image")
    shown = load_run(run)  # a training run: both run files, and images that are images
    assert shown.problems == (f"{run}/config.json is missing", f"{run}/metrics.json is missing",
                              f"{run}/samples.png is not a PNG or JPEG image") and shown.plots_only is False
    plot = SimpleNamespace(id="2.2", pack="fx", points=0.5, type=4, kind="plot", graded=True, deliverables=("plot",))
    row = checklist_row(plot, None, TracePick(issue="none"), None, ())  # no run at all: missing, and how to get one
    assert row.missing == ["plot"] and row.points_at_risk == 0.5
    assert any(n.startswith("no pinned run found: train the model") for n in row.notes)


def test_the_auto_critique_shown_is_the_shown_trace_s_one_paragraph_per_sample(tmp_path):
    from types import SimpleNamespace

    from workbench.evidence import TracePick, auto_critique, may_need_auto_critique
    from workbench.verdicts import AUTO_LABEL, ProblemReport, Verdict

    pick = TracePick(trace=SimpleNamespace(path=tmp_path / "t.json"))

    def report(*subjects):
        return ProblemReport("1.1", 1.0, 2, (), verdicts=tuple(
            Verdict("1.1", s, "incorrect", critique=f"{AUTO_LABEL}wrong in {s}.") for s in subjects))

    assert auto_critique(pick, report("own", "t.json#0")) == "wrong in t.json#0."  # one sample: no "Sample 1:"
    assert auto_critique(pick, report("t.json#0", "t.json#1", "t.json.bak#0", "own")) == (
        "Sample 1: wrong in t.json#0.\n\nSample 2: wrong in t.json#1.")  # not another file's, not the own one
    entry = SimpleNamespace(pick=pick, solution=SimpleNamespace(has_critique=True))
    assert not may_need_auto_critique(entry)  # the student's own critique is shown instead
    assert may_need_auto_critique(SimpleNamespace(pick=pick, solution=None))


def test_a_run_s_data_path_is_shown_without_the_home_folder(tmp_path, monkeypatch):
    """The PDF is handed in: a data path under the student's home shows as ~/..., one in the project as relative."""
    from workbench import sections
    from workbench.evidence import Run
    from workbench.paths import shown_paths

    home = tmp_path / "home" / "ada-lovelace"
    (home / "project").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("WORKBENCH_ROOT", str(home / "project"))
    config = {"data_source": {"kind": "folder", "path": str(home / "data" / "horses")},
              "settings": {"data": str(home / "project" / "data"), "palette": "/opt/palettes/p.npy", "note": "a/b"}}
    assert shown_paths(config) == {"data_source": {"kind": "folder", "path": "~/data/horses"},
                                   "settings": {"data": "data", "palette": "/opt/palettes/p.npy", "note": "a/b"}}
    lines = "\n".join(sections.run_section(Run("new", home / "project" / "results" / "new", config=config), object(), {}))
    assert "path \\= \\~\\/data\\/horses" in lines and "ada-lovelace" not in lines
    # a config with a bare `data` path and no data_source: the "Data source" line showed it whole
    run = Run("old", home / "project" / "results" / "old", config={"data": str(home / "data" / "horses")})
    lines = "\n".join(sections.run_section(run, object(), {}))
    assert "Data source:** \\~\\/data\\/horses" in lines and "ada-lovelace" not in lines


def test_a_data_path_under_a_home_reached_through_a_symlink_is_shown_without_it(tmp_path, monkeypatch):
    # HOME=/home/ada where /home links to /usr/home (FreeBSD) or /var/home: train records the resolved
    # /usr/home/ada/..., which was not seen as under HOME, so the PDF and notebook carried the user's name
    from workbench.paths import shown_path

    (tmp_path / "usr home" / "ada-lovelace" / "data ö").mkdir(parents=True)
    (tmp_path / "home").symlink_to(tmp_path / "usr home", target_is_directory=True)
    monkeypatch.setenv("HOME", str(tmp_path / "home" / "ada-lovelace"))
    data = (tmp_path / "home" / "ada-lovelace" / "data ö").resolve()  # as train records it
    assert str(data).startswith(str(tmp_path / "usr home")) and shown_path(data) == "~/data ö"


def test_a_run_s_non_ascii_data_path_is_shown_in_the_c_locale(tmp_path):
    # LANG=C with PYTHONUTF8=0: config.json records the path as UTF-8 text, which the ASCII file system encoding
    # cannot encode, so showing it (the writeup's run section, the notebook's RUN_CONFIGS) was a UnicodeEncodeError
    import os
    import subprocess
    import sys

    from conftest import REPO

    env = {**os.environ, "LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0",
           "HOME": str(tmp_path / "home"), "WORKBENCH_ROOT": str(tmp_path / "project")}
    config = {"data": "/srv/Über ö 課題/data", "palette": str(tmp_path / "home" / "Über" / "p.npy")}
    code = f"import json; from workbench.paths import shown_paths; print(ascii(json.dumps(shown_paths({ascii(config)}))))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert json.loads(eval(done.stdout)) == {"data": "/srv/Über ö 課題/data", "palette": "~/Über/p.npy"}


def test_the_notebook_s_run_configs_show_paths_without_the_home_folder(fx, tmp_path, monkeypatch):
    import nbformat

    home = tmp_path / "home" / "ada-lovelace"
    monkeypatch.setenv("HOME", str(home))
    config = fx / "solutions" / "fx" / "results" / "tiny" / "config.json"
    config.write_text(json.dumps(dict(json.loads(config.read_text()),
                                      data_source={"kind": "folder", "path": str(home / "horses")})))
    _build(fx)
    cells = nbformat.read(str(fx / "build" / "fx-code.ipynb"), as_version=4).cells
    [configs] = [c.source for c in cells if c.source.startswith("RUN_CONFIGS = ")]
    assert "'path': '~/horses'" in configs and "ada-lovelace" not in configs


def test_notebook_writes_a_package_s_modules_after_those_they_import(tmp_path):
    from workbench.notebook import module_order

    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "a.py").write_text("from pkg.b import B\nfrom . import c\n")
    (pkg / "b.py").write_text("import pkg.c\n")
    (pkg / "c.py").write_text("import os\n")
    (pkg / "d.py").write_text("")
    assert [p.name for p in module_order(pkg, "pkg")] == ["c.py", "b.py", "a.py", "d.py"]


def test_notebook_module_order_follows_every_form_of_import_within_the_package_only(tmp_path):
    from workbench.notebook import module_order

    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__main__.py").write_text("from pkg.a import A\n")  # `python -m pkg`: no module of the notebook's
    (pkg / "e.py").write_text("from .f import F\n")  # relative, naming the module
    (pkg / "f.py").write_text("F = 1\n")
    (pkg / "g.py").write_text("from pkg import h\n")  # the package, naming the module
    (pkg / "h.py").write_text("")
    (pkg / "i.py").write_text("from pkgx.j import thing\n")  # another package whose name starts alike
    (pkg / "j.py").write_text("")
    assert [p.name for p in module_order(pkg, "pkg")] == ["f.py", "e.py", "h.py", "g.py", "i.py", "j.py"]


def test_notebook_code_sources_are_the_pointers_top_names_in_solution_order():
    from types import SimpleNamespace

    from workbench.notebook import code_sources

    def entry(pointer):
        return SimpleNamespace(code=None if pointer is None else SimpleNamespace(pointer=pointer))

    entries = [entry("zeta.models:Net"), entry(None), entry("alpha:Solo"), entry("zeta.train:train"), entry("mid.a.b:C")]
    assert code_sources(entries) == ["zeta", "alpha", "mid"]


def test_notebook_source_path_prefers_the_project_s_own_package(project):
    """The project's folder is looked at before the repository's: its `colourize/` is the code its solutions name."""
    from workbench.notebook import source_path
    from workbench.paths import REPO_ROOT

    assert source_path("colourize") == REPO_ROOT / "colourize"  # not in the project: the repository's
    (project / "colourize").mkdir()
    (project / "colourize" / "__init__.py").write_text("")
    assert source_path("colourize") == project / "colourize"
    assert source_path("no_such_code") is None


def test_notebook_source_cells_write_each_project_module_once_after_what_it_imports(tmp_path):
    """Support modules come depth-first (a helper after the helper it imports, an import cycle once), a package's
    relative import is its own module (not a same-named file at the root), and a module that an earlier call wrote
    (a package, then a single module importing it) is not written again."""
    from workbench.notebook import project_imports, source_cells

    files = {"pkg/__init__.py": '"""Pkg docs.\n\nMore."""\n', "pkg/a.py": "from .b import x\nimport helper1\n",
             "pkg/b.py": "x = 1\n", "b.py": "", "helper1.py": '"""Helper one."""\nimport helper2\n',
             "helper2.py": "import helper1\n", "lib/__init__.py": "", "lib/util.py": "u = 1\n",
             "solo.py": "from pkg.a import A\nfrom lib.util import u\nimport helper2\n"}
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        (tmp_path / rel).write_text(text)
    pkg = [tmp_path / "pkg" / f for f in ("__init__.py", "a.py", "b.py")]
    assert project_imports(pkg, "pkg", tmp_path) == [tmp_path / "helper2.py", tmp_path / "helper1.py"]
    written: set = set()
    first, second = source_cells(tmp_path / "pkg", "pkg", written), source_cells(tmp_path / "solo.py", "solo", written)
    heads = [c.source.split("\n", 1)[0] for c in first + second if c.source.startswith("%%writefile ")]
    assert heads == ["%%writefile helper2.py", "%%writefile helper1.py", "%%writefile pkg/__init__.py",
                     "%%writefile pkg/b.py", "%%writefile pkg/a.py", "%%writefile lib/__init__.py",
                     "%%writefile lib/util.py", "%%writefile solo.py"]
    assert "### `pkg/__init__.py`\n\nPkg docs." in [c.source for c in first]  # a module's docstring's first line
    assert "### `pkg/b.py`" in [c.source for c in first]
    assert "os.makedirs('pkg', exist_ok=True)" in first[1].source
    assert second[0].source.endswith("first the project modules the module `solo.py` imports (`lib/__init__.py`, "
                                     "`lib/util.py`), then `solo.py` itself.")
    assert second[1].source == "import os\n\nos.makedirs('lib', exist_ok=True)"  # the folder only a helper is in


def test_notebook_imports_each_class_once_and_none_whose_pointer_failed():
    """A pointer verify could not resolve would make the import cell fail for whoever runs the notebook."""
    from types import SimpleNamespace

    from workbench.notebook import import_cell

    def entry(pointer, error=""):
        return SimpleNamespace(code=SimpleNamespace(pointer=pointer, error=error))

    entries = [entry("pkg.models:Net"), SimpleNamespace(code=None), entry("pkg.models:Other"), entry("pkg.models:Net"),
               entry("pkg.gone:Missing", error="module pkg.gone not found"), entry("solo:Solo")]
    assert import_cell(entries).source == (
        "import os\nimport sys\n\nsys.path.insert(0, os.getcwd())  # the folder the cells above wrote into\n"
        "from pkg.models import Net, Other\nfrom solo import Solo")


def test_notebook_metrics_table_images_and_retrain_cell(tmp_path):
    """Every epoch's row under every key any epoch has (4 decimals, a | escaped, a gap blank), images by their type,
    and a retrain cell only for a package whose train.py defines both TrainConfig and train."""
    import base64
    from types import SimpleNamespace

    from workbench.notebook import _metrics_markdown, _png, retrain_cells

    run = SimpleNamespace(name="r", epochs=[{"epoch": 1, "loss": 2.0}, {"epoch": 2, "loss": 1.23456, "note": "a|b"},
                                            {"epoch": 3, "loss": None}])
    assert _metrics_markdown(run) == ("| epoch | loss | note |\n|---|---|---|\n| 1 | 2.0000 |  |\n"
                                      "| 2 | 1.2346 | a\\|b |\n| 3 |  |  |")
    assert _metrics_markdown(SimpleNamespace(name="r", epochs=[])) == "No per-epoch metrics recorded for run `r`."
    (tmp_path / "s.JPG").write_bytes(b"\xff\xd8jpeg")
    (tmp_path / "c.PNG").write_bytes(b"\x89PNG")
    assert _png(tmp_path / "s.JPG") == {"image/jpeg": base64.b64encode(b"\xff\xd8jpeg").decode(), "text/plain": ["<s.JPG>"]}
    assert list(_png(tmp_path / "c.PNG")) == ["image/png", "text/plain"] and _png(None) is None
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "train.py").write_text("def train(cfg, out):\n    pass\n")
    assert retrain_cells(pkg, "pkg", "r1") == []  # no TrainConfig to build the settings into
    (pkg / "train.py").write_text("class TrainConfig:\n    pass\n\n\ndef train(cfg, out):\n    pass\n")
    assert retrain_cells(pkg, "pkg", "r1")[1].source == (
        "from pathlib import Path\n\nfrom pkg.train import TrainConfig, train\n\n"
        "settings = dict(RUN_CONFIGS['r1'][\"settings\"], data=None)\n"
        "# metrics = train(TrainConfig(**settings), Path('runs/r1-rerun'))")


def test_build_notebook_lists_runs_with_their_questions_and_plot_folders_apart(project, tmp_path):
    """A run several questions cite is shown once naming them all, its table and text its last epoch, its images;
    a folder of plots is shown with its figures but no config; no code pointer says so and imports nothing."""
    import re
    from types import SimpleNamespace

    import nbformat

    from workbench.notebook import build_notebook

    res = project / "runs" / "x"  # the project's solutions/ is the repository's, through a link
    res.mkdir(parents=True)
    for png in ("curves.png", "fig.png"):
        (res / png).write_bytes(b"\x89PNG")

    def run(name, **kw):
        fields = dict(name=name, path=res / name, config={"settings": {"lr": 0.1}}, epochs=[], curves=None,
                      samples=None, figures=(), problems=(), plots_only=False)
        return SimpleNamespace(**{**fields, **kw})

    a = run("a", epochs=[{"epoch": 1, "loss": 1.0}, {"epoch": 2, "loss": 0.5}], curves=res / "curves.png",
            problems=("6.2 curves",))
    b, p = run("b"), run("p", figures=(res / "fig.png",), plots_only=True, config={})
    entries = [SimpleNamespace(code=None, runs=[a, p], problem=SimpleNamespace(id="2.2")),
               SimpleNamespace(code=None, runs=[a], problem=SimpleNamespace(id="2.3")),
               SimpleNamespace(code=None, runs=[b], problem=SimpleNamespace(id="3.1"))]
    pack = SimpleNamespace(course="C101", title="T")
    nb = build_notebook(pack, entries, SimpleNamespace(name="Ada", student_id=""), tmp_path / "nb.ipynb")
    written = nbformat.read(str(tmp_path / "nb.ipynb"), as_version=4)
    nbformat.validate(written)
    assert [c.source for c in written.cells] == [c.source for c in nb.cells]
    assert written.metadata.kernelspec.name == "python3"
    sources = [c.source for c in nb.cells]
    assert sources[0].startswith("# C101: T, code\n\nAda\n\n")
    assert "No model code: no solution names a `code:` pointer (e.g. `package.module:Class`)." in sources
    assert not any("import sys" in src for src in sources) and not any("TrainConfig" in src for src in sources)
    assert [src for src in sources if src.startswith("RUN_CONFIGS = ")] == [
        "RUN_CONFIGS = {'a': {'settings': {'lr': 0.1}}, 'b': {'settings': {'lr': 0.1}}}"]
    heads = [src for src in sources if src.startswith("### ")]
    assert heads == ["### Run `a` (questions 2.2, 2.3)\n\n6.2 curves", "### Plots `p` (question 2.2)\n\n",
                     "### Run `b` (question 3.1)\n\n"]
    [outputs_a] = [c.outputs for c in nb.cells if c.source.startswith("# Pinned outputs of run 'a' ('runs/x/a')")]
    assert outputs_a[0]["data"]["text/plain"] == '{"epoch": 2, "loss": 0.5}'  # the last epoch
    assert [o["data"]["text/plain"] for o in outputs_a[1:]] == [["<curves.png>"]]
    [plots] = [c for c in nb.cells if c.source.startswith("# Plots in")]
    assert [o["data"]["text/plain"] for o in plots.outputs] == [["<fig.png>"]]
    assert len({c.id for c in nb.cells}) == len(nb.cells)
    assert all(re.fullmatch(r"c%03d-[0-9a-f]{8}" % i, c.id) for i, c in enumerate(nb.cells))
    nb = build_notebook(pack, entries, SimpleNamespace(name="", student_id=""), tmp_path / "nb.ipynb")
    assert nb.cells[0].source.startswith("# C101: T, code\n\n(student name missing)\n\n")
    assert build_notebook(pack, entries, SimpleNamespace(name="Ada", student_id="7"), tmp_path / "nb.ipynb").cells[
        0].source.startswith("# C101: T, code\n\nAda (7)\n\n")
    # a pointer to code the project lacks: said so, and no import cell that would fail on it; plots alone are outputs
    lost = [SimpleNamespace(code=SimpleNamespace(pointer="nowhere_pkg.m:X", error=""), runs=[p], problem=entries[0].problem)]
    sources = [c.source for c in build_notebook(pack, lost, SimpleNamespace(name="Ada", student_id=""),
                                                tmp_path / "nb.ipynb").cells]
    assert "Code `nowhere_pkg`: not found in the project." in sources and not any("import sys" in x for x in sources)
    assert "## Pinned outputs" in sources and not any(x.startswith("## Training configuration") for x in sources)


def test_notebook_holds_a_single_module_s_code_and_runs(fx, tmp_path, monkeypatch):
    """code: mymodule:Class (a file, not a package) was verified and shown in the PDF, but the notebook held no
    code and said no solution named a code: pointer."""
    import nbformat

    (fx / "fxhelp.py").write_text('"""A helper module the single module imports."""\nONE = 1\n')
    (fx / "fxsolo.py").write_text('"""Fixture single-module code."""\nfrom fxpkg.data import load_data\n'
                                  'from fxhelp import ONE\n\n\n'
                                  'class Solo:\n    def size(self):\n        return len(load_data(3)) * ONE\n')
    sol = fx / "solutions" / "fx" / "2.1.md"
    sol.write_text(sol.read_text().replace("code: fxpkg.models:TinyNet", "code: fxsolo:Solo"))
    _build(fx)
    nb = nbformat.read(str(fx / "build" / "fx-code.ipynb"), as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    heads = [src.split("\n", 1)[0] for src in code if src.startswith("%%writefile ")]
    assert heads == ["%%writefile fxpkg/__init__.py", "%%writefile fxpkg/data.py", "%%writefile fxhelp.py",
                     "%%writefile fxsolo.py"]
    assert not any("no solution names" in c.source for c in nb.cells)
    namespace = run_cells(code, tmp_path / "nbrun", monkeypatch, ("fxpkg", "fxsolo", "fxhelp"))
    assert namespace["Solo"]().size() == 3


def test_notebook_writes_each_module_once_for_several_code_pointers(fx, tmp_path, monkeypatch):
    """A single module that imports a package that another solution's code: names: the package's modules were
    written twice (once as the module's imports, once as the package)."""
    import nbformat

    (fx / "fxsolo.py").write_text('"""Fixture single-module code."""\nfrom fxpkg.data import load_data\n\n\n'
                                  'class Solo:\n    def size(self):\n        return len(load_data(3))\n')
    sol = fx / "solutions" / "fx" / "2.1.md"
    sol.write_text(sol.read_text().replace("code: fxpkg.models:TinyNet", "code: fxsolo:Solo"))
    other = fx / "solutions" / "fx" / "2.2.md"
    other.write_text(other.read_text().replace("---\nproblem:", "---\ncode: fxpkg.models:TinyNet\nproblem:", 1))
    _build(fx)
    code = [c.source for c in nbformat.read(str(fx / "build" / "fx-code.ipynb"), as_version=4).cells
            if c.cell_type == "code"]
    heads = [src.split("\n", 1)[0] for src in code if src.startswith("%%writefile ")]
    assert sorted(heads) == sorted(set(heads)) and "%%writefile fxpkg/models.py" in heads, heads
    namespace = run_cells(code, tmp_path / "nbrun", monkeypatch, ("fxpkg", "fxsolo"))
    assert namespace["Solo"]().size() == 3 and namespace["TinyNet"]().forward([1, 2]) == [0, 2]



def test_an_edited_trace_of_a_question_that_does_not_need_one_names_no_points(fx):
    """The points at risk are said only where the handout needs the trace: an ungraded question's edited trace says
    what was edited, and no "0 points without the program trace"."""
    path = write_trace(trace_data("1.4", "FIXTURE-OPTIONAL-ANSWER"), fx / "traces")
    data = json.loads(path.read_text())
    data["samples"][0]["messages"][-1]["content"] = "FIXTURE-TAMPERED answer"
    path.write_text(json.dumps(data))
    rc, text = _build(fx)
    flat = " ".join(text.split())
    box = flat[flat.index("Edited trace"):]
    assert rc == 0 and box.startswith("Edited trace 20") and "hash no longer matches" in box
    assert "at risk" not in box[:300] and "without the program trace" not in box[:300]


def test_checklist_in_a_narrow_terminal_folds_cells_instead_of_cutting_them(capsys, monkeypatch):
    """A narrow terminal cut the checklist's cells to "2.1…" and "0…": which question, and how many points at risk?"""
    from types import SimpleNamespace

    from workbench.commands.submission import print_checklist
    from workbench.console import console

    monkeypatch.setattr(console, "_force_terminal", True)
    monkeypatch.setattr(console, "_color_system", None)
    monkeypatch.setattr(console, "_width", 40)
    row = SimpleNamespace(problem="2.1.2", points=0.5, type=1, missing=["trace", "critique"], points_at_risk=0.5,
                          notes=["no trace yet"])
    print_checklist(SimpleNamespace(checklist=[row], points_at_risk=0.5, notes=[]))
    out = capsys.readouterr().out
    assert "…" not in out
    body = [line.split("│")[1:-1] for line in out.splitlines() if line.startswith("│")]
    columns = ["".join(cells[i].strip() for cells in body) for i in range(6)]
    assert columns == ["2.1.2", "0.5", "1", "trace,critique", "0.5", "notraceyet"]


def test_tex_spacing_commands_keep_their_sign_and_some_width_in_the_pdf():
    r"""Pandoc (3.9) writes TeX's spaces to Typst in whole ems: 5.4's `k - 2 \;\le\; 2p` printed 'k−2≤2p' with no
    space at all (#h(0em) also takes the relation's own spacing away), and `\!` (-1/6 em) became #h(-1em),
    overprinting the glyphs beside it. `\;` is set as a medium space and `\!` left out; `\,` `\quad` still convert."""
    from pathlib import Path

    from workbench.typeset import markdown_to_typst, tex_to_markdown

    typ, _ = markdown_to_typst(tex_to_markdown("$$k - 2 \\;\\le\\; 2p$$ and $n\\!\\cdot\\, x \\quad y$"), Path("t.md"))
    assert "#h(0em)" not in typ and "#h(-1em)" not in typ, typ
    assert "med lt.eq med" in typ and "thin" in typ and "quad" in typ, typ
    assert tex_to_markdown("\\\\;") == "\\\\;"  # outside math a TeX line break's neighbour is left alone


def test_a_number_and_its_unit_sign_stay_on_one_line():
    # 5.5's own solution '1.052 and 58.5 % at batch 32' broke after 58.5, the % starting the next line
    from workbench.typeset import tex_to_markdown

    assert tex_to_markdown("from 1.052 and 58.5 % at batch 32") == "from 1.052 and 58.5\u00a0% at batch 32"
    assert tex_to_markdown("`58.5 %` and $5 \\%$") == "`58.5 %` and $5 \\%$"  # code and math as written
    assert tex_to_markdown("all %") == "all %"


def test_an_aligned_equation_s_hand_written_number_stands_apart_from_it():
    r"""1.2.1's RMSProp update numbers its lines as `... )^2 && (4)` in an aligned block: LaTeX leaves space between
    column pairs, Typst none, so the PDF printed '(∇L)²(4)', a square times 4. An empty column pair gets a \qquad;
    a matrix's empty cells stay empty."""
    from pathlib import Path

    from workbench.typeset import markdown_to_typst, tex_to_markdown

    md = tex_to_markdown("$$\n\\begin{aligned}\nv &= g^2 && (4)\n\\end{aligned}\n$$\n\n"
                         "$\\begin{bmatrix} 1 && 2 \\end{bmatrix}$")
    typ, _ = markdown_to_typst(md, Path("t.md"))
    aligned, matrix = typ.split("\n\n")[:2]
    assert re.search(r"g\^2 &\s*(?:#h\(2em\)|qquad)\s*& \\\( 4 \\\)", aligned), aligned
    assert "2em" not in matrix and "qquad" not in matrix, matrix


def test_a_number_s_thousands_separator_in_math_prints_without_a_space():
    r"""TeX's `18{,}432` keeps the comma from spacing as punctuation; pandoc writes it as Typst's `18 \, 432`, which
    spaces it, so 3.2's own solution printed '18, 432' and '9, 437, 184'. The number is set as one piece of text."""
    from pathlib import Path

    from workbench.typeset import markdown_to_typst, tex_to_markdown

    typ, _ = markdown_to_typst(tex_to_markdown("$3072^2 = 9{,}437{,}184$ and $[0,255]$"), Path("t.md"))
    assert '"9,437,184"' in typ and "\\," not in typ.split(" and ")[0], typ
    assert "0 \\, 255" in typ  # a plain comma, as in an interval, is TeX's punctuation still


def test_norms_and_absolute_values_in_math_become_delimiter_pairs():
    r"""Pandoc's Typst math set a bare `\|w\|_2` with limits; bars are paired only when they come in pairs, and an
    explicit \left / \right (or an escaped bar) is left to TeX."""
    from workbench.typeset import fix_math, tex_to_markdown

    lv, rv = "\\left\\lvert ", "\\right\\rvert "
    assert fix_math("\\|w\\|_2") == "\\lVert w\\rVert _2"
    assert fix_math("|x| + |y|") == f"{lv}x{rv} + {lv}y{rv}"
    assert fix_math("|x") == "|x"  # one bar alone (a conditional, a divides): no pair to make
    assert fix_math("\\left\\| w \\right\\|") == "\\lVert  w \\rVert "
    assert fix_math("\\lvert x \\rvert") == f"{lv} x {rv}"  # spaced as delimiters, not as two relations
    assert fix_math("\\left\\lvert x \\right\\rvert") == "\\left\\lvert x \\right\\rvert"
    assert fix_math("\\left| a \\right| + \\left| b \\right|") == "\\left| a \\right| + \\left| b \\right|"
    # in a solution's inline and display math alike; no space before an inline span's closing dollar
    assert tex_to_markdown("$|x|$ and $$\\|w\\|$$") == f"${lv}x{rv.strip()}$ and $$\\lVert w\\rVert $$"


def test_an_inline_norm_or_absolute_value_at_the_end_of_its_math_is_typeset():
    r"""`$|x|$`, `$\|w\|$` or `$\lvert a \rvert$` in a solution were printed as their TeX source, dollars and all, without
    a warning: the pairing left a space before the closing $, and pandoc then reads no math there."""
    from workbench.typeset import markdown_to_typst, tex_to_markdown

    for md, typ in ((r"norm $\|w\|$.", "norm $lr(bar.v.double w bar.v.double)$."), (r"$|x| + |y|$", "$lr(|x|) + lr(|y|)$"),
                    (r"$\lvert a \rvert$", "$lr(|a|)$"), (r"$x \label{e}$", "$x$")):
        assert markdown_to_typst(tex_to_markdown(md), Path("t.md")) == (typ + "\n", []), md






def test_latex_math_delimiters_and_gather_become_pandoc_math():
    from workbench.typeset import tex_to_markdown

    assert tex_to_markdown("\\[ x \\] and \\( y \\)") == "$$x$$ and $y$"  # display stays display
    assert tex_to_markdown("\\begin{gather} a \\\\ b \\end{gather}") == "\n$$\\begin{gathered}a \\\\ b\\end{gathered}$$\n"


def test_untrusted_text_loses_c1_controls_trailing_blank_lines_and_odd_languages():
    from workbench.typeset import clean, code_block, glyphless

    assert clean("a\x7fb\x85c\x9f") == "a<U+007F>b<U+0085>c<U+009F>"  # DEL and C1 controls print nothing
    assert code_block("x = 1\n\n\n") == "```text\nx = 1\n```"
    assert code_block("x", "python {=typst}") == "```text\nx\n```"  # a language is one word, all of it
    assert code_block("x", "c++") == "```c++\nx\n```"
    # named in code-point order, whatever order a set gives
    assert glyphless("\U0001F600 \u4e2d \uac00 \ue000 \u2e80 \U0001F680 \ufe30") == \
        ["\u2e80", "\u4e2d", "\uac00", "\ue000", "\ufe30", "\U0001F600", "\U0001F680"]


def test_tool_messages_are_one_line_each_and_an_empty_source_date_epoch_is_refused(monkeypatch):
    from workbench.typeset import _first_line, pandoc_warnings, source_date_epoch

    # a failing pandoc's error has no [WARNING] prefix: its first line is still the message shown
    assert pandoc_warnings("Error parsing at line 3\n  unexpected end\n") == ["Error parsing at line 3"]
    assert pandoc_warnings("[WARNING] Could not convert TeX math x, rendering as TeX:\n  x\n  ^\n  unexpected") == \
        ["Could not convert TeX math x, shown as TeX source"]
    assert _first_line(RuntimeError("\n  error: unknown variable\n  hint: ...")) == "error: unknown variable"
    assert _first_line(RuntimeError("")) == "unknown error"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "")  # set but empty: not a time, and not silently today
    with pytest.raises(WriteupError, match="SOURCE_DATE_EPOCH=''"):
        source_date_epoch()


def test_the_question_header_names_extra_credit_and_shows_only_the_figures_that_exist(fx):
    import yaml

    from workbench.evidence import collect
    from workbench.problems import load_pack
    from workbench.writeup import Identity, assemble

    record = fx / "problems" / "fx" / "1.3.yaml"
    data = yaml.safe_load(record.read_text())
    record.write_text(yaml.safe_dump({**data, "figures": ["gone.png", "fig.png"]}))
    _png(record.parent / "fig.png", (10, 20, 30))
    pack = load_pack("fx")
    files: dict[Path, str] = {}
    md = assemble(pack, collect(pack), Identity("A", "1"), "2024-05-01", files)
    assert '#wb-meta("1 pt · Type 1 · written · extra credit")' in md
    assert '#wb-meta("0 pt (optional) · Type 3 · written")' in md
    assert [n for n in files.values() if n.startswith("fig-")] == ["fig-1.3-fig.png"] and "files/fig-1.3-fig.png" in md and "gone" not in md



def test_an_svg_whose_tag_comes_after_a_long_prolog_is_an_image(tmp_path):
    from workbench.sections import _image_suffix

    svg = tmp_path / "plot.svg"
    svg.write_text('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<!-- made by matplotlib -->\n'
                   '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>\n')
    assert _image_suffix(svg) == ".svg"
    svg.write_text("<?xml version='1.0'?>\n<html>no picture</html>\n")
    assert _image_suffix(svg) is None


def test_models_used_prefers_an_import_s_url_and_lists_only_traces_the_document_shows():
    from types import SimpleNamespace

    from workbench.traces import Trace
    from workbench.writeup import models_used

    data = trace_data("1.1", "FIXTURE", source="import")  # origin "chat export" and a url: the url is the address
    shown = SimpleNamespace(pick=SimpleNamespace(trace=Trace(path=Path("x.json"), data=data), usable=True),
                            shows_trace=True, problem=SimpleNamespace(id="1.1", extra_credit=False))
    hidden = SimpleNamespace(**{**vars(shown), "shows_trace": False, "problem": SimpleNamespace(id="1.2", extra_credit=False)})
    [(model, where)] = models_used([shown, hidden])
    assert where.startswith("https://chat.example/c/fixture;") and where.endswith("questions 1.1")



def test_own_images_with_an_upper_case_suffix_or_one_stem_in_two_folders_and_critique_images(tmp_path):
    from types import SimpleNamespace

    from workbench.sections import image_warnings, md_paragraphs, own_images

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        _png(tmp_path / folder / "Plot.PNG", (1, 2, 3))
    files: dict[Path, str] = {}
    out = own_images("![x](a/Plot.PNG) ![y](b/Plot.PNG)", tmp_path / "s.md", files)
    names = list(files.values())
    assert len(set(names)) == 2 and all(n.startswith("own-") and n.endswith("-Plot.png") for n in names)
    assert out == f"![x](files/{names[0]}) ![y](files/{names[1]})"
    sol = SimpleNamespace(path=tmp_path / "s.md", solution="fine", critique="see ![c](gone.png)")
    assert image_warnings([SimpleNamespace(solution=sol)]) == \
        [f"{tmp_path / 's.md'}: image 'gone.png' not shown: no such file {tmp_path / 'gone.png'}"]
    assert md_paragraphs("one\n  \t\ntwo") == "one\n\ntwo"  # a line of spaces ends a paragraph


def test_a_date_span_skips_missing_stamps_and_statuses_count_llm_samples_in_order():
    from workbench.verdicts import ProblemReport, Verdict
    from workbench.writeup import _date_span, _statuses

    assert _date_span(["2024-05-02T10:00:00Z", None, "", "2024-05-01T09:00:00Z"]) == "2024-05-01 to 2024-05-02"
    assert _date_span([None, "2024-05-01T09:00:00Z"]) == "2024-05-01"
    statuses = ["incorrect", "correct", "incorrect", "partial", "unchecked", "correct", "missing"]
    report = ProblemReport("1.1", 1.0, 2, (), verdicts=tuple(Verdict("1.1", f"t.json#{i}", s) for i, s in enumerate(statuses)))
    assert _statuses(report) == ("none", "2 incorrect, 2 correct, 1 partial, 1 unchecked, 1 missing")  # first seen first
    report = ProblemReport("1.1", 1.0, 2, (), verdicts=(Verdict("1.1", "own", "correct"), Verdict("1.1", "t.json#0", "partial")))
    assert _statuses(report) == ("correct", "1 partial")  # the own verdict is not an LLM sample
    assert _statuses(None) == ("not checked", "not checked")


def test_models_used_lists_one_model_once_whatever_the_case_of_its_name_or_host():
    """"GPT-4o" (a Claude import's --model, a server's reply) and "gpt-4o" are one model, https://API.OpenAI.com/v1
    and https://api.openai.com/v1 one provider: the title page listed them twice. A path's case still tells apart."""
    from types import SimpleNamespace

    from workbench.traces import Trace
    from workbench.writeup import models_used

    entries = []
    for pid, model, url in (("1.1", "GPT-4o", "https://API.OpenAI.com/v1"), ("1.2", "gpt-4o", "https://api.openai.com/v1"),
                            ("1.3", "gpt-4o", "HTTPS://api.openai.com/v1/"), ("1.4", "gpt-4o", "https://gw.example/V1"),
                            ("1.5", "gpt-4o", "https://gw.example/v1")):
        data = trace_data(pid, "FIXTURE")
        data["exchanges"][0]["model"], data["provider"]["base_url"] = model, url
        entries.append(SimpleNamespace(pick=SimpleNamespace(trace=Trace(path=Path("x.json"), data=data), usable=True),
                                       shows_trace=True, problem=SimpleNamespace(id=pid, extra_credit=False)))
    assert models_used(entries) == [
        ("GPT-4o", "https://API.OpenAI.com/v1; accessed 2024-05-01 (UTC); questions 1.1, 1.2, 1.3"),
        ("gpt-4o", "https://gw.example/V1; accessed 2024-05-01 (UTC); questions 1.4"),
        ("gpt-4o", "https://gw.example/v1; accessed 2024-05-01 (UTC); questions 1.5")]


def test_the_appendix_shows_a_check_detail_that_is_not_a_record(tmp_path, monkeypatch):
    """A check that gives a detail as plain text (or a list) had it left out of "What was checked", counted only as
    "(and 1 more)": each detail is shown, as text when it is not a record."""
    from types import SimpleNamespace

    from workbench import writeup
    from workbench.verdicts import ProblemReport, Verdict

    monkeypatch.setenv("WORKBENCH_ROOT", str(tmp_path))
    details = ({"what": "check 0", "expected": "x", "found": "x", "ok": True}, "FIXTURE-PLAIN-DETAIL", ["a", 7], None)
    own = Verdict("4.2", "own", "partial", 0.5, details)
    report = ProblemReport("4.2", 1.0, 2, ("solution",), {"solution": True}, (own,), 0.5, ())
    entry = SimpleNamespace(problem=SimpleNamespace(id="4.2", points=1.0, type=2), report=report, checked=report)
    text = "\n".join(writeup.appendix([entry], "", []))
    plain = next(part for part in text.splitlines() if part.startswith("- 4\\.2 own")).replace("\\", "")
    assert "FIXTURE-PLAIN-DETAIL" in plain and "a; 7" in plain and "check 0 [ok]" in plain, plain
    assert "more)" not in plain


def test_a_plot_the_solution_embeds_is_shown_once(fx):
    """An own solution that embeds its pinned run's curves (![](results/tiny/curves.png)) had them in the PDF twice:
    in the solution and again under "Results of run tiny". The run's section leaves out an image the text shows."""
    sol = fx / "solutions" / "fx" / "2.2.md"
    sol.write_text(sol.read_text().replace("FIXTURE-COMMENTARY on the curves.",
                                           "FIXTURE-COMMENTARY on the curves.\n\n![my curves](results/tiny/curves.png)\n"))
    rc, text = _build(fx, "--no-verify")
    typ = (fx / "build" / "fx-writeup.typ").read_text()
    shown = [line for line in typ.splitlines() if "curves.png" in line]
    assert rc == 0 and len(shown) == 1 and "files/own-" in shown[0], shown  # where the student put it
    assert typ.count("tiny-samples.png") == 1  # the run's other image is still shown under its results
    assert len(list((fx / "build").glob("files/*curves.png"))) == 1


def test_a_blank_name_or_number_counts_as_missing(fx):
    """[student] name = "  " (or --name " ") printed an empty name with no Missing box, and --strict passed: a blank
    name is no name. A blank flag does not hide the configured one either."""
    (fx / "workbench.toml").write_text('[student]\nname = "   "\nid = " "\n')
    rc, text = _build(fx, "--strict", "--no-verify")
    assert rc == 1 and "Missing: student name" in text and "Missing: student number" in text
    (fx / "workbench.toml").write_text('[student]\nname = "Fixture Student"\nid = "000000001"\n')
    rc, text = _build(fx, "--no-verify", "--name", " ", "--student-id", "\t")
    assert "Fixture Student" in text and "000000001" in text and "Missing: student" not in text


def test_code_in_a_file_that_is_not_utf8_is_a_note_not_a_traceback(tmp_path, monkeypatch):
    """The solution's `code:` module saved in Latin-1 stopped build-writeup with a UnicodeDecodeError traceback; the
    code section says what is wrong. A file with a coding line is read as Python reads it."""
    from workbench.evidence import class_source

    monkeypatch.setenv("WORKBENCH_ROOT", str(tmp_path))
    (tmp_path / "wbfixlatin").mkdir()
    (tmp_path / "wbfixlatin" / "bad.py").write_bytes("# caf\u00e9\nclass Net:\n    pass\n".encode("latin-1"))
    code = class_source("wbfixlatin.bad:Net")
    assert code.source == "" and code.error == "wbfixlatin/bad.py: not UTF-8 text (or not in the encoding its coding " \
                                               "line names)", code.error
    (tmp_path / "wbfixlatin" / "ok.py").write_bytes("# coding: latin-1\n# caf\u00e9\nclass Net:\n    pass\n"
                                                   .encode("latin-1"))
    assert class_source("wbfixlatin.ok:Net").source == "class Net:\n    pass"


def test_a_checks_value_is_one_line_clipped_only_past_the_limit():
    from workbench.writeup import MAX_CHARS, _clip

    assert _clip("a" * MAX_CHARS) == "a" * MAX_CHARS  # at the limit: whole
    assert _clip("a" * (MAX_CHARS + 1)) == "a" * (MAX_CHARS - 1) + "…"
    assert _clip("first\n   second") == "first second" and _clip(["x", "y"]) == "x; y"


def test_a_check_neither_passed_nor_failed_is_shown_undecided_not_wrong():
    from workbench.writeup import _detail

    assert _detail({"what": "w", "expected": 1, "found": 2, "ok": None}) == "w [undecided]: expected 1, found 2"
    assert _detail({"what": "w", "expected": 1, "found": 2, "ok": False}) == "w [wrong]: expected 1, found 2"


def test_the_appendix_shows_undecided_checks_before_passed_ones_drops_blank_details_and_gives_reason_and_notes(
        tmp_path, monkeypatch):
    """What a reader looks for first: failed, then undecided, then passed checks; a blank detail is no check; the
    verdict's reason and the checklist's notes are printed; a record-valued expectation reads as 'key: value'."""
    from types import SimpleNamespace

    from workbench import writeup
    from workbench.verdicts import ProblemReport, Verdict

    monkeypatch.setenv("WORKBENCH_ROOT", str(tmp_path))
    details = ({"what": "passed one", "expected": "x", "found": "x", "ok": True}, "",
               {"what": "open one", "expected": {"lr": 0.01}, "found": "?", "ok": None})
    own = Verdict("4.2", "own", "partial", 0.5, details, reason="FIXTURE-REASON")
    report = ProblemReport("4.2", 1.0, 2, ("solution",), {"solution": True}, (own,), 0.5, ("FIXTURE-NOTE",))
    entry = SimpleNamespace(problem=SimpleNamespace(id="4.2", points=1.0, type=2), report=report, checked=report)
    text = "\n".join(writeup.appendix([entry], "", [])).replace("\\", "")  # md_text's escapes off
    line = next(part for part in text.splitlines() if part.startswith("- 4.2 own"))
    assert line == ("- 4.2 own: **partial** — open one [undecided]: expected lr: 0.01, found ?; "
                    "passed one [ok]: expected x, found x — FIXTURE-REASON")
    assert "- 4.2: FIXTURE-NOTE" in text.splitlines()


def test_the_checklist_table_says_none_missing_and_gives_the_total_at_risk(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from workbench import writeup
    from workbench.verdicts import ProblemReport

    monkeypatch.setenv("WORKBENCH_ROOT", str(tmp_path))
    done = ProblemReport("1.1", 2.0, 2, ("solution",), {"solution": True}, (), 0.0, ())
    gap = ProblemReport("1.2", 1.5, 1, ("solution", "trace"), {"solution": True}, (), 1.5, ())
    optional = ProblemReport("1.3", 0.0, 3, (), {}, (), 0.0, ())
    entries = [SimpleNamespace(problem=SimpleNamespace(id=r.problem, points=r.points, type=r.type), report=r, checked=None)
               for r in (done, gap, optional)]
    text = "\n".join(writeup.appendix(entries, "", [])).replace("\\", "")
    rows = {line.split("]")[0].strip("| ["): [c.strip() for c in line.split("|")[2:-1]]
            for line in text.splitlines() if line.startswith("| [")}
    assert rows["1.1"][2:4] == ["solution", "none"] and rows["1.2"][2:5] == ["solution, trace", "trace", "1.5"]
    assert rows["1.3"][2:4] == ["—", "none"]
    assert "Points at risk in total: **1.5** of 3.5." in text


def test_models_used_dates_an_import_without_a_conversation_date_by_the_import_alone():
    from types import SimpleNamespace

    from workbench.traces import Trace
    from workbench.writeup import models_used

    data = trace_data("1.1", "FIXTURE", source="import")
    data["started_at"] = "2026-03-01T10:00:00Z"
    data["import"] = {"url": "https://chatgpt.com"}  # an export that gives no date for the conversation
    entry = SimpleNamespace(pick=SimpleNamespace(trace=Trace(path=Path("x.json"), data=data), usable=True),
                            shows_trace=True, problem=SimpleNamespace(id="1.1", extra_credit=False))
    assert models_used([entry]) == [("fixture-model-2024-01-01", "https://chatgpt.com; imported from the user's chat "
                                     "export on 2026-03-01; questions 1.1")]


def test_a_run_s_final_figures_come_from_its_summary_to_four_digits_and_its_config_lines_read_as_recorded(tmp_path,
                                                                                                         monkeypatch):
    """The summary (what the run reports as final) before the last epoch; no flag counted as a number; up to eight
    unknown keys; 4 significant digits; a config list of up to eight values shown; the schema is not a setting."""
    from workbench import sections
    from workbench.evidence import Run

    monkeypatch.setenv("WORKBENCH_ROOT", str(tmp_path))
    summary = {"best": True, **{f"m{i}": 1.0 / 3 + i for i in range(9)}}
    config = {"schema": 7, "lr": 0.01, "sizes": [1, 2, 3, 4, 5, 6, 7, 8]}
    run = Run("r", tmp_path / "r", config=config, epochs=({"m0": 99.0},), summary=summary)
    lines = sections.run_section(run, object(), {})
    table = next(line for line in lines if line.startswith("| ")).replace("\\", "").splitlines()
    assert table[0] == "| " + " | ".join(f"m{i}" for i in range(8)) + " |"
    assert table[2] == "| 0.3333 | 1.333 | 2.333 | 3.333 | 4.333 | 5.333 | 6.333 | 7.333 |"
    text = "\n".join(lines).replace("\\", "")
    assert "**Data source:** not recorded in config.json\n" in text
    assert "(config.json): lr = 0.01; sizes = 1, 2, 3, 4, 5, 6, 7, 8\n" in text and "schema" not in text


def test_a_plot_folder_s_images_are_captioned_without_a_run_name(tmp_path):
    from workbench import sections
    from workbench.evidence import Run

    plots = Run("plots", tmp_path / "plots", figures=(tmp_path / "plots" / "loss.png",), plots_only=True)
    [figure] = [line for line in sections.run_section(plots, object(), {}) if "wb-figure" in line]
    assert "loss.png" in figure and "(run" not in figure


def test_the_own_solution_box_says_what_to_write_and_not_attempted_is_said_only_of_an_untouched_optional_question():
    from types import SimpleNamespace as NS

    from workbench import sections

    def entry(sol=None, required=("solution",), present=None, graded=True, issue="none"):
        return NS(solution=sol, problem=NS(id="1.1", pack="fx", points=1.0, graded=graded), pick=NS(issue=issue),
                  report=NS(required=required, present=present or {}))

    [_, box] = sections.solution_section(entry(), {})
    assert "create solutions/fx/1.1.md with a “## Solution” section" in box and "1 pt at risk" in box
    [_, box] = sections.solution_section(entry(sol=NS(has_solution=False)), {})
    assert "write a “## Solution” section in solutions/fx/1.1.md" in box
    assert sections.solution_section(entry(present={"solution": True}), {}) == []  # answered by its code
    [note] = sections.solution_section(entry(required=(), graded=False), {})
    assert "Not attempted (optional question, 0 points)." in note
    assert sections.solution_section(entry(required=(), graded=False, issue="edited"), {}) == []  # a trace: attempted
    assert sections.solution_section(entry(required=()), {}) == []  # graded: nothing asked of it, nothing said


def test_no_trace_where_none_is_required_is_no_box():
    from types import SimpleNamespace as NS

    from workbench import sections

    p = NS(id="1.4", pack="fx", points=0.0, graded=False, pack_flag=lambda: " --pack fx")
    assert sections.trace_gap(NS(problem=p, pick=NS(issue="none"), report=NS(required=()))) == ""
    p = NS(id="1.2", pack="fx", points=0.5, graded=True, pack_flag=lambda: " --pack fx")
    box = sections.trace_gap(NS(problem=p, pick=NS(issue="none"), report=NS(required=("trace",))))
    assert "Missing: program trace" in box and "0.5 pt at risk" in box


def test_a_plot_question_without_runs_is_a_missing_box_only_where_the_plot_is_required():
    from types import SimpleNamespace as NS

    from workbench.writeup import question

    def shown(required):
        p = NS(id="2.2", pack="fx", title="Plots", points=0.5, graded=True, type=4, kind="plot", extra_credit=False,
               context="", statement="Plot it.", figures=(), pack_flag=lambda: " --pack fx")
        entry = NS(problem=p, solution=None, auto_critique="", code=None, runs=(), plot_note="", shows_trace=False,
                   pick=NS(issue="none", usable=False, trace=None), report=NS(required=required, present={}))
        return "\n".join(question(entry, False, {}))

    assert "Missing: plots" in shown(("plot",)) and "0.5 pt at risk" in shown(("plot",))
    assert "Missing: plots" not in shown(())


def test_an_image_file_of_another_suffix_is_named_not_embedded_though_its_content_is_a_png(tmp_path):
    from PIL import Image

    from workbench.sections import own_images

    Image.new("RGB", (2, 2)).save(tmp_path / "plot.dat", format="PNG")
    files = {}
    text = own_images("![curves](plot.dat)", tmp_path / "1.1.md", files)
    assert files == {} and "not shown" in text and "only .png" in text.replace("\\", "")


def test_a_glyph_warning_names_six_characters_and_the_pdf_and_notebook_take_the_handout_s_names():
    from types import SimpleNamespace as NS

    from workbench.writeup import glyph_warnings, output_names

    p = NS(path="problems/fx/1.1.yaml", title="T", context="", statement="".join(map(chr, range(0x1F600, 0x1F607))))
    [warning] = glyph_warnings([NS(problem=p, solution=None)])
    assert warning.count("U+1F60") == 6 and "U+1F606" not in warning  # seven emoji: six named
    pack = NS(name="fx", submission={"writeup": "hw2.pdf", "notebook": "hw2.ipynb"})
    assert output_names(pack) == ("hw2.pdf", "hw2.ipynb")
    assert output_names(NS(name="fx", submission={})) == ("fx-writeup.pdf", "fx-code.ipynb")


def test_a_question_shows_its_shared_context_above_its_statement_once():
    from types import SimpleNamespace as NS

    from workbench.writeup import question

    p = NS(id="1.1", pack="fx", title="Q", points=1.0, graded=True, type=1, kind="written", extra_credit=False,
           context="FIXTURE-CONTEXT", statement="FIXTURE-STATEMENT", figures=(), pack_flag=lambda: " --pack fx")
    entry = NS(problem=p, solution=None, auto_critique="", code=None, runs=(), plot_note="", shows_trace=False,
               pick=NS(issue="none", usable=False, trace=None), report=NS(required=(), present={}))
    shown: dict[str, str] = {}
    text = "\n".join(question(entry, False, {}, shown))
    assert "FIXTURE-CONTEXT" in text and text.index("FIXTURE-CONTEXT") < text.index("FIXTURE-STATEMENT")
    assert "FIXTURE-CONTEXT" not in "\n".join(question(entry, False, {}, shown))  # the next question of the same setup


def test_the_first_part_follows_the_title_and_each_later_part_starts_a_page(fx):
    rc, _ = _build(fx, "--no-verify")
    md = (fx / "build" / "fx-writeup.md").read_text(encoding="utf-8")
    before = {title: md[:md.index(f"# {title}")].rstrip().split("\n\n")[-1] for title in ("Written Part", "Programming Part")}
    assert rc == 0 and "pagebreak" not in before["Written Part"] and "pagebreak" in before["Programming Part"], before


def test_an_extra_credit_question_without_a_trace_gets_no_extra_credit_section(fx):
    import shutil

    shutil.rmtree(fx / "traces" / "1.3")
    rc, _ = _build(fx, "--no-verify")
    md = (fx / "build" / "fx-writeup.md").read_text(encoding="utf-8")
    assert rc == 0 and "## 1.3 Fixture extra" in md and "Extra-credit attempts with LLMs" not in md


def test_the_programming_part_s_traces_go_at_the_end_though_it_is_not_the_last_part(fx):
    pack = fx / "problems" / "fx" / "pack.yaml"
    written = '  - id: written\n    title: "Written Part"\n'
    pack.write_text(pack.read_text().replace(written, "").replace("order:", written.join(["", "order:"])))
    rc, _ = _build(fx, "--no-verify")
    md = (fx / "build" / "fx-writeup.md").read_text(encoding="utf-8")
    assert rc == 0 and md.index("# Programming Part") < md.index("# Written Part")  # the parts swapped
    assert "# Program traces: Programming Part" in md and "Program traces: Written Part" not in md
    assert md.index("# Written Part") < md.index("# Program traces: Programming Part")


@pytest.mark.parametrize("text, expected", [
    (".hidden", "hidden"),      # a leading dot would make the copied file hidden (ls, zip and upload dialogs skip it)
    ("curves.", "curves"),      # Windows drops a trailing dot: "curves." and "curves" would be one file there
    ("..", "run"), (".", "run"), ("", "run"),  # nothing of a name left: a placeholder, never "." or ".."
    ("1.2.1", "1.2.1"),         # dots inside a name stay (problem ids)
    (".a b/c.", "a-b-c"),       # spaces and slashes become one dash: a slug is one file name, never a path
])
def test_slug_drops_leading_and_trailing_dots_and_keeps_inner_ones(text, expected):
    from workbench.sections import slug

    assert slug(text) == expected


def test_a_stale_trace_is_shown_with_a_note_under_it_and_a_warning(fx, capsys):
    """The writeup printed a trace whose prompt no longer matched the statement printed above it (the record was
    edited after the trace), without a word. It still builds and shows the trace, with a note under it saying the
    question changed since, and a warning line on stderr with the way out; a trace of the question as it stands
    (its fingerprint computed here from the record) gets neither."""
    from llm_fixtures import question_sha256

    current = trace_data("2.1", "FIXTURE-CURRENT-ANSWER")
    current.update(started_at="2024-05-02T12:00:00.000000Z",
                   problem_sha256=question_sha256(fx / "problems" / "fx" / "2.1.yaml"))
    write_trace(current, fx / "traces")
    stale = trace_data("1.1", "FIXTURE-STALE-ANSWER")  # asked before 1.1's record changed: another fingerprint
    stale.update(started_at="2024-05-02T12:00:00.000000Z", problem_sha256="0" * 64)
    path = write_trace(stale, fx / "traces")
    rc, text = _build(fx, "--no-verify")
    flat = " ".join(text.split())
    note = "Stale trace: problem 1.1 changed since this trace (2024-05-02)"
    assert rc == 0 and flat.count("Stale trace") == 1, flat
    assert _in_order(flat, ["1.1 Fixture minimum-norm", "FIXTURE-STALE-ANSWER", note, "1.2 Fixture gradient"])
    assert "FIXTURE-CURRENT-ANSWER" in flat
    err = " ".join(capsys.readouterr().err.split())
    assert (f"warning: 1.1: stale: problem 1.1 changed since this trace (2024-05-02); trace {path.name} is shown; ask it "
            "again with `python cli.py prompt 1.1 --pack fx --model fixture-model --base-url http://127.0.0.1:9/v1`, or "
            "keep it knowingly") in err, err
    assert "2.1: stale" not in err


def test_the_files_written_are_named_by_absolute_paths_with_or_without_out(fx, capsys, monkeypatch):
    """`--out wout` printed 'wrote wout/fx-writeup.pdf' while the default build/ printed absolute paths (as study's
    --plot and train do): each is absolute, usable from any folder, and names the folder the system wrote into
    (`link/..` is above the link's target)."""
    monkeypatch.chdir(fx / "solutions")
    (fx / "link").symlink_to(fx / "solutions" / "fx", target_is_directory=True)
    real = fx.resolve()
    for argv, folder in ((["--out", "../wout"], real / "wout"), ([], real / "build"),
                         (["--out", "../link/../wout2"], real / "solutions" / "wout2")):
        assert main(["build-writeup", "--pack", "fx", "--no-verify", *argv]) == 0
        lines = capsys.readouterr().out.splitlines()
        wrote = [line.removeprefix("wrote ") for line in lines if line.startswith("wrote ")]
        assert wrote == [str(folder / f"fx-writeup.{ext}") for ext in ("pdf", "md", "typ")] + \
            [str(folder / "fx-code.ipynb")], lines
        assert (folder / "fx-writeup.pdf").is_file()


def test_the_files_written_are_named_one_line_each_where_a_folder_holds_a_line_break(fx, capsys):
    """`wrote {path}` printed a line break in --out as it was: 'wrote .../a' and 'b/fx-writeup.pdf', the second
    naming nothing a script could read; each stays one line, the break shown as \\n (console.one_line)."""
    out = fx / "a\nb"
    assert main(["build-writeup", "--pack", "fx", "--no-verify", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "wrote " + str(out / "fx-writeup.pdf").replace("\n", "\\n") in lines, lines
    assert (out / "fx-writeup.pdf").is_file()
