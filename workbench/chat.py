"""An interactive conversation that starts from a rendered strategy and is saved as one trace.

The session keeps the answered conversation (`history`) and the strategy's rendered user turns not yet
answered (`pending`): those are the start of every chat about the problem, so they stay pending until
answered and are sent before anything typed. A typed message whose request fails is dropped from the
conversation, which stays as it was: it is never re-sent behind the next message, only by an explicit
`retry()` (`failed` holds it until something else is sent), and `unsent` keeps every typed message that got no
answer so the user can copy it. After a success, `retry()` asks the last question again; if that fails, the
earlier answer stays. Every API call is an exchange in the trace, including answers later replaced by a retry;
the sample holds the conversation as it ended.
"""

from __future__ import annotations

from typing import Callable

from workbench import llm
from workbench.errors import LLMError, UsageError
from workbench.problems import Problem
from workbench.prompts import Strategy, render
from workbench.runner import build_trace
from workbench.traces import utc_now


class ChatSession:
    def __init__(self, problem: Problem, strategy: Strategy, settings: llm.Settings, *,
                 on_turn: Callable[[dict], None] | None = None, on_delta: llm.OnDelta | None = None,
                 on_reply: Callable[[str], None] | None = None, on_reasoning: llm.OnDelta | None = None):
        """on_turn(user message) before each request, on_delta(choice, text) while streaming (on_reasoning(choice,
        text) for a reasoning model's thinking), on_reply(text) after."""
        self.problem, self.strategy, self.settings = problem, strategy, settings
        self.on_turn, self.on_delta, self.on_reply, self.on_reasoning = on_turn, on_delta, on_reply, on_reasoning
        messages = render(strategy, problem)
        self.history = [m for m in messages if m["role"] != "user"]
        self.pending = [m for m in messages if m["role"] == "user"]
        self.failed: dict | None = None  # the typed message of the last failed request; retry() sends it
        self.reask_failed = False  # the last request asked an answered question again and failed
        self.unsent: list[dict] = []  # typed messages that got no answer, oldest first
        self.exchanges: list[dict] = []
        self.started_at = utc_now()

    @property
    def turns(self) -> int:
        return sum(1 for m in self.history if m["role"] == "user")

    def _send(self, message: dict) -> None:
        """One request: `message` after the conversation so far; only an answer adds both to it."""
        if self.on_turn:
            self.on_turn(message)
        completion = llm.complete(self.history + [message], self.settings, on_delta=self.on_delta,
                                  on_reasoning=self.on_reasoning)
        self.exchanges.append(completion.to_exchange(sample=0, turn=self.turns))
        self.history += [message, {"role": "assistant", "content": completion.text}]
        if self.on_reply:
            self.on_reply(completion.text)

    def drain(self) -> None:
        """Send the strategy's pending turns in order; stop at the first failure (it stays pending)."""
        while self.pending:
            self._send(self.pending[0])
            self.pending.pop(0)

    def _ask(self, message: dict) -> None:
        self.failed = None
        if message not in self.unsent:  # by value: retyping a failed message and getting an answer settles it
            self.unsent.append(message)
        try:
            self.drain()
            self._send(message)
        except BaseException:  # an error or Ctrl-C: the message is out of the conversation, kept for the user
            self.failed = message
            raise
        self.unsent.remove(message)

    def ask(self, text: str) -> None:
        """Send the pending strategy turns, then `text`; on failure `text` is not in the conversation (see failed)."""
        self.reask_failed = False
        self._ask({"role": "user", "content": text})

    def retry(self) -> None:
        """Send the message that failed last (or the strategy's pending turns), else ask the last question again."""
        self.reask_failed = False
        if self.failed is not None:
            return self._ask(self.failed)
        if self.pending:
            return self.drain()
        if not self.history or self.history[-1]["role"] != "assistant":
            raise UsageError("nothing to retry yet", "type a question first")
        answer, question = self.history.pop(), self.history.pop()
        try:
            self._send(question)
        except BaseException:  # the earlier answer stays; retry() tries again
            self.history += [question, answer]
            self.reask_failed = True
            raise

    def failure(self, exc: LLMError) -> LLMError:
        """The error of a failed request as the chat's one line: what got no answer and what to do now."""
        typed = self.failed is not None
        if self.reask_failed:
            return LLMError(f"{exc.message}; the earlier answer stays", "/retry asks again; /quit ends and saves "
                            "what was answered", exc.status)
        if self.pending:
            what = "the strategy's prompt got no answer" + (" and your message was not sent" if typed else "")
        else:
            what = "your message got no answer and is left out of the conversation"
        ends = "; /quit ends and saves what was answered" if self.exchanges else "; /quit ends"
        if isinstance(exc, llm.ContextTooLong) and not self.pending:  # mid-chat a shorter strategy is no help
            fix = "the conversation is full: type a shorter message, or /quit (it saves what was answered) and start a new chat"
        elif isinstance(exc, llm.ContextTooLong):
            fix = exc.fix + ends
        elif typed:
            fix = f"/retry sends {'them' if self.pending else 'it'} again, or type it again (edited if need be){ends}"
        else:
            fix = f"/retry sends it again{ends}"
        return LLMError(f"{exc.message}; {what}", fix, exc.status)

    def trace(self) -> dict | None:
        """The whole exchange as one trace dict, or None when nothing was answered."""
        if not self.exchanges:
            return None
        return build_trace(self.problem, f"chat:{self.strategy.name}", self.settings, 1, self.exchanges,
                           [list(self.history)], [], self.started_at, strategy_sha256=self.strategy.sha256)
