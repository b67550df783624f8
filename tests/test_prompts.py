"""Prompt strategies: strict files, safe rendering, and `show ID --prompt STRATEGY` for each strategy."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re

import pytest

from llm_fixtures import fake_llm, wb  # noqa: F401
from workbench.errors import ConfigError, UsageError
from workbench.problems import load_pack
from workbench.prompts import fill, load_strategy, render, strategy_names

STRATEGIES = ["code", "decompose", "direct", "hinted", "self-critique"]


def test_the_shipped_strategies(wb):
    assert set(STRATEGIES) <= set(strategy_names())
    for name in STRATEGIES:
        strategy = load_strategy(name)
        assert strategy.description
        # traces record it as strategy_sha256: the file's bytes as they are
        assert strategy.sha256 == hashlib.sha256((wb.root / "prompts" / f"{name}.yaml").read_bytes()).hexdigest()


@pytest.mark.parametrize("strategy, problem, users", [
    ("direct", "1.1", 1), ("hinted", "1.1", 1), ("decompose", "1.1", 3), ("self-critique", "1.1", 2), ("code", "2.1", 1),
    ("decompose", "1.2", 4),
])
def test_show_prompt_prints_the_exact_messages(wb, strategy, problem, users):
    code, out, _ = wb.run("show", problem, "--pack", "demo", "--prompt", strategy, "--json")
    assert code == 0
    turns = json.loads(out)["turns"]
    expected = render(load_strategy(strategy), load_pack("demo").get(problem))
    assert turns == expected
    assert turns[0]["role"] == "system" and [t["role"] for t in turns[1:]] == ["user"] * users
    assert wb.server.requests == []  # nothing sent
    code, text, _ = wb.run("show", problem, "--pack", "demo", "--prompt", strategy)
    assert code == 0 and f"user · turn {users}" in text


def test_rendered_content(wb):
    p = load_pack("demo").get("1.1")
    direct = render(load_strategy("direct"), p)[1]["content"]
    assert direct == f"{p.context}\n\n{p.statement}"  # braces in the statement are not placeholders
    hinted = render(load_strategy("hinted"), p)[1]["content"]
    assert hinted.endswith("Hints:\n- Use the pseudo-inverse.\n- Think about the row space of $X$.")
    steps = [m["content"] for m in render(load_strategy("decompose"), p)[1:]]
    assert steps[0].endswith("We will work through this in 2 steps. Step 1: Write the gradient of $L$.")
    assert steps[1] == "Step 2 of 2: Solve for $w$ in the row space."
    assert "Specification" in render(load_strategy("code"), load_pack("demo").get("2.1"))[1]["content"]
    # an empty {context} paragraph disappears instead of leaving blank lines
    assert render(load_strategy("direct"), load_pack("demo").get("1.3"))[1]["content"] == "Explain momentum in one sentence."


@pytest.mark.parametrize("strategy, field", [("decompose", "steps"), ("hinted", "hints"), ("code", "spec")])
def test_strategy_needing_a_missing_field_is_a_clear_error(wb, strategy, field):
    code, _, err = wb.run("show", "1.3", "--pack", "demo", "--prompt", strategy)
    assert code == 2 and f"needs the record's {field}, and problem 1.3 has none" in err


def test_real_pack_renders_with_every_strategy(project):
    pack = load_pack("a2")
    rendered = 0
    for name in STRATEGIES:
        strategy = load_strategy(name)
        for problem in pack.problems:
            try:
                messages = render(strategy, problem)
            except UsageError:
                continue
            assert all(m["content"].strip() for m in messages)
            rendered += 1
    assert rendered >= 26 * 2


@pytest.mark.parametrize("text, pattern", [
    ("name: bad\nturns: ['{statement}']\ncolour: red\n", r"bad.yaml: unknown key 'colour'"),
    ("name: bad\nturns: ['{statment}']\n", r"bad.yaml: turn 1: unknown field \{statment\}"),
    ("name: bad\nturns: [{each: steps, text: '{item}', extra: 1}]\n", r"turn 1: unknown key 'extra'"),
    ("name: bad\nturns: [{each: key_points, text: '{item}'}]\n", r"each must name a list field"),
    ("name: other\nturns: ['{statement}']\n", r"name 'other' does not match the file name"),
    ("name: bad\nturns: []\n", r"turns must be a non-empty list"),
    ("name: bad\nturns: ['{item}']\n", r"unknown field \{item\}"),
    ("name: [bad\n", r"malformed YAML"),
    ("---\nname: bad\n---\nturns: ['{statement}']\n",  # front matter: was "malformed YAML: but found another document"
     r"malformed YAML: expected a single document in the stream, but found another document"),
    ("name: bad\nturns: [1" + "0" * 5000 + "]\n", r"malformed YAML: a number in it is too long to read"),
    ("name: bad\x00\n", r"malformed YAML: special characters are not allowed \(character 0x00 at offset 9\) \(fix"),
    ("name: bad\nrequires: [colour]\nturns: ['{statement}']\n", r"requires must list record fields"),
    ("name: bad\nsystem: 'You are {colour}.'\nturns: ['{statement}']\n", r"system: unknown field \{colour\}"),
    ("name: bad\ndescription: [a, b]\nturns: ['{statement}']\n", r"description must be text"),
    ("name: bad\nturns: ['  ']\n", r"turn 1 must be non-empty text"),
    # a list or a plain string is no strategy: its items or letters must not be read as keys
    ("- name\n- turns\n", r"bad.yaml: expected a mapping"),
    ("name\n", r"bad.yaml: expected a mapping"),
    ("", r"bad.yaml: is empty \(write name:"), ("# to do\n", r"bad.yaml: is empty"),  # was 'expected a mapping'
    ("name: bad\ndescription:\nrequires: {hints: yes}\nturns: ['{statement}']\n", r"requires must list record fields"),
    # the loop's fields exist only inside an `each` turn, and `first` is checked like `text`
    ("name: bad\nsystem: 'Step {n}'\nturns: ['{statement}']\n", r"system: unknown field \{n\}"),
    ("name: bad\nturns: [{each: steps, first: '{x} {item}', text: '{item}'}]\n", r"turn 1 first: unknown field \{x\}"),
    # a string of turns was read letter by letter; `each` over a text field sent one turn per character
    ("name: bad\nturns: '{statement}'\n", r"turns must be a non-empty list"),
    ("name: bad\nturns: [{each: statement, text: '{item}'}]\n", r"each must name a list field, got 'statement'"),
])
def test_strategy_files_are_parsed_strictly(wb, text, pattern):
    (wb.root / "prompts" / "bad.yaml").write_text(text)
    with pytest.raises(ConfigError, match=pattern):
        load_strategy("bad")


def test_a_strategy_s_description_is_optional_and_trimmed(wb):
    (wb.root / "prompts" / "plain.yaml").write_text("name: plain\ndescription:\nturns: ['{statement}']\n")
    assert load_strategy("plain").description == ""  # `description:` left empty is no description, not an error
    (wb.root / "prompts" / "plain.yaml").write_text("name: plain\ndescription: |\n  One line.\nturns: ['{statement}']\n")
    assert load_strategy("plain").description == "One line."  # a `|` block's trailing newline is not shown


def test_an_empty_prompts_folder_says_so(wb):
    for path in (wb.root / "prompts").glob("*.yaml"):
        path.unlink()
    with pytest.raises(UsageError, match="no prompt strategy 'direct'") as info:
        load_strategy("direct")
    assert info.value.fix == "known strategies: none (prompts/ is empty)"


@pytest.mark.parametrize("kind", ["folder", "dangling link"])
def test_an_unreadable_strategy_file_is_a_clear_error(wb, kind):
    """A folder or a dangling link named prompts/<name>.yaml is listed as a strategy; loading it was a traceback."""
    path = wb.root / "prompts" / "bad.yaml"
    path.mkdir() if kind == "folder" else path.symlink_to(wb.root / "nowhere.yaml")
    with pytest.raises(ConfigError, match=r"bad.yaml: cannot read: .* \(make it a readable strategy file"):
        load_strategy("bad")
    code, _, err = wb.run("show", "1.1", "--pack", "demo", "--prompt", "bad")
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1


def test_an_each_turn_without_first_or_requires(wb):
    """Without `first`, every item uses `text`; the list field is needed though `requires` does not name it."""
    (wb.root / "prompts" / "steps-only.yaml").write_text("name: steps-only\nturns: [{each: steps, text: 'Step {n} of {total}: {item}'}]\n")
    strategy = load_strategy("steps-only")
    assert render(strategy, load_pack("demo").get("1.1")) == [
        {"role": "user", "content": "Step 1 of 2: Write the gradient of $L$."},
        {"role": "user", "content": "Step 2 of 2: Solve for $w$ in the row space."}]
    with pytest.raises(UsageError, match="needs the record's steps, and problem 1.3 has none"):
        render(strategy, load_pack("demo").get("1.3"))


@pytest.mark.parametrize("text, where", [("name: bad\nturns: ['{statement}', '{spec}']\n", "turn 2"),
                                         ("name: bad\nsystem: '{hints}'\nturns: ['{statement}']\n", "system")])
def test_a_template_that_renders_empty_is_refused_not_sent(wb, text, where):
    """A turn naming only fields this problem lacks (not listed under `requires:`) was sent as an empty message."""
    (wb.root / "prompts" / "bad.yaml").write_text(text)
    code, _, err = wb.run("prompt", "1.3", "--pack", "demo", "-s", "bad")
    assert code == 2 and f"bad.yaml: {where} renders empty for problem 1.3" in err and "requires:" in err
    assert wb.server.chat_requests() == []


def test_an_each_turn_whose_items_render_empty_is_refused(wb):
    """Each item of an `each` turn is a message of its own: one naming only fields the problem lacks is refused too."""
    (wb.root / "prompts" / "bad.yaml").write_text("name: bad\nturns: [{each: steps, text: '{hints}'}]\n")
    with pytest.raises(UsageError, match=r"bad.yaml: turn 1 renders empty for problem 1.2"):
        render(load_strategy("bad"), load_pack("demo").get("1.2"))  # 1.2 has steps but no hints


def test_problem_fields_as_a_template_sees_them():
    from workbench.problems import Problem
    from workbench.prompts import problem_fields

    p = Problem(id="1.1", title="T", section="1 S", part="written", points=1.0, type=2, kind="written",
                statement="s", answer="free", hints=("h1", "h2"), steps=("first", "second"))
    fields = problem_fields(p)
    assert (fields["points"], fields["type"]) == ("1", "2")  # as the handout writes them, not "1.0"
    assert fields["steps"] == "1. first\n2. second" and fields["hints"] == "- h1\n- h2"
    assert (fields["id"], fields["title"], fields["section"]) == ("1.1", "T", "1 S")
    assert (fields["kind"], fields["answer"], fields["statement"]) == ("written", "free", "s")
    assert problem_fields(dataclasses.replace(p, points=0.5))["points"] == "0.5"


def test_prompts_name_the_assignment_as_its_pack_says(wb, project):
    """prompts/ serve every pack: the system messages said "a university deep-learning assignment" to any pack's
    model. A pack names its assignment with `assignment:`; without it, a neutral phrase."""
    for name in STRATEGIES:
        demo = render(load_strategy(name), load_pack("demo").get("2.1" if name == "code" else "1.1"))[0]["content"]
        assert "from a university assignment" in demo or "helping with a university assignment" in demo
        assert "deep-learning" not in demo and "PyTorch" not in demo
    a2 = render(load_strategy("direct"), load_pack("a2").get("1.2.1"))[0]["content"]
    assert a2.startswith("You are solving a question from a university deep-learning assignment.")


def test_the_code_strategy_asks_only_what_the_pack_s_spec_asks(wb, project):
    """The code prompt asked every pack for "the tensor shape after each block" (a2's CNN blocks), also of a pack
    whose spec is a plain function; a2's own specs ask for the shape comments now."""
    demo = render(load_strategy("code"), load_pack("demo").get("2.1"))[1]["content"]
    assert "tensor shape" not in demo and "after each block" not in demo
    for pid in ("4.1", "5.1", "6.1"):
        a2 = render(load_strategy("code"), load_pack("a2").get(pid))[1]["content"]
        assert "give the tensor shape after each block as a comment" in a2


def test_unknown_or_unsafe_strategy_names(wb):
    for name in ("nope", "../prompts/direct", "/etc/passwd"):
        with pytest.raises(UsageError, match="no prompt strategy") as info:
            load_strategy(name)
        assert "direct" in info.value.fix


def test_a_strategy_file_with_a_name_not_allowed_says_so(wb):
    """prompts/Direct.yaml was refused as "no prompt strategy 'Direct' — known strategies: Direct, ..."."""
    (wb.root / "prompts" / "Direct.yaml").write_text("name: Direct\nturns: ['{statement}']\n")
    code, _, err = wb.run("show", "1.1", "--pack", "demo", "--prompt", "Direct")
    assert code == 2 and "Direct.yaml: a strategy's name is lower-case letters" in err and "known strategies" not in err


def test_fill_escapes_and_reports():
    assert fill("{{literal}} {x}", {"x": "{y}"}) == "{literal} {y}"
    # a line of spaces (as an editor leaves in a `|` block) separates paragraphs too: the empty one is dropped
    assert fill("a\n  \n{x}\n\t\nb", {"x": ""}) == "a\n\nb"
    with pytest.raises(ConfigError, match=r"prompts/x.yaml: turn 1: unknown field \{z\}"):
        fill("{z}", {"x": ""}, "prompts/x.yaml: turn 1")


def test_print_turns_numbers_a_reply_with_the_turn_it_answers(capsys):
    """A conversation so far (the self-critique's first exchange) is shown turn by turn: a reply belongs to the user
    turn before it, and the text is shown as sent, [markup] and `Markdown` untouched."""
    from workbench.prompts import print_turns

    print_turns([{"role": "system", "content": "S"}, {"role": "user", "content": "Q [bold]1[/bold]"},
                 {"role": "assistant", "content": "A1"}, {"role": "user", "content": "check it"},
                 {"role": "assistant", "content": "A2"}])
    out = capsys.readouterr().out
    titles = re.findall(r"(system|user · turn \d|assistant · turn \d)", out)
    assert titles == ["system", "user · turn 1", "assistant · turn 1", "user · turn 2", "assistant · turn 2"]
    assert "Q [bold]1[/bold]" in out
