"""The only module that talks to an LLM: OpenAI-compatible chat completions (OpenAI, Azure-style gateways,
Ollama, vLLM, llama.cpp, LM Studio) with bounded retries, streaming and `n` samples.

    settings = resolve_settings(model="gpt-4o")          # workbench.llm_settings: flags > toml > env
    result = complete([{"role": "user", "content": "2+2?"}], settings)
    result.text, result.model, result.to_exchange()

The API key lives only in Settings.api_key (hidden from repr) and the client; every error text is
scrubbed of it before it leaves this module (unless it is a placeholder shorter than MIN_SECRET_LENGTH).
"""

from __future__ import annotations

import dataclasses
import email.utils
import functools
import json
import random
import threading
import time
from dataclasses import dataclass
from typing import Callable
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from workbench.errors import LLMError
from workbench.llm_settings import Settings

# Shorter keys are not redacted: they are local-server placeholders ("x", "EMPTY", "ollama", "sk-local", "lm-studio",
# "not-needed"), not secrets, and replacing them mangles ordinary words ("does not e***ist"). Hosted providers issue
# keys of 32+ characters, and a string of 12 or more hardly ever occurs in an error text by chance.
MIN_SECRET_LENGTH = 12
BACKOFF_BASE, BACKOFF_CAP = 0.5, 20.0
CONNECT_ATTEMPTS = 3

OnDelta = Callable[[int, str], None]  # (choice index, text piece)


@dataclass(frozen=True)
class Choice:
    index: int
    content: str  # the answer; for a refusal (the API's `refusal` field, content null) the refusal's text
    finish_reason: str | None
    refused: bool = False
    reasoning: str | None = None  # what a reasoning model sent beside its answer (None when it sent none)


@dataclass(frozen=True)
class Completion:
    """One API call: what was sent and everything the server said about its answer."""

    messages: list
    response_id: str | None
    model: str | None
    system_fingerprint: str | None
    created: int | None
    choices: tuple[Choice, ...]
    usage: dict | None
    latency_s: float
    attempts: int
    started_at: str

    @property
    def text(self) -> str:
        return self.choices[0].content if self.choices else ""

    def to_exchange(self, sample: int | None = 0, turn: int = 0) -> dict:
        """The trace's record of this call (schema workbench.trace/1, `exchanges` item)."""
        return {"sample": sample, "turn": turn, "messages": [dict(m) for m in self.messages],
                "response_id": self.response_id, "model": self.model, "system_fingerprint": self.system_fingerprint,
                "created": self.created, "usage": self.usage, "latency_s": round(self.latency_s, 3),
                "attempts": self.attempts, "started_at": self.started_at,
                "choices": [{"index": c.index, "content": c.content, "finish_reason": c.finish_reason,
                             **({"refusal": True} if c.refused else {}),
                             **({"reasoning": c.reasoning} if c.reasoning else {})} for c in self.choices]}


@dataclass
class SampleSet:
    """`n` answers to the same messages: the calls that succeeded and the errors of those that did not."""

    requested: int
    completions: list[Completion]
    errors: list[LLMError]

    @property
    def texts(self) -> list[str]:
        return [c.content for comp in self.completions for c in comp.choices]


class ContextTooLong(LLMError):
    """The messages do not fit the model's context window: sending them again cannot help (chat says so)."""


class _Truncated(Exception):
    """The stream stopped after part of the answer was shown."""


class _Dropped(Exception):
    """The connection closed before any of the answer arrived (worth a retry)."""


class _Malformed(Exception):
    """The server answered 200 with something that is not a chat completion."""


_client_lock = threading.Lock()


@functools.lru_cache(maxsize=16)
def _new_client(base_url: str, api_key: str, timeout: float):
    import openai

    # A query string (an Azure-style gateway's ?api-version=...) goes with every request as default_query: left in
    # base_url, the client appends the path after it (".../v1/?api-version=1chat/completions", a 404).
    # max_retries=0: this module counts attempts and owns the backoff
    parts = urlsplit(base_url)
    return openai.OpenAI(base_url=urlunsplit(parts._replace(query="", fragment="")), api_key=api_key, timeout=timeout,
                         max_retries=0, default_query=dict(parse_qsl(parts.query, keep_blank_values=True)) or None)


