"""llm.py through the real openai client against a loopback server: records, retries, streaming, n, faults, secrecy."""

from __future__ import annotations

import json
import os
import time

import pytest

from llm_fixtures import SECRET, fake_llm  # noqa: F401
from workbench import llm, llm_settings
from workbench.config import load_config
from workbench.errors import ConfigError, LLMError

USER = [{"role": "user", "content": "What is 2+2?"}]


@pytest.fixture
def settings(fake_llm, monkeypatch):
    monkeypatch.setattr(llm, "BACKOFF_BASE", 0.01)
    return llm.Settings(base_url=fake_llm.url, model="fake-gpt", api_key=SECRET, max_retry_seconds=5, timeout=5)


def test_complete_records_the_exchange(settings, fake_llm):
    result = llm.complete(USER, settings)
    ex = result.to_exchange()
    assert ex["messages"] == USER
    assert ex["model"] == "fake-gpt-2026-01-15" and ex["system_fingerprint"] == "fp_fake_0001"
    assert ex["response_id"].startswith("chatcmpl-") and ex["created"] > 1_600_000_000
    assert ex["choices"][0]["finish_reason"] == "stop" and "What is 2+2?" in ex["choices"][0]["content"]
    assert ex["usage"]["total_tokens"] > 0 and ex["attempts"] == 1 and ex["latency_s"] >= 0
    sent = fake_llm.chat_requests()[0]
    assert sent["headers"]["authorization"] == f"Bearer {SECRET}"
    assert sent["body"]["messages"] == USER and "n" not in sent["body"]


def test_settings_repr_hides_the_key(settings):
    assert SECRET not in repr(settings) and SECRET not in str(settings.request())


def test_n_uses_the_parameter_and_tops_up_with_parallel_calls(settings, fake_llm):
    full = llm.sample(USER, settings, 3)
    assert len(full.texts) == 3 and len(fake_llm.chat_requests()) == 1
    assert fake_llm.chat_requests()[0]["body"]["n"] == 3
    fake_llm.script({"choices": 1})  # a server that ignores n (Ollama does)
    topped = llm.sample(USER, settings, 3)
    assert len(topped.texts) == 3 and not topped.errors
    assert [r["body"].get("n") for r in fake_llm.chat_requests()[1:]] == [3, None, None]


def test_only_a_400_to_n_is_asked_again_without_n(settings, fake_llm):
    fake_llm.script({"status": 401})
    with pytest.raises(LLMError, match=r"rejected the API key \(401\)"):
        llm.sample(USER, settings, 3)
    assert [r["body"].get("n") for r in fake_llm.chat_requests()] == [3]


def test_retry_after_is_honoured(settings, fake_llm, monkeypatch):
    waits = []  # the waits asked of time.sleep, not wall time (a loaded machine made an upper bound flaky)
    monkeypatch.setattr(llm.time, "sleep", waits.append)
    fake_llm.script({"status": 429, "headers": {"Retry-After": "1"}})
    assert llm.complete(USER, settings).attempts == 2 and waits == [1.0]
    waits.clear()
    fake_llm.script({"status": 429, "headers": {"retry-after-ms": "300"}}, {"status": 503})
    assert llm.complete(USER, settings).attempts == 3 and waits[0] == 0.3 and len(waits) == 2


def test_retry_after_as_a_date_or_in_the_past(monkeypatch):
    from email.utils import formatdate

    now = 1_700_000_000.25  # a fixed clock: a stall between formatting and reading the date cannot move the wait
    monkeypatch.setattr(llm.time, "time", lambda: now)
    assert llm.retry_after_seconds({"retry-after": formatdate(now + 3, usegmt=True)}) == pytest.approx(2.75)  # whole s
    assert llm.retry_after_seconds({"retry-after": formatdate(now - 60, usegmt=True)}) == 0
    assert llm.retry_after_seconds({"retry-after": "-5"}) == 0 and llm.retry_after_seconds({"retry-after-ms": "-5"}) == 0
    assert llm.retry_after_seconds({"retry-after": "soon"}) is None and llm.retry_after_seconds({"retry-after": " "}) is None


@pytest.mark.parametrize("value", ["-1", "soon", ""])
def test_a_retry_after_of_no_use_is_retried_with_backoff(settings, fake_llm, value):
    """A negative wait crashed time.sleep; a value that is neither seconds nor a date raised a ValueError."""
    fake_llm.script({"status": 429, "headers": {"Retry-After": value}})
    assert llm.complete(USER, settings).attempts == 2


def test_retry_after_beyond_the_budget_gives_up_at_once(settings, fake_llm):
    fake_llm.script({"status": 429, "headers": {"Retry-After": "30"}})
    t0 = time.monotonic()
    with pytest.raises(LLMError, match=r"rate limited.*asked to wait 30 s") as info:
        llm.complete(USER, settings.replace(max_retry_seconds=2))
    assert time.monotonic() - t0 < 1.5 and "--jobs" in info.value.fix


@pytest.mark.parametrize("fault", [{"status": 500}, {"status": 502}, {"drop": True}, {"status": 429}, {"status": 408},
                                   {"status": 409}])
def test_transient_faults_are_retried(settings, fake_llm, fault):
    fake_llm.script(dict(fault), dict(fault))
    assert llm.complete(USER, settings).attempts == 3


def test_retries_are_bounded_in_time(settings, fake_llm):
    fake_llm.script(*[{"status": 500}] * 200)
    t0 = time.monotonic()
    with pytest.raises(LLMError, match=r"failed \(500\).*gave up after \d+ attempts"):
        llm.complete(USER, settings.replace(max_retry_seconds=0.5))
    assert time.monotonic() - t0 < 2


def test_timeout_is_retried_then_reported(settings, fake_llm):
    fake_llm.script({"delay": 1.0}, {"delay": 1.0})
    with pytest.raises(LLMError, match="timed out after 0.3 s"):
        llm.complete(USER, settings.replace(timeout=0.3, max_retry_seconds=0.4))
    fake_llm.script({"delay": 3.0})  # the retry must answer within the timeout: 1 s leaves room on a loaded machine
    assert llm.complete(USER, settings.replace(timeout=1.0)).attempts == 2


def test_unreachable_server_fails_fast(settings):
    t0 = time.monotonic()
    with pytest.raises(LLMError, match=r"cannot reach http://127.0.0.1:9/v1.*gave up after 3 attempts"):
        llm.complete(USER, settings.replace(base_url="http://127.0.0.1:9/v1"))
    assert time.monotonic() - t0 < 3


