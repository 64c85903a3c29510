"""Threads released together by a barrier: how the tests provoke races."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def hold_first(n: int) -> Callable[..., None]:
    """A botocore event hook holding the first ``n`` calls until all ``n`` are there.

    Registered on ``before-call`` of a write, it makes every racer read its state before
    any of them writes, so the race is decided by DynamoDB's conditions alone."""
    barrier = threading.Barrier(n, timeout=15)
    seen = [0]
    lock = threading.Lock()

    def hold(**_kw: Any) -> None:
        with lock:
            seen[0] += 1
            first = seen[0] <= n
        if first:
            barrier.wait()

    return hold


def race(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``n`` threads released together by a barrier; re-raise failures."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert all(not t.is_alive() for t in threads)
    return results
