"""`prompt`: traces from real HTTP exchanges, multi-turn order, samples, --all concurrency, faults, secrecy."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from llm_fixtures import REPO, SECRET, TRACED, fake_llm, question_sha256, wb  # noqa: F401
from workbench.traces import content_hash, load_trace, write_trace


def test_prompt_writes_a_complete_hashed_trace(wb):
    code, out, _ = wb.run("prompt", "1.1", "--pack", "demo", "--temperature", "0.2", "--seed", "7", "--max-tokens", "500")
    assert code == 0
    [path] = wb.traces()
    assert path.parent.name == "1.1" and f"saved {path}" in out
    trace = load_trace(path)
    d = trace.data
    assert trace.intact and d["hash"] == content_hash(d) and path.stem.endswith(d["hash"][:12])
    assert (d["schema"], d["problem"], d["pack"], d["strategy"], d["source"]) == \
           ("workbench.trace/1", "1.1", "demo", "direct", "api")
    assert d["provider"] == {"base_url": wb.server.url}
    assert d["request"] == {"model": "fake-gpt", "temperature": 0.2, "top_p": None, "seed": 7, "max_tokens": 500,
                            "n": 1, "stream": False}
    [ex] = d["exchanges"]
    sent = wb.server.chat_requests()[0]["body"]
    assert ex["messages"] == sent["messages"] and (sent["temperature"], sent["seed"], sent["max_tokens"]) == (0.2, 7, 500)
    assert ex["model"] == "fake-gpt-2026-01-15" and ex["system_fingerprint"] == "fp_fake_0001"
    assert ex["usage"]["total_tokens"] > 0 and ex["attempts"] == 1 and ex["latency_s"] >= 0
    assert d["samples"][0]["messages"] == sent["messages"] + [{"role": "assistant", "content": ex["choices"][0]["content"]}]
    assert ex["sample"] == 0 and "errors" not in d  # a call for one sample names it; nothing failed: no errors list
    assert trace.citation() in out and "fake-gpt-2026-01-15" in trace.citation()


def test_rerun_never_overwrites(wb):
    assert wb.run("prompt", "1.3", "--pack", "demo")[0] == 0
    assert wb.run("prompt", "1.3", "--pack", "demo")[0] == 0
    assert len(wb.traces()) == 2 and all(load_trace(p).intact for p in wb.traces())


def test_multi_turn_sends_the_conversation_so_far(wb):
    assert wb.run("prompt", "1.2", "--pack", "demo", "--strategy", "decompose")[0] == 0
    requests = [r["body"]["messages"] for r in wb.server.chat_requests()]
    assert len(requests) == 4  # three steps and the final question
    trace = load_trace(wb.traces()[0])
    final = trace.samples[0]["messages"]
    assert [m["role"] for m in final] == ["system"] + ["user", "assistant"] * 4
    for k, sent in enumerate(requests):  # request k carries everything before user turn k, replies included
        assert sent == final[: 2 + 2 * k]
    assert [e["turn"] for e in trace.data["exchanges"]] == [0, 1, 2, 3]
    assert final[2]["content"].startswith("Answer 0 to turn 1")  # the model's own reply was sent back


def test_samples_use_n_in_one_trace(wb):
    code, out, _ = wb.run("prompt", "1.3", "--pack", "demo", "--samples", "3", "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["samples"] == 3 and len(summary["answers"]) == 3
    assert [r["body"].get("n") for r in wb.server.chat_requests()] == [3]
    trace = load_trace(wb.traces()[0])
    assert trace.data["exchanges"][0]["sample"] is None and len(trace.data["exchanges"][0]["choices"]) == 3


def test_server_that_refuses_n_gets_parallel_calls(wb):
    wb.server.script({"status": 400, "message": "'n' must be 1 for this server"})
    code, out, _ = wb.run("prompt", "1.3", "--pack", "demo", "--samples", "3", "--json")
    assert code == 0 and json.loads(out)["samples"] == 3
    assert [r["body"].get("n") for r in wb.server.chat_requests()] == [3, None, None, None]
    trace = load_trace(wb.traces()[0])
    assert len(trace.samples) == 3 and trace.samples_requested == 3
    assert [e["sample"] for e in trace.data["exchanges"]] == [0, 1, 2]  # one call per sample


def test_a_real_400_still_fails_with_n(wb):
    wb.server.script({"status": 400, "message": "temperature out of range"},
                     {"status": 400, "message": "temperature out of range"})
    code, _, err = wb.run("prompt", "1.3", "--pack", "demo", "--samples", "3")
    assert code == 3 and "temperature out of range" in err and wb.traces() == []


def test_partly_failed_samples_keep_the_successful_ones(wb):
    wb.server.script({"choices": 1}, {"status": 400, "message": "sampler exploded"})
    code, out, err = wb.run("prompt", "1.3", "--pack", "demo", "--samples", "3")
    assert code == 3 and "sampler exploded" in err and "2 of 3 samples completed" in err
    trace = load_trace(wb.traces()[0])
    assert len(trace.samples) == 2 and trace.samples_requested == 3 and trace.data["request"]["n"] == 3
    assert len(trace.data["errors"]) == 1


def test_partly_failed_samples_with_json_exit_3_too(wb):
    """--help: exit 3 'also when only some samples ... did'; --json must not turn that into 0."""
    wb.server.script({"choices": 1}, {"status": 400, "message": "sampler exploded"})
    code, out, _ = wb.run("prompt", "1.3", "--pack", "demo", "--samples", "3", "--json")
    data = json.loads(out)
    assert code == 3 and data["samples"] == 2 and len(data["errors"]) == 1 and "sampler exploded" in data["errors"][0]


def test_a_batch_reports_a_problem_with_failed_samples_as_partial(wb):
    wb.server.script({"match": "momentum", "choices": 1}, {"match": "momentum", "status": 400, "message": "sampler exploded"})
    code, out, _ = wb.run("prompt", "1.1", "1.3", "--pack", "demo", "--samples", "2", "--json")
    data = json.loads(out)
    partial = next(o for o in data["outcomes"] if o["problem"] == "1.3")
    assert code == 3 and data["failed"] == ["1.3"] and "sampler exploded" in partial["error"]
    assert (partial["samples"], partial["requested"]) == (1, 2) and partial["file"]
    wb.server.script({"match": "momentum", "choices": 1}, {"match": "momentum", "status": 400, "message": "sampler exploded"})
    code, out, err = wb.run("prompt", "1.1", "1.3", "--pack", "demo", "--samples", "2")
    assert code == 3 and "partial" in out and "partial 1.3: " in err and "sampler exploded" in err


def test_multi_turn_samples_are_independent_and_partial_failure_is_kept(wb):
    wb.server.script({"status": 400, "message": "one conversation broke", "match": "Step 2"})
    code, _, err = wb.run("prompt", "1.1", "--pack", "demo", "--strategy", "decompose", "--samples", "3")
    assert code == 3 and "one conversation broke" in err
    trace = load_trace(wb.traces()[0])
    assert len(trace.samples) == 2 and trace.samples_requested == 3
    assert sorted(e["sample"] for e in trace.data["exchanges"]) == [0, 0, 0, 1, 1, 1]


@pytest.mark.parametrize("fault, message", [
    ({"status": 401}, "rejected the API key (401)"),
    ({"status": 400, "code": "context_length_exceeded", "message": "maximum context length exceeded"}, "context window"),
    ({"bad_json": True}, "malformed response"),
    ({"truncate": True}, "truncated answer"),
])
def test_failed_exchange_is_one_line_and_writes_nothing(wb, fault, message):
    wb.server.script(fault)
    code, out, err = wb.run("prompt", "1.1", "--pack", "demo", *(["--stream"] if "truncate" in fault else []))
    assert code == 3 and err.startswith("error: ") and message in err and err.count("\n") == 1
    assert wb.traces() == []


def test_json_failure_of_one_problem_is_json_too(wb):
    wb.server.script({"status": 401})
    code, out, err = wb.run("prompt", "1.1", "--pack", "demo", "--json")
    data = json.loads(out)
    assert code == 3 and data["problem"] == "1.1" and data["file"] is None and data["samples"] == 0
    assert data["exit_code"] == 3  # the README's {error, fix, exit_code} contract, as every failing --json command
    assert "rejected the API key (401)" in data["error"] and "OPENAI_API_KEY" in data["fix"]
    assert "rejected the API key" in err and wb.traces() == []


def test_unknown_model_and_unreachable_server(wb):
    code, _, err = wb.run("prompt", "1.1", "--pack", "demo", "--model", "gpt-nope")
    assert code == 3 and "model 'gpt-nope' not found" in err and err.count("\n") == 1
    code, _, err = wb.run("prompt", "1.1", "--pack", "demo", "--base-url", "http://127.0.0.1:9/v1")
    assert code == 3 and "cannot reach http://127.0.0.1:9/v1" in err and err.count("\n") == 1
    assert wb.traces() == []


def test_odd_metadata_from_the_server_still_gives_a_readable_trace(wb):
    """A number as model name crashed after the answer came (TypeError); a list as usage too."""
    wb.server.script({"fields": {"model": 42, "usage": [1], "created": "today", "id": 7, "system_fingerprint": {}}})
    code, out, err = wb.run("prompt", "1.3", "--pack", "demo")
    assert code == 0, err
    [trace] = map(load_trace, wb.traces())
    [ex] = trace.data["exchanges"]
    assert trace.intact and trace.model_version == "fake-gpt" and "Answer 0" in trace.answers()[0]
    assert (ex["model"], ex["usage"], ex["created"], ex["response_id"], ex["system_fingerprint"]) == (None,) * 5


def test_an_answer_that_is_not_text_is_a_malformed_response(wb):
    parts = [{"index": 0, "message": {"role": "assistant", "content": [{"type": "text", "text": "hi"},
                                                                       {"type": "input_audio", "input_audio": {}}]},
              "finish_reason": "stop"}]
    wb.server.script({"fields": {"choices": parts}})
    code, _, err = wb.run("prompt", "1.3", "--pack", "demo")
    assert code == 3 and "malformed response" in err and "'input_audio'" in err and err.count("\n") == 1
    assert wb.traces() == []
    wb.server.script({"fields": {"choices": [{"index": 0, "message": {"role": "assistant", "content": 42},
                                              "finish_reason": "stop"}]}})
    code, _, err = wb.run("prompt", "1.3", "--pack", "demo")
    assert code == 3 and "malformed response" in err and "not text" in err and err.count("\n") == 1
    assert wb.traces() == []


@pytest.mark.parametrize("stream", [[], ["--stream"]])
def test_a_refusal_is_saved_with_its_text(wb, stream):
    """OpenAI sends a refusal in `refusal` with content null: the trace held an empty answer and lost what was said."""
    wb.server.script({"refusal": "I can't help with that request."})
    code, out, err = wb.run("prompt", "1.3", "--pack", "demo", *stream)
    assert code == 0 and "I can't help with that request." in out and "caution 1.3: the model refused to answer" in err
    trace = load_trace(wb.traces()[0])
    assert trace.answers() == ["I can't help with that request."]
    [choice] = trace.data["exchanges"][0]["choices"]
    assert choice["refusal"] is True and choice["content"] == "I can't help with that request."
    assert wb.run("prompt", "1.3", "--pack", "demo", *stream)[0] == 0  # an answer is no refusal
    [answered] = [t for t in map(load_trace, wb.traces()) if t.answers() != ["I can't help with that request."]]
    assert "refusal" not in answered.data["exchanges"][0]["choices"][0]


def test_stream_shows_the_answer_and_saves_it(wb):
    code, out, _ = wb.run("prompt", "1.1", "--pack", "demo", "--stream", "--samples", "2")
    assert code == 0 and "sample 2" in out and "Answer 1 to turn 1" in out
    trace = load_trace(wb.traces()[0])
    assert trace.data["request"]["stream"] is True and len(trace.samples) == 2
    assert wb.server.chat_requests()[0]["body"]["stream"] is True


@pytest.mark.parametrize("stream", [(), ("--stream",)])
def test_a_reader_gone_before_the_answer_is_shown_still_gets_the_answer_saved(wb, stream):
    # `prompt 1.1 --stream | head`: the streamed answer was paid for; it is saved, then the command ends with 141
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, str(REPO / "cli.py"), "prompt", "1.1", "--pack", "demo", *stream],
                              stdout=write_end, stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(write_end)
    assert done.returncode == 141 and done.stderr == b""
    [path] = wb.traces()
    [answer] = load_trace(path).answers()
    assert answer.startswith("Answer 0 to turn 1: ")



def test_stream_counts_a_reasoning_models_thinking_on_a_terminal_only_and_shows_the_answer_alone(wb, monkeypatch):
    """While a reasoning model thought (minutes), --stream showed nothing: it could not be told from a hung one.
    On a terminal one dim stderr line counts the words, erased when the answer starts; piped, nothing is added."""
    from workbench.console import err_console

    wb.server.script(*[{"reasoning": "Momentum keeps the velocity. " * 6, "content": "It is 8."}] * 2)
    code, piped, err = wb.run("prompt", "1.3", "--pack", "demo", "--stream")
    assert code == 0 and err == ""  # stderr is no terminal: scripts and logs get nothing about thinking
    monkeypatch.setattr(err_console, "_force_terminal", True)
    code, out, err = wb.run("prompt", "1.3", "--pack", "demo", "--stream")
    assert code == 0 and "thinking" in err and "24 words" in err and err.endswith("\x1b[K")  # counted, then erased
    assert "Momentum" not in out + err  # the reasoning itself is never shown
    shown = out.split("saved ")[0]
    assert shown == piped.split("saved ")[0] and [line.strip("│ ") for line in shown.splitlines()[1:-1]] == ["It is 8."]
    assert [load_trace(p).reasonings() for p in wb.traces()] == [[["Momentum keeps the velocity. " * 6]]] * 2


def test_the_thinking_line_counts_words_split_across_pieces_and_erases_just_itself(monkeypatch):
    """One word is "1 word"; a word split across pieces counts once; each update and the final erase step back over
    exactly the last status (a step short left its last character on the line)."""
    import io

    from workbench.commands.prompting import _Thinking
    from workbench.console import err_console

    shown = io.StringIO()
    monkeypatch.setattr(err_console, "_file", shown)
    monkeypatch.setattr(err_console, "_force_terminal", True)
    thinking = _Thinking()
    for piece in ("Hm", "m, ", "", "7"):
        thinking(0, piece)
    thinking.clear()
    dim = "\x1b[2m{}\x1b[0m".format
    assert shown.getvalue() == dim("thinking… 1 word") + "\x1b[16D\x1b[K" + dim("thinking… 2 words") + "\x1b[17D\x1b[K"



def test_a_dumb_terminal_gets_no_thinking_line(monkeypatch):
    """TERM=dumb (Emacs' shell) cannot move the cursor: the line's escape codes were shown there as text."""
    import io

    from workbench.commands.prompting import _Thinking
    from workbench.console import err_console

    shown = io.StringIO()
    monkeypatch.setattr(err_console, "_file", shown)
    monkeypatch.setattr(err_console, "_force_terminal", True)
    monkeypatch.setenv("TERM", "dumb")
    thinking = _Thinking()
    thinking(0, "Let me see")
    thinking.clear()
    assert shown.getvalue() == ""

def test_the_thinking_line_is_erased_when_the_answer_starts_and_not_drawn_again(monkeypatch):
    """The live panel and the status line would redraw the same terminal line: the status goes before the first
    answer piece is shown, and thinking that comes after it is not counted over the panel."""
    import io

    from workbench.commands.prompting import _LiveAnswers
    from workbench.console import err_console

    shown = io.StringIO()
    monkeypatch.setattr(err_console, "_file", shown)
    monkeypatch.setattr(err_console, "_force_terminal", True)
    with _LiveAnswers() as live:
        live.reasoning(0, 0, "Let me see")
        assert shown.getvalue() == "\x1b[2mthinking… 3 words\x1b[0m"
        live(0, 0, "It is 8.")
        assert shown.getvalue().endswith("\x1b[17D\x1b[K")  # erased before the panel is drawn
        live.reasoning(0, 0, " and more")
    assert shown.getvalue() == "\x1b[2mthinking… 3 words\x1b[0m\x1b[17D\x1b[K"


def test_dry_run_sends_nothing_and_needs_no_key(wb, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    code, out, _ = wb.run("prompt", "1.1", "--pack", "demo", "--strategy", "decompose", "--dry-run",
                          "--base-url", "https://api.example.com/v1", "--samples", "2")
    assert code == 0 and "nothing was sent" in out and "user · turn 3" in out and "n=2" in out
    assert "API key MISSING: set OPENAI_API_KEY before sending" in out  # a real send would fail: say so
    code, out, _ = wb.run("prompt", "1.1", "--pack", "demo", "--dry-run", "--json")
    data = json.loads(out)
    assert data["request"]["model"] == "fake-gpt" and data["problems"][0]["turns"][1]["role"] == "user"
    assert data["api_key"] == "not needed"  # the fake server is on 127.0.0.1: a local server takes no key
    assert wb.server.requests == [] and wb.traces() == []


def test_dry_run_shows_a_title_with_brackets_as_written(wb):
    """--dry-run headed each problem's messages with its title (the pack's YAML) as rich markup: a title holding `[/]`
    ended the dry run in a MarkupError traceback, and `[bold]x` lost its brackets."""
    import re

    record = wb.root / "problems" / "demo" / "1.3.yaml"
    record.write_text(re.sub(r"title: .*", 'title: "On [/] and [bold]x"', record.read_text(), count=1))
    code, out, err = wb.run("prompt", "1.3", "--pack", "demo", "--dry-run")
    assert code == 0 and "1.3 On [/] and [bold]x · strategy direct" in out, err
    assert wb.server.requests == []


def test_all_runs_concurrently_and_covers_traced_graded_problems(wb):
    wb.server.delay = 0.4
    code, out, _ = wb.run("prompt", "--all", "--pack", "demo", "--jobs", "4", "--json")
    end = time.monotonic()
    assert code == 0
    outcomes = json.loads(out)["outcomes"]
    assert sorted(o["problem"] for o in outcomes) == TRACED
    latency = sum(o["mean_latency_s"] * o["requests"] for o in outcomes)
    arrivals = [r["time"] for r in wb.server.chat_requests()]
    # from the first request on (the one-off `import openai` before it is not what is measured here)
    assert latency >= 4 * 0.4 and end - min(arrivals) < 0.6 * latency
    assert max(arrivals) - min(arrivals) < 0.3  # all four were in flight together
    assert sorted(p.parent.name for p in wb.traces()) == TRACED


def test_a_server_error_over_several_lines_is_one_line_per_failed_problem(wb):
    """A server's error message may run over lines (a proxy's HTML page, a stack trace): prompt --all printed each
    failed problem's line with it as it came, so the lines after the first named no problem; each stays one line."""
    wb.server.script({"status": 400, "message": "bad request\nat line 2\nat line 3", "match": "momentum"})
    code, _, err = wb.run("prompt", "--all", "--pack", "demo")
    [line] = [line for line in err.splitlines() if "1.3" in line and "bad request" in line]
    assert code == 3 and line.startswith("failed 1.3: ") and "bad request\\nat line 2\\nat line 3" in line, err
    assert not [line for line in err.splitlines() if line.startswith("at line")], err


