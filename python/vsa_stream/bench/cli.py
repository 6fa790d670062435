"""``vsa-stream bench {kernels,pipeline,alerts,scan,detector,all}``: run, print tables, write
JSON and PNG.

Each part writes ``<out>/<part>.json`` (machine, versions, git revision, every figure) and
``<out>/<part>.png``; the Markdown tables go to standard output, the progress bar to standard
error. Exit status 2 when an anchor is missing (the message names the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from vsa_stream.bench.common import MissingAnchorError

__all__ = ["PARTS", "add_parser", "bench_command"]

PARTS: tuple[str, ...] = ("kernels", "pipeline", "alerts", "scan", "detector")
_DEFAULT_SHARED = os.path.join("..", "shared")
_DEFAULT_MODEL = os.path.join(_DEFAULT_SHARED, "models", "yolox_nano.onnx")


def add_parser(sub: Any) -> None:
    """Add ``bench`` to the ``vsa-stream`` sub-commands."""
    bench = sub.add_parser(
        "bench",
        help="benchmarks: kernels against their anchors, stream capacity, alert delivery, scan, "
        "the detector's camera-shaped input",
        description="Benchmarks with their anchors side by side. Tables on stdout; JSON and "
        "PNG charts in --out. Needs the anchors: pip install 'vsa-stream[bench]'.",
    )
    bench.add_argument("part", choices=(*PARTS, "all"), help="what to measure")
    bench.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds (CI)")
    bench.add_argument(
        "--only",
        metavar="GROUPS",
        help=(
            "kernels: comma-separated groups among background, flow, tracker, zones, prepost, "
            "camera"
        ),
    )
    bench.add_argument(
        "--modes",
        metavar="MODES",
        help="pipeline: comma-separated modes among ceiling, motion, yolox, and motion-<P>p or "
        "yolox-<P>p (that mode as P processes); default: ceiling, motion, motion-2p, yolox "
        "(--quick: no multi-process mode)",
    )
    bench.add_argument(
        "--model",
        metavar="ONNX",
        default=os.environ.get("VSA_BENCH_MODEL", _DEFAULT_MODEL),
        help="pipeline, detector: the yolox_nano model (default: $VSA_BENCH_MODEL or %(default)s)",
    )
    bench.add_argument(
        "--shared",
        metavar="DIR",
        default=os.environ.get("VSA_BENCH_SHARED", _DEFAULT_SHARED),
        help="detector: the folder of the real clips, DIR/data (default: $VSA_BENCH_SHARED or "
        "%(default)s)",
    )
    bench.add_argument(
        "--window", type=float, metavar="S", help="pipeline: measured seconds per trial"
    )
    bench.add_argument(
        "--max-streams", type=int, metavar="N", help="pipeline: largest stream count tried"
    )
    bench.add_argument(
        "--out", default=os.path.join("bench", "results"), help="results folder (%(default)s)"
    )
    bench.add_argument("--no-progress", action="store_true", help="no progress bar")


def _groups(only: str | None) -> list[str]:
    from vsa_stream.bench.kernels import GROUPS

    if not only:
        return list(GROUPS)
    groups = [g.strip() for g in only.split(",") if g.strip()]
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise ValueError(f"--only: unknown group {unknown[0]!r}; known: {', '.join(GROUPS)}")
    return groups


def _modes(modes: str | None, quick: bool = False) -> tuple[str, ...]:
    from vsa_stream.bench.pipeline import MODES, processes, valid_mode

    if not modes:  # --quick proves it runs: one process per trial unless asked
        return tuple(m for m in MODES if not quick or processes(m)[1] == 1)
    chosen = tuple(m.strip() for m in modes.split(",") if m.strip())
    unknown = [m for m in chosen if not valid_mode(m)]
    if unknown:
        raise ValueError(
            f"--modes: unknown mode {unknown[0]!r}; known: {', '.join(MODES)} "
            "(motion-<P>p, yolox-<P>p: P processes, 1 to 99)"
        )
    return chosen


def _part(name: str, args: argparse.Namespace) -> tuple[dict[str, Any], str, Any]:
    """Run one part; returns its section, its Markdown and its chart function."""
    from vsa_stream.bench.common import steps

    show = not args.no_progress
    if name == "kernels":
        from vsa_stream.bench import kernels

        groups = _groups(args.only)
        with steps("kernels", kernels.step_count(groups), show=show) as s:
            section = kernels.run(groups, args.quick, s)
        return section, kernels.markdown(section), kernels.chart
    if name == "pipeline":
        import dataclasses

        from vsa_stream.bench import pipeline

        settings = (
            pipeline.Settings.quick(args.model)
            if args.quick
            else pipeline.Settings(model=args.model)
        )
        if args.window:
            settings = dataclasses.replace(settings, window_s=args.window)
        if args.max_streams:
            settings = dataclasses.replace(settings, max_streams=args.max_streams)
        with steps("pipeline", 1, show=show) as s:
            section = pipeline.run(s, settings, _modes(args.modes, args.quick), quick=args.quick)
        return section, pipeline.markdown(section), pipeline.chart
    if name == "detector":
        from vsa_stream.bench import detector

        with steps("detector", 1, show=show) as s:
            section = detector.run(s, args.quick, model=args.model, shared=args.shared)
        return section, detector.markdown(section), detector.chart
    if name == "scan":
        from vsa_stream.bench import scan

        with steps("scan", 1, show=show) as s:
            section = scan.run(s, args.quick)
        return section, scan.markdown(section), scan.chart
    from vsa_stream.bench import alerts

    with steps("alerts", 1, show=show) as s:
        section = alerts.run(s, args.quick)
    return section, alerts.markdown(section), alerts.chart


def bench_command(args: argparse.Namespace) -> int:
    """Run ``vsa-stream bench``; returns the exit status."""
    from vsa_stream.bench.common import header, write_json
    from vsa_stream.log import configure_logging

    configure_logging("warning", "console")
    parts = PARTS if args.part == "all" else (args.part,)
    out = Path(args.out)
    try:
        _groups(args.only)
        _modes(args.modes)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        for name in parts:
            report = header(name, args.quick)
            section, text, chart = _part(name, args)
            report.update(section)
            machine = report["machine"]
            print(
                f"\n## {name}\n\n{machine['cpu_model']}, {machine['cores_usable']} usable "
                f"cores, {machine['kernels']} kernels, "
                f"load {', '.join(f'{x:.1f}' for x in machine['load_average'] or [])}; "
                f"vsa_stream {report['versions']['vsa_stream']} ({report['git']})"
                f"{'; quick' if args.quick else ''}\n\n{text}",
                flush=True,
            )
            write_json(out / f"{name}.json", report)
            chart(section, out / f"{name}.png")
            print(f"\nwrote {out / name}.json and {out / name}.png", file=sys.stderr)
    except MissingAnchorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
