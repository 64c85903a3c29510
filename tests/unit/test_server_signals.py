"""SIGTERM reaches the serve loop even when the kernel hands it to another thread.

CPython runs a Python signal handler only in the main thread, when that thread next runs
bytecode. A signal delivered to a worker thread (the kernel picks any thread that does not
block it; under load a busy one) therefore waits until the main thread wakes up: a main
thread parked in one long ``Event.wait`` slept through SIGTERM, and ``serve`` ignored it
(a CI failure). ``wait_for_signal`` waits in short slices.
"""

from __future__ import annotations

import signal
import threading
import time

from bot.server import wait_for_signal


def test_a_signal_taken_by_another_thread_still_stops_the_wait() -> None:
    stop = threading.Event()
    watchdog_fired = threading.Event()
    previous = signal.signal(signal.SIGUSR1, lambda _s, _f: stop.set())

    def deliver_to_this_thread() -> None:
        time.sleep(0.2)
        signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)  # not the main thread

    def watchdog() -> None:  # a failing implementation must fail, not hang the suite
        if not stop.wait(10):
            watchdog_fired.set()
            stop.set()

    try:
        threading.Thread(target=deliver_to_this_thread, daemon=True).start()
        threading.Thread(target=watchdog, daemon=True).start()
        wait_for_signal(stop)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert not watchdog_fired.is_set(), "the handler never ran while the main thread waited"