def _client(base_url: str, api_key: str, timeout: float):
    """One shared client per endpoint (thread-safe): --jobs threads would otherwise each build one."""
    with _client_lock:
        return _new_client(base_url, api_key, timeout)


def complete(messages: list[dict], settings: Settings, *, n: int = 1, on_delta: OnDelta | None = None,
             on_reasoning: OnDelta | None = None) -> Completion:
    """Send one chat-completion request (retrying transient failures); stream when settings.stream or on_delta.
    Streaming, on_delta gets the answer's pieces and on_reasoning a reasoning model's thinking as it arrives."""
    sent = [dict(m) for m in messages]
    stream = settings.stream or on_delta is not None
    params: dict = {"model": settings.model}
    for name in ("temperature", "top_p", "seed", "max_tokens"):
        if getattr(settings, name) is not None:
            params[name] = getattr(settings, name)
    if n != 1:
        params["n"] = n
    if stream:
        params["stream_options"] = {"include_usage": True}
    client = _client(settings.base_url, settings.api_key, settings.timeout)
    call = functools.partial(_stream_once, on_reasoning=on_reasoning) if stream else _call_once

    def once(*args) -> dict:
        return _checked(call(*args))
    from workbench.traces import utc_now

    started = utc_now()

    def attempt():
        t0 = time.monotonic()
        try:
            result = once(client, sent, params, on_delta)
        except Exception as exc:
            text = _error_text(exc) if getattr(exc, "status_code", None) == 400 else ""
            # servers that predate these parameters say so with a 400: drop or rename and ask again
            if "stream_options" in params and "stream_options" in text:
                params.pop("stream_options")
            elif "max_tokens" in params and "max_completion_tokens" in text:
                params["max_completion_tokens"] = params.pop("max_tokens")
            else:
                raise
            t0 = time.monotonic()
            result = once(client, sent, params, on_delta)
        return result, time.monotonic() - t0

    (raw, latency), attempts = _with_retries(attempt, settings)
    return Completion(messages=sent, latency_s=latency, attempts=attempts, started_at=started, **raw)


def sample(messages: list[dict], settings: Settings, n: int, *, on_delta: OnDelta | None = None,
           on_reasoning: OnDelta | None = None, jobs: int = 4) -> SampleSet:
    """n answers: one call with `n`; if the server returns fewer choices, or refuses `n` with a 400 (some
    llama.cpp and gateway builds), parallel calls for the rest.

    The first call's failure raises; failures among the extra calls are returned in `errors`."""
    try:
        first = complete(messages, settings, n=n, on_delta=on_delta, on_reasoning=on_reasoning)
    except LLMError as exc:
        if n == 1 or exc.status != 400:
            raise
        # a real fault fails here again and raises
        first = complete(messages, settings, n=1, on_delta=on_delta, on_reasoning=on_reasoning)
    out = SampleSet(requested=n, completions=[first], errors=[])
    have = len(first.choices)
    if have >= n:
        return out
    from workbench.pool import imap_unordered

    def one(k: int) -> Completion:
        shifted = (lambda i, text: on_delta(have + k, text)) if on_delta else None
        thinking = (lambda i, text: on_reasoning(have + k, text)) if on_reasoning else None
        return complete(messages, settings, n=1, on_delta=shifted, on_reasoning=thinking)

    extra: dict[int, Completion] = {}
    for k, result, exc in imap_unordered(one, range(n - have), jobs):
        if exc is None:
            extra[k] = result
        elif isinstance(exc, LLMError):
            out.errors.append(exc)
        else:
            raise exc
    out.completions.extend(extra[k] for k in sorted(extra))
    return out


