"""The A2 pack matches handout v1.3, and the loader turns bad records into one clear error."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

import cli
from conftest import SHARED
from workbench.errors import ProblemError, UsageError
from workbench.problems import load_pack

# Typed from the handout (v1.3): its hand-in lists and question headings.
# id: (Type, points, kind, answer form)
HANDOUT = {
    "1.1.1": (2, 2.0, "written", "claim"),
    "1.2.1": (1, 1.0, "written", "claim"),
    "1.2.2": (1, 0.0, "written", "free"),
    "2.1.1": (4, 0.5, "written", "free"),
    "2.1.2": (1, 0.5, "written", "expression"),
    "2.1.3": (1, 0.0, "written", "free"),
    "2.2.1": (2, 1.0, "written", "expression"),
    "2.2.2": (3, 0.0, "written", "claim"),
    "2.2.3": (2, 1.0, "written", "expression"),
    "2.3.1": (3, 0.5, "written", "expression"),
    "2.3.2": (3, 0.5, "written", "expression"),
    "2.3.3": (1, 0.0, "written", "free"),
    "3.1": (4, 0.5, "written", "matrix"),
    "3.2": (3, 1.0, "written", "numbers"),
    "3.3": (1, 0.5, "written", "free"),
    "4.1": (1, 0.5, "coding", "code"),
    "4.2": (4, 0.5, "plot", "free"),
    "4.3": (3, 1.0, "written", "expression"),
    "5.1": (1, 0.5, "coding", "code"),
    "5.2": (4, 0.5, "plot", "free"),
    "5.3": (3, 0.5, "written", "claim"),
    "5.4": (3, 0.5, "written", "numbers"),
    "5.5": (4, 0.0, "written", "free"),
    "6.1": (1, 0.5, "coding", "code"),
    "6.2": (4, 0.5, "plot", "free"),
    "6.3": (3, 1.0, "written", "claim"),
}
GRADED_TYPE_1_2 = ["1.1.1", "1.2.1", "2.1.2", "2.2.1", "2.2.3", "3.3", "4.1", "5.1", "6.1"]
NEED_KEY_POINTS = ["1.1.1", "1.2.1", "1.2.2", "2.1.1", "2.1.2", "2.1.3", "2.2.2", "2.3.3",
                   "3.1", "3.2", "3.3", "4.2", "5.3", "5.5", "6.3"]
CODING = ["4.1", "5.1", "6.1"]
# Course macros and LaTeX layout commands that must not survive into a statement an LLM reads.
MACRO = re.compile(r"\\(LI|LII|LIII|LIV|loss|color|label|ref|eqref|includegraphics|vspace|hspace|"
                   r"submitCodeFile|cite|footnote|texttt|textbf|textit|url|href|Tilde)(?![A-Za-z])")


@pytest.fixture(scope="module")
def pack():
    return load_pack("a2")


def texts(problem) -> list[str]:
    return [problem.statement, problem.context, problem.spec, *problem.hints, *problem.key_points, *problem.steps]


# --- the real pack -------------------------------------------------------------------------------

def test_ids_in_handout_order(pack):
    assert [p.id for p in pack.problems] == list(HANDOUT)
    assert pack.version == "1.3"


def test_select_gives_each_problem_once_in_handout_order(pack):
    """verify and study take --problem ids through select: a repeated id was reported (and counted) twice."""
    assert [p.id for p in pack.select(["3.1", "1.2.1", "3.1"])] == ["1.2.1", "3.1"]
    with pytest.raises(UsageError):
        pack.select(["1.2.1", "9.9"])


@pytest.mark.parametrize("pid", list(HANDOUT))
def test_record_matches_handout(pack, pid):
    p = pack.get(pid)
    type_, points, kind, answer = HANDOUT[pid]
    assert (p.type, p.points, p.kind, p.answer) == (type_, points, kind, answer)
    assert p.part == ("written" if pid[0] in "123" else "programming")
    assert p.extra_credit is False
    assert Path(p.path).name == f"{pid}.yaml"
    section = pid.rsplit(".", 1)[0] if pid.count(".") == 2 else pid[0]  # "2.2.3" -> "2.2", "3.1" -> "3"
    assert p.section.split()[0] == section
    assert "[Type" not in p.statement and "pt]" not in p.statement  # labels are fields, not text


def test_table_matches_handout_text():
    """HANDOUT's Types and points against the handout itself, where the course material sits beside the repo:
    every question heading ('2.2.3 [1pt] [Type 2]', '4.3 [1.0pt] [Type 3]') and the Types of the hand-in lists."""
    path = SHARED / "a2" / "handout-a2.txt"
    if not path.is_file():
        pytest.skip(f"handout text not present at {path}")
    text = path.read_text(encoding="utf-8")
    headings = {}
    for m in re.finditer(r"^(\d(?:\.\d)+)\s[^\n\[]*\[([\d.]+)\s*pts?\]\s*\[Type (\d)\]", text, flags=re.M):
        headings.setdefault(m.group(1), set()).add((int(m.group(3)), float(m.group(2))))
    assert set(headings) == set(HANDOUT)
    for pid, (type_, points, _, _) in HANDOUT.items():
        assert headings[pid] == {(type_, points)}, pid
    # The hand-in lists: 'Problem 1: 1.1.1[Type 2] , ...' (written part), '∗ 4.1 [0.5pt] [Type 1]' (programming part).
    listed = {pid: (int(t), None) for pid, t in re.findall(r"(\d\.\d\.\d|\d\.\d)\s?\[Type (\d)\]", text)}
    listed.update({pid: (int(t), float(pts)) for pid, pts, t in
                   re.findall(r"^∗ (\d\.\d) \[([\d.]+)pt\] \[Type (\d)\]", text, flags=re.M)})
    # (the programming list leaves out its 0-point question, 5.5)
    assert {pid: t for pid, (t, _) in listed.items()} == {
        pid: row[0] for pid, row in HANDOUT.items() if pid[0] in "123" or row[1] > 0}
    assert {pid: pts for pid, (_, pts) in listed.items() if pts is not None} == {
        pid: row[1] for pid, row in HANDOUT.items() if pid[0] in "456" and row[1] > 0}
    assert "[EC]" not in re.sub(r"problems labeled \[EC\]|extra credit problems \[EC\]", "", text)


def test_part_totals(pack):
    totals = {part.id: sum(p.points for p in pack.problems if p.part == part.id) for part in pack.parts}
    assert totals == {"written": 9, "programming": 6}
    assert sum(p.points for p in pack.problems if p.part == "programming" and p.id[0] == "5") == 2  # "[2 pts]"


def test_graded_type_1_2_need_traces(pack):
    graded = [p.id for p in pack.problems if p.graded and p.type in (1, 2)]
    assert graded == GRADED_TYPE_1_2
    assert [p.id for p in pack.problems if p.needs_trace] == GRADED_TYPE_1_2


def test_deliverables(pack):
    for p in pack.problems:
        if p.kind == "coding":  # the handout's hand-in checklist: trace, critique, code (see default_deliverables)
            assert p.deliverables == ("trace", "critique", "solution", "code")
        elif p.kind == "plot":
            assert p.deliverables == ("solution", "plot")
        elif p.type in (3, 4):
            assert p.deliverables == ("solution",)
        else:
            assert p.deliverables == ("trace", "critique", "solution")


def test_key_points_and_steps(pack):
    for pid in NEED_KEY_POINTS:
        assert pack.get(pid).key_points, pid
    for pid in GRADED_TYPE_1_2:
        assert 2 <= len(pack.get(pid).steps) <= 4, pid


@pytest.mark.parametrize("pid", CODING)
def test_coding_spec_names_layers_and_shapes(pack, pid):
    spec = pack.get(pid).spec
    assert "__init__(self, kernel, num_filters, num_colours, num_in_channels)" in spec
    assert "kernel // 2" in spec
    for shape in ("[BS, NF, 16, 16]", "[BS, 2NF, 8, 8]", "[BS, NC, 32, 32]"):
        assert shape in spec
    if pid == "6.1":
        assert "[BS, NF + NF, 16, 16]" in spec and "[BS, NIC + NC, 32, 32]" in spec and "torch.cat" in spec


def test_pool_upsample_block_order(pack):
    """Figure 1a is the authority: Conv2d -> MaxPool2d/Upsample -> BatchNorm2d -> ReLU."""
    spec = pack.get("4.1").spec
    blocks = re.findall(r"^\d\. (.*)$", spec, flags=re.M)
    assert len(blocks) == 5
    layers = [re.findall(r"nn\.(\w+)\(", b) for b in blocks]
    assert layers[0] == layers[1] == ["Conv2d", "MaxPool2d", "BatchNorm2d", "ReLU"]
    assert layers[2] == layers[3] == ["Conv2d", "Upsample", "BatchNorm2d", "ReLU"]
    assert layers[4] == ["Conv2d"]
    assert "Conv2d -> MaxPool2d -> BatchNorm2d -> ReLU" in pack.get("4.1").context


def test_question_3_2_follows_handout_v1_3(pack):
    statement = pack.get("3.2").statement
    for layer in ("CONV3-32", "CONV3-64", "CONV3-3", "MAX POOL", "FC"):
        assert layer in statement
    assert "number after the hyphen specifies the number of output channels" in statement
    assert "do not change the output shape" in statement
    assert "1 output channel" not in statement
    assert "output dimension is equal to the input dimension" not in statement


def test_section_2_2_context_is_the_handouts(pack):
    """The 2.2 preamble ends at 'from w_0 to w_1.': 2.2.1 asks for w_1 and L_1, so no record of 2.2 states them."""
    for pid in ("2.2.1", "2.2.2", "2.2.3"):
        p = pack.get(pid)
        assert r"GD updates the model weights from $\mathbf{w}_0$ to $\mathbf{w}_1$." in p.context, pid
        assert r"\mathbf{w}_1 =" not in p.context and r"\mathcal{L}_1 =" not in p.context, pid
    assert r"\mathbf{w}_1 =" not in " ".join([*pack.get("2.2.1").hints, pack.get("2.2.1").statement])


@pytest.mark.parametrize("pid", list(HANDOUT))
def test_no_unexpanded_latex(pack, pid):
    for text in texts(pack.get(pid)):
        assert not MACRO.search(text), (pid, MACRO.search(text).group(0))
        assert "bmatrix*" not in text and "\\begin{equation" not in text and "\\begin{align}" not in text
        assert text.replace("\\$", "").count("$") % 2 == 0, pid  # math delimiters are balanced


def test_programming_records_describe_figure_1(pack):
    for pid in ("4.1", "4.3"):
        assert "Figure 1a" in pack.get(pid).context
    for pid in ("5.1", "5.4"):
        assert "Figure 1b" in pack.get(pid).context
    assert "Figure 1c" in pack.get("6.1").context
    for p in pack.problems:
        if p.part == "programming":
            assert "24 colours" in p.context and "learning rate 0.001" in p.context



def test_at_least_25_epochs_is_a_minimum(tmp_path):
    """5.2 and 6.2: "Train the model for at least 25 epochs": a 30-epoch run with the handout's other settings is
    the handout's run (its plot counts), a 20-epoch one is not. The checks refused every run but exactly 25 epochs."""
    path = SHARED / "a2" / "handout-a2.txt"
    if path.is_file():
        assert path.read_text(encoding="utf-8").count("Train the model for at least 25 epochs") == 2
    from workbench.verify import load_reference, read_run
    ref_runs = load_reference(load_pack("a2")).ref_runs
    settings = {"model": "unet", "batch_size": 100, "kernel": 3, "num_filters": 32, "lr": 0.001, "num_colours": 24,
                "category": 7}

    def run(epochs):
        folder = tmp_path / f"unet-{epochs}"
        folder.mkdir()
        rows = [{"epoch": e + 1, "train_loss": 1.0, "val_loss": 1.0, "val_acc": 60.0} for e in range(epochs)]
        (folder / "config.json").write_text(json.dumps({"settings": settings | {"epochs": epochs}}))
        (folder / "metrics.json").write_text(json.dumps({"complete": True, "epochs": rows}))
        return read_run(folder)

    assert ref_runs.departures(run(25)) == {} and ref_runs.departures(run(30)) == {}
    assert ref_runs.departures(run(20)) == {"epochs": 20}

