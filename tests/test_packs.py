"""The pack author's journey: a new pack outside problems/, given as `--pack PATH`, through every command."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from cli import main
from conftest import REPO

RECORDS = {
    "1.1": {"id": "1.1", "title": "Mean", "section": "1 Basics", "part": "written", "points": 1, "type": 1,
            "kind": "written", "statement": "What is the mean of 1, 2 and 3?", "answer": "number"},
    "1.2": {"id": "1.2", "title": "Variance", "section": "1 Basics", "part": "written", "points": 1, "type": 1,
            "kind": "written", "statement": "What is the variance of 1, 2 and 3?", "answer": "number"},
}

# A pack's checks as an author first writes them: numpy results, no ANSWER_KEYS table.
REFERENCE = '''
from workbench.verdicts import detail

def reference(problem, ctx):
    return {"answer": 2.0, "method": "the mean"}

def check(problem, sub, ctx):
    return [detail("answer", 2.0, 2.0 if "2" in sub.text else None, "2" in sub.text)]
'''


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    """An isolated project with no pack of its own under problems/ (the pack is given by path)."""
    root = tmp_path / "project"
    for name in ("problems", "traces", "runs", "build", "solutions"):
        (root / name).mkdir(parents=True)
    (root / "prompts").symlink_to(REPO / "prompts", target_is_directory=True)
    monkeypatch.setenv("WORKBENCH_ROOT", str(root))
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"):
        monkeypatch.delenv(var, raising=False)
    return root


def make_pack(tmp_path: Path, reference: str = REFERENCE, records: dict | None = None, **meta) -> Path:
    folder = tmp_path / "toy"
    folder.mkdir()
    records = RECORDS if records is None else records
    head = {"schema": "workbench.pack/1", "name": "toy", "title": "Problem Set 1", "course": "STA 101",
            "version": "1", "parts": [{"id": "written", "title": "Written part"}], "order": list(records), **meta}
    (folder / "pack.yaml").write_text(yaml.safe_dump(head, sort_keys=False), encoding="utf-8")
    for pid, record in records.items():
        (folder / f"{pid}.yaml").write_text(yaml.safe_dump(record, sort_keys=False), encoding="utf-8")
    (folder / "reference.py").write_text(textwrap.dedent(reference), encoding="utf-8")
    return folder


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_reference_works_without_an_answer_keys_table(root, tmp_path, capsys):
    pack = make_pack(tmp_path)
    code, out, err = run(capsys, "reference", "1.1", "--pack", pack, "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {"problem": "1.1", "answer_key": None, "answer": 2.0, "method": "the mean"}


SOLUTION = "---\nproblem: \"1.1\"\n---\n## Critique\nFine.\n\n## Solution\nThe mean is 2.\n"

NUMPY_REFERENCE = '''
import numpy as np
from workbench.verdicts import detail

def reference(problem, ctx):
    return {"answer": np.float64(2.0), "n": np.int64(3), "values": np.array([1, 2, 3]), "method": "numpy"}

def check(problem, sub, ctx):
    found = np.float64(2.0) if "2" in sub.text else np.float64(0.0)
    return [detail("mean", np.array([2.0]), found, np.isclose(found, 2.0)),
            detail("n", np.int64(3), np.int64(3), np.int64(3) == 3)]
'''


def test_numpy_results_of_a_packs_checks_are_written_as_json_numbers(root, tmp_path, capsys):
    pack = make_pack(tmp_path, NUMPY_REFERENCE)
    code, out, err = run(capsys, "reference", "1.1", "--pack", pack, "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {"problem": "1.1", "answer_key": None, "answer": 2.0, "n": 3, "values": [1, 2, 3],
                               "method": "numpy"}
    code, out, err = run(capsys, "reference", "1.1", "--pack", pack)
    assert code == 0 and "np." not in out and "array(" not in out and "[1, 2, 3]" in out

    (root / "solutions" / "toy").mkdir()
    (root / "solutions" / "toy" / "1.1.md").write_text(SOLUTION)
    code, out, err = run(capsys, "verify", "--pack", pack, "--json")
    assert code == 1 and err == ""  # not ready: no traces
    own = json.loads(out)["reports"][0]["verdicts"][0]
    assert own["status"] == "correct"
    assert [(d["expected"], d["found"], d["ok"]) for d in own["details"]] == [([2.0], 2.0, True), (3, 3, True)]
    code, out, err = run(capsys, "check", "1.1", root / "solutions" / "toy" / "1.1.md", "--pack", pack, "--json")
    assert (code, err) == (0, "") and json.loads(out)["status"] == "correct"


RAISING_REFERENCE = '''
from pathlib import Path
from workbench.verdicts import detail

ANSWER_KEYS = {"1.1": {"value": "number"}, "1.2": {"value": "number"}}

def reference(problem, ctx):
    raise ValueError("no solver yet")

def answer_value_error(pid, key, value):
    if pid == "1.1":
        raise KeyError(key)
    return None

def check(problem, sub, ctx):
    if problem.id == "1.1":
        raise ZeroDivisionError("division by zero")
    return [detail("answer", 2.0, 2.0, True)]

def plot_files(problem, ctx):
    raise RuntimeError("figs not decided")
'''


def raising_pack(root, tmp_path) -> Path:
    records = dict(RECORDS)
    records["1.3"] = dict(RECORDS["1.2"], id="1.3", type=3, kind="plot")
    pack = make_pack(tmp_path, RAISING_REFERENCE, records)
    (root / "solutions" / "toy").mkdir()
    for pid in ("1.1", "1.2"):
        (root / "solutions" / "toy" / f"{pid}.md").write_text(
            f"---\nproblem: \"{pid}\"\nanswer: {{value: 2}}\n---\n## Critique\nFine.\n\n## Solution\nIt is 2.\n")
    return pack


def test_a_packs_reference_that_raises_is_one_line_naming_the_problem_and_function(root, tmp_path, capsys):
    pack = raising_pack(root, tmp_path)
    code, out, err = run(capsys, "reference", "1.1", "--pack", pack)
    assert code == 2 and out == "" and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert "1.1" in err and "reference()" in err and "ValueError: no solver yet" in err
    assert str(pack / "reference.py") in err and "line 8" in err


def test_a_packs_functions_that_raise_leave_that_problem_unchecked_and_the_others_checked(root, tmp_path, capsys):
    pack = raising_pack(root, tmp_path)
    code, out, err = run(capsys, "verify", "--pack", pack, "--json")
    assert code == 1 and "Traceback" not in err
    reports = {r["problem"]: r for r in json.loads(out)["reports"]}
    own = {pid: r["verdicts"][0] for pid, r in reports.items() if r["verdicts"]}
    assert own["1.1"]["status"] == "unchecked"
    assert "answer_value_error()" in own["1.1"]["reason"] and "KeyError" in own["1.1"]["reason"]
    assert own["1.2"]["status"] == "correct"  # the problem after the failing ones is still checked
    notes = " ".join(reports["1.3"]["notes"])
    assert "plot_files()" in notes and "RuntimeError: figs not decided" in notes
    assert reports["1.3"]["present"]["plot"] is False

    # the check itself raising: unchecked, naming check() and where
    (pack / "reference.py").write_text(RAISING_REFERENCE.replace("raise KeyError(key)", "return None"))
    for name in [m for m in sys.modules if m.startswith("workbench_pack_toy")]:  # as a new process would load it
        del sys.modules[name]
    code, out, err = run(capsys, "verify", "--pack", pack, "--json")
    own = json.loads(out)["reports"][0]["verdicts"][0]
    assert own["status"] == "unchecked" and "check()" in own["reason"] and "ZeroDivisionError" in own["reason"]
    assert "reference.py, line 17" in own["reason"]
    code, out, err = run(capsys, "verify", "--pack", pack)
    assert code == 1 and "Traceback" not in err and "1.3: the pack's plot_files() failed" in out
    assert "1.1: the pack's check() failed" in out  # why 1.1 is unchecked, in the text report too

    code, out, err = run(capsys, "check", "1.1", root / "solutions" / "toy" / "1.1.md", "--pack", pack)
    assert code == 0 and "unchecked" in out and "check()" in out


def test_next_step_advice_names_the_pack_that_was_given(root, tmp_path, capsys):
    pack = make_pack(tmp_path)
    flag = f"--pack {pack}"
    code, out, err = run(capsys, "traces", "--pack", pack)
    assert code == 0 and f"`python cli.py prompt ID {flag}`" in out and f"--problem ID {flag}`" in out
    code, out, err = run(capsys, "traces", "1.1", "--pack", pack)
    assert code == 0 and f"`python cli.py prompt ID {flag}`" in out
    code, out, err = run(capsys, "study", "--pack", pack)
    assert code == 1 and f"`python cli.py prompt --type 1,2,3,4 {flag}`" in err
    code, out, err = run(capsys, "prompt", "--pack", pack)
    assert code == 2 and f"(see `python cli.py list {flag}`)" in err

    chat = tmp_path / "chat.md"
    chat.write_text("## User\n\nWhat is the mean of 1, 2 and 3?\n\n## ChatGPT\n\nIt is 2.\n", encoding="utf-8")
    assert run(capsys, "import-chat", chat, "--problem", "1.1", "--model", "gpt-4o", "--pack", pack)[0] == 0
    code, out, err = run(capsys, "import-chat", chat, "--problem", "1.1", "--model", "gpt-4o", "--pack", pack)
    assert code == 2 and f"`python cli.py traces cite 1.1 {flag}`" in err
    code, out, err = run(capsys, "traces", "cite", "1.1", "--pack", pack)
    assert code == 0 and "gpt-4o" in out


PLOT_REFERENCE = '''
from pathlib import Path

def reference(problem, ctx):
    return {"answer": None, "method": "a plot"}

def check(problem, sub, ctx):
    return []

def plot_files(problem, ctx):
    return [Path(ctx.results_dir).parent / "figs" / "hist.png"]
'''


def plot_pack(tmp_path, **record) -> Path:
    return make_pack(tmp_path, PLOT_REFERENCE, {"1.1": dict(RECORDS["1.1"], type=3, kind="plot", answer="free", **record)})


def test_a_missing_plot_folder_is_named_as_the_plots_folder_not_a_training_run(root, tmp_path, capsys):
    pack = plot_pack(tmp_path)
    code, out, err = run(capsys, "build-writeup", "--pack", pack, "--name", "A", "--student-id", "1")
    assert "Traceback" not in err
    text = " ".join((out + err).split())
    assert "pinned run" not in text and "train the model" not in text
    assert "solutions/toy/figs/hist.png is missing (no folder solutions/toy/figs yet)" in text


def tiny_png(path: Path) -> None:
    """A valid 1x1 grey PNG, written by hand (no imaging library needed)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b""))