def _call_once(client, messages, params, on_delta) -> dict:
    try:
        resp = client.chat.completions.create(messages=messages, **params)
    except ValueError as exc:  # the client's json.loads on a body that is not JSON
        raise _Malformed(f"the response body is not JSON ({exc})") from None
    return _from_completion(resp)


def _from_completion(resp) -> dict:
    """The call's record from a whole (not streamed) chat completion."""
    choices = getattr(resp, "choices", None)
    if not choices or any(getattr(c, "message", None) is None for c in choices):
        raise _Malformed("the response has no choices with a message")
    return {"response_id": resp.id, "model": resp.model, "system_fingerprint": getattr(resp, "system_fingerprint", None),
            "created": resp.created, "usage": _usage(resp.usage),
            "choices": tuple(_choice(i, c) for i, c in enumerate(choices))}


def _choice(i: int, c) -> Choice:
    answer, thought = _split_content(c.message.content, f"choice {i}")
    reasoning = _reasoning(c.message) + thought
    return Choice(c.index if c.index is not None else i, answer or _refusal(c.message) or "", c.finish_reason,
                  refused=not answer and bool(_refusal(c.message)), reasoning=reasoning or None)


REASONING_PARTS = ("thinking", "reasoning")


def _split_content(content, where: str) -> tuple:
    """(answer, reasoning) of a message's or a stream delta's content. Text is the answer, as is anything else that is
    no list (_checked refuses it); a list of parts, as Mistral's thinking models send, gives its `text` parts joined
    as the answer and its `thinking` / `reasoning` parts' text as the reasoning. Any other part (an image, audio) is
    no answer a trace can hold: _Malformed, naming its type."""
    if not isinstance(content, list):
        return content, ""
    answer, reasoning = [], []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else type(part).__name__
        if kind == "text":
            text, into = part.get("text"), answer
        elif kind in REASONING_PARTS:
            text, into = _part_text(part.get(kind, part.get("text"))), reasoning
        else:
            raise _Malformed(f"the content of {where} has a part of type {kind!r}, which is neither text nor reasoning")
        if not isinstance(text, str):
            raise _Malformed(f"a {kind!r} part of the content of {where} holds no text")
        into.append(text)
    return "".join(answer), "".join(reasoning)


def _part_text(value) -> str | None:
    """The text of a thinking part: a string, or a list of text parts (Mistral's `thinking: [{type: text, ...}]`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
                                       for p in value):
        return "".join(p["text"] for p in value)
    return None


def _checked(raw: dict) -> dict:
    """The call's record with the server's metadata in the types a trace holds (a number as model name would make a
    trace that cannot be read back); _Malformed if an answer is not text."""

    def text(value):
        return value if isinstance(value, str) else None

    choices = []
    for i, c in enumerate(raw["choices"]):
        if not isinstance(c.content, str):
            raise _Malformed(f"the content of choice {i} is not text")
        index = c.index if isinstance(c.index, int) and not isinstance(c.index, bool) else i
        choices.append(dataclasses.replace(c, index=index, finish_reason=text(c.finish_reason)))
    created = raw["created"]
    return dict(raw, response_id=text(raw["response_id"]), model=text(raw["model"]),
                system_fingerprint=text(raw["system_fingerprint"]), choices=tuple(choices),
                created=created if isinstance(created, int) and not isinstance(created, bool) else None,
                usage=raw["usage"] if isinstance(raw["usage"], dict) else None)


def _reasoning(message) -> str:
    """The reasoning a model sent beside its answer: `reasoning_content` (DeepSeek, vLLM) or `reasoning` (OpenRouter,
    newer vLLM, which may send both with the same text: one is kept), else ''. A value that is not text is no reasoning."""
    for name in ("reasoning_content", "reasoning"):
        value = getattr(message, name, None)
        if isinstance(value, str) and value:
            return value
    return ""


def _refusal(message) -> str | None:
    """The text of a model's refusal (OpenAI sends it in `refusal`, with content null), else None."""
    refusal = getattr(message, "refusal", None)
    return refusal if isinstance(refusal, str) and refusal else None


