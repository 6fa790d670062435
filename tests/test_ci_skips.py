"""Under CI=true a test that would skip (a missing system tool) fails instead."""

from __future__ import annotations

import pytest

TESTS = """
import shutil

import pytest


@pytest.mark.skipif(shutil.which("vsa-no-such-tool") is None, reason="needs vsa-no-such-tool")
def test_needs_a_tool():
    pass


def test_needs_nothing():
    pass


@pytest.mark.xfail(reason="known")
def test_known_failure():
    raise AssertionError
"""


@pytest.mark.parametrize(("ci", "outcomes"), [
    ("true", {"passed": 1, "errors": 1, "xfailed": 1}),
    ("", {"passed": 1, "skipped": 1, "xfailed": 1}),
])  # fmt: skip
def test_skips_fail_only_under_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str, outcomes: dict[str, int]
) -> None:
    monkeypatch.setenv("CI", ci)
    pytester.makeconftest("pytest_plugins = ['ci_skips']")
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(**outcomes)
    if ci:
        result.stdout.fnmatch_lines(["*skipped under CI=true*needs vsa-no-such-tool*"])