def test_a_records_missing_or_corrupt_figure_is_a_warning_and_the_good_one_is_shown(root, tmp_path, capsys):
    pack = plot_pack(tmp_path, figures=["good.png", "gone.png", "broken.png"])
    tiny_png(pack / "good.png")
    (pack / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)  # a PNG's signature, cut off after it
    code, out, err = run(capsys, "build-writeup", "--pack", pack, "--name", "A", "--student-id", "1")
    assert "Traceback" not in err and "typst failed" not in err
    assert (root / "build" / "toy-writeup.pdf").is_file()
    lines = (out + err).splitlines()
    gone = [line for line in lines if "gone.png" in line]
    broken = [line for line in lines if "broken.png" in line]
    assert len(gone) == 1 and "1.1" in gone[0] and "no such file" in gone[0], gone
    assert len(broken) == 1 and "1.1" in broken[0] and "not a readable" in broken[0], broken
    shown = [f.name for f in (root / "build" / "files").iterdir() if f.name.startswith("fig-")]
    assert shown == ["fig-1.1-good.png"]


def test_one_problem_and_one_point_are_counted_in_the_singular(root, tmp_path, capsys):
    pack = plot_pack(tmp_path)
    code, out, err = run(capsys, "list", "--pack", pack)
    assert code == 0 and "Written part: 1 problem " in out and out.splitlines()[-1] == "1 problem, 1 point"
    code, out, err = run(capsys, "build-writeup", "--pack", pack, "--name", "A", "--student-id", "1")
    assert "0 of 1 questions complete; 1 point at risk" in out