# --- temporary packs -----------------------------------------------------------------------------

RECORD = {
    "id": "1.1", "title": "T", "section": "1 S", "part": "written", "points": 1, "type": 1,
    "kind": "written", "statement": "Show it.", "answer": "free",
}


def make_pack(tmp_path: Path, records: dict[str, object] | None = None, order=None, **meta) -> Path:
    """A pack folder: pack.yaml plus one file per entry (a dict is dumped as YAML, a str is written raw)."""
    folder = tmp_path / "pack"
    folder.mkdir()
    records = {"1.1.yaml": RECORD} if records is None else records
    head = {"schema": "workbench.pack/1", "name": "t", "title": "Test", "course": "C", "version": "1",
            "parts": [{"id": "written", "title": "Written"}],
            "order": order if order is not None else [Path(n).stem for n in records]}
    head.update(meta)
    (folder / "pack.yaml").write_text(yaml.safe_dump(head, sort_keys=False), encoding="utf-8")
    for name, body in records.items():
        text = body if isinstance(body, str) else yaml.safe_dump(body, sort_keys=False)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def load_error(folder: Path) -> str:
    with pytest.raises(ProblemError) as info:
        load_pack(str(folder))
    return str(info.value)


def test_minimal_pack_loads(tmp_path):
    pack = load_pack(str(make_pack(tmp_path)))
    assert [p.id for p in pack.problems] == ["1.1"]
    assert pack.problems[0].deliverables == ("trace", "critique", "solution")


