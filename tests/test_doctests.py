"""The examples in the docstrings are documentation: each must run and print what it says."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import vsa_stream

MODULES = sorted(
    [
        "vsa_stream._core",
        *(
            m.name
            for m in pkgutil.walk_packages(vsa_stream.__path__, "vsa_stream.")
            if m.name not in ("vsa_stream.__main__", "vsa_stream._core")
        ),
    ]
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_examples_exist() -> None:
    """The examples are really collected: the tracker's and the events' at least."""
    attempted = sum(
        doctest.testmod(importlib.import_module(n)).attempted
        for n in ("vsa_stream._core", "vsa_stream.events", "vsa_stream.tracking")
    )
    assert attempted >= 6
