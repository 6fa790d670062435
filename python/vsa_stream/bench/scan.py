"""``vsa-stream bench scan``: the engine's scan against a bare decode with the same settings.

One 720p H.264 High clip (the synthetic ``walkers`` scene encoded like an IP camera, or a file
of yours) is scanned by the engine and decoded by bare PyAV, interleaved over several rounds in
one process (on a shared machine only ratios measured side by side mean something). Each engine
row is compared with the bare decode that uses **exactly its decoder settings**, its anchor:

* **scan settings** (``vsa-stream scan``): ``skip_loop_filter`` and FFmpeg frame threads, which
  decode several frames at once and fill every core: the analysis has no spare core to hide on,
  so these ratios are the whole cost of the analysis;
* **live-camera settings** (a camera of ``vsa-stream run``): ``skip_loop_filter``, the decoder's
  own thread choice (``thread_count`` 0, slice threads: one core for a single-slice stream) and
  the analysis in its own thread beside the decode thread (the Rust kernels release the GIL).
  The engine runs the file as a live camera would decode it, not paced (``realtime: false``),
  so no frame is dropped; the analysis can hide behind decoding on a second core;
* PyAV's default decode and frame threads with deblocking, labelled *reference* rows (the
  README's old "1.42x" compared the engine with the default decode).

The engine rows run the motion camera at the default analysis rate (10 fps), on every frame, and
a camera watching every situation a detector-less camera can (the flow, fire and static-object
kernels on). Each run reports frames per second (median of the rounds), its ratio to its anchor
(median of the per-round ratios) and its process CPU per decoded frame (every thread counted).
With ``stages`` it also says where the time goes (:mod:`vsa_stream.bench.stages`).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import anyio
import av

from vsa_stream.bench import threadcpu
from vsa_stream.bench.common import Steps, fmt, table
from vsa_stream.bench.stages import (
    ALL_SIGNALS_CONFIG,
    MOTION_CONFIG,
    Run,
    bare_decode,
    camera_config,
    profile_stages,
)
from vsa_stream.engine import Engine
from vsa_stream.sinks.memory import MemorySink
from vsa_stream.synth import render

__all__ = ["ANCHOR", "LIVE_ANCHOR", "chart", "markdown", "run"]

ANCHOR = "pyav decode, skip_loop_filter + frame threads (anchor: the engine's scan settings)"
LIVE_ANCHOR = (
    "pyav decode, skip_loop_filter, decoder's own threads (anchor: a live camera's settings)"
)
PROBE = "probe: two live-settings decodes at once (2.00x: a free second core; 1.00x: none)"
STAGES = ("motion", "flow", "fire", "background", "rest", "total")


def two_decodes(path: str) -> Run:
    """Two bare decodes with a live camera's settings at once, in two threads (PyAV releases
    the GIL): their frames together, the wall and CPU seconds. Over one decode's frames/s it
    says how much of a second core this machine gave at that moment (2.0: a whole free core,
    1.0: none), which bounds what the live rows can hide behind decoding."""
    results: list[Run] = []
    started, cpu = time.perf_counter(), time.process_time()
    threads = [
        threading.Thread(target=lambda: results.append(bare_decode(path, True, False)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    frames = sum(r[0] for r in results)
    return frames, time.perf_counter() - started, time.process_time() - cpu


def engine_scan(path: str, fps: float, template: str = MOTION_CONFIG, *, live: bool = False) -> Run:
    """Frames decoded, seconds and CPU seconds taken by the engine scanning the file.

    ``live``: decode as a live camera's pipeline does (no frame threads), the file not paced.
    """
    cfg = camera_config(template, path, fps)
    engine = Engine(cfg, [MemorySink("count")], scan=not live)
    started, cpu = time.perf_counter(), time.process_time()
    result = anyio.run(engine.run)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    status = result.cameras[0]
    if status.state == "failed":
        raise RuntimeError(status.error)
    return status.decoded, elapsed, cpu


def _stages(path: str, rounds: int) -> dict[str, dict[str, Any]]:
    """Per-stage cost of the motion and the all-signals cameras (median of ``rounds``)."""
    out: dict[str, dict[str, Any]] = {}
    for name, template in (("motion", MOTION_CONFIG), ("all signals", ALL_SIGNALS_CONFIG)):
        runs = [profile_stages(path, template, 10.0) for _ in range(rounds)]
        stages = runs[0]["ms_per_analysed_frame"]
        out[name] = {
            "signals": runs[0]["signals"],
            "decoded": runs[0]["decoded"],
            "analysed": runs[0]["analysed"],
            "decode_cpu_ms_per_frame": statistics.median(
                r["decode_cpu_ms_per_frame"] for r in runs
            ),
            "ms_per_analysed_frame": {
                k: statistics.median(r["ms_per_analysed_frame"][k] for r in runs) for k in stages
            },
        }
    return out


LIVE_CAMERAS = (
    ("analysis 10 fps, the default", MOTION_CONFIG, 10.0),
    ("every frame", MOTION_CONFIG, 120.0),
    ("all signals, 10 fps", ALL_SIGNALS_CONFIG, 10.0),
)


def _split(path: str, rounds: int) -> dict[str, dict[str, float | None]]:
    """Each live-settings camera's CPU per decoded frame by thread, beside a bare decode of the
    same settings (medians of ``rounds`` alternating runs), and the throughput bound with a
    free core (:func:`vsa_stream.bench.threadcpu.bound`)."""
    med = statistics.median
    bare: list[float] = []
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in LIVE_CAMERAS}
    for _ in range(rounds):
        frames, _, cpu = bare_decode(path, True, False)
        bare.append(1e3 * cpu / frames)
        for name, template, fps in LIVE_CAMERAS:
            samples[name].append(threadcpu.split(path, template, fps))
    bare_ms = med(bare)
    out: dict[str, dict[str, float | None]] = {}
    for name, runs in samples.items():
        row = {k: med(r[k] for r in runs) for k in runs[0] if k.endswith("_ms_per_frame")}
        out[name] = {
            **row,
            "bare_decode_ms_per_frame": bare_ms,
            "bound_with_a_free_core": threadcpu.bound(
                row["decode_thread_ms_per_frame"],
                row["analysis_thread_ms_per_frame"],
                bare_ms,
                row["tick_ms_per_frame"],
            ),
        }
    return out


def run(
    steps: Steps,
    quick: bool,
    *,
    video: str | None = None,
    rounds: int | None = None,
    stages: bool = True,
) -> dict[str, Any]:
    """Measure; returns the report section (clip, anchor, runs, stages, load averages)."""
    rounds = rounds or (1 if quick else 5)
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="vsa-bench-scan-") as tmp:
        path = video
        if path is None:
            path = os.path.join(tmp, "walkers.mp4")
            size = (320, 180) if quick else (1280, 720)
            duration = 2.0 if quick else 20.0
            steps.step(f"rendering a {size[0]}x{size[1]} clip of {duration:g} s")
            render(
                "walkers",
                path,
                width=size[0],
                height=size[1],
                duration_s=duration,
                encoding="camera",
            )
        with av.open(path) as c:
            s = c.streams.video[0]
            clip = {
                "path": path if video else "synthetic walkers, H.264 High (camera-like)",
                "width": s.codec_context.width,
                "height": s.codec_context.height,
                "codec": s.codec_context.name,
                "profile": s.codec_context.profile,
                "fps": float(s.average_rate or 0),
                "frames": s.frames,
            }
        runs: dict[str, Callable[[], Run]] = {
            ANCHOR: lambda: bare_decode(path, True, True),
            LIVE_ANCHOR: lambda: bare_decode(path, True, False),
            "pyav decode, PyAV defaults (reference only: not the same work)": lambda: bare_decode(
                path, False, False
            ),
            "pyav decode, frame threads (reference)": lambda: bare_decode(path, False, True),
            PROBE: lambda: two_decodes(path),
        }
        # each run's anchor, the decode of its settings (the scan anchor when not named)
        anchors = {LIVE_ANCHOR: LIVE_ANCHOR, PROBE: LIVE_ANCHOR}

        def engine(name: str, anchor: str, fps: float, template: str, live: bool) -> None:
            runs[name] = lambda: engine_scan(path, fps, template, live=live)
            anchors[name] = anchor

        scan_rows = "engine scan, frame threads (no spare core)"
        live_rows = "engine, live-camera decoder (analysis beside decoding)"
        for label, anchor, live in ((scan_rows, ANCHOR, False), (live_rows, LIVE_ANCHOR, True)):
            engine(f"{label}: analysis 10 fps, the default", anchor, 10.0, MOTION_CONFIG, live)
            engine(f"{label}: every frame", anchor, 120.0, MOTION_CONFIG, live)
            engine(f"{label}: all signals, 10 fps", anchor, 10.0, ALL_SIGNALS_CONFIG, live)
        fps_of: dict[str, list[float]] = {name: [] for name in runs}
        cpu_of: dict[str, list[float]] = {name: [] for name in runs}
        ratio_of: dict[str, list[float]] = {name: [] for name in runs}
        frames_of: dict[str, int] = {}
        for r in range(rounds):
            steps.step(f"scan round {r + 1}/{rounds}")
            order = list(runs) if r % 2 == 0 else list(reversed(runs))
            this_round: dict[str, float] = {}
            for name in order:
                frames, elapsed, cpu = runs[name]()
                this_round[name] = frames / elapsed
                fps_of[name].append(frames / elapsed)
                cpu_of[name].append(1e3 * cpu / frames)
                frames_of[name] = frames
            for name in runs:
                ratio_of[name].append(this_round[name] / this_round[anchors.get(name, ANCHOR)])
        if stages:
            steps.step("where the time goes")
        per_stage = _stages(path, 1 if quick else 3) if stages else None
        split = _split(path, 1 if quick else 3) if stages and threadcpu.available() else None
    med = statistics.median
    return {
        "clip": clip,
        "rounds": rounds,
        "anchor": ANCHOR,
        "live_anchor": LIVE_ANCHOR,
        "load_average_start": list(load_start),
        "load_average_end": list(os.getloadavg()),
        "runs": {
            name: {
                "anchor": anchors.get(name, ANCHOR),
                "median_fps": med(fps_of[name]),
                "samples_fps": fps_of[name],
                "ratio_to_anchor": med(ratio_of[name]),
                "samples_ratio": ratio_of[name],
                "cpu_ms_per_frame": med(cpu_of[name]),
                "cpu_ratio_to_anchor": med(cpu_of[name]) / med(cpu_of[anchors.get(name, ANCHOR)]),
                "samples_cpu_ms_per_frame": cpu_of[name],
                "frames": frames_of[name],
            }
            for name in runs
        },
        "stages": per_stage,
        "live_threads": split,
    }


def markdown(section: dict[str, Any]) -> str:
    """The runs table, then the stages table when measured."""
    clip = section["clip"]
    start, end = section["load_average_start"][0], section["load_average_end"][0]
    head = (
        f"{clip['width']}x{clip['height']} {clip['codec']} ({clip['profile']}), "
        f"{clip['frames']} frames, median of {section['rounds']} interleaved rounds; load "
        f"average {start:.1f} at the start, {end:.1f} at the end"
    )
    short = {section["anchor"]: "scan", section.get("live_anchor", ""): "live"}
    runs = table(
        ["run", "anchor", "frames/s", "× anchor", "CPU ms / frame", "CPU × anchor"],
        [
            [name, short.get(r.get("anchor", section["anchor"]), "?"), fmt(r["median_fps"]),
             fmt(r["ratio_to_anchor"], "x"), fmt(r["cpu_ms_per_frame"]),
             fmt(r["cpu_ratio_to_anchor"], "x")]
            for name, r in section["runs"].items()
        ],
    )  # fmt: skip
    stages = section.get("stages")
    if not stages:
        return f"{head}\n\n{runs}"
    split = section.get("live_threads")
    threads = ""
    if split:
        threads = "\n\n" + table(
            ["live-settings camera", "bare decode", "decode thread", "analysis thread",
             "rest of the process", "× bare decode with a free core (bound)"],
            [
                [name, fmt(r["bare_decode_ms_per_frame"]), fmt(r["decode_thread_ms_per_frame"]),
                 fmt(r["analysis_thread_ms_per_frame"]), fmt(r["other_ms_per_frame"]),
                 fmt(r["bound_with_a_free_core"], "x")]
                for name, r in split.items()
            ],
        )  # fmt: skip
        threads = (
            "\n\nLive-camera settings, CPU ms per decoded frame by thread (bound: bare decode "
            "over the busier thread, what a free second core would allow; not measured "
            "throughput)" + threads
        )
    rows = []
    for camera, row in stages.items():
        ms = row["ms_per_analysed_frame"]
        share = row["analysed"] / max(row["decoded"], 1)
        rows.append(
            [camera, fmt(row["decode_cpu_ms_per_frame"])]
            + [fmt(ms.get(k)) for k in STAGES]
            + [fmt(ms["total"] * share)]
        )
    where = table(["camera", "decode CPU / frame", *STAGES, "analysis per decoded frame"], rows)
    return (
        f"{head}\n\n{runs}\n\nWhere the time goes (ms; decoding: CPU per decoded frame, every "
        f"decoder thread; stages: per analysed frame at 10 fps, one thread):\n\n{where}{threads}"
    )


def chart(section: dict[str, Any], path: Any) -> None:
    """Horizontal bars: each run's throughput as a multiple of the anchor's."""
    from vsa_stream.bench.common import pyplot

    plt = pyplot()
    names = list(section["runs"])
    ratios = [section["runs"][n]["ratio_to_anchor"] for n in names]
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(names) + 1.5))
    ax.barh(range(len(names)), ratios, color=["tab:green" if x >= 1 else "tab:red" for x in ratios])
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.invert_yaxis()
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("frames/s as a multiple of a bare decode with the same decoder settings")
    ax.set_title("vsa-stream scan against bare PyAV decoding")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
