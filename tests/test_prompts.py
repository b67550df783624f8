"""Prompt strategies: strict files, safe rendering, and `show ID --prompt STRATEGY` for each strategy."""

from __future__ import annotations

import json

import pytest

from llm_fixtures import fake_llm, wb  # noqa: F401
from workbench.errors import ConfigError, UsageError
from workbench.problems import load_pack
from workbench.prompts import fill, load_strategy, render, strategy_names

STRATEGIES = ["code", "decompose", "direct", "hinted", "self-critique"]


def test_the_shipped_strategies(wb):
    assert set(STRATEGIES) <= set(strategy_names())
    for name in STRATEGIES:
        assert load_strategy(name).description


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
    ("name: bad\nrequires: [colour]\nturns: ['{statement}']\n", r"requires must list record fields"),
    ("name: bad\nsystem: 'You are {colour}.'\nturns: ['{statement}']\n", r"system: unknown field \{colour\}"),
    ("name: bad\ndescription: [a, b]\nturns: ['{statement}']\n", r"description must be text"),
    ("name: bad\nturns: ['  ']\n", r"turn 1 must be non-empty text"),
])
def test_strategy_files_are_parsed_strictly(wb, text, pattern):
    (wb.root / "prompts" / "bad.yaml").write_text(text)
    with pytest.raises(ConfigError, match=pattern):
        load_strategy("bad")


def test_unknown_or_unsafe_strategy_names(wb):
    for name in ("nope", "../prompts/direct", "/etc/passwd"):
        with pytest.raises(UsageError, match="no prompt strategy") as info:
            load_strategy(name)
        assert "direct" in info.value.fix


def test_fill_escapes_and_reports():
    assert fill("{{literal}} {x}", {"x": "{y}"}) == "{literal} {y}"
    with pytest.raises(ConfigError, match=r"prompts/x.yaml: turn 1: unknown field \{z\}"):
        fill("{z}", {"x": ""}, "prompts/x.yaml: turn 1")