MATH = r"Show that $\frac{1}{n}\|X\hat{\mathbf{w}}-\mathbf{t}\|_2^2$ is convex in $\eta$:"
DISPLAY = "$$\n\\begin{aligned}\n\\mathbf{w}_1 &= \\mathbf{w}_0 - \\eta \\nabla_{\\mathbf{w}_0} \\mathcal{L} \\\\\n" \
          "\\eta^* &= \\frac{n \\|X^\\top \\mathbf{a}\\|^2}{2 \\|XX^\\top \\mathbf{a}\\|^2}\n\\end{aligned}\n$$"


def test_math_round_trips_block_scalar(tmp_path):
    statement = MATH + "\n\n" + DISPLAY
    body = yaml.safe_dump({k: v for k, v in RECORD.items() if k != "statement"}, sort_keys=False)
    body += "statement: |\n" + "".join(f"  {line}\n" if line else "\n" for line in statement.split("\n"))
    pack = load_pack(str(make_pack(tmp_path, {"1.1.yaml": body})))
    assert pack.problems[0].statement == statement


def test_math_round_trips_dumped(tmp_path):
    statement = MATH + "\n\n" + DISPLAY
    pack = load_pack(str(make_pack(tmp_path, {"1.1.yaml": {**RECORD, "statement": statement, "hints": [MATH]}})))
    assert pack.problems[0].statement == statement
    assert pack.problems[0].hints == (MATH,)


def test_malformed_yaml(tmp_path):
    folder = make_pack(tmp_path, {"1.1.yaml": 'id: "1.1"\ntitle: [unclosed\nsection: s\n'})
    message = load_error(folder)
    assert str(folder / "1.1.yaml") in message and "malformed YAML at line" in message


def test_a_control_character_in_a_record_is_one_line(tmp_path):
    """A NUL byte: PyYAML's ReaderError has no `problem`, and its str() ran over two lines."""
    folder = make_pack(tmp_path, {"1.1.yaml": 'id: "1.1"\ntitle: "T\x00"\n'})
    message = load_error(folder)
    assert "\n" not in message and "characters are not allowed (character 0x00 at offset 19)" in message


def test_a_number_too_long_to_read_in_a_record_is_one_line(tmp_path):
    """PyYAML's int() raises a plain ValueError (not a YAMLError) on a number of over 4300 digits: a traceback."""
    message = load_error(make_pack(tmp_path, {"1.1.yaml": yaml.safe_dump(RECORD) + "extra_credit: 1" + "0" * 5000 + "\n"}))
    assert "1.1.yaml: malformed YAML: a number in it is too long to read" in message


def test_duplicate_key_in_record(tmp_path):
    body = yaml.safe_dump(RECORD, sort_keys=False) + "statement: a second statement\n"
    message = load_error(make_pack(tmp_path, {"1.1.yaml": body}))
    assert "1.1.yaml" in message and "'statement' appears twice" in message


def test_record_not_a_mapping(tmp_path):
    message = load_error(make_pack(tmp_path, {"1.1.yaml": "- just\n- a list\n"}))
    assert "1.1.yaml" in message and "expected a mapping" in message  # (tmp_path's own name holds "mapping")


@pytest.mark.parametrize("body", ["", "\n\n", "# the record, to be written\n"])
def test_an_empty_record_says_it_is_empty(tmp_path, body):
    """An empty problem file (a new record not yet written, or one an editor truncated) was 'expected a mapping of
    keys to values', as if it held something else; it names the file as empty, and a pack.yaml too."""
    message = load_error(make_pack(tmp_path, {"1.1.yaml": body}))
    assert "1.1.yaml: is empty (write the record" in message, message
    (tmp_path / "p2").mkdir()
    message = load_error(make_pack(tmp_path / "p2", {"pack.yaml": body}))
    assert "pack.yaml: is empty (" in message, message


