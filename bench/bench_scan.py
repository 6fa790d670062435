"""Scan throughput: the engine against bare PyAV decoding of the same 720p H.264 clip.

Runs, in one process and interleaved over several rounds (these machines are noisy, so only
ratios measured side by side mean something):

* ``pyav decode, skip_loop_filter + frame threads`` — **the anchor**: bare
  ``for frame in container.decode(video=0)`` with the decoder settings the engine's scan uses
  (deblocking skipped, FFmpeg frame threads): the same decoding work on both sides;
* ``pyav decode`` (PyAV's defaults), ``skip_loop_filter`` alone and ``frame threads`` alone —
  labelled reference rows: what each decoder setting is worth on its own (the README's old
  "1.42×" compared the engine with the default decode);
* ``engine scan`` — ``vsa-stream scan``'s path: decode thread + zero-copy luma view + Rust
  motion kernel + zone check + intrusion rule, at the default analysis rate (10 fps);
* ``engine scan, every frame`` — the same analysing every decoded frame;
* ``engine scan, all signals`` — a camera with every situation a detector-less camera can watch
  (intrusion, wrong way, density, crowd movement, abandoned object, fire): the flow, fire and
  static-object kernels run on every analysed frame.

Each run reports frames per second (median of the rounds), its ratio to the anchor (median of
the per-round ratios: each round measures both sides within seconds of each other) and its
process CPU per decoded frame (every thread counted; on a shared machine CPU per frame moves
less than wall time). The load average is recorded at the start and end.

With ``--stages`` it also measures where the time goes (:mod:`vsa_stream.bench.stages`): the
decoder's CPU per frame and each analysis stage's per analysed frame, one thread.

Prints Markdown tables and writes ``bench/results/scan.json``.

Usage: ``python bench/bench_scan.py [--quick] [--video FILE] [--rounds N] [--stages]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import av
import msgspec

from vsa_stream import __version__
from vsa_stream.bench.stages import ALL_SIGNALS_CONFIG, MOTION_CONFIG, camera_config, profile_stages
from vsa_stream.engine import Engine
from vsa_stream.events import Event
from vsa_stream.log import configure_logging
from vsa_stream.synth import render

RESULTS = Path(__file__).resolve().parent / "results"
ANCHOR = "pyav decode, skip_loop_filter + frame threads (anchor: the engine's settings)"


class _Count:
    name = "count"

    def __init__(self) -> None:
        self.events = 0

    async def send(self, event: Event) -> None:
        self.events += 1

    async def aclose(self) -> None:
        pass


Run = tuple[int, float, float]  # frames decoded, wall seconds, process CPU seconds


def bare_decode(path: str, skip_loop_filter: bool, frame_threads: bool) -> Run:
    """Frames decoded, seconds and CPU seconds taken by plain PyAV."""
    started, cpu = time.perf_counter(), time.process_time()
    with av.open(path) as container:
        stream = container.streams.video[0]
        if skip_loop_filter:
            stream.codec_context.options = {"skip_loop_filter": "all"}
        if frame_threads:
            stream.codec_context.thread_type = "AUTO"
        frames = sum(1 for _ in container.decode(stream))
    return frames, time.perf_counter() - started, time.process_time() - cpu


def engine_scan(path: str, fps: float, template: str = MOTION_CONFIG) -> Run:
    """Frames decoded, seconds and CPU seconds taken by the engine scanning the file."""
    cfg = camera_config(template, path, fps)
    engine = Engine(cfg, [_Count()], scan=True)
    started, cpu = time.perf_counter(), time.process_time()
    result = anyio.run(engine.run)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    status = result.cameras[0]
    if status.state == "failed":
        raise RuntimeError(status.error)
    return status.decoded, elapsed, cpu


def _git_revision() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _stages_table(path: str, rounds: int) -> dict[str, dict[str, object]]:
    """Per-stage CPU of the motion and the all-signals cameras (median of ``rounds``)."""
    out: dict[str, dict[str, object]] = {}
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
    print("\nWhere the time goes (one thread, ms; decode: CPU per decoded frame, every")
    print("decoder thread counted; stages: per analysed frame at 10 fps)\n")
    names = ["motion", "flow", "fire", "background", "rest", "total"]
    print("| camera | decode / frame | " + " | ".join(names) + " | analysis per decoded frame |")
    print("|---|---:|" + "---:|" * len(names) + "---:|")
    for cam, row in out.items():
        ms = row["ms_per_analysed_frame"]
        assert isinstance(ms, dict)
        share = float(row["analysed"]) / float(row["decoded"])  # type: ignore[arg-type]
        cells = " | ".join(f"{ms[k]:.2f}" if k in ms else "-" for k in names)
        print(
            f"| {cam} | {row['decode_cpu_ms_per_frame']:.2f} | {cells} | "
            f"{ms['total'] * share:.2f} |"
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny clip, one round (CI)")
    parser.add_argument("--video", help="clip to scan (default: a synthetic 720p 'walkers')")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (median)")
    parser.add_argument("--stages", action="store_true", help="also the per-stage profile")
    parser.add_argument("--out", default=str(RESULTS / "scan.json"), help="JSON results")
    args = parser.parse_args()
    configure_logging("warning", "console")
    rounds = args.rounds or (1 if args.quick else 5)
    load_start = os.getloadavg()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.video
        if path is None:
            path = os.path.join(tmp, "walkers.mp4")
            size = (320, 180) if args.quick else (1280, 720)
            duration = 2.0 if args.quick else 20.0
            print(f"rendering a {size[0]}x{size[1]} clip of {duration:g} s...", file=sys.stderr)
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
                "path": path if args.video else "synthetic walkers, H.264 High (camera-like)",
                "width": s.codec_context.width,
                "height": s.codec_context.height,
                "codec": s.codec_context.name,
                "profile": s.codec_context.profile,
                "fps": float(s.average_rate or 0),
                "frames": s.frames,
            }

        runs: dict[str, Callable[[], Run]] = {
            ANCHOR: lambda: bare_decode(path, True, True),
            "pyav decode, PyAV defaults (reference only: not the same work)": lambda: bare_decode(
                path, False, False
            ),
            "pyav decode, skip_loop_filter (reference)": lambda: bare_decode(path, True, False),
            "pyav decode, frame threads (reference)": lambda: bare_decode(path, False, True),
            "engine scan (analysis 10 fps, the default)": lambda: engine_scan(path, 10.0),
            "engine scan (every frame)": lambda: engine_scan(path, 120.0),
            "engine scan, all signals (10 fps)": lambda: engine_scan(
                path, 10.0, ALL_SIGNALS_CONFIG
            ),
        }
        fps_of: dict[str, list[float]] = {name: [] for name in runs}
        cpu_of: dict[str, list[float]] = {name: [] for name in runs}
        ratio_of: dict[str, list[float]] = {name: [] for name in runs}
        frames_of: dict[str, int] = {}
        for r in range(rounds):
            order = list(runs) if r % 2 == 0 else list(reversed(runs))
            this_round: dict[str, float] = {}
            for name in order:
                frames, elapsed, cpu = runs[name]()
                this_round[name] = frames / elapsed
                fps_of[name].append(frames / elapsed)
                cpu_of[name].append(1e3 * cpu / frames)
                frames_of[name] = frames
            for name in runs:
                ratio_of[name].append(this_round[name] / this_round[ANCHOR])
            print(f"round {r + 1}/{rounds} done, load {os.getloadavg()[0]:.1f}", file=sys.stderr)
        stages = _stages_table(path, 1 if args.quick else 3) if args.stages else None
    load_end = os.getloadavg()

    med = statistics.median
    anchor_cpu = med(cpu_of[ANCHOR])
    print(
        f"\nScan throughput, {clip['width']}x{clip['height']} {clip['codec']} "
        f"({clip['profile']}), {frames_of[ANCHOR]} frames, median of {rounds} interleaved "
        f"rounds; load average {load_start[0]:.1f} at the start, {load_end[0]:.1f} at the end, "
        f"{os.cpu_count()} cores\n"
    )
    print("| run | frames/s | × anchor (median of rounds) | CPU ms / frame | CPU × anchor |")
    print("|---|---:|---:|---:|---:|")
    for name in runs:
        print(
            f"| {name} | {med(fps_of[name]):.1f} | {med(ratio_of[name]):.2f} | "
            f"{med(cpu_of[name]):.2f} | {med(cpu_of[name]) / anchor_cpu:.2f} |"
        )
    report = {
        "benchmark": "scan",
        "version": __version__,
        "git": _git_revision(),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "pyav": av.__version__,
            "libavcodec": ".".join(map(str, av.library_versions.get("libavcodec", ()))),
            "load_average_start": list(load_start),
            "load_average_end": list(load_end),
        },
        "clip": clip,
        "rounds": rounds,
        "anchor": ANCHOR,
        "runs": {
            name: {
                "median_fps": med(fps_of[name]),
                "samples_fps": fps_of[name],
                "ratio_to_anchor": med(ratio_of[name]),
                "samples_ratio": ratio_of[name],
                "cpu_ms_per_frame": med(cpu_of[name]),
                "samples_cpu_ms_per_frame": cpu_of[name],
                "frames": frames_of[name],
            }
            for name in runs
        },
        "stages": stages,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(msgspec.json.format(msgspec.json.encode(report), indent=2))
    print(f"\nJSON: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
