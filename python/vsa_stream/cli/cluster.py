"""``vsa-stream run --cluster`` and ``vsa-stream cluster ...`` (see ``docs/cluster.md``)."""

from __future__ import annotations

import argparse
import os
import re
import socket
import sys
from typing import TYPE_CHECKING

import anyio
import msgspec

from vsa_stream import config as config_mod
from vsa_stream.config import Config
from vsa_stream.errors import ConfigError
from vsa_stream.outbox import Outbox
from vsa_stream.private import private_dir
from vsa_stream.sinks import build_sinks

if TYPE_CHECKING:
    from vsa_stream.cluster.store import ClusterOptions
    from vsa_stream.sinks.base import Sink

__all__ = ["add_cluster_commands", "add_run_options", "cluster_command", "run_cluster"]

_DEFAULT_URL = "nats://127.0.0.1:4222"
_NODE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def _servers(text: str | None) -> list[str]:
    text = text or os.environ.get("VSA_CLUSTER") or _DEFAULT_URL
    return [s.strip() for s in text.split(",") if s.strip()]


def add_run_options(run: argparse.ArgumentParser) -> None:
    """The cluster options of ``vsa-stream run``."""
    run.add_argument(
        "--cluster",
        metavar="URLS",
        help="join a cluster on NATS JetStream (comma-separated nats:// URLs); the cameras "
        "come from the cluster (vsa-stream cluster apply), CONFIG gives sinks and state",
    )
    run.add_argument("--node-id", metavar="ID", help="this daemon's id (default: host name)")
    run.add_argument(
        "--console",
        action="store_true",
        help="run the fleet's console instead of cameras: HTTP API, event stream, operator "
        "page, reviews and audit log for every node (CONFIG gives server, audit, sinks)",
    )
    run.add_argument(
        "--capacity", type=int, default=32, metavar="N", help="cameras this daemon may run (32)"
    )
    run.add_argument(
        "--ttl",
        type=float,
        default=5.0,
        metavar="S",
        help="lease TTL, seconds (default 5): a daemon silent this long loses its cameras",
    )


