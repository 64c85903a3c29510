"""The boto3 DynamoDB client the bot uses, with botocore's standard retries.

Throttling and 5xx are retried by botocore itself (``retries.mode = standard``:
exponential backoff with jitter), never by hand-rolled loops. Not ``adaptive``: its
client-side rate limiter is per client, and the bot has one client for every table, so a
few throttles on one table slowed every command and approval ~8x (benchmarks/soak.py
--faults: 2.5 % throttled calls cut 6 threads from ~85 to ~10 calls/s).
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config


def dynamodb_client(
    region: str, endpoint_url: str | None = None, max_attempts: int = 6,
    max_pool_connections: int = 32, **kwargs: Any
) -> Any:
    config = Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=3,
        read_timeout=10,
        max_pool_connections=max_pool_connections,
    )
    return boto3.session.Session().client(
        "dynamodb", region_name=region, endpoint_url=endpoint_url, config=config, **kwargs
    )