def test_all_lists_failures_and_keeps_going(wb):
    wb.server.script({"status": 401, "match": "momentum"})
    wb.server.script({"delay": 0.3, "match": "optimal learning rate"})  # 1.2 answers slowly: its latency shows
    code, out, err = wb.run("prompt", "--all", "--pack", "demo")
    assert code == 3 and "failed 1.3: " in err and "rejected the API key" in err
    assert sorted(p.parent.name for p in wb.traces()) == ["1.1", "1.2", "2.1"]
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]] for line in out.splitlines()
            if line.startswith("│")}
    assert "s/request" in out and rows["1.3"][2] == "-"  # columns: status, samples, s/request, wall s, trace
    assert [p for p, r in rows.items() if r[2] != "-" and float(r[2]) >= 0.3] == ["1.2"]


def test_batch_latency_is_the_mean_per_request_never_more_than_the_wall_time(wb):
    """decompose's turns in parallel samples: the requests' latencies overlap, so their sum (2.7 s here) exceeds the
    problem's wall time (about 0.9 s); the column and --json give the mean per request, with the count of requests."""
    import openai  # noqa: F401  (its one-off import is no part of a problem's wall time here)

    wb.server.delay = 0.3
    code, out, _ = wb.run("prompt", "1.1", "1.2", "--pack", "demo", "-s", "decompose", "--samples", "3", "--json")
    assert code == 0
    for o in json.loads(out)["outcomes"]:
        exchanges = json.loads(Path(o["file"]).read_text())["exchanges"]
        latencies = [e["latency_s"] for e in exchanges]
        assert o["requests"] == len(exchanges) == 3 * {"1.1": 3, "1.2": 4}[o["problem"]]
        assert o["mean_latency_s"] == pytest.approx(sum(latencies) / len(latencies), abs=1e-3)
        assert 0.3 <= o["mean_latency_s"] <= o["seconds"] < sum(latencies)
        assert "latency_s" not in o  # the sum that read as a time longer than the wall
    _, out, _ = wb.run("prompt", "1.1", "1.2", "--pack", "demo", "-s", "decompose", "--samples", "3")
    assert "s/request" in out and "wall s" in out and "s/request: the model's mean time per request" in out
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines() if line.startswith("│")]
    assert len(rows) == 2 and all(0.3 <= float(r[3]) <= float(r[4]) for r in rows)


