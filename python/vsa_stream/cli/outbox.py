"""``vsa-stream outbox dead | redrive``: the dead letters of the outbox, for an operator.

A revision whose every delivery attempt to a sink failed (the retry schedule ran out) is kept
in the outbox as a *dead letter*. ``dead`` lists them; ``redrive`` re-queues them with a fresh
retry schedule, and a running daemon sends them within a second (the outbox is a SQLite
database in WAL mode: this command and the daemon may use it at once).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from vsa_stream import config as config_mod
from vsa_stream.outbox import Outbox

__all__ = ["add_outbox_commands", "outbox_command"]


def add_outbox_commands(sub: Any) -> None:
    """Add ``outbox dead`` and ``outbox redrive`` to the command line's subparsers."""
    outbox = sub.add_parser("outbox", help="dead letters of the outbox: list, re-queue")
    actions = outbox.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    dead = actions.add_parser("dead", help="list the revisions every attempt failed to deliver")
    redrive = actions.add_parser("redrive", help="re-queue the dead letters for delivery")
    for action in (dead, redrive):
        where = action.add_mutually_exclusive_group(required=True)
        where.add_argument("config", nargs="?", metavar="CONFIG", help="the daemon's config")
        where.add_argument("--outbox", metavar="PATH", help="the outbox database instead")
        action.add_argument("--sink", metavar="NAME", help="only this sink (default: all)")
    dead.add_argument("--json", action="store_true", help="one JSON object per line")


def _path(args: argparse.Namespace) -> str:
    if args.outbox is not None:
        return str(args.outbox)
    return config_mod.load(args.config).outbox_path()


def outbox_command(args: argparse.Namespace) -> int:
    """Run ``outbox dead`` or ``outbox redrive``; exit 0, 1 when the outbox cannot be read, 2
    for an invalid configuration (ConfigError, reported by the caller)."""
    path = _path(args)
    if not os.path.exists(path):
        print(f"error: no outbox at {path}", file=sys.stderr)
        return 1
    try:
        outbox = Outbox(path)
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        if args.outbox_command == "redrive":
            count = outbox.redrive(args.sink)
            print(f"{count} dead letters re-queued" + (f" for {args.sink}" if args.sink else ""))
            return 0
        letters = outbox.dead_letters(args.sink)
        for d in letters:
            if args.json:
                print(json.dumps({
                    "sink": d.sink, "seq": d.seq, "event_id": d.event_id,
                    "revision": d.revision, "type": d.type, "camera_id": d.camera_id,
                    "attempts": d.attempts, "last_error": d.last_error,
                }))  # fmt: skip
            else:
                print(
                    f"{d.sink}\t{d.event_id}-{d.revision}\t{d.type}\t{d.camera_id}\t"
                    f"{d.attempts} attempts\t{d.last_error}"
                )
        if not args.json:
            print(f"{len(letters)} dead letters", file=sys.stderr)
        return 0
    finally:
        outbox.close()