@pytest.mark.parametrize("given, fix", [
    ("3", "3 is a section: its problems are 3.1, 3.2, 3.3"),  # was 'did you mean 6.3, 5.3, 4.3?'
    ("2.2", "2.2 is a section: its problems are 2.2.1, 2.2.2, 2.2.3"),  # was '2.3.2, 2.2.3, 2.2.2'
    ("1.1", "1.1 is a section: its problems are 1.1.1"),  # was '2.1.1, 1.2.1, 1.1.1'
    ("2.2.4", "did you mean 2.2.3, 2.2.2, 2.2.1?"),  # a typo: the nearest ids, as before
])
def test_a_section_number_names_the_section_s_problems(given, fix):
    """The handout numbers sections as it numbers problems; a section's number given where a problem's id goes got
    the ids nearest in spelling, other sections' problems first."""
    with pytest.raises(UsageError) as info:
        load_pack("a2").get(given)
    assert info.value.message == f"no problem {given!r} in pack 'a2'" and info.value.fix == fix


def test_unknown_key(tmp_path):
    message = load_error(make_pack(tmp_path, {"1.1.yaml": {**RECORD, "colour": "red"}}))
    assert "1.1.yaml" in message and "key 'colour'" in message and "unknown key" in message


@pytest.mark.parametrize("key", ["statement", "points", "answer"])
def test_missing_key(tmp_path, key):
    record = {k: v for k, v in RECORD.items() if k != key}
    message = load_error(make_pack(tmp_path, {"1.1.yaml": record}))
    assert "1.1.yaml" in message and f"key {key!r}: missing" in message  # (tmp_path's name holds "missing")


@pytest.mark.parametrize("key, value", [
    ("type", 5), ("type", True), ("type", 1.0), ("points", -1), ("points", "a"), ("kind", "essay"),
    ("answer", "prose"), ("part", "bonus"), ("extra_credit", "yes"), ("hints", "one string"),
    ("deliverables", ["essay"]), ("statement", "  "), ("id", "one"),
    ("points", True), ("points", float("nan")), ("points", float("inf")), ("title", 5), ("context", ["a", "b"]), ("spec", 3), ("key_points", [1, 2]),
    ("points", 10**400),  # past float's range: float() of it raised OverflowError
])
def test_wrong_type(tmp_path, key, value):
    message = load_error(make_pack(tmp_path, {"1.1.yaml": {**RECORD, key: value}}))
    assert "1.1.yaml" in message and f"key {key!r}" in message


def test_unquoted_numeric_id_is_rejected(tmp_path):
    message = load_error(make_pack(tmp_path, {"3.1.yaml": 'id: 3.1\n' + yaml.safe_dump(
        {k: v for k, v in RECORD.items() if k != "id"})}, order=["3.1"]))
    assert "3.1.yaml" in message and "key 'id'" in message and "non-empty text" in message


def test_duplicate_id_caught_by_file_name_rule(tmp_path):
    """Ids are unique because each file must be named after its id: a second file with a clashing id
    fails on its name (the loader's own duplicate-id check can therefore never fire)."""
    folder = make_pack(tmp_path, {"1.1.yaml": RECORD, "copy.yaml": RECORD}, order=["1.1"])
    message = load_error(folder)
    assert str(folder / "copy.yaml") in message and "key 'id'" in message
    assert "does not match the file name" in message


def test_a_record_named_yml_is_not_skipped_silently(tmp_path):
    """1.2.yml was ignored: the pack loaded without it (or said only "1.2 has no record")."""
    folder = make_pack(tmp_path, {"1.1.yaml": RECORD, "1.2.yml": yaml.safe_dump({**RECORD, "id": "1.2"})}, order=["1.1"])
    message = load_error(folder)
    assert str(folder / "1.2.yml") in message and "end in .yaml" in message and "1.2.yaml" in message


def test_duplicate_id_in_order(tmp_path):
    message = load_error(make_pack(tmp_path, order=["1.1", "1.1"]))
    assert "pack.yaml" in message and "key 'order'" in message and "more than once" in message


def test_order_missing_a_record(tmp_path):
    message = load_error(make_pack(tmp_path, order=["1.1", "1.2"]))
    assert "pack.yaml" in message and "key 'order'" in message and "1.2 has no record" in message


def test_record_not_in_order(tmp_path):
    record = {**RECORD, "id": "1.2"}
    message = load_error(make_pack(tmp_path, {"1.1.yaml": RECORD, "1.2.yaml": record}, order=["1.1"]))
    assert "pack.yaml" in message and "key 'order'" in message and "1.2" in message


@pytest.mark.parametrize("meta, key", [
    ({"colour": "red"}, "colour"),
    ({"parts": ["written"]}, "parts"),
    ({"order": "1.1"}, "order"),
    ({"parts": [{"id": "written"}]}, "parts"),  # no title
    ({"parts": [{"id": "written", "title": "W"}, {"id": "written", "title": "Again"}]}, "parts"),
    ({"submission": 3}, "submission"), ({"name": 5}, "name"), ({"title": None}, "title"),
    ({"course": ["C"]}, "course"), ({"version": None}, "version"), ({"name": " "}, "name"),
    ({"assignment": 3}, "assignment"), ({"assignment": ""}, "assignment"),
])
def test_bad_pack_meta(tmp_path, meta, key):
    message = load_error(make_pack(tmp_path, **meta))
    assert "pack.yaml" in message and f"key {key!r}" in message


def test_pack_meta_missing_key(tmp_path):
    folder = make_pack(tmp_path)
    meta = yaml.safe_load((folder / "pack.yaml").read_text())
    del meta["order"]
    (folder / "pack.yaml").write_text(yaml.safe_dump(meta))
    message = load_error(folder)
    assert "pack.yaml" in message and "key 'order': missing" in message


def test_empty_pack(tmp_path):
    folder = make_pack(tmp_path, {}, order=[])
    message = load_error(folder)
    assert str(folder) in message and "no problem records" in message


