"""Find identifiers in free text and say what each one is (the "Look up" shortcut).

Support threads are full of ids: ``user:<uuid>``, emails, Cognito subs, ``acct-…``,
``helper-…``, ``exec-…``, ``conn-…`` ids and platform slugs. ``extract`` finds them in
any text, ``resolve`` answers each through the seed's access patterns (one GetItem or
one index Query each), and at most ``CAP`` are resolved so a pasted log of hundreds of
ids stays one cheap, readable answer. No Slack types here: the Slack shortcut and the
``/ddb lookup`` command render the same ``Lookup``.
"""

from __future__ import annotations

import json
import re
import shlex
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from commands.registry import CommandError, Context, command
from commands.results import ErrorResult, Result, TableResult
from dynamo import patterns as ap
from dynamo.redact import mask_text, redact_item, redact_value
from dynamo.schema import BY_SHORT
from dynamo.store import Page, Store, StoreError

CAP = 20  # identifiers resolved per lookup; the rest are counted, not read
TEXT_MAX = 50_000  # characters of a message scanned
ID_MAX = 128
SLUG_CACHE_SECONDS = 300
SLUG_READ_CAP = 1000
# Used only when the platforms table cannot be read: the CRMs the platform integrates.
DECLARED_SLUGS = frozenset({"hubspot", "keap", "salesforce", "gohighlevel", "activecampaign"})

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_ID_TAIL = r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,126}[A-Za-z0-9])?"
_START = r"(?<![\w:.@/-])"  # not inside another word, id, email or path
_END = r"(?![\w-])"
# Order matters where two kinds could start at the same place (a user id holds a UUID).
_KINDS: tuple[tuple[str, str], ...] = (
    ("user_id", rf"{_START}user:{_UUID}{_END}"),
    ("execution", rf"{_START}exec-{_ID_TAIL}{_END}"),
    ("account", rf"{_START}acct-{_ID_TAIL}{_END}"),
    ("helper", rf"{_START}helper-{_ID_TAIL}{_END}"),
    ("connection", rf"{_START}conn-{_ID_TAIL}{_END}"),
    ("platform_id", rf"{_START}plat-{_ID_TAIL}{_END}"),
    ("email", r"(?<![\w.%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+"),
    ("uuid", rf"{_START}{_UUID}{_END}"),
    ("word", r"(?<![\w@.:/-])[A-Za-z][A-Za-z0-9-]{0,62}[A-Za-z0-9](?![\w@-])"),
)
_PATTERN = re.compile("|".join(f"(?P<{k}>{p})" for k, p in _KINDS))
# A URL's scheme, host and path (up to its query or fragment), trailing punctuation left
# out: "see https://app.example.com/helpers/helper-0007." ends at the id.
_URL = re.compile(r"(?<![\w.+-])[A-Za-z][A-Za-z0-9+.-]{0,31}://"
                  r"(?:[^\s<>\"'`|?#]*[^\s<>\"'`|?#.,;:!)\]}])?")
_SEGMENT = re.compile(r"[^/]+")

LABELS = {
    "user_id": "user id", "email": "email", "uuid": "UUID", "account": "account",
    "helper": "helper", "execution": "execution", "connection": "connection",
    "platform_id": "platform", "slug": "platform slug",
}
LOOKS_FOR = ("`user:<uuid>`, emails, UUIDs (Cognito subs), `acct-…`, `helper-…`, `exec-…`, "
             "`conn-…`, `plat-…` ids and platform slugs")


@dataclass(frozen=True)
class Identifier:
    kind: str
    value: str

    @property
    def label(self) -> str:
        return LABELS.get(self.kind, self.kind)


