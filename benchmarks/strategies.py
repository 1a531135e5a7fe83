"""Benchmark the Hypothesis strategies of ``sessionkit.testing.strategies``: CPU per example.

    python benchmarks/strategies.py [--examples 300] [--repeat 3]

Runs a property test that only draws (``streams()`` and ``streams(scopes=3)`` at their default
sizes, and one ``st.from_type(Event)``) under ``time.process_time`` and prints the CPU time per
example, best and median of the repeats. Hypothesis's ``too_slow`` health check fires when
generation is slow; the strategies aim to stay under 5 ms per example, so that users need no
health-check settings (docs/testing.md).
"""

from __future__ import annotations

import argparse
import statistics
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessionkit import Event
from sessionkit.testing import strategies as sk

CASES = {
    "streams()": sk.streams(),
    "streams(scopes=3)": sk.streams(scopes=3),
    "st.from_type(Event)": st.from_type(Event),
}


def per_example(strategy: st.SearchStrategy[object], examples: int) -> float:
    """CPU seconds per example of a test that draws from ``strategy``."""
    drawn = [0]

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def draw_only(value: object) -> None:
        drawn[0] += 1

    start = time.process_time()
    draw_only()
    return (time.process_time() - start) / max(drawn[0], 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    for name, strategy in CASES.items():
        runs = [per_example(strategy, options.examples) * 1000 for _ in range(options.repeat)]
        print(
            f"{name:22} {min(runs):6.2f} ms CPU per example (median {statistics.median(runs):.2f})"
        )


if __name__ == "__main__":
    main()