def test_unknown_pack_name():
    with pytest.raises(UsageError) as info:
        load_pack("no-such-pack")
    assert "no-such-pack" in info.value.message and "a2" in (info.value.fix or "")


def test_unknown_id_suggests_close_ids(pack):
    with pytest.raises(UsageError) as info:
        pack.get("2.2.4")
    assert "'2.2.4'" in info.value.message and "'a2'" in info.value.message
    assert info.value.fix.startswith("did you mean") and "2.2.3" in info.value.fix


def test_unknown_id_without_close_match(pack):
    with pytest.raises(UsageError) as info:
        pack.get("zzz")
    assert info.value.fix == "run `python cli.py list` to see the ids"


def test_an_unknown_id_in_another_pack_says_to_list_that_pack(tmp_path, monkeypatch, project):
    """`show 9.9 --pack a3` said "run `python cli.py list` to see the ids", which lists a2's ids."""
    folder = make_pack(tmp_path)
    with pytest.raises(UsageError) as info:
        load_pack(str(folder)).get("9.9")
    assert info.value.fix == f"run `python cli.py list --pack {folder}` to see the ids"
    named = project / "problems"
    named.unlink()
    named.mkdir()
    folder.rename(named / "t")
    with pytest.raises(UsageError) as info:
        load_pack("t").get("9.9")
    assert info.value.fix == "run `python cli.py list --pack t` to see the ids"


# --- CLI -----------------------------------------------------------------------------------------

def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, out: str, err: str) -> str:
    assert code != 0
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    return lines[0]


def test_cli_list_json(capsys):
    code, out, _ = run_cli(capsys, "list", "--json")
    assert code == 0
    data = json.loads(out)
    assert [p["id"] for p in data["problems"]] == list(HANDOUT)
    assert {part: t["points"] for part, t in data["totals"].items()} == {"written": 9, "programming": 6}
    assert data["points"] == 15
    assert out == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"  # stable for diffs: sorted keys