def test_the_rerun_command_keeps_the_strategy_samples_and_model_settings(wb):
    """Rerun as printed, a failed problem gets the same kind of trace: not direct, 1 sample, the default model."""
    wb.server.script({"status": 401, "match": "momentum"})
    code, _, err = wb.run("prompt", "--all", "--pack", "demo", "-s", "self-critique", "--samples", "2",
                          "--model", "fake-gpt-mini", "--temperature", "0.5")
    assert code == 3 and ("rerun them with `python cli.py prompt 1.3 --pack demo --strategy self-critique --samples 2 "
                          "--model fake-gpt-mini --temperature 0.5`") in err


def test_the_rerun_command_never_shows_credentials_in_the_base_url(wb):
    """A --base-url carrying user:password (or a gateway key in its query string) is shown with *** in their place."""
    wb.server.script({"status": 401, "match": "momentum"})
    url = wb.server.url.replace("//", "//user:pw-7f3a9c1e5b@")
    code, out, err = wb.run("prompt", "--all", "--pack", "demo", "--base-url", url)
    assert code == 3 and f"--base-url 'http://***@{wb.server.url[len('http://'):]}'`" in err
    assert "pw-7f3a9c1e5b" not in out + err
    from argparse import Namespace

    from workbench.commands.prompting import _rerun_command

    args = Namespace(pack="a2", strategy="direct", samples=1, model=None, base_url="https://gw.example/v1?api-key=k-7f3a9",
                     temperature=None, top_p=None, seed=None, max_tokens=None, timeout=None)
    assert _rerun_command(args, ["1.1"]) == "python cli.py prompt 1.1 --base-url 'https://gw.example/v1?***'"


@pytest.fixture
def ctrl_c_after_one(monkeypatch):
    """Ctrl-C in the main thread right after the batch's first outcome, through the real run_many."""
    import workbench.runner as runner

    real = runner.run_many

    def interrupted_after_one(*args, on_outcome, **kwargs):
        def first_then_ctrl_c(outcome):
            on_outcome(outcome)
            raise KeyboardInterrupt

        return real(*args, on_outcome=first_then_ctrl_c, **kwargs)

    monkeypatch.setattr(runner, "run_many", interrupted_after_one)


def test_ctrl_c_in_a_batch_names_what_got_a_trace_and_how_to_ask_the_rest(wb, ctrl_c_after_one):
    """Ctrl-C after the first problem's trace: exit 130, the traces kept named, a command for the others only."""
    code, _, err = wb.run("prompt", "1.1", "1.2", "1.3", "--pack", "demo", "--jobs", "1", "-s", "self-critique")
    kept = [load_trace(p).problem for p in wb.traces()]
    assert code == 130 and kept == ["1.1"] and "interrupted: 1 of 3 problem(s) got a trace, each whole (1.1)" in err
    assert "`python cli.py prompt 1.2 1.3 --pack demo --strategy self-critique`" in err


def test_ctrl_c_while_one_problem_is_asked_says_nothing_was_saved_and_how_to_ask_again(wb, monkeypatch):
    """`prompt ID` stopped by Ctrl-C printed only 'interrupted': whether a trace was kept, and with which settings
    to ask again, was left to guess. It says no trace was saved and gives the command with the flags given."""
    import workbench.runner as runner

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_problem", ctrl_c)
    code, _, err = wb.run("prompt", "1.1", "--pack", "demo", "--samples", "2", "--temperature", "0.5")
    assert code == 130 and wb.traces() == [] and err.count("\n") == 1, err
    assert err.startswith("error: interrupted: no trace saved for 1.1 (a trace is written whole, once answered)")
    assert "`python cli.py prompt 1.1 --pack demo --samples 2 --temperature 0.5`" in err, err


def test_ctrl_c_after_a_failed_problem_counts_it_with_those_to_ask_again(wb, ctrl_c_after_one):
    """A problem that failed before Ctrl-C got no trace: it is not named as kept, and the rerun asks it again."""
    hold = threading.Event()  # 1.2's request, sent as 1.1's failure is reported, waits: no trace can race the Ctrl-C
    wb.server.script({"status": 401}, {"delay": hold}, {"delay": hold})  # the first request, 1.1's, fails
    try:
        code, _, err = wb.run("prompt", "1.1", "1.2", "1.3", "--pack", "demo", "--jobs", "1")
    finally:
        hold.set()
    assert code == 130 and wb.traces() == [] and "interrupted: 0 of 3 problem(s) got a trace, each whole" in err
    assert "`python cli.py prompt 1.1 1.2 1.3 --pack demo`" in err


def test_ctrl_c_names_a_trace_written_but_not_yet_reported_as_kept(wb, monkeypatch):
    """Ctrl-C while a second trace is already on disk but not yet taken from the pool: it is named as kept and
    left out of the rerun command (before, the message said 1 of 3 and the rerun paid for 1.2 again)."""
    import workbench.runner as runner

    real, hold = runner.run_many, threading.Event()

    def interrupted_once_two_are_saved(*args, on_outcome, **kwargs):
        def first_then_ctrl_c(outcome):
            on_outcome(outcome)
            if outcome.problem == "1.1":
                deadline = time.monotonic() + 10
                while len(wb.traces()) < 2 and time.monotonic() < deadline:
                    time.sleep(0.01)
                raise KeyboardInterrupt

        return real(*args, on_outcome=first_then_ctrl_c, **kwargs)

    monkeypatch.setattr(runner, "run_many", interrupted_once_two_are_saved)
    wb.server.script({"match": "learning rate", "delay": 0.2}, {"match": "momentum", "delay": hold})
    try:
        code, _, err = wb.run("prompt", "1.1", "1.2", "1.3", "--pack", "demo", "--jobs", "2")
    finally:
        hold.set()  # 1.3's request, asked after 1.1's answer, waits for this; its trace is never written
    assert code == 130 and sorted(load_trace(p).problem for p in wb.traces()) == ["1.1", "1.2"]
    assert "interrupted: 2 of 3 problem(s) got a trace, each whole (1.1, 1.2)" in err
    assert "`python cli.py prompt 1.3 --pack demo`" in err


def test_the_rerun_command_is_shell_quoted_and_keeps_the_seed():
    from argparse import Namespace

    from workbench.commands.prompting import _rerun_command

    args = Namespace(pack="a2", strategy="direct", samples=1, model="my model", base_url=None, temperature=None,
                     top_p=None, seed=7, max_tokens=None, timeout=None)
    assert _rerun_command(args, ["1.1"]) == "python cli.py prompt 1.1 --model 'my model' --seed 7"


def test_selection_by_type_and_ids(wb):
    assert wb.run("prompt", "--type", "3", "--pack", "demo", "--dry-run", "--json")[0] == 0
    code, out, _ = wb.run("prompt", "--type", "3", "--pack", "demo", "--dry-run", "--json")
    assert [p["problem"] for p in json.loads(out)["problems"]] == ["2.2"]
    code, out, _ = wb.run("prompt", "--type", "1", "--pack", "demo", "--dry-run", "--json")
    assert [p["problem"] for p in json.loads(out)["problems"]] == ["1.1", "1.3", "2.1"]  # 3.1 is optional (0 points)
    code, out, _ = wb.run("prompt", "3.1", "2.2", "--pack", "demo", "--json")
    assert code == 0 and sorted(o["problem"] for o in json.loads(out)["outcomes"]) == ["2.2", "3.1"]


def test_type_gives_the_batch_report_even_when_one_problem_matches(wb):
    """--type implies --all: scripts get the same document (outcomes, failed, skipped) however many match."""
    code, out, _ = wb.run("prompt", "--type", "2", "--pack", "demo", "--json")
    data = json.loads(out)
    assert code == 0 and [o["problem"] for o in data["outcomes"]] == ["1.2"] and data["failed"] == []


def test_stream_with_json_keeps_stdout_one_json_document(wb):
    code, out, _ = wb.run("prompt", "1.3", "--pack", "demo", "--stream", "--json")
    data = json.loads(out)  # no live panel printed around it
    assert code == 0 and data["samples"] == 1 and load_trace(wb.traces()[0]).data["request"]["stream"] is True


def test_a_repeated_id_is_prompted_once(wb):
    code, out, _ = wb.run("prompt", "1.1", "1.3", "1.1", "--pack", "demo", "--json")
    assert code == 0 and [o["problem"] for o in json.loads(out)["outcomes"]] == ["1.1", "1.3"]
    assert len(wb.server.chat_requests()) == 2 and len(wb.traces()) == 2


def test_all_skips_problems_the_strategy_cannot_serve_and_named_ids_are_refused(wb):
    code, out, err = wb.run("prompt", "--all", "--pack", "demo", "--strategy", "code", "--json")
    data = json.loads(out)
    assert code == 0 and [o["problem"] for o in data["outcomes"]] == ["2.1"] and data["skipped"] == ["1.1", "1.2", "1.3"]
    assert "skipped: strategy 'code' needs the record's spec, which 1.1, 1.2, 1.3 lack" in err
    assert len(wb.server.chat_requests()) == 1
    code, _, err = wb.run("prompt", "2.1", "1.3", "--pack", "demo", "--strategy", "code")
    assert code == 2 and "which 1.3 lacks" in err and len(wb.server.chat_requests()) == 1
    code, _, err = wb.run("prompt", "--type", "3", "--pack", "demo", "--strategy", "code")
    assert code == 2 and "which 2.2 lacks" in err


