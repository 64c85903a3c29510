"""``acked``: register a listener as an ack step and the work that follows it.

Slack wants its answer within 3 s; the work (DynamoDB, then the answer) runs after it.
Where it runs depends on the process model, chosen once in ``Services.after`` — the
listeners never know which:

- ``serve`` / ``socket`` (``AfterAck.QUEUE``): one Bolt listener acks, then hands the work
  to the bounded work queue, or answers "busy" at once when that is full (``busy``);
  ``prompt`` work (a Slack call with a trigger_id, good for 3 s) goes to the prompt pool.
- AWS Lambda (``AfterAck.LAZY``): the ack step is Bolt's ``ack=`` and the work its
  ``lazy=[...]``; Bolt's Lambda adapter (``bot.aws_lambda``) invokes the function again,
  asynchronously, to run the work, so nothing waits in a thread of a process that Lambda
  freezes once the handler returned.

The ack step, the work and ``busy`` are called like Bolt listeners, with the arguments
they name (``ack``, ``body``, ``client``, ``respond``, ``view``, ``event`` ...). What the
ack step returns decides what follows:

- ``NO_WORK``: nothing (e.g. a submission refused with field errors);
- a pydantic model: handed to the work as its ``carried`` argument (on Lambda it travels
  in the asynchronous invocation's payload, as JSON, and is validated again as ``carry``);
- None: the work runs with what Slack sent.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any, Final, Literal

from pydantic import BaseModel
from slack_bolt import Ack, App, BoltRequest, BoltResponse
from slack_bolt.kwargs_injection import Args, build_required_kwargs
from slack_bolt.util.utils import get_arg_names_of_callable

from bot.services import AfterAck, Services

log = logging.getLogger(__name__)

# the request context keys an ack step leaves for the lazy runner (bot.aws_lambda)
CARRIED: Final = "ddb_bot_carried"  # the carried model, as JSON
NO_WORK_KEY: Final = "ddb_bot_no_work"  # set: start no asynchronous invocation
CARRIED_ARG: Final = "carried"  # the work's argument that receives it

Kind = Literal["command", "action", "view", "message_shortcut", "global_shortcut", "event"]
Constraint = str | re.Pattern[str] | dict[str, str | re.Pattern[str]]


class NoWork:
    """What an ack step returns when there is nothing to do after it."""

    def __repr__(self) -> str:
        return "NO_WORK"


NO_WORK: Final = NoWork()
AckOutcome = BaseModel | NoWork | None


def ack_only(ack: Ack) -> None:
    """The ack step of most listeners: acknowledge, and leave everything to the work."""
    ack()


def _kwargs(fn: Callable[..., Any], request: BoltRequest, response: BoltResponse | None) -> dict[str, Any]:
    """The arguments ``fn`` names, as Bolt would pass them to a listener."""
    names = [n for n in get_arg_names_of_callable(fn) if n != CARRIED_ARG]
    return build_required_kwargs(logger=log, required_arg_names=names, request=request,
                                 response=response, this_func=fn, next_keys_required=False)


def _call(fn: Callable[..., Any], args: Args) -> Any:
    return fn(**_kwargs(fn, args.request, args.response))


def _queued(services: Services, ack: Callable[..., AckOutcome], work: Callable[..., object],
            busy: Callable[..., object] | None, prompt: bool, carries: bool) -> Callable[..., None]:
    """One Bolt listener: the ack step, then the work in this process's pools."""

    def listener(args: Args) -> None:
        outcome = _call(ack, args)
        if isinstance(outcome, NoWork):
            return
        kwargs = _kwargs(work, args.request, args.response)
        if carries:
            kwargs[CARRIED_ARG] = outcome
        job = functools.update_wrapper(functools.partial(work, **kwargs), work)
        if prompt:
            services.right_after_ack(job)
            return
        services.after_ack(job, busy=functools.partial(_call, busy, args) if busy else _quiet)

    return listener


def _quiet() -> None:
    """No busy answer (events: Slack shows nothing to answer); the busy count is logged."""


def _lazy_ack(ack: Callable[..., AckOutcome]) -> Callable[..., None]:
    """Bolt's ``ack=`` on Lambda: the ack step, its outcome left in the request context."""

    def ack_step(args: Args) -> None:
        try:
            outcome = _call(ack, args)
        except BaseException:
            args.context[NO_WORK_KEY] = True  # as in QUEUE mode: a failed ack queues nothing
            raise
        if isinstance(outcome, NoWork):
            args.context[NO_WORK_KEY] = True
        elif outcome is not None:
            args.context[CARRIED] = outcome.model_dump(mode="json")

    return ack_step


def _lazy_work(work: Callable[..., object], carry: type[BaseModel] | None) -> Callable[..., None]:
    """Bolt's ``lazy=[...]`` on Lambda: the work, with what the ack step carried."""

    def work_step(args: Args) -> None:
        kwargs = _kwargs(work, args.request, args.response)
        if carry is not None:
            raw = args.context.get(CARRIED)
            kwargs[CARRIED_ARG] = carry.model_validate(raw) if raw is not None else None
        work(**kwargs)

    # Bolt finds the lazy function to run in the new invocation by this name
    work_step.__name__ = work_step.__qualname__ = work.__name__
    return work_step


def acked(app: App, services: Services, kind: Kind, constraint: Constraint, *,
          work: Callable[..., object], ack: Callable[..., AckOutcome] = ack_only,
          busy: Callable[..., object] | None = None, carry: type[BaseModel] | None = None,
          prompt: bool = False) -> None:
    """Register ``ack`` then ``work`` for ``kind`` (``"command"``, ``"action"`` ...) and
    ``constraint``; how the work runs is ``services.after``'s choice (module docstring).

    ``busy``: the answer when the work queue is full (None: none, the count is logged).
    ``carry``: the model the ack step returns for the work (its ``carried`` argument).
    ``prompt``: the work is a Slack call with a trigger_id; it never waits in the queue.
    """
    register = getattr(app, kind)(constraint)
    if services.after is AfterAck.LAZY:
        register(ack=_lazy_ack(ack), lazy=[_lazy_work(work, carry)])
    else:
        register(_queued(services, ack, work, busy, prompt, carries=carry is not None))
