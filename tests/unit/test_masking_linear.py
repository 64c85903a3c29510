"""Masking runs in time linear in the text (issue 18, attack 2): the one timed test.

Anyone who can write a 400 KB value (a requester's ``error_message``) or build one with
``--query`` chooses the text every read then masks. So every shape of the catalogue is
run on adversarial text made from its own examples (``test_credentials.EXAMPLES``): long
runs of each prefix of an example, glued or joined by separators and ``://``, ending in
the character that makes the shape try hardest. The slowest input of each shape, and the
slowest overall, must then take at most ``BOUND_PER_CHAR`` a character at 4 KB, 40 KB and
400 KB (400 KB well under half a second), and ten times the text must cost at most about
ten times the time. A shape that rescans from every start (quadratic: the URL password
shape took 15 s for 100 KB, the AWS label 30 s for 10 KB) misses these bounds by orders
of magnitude, and does so at the small sizes first, so the test fails fast rather than
hangs. The times themselves are in ``benchmarks/masking.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from functools import cache

import pytest

from dynamo.credentials import SHAPES, Shape, lower, mask_credentials
from tests.unit.test_credentials import EXAMPLES

SIZES = (4_000, 40_000, 400_000)
BOUND_PER_CHAR = 0.5 / 400_000  # seconds: 400 KB in half a second
SLACK = 0.02  # seconds of fixed cost and noise on a busy machine
# ten times the text may cost at most this many times the time, plus noise (linear: ~10
# with caches warm at 40 KB and cold at 400 KB; quadratic: 100)
GROWTH, GROWTH_SLACK = 30, 0.05
JOINERS = ("", ".", " ", "://", "=", ":")
TAILS = ("", "://", "@", "\"")
# the shapes the issue names, whatever the examples give
NAMED = [("a.", "://"), ("aws", ""), ("awspass", ""), ("eyJ", ""), ("eyJ", "."), ("a=", ""),
         ("password=\"", ""), ("sk-", ""), ("1//", "a"), ("Bearer ", ""), ("-----BEGIN ", "")]


def _units(text: str) -> Iterator[str]:
    """Prefixes of an example (every short one, then every sixth), each with a joiner."""
    cuts = sorted({*range(1, min(len(text), 16) + 1), *range(16, len(text) + 1, 6), len(text)})
    for k in cuts:
        for joiner in JOINERS:
            yield text[:k] + joiner


def _repeat(unit: str, tail: str, size: int) -> str:
    return unit * (size // len(unit) + 1) + tail


def _seconds(mask: Callable[[str], str], text: str, bound: float = 0.0, runs: int = 3) -> float:
    """The best of up to ``runs`` runs (one when the first is already within ``bound``)."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        mask(text)
        best = min(best, time.perf_counter() - start)
        if best <= bound:
            break
    return best


def _assert_linear(mask: Callable[[str], str], unit: str, tail: str, what: str) -> None:
    times = []
    for size in SIZES:  # small sizes first: a quadratic shape fails there, quickly
        text = _repeat(unit, tail, size)
        bound = SLACK + BOUND_PER_CHAR * len(text)
        took = _seconds(mask, text, bound)
        assert took <= bound, f"{what}: {took:.3f} s for {len(text):,} characters of " \
                              f"{unit!r}…{tail!r} (bound {bound:.3f} s)"
        times.append(took)
    if times[2] > GROWTH * times[1] + GROWTH_SLACK:  # one run each so far: measure again
        times[1:] = [_seconds(mask, _repeat(unit, tail, size), runs=5) for size in SIZES[1:]]
    assert times[2] <= GROWTH * times[1] + GROWTH_SLACK, \
        f"{what}: {unit!r}…{tail!r} took {times[1]:.4f} s at 40 KB and {times[2]:.4f} s at 400 KB"


def _shape_mask(shape: Shape) -> Callable[[str], str]:
    return lambda text: shape.mask(text, lower(text))


def _slowest(mask: Callable[[str], str], inputs: list[tuple[str, str]], n: int) -> list[tuple[str, str]]:
    timed = []
    for unit, tail in inputs:
        text = _repeat(unit, tail, 2_000)
        start = time.perf_counter()
        mask(text)
        timed.append((time.perf_counter() - start, unit, tail))
    return [(unit, tail) for _, unit, tail in sorted(timed, reverse=True)[:n]]


@cache
def _worst(shape: Shape) -> list[tuple[str, str]]:
    """The two inputs (made from the shape's examples, or named) on which it is slowest."""
    units = {u for name, text, _secret, _plugin in EXAMPLES if name == shape.name
             for u in _units(text)}
    inputs = [(u, t) for u in sorted(units) for t in TAILS]
    return _slowest(_shape_mask(shape), [*inputs, *NAMED], 2) if inputs else []


@pytest.mark.parametrize("shape", SHAPES, ids=[s.name for s in SHAPES])
def test_every_shape_is_linear_on_runs_of_its_own_prefixes(shape: Shape) -> None:
    worst = _worst(shape)
    assert worst, f"no example for {shape.name}"
    for unit, tail in worst:
        _assert_linear(_shape_mask(shape), unit, tail, shape.name)


def test_the_whole_masker_is_linear_on_the_worst_inputs_of_every_shape() -> None:
    candidates = [i for shape in SHAPES for i in _worst(shape)]
    for unit, tail in [*NAMED, *_slowest(mask_credentials, candidates, 6)]:
        _assert_linear(mask_credentials, unit, tail, "mask_credentials")