def test_cli_list_table(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    assert "2.2.3" in out and "26 problems, 15 points" in out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│")}
    assert "(optional)" in rows["2.2.2"] and "(optional)" not in rows["2.2.3"]  # 0 points: not graded



def test_cli_list_in_a_narrow_terminal_folds_ids_instead_of_cutting_them(capsys, monkeypatch):
    """A 50-column terminal showed every id as "1.1…": 1.2.1 and 1.2.2 read the same, and `show` needs the id."""
    from workbench.console import console

    monkeypatch.setattr(console, "_force_terminal", True)
    monkeypatch.setattr(console, "_color_system", None)
    monkeypatch.setattr(console, "_width", 50)
    code, out, _ = run_cli(capsys, "list")
    assert code == 0 and "…" not in out
    body = [line.split("│") for line in out.splitlines() if line.startswith("│")]
    assert "".join(cells[1].strip() for cells in body) == "".join(HANDOUT)  # the id column, read top to bottom

def test_cli_show_json(capsys, pack):
    code, out, _ = run_cli(capsys, "show", "2.2.3", "--json")
    assert code == 0
    data = json.loads(out)
    assert data == pack.get("2.2.3").to_dict()
    assert data["type"] == 2 and data["points"] == 1.0 and "\\eta^*" in data["statement"]


def test_cli_show_table(capsys):
    code, out, _ = run_cli(capsys, "show", "2.2.3")
    assert code == 0
    assert "2.2.3" in out and "Type 2" in out


def test_cli_unknown_id(capsys):
    line = assert_one_line_error(*run_cli(capsys, "show", "9.9.9"))
    assert "'9.9.9'" in line


def test_cli_bad_pack_record(capsys, tmp_path):
    folder = make_pack(tmp_path, {"1.1.yaml": {**RECORD, "type": 5}})
    line = assert_one_line_error(*run_cli(capsys, "list", "--pack", str(folder)))
    assert "1.1.yaml" in line and "key 'type'" in line


def test_cli_pack_record_saved_as_utf16_or_with_crlf_and_a_bom(capsys, tmp_path):
    """What Windows editors save: UTF-16 ("Unicode" in Notepad) was a UnicodeDecodeError traceback."""
    text = yaml.safe_dump(RECORD, sort_keys=False)
    folder = make_pack(tmp_path)
    (folder / "1.1.yaml").write_bytes(text.encode("utf-16"))
    line = assert_one_line_error(*run_cli(capsys, "list", "--pack", str(folder)))
    assert "1.1.yaml: is not UTF-8 text (byte 0xff at offset 0)" in line and "save it as UTF-8" in line
    (folder / "1.1.yaml").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    code, out, _ = run_cli(capsys, "list", "--pack", str(folder), "--json")
    assert code == 0 and [p["id"] for p in json.loads(out)["problems"]] == ["1.1"]


def test_cli_unknown_pack(capsys):
    line = assert_one_line_error(*run_cli(capsys, "list", "--pack", "no-such-pack"))
    assert "no-such-pack" in line



@pytest.mark.parametrize("name", ["", "."])
def test_cli_pack_that_names_the_problems_folder_itself_is_unknown(capsys, monkeypatch, tmp_path, name):
    """`--pack "$PACK"` with PACK unset said "problems/pack.yaml: missing — add pack.yaml with name, title, ...",
    as if problems/ were a pack to repair; it is no pack, and the known ones are named."""
    monkeypatch.chdir(tmp_path)  # "." is no pack folder here
    line = assert_one_line_error(*run_cli(capsys, "list", "--pack", name))
    assert f"no problem pack '{name}'" in line and "known packs: a2" in line and "pack.yaml" not in line

def test_cli_pack_name_too_long_for_the_file_system(capsys):
    """--pack with a 300-character name crashed `list`, `show`, `check`, `verify` and `study` with an OSError
    (File name too long) traceback."""
    line = assert_one_line_error(*run_cli(capsys, "list", "--pack", "a" * 300))
    assert "no problem pack" in line and "File name too long" in line


def test_cli_titles_print_literally(capsys, tmp_path):
    """Titles, part names and the course come from YAML: '[a, b]' is text, not rich markup to be swallowed."""
    folder = make_pack(tmp_path, {"1.1.yaml": {**RECORD, "title": "On [a, b] and [/]"}}, course="C [x]",
                       parts=[{"id": "written", "title": "Written [w]"}])
    code, out, _ = run_cli(capsys, "list", "--pack", str(folder))
    assert code == 0 and "On [a, b] and [/]" in out and "Written [w]" in out and "C [x]" in out
    code, out, _ = run_cli(capsys, "show", "1.1", "--pack", str(folder))
    assert code == 0 and "1.1 On [a, b] and [/]" in out


@pytest.mark.parametrize("encoding", ["ascii", "cp932"])  # an ASCII locale; Japanese Windows, output piped
def test_cli_output_to_a_stdout_that_cannot_encode_every_character(encoding, pack):
    import os
    import subprocess
    import sys

    from conftest import REPO

    def run(*args):
        env = {**os.environ, "PYTHONIOENCODING": encoding}
        return subprocess.run([sys.executable, str(REPO / "cli.py"), *args], capture_output=True, env=env, timeout=60)

    table = run("list")
    assert table.returncode == 0 and b"Traceback" not in table.stderr
    assert b"26 problems, 15 points" in table.stdout
    doc = run("show", "3.1", "--json")  # non-ASCII characters the encoding lacks are written as \u escapes
    assert doc.returncode == 0 and b"Traceback" not in doc.stderr
    assert json.loads(doc.stdout.decode(encoding)) == pack.get("3.1").to_dict()


def test_cli_output_in_the_c_locale_without_utf8_mode():
    # LANG=C with PYTHONUTF8=0: Python gives the ASCII stdout surrogateescape (not strict), and rich's box lines
    # and em dashes ended the table in a UnicodeEncodeError traceback
    import os
    import subprocess
    import sys

    from conftest import REPO

    env = {**os.environ, "LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    env.pop("PYTHONIOENCODING", None)
    done = subprocess.run([sys.executable, str(REPO / "cli.py"), "list"], capture_output=True, env=env, timeout=60)
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr.decode(errors="replace")
    assert b"26 problems, 15 points" in done.stdout and b"| 3.1 " in done.stdout


@pytest.mark.parametrize("encoding, shown", [("utf-8", "/tmp/qa loc/Über 課題/a.json"),
                                             ("ascii", "/tmp/qa loc/?ber ??/a.json")])
def test_a_path_read_under_an_ascii_file_system_encoding_is_shown_whole(encoding, shown):
    # the C locale with PYTHONUTF8=0: os.listdir and friends give a UTF-8 name's bytes as surrogate escapes, which
    # the console dropped as lone surrogates ("/tmp/qa loc/ber /a.json")
    import io

    from workbench.console import _Console

    path = "/tmp/qa loc/Über 課題/a.json".encode("utf-8").decode("ascii", "surrogateescape")
    stdout = io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors="replace", write_through=True)
    _Console(file=stdout).print(f"saved {path}", markup=False, soft_wrap=True)
    assert stdout.buffer.getvalue().decode(encoding) == f"saved {shown}\n"


@pytest.mark.parametrize("encoding", ["ascii", "utf-8"])
def test_json_gives_a_path_read_under_an_ascii_file_system_encoding_as_its_text(encoding, monkeypatch):
    # `traces --json` in the C locale with PYTHONUTF8=0 gave "file": "/tmp/qa loc/\\udcc3\\udc9cber/...", lone
    # surrogates that no reader can take for the path
    import io
    import sys

    from workbench.console import print_json

    path = "/tmp/qa loc/Über 課題/a.json"
    raw = io.BytesIO()
    monkeypatch.setattr("sys.stdout", io.TextIOWrapper(raw, encoding=encoding, errors="strict"))
    print_json({"file": path.encode("utf-8").decode("ascii", "surrogateescape"), "n": 1})
    sys.stdout.flush()
    assert json.loads(raw.getvalue().decode(encoding)) == {"file": path, "n": 1}


@pytest.mark.parametrize("encoding", ["ascii", "cp932"])
def test_json_to_a_stdout_that_cannot_encode_a_character_is_still_sorted_and_indented(encoding, monkeypatch):
    import io
    import sys

    from workbench.console import print_json

    raw = io.BytesIO()
    monkeypatch.setattr("sys.stdout", io.TextIOWrapper(raw, encoding=encoding, errors="strict"))
    print_json({"b": "café ∑", "a": [1]})
    sys.stdout.flush()
    assert raw.getvalue().decode(encoding) == '{\n  "a": [\n    1\n  ],\n  "b": "caf\\u00e9 \\u2211"\n}\n'


@pytest.mark.parametrize("args", [("list",), ("show", "3.1"), ("list", "--json")])  # a rich table, a panel, JSON
def test_a_reader_that_goes_away_ends_the_command_quietly_with_141(args):
    # `cli.py list | head -1`: rich's own handler exited 1, which here means "a check failed"
    import os
    import subprocess
    import sys

    from conftest import REPO

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write
    try:
        done = subprocess.run([sys.executable, str(REPO / "cli.py"), *args], stdout=write_end,
                              stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(write_end)
    assert done.returncode == 141 and done.stderr == b""  # 128 + SIGPIPE, as a shell reports for `seq 9999 | head -1`


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_ctrl_c_while_the_commands_load_is_one_line_and_exit_130(capsys, monkeypatch, json_flag):
    """Ctrl-C in the first half second (the command modules importing) gave a KeyboardInterrupt traceback."""
    def importing():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", importing)
    try:
        code, out, err = run_cli(capsys, "list", *json_flag)
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C while loading escaped main: a traceback")
    assert (code, err) == (130, "interrupted\n")
    assert (json.loads(out) if json_flag else out) == ({"error": "interrupted", "fix": None, "exit_code": 130}
                                                       if json_flag else "")


def test_a_command_after_one_whose_reader_went_away_shows_its_output(capsys, monkeypatch):
    # in-process callers (tests, notebooks) run several commands: one that lost its reader must not mute the next
    from workbench import console

    monkeypatch.setattr(console, "silence", lambda stream=None: None)  # capsys's stdout has no descriptor to close
    console.reader_went_away()
    assert cli.main(["list"]) == 0
    assert "26 problems, 15 points" in capsys.readouterr().out


# --- mutation survivors: what a record and a pack.yaml hold comes through, and what is wrong is named ------------

@pytest.mark.parametrize("pid", ["1.1x", "x1.1", ".1", "1.", "1..2"])
def test_an_id_that_is_not_a_whole_dotted_number_is_refused(tmp_path, pid):
    """The file is named after the id, so only the id rule itself can refuse these."""
    message = load_error(make_pack(tmp_path, {f"{pid}.yaml": {**RECORD, "id": pid}}, order=[pid]))
    assert f"key 'id': {pid!r} is not a dotted number" in message


@pytest.mark.parametrize("key, value", [("section", 5), ("section", "  "), ("type", 0)])
def test_wrong_type_of_section_or_type(tmp_path, key, value):
    message = load_error(make_pack(tmp_path, {"1.1.yaml": {**RECORD, key: value}}))
    assert "1.1.yaml" in message and f"key {key!r}" in message


def test_a_record_keeps_its_own_fields_trimmed(tmp_path):
    record = {**RECORD, "title": "  T  ", "section": " 1 S\n", "context": "\n ctx \n", "spec": " sp \n",
              "extra_credit": True, "figures": ["fig1.png"], "deliverables": ["solution", "plot"],
              "points": sys.float_info.max}
    [problem] = load_pack(str(make_pack(tmp_path, {"1.1.yaml": record}))).problems
    assert (problem.title, problem.section, problem.context, problem.spec) == ("T", "1 S", "ctx", "sp")
    assert problem.extra_credit is True and problem.figures == ("fig1.png",)
    assert problem.deliverables == ("solution", "plot")  # as given, not Type 1's trace + critique + solution
    assert problem.points == sys.float_info.max
    (tmp_path / "plain").mkdir()
    [plain] = load_pack(str(make_pack(tmp_path / "plain"))).problems
    assert plain.extra_credit is False


def test_a_blank_text_key_is_not_given_like_a_blank_list(tmp_path):
    """`context:` left blank was refused ("must be text") while `hints:` left blank was accepted."""
    text = yaml.safe_dump(RECORD) + "context:\nspec:\nhints:\n"
    [problem] = load_pack(str(make_pack(tmp_path, {"1.1.yaml": text}))).problems
    assert (problem.context, problem.spec, problem.hints) == ("", "", ())


def mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def test_the_first_of_several_wrong_entries_is_named(tmp_path):
    message = load_error(make_pack(tmp_path, {"1.1.yaml": {**RECORD, "zebra": 1, "colour": 2}}))
    assert "key 'colour': unknown key" in message
    message = load_error(make_pack(mkdir(tmp_path / "d"), {"1.1.yaml": {**RECORD, "deliverables": ["essay", "poem"]}}))
    assert "unknown deliverable 'essay'" in message
    parts = [{"id": "written", "title": "W"}, {"id": "coding", "title": "C"}, {"id": "coding", "title": "C2"}]
    message = load_error(make_pack(mkdir(tmp_path / "p"), parts=parts))
    assert "part id 'coding' is given more than once" in message


def test_a_duplicate_key_is_named_at_its_line_with_its_fix(tmp_path):
    body = yaml.safe_dump(RECORD, sort_keys=False) + "statement: a second statement\n"  # RECORD's 9 lines, then line 10
    folder = make_pack(tmp_path, {"1.1.yaml": body})
    with pytest.raises(ProblemError) as info:
        load_pack(str(folder))
    assert "malformed YAML at line 10: " in info.value.message
    assert info.value.fix == "keep one of the two"


def test_the_ids_close_to_an_unknown_one_are_all_suggested(tmp_path):
    pack = load_pack(str(make_pack(tmp_path, {"1.1.yaml": RECORD, "1.2.yaml": {**RECORD, "id": "1.2"}})))
    with pytest.raises(UsageError) as info:
        pack.get("1.3")
    assert info.value.fix == "did you mean 1.2, 1.1?"  # both 2/3 alike; difflib puts equal scores in reverse order


@pytest.mark.parametrize("key", ["name", "title", "course", "version", "parts", "order"])
def test_pack_meta_missing_any_required_key(tmp_path, key):
    folder = make_pack(tmp_path)
    meta = yaml.safe_load((folder / "pack.yaml").read_text())
    del meta[key]
    (folder / "pack.yaml").write_text(yaml.safe_dump(meta))
    assert f"key {key!r}: missing" in load_error(folder)


@pytest.mark.parametrize("meta, key", [
    ({"version": True}, "version"), ({"assignment": "  "}, "assignment"), ({"parts": [{"title": "W"}]}, "parts"),
    ({"order": {"1.1": None}}, "order"),
])
def test_more_bad_pack_meta(tmp_path, meta, key):
    message = load_error(make_pack(tmp_path, **meta))
    assert "pack.yaml" in message and f"key {key!r}" in message


def test_a_pack_keeps_its_metadata_and_its_order(tmp_path):
    records = {"1.1.yaml": RECORD, "1.2.yaml": {**RECORD, "id": "1.2"}}
    pack = load_pack(str(make_pack(tmp_path, records, order=["1.2", 1.1], version=1.5, submission={"writeup": "w.pdf"},
                                   assignment="  a statistics assignment ")))
    assert [p.id for p in pack.problems] == ["1.2", "1.1"]  # the order given (1.1 unquoted: read as text)
    assert pack.version == "1.5" and pack.submission == {"writeup": "w.pdf"}
    assert {p.assignment for p in pack.problems} == {"a statistics assignment"}
    (tmp_path / "plain").mkdir()
    plain = load_pack(str(make_pack(tmp_path / "plain")))
    assert plain.problems[0].assignment == "a university assignment"


def test_a_folder_without_pack_yaml_is_no_pack(tmp_path, monkeypatch, project):
    """Neither a folder of that name in the working directory nor one under problems/ without its pack.yaml."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a2").mkdir()
    assert [p.id for p in load_pack("a2").problems] == list(HANDOUT)  # problems/a2, not ./a2
    named = project / "problems"
    named.unlink()
    named.mkdir()
    with pytest.raises(UsageError) as info:
        load_pack("t")
    assert info.value.fix == "create problems/<pack>/pack.yaml"
    make_pack(tmp_path).rename(named / "t")
    (named / "drafts").mkdir()
    with pytest.raises(UsageError) as info:
        load_pack("u")
    assert info.value.fix == "known packs: t"


@pytest.mark.parametrize("text, types", [(None, None), ("4", {4}), ("1,2,3,4", {1, 2, 3, 4}), ("1,2,", {1, 2}), (" 3 ", {3})])
def test_parse_types_reads_a_comma_list_of_types(text, types):
    from workbench.problems import parse_types

    assert parse_types(text) == types


@pytest.mark.parametrize("text", ["", ",", "1,x", "x"])
def test_parse_types_refuses_what_is_no_list_of_types(text):
    from workbench.problems import parse_types

    with pytest.raises(UsageError, match="is not a list of Types"):
        parse_types(text)


@pytest.mark.parametrize("text, bad", [("0", "0"), ("5", "5"), ("1,5", "5"), ("7,0", "0, 7")])
def test_parse_types_names_a_type_out_of_range_and_the_range(text, bad):
    """`--type 5` said '5' is not a list of Types, as for `--type x`: it is a list, of a Type no problem has."""
    from workbench.problems import parse_types

    with pytest.raises(UsageError) as info:
        parse_types(text)
    assert info.value.message == f"--type {text!r}: no Type {bad}; Types are 1 to 4"


@pytest.mark.parametrize("text, shown", [
    ("[bold red]x", "[bold red]x"), ("[/]", "[/]"), ("a [link=file:///etc]b[/link]", "a [link=file:///etc]b[/link]"),
    ("\\[i]", "\\[i]"), ("ends in \\", "ends in \\"), ("C:\\\\", "C:\\\\"), ("a\x1b[31mb\x9b2Jc\u202ed", "a[31mb2Jcd"),
    ("[\x00bold]x", "[bold]x"),  # a control character that hid a tag from the escape must not reveal it
    ("/tmp/Über".encode("utf-8").decode("ascii", "surrogateescape"), "/tmp/Über"), (3.5, "3.5"),
    (":smile: a:x:b [c:100:d] 16:13", ":smile: a:x:b [c:100:d] 16:13")])  # emoji names, where rich reads them
def test_external_text_prints_literally_without_control_characters(text, shown):
    """Server, pack, file and trace strings go through console.external before rich reads markup: `[/]` crashed a
    command (closing tag with nothing to close), `[bold]` styled and `[link=...]` planted a link."""
    import io

    from rich.text import Text

    from workbench.console import _Console, external

    out = io.StringIO()
    terminal = _Console(file=out, width=200, color_system="truecolor", force_terminal=True)
    terminal.print(f"[dim]>[/] {external(text)} <")
    terminal.print(f"[dim]> {external(text)}[/] <")
    terminal.print(Text.from_markup(f"> {external(text)} <"))  # a Panel's title, a progress bar's description
    plain = re.sub("\x1b\\[[0-9;]*m|\x1b]8;[^\x1b]*\x1b\\\\", "", out.getvalue())
    assert plain == f"> {shown} <\n" * 3  # before text, before a tag, read by rich's own defaults
    assert "\x1b]8" not in out.getvalue()  # no hyperlink escape sequence


@pytest.mark.parametrize("argv", [("list", "--pack", "{d}/p\nq"), ("check", "3.1", "{d}/x\ny.md")])
def test_an_error_naming_a_path_with_a_line_break_stays_one_line(capsys, tmp_path, argv):
    """A file or folder name may hold a line break: the one-line error that names it ran over two lines (a script
    reading stderr's last line got half of it); the break is shown as \\n, as Python writes it in a string."""
    code, out, err = run_cli(capsys, *(a.format(d=tmp_path) for a in argv))
    line = assert_one_line_error(code, out, err)
    assert code == 2 and ("p\\nq" in line or "x\\ny.md" in line), line


def test_an_error_or_a_table_shows_colon_words_in_names_as_written(capsys, tmp_path):
    """Rich turns `:smile:` (any emoji name between colons) into its emoji, markup or not: an error named the file
    `:smile: and :x:.md` as `😄 and ❌.md`, a file that is not there, and a pack title `Ratio :100:` read `Ratio 💯`."""
    code, out, err = run_cli(capsys, "check", "3.1", str(tmp_path / ":smile: and :x:.md"))
    line = assert_one_line_error(code, out, err)
    assert f"cannot read {tmp_path}/:smile: and :x:.md: " in line, line
    folder = make_pack(tmp_path, {"1.1.yaml": {**RECORD, "title": "Ratio :100: of :x:"}})
    code, out, _ = run_cli(capsys, "list", "--pack", str(folder))
    assert code == 0 and "Ratio :100: of :x:" in out, out


def test_show_titles_a_problem_with_colon_words_as_written(capsys, tmp_path):
    """show's panel title is read by rich's defaults, emoji names included, whatever the console says: a title
    `Ratio :100: of :x:` was shown as `Ratio 💯 of ❌`."""
    folder = make_pack(tmp_path, {"1.1.yaml": {**RECORD, "title": "Ratio :100: of :x:"}})
    code, out, _ = run_cli(capsys, "show", "1.1", "--pack", str(folder))
    assert code == 0 and "1.1 Ratio :100: of :x:" in out, out
