"""The one seam for work after an ack (``Services.after``, ``bot.listeners.acked``): the work
queue in serve/socket, Bolt's lazy listeners on AWS Lambda; listeners never choose."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bot.services import AfterAck, Services


def _app(ddb: Any, after: AfterAck) -> Any:
    from bot.app import build_app
    from bot.config import load_settings

    settings = load_settings(slack_bot_token="xoxb-1-2-seam", slack_signing_secret="seam-signing-secret-0123")
    return build_app(Services.build(settings, ddb, after=after))


def test_on_lambda_every_listener_acks_and_leaves_its_work_to_a_lazy_listener(ddb: Any) -> None:
    from bot.listeners import surfaces

    app = _app(ddb, AfterAck.LAZY)
    listeners = app._listeners  # Bolt's registry: each with its ack function and lazy ones
    assert len(listeners) == len(surfaces(app)) >= 15
    assert [len(lst.lazy_functions) for lst in listeners] == [1] * len(listeners)
    names = [lst.lazy_functions[0].__name__ for lst in listeners]
    assert "run" in names and "post_submitted" in names and "publish_opened_home" in names


def test_in_serve_each_listener_is_one_function_handing_work_to_the_queue(ddb: Any) -> None:
    app = _app(ddb, AfterAck.QUEUE)
    assert app._listeners and all(not lst.lazy_functions for lst in app._listeners)


def test_on_lambda_after_ack_runs_at_once_and_starts_no_thread(make_services: Any) -> None:
    services = make_services()
    services.after = AfterAck.LAZY
    threads = threading.active_count()
    done = services.after_ack(lambda x: x * 2, 21, busy=lambda: pytest.fail("never busy"))
    assert done is not None and done.done() and done.result() == 42
    failed = services.right_after_ack(lambda: 1 / 0)
    assert isinstance(failed.exception(), ZeroDivisionError)
    assert threading.active_count() == threads  # neither pool started a worker
    assert services.work._admitted == 0
