"""Settings from the environment (and ``.env``), validated once at start.

Field names are the environment variable names, lower-cased, so every validation
error can name the variable the operator has to fix.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from commands.parse import read_duration

CsvList = Annotated[list[str], NoDecode]


class ConfigError(SystemExit):
    """Start-up stops with one line per bad variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    stage: str = "dev"
    aws_region: str = "us-west-2"
    aws_endpoint_url_dynamodb: str | None = None

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str | None = None
    port: int = Field(3000, ge=1, le=65535)

    ddb_bot_state_table: str | None = None
    ddb_bot_approval_channel: str | None = None
    ddb_bot_allowed_channels: CsvList = Field(default_factory=list)
    ddb_bot_readers: CsvList = Field(default_factory=list)
    ddb_bot_requesters: CsvList = Field(default_factory=list)
    ddb_bot_approvers: CsvList = Field(default_factory=list)
    ddb_bot_request_ttl: timedelta = timedelta(minutes=30)
    # per-table approval policy with quorum (dynamo.policy); validated here, at start
    ddb_bot_policy_file: str | None = None
    # how long an executed change can be undone (dynamo.requests.undo); also how long a
    # deleted item's secret attributes are kept for that
    ddb_bot_undo_days: int = Field(7, ge=1, le=400)

    ddb_bot_digest_cron: str = "0 9 * * *"
    ddb_bot_digest_tz: str = "UTC"
    ddb_bot_digest_channel: str | None = None
    ddb_bot_failed_statuses: CsvList = Field(
        default_factory=lambda: ["failed", "error", "timeout"]
    )

    ddb_bot_scan_cap: int = Field(1000, ge=1, le=1_000_000)
    ddb_bot_count_cap: int = Field(100_000, ge=1, le=10_000_000)
    # where "Look up in DynamoDB" answers: in the message's thread (PII masked) or only to you
    ddb_bot_lookup_reply: Literal["thread", "ephemeral"] = "thread"
    ddb_bot_log_level: str = "INFO"

    # HTTP edge (bot/server.py): a connection idle this long is dropped, whatever state its
    # request is in; past the connection limit new connections wait in the kernel's backlog
    ddb_bot_http_idle_timeout: int = Field(30, ge=1, le=30)  # seconds
    ddb_bot_http_connection_limit: int = Field(1500, ge=10, le=20_000)
    ddb_bot_http_threads: int = Field(8, ge=1, le=64)
    # work after ack() runs on this many worker threads. A job mostly waits (DynamoDB, then
    # Slack's response_url, ~100 ms away from AWS), so workers bound concurrency; more than
    # 16 measurably delayed acks under overload (GIL), see README *Benchmarks*
    ddb_bot_workers: int = Field(16, ge=1, le=256)
    # at most this many wait for a worker, and none is admitted that
    # would wait longer than DDB_BOT_WORK_MAX_WAIT seconds; past that, "busy, try again"
    ddb_bot_work_queue: int = Field(100, ge=0, le=10_000)
    ddb_bot_work_max_wait: float = Field(5.0, gt=0, le=60)

    @field_validator("stage")
    @classmethod
    def _stage(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,30}", v):
            raise ValueError("must be lower-case letters, digits and dashes, like `dev`")
        return v

    @field_validator("aws_region")
    @classmethod
    def _region(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", v):
            raise ValueError("must be an AWS region like `us-west-2`")
        return v

    @field_validator("slack_api_url", "aws_endpoint_url_dynamodb")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not re.match(r"^https?://[^\s/]+", v):
            raise ValueError("must be an http(s) URL")
        return v

    @field_validator(
        "ddb_bot_allowed_channels", "ddb_bot_readers", "ddb_bot_requesters",
        "ddb_bot_approvers", "ddb_bot_failed_statuses", mode="before",
    )
    @classmethod
    def _csv(cls, v: object) -> object:
        if isinstance(v, str):
            return [p.strip() for p in v.split(",") if p.strip()]
        return v

    @field_validator("ddb_bot_allowed_channels", "ddb_bot_readers", "ddb_bot_requesters",
                     "ddb_bot_approvers")
    @classmethod
    def _ids(cls, v: list[str]) -> list[str]:
        bad = [x for x in v if not re.fullmatch(r"[A-Z][A-Z0-9_]{2,}", x)]
        if bad:
            raise ValueError(f"not Slack ids: {', '.join(bad)} (expected like U123ABC, S0G1, C01)")
        return v

    @field_validator("ddb_bot_policy_file")
    @classmethod
    def _policy(cls, v: str | None) -> str | None:
        if not v:
            return None
        from dynamo.policy import PolicyError, load_policy

        try:
            load_policy(v)
        except PolicyError as exc:
            raise ValueError(str(exc)) from None
        return v

    @field_validator("ddb_bot_request_ttl", mode="before")
    @classmethod
    def _ttl(cls, v: object) -> object:
        if isinstance(v, str):
            ttl = read_duration(v, "smhd", bare=True)
            if ttl is None:
                raise ValueError("must be a duration like 30m, 2h or 900 (seconds)")
            return ttl
        return v

    @field_validator("ddb_bot_request_ttl")
    @classmethod
    def _ttl_range(cls, v: timedelta) -> timedelta:
        if not timedelta(minutes=1) <= v <= timedelta(days=7):
            raise ValueError("must be between 1 minute and 7 days")
        return v

    @field_validator("ddb_bot_digest_cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        from dynamo.schedule import trigger  # crontab weekdays, as the scheduler reads them

        try:
            trigger(v, "UTC")
        except ValueError as exc:
            raise ValueError(f"not a valid 5-field cron expression: {exc}") from None
        return v

    @field_validator("ddb_bot_digest_tz")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not a known time zone (like UTC or Europe/Berlin)") from None
        return v

    @field_validator("ddb_bot_log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        if v.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return v.upper()

    # -- derived -------------------------------------------------------------------------
    @property
    def state_table(self) -> str:
        return self.ddb_bot_state_table or f"mfh-{self.stage}-ddb-bot"

    @property
    def table_prefix(self) -> str:
        return f"mfh-{self.stage}-"

    @property
    def has_slack(self) -> bool:
        return self.slack_bot_token is not None or self.slack_signing_secret is not None

    @property
    def has_aws(self) -> bool:
        return self.aws_endpoint_url_dynamodb is not None


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; a bad value raises ``ConfigError`` naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = ["ddb-bot: bad configuration:"]
        for err in exc.errors():
            var = str(err["loc"][0]).upper() if err["loc"] else "?"
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"  {var}: {msg}")
        raise ConfigError("\n".join(lines)) from None
