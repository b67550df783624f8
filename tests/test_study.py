"""study: every intact trace judged, grouped by model/strategy, per problem and per Type label; the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_verify import CONV, DL_TEX, ETA_TEX, make_project

from cli import main
from workbench.traces import SCHEMA, write_trace

WRONG_223 = (rf"$$\frac{{dL_1}}{{d\eta}} = {DL_TEX.replace('{4}', '{2}')}$$ so "  # both parts wrong: incorrect, 0
             r"$$\eta^* = \frac{n\, a^\top X X^\top a}{\| X X^\top a \|^2}$$")
RIGHT_223 = rf"$$\frac{{dL_1}}{{d\eta}} = {DL_TEX}$$ so $$\eta^* = {ETA_TEX}$$"  # correct, 1
RIGHT_31 = f"The result is {CONV}. The kernel is a sharpening filter."  # correct, 1
HALF_31 = f"The result is {CONV}."  # partial: the matrix without the feature, 2/3
WRONG_31 = f"The result is {[[9] * 5] * 5}."  # every cell wrong, no feature named: incorrect, 0
WRONG_221 = r"$$w_1 = w_0 + \eta X^\top t$$ and $$L_1 = \| t \|^2$$"  # incorrect, 0
FREE_233 = "Adam with L2 is not weight decay."  # free text: unchecked without --judge


def trace(root, pid: str, answers: list[str], model: str = "model-a", strategy: str = "direct", version: str | None = None,
          started: str = "2026-01-01T00:00:00.000000Z", base_url: str | None = "http://fixture.invalid/v1",
          source: str = "manual", asked: str | None = None):
    """A trace with clearly fake content (tests only), written by the workbench's own writer in the temp project;
    `asked`: the fingerprint of the question it records (problem_sha256; none, as in traces made before it was)."""
    samples = [{"index": i, "messages": [{"role": "user", "content": "fixture prompt"},
                                         {"role": "assistant", "content": text}]} for i, text in enumerate(answers)]
    exchanges = [{"model": version}] if version else []
    return write_trace({"schema": SCHEMA, "problem": pid, "pack": "a2", "strategy": strategy, "source": source,
                        "provider": {"base_url": base_url}, "request": {"model": model, "n": len(answers)},
                        "exchanges": exchanges, "samples": samples, "started_at": started,
                        "finished_at": started, **({"problem_sha256": asked} if asked else {})}, root=root / "traces")


@pytest.fixture
def proj(tmp_path, monkeypatch):
    root = make_project(tmp_path, monkeypatch)
    # model-a: Type 2 (2.2.3) half right over two traces, Type 4 (3.1) right: its Type means are out of the labels' order
    trace(root, "2.2.3", [WRONG_223, RIGHT_223])
    trace(root, "2.2.3", [WRONG_223], started="2026-01-02T00:00:00.000000Z")
    trace(root, "3.1", [RIGHT_31])
    # model-b: Type 2 right, Type 4 partly right, Type 1 free text only (unscored): its Type means are in order
    trace(root, "2.2.3", [RIGHT_223], model="model-b", strategy="hinted")
    trace(root, "3.1", [HALF_31, WRONG_31], model="model-b", strategy="hinted")
    trace(root, "2.3.3", [FREE_233], model="model-b", strategy="hinted")
    return root


def _json(capsys, argv, code=0):
    assert main(argv + ["--json"]) == code
    return json.loads(capsys.readouterr().out)


def test_means_per_problem_and_type_and_whether_the_labels_hold(proj, capsys):
    data = _json(capsys, ["study"])
    assert data["groups"] == ["model-a", "model-b"]
    rows = {r["problem"]: r for r in data["by_problem"]}
    assert list(rows) == ["2.2.3", "2.3.3", "3.1"]  # pack order
    a223, b31 = rows["2.2.3"]["groups"]["model-a"], rows["3.1"]["groups"]["model-b"]
    assert (a223["scored"], a223["correct"], a223["incorrect"]) == (3, 1, 2) and a223["mean"] == pytest.approx(1 / 3)
    assert (b31["partial"], b31["incorrect"]) == (1, 1) and b31["mean"] == pytest.approx((2 / 3 + 0) / 2, abs=1e-3)
    free = rows["2.3.3"]["groups"]["model-b"]
    assert free["unchecked"] == 1 and free["scored"] == 0 and free["mean"] is None
    assert "model-a" not in rows["2.3.3"]["groups"]

    by_type = {r["type"]: r["groups"] for r in data["by_type"]}
    one = {"ci_low": None, "ci_high": None, "ci_reason": "1 problem: too few for an interval (it needs 5)",
           "unscored_problems": []}  # a Type with one problem has no interval
    assert by_type[2]["model-a"] == {"mean": pytest.approx(1 / 3), "problems": 1, "answers": 3, **one}
    assert by_type[4]["model-a"] == {"mean": 1.0, "problems": 1, "answers": 1, **one}
    # unscored never count as 0: 2.3.3's free text is named as the Type's problem without a score
    assert by_type[1]["model-b"] == {"mean": None, "problems": 0, "answers": 0, **one, "unscored_problems": ["2.3.3"],
                                     "ci_reason": "no problem scored"}
    assert by_type[1]["model-a"]["unscored_problems"] == []  # no answer of model-a to 2.3.3: nothing unscored
    order = data["type_order"]
    assert order["model-a"]["ordered"] is False and order["model-a"]["rises"] == [[2, 4]]
    assert order["model-a"]["broken"] == order["model-a"]["difference_ci"] == [None]  # one problem per Type: not tested
    # --json's verdict carries its sample as the text's does: a script reading type_order alone saw "broken" with none
    assert order["model-a"]["problems"] == {"2": 1, "4": 1} and order["model-b"]["problems"] == {"2": 1, "4": 1}
    assert order["model-b"]["ordered"] is True and order["model-b"]["rises"] == []
    assert len(data["answers"]) == 8 and {a["status"] for a in data["answers"]} == {"correct", "partial", "incorrect", "unchecked"}
    assert "3.3" in data["problems_without_traces"] and not data["skipped_traces"]


def test_a_problem_sampled_often_weighs_as_much_as_one_sampled_once(proj, capsys):
    # model-b, Type 2: 2.2.3 right eleven times, 2.2.1 wrong once -> (1 + 0) / 2, not 11 / 12
    trace(proj, "2.2.3", [RIGHT_223] * 10, model="model-b", strategy="hinted", started="2026-01-03T00:00:00.000000Z")
    trace(proj, "2.2.1", [WRONG_221], model="model-b", strategy="hinted")
    data = _json(capsys, ["study", "--model", "model-b", "--type", "2"])
    rows = {r["problem"]: r["groups"]["model-b"] for r in data["by_problem"]}
    assert (rows["2.2.3"]["mean"], rows["2.2.3"]["scored"]) == (1.0, 11) and (rows["2.2.1"]["mean"], rows["2.2.1"]["scored"]) == (0.0, 1)
    assert data["by_type"] == [{"type": 2, "groups": {"model-b": {"mean": 0.5, "problems": 2, "answers": 12,
                                                                  "ci_low": None, "ci_high": None,
                                                                  "ci_reason": "2 problems: too few for an interval "
                                                                               "(it needs 5)",
                                                                  "unscored_problems": []}}}]


def test_a_problem_named_twice_is_studied_once(proj, capsys):
    # --problem 2.2.3 --problem 2.2.3 judged its traces twice: 6 answers scored and 2 "problems" with an interval
    data = _json(capsys, ["study", "--problem", "2.2.3", "--problem", "2.2.3", "--model", "model-a"])
    assert [r["problem"] for r in data["by_problem"]] == ["2.2.3"] and len(data["answers"]) == 3
    assert data["by_type"] == [{"type": 2, "groups": {"model-a": {"mean": 1 / 3, "problems": 1, "answers": 3,
                                                                  "ci_low": None, "ci_high": None,
                                                                  "ci_reason": "1 problem: too few for an interval "
                                                                               "(it needs 5)",
                                                                  "unscored_problems": []}}}]


def test_problems_named_out_of_order_are_studied_in_pack_order(proj, capsys):
    # --problem 3.1 --problem 2.2.3 put 3.1 first: the rows, and the order a Type's bootstrap resamples its problem
    # means in, followed the command line (a Type's interval then moved with it in the third decimal)
    data = _json(capsys, ["study", "--problem", "3.1", "--problem", "2.2.3"])
    assert [r["problem"] for r in data["by_problem"]] == ["2.2.3", "3.1"]


def test_grouping_by_strategy_and_by_reported_version(proj, capsys):
    data = _json(capsys, ["study", "--by", "strategy"])
    assert data["groups"] == ["direct", "hinted"]
    trace(proj, "3.1", [RIGHT_31], model="gpt-x", version="gpt-x-2026-05-01")
    data = _json(capsys, ["study", "--model", "gpt-x"])  # the requested name selects; the version is the column
    assert data["groups"] == ["gpt-x-2026-05-01"]
    data = _json(capsys, ["study", "--by", "model+strategy", "--strategy", "hinted"])
    assert data["groups"] == ["model-b / hinted"]


def test_a_column_mixing_strategies_over_different_types_says_so(proj, capsys):
    """decompose needs a record's steps, so an instructor's decompose run covers only some Types: under --by model a
    column then averaged decompose and direct answers on those Types and direct alone on the rest, and its Type means
    compared the strategies as much as the Types, without a word. The column is named with each strategy's Types."""
    trace(proj, "2.2.3", [RIGHT_223], strategy="decompose")  # model-a: decompose on Type 2 only, direct on 2 and 4
    assert main(["study"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert ("model-a: its answers mix strategies over different Types (decompose: Type 2; direct: Types 2, 4), so its "
            "Type means compare strategies too; --by model+strategy keeps them apart") in out
    assert "model-b: its answers mix" not in out  # hinted alone
    for by in ("model+strategy", "strategy"):  # each column one strategy; direct's one model
        assert main(["study", "--by", by]) == 0
        assert "mix" not in capsys.readouterr().out
    trace(proj, "2.2.3", [RIGHT_223], model="model-c")  # --by strategy: direct of model-a on Types 2, 4, model-c on 2
    assert main(["study", "--by", "strategy"]) == 0
    assert ("direct: its answers mix models over different Types (model-a: Types 2, 4; model-c: Type 2)"
            in " ".join(capsys.readouterr().out.split()))
    trace(proj, "3.1", [RIGHT_31], strategy="decompose")  # decompose on Types 2 and 4 too: even
    trace(proj, "3.1", [RIGHT_31], model="model-c")
    assert main(["study"]) == 0
    assert "mix" not in capsys.readouterr().out


def test_a_model_and_provider_column_mixing_strategies_names_them_strategies(proj, capsys):
    """Under --by model+provider a column's mix is of strategies, as under --by model (uneven_mixes and --json say
    so), but the line called them models: 'mix models over different Types (decompose: ...; direct: ...)'."""
    trace(proj, "2.2.3", [RIGHT_223], strategy="decompose")  # model-a: decompose on Type 2 only, direct on 2 and 4
    assert main(["study", "--by", "model+provider"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "its answers mix strategies over different Types (decompose: Type 2; direct: Types 2, 4), so its Type " \
           "means compare strategies too" in out, out
    assert "mix models" not in out


def test_json_names_the_columns_that_mix_strategies_over_different_types(proj, capsys):
    """The text named a column whose strategies cover different Types; --json, the form scripts and notebooks read,
    had no word of it (docs/json.md: mixed_columns)."""
    trace(proj, "2.2.3", [RIGHT_223], strategy="decompose")  # model-a: decompose on Type 2 only, direct on 2 and 4
    assert _json(capsys, ["study"])["mixed_columns"] == {"model-a": {"decompose": [2], "direct": [2, 4]}}
    assert _json(capsys, ["study", "--by", "model+strategy"])["mixed_columns"] == {}


def test_edited_traces_are_skipped_and_named(proj, capsys):
    path = trace(proj, "3.1", [WRONG_31], model="model-c")
    body = json.loads(path.read_text())
    body["samples"][0]["messages"][1]["content"] = RIGHT_31  # an edit after the fact is no evidence
    path.write_text(json.dumps(body))
    (proj / "traces" / "3.1" / "junk.json").write_text("{not json")
    data = _json(capsys, ["study"])
    assert "model-c" not in data["groups"]
    assert any(path.name in s and "edited" in s for s in data["skipped_traces"])
    assert any("junk.json" in s for s in data["skipped_traces"])


def test_trace_folders_that_cannot_be_read_are_named(proj, capsys, monkeypatch):
    """A problem's trace folder that is a file, or that cannot be listed (no permission), showed as "no trace" or
    not at all, as if the LLM had never been asked; so did an unreadable folder of a problem the pack lacks.
    Each is named among the skipped, with why."""
    import os

    (proj / "traces" / "3.3").write_text("not a folder")
    trace(proj, "2.2.1", [WRONG_221], model="model-c")
    trace(proj, "9.9", [RIGHT_31], model="model-c")  # the writer takes any id: a problem a2 lacks
    locked = {str(proj / "traces" / "2.2.1"), str(proj / "traces" / "9.9")}
    scandir = os.scandir

    def no_permission(path="."):  # what listing a folder without read permission does (root reads them all)
        if os.fspath(path) in locked:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", no_permission)
    data = _json(capsys, ["study"])
    skipped = data["skipped_traces"]
    assert f"{proj / 'traces' / '3.3'}: not a folder, so no trace in it is read" in skipped
    assert f"{proj / 'traces' / '2.2.1'}: cannot read the folder (Permission denied), so no trace in it is read" in skipped
    assert f"{proj / 'traces' / '9.9'}: cannot read the folder (Permission denied), so no trace in it is read" in skipped
    assert "model-c" not in data["groups"] and len(data["answers"]) == 8  # the rest is judged as before
    assert main(["study"]) == 0
    assert f"skipped {proj / 'traces' / '3.3'}: not a folder" in capsys.readouterr().out
    locked.add(str(proj / "traces"))  # traces/ itself: it may hold folders of problems the pack lacks
    skipped = _json(capsys, ["study"])["skipped_traces"]
    assert (f"{proj / 'traces'}: cannot read the folder (Permission denied), so folders of problems not in the pack "
            "are not found") in skipped


def test_a_traces_path_that_is_a_file_is_named(proj, capsys):
    """traces/ replaced by a file: "no intact trace to study" and how to get traces, as if none had been made."""
    import shutil

    shutil.rmtree(proj / "traces")
    (proj / "traces").write_text("not a folder")
    for argv in (["study"], ["study", "--problem", "3.1"]):
        assert main(argv) == 1
        assert f"skipped: {proj / 'traces'}: not a folder, so no trace in it is read" in capsys.readouterr().err


def test_table_says_where_the_labels_do_not_hold(proj, capsys):
    assert main(["study"]) == 0
    out = capsys.readouterr().out
    assert "model-a: Type means out of the labels' order over Types 2, 4 (those scored): Type 4 (1.00, 1 problem) above Type 2 (0.33, 1 problem)" in out
    assert "model-b: Type means in the labels' order over Types 2, 4 (those scored): Type 2 1.00 (1 problem) ≥ Type 4 0.33 (1 problem)" in out
    assert "8 answers from 6 traces; 1 unchecked (the check could not judge them, e.g. free text: add --judge MODEL to score it; --json gives each reason)" in out and "+1 unscored" in out


def test_equal_type_means_hold_and_one_type_alone_compares_nothing(proj, capsys):
    """'Should not rise': equal means hold the labels; a group scored on one Type has nothing to compare."""
    trace(proj, "2.2.3", [RIGHT_223], model="model-c")  # Type 2: 1.0
    trace(proj, "3.1", [RIGHT_31], model="model-c")  # Type 4: 1.0, equal, not a rise
    trace(proj, "3.1", [RIGHT_31], model="model-d")  # Type 4 only
    order = _json(capsys, ["study"])["type_order"]
    assert order["model-c"] == {"means": {"2": 1.0, "4": 1.0}, "problems": {"2": 1, "4": 1}, "ordered": True,
                                "rises": [], "difference_ci": [], "broken": []}
    assert order["model-d"] == {"means": {"4": 1.0}, "problems": {"4": 1}, "ordered": None, "rises": [], "difference_ci": [],
                                "broken": []}
    assert main(["study"]) == 0
    out = capsys.readouterr().out
    assert "model-c: Type means in the labels' order over Types 2, 4 (those scored): Type 2 1.00 (1 problem) ≥ Type 4 1.00 (1 problem)" in out
    assert "model-d: scored on one Type only (Type 4 1.00); nothing to compare" in out


def test_problems_scoring_two_thirds_by_different_sums_tie(proj, capsys):
    """2/3 as the mean of right, right, wrong and 2/3 as one partial answer (whose verdict shows 0.6667) are one
    score: no rise between their Types, and no order for the statistic to find."""
    right_121 = "No. RMSProp converges to [0.6667, 0.6667], not the minimum-norm solution [0.8, 0.4]."
    wrong_121 = "Yes, RMSProp always obtains the minimum norm solution."
    trace(proj, "1.2.1", [right_121, right_121, wrong_121], model="model-c")  # Type 1: (1 + 1 + 0) / 3
    trace(proj, "2.2.3", [RIGHT_223, WRONG_223, RIGHT_223], model="model-c")  # Type 2: (1 + 0 + 1) / 3
    trace(proj, "3.1", [HALF_31], model="model-c")  # Type 4: one answer with 2 of its 3 parts' weight
    data = _json(capsys, ["study", "--model", "model-c"])
    assert data["type_order"]["model-c"]["rises"] == [] and data["type_order"]["model-c"]["ordered"] is True
    assert data["type_trend"]["model-c"]["reason"] == "every problem has the same mean score"
    assert main(["study", "--model", "model-c"]) == 0
    assert ("model-c: Type means in the labels' order over Types 1, 2, 4 (those scored): Type 1 0.67 (1 problem) ≥ Type 2 "
            "0.67 (1 problem) ≥ Type 4 0.67 (1 problem)") in " ".join(capsys.readouterr().out.split())


def test_a_score_not_made_from_its_details_is_studied_as_it_is(proj, capsys, monkeypatch):
    """The unrounded credit is read from a verdict's details; a scored verdict whose details do not make its score
    (none decided) keeps its own score, not the 0 its empty details would give."""
    from workbench.verdicts import Verdict

    trace(proj, "3.1", [RIGHT_31], model="model-c")
    monkeypatch.setattr("workbench.verify.check_trace",
                        lambda ref, problem, tr, ctx: [Verdict(problem.id, "llm", "correct", 1.0, (), "", "")])
    data = _json(capsys, ["study", "--model", "model-c"])
    assert [a["score"] for a in data["answers"]] == [1.0]


def test_a_trace_without_a_pack_field_counts_for_the_pack(proj, capsys):
    """The pack field is optional in a trace (write_trace does not require it): such a trace is evidence."""
    path = trace(proj, "3.1", [RIGHT_31], model="model-c")
    body = json.loads(path.read_text())
    path.unlink()
    del body["hash"], body["pack"]
    write_trace(body, root=proj / "traces")
    data = _json(capsys, ["study", "--model", "model-c"])
    assert data["by_problem"][0]["groups"]["model-c"]["correct"] == 1 and not data["skipped_traces"]


def test_a_column_with_no_scored_type_says_so(proj, capsys):
    trace(proj, "2.3.3", [FREE_233], model="model-c")  # free text only: nothing scored for model-c
    assert main(["study"]) == 0
    out = capsys.readouterr().out
    assert "model-c: no answer scored on any Type; nothing to compare" in out
    assert "one Type only (none)" not in out

def test_failed_samples_other_packs_and_unknown_problems_are_accounted_for(proj, capsys):
    path = trace(proj, "3.1", [RIGHT_31], model="model-c")
    body = json.loads(path.read_text())
    path.unlink()
    body["request"]["n"], body["errors"] = 3, ["sample 1: 500", "sample 2: 500"]  # two of three samples failed at the API
    del body["hash"]
    write_trace(body, root=proj / "traces")
    other = dict(body, pack="demo", request={"model": "model-d", "n": 1}, errors=[])
    write_trace(other, root=proj / "traces")  # same id, another pack: not this pack's evidence
    gone = dict(other, problem="9.9", pack="a2")
    write_trace(gone, root=proj / "traces")  # a problem the pack no longer has
    data = _json(capsys, ["study"])
    cell = {r["problem"]: r for r in data["by_problem"]}["3.1"]["groups"]["model-c"]
    assert (cell["failed"], cell["scored"], cell["correct"]) == (2, 1, 1)
    assert "model-d" not in data["groups"]
    assert any("pack 'demo', not 'a2'" in s for s in data["skipped_traces"])
    assert any("no problem 9.9 in this pack" in s for s in data["skipped_traces"])
    (proj / "traces" / "8.8").mkdir()  # an empty folder holds no evidence to name
    assert not any("8.8" in s for s in _json(capsys, ["study"])["skipped_traces"])
    assert main(["study", "--model", "model-c"]) == 0
    assert "1 answer from 1 trace; 2 requested samples failed at the API" in capsys.readouterr().out


@pytest.mark.parametrize("added, more", [(8, "; and 5 more — get some with"), (3, None)])
def test_nothing_to_study_names_a_few_skipped_traces_and_counts_the_rest(proj, capsys, added, more):
    """Every trace of another pack: the one-line error named all ten (thousands for a class's traces: 232 KB in one
    line). With the fixture's two, 10 traces name five and count five; 5 traces name all five and count none."""
    for k in range(added):
        trace(proj, "3.1", [RIGHT_31], model=f"model-{k}", started=f"2026-02-0{k + 1}T00:00:00.000000Z")
    for path in (proj / "traces" / "3.1").glob("*.json"):
        body = json.loads(path.read_text())
        path.unlink()
        del body["hash"]
        write_trace(dict(body, pack="demo"), root=proj / "traces")
    assert main(["study", "--problem", "3.1"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.count("a trace of pack 'demo', not 'a2'") == 5
    assert (more in err) if more else (" more" not in err)


def test_the_tables_titles_are_one_line_each_over_a_narrow_table(proj, capsys):
    """With one column, each table's title was wrapped to the table's width: its legend ran over two and three lines
    ("... N! = N" / "of them cut off ..."); each title is one line above its table."""
    assert main(["study", "--model", "model-a"]) == 0
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    assert "mean score per problem (answers scored; N! = N of them cut off, filtered, refused or empty)" in lines, lines
    assert "per Type: mean of problem means [95%\u00a0interval] (problems, answers scored)" in lines, lines


def test_plot_is_written_whole(proj, tmp_path, capsys):
    from PIL import Image

    target = tmp_path / "study.png"
    data = _json(capsys, ["study", "--plot", str(target)])
    assert data["plot"] == str(target)
    with Image.open(target) as im:
        assert im.format == "PNG" and im.size[0] > 300
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_a_plot_into_a_folder_not_made_yet_makes_it_and_a_refused_study_leaves_none(proj, capsys, monkeypatch):
    """--plot build/study.png (README's and the errors' own example) was refused on a fresh clone, where build/ does
    not exist yet: the folder is made, as train --out and build-writeup --out make theirs; a study refused after
    the plot's check leaves no empty folder behind."""
    from PIL import Image

    monkeypatch.chdir(proj)
    assert main(["study", "--plot", "new/sub/study.png", "--model", "no-such-model"]) == 2
    assert not (proj / "new").exists()
    data = _json(capsys, ["study", "--plot", "new/sub/study.png"])
    assert data["plot"] == str(proj / "new" / "sub" / "study.png")
    with Image.open(proj / "new" / "sub" / "study.png") as im:
        assert im.format == "PNG"


def test_the_plot_line_stays_one_line_where_its_folder_holds_a_line_break(proj, tmp_path, capsys):
    """'plot: .../a' and 'b/study.png' on two lines: the second named nothing a script could read; the break
    shows as \\n (console.one_line), the line whole."""
    target = tmp_path / "a\nb" / "study.png"
    assert main(["study", "--plot", str(target)]) == 0
    assert "plot: " + str(target).replace("\n", "\\n") in capsys.readouterr().out.splitlines()
    assert target.is_file()


def test_a_relative_plot_path_is_shown_absolute_in_the_table_and_json(proj, tmp_path, capsys, monkeypatch):
    """--plot study.png printed "plot: study.png" and put "study.png" in the JSON: a script reading it from another
    folder found no file. Both now name the file written, absolute; ~ and .. are spelt out."""
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path / "out")
    written = tmp_path / "out" / "study.png"
    assert _json(capsys, ["study", "--plot", "study.png"])["plot"] == str(written)
    assert main(["study", "--plot", "../out/study.png"]) == 0
    assert f"plot: {written}\n" in capsys.readouterr().out
    monkeypatch.setenv("HOME", str(tmp_path))
    assert _json(capsys, ["study", "--plot", "~/out/study.png"])["plot"] == str(written)


def test_a_plot_path_through_a_link_and_back_is_written_where_the_system_reads_it(proj, tmp_path, capsys, monkeypatch):
    """--plot link/../study.png was made absolute as text (the current folder's study.png), while the argument check,
    the shell and train and build-writeup's --out read `link/..` as the folder above the link's target: the plot is
    written, and named, there."""
    (tmp_path / "far" / "deep").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "far" / "deep", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    written = tmp_path.resolve() / "far" / "study.png"
    assert _json(capsys, ["study", "--plot", "link/../study.png"])["plot"] == str(written)
    assert written.is_file() and not (tmp_path / "study.png").exists()


@pytest.mark.parametrize("argv, words", [
    (["--type", "5"], "no Type 5; Types are 1 to 4"),
    (["--problem", "9.9"], "no problem '9.9'"),
    (["--plot", "study.txt"], "must end in .png, .pdf or .svg"),
    (["--plot", "/proc/study.png"], "cannot write in /proc"),  # a traceback after all the judging, even as root
    (["--timeout", "0"], "--timeout 0 is not a time limit"),
    (["--timeout", "inf"], "--timeout inf is not a time limit"),  # thread.join(inf) raised OverflowError
    (["--timeout", "nan"], "--timeout nan is not a time limit"),  # every check 'did not finish within nan s'
    (["--jobs", "0"], "is not a positive number"),
    (["--base-url", "http://localhost:1/v1"], "no --judge was given"),
    (["--judge", ""], "--judge '' names no model"),  # was taken as no --judge: free text silently unchecked
    (["--judge", "  "], "--judge '  ' names no model"),
])
def test_bad_input_is_one_line_before_any_judging(proj, capsys, monkeypatch, argv, words):
    import workbench.study

    monkeypatch.setattr(workbench.study, "run_study", lambda *a, **k: pytest.fail("judged before the input was checked"))
    assert main(["study", *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_plot_target_that_is_a_folder_is_refused_before_any_judging(proj, tmp_path, capsys, monkeypatch):
    import workbench.study

    folder = tmp_path / "plots.png"
    folder.mkdir()
    monkeypatch.setattr(workbench.study, "run_study", lambda *a, **k: pytest.fail("judged before the input was checked"))
    assert main(["study", "--plot", str(folder)]) == 2
    assert "is a folder" in capsys.readouterr().err and list(folder.iterdir()) == []



@pytest.mark.parametrize("where", ["traces/study.png", "traces/3.1/study.png", "link/study.png", "traces"])
def test_a_plot_into_traces_is_refused_before_any_judging(proj, tmp_path, capsys, monkeypatch, where):
    """traces/ holds only the LLM's real traces (verify and study read every file there): a plot written there
    was a stray file among the evidence. Refused however the path gets there (relative, a problem's folder, a link)."""
    import workbench.study

    (proj / "link").symlink_to(proj / "traces", target_is_directory=True)
    monkeypatch.chdir(proj)
    before = sorted((proj / "traces").rglob("*"))
    monkeypatch.setattr(workbench.study, "run_study", lambda *a, **k: pytest.fail("judged before the input was checked"))
    target = where if where != "traces" else str(proj / "traces" / "2.2.3" / ".." / "x.svg")
    assert main(["study", "--plot", target]) == 2
    err = capsys.readouterr().err
    assert "traces/ holds only the LLM's traces" in err and err.count("\n") == 1
    assert sorted((proj / "traces").rglob("*")) == before


def test_a_plot_folder_that_is_a_file_is_named_as_one(proj, tmp_path, capsys, monkeypatch):
    """--plot notes.txt/study.png said "folder notes.txt does not exist — create it": it exists, as a file."""
    import workbench.study

    (tmp_path / "notes.txt").write_text("mine")
    monkeypatch.setattr(workbench.study, "run_study", lambda *a, **k: pytest.fail("judged before the input was checked"))
    assert main(["study", "--plot", str(tmp_path / "notes.txt" / "study.png"), "--json"]) == 2
    data = json.loads(capsys.readouterr().out)
    assert data["error"].endswith("notes.txt is a file, not a folder") and "create" not in data["fix"]
    assert (tmp_path / "notes.txt").read_text() == "mine"

def test_a_plot_name_too_long_for_the_file_system_is_refused_before_any_judging(proj, tmp_path, capsys, monkeypatch):
    """--plot with a 300-character name crashed `study` with an OSError (File name too long) traceback."""
    import workbench.study

    monkeypatch.setattr(workbench.study, "run_study", lambda *a, **k: pytest.fail("judged before the input was checked"))
    assert main(["study", "--plot", str(tmp_path / ("a" * 300 + ".png"))]) == 2
    err = capsys.readouterr().err
    assert "File name too long" in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("models", [["modle-a"], ["model-a", "modle-b"]])
def test_a_model_with_no_trace_is_refused_with_the_models_there_are(proj, capsys, monkeypatch, models):
    """--model modle-a said "no intact trace to study" and how to get traces, exit 1, as if none had been made; beside
    a right name a misspelt one was dropped without a word, and the study showed one model where two were asked."""
    import workbench.study

    trace(proj, "3.1", [RIGHT_31], model="gpt-x", version="gpt-x-2026-05-01")
    monkeypatch.setattr(workbench.study, "run_study", lambda *a, **k: pytest.fail("judged before the input was checked"))
    assert main(["study", *(a for m in models for a in ("--model", m))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert (f"--model {models[-1]}: no trace of the selected problems is of that model; models with traces: gpt-x, "
            "gpt-x-2026-05-01, model-a, model-b") in err


def test_a_strategy_with_no_trace_is_refused_with_the_strategies_there_are(proj, capsys, monkeypatch):
    """As --model: --strategy hinetd beside direct studied direct alone without a word."""
    import workbench.study

    monkeypatch.setattr(workbench.study, "run_study", lambda *a, **k: pytest.fail("judged before the input was checked"))
    assert main(["study", "--strategy", "direct", "--strategy", "hinetd"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("--strategy hinetd: no trace of the selected problems is of that strategy; "
                                      "strategies with traces: direct, hinted") in err


def test_a_model_whose_only_trace_cannot_be_read_is_not_called_a_typo(proj, capsys):
    """The one trace of model-z was damaged (not JSON): --model model-z was refused as a name no trace has, with
    "give one of those" (model-a, model-b), and no word of the unreadable trace that may well be model-z's."""
    bad = proj / "traces" / "3.3" / "20260101T000000Z-model-z-0123456789ab.json"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"schema": "workbench.trace/1", "problem": "3.3"')  # cut off: its model cannot be read
    for flag, name in (("--model", "model-z"), ("--strategy", "hinetd")):
        assert main(["study", flag, name]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert f"1 trace could not be read, so its {flag[2:]} is unknown: {bad}: not valid JSON" in err
        assert "`python cli.py traces verify` lists it" in err
    assert main(["study", "--model", "model-a"]) == 0  # a name a readable trace has still studies, the bad one named
    assert f"skipped {bad}" in capsys.readouterr().out


@pytest.mark.parametrize("problems", [["3.1"], ["2.2.3", "3.1"]])
def test_a_problem_outside_the_type_filter_is_refused(proj, capsys, monkeypatch, problems):
    """--problem 3.1 (Type 4) --type 2 said "no intact trace to study among 0 problem(s)" and how to get traces,
    exit 1, though 3.1 has traces; beside 2.2.3 (Type 2) it was dropped without a word. The two filters contradict:
    bad input, named, before any judging."""
    import workbench.study

    monkeypatch.setattr(workbench.study, "run_study", lambda *a, **k: pytest.fail("judged before the input was checked"))
    assert main(["study", *(a for pid in problems for a in ("--problem", pid)), "--type", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--problem 3.1 is Type 4, which --type 2 leaves out" in err


def test_nothing_to_study_exits_1_and_says_how_to_get_traces(proj, capsys):
    assert main(["study", "--problem", "3.3", "--json"]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out)["exit_code"] == 1 and "prompt --type 1,2,3,4" in err


def test_plot_legend_shows_odd_model_names_literally(proj, tmp_path, capsys, monkeypatch):
    import matplotlib.pyplot as plt

    long = "gpt-" + "x" * 200 + "-2026-05-01"
    for name in (r"gpt-$\frac{1$-x", "_hidden", long):  # a bad formula raised after the judging; _ left the legend
        trace(proj, "3.1", [RIGHT_31], model=name)
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    target = tmp_path / "study.png"
    assert main(["study", "--problem", "3.1", "--plot", str(target)]) == 0
    assert target.exists() and "Traceback" not in capsys.readouterr().err
    labels = [t.get_text().split("\n")[0] for t in figures[0].axes[0].get_legend().get_texts()]  # the name; then its statistic
    assert r"gpt-\$\frac{1\$-x" in labels and "\u200b_hidden" in labels and "model-a" in labels
    cut = [s for s in labels if s.startswith("gpt-x")]
    assert cut and len(cut[0]) <= 40 and cut[0].endswith("-2026-05-01")


def test_plot_library_is_loaded_before_the_judging(proj, tmp_path, capsys, monkeypatch):
    # loaded after it, a Ctrl-C during the slow import was an ImportError traceback (exit 1), not exit 130
    import workbench.commands.study as command
    import workbench.study

    steps, load, judge = [], command._pyplot, workbench.study.run_study
    monkeypatch.setattr(command, "_pyplot", lambda: steps.append("load") or load())
    monkeypatch.setattr(workbench.study, "run_study", lambda *a, **k: steps.append("judge") or judge(*a, **k))
    assert main(["study", "--plot", str(tmp_path / "study.png")]) == 0
    assert steps[:2] == ["load", "judge"]
    steps.clear()
    assert main(["study"]) == 0 and steps == ["judge"]  # no plot: no matplotlib


def test_jobs_change_nothing_but_the_wall_time(proj, capsys):
    for pid, answers in (("2.2.3", [RIGHT_223, WRONG_223]), ("3.1", [HALF_31]), ("2.3.3", [FREE_233])):
        for k in range(4):
            trace(proj, pid, answers, model=f"model-{k % 2}", started=f"2026-02-0{k + 1}T00:00:00.000000Z")
    assert _json(capsys, ["study", "--jobs", "4"]) == _json(capsys, ["study"])


def test_ctrl_c_while_workers_judge_marks_their_checks_abandoned(proj, monkeypatch):
    from workbench import study as study_module
    from workbench import verify

    monkeypatch.setattr(verify, "_ABANDONED", [])
    ctx = verify.context("a2")
    problems = list(ctx.pack.problems)
    pairs, skipped, _ = study_module.traces_to_judge(problems, "a2")

    def ctrl_c():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        study_module.run_study(ctx, verify.load_reference(ctx.pack), pairs, skipped, problems, on_trace=ctrl_c, jobs=2)
    assert verify.abandoned_checks()  # cli.exit_process then skips the interpreter shutdown


def test_answers_cut_off_are_scored_as_they_came_and_counted(proj, capsys):
    """A low mean may be the token limit's doing: such answers are counted, and each carries its caution."""
    path = trace(proj, "3.1", [WRONG_31, RIGHT_31], model="model-c")
    body = json.loads(path.read_text())
    path.unlink()
    del body["hash"]
    body["exchanges"] = [{"sample": None, "turn": 0, "choices": [{"index": 0, "finish_reason": "length"},
                                                                  {"index": 1, "finish_reason": "stop"}]}]
    write_trace(body, root=proj / "traces")
    data = _json(capsys, ["study", "--model", "model-c"])
    cell = data["by_problem"][0]["groups"]["model-c"]
    assert (cell["scored"], cell["cautioned"], cell["mean"]) == (2, 1, 0.5)
    assert ["token limit" in a["caution"] for a in data["answers"]] == [True, False]
    assert main(["study", "--model", "model-c"]) == 0
    out = capsys.readouterr().out
    assert "1 cut off at the token limit, filtered, refused or empty (scored as they came" in out
    assert "0.50 (2) 1!" in out  # the cell says which problem's mean they are in


def test_a_refused_answer_is_not_said_to_be_scored(proj, capsys):
    """A refusal carries a caution but holds nothing to score: the summary must not count it among those scored."""
    path = trace(proj, "3.1", [WRONG_31, "I can't help with that."], model="model-c")
    body = json.loads(path.read_text())
    path.unlink()
    del body["hash"]
    body["exchanges"] = [{"sample": None, "turn": 0, "choices": [
        {"index": 0, "finish_reason": "length"}, {"index": 1, "finish_reason": "stop", "refusal": "I can't help with that."}]}]
    write_trace(body, root=proj / "traces")
    assert main(["study", "--model", "model-c"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "2 cut off at the token limit, filtered, refused or empty (1 scored as they came, 1 unscored;" in out
    assert "0.00 (1) +1 unscored 2!" in out


def test_an_answer_is_scored_only_when_every_part_was_judged(proj, capsys):
    """5.3 without a grader: the claims are checked against the runs, the reasons are not. A right claim is then
    unchecked; scoring a wrong one as 0 would make a mean of the failing answers alone."""
    from test_verify import fake_run

    fake_run(proj, "pool", "poolupsample", val_loss=1.59, val_acc=41.5)
    fake_run(proj, "ct", "convtranspose", val_loss=1.11, val_acc=57.2)
    trace(proj, "5.3", ["ConvTransposeNet reaches a lower validation loss than PoolUpsampleNet.",
                        "ConvTransposeNet has a higher validation loss than PoolUpsampleNet.",
                        "ConvTransposeNet reaches a lower validation loss than PoolUpsampleNet, but a lower validation "
                        "accuracy."], model="model-c")  # one claim right, one wrong: half of what was decided
    data = _json(capsys, ["study", "--model", "model-c"])
    cell = data["by_problem"][0]["groups"]["model-c"]
    assert (cell["scored"], cell["unchecked"], cell["incorrect"], cell["mean"]) == (0, 3, 0, None)
    assert all("key points" in a["reason"] for a in data["answers"])
    assert [a["score"] for a in data["answers"]] == [None, None, None]  # unscored: not 0 (nor the decided parts' 0.5)


def test_a_failing_judge_exits_3_after_the_report(proj, capsys, monkeypatch):
    """--help: exit 3 when the --judge model failed; its answers stay unchecked, never a pass."""
    from openai_server import FakeOpenAI

    server = FakeOpenAI().start()
    try:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setattr("workbench.llm.BACKOFF_BASE", 0.01)
        server.script({"status": 401})
        assert main(["study", "--problem", "2.3.3", "--judge", "fake-gpt", "--json"]) == 3
        out, err = capsys.readouterr()
        assert [a["status"] for a in json.loads(out)["answers"]] == ["unchecked"]
        assert "the model grader fake-gpt failed on 1 answer" in err and err.count("\n") == 1
    finally:
        server.stop()


def test_a_grader_failing_on_a_conversations_last_reply_grades_no_earlier_step(proj, capsys, monkeypatch):
    """A decompose conversation (step replies, then the final answer) whose final answer the grader could not grade
    (a reply with no score; an outage) was graded again from each earlier step reply: more paid requests, a step's
    note scored as the model's answer ("judged from reply 2 of 3"), and after an outage "failed on 3 answers" for
    one. The answer stays unchecked, with the grader's failure as its reason, after one request."""
    from openai_server import FakeOpenAI

    replies = ["Step 1: the gradient of the L2 term is lambda w.", "Step 2: Adam divides it by sqrt(v).", FREE_233]
    messages = [m for text in replies for m in ({"role": "user", "content": "fixture step"},
                                                {"role": "assistant", "content": text})]
    write_trace({"schema": SCHEMA, "problem": "2.3.3", "pack": "a2", "strategy": "decompose", "source": "manual",
                 "provider": {"base_url": "http://fixture.invalid/v1"}, "request": {"model": "model-c", "n": 1},
                 "exchanges": [], "samples": [{"index": 0, "messages": messages}],
                 "started_at": "2026-01-01T00:00:00.000000Z", "finished_at": "2026-01-01T00:00:00.000000Z"},
                root=proj / "traces")
    server = FakeOpenAI().start()
    try:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setattr("workbench.llm.BACKOFF_BASE", 0.01)
        server.reply = lambda body, i: '{"score": 1, "notes": "every key point"}'
        server.script({"content": "A fine answer overall."})  # the first grade has no score in it
        argv = ["study", "--problem", "2.3.3", "--model", "model-c", "--judge", "fake-gpt", "--json"]
        [answer] = _json(capsys, argv, code=3)["answers"]  # the grader failed: exit 3
        assert len(server.chat_requests()) == 1
        assert (answer["status"], answer["score"]) == ("unchecked", None) and "reply 2 of 3" not in answer["reason"]
        server.script({"status": 401})
        assert main(argv + ["--rejudge"]) == 3
        out, err = capsys.readouterr()
        assert len(server.chat_requests()) == 2 and json.loads(out)["answers"][0]["status"] == "unchecked"
        assert "the model grader fake-gpt failed on 1 answer " in err
    finally:
        server.stop()


def test_empty_answers_are_counted_unscored_in_their_cell(proj, capsys):
    trace(proj, "3.1", ["", RIGHT_31], model="model-c")  # an empty answer lacks what the check needs: missing
    assert main(["study", "--model", "model-c"]) == 0
    out = capsys.readouterr().out
    assert "1.00 (1) +1 unscored" in out and "1 missing (the answer lacks what the check needs)" in out


def test_three_problems_give_a_hand_computed_statistic_in_json_and_table(proj, capsys):
    """Types 2, 2, 4 scoring 1 (2.2.3), 0 (2.2.1), 0 (3.1): S = -1 over 2 untied-Type and 2 untied-score pairs,
    tau-b = -1/2; the 3 label orders give S = +2, -1, -1: p = 2/3. Fewer than 3 problems: no statistic."""
    trace(proj, "2.2.3", [RIGHT_223], model="model-c")
    trace(proj, "2.2.1", [WRONG_221], model="model-c")
    trace(proj, "3.1", [WRONG_31], model="model-c")
    trend = _json(capsys, ["study"])["type_trend"]
    assert trend["model-c"] == {"tau_b": pytest.approx(-0.5), "p_value": pytest.approx(2 / 3), "method": "exact",
                                "n_problems": 3, "permutations": 3, "reason": None}
    assert trend["model-a"]["tau_b"] is None
    assert trend["model-a"]["reason"] == "2 problems scored; the test needs at least 3"
    assert main(["study"]) == 0
    out = capsys.readouterr().out
    assert ("model-c: Type labels vs scores: tau-b = -0.50, p = 0.67 (exact, 3 problems): no evidence of an order"
            in out)
    assert "model-a: Type labels vs scores: no statistic (2 problems scored; the test needs at least 3)" in out
    assert ("Type 4 (1.00, 1 problem) above Type 2 (0.33, 1 problem), not tested (too few problems for an interval: Type 2 has 1, Type 4 "
            "has 1)") in out


def _synthetic(scores_by_type: dict[int, list[float]], group: str = "m"):
    """A Study built from problem means alone: one problem per score, one scored answer each."""
    from types import SimpleNamespace

    from workbench.study import Cell, Study

    problems = [SimpleNamespace(id=f"{t}.{k}", type=t, points=1) for t, scores in scores_by_type.items()
                for k in range(len(scores))]
    cells = {(f"{t}.{k}", group): Cell(scores=[s]) for t, scores in scores_by_type.items() for k, s in enumerate(scores)}
    return Study(groups=[group], problems=problems, cells=cells, answers=[], skipped=[], untraced=[])


def test_intervals_per_type_and_whether_a_rise_is_more_than_noise(capsys):
    from workbench.commands.study import _print

    study = _synthetic({1: [1.0, 0.0, 1.0, 1.0, 1.0], 2: [1.0, 0.0, 1.0, 0.0, 1.0], 3: [0.0, 0.0, 0.0, 0.0, 0.5],
                        4: [1.0, 1.0, 1.0, 1.0, 0.5]})
    table = study.by_type()
    # one answer each: a resample's mean is Binomial(5, 0.8) / 5 (Type 1), Binomial(5, 0.6) / 5 (Type 2); their 2.5 %
    # points 0.4 (P(X <= 1) = 0.7 %, P(X <= 2) = 5.8 %) and 0.2 (1 %, 8.7 %), their 97.5 % points 1 (33 %, 7.8 % at 5)
    assert (table[1]["m"]["ci_low"], table[1]["m"]["ci_high"]) == (0.4, 1.0)
    assert (table[2]["m"]["ci_low"], table[2]["m"]["ci_high"]) == (0.2, 1.0)
    # Type 3: 0.5 drawn Binomial(5, 0.2) times, up to 3 (P(X >= 4) = 0.7 %); Type 4 likewise from 1 down
    assert (table[3]["m"]["ci_high"], table[4]["m"]["ci_low"]) == (0.3, 0.7) and table[1]["m"]["answers"] == 5
    order = study.type_order()["m"]
    # Type 4 (0.9) above each; above Type 3 the difference's resample is 1 - (X + Y) / 10, X + Y (the 0.5s drawn for
    # 0s and 1s) Binomial(10, 0.2): P(X + Y >= 5) = 3.3 %, P(>= 6) = 0.6 %, so [0.5, 1.0]; Types 1 and 2 hold 0
    assert order["rises"] == [[1, 4], [2, 4], [3, 4]] and order["broken"] == [False, False, True]
    assert order["difference_ci"][2] == pytest.approx([0.5, 1.0])
    _print(study, None)
    out = capsys.readouterr().out
    assert "Type 4 (0.90, 5 problems) above Type 3 (0.10, 5 problems), the labels' order is broken (difference 0.80, 95 % interval [0.50, 1.00])" in out
    assert "0.60 [0.20, 1.00] (5, 5)" in out and "0.80 [0.40, 1.00] (5, 5)" in out
    assert "no interval:" not in out  # every Type has one: no footnote
    # five problems all answered right: no point interval 1..1 to set Type 4 apart, the rise is not tested
    study = _synthetic({1: [1.0, 0.0, 1.0, 1.0, 1.0], 4: [1.0] * 5})
    assert study.by_type()[4]["m"]["ci_reason"] == "all 5 answers scored 1.00: no spread to resample"
    assert study.type_order()["m"]["broken"] == [None]
    _print(study, None)
    out = " ".join(capsys.readouterr().out.split())
    assert "Type 4 (1.00, 5 problems) above Type 1 (0.80, 5 problems), not tested (Type 4's answers all scored 1.00)" in out
    assert "no interval: every answer scored alike, no spread; its rises are not tested" in out
    assert "fewer than 5 problems" not in out
    study = _synthetic({1: [1.0, 0.5, 0.5, 0.5, 0.5], 2: [0.5, 1.0, 0.5, 1.0, 0.5]})
    assert study.type_order()["m"]["broken"] == [False]
    _print(study, None)
    assert ("Type 2 (0.70, 5 problems) above Type 1 (0.60, 5 problems), may be noise (difference 0.10, 95 % interval [-0.20, 0.40] holds 0)"
            in " ".join(capsys.readouterr().out.split()))


def test_a_rise_s_verdict_names_how_many_problems_each_type_stands_on(capsys):
    """"Type 2 (0.90) above Type 1 (0.20), the labels' order is broken (...)" gave its verdict without the sample it
    stands on, though the tau-b line beside it names its problems: quoted alone, a finding on 5 problems reads as one
    on 50. Each Type of a rise names its problems scored, tested or not."""
    from workbench.commands.study import _print

    study = _synthetic({1: [0.0, 0.0, 1.0, 0.0, 0.0], 2: [1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 0.5], 3: [1.0]})
    _print(study, None)
    out = " ".join(capsys.readouterr().out.split())
    assert ("Type 2 (0.86, 7 problems) above Type 1 (0.20, 5 problems), the labels' order is broken (difference 0.66, "
            "95 % interval [") in out
    assert "Type 3 (1.00, 1 problem) above Type 1 (0.20, 5 problems), not tested" in out


def test_a_rise_between_means_that_round_alike_shows_the_digits_that_part_them(capsys):
    """Type 2 at 0.904 above Type 1 at 0.900 read "Type 2 (0.90, ...) above Type 1 (0.90, ...) ... (difference 0.00,"
    a rise of a number over itself; a rise's means and difference get the digits that tell the two means apart."""
    from workbench.commands.study import _print

    study = _synthetic({1: [1.0, 1.0, 1.0, 1.0, 0.5], 2: [1.0, 1.0, 1.0, 1.0, 0.52]})
    assert study.type_order()["m"]["rises"] == [[1, 2]]
    _print(study, None)
    out = " ".join(capsys.readouterr().out.split())
    assert ("Type 2 (0.904, 5 problems) above Type 1 (0.900, 5 problems), may be noise (difference 0.004, 95 % "
            "interval [") in out


def test_means_in_the_labels_order_name_the_problems_they_stand_on(capsys):
    """"Type means in the labels' order: Type 1 1.00 ≥ Type 2 0.50", in green, on one problem a Type read as a
    finding; as a rise's Types do, each Type names the problems it stands on."""
    from workbench.commands.study import _print

    study = _synthetic({1: [1.0], 2: [0.5, 0.5]})
    _print(study, None)
    out = " ".join(capsys.readouterr().out.split())
    assert ("m: Type means in the labels' order over Types 1, 2 (those scored): Type 1 1.00 (1 problem) ≥ Type 2 0.50 "
            "(2 problems)") in out


def test_each_types_interval_is_bootstrapped_once_per_study(capsys, monkeypatch):
    """by_type() was computed anew by type_order(), the text and --json, so every Type's 10,000 resamples were drawn
    two or three times per command; once per study now, and the text and --json show the same figures."""
    from workbench import study as study_module
    from workbench.commands.study import _print

    calls = []
    plain = study_module.type_interval
    monkeypatch.setattr(study_module, "type_interval", lambda scores: calls.append(scores) or plain(scores))
    study = _synthetic({1: [1.0, 0.0, 1.0, 1.0, 1.0], 2: [1.0, 0.0, 1.0, 0.0, 1.0], 4: [1.0, 1.0, 1.0, 1.0, 0.5]})
    _print(study, None)
    capsys.readouterr()
    data = study.to_dict()
    assert len(calls) == 3  # one per Type of the one column
    assert [(r["type"], r["groups"]["m"]["ci_low"], r["groups"]["m"]["ci_high"]) for r in data["by_type"]] == \
        [(1, 0.4, 1.0), (2, 0.2, 1.0), (4, 0.7, 1.0)]  # the figures of test_intervals_per_type_and_whether_...


def test_a_rise_draws_only_its_higher_types_resamples_anew(monkeypatch):
    """type_order() bootstrapped both Types of every rise anew, though the lower Type's draws in a difference
    interval are the very ones its own interval drew (the same seeded generator, drawn first): each rise now draws
    only the higher Type's, from the generator where the lower Type's left it, and the figures are those of drawing
    both anew."""
    from workbench import stats

    scores = {1: [0.0, 0.0, 1.0, 0.0, 0.0], 2: [1.0, 0.0, 1.0, 0.0, 1.0], 3: [1.0, 1.0, 0.0, 1.0, 0.5],
              4: [1.0, 1.0, 1.0, 1.0, 0.5]}
    drawn = []
    plain = stats._resampled_means
    monkeypatch.setattr(stats, "_resampled_means", lambda s, *a: drawn.append(len(s)) or plain(s, *a))
    study = _synthetic(scores)
    study.by_type()  # each Type's interval
    drawn.clear()
    order = study.type_order()["m"]
    assert order["rises"] == [[1, 2], [1, 3], [1, 4], [2, 3], [2, 4], [3, 4]] and len(drawn) == 6  # not 12
    for (a, b), ci in zip(order["rises"], order["difference_ci"]):
        rng = np.random.default_rng(stats.SEED)  # the two-stage draws of both Types, one generator, lower Type first
        low = plain([[v] for v in scores[a]], stats.RESAMPLES, rng)
        high = plain([[v] for v in scores[b]], stats.RESAMPLES, rng)
        assert ci == list(np.percentile(high - low, [2.5, 97.5]))


def test_by_type_follows_a_study_changed_after_it_was_computed():
    """A Study's fields can be set after it is built (tests add columns and cells): by_type() and type_order() then
    give what a study built with the new data gives, never the figures computed before the change."""
    from workbench.study import Cell

    study = _synthetic({1: [1.0, 0.0, 1.0, 1.0, 1.0], 2: [1.0, 0.0, 1.0, 0.0, 1.0]})
    assert study.by_type()[2]["m"]["mean"] == pytest.approx(0.6) and study.type_order()["m"]["rises"] == []
    study.cells[("2.1", "m")].scores[0] = 1.0  # 2.1 now right: Type 2's mean 0.8, level with Type 1
    study.cells[("2.3", "m")].scores.append(1.0)  # 2.3's answers 0, 1: Type 2's mean 0.9, a rise
    want = _synthetic({1: [1.0, 0.0, 1.0, 1.0, 1.0], 2: [1.0, 1.0, 1.0, 0.0, 1.0]})
    want.cells[("2.3", "m")].scores.append(1.0)
    assert study.by_type() == want.by_type() and study.by_type()[2]["m"]["mean"] == pytest.approx(0.9)
    assert study.type_order() == want.type_order() and study.type_order()["m"]["rises"] == [[1, 2]]
    study.groups = ["m", "z"]
    study.cells[("1.0", "z")] = Cell(scores=[0.5])
    assert study.by_type()[1]["z"]["mean"] == 0.5 and study.by_type()[2]["z"]["mean"] is None
    study.problems = study.problems[:5]  # Type 1 alone
    assert list(study.by_type()) == [1]


def test_a_rise_between_types_of_two_problems_each_is_not_tested(capsys):
    """The review's study: Type 3 (0.67) above Type 1 (0.42) on 2 problems each, printed "intervals apart": the
    bootstrap over 2 problem means gave their range (0.33..0.5), over two equal means a point (0.67..0.67), which
    an instructor reads as a finding. Below 5 problems a Type has no interval, says why, and its rises are not
    tested, in the text and in --json (difference_ci and broken null, ci_reason)."""
    from workbench.commands.study import _print

    study = _synthetic({1: [0.5, 1 / 3], 3: [2 / 3, 2 / 3]})
    table, order = study.by_type(), study.type_order()["m"]
    assert [(table[t]["m"]["ci_low"], table[t]["m"]["ci_reason"]) for t in (1, 3)] == \
        [(None, "2 problems: too few for an interval (it needs 5)")] * 2
    assert order["rises"] == [[1, 3]] and order["broken"] == order["difference_ci"] == [None]
    _print(study, None)
    out = " ".join(capsys.readouterr().out.split())
    assert ("Type 3 (0.67, 2 problems) above Type 1 (0.42, 2 problems), not tested (too few problems for an interval: Type 1 has 2, Type 3 "
            "has 2)") in out and "order is broken" not in out
    assert "0.42 no interval (2, 2)" in out
    assert "no interval: fewer than 5 problems, too few; its rises are not tested" in out


def test_a_rise_not_tested_gives_the_reason_stats_gave(capsys, monkeypatch):
    """_rise worked out why a rise was not tested from the problem count (5 or more: "answers all scored alike"), so a
    reason stats adds would be misnamed there; it takes each Type's reason from stats (by_type's ci_reason)."""
    from workbench import stats
    from workbench.commands.study import _print

    plain = stats.no_interval
    monkeypatch.setattr(stats, "no_interval", lambda scores: "a reason of the test's" if len(scores) == 6 else plain(scores))
    study = _synthetic({1: [1.0, 0.0, 1.0, 1.0, 1.0, 0.0], 2: [1.0, 0.0, 1.0, 1.0, 1.0], 3: [1.0, 1.0]})
    assert study.by_type()[1]["m"]["ci_reason"] == "a reason of the test's"
    _print(study, None)
    out = " ".join(capsys.readouterr().out.split())
    assert "Type 2 (0.80, 5 problems) above Type 1 (0.67, 6 problems), not tested (Type 1: a reason of the test's)" in out
    assert ("Type 3 (1.00, 2 problems) above Type 1 (0.67, 6 problems), not tested (too few problems for an interval: Type 3 has 2; "
            "Type 1: a reason of the test's)") in out
    # the footnotes too: Type 1's answers did not all score alike, Type 3 has too few problems
    assert "no interval: every answer scored alike" not in out
    assert "no interval: fewer than 5 problems, too few; its rises are not tested" in out


def test_a_types_cell_counts_the_problems_answered_but_not_scored(capsys):
    """The Type table said "0.50 [0.00, 1.00] (2, 2)" where the column had answered five problems of that Type, three
    unscored (free text without --judge): the mean stood on fewer problems than it seemed, and a Type answered with
    nothing scored was a bare dash, as if never asked. Each cell counts them, as by_type's unscored_problems lists."""
    from workbench.commands.study import _print
    from workbench.study import Cell

    study = _synthetic({1: [1.0, 0.0, None, None, None], 2: [None], 3: [0.5]})
    for key, cell in study.cells.items():
        if cell.scores == [None]:  # answered, nothing scored: one unchecked answer
            study.cells[key] = Cell(counts={"unchecked": 1})
    table = study.by_type()
    assert table[1]["m"]["unscored_problems"] == ["1.2", "1.3", "1.4"] and table[2]["m"]["problems"] == 0
    _print(study, None)
    out = " ".join(capsys.readouterr().out.split())
    assert "0.50 no interval (2, 2) +3 unscored problems" in out and "— +1 unscored problem │" in out
    assert "0.50 no interval (1, 1) │" in out  # none unscored: no count
    # the problem table's "+1 unscored" counts a problem's answers: the Type table's said "+3 unscored" beside
    # "(problems, answers scored)", a count of problems an instructor could take for answers
    assert out.count("— +1 unscored │") == 4 and "+3 unscored │" not in out


def test_the_order_line_does_not_contradict_the_statistic(capsys):
    """A clear fall over the pack (p < 0.05) with Type 4 a hair above Type 3 printed "scores fall as the Type rises"
    and, on the next line, "the Type labels do not hold": two verdicts that contradict each other, the second from a
    rise its own intervals call noise; and "the Type labels hold" was said of means in order where the statistic
    found no evidence of an order. The line says what it measures: whether the Type means are in the labels' order."""
    from workbench.commands.study import _print

    study = _synthetic({1: [1.0, 1.0, 0.9, 1.0], 2: [0.8, 0.9, 0.7], 3: [0.3, 0.4, 0.2, 0.3, 0.3],
                        4: [0.2, 0.5, 0.3, 0.4, 0.3]})
    assert study.type_trend()["m"]["p_value"] < 0.05 and study.type_order()["m"]["broken"] == [False]
    _print(study, None)
    out = " ".join(capsys.readouterr().out.split())
    assert "scores fall as the Type rises" in out and "labels do not hold" not in out
    assert ("m: Type means out of the labels' order: Type 4 (0.34, 5 problems) above Type 3 (0.30, 5 problems), may be noise (difference "
            "0.04, 95 % interval [-0.06, 0.14] holds 0)") in out
    _print(_synthetic({1: [1.0, 0.0], 2: [0.5], 3: [0.4, 0.5]}), None)
    out = " ".join(capsys.readouterr().out.split())
    assert "no evidence of an order" in out and "labels hold" not in out
    assert ("m: Type means in the labels' order over Types 1, 2, 3 (those scored): Type 1 0.50 (2 problems) ≥ Type 2 0.50 "
            "(1 problem) ≥ Type 3 0.45 (2 problems)") in out


def test_a_clear_fall_over_the_pack_is_reported_with_its_method(capsys):
    from workbench.commands.study import _print

    study = _synthetic({1: [1.0, 1.0, 0.9, 1.0], 2: [0.8, 0.9, 0.7], 3: [0.5, 0.4, 0.6, 0.5], 4: [0.1, 0.0, 0.2]})
    trend = study.type_trend()["m"]
    assert trend["method"] == "monte carlo" and trend["p_value"] < 0.001 and trend["tau_b"] < -0.8
    _print(study, None)
    out = capsys.readouterr().out
    assert (f"Type labels vs scores: tau-b = {trend['tau_b']:.2f}, p < 0.001 (Monte Carlo, 20,000 permutations, "
            "14 problems): scores fall as the Type rises") in out
    rising = _synthetic({1: [0.0, 0.1], 2: [0.5, 0.4], 3: [1.0, 0.9]})
    _print(rising, None)
    assert "no evidence of an order (if anything, scores rise with the Type)" in capsys.readouterr().out


def test_the_json_doc_names_the_method_values_study_prints():
    """docs/json.md is the --json contract: a script comparing `method` with the documented value must match."""
    import re

    from conftest import REPO

    row = next(line for line in (REPO / "docs" / "json.md").read_text(encoding="utf-8").splitlines()
               if line.startswith("| `type_trend.<group>.method` |"))
    documented = set(re.findall(r"`([^`]+)`", row.rstrip(" |").rsplit("|", 1)[-1]))
    printed = {_synthetic(scores).type_trend()["m"]["method"] for scores in (
        {1: [1.0, 0.5], 2: [0.0]},  # 3 deals: exact
        {1: [1.0, 1.0, 0.9, 1.0], 2: [0.8, 0.9, 0.7], 3: [0.5, 0.4, 0.6, 0.5], 4: [0.1, 0.0, 0.2]})}  # Monte Carlo
    assert printed == documented == {"exact", "monte carlo"}


def test_plot_draws_the_intervals_as_error_bars(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from workbench.commands.study import _draw

    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    _draw(_synthetic({1: [1.0, 0.5, 0.5, 0.5, 0.5], 2: [0.5, 1.0], 4: [0.0, 1.0, 0.0, 1.0, 0.0]}), tmp_path / "study.png")
    ax = figures[0].axes[0]
    whiskers = [seg for coll in ax.collections for seg in coll.get_segments()]
    spans = sorted((round(s[0][1], 3), round(s[1][1], 3)) for s in whiskers)
    # Binomial(5, 0.2) / 10 + 0.5 and Binomial(5, 0.4) / 5: 2.5 % and 97.5 % points by hand
    assert spans == [(0.0, 0.8), (0.5, 0.8)]  # Types 4 and 1; Type 2 has two problems, too few: no whisker


def test_plot_legend_gives_each_columns_statistic(tmp_path, monkeypatch):
    """The plot showed the Type means and their intervals but not whether the scores fall as the Type rises: a
    figure put in a report carried bars that look ordered (or not) with no word of what the test says. Each legend
    entry gives its column's tau-b and p under the name, or that there is no statistic."""
    from workbench.study import Cell

    study = _synthetic({1: [1.0, 1.0, 0.9, 1.0], 2: [0.8, 0.9, 0.7], 3: [0.5, 0.4, 0.6, 0.5], 4: [0.1, 0.0, 0.2]})
    study.groups.append("n")  # two problems: no statistic
    study.cells.update({("1.0", "n"): Cell(scores=[0.5]), ("2.0", "n"): Cell(scores=[1.0])})
    trend = study.type_trend()
    assert trend["m"]["p_value"] < 0.001 and trend["n"]["tau_b"] is None
    ax = _drawn(study, tmp_path, monkeypatch).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    # the sample the verdict stands on: a figure put in a report alone carried none but the bars' counts, per Type
    assert labels == [f"m\ntau-b = {trend['m']['tau_b']:.2f}, p < 0.001 (14 problems)\nscores fall as the Type rises",
                      "n\nno statistic (2 problems scored; the test needs at least 3)"]
    study.cells.update({(f"4.{k}", "m"): Cell(scores=[1.0]) for k in range(3)})  # Type 4 now all right: no clear order
    trend = study.type_trend()["m"]
    assert trend["p_value"] > 0.05
    labels = [t.get_text() for t in _drawn(study, tmp_path, monkeypatch).axes[0].get_legend().get_texts()]
    assert labels[0] == f"m\ntau-b = {trend['tau_b']:.2f}, p = {trend['p_value']:.2f} (14 problems)\nno evidence of an order"


def test_a_p_value_just_above_the_cutoff_is_not_shown_as_the_cutoff(capsys):
    """p = 16/315 = 0.0508 was shown "p = 0.05" beside "no evidence of an order", although p <= 0.05 says "scores fall"."""
    from workbench.commands.study import _print

    study = _synthetic({1: [1.0], 2: [1.0, 0.5, 0.5, 1 / 3], 3: [1 / 3, 1 / 3], 4: [0.0, 2 / 3]})
    assert study.type_trend()["m"]["p_value"] == pytest.approx(0.0508, abs=1e-4)
    _print(study, None)
    assert "tau-b = -0.51, p = 0.051 (exact, 9 problems): no evidence of an order" in capsys.readouterr().out


def test_column_names_too_wide_to_fit_are_folded_not_cut(capsys):
    """Nine dated versions of one model: the headers were cut to "gpt-4o-20…", nine columns of the same name."""
    from types import SimpleNamespace

    from workbench.commands.study import _print
    from workbench.study import Cell, Study

    groups = [f"gpt-4o-2024-{month:02d}-01 / direct" for month in range(1, 10)]
    study = Study(groups=groups, problems=[SimpleNamespace(id="1.1", type=1, points=1)],
                  cells={("1.1", g): Cell(scores=[1.0]) for g in groups}, answers=[], skipped=[], untraced=[])
    _print(study, None)
    assert "…" not in capsys.readouterr().out



def test_problem_ids_in_a_narrow_terminal_are_folded_not_cut(capsys, monkeypatch):
    """Four columns in a 50-column terminal cut the ids to "2.…": which problem scored what?"""
    from types import SimpleNamespace

    from workbench.commands.study import _print
    from workbench.console import console
    from workbench.study import Cell, Study

    monkeypatch.setattr(console, "_force_terminal", True)
    monkeypatch.setattr(console, "_color_system", None)
    monkeypatch.setattr(console, "_width", 50)
    groups = ["gpt-4o", "o3-mini", "llama3.1", "claude"]
    problems = [SimpleNamespace(id=pid, type=1, points=0.5) for pid in ("2.1.2", "2.1.3")]
    study = Study(groups=groups, problems=problems, cells={(p.id, g): Cell(scores=[1.0]) for p in problems for g in groups},
                  answers=[], skipped=[], untraced=[])
    _print(study, None)
    table = capsys.readouterr().out.split("per Type")[0]
    assert "…" not in table
    ids = "".join(line.split("│")[1].strip() for line in table.splitlines() if line.startswith("│"))
    assert ids == "2.1.22.1.3"

def test_plot_legend_hides_no_bar(tmp_path, monkeypatch):
    """Every Type scored 1.0 by some column: the legend, drawn inside the axes, covered the bars of Type 4."""
    import matplotlib.pyplot as plt

    from workbench.commands.study import _draw

    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    study = _synthetic({1: [1.0, 1.0], 2: [1.0, 1.0], 3: [1.0, 1.0], 4: [1.0, 1.0]})
    study.groups = ["alpha-2026-01-01", "beta-2026-02-02", "gamma-2026-03-03"]
    study.cells = {(pid, g): cell for (pid, _), cell in study.cells.items() for g in study.groups}
    _draw(study, tmp_path / "study.png")
    fig = figures[0]
    fig.canvas.draw()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent()
    assert not any(bar.get_window_extent().overlaps(legend) for bar in ax.patches)


def _drawn(study, tmp_path, monkeypatch):
    """The figure _draw made for `study`, laid out as saved."""
    import matplotlib.pyplot as plt

    from workbench.commands.study import _draw

    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    _draw(study, tmp_path / "study.png")
    figures[0].canvas.draw()
    return figures[0]


def test_plot_whiskers_reaching_zero_do_not_cross_the_problem_counts(tmp_path, monkeypatch):
    """The problem counts (n=) sat at the bars' base: an interval reaching 0 (Type 3 scored 0.0, 0.5, 0.0) drew its whisker
    through them. They sit below the axis now, clear of the whiskers and of the Type names."""
    study = _synthetic({1: [1.0, 0.0, 1.0, 1.0, 1.0], 2: [0.5, 0.0], 3: [0.0, 0.5, 0.0, 0.0, 0.0]})
    fig = _drawn(study, tmp_path, monkeypatch)
    ax = fig.axes[0]
    counts = _counts(ax)
    assert sorted(t.get_text() for t in counts) == ["2", "5", "5"]
    segments = [seg for coll in ax.collections for seg in coll.get_segments()]
    assert any(min(seg[0][1], seg[1][1]) == 0.0 for seg in segments)  # some whisker does reach 0
    boxes = [t.get_window_extent() for t in counts]
    for seg in segments:
        (x0, y0), (x1, y1) = ax.transData.transform(seg)
        assert not any(b.x0 <= x0 <= b.x1 and min(y0, y1) <= b.y1 and max(y0, y1) >= b.y0 for b in boxes)
    names = [t.get_window_extent() for t in ax.get_xticklabels()]
    assert not any(b.overlaps(n) for b in boxes for n in names)


def test_plot_shows_a_mean_of_zero_apart_from_no_score(tmp_path, monkeypatch):
    """A Type scored 0 drew a bar of no height, as a Type with no scored answer did, while the footnote said "no bar:
    no scored answer". A mean of 0 now shows as a line of the column's colour at 0; an unscored Type draws nothing."""
    import numpy as np
    from matplotlib.colors import to_rgb

    from workbench.study import Cell

    study = _synthetic({1: [1.0, 0.5], 2: [0.0]})
    study.groups = ["m", "z"]
    study.cells[("1.0", "z")] = Cell(scores=[1.0])  # z: Type 1 only, Type 2 unscored
    fig = _drawn(study, tmp_path, monkeypatch)
    ax = fig.axes[0]
    pixels = np.asarray(fig.canvas.buffer_rgba())[::-1, :, :3] / 255  # rows from the bottom, as display y
    low = int(ax.bbox.y0)

    def shows(group_index: int, type_index: int) -> bool:
        """Whether the column's colour appears just above the axis where its bar for the Type stands."""
        width = 0.8 / 2
        x = type_index + (group_index - 0.5) * width
        left, right = (int(ax.transData.transform((x + d * width / 3, 0))[0]) for d in (-1, 1))
        colour = np.array(to_rgb(ax.patches[group_index * 2].get_facecolor()))
        # within 0.2 of it: a thin line is drawn antialiased, paler than the colour (white is 0.3 or more away)
        return bool((np.abs(pixels[low:low + 12, left:right] - colour).max(axis=2) < 0.2).any())

    assert shows(0, 0) and shows(1, 0)  # the Type 1 bars: the colours are found where they stand
    assert shows(0, 1)  # m, Type 2: a mean of 0
    assert not shows(1, 1)  # z, Type 2: nothing scored
    assert sorted(t.get_text() for t in _counts(ax)) == ["1", "1", "2"]


def _counts(ax) -> list:
    """The problem counts drawn under the bars."""
    return [t for t in ax.texts if t.get_text().isdigit()]


def test_plot_counts_of_many_columns_do_not_run_together(tmp_path, monkeypatch):
    """12 columns (4 models x 3 strategies): the "n=3" under each bar ran into the next, "n=3n=3n=3"."""
    study = _synthetic({t: [1.0, 0.5, 0.0] for t in (1, 2, 3, 4)})
    study.groups = [f"model-{k:02d}" for k in range(12)]
    study.cells = {(pid, g): cell for (pid, _), cell in study.cells.items() for g in study.groups}
    ax = _drawn(study, tmp_path, monkeypatch).axes[0]
    boxes = [t.get_window_extent() for t in _counts(ax)]
    assert len(boxes) == 48 and {t.get_text() for t in _counts(ax)} == {"3"}
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


@pytest.mark.filterwarnings("error:Tight layout not applied")  # a footnote wider than the figure: no layout
@pytest.mark.parametrize("columns", [3, 12, 25])
def test_plot_gives_every_column_its_own_colour(tmp_path, monkeypatch, columns):
    """--by model+strategy makes 12 columns of 4 models and 3 strategies: colours came from a cycle of 10, so the
    11th column's bars and legend entry were the 1st's colour, and the legend could not tell them apart."""
    study = _synthetic({1: [1.0, 0.5], 2: [0.5]})
    study.groups = [f"model-{k:02d}" for k in range(columns)]
    study.cells = {(pid, g): cell for (pid, _), cell in study.cells.items() for g in study.groups}
    ax = _drawn(study, tmp_path, monkeypatch).axes[0]
    legend = {t.get_text().split("\n")[0]: tuple(h.get_facecolor()) for t, h in zip(ax.get_legend().get_texts(), ax.get_legend().legend_handles)}
    assert list(legend) == study.groups and len(set(legend.values())) == columns
    per_column = [{tuple(b.get_facecolor()) for b in ax.patches[2 * k:2 * k + 2]} for k in range(columns)]
    assert per_column == [{legend[g]} for g in study.groups]  # each column's bars are its legend entry's colour


def test_a_difference_interval_touching_0_and_a_rise_beside_a_single_problem_break_nothing():
    # Type 1 scores 0.5 four times and 0 once, Type 2 0.5 four times and 1 once: the difference's resample is
    # (X + Y) / 10, X + Y (the 0 and the 1 drawn) Binomial(10, 0.2), 0 in 10.7 % of resamples: the interval starts
    # at 0, so the rise may be noise
    study = _synthetic({1: [0.5, 0.5, 0.5, 0.5, 0.0], 2: [0.5, 0.5, 0.5, 0.5, 1.0]})
    order = study.type_order()["m"]
    assert order["broken"] == [False] and order["difference_ci"] == [pytest.approx([0.0, 0.5])]
    # one Type of each rise has a single problem (no interval), the other an interval: nothing to compare
    study = _synthetic({1: [0.0], 2: [1.0, 0.5, 1.0, 0.5, 0.75], 3: [0.0, 0.5, 0.0, 0.5, 0.25], 4: [1.0]})
    assert study.type_order()["m"] == {"means": {1: 0.0, 2: 0.75, 3: 0.25, 4: 1.0}, "problems": {1: 1, 2: 5, 3: 5, 4: 1},
                                       "ordered": False,
                                       "rises": [[1, 2], [1, 3], [1, 4], [2, 4], [3, 4]], "difference_ci": [None] * 5,
                                       "broken": [None] * 5}


def test_equal_problem_means_reached_by_different_sums_tie_in_the_statistic():
    """0.7 and 0.1 average to 0.39999999999999997, not 0.4: the two problems still score the same."""
    from types import SimpleNamespace

    from scipy import stats as scipy_stats

    from workbench.study import Cell, Study

    problems = [SimpleNamespace(id=f"{t}.1", type=t, points=1) for t in (1, 2, 3)]
    cells = {("1.1", "m"): Cell(scores=[0.4]), ("2.1", "m"): Cell(scores=[0.7, 0.1]), ("3.1", "m"): Cell(scores=[0.0])}
    study = Study(groups=["m"], problems=problems, cells=cells, answers=[], skipped=[], untraced=[])
    assert cells[("2.1", "m")].mean != 0.4
    trend = study.type_trend()["m"]
    # Types 1, 2, 3 scoring 0.4, 0.4, 0: S = -2 over 3 untied-Type and 2 untied-score pairs; the 6 orders give
    # S = -2 twice: p = 2/6
    assert trend["tau_b"] == pytest.approx(scipy_stats.kendalltau([1, 2, 3], [0.4, 0.4, 0.0], variant="b").statistic)
    assert trend["tau_b"] == pytest.approx(-2 / 6 ** 0.5) and trend["p_value"] == pytest.approx(1 / 3)


@pytest.mark.parametrize("p, shown", [
    (0.0009, "p < 0.001"), (0.001, "p = 0.001"), (0.0042, "p = 0.004"), (0.01, "p = 0.01"), (0.05, "p = 0.05"),
    (0.0508, "p = 0.051"), (0.05004, "p = 0.05004"), (0.3, "p = 0.30"),
])
def test_p_values_are_rounded_without_crossing_the_cutoff(p, shown):
    from workbench.commands.study import _p

    assert _p(p) == shown


def test_a_p_value_at_the_cutoff_says_scores_fall_and_no_order_says_no_direction(capsys):
    """README: p <= 0.05 is called "scores fall". Types 1, 1, 1, 2, 2, 2 scoring 1, 1, 1, 0, 0, 0: of the 6! / (3! 3!)
    = 20 label orders only the observed one gives every pair its fall, p = 1/20. tau-b = 0: no direction to name."""
    from workbench.commands.study import _print

    study = _synthetic({1: [1.0, 1.0, 1.0], 2: [0.0, 0.0, 0.0]})
    assert study.type_trend()["m"]["p_value"] == 0.05
    _print(study, None)
    assert "tau-b = -1.00, p = 0.05 (exact, 6 problems): scores fall as the Type rises" in capsys.readouterr().out
    study = _synthetic({1: [1.0, 0.0], 2: [1.0, 0.0]})
    assert study.type_trend()["m"]["tau_b"] == 0.0
    _print(study, None)
    out = capsys.readouterr().out
    assert "tau-b = 0.00, p = 0.83 (exact, 4 problems): no evidence of an order" in out and "if anything" not in out


def test_a_rise_over_a_type_between_is_named_too(capsys):
    """Types 1, 2, 3 scoring 0.5, 0.3, 0.6: only Type 3 above Type 2 was named, though Type 3 also scores above
    Type 1, which the labels say is easier. Every pair out of order is named, in the order of the Types."""
    from workbench.commands.study import _print

    study = _synthetic({1: [0.5, 0.5, 0.5, 0.5, 0.6], 2: [0.3, 0.3, 0.3, 0.3, 0.2], 3: [0.6, 0.6, 0.6, 0.6, 0.7]})
    order = study.type_order()["m"]
    assert order["rises"] == [[1, 3], [2, 3]] and order["broken"] == [True, True]
    _print(study, None)
    assert ("m: Type means out of the labels' order over Types 1, 2, 3 (those scored): Type 3 (0.62, 5 problems) above "
            "Type 1 (0.52, 5 problems), the labels' order is broken (difference 0.10, 95 % interval [0.06, 0.14]); Type 3 "
            "(0.62, 5 problems) above Type 2 (0.28, 5 problems), the labels' order is broken (difference 0.34, 95 % "
            "interval [0.30, 0.40])"
            ) in " ".join(capsys.readouterr().out.split())


def test_each_rise_is_named_with_its_own_difference_and_each_type_with_its_answers(capsys):
    from workbench.commands.study import _print
    from workbench.study import Cell

    study = _synthetic({1: [0.0, 0.0, 0.0, 0.0, 0.5], 2: [1.0, 1.0, 1.0, 1.0, 0.5], 3: [0.0, 1.0, 0.0, 1.0, 0.0],
                        4: [0.5, 1.0, 0.5, 1.0, 1.0]}, group="m[bold]")
    # Type 2 above Type 1: the difference's resample is 1 - (X + Y) / 10 as in the Type 4 / Type 3 case above; Type 3
    # (0s and 1s) is too spread to tell from Type 1 or Type 4
    assert study.type_order()["m[bold]"]["rises"] == [[1, 2], [1, 3], [1, 4], [3, 4]]
    assert study.type_order()["m[bold]"]["broken"] == [True, False, True, False]
    _print(study, None)
    out = capsys.readouterr().out
    assert ("Type 2 (0.90, 5 problems) above Type 1 (0.10, 5 problems), the labels' order is broken (difference 0.80, 95 % interval [0.50, "
            "1.00]); Type 3 (0.40, 5 problems) above Type 1 (0.10, 5 problems), may be noise (difference 0.30, 95 % interval [-0.10, 0.80] "
            "holds 0); Type 4 (0.80, 5 problems) above Type 1 (0.10, 5 problems), the labels' order is broken (difference 0.70, 95 % interval "
            "[0.40, 1.00]); Type 4 (0.80, 5 problems) above Type 3 (0.40, 5 problems), may be noise (difference 0.40, 95 % interval [-0.10, "
            "0.90] holds 0)") in " ".join(out.split())
    assert "m[bold]: Type labels vs scores: tau-b = " in out  # the column's name as it is, not read as markup
    # Type 1: one problem sampled three times; Type 2: two problems, three answers: too few for an interval
    study = _synthetic({1: [1.0], 2: [0.0, 1.0]})
    study.cells[("1.0", "m")] = Cell(scores=[1.0, 0.0, 1.0])
    study.cells[("2.0", "m")] = Cell(scores=[0.0, 0.0])
    _print(study, None)
    out = capsys.readouterr().out
    assert "0.67 no interval (1, 3)" in out and "0.50 no interval (2, 3)" in out


def test_plot_draws_no_point_interval_for_answers_all_alike(tmp_path, monkeypatch):
    """Six problems at 0.7 (six at 0.1): the interval was a point, numpy's resample means 0.7000000000000001
    (0.09999999999999999), a hair above (below) the mean: a negative whisker length, which matplotlib refuses.
    Answers all alike have no interval now: no whisker, and the figure is drawn."""
    import matplotlib.pyplot as plt

    from workbench.commands.study import _draw

    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    study = _synthetic({1: [0.7] * 6, 2: [0.1] * 6})
    table = study.by_type()
    assert table[1]["m"]["ci_low"] is None and table[2]["m"]["ci_high"] is None
    _draw(study, tmp_path / "study.png")
    whiskers = [seg for coll in figures[0].axes[0].collections for seg in coll.get_segments()]
    assert whiskers == [] and (tmp_path / "study.png").stat().st_size > 0


def test_a_difference_interval_above_0_but_for_float_sums_breaks_nothing(capsys):
    """Type 1: five problems answered 0.7 three times each and one 0.5, at most 0.7 in a resample (a third draw no
    0.5); Type 2: four at 0.7 and one at 1, at least 0.7 (a third draw no 1). Their difference is 0 in about 11 % of
    resamples, so its interval starts at 0, but numpy sums three 0.7s to 0.6999999999999998: a hair above 0, which
    must not read as the labels' order broken (as the two intervals, a hair apart, once read "intervals apart")."""
    from workbench.commands.study import _print
    from workbench.study import Cell

    study = _synthetic({1: [0.7] * 5 + [0.5], 2: [0.7, 0.7, 0.7, 0.7, 1.0]})
    for k in range(6):
        study.cells[(f"1.{k}", "m")] = Cell(scores=[0.7 if k < 5 else 0.5] * 3)
    table = study.by_type()
    assert table[1]["m"]["ci_high"] < table[2]["m"]["ci_low"] == 0.7  # apart by a float's hair
    order = study.type_order()["m"]
    assert 0 < order["difference_ci"][0][0] < 1e-12 and order["broken"] == [False]
    _print(study, None)
    out = capsys.readouterr().out
    assert "0.67 [0.60, 0.70] (6, 18)" in out and "0.76 [0.70, 0.88] (5, 5)" in out
    assert ("Type 2 (0.76, 5 problems) above Type 1 (0.67, 6 problems), may be noise (difference 0.09, 95 % interval [0.00, 0.22] holds 0)"
            in " ".join(out.split()))


def test_workers_grading_the_same_answer_at_once_leave_one_whole_grade(proj, capsys, monkeypatch):
    """study --jobs: workers that grade the same answer at once each write its grade; the cache holds it whole, once,
    and the next study asks the grader nothing and scores it the same."""
    from openai_server import FakeOpenAI

    for model in ("model-c", "model-d", "model-e"):
        trace(proj, "2.3.3", [FREE_233], model=model)  # model-b's answer too: four of the same text
    server = FakeOpenAI(delay=0.3).start()
    try:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        server.reply = lambda body, i: '{"score": 0.5, "notes": "names the difference, not why"}'
        argv = ["study", "--problem", "2.3.3", "--judge", "fake-gpt", "--jobs", "4"]
        first = _json(capsys, argv)
        asked = len(server.chat_requests())
        assert asked >= 2  # at once: none of them found the others' grade
        assert [a["score"] for a in first["answers"]] == [0.5] * 4
        [entry] = (proj / ".cache" / "judge").iterdir()  # no temp file left beside it
        assert json.loads(entry.read_text())["score"] == 0.5
        assert {(a["grader_model"], a["from_cache"]) for a in first["answers"]} == {("fake-gpt-2026-01-15", False)}
        again = _json(capsys, argv)["answers"]
        assert len(server.chat_requests()) == asked
        assert [a["score"] for a in again] == [0.5] * 4 and {a["from_cache"] for a in again} == {True}
        assert main(argv) == 0
        assert "4 model grades from the cache (.cache/judge/, no request made); --rejudge grades afresh" in \
            " ".join(capsys.readouterr().out.split())
        assert [a["from_cache"] for a in _json(capsys, argv + ["--rejudge"])["answers"]] == [False] * 4
        assert len(server.chat_requests()) == asked + 4
    finally:
        server.stop()


def test_concurrent_writes_of_a_grade_never_show_half_a_file(tmp_path):
    import threading

    from workbench.judge_cache import GradeCache

    cache, seen = GradeCache(tmp_path), []
    cache.put("k", 0.5, "n" * 20000, "m")

    def work():
        for _ in range(100):
            cache.put("k", 0.5, "n" * 20000, "m")
            seen.append(cache.get("k"))

    workers = [threading.Thread(target=work) for _ in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(seen) == 600 and all(g is not None and g["notes"] == "n" * 20000 for g in seen)
    assert [p.name for p in tmp_path.iterdir()] == ["k.json"]


def test_the_model_filter_matches_a_name_in_any_case(proj, capsys):
    """`--model GPT-X` found no trace of gpt-x (exit 1, "no trace to study"): a model's name matches in any case, as
    the writeup's list of models does; the column keeps the name the server reported."""
    trace(proj, "3.1", [RIGHT_31], model="gpt-x", version="gpt-x-2026-05-01")
    for name in ("GPT-X", "GPT-X-2026-05-01", "gpt-x"):
        data = _json(capsys, ["study", "--model", name])
        assert data["groups"] == ["gpt-x-2026-05-01"] and len(data["answers"]) == 1, name
    data = _json(capsys, ["study", "--model", "MODEL-B", "--type", "2"])
    assert data["groups"] == ["model-b"]


def test_one_model_spelt_in_two_cases_is_one_column(proj, capsys):
    """An import's --model Claude-X beside traces of claude-x made two columns of one model, each with half its
    answers; the column takes the first spelling it meets (pairs are in pack, then file, order)."""
    trace(proj, "3.1", [RIGHT_31], model="fixture-x", version="Fixture-X-1")
    trace(proj, "2.2.3", [RIGHT_223], model="fixture-x", version="fixture-x-1")
    data = _json(capsys, ["study", "--model", "fixture-x"])
    assert len(data["groups"]) == 1 and data["groups"][0].casefold() == "fixture-x-1" and len(data["answers"]) == 2
    rows = {r["problem"]: r["groups"] for r in data["by_problem"]}
    assert list(rows["2.2.3"]) == list(rows["3.1"]) == data["groups"]


def test_a_column_whose_model_came_from_two_servers_says_so_and_by_provider_keeps_them_apart(proj, capsys):
    """One name can be two models: llama3.1 of one local server and of another may differ in size, quantisation or
    tag (prompt --missing asks each server). The column averaged the two without a word; it is named with each
    provider's Types, and --by model+provider gives each its own column."""
    trace(proj, "3.1", [WRONG_31], base_url="http://gpu-box:8000/v1")  # model-a from a second server
    assert main(["study"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert ("model-a: its answers come from 2 providers (http://fixture.invalid/v1: Types 2, 4; http://gpu-box:8000/v1: "
            "Type 4), which may serve different models under one name (size, quantisation, tag), so its means average "
            "them; --by model+provider keeps them apart") in out
    assert "model-b: its answers come from" not in out  # one server
    data = _json(capsys, ["study"])
    assert data["mixed_providers"] == {"model-a": {"http://fixture.invalid/v1": [2, 4], "http://gpu-box:8000/v1": [4]}}
    assert data["by_problem"][-1]["groups"]["model-a"]["scored"] == 2  # 3.1: right once, wrong once, in one column
    data = _json(capsys, ["study", "--by", "model+provider"])
    assert data["groups"] == ["model-a via http://fixture.invalid/v1", "model-a via http://gpu-box:8000/v1",
                              "model-b via http://fixture.invalid/v1"]
    assert data["mixed_providers"] == {}
    rows = {r["problem"]: r["groups"] for r in data["by_problem"]}
    assert rows["3.1"]["model-a via http://gpu-box:8000/v1"]["mean"] == 0.0
    assert rows["3.1"]["model-a via http://fixture.invalid/v1"]["mean"] == 1.0
    assert _json(capsys, ["study", "--by", "model+strategy"])["mixed_providers"] == {"model-a / direct": {
        "http://fixture.invalid/v1": [2, 4], "http://gpu-box:8000/v1": [4]}}


def test_imported_chats_are_one_provider_per_service_never_an_api_s(proj, capsys):
    """An imported chat's provider is where it was held, its own (prompt --missing says it is no trace of the server
    asked): but the share link a chat was imported with (--url https://chatgpt.com/share/...) made each conversation a
    provider of its own, a column each under --by model+provider and one provider each in the mixed-providers line.
    An import's provider is its service's address (scheme and host), marked imported, so a --url naming an API's
    address is not counted as that API's result; a transcript that names none is 'an imported transcript'."""
    for pid, answer, link in (("2.2.3", RIGHT_223, "https://chatgpt.com/share/abc"),
                              ("3.1", WRONG_31, "https://chatgpt.com/share/def")):
        trace(proj, pid, [answer], strategy="import", source="import", base_url=link)
    trace(proj, "3.1", [RIGHT_31], strategy="import", source="import", base_url=None)
    trace(proj, "2.2.3", [RIGHT_223], strategy="import", source="import", base_url="http://fixture.invalid/v1")
    data = _json(capsys, ["study", "--by", "model+provider"])
    assert data["groups"] == ["model-a via an imported transcript", "model-a via http://fixture.invalid (imported)",
                              "model-a via http://fixture.invalid/v1", "model-a via https://chatgpt.com (imported)",
                              "model-b via http://fixture.invalid/v1"]
    rows = {r["problem"]: r["groups"] for r in data["by_problem"]}
    assert rows["3.1"]["model-a via https://chatgpt.com (imported)"]["mean"] == 0.0
    assert rows["2.2.3"]["model-a via https://chatgpt.com (imported)"]["mean"] == 1.0
    assert rows["3.1"]["model-a via an imported transcript"]["mean"] == 1.0
    data = _json(capsys, ["study"])
    assert data["mixed_providers"]["model-a"] == {"an imported transcript": [4], "http://fixture.invalid (imported)": [2],
                                                  "http://fixture.invalid/v1": [2, 4], "https://chatgpt.com (imported)": [2, 4]}
    assert {a["provider"] for a in data["answers"] if a["strategy"] == "import"} == {
        "an imported transcript", "http://fixture.invalid (imported)", "https://chatgpt.com (imported)"}


def test_columns_whose_type_means_stand_on_different_problems_say_so(proj, capsys):
    """decompose runs only on problems with steps, so under --by strategy its Type 2 mean stood on other problems
    than direct's, and comparing the two columns there compared problems as much as strategies, without a word."""
    assert main(["study", "--by", "strategy"]) == 0  # direct and hinted both scored 2.2.3 and 3.1: like for like
    assert "not like for like" not in capsys.readouterr().out
    assert _json(capsys, ["study", "--by", "strategy"])["uneven_problems"] == {}
    trace(proj, "2.2.3", [RIGHT_223], strategy="decompose")  # Type 2's 2.2.3 only; no Type 4 at all: nothing to compare
    trace(proj, "2.2.1", [WRONG_221], model="model-b", strategy="hinted")
    assert main(["study", "--by", "strategy"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert ("columns scored different problems of a Type, so their Type means there are not like for like: Type 2 "
            "(decompose lacks 2.2.1; direct lacks 2.2.1); --problem with the problems they share compares the same "
            "ones") in out
    data = _json(capsys, ["study", "--by", "strategy"])
    assert data["uneven_problems"] == {"2": {"decompose": ["2.2.3"], "direct": ["2.2.3"], "hinted": ["2.2.1", "2.2.3"]}}
    data = _json(capsys, ["study", "--by", "model+strategy", "--problem", "2.2.3", "--problem", "3.1"])
    assert data["uneven_problems"] == {}  # the problems they share: like for like


def _exact_difference_interval(n: int, right_low: int, right_high: int) -> tuple[float, float]:
    """The 2.5 % and 97.5 % points of (high - low) where each Type is n problems of one answer each, right_* of
    them right: a resample's mean is Binomial(n, right / n) / n, the two independent, so their difference's
    distribution is the two binomials' convolution (an exact reference for the seeded bootstrap)."""
    from scipy.stats import binom

    mass: dict[int, float] = {}
    for x in range(n + 1):
        for y in range(n + 1):
            mass[y - x] = mass.get(y - x, 0.0) + binom.pmf(x, n, right_low / n) * binom.pmf(y, n, right_high / n)
    cdf, points = 0.0, []
    for v in sorted(mass):
        cdf += mass[v]
        points.append((cdf, v / n))
    return next(v for c, v in points if c >= 0.025), next(v for c, v in points if c >= 0.975)


def test_a_rise_breaks_the_labels_order_only_when_the_difference_s_interval_excludes_0(capsys):
    """Whether two Types' 95 % intervals overlap is a conservative test (apart is roughly p < 0.006): Type 2 right on
    7 of 8 problems above Type 1 right on 3 of 8 read "intervals overlap (may be noise)", [0.00, 0.75] beside
    [0.62, 1.00], though a difference of means this large arises by chance in about 2 % of resamples. The rise is
    judged by the bootstrap interval of the difference of the two means: it excludes 0 here, not for 7 of 10 above
    4 of 10."""
    from workbench.commands.study import _print

    study = _synthetic({1: [1.0] * 3 + [0.0] * 5, 2: [1.0] * 7 + [0.0]})
    order = study.type_order()["m"]
    assert order["rises"] == [[1, 2]] and order["broken"] == [True]
    assert order["difference_ci"] == [pytest.approx(_exact_difference_interval(8, 3, 7))]  # (0.125, 0.875)
    _print(study, None)
    out = " ".join(capsys.readouterr().out.split())
    assert ("m: Type means out of the labels' order over Types 1, 2 (those scored): Type 2 (0.88, 8 problems) above Type 1 (0.38, 8 problems), "
            "the labels' order is broken (difference 0.50, 95 % interval [0.12, 0.88])") in out
    study = _synthetic({1: [1.0] * 4 + [0.0] * 6, 2: [1.0] * 7 + [0.0] * 3})
    order = study.type_order()["m"]
    assert order["broken"] == [False]
    assert order["difference_ci"] == [pytest.approx(_exact_difference_interval(10, 4, 7))]  # (-0.1, 0.7)
    _print(study, None)
    assert ("Type 2 (0.70, 10 problems) above Type 1 (0.40, 10 problems), may be noise (difference 0.30, 95 % interval [-0.10, 0.70] holds 0)"
            in " ".join(capsys.readouterr().out.split()))


def test_a_stale_trace_is_left_out_of_the_scores_and_counted_per_column(proj, capsys):
    """A trace asked before its problem's record changed answers another question than the record asks now: study
    scored it against the question as it is, without a word, so a column's means moved with edits of the pack, not
    with the model. It is left out by default and counted per column (text and --json); --include-stale scores it,
    each of its answers marked stale. A trace of the question as it is, and one made before traces recorded their
    question, are scored as ever."""
    from llm_fixtures import question_sha256

    record = proj / "problems" / "a2" / "3.1.yaml"
    trace(proj, "3.1", [WRONG_31], asked=question_sha256(record))  # model-a, of the question as it is: scored
    old = "0" * 64  # the fingerprint of an earlier record
    trace(proj, "2.2.3", [RIGHT_223, RIGHT_223], asked=old, started="2026-01-05T00:00:00.000000Z")
    trace(proj, "3.1", [RIGHT_31], model="model-b", strategy="hinted", asked=old, started="2026-01-05T00:00:00.000000Z")
    trace(proj, "2.2.1", [WRONG_221], model="model-b", strategy="hinted", asked=old)  # 2.2.1's only trace: stale
    data = _json(capsys, ["study"])
    rows = {r["problem"]: r["groups"] for r in data["by_problem"]}
    assert (rows["2.2.3"]["model-a"]["scored"], rows["2.2.3"]["model-a"]["mean"]) == (3, pytest.approx(1 / 3))
    assert (rows["3.1"]["model-a"]["scored"], rows["3.1"]["model-a"]["mean"]) == (2, 0.5)
    assert rows["3.1"]["model-b"]["scored"] == 2 and rows["3.1"]["model-b"]["mean"] == pytest.approx(1 / 3, abs=1e-3)
    assert "2.2.1" not in rows and "2.2.1" not in data["problems_without_traces"]  # it has a trace: a stale one
    assert data["stale_left_out"] == {"model-a": {"traces": 1, "answers": 2, "problems": ["2.2.3"]},
                                      "model-b": {"traces": 2, "answers": 2, "problems": ["2.2.1", "3.1"]}}
    assert len(data["answers"]) == 9 and not any(a["stale"] for a in data["answers"])

    assert main(["study"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert ("left out 3 stale traces (4 answers), whose problem changed since they were asked, so they answer another "
            "question than it asks now: model-a 1 trace, 2 answers (2.2.3); model-b 2 traces, 2 answers (2.2.1, 3.1); "
            "`python cli.py traces verify` names each with the command that asks it again; --include-stale scores "
            "them") in out, out
    assert "no trace: " in out and "2.2.1" not in out.split("no trace: ")[1].split(" skipped")[0]

    data = _json(capsys, ["study", "--include-stale"])
    rows = {r["problem"]: r["groups"] for r in data["by_problem"]}
    assert (rows["2.2.3"]["model-a"]["scored"], rows["2.2.3"]["model-a"]["mean"]) == (5, pytest.approx(3 / 5))
    assert (rows["3.1"]["model-b"]["scored"], rows["2.2.1"]["model-b"]["mean"]) == (3, 0.0)
    assert data["stale_left_out"] == {}
    stale = [(a["problem"], a["group"]) for a in data["answers"] if a["stale"]]
    assert sorted(stale) == [("2.2.1", "model-b"), ("2.2.3", "model-a"), ("2.2.3", "model-a"), ("3.1", "model-b")]
    assert main(["study", "--include-stale"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert ("scored 3 stale traces (4 answers) as they came (--include-stale), whose problem changed since they were "
            "asked, so they answer another question than it asks now: model-a 1 trace, 2 answers (2.2.3); model-b 2 "
            "traces, 2 answers (2.2.1, 3.1)") in out, out


def test_nothing_but_stale_traces_to_study_says_so(proj, capsys):
    """Every trace of the selection stale: 'no intact trace' would send the user to prompt again for traces that are
    there; the error names them as stale, with both ways out."""
    trace(proj, "2.2.1", [WRONG_221], asked="0" * 64)
    assert main(["study", "--problem", "2.2.1"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert ("no current trace to study among 1 problem(s): 1 stale trace left out (its problem changed since it was "
            "asked)") in err and "--include-stale" in err and "python cli.py traces verify" in err, err
    assert main(["study", "--problem", "2.2.1", "--include-stale", "--json"]) == 0
    assert [a["stale"] for a in json.loads(capsys.readouterr().out)["answers"]] == [True]


def test_a_cell_whose_traces_are_all_stale_says_so_not_no_trace(proj, capsys):
    """A problem a column answered only in stale traces (left out) read `no trace` in its cell, as if the model had
    never been asked; the cell says its traces are stale, and a column with no trace at all still says no trace."""
    trace(proj, "2.2.3", [RIGHT_223], model="model-c", asked="0" * 64)  # model-c: 2.2.3 stale, 3.1 current
    trace(proj, "3.1", [RIGHT_31], model="model-c")
    assert main(["study", "--problem", "2.2.3", "--problem", "3.1"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("│ 2.2.3"))
    assert [c.strip() for c in row.strip("│").split("│")][3:] == ["0.33 (3)", "1.00 (1)", "stale, left out"], out
    trace(proj, "2.3.3", [FREE_233], model="model-b", strategy="hinted", asked="0" * 64)
    assert main(["study", "--problem", "2.3.3"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("│ 2.3.3"))
    assert [c.strip() for c in row.strip("│").split("│")][3:] == ["— +1 unscored"], row  # a current one beside it
