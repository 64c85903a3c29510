"""APScheduler wiring: the request-expiry sweep (and, later, the digest).

Jobs use the Web API client directly (there is no request context). ``coalesce`` folds
missed runs into one, ``max_instances=1`` keeps a slow run from overlapping the next,
and ``misfire_grace_time`` lets a run that was late by a little still happen.
"""

from __future__ import annotations

import logging
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from bot.services import Services

log = logging.getLogger(__name__)
SWEEP_SECONDS = 60


def sweep_expired(services: Services, client: Any) -> int:
    """Expire overdue requests and update their messages; returns how many expired."""
    from bot.listeners.requests import sync_message

    expired = services.requests.expire_due()
    for req in expired:
        sync_message(services, client, req.id)
    if expired:
        log.info("expired %d write request(s): %s", len(expired), ", ".join(r.id for r in expired))
    return len(expired)


def start_scheduler(services: Services, client: Any) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
    scheduler.add_job(sweep_expired, "interval", seconds=SWEEP_SECONDS, args=(services, client),
                      id="expire-requests", name="expire write requests")
    scheduler.start()
    return scheduler
