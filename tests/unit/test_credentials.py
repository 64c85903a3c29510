"""The credential catalogue: one example per shape, checked against detect-secrets.

Each example is masked (the secret gone, the text around it kept), and — where
detect-secrets 1.5.0 has a plugin for the family — that plugin flags the same text too, so
the catalogue is the scanner's, not a guess. Examples follow the plugins' own tests and
the providers' documented formats. Then: what must never be masked, masks never crossing
a line or a table cell, and rendered cards and tables.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.plugins import keyword

from bot.render.blocks import render_message
from bot.render.text import render_text
from commands.results import ItemsResult, TableResult
from dynamo.credentials import MASKED, SHAPES, find_credentials, mask_credentials
from dynamo.redact import mask_text, redact_item
from dynamo.schema import BY_SHORT

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaW"
       "F0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
PEM_BODY = "MIIEpAIBAAKCAQEA7bq1xnqpRZgkqgF2S1JpbG4YWq0yZ7OlPG8nKrm0Y8J3Hkx1"

# (shape, text as it would appear, the secret part, a detect-secrets plugin that flags it)
EXAMPLES: list[tuple[str, str, str, str | None]] = [
    ("private key", f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\nab12==\n-----END RSA PRIVATE KEY-----",
     PEM_BODY, "PrivateKeyDetector"),
    ("private key", f"-----BEGIN OPENSSH PRIVATE KEY-----\n{PEM_BODY}", PEM_BODY, "PrivateKeyDetector"),
    ("PuTTY key", "PuTTY-User-Key-File-2: ssh-rsa AAAAB3NzaC1yc2EAAAABJQ", "AAAAB3NzaC1yc2EAAAABJQ",
     "PrivateKeyDetector"),
    ("Slack token", "token xoxb-34532454-e039d02840a0b9379c", "e039d02840a0b9379c", "SlackDetector"),
    ("Slack token", "xapp-1-A0123BCDE-4567890123-abcdef0123456789", "4567890123-abcdef", None),
    ("Slack webhook", "https://hooks.slack.com/services/Txxxxxxxx/Bxxxxxxxx/xxxxxxxxxxxxxxxxxxxxxxxx",
     "Bxxxxxxxx/xxxxxxxxxxxxxxxx", "SlackDetector"),
    ("Discord bot token", "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs",
     "ZnCjm1XVW7vRze4b7Cq4se7kKWs", "DiscordBotTokenDetector"),
    ("Telegram bot token", "bot 110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawq ok",
     "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawq", "TelegramBotTokenDetector"),
    ("Twilio key", "sid AC0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789",
     "TwilioKeyDetector"),
    ("Twilio key", "SK0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789", "TwilioKeyDetector"),
    ("SendGrid key", "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",
     "TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc", "SendGridDetector"),
    ("Mailchimp key", "key 343ea45721923ed956e2b38c31db76aa-us30", "343ea45721923ed956e2b38c31db76aa",
     "MailchimpDetector"),
    ("AWS access key id", "AKIAIOSFODNN7EXAMPLE", "IOSFODNN7EXAMPLE", "AWSKeyDetector"),
    ("AWS access key id", "ASIAIOSFODNN7EXAMPLE", "IOSFODNN7EXAMPLE", "AWSKeyDetector"),
    ("AWS secret access key", f'aws_secret_access_key = "{AWS_SECRET}"', AWS_SECRET, "AWSKeyDetector"),
    ("AWS secret access key", f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}", AWS_SECRET, "KeywordDetector"),
    ("AWS secret access key", f'"aws key": "{AWS_SECRET}"', AWS_SECRET, "AWSKeyDetector"),
    ("AWS secret after its key id", f"AKIAIOSFODNN7EXAMPLE:{AWS_SECRET}", AWS_SECRET, "AWSKeyDetector"),
    ("Azure storage key", "DefaultEndpointsProtocol=https;AccountName=x;AccountKey="
     "lJzRc1YdHaAA2KCNJJ1tkYwF/+mKK6Ygw0NGe170Xu592euJv2wYUtBlV8z+qnlcNQSnIYVTkLWntUO1F8j8rQ==;"
     "EndpointSuffix=core.windows.net", "lJzRc1YdHaAA2KCNJJ1tkYwF", "AzureStorageKeyDetector"),
    ("Azure SAS signature", "https://x.blob.core.windows.net/c?sv=2021&sig=AbCdEfGhIjKlMnOpQrStUvWxYz%3D",
     "AbCdEfGhIjKlMnOpQrStUvWxYz", None),
    ("Google OAuth token", "ya29.a0AfH6SMBx-secret-access-token", "a0AfH6SMBx-secret", None),
    ("Google OAuth token", "refresh 1//0gLx9secretRefreshToken", "0gLx9secretRefreshToken", None),
    ("Google API key", "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe", "SyDaGmWKa4JsXZ-HjGw7ISLn", None),
    ("IBM / SoftLayer URL key",
     "https://api.softlayer.com/soap/v3/" + "a" * 32 + "b" * 32, "a" * 32 + "b" * 32, "SoftlayerDetector"),
    ("GitHub token", "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", "wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUx",
     "GitHubTokenDetector"),
    ("GitHub token", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789",
     "11ABCDEFG0123456789_abcdefghij", None),
    ("GitLab token", "glpat-xxxxxxxx-xxxxxxxxxxx", "xxxxxxxx-xxxxxxxxxxx", "GitLabTokenDetector"),
    ("GitLab token", "GR1348941PREFIX_abcdefghijklmnopqrstu", "PREFIX_abcdefghijklmnopqrstu",
     "GitLabTokenDetector"),
    ("NPM token", "//registry.npmjs.org/:_authToken=npm_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ",
     "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", "NpmDetector"),
    ("PyPI token", "pypi-AgEIcHlwaS5vcmc" + "A1b2C3d4E5" * 8, "A1b2C3d4E5" * 3, "PypiTokenDetector"),
    ("Artifactory token", "token AKCp8jQ8uXmPcxyz1234567890", "p8jQ8uXmPcxyz1234567890",
     "ArtifactoryDetector"),
    ("Stripe key", "sk_live_ReTllpYQYfIZu2Jnf2lAPFjD", "ReTllpYQYfIZu2Jnf2lAPFjD", "StripeDetector"),
    ("Stripe key", "rk_live_ReTllpYQYfIZu2Jnf2lAPFjD", "ReTllpYQYfIZu2Jnf2lAPFjD", "StripeDetector"),
    ("Stripe key", "whsec_abcdefghijklmnopqrstuvwx1234", "abcdefghijklmnopqrstuvwx1234", None),
    ("Square token", "sq0csp-0p9h7g6f4s3s3s3-4a3ardgwa6ADRDJDDKUFYDYDYDY",
     "0p9h7g6f4s3s3s3-4a3ardgwa6ADRDJDDKUFYDYDYDY", "SquareOAuthDetector"),
    ("AI provider key", "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",
     "Xi8tcNiHV9awbCcvilTeT3BlbkFJ3UDnpdEwNNm6wVBpYM0o", "OpenAIDetector"),
    ("AI provider key", "OPENAI_API_KEY is sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
     "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", None),
    ("AI provider key", "sk-ant-api03-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAA", "Ab3dEf6hIj9kLm2nOp5qRs8t", None),
    ("Hugging Face token", "hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345", "AbCdEfGhIjKlMnOpQrStUvWxYz", None),
    ("JWT", f"id_token={JWT}", "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV", "JwtTokenDetector"),
    ("bearer", "Authorization: Bearer abcdefghijklmnop.qrstuv", "abcdefghijklmnop", None),
    ("basic auth header", "Authorization: Basic dXNlcjpodW50ZXIyMjIy", "dXNlcjpodW50ZXIyMjIy", None),
    ("password in a URL", "postgres://admin:PW4postgres@db:5432/app", "PW4postgres", "BasicAuthDetector"),
    ("password in a URL", "https://user:s3cr3tPass@host/x.git", "s3cr3tPass", "BasicAuthDetector"),
    ("keyword, bare value", "password: hunter2xyz", "hunter2xyz", "KeywordDetector"),
    ("keyword, quoted value", '{"password": "hunter2xyz"}', "hunter2xyz", "KeywordDetector"),
    ("keyword, quoted value", '"db_password": "correct horse battery"', "horse battery", "KeywordDetector"),
    ("keyword, bare value", "passwd=hunter2xyz&user=ada", "hunter2xyz", "KeywordDetector"),
    ("keyword, bare value", "secret=abc123def", "abc123def", "KeywordDetector"),
    ("keyword, bare value", "api_key = 9f8e7d6c5b4a", "9f8e7d6c5b4a", "KeywordDetector"),
    ("keyword, bare value", "client_secret: GOCSPX-abc123", "GOCSPX-abc123", None),
    ("keyword, bare value", "ibm_cloud_iam_key: " + "x1" * 22, "x1" * 22, "IbmCloudIamDetector"),
    ("keyword, bare value", "cos_hmac_secret_access_key=" + "ab12" * 12, "ab12" * 12, "IbmCosHmacDetector"),
    ("keyword, quoted value", "cloudant_password='" + "a1" * 32 + "'", "a1" * 32, "CloudantDetector"),
]

# Text that must come out exactly as it went in.
NOT_CREDENTIALS = [
    "acct-0001", "helper-0001", "conn-0001", "exec-000123", "plat-0002", "auth-0001",
    "5f1c2d8e-7a3b-4c9d-8e2f-1a2b3c4d5e6f", "user:5f1c2d8e-7a3b-4c9d-8e2f-1a2b3c4d5e6f",
    "2026-11-29T20:51:24Z", "2026-11-29T20:51:24.123456+00:00", "ada@example.com",
    "grace.hopper+ops@example.co.uk", "29b8c08c…", "29b8c08c7e8be2f6", "R1127055613NDJBF",
    "token_type: Bearer", "Bearer", "token_type        Bearer", "secret_touched: false",
    "key_hash: 29b8c08c…", "api_key           [redacted]", "auth_type: oauth2",
    "https://api.example.com:8443/v1/hubspot?page=2", "arn:aws:dynamodb:us-west-2:123456789012:table/x",
    "the task-runner failed: timeout after 512ms", "password: true", "password: ********",
    "desk-1234567890abcdefghijkl", "mfh-dev-platform-connection-auths", "status=failed code=500",
    "sk-learn is a library", "pk: REQ", "see /ddb auth conn-0001",
]

_PLUGINS = {cls.__name__: cls for cls in get_mapping_from_secret_type_to_class().values()}


def _flagged_by(plugin: str, text: str) -> bool:
    """Whether detect-secrets' plugin finds a secret in ``text`` (line by line).

    The keyword detector is asked as for a config file and as for code (quotes required).
    """
    detector: Any = _PLUGINS[plugin]()
    lines = text.splitlines() or [text]
    if plugin == "KeywordDetector":
        return any(bool(list(detector.analyze_string(line, regexes)))
                   for regexes in (keyword.CONFIG_DENYLIST_REGEX_TO_GROUP,
                                   keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP)
                   for line in lines)
    return any(bool(list(detector.analyze_string(line))) for line in lines)


@pytest.mark.parametrize(("shape", "text", "secret", "plugin"), EXAMPLES,
                         ids=[f"{e[0]}:{e[1][:24]}" for e in EXAMPLES])
def test_each_shape_is_masked_and_the_scanner_agrees(shape: str, text: str, secret: str,
                                                     plugin: str | None) -> None:
    assert secret in text
    masked = mask_credentials(text)
    assert secret not in masked and MASKED in masked, masked
    assert shape in find_credentials(text)
    if plugin is not None:
        assert _flagged_by(plugin, text), f"{plugin} does not flag {text!r}"


def test_every_shape_has_an_example() -> None:
    assert {s.name for s in SHAPES} == {e[0] for e in EXAMPLES}


@pytest.mark.parametrize("text", NOT_CREDENTIALS)
def test_ids_timestamps_emails_and_hash_prefixes_are_not_masked(text: str) -> None:
    assert mask_credentials(text) == text
    assert redact_item({"note": text}) == {"note": text}


def test_the_key_name_scheme_user_and_label_stay() -> None:
    assert mask_text("postgres://admin:PW@db:5432/app") == f"postgres://admin:{MASKED}@db:5432/app"
    assert mask_text("https://user:PW@host/x.git") == f"https://user:{MASKED}@host/x.git"
    assert mask_text("password: PW") == f"password: {MASKED}"
    assert mask_text('{"password": "PW", "user": "ada"}') == f'{{"password": "{MASKED}", "user": "ada"}}'
    assert mask_text("passwd=PW&secret=S2&x=1") == f"passwd={MASKED}&secret={MASKED}&x=1"
    assert mask_text("Authorization: Bearer abcdefghij") == f"Authorization: Bearer {MASKED}"
    assert mask_text(f"aws_secret_access_key={AWS_SECRET} region=us-west-2") == \
        f"aws_secret_access_key={MASKED} region=us-west-2"


# -- a mask never crosses a line, a value or a table cell ---------------------------------------
NEXT_LINE = "updated_at        2026-11-29T20:51:24Z"


@pytest.mark.parametrize(("shape", "text", "secret", "plugin"), EXAMPLES,
                         ids=[f"{e[0]}:{e[1][:24]}" for e in EXAMPLES])
def test_a_mask_stops_at_the_line_and_the_cell(shape: str, text: str, secret: str,
                                               plugin: str | None) -> None:
    """Whatever stands before and after a credential — a card's next line, a table's next
    cell two blanks away — comes out unchanged, and no line break is lost."""
    for prefix, suffix in (("note  ", f"\n{NEXT_LINE}"), ("version  1\n", "\nversion  1"),
                           ("cell  ", "  next-cell  2026-11-29T20:51:24Z")):
        masked = mask_credentials(prefix + text + suffix)
        assert masked.startswith(prefix) and masked.endswith(suffix), masked
        assert secret not in masked
        if "\n" not in text:
            assert masked.count("\n") == (prefix + suffix).count("\n")


def test_bearer_label_at_the_end_of_a_line_keeps_the_next_line() -> None:
    """The bug of ``/ddb auth conn-0001``: ``Bearer`` swallowed ``\\nupdated_at``."""
    text = f"token_type        Bearer\n{NEXT_LINE}\nversion           1"
    assert mask_text(text) == text
    row = "oauth2     Bearer      2026-11-29T20:51:24Z  active"
    assert mask_text(row) == row


AUTH = BY_SHORT["platform-connection-auths"]


def auth_item(**extra: Any) -> dict[str, Any]:
    return {"auth_id": "auth-0001", "connection_id": "conn-0001", "auth_type": "oauth2",
            "access_token": "ya29.demo-access", "token_type": "Bearer",
            "updated_at": "2026-11-29T20:51:24Z", "user_id": "user:5f1c2d8e-7a3b-4c9d-8e2f-1a2b3c4d5e6f",
            "version": Decimal(1), **extra}


def test_rendered_auth_card_keeps_every_row() -> None:
    result = ItemsResult(title="platform-connection-auths · auth-0001", table=AUTH.short,
                         items=[auth_item(note="db at postgres://admin:PW4db@db:5432/app")], single=True)
    text = render_text(result)
    lines = {ln.split()[0]: ln.split(None, 1)[1] for ln in text.splitlines()[2:] if ln.strip()}
    assert lines["token_type"] == "Bearer"
    assert lines["updated_at"] == "2026-11-29T20:51:24Z"
    assert lines["access_token"] == "[redacted]"
    assert lines["note"] == f"db at postgres://admin:{MASKED}@db:5432/app"
    assert lines["user_id"] == "user:5f1c2d8e-7a3b-4c9d-8e2f-1a2b3c4d5e6f"
    blocks = str(render_message(result))
    assert "Bearer" in blocks and "2026-11-29T20:51:24Z" in blocks and "PW4db" not in blocks
    assert "postgres://admin:" in blocks


def test_rendered_table_keeps_every_cell() -> None:
    rows = [["auth-0001", "Bearer", "2026-11-29T20:51:24Z", "password: hunter2xyz"],
            ["auth-0002", "Basic", "2026-11-28T10:00:00Z", "ok"]]
    text = render_text(TableResult(columns=["auth_id", "token_type", "updated_at", "note"], rows=rows))
    assert "hunter2xyz" not in text
    first = text.splitlines()[2].split("  ")
    cells = [c.strip() for c in first if c.strip()]
    assert cells == ["auth-0001", "Bearer", "2026-11-29T20:51:24Z", f"password: {MASKED}"]
    assert "2026-11-28T10:00:00Z" in text and "Basic" in text


def _every_shape_in_turn(text: str) -> str:
    for shape in SHAPES:
        text = shape.mask(text)
    return text


@pytest.mark.parametrize("text", [e[1] for e in EXAMPLES] + NOT_CREDENTIALS)
def test_the_gates_never_skip_a_shape_that_matches(text: str) -> None:
    """The fast path (gates, then only the shapes they let through) masks exactly what
    running every shape would, in any letter case."""
    for variant in (text, text.upper(), text.lower(), f"x {text} y\n{text}"):
        assert mask_credentials(variant) == _every_shape_in_turn(variant), variant


# -- the other ways text leaves the bot: logs and digest signatures ------------------------------
LEAKY_LINES = [
    ("connect postgres://admin:Pg4dminPW@db:5432/app failed", "Pg4dminPW"),
    ('login {"password": "hunter2zz"} rejected', "hunter2zz"),
    ("OpenAI 401 for sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", "Ab3dEf6hIj9kLm2nOp5qRs8t"),
    (f"aws_secret_access_key={AWS_SECRET} expired", AWS_SECRET),
]


@pytest.mark.parametrize(("line", "secret"), LEAKY_LINES)
def test_log_lines_mask_the_new_shapes(line: str, secret: str) -> None:
    import json
    import logging

    from bot.logs import JsonFormatter

    record = logging.LogRecord("bot", logging.WARNING, __file__, 1, "DynamoDB said: %s", (line,), None)
    record.detail = {"error": line}
    out = json.loads(JsonFormatter().format(record))
    assert secret not in out["msg"] and out["msg"].startswith("DynamoDB said: ") and MASKED in out["msg"]
    assert secret not in out["detail"]["error"] and MASKED in out["detail"]["error"]


@pytest.mark.parametrize(("line", "secret"), LEAKY_LINES)
def test_digest_signatures_mask_the_new_shapes(line: str, secret: str) -> None:
    from dynamo.digest import normalise

    signature = normalise(line)
    assert secret not in signature and secret[:8] not in signature
    assert "masked credential" in signature