@pytest.mark.parametrize("argv, message", [
    (["prompt", "../../etc", "--pack", "demo"], "invalid problem id"),
    (["prompt", "--pack", "demo"], "which problem?"),
    (["prompt", "1.1", "--all", "--pack", "demo"], "not both"),
    (["prompt", "--all", "--stream", "--pack", "demo"], "--stream shows one problem"),
    (["prompt", "1.1", "--missing", "--stream", "--pack", "demo"], "it does not combine with --missing"),
    (["prompt", "--type", "x", "--pack", "demo"], "is not a list of Types"),
    (["prompt", "1.1", "--pack", "demo", "--samples", "0"], "--samples 0 is not a positive number"),
    (["prompt", "1.1", "--pack", "demo", "--jobs", "0"], "--jobs 0 is not a positive number"),
    (["prompt", "1.1", "--pack", "demo", "--strategy", "nope"], "no prompt strategy 'nope'"),
    (["prompt", "1.1", "--pack", "demo", "--temperature", "9"], "--temperature 9 is out of range"),
])
def test_bad_arguments(wb, argv, message):
    code, _, err = wb.run(*argv)
    assert code == 2 and message in err and wb.server.requests == []


@pytest.mark.parametrize("url, why", [
    ("http://localhost:99999/v1", "the port must be 1-65535"),
    ("http://256.1.1.1/v1", "'256.1.1.1' is not a valid host"),
    ("http://[::1/v1", "Invalid IPv6 URL"),
    ("http://a b/v1", "'a b' is not a valid host"),
    ("https://user:pw@gw.example:0/v1?api-key=abc", "the port must be 1-65535"),
    ("ftp://example.com/v1", "it needs http:// or https://"),
    ("http://localhost:8000/v1\x07", "a space or control character"),  # was a traceback from the http client
    ("http://localhost:8000/my v1", "a space or control character"),
])
@pytest.mark.parametrize("where", ["flag", "env"])
def test_malformed_base_url_is_one_line_before_anything_is_sent(wb, monkeypatch, url, why, where):
    if where == "env":
        monkeypatch.setenv("OPENAI_BASE_URL", url)
    code, _, err = wb.run("prompt", "1.1", "--pack", "demo", *(["--base-url", url] if where == "flag" else []))
    assert code == 2 and "is not an http(s) URL" in err and why in err and err.count("\n") == 1
    assert "Traceback" not in err and "pw" not in err and "api-key" not in err
    assert wb.server.requests == [] and wb.traces() == []


@pytest.mark.parametrize("flag, value, name", [("--temperature", "5", "temperature"), ("--top-p", "0", "top_p"),
                                               ("--max-tokens", "0", "max_tokens"), ("--timeout", "0", "timeout"),
                                               ("--timeout", "inf", "timeout"), ("--timeout", "1e300", "timeout")])
def test_out_of_range_settings_are_reported_before_the_missing_key(wb, monkeypatch, flag, value, name):
    monkeypatch.delenv("OPENAI_API_KEY")
    code, _, err = wb.run("prompt", "1.1", "--pack", "demo", "--base-url", "https://api.example.com/v1", flag, value)
    assert code == 2 and f"{flag} {float(value):g} is out of range" in err and "API key" not in err


@pytest.mark.parametrize("flags, line, fix", [
    # the flag that gave the value is named, as --judge '' is, and the fix says what to give it or to drop it
    (["--model", ""], "--model '' names no model",
     "give the model's name, e.g. --model gpt-4o, or drop --model to use workbench.toml [llm] model, OPENAI_MODEL "
     "or gpt-4o"),
    (["--model", "  "], "--model '  ' names no model", "e.g. --model gpt-4o, or drop --model"),
    (["--temperature", "9"], "--temperature 9 is out of range", "give --temperature a number from 0 to 2, or drop it"),
    (["--top-p", "0"], "--top-p 0 is out of range", "give --top-p a number in (0, 1], or drop it"),
    (["--max-tokens", "0"], "--max-tokens 0 is out of range", "give --max-tokens a positive integer, or drop it"),
    (["--timeout", "nan"], "--timeout nan is out of range", "give --timeout a positive number of seconds"),
    (["--base-url", ""], "--base-url: base URL '' is not an http(s) URL (it needs http:// or https:// and a host)",
     "give --base-url an http(s) URL, e.g. http://localhost:11434/v1, or drop it"),
])
@pytest.mark.parametrize("command", [["prompt", "1.1", "--pack", "demo"], ["chat", "1.1", "--pack", "demo"]])
def test_a_bad_setting_from_a_flag_names_the_flag_and_the_fix(wb, command, flags, line, fix):
    code, out, err = wb.run(*command, *flags)
    assert code == 2 and err.startswith(f"error: {line} — ") and fix in err and err.count("\n") == 1 and out == ""
    if command[0] == "prompt":
        code, out, _ = wb.run(*command, *flags, "--json")
        assert code == 2 and json.loads(out)["error"] == line and fix in json.loads(out)["fix"]
    assert wb.server.requests == [] and wb.traces() == []


@pytest.mark.parametrize("where", ["flag", "file", "env"])
def test_a_model_name_padded_with_spaces_or_a_line_end_is_sent_as_the_name(wb, monkeypatch, where):
    """`OPENAI_MODEL` read from a file saved with CRLF ends in \\r: the server was asked for 'fake-gpt-mini\\r', a model
    it does not serve, and the trace recorded that; the name is taken as the key and base URL are, without the padding."""
    padded = " fake-gpt-mini\r\n" if where == "env" else " fake-gpt-mini "
    if where == "env":
        monkeypatch.setenv("OPENAI_MODEL", padded)
    if where == "file":
        (wb.root / "workbench.toml").write_text(f'[llm]\nmodel = "{padded}"\n')
    code, _, err = wb.run("prompt", "1.1", "--pack", "demo", *(["--model", padded] if where == "flag" else []))
    assert code == 0, err
    assert [r["body"]["model"] for r in wb.server.chat_requests()] == ["fake-gpt-mini"]
    assert load_trace(wb.traces()[0]).data["request"]["model"] == "fake-gpt-mini"


@pytest.mark.parametrize("key", [SECRET + "\u2019", SECRET[:10] + "\n" + SECRET[10:], SECRET[:10] + " " + SECRET[10:]])
def test_a_key_that_cannot_be_sent_is_a_config_error_before_sending(wb, monkeypatch, key):
    """A curly quote pasted with the key was reported as a malformed response; a line break as an unreachable
    server, after a minute of retries."""
    monkeypatch.setenv("OPENAI_API_KEY", key)
    code, out, err = wb.run("prompt", "1.1", "--pack", "demo", "--json")
    assert code == 2 and "OPENAI_API_KEY has a character that cannot be sent" in err and err.count("\n") == 1
    assert json.loads(out)["exit_code"] == 2 and SECRET[:10] not in out + err
    assert wb.server.requests == [] and wb.traces() == []


@pytest.mark.parametrize("command, codes", [
    ([], ["0 ok", "2 bad input", "a file that cannot be written", "3 LLM failure", "130 interrupted", "141"]),
    (["prompt"], ["Exit 0:", "2: bad input", "3: the LLM failed", "130: Ctrl-C"]),
    (["chat"], ["Exit 0:", "2: bad input", "3: nothing was answered", "130: Ctrl-C"]),
    (["traces"], ["Exit 0:", "1: `verify` found", "2: bad input"]),
    (["import-chat"], ["Exit 0:", "2: bad input"]),
    (["check"], ["Exit 0:", "1: incorrect", "2: bad input", "3: the --judge model failed", "130: interrupted"]),
    (["verify"], ["Exit 0: ready", "1: not ready", "2: bad input", "3: the --judge model failed", "130: interrupted"]),
    (["list"], ["Exit 0: listed", "2: bad input"]),
    (["show"], ["Exit 0: shown", "2: bad input"]),
    (["reference"], ["Exit 0: shown", "2: bad input"]),
    (["train"], ["Exit 0: trained", "2: bad input", "a file that cannot be written", "130: interrupted"]),
    (["sweep"], ["Exit 0: swept", "2: bad input", "130: interrupted"]),
    (["pin"], ["Exit 0: pinned", "2: bad input", "a file that cannot be written"]),
])
def test_help_documents_the_exit_codes(command, codes, capsys):
    from cli import main

    with pytest.raises(SystemExit):
        main([*command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert all(code in text for code in codes), text


def test_a_trace_folder_that_cannot_be_made_stops_before_sending(wb, monkeypatch):
    (wb.root / "traces" / "1.1").write_text("a file in the way")
    for argv in (["prompt", "1.1"], ["prompt", "1.3", "1.1"], ["chat", "1.1"]):
        monkeypatch.setattr("sys.stdin", __import__("io").StringIO("/quit\n"))
        code, _, err = wb.run(*argv, "--pack", "demo")
        assert code == 2 and "cannot save traces in" in err and "not a folder" in err and err.count("\n") == 1, argv
    assert wb.server.requests == [] and wb.traces() == []  # no paid answer was lost


def test_prompt_all_with_traces_blocked_is_one_line_naming_what_is_in_the_way(wb):
    """traces/ itself a file: `prompt --all` said "cannot save traces in traces/1.1: Not a directory" and told to
    make traces/1.1 a writable folder, a path that does not exist; it names traces/ as the file in the way."""
    (wb.root / "traces").rmdir()
    (wb.root / "traces").write_text("a file in the way")
    for argv in (["prompt", "--all"], ["prompt", "--all", "--json"]):
        code, out, err = wb.run(*argv, "--pack", "demo")
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
        assert f"{wb.root / 'traces'} is a file, not a folder" in err, err
    assert json.loads(out)["exit_code"] == 2 and wb.server.requests == []
    assert (wb.root / "traces").read_text() == "a file in the way"  # nothing lost


def test_prompt_all_with_traces_unwritable_names_the_folder_that_refused(wb, monkeypatch):
    """traces/ read-only (chmod, a read-only mount): the line said "cannot save traces in traces/1.1: Permission
    denied", a folder that does not exist; it says the folder could not be made in traces/."""
    import pathlib

    real, traces = pathlib.Path.mkdir, wb.root / "traces"

    def mkdir(self, *args, **kwargs):  # as for a non-root user in a chmod 555 traces/ (root writes anyway)
        if self.parent == traces:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "mkdir", mkdir)
    code, _, err = wb.run("prompt", "--all", "--pack", "demo")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert f"traces/1.1: Permission denied (making it in {traces})" in err, err
    assert wb.server.requests == []


def test_a_failed_send_leaves_no_empty_trace_folder(wb, monkeypatch):
    wb.server.script({"status": 401})
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 3
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(""))
    wb.server.script({"status": 401})
    assert wb.run("chat", "1.3", "--pack", "demo")[0] == 3
    assert list((wb.root / "traces").iterdir()) == []


