"""A pytest plugin: under ``CI=true`` a skipped test fails.

A test that needs a system tool (ffmpeg, nats-server, mosquitto, chromium, openssl), a package or
``../shared`` skips on a developer's machine that lacks it, with the reason. In CI a skip would
mean that CI did not test what it claims to, so the skip becomes a failure that says why.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


def in_ci() -> bool:
    """Whether this run is CI's (``CI`` set to true), where nothing may be skipped."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which runs every test: {reason}"
