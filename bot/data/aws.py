"""The boto3 DynamoDB client the bot uses, with botocore's adaptive retries.

Throttling and 5xx are retried by botocore itself (``retries.mode = adaptive``), never
by hand-rolled loops.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config


def dynamodb_client(
    region: str, endpoint_url: str | None = None, max_attempts: int = 6, **kwargs: Any
) -> Any:
    config = Config(
        retries={"mode": "adaptive", "max_attempts": max_attempts},
        connect_timeout=3,
        read_timeout=10,
        max_pool_connections=32,
    )
    return boto3.session.Session().client(
        "dynamodb", region_name=region, endpoint_url=endpoint_url, config=config, **kwargs
    )