def test_a_failed_trace_write_is_one_line(wb, monkeypatch):
    def full(*_, **__):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("workbench.traces.atomic_write", full)
    code, _, err = wb.run("prompt", "1.1", "--pack", "demo")
    assert code == 2 and "cannot save the trace in" in err and "No space left" in err and err.count("\n") == 1


def test_a_failed_trace_write_leaves_no_empty_folder(wb, monkeypatch, tmp_path, file_size_limit):
    """A trace that did not fit (a full disk, a file size limit) left an empty traces/1.1/ and an empty
    workbench-unsaved-traces/1.1/ in the temp folder: a failed command leaves the tree as it found it."""
    import tempfile

    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    file_size_limit(64)  # the folder probe (an empty file) passes, the trace does not fit
    code, _, err = wb.run("prompt", "1.1", "--pack", "demo")
    file_size_limit(None)
    assert code == 2 and "cannot save the trace in" in err and "File too large" in err, err
    assert "the file size limit (ulimit -f) allows no file this large" in err and "free disk space" not in err, err
    assert list((wb.root / "traces").iterdir()) == [] and list((tmp_path / "tmp").iterdir()) == []
    (wb.root / "traces" / "1.1").mkdir()  # a folder that was there before stays
    file_size_limit(64)
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 2
    file_size_limit(None)
    assert [p.name for p in (wb.root / "traces").iterdir()] == ["1.1"]


def test_a_failed_trace_write_with_no_usable_temp_folder_is_one_line(wb, monkeypatch):
    """A full disk fills /tmp as well: gettempdir() then finds no usable temp folder, and its FileNotFoundError
    ended the failed trace write in a traceback instead of the one line saying the trace could not be saved."""
    import tempfile

    def full(*_, **__):
        raise OSError(28, "No space left on device")

    def no_temp_folder():
        raise FileNotFoundError(2, "No usable temporary directory found in ['/tmp', '/var/tmp', '/usr/tmp']")

    monkeypatch.setattr("workbench.traces.atomic_write", full)
    monkeypatch.setattr(tempfile, "gettempdir", no_temp_folder)
    code, _, err = wb.run("prompt", "1.1", "--pack", "demo")
    assert code == 2 and "cannot save the trace in" in err and "No space left" in err and err.count("\n") == 1, err


def test_an_answer_that_cannot_be_saved_in_traces_is_kept_elsewhere(wb, monkeypatch, tmp_path):
    import tempfile

    import workbench.traces

    real, calls = workbench.traces.make_folder, []

    def writable_only_before_sending(folder, keep=True):  # traces/1.1 turns read-only while the answer is on its way
        calls.append(folder)
        return real(folder, keep) if len(calls) == 1 else "Read-only file system"

    monkeypatch.setattr(workbench.traces, "make_folder", writable_only_before_sending)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    code, _, err = wb.run("prompt", "1.1", "--pack", "demo")
    assert code == 2 and "Read-only file system" in err and err.count("\n") == 1
    kept = Path(err.split("the answer is kept in ")[1].split(" ")[0].rstrip(";—"))
    assert kept.parent == tmp_path / "workbench-unsaved-traces" / "1.1"
    monkeypatch.setattr(workbench.traces, "make_folder", real)
    (wb.root / "traces" / "1.1").mkdir(parents=True, exist_ok=True)
    kept.rename(wb.root / "traces" / "1.1" / kept.name)  # what the message tells the user to do
    code, out, _ = wb.run("traces", "verify")
    assert code == 0, out
    assert wb.run("traces", "1.1", "--pack", "demo")[0] == 0


def test_a_batch_stops_sending_once_a_trace_cannot_be_saved(wb, monkeypatch, tmp_path):
    """traces/ turned unwritable (a full disk) during `prompt --all`: every further problem was still sent and paid
    for, the batch said the LLM failed (exit 3) and to rerun them all, the answers kept elsewhere included."""
    import tempfile

    import workbench.traces

    real, calls = workbench.traces.make_folder, []

    def writable_until_the_first_save(folder, keep=True):  # the 4 checks before sending pass, the first save fails
        calls.append(folder)
        return real(folder, keep) if len(calls) <= 4 else "No space left on device"

    monkeypatch.setattr(workbench.traces, "make_folder", writable_until_the_first_save)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    code, out, err = wb.run("prompt", "--all", "--pack", "demo", "--jobs", "1")
    assert code == 2, err
    assert len(wb.server.chat_requests()) == 1 and wb.traces() == []  # one answer paid for, none after it
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in err, err
    assert lines[0].startswith("unsaved 1.1: ") and "No space left on device" in lines[0]
    kept = Path(lines[0].split("the answer is kept in ")[1].split(" ")[0])
    assert kept.is_file() and kept.parent == tmp_path / "workbench-unsaved-traces" / "1.1"
    assert "`python cli.py prompt 1.2 1.3 2.1 --pack demo`" in lines[1] and "1.1 " not in lines[1].split("`")[1]
    assert "not sent" in out and "unsaved" in out
    calls.clear()
    doc = json.loads(wb.run("prompt", "--all", "--pack", "demo", "--jobs", "1", "--json")[1])
    assert doc["failed"] == ["1.1", "1.2", "1.3", "2.1"] and len(wb.server.chat_requests()) == 2


def test_config_file_settings_reach_the_request(wb):
    (wb.root / "workbench.toml").write_text(f'[llm]\nmodel = "fake-gpt-mini"\nbase_url = "{wb.server.url}"\n'
                                            'temperature = 0.5\nmax_tokens = 64\n')
    assert wb.run("prompt", "1.3", "--pack", "demo")[0] == 0
    body = wb.server.chat_requests()[-1]["body"]
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("fake-gpt-mini", 0.5, 64)  # config beats env
    assert wb.run("prompt", "1.3", "--pack", "demo", "--model", "fake-gpt", "--temperature", "0")[0] == 0
    body = wb.server.chat_requests()[-1]["body"]
    assert (body["model"], body["temperature"]) == ("fake-gpt", 0)  # flags beat config
    (wb.root / "workbench.toml").write_text('[llm]\napi_key = "sk-in-a-file"\n')
    code, _, err = wb.run("prompt", "1.3", "--pack", "demo")
    assert code == 2 and "OPENAI_API_KEY" in err and "sk-in-a-file" not in err


def test_the_api_key_is_never_written(wb):
    outputs = []
    for argv in (["prompt", "1.1", "--pack", "demo", "--samples", "2"],
                 ["prompt", "1.2", "--pack", "demo", "--strategy", "decompose", "--stream"],
                 ["prompt", "--all", "--pack", "demo", "--json"],
                 ["prompt", "1.1", "--pack", "demo", "--dry-run"],
                 ["traces"], ["traces", "verify"]):
        outputs.append("".join(wb.run(*argv)[1:]))
    wb.server.script({"status": 401, "message": f"Incorrect API key provided: {SECRET}"})
    outputs.append("".join(wb.run("prompt", "1.1", "--pack", "demo")[1:]))
    assert "***" in outputs[-1]
    assert wb.server.chat_requests()[0]["headers"]["authorization"] == f"Bearer {SECRET}"  # it was really used
    assert len(wb.traces()) >= 6
    assert SECRET.encode() not in wb.all_bytes()
    assert not any(SECRET in o for o in outputs)


def test_ctrl_c_leaves_only_complete_traces(wb):
    wb.server.delay = 0.3
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, str(REPO / "cli.py"), "prompt", "--all", "--pack", "demo", "--jobs", "2",
                             "--strategy", "self-critique"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while len(wb.server.chat_requests()) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130 and b"interrupted" in err and time.monotonic() - t0 < 3
    files = list((wb.root / "traces").rglob("*"))
    assert not [f for f in files if f.name.startswith(".")]
    assert all(load_trace(f).intact for f in files if f.is_file())
    assert len([f for f in files if f.is_file()]) < len(TRACED)


