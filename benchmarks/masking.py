"""Masking's worst case per credential shape, before and after it was made linear (issue 18).

For every shape of the catalogue the adversarial inputs of ``tests/unit/test_masking_linear.py``
(long runs of each prefix of the shape's examples, glued or joined by separators and
``://``, plus the shapes the issue names) are tried at 4 KB on the shape alone, before
and after; the slowest input for the old catalogue (the attack on it) and the slowest for
the new one are then timed through the whole masker at 40 KB and 400 KB (a 400 KB item
value is allowed), and so are the inputs the issue names. **before** is
``benchmarks/masking_before.py``, the catalogue as it was, verbatim; **after** is
``dynamo.credentials``, what the bot runs. A run of the old masker that passes
``--timeout`` seconds is stopped and shown as ``> N s``. Below the table, the typical
answers (an auth card, a 100-row scan page, a digest) before and after.

    python benchmarks/masking.py [--timeout 20] [--shape JWT]

Prints Markdown tables (README's Benchmarks section). Times are CPU seconds of the
process that masks (the machine is shared), the fastest of a few runs.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks import masking_before as before  # noqa: E402
from benchmarks.redact import cpu_ms, workloads  # noqa: E402
from dynamo import credentials as after  # noqa: E402
from tests.unit.test_credentials import EXAMPLES  # noqa: E402
from tests.unit.test_masking_linear import NAMED, TAILS, _units  # noqa: E402

Masker = Callable[[str], str]
SIZES = (40_000, 400_000)


def _repeat(unit: str, tail: str, size: int) -> str:
    return unit * (size // len(unit) + 1) + tail


def _candidates(shape: str) -> list[tuple[str, str]]:
    units = {u for name, text, _s, _p in EXAMPLES if name == shape for u in _units(text)}
    return [(u, t) for u in sorted(units) for t in TAILS] + NAMED


def _slowest(mask: Masker, inputs: list[tuple[str, str]]) -> tuple[str, str]:
    timed = []
    for unit, tail in inputs:
        text = _repeat(unit, tail, 4_000)
        start = time.thread_time()
        mask(text)
        timed.append((time.thread_time() - start, unit, tail))
    _, unit, tail = max(timed)
    return unit, tail


def _child(mask: Masker, text: str, runs: int, out: Connection) -> None:
    out.send(cpu_ms(lambda: mask(text), runs) / 1e3)


def seconds(mask: Masker, text: str, timeout: float) -> float | None:
    """CPU seconds to mask ``text`` (fastest of a few runs), in a child process stopped
    after ``timeout`` wall seconds (None then)."""
    receive, send = mp.Pipe(duplex=False)
    runs = 3 if len(text) <= 40_000 else 1
    child = mp.get_context("fork").Process(target=_child, args=(mask, text, runs, send))
    child.start()
    child.join(timeout * (runs + 1))  # cpu_ms warms up once, then ``runs`` timed runs
    if child.is_alive():
        child.kill()
        child.join()
        return None
    return receive.recv() if receive.poll() else None


def _shown(value: float | None, timeout: float) -> str:
    if value is None:
        return f"> {timeout:.0f} s"
    return f"{value * 1e3:.1f} ms" if value < 1 else f"{value:.2f} s"


def _label(unit: str, tail: str) -> str:
    text = (unit + "…" + tail).replace("|", "\\|").replace("\n", "\\n").replace("`", "'")
    return f"`{text[:36]}`"


def worst_cases(timeout: float, only: str | None) -> None:
    old = {s.name: s for s in before.SHAPES}
    print("| shape | input (repeated) | worst for | before 40 KB | after 40 KB | before 400 KB "
          "| after 400 KB |")
    print("|---|---|---|---|---|---|---|")
    for shape in after.SHAPES:
        if only and shape.name != only:
            continue
        inputs = _candidates(shape.name)
        attack = _slowest(old[shape.name].mask, inputs)
        now = _slowest(lambda text, s=shape: s.mask(text, after.lower(text)), inputs)
        for which, (unit, tail) in (("before", attack), ("after", now)):
            if which == "before" or (unit, tail) != attack:
                _row(shape.name, unit, tail, which, timeout)
    if not only:
        for unit, tail in NAMED:
            _row("(named in the issue)", unit, tail, "—", timeout)


def _row(shape: str, unit: str, tail: str, which: str, timeout: float) -> None:
    cells = []
    for size in SIZES:
        text = _repeat(unit, tail, size)
        cells.append((seconds(before.mask_credentials, text, timeout),
                      seconds(after.mask_credentials, text, timeout)))
    row = [shape, _label(unit, tail), which]
    row += [_shown(cells[0][0], timeout), _shown(cells[0][1], timeout),
            _shown(cells[1][0], timeout), _shown(cells[1][1], timeout)]
    print("| " + " | ".join(row) + " |", flush=True)


def typical(repeat: int) -> None:
    print()
    print("| typical answer | values | before ms (CPU) | after ms (CPU) |")
    print("|---|---|---|---|")
    for name, values in workloads().items():
        was = cpu_ms(lambda v=values: [before.mask_credentials(x) for x in v], repeat)
        now = cpu_ms(lambda v=values: [after.mask_credentials(x) for x in v], repeat)
        print(f"| {name} | {len(values):,} | {was:.2f} | {now:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--shape", help="one shape only (its name, e.g. JWT)")
    args = parser.parse_args()
    worst_cases(args.timeout, args.shape)
    typical(args.repeat)


if __name__ == "__main__":
    main()
