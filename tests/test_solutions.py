"""The own solutions of the A2 pack (solutions/a2/*.md): they parse, cover the pack, invent no critique, and check out."""

from __future__ import annotations

import importlib
import importlib.util
import re

import pytest

from conftest import REPO
from workbench.errors import ProblemError
from workbench.solutions import parse_solution

SOLUTIONS = REPO / "solutions" / "a2"
PROBLEMS = REPO / "problems" / "a2"
IDS = ["1.1.1", "1.2.1", "1.2.2", "2.1.1", "2.1.2", "2.1.3", "2.2.1", "2.2.2", "2.2.3",
       "2.3.1", "2.3.2", "2.3.3", "3.1", "3.2", "3.3",
       "4.1", "4.2", "4.3", "5.1", "5.2", "5.3", "5.4", "5.5", "6.1", "6.2", "6.3"]
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_SECTION = re.compile(r"^## +(.+?)\s*$", re.M)


def _reference():
    """problems/a2/reference.py, loaded by path as verify does."""
    spec = importlib.util.spec_from_file_location("a2_reference_for_tests", PROBLEMS / "reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("pid", IDS)
def test_solution_parses_and_has_a_solution(pid):
    sol = parse_solution(SOLUTIONS / f"{pid}.md")
    assert sol.problem == pid
    assert sol.has_solution, f"{pid}: the `## Solution` section is empty"


@pytest.mark.parametrize("front, message", [
    ('problem: "3.1"\ncode: "a:b"\nanswer: x: y\n', "malformed front matter at line 4"),  # the file's line
    ('problem: "3.2"\n', "front matter says problem '3.2'"),
    ('problem: "3.1"\x00\n',
     "malformed front matter: special characters are not allowed (character 0x00 at offset 14)"),  # was 2 lines
    ('problem: "3.1"\nanswer: {cnn_params: 1' + "0" * 5000 + '}\n', "malformed front matter: a number in it is too long to read"),
    ('problem: "3.1"\nanswers: 1\n', "unknown front-matter key 'answers'"),
    ('problem: "3.1"\ncites: [a, b]\n', "`cites` must be a mapping of run.metric to value"),
    ('trace: [1]\n', "`trace` must be one trace's file name or hash prefix"),  # a list's text is no pin
    ('trace: {a: 1}\n', "`trace` must be one trace's file name or hash prefix"),
])
def test_a_broken_solution_file_is_named_with_what_is_wrong(tmp_path, front, message):
    from workbench.errors import ProblemError

    path = tmp_path / "3.1.md"
    path.write_text(f"---\n{front}---\n\n## Solution\n\nx\n")
    with pytest.raises(ProblemError) as err:
        parse_solution(path)
    assert err.value.message == f"{path}: {message}" or err.value.message.startswith(f"{path}: {message}:")


@pytest.mark.parametrize("value, shown", [
    (r'"\frac{n}{2}"', r"\f"),  # YAML read \f as a form feed: 'unknown symbol rac' in a formula that is right
    (r'"\eta / 2"', r"\e"),  # \e: an escape character, so the answer read 'ta / 2'
    (r'"a^\top X"', r"\t"),  # \t: a tab
    (r'"\nabla L"', r"\n"),  # \n: a line break
])
def test_tex_in_double_quotes_is_named_not_read_as_yaml_escapes(tmp_path, value, shown):
    """In YAML's double quotes a backslash starts an escape: `eta_star: "\frac{n}{2}"` loaded as a form feed and
    'rac{n}{2}', judged as an unknown symbol 'rac', a right answer the student could not see was misread."""
    path = tmp_path / "2.2.3.md"
    path.write_text(f'---\nproblem: "2.2.3"\nanswer:\n  eta_star: {value}\n---\n\n## Solution\n\nx\n')
    with pytest.raises(ProblemError) as err:
        parse_solution(path)
    assert err.value.message.startswith(f"{path}: malformed front matter at line 4: {value} is in double quotes")
    assert shown in err.value.message and "single quotes" in err.value.fix
    # as the docs advise: single quotes, or each backslash doubled; plain text in double quotes stays fine
    tex = value.strip('"')
    for ok, read in ((f"'{tex}'", tex), (value.replace("\\", "\\\\"), tex), ('"O(1) \\"per\\" step"', 'O(1) "per" step')):
        path.write_text(f'---\nproblem: "2.2.3"\nanswer:\n  eta_star: {ok}\n---\n\n## Solution\n\nx\n')
        assert parse_solution(path).answer["eta_star"] == read
    # only `answer:` holds TeX: a line break escaped on purpose elsewhere (a cites key) is read as YAML reads it
    path.write_text('---\nproblem: "2.2.3"\ncites: {"a\\nb.val_acc": 1}\n---\n\n## Solution\n\nx\n')
    assert parse_solution(path).cites == {"a\nb.val_acc": "1"}


def test_an_unknown_escape_in_double_quotes_says_to_use_single_quotes(tmp_path):
    r"""`"\lVert a \rVert"` was 'found unknown escape character l', with the fix 'fix the YAML between the --- lines'."""
    path = tmp_path / "2.2.3.md"
    path.write_text('---\nproblem: "2.2.3"\nanswer:\n  eta_star: "\\lVert a \\rVert"\n---\n\n## Solution\n\nx\n')
    with pytest.raises(ProblemError) as err:
        parse_solution(path)
    assert "found unknown escape character 'l'" in err.value.message and "single quotes" in err.value.fix


@pytest.mark.parametrize("title", ["Solution", "Critique"])
def test_a_second_section_of_the_same_read_title_is_refused_not_dropped(tmp_path, title):
    """The first of two `## Solution` sections was dropped without a word: checked, and typeset, was the last only."""
    from workbench.errors import ProblemError

    path = tmp_path / "3.1.md"
    path.write_text(f'---\nproblem: "3.1"\n---\n\n## {title}\n\nfirst\n\n## Notes\n\nn\n\n## {title.upper()}\n\nsecond\n')
    with pytest.raises(ProblemError) as err:
        parse_solution(path)
    assert err.value.message == f"{path}: has two “## {title.upper()}” sections" and "merge" in err.value.fix
    path.write_text('---\nproblem: "3.1"\n---\n\n## Solution\n\nfirst\n\n## Notes\n\na\n\n## Notes\n\nb\n')
    assert parse_solution(path).solution == "first"  # a section nothing reads may repeat


def test_a_hash_hash_line_inside_a_code_block_does_not_end_the_section(tmp_path):
    """A Python `## step 1` comment in a solution's code block cut the solution there: the rest of the code and the
    text after it were left out of the PDF and the checks, unwarned."""
    path = tmp_path / "3.1.md"
    path.write_text('---\nproblem: "3.1"\n---\n\n## Solution\n\nA\n\n```python\n## Critique\nx = 1\n```\n\nB\n\n'
                    '~~~~\n## Solution\n```\n## z\n~~~~\nC\n\n## Critique\n\n```text\n## open fence runs to the end\n')
    sol = parse_solution(path)
    assert sol.solution == "A\n\n```python\n## Critique\nx = 1\n```\n\nB\n\n~~~~\n## Solution\n```\n## z\n~~~~\nC"
    assert sol.critique == "```text\n## open fence runs to the end"


def test_front_matter_without_its_closing_line_is_named_as_such(tmp_path):
    """It was reported as 'no YAML front matter', with the fix 'start the file with a `---` block' it already had."""
    from workbench.errors import ProblemError

    path = tmp_path / "3.1.md"
    path.write_text('---\nproblem: "3.1"\n\n## Solution\n\nx\n')
    with pytest.raises(ProblemError) as err:
        parse_solution(path)
    assert err.value.message == f"{path}: front matter is not closed"
    assert "`---`" in err.value.fix
    path.write_text('\ufeff---\nproblem: "3.1"\n\n## Solution\n\nx\n')  # after a Windows byte-order mark too
    with pytest.raises(ProblemError, match="front matter is not closed"):
        parse_solution(path)


@pytest.mark.parametrize("pid", IDS)
def test_no_invented_critique(pid):
    """No trace exists yet, so a `## Critique` section may only hold notes (HTML comments) for the student."""
    text = (SOLUTIONS / f"{pid}.md").read_text(encoding="utf-8")
    body = text.split("\n---", 2)[-1]
    raw = _SECTION.split(body)
    for title, content in zip(raw[1::2], raw[2::2]):
        if title.strip().lower() == "critique":
            assert _COMMENT.sub("", content).strip() == "", f"{pid}: critique text outside an HTML comment"
    assert not parse_solution(SOLUTIONS / f"{pid}.md").has_critique


def test_every_problem_of_the_pack_has_a_solution(project):
    from workbench.problems import load_pack

    pack = load_pack("a2")
    ids = [p.id for p in pack.problems]
    assert ids == IDS
    missing = [pid for pid in ids if not (SOLUTIONS / f"{pid}.md").exists()]
    assert not missing, f"no solution file for {missing}"
    extra = sorted(p.stem for p in SOLUTIONS.glob("*.md") if p.stem not in ids)
    assert not extra, f"solution files without a problem: {extra}"


def test_type_1_and_2_solutions_leave_a_note_for_the_critique(project):
    """Problems that need a critique carry a comment saying what it must address once a trace exists."""
    from workbench.problems import load_pack

    for problem in load_pack("a2").problems:
        if "critique" not in problem.deliverables:
            continue
        text = (SOLUTIONS / f"{problem.id}.md").read_text(encoding="utf-8")
        critique = text.split("## Critique", 1)
        assert len(critique) == 2 and _COMMENT.search(critique[1]), f"{problem.id}: no critique note"


@pytest.mark.parametrize("pid", IDS)
def test_answer_front_matter_matches_answer_keys(pid):
    keys = _reference().ANSWER_KEYS.get(pid)
    answer = parse_solution(SOLUTIONS / f"{pid}.md").answer
    if keys is None:
        assert answer is None, f"{pid} has no answer key, but the solution sets `answer:`"
        return
    assert isinstance(answer, dict), f"{pid}: `answer:` must be a mapping with keys {sorted(keys)}"
    required = {k for k, desc in keys.items() if "(optional)" not in desc}
    assert required <= set(answer), f"{pid}: missing answer keys {sorted(required - set(answer))}"
    assert set(answer) <= set(keys), f"{pid}: unknown answer keys {sorted(set(answer) - set(keys))}"


@pytest.mark.parametrize("pid", sorted(_reference().CODE_PROBLEMS))
def test_code_pointer_names_the_model(pid):
    ref = _reference()
    code = parse_solution(SOLUTIONS / f"{pid}.md").code
    assert code, f"{pid}: no `code:` pointer"
    module, _, name = code.partition(":")
    assert name == ref.CODE_PROBLEMS[pid]
    assert hasattr(importlib.import_module(module), name)


@pytest.mark.parametrize("pid", IDS)
def test_cited_numbers_are_quoted(pid):
    """Every `cites:` entry names a run metric and appears, as written, in the solution (verify checks the value)."""
    sol = parse_solution(SOLUTIONS / f"{pid}.md")
    metrics = _reference().CITE_METRICS
    for key, value in sol.cites.items():
        run, _, metric = str(key).rpartition(".")
        assert run and metric in metrics, f"{pid}: cite {key!r} is not <run>.<{'|'.join(metrics)}>"
        assert isinstance(value, str), f"{pid}: quote {key} as a string, so trailing zeros (1.010) keep their decimals"
        assert value in sol.solution, f"{pid}: cited {key} = {value} does not appear in the text"


def _checkable(pid: str, sol, ref) -> bool:
    """A solution the pack can check: an answer key, a code pointer, or numbers cited from pinned runs."""
    return pid in ref.ANSWER_KEYS or pid in getattr(ref, "CODE_PROBLEMS", {}) or bool(sol.cites)


@pytest.mark.parametrize("pid", IDS)
def test_verify_reports_own_solution_correct(pid, project):
    """Checkable solutions verify as correct (or, where the question also asks for reasons, agree on all the machine
    decides); free-text ones are honestly `unchecked` (no judge given)."""
    from workbench import verify

    ref = _reference()
    sol = parse_solution(SOLUTIONS / f"{pid}.md")
    [report] = verify.verify_pack("a2", [pid])
    own = report.own_verdict
    assert own is not None, f"{pid}: verify found no own solution"
    if not _checkable(pid, sol, ref):
        assert own.status == "unchecked" and own.reason, f"{pid}: free text must be unchecked with a reason"
        return
    wrong = [d for d in own.details if d.get("ok") is False]
    undecided = [d["what"] for d in own.details if d.get("ok") is None]
    # what a machine decides must agree; the reasons some questions ask for (key points) wait for --judge
    assert own.status == "correct" or (own.status == "unchecked" and undecided == ["key points"]), \
        f"{pid}: {own.status} ({own.reason}); failing checks: {wrong}"


# --- mutation survivors: what counts as front matter, a section and an off-level heading ---------------------------

BODY = """
# Solution draft
####### Solution seven
## Solution
one <!-- a --> two <!-- b -->
###### SOLUTION part 2
##Solution glued
x ## Critique
<!--
### Critique in a note
-->
---
### Solutions tip
## Critique
<!-- only a note -->
"""


def test_only_level_2_headings_open_sections_and_level_1_or_3_to_6_are_named(tmp_path):
    path = tmp_path / "3.1.md"
    path.write_text('---\nproblem: "3.1"\n---\n' + BODY)
    sol = parse_solution(path)
    # a rule (---) in the body is text, not the end of the front matter; comments go one by one
    assert sol.solution == ("one  two \n###### SOLUTION part 2\n##Solution glued\nx ## Critique\n\n---\n"
                            "### Solutions tip")
    assert sol.critique == "" and not sol.has_critique
    # not 7 hashes (no heading), not "Solutions", not one inside a comment; any case
    assert sol.off_level == ("# Solution draft", "###### SOLUTION part 2")


def test_a_code_block_left_open_that_hides_a_section_is_named(tmp_path):
    """A ```python block never closed in the solution ran to the end of the file, so the `## Critique` after it was
    read as code: verify said 'no “## Critique”: write one' of a critique the student had written."""
    from workbench.solutions import heading_notes

    path = tmp_path / "3.1.md"
    path.write_text('---\nproblem: "3.1"\n---\n\n## Solution\n\nx\n\n```python\ny = 1\n\n## Critique\n\nRight.\n')
    sol = parse_solution(path)
    assert not sol.has_critique  # as it is read: inside the block
    assert heading_notes(sol) == ["3.1.md: the code block opened at line 9 is never closed, so '## Critique' after it "
                                  "is read as code: end the block with a line ```"], heading_notes(sol)
    path.write_text(path.read_text().replace("y = 1\n", "y = 1\n```\n"))
    sol = parse_solution(path)
    assert sol.has_critique and heading_notes(sol) == []
    path.write_text('---\nproblem: "3.1"\n---\n\n## Solution\n\nx\n\n## Critique\n\n~~~\nlast words\n')
    assert heading_notes(parse_solution(path)) == []  # open at the end, hiding no section: nothing to say


def test_front_matter_ends_at_a_line_of_its_own(tmp_path):
    path = tmp_path / "3.1.md"
    path.write_text('---\nproblem: "3.1"\n---x\n\n## Solution\n\nx\n')
    with pytest.raises(ProblemError, match="front matter is not closed"):
        parse_solution(path)


def test_an_off_level_heading_is_named_only_for_a_section_that_is_missing():
    from pathlib import Path

    from workbench.solutions import Solution, heading_notes

    off = ("### Solution extra", "### critique", "### CRITIQUE 2")
    sol = Solution(problem="3.1", path=Path("solutions/a2/3.1.md"), solution="written", off_level=off)
    assert heading_notes(sol) == ["3.1.md has '### critique', which is not read: write it as '## Critique'"]
    assert heading_notes(None) == []


def test_a_level_2_heading_inside_the_solution_is_named_as_not_read(tmp_path):
    """A "## Part (b)" inside the solution ended it there: part (b) was left out of the PDF without a word."""
    from workbench.solutions import heading_notes

    path = tmp_path / "3.1.md"
    path.write_text('---\nproblem: "3.1"\n---\n\n## Solution\n\n(a) x\n\n## Part (b)\n\ny\n\n## Notes\n\n<!-- mine -->\n')
    sol = parse_solution(path)
    assert sol.solution == "(a) x"
    assert heading_notes(sol) == ["3.1.md has '## Part (b)', which is not read (only '## Solution' and '## Critique' are), "
                                  "so its text is not in the PDF: write it as '### Part (b)' to keep it in the section above"]


def test_a_file_without_problem_in_its_front_matter_is_the_problem_it_is_named_for(tmp_path):
    path = tmp_path / "3.1.md"
    path.write_text("---\ntrace: abc\n---\n\n## Solution\n\nx\n")
    assert parse_solution(path).problem == "3.1"


def test_an_unquoted_problem_id_an_empty_cites_and_a_critique_are_read(tmp_path):
    path = tmp_path / "3.1.md"
    path.write_text("---\nproblem: 3.1\ncites:\n---\n\n## Solution\n\nx\n\n## Critique\n\nThe model <!-- note --> erred.\n")
    sol = parse_solution(path)
    assert (sol.problem, sol.cites) == ("3.1", {})  # YAML's float 3.1 is the id "3.1"; `cites:` left empty is none
    assert sol.critique == "The model  erred." and sol.has_critique


def test_empty_front_matter_is_no_keys_and_a_list_is_refused(tmp_path):
    path = tmp_path / "3.1.md"
    path.write_text("---\n\n---\n\n## Solution\n\nx\n")
    assert (parse_solution(path).problem, parse_solution(path).trace) == ("3.1", None)
    path.write_text("---\ntrace: 1a2b3c\n---\n\n## Solution\n\nx\n")
    assert parse_solution(path).trace == "1a2b3c"
    path.write_text("---\n- problem\n---\n\n## Solution\n\nx\n")
    with pytest.raises(ProblemError, match="front matter is not a mapping"):
        parse_solution(path)


@pytest.mark.parametrize("code", ["0", "false", "[]"])
def test_a_code_pointer_that_is_not_a_module_name_string_is_refused(tmp_path, code):
    path = tmp_path / "4.1.md"
    path.write_text(f"---\ncode: {code}\n---\n\n## Solution\n\nx\n")
    with pytest.raises(ProblemError, match="`code` must be a `module:Name` string"):
        parse_solution(path)


@pytest.mark.parametrize("pin", ["0123456", "12345678", "1234e5", "2026-01-01"])
def test_a_trace_pin_yaml_reads_as_a_number_is_the_text_written(tmp_path, pin):
    """A hash prefix of digits only (`trace: 0123456`) was read by YAML as a number: octal 42798, not the prefix."""
    path = tmp_path / "3.1.md"
    path.write_text(f"---\ntrace: {pin}\n---\n\n## Solution\n\nx\n")
    assert parse_solution(path).trace == pin
