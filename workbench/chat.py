"""An interactive conversation that starts from a rendered strategy and is saved as one trace.

The session keeps the answered conversation (`history`) and the user messages still waiting for an
answer (`queue`): a failed request leaves its message queued, so `retry()` sends it again; after a
success, `retry()` drops the last answer and asks its question again. Every API call is an exchange in
the trace, including answers later replaced by a retry; the sample holds the conversation as it ended.
"""

from __future__ import annotations

from typing import Callable

from workbench import llm
from workbench.errors import UsageError
from workbench.problems import Problem
from workbench.prompts import Strategy, render
from workbench.runner import build_trace
from workbench.traces import utc_now


class ChatSession:
    def __init__(self, problem: Problem, strategy: Strategy, settings: llm.Settings, *,
                 on_turn: Callable[[dict], None] | None = None, on_delta: llm.OnDelta | None = None,
                 on_reply: Callable[[str], None] | None = None):
        """on_turn(user message) before each request, on_delta(choice, text) while streaming, on_reply(text) after."""
        self.problem, self.strategy, self.settings = problem, strategy, settings
        self.on_turn, self.on_delta, self.on_reply = on_turn, on_delta, on_reply
        messages = render(strategy, problem)
        self.history = [m for m in messages if m["role"] != "user"]
        self.queue = [m for m in messages if m["role"] == "user"]
        self.exchanges: list[dict] = []
        self.started_at = utc_now()

    @property
    def turns(self) -> int:
        return sum(1 for m in self.history if m["role"] == "user")

    def drain(self) -> None:
        """Send the queued user messages in order; stop at the first failure (it stays queued)."""
        while self.queue:
            message = self.queue[0]
            if self.on_turn:
                self.on_turn(message)
            completion = llm.complete(self.history + [message], self.settings, on_delta=self.on_delta)
            self.exchanges.append(completion.to_exchange(sample=0, turn=self.turns))
            self.history += [self.queue.pop(0), {"role": "assistant", "content": completion.text}]
            if self.on_reply:
                self.on_reply(completion.text)

    def ask(self, text: str) -> None:
        self.queue.append({"role": "user", "content": text})
        self.drain()

    def retry(self) -> None:
        """Ask the last question again (or resend the one that failed)."""
        if not self.queue:
            if not self.history or self.history[-1]["role"] != "assistant":
                raise UsageError("nothing to retry yet", "type a question first")
            self.history.pop()
            self.queue.append(self.history.pop())
        self.drain()

    def trace(self) -> dict | None:
        """The whole exchange as one trace dict, or None when nothing was answered."""
        if not self.exchanges:
            return None
        return build_trace(self.problem, f"chat:{self.strategy.name}", self.settings, 1, self.exchanges,
                           [list(self.history)], [], self.started_at, strategy_sha256=self.strategy.sha256)