@dataclass
class Match:
    """What one identifier resolved to; ``item`` is already redacted (no secrets)."""

    ident: Identifier
    table: str | None = None
    item: dict[str, Any] | None = None
    how: str = ""  # which access pattern answered ("users by email")
    error: str | None = None

    @property
    def found(self) -> bool:
        return self.item is not None and self.table is not None

    @property
    def key(self) -> dict[str, Any]:
        if not self.found:
            return {}
        assert self.item is not None and self.table is not None
        return {k: self.item[k] for k in BY_SHORT[self.table].keys.names if k in self.item}

    @property
    def command(self) -> str | None:
        """The ``/ddb get`` text that opens this item (what its button re-runs)."""
        key = self.key
        if not key:
            return None
        parts = [shlex.quote(f"{k}={v}") for k, v in key.items()]
        return f"get {self.table} {' '.join(parts)}"

    def summary(self, *, mask_pii: bool = False) -> list[tuple[str, Any]]:
        """(attribute, value) for the item's key and declared summary attributes."""
        if not self.found:
            return []
        assert self.item is not None and self.table is not None
        table = BY_SHORT[self.table]
        item = redact_item(self.item, table, mask_pii=mask_pii)
        names = [*table.keys.names, *table.summary]
        return [(n, item[n]) for n in dict.fromkeys(names) if n in item]

    def shown_value(self, *, mask_pii: bool = False) -> str:
        """The identifier as it may be shown (an email masked in channel posts)."""
        if mask_pii and self.ident.kind == "email":
            return str(redact_value("email", self.ident.value, frozenset({"email"})))
        return mask_text(self.ident.value)


@dataclass
class Lookup:
    matches: list[Match] = field(default_factory=list)
    total: int = 0  # identifiers found in the text, resolved or not
    cap: int = CAP

    @property
    def capped(self) -> bool:
        return self.total > len(self.matches)


# -- extraction -----------------------------------------------------------------------------
def _path_segments(text: str) -> tuple[str, list[tuple[int, str]]]:
    """``text`` with each URL's scheme, host and path blanked out, and the path's segments
    (percent-decoded) with where each starts.

    A support link names its item in its path (``…/helpers/helper-0007``): each whole
    segment that is an identifier counts. The host never does, and the rest of a path
    (``/keap/`` without a scheme, a file path) stays out as before. A URL's query and
    fragment stay in the text and are read like any text.
    """
    segments: list[tuple[int, str]] = []

    def blank(m: re.Match[str]) -> str:
        url = m.group()
        path_at = url.find("/", url.index("://") + 3)
        if path_at != -1:
            for seg in _SEGMENT.finditer(url, path_at):
                segments.append((m.start() + seg.start(), unquote(seg.group())))
        return " " * len(url)

    return _URL.sub(blank, text), segments


def _found(text: str) -> list[tuple[int, str, str]]:
    """(position, kind, value) of every candidate in ``text``: prose, then URL paths."""
    prose, segments = _path_segments(text)
    found = [(m.start(), m.lastgroup or "", m.group()) for m in _PATTERN.finditer(prose)]
    for at, segment in segments:
        m = _PATTERN.fullmatch(segment)
        if m is not None:
            found.append((at, m.lastgroup or "", m.group()))
    return sorted(found)


def extract(text: str, slugs: frozenset[str] = frozenset()) -> list[Identifier]:
    """Every distinct identifier in ``text``, in order of first appearance.

    Words count only when they are a known platform slug (case-insensitive), so prose
    never turns into lookups. In a URL only whole path segments count (``_path_segments``).
    """
    seen: set[tuple[str, str]] = set()
    out: list[Identifier] = []
    for _, kind, value in _found(text[:TEXT_MAX]):
        if kind == "word":
            if value.lower() not in slugs:
                continue
            kind, value = "slug", value.lower()
        if len(value) > ID_MAX:
            continue
        dedup = (kind, value.lower() if kind in ("email", "uuid") else value)
        if dedup in seen:
            continue
        seen.add(dedup)
        out.append(Identifier(kind, value))
    return out


_slug_cache: weakref.WeakKeyDictionary[Store, tuple[float, frozenset[str]]] = (
    weakref.WeakKeyDictionary())


def known_slugs(store: Store) -> frozenset[str]:
    """Slugs of the platforms table (a small table; cached a few minutes per store)."""
    cached = _slug_cache.get(store)
    if cached and time.monotonic() - cached[0] < SLUG_CACHE_SECONDS:
        return cached[1]
    try:
        page = store.scan(store.name("platforms"), projection=["slug"], read_cap=SLUG_READ_CAP)
    except StoreError:
        return DECLARED_SLUGS
    slugs = frozenset(str(i["slug"]).lower() for i in page.items
                      if isinstance(i.get("slug"), str) and i["slug"])
    _slug_cache[store] = (time.monotonic(), slugs)
    return slugs


# -- resolution -------------------------------------------------------------------------------
def _first(page: Page) -> dict[str, Any] | None:
    return page.items[0] if page.items else None


