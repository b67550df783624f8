"""imap_unordered: results as they finish, and no new work once the caller stops reading."""

import threading
import time

from workbench.pool import imap_unordered


def test_closing_the_iterator_stops_workers_taking_new_items():
    """Ctrl-C or a break after the first result: the items not yet started (requests that cost money) never start."""
    started = []
    gate = threading.Event()

    def fn(x):
        started.append(x)
        if x > 0:
            gate.wait(5)
        return x * 10

    results = imap_unordered(fn, range(10), jobs=2)
    assert next(results) == (0, 0, None)
    results.close()  # items 1 and 2 are in flight at most
    gate.set()
    time.sleep(0.5)
    assert len(started) <= 3, started