def add_cluster_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``vsa-stream cluster status | apply | drain``."""
    cluster = sub.add_parser("cluster", help="cluster mode on NATS JetStream: status, apply, drain")
    actions = cluster.add_subparsers(dest="cluster_command", required=True, metavar="ACTION")
    for name, text in (
        ("status", "nodes, cameras per node, leader, lag"),
        ("apply", "write the cameras and analysis settings of CONFIG to the fleet"),
        ("drain", "move every camera off NODE (--undo: take cameras again)"),
        ("audit", "write a console's audit log from the replicated AUDIT stream (to verify it)"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument(
            "--cluster", metavar="URLS", help=f"NATS URLs (default: $VSA_CLUSTER, {_DEFAULT_URL})"
        )
        if name == "apply":
            action.add_argument("config", metavar="CONFIG")
        if name == "drain":
            action.add_argument("node", metavar="NODE")
            action.add_argument("--undo", action="store_true", help="clear the drain mark")
        if name == "status":
            action.add_argument("--json", action="store_true", help="machine-readable")
        if name == "audit":
            action.add_argument("console", metavar="CONSOLE", help="the console's --node-id")
            action.add_argument("--out", metavar="FILE", required=True, help="the log to write")


def _options(args: argparse.Namespace, node_id: str = "cli") -> ClusterOptions:
    from vsa_stream.cluster.store import ClusterOptions

    return ClusterOptions(servers=_servers(args.cluster), node_id=node_id)


def _local_config(args: argparse.Namespace, node_id: str) -> Config:
    """The daemon's own configuration: sinks, outbox, state_dir, logging; no cameras (they
    come from the cluster). Without CONFIG: no sink but ``ALERTS``, state in
    ``./vsa-state-<node>``."""
    if args.config is None:
        config = config_mod.loads("sinks: {}", cluster_node=True)
        return msgspec.structs.replace(config, state_dir=f"vsa-state-{node_id}")
    return config_mod.load(args.config, cluster_node=True)


def run_cluster(args: argparse.Namespace, logging: object) -> int:
    """``vsa-stream run --cluster URLS [CONFIG]``.

    Raises:
        ConfigError: a sink that cannot be opened, or a state folder another daemon holds.
    """
    node_id = args.node_id or socket.gethostname()
    if not _NODE_ID.fullmatch(node_id):
        print(f"error: --node-id {node_id!r}: letters, digits, _ and -", file=sys.stderr)
        return 2
    if args.capacity < 0 or not 1.0 <= args.ttl <= 600.0:
        print("error: --capacity must be >= 0 and --ttl within 1..600 s", file=sys.stderr)
        return 2
    config = _local_config(args, node_id)
    if callable(logging):
        logging(args, config)
    try:
        sinks = build_sinks(config.sinks, config.state_dir)
    except OSError as exc:
        raise ConfigError(f"cannot open: {exc}", path="sinks.jsonl.path") from None
    from vsa_stream.daemon import lock_state_dir

    try:
        private_dir(config.state_dir)  # 0700: it holds alerts (and a console's audit log)
        lock = lock_state_dir(config)  # a node's outbox and audit chain are its own
    except OSError as exc:
        raise ConfigError(str(exc), path="state_dir") from None
    try:
        return _serve(args, config, sinks, node_id)
    finally:
        os.close(lock)


def _serve(args: argparse.Namespace, config: Config, sinks: list[Sink], node_id: str) -> int:
    """The node (or console) on its locked state folder, until it stops."""
    from vsa_stream.cluster.daemon import serve
    from vsa_stream.cluster.store import ClusterOptions

    outbox = Outbox(config.outbox_path(), synchronous=config.outbox.synchronous)
    options = ClusterOptions(
        servers=_servers(args.cluster),
        node_id=node_id,
        capacity=args.capacity,
        ttl_s=args.ttl,
        margin_s=min(1.5, args.ttl / 3),
    )
    from vsa_stream.cluster.node import NodeIdInUseError

    try:
        if args.console:
            from vsa_stream.cluster.console import Console

            anyio.run(Console(config, sinks, outbox, options).run)
        else:
            anyio.run(serve, config, sinks, outbox, options)
    except NodeIdInUseError as exc:
        print(f"error: --node-id: {exc}", file=sys.stderr)
        return 1
    except (OSError, TimeoutError) as exc:
        print(f"error: cluster {options.servers}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        outbox.close()
    return 0


def cluster_command(args: argparse.Namespace) -> int:
    """``vsa-stream cluster status | apply | drain``."""
    from vsa_stream.cluster import admin

    options = _options(args)
    action = args.cluster_command
    try:
        if action == "status":
            status = anyio.run(admin.status, options)
            if args.json:
                body = {
                    "leader": status.leader,
                    "nodes": status.nodes,
                    "assignments": status.assignments,
                    "cameras": status.cameras,
                    "not_running": status.unassigned(),
                    "draining": sorted(status.draining),
                    "alerts": {
                        "messages": status.alerts_messages,
                        "leader": status.alerts_leader,
                        "replicas": status.alerts_replicas,
                    },
                }
                sys.stdout.buffer.write(msgspec.json.encode(body) + b"\n")
            else:
                print(status.render())
            return 0
        if action == "apply":
            config = config_mod.load(args.config)
            result = anyio.run(admin.apply, options, config)
            print(
                f"{args.config}: {len(result.added)} added, {len(result.changed)} changed, "
                f"{len(result.removed)} removed"
                + (", analysis settings changed" if result.shared_changed else ""),
                file=sys.stderr,
            )
            return 0
        if action == "audit":
            from pathlib import Path

            from vsa_stream.cluster.audit_stream import export_audit

            try:
                count = anyio.run(export_audit, options, args.console, Path(args.out))
            except LookupError:
                print(f"error: no audit entry of console {args.console!r}", file=sys.stderr)
                return 1
            print(f"{args.out}: {count} entries written", file=sys.stderr)
            return 0
        if action == "drain":
            anyio.run(lambda: admin.drain(options, args.node, undo=args.undo))
            print(f"{args.node}: {'drain cleared' if args.undo else 'draining'}", file=sys.stderr)
            return 0
    except (OSError, TimeoutError) as exc:
        print(f"error: cluster {options.servers}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    raise AssertionError(f"unhandled cluster action {action}")  # pragma: no cover
