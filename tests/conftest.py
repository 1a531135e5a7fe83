"""Hypothesis settings profiles: ``dev`` (default) and ``ci`` (more examples, the same ones on
every run, no deadline)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100, deadline=None)
# CI draws the same examples on every run (derandomize): a run that passed here passes there,
# and what it explores does not change from one submission to the next by chance.
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

pytest_plugins = ["pytester"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--pure-json",
        action="store_true",
        help="read JSON Lines with the standard library's json only, as without sessionkit[fast]",
    )


@pytest.fixture(autouse=True)
def _pure_json(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """With --pure-json, readers find no msgspec (CI runs the suite both ways)."""
    if request.config.getoption("--pure-json") and not request.node.get_closest_marker("decoders"):
        monkeypatch.setattr("sessionkit.replay._readers.fast_decoder", lambda: None)


def pytest_ignore_collect(collection_path: object, config: object) -> bool | None:
    """The Spark tests are collected only when asked for (``-m spark``): the default run
    imports no PySpark and needs no Java; CI runs them as a step of their own."""
    if getattr(collection_path, "name", "") != "test_spark.py":
        return None
    selected = str(config.getoption("markexpr") or "")  # type: ignore[attr-defined]
    return "spark" not in selected.replace("not spark", "")