def _stream_once(client, messages, params, on_delta, on_reasoning=None) -> dict:
    meta = {"response_id": None, "model": None, "system_fingerprint": None, "created": None}
    parts: dict[int, list[str]] = {}
    refusals: dict[int, list[str]] = {}
    thoughts: dict[int, list[str]] = {}
    finish: dict[int, str] = {}
    usage = None
    chunks = 0
    try:
        stream = client.chat.completions.create(messages=messages, stream=True, **params)
    except ValueError as exc:
        raise _Malformed(f"the response body is not JSON ({exc})") from None
    response = getattr(stream, "response", None)
    if response is not None and "json" in response.headers.get("content-type", ""):
        return _unstreamed(response, on_delta)
    if response is not None and response.headers.get("content-type", "").startswith("text/html"):
        getattr(stream, "close", lambda: None)()  # a web page has no events: no retry makes it a stream
        raise _Malformed("the server answered a streaming request with a web page (text/html), not an event stream")
    try:
        for chunk in stream:
            chunks += 1
            for key, attr in (("response_id", "id"), ("model", "model"), ("system_fingerprint", "system_fingerprint"),
                              ("created", "created")):
                meta[key] = meta[key] or getattr(chunk, attr, None)
            if getattr(chunk, "usage", None):
                usage = _usage(chunk.usage)
            for position, c in enumerate(chunk.choices or []):
                # some local servers leave `index` out: with one answer asked for, its place is its index
                index = position if c.index is None and "n" not in params else c.index
                piece, thought = _split_content(getattr(c.delta, "content", None) if c.delta else None,
                                                f"a stream event of choice {index}")
                parts.setdefault(index, [])
                refused = _refusal(c.delta) if c.delta else None
                if not isinstance(piece, (str, type(None))) or not isinstance(index, int):
                    raise _Malformed("a stream event's content or index has the wrong type")
                if refused:
                    refusals.setdefault(index, []).append(refused)
                thought = (_reasoning(c.delta) if c.delta else "") + thought
                if thought:
                    thoughts.setdefault(index, []).append(thought)
                    if on_reasoning:  # progress only: the reasoning is never shown as the answer
                        on_reasoning(index, thought)
                if piece:
                    parts[index].append(piece)
                for shown in (piece, refused):
                    if shown and on_delta:
                        on_delta(index, shown)
                if c.finish_reason:
                    finish[index] = c.finish_reason
    except Exception as exc:
        if isinstance(exc, ValueError) and not _is_transport_error(exc):  # the client's json.loads on an event
            raise _Malformed(f"a stream event is not JSON ({exc})") from None
        if not _is_transport_error(exc):
            raise
        import openai

        started = any(parts.values()) or bool(refusals)
        if type(exc) is openai.APIError:  # an error event inside the stream: the server's own words say why
            what = f"the server sent an error in the stream: {_error_text(exc)}"
        else:
            what = f"the connection {'dropped mid-stream' if started else 'closed before the answer started'} ({type(exc).__name__})"
        raise (_Truncated if started else _Dropped)(what) from None
    finally:
        getattr(stream, "close", lambda: None)()
    if not chunks:
        raise _Dropped("the stream closed without sending anything")
    unfinished = sorted(set(parts) - set(finish)) or ([] if parts else [0])
    if unfinished:
        raise _Truncated(f"the stream ended without a finish_reason for choice {unfinished[0]}")
    answers = {i: "".join(parts[i]) for i in parts}
    return dict(meta, usage=usage, choices=tuple(
        Choice(i, answers[i] or "".join(refusals.get(i, [])), finish[i], refused=not answers[i] and i in refusals,
               reasoning="".join(thoughts.get(i, [])) or None)
        for i in sorted(parts)))


