"""The rule that says, from its name alone, that an attribute or map key holds a secret.

It is the families secret scanners use (``*secret*``, ``*password*`` / ``passwd`` /
``pwd``, ``*token*``, ``*api_key*`` / ``apiKey``, ``private_key``, ``credential*``, …),
whatever the case or separator, minus the names that only describe a secret
(``token_type``, ``api_key_id``), pagination tokens (``NextToken``) and token counts.
"""

from __future__ import annotations

import pytest

from dynamo.schema import BY_SHORT, TABLES, is_secret, secret_inside
from dynamo.secret_names import is_secret_name, words

SECRET = [
    # the families, in every case and separator style
    "secret", "secrets", "client_secret", "clientSecret", "Client-Secret", "CLIENT_SECRET",
    "client.secret", "client secret", "clientsecret", "OAuthClientSecret", "webhook_secret",
    "password", "Password", "PASSWORD", "passwd", "pwd", "user_pwd", "dbPassword", "db-password",
    "passwords", "password2", "new_password", "passphrase", "Passwort",
    "token", "tokens", "access_token", "accessToken", "refresh_token", "id_token", "authtoken",
    "_authToken", "session_token", "bearer_token", "csrf-token", "x-auth-token", "GITHUB_TOKEN",
    "api_key", "apiKey", "APIKey", "ApiKey", "API_KEY", "x-api-key", "apikey", "apiKeys",
    "private_key", "privateKey", "PRIVATE-KEY", "privatekey", "priv_key",
    "credential", "credentials", "Credentials", "aws_credentials",
    "access_key", "secret_key", "aws_secret_access_key", "signing_key", "encryption_key",
    "master_key", "auth_key", "account_key", "client_key", "service_key", "db_key", "iam_key",
    "contraseña", "contrasena", "access_token_value",
]
NOT_SECRET = [
    # describing a secret, not holding it
    "token_type", "tokenType", "TokenType", "api_key_id", "apiKeyId", "access_key_id",
    "private_key_id", "client_secret_expires_at", "token_expires_in", "token_url", "tokenEndpoint",
    "secret_arn", "secret_name", "password_policy", "password_changed_at", "password_min_length",
    "credential_type", "secret_touched", "secrets_tried", "api_key_prefix", "tokens_used",
    "token_count", "KMSMasterKeyArn",
    # pagination and idempotency tokens; token budgets
    "NextToken", "next_token", "nextPageToken", "next_page_token", "PageToken", "page_token",
    "PaginationToken", "ContinuationToken", "NextContinuationToken", "StartingToken",
    "sync_token", "resume_token", "max_tokens", "maxTokens", "max_output_tokens", "input_tokens",
    "total_tokens",
    # no secret word, or one only inside a longer word
    "key", "Key", "Keys", "KeySchema", "LastEvaluatedKey", "ExclusiveStartKey", "key_hash",
    "key_prefix", "key_id", "public_key", "sort_key", "partition_key", "client_id",
    "client_email", "auth_type", "auth_id", "expires_at", "secretary", "tokenizer",
    "passwordless", "S", "M", "B", "oauth", "config", "email", "",
]


@pytest.mark.parametrize("name", SECRET)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name), words(name)


@pytest.mark.parametrize("name", NOT_SECRET)
def test_names_that_are_not_secrets(name: str) -> None:
    assert not is_secret_name(name), words(name)


def test_words_cut_at_separators_case_changes_and_digits() -> None:
    assert words("clientSecret") == words("Client-Secret") == words("CLIENT_SECRET") \
        == ["client", "secret"]
    assert words("APIKey") == ["api", "key"]
    assert words("OAuth2ClientSecret") == ["o", "auth", "2", "client", "secret"]
    assert words("x.api key") == ["x", "api", "key"]


def test_every_declared_attribute_keeps_its_meaning() -> None:
    """The rule adds no declared attribute to the secrets, except the declared secrets."""
    for table in TABLES:
        for attr in table.attributes:
            assert table.is_secret(attr) == (attr in table.never_shown), (table.short, attr)
    assert is_secret("access_token") and is_secret("client_secret")
    assert is_secret("client_secret", BY_SHORT["platforms"])


def test_secret_inside_finds_the_first_secret_key_at_any_depth() -> None:
    assert secret_inside({"field": "email", "hooks": [{"x": 1}, {"Client-Secret": "v"}]}) \
        == "hooks.Client-Secret"
    assert secret_inside({"M": {"oauth": {"M": {"apiKey": {"S": "v"}}}}}) == "M.oauth.M.apiKey"
    assert secret_inside({"token_type": "Bearer", "NextToken": "x", "n": [1, 2]}) is None
    assert secret_inside("password") is None
