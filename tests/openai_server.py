"""A real OpenAI-compatible chat-completions server on 127.0.0.1 for tests and benchmarks.

It speaks POST /v1/chat/completions (JSON and SSE streaming ending in `data: [DONE]`), honours `n`,
reports usage, a dated model version and a system_fingerprint, and records every request (headers +
body). Faults are scripted per test with `server.script(...)`: each action is used by the next request
whose last user message contains its `match` text (any request when absent), once.

Actions (dicts; keys combine):
    status=429|500|401|404|400, headers={...}, code="context_length_exceeded", message="..."
    delay=SECONDS            wait before answering (server.delay may be a threading.Event: wait until it is set)
    drop=True                close the connection without a response
    truncate=True            (streaming) send part of the answer, then close: no finish_reason, no [DONE]
    empty_stream=True        (streaming) send the headers, then close without any event
    bad_sse=True             (streaming) send part of the answer, then an event whose data is not JSON
    ignore_stream=True       answer a streaming request with one plain JSON completion, as some local servers do
    error_event="..."        (streaming) send part of the answer, then an error event with this message
    bad_json=True            200 with a body that is not JSON
    choices=K                return only K choices even if more were asked for
    content="..."            the reply text (every choice)
    refusal="..."            the model declines: `refusal` carries this text, `content` is null (every choice)
    finish_reason="length"   end every choice with this finish_reason instead of "stop"
    reasoning="..."          a reasoning model's thinking beside the answer (every choice), in the message's
                             `reasoning_content` field (DeepSeek-R1, vLLM) or in stream deltas before the answer's;
                             reasoning_field="reasoning" names the field as OpenRouter does
    content_parts=[...]      `content` as this list of parts, as Mistral's thinking models send it (every choice;
                             streamed: one part per delta)
    reject_stream_options    400 if the request carries stream_options
    fields={...}             (not streaming) replace these top-level fields of the response
    body="...", content_type="text/html"   answer with this raw body and the action's status (default 200): a web
                             page or a router's plain "404 page not found" where a JSON answer was expected
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KNOWN_MODELS = {"fake-gpt": "fake-gpt-2026-01-15", "fake-gpt-mini": "fake-gpt-mini-2025-07-01"}
FINGERPRINT = "fp_fake_0001"


def default_reply(body: dict, index: int) -> str:
    """Deterministic text that names the question it answers, so tests can follow the conversation."""
    users = [m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user"]
    last = (users[-1] if users else "").splitlines()[0][:60] if users else ""
    return f"Answer {index} to turn {len(users)}: {last}\n\nSo $x_i^T w = \\frac{{1}}{{2}}$ and the result is **42**."


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default 5 drops bursts of connections (1 s SYN retransmit)

    def handle_error(self, request, client_address):
        """A client that closes its kept-alive connection is no server fault: socketserver would print a traceback
        to stderr, which tests capture as the CLI's output."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeOpenAI:
    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.requests: list[dict] = []
        self.reply = default_reply
        self._script: list[dict] = []
        self._lock = threading.Lock()
        self._counter = 0
        self._httpd = _Server(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> "FakeOpenAI":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def script(self, *actions: dict) -> None:
        with self._lock:
            self._script.extend(actions)

    def chat_requests(self) -> list[dict]:
        return [r for r in self.requests if r["path"].split("?")[0].endswith("/chat/completions")]

    def _next_action(self, body: dict) -> dict:
        users = [m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user"]
        last = users[-1] if users else ""
        with self._lock:
            for i, action in enumerate(self._script):
                if action.get("match") is None or action["match"] in last:
                    return self._script.pop(i)
        return {}

    def _next_id(self) -> str:
        with self._lock:
            self._counter += 1
            return f"chatcmpl-fake{self._counter:04d}"


def _handler(server: FakeOpenAI):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: a dropped connection is unambiguous

        def log_message(self, *args):  # keep test output clean
            pass

        def do_GET(self):
            if self.path.rstrip("/").endswith("/models"):
                return self._json(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in KNOWN_MODELS]})
            self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                body = {"_raw": raw.decode("utf-8", "replace")}
            server.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                                    "time": time.monotonic()})
            if not self.path.split("?")[0].endswith("/chat/completions"):
                return self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
            action = server._next_action(body)
            delay = action.get("delay", server.delay)
            if isinstance(delay, threading.Event):  # the test's cue, not a time a loaded machine may overrun
                delay.wait(30)
            elif delay:
                time.sleep(delay)
            if action.get("drop"):
                return self._drop()
            if action.get("reject_stream_options") and "stream_options" in body:
                return self._error(400, "Unrecognized request argument supplied: stream_options", None)
            if "body" in action:
                return self._raw(action.get("status", 200), action["body"].encode(),
                                 action.get("content_type", "text/html"), action.get("headers"))
            if "status" in action:
                return self._error(action["status"], action.get("message"), action.get("code"), action.get("headers"))
            model = body.get("model", "")
            if model not in KNOWN_MODELS:
                return self._error(404, f"The model `{model}` does not exist or you do not have access to it.",
                                   "model_not_found")
            if action.get("bad_json"):
                return self._raw(200, b'{"id": "chatcmpl-broken", "choices": [', "application/json")
            n = min(int(body.get("n") or 1), action.get("choices", 10**6))
            texts = [action.get("refusal") or action.get("content") or server.reply(body, i) for i in range(n)]
            field = "refusal" if action.get("refusal") else "content"
            if body.get("stream") and not action.get("ignore_stream"):
                return self._stream(body, texts, action, field)
            name = action.get("reasoning_field", "reasoning_content")
            extra = {name: action["reasoning"]} if "reasoning" in action else {}
            if "content_parts" in action:
                extra["content"] = action["content_parts"]
            prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
            completion_tokens = sum(len(t.split()) for t in texts)
            self._json(200, {**{
                "id": server._next_id(), "object": "chat.completion", "created": int(time.time()),
                "model": KNOWN_MODELS[model], "system_fingerprint": FINGERPRINT,
                "choices": [{"index": i, "message": {"role": "assistant", "content": None, field: t, **extra},
                             "finish_reason": action.get("finish_reason", "stop"),
                             "logprobs": None} for i, t in enumerate(texts)],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens},
            }, **action.get("fields", {})})

        def _stream(self, body: dict, texts: list[str], action: dict, field: str = "content"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            if action.get("empty_stream"):
                return self._drop()
            rid, created, model = server._next_id(), int(time.time()), KNOWN_MODELS[body["model"]]

            def send(choices, usage=None):
                chunk = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": model,
                         "system_fingerprint": FINGERPRINT, "choices": choices}
                if usage is not None:
                    chunk["usage"] = usage
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()

            for i in range(len(texts)):
                send([{"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
            pieces = [[t[k:k + 12] for k in range(0, len(t), 12)] for t in texts]
            if action.get("truncate"):
                send([{"index": 0, "delta": {"content": pieces[0][0]}, "finish_reason": None}])
                return self._drop()
            if action.get("error_event"):
                send([{"index": 0, "delta": {"content": pieces[0][0]}, "finish_reason": None}])
                self.wfile.write(f"data: {json.dumps({'error': {'message': action['error_event']}})}\n\n".encode())
                return self._drop()
            if action.get("bad_sse"):
                send([{"index": 0, "delta": {"content": pieces[0][0]}, "finish_reason": None}])
                self.wfile.write(b"data: {not json\n\n")
                return self._drop()
            if "reasoning" in action:
                thought, name = action["reasoning"], action.get("reasoning_field", "reasoning_content")
                for k in range(0, len(thought), 12):
                    for i in range(len(texts)):
                        send([{"index": i, "delta": {name: thought[k:k + 12]}, "finish_reason": None}])
            if "content_parts" in action:
                pieces = [[[part] for part in action["content_parts"]] for _ in texts]
            for k in range(max(len(p) for p in pieces)):
                for i, p in enumerate(pieces):
                    if k < len(p):
                        send([{"index": i, "delta": {field: p[k]}, "finish_reason": None}])
            for i in range(len(texts)):
                send([{"index": i, "delta": {}, "finish_reason": action.get("finish_reason", "stop")}])
            if (body.get("stream_options") or {}).get("include_usage"):
                completion = sum(len(t.split()) for t in texts)
                send([], {"prompt_tokens": 10, "completion_tokens": completion, "total_tokens": 10 + completion})
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

        def _error(self, status: int, message: str | None, code: str | None, headers: dict | None = None):
            defaults = {401: ("Incorrect API key provided.", "invalid_api_key"),
                        429: ("Rate limit reached, please retry.", "rate_limit_exceeded"),
                        500: ("The server had an error while processing your request.", None)}
            msg, default_code = defaults.get(status, ("error", None))
            payload = {"error": {"message": message or msg, "type": "invalid_request_error", "param": None,
                                 "code": code or default_code}}
            self._json(status, payload, headers)

        def _json(self, status: int, payload: dict, headers: dict | None = None):
            self._raw(status, json.dumps(payload).encode(), "application/json", headers)

        def _raw(self, status: int, data: bytes, ctype: str, headers: dict | None = None):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            self.end_headers()
            self.wfile.write(data)

        def _drop(self):
            self.close_connection = True
            try:
                self.wfile.flush()
                self.connection.shutdown(2)
            except OSError:
                pass

    return Handler
