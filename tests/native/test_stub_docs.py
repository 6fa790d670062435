"""The native module has one source of documentation: the docstrings of ``_core.pyi``.

PyO3 makes a ``///`` comment the runtime ``__doc__`` of a bound item, but the stub is what
editors, mypy and readers of the package see, and only it carries types; so the ``///`` comments
on bound items are short notes for Rust readers and the stub is the reference (README,
"Development"). ``mypy.stubtest`` checks that the stub's names and signatures match the binary;
these tests check that everything the binary exports is documented there, that nothing is bound
in Rust and left unregistered, and that the stub's examples run.
"""

from __future__ import annotations

import ast
import doctest
import re
from pathlib import Path

import numpy as np
import pytest

from vsa_stream import _core

ROOT = Path(__file__).resolve().parents[2]
STUB = ROOT / "python" / "vsa_stream" / "_core.pyi"
BINDING = ROOT / "rust" / "vsa_py" / "src"


def _stub() -> dict[str, ast.FunctionDef | ast.ClassDef]:
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    return {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_")
    }


def _exported() -> list[str]:
    return sorted(name for name in dir(_core) if not name.startswith("_"))


def _members(cls: type) -> list[str]:
    """Public methods and properties defined by a native class (not inherited from object)."""
    return sorted(
        name for name in vars(cls) if not name.startswith("_") and name not in vars(object)
    )


@pytest.mark.parametrize("name", _exported())
def test_every_export_is_documented_in_the_stub(name: str) -> None:
    stub = _stub()
    assert name in stub, f"_core.{name} is exported but not in _core.pyi"
    node = stub[name]
    assert ast.get_docstring(node), f"_core.{name} has no docstring in _core.pyi"
    if isinstance(node, ast.ClassDef):
        documented = {
            item.name: ast.get_docstring(item)
            for item in node.body
            if isinstance(item, ast.FunctionDef)
        }
        for member in _members(getattr(_core, name)):
            assert documented.get(member), f"_core.{name}.{member} has no docstring in _core.pyi"


def _bound_in_rust() -> set[str]:
    """The Python names of every ``#[pyfunction]`` and ``#[pyclass]`` in ``rust/vsa_py``."""
    names: set[str] = set()
    for path in BINDING.rglob("*.rs"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(
            r"#\[(pyfunction|pyclass)(\([^)]*\))?\][^{;]*?\b(?:fn|struct|enum)\s+(\w+)",
            text,
            flags=re.DOTALL,
        ):
            options, name = match.group(2) or "", match.group(3)
            renamed = re.search(r'\bname\s*=\s*"(\w+)"', options)
            names.add(renamed.group(1) if renamed else name)
    return names


def test_everything_bound_in_rust_is_exported() -> None:
    bound = _bound_in_rust()
    assert len(bound) >= 30  # the pattern really finds the bindings
    assert bound - set(_exported()) == set(), "bound in rust/vsa_py but not added in lib.rs"


def _examples() -> list[tuple[str, str]]:
    out = []
    for name, node in _stub().items():
        nodes: list[ast.AST] = [node]
        if isinstance(node, ast.ClassDef):
            nodes += [n for n in node.body if isinstance(n, ast.FunctionDef)]
        for item in nodes:
            assert isinstance(item, ast.FunctionDef | ast.ClassDef)
            doc = ast.get_docstring(item)
            if doc and ">>>" in doc:
                qualified = name if item is node else f"{name}.{item.name}"
                out.append((qualified, doc))
    return out


def test_the_stub_has_examples() -> None:
    assert len(_examples()) >= 5


@pytest.mark.parametrize(("name", "doc"), _examples(), ids=[name for name, _ in _examples()])
def test_stub_examples_run(name: str, doc: str) -> None:
    # The runtime ``__doc__`` of a native item is the Rust comment, so ``doctest.testmod`` of
    # ``_core`` never sees the stub's examples: they are run from the stub here.
    parser = doctest.DocTestParser()
    globs: dict[str, object] = {**vars(_core), "np": np}
    test = parser.get_doctest(doc, globs, name, str(STUB), 0)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
