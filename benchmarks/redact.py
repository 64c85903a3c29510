"""The cost of masking credentials on rendered values: before, now, and detect-secrets.

Three maskers over the same realistic values, in one run:

- **before**: the single regex ``dynamo/redact.py`` used until the catalogue (kept here
  verbatim as the baseline; it missed URL passwords, keyword=value, ``sk-…`` keys, …);
- **catalogue**: ``dynamo.credentials.mask_credentials``, what the bot runs now;
- **detect-secrets**: every non-entropy plugin of detect-secrets 1.5.0 (``analyze_string``
  on each line of the value, the keyword detector as for a config file), then each secret
  it reports replaced — the cheapest way to run it on a value, since it reports strings,
  not spans.

Workloads, built from the demo data (``dynamo.demo.generate``): a card (one
platform-connection-auths item and its rendered text), a 100-row scan page of executions
(each string value, then the rendered page text), a digest (error signatures, helper and
account names, and its rendered lines). "per value" is the mean over the workload's
strings; "per page" is the whole workload once (what one answer costs).

    python benchmarks/redact.py [--repeat 30]

Prints a Markdown table (the rows in README's Benchmarks section).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bot.render.text import render_text  # noqa: E402
from commands.results import ItemsResult, TableResult  # noqa: E402
from dynamo import demo  # noqa: E402
from dynamo.credentials import mask_credentials  # noqa: E402
from dynamo.redact import redact_item  # noqa: E402
from dynamo.schema import BY_SHORT  # noqa: E402

# The masking before the catalogue, verbatim (the baseline).
_BEFORE = re.compile(
    r"(?:xox[abposre]-[A-Za-z0-9-]{8,}"
    r"|xapp-[A-Za-z0-9-]{8,}"
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}"
    r"|(?<![A-Z0-9])(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{16}(?![A-Z0-9])"
    r"|eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"
    r"|\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{8,}"
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}"
    r"|\bya29\.[A-Za-z0-9_.-]{10,}"
    r"|\b1//[A-Za-z0-9_-]{10,}"
    r"|(?i:basic)\s+[A-Za-z0-9+/]{12,}={0,2}"
    r"|(?i:(?:access|refresh|id)_token|api_key|api_secret|client_secret|password)=[^\s&\"']{6,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$))"
)


def mask_before(text: str) -> str:
    return _BEFORE.sub("[masked credential]", text) if text else text


def detect_secrets_masker() -> Callable[[str], str] | None:
    """detect-secrets' plugins as a masker, or None when it is not installed."""
    try:
        from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
        from detect_secrets.plugins import keyword
    except ImportError:
        return None
    skip = {"Base64HighEntropyString", "HexHighEntropyString", "IPPublicDetector"}
    plugins: list[Any] = [cls() for cls in get_mapping_from_secret_type_to_class().values()
                          if cls.__name__ not in skip]

    def mask(text: str) -> str:
        found: set[str] = set()
        for line in text.splitlines() or [text]:
            for plugin in plugins:
                if isinstance(plugin, keyword.KeywordDetector):
                    found.update(plugin.analyze_string(line, keyword.CONFIG_DENYLIST_REGEX_TO_GROUP))
                else:
                    found.update(s for s in plugin.analyze_string(line) if s)
        for secret in sorted(found, key=len, reverse=True):
            text = text.replace(secret, "[masked credential]")
        return text

    return mask


def strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(value, list | tuple | set):
        for v in value:
            yield from strings(v)


