"""The ``vsa-stream`` command line.

Exit status: 0 success, 1 runtime failure (a stream that cannot be read, no alert in the demo),
2 invalid configuration or usage.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import anyio
import msgspec

from vsa_stream import __version__
from vsa_stream import config as config_mod
from vsa_stream.authorisation import authorisation_warnings
from vsa_stream.cli.cluster import add_cluster_commands, add_run_options
from vsa_stream.config import Config
from vsa_stream.detection.model import load_model
from vsa_stream.detection.pose import load_pose
from vsa_stream.detection.spec import ENGINE_CLASSES
from vsa_stream.engine import Engine, EngineResult, model_classes
from vsa_stream.errors import ConfigError, ModelError
from vsa_stream.log import configure_logging
from vsa_stream.observation import Observation
from vsa_stream.outbox import Outbox
from vsa_stream.private import check_private_dir, private_dir
from vsa_stream.sinks import JsonlSink, Sink, StdoutSink, build_sinks
from vsa_stream.tracking import MotPredictor, TrackRow, write_mot

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vsa-stream",
        description="Privacy-by-design analytics for surveillance cameras: the eight situations "
        "of the French legal framework, nothing else.",
    )
    parser.add_argument("--version", action="version", version=f"vsa-stream {__version__}")
    parser.add_argument(
        "--log-level", choices=("debug", "info", "warning", "error"), help="override the config"
    )
    parser.add_argument("--log-format", choices=("auto", "json", "console"), help="log format")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="render a synthetic scene and run the engine on it")
    demo.add_argument("--keep", metavar="DIR", help="keep the rendered video and truth in DIR")
    demo.add_argument("--fast", action="store_true", help="scan the video instead of real time")

    run = sub.add_parser("run", help="run the daemon on a configuration")
    run.add_argument("config", metavar="CONFIG", nargs="?")
    add_run_options(run)
    add_cluster_commands(sub)

    from vsa_stream.cli.reload import add_reload_command

    add_reload_command(sub)

    check = sub.add_parser("check", help="validate a configuration")
    check.add_argument("config", metavar="CONFIG", nargs="?")
    check.add_argument("--schema", action="store_true", help="print the JSON Schema and exit")

    webhook = sub.add_parser("webhook", help="webhook tools")
    webhook_sub = webhook.add_subparsers(dest="webhook_command", required=True, metavar="ACTION")
    verify = webhook_sub.add_parser(
        "verify",
        help="check a webhook's signature (exit 0: valid, 1: not)",
        description="Check a Standard Webhooks signature. Headers come from --id, --timestamp "
        "and --signature, or from --headers FILE (an HTTP header block, as curl -D writes it).",
    )
    verify.add_argument("body", metavar="BODYFILE", help="the raw request body ('-': stdin)")
    verify.add_argument(
        "--secret",
        action="append",
        metavar="S",
        help="whsec_ secret (repeat for rotation; default: $VSA_WEBHOOK_SECRET)",
    )
    verify.add_argument("--id", metavar="ID", help="webhook-id header")
    verify.add_argument("--timestamp", metavar="T", help="webhook-timestamp header")
    verify.add_argument("--signature", metavar="SIG", help="webhook-signature header")
    verify.add_argument("--headers", metavar="FILE", help="read the three headers from FILE")
    verify.add_argument(
        "--tolerance",
        type=float,
        default=300.0,
        metavar="S",
        help="maximum age of the timestamp, seconds (default 300; 0: do not check)",
    )

    audit = sub.add_parser("audit", help="audit log tools")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    audit_verify = audit_sub.add_parser(
        "verify",
        help="check the audit log (exit 0: intact; 1 unreadable, 3 entry hash, 4 keyed MAC, "
        "5 chain link, 6 head anchor, 7 key missing)",
        description="Check every entry's SHA-256, its HMAC (with the key), its link to the "
        "entry before, and the file against its head anchored in the outbox database or a "
        "checkpoint (truncation); names the first failure and the guarantee that failed.",
    )
    audit_verify.add_argument(
        "file", metavar="FILE", nargs="?", default=None,
        help="the audit log (default: <state_dir>/audit.jsonl of --config, else "
        "vsa-state/audit.jsonl)",
    )  # fmt: skip
    audit_verify.add_argument(
        "--config", metavar="C",
        help="take the log, the key (audit.key_file / key_env) and the outbox from this config",
    )  # fmt: skip
    audit_verify.add_argument("--key-file", metavar="F", help="the audit key file")
    audit_verify.add_argument("--key-env", metavar="VAR", help="the variable holding the key")
    audit_verify.add_argument(
        "--outbox", metavar="DB", help="the outbox database holding the anchored head"
    )
    audit_verify.add_argument(
        "--head", metavar="H",
        help="a head to check against: SEQ:HASH[:MAC], or a checkpoint's reason",
    )  # fmt: skip

    scan = sub.add_parser("scan", help="analyse a video file as fast as possible")
    scan.add_argument("video", metavar="VIDEO")
    scan.add_argument("--config", metavar="C", help="zones and rules (first camera, or --camera)")
    scan.add_argument("--camera", metavar="ID", help="which camera of the config to take")
    scan.add_argument("--out", metavar="EVENTS", help="append events here (JSON lines)")
    scan.add_argument(
        "--mot-out",
        metavar="TRACKS",
        help="write the tracks of every analysed frame in MOTChallenge format (frames from 1)",
    )
    scan.add_argument(
        "--mot-classes",
        metavar="CLASSES",
        help="comma-separated engine classes to write (default: every tracked object)",
    )

    track = sub.add_parser("track", help="run the tracker on a MOTChallenge detection file")
    track.add_argument("--mot-det", required=True, metavar="DET", help="det.txt to track")
    track.add_argument("--out", required=True, metavar="TRACKS", help="tracks (MOT format)")
    track.add_argument(
        "--frame-rate",
        type=float,
        default=30.0,
        metavar="R",
        help="frames/s of the sequence (default 30)",
    )
    track.add_argument("--min-score", type=float, metavar="S", help="drop detections below S")

    synth = sub.add_parser(
        "synth",
        help="render a labelled synthetic scenario",
        description="walkers and intruder render a video (+ --truth); a suite scenario "
        "(see --list) renders video.mp4, truth.json and config.yaml into the folder --out",
    )
    synth.add_argument("scenario", metavar="SCENARIO", nargs="?")
    synth.add_argument("--list", action="store_true", help="list the suite's scenarios")
    synth.add_argument("--out", metavar="VIDEO|FOLDER")
    synth.add_argument("--truth", metavar="TRUTH", help="ground truth JSON")
    synth.add_argument("--width", type=int, help="default 1280 (suite scenarios: 384)")
    synth.add_argument("--height", type=int, help="default 720 (suite scenarios: 216)")
    synth.add_argument("--fps", type=float, help="default 25 (suite scenarios: 10)")
    synth.add_argument("--duration", type=float, help="seconds (default: the scenario's)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument(
        "--encoding",
        choices=("fast", "camera"),
        default="fast",
        help="fast: quick to render; camera: H.264 High profile like an IP camera",
    )

    ev = sub.add_parser(
        "eval",
        help="score the engine on labelled clips (synthetic suite, real clips): one table",
        description="run the synthetic scenario suite SUITE_DIR and/or a set of real annotated "
        "clips (--real) through the engine; print precision, recall, on-time rate, latency and "
        "false alerts per hour per situation, one row per set and type (docs/eval.md)",
    )
    ev.add_argument("suite", metavar="SUITE_DIR", nargs="?", help="the synthetic suite folder")
    ev.add_argument("--generate", action="store_true", help="render the suite first")
    ev.add_argument("--seeds", type=int, default=3, metavar="N", help="N seeds (default 3)")
    ev.add_argument(
        "--seed-base",
        type=int,
        metavar="S",
        help="render seeds S..S+N-1 (default: a random S >= 10, printed; 0-9 were tuned on)",
    )
    ev.add_argument("--quick", action="store_true", help="one seed only (same as --seeds 1)")
    ev.add_argument("--scenarios", metavar="A,B", help="only these scenarios (with --generate)")
    ev.add_argument(
        "--size",
        metavar="WxH",
        default="384x216",
        help="frame size of the rendered scenes (with --generate; default 384x216)",
    )
    ev.add_argument(
        "--real",
        metavar="TRUTH",
        action="append",
        default=[],
        help="real clips: a folder holding truth.json, or the truth file (repeatable)",
    )
    ev.add_argument(
        "--configs",
        metavar="DIR",
        default="examples/dev",
        help="configs of the real clips: <clip>.yaml, <group>.yaml or default.yaml "
        "(default examples/dev)",
    )
    ev.add_argument("--models", metavar="DIR", help="sets ${VSA_MODELS} in those configs")
    ev.add_argument("--clips", metavar="GLOB", help="only the real clips matching (falls/*)")
    ev.add_argument("--jobs", type=int, default=2, metavar="J", help="parallel processes")
    ev.add_argument("--json", metavar="OUT", help="write the scores as JSON")
    ev.add_argument(
        "--per-clip", action="store_true", help="list each real clip's truth and alerts"
    )
    ev.add_argument("--min-precision", type=float, metavar="P", help="exit 1 below P")
    ev.add_argument("--min-recall", type=float, metavar="R", help="exit 1 below R")
    ev.add_argument(
        "--floors", metavar="FILE", help="exit 1 below these floors (JSON, per set and type)"
    )
    from vsa_stream.cli.outbox import add_outbox_commands

    add_outbox_commands(sub)
    from vsa_stream.cli.report import add_report_commands

    add_report_commands(sub)
    from vsa_stream.notice import add_notice_command

    add_notice_command(sub)

    from vsa_stream.bench.cli import add_parser as add_bench_parser

    add_bench_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``vsa-stream``; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        command = args.command
        if command == "check":
            return _check(args)
        if command == "reload":
            from vsa_stream.cli.reload import reload_command

            return reload_command(args)
        if command == "run":
            return _run(args)
        if command == "scan":
            return _scan(args)
        if command == "synth":
            return _synth(args)
        if command == "track":
            return _track(args)
        if command == "cluster":
            from vsa_stream.cli.cluster import cluster_command

            _logging(args, None, default_level="warning")
            return cluster_command(args)
        if command == "webhook":
            from vsa_stream.cli.webhook import verify_command

            return verify_command(args)
        if command == "audit":
            return _audit_verify(args)
        if command == "notice":
            from vsa_stream.notice import notice_command

            return notice_command(args)
        if command == "outbox":
            from vsa_stream.cli.outbox import outbox_command

            return outbox_command(args)
        if command == "report":
            from vsa_stream.cli.report import report_command

            return report_command(args)
        if command == "eval":
            _logging(args, None, default_level="warning")
            return _eval(args)
        if command == "bench":
            from vsa_stream.bench.cli import bench_command

            return bench_command(args)
        if command == "demo":
            from vsa_stream.cli.demo import run_demo

            _logging(args, None, default_level="warning")
            return run_demo(keep=args.keep, fast=args.fast)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    raise AssertionError(f"unhandled command {args.command}")  # pragma: no cover


def _logging(args: argparse.Namespace, config: Config | None, default_level: str = "info") -> None:
    level = args.log_level or (config.logging.level if config else default_level)
    fmt = args.log_format or (config.logging.format if config else "auto")
    configure_logging(level, fmt)


def _check(args: argparse.Namespace) -> int:
    if args.schema:
        sys.stdout.buffer.write(config_mod.dumps_schema() + b"\n")
        return 0
    if args.config is None:
        print("error: check needs CONFIG (or --schema)", file=sys.stderr)
        return 2
    config = config_mod.load(args.config)
    produced: dict[str, frozenset[str]] = {}
    for i, detector in enumerate(config.detectors):
        try:
            produced[detector.id] = model_classes(load_model(detector.model))
        except ModelError as exc:
            where = f"detectors[{i}].model ({detector.id})"
            print(f"error: {args.config}: {where}: {exc}", file=sys.stderr)
            return 2
    if config.pose is not None:
        try:
            load_pose(config.pose)
        except ModelError as exc:
            print(f"error: {args.config}: {exc}", file=sys.stderr)
            return 2
    for i, camera in enumerate(config.cameras):
        ids = config.detectors_for(camera)
        for path, message in config_mod.class_problems(camera, {d: produced[d] for d in ids}):
            print(f"error: {args.config}: cameras[{i}].{path}: {message}", file=sys.stderr)
            return 2
    for warning in authorisation_warnings(
        config.authorisations,
        [c.id for c in config.cameras if c.enabled],
        {c.id: [str(r.__struct_config__.tag) for r in c.rules] for c in config.cameras},
        time.time(),
    ):
        print(f"warning: {args.config}: {warning}", file=sys.stderr)
    zones = sum(len(c.zones) for c in config.cameras)
    rules = sum(len(c.rules) for c in config.cameras)
    print(
        f"{args.config}: ok ({len(config.cameras)} cameras, {zones} zones, {rules} rules, "
        f"{len(config.detectors)} detectors)"
    )
    return 0


def _run(args: argparse.Namespace) -> int:
    # until the daemon listens for it (a reload), a SIGHUP must not end the process
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        return _run_daemon(args)
    finally:
        signal.signal(signal.SIGHUP, previous)


def _run_daemon(args: argparse.Namespace) -> int:
    if args.cluster is not None:
        from vsa_stream.cli.cluster import run_cluster

        return run_cluster(args, _logging)
    if args.config is None:
        print("error: run needs CONFIG (or --cluster URLS)", file=sys.stderr)
        return 2
    config = config_mod.load(args.config)
    _logging(args, config)
    try:
        sinks = build_sinks(config.sinks, config.state_dir)
    except OSError as exc:
        raise ConfigError(
            f"cannot open: {exc}", path="sinks.jsonl.path", source=args.config
        ) from None
    from vsa_stream.daemon import lock_state_dir

    try:
        check_private_dir(private_dir(config.state_dir))
        lock = lock_state_dir(config)
    except OSError as exc:
        raise ConfigError(str(exc), path="state_dir", source=args.config) from None
    try:
        outbox = Outbox(config.outbox_path(), synchronous=config.outbox.synchronous)
    except OSError as exc:
        os.close(lock)
        field = "outbox.path" if config.outbox.path is not None else "state_dir"
        raise ConfigError(str(exc), path=field, source=args.config) from None
    try:
        from vsa_stream.daemon import Daemon

        try:
            daemon = Daemon(config, sinks, outbox, source=os.path.abspath(args.config))
        except OSError as exc:
            raise ConfigError(f"cannot start: {exc}", source=args.config) from None
        except ConfigError as exc:  # a field that cannot be used as it is (server.port)
            raise ConfigError(exc.message, path=exc.path, source=args.config) from None
        result = anyio.run(daemon.run)
    finally:
        outbox.close()
        os.close(lock)
    failed = [c for c in result.cameras if c.state == "failed"]
    return 1 if result.cameras and len(failed) == len(result.cameras) else 0


def _audit_verify(args: argparse.Namespace) -> int:
    from vsa_stream.audit import AuditHead, parse_head, read_key, verify
    from vsa_stream.config import load

    path, key_file, key_env, outbox_path = args.file, args.key_file, args.key_env, args.outbox
    if args.config is not None:
        config = load(args.config)
        path = path or os.path.join(config.state_dir, "audit.jsonl")
        if key_file is None and key_env is None:
            key_file, key_env = config.audit.key_file, config.audit.key_env
        outbox_path = outbox_path or config.outbox_path()
    path = path or "vsa-state/audit.jsonl"
    try:
        key = read_key(key_file=key_file, key_env=key_env)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    head: AuditHead | None = None
    if args.head is not None:
        try:
            head = parse_head(args.head)
        except ValueError as exc:
            print(f"error: --head: {exc}", file=sys.stderr)
            return 2
    elif outbox_path is not None:
        from vsa_stream.outbox import Outbox

        if not os.path.exists(outbox_path):
            print(f"error: no outbox database {outbox_path}", file=sys.stderr)
            return 2
        box = Outbox(outbox_path)
        try:
            head = box.audit_head()
        finally:
            box.close()
    try:
        result = verify(path, key=key, head=head)
    except OSError as exc:
        print(f"error: cannot read {path}: {exc}", file=sys.stderr)
        return 1
    checked = [
        f"{result.keyed} keyed" if key is not None else "no key",
        f"{result.unkeyed} unkeyed" if result.unkeyed else "",
        f"anchored at seq {head.seq}" if head is not None else "no anchor",
    ]
    detail = ", ".join(c for c in checked if c)
    if result.ok:
        print(f"{path}: ok ({result.entries} entries, chain intact; {detail})")
        return 0
    where = f"line {result.broken_line}" if result.broken_line is not None else "the end"
    print(
        f"{path}: {result.failure} failed at {where}: {result.reason} "
        f"({result.entries} entries before it are intact; {detail})",
        file=sys.stderr,
    )
    return result.exit_code


def _run_engine(config: Config, sinks: list[Sink], *, scan: bool) -> EngineResult:
    engine = Engine(config, sinks, scan=scan)
    return anyio.run(engine.run)


def _scan(args: argparse.Namespace) -> int:
    if args.config is not None:
        config = config_mod.load(args.config)
        cameras = config.cameras
        if args.camera is not None:
            cameras = [c for c in cameras if c.id == args.camera]
            if not cameras:
                known = ", ".join(c.id for c in config.cameras)
                raise ConfigError(f"no camera {args.camera!r} in {args.config}; cameras: {known}")
        camera = cameras[0]
    else:
        # a recorded file: the lab profile (an authorisation is for live cameras)
        config = config_mod.loads("privacy: {legal_profile: lab}\ncameras: [{id: scan, url: scan}]")
        camera = config.cameras[0]
    camera = msgspec.structs.replace(camera, url=os.fspath(Path(args.video)), enabled=True)
    config = msgspec.structs.replace(config, cameras=[camera])
    _logging(args, config)
    sinks: list[Sink] = [JsonlSink(args.out)] if args.out else [StdoutSink()]
    rows: list[TrackRow] = []
    classes = None if args.mot_classes is None else frozenset(args.mot_classes.split(","))
    if classes is not None and not classes <= set(ENGINE_CLASSES):
        unknown = ", ".join(sorted(classes - set(ENGINE_CLASSES)))
        print(
            f"error: --mot-classes: unknown class {unknown}; "
            f"engine classes: {', '.join(ENGINE_CLASSES)}",
            file=sys.stderr,
        )
        return 2
    observe = _collect_tracks(rows, classes) if args.mot_out else None
    engine = Engine(config, sinks, scan=True, observe=observe)
    result = anyio.run(engine.run)
    status = result.cameras[0]
    if status.state == "failed":
        print(f"error: {status.error}", file=sys.stderr)
        return 1
    if args.mot_out:
        try:
            count = write_mot(args.mot_out, rows)
        except OSError as exc:
            print(f"error: cannot write tracks: {exc}", file=sys.stderr)
            return 1
        tracks = len({track_id for _, track_id, _ in rows})
        print(f"{args.mot_out}: {tracks} tracks, {count} rows", file=sys.stderr)
    print(
        f"scanned {status.decoded} frames in {result.elapsed_s:.2f} s: "
        f"{status.decoded / max(result.elapsed_s, 1e-9):.1f} frames/s "
        f"({status.analysed} analysed at {camera.fps:g} fps), {result.events} event revisions",
        file=sys.stderr,
    )
    return 0


def _collect_tracks(
    rows: list[TrackRow], classes: frozenset[str] | None
) -> Callable[[Observation], None]:
    """An observer appending each analysed frame's tracked objects (of ``classes``, or all) to
    ``rows``; MOT frames count from 1: decoded frame index + 1. On a frame without a detector
    result the objects of the last result are moved on at their velocity
    (:class:`~vsa_stream.tracking.MotPredictor`), not repeated where they were."""
    predictor = MotPredictor()

    def observe(obs: Observation) -> None:
        frame = obs.frame_index + 1
        if obs.detected:
            predictor.observe(
                frame,
                [
                    (d.track_id, (d.x0, d.y0, d.x1, d.y1))
                    for d in obs.detections
                    if d.track_id is not None and (classes is None or d.label in classes)
                ],
            )
        for track_id, (x0, y0, x1, y1) in predictor.predict(frame):
            rows.append((frame, track_id, (x0, y0, x1 - x0, y1 - y0)))

    return observe


def _track(args: argparse.Namespace) -> int:
    from vsa_stream.tracking import track_file

    if not args.frame_rate > 0:
        print(f"error: --frame-rate must be > 0, got {args.frame_rate}", file=sys.stderr)
        return 2
    min_score = args.min_score if args.min_score is not None else float("-inf")
    try:
        run = track_file(args.mot_det, args.out, frame_rate=args.frame_rate, min_score=min_score)
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{args.out}: {run.tracks} tracks, {run.rows} rows from {run.detections} detections "
        f"in {run.frames} frames",
        file=sys.stderr,
    )
    return 0


def _synth(args: argparse.Namespace) -> int:
    from vsa_stream.synth import render
    from vsa_stream.synth.situations import SITUATIONS, render_scenario

    if args.list:
        for name, info in SITUATIONS.items():
            print(f"{name:22} {info.situation or 'negative':17} {info.summary}")
        return 0
    if args.scenario is None or args.out is None:
        print("error: synth needs SCENARIO and --out (or --list)", file=sys.stderr)
        return 2
    if args.scenario in SITUATIONS:
        try:
            truth = render_scenario(
                args.scenario,
                args.out,
                seed=args.seed,
                width=args.width or 384,
                height=args.height or 216,
                fps=args.fps or 10.0,
            )
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(
            f"{args.out}: {truth.n_frames} frames {truth.width}x{truth.height}, "
            f"{len(truth.events)} events (the config's detector, if any, is ../standin.onnx: "
            "vsa-stream eval --generate builds it)",
            file=sys.stderr,
        )
        return 0
    try:
        truth = render(
            args.scenario,
            args.out,
            args.truth,
            width=args.width or 1280,
            height=args.height or 720,
            fps=args.fps or 25.0,
            duration_s=args.duration,
            seed=args.seed,
            encoding=args.encoding,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{args.out}: {truth.n_frames} frames {truth.width}x{truth.height} at {truth.fps:g} fps, "
        f"{len(truth.objects)} objects, {len(truth.events)} events",
        file=sys.stderr,
    )
    return 0


def _frame_size(text: str) -> tuple[int, int]:
    """``WxH`` (even sides of at least 64 pixels, as the encoder needs) as ``(W, H)``.

    Raises:
        ValueError: naming ``--size`` and what is wrong.
    """
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"--size: expected WxH such as 1280x720, got {text!r}")
    width, height = int(parts[0]), int(parts[1])
    if min(width, height) < 64 or width % 2 or height % 2:
        raise ValueError(f"--size: sides must be even and at least 64 pixels, got {text!r}")
    return width, height


def _eval(args: argparse.Namespace) -> int:
    import json

    from vsa_stream import evaluate
    from vsa_stream.evaluate import real as evaluate_real

    if args.suite is None and not args.real:
        print("error: eval needs SUITE_DIR, --real TRUTH, or both", file=sys.stderr)
        return 2
    try:
        floors = {} if args.floors is None else evaluate.load_floors(args.floors)
    except ValueError as exc:
        print(f"error: --floors: {exc}", file=sys.stderr)
        return 2
    sets: dict[str, list[evaluate.ScenarioResult]] = {}
    payload: list[dict[str, object]] = []
    if args.suite is not None:
        if args.generate:
            count = 1 if args.quick else args.seeds
            base = evaluate.fresh_seed_base() if args.seed_base is None else args.seed_base
            names = None if args.scenarios is None else args.scenarios.split(",")
            try:
                width, height = _frame_size(args.size)
                evaluate.generate_suite(
                    args.suite,
                    seeds=range(base, base + count),
                    scenarios=names,
                    width=width,
                    height=height,
                    jobs=args.jobs,
                )
            except (ValueError, ModuleNotFoundError) as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
        try:
            sets["synthetic"] = evaluate.run_suite(args.suite, jobs=args.jobs)
        except FileNotFoundError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except RuntimeError as exc:  # a scenario's camera failed
            print(f"error: {exc}", file=sys.stderr)
            return 1
        seeds_used = sorted({r.seed for r in sets["synthetic"] if r.seed is not None})
        tuned = sorted(set(seeds_used) & set(evaluate.TUNING_SEEDS))
        print(
            f"synthetic: {len(sets['synthetic'])} scenario runs, seeds "
            f"{', '.join(map(str, seeds_used))}"
            + (f" (tuned on: {', '.join(map(str, tuned))})" if tuned else "")
        )
        payload.append(
            {
                "name": "synthetic",
                "suite": str(args.suite),
                "seeds": seeds_used,
                "scenarios": sorted({r.name for r in sets["synthetic"]}),
            }
        )
    for truth in args.real:
        try:
            path = evaluate_real.truth_file(truth)
            name = path.parent.name or "real"
            if name in sets:
                name = str(path)
            sets[name] = evaluate_real.run_real(
                path, configs=args.configs, models=args.models, clips=args.clips, jobs=args.jobs
            )
        except (FileNotFoundError, ValueError) as exc:  # ConfigError is a ValueError
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except RuntimeError as exc:  # a clip's camera failed (a missing model, a bad file)
            print(f"error: {exc}", file=sys.stderr)
            return 1
        hours = sum(r.duration_s for r in sets[name]) / 3600.0
        print(f"{name}: {len(sets[name])} real clips, {hours * 60:.1f} min, from {path}")
        payload.append({"name": name, "truth": str(path), "clips": [r.name for r in sets[name]]})
    scores = {name: evaluate.score(results) for name, results in sets.items()}
    print("\n" + evaluate.markdown(scores))
    if args.per_clip:
        for name, results in sets.items():
            if name != "synthetic":
                print(f"\n{name}, per clip (truth: type onset/from-to):")
                print("\n".join(f"- {line}" for line in evaluate.clip_lines(results)))
    for name, per_type in scores.items():
        misses = [f"{s.type}: {m}" for s in per_type.values() for m in s.misses]
        if misses:
            print(f"\n{name}:\n" + "\n".join(f"- {m}" for m in misses))
    if args.json:
        for entry in payload:
            entry["types"] = [s.as_dict() for s in scores[str(entry["name"])].values()]
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"sets": payload}, f, indent=2)
    failed = [
        f"{name}: {s.type}"
        for name, per_type in scores.items()
        for s in per_type.values()
        if s.scenarios
        and (
            (args.min_precision is not None and s.precision < args.min_precision)
            or (args.min_recall is not None and s.recall < args.min_recall)
        )
    ]
    for name, set_floors in floors.items():
        if name in scores:
            failed += [
                f"{name}: {line}" for line in evaluate.below_floors(scores[name], set_floors)
            ]
    if failed:
        print("below the floors:\n" + "\n".join(f"- {f}" for f in failed), file=sys.stderr)
        return 1
    return 0