@pytest.mark.parametrize("returned", ["[1, 2]", "'2.0'", "2.0"])
def test_a_reference_that_returns_no_mapping_is_one_line_naming_the_function(root, tmp_path, capsys, returned):
    pack = make_pack(tmp_path, REFERENCE.replace('{"answer": 2.0, "method": "the mean"}', returned))
    code, out, err = run(capsys, "reference", "1.1", "--pack", pack)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "1.1" in err and "reference()" in err and "not a mapping" in err and "answer" in err


@pytest.mark.parametrize("returned", ['{"what": "x", "ok": True}', '["x"]', '[{"what": "x"}]', "True",
                                      "[detail(1, 2.0, 2.0, True)]"])
def test_a_check_that_returns_no_list_of_details_leaves_that_problem_unchecked(root, tmp_path, capsys, returned):
    pack = make_pack(tmp_path, REFERENCE.replace('return [detail("answer", 2.0, 2.0 if "2" in sub.text else None, '
                                                 '"2" in sub.text)]', f"return {returned}"))
    (root / "solutions" / "toy").mkdir()
    for pid in ("1.1", "1.2"):
        (root / "solutions" / "toy" / f"{pid}.md").write_text(SOLUTION.replace("1.1", pid))
    code, out, err = run(capsys, "verify", "--pack", pack, "--json")
    assert code == 1 and "Traceback" not in err
    for report in json.loads(out)["reports"]:
        own = report["verdicts"][0]
        assert own["status"] == "unchecked" and "check()" in own["reason"] and "detail(" in own["reason"], own
    code, out, err = run(capsys, "check", "1.1", root / "solutions" / "toy" / "1.1.md", "--pack", pack)
    assert code == 0 and "Traceback" not in err and "check()" in out