@pytest.mark.parametrize("fault, pattern", [
    ({"status": 401}, r"rejected the API key \(401\)"),
    ({"status": 403, "message": "no access"}, r"refused access \(403\)"),
    ({"status": 400, "code": "context_length_exceeded", "message": "maximum context length is 8192 tokens"},
     r"too long for fake-gpt's context window"),
    ({"status": 400, "message": "temperature out of range"}, r"rejected the request \(400\): temperature"),
    ({"status": 429, "code": "insufficient_quota", "message": "You exceeded your quota"}, r"quota exhausted"),
    ({"bad_json": True}, r"malformed response .*not JSON"),
])
def test_permanent_faults_are_one_clear_error(settings, fake_llm, fault, pattern):
    fake_llm.script(fault)
    with pytest.raises(LLMError, match=pattern):
        llm.complete(USER, settings)
    assert len(fake_llm.chat_requests()) == 1  # not retried


def test_a_model_that_wants_max_completion_tokens_gets_it(settings, fake_llm):
    """OpenAI's reasoning models refuse max_tokens with a 400 that names the new parameter: send it renamed."""
    fake_llm.script({"status": 400, "code": "unsupported_parameter",
                     "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
                                "Use 'max_completion_tokens' instead."})
    assert llm.complete(USER, settings.replace(max_tokens=50)).text
    first, second = (r["body"] for r in fake_llm.chat_requests())
    assert first["max_tokens"] == 50 and second["max_completion_tokens"] == 50 and "max_tokens" not in second


def test_unknown_model_names_the_model(settings):
    with pytest.raises(LLMError, match=r"model 'gpt-9' not found at .* \(404\)") as info:
        llm.complete(USER, settings.replace(model="gpt-9"))
    assert "--model" in info.value.fix


@pytest.mark.parametrize("body, ctype", [("404 page not found", "text/plain"),  # Ollama without /v1
                                         ('{"detail": "Not Found"}', "application/json"),  # vLLM (FastAPI)
                                         ("<html><body><h1>Not Found</h1></body></html>", "text/html")])
def test_a_404_without_an_api_error_blames_the_url_not_the_model(settings, fake_llm, body, ctype):
    """A base URL without /v1 was reported as "model 'fake-gpt' not found", with advice to `ollama pull` it."""
    fake_llm.script({"status": 404, "body": body, "content_type": ctype})
    with pytest.raises(LLMError, match=r"no chat-completions endpoint at .* \(404\)") as info:
        llm.complete(USER, settings)
    assert "/v1" in info.value.fix and "not found" not in info.value.message


def test_a_redirect_that_drops_the_post_names_the_new_url(settings, fake_llm):
    """http:// answered 301 to https://: the client followed with a GET, and its 404 read "model not found"."""
    moved = fake_llm.url.replace("/v1", "/v2")
    fake_llm.script({"status": 301, "headers": {"Location": moved + "/chat/completions?key=abc"}})
    with pytest.raises(LLMError, match=r"redirected the request to .*/v2, which .* GET") as info:
        llm.complete(USER, settings)
    assert info.value.fix == f"use --base-url {moved}" and "not found" not in info.value.message


def test_a_redirect_names_the_new_url_without_its_credentials(settings, fake_llm):
    moved = fake_llm.url.replace("/v1", "/v2")
    fake_llm.script({"status": 302, "headers": {"Location": moved.replace("//", "//alice:hunter2@") + "/chat/completions"}})
    with pytest.raises(LLMError, match=r"redirected the request to .*/v2, which .* GET") as info:
        llm.complete(USER, settings)
    assert "hunter2" not in str(info.value) and "alice" not in str(info.value) and info.value.fix == f"use --base-url {moved}"


def test_a_redirect_that_keeps_the_post_reports_what_the_new_url_said(settings, fake_llm):
    """A 307/308 resends the POST with its body: the answer there is the server's own, not a lost request."""
    moved = fake_llm.url.replace("/v1", "/v2")
    fake_llm.script({"status": 308, "headers": {"Location": moved + "/chat/completions"}}, {"status": 401})
    with pytest.raises(LLMError, match=r"rejected the API key \(401\)") as info:
        llm.complete(USER, settings)
    assert "redirected" not in info.value.message
    assert [r["path"] for r in fake_llm.chat_requests()] == ["/v1/chat/completions", "/v2/chat/completions"]


def test_the_key_is_scrubbed_from_error_text(settings, fake_llm):
    fake_llm.script({"status": 401, "message": f"Incorrect API key provided: {SECRET}."})
    with pytest.raises(LLMError) as info:
        llm.complete(USER, settings)
    assert SECRET not in str(info.value) and "***" in str(info.value)


def test_a_password_or_query_string_key_in_the_base_url_is_scrubbed_from_error_text(settings, fake_llm):
    """Some gateways take their key in the base URL; a server that echoes it, or the request's path, must not show it."""
    url = fake_llm.url.replace("//", "//user:pw-7f3a9c1e5b9d@")
    fake_llm.script({"status": 401, "message": "no user with password pw-7f3a9c1e5b9d"})
    with pytest.raises(LLMError) as info:
        llm.complete(USER, settings.replace(base_url=url))
    assert "7f3a9c1e5b9d" not in str(info.value) and "password ***" in str(info.value)
    fake_llm.script({"status": 401, "message": "bad key in /v1/chat/completions?api-key=gw-7f3a9c1e5b9d"})
    with pytest.raises(LLMError) as info:  # a server that names the request's URL, query string and all
        llm.complete(USER, settings.replace(base_url=fake_llm.url + "?api-key=gw-7f3a9c1e5b9d"))
    assert "7f3a9c1e5b9d" not in str(info.value) and "api-key=***" in str(info.value)