def _unstreamed(response, on_delta) -> dict:
    """A server that ignores `stream: true` (some local ones) answers with one JSON completion: take it whole,
    shown at once, instead of reading it as an empty stream (reported as a dropped connection, and retried)."""
    from openai.types.chat import ChatCompletion

    try:
        resp = ChatCompletion.model_validate(json.loads(response.read()))
    except (ValueError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
        raise _Malformed(f"the server answered a streaming request with JSON that is no chat completion ({exc})"
                         .splitlines()[0]) from None
    finally:
        response.close()
    record = _from_completion(resp)
    for c in record["choices"]:
        if on_delta and c.content:
            on_delta(c.index, c.content)
    return record


def _usage(usage) -> dict | None:
    if usage is None:
        return None
    data = usage.model_dump(exclude_none=True) if hasattr(usage, "model_dump") else usage
    if not isinstance(data, dict):
        return None
    return {k: v for k, v in data.items() if v is not None}


def _is_transport_error(exc: Exception) -> bool:
    import openai

    root = type(exc).__module__.split(".")[0]
    return isinstance(exc, (openai.APIError, OSError)) or root in ("httpx", "httpx2", "httpcore", "h11")


def _api_message(exc: Exception) -> str:
    """The message of the API error object in the response body; '' when there is none (e.g. a web server's page)."""
    body = getattr(exc, "body", None)
    inner = body.get("error", body) if isinstance(body, dict) else None
    return str(inner["message"]) if isinstance(inner, dict) and inner.get("message") else ""


def _error_text(exc: Exception) -> str:
    return _api_message(exc) or str(getattr(exc, "message", None) or exc)


def _error_code(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    inner = body.get("error", body) if isinstance(body, dict) else {}
    return str(getattr(exc, "code", None) or (inner.get("code") if isinstance(inner, dict) else "") or "")


def retry_after_seconds(headers) -> float | None:
    """Seconds the server asked us to wait: retry-after-ms, Retry-After as seconds or as an HTTP date."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    try:
        if ms is not None:
            return max(0.0, float(ms) / 1000)
    except ValueError:
        pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            date = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):  # neither seconds nor an HTTP date ("soon"): no wait was asked for
            return None
        return max(0.0, date.timestamp() - time.time())


def _classify(exc: Exception, s: Settings, tries: int) -> tuple[bool, float | None, LLMError]:
    """(retryable, seconds the server asked to wait, the error to raise if we give up)."""
    import openai

    url, model = s.public_base_url, s.model
    text = _error_text(exc)
    if isinstance(exc, _Truncated):
        return False, None, LLMError(f"truncated answer from {url}: {text}; nothing was saved",
                                     "try again; if it keeps happening, run without --stream")
    if isinstance(exc, _Malformed):
        return False, None, LLMError(f"malformed response from {url}: {text}",
                                     "check that --base-url points at an OpenAI-compatible /v1 endpoint")
    if isinstance(exc, _Dropped):
        return True, None, LLMError(f"{url} closed the connection: {text}", "check the server and try again")
    if isinstance(exc, openai.APITimeoutError):
        return True, None, LLMError(f"request to {url} timed out after {s.timeout:g} s",
                                    "raise --timeout / [llm] timeout, or try again later")
    if isinstance(exc, openai.APIConnectionError):
        cause = type(exc.__cause__ or exc.__context__ or exc).__name__
        # nothing listening: a few quick tries, not the whole budget (a drop mid-request gets the budget)
        refused = cause == "ConnectError" and tries >= CONNECT_ATTEMPTS
        return not refused, None, LLMError(f"cannot reach {url} ({cause})",
                                    "check that the server is running and --base-url / OPENAI_BASE_URL is right")
    if isinstance(exc, openai.APIStatusError) and exc.response.history and exc.response.request.method != "POST":
        # a 301/302 turns the POST into a GET without its body: whatever the new URL says of that is no answer
        to = urlsplit(str(exc.response.request.url))
        where = urlunsplit((to.scheme, to.netloc.rpartition("@")[2], to.path.removesuffix("/chat/completions"), "", ""))
        return False, None, LLMError(f"{url} redirected the request to {where}, which the client then sent "
                                     f"as a GET without its body ({exc.status_code})", f"use --base-url {where}")
    if isinstance(exc, openai.APIStatusError):
        status, code = exc.status_code, _error_code(exc)
        wait = retry_after_seconds(getattr(exc.response, "headers", None))
        if status == 401:
            return False, None, LLMError(f"{url} rejected the API key (401): {text}",
                                         "check OPENAI_API_KEY is a valid key for this provider")
        if status == 403:
            return False, None, LLMError(f"{url} refused access (403): {text}", "check the key's permissions for this model")
        if status == 404 and not _api_message(exc):
            # no API error object, only a web server's page: the URL has no such route, the model is not the matter
            return False, None, LLMError(f"no chat-completions endpoint at {url} (404)",
                                         "check --base-url / OPENAI_BASE_URL: OpenAI-compatible servers answer under "
                                         "/v1, e.g. http://localhost:11434/v1")
        if status == 404:
            return False, None, LLMError(f"model {model!r} not found at {url} (404): {text}",
                                         "check --model / [llm] model / OPENAI_MODEL (for Ollama: `ollama pull` it first)")
        if status == 429 and code == "insufficient_quota":
            return False, None, LLMError(f"{url}: quota exhausted (429): {text}", "check the account's billing and limits")
        if code == "context_length_exceeded" or "context length" in text.lower() or "context window" in text.lower():
            return False, None, ContextTooLong(f"the conversation is too long for {model}'s context window ({status}): {text}",
                                               "use a shorter strategy, lower --max-tokens, or a model with a longer context",
                                               status)
        if status == 429:
            return True, wait, LLMError(f"rate limited by {url} (429): {text}", "wait a minute or lower --jobs / --samples")
        if status in (408, 409) or status >= 500:
            return True, wait, LLMError(f"{url} failed ({status}): {text}", "the provider is having trouble; try again later")
        return False, None, LLMError(f"{url} rejected the request ({status}): {text}", "check the model name and settings",
                                     status=status)
    if isinstance(exc, openai.APIResponseValidationError):
        return False, None, LLMError(f"malformed response from {url}: {text}", "check that the server speaks the OpenAI API")
    raise exc  # not a failure of the exchange: a bug, keep its traceback


def _scrub(error: LLMError, key: str, base_url: str) -> LLMError:
    """The error without the key, nor the base URL's password or query-string values (where gateways put keys),
    which a server may echo with the request's URL."""
    parts = urlsplit(base_url)
    raw = [parts.password or "", *(item.partition("=")[2] for item in parts.query.split("&"))]
    for secret in sorted({key, *raw, *map(unquote, raw)}, key=len, reverse=True):
        if len(secret) >= MIN_SECRET_LENGTH:
            error = type(error)(error.message.replace(secret, "***"), (error.fix or "").replace(secret, "***") or None,
                                error.status)
    return error


def _with_retries(attempt: Callable, s: Settings):
    """Call attempt() until it succeeds, a failure is permanent, or the retry budget is spent."""
    deadline = time.monotonic() + s.max_retry_seconds
    tries = 0
    while True:
        tries += 1
        try:
            return attempt(), tries
        except Exception as exc:
            retryable, asked, error = _classify(exc, s, tries)
        error = _scrub(error, s.api_key, s.base_url)
        if not retryable and tries == 1:
            raise error from None
        wait = asked if asked is not None else min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (tries - 1)) * random.uniform(0.5, 1)
        if not retryable or wait > deadline - time.monotonic():
            why = f"; the server asked to wait {asked:.0f} s" if asked is not None and retryable else ""
            raise type(error)(f"{error.message} (gave up after {tries} attempt{'s' * (tries > 1)}{why}; "
                              f"retry budget {s.max_retry_seconds:g} s)", error.fix) from None
        time.sleep(wait)
