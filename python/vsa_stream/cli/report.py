"""``vsa-stream report`` and ``vsa-stream report verify``: the signed quality report.

::

    vsa-stream report --config C --from 2026-11-01 --to 2026-12-01 [--tz Europe/Paris]
                      [--camera ID ...] [--format md|json|html] [--output FILE]
    vsa-stream report verify FILE [--config C | --key-file F | --key-env VAR]

The report reads the outbox database and the audit log the daemon keeps (both may be in use
by a running daemon). It is signed with the key of ``--key-file`` / ``--key-env``, else the
audit key of the configuration (``audit.key_file`` / ``audit.key_env``); without a key there
is no report.

Exit status of ``report``: 0 written, 1 the outbox cannot be read, 2 bad usage or
configuration. Of ``report verify``: 0 intact, 1 unreadable, 2 bad usage, 3 no signature, 4
altered (MAC mismatch), 5 signed with another key.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vsa_stream import config as config_mod
from vsa_stream.audit import read_key

__all__ = ["add_report_commands", "report_command"]


def add_report_commands(sub: Any) -> None:
    """Add ``report`` (and ``report verify``) to the command line's subparsers."""
    report = sub.add_parser(
        "report",
        help="the signed quality report of a period (or: report verify FILE)",
        description="Compute the quality report of [--from, --to) per camera and situation, "
        "signed; 'report verify FILE' checks a report.",
    )
    report.add_argument(
        "verify", nargs="*", metavar="verify FILE", help="check a signed report instead"
    )
    report.add_argument("--config", metavar="CONFIG", help="the daemon's configuration")
    report.add_argument("--outbox", metavar="PATH", help="the outbox database (default: config)")
    report.add_argument(
        "--audit-log", metavar="PATH", help="the audit log (default: <state_dir>/audit.jsonl)"
    )
    report.add_argument("--from", dest="start", metavar="DATE", help="first day (included)")
    report.add_argument("--to", dest="end", metavar="DATE", help="end (excluded)")
    report.add_argument(
        "--tz", default="UTC", metavar="ZONE", help="time zone of dates and of the report (UTC)"
    )
    report.add_argument(
        "--camera", action="append", default=[], metavar="ID", help="only this camera (repeat)"
    )
    report.add_argument("--format", choices=("md", "json", "html"), default="md")
    report.add_argument("--output", "-o", metavar="FILE", help="write here (default: stdout)")
    report.add_argument("--key-file", metavar="F", help="the signing key file")
    report.add_argument("--key-env", metavar="VAR", help="the variable holding the signing key")


def _key(args: argparse.Namespace, config: config_mod.Config | None) -> bytes | None:
    """The signing key: ``--key-file`` / ``--key-env``, else the configuration's audit key."""
    if args.key_file is None and args.key_env is None:
        return _audit_key(config)
    return read_key(key_file=args.key_file, key_env=args.key_env)


def _audit_key(config: config_mod.Config | None) -> bytes | None:
    if config is None:
        return None
    return read_key(key_file=config.audit.key_file, key_env=config.audit.key_env)


def report_command(args: argparse.Namespace) -> int:
    """Run ``report`` or ``report verify`` (see the module docstring for exit codes)."""
    config = config_mod.load(args.config) if args.config is not None else None
    try:
        key = _key(args, config)
    except (OSError, ValueError) as exc:
        print(f"error: signing key: {exc}", file=sys.stderr)
        return 2
    if key is None:
        print(
            "error: no signing key: give --key-file or --key-env, or audit.key_file / "
            "audit.key_env in the configuration",
            file=sys.stderr,
        )
        return 2
    if args.verify:
        if len(args.verify) != 2 or args.verify[0] != "verify":
            print("error: expected 'report verify FILE'", file=sys.stderr)
            return 2
        return _verify(args.verify[1], key)
    return _report(args, config, key)


