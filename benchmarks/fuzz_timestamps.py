"""Fuzz the timestamp parser with random-token strings; count exceptions other than LogLineError.

    python benchmarks/fuzz_timestamps.py [--count 1000000] [--seed 1] [--workers 2]

Each string is 1 to 8 tokens drawn from the pieces real times are made of (digits of every
length, years at both ends of the calendar, month and day names, separators, offsets such as
``+24:00``, zone names, AM/PM, fractions) and from junk (Unicode digits, control characters,
huge numbers, exponents). The parser must return an aware datetime inside EARLIEST..LATEST or
raise ``LogLineError``; anything else is counted and the first few are printed. Exits 1 if any
was found. Runs outside the test suite (``tests/test_timestamps.py`` runs the same generator on
a few thousand strings).
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import time
from collections import Counter
from pathlib import Path

from sessionkit import EARLIEST, LATEST, LogLineError
from sessionkit.replay import TimestampParser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.strategies import TIME_TOKENS as TOKENS


def strings(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(TOKENS, k=rng.randint(1, 8))) for _ in range(count)]


def check(batch: list[str]) -> tuple[int, int, list[tuple[str, str]]]:
    """(parsed, refused, [(string, unexpected error)]) for a batch of strings."""
    parse = TimestampParser()
    parsed = refused = 0
    unexpected: list[tuple[str, str]] = []
    for text in batch:
        try:
            at = parse(text)
        except LogLineError:
            refused += 1
            continue
        except Exception as error:  # what the parser must never let out
            unexpected.append((text, repr(error)))
            continue
        if at.utcoffset() is None or not EARLIEST <= at <= LATEST:
            unexpected.append((text, f"returned {at!r}"))
        else:
            parsed += 1
    return parsed, refused, unexpected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    options = parser.parse_args()
    started = time.perf_counter()
    chunks = [
        strings(options.count // (10 * options.workers), options.seed * 1000 + n)
        for n in range(10 * options.workers)
    ]
    with multiprocessing.Pool(options.workers) as pool:
        results = pool.map(check, chunks)
    parsed = sum(r[0] for r in results)
    refused = sum(r[1] for r in results)
    unexpected = [item for r in results for item in r[2]]
    total = parsed + refused + len(unexpected)
    print(
        f"{total:,} strings in {time.perf_counter() - started:.0f} s: {parsed:,} read, "
        f"{refused:,} refused with LogLineError, {len(unexpected):,} uncaught"
    )
    for text, error in unexpected[:10]:
        print(f"  {text!r}: {error}")
    kinds = Counter(error.split("(")[0] for _, error in unexpected)
    for kind, n in kinds.most_common():
        print(f"  {kind}: {n:,}")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
