"""The bot's Prometheus series as CloudWatch Embedded Metric Format (EMF) lines.

Where nothing scrapes ``/metrics`` (Lambda), ``bot.metrics.emit_emf`` writes one JSON line
per label set to the function's log stream, and CloudWatch Logs turns them into metrics
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):

- counters: what was added since the previous flush (nothing when nothing was), named as
  in Prometheus (``ddb_bot_requests_total``), unit ``Count``;
- gauges: their value now;
- histograms: the observed values since the previous flush (EMF takes up to 100 values
  per metric; ``bot.metrics`` keeps at most that many), unit ``Seconds``.

The Prometheus labels are the dimensions, so a CloudWatch metric is the same series a
Prometheus query would select. The process's own series (``process_*``, ``python_*``)
stay out: Lambda reports those itself.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import REGISTRY

from bot.metrics import STATE_REGISTRY, take_raw

PREFIX = "ddb_bot_"
_lock = threading.Lock()
_last: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}  # counter values at last flush

Labels = tuple[tuple[str, str], ...]


def _unit(name: str) -> str:
    if name.endswith("_total"):
        return "Count"
    if name.endswith("_seconds"):
        return "Seconds"
    return "None"


def collect(state: bool = False) -> dict[Labels, dict[str, float | list[float]]]:
    """Label set -> {metric name: value or values} to emit now; counters advance.
    ``state``: with the state table's gauges (``bot.metrics.StateCollector``)."""
    out: dict[Labels, dict[str, float | list[float]]] = {}
    families = [*REGISTRY.collect(), *(STATE_REGISTRY.collect() if state else ())]
    with _lock:
        for family in families:
            if not family.name.startswith(PREFIX) or family.type not in ("counter", "gauge"):
                continue
            for sample in family.samples:
                labels = tuple(sorted(sample.labels.items()))
                if family.type == "counter":
                    if not sample.name.endswith("_total"):
                        continue
                    key = (sample.name, labels)
                    delta = sample.value - _last.get(key, 0.0)
                    _last[key] = sample.value
                    if delta <= 0:
                        continue
                    out.setdefault(labels, {})[sample.name] = delta
                else:
                    out.setdefault(labels, {})[sample.name] = sample.value
    for (name, labels), values in take_raw().items():
        if values:
            out.setdefault(labels, {})[name] = values
    return out


def lines(namespace: str = "ddb-bot", now_ms: int | None = None,
          state: bool = False) -> list[str]:
    """The EMF documents of everything to emit now, one JSON line per label set."""
    stamp = now_ms if now_ms is not None else int(time.time() * 1000)
    docs = []
    for labels, metrics in sorted(collect(state).items()):
        dims = [name for name, _ in labels]
        doc: dict[str, Any] = {"_aws": {"Timestamp": stamp, "CloudWatchMetrics": [{
            "Namespace": namespace, "Dimensions": [dims],
            "Metrics": [{"Name": name, "Unit": _unit(name)} for name in sorted(metrics)]}]}}
        doc.update(labels)
        doc.update(metrics)
        docs.append(json.dumps(doc, separators=(",", ":")))
    return docs


def emit(write: Callable[[str], object] | None = None, namespace: str = "ddb-bot",
         state: bool = False) -> int:
    """Write every line now due (default: stdout, flushed); returns how many."""
    docs = lines(namespace, state=state)
    for doc in docs:
        if write is not None:
            write(doc)
        else:
            sys.stdout.write(doc + "\n")
    if write is None:
        sys.stdout.flush()
    return len(docs)