def _verify(path: str, key: bytes) -> int:
    from vsa_stream.report.sign import check

    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {path}: {exc}", file=sys.stderr)
        return 1
    result = check(text, key)
    if result.ok:
        print(f"{path}: ok (signed {result.format} report, intact)")
        return 0
    print(f"{path}: {result.failure}: {result.reason}", file=sys.stderr)
    return result.exit_code


def _report(args: argparse.Namespace, config: config_mod.Config | None, key: bytes) -> int:
    from vsa_stream.authorisation import period
    from vsa_stream.outbox import Outbox
    from vsa_stream.report.compute import build_report, runs_from_audit
    from vsa_stream.report.inputs import (
        authorisations_from,
        camera_situations,
        parse_instant,
        read_audit,
    )
    from vsa_stream.report.render import to_dict, to_html, to_markdown
    from vsa_stream.report.sign import sign_json, sign_text

    if args.start is None or args.end is None:
        print("error: report needs --from and --to", file=sys.stderr)
        return 2
    try:
        tz = ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError):
        print(f"error: --tz: unknown time zone {args.tz!r}", file=sys.stderr)
        return 2
    try:
        window = (parse_instant(args.start, tz), parse_instant(args.end, tz))
    except ValueError as exc:
        print(f"error: --from/--to: {exc}", file=sys.stderr)
        return 2
    if window[1] <= window[0]:
        print("error: --to must come after --from", file=sys.stderr)
        return 2
    if config is not None:
        unknown = sorted(set(args.camera) - {c.id for c in config.cameras})
        if unknown:
            print(
                f"error: --camera: no camera {unknown[0]!r} in the configuration", file=sys.stderr
            )
            return 2
    outbox_path = args.outbox or (config.outbox_path() if config is not None else None)
    if outbox_path is None:
        print("error: give --config or --outbox", file=sys.stderr)
        return 2
    if not os.path.exists(outbox_path):
        print(f"error: no outbox at {outbox_path}", file=sys.stderr)
        return 1
    audit_path = args.audit_log or (
        os.path.join(config.state_dir, "audit.jsonl") if config is not None else None
    )
    # The audit log is checked with its own key (the report may be signed with another).
    try:
        audit_key = _audit_key(config) or key
    except (OSError, ValueError):
        audit_key = key
    try:
        box = Outbox(outbox_path)
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        facts = box.facts(*window)
        anchor = box.audit_head()
    finally:
        box.close()
    now = time.time()
    entries: list[dict[str, Any]] = []
    audit = None
    if audit_path is not None:
        try:
            entries, audit = read_audit(audit_path, key=audit_key, anchor=anchor)
        except OSError as exc:
            print(f"error: cannot read the audit log {audit_path}: {exc}", file=sys.stderr)
            return 1
    # The configuration's authorisations, each period resolved in its own time zone (a date
    # alone: its midnight; an end date: the whole day).
    declared = list(config.authorisations) if config is not None else []
    try:
        authorisations = authorisations_from(
            {
                "reference": a.reference,
                "start": period(a)[0],
                "end": period(a)[1],
                "cameras": a.cameras,
                "situations": a.situations,
            }
            for a in declared
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    source = "configuration" if declared else "this configuration has none"
    report = build_report(
        facts,
        window=window,
        now=now,
        tz=tz,
        cameras=[c.id for c in config.cameras if c.enabled] if config is not None else (),
        situations=camera_situations(config) if config is not None else None,
        only_cameras=args.camera,
        runs=runs_from_audit(entries, now) if audit is not None else None,
        authorisations=authorisations,
        authorisations_source=source,
        audit=audit,
        legal_profile=config.privacy.legal_profile if config is not None else None,
    )
    if args.format == "json":
        text = sign_json(to_dict(report), key) + "\n"
    elif args.format == "html":
        text = sign_text(to_html(report), "html", key)
    else:
        text = sign_text(to_markdown(report), "md", key)
    if args.output is None:
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"report written to {args.output} ({args.format}, signed)", file=sys.stderr)
    return 0
