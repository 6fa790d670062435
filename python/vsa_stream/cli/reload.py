"""``vsa-stream reload CONFIG``: make the running daemon load its configuration again.

The command reaches the daemon the way ``systemctl reload`` does, through a signal: it checks
CONFIG first (an invalid file is reported here, with its field, and nothing is sent), finds
the daemon's process id in ``<state_dir>/daemon.pid``, leaves a request naming the user who
asks in ``<state_dir>/reload-request.json``, sends SIGHUP, and waits for the daemon's report in
``<state_dir>/reload.json``. The state folder is private to the daemon's user (``0700``), so
only that user (or root) can ask. No token is needed and the HTTP API need not be enabled;
``POST /api/config/reload`` does the same over the API, for an operator token.

Exit status: 0 reloaded, 2 rejected (invalid configuration: nothing changed), 1 no daemon or
no answer in time.
"""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import sys
import time
import uuid
from typing import Any

import msgspec

from vsa_stream import config as config_mod
from vsa_stream.daemon import (
    ReloadRequest,
    ReloadResult,
    pid_path,
    reload_request_path,
    reload_result_path,
)
from vsa_stream.private import private_file
from vsa_stream.reload import ReloadReport

__all__ = ["add_reload_command", "reload_command"]


def add_reload_command(sub: Any) -> None:
    """Add ``reload`` to the command line's subparsers."""
    reload = sub.add_parser("reload", help="make the running daemon load its configuration again")
    reload.add_argument("config", metavar="CONFIG", help="the daemon's configuration file")
    reload.add_argument(
        "--timeout", type=float, default=60.0, metavar="S", help="wait this long for the answer"
    )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _daemon_pid(config: config_mod.Config) -> int | None:
    try:
        with open(pid_path(config), encoding="ascii") as file:
            pid = int(file.read().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _print(report: ReloadReport) -> None:
    if not report.ok:
        print(f"error: reload rejected, nothing changed: {report.error}", file=sys.stderr)
        return
    changes = [
        f"{what}: {', '.join(ids)}"
        for what, ids in (
            ("started", report.started),
            ("stopped", report.stopped),
            ("restarted", report.restarted),
            ("rules swapped", report.rules_swapped),
            ("sinks added", report.sinks_added),
            ("sinks removed", report.sinks_removed),
            ("sinks rebuilt", report.sinks_rebuilt),
        )
        if ids
    ]
    print("reloaded: " + ("; ".join(changes) if changes else "nothing changed"))
    if report.restart_required:
        print(
            "warning: kept as they run, a restart changes them: "
            + ", ".join(report.restart_required),
            file=sys.stderr,
        )
    if report.error:
        print(f"error: {report.error}", file=sys.stderr)


def reload_command(args: argparse.Namespace) -> int:
    """Run ``reload`` (see the module docstring); a ConfigError goes to the caller (exit 2)."""
    config = config_mod.load(args.config)  # an invalid file: reported here, nothing sent
    pid = _daemon_pid(config)
    if pid is None:
        print(
            f"error: no running daemon with the state folder {config.state_dir} "
            f"({pid_path(config)} missing or stale)",
            file=sys.stderr,
        )
        return 1
    request = ReloadRequest(id=str(uuid.uuid4()), actor=f"cli:{_user()}")
    path = reload_request_path(config)
    asked = time.time()
    try:
        private_file(path)
        with open(path, "wb") as file:
            file.write(msgspec.json.encode(request))
    except OSError as exc:  # another user's state folder (root): the signal still works
        print(f"warning: {exc}: the audit log will name the signal, not you", file=sys.stderr)
        request = ReloadRequest(id="", actor="")
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            with open(reload_result_path(config), "rb") as file:
                result = msgspec.json.decode(file.read(), type=ReloadResult)
        except (OSError, msgspec.DecodeError):
            result = None
        mine = result is not None and (
            result.request == request.id if request.id else result.at >= asked
        )
        if result is not None and mine:
            _print(result.report)
            return 0 if result.report.ok else 2
        time.sleep(0.1)
    print(
        f"error: the daemon (pid {pid}) did not answer within {args.timeout:g} s", file=sys.stderr
    )
    return 1
