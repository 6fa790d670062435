"""Shared fixtures: synthetic clips rendered once per session, ../shared discovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from vsa_stream.log import configure_logging
from vsa_stream.synth import Truth, render

pytest_plugins = ["ci_skips", "pytester"]

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A file of ../shared; skips the test when absent (a failure under CI=true: see
    ``ci_skips``)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared holds the real data sets and models)")
    return path


@pytest.fixture(autouse=True)
def _plain_logging() -> None:
    """Each test starts with JSON logs on standard error, whatever the previous one set."""
    configure_logging("info", "json")


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Truth]]:
    """The synthetic scenarios at 720p, rendered once: name -> (video, truth)."""
    folder = tmp_path_factory.mktemp("clips")
    out: dict[str, tuple[Path, Truth]] = {}
    for name in ("intruder", "walkers"):
        video = folder / f"{name}.mp4"
        truth = render(name, video, folder / f"{name}.truth.json", width=1280, height=720)
        out[name] = (video, truth)
    return out


@pytest.fixture(scope="session")
def small_intruder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Truth]:
    """The intruder scenario at 640x360, for tests that run the daemon in real time."""
    folder = tmp_path_factory.mktemp("small")
    video = folder / "intruder.mp4"
    return video, render("intruder", video, width=640, height=360)


@pytest.fixture
def anyio_backend() -> str:
    """``@pytest.mark.anyio`` tests run on asyncio, the daemon's event loop."""
    return "asyncio"