@pytest.mark.parametrize("flags", [[], ["--no-stream"]])  # a chat streams by default
def test_a_chat_whose_reader_goes_away_keeps_the_reply_then_sends_nothing_more(wb, flags):
    # `chat 1.1 < questions.txt | head -1`: the reply being paid for (to the strategy's prompt) is saved; the typed
    # questions are not sent, as no one would see their replies
    import threading

    reader_gone = threading.Event()  # the reply waits for it: a test stalled on a loaded machine still leaves first
    wb.server.delay = reader_gone
    proc = subprocess.Popen([sys.executable, str(REPO / "cli.py"), "chat", "1.1", "--pack", "demo", *flags],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdin.write(b"typed one\ntyped two\n")
    proc.stdin.close()
    assert proc.stderr.readline().startswith(b"chat about 1.1")  # piped, the banner is on stderr
    proc.stdout.close()  # before any reply came
    reader_gone.set()
    assert proc.wait(timeout=30) == 141
    rest = proc.stderr.read()  # the strategy's prompt and "model ›", nothing about the closed pipe
    assert b"fake-gpt" in rest and b"Traceback" not in rest and b"rror" not in rest, rest
    [path] = wb.traces()
    [request] = wb.server.chat_requests()
    assert "typed" not in json.dumps(request["body"]["messages"])
    [exchange] = load_trace(path).data["exchanges"]
    assert exchange["choices"][0]["content"].startswith("Answer 0 to turn 1: ")


@pytest.mark.parametrize("stream", [[], ["--stream"]])
def test_an_answer_cut_off_at_the_token_limit_is_saved_with_a_caution(wb, stream):
    """finish_reason length: the trace keeps the answer as it came, and the user is told it is incomplete."""
    wb.server.script({"finish_reason": "length"})
    code, out, err = wb.run("prompt", "1.3", "--pack", "demo", "--max-tokens", "50", *stream)
    assert code == 0 and "saved" in out
    assert "caution 1.3: the answer was cut off at the token limit" in err
    assert "larger --max-tokens (now 50)" in err
    [trace] = map(load_trace, wb.traces())
    assert trace.intact and trace.data["exchanges"][0]["choices"][0]["finish_reason"] == "length"
    assert "caution" not in wb.run("prompt", "1.3", "--pack", "demo", *stream)[2]  # a whole answer: no caution


def test_an_answer_cut_off_at_the_models_context_length_is_saved_with_a_caution(wb):
    """Mistral ends an answer that filled the model's context window with finish_reason model_length: it was saved
    and judged as a whole answer, with no caution."""
    wb.server.script({"finish_reason": "model_length"})
    code, out, err = wb.run("prompt", "1.3", "--pack", "demo")
    assert code == 0 and "saved" in out
    assert "caution 1.3: the answer was cut off at the model's context length" in err
    assert "--max-tokens" not in err  # a larger token limit cannot help


def test_cautions_follow_each_sample_through_top_ups_and_turns(wb):
    wb.server.script({"choices": 1}, {"finish_reason": "length"})  # n=2 gives one choice; the top-up is cut off
    code, out, _ = wb.run("prompt", "1.3", "--pack", "demo", "--samples", "2", "--json")
    assert code == 0 and json.loads(out)["cautions"] == ["", json.loads(out)["cautions"][1]]
    assert "token limit" in json.loads(out)["cautions"][1]
    # decompose: four turns; only the final reply's ending counts (an earlier cut-off turn was answered on)
    wb.server.script({"finish_reason": "length"})
    _, out, _ = wb.run("prompt", "1.2", "--pack", "demo", "--strategy", "decompose", "--json")
    assert json.loads(out)["cautions"] == [""]
    wb.server.script({}, {}, {}, {"finish_reason": "content_filter"})
    _, out, _ = wb.run("prompt", "1.2", "--pack", "demo", "--strategy", "decompose", "--json")
    assert "content filter" in json.loads(out)["cautions"][0]


def test_every_sample_of_one_call_with_n_gets_its_caution(wb):
    """One call served both samples (exchange sample null): its choices are samples 0 and 1, both cut off."""
    wb.server.script({"finish_reason": "length"})
    code, out, _ = wb.run("prompt", "1.3", "--pack", "demo", "--samples", "2", "--json")
    cautions = json.loads(out)["cautions"]
    assert code == 0 and len(cautions) == 2 and all("token limit" in c for c in cautions)
    assert load_trace(wb.traces()[0]).data["exchanges"][0]["sample"] is None


def test_batch_marks_problems_with_cut_off_answers(wb):
    wb.server.script({"match": "momentum", "finish_reason": "length"})
    code, out, err = wb.run("prompt", "1.1", "1.3", "--pack", "demo")
    assert code == 0 and "caution" in out  # the table's status
    assert "caution 1.3: the answer was cut off" in err and "caution 1.1" not in err
    _, out, _ = wb.run("prompt", "1.1", "1.3", "--pack", "demo", "--json")
    assert [o["cautions"] for o in json.loads(out)["outcomes"]] == [[""], [""]]


def test_an_empty_answer_is_saved_with_a_caution(wb):
    wb.server.script({"content": "  \n"})
    code, _, err = wb.run("prompt", "1.3", "--pack", "demo")
    assert code == 0 and "caution 1.3: the answer is empty" in err and len(wb.traces()) == 1


def test_an_empty_answer_cut_off_at_the_token_limit_says_so_and_how_to_fix_it(wb):
    """A reasoning model that spent the token limit thinking sent no answer: the caution said only "the answer is
    empty", with no word of the limit and no --max-tokens advice."""
    wb.server.script({"content_parts": [{"type": "thinking", "thinking": [{"type": "text", "text": "Hmm."}]}],
                      "finish_reason": "length"})
    code, _, err = wb.run("prompt", "1.3", "--pack", "demo")
    assert code == 0 and "caution 1.3: the answer was cut off at the token limit" in err
    assert "larger --max-tokens" in err and len(wb.traces()) == 1



def test_a_type_no_problem_has_is_refused_before_anything_is_sent(wb):
    code, _, err = wb.run("prompt", "--type", "4", "--pack", "demo")  # the demo pack has Types 1-3 only
    assert code == 2 and "no problem matches the selection" in err
    assert wb.server.chat_requests() == [] and wb.traces() == []


def test_the_trace_names_the_base_url_without_its_credentials(wb):
    url = wb.server.url.replace("//", "//user:pw-7f3a9c1e5b@") + "/?api-key=k-7f3a9"
    assert wb.run("prompt", "1.3", "--pack", "demo", "--base-url", url)[0] == 0
    [path] = wb.traces()
    assert load_trace(path).data["provider"] == {"base_url": wb.server.url}
    assert b"pw-7f3a9c1e5b" not in path.read_bytes() and b"k-7f3a9" not in path.read_bytes()


def test_multi_turn_samples_are_stored_sample_by_sample_each_turn_in_order(wb):
    assert wb.run("prompt", "1.2", "--pack", "demo", "--strategy", "decompose", "--samples", "2")[0] == 0
    data = load_trace(wb.traces()[0]).data
    assert [(e["sample"], e["turn"]) for e in data["exchanges"]] == [(0, 0), (0, 1), (0, 2), (0, 3),
                                                                      (1, 0), (1, 1), (1, 2), (1, 3)]
    assert [s["index"] for s in data["samples"]] == [0, 1]


def test_samples_are_numbered_from_0(wb):
    assert wb.run("prompt", "1.3", "--pack", "demo", "--samples", "3")[0] == 0
    assert [s["index"] for s in load_trace(wb.traces()[0]).data["samples"]] == [0, 1, 2]


def test_the_trace_records_the_sha256_of_the_strategy_file_it_sent(wb):
    import hashlib

    assert wb.run("prompt", "1.1", "--pack", "demo", "--strategy", "hinted")[0] == 0
    expected = hashlib.sha256((wb.root / "prompts" / "hinted.yaml").read_bytes()).hexdigest()
    assert load_trace(wb.traces()[0]).data["strategy_sha256"] == expected


def test_run_problem_refuses_0_samples_before_sending(wb):
    import pytest

    from workbench.errors import UsageError
    from workbench.llm_settings import resolve_settings
    from workbench.problems import load_pack
    from workbench.prompts import load_strategy
    from workbench.runner import run_problem

    with pytest.raises(UsageError, match="--samples must be at least 1, got 0"):
        run_problem(load_pack("demo").get("1.3"), load_strategy("direct"), resolve_settings(), samples=0)
    assert wb.server.chat_requests() == []


def test_each_sample_of_one_call_with_n_keeps_its_own_answer(wb):
    assert wb.run("prompt", "1.3", "--pack", "demo", "--samples", "3")[0] == 0
    trace = load_trace(wb.traces()[0])
    replies = [s["messages"][-1]["content"] for s in trace.samples]
    assert [r.split(" to turn")[0] for r in replies] == ["Answer 0", "Answer 1", "Answer 2"]  # the server numbers them


def test_samples_after_a_failed_one_are_numbered_from_0(wb):
    from workbench.llm_settings import resolve_settings
    from workbench.problems import load_pack
    from workbench.prompts import load_strategy
    from workbench.runner import run_problem

    wb.server.script({"status": 400, "message": "the first conversation broke"})  # jobs=1: sample 0's first turn
    trace = run_problem(load_pack("demo").get("1.3"), load_strategy("self-critique"), resolve_settings(), samples=2, jobs=1)
    assert [(e["sample"], e["turn"]) for e in trace["exchanges"]] == [(0, 0), (0, 1)]
    assert [s["index"] for s in trace["samples"]] == [0] and "the first conversation broke" in trace["errors"][0]



def _in_flight_together(server, count: int) -> list[int]:
    """Hold every answer until `count` requests have arrived (or 5 s pass); what arrived by then."""
    import threading
    import time

    server.delay, seen = threading.Event(), []

    def release():
        deadline = time.monotonic() + 5
        while len(server.chat_requests()) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        seen.append(len(server.chat_requests()))
        server.delay.set()

    threading.Thread(target=release, daemon=True).start()
    return seen


def test_samples_a_call_with_n_left_out_are_asked_at_once(wb):
    wb.server.script({"choices": 1, "delay": 0})  # one of the three answers: the other two are asked one by one
    seen = _in_flight_together(wb.server, 3)
    assert wb.run("prompt", "1.3", "--pack", "demo", "--samples", "3")[0] == 0
    assert seen == [3]  # the call with n, then the two missing samples in flight together


def test_a_batch_asks_a_problem_s_samples_at_once_whatever_its_jobs(wb):
    wb.server.script({"choices": 1, "delay": 0})  # one of the three answers: the other two are asked one by one
    seen = _in_flight_together(wb.server, 3)
    assert wb.run("prompt", "1.3", "2.2", "--pack", "demo", "--samples", "3", "--jobs", "1")[0] == 0
    assert seen == [3]


def test_streamed_pieces_of_a_multi_turn_run_name_their_sample_and_turn(wb):
    from collections import defaultdict

    from workbench.llm_settings import resolve_settings
    from workbench.problems import load_pack
    from workbench.prompts import load_strategy
    from workbench.runner import run_problem

    wb.server.script(*[{"reasoning": f"thinking {k}"} for k in range(4)])  # every call of 2 samples x 2 turns
    answers, thoughts = defaultdict(str), defaultdict(str)

    def answer(sample, turn, text):
        answers[sample, turn] += text

    def thought(sample, turn, text):
        thoughts[sample, turn] += text

    trace = run_problem(load_pack("demo").get("1.3"), load_strategy("self-critique"), resolve_settings(stream=True),
                        samples=2, on_delta=answer, on_reasoning=thought)
    replies = {(k, t): s["messages"][2 + 2 * t]["content"] for k, s in enumerate(trace["samples"]) for t in (0, 1)}
    assert dict(answers) == replies and sorted(thoughts) == sorted(replies)
    assert all(text.startswith("thinking ") for text in thoughts.values())


def test_multi_turn_samples_are_asked_at_once(wb):
    seen = _in_flight_together(wb.server, 2)
    assert wb.run("prompt", "1.3", "--pack", "demo", "--strategy", "self-critique", "--samples", "2")[0] == 0
    assert seen == [2]  # both conversations' first turns in flight together


def test_a_bug_in_one_multi_turn_sample_is_raised_not_taken_for_a_failed_sample(wb, monkeypatch):
    import pytest

    from workbench import llm
    from workbench.llm_settings import resolve_settings
    from workbench.problems import load_pack
    from workbench.prompts import load_strategy
    from workbench.runner import run_problem

    real, calls = llm.complete, []

    def complete(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("a bug, not the server")
        return real(*args, **kwargs)

    monkeypatch.setattr(llm, "complete", complete)
    with pytest.raises(RuntimeError, match="a bug, not the server"):
        run_problem(load_pack("demo").get("1.3"), load_strategy("self-critique"), resolve_settings(), samples=2, jobs=1)


def test_a_trace_finished_after_ctrl_c_is_not_written(wb, monkeypatch):
    import threading
    import time

    import pytest

    import workbench.runner as runner
    from workbench.llm_settings import resolve_settings
    from workbench.problems import load_pack

    hold, finished, real = threading.Event(), [], runner.run_problem

    def run_problem(problem, *args, **kwargs):
        try:
            return real(problem, *args, **kwargs)
        finally:
            finished.append(problem.id)

    monkeypatch.setattr(runner, "run_problem", run_problem)
    wb.server.script({"match": "momentum", "delay": hold})  # 1.3 answers only after Ctrl-C

    def ctrl_c(outcome):
        raise KeyboardInterrupt

    pack = load_pack("demo")
    with pytest.raises(KeyboardInterrupt):
        runner.run_many([pack.get("1.1"), pack.get("1.3")], "direct", resolve_settings(), jobs=2, on_outcome=ctrl_c)
    hold.set()
    deadline = time.monotonic() + 10
    while "1.3" not in finished and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # time to write, had it not been stopped
    assert finished == ["1.1", "1.3"] and [p.parent.name for p in wb.traces()] == ["1.1"]


def test_a_trace_that_cannot_be_written_fails_its_problem_alone(wb, monkeypatch):
    import workbench.runner as runner
    from workbench.errors import WriteError
    from workbench.llm_settings import resolve_settings
    from workbench.problems import load_pack

    real = runner.write_trace

    def write_trace(trace):
        if trace["problem"] == "1.3":
            raise WriteError("cannot write traces/1.3: disk full")
        return real(trace)

    monkeypatch.setattr(runner, "write_trace", write_trace)
    pack = load_pack("demo")
    outcomes = runner.run_many([pack.get("1.1"), pack.get("1.3")], "direct", resolve_settings(), samples=2, jobs=1)
    assert [(o.problem, o.ok, o.error, o.requested) for o in outcomes] == [
        ("1.1", True, None, 2), ("1.3", False, "cannot write traces/1.3: disk full", 2)]


def test_a_batch_outcome_names_every_failed_sample(wb):
    from workbench.llm_settings import resolve_settings
    from workbench.problems import load_pack
    from workbench.runner import run_many

    wb.server.script({"choices": 1}, {"status": 400, "message": "sampler exploded"},
                     {"status": 400, "message": "sampler exploded"})
    [outcome] = run_many([load_pack("demo").get("1.3")], "direct", resolve_settings(), samples=3)
    assert (outcome.samples, outcome.requested) == (1, 3) and outcome.error.count("sampler exploded") == 2


def test_a_bug_in_a_batch_is_raised_and_no_problem_is_started_after_ctrl_c(wb, monkeypatch):
    import time

    import pytest

    import workbench.runner as runner
    from workbench.llm_settings import resolve_settings
    from workbench.problems import load_pack

    pack = load_pack("demo")
    problems = [pack.get(i) for i in ("1.1", "1.2", "1.3")]

    def ctrl_c(outcome):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runner.run_many(problems, "direct", resolve_settings(), jobs=1, on_outcome=ctrl_c)
    time.sleep(0.5)
    assert len(wb.server.chat_requests()) <= 2  # 1.2 at most was started before Ctrl-C reached the pool

    def broken(problem, *args, **kwargs):
        raise RuntimeError("a bug, not the server")

    monkeypatch.setattr(runner, "run_problem", broken)
    with pytest.raises(RuntimeError, match="a bug, not the server"):
        runner.run_many(problems, "direct", resolve_settings(), jobs=1)


def _edit(path: Path) -> None:
    """Change a trace's answer and leave its hash: the edit `traces verify` reports."""
    data = json.loads(path.read_text())
    data["samples"][0]["messages"][-1]["content"] = "a better answer, typed in later"
    path.write_text(json.dumps(data))


def test_missing_skips_only_problems_with_an_intact_trace_of_the_same_model_and_strategy(wb):
    """A rerun of `prompt --all` re-asked (and paid for) every problem; --missing asks only those without a trace."""
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0  # the same model and strategy: skipped
    assert wb.run("prompt", "1.2", "--pack", "demo", "-s", "decompose")[0] == 0  # another strategy
    assert wb.run("prompt", "1.3", "--pack", "demo", "--model", "fake-gpt-mini")[0] == 0  # another model
    assert wb.run("prompt", "2.1", "--pack", "demo")[0] == 0
    [edited] = [p for p in wb.traces() if p.parent.name == "2.1"]
    _edit(edited)  # an edited trace is no evidence: asked again
    assert wb.run("traces", "verify")[0] == 1
    before = {p for p in wb.traces()}
    asked = len(wb.server.chat_requests())
    code, out, err = wb.run("prompt", "--all", "--pack", "demo", "--missing")
    assert code == 0, err
    new = sorted(p.parent.name for p in set(wb.traces()) - before)
    assert new == ["1.2", "1.3", "2.1"] and len(wb.server.chat_requests()) == asked + 3
    assert f"skipped 1 problem that already has a fake-gpt / direct trace from {wb.server.url} (--missing): 1.1" in err
    assert "3 problems" in out  # the batch table's title counts those sent


def test_missing_with_nothing_left_sends_nothing_exit_0_and_names_them_in_json(wb):
    assert wb.run("prompt", "--all", "--pack", "demo")[0] == 0
    asked = len(wb.server.chat_requests())
    code, out, err = wb.run("prompt", "--all", "--pack", "demo", "--missing", "--json")
    data = json.loads(out)
    assert code == 0 and data["outcomes"] == [] and data["already_traced"] == TRACED and data["failed"] == []
    assert len(wb.server.chat_requests()) == asked and len(wb.traces()) == len(TRACED)
    code, out, err = wb.run("prompt", "--all", "--pack", "demo", "--missing")
    assert code == 0 and f"skipped 4 problems that already have a fake-gpt / direct trace from {wb.server.url} (--missing)" in err
    assert "nothing left to send" in err and len(wb.server.chat_requests()) == asked
    code, out, _ = wb.run("prompt", "--all", "--pack", "demo", "--json")  # without --missing: asked again
    assert code == 0 and json.loads(out)["already_traced"] == [] and len(wb.traces()) == 2 * len(TRACED)


def test_missing_takes_the_model_from_the_flags_config_and_environment_and_named_ids(wb):
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0  # OPENAI_MODEL=fake-gpt
    asked = len(wb.server.chat_requests())
    assert wb.run("prompt", "1.1", "--pack", "demo", "--missing")[0] == 0
    assert len(wb.server.chat_requests()) == asked  # the same model from the environment: nothing sent
    (wb.root / "workbench.toml").write_text('[llm]\nmodel = "fake-gpt-mini"\n')
    code, out, err = wb.run("prompt", "1.1", "1.3", "--pack", "demo", "--missing", "--json")
    assert code == 0 and sorted(o["problem"] for o in json.loads(out)["outcomes"]) == ["1.1", "1.3"]
    assert json.loads(out)["already_traced"] == []  # the config's model has no trace yet
    code, out, err = wb.run("prompt", "1.1", "1.3", "--pack", "demo", "--missing", "--model", "fake-gpt", "--json")
    assert code == 0 and [o["problem"] for o in json.loads(out)["outcomes"]] == ["1.3"]  # the flag beats the config
    assert json.loads(out)["already_traced"] == ["1.1"]


def test_missing_wants_as_many_samples_and_this_pack_s_trace(wb):
    assert wb.run("prompt", "3.1", "--pack", "demo")[0] == 0  # demo's 3.1 is no trace of a2's 3.1
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0  # one sample: not the three asked for below
    code, out, _ = wb.run("prompt", "3.1", "--missing", "--json")
    assert code == 0 and [o["problem"] for o in json.loads(out)["outcomes"]] == ["3.1"]
    code, out, _ = wb.run("prompt", "1.1", "--pack", "demo", "--missing", "--samples", "3", "--json")
    assert code == 0 and [o["problem"] for o in json.loads(out)["outcomes"]] == ["1.1"]
    code, out, err = wb.run("prompt", "1.1", "--pack", "demo", "--missing", "--samples", "2")
    assert code == 0 and f"already has a fake-gpt / direct trace from {wb.server.url} of 2 samples or more (--missing): 1.1" in err


def test_missing_counts_a_chat_of_the_strategy_and_an_imported_chat_of_the_model(wb, monkeypatch, tmp_path):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert wb.run("chat", "1.1", "--pack", "demo")[0] == 0  # strategy chat:direct: it began as `prompt -s direct`
    transcript = tmp_path / "chat.md"
    transcript.write_text("## User\nWhat is momentum?\n\n## Assistant\nA running average of the gradients.\n")
    assert wb.run("import-chat", str(transcript), "--problem", "1.3", "--pack", "demo", "--model", "fake-gpt")[0] == 0
    asked = len(wb.server.chat_requests())
    code, out, err = wb.run("prompt", "--all", "--pack", "demo", "--missing", "--json")
    data = json.loads(out)
    assert code == 0 and [o["problem"] for o in data["outcomes"]] == ["1.2", "2.1"]
    assert data["already_traced"] == ["1.1", "1.3"] and len(wb.server.chat_requests()) == asked + 2
    assert f"skipped 1 problem that already has a fake-gpt / direct trace from {wb.server.url} (--missing): 1.1" in err
    assert "skipped 1 problem covered by an imported fake-gpt chat (--missing): 1.3" in err
    code, out, _ = wb.run("prompt", "1.1", "1.3", "--pack", "demo", "--missing", "-s", "self-critique", "--json")
    data = json.loads(out)  # a chat begun with direct is no self-critique trace; an import stands for any strategy
    assert [o["problem"] for o in data["outcomes"]] == ["1.1"] and data["already_traced"] == ["1.3"]
    code, out, _ = wb.run("prompt", "1.3", "--pack", "demo", "--missing", "--model", "fake-gpt-mini", "--json")
    assert [o["problem"] for o in json.loads(out)["outcomes"]] == ["1.3"]  # imported for another model


def test_missing_wants_a_trace_from_the_same_provider_and_says_an_import_covers_but_is_not_its_result(wb, tmp_path):
    """A llama3.1 of one local server is not the llama3.1 of another (another size, quantisation or tag), and the
    citation names the provider: --missing asks a server for what only another has answered. An imported chat is its
    own provider's answer (study gives it its own column under --by model+provider), never another's result: --missing
    does not pay for the model's answer again, but says the chat covers it, that it is no trace of the server asked,
    and how to have that server answer too; --json says per id what covers it."""
    from openai_server import FakeOpenAI

    here = wb.server.url
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    transcript = tmp_path / "chat.md"
    transcript.write_text("## User\nWhat is momentum?\n\n## Assistant\nA running average of the gradients.\n")
    assert wb.run("import-chat", str(transcript), "--problem", "1.3", "--pack", "demo", "--model", "fake-gpt")[0] == 0
    [api] = [p for p in wb.traces() if p.parent.name == "1.1"]
    [chat] = [p for p in wb.traces() if p.parent.name == "1.3"]
    other = FakeOpenAI().start()
    try:
        code, out, err = wb.run("prompt", "1.1", "1.3", "--pack", "demo", "--missing", "--base-url", other.url, "--json")
        data = json.loads(out)
        assert code == 0 and [o["problem"] for o in data["outcomes"]] == ["1.1"] and data["already_traced"] == ["1.3"]
        assert len(other.chat_requests()) == 1  # 1.1 asked of the other server; 1.3's imported chat is not paid for again
        assert data["already_traced_by"] == {"1.3": {"file": str(chat), "imported": True}}
        assert (f"skipped 1 problem covered by an imported fake-gpt chat (--missing): 1.3; an imported chat is no trace "
                f"of {other.url}: to have it answer too, `python cli.py prompt 1.3 --pack demo --base-url {other.url}`"
                in err)
        [sent] = [p for p in wb.traces() if p.parent.name == "1.1" and other.url in p.read_text()]
        assert load_trace(sent).base_url == other.url
    finally:
        other.stop()
    asked = len(wb.server.chat_requests())
    code, out, err = wb.run("prompt", "1.1", "--pack", "demo", "--missing", "--base-url", here + "/")  # the same server
    assert code == 0 and len(wb.server.chat_requests()) == asked
    assert f"already has a fake-gpt / direct trace from {here} (--missing): 1.1" in err
    code, out, err = wb.run("prompt", "1.1", "--pack", "demo", "--missing", "--base-url", here + "/", "--json")
    assert json.loads(out)["already_traced_by"] == {"1.1": {"file": str(api), "imported": False}}


def test_a_manual_trace_is_read_as_the_trace_of_the_provider_it_records_not_as_an_imported_chat(wb):
    """A `manual` trace (written in the trace format by hand or another tool) was `imported` for --missing, which
    called it "an imported chat" and let it cover any provider and strategy, while study (provider_of) gave it the
    base URL it records, as an API trace's. Only `import` traces are imported chats: a manual trace answers for the
    model, server and strategy it records, as in study and its citation."""
    from workbench.study import provider_of

    assert wb.run("prompt", "1.1", "1.3", "--pack", "demo")[0] == 0
    for path, where in zip(sorted(wb.traces()), ("http://elsewhere.invalid/v1", wb.server.url)):
        data = json.loads(path.read_text())
        path.unlink()
        write_trace(dict(data, source="manual", provider={"base_url": where}), wb.root / "traces")
    elsewhere, here = sorted((load_trace(p) for p in wb.traces()), key=lambda t: t.problem)
    assert not elsewhere.imported and provider_of(elsewhere) == "http://elsewhere.invalid/v1"
    assert elsewhere.citation().startswith("fake-gpt-2026-01-15 via http://elsewhere.invalid/v1, accessed ")
    code, out, err = wb.run("prompt", "1.1", "1.3", "--pack", "demo", "--missing", "--json")
    data = json.loads(out)
    assert code == 0 and [o["problem"] for o in data["outcomes"]] == ["1.1"], err  # another server's: asked here
    assert data["already_traced_by"] == {"1.3": {"file": str(here.path), "imported": False}}
    assert "imported" not in err and \
        f"skipped 1 problem that already has a fake-gpt / direct trace from {wb.server.url} (--missing): 1.3" in err
    code, out, _ = wb.run("traces", "1.3", "--pack", "demo")
    [row] = [line for line in out.splitlines() if here.short_hash in line and line.startswith("│")]
    assert code == 0 and "manual" in row and "IMPORTED" not in row, out


def test_missing_with_nothing_left_names_what_covers_the_problems_traces_or_imported_chats(wb, tmp_path):
    """--missing with nothing left said "every problem selected has such a trace" where an imported chat covered some
    or all of them, the line above having just said an imported chat is no such trace; it names what covers them."""
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    transcript = tmp_path / "chat.md"
    transcript.write_text("## User\nWhat is momentum?\n\n## Assistant\nA running average of the gradients.\n")
    assert wb.run("import-chat", str(transcript), "--problem", "1.3", "--pack", "demo", "--model", "fake-gpt")[0] == 0
    asked = len(wb.server.chat_requests())
    for ids, cover in ((["1.1"], "such a trace"), (["1.3"], "an imported fake-gpt chat"),
                       (["1.1", "1.3"], "such a trace or an imported fake-gpt chat")):
        code, _, err = wb.run("prompt", *ids, "--pack", "demo", "--missing")
        assert code == 0 and (f"nothing left to send: every problem selected has {cover} (drop --missing to ask "
                              "again)") in " ".join(err.split()), err
    assert len(wb.server.chat_requests()) == asked


def test_dry_run_missing_shows_only_what_would_be_sent(wb, monkeypatch):
    assert wb.run("prompt", "1.1", "1.3", "--pack", "demo")[0] == 0
    asked = len(wb.server.chat_requests())
    code, out, err = wb.run("prompt", "--all", "--pack", "demo", "--missing", "--dry-run", "--json")
    data = json.loads(out)
    assert code == 0 and [p["problem"] for p in data["problems"]] == ["1.2", "2.1"]
    assert data["already_traced"] == ["1.1", "1.3"]
    code, out, err = wb.run("prompt", "--all", "--pack", "demo", "--missing", "--dry-run")
    assert code == 0 and "1.2 Learning rate" in out and "2.1 Tiny net" in out and "1.1 Minimum norm" not in out
    assert f"skipped 2 problems that already have a fake-gpt / direct trace from {wb.server.url} (--missing): 1.1, 1.3" in err
    code, out, err = wb.run("prompt", "1.1", "--pack", "demo", "--missing", "--dry-run")
    assert code == 0 and "nothing left to send" in err and "would send" not in out
    assert len(wb.server.chat_requests()) == asked and len(wb.traces()) == 2


def test_a_trace_records_the_question_it_asked_under_its_hash(wb, monkeypatch):
    """A trace named the strategy's file by its sha256 but not the problem: an edit of the record after the trace
    (the statement fixed, the answer form changed) could not be told. prompt and chat traces record the question's
    fingerprint as problem_sha256, inside the hashed content (changing it breaks the hash)."""
    assert wb.run("prompt", "1.1", "--pack", "demo", "-s", "decompose")[0] == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("why?\n/quit\n"))
    assert wb.run("chat", "1.2", "--pack", "demo", "--no-stream")[0] == 0
    for path, pid in zip(wb.traces(), ("1.1", "1.2")):
        data = json.loads(path.read_text())
        assert data["problem_sha256"] == question_sha256(wb.root / "problems" / "demo" / f"{pid}.yaml")
        assert data["hash"] == content_hash(data)
        path.write_text(json.dumps(dict(data, problem_sha256="0" * 64)))
        assert "content edited" in load_trace(path).fault


def test_missing_asks_again_a_problem_whose_trace_is_stale(wb):
    """--missing took a trace of the question as it was before the record changed (the statement fixed) as the
    problem's answer, so the user never got one to the question as it is. A stale trace does not count: the problem
    is sent again, and a line (and --json's stale_traced) says why; a trace written before traces recorded the
    question still counts, as its question is not known."""
    assert wb.run("prompt", "1.1", "1.3", "--pack", "demo")[0] == 0
    old = next((wb.root / "traces" / "1.3").glob("*.json"))  # 1.3's, as written before problem_sha256 existed
    data = json.loads(old.read_text())
    del data["problem_sha256"]
    old.unlink()
    write_trace(data, wb.root / "traces")
    for pid in ("1.1", "1.3"):  # both records change
        record = wb.root / "problems" / "demo" / f"{pid}.yaml"
        record.write_text(record.read_text().replace('statement: "', 'statement: "Now: ', 1))
    [stale] = [load_trace(p) for p in wb.traces() if p.parent.name == "1.1"]
    code, out, err = wb.run("prompt", "1.1", "1.3", "--pack", "demo", "--missing", "--dry-run", "--json")
    assert code == 0 and json.loads(out)["stale_traced"] == ["1.1"] and json.loads(out)["already_traced"] == ["1.3"]
    assert (f"asking 1 problem again whose fake-gpt / direct trace from {wb.server.url} is stale (its problem changed "
            f"since) (--missing): 1.1 ({stale.started_at[:10]})") in err, err
    asked = len(wb.server.chat_requests())
    code, out, err = wb.run("prompt", "1.1", "1.3", "--pack", "demo", "--missing", "--json")
    data = json.loads(out)
    assert code == 0 and [o["problem"] for o in data["outcomes"]] == ["1.1"] and data["stale_traced"] == ["1.1"]
    assert data["already_traced"] == ["1.3"] and len(wb.server.chat_requests()) == asked + 1
    assert "Now: Find $w^*$" in wb.server.chat_requests()[-1]["body"]["messages"][-1]["content"]
    code, out, _ = wb.run("prompt", "1.1", "1.3", "--pack", "demo", "--missing", "--json")  # 1.1 is current now
    assert code == 0 and json.loads(out)["stale_traced"] == [] and json.loads(out)["already_traced"] == ["1.1", "1.3"]