def test_a_percent_encoded_or_overlapping_secret_in_the_base_url_is_scrubbed_whole(settings, fake_llm):
    """A server echoes a query-string key decoded ("%2B" as "+"); a key that begins with the API key is scrubbed
    whole, not as *** followed by its tail."""
    fake_llm.script({"status": 401, "message": "bad key gw+7f3a9c1e5b9d"})
    with pytest.raises(LLMError) as info:
        llm.complete(USER, settings.replace(base_url=fake_llm.url + "?api-key=gw%2B7f3a9c1e5b9d"))
    assert "7f3a9c1e5b9d" not in str(info.value) and "bad key ***" in str(info.value)
    fake_llm.script({"status": 401, "message": "bad key sk-a1b2c3d4e-tail9"})
    with pytest.raises(LLMError) as info:
        llm.complete(USER, settings.replace(api_key="sk-a1b2c3d4e",
                                            base_url=fake_llm.url + "?api-key=sk-a1b2c3d4e-tail9"))
    assert "tail9" not in str(info.value) and "bad key ***" in str(info.value)


def test_a_query_string_in_the_base_url_goes_with_every_request(settings, fake_llm):
    """Azure-style gateways want ?api-version=...; left in base_url, the client sent .../v1/?api-version=1chat/completions."""
    reply = llm.complete(USER, settings.replace(base_url=fake_llm.url + "/?api-version=2024-06-01&x="))
    assert reply.choices and fake_llm.requests[-1]["path"] == "/v1/chat/completions?api-version=2024-06-01&x="


@pytest.mark.parametrize("key", ["x", "ollama", "sk-local", "not-needed"])
def test_short_placeholder_keys_do_not_mangle_error_text(settings, key):
    """Local servers take any key; redacting "x" made "does not e***ist" of a 404."""
    with pytest.raises(LLMError) as info:
        llm.complete(USER, settings.replace(api_key=key, model="gpt-9"))
    assert "does not exist or you do not have access" in info.value.message and "***" not in str(info.value)


def test_the_key_is_scrubbed_after_retries_too(settings, fake_llm):
    key = "sk-a1b2c3d4e"  # as short as a redacted key gets
    assert len(key) == llm.MIN_SECRET_LENGTH
    fake_llm.script({"status": 503, "message": f"upstream refused {key}"})
    with pytest.raises(LLMError) as info:
        llm.complete(USER, settings.replace(api_key=key, max_retry_seconds=0))
    assert "gave up after 1 attempt" in info.value.message and key not in str(info.value) and "***" in str(info.value)


def test_a_full_context_window_is_its_own_error(settings, fake_llm):
    fake_llm.script({"status": 400, "code": "context_length_exceeded", "message": f"too long for you, {SECRET}"})
    with pytest.raises(llm.ContextTooLong, match="context window") as info:
        llm.complete(USER, settings)
    assert SECRET not in str(info.value) and info.value.status == 400


@pytest.mark.parametrize("message", ["This model's maximum context length is 4096 tokens",
                                     "the prompt does not fit the context window"])
def test_a_full_context_window_without_its_code_is_recognised(settings, fake_llm, message):
    """vLLM and llama.cpp say so in words, with no context_length_exceeded code."""
    fake_llm.script({"status": 400, "code": "bad_request", "message": message})
    with pytest.raises(llm.ContextTooLong, match="context window"):
        llm.complete(USER, settings)


def test_a_web_page_for_a_stream_is_malformed_not_a_dropped_connection(settings, fake_llm):
    """A 200 HTML page (a web UI at the base URL) was read as an empty stream: "closed the connection", retried."""
    fake_llm.script(*[{"body": "<html><body>Open WebUI</body></html>"}] * 3)
    with pytest.raises(LLMError, match=r"malformed response from .*web page \(text/html\)") as info:
        llm.complete(USER, settings.replace(stream=True))
    assert "/v1" in info.value.fix and len(fake_llm.chat_requests()) == 1


def test_a_web_page_with_a_charset_for_a_stream_is_malformed_too(settings, fake_llm):
    """Web servers send `text/html; charset=utf-8`, not the bare type."""
    fake_llm.script(*[{"body": "<html><body>Open WebUI</body></html>", "content_type": "text/html; charset=utf-8"}] * 3)
    with pytest.raises(LLMError, match=r"malformed response from .*web page \(text/html\)"):
        llm.complete(USER, settings.replace(stream=True))
    assert len(fake_llm.chat_requests()) == 1


