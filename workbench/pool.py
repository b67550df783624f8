"""Run calls concurrently on daemon threads, yielding results as they finish.

Daemon threads (not concurrent.futures) so that Ctrl-C in the main thread returns at once instead
of waiting for requests in flight; closing the iterator stops workers from taking new items.
"""

from __future__ import annotations

import queue
import threading
from typing import Callable, Iterable, Iterator


def imap_unordered(fn: Callable, items: Iterable, jobs: int) -> Iterator[tuple[int, object, Exception | None]]:
    """Yield (position, result, None) or (position, None, exception) for each item, in completion order."""
    todo = list(enumerate(items))
    if not todo:
        return
    results: queue.Queue = queue.Queue()
    stop = threading.Event()
    lock = threading.Lock()
    pending = iter(todo)

    def worker() -> None:
        while not stop.is_set():
            with lock:
                nxt = next(pending, None)
            if nxt is None:
                return
            pos, item = nxt
            try:
                results.put((pos, fn(item), None))
            except Exception as exc:  # handed to the caller, which decides what is a bug
                results.put((pos, None, exc))

    for _ in range(max(1, min(jobs, len(todo)))):
        threading.Thread(target=worker, daemon=True).start()
    try:
        for _ in todo:
            while True:
                try:
                    item = results.get(timeout=0.1)  # a short wait keeps Ctrl-C responsive
                    break
                except queue.Empty:
                    continue
            yield item
    finally:
        stop.set()
