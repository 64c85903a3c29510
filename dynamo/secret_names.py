"""Secrets by name: which attribute names hold a secret, in any table, at any depth.

The schema names the platform's own secret attributes (``access_token``,
``refresh_token``, ``api_key``, ``api_secret``), but a secret is just as often stored
under a name nobody declared: an OAuth client secret inside ``platforms.oauth``
(``{"client_id": …, "client_secret": …}``), a ``password`` / ``apiKey`` /
``private_key`` inside a helper's ``config``, a top-level ``password``. Secret scanners
(detect-secrets' keyword detector, gitleaks' generic rules) recognise such values by the
name they are stored under; this is the same rule for attribute and map-key names.

A name is cut into words at separators (``_``, ``-``, ``.``, blanks) and at case changes
(``clientSecret``, ``Client-Secret``, ``CLIENT_SECRET`` are all ``client secret``). It
holds a secret when one word ends in a secret word (``secret``, ``password``,
``passwd``, ``passphrase``, ``pwd``, ``token``, ``credential``, ``contraseña``, each also
plural, glued to a prefix or not: ``dbPassword``, ``authtoken``) or is ``key`` after a
qualifier that makes it one (``api``, ``private``, ``access``, ``secret``, ``signing``,
``encryption``, ``master``, ``auth``, ``account``, ``client``, ``service``, ``db``,
``database``, ``iam``; glued too: ``apikey``), unless

- a word after it says the attribute describes the secret rather than holds it
  (``token_type``, ``api_key_id``, ``client_secret_expires_at``, ``token_url``,
  ``secret_arn``, ``password_policy``: see ``DESCRIBING``), or
- it is a pagination token (``NextToken``, ``next_page_token``, ``PaginationToken``,
  ``ContinuationToken``, ``StartingToken``, a sync or resume token): how a reader asks
  for the next page, which a JSON answer must show so it can be continued, or
- it counts tokens (``max_tokens``, ``input_tokens``, ``total_tokens``).

Words inside a longer word are not secret words (``secretary``, ``tokenizer``,
``passwordless``), nor is ``key`` alone (``Key``, ``KeySchema``, ``LastEvaluatedKey``,
``key_hash``, ``key_prefix``). SECURITY.md states the rule and its exceptions;
``tests/unit/test_secret_names.py`` pins each of them.
"""

from __future__ import annotations

import re
from functools import lru_cache

# a word that ends in one of these (or its plural) makes the name secret
_SECRET_WORD = re.compile(
    r"(?:secret|password|passwort|passwd|passphrase|pwd|token|credential|contraseña|contrasena"
    r"|(?:api|private|priv|access|secret|signing|encryption|master|auth|account|client|service"
    r"|db|database|iam)key)s?\Z")
# ``key`` (or ``keys``) as its own word makes the name secret after one of these
KEY_QUALIFIERS = frozenset({
    "api", "private", "priv", "access", "secret", "signing", "encryption", "master", "auth",
    "account", "client", "service", "db", "database", "iam"})
# a word after the secret word that makes the attribute a fact about the secret
DESCRIBING = frozenset({
    "id", "ids", "arn", "name", "names", "type", "types", "kind", "format", "url", "urls", "uri",
    "uris", "endpoint", "endpoints", "path", "location", "provider", "method", "header", "param",
    "params", "parameter", "field", "fields", "label", "hint", "prefix", "suffix", "last",
    "scope", "scopes", "policy", "version", "status", "state", "mode", "strategy", "rotation",
    "at", "on", "date", "time", "ts", "timestamp", "expiry", "expires", "expiration", "exp",
    "ttl", "lifetime", "age", "length", "len", "size", "count", "max", "min", "limit", "required",
    "enabled", "set", "present", "configured", "touched", "changed", "updated", "created",
    "rotated", "used", "tried"})
# before ``token``: a pagination token (not a credential: it pages a listing)
PAGING = frozenset({
    "next", "page", "paging", "pagination", "continuation", "starting", "start", "resume",
    "sync", "idempotency"})
# before ``token(s)``: a count of tokens (a language model's budget)
COUNTING = frozenset({
    "max", "min", "input", "output", "total", "prompt", "completion", "used", "remaining", "num",
    "context", "reasoning", "cached"})

_PARTS = re.compile(r"[^\W_]+")  # runs of letters and digits (separators between them)
# case changes (``clientSecret``, ``APIKey``) and letter / digit changes (``password2``)
_CASE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[^\W\d_])(?=\d)"
                   r"|(?<=\d)(?=[^\W\d_])")


def words(name: str) -> list[str]:
    """``name`` as lower-case words: ``clientSecret`` / ``CLIENT_SECRET`` → client, secret."""
    return [w.lower() for part in _PARTS.findall(name) for w in _CASE.split(part) if w]


@lru_cache(maxsize=8192)
def is_secret_name(name: str) -> bool:
    """Whether an attribute or map key called ``name`` holds a secret (see the module doc)."""
    ws = words(name)
    for i, word in enumerate(ws):
        before = ws[i - 1] if i else ""
        own_key = word in ("key", "keys") and before in KEY_QUALIFIERS
        if not (own_key or _SECRET_WORD.search(word)):
            continue
        if any(w in DESCRIBING for w in ws[i + 1:]):
            continue  # a fact about the secret: token_type, api_key_id, secret_arn
        if word.endswith(("token", "tokens")) and (before in PAGING or before in COUNTING):
            continue  # NextToken, next_page_token; max_tokens, input_tokens
        return True
    return False