def test_plot_files_that_returns_one_path_instead_of_a_list_is_named_not_read_letter_by_letter(root, tmp_path, capsys):
    pack = make_pack(tmp_path, PLOT_REFERENCE.replace('return [Path(ctx.results_dir).parent / "figs" / "hist.png"]',
                                                      'return str(Path(ctx.results_dir).parent / "figs" / "hist.png")'),
                     {"1.1": dict(RECORDS["1.1"], type=3, kind="plot", answer="free")})
    code, out, err = run(capsys, "verify", "--pack", pack, "--json")
    notes = json.loads(out)["reports"][0]["notes"]
    assert notes == ["the pack's plot_files() returned a str, not a list of paths: return [path, ...]"], notes
    code, out, err = run(capsys, "build-writeup", "--pack", pack, "--name", "A", "--student-id", "1")
    assert "Traceback" not in err and (root / "build" / "toy-writeup.pdf").is_file()
    assert " / is missing" not in " ".join(out.split())


def test_citing_another_packs_trace_names_a_pack_flag_that_works(root, tmp_path, capsys):
    toy = make_pack(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    for name in ("1.1.yaml", "1.2.yaml", "reference.py"):
        (other / name).write_bytes((toy / name).read_bytes())
    (other / "pack.yaml").write_text((toy / "pack.yaml").read_text().replace("name: toy", "name: other"))
    chat = tmp_path / "chat.md"
    chat.write_text("## User\n\nWhat is the mean of 1, 2 and 3?\n\n## ChatGPT\n\nIt is 2.\n", encoding="utf-8")
    assert run(capsys, "import-chat", chat, "--problem", "1.1", "--model", "gpt-4o", "--pack", toy)[0] == 0
    code, out, err = run(capsys, "traces", "cite", "1.1", "--pack", other)
    assert code == 1 and "--pack toy" not in err  # no pack toy under problems/: that flag would name nothing
    assert "pack 'toy'" in err and f"`python cli.py prompt 1.1 --pack {other}`" in err


def test_a_plot_problem_of_a_pack_without_plot_files_says_the_function_is_missing(root, tmp_path, capsys):
    pack = make_pack(tmp_path, records={"1.1": dict(RECORDS["1.1"], type=3, kind="plot", answer="free")})
    code, out, err = run(capsys, "verify", "--pack", pack, "--json")
    notes = json.loads(out)["reports"][0]["notes"]
    assert notes == [f"no plot file: {pack / 'reference.py'} defines no plot_files(problem, ctx) to name the plots "
                     "of 1.1"], notes


@pytest.mark.parametrize("table, words", [
    ('ANSWER_KEYS = ["1.1"]', "ANSWER_KEYS"),
    ('ANSWER_KEYS = {"1.1": "value"}', "ANSWER_KEYS"),
    ('CITE_METRICS = "val_acc"', "CITE_METRICS"),
])
def test_a_reference_table_of_the_wrong_shape_is_one_line_naming_it(root, tmp_path, capsys, table, words):
    pack = make_pack(tmp_path, REFERENCE + table + "\n")
    (root / "solutions" / "toy").mkdir()
    (root / "solutions" / "toy" / "1.1.md").write_text(SOLUTION.replace('---\n## C', 'answer: {value: 2}\n---\n## C'))
    for argv in (["verify"], ["reference", "1.1"]):
        code, out, err = run(capsys, *argv, "--pack", pack)
        assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert str(pack / "reference.py") in err and words in err


def test_a_helper_imported_by_its_bare_name_gets_the_relative_import_as_the_fix(root, tmp_path, capsys):
    pack = make_pack(tmp_path, "import ref_mean\n" + REFERENCE)
    (pack / "ref_mean.py").write_text("MEAN = 2.0\n")
    code, out, err = run(capsys, "reference", "1.1", "--pack", pack)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"{pack / 'reference.py'}, line 1" in err and "`from . import ref_mean`" in err
    (pack / "reference.py").write_text("from . import ref_mean\n" + REFERENCE)
    assert run(capsys, "reference", "1.1", "--pack", pack)[0] == 0


@pytest.mark.parametrize("submission, words", [
    ({"writup": "ps1.pdf"}, "unknown key 'writup'"),
    ({"writeup": 3}, "'writeup'"),
    ({"writeup": "out/ps1.pdf"}, "'writeup'"),
    ({"notebook": ""}, "'notebook'"),
    ({"programming_traces_at_end": "no"}, "'programming_traces_at_end'"),
])
def test_a_submission_entry_that_would_be_ignored_or_misread_is_refused(root, tmp_path, capsys, submission, words):
    pack = make_pack(tmp_path, submission=submission)
    code, out, err = run(capsys, "list", "--pack", pack)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert str(pack / "pack.yaml") in err and "submission" in err and words in err, err


def test_a_well_formed_submission_names_the_outputs(root, tmp_path, capsys):
    pack = make_pack(tmp_path, submission={"writeup": "ps1.pdf", "notebook": "ps1.ipynb",
                                           "programming_traces_at_end": True})
    code, out, err = run(capsys, "build-writeup", "--pack", pack, "--name", "A", "--student-id", "1", "--no-verify")
    assert (root / "build" / "ps1.pdf").is_file() and (root / "build" / "ps1.ipynb").is_file()


def test_advice_quotes_a_pack_folder_with_a_space_so_it_can_be_pasted(root, tmp_path, capsys):
    import shlex

    spaced = tmp_path / "my packs"
    spaced.mkdir()
    pack = make_pack(spaced)
    code, out, err = run(capsys, "traces", "cite", "1.1", "--pack", pack)
    assert code == 1 and f"`python cli.py prompt 1.1 --pack {shlex.quote(str(pack))}`" in err
    code, out, err = run(capsys, "show", "9.9", "--pack", pack)
    assert code == 2 and f"`python cli.py list --pack {shlex.quote(str(pack))}`" in err


def test_the_writeup_names_a_failing_plot_files_instead_of_asking_for_a_training_run(root, tmp_path, capsys):
    pack = raising_pack(root, tmp_path)
    code, out, err = run(capsys, "build-writeup", "--pack", pack, "--name", "A", "--student-id", "1")
    assert code == 0 and "Traceback" not in err
    row = " ".join(line.split("│")[-2].strip() for line in out.splitlines() if line.count("│") > 6)
    assert "the pack's plot_files() failed" in row and "RuntimeError: figs not decided" in row
    assert "train the model" not in row
    md = (root / "build" / "toy-writeup.md").read_text()
    assert "plot_files() failed" in md and "pin the run" not in md


EXITING_REFERENCE = '''
import sys
from workbench.verdicts import detail

def reference(problem, ctx):
    sys.exit("no solver for " + problem.id)

def check(problem, sub, ctx):
    if problem.id == "1.1":
        sys.exit(3)
    return [detail("answer", 2.0, 2.0, True)]
'''


def _fresh(pack: Path, reference: str) -> None:
    """A new reference.py, loaded anew as a new process would."""
    (pack / "reference.py").write_text(textwrap.dedent(reference), encoding="utf-8")
    for name in [m for m in sys.modules if m.startswith("workbench_pack_toy")]:
        del sys.modules[name]


def test_a_packs_function_that_calls_sys_exit_is_a_pack_failure_not_the_end_of_the_command(root, tmp_path, capsys):
    """sys.exit() in a pack's reference.py ended the command with its message (or silently, with its code); it is the
    pack's failure, one line naming the function and line, as any other raise."""
    pack = make_pack(tmp_path, EXITING_REFERENCE)
    _fresh(pack, EXITING_REFERENCE)
    code, out, err = run(capsys, "reference", "1.1", "--pack", pack)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "reference()" in err and "SystemExit: no solver for 1.1" in err and "reference.py, line 6" in err

    (root / "solutions" / "toy").mkdir()
    for pid in ("1.1", "1.2"):
        (root / "solutions" / "toy" / f"{pid}.md").write_text(SOLUTION.replace('"1.1"', f'"{pid}"'))
    code, out, err = run(capsys, "verify", "--pack", pack, "--json")
    own = {r["problem"]: r["verdicts"][0] for r in json.loads(out)["reports"]}
    assert code == 1 and "Traceback" not in err
    assert own["1.1"]["status"] == "unchecked" and "check()" in own["1.1"]["reason"]
    assert "SystemExit: 3" in own["1.1"]["reason"] and own["1.2"]["status"] == "correct"  # the others still checked

    _fresh(pack, "import sys\nsys.exit('not ready')\n")  # at import
    code, out, err = run(capsys, "reference", "1.1", "--pack", pack)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "fail to import (SystemExit: not ready)" in err and "reference.py, line 2" in err


def test_ctrl_c_inside_a_packs_check_still_interrupts_the_command(root, tmp_path, capsys):
    pack = make_pack(tmp_path, "def reference(problem, ctx):\n    raise KeyboardInterrupt\n")
    _fresh(pack, "def reference(problem, ctx):\n    raise KeyboardInterrupt\n")
    code, out, err = run(capsys, "reference", "1.1", "--pack", pack)
    assert code == 130 and err.strip() == "interrupted"
