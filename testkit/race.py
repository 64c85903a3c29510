"""Threads released together by a barrier: how the tests provoke races."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


@contextmanager
def once_before(client: Any, operation: str, action: Callable[[], object]) -> Iterator[list[str]]:
    """Run ``action()`` once, right before the first ``operation`` call (e.g.
    ``"TransactWriteItems"``) the code under test makes: someone else's write landing
    between its read and its write. Yields a list that holds one entry once it ran."""
    fired: list[str] = []
    event = f"before-call.dynamodb.{operation}"

    def hook(**_kw: Any) -> None:
        if not fired:
            fired.append(operation)
            action()

    client.meta.events.register(event, hook)
    try:
        yield fired
    finally:
        client.meta.events.unregister(event, hook)


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
