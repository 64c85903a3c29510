"""Settings from the environment (and ``.env``), validated once at start.

Field names are the environment variable names, lower-cased, so every validation
error can name the variable the operator has to fix.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
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
    # the signing secret before a rotation, accepted beside SLACK_SIGNING_SECRET until every
    # replica has the new one (bot.edge; README, Rotating secrets)
    slack_signing_secret_previous: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str | None = None
    port: int = Field(3000, ge=1, le=65535)

    ddb_bot_state_table: str | None = None
    ddb_bot_approval_channel: str | None = None
    ddb_bot_allowed_channels: CsvList = Field(default_factory=list)
    ddb_bot_readers: CsvList = Field(default_factory=list)
    ddb_bot_requesters: CsvList = Field(default_factory=list)
    ddb_bot_approvers: CsvList = Field(default_factory=list)
    # serve / socket refuse to start while DDB_BOT_READERS or DDB_BOT_APPROVERS is empty
    # (each: the whole workspace) unless this says so is meant (bot.access.closed_by_default)
    ddb_bot_open_access: bool = False
    ddb_bot_request_ttl: timedelta = timedelta(minutes=30)
    # per-table approval policy with quorum (dynamo.policy); validated here, at start
    ddb_bot_policy_file: str | None = None
    # the team's Serverless/CloudFormation file as the tables' structure (dynamo.schema_file);
    # read and validated here, at start
    ddb_bot_schema_file: str | None = None
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

    @field_validator("slack_bot_token", "slack_app_token", "slack_signing_secret",
                     "slack_signing_secret_previous")
    @classmethod
    def _secret_shape(cls, v: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if v is None:
            return None
        raw = v.get_secret_value()
        if not raw:
            raise ValueError("is set but empty: give it a value or unset it")
        if raw != raw.strip() or any(c.isspace() for c in raw):
            raise ValueError("contains whitespace (a trailing newline from the secret store?)")
        prefix = {"slack_bot_token": "xoxb-", "slack_app_token": "xapp-"}.get(info.field_name or "")
        if prefix and not raw.startswith(prefix):
            kind = "bot token" if prefix == "xoxb-" else "app-level token (Socket Mode)"
            seen = f"`{raw[:5]}`" if re.match(r"xox[a-z]-|xapp-", raw) else "something else"
            raise ValueError(f"must be a {kind}, which starts with `{prefix}`; this one starts "
                             f"with {seen}")
        return v

    @model_validator(mode="after")
    def _previous_secret(self) -> Settings:
        previous = self.slack_signing_secret_previous
        if previous is None:
            return self
        if self.slack_signing_secret is None:
            raise ValueError("SLACK_SIGNING_SECRET_PREVIOUS is set but SLACK_SIGNING_SECRET is "
                             "not: during a rotation both are set (README, Rotating secrets)")
        if previous.get_secret_value() == self.slack_signing_secret.get_secret_value():
            raise ValueError("SLACK_SIGNING_SECRET_PREVIOUS is the same as SLACK_SIGNING_SECRET")
        return self

    @field_validator("ddb_bot_state_table")
    @classmethod
    def _table_name(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[a-zA-Z0-9_.-]{3,255}", v):
            raise ValueError("must be a DynamoDB table name: 3-255 letters, digits, `_`, `-`, `.`")
        return v

    @field_validator("ddb_bot_approval_channel", "ddb_bot_digest_channel")
    @classmethod
    def _channel(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not re.fullmatch(r"[CG][A-Z0-9_]{2,}", v):
            raise ValueError("must be a Slack channel id like C0123ABCD (channel details → "
                             "About), not a name")
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

    @field_validator("ddb_bot_schema_file")
    @classmethod
    def _schema_file(cls, v: str | None, info: ValidationInfo) -> str | None:
        if not v:
            return None
        stage = info.data.get("stage")
        if not isinstance(stage, str):
            return v  # STAGE's own error says what to fix first
        from dynamo.schema_file import SchemaFileError, load_schema_file

        try:
            load_schema_file(v, stage)
        except SchemaFileError as exc:
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
            msg = err["msg"].removeprefix("Value error, ")
            # a check across variables (model validator) names them in its message
            lines.append(f"  {str(err['loc'][0]).upper()}: {msg}" if err["loc"] else f"  {msg}")
        raise ConfigError("\n".join(lines)) from None


# -- which Slack mode, and whether its configuration is complete ---------------------------
SLACK_VARS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET_PREVIOUS",
              "SLACK_APP_TOKEN")


def _set(settings: Settings) -> list[str]:
    return [v for v in SLACK_VARS if getattr(settings, v.lower()) is not None]


def slack_mode(settings: Settings, mode: str | None) -> str:
    """The mode to run: ``mode`` when given, else Socket Mode with SLACK_APP_TOKEN, HTTP with
    SLACK_SIGNING_SECRET, the demo with no Slack variable at all. Raises ``ConfigError``
    naming the missing variable when the Slack variables given are not a whole
    configuration: a half-configured bot never falls back to the demo."""
    given = _set(settings)
    if mode is None:
        if not given:
            return "demo"
        mode = "socket" if settings.slack_app_token else "serve" if \
            settings.slack_signing_secret else None
    needs = {"serve": ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"),
             "socket": ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")}
    if mode is None:
        missing = ["SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode)"]
    elif mode in needs:
        missing = [v for v in needs[mode] if v not in given]
    else:
        return mode  # the other modes use Slack only where they say so
    if missing:
        what = {"serve": " for HTTP mode", "socket": " for Socket Mode"}.get(mode or "", "")
        raise ConfigError(
            f"ddb-bot: incomplete Slack configuration{what}: {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set ({', '.join(given) or 'nothing'} "
            "is set). Set the missing variable, or unset every SLACK_* variable to run the "
            "demo." + _hint(missing))
    return mode


def _hint(missing: list[str]) -> str:
    near = [f"{name} is set: a misspelling of {known}?" for name, known in misspelt()
            if any(known in m for m in missing)]
    return (" " + " ".join(near)) if near else ""


def misspelt(environ: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(name, setting) for each SLACK_* / DDB_BOT_* variable in the environment that is not
    a setting but nearly spells one (``SLACK_SIGNING_SECRETS``): silently ignored, it would
    leave that setting unset."""
    import difflib
    import os

    known = [name.upper() for name in Settings.model_fields]
    found = []
    for name in sorted(environ if environ is not None else os.environ):
        upper = name.upper()
        if upper in known or not upper.startswith(("SLACK_", "DDB_BOT_")):
            continue
        close = difflib.get_close_matches(upper, known, n=1, cutoff=0.85)
        if close:
            found.append((name, close[0]))
    return found
