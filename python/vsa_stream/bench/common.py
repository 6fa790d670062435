"""What every benchmark shares: lazy anchors, timing, machine facts, tables, progress, files.

Example:
    >>> table(["a", "b"], [["x", 1.5]])
    '| a | b |\\n|---|---:|\\n| x | 1.5 |'
    >>> fmt(1234.5), fmt(0.01234), fmt(None), fmt(3.0, "x")
    ('1,234', '0.0123', '-', '3.00x')
"""

from __future__ import annotations

import datetime
import importlib
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import msgspec

from vsa_stream import __version__, _core

__all__ = [
    "INSTALL_HINT",
    "MissingAnchorError",
    "Steps",
    "anchor",
    "best_of",
    "fmt",
    "git_revision",
    "machine",
    "rss_mib",
    "steps",
    "table",
    "versions",
    "write_json",
]

INSTALL_HINT = "pip install 'vsa-stream[bench]'"

#: Distributions whose versions go into every report (absent ones are reported as None).
_VERSIONED = (
    "vsa_stream",
    "numpy",
    "av",
    "onnxruntime",
    "opencv-python-headless",
    "opencv-python",
    "trackers",
    "supervision",
    "motmetrics",
    "matplotlib",
    "httpx",
)


class MissingAnchorError(ImportError):
    """A benchmark's anchor (or its chart or progress library) is not installed."""


def anchor(module: str) -> Any:
    """Import ``module`` now, or raise :class:`MissingAnchorError` saying how to install it.

    Example:
        >>> anchor("math").sqrt(4.0)
        2.0
        >>> anchor("no_such_anchor_module")
        Traceback (most recent call last):
        ...
        vsa_stream.bench.common.MissingAnchorError: ... pip install 'vsa-stream[bench]'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingAnchorError(
            f"the benchmarks need {module!r}, which is not installed ({exc}); "
            f"install the anchors with: {INSTALL_HINT}"
        ) from None


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """The shortest of ``repeat`` timed calls of ``fn``, in seconds."""
    best = math.inf
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def rss_mib() -> float:
    """Resident memory of this process, MiB (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """The machine the figures come from: CPU model, cores, memory, load when measured."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 0
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        memory = 0.0
    return {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "arch": platform.machine(),
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": usable,
        "memory_gib": round(memory, 1),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        # the copy of the Rust kernels this process runs: "avx2" or "baseline" (_core.simd)
        "kernels": _core.simd(),
    }


def versions() -> dict[str, str | None]:
    """Versions of vsa_stream and of the libraries the figures depend on."""
    out: dict[str, str | None] = {}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    out["vsa_stream"] = __version__
    try:
        import av

        out["libavcodec"] = ".".join(map(str, av.library_versions.get("libavcodec", ())))
    except ImportError:  # pragma: no cover - av is a dependency
        out["libavcodec"] = None
    try:
        out["opencv"] = str(importlib.import_module("cv2").__version__)
    except ImportError:
        out["opencv"] = None
    return out


def git_revision() -> str:
    """``git describe`` of the working tree (``-dirty`` when changed), or ``unknown``."""
    for where in (Path.cwd(), Path(__file__).resolve().parent):
        try:
            out = subprocess.run(
                ["git", "describe", "--always", "--dirty", "--abbrev=12"],
                capture_output=True,
                text=True,
                check=True,
                cwd=where,
                timeout=10,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        return out.stdout.strip()
    return "unknown"


def header(benchmark: str, quick: bool) -> dict[str, Any]:
    """The common head of every report."""
    return {
        "benchmark": benchmark,
        "quick": quick,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "git": git_revision(),
        "machine": machine(),
        "versions": versions(),
    }


def write_json(path: Path, report: dict[str, Any]) -> None:
    """Write ``report`` as indented JSON (NaN and infinity as null), creating the folder."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(msgspec.json.format(msgspec.json.encode(clean(report)), indent=2) + b"\n")


def fmt(value: float | int | str | None, unit: str = "") -> str:
    """A figure for a table: 3 significant digits, thousands separated, ``-`` when missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, str):
        return value
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "%":
        return f"{100 * value:.1f} %"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table: numbers right-aligned, text (and the first column) left-aligned."""

    def numeric(i: int) -> bool:
        return i > 0 and all(
            isinstance(r[i], int | float) or str(r[i]).replace(",", "").replace(" %", "")
            .rstrip("x").lstrip("-").replace(".", "", 1).isdigit() or str(r[i]) == "-"
            for r in rows
        )  # fmt: skip

    lines = ["| " + " | ".join(columns) + " |"]
    lines.append("|" + "|".join("---:" if numeric(i) else "---" for i in range(len(columns))) + "|")
    for row in rows:
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in row) + " |")
    return "\n".join(lines)


class Steps:
    """A progress bar on standard error (rich), advanced one named step at a time."""

    def __init__(self, progress: Any, task: Any) -> None:
        self._progress = progress
        self._task = task

    def step(self, description: str) -> None:
        """Start the next step, named ``description`` (a plain line when not on a terminal)."""
        if self._progress is not None:
            self._progress.update(self._task, description=description)
            if not self._progress.console.is_terminal:
                print(f"... {description}", file=sys.stderr, flush=True)

    def done(self, count: int = 1) -> None:
        """Mark ``count`` steps finished."""
        if self._progress is not None:
            self._progress.advance(self._task, count)

    def total(self, total: int) -> None:
        """Change the number of steps (a search learns how many it needs as it goes)."""
        if self._progress is not None:
            self._progress.update(self._task, total=total)


@contextmanager
def steps(title: str, total: int, *, show: bool = True) -> Iterator[Steps]:
    """A rich progress bar for ``total`` steps on standard error (none when ``show`` is False)."""
    if not show:
        yield Steps(None, None)
        return
    progress_mod = anchor("rich.progress")
    console = anchor("rich.console").Console(stderr=True)
    columns = (
        progress_mod.TextColumn("[bold]" + title),
        progress_mod.BarColumn(),
        progress_mod.MofNCompleteColumn(),
        progress_mod.TimeElapsedColumn(),
        progress_mod.TextColumn("{task.description}"),
    )
    with progress_mod.Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("", total=total)
        yield Steps(progress, task)


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (files only, no display)."""
    matplotlib = anchor("matplotlib")
    matplotlib.use("Agg")
    return anchor("matplotlib.pyplot")
