"""CPU per thread of a live-settings run: can the analysis hide behind decoding?

A live camera's pipeline decodes in one thread (``supervise-<camera>``: the supervisor runs the
decoder) and analyses in another (``analyse-<camera>``); the Rust kernels and FFmpeg release the
GIL, so on a machine with a free core the two overlap and the camera goes as fast as the slower
of the two threads. :func:`split` runs the engine once with the live decoder settings while a
monitor reads each thread's CPU from ``/proc/self/task`` (Linux), and returns the CPU of the
decode thread, of the analysis thread and of the rest of the process per decoded frame.

From them, :func:`bound` gives the throughput the camera could reach, as a multiple of a bare
decode, **if** a core were free for the analysis thread: the decode thread's work (bare decoding
plus the per-frame Python around it) and the analysis thread's work each take their own core,
so the wall time per frame is the larger of the two. It is a bound computed from measured CPU,
not a measured throughput: the ``probe`` row of ``bench scan`` says whether this machine had
that free core.

Example:
    >>> bound(decode_ms=1.0, analysis_ms=0.5, bare_ms=0.9)
    0.9
    >>> bound(decode_ms=1.0, analysis_ms=3.0, bare_ms=0.9)
    0.3
    >>> bound(decode_ms=0.2, analysis_ms=0.0, bare_ms=0.1, resolution_ms=0.2) is None
    True
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import anyio

from vsa_stream.bench.stages import camera_config
from vsa_stream.engine import Engine
from vsa_stream.sinks.memory import MemorySink

__all__ = ["ThreadMonitor", "available", "bound", "split"]

_TASKS = Path("/proc/self/task")


def available() -> bool:
    """Whether this system shows per-thread CPU (``/proc/self/task``, Linux)."""
    return _TASKS.is_dir()


def bound(
    decode_ms: float, analysis_ms: float, bare_ms: float, resolution_ms: float = 0.0
) -> float | None:
    """Frames/s with a free core for the analysis, as a multiple of a bare decode taking
    ``bare_ms`` of CPU per frame on one core: ``bare_ms / max(decode_ms, analysis_ms)``.

    None when the busier thread measured less than 20 clock ticks (``resolution_ms``: one
    tick per frame): too short a run to say.
    """
    busier = max(decode_ms, analysis_ms)
    if busier <= 0.0 or busier < 20 * resolution_ms:
        return None
    return round(bare_ms / busier, 3)


def _ticks(tid: int) -> int | None:
    """User + system clock ticks of thread ``tid`` of this process; None once it is gone."""
    try:
        stat = (_TASKS / str(tid) / "stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


class ThreadMonitor:
    """Polls the CPU of this process's threads, by Python thread name, while a run goes on."""

    def __init__(self, period_s: float = 0.005) -> None:
        self.period_s = period_s
        self.last: dict[int, tuple[str, int]] = {}  # native id: (name, ticks)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-monitor", daemon=True)

    def poll(self) -> None:
        for thread in threading.enumerate():
            tid = thread.native_id
            if tid is None or thread is self._thread:
                continue
            ticks = _ticks(tid)
            if ticks is not None:
                self.last[tid] = (thread.name, ticks)

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self.poll()

    def __enter__(self) -> ThreadMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def seconds(self, prefix: str) -> float:
        """CPU seconds of the threads whose name starts with ``prefix``."""
        hz = os.sysconf("SC_CLK_TCK")
        return sum(t for name, t in self.last.values() if name.startswith(prefix)) / hz


def split(path: str, template: str, fps: float) -> dict[str, Any]:
    """One live-settings engine run of ``path``: CPU ms per decoded frame of the decode thread,
    the analysis thread and the rest of the process (the event loop, the monitor's polling).

    The last few milliseconds of each thread (after the monitor's last poll) are not counted.

    Raises:
        RuntimeError: the camera failed, or the system shows no per-thread CPU.
    """
    if not available():
        raise RuntimeError("per-thread CPU needs /proc/self/task (Linux)")
    cfg = camera_config(template, path, fps)
    camera = cfg.cameras[0].id
    engine = Engine(cfg, [MemorySink("count")], scan=False)
    started, cpu = time.perf_counter(), time.process_time()
    with ThreadMonitor() as monitor:
        result = anyio.run(engine.run)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    status = result.cameras[0]
    if status.state == "failed":
        raise RuntimeError(status.error)
    frames = max(status.decoded, 1)
    decode = monitor.seconds(f"supervise-{camera}")
    analysis = monitor.seconds(f"analyse-{camera}")
    return {
        "decoded": status.decoded,
        "analysed": status.analysed,
        "wall_ms_per_frame": 1e3 * elapsed / frames,
        "decode_thread_ms_per_frame": 1e3 * decode / frames,
        "analysis_thread_ms_per_frame": 1e3 * analysis / frames,
        "other_ms_per_frame": 1e3 * max(0.0, cpu - decode - analysis) / frames,
        "tick_ms_per_frame": 1e3 / os.sysconf("SC_CLK_TCK") / frames,
    }