def test_streaming_shows_pieces_and_records_the_whole(settings, fake_llm):
    pieces = []
    result = llm.complete(USER, settings.replace(stream=True), n=2, on_delta=lambda i, t: pieces.append((i, t)))
    assert len(result.choices) == 2 and all(c.finish_reason == "stop" for c in result.choices)
    assert "".join(t for i, t in pieces if i == 0) == result.choices[0].content
    assert result.usage["completion_tokens"] > 0 and result.model == "fake-gpt-2026-01-15"
    assert fake_llm.chat_requests()[0]["body"]["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])  # DeepSeek-R1 and vLLM; OpenRouter
def test_a_reasoning_models_reasoning_is_kept_beside_its_answer(settings, fake_llm, stream, field):
    """The reasoning a server sends beside `content` was dropped: the trace did not hold what came back."""
    thought = "First, 2+2 might be 5. No: it is 4, since 2+2 = 4 by counting."
    fake_llm.script({"content": "It is 4.", "reasoning": thought, "reasoning_field": field})
    shown = []
    on_delta = (lambda i, t: shown.append(t)) if stream else None
    result = llm.complete(USER, settings.replace(stream=stream), n=2, on_delta=on_delta)
    assert [(c.content, c.reasoning) for c in result.choices] == [("It is 4.", thought)] * 2  # streamed: deltas joined
    assert result.text == "It is 4." and "might be 5" not in "".join(shown)  # the answer alone is shown and judged
    assert [c["reasoning"] for c in result.to_exchange()["choices"]] == [thought] * 2
    plain = llm.complete(USER, settings.replace(stream=stream)).to_exchange()["choices"][0]
    assert "reasoning" not in plain  # none came: none is recorded, not an empty one


MISTRAL_PARTS = [{"type": "thinking", "thinking": [{"type": "text", "text": "Is it 5? "}, {"type": "text", "text": "No."}]},
                 {"type": "text", "text": "It is "}, {"type": "text", "text": "4."}]


@pytest.mark.parametrize("stream", [False, True])
def test_content_as_a_list_of_parts_is_read_as_answer_and_reasoning(settings, fake_llm, stream):
    """Mistral's thinking models send content as parts; that was refused as malformed, losing the answer."""
    fake_llm.script({"content_parts": MISTRAL_PARTS})
    shown = []
    on_delta = (lambda i, t: shown.append(t)) if stream else None
    result = llm.complete(USER, settings.replace(stream=stream), on_delta=on_delta)
    assert (result.text, result.choices[0].reasoning) == ("It is 4.", "Is it 5? No.")
    assert result.to_exchange()["choices"][0]["reasoning"] == "Is it 5? No." and "Is it 5" not in "".join(shown)



@pytest.mark.parametrize("script, pieces", [
    ({"content": "It is 4.", "reasoning": "First, 2+2 might be 5. No: it is 4."},
     ["First, 2+2 m", "ight be 5. N", "o: it is 4."]),  # DeepSeek-R1's reasoning_content, 12 characters a delta
    ({"content_parts": MISTRAL_PARTS}, ["Is it 5? No."]),  # Mistral's thinking part
])
def test_streamed_reasoning_reaches_its_own_callback_in_order_before_the_answer(settings, fake_llm, script, pieces):
    """A reasoning model can think for minutes before its first answer piece: the CLI had nothing to show meanwhile
    (it looked hung), as only the answer's pieces came out of a stream."""
    fake_llm.script(script)
    seen = []
    result = llm.complete(USER, settings.replace(stream=True), on_delta=lambda i, t: seen.append(("answer", t)),
                          on_reasoning=lambda i, t: seen.append(("reasoning", t)))
    assert [t for kind, t in seen if kind == "reasoning"] == pieces  # in order, each piece once
    assert [kind for kind, _ in seen] == ["reasoning"] * len(pieces) + ["answer"] * (len(seen) - len(pieces))
    assert "".join(t for kind, t in seen if kind == "answer") == result.text == "It is 4."
    assert result.choices[0].reasoning == "".join(pieces)  # the trace is as before


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("part, named", [({"type": "image_url", "image_url": {"url": "data:"}}, "'image_url'"),
                                         ({"type": "thinking", "thinking": 7}, "'thinking' part"), ("text", "'str'"),
                                         ({"type": "text", "text": None}, "'text' part"),
                                         ({"type": "thinking", "thinking": [{"type": "text", "text": "Hmm."}, "No."]},
                                          "'thinking' part")])
def test_a_content_part_that_is_no_text_is_malformed_and_named(settings, fake_llm, stream, part, named):
    fake_llm.script({"content_parts": [{"type": "text", "text": "It is 4."}, part]})
    with pytest.raises(LLMError, match=rf"malformed response .*{named}"):
        llm.complete(USER, settings.replace(stream=stream))
    assert len(fake_llm.chat_requests()) == 1  # not retried


@pytest.mark.parametrize("stream", [False, True])
def test_a_reasoning_part_with_its_text_under_text_is_reasoning(settings, fake_llm, stream):
    """`thinking` and `reasoning` parts both hold reasoning, under their own key or under `text`."""
    fake_llm.script({"content_parts": [{"type": "reasoning", "text": "Is it 5? "}, {"type": "thinking", "text": "No."},
                                       {"type": "text", "text": "It is 4."}]})
    result = llm.complete(USER, settings.replace(stream=stream), on_delta=(lambda i, t: None) if stream else None)
    assert (result.text, result.choices[0].reasoning) == ("It is 4.", "Is it 5? No.")


def test_a_reasoning_field_that_is_not_text_is_no_reasoning(settings, fake_llm):
    fake_llm.script({"content": "It is 4.", "reasoning": {"effort": "high"}, "reasoning_field": "reasoning"})
    result = llm.complete(USER, settings)
    assert result.text == "It is 4." and "reasoning" not in result.to_exchange()["choices"][0]


def test_truncated_stream_is_an_error(settings, fake_llm):
    fake_llm.script({"truncate": True})
    with pytest.raises(LLMError, match="truncated answer"):
        llm.complete(USER, settings, on_delta=lambda i, t: None)


def test_a_stream_event_that_is_not_json_is_one_clear_error(settings, fake_llm):
    fake_llm.script({"bad_sse": True})
    with pytest.raises(LLMError, match=r"malformed response .*not JSON") as err:
        llm.complete(USER, settings, on_delta=lambda i, t: None)
    assert "{exc}" not in str(err.value) and "line 1 column" in str(err.value)  # the parser's own words
    assert len(fake_llm.chat_requests()) == 1  # not retried


def test_a_stream_that_closes_before_any_event_is_retried(settings, fake_llm):
    fake_llm.script({"empty_stream": True})
    result = llm.complete(USER, settings.replace(stream=True))
    assert result.attempts == 2 and result.text and len(fake_llm.chat_requests()) == 2


def test_an_error_event_mid_stream_keeps_the_servers_words(settings, fake_llm):
    fake_llm.script({"error_event": "The model is overloaded"})
    with pytest.raises(LLMError, match="truncated answer .*the server sent an error in the stream: The model is overloaded"):
        llm.complete(USER, settings, on_delta=lambda i, t: None)


def test_a_server_that_ignores_stream_true_is_taken_at_its_word(settings, fake_llm):
    fake_llm.script({"ignore_stream": True, "content": "The whole answer at once."})
    shown = []
    result = llm.complete(USER, settings.replace(stream=True), on_delta=lambda i, t: shown.append((i, t)))
    assert result.text == "The whole answer at once." and shown == [(0, "The whole answer at once.")]
    assert result.model == "fake-gpt-2026-01-15" and result.usage["total_tokens"] > 0
    assert len(fake_llm.chat_requests()) == 1  # not read as a dropped stream and retried
    fake_llm.script({"ignore_stream": True, "fields": {"choices": "nope"}})
    with pytest.raises(LLMError, match="malformed response .*no chat completion"):
        llm.complete(USER, settings.replace(stream=True))


def test_a_stream_without_choice_indexes_is_read_when_one_answer_was_asked_for(settings, fake_llm):
    """A local server whose stream events leave `index` out had its answer refused as malformed, though a
    non-streamed reply without it was taken; with several answers asked for, whose piece is whose stays unknown."""
    events = [{"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "qwen2.5",
               "choices": [{"delta": delta, "finish_reason": finish}]}
              for delta, finish in [({"role": "assistant", "content": "It is "}, None), ({"content": "4."}, None), ({}, "stop")]]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    fake_llm.script({"body": body, "content_type": "text/event-stream"})
    result = llm.complete(USER, settings.replace(stream=True))
    assert (result.text, result.choices[0].index, result.choices[0].finish_reason) == ("It is 4.", 0, "stop")
    fake_llm.script({"body": body, "content_type": "text/event-stream"})
    with pytest.raises(LLMError, match="malformed response .*index has the wrong type"):
        llm.complete(USER, settings.replace(stream=True), n=2)


def _indexless_stream(*deltas) -> str:
    events = [{"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "qwen2.5",
               "choices": [{"delta": delta, "finish_reason": None}]} for delta in deltas]
    events.append({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "qwen2.5",
                   "choices": [{"delta": {}, "finish_reason": "stop"}]})
    return "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"


def test_a_stream_without_choice_indexes_keeps_its_reasoning_refusal_and_shown_pieces_as_choice_0(settings, fake_llm):
    """Not only the answer: the reasoning, a refusal and the pieces shown live are choice 0's too (under None they were lost)."""
    body = _indexless_stream({"role": "assistant", "reasoning_content": "2+2 "}, {"reasoning_content": "is 4"},
                             {"content": "It is 4."})
    fake_llm.script({"body": body, "content_type": "text/event-stream"})
    shown, thought = [], []
    result = llm.complete(USER, settings.replace(stream=True), on_delta=lambda i, t: shown.append((i, t)),
                          on_reasoning=lambda i, t: thought.append((i, t)))
    assert (result.text, result.choices[0].reasoning) == ("It is 4.", "2+2 is 4")
    assert shown == [(0, "It is 4.")] and thought == [(0, "2+2 "), (0, "is 4")]
    fake_llm.script({"body": _indexless_stream({"role": "assistant", "content": None, "refusal": "I can't help."}),
                     "content_type": "text/event-stream"})
    refused = llm.complete(USER, settings.replace(stream=True)).choices[0]
    assert (refused.content, refused.refused) == ("I can't help.", True)


def test_stream_options_dropped_where_not_accepted(settings, fake_llm):
    fake_llm.script({"reject_stream_options": True})
    result = llm.complete(USER, settings.replace(stream=True))
    assert result.text and "stream_options" not in fake_llm.chat_requests()[-1]["body"]


def test_local_server_needs_no_key(fake_llm, monkeypatch, project):
    monkeypatch.setenv("OPENAI_BASE_URL", fake_llm.url)
    s = llm_settings.resolve_settings(model="fake-gpt")
    assert s.api_key == llm_settings.PLACEHOLDER_KEY
    assert llm.complete(USER, s).text


def test_remote_server_without_key_is_a_config_error(project):
    with pytest.raises(ConfigError, match="no API key for https://api.openai.com/v1") as info:
        llm_settings.resolve_settings()
    assert "OPENAI_API_KEY" in info.value.fix


def test_settings_precedence_flags_config_env(project, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_MODEL", "env-model")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://env.example/v1")
    assert llm_settings.resolve_settings().model == "env-model"
    assert llm_settings.resolve_settings().base_url == "https://env.example/v1"
    (project / "workbench.toml").write_text('[llm]\nmodel = "conf-model"\ntemperature = 0.3\n'
                                            '[student]\nname = "Ada"\nid = 1001\n')
    s = llm_settings.resolve_settings()
    assert (s.model, s.temperature, s.base_url) == ("conf-model", 0.3, "https://env.example/v1")
    assert llm_settings.resolve_settings(model="flag-model", temperature=0.0).model == "flag-model"
    assert llm_settings.resolve_settings(temperature=0.0).temperature == 0.0
    assert load_config()["student"] == {"name": "Ada", "id": "1001"}
    assert llm.Settings().model == llm_settings.DEFAULT_MODEL == "gpt-4o"


@pytest.mark.parametrize("text, pattern", [
    ('[llm]\napi_key = "sk-x"\n', r"api_key is not allowed.*never be stored"),
    ('[llm]\nmodle = "x"\n', r"unknown key 'modle' in \[llm\]"),
    ('[secrets]\nx = 1\n', r"unknown table \[secrets\]"),
    ('[llm]\ntemperature = "hot"\n', r"temperature = 'hot' must be a number"),
    ('[llm\n', r"malformed TOML"),
    ('[llm]\nOPENAI_API_KEY = "sk-x"\n', r"OPENAI_API_KEY is not allowed.*never be stored"),
    ('[llm]\ntemperature = true\n', r"temperature = True must be a number"),
    ('[llm]\nbase_url = "https://u:pw-7f3a9c@gw.example/v1"\n', r"base_url holds user:password.*never be stored"),
    ('[llm]\nbase_url = "https://gw.example/v1?api-key=7f3a9c"\n', r"base_url holds .*a query string.*never be stored"),
    ('[llm]\nbase_url = "https://gw.example/v1?api-version=2024-06-01&key=7f3a9c"\n', r"only api-version may be stored"),
    ('llm = 5\n', r"'llm' must be a table"),
    ('[llm]\nmax_tokens = 2.5\n', r"max_tokens = 2.5 must be an integer"),  # a server refuses a fraction
    ('[llm]\ntoken = "sk-7f3a9c"\n', r"\[llm\] token is not allowed.*never be stored"),  # any key-like name
    ('[llm]\nkey = "sk-7f3a9c"\n', r"\[llm\] key is not allowed.*never be stored"),
    ('[llm]\nbase_url = "https://gw.example/v1?sk-7f3a9c"\n', r"base_url holds .*a query string"),  # bare, no =
    # in range too, or the error named the key but not the file it came from (a flag? the environment?)
    ('[llm]\nmax_tokens = -5\n', r"workbench.toml: \[llm\] max_tokens = -5 is out of range"),
    ('[llm]\ntemperature = 3\n', r"workbench.toml: \[llm\] temperature = 3 is out of range"),
    ('[llm]\ntemperature = nan\n', r"workbench.toml: \[llm\] temperature = nan is out of range"),
    ('[llm]\ntop_p = 0\n', r"workbench.toml: \[llm\] top_p = 0 is out of range"),
    ('[llm]\ntimeout = inf\n', r"workbench.toml: \[llm\] timeout = inf is out of range"),
    ('[llm]\nmax_retry_seconds = -1\n', r"workbench.toml: \[llm\] max_retry_seconds = -1 is out of range"),
    ('[llm]\nmodel = " "\n', r"workbench.toml: \[llm\] model = ' ' names no model"),
    ('[llm]\nmodel = ""\n', r"workbench.toml: \[llm\] model = '' names no model"),
    ('[llm]\nbase_url = "ftp://x"\n', r"workbench.toml: \[llm\] base_url: base URL 'ftp://x' is not an http"),
])
def test_bad_config_files_are_named(project, text, pattern):
    (project / "workbench.toml").write_text(text)
    with pytest.raises(ConfigError, match=pattern) as info:
        load_config()
    assert "workbench.toml" in info.value.message and "7f3a9c" not in str(info.value)


def test_an_empty_model_in_the_config_file_says_what_to_write_there(project):
    (project / "workbench.toml").write_text('[llm]\nmodel = ""\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    assert info.value.fix == 'give the model\'s name, e.g. model = "gpt-4o", or remove the line'


def test_a_bad_setting_names_its_source(project, monkeypatch):
    """A flag's value names the flag; a config table handed in (unchecked by load_config) names [llm] and its files;
    a setting no flag sets is named as a setting."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    files = "workbench.toml or workbench.local.toml"
    for kwargs, message, fix in [
        ({"model": ""}, "--model '' names no model", "give the model's name, e.g. --model gpt-4o, or drop --model to "
                                                    "use workbench.toml [llm] model, OPENAI_MODEL or gpt-4o"),
        ({"max_tokens": 0}, "--max-tokens 0 is out of range", "give --max-tokens a positive integer, or drop it"),
        ({"config": {"llm": {"temperature": 3}}}, f"{files}: [llm] temperature = 3 is out of range",
         "use a number from 0 to 2"),
        ({"config": {"llm": {"base_url": "ftp://x"}}},
         f"{files}: [llm] base_url: base URL 'ftp://x' is not an http(s) URL (it needs http:// or https:// and a host)",
         "use e.g. https://api.openai.com/v1 or http://localhost:11434/v1"),
        ({"max_retry_seconds": -1.0}, "max_retry_seconds = -1.0 is out of range", "use zero or more seconds"),
    ]:
        with pytest.raises(ConfigError) as info:
            llm_settings.resolve_settings(**kwargs)
        assert (info.value.message, info.value.fix) == (message, fix)
    monkeypatch.setenv("OPENAI_MODEL", " \t")  # blank, as `export OPENAI_MODEL=` leaves it: unset, not a bad name
    assert llm_settings.resolve_settings().model == "gpt-4o"


def test_a_padded_judge_name_grades_and_caches_as_the_name(project, fake_llm, monkeypatch):
    """--judge 'fake-gpt ' was sent as fake-gpt but kept its grades under 'fake-gpt ', so they were never found by
    --judge fake-gpt (paid for again) and the failure line named the padded model."""
    from workbench.judge import make_judge

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    judge = make_judge(" fake-gpt \r\n", fake_llm.url)
    assert judge.model == judge.settings.model == "fake-gpt"


def test_an_api_version_query_in_the_config_base_url_is_kept(project):
    """An Azure-style gateway's api-version is no secret: refusing it would leave such gateways without a config."""
    for name in ("api-version", "API-Version"):  # a parameter name in any case
        (project / "workbench.toml").write_text(f'[llm]\nbase_url = "https://gw.example/openai/v1?{name}=2024-06-01"\n')
        assert load_config()["llm"]["base_url"].endswith(f"?{name}=2024-06-01")


def test_the_local_config_file_overrides_key_by_key(project):
    (project / "workbench.toml").write_text('[llm]\nmodel = "shared-model"\ntemperature = 0.3\n')
    (project / "workbench.local.toml").write_text('[llm]\nmodel = "my-model"\n')
    assert load_config()["llm"] == {"model": "my-model", "temperature": 0.3}


def test_a_config_file_that_is_not_utf8_is_named(project):
    (project / "workbench.toml").write_bytes('[llm]\nmodel = "gpt-4o"  # café\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"workbench.toml: not UTF-8 text") as info:
        load_config()
    assert "UTF-8" in info.value.fix


def test_a_config_file_saved_with_a_bom_is_read(project):
    (project / "workbench.toml").write_bytes('\ufeff[llm]\nmodel = "bom-model"\n'.encode("utf-8"))
    assert load_config()["llm"] == {"model": "bom-model"}


def test_api_key_in_config_points_to_the_environment(project):
    (project / "workbench.local.toml").write_text('[llm]\napi_key = "sk-x"\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    assert "OPENAI_API_KEY" in info.value.fix and "sk-x" not in str(info.value)


def test_public_base_url_drops_credentials():
    s = llm.Settings(base_url="https://user:pw@gw.example:8443/openai/v1/?api-key=abc")
    assert s.public_base_url == "https://gw.example:8443/openai/v1"
    assert llm.Settings(base_url="http://[::1]:8000/v1").public_base_url == "http://[::1]:8000/v1"


def test_settings_at_the_edges_of_their_ranges(project, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", f" {SECRET}\n")  # as pasted or read from a file: the key alone is sent
    s = llm_settings.resolve_settings(temperature=2.0, top_p=1.0, max_retry_seconds=0.0)
    assert (s.api_key, s.temperature, s.top_p, s.max_retry_seconds) == (SECRET, 2.0, 1.0, 0.0)
    with pytest.raises(ConfigError, match=r"--model ' ' names no model"):
        llm_settings.resolve_settings(model=" ")
    with pytest.raises(ConfigError, match=r"--top-p 1.5 is out of range") as info:  # past 1 a server answers 400
        llm_settings.resolve_settings(top_p=1.5)
    assert "(0, 1]" in info.value.fix


@pytest.mark.parametrize("url, why", [
    ("http:///v1", "it needs http:// or https:// and a host"),
    ("http://-gw.example/v1", "'-gw.example' is not a valid host"),  # a DNS label neither starts nor ends with -
    ("http://gw-.example/v1", "'gw-.example' is not a valid host"),
    ("http://" + "a" * 64 + ".example/v1", "is not a valid host"),  # a DNS label holds at most 63 characters
])
def test_a_base_url_whose_host_no_resolver_takes_is_refused(url, why):
    with pytest.raises(ConfigError, match="is not an http\\(s\\) URL") as info:
        llm_settings.check_base_url(url)
    assert why in info.value.message


def test_a_base_url_with_a_fully_qualified_host_is_kept():
    for url in ("https://gw.example./v1", "http://" + "a" * 63 + ".example/v1"):  # a trailing dot; 63 is the longest
        assert llm_settings.check_base_url(url) == url


def test_a_connection_dropped_mid_request_gets_the_retry_budget_not_three_tries(settings, fake_llm):
    """Only a server with nothing listening is given up after a few quick tries; a drop mid-request is retried."""
    fake_llm.script(*[{"drop": True}] * 3)
    assert llm.complete(USER, settings).attempts == 4


def test_a_5xx_that_mentions_max_completion_tokens_is_retried_as_a_5xx(settings, fake_llm):
    """Only a 400 saying so renames max_tokens: a server fault's text is no request to change the parameters."""
    fake_llm.script({"status": 500, "message": "upstream failed; max_completion_tokens unknown"})
    result = llm.complete(USER, settings.replace(max_tokens=50))
    assert result.attempts == 2
    assert [r["body"].get("max_tokens") for r in fake_llm.chat_requests()] == [50, 50]


def test_a_bug_in_a_top_up_call_is_raised_not_counted_as_a_failed_sample(settings, fake_llm):
    fake_llm.script({"choices": 1})

    def show(index, text):
        if index > 0:
            raise RuntimeError("display broke")

    with pytest.raises(RuntimeError, match="display broke"):
        llm.sample(USER, settings, 2, on_delta=show)


@pytest.mark.parametrize("setting, value, message", [("temperature", 2.01, "--temperature 2.01 is out of range"),
                                                      ("max_retry_seconds", -1.0, "max_retry_seconds = -1.0 is out")])
def test_settings_just_past_their_ranges_are_refused(project, monkeypatch, setting, value, message):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with pytest.raises(ConfigError, match=message):
        llm_settings.resolve_settings(**{setting: value})


def test_backoff_doubles_from_half_a_second_up_to_its_cap(settings, fake_llm, monkeypatch):
    """Without a Retry-After, the waits are 0.5 s doubling each try, never over 20 s (jitter taken at its top)."""
    monkeypatch.setattr(llm, "BACKOFF_BASE", 0.5)
    monkeypatch.setattr(llm.random, "uniform", lambda low, high: high)
    waits = []
    monkeypatch.setattr(llm.time, "sleep", waits.append)
    fake_llm.script(*[{"status": 500}] * 7)
    assert llm.complete(USER, settings.replace(max_retry_seconds=100)).attempts == 8
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 20.0]


def test_the_text_of_a_call_with_n_is_its_first_answer(settings, fake_llm):
    result = llm.complete(USER, settings, n=2)
    assert result.text.startswith("Answer 0 to turn 1") and result.choices[1].content.startswith("Answer 1 ")


def test_an_exchange_records_its_latency_to_the_millisecond():
    done = llm.Completion(messages=USER, response_id="r", model="m", system_fingerprint=None, created=1,
                          choices=(llm.Choice(0, "4", "stop"),), usage=None, latency_s=1.23456, attempts=1,
                          started_at="2026-01-01T00:00:00Z")
    assert done.to_exchange()["latency_s"] == 1.235


def test_every_sampling_setting_is_sent_even_at_zero(settings, fake_llm):
    llm.complete(USER, settings.replace(temperature=0.7, top_p=0.9, seed=7, max_tokens=50))
    llm.complete(USER, settings.replace(temperature=0.0, seed=0))
    first, second = (r["body"] for r in fake_llm.chat_requests())
    assert [first.get(k) for k in ("temperature", "top_p", "seed", "max_tokens")] == [0.7, 0.9, 7, 50]
    assert (second["temperature"], second["seed"]) == (0, 0) and "top_p" not in second and "max_tokens" not in second


def test_one_sample_refused_with_a_400_is_not_asked_again(settings, fake_llm):
    fake_llm.script({"status": 400, "message": "temperature out of range"})
    with pytest.raises(LLMError, match=r"rejected the request \(400\)"):
        llm.sample(USER, settings, 1)
    assert len(fake_llm.chat_requests()) == 1


def test_a_top_up_calls_reasoning_names_its_own_sample(settings, fake_llm):
    fake_llm.script({"choices": 1, "content": "It is 4.", "reasoning": "2+2"},
                    {"content": "It is 4.", "reasoning": "two and two"})
    thought = []
    llm.sample(USER, settings.replace(stream=True), 2, on_reasoning=lambda i, t: thought.append((i, t)))
    assert sorted(thought) == [(0, "2+2"), (1, "two and two")]


def test_a_whole_completion_keeps_the_servers_choice_index_and_an_answer_beside_a_refusal_is_no_refusal(settings,
                                                                                                        fake_llm):
    fake_llm.script({"fields": {"choices": [{"index": 3, "finish_reason": "stop", "message": {
        "role": "assistant", "content": "It is 4.", "refusal": "I would rather not."}}]}})
    [choice] = llm.complete(USER, settings).choices
    assert (choice.index, choice.content, choice.refused) == (3, "It is 4.", False)
    fake_llm.script({"fields": {"choices": [{"index": 0, "finish_reason": "stop"}]}})
    with pytest.raises(LLMError, match="malformed response .*no choices with a message"):
        llm.complete(USER, settings)


def test_settings_default_to_openai_a_two_minute_timeout_and_a_minute_of_retries(project, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_MODEL", "")  # set but empty, as `export OPENAI_MODEL=` leaves it: not a model name
    s = llm_settings.resolve_settings()
    assert (s.base_url, s.model, s.timeout, s.max_retry_seconds) == ("https://api.openai.com/v1", "gpt-4o", 120.0, 60.0)


def test_a_timeout_of_a_day_is_the_longest_taken(project, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    assert llm_settings.resolve_settings(timeout=86400.0).timeout == 86400.0
    with pytest.raises(ConfigError, match=r"--timeout 86401 is out of range"):
        llm_settings.resolve_settings(timeout=86401.0)


def test_every_llm_setting_in_the_config_file_is_taken_even_at_zero(project, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    (project / "workbench.toml").write_text('[llm]\ntemperature = 0\ntop_p = 0.5\nmax_tokens = 64\ntimeout = 30\n'
                                            'max_retry_seconds = 0\n')
    s = llm_settings.resolve_settings()
    assert (s.temperature, s.top_p, s.max_tokens, s.timeout, s.max_retry_seconds) == (0, 0.5, 64, 30.0, 0.0)


@pytest.mark.parametrize("url, local", [("http://localhost:11434/v1", True), ("http://127.0.0.1:8000/v1", True),
                                        ("http://[::1]:8000/v1", True), ("http://0.0.0.0:1234/v1", True),
                                        ("http://localhost.example.com/v1", False), ("https://api.openai.com/v1", False)])
def test_local_hosts_are_named_by_their_host_alone(url, local):
    assert llm_settings.is_local(url) is local


def test_a_local_server_is_sent_the_users_key_when_one_is_set(project, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    assert llm_settings.resolve_settings(base_url="http://localhost:8000/v1").api_key == SECRET


def test_the_request_a_trace_records_holds_every_setting_and_n():
    s = llm.Settings(model="m", temperature=0.2, top_p=0.9, seed=7, max_tokens=50, stream=True)
    assert s.request(3) == {"model": "m", "temperature": 0.2, "top_p": 0.9, "seed": 7, "max_tokens": 50, "n": 3,
                            "stream": True}


def _raw_stream(*choice_lists) -> str:
    events = [{"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": choices}
              for choices in choice_lists]
    return "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"


def test_a_stream_without_an_answer_or_its_finish_is_truncated_naming_the_first_unfinished_choice(settings, fake_llm):
    fake_llm.script({"body": _raw_stream([]), "content_type": "text/event-stream"})  # events, but no choice at all
    with pytest.raises(LLMError, match=r"truncated answer .*without a finish_reason for choice 0"):
        llm.complete(USER, settings.replace(stream=True))
    body = _raw_stream([{"index": 0, "delta": {"content": "It"}}, {"index": 1, "delta": {"content": "It"}}])
    fake_llm.script({"body": body, "content_type": "text/event-stream"})
    with pytest.raises(LLMError, match=r"without a finish_reason for choice 0;"):
        llm.complete(USER, settings.replace(stream=True), n=2)


def test_a_streamed_answer_without_reasoning_has_none(settings, fake_llm):
    assert llm.complete(USER, settings.replace(stream=True)).choices[0].reasoning is None


def test_a_whole_answer_to_a_stream_shows_each_choice_under_its_index(settings, fake_llm):
    fake_llm.script({"ignore_stream": True})
    shown = []
    llm.complete(USER, settings.replace(stream=True), n=2, on_delta=lambda i, t: shown.append(i))
    assert shown == [0, 1]


def test_an_unreadable_retry_after_ms_falls_back_to_retry_after():
    assert llm.retry_after_seconds({"retry-after-ms": "soon", "retry-after": "2"}) == 2.0


def test_a_full_context_window_is_recognised_in_any_case(settings, fake_llm):
    fake_llm.script({"status": 400, "message": "Prompt exceeds the model's Context Window"})
    with pytest.raises(llm.ContextTooLong):
        llm.complete(USER, settings)


def test_a_5xx_with_retry_after_waits_as_asked(settings, fake_llm, monkeypatch):
    waits = []
    monkeypatch.setattr(llm.time, "sleep", waits.append)
    fake_llm.script({"status": 503, "headers": {"Retry-After": "2"}})
    assert llm.complete(USER, settings).attempts == 2 and waits == [2.0]


def test_a_permanent_fault_on_the_first_try_says_nothing_of_retries_and_one_try_is_one_attempt(settings, fake_llm):
    fake_llm.script({"status": 401})
    with pytest.raises(LLMError) as info:
        llm.complete(USER, settings)
    assert "gave up" not in info.value.message and "retry budget" not in info.value.message
    fake_llm.script({"status": 503})
    with pytest.raises(LLMError, match=r"gave up after 1 attempt; retry budget 0 s\)"):
        llm.complete(USER, settings.replace(max_retry_seconds=0))


def test_resolved_settings_strip_the_base_url_keep_stream_and_name_a_key_s_bad_character(project, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", " https://env.example/v1\n")
    s = llm_settings.resolve_settings(stream=True)
    assert (s.base_url, s.stream) == ("https://env.example/v1", True)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-ab cd")  # a space inside the key: character 6 of 8
    with pytest.raises(ConfigError, match=r"\(character 6 of 8:"):
        llm_settings.resolve_settings()


def test_a_choice_index_that_is_a_bool_is_taken_as_its_position(settings, fake_llm):
    fake_llm.script({"fields": {"choices": [{"index": True, "finish_reason": "stop",
                                             "message": {"role": "assistant", "content": "It is 4."}}]}})
    [choice] = llm.complete(USER, settings).choices
    assert choice.index == 0 and type(choice.index) is int


def test_a_folder_named_like_the_config_file_is_refused(project):
    """Skipping it would drop the user's settings without a word."""
    (project / "workbench.toml").mkdir()
    with pytest.raises(ConfigError, match=r"workbench.toml: is a folder, not a file") as info:
        load_config()
    assert "workbench.toml" in info.value.fix


def test_a_config_link_to_nothing_is_refused(project):
    (project / "workbench.local.toml").symlink_to(project / "gone.toml")
    with pytest.raises(ConfigError, match=r"workbench.local.toml: cannot be read \(") as info:
        load_config()
    assert info.value.fix


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file whatever its mode")
def test_an_unreadable_config_file_is_named(project):
    path = project / "workbench.toml"
    path.write_text('[llm]\nmodel = "x"\n')
    path.chmod(0)
    try:
        with pytest.raises(ConfigError, match=r"workbench.toml: cannot be read \(Permission denied\)") as info:
            load_config()
        assert "chmod" in info.value.fix
    finally:
        path.chmod(0o644)


def test_a_bad_setting_from_the_environment_names_its_variable(project, monkeypatch):
    """OPENAI_BASE_URL=ftp://x was refused as "base URL 'ftp://x' is not an http(s) URL" with no word of where it came
    from: no flag and no workbench.toml held it. The error names the variable; a blank OPENAI_MODEL counts as unset."""
    monkeypatch.setenv("OPENAI_BASE_URL", "ftp://gw.example/v1")
    with pytest.raises(ConfigError, match=r"^OPENAI_BASE_URL: base URL 'ftp://gw.example/v1' is not an http") as info:
        llm_settings.resolve_settings(require_key=False)
    assert "OPENAI_BASE_URL" in info.value.fix
    assert llm_settings.resolve_settings(base_url="http://localhost:1/v1").base_url == "http://localhost:1/v1"  # a flag wins
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.setenv("OPENAI_MODEL", "  ")
    assert llm_settings.resolve_settings(require_key=False).model == llm_settings.DEFAULT_MODEL