def workloads() -> dict[str, list[str]]:
    data = demo.generate(1)
    auth = data["platform-connection-auths"][0]
    card = redact_item(auth, BY_SHORT["platform-connection-auths"])
    card_text = render_text(ItemsResult(title="auth", table="platform-connection-auths",
                                        items=[auth], single=True))
    executions = (data["executions"] * (100 // max(1, len(data["executions"])) + 1))[:100]
    page_text = render_text(ItemsResult(title="scan executions", table="executions",
                                        items=executions))
    errors = [e.get("error_message", "") for e in data["executions"] if e.get("error_message")]
    helpers = [h.get("name", "") for h in data["helpers"]][:10]
    accounts = [a.get("name", "") for a in data["accounts"]][:10]
    digest_rows = [[f"{h}", f"{a}", "3", e[:80]] for h, a, e in zip(helpers, accounts, errors, strict=False)]
    digest_text = render_text(TableResult(title="digest", columns=["helper", "account", "n", "signature"],
                                          rows=digest_rows))
    return {
        "card (1 auth item + its text)": [*strings(card), *strings(auth), card_text],
        "scan page (100 executions + its text)": [*strings(executions), page_text],
        "digest (signatures, names + its text)": [*errors[:10], *helpers, *accounts, digest_text],
    }


def cpu_ms(run: Callable[[], Any], repeat: int) -> float:
    """The fastest of ``repeat`` runs, in CPU ms of this thread.

    CPU time, not wall time: the machine is shared (other test runs), and a run that was
    preempted would otherwise count the other processes' work. The fastest run is the
    cost of the work itself.
    """
    run()  # warm regex caches
    best = float("inf")
    for _ in range(repeat):
        start = time.thread_time()
        run()
        best = min(best, time.thread_time() - start)
    return best * 1e3


def measure(mask: Callable[[str], str], values: list[str], repeat: int) -> tuple[float, float]:
    """(µs per value, ms per page)."""
    page = cpu_ms(lambda: [mask(v) for v in values], repeat)
    return page * 1e3 / len(values), page


def render_pages() -> dict[str, Callable[[], Any]]:
    """Whole answers as the bot builds them: the result (redacts at construction), then
    Block Kit, Show JSON and console text (each masks again on the way out)."""
    from bot.render.blocks import render_json, render_message

    data = demo.generate(1)
    auth = data["platform-connection-auths"][0]
    executions = (data["executions"] * (100 // max(1, len(data["executions"])) + 1))[:100]

    def answer(items: list[dict[str, Any]], table: str, single: bool) -> None:
        result = ItemsResult(title=table, table=table, items=items, single=single)
        render_message(result)
        render_json(result)
        render_text(result)

    return {
        "answer: `/ddb auth` card (result + Block Kit + JSON + text)":
            lambda: answer([auth], "platform-connection-auths", True),
        "answer: 100-row scan page (result + Block Kit + JSON + text)":
            lambda: answer(executions, "executions", False),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    maskers: list[tuple[str, Callable[[str], str]]] = [
        ("before (one regex)", mask_before), ("catalogue (now)", mask_credentials)]
    ds = detect_secrets_masker()
    if ds is not None:
        maskers.append(("detect-secrets 1.5.0 plugins", ds))
    print("| workload | values | masker | per value µs | per page ms (CPU) | vs before |")
    print("|---|---|---|---|---|---|")
    for name, values in workloads().items():
        base = 0.0
        for label, mask in maskers:
            repeat = args.repeat if "detect" not in label else max(3, args.repeat // 10)
            per_value, per_page = measure(mask, values, repeat)
            base = base or per_page
            print(f"| {name} | {len(values):,} | {label} | {per_value:.1f} | {per_page:.2f} | "
                  f"{per_page / base:.1f}× |")
    # the same maskers swapped in under the whole answer (every caller goes through
    # dynamo.redact.mask_text, which calls this module-level name)
    import dynamo.redact as redact

    for name, run in render_pages().items():
        base = 0.0
        for label, mask in maskers:
            redact.mask_credentials = mask  # type: ignore[assignment]
            repeat = args.repeat if "detect" not in label else max(3, args.repeat // 10)
            total = cpu_ms(run, max(3, repeat // 3))
            base = base or total
            print(f"| {name} | — | {label} | — | {total:.2f} | {total / base:.2f}× |")
        redact.mask_credentials = mask_credentials


if __name__ == "__main__":
    main()