def _get(store: Store, short: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
    return _first(store.get(store.name(short), key))


def _email(store: Store, value: str) -> dict[str, Any] | None:
    found = _first(ap.find_user_by_email(store, value, limit=1))
    if found is None and value != value.lower():
        found = _first(ap.find_user_by_email(store, value.lower(), limit=1))
    return found


def _candidates(store: Store, ident: Identifier) -> list[tuple[str, str, Callable[[], Any]]]:
    """(table, how, read) to try in order; the first read that finds an item wins."""
    v = ident.value
    simple = {"user_id": ("users", "user_id"), "account": ("accounts", "account_id"),
              "helper": ("helpers", "helper_id"), "execution": ("executions", "execution_id"),
              "connection": ("connections", "connection_id"),
              "platform_id": ("platforms", "platform_id")}
    if ident.kind in simple:
        short, attr = simple[ident.kind]
        return [(short, f"{short} by {attr}", lambda: _get(store, short, {attr: v}))]
    if ident.kind == "email":
        return [("users", "users by email (EmailIndex)", lambda: _email(store, v))]
    if ident.kind == "uuid":
        return [("users", "users by Cognito sub (CognitoUserIdIndex)",
                 lambda: _first(ap.find_user_by_cognito_sub(store, v, limit=1))),
                ("oauth-states", "oauth-states by state_id",
                 lambda: _get(store, "oauth-states", {"state_id": v}))]
    if ident.kind == "slug":
        return [("platforms", "platforms by slug (SlugIndex)",
                 lambda: _first(ap.find_platform_by_slug(store, v, limit=1)))]
    return []


def resolve(store: Store, ident: Identifier) -> Match:
    """What ``ident`` is; a DynamoDB error becomes the match's error, never an exception."""
    tried: list[str] = []
    for short, how, read in _candidates(store, ident):
        tried.append(how)
        try:
            item = read()
        except StoreError as exc:
            return Match(ident, short, None, how, error=str(exc))
        if item is not None:
            return Match(ident, short, redact_item(item, BY_SHORT[short]), how)
    return Match(ident, None, None, " or ".join(tried))


def lookup(store: Store, text: str, cap: int = CAP) -> Lookup:
    """Identifiers of ``text`` resolved, at most ``cap`` of them."""
    slugs = known_slugs(store)
    idents = extract(text, slugs)
    return Lookup([resolve(store, i) for i in idents[:cap]], total=len(idents), cap=cap)


def run(ctx: Context, text: str, cap: int = CAP) -> Lookup | ErrorResult:
    """The lookup as ``ctx.user_id`` may run it (read access, as any ``/ddb`` read)."""
    denial = ctx.denial("pattern")
    if denial:
        return ErrorResult(title="lookup", message=denial)
    return lookup(ctx.store, text, cap)


# -- /ddb lookup (console parity) -----------------------------------------------------------
LOOKUP_USAGE = "/ddb lookup <any text with ids, emails, UUIDs or platform slugs>"


def text_of(value: Any) -> str:
    """A compact one-line rendering of a (redacted) attribute value."""
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value.is_finite() else str(value)
    return json.dumps(value, default=str, separators=(",", ":"), sort_keys=True)


@command("lookup", LOOKUP_USAGE, group="pattern",
         examples=("/ddb lookup user ada@example.com on acct-0001 says helper-0003 fails",))
def lookup_cmd(args: list[str], ctx: Context) -> Result:
    """Find ids, emails, UUIDs and platform slugs in text and say what each one is."""
    text = " ".join(args)
    if not text.strip():
        raise CommandError("give some text to look through", LOOKUP_USAGE)
    found = lookup(ctx.store, text)
    rows = []
    for m in found.matches:
        if m.error:
            what = f"could not look up: {m.error}"
        elif m.found:
            what = " · ".join(text_of(v) for _, v in m.summary()[len(m.key):]) or "found"
        else:
            what = f"not found ({m.how})"
        rows.append([m.ident.value, m.ident.label, m.table if m.found else "-", what])
    notes = []
    if not found.total:
        notes.append(f"No identifiers found. Looked for {LOOKS_FOR}.")
    if found.capped:
        notes.append(f"Showing the first {len(found.matches)} of {found.total} identifiers.")
    return TableResult(title="Lookup", columns=["identifier", "kind", "table", "what it is"],
                       rows=rows, notes=notes)
