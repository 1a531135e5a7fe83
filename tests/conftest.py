"""Hypothesis settings profiles: ``dev`` (default) and ``ci`` (more examples, no deadline)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

pytest_plugins = ["pytester"]


def pytest_ignore_collect(collection_path: object, config: object) -> bool | None:
    """The Spark tests are collected only when asked for (``-m spark``): the default run
    imports no PySpark and needs no Java; CI runs them as a step of their own."""
    if getattr(collection_path, "name", "") != "test_spark.py":
        return None
    selected = str(config.getoption("markexpr") or "")  # type: ignore[attr-defined]
    return "spark" not in selected.replace("not spark", "")
