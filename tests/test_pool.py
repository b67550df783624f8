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


def test_every_item_is_yielded_once_with_its_position_result_or_exception():
    def fn(x):
        if x == 2:
            raise ValueError("two")
        time.sleep(0.05 * (5 - x))  # later items finish first
        return x * 10

    got = sorted(imap_unordered(fn, range(5), jobs=5), key=lambda r: r[0])
    assert [(pos, result) for pos, result, _ in got] == [(0, 0), (1, 10), (2, None), (3, 30), (4, 40)]
    errors = [exc for _, _, exc in got]
    assert isinstance(errors[2], ValueError) and str(errors[2]) == "two"
    assert errors[:2] + errors[3:] == [None] * 4
    assert list(imap_unordered(fn, [], jobs=4)) == []


def test_jobs_items_run_at_once_and_jobs_below_1_still_runs_them():
    barrier = threading.Barrier(3, timeout=5)  # breaks unless three calls are in flight together

    def fn(x):
        barrier.wait()
        return x

    assert sorted(r for _, r, exc in imap_unordered(fn, range(3), jobs=3) if exc is None) == [0, 1, 2]
    got = []  # in a thread: with no worker started the loop would wait for ever
    reader = threading.Thread(target=lambda: got.extend(r for _, r, _ in imap_unordered(lambda x: x, range(3), jobs=0)),
                              daemon=True)
    reader.start()
    reader.join(5)
    assert sorted(got) == [0, 1, 2]
