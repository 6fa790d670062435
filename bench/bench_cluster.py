"""Cluster control plane: assignment balance and cost, KV reads, alert publishing.

Rows, each beside its anchor in the same run:

* ``assign``: :func:`~vsa_stream.cluster.assign` of N cameras over K nodes (rendezvous hashing
  with capacity): milliseconds per full computation (the assigner does one per round), the
  largest node's load over the mean, and the share of cameras that move when one node is lost
  (ideal: 1/K). Anchor: ``hash mod K`` (as fast as it gets, but moves almost every camera).
* ``read``: reading N assignments from a real ``nats-server`` (started here, one server) as a
  worker does each round (:func:`~vsa_stream.cluster.store.read_all`, one ordered consumer).
  Anchor: N ``kv.get`` calls, one request each.
* ``publish``: N revisions through :class:`~vsa_stream.cluster.alerts.AlertStreamSink` (one at
  a time, each acknowledged by JetStream, with ``Nats-Msg-Id``). Anchor: bare ``js.publish`` of
  the same bodies, no headers.

Only ratios measured side by side mean something on a shared machine. Prints a Markdown table
and writes ``bench/results/cluster.json``. Needs ``nats-server`` (Debian package) for the
``read`` and ``publish`` rows.

``--scale`` runs the control-plane benchmark instead: real ``nats-server`` processes (a 3-server
JetStream cluster, ``--servers 1`` for one), ``--daemons`` real ``vsa-stream run --cluster``
processes and ``--scale-cameras`` lightweight cameras (``replay://`` sources: recorded
MOTChallenge detections through the tracker and an intrusion rule at ``--fps``, no decoding),
applied with ``vsa-stream cluster apply``. It measures the time until every camera runs, the
cameras per node, the revisions stored in ``ALERTS`` during ``--window`` seconds (and their
latency, stream time minus the revision's time), the RSS and CPU of every server and daemon,
then ``kill -9`` of one daemon that is not the assigner: the time until every one of its
cameras is reported running (analysed frames) by a survivor, and until the whole fleet runs
again. From the daemons' logs it counts camera starts, moves written by the assigner, fencings
and leader elections (``--keep-logs`` copies the logs to ``bench/results/``). Writes a Markdown
table and ``bench/results/cluster_scale.json``.

Usage: ``python bench/bench_cluster.py [--quick] [--cameras N] [--nodes K]`` or
``python bench/bench_cluster.py --scale [--scale-cameras 1000] [--daemons 5] [--det PATH]``
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import msgspec
from nats.js.api import DeliverPolicy

from vsa_stream import __version__
from vsa_stream.cli.loadgen import synthetic_event
from vsa_stream.cluster import assign
from vsa_stream.cluster.alerts import AlertStreamSink
from vsa_stream.cluster.store import (
    Assignment,
    ClusterOptions,
    ClusterStore,
    connect,
    encode,
    read_all,
)
from vsa_stream.sources.replay import DetectionReplay

RESULTS = Path(__file__).resolve().parent / "results"
PYTHON_SRC = Path(__file__).resolve().parent.parent / "python"
DEFAULT_DET = Path(__file__).resolve().parent.parent.parent / "shared/data/mot/PETS09-S2L1/det.txt"


def _mod_assign(cameras: list[str], nodes: list[str]) -> dict[str, str]:
    k = len(nodes)
    return {
        c: nodes[int.from_bytes(hashlib.blake2b(c.encode(), digest_size=8).digest()) % k]
        for c in cameras
    }


def bench_assign(n: int, k: int) -> dict[str, float]:
    cameras = [f"cam-{i:05d}" for i in range(n)]
    nodes = {f"node-{j:02d}": n for j in range(k)}
    names = sorted(nodes)
    started = time.perf_counter()
    placed = assign(cameras, nodes)
    ours_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    anchor = _mod_assign(cameras, names)
    anchor_ms = (time.perf_counter() - started) * 1000
    load = Counter(placed.values())
    lost = names[0]
    after = assign(cameras, {m: c for m, c in nodes.items() if m != lost})
    moved = sum(1 for c in cameras if placed[c] != after[c]) / n
    anchor_after = _mod_assign(cameras, names[1:])
    anchor_moved = sum(1 for c in cameras if anchor[c] != anchor_after[c]) / n
    return {
        "cameras": n,
        "nodes": k,
        "ms": ours_ms,
        "anchor_ms": anchor_ms,
        "max_over_mean": max(load.values()) / (n / k),
        "moved_on_loss": moved,
        "anchor_moved_on_loss": anchor_moved,
        "ideal_moved": 1 / k,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def bench_nats(url: str, n: int, rounds: int) -> dict[str, float]:
    nc = await connect([url], name="bench")
    store = await ClusterStore(nc, ClusterOptions(servers=[url], node_id="bench")).open()
    for i in range(n):
        await store.assign.put(f"cam.cam-{i:05d}", encode(Assignment(node="n1", epoch=1)))
    read_s: list[float] = []
    get_s: list[float] = []
    for _ in range(rounds):
        started = time.perf_counter()
        found = await read_all(store.assign, "cam.")
        read_s.append(time.perf_counter() - started)
        assert len(found) == n
        started = time.perf_counter()
        for i in range(n):
            await store.assign.get(f"cam.cam-{i:05d}")
        get_s.append(time.perf_counter() - started)
    sink = AlertStreamSink(store, "bench", lambda _: 1)
    pub_s: list[float] = []
    bare_s: list[float] = []
    for r in range(rounds):
        events = [synthetic_event(r + 1, i) for i in range(n)]  # new ids: no de-duplication
        started = time.perf_counter()
        for event in events:
            await sink.send(event)
        pub_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        for event in events:
            await store.js.publish("vsa.alerts.bench.intrusion", msgspec.json.encode(event))
        bare_s.append(time.perf_counter() - started)
    await nc.close()
    return {
        "read_ms": min(read_s) * 1000,
        "get_ms": min(get_s) * 1000,
        "publish_per_s": n / min(pub_s),
        "bare_publish_per_s": n / min(bare_s),
    }


# --- --scale: real servers, real daemons, replayed cameras ------------------------------------


def _wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s, contextlib.suppress(OSError):
            s.connect(("127.0.0.1", port))
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


def _start_servers(server: str, folder: Path, size: int) -> list[subprocess.Popen[bytes]]:
    ports = [_free_port() for _ in range(size)]
    routes = [_free_port() for _ in range(size)]
    monitors = [_free_port() for _ in range(size)]
    procs = []
    for i in range(size):
        store = folder / f"n{i}"
        store.mkdir(parents=True)
        command = [server, "-a", "127.0.0.1", "-p", str(ports[i]), "-n", f"n{i}", "-js"]
        command += ["-m", str(monitors[i])]
        command += ["-sd", str(store)]
        if size > 1:
            others = ",".join(f"nats://127.0.0.1:{p}" for j, p in enumerate(routes) if j != i)
            command += ["--cluster_name", "vsa-bench", "--cluster"]
            command += [f"nats://127.0.0.1:{routes[i]}", "--routes", others]
        with open(folder / f"n{i}.log", "ab") as log:
            procs.append(subprocess.Popen(command, stdout=log, stderr=log))
    for port in ports:
        _wait_port(port)
    procs_urls = ",".join(f"nats://127.0.0.1:{p}" for p in ports)
    (folder / "urls").write_text(procs_urls)
    (folder / "monitors").write_text(",".join(map(str, monitors)))
    return procs


def _fleet_yaml(det: Path, cameras: int, fps: float) -> str:
    frames = len(DetectionReplay.open(f"replay://{det}").frames)
    lines = ["privacy: {legal_profile: lab}", "cameras:"]
    for i in range(cameras):
        start = 1 + (i * 37) % frames  # spread: cameras replay different moments
        lines.append(
            f"  - {{id: cam-{i:05d}, url: {json.dumps(f'replay://{det}')}, fps: {fps}, "
            f"loop: true, options: {{start: '{start}'}}, "
            "zones: [{id: z, polygon: [[0.55, 0.35], [0.8, 0.35], [0.8, 0.75], [0.55, 0.75]]}], "
            "rules: [{type: intrusion, zones: [z]}]}"
        )
    return "\n".join(lines) + "\n"


def _proc_figures(pid: int) -> tuple[float, float]:
    """RSS in MiB and CPU seconds (user + system) of a process."""
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return rss, cpu


def _vsa(*args: str, log: Path, src: Path = PYTHON_SRC) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(src))
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "vsa_stream", "--log-format", "json", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )


async def _running(store: ClusterStore) -> dict[str, dict[str, int]]:
    """Cameras each node reports running (analysed at least one frame), by node."""
    return {
        n: {c: r.epoch for c, r in rec.cameras.items() if r.analysed > 0}
        for n, rec in (await store.nodes(cameras=True)).items()
    }


def _messages(monitors: list[int]) -> tuple[dict[str, int], int]:
    """Messages (in + out, as the servers count them) of each daemon's connections, by node id,
    and of the servers in all (clients and routes)."""
    by_node: Counter[str] = Counter()
    total = 0
    for port in monitors:
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/connz?limit=4096", timeout=5) as reply:
            for conn in json.loads(reply.read())["connections"]:
                name = str(conn.get("name") or "")
                if name.startswith("vsa-stream "):  # "vsa-stream d0", "vsa-stream nodes.d0 lease"
                    node = name.split()[1].removeprefix("nodes.")
                    by_node[node] += int(conn["in_msgs"]) + int(conn["out_msgs"])
        with urllib.request.urlopen(f"{base}/varz", timeout=5) as reply:
            varz = json.loads(reply.read())
            total += int(varz["in_msgs"]) + int(varz["out_msgs"])
    return dict(by_node), total


async def _scale_run(
    urls: str,
    daemons: dict[str, subprocess.Popen[bytes]],
    servers: list[int],
    monitors: list[int],
    args: Any,
) -> dict[str, Any]:
    nc = await connect(urls.split(","), name="bench-scale")
    store = await ClusterStore(nc, ClusterOptions(servers=urls.split(","), node_id="b")).open()
    n = args.scale_cameras
    result: dict[str, Any] = {}
    started = time.monotonic()
    while True:  # every camera running somewhere
        running = await _running(store)
        total = sum(len(c) for c in running.values())
        if total >= n:
            break
        if time.monotonic() - started > args.startup_timeout:
            raise TimeoutError(f"{total} of {n} cameras running after {args.startup_timeout} s")
        await anyio.sleep(0.5)
    result["all_running_s"] = time.monotonic() - started
    result["per_node"] = {k: len(v) for k, v in sorted(running.items())}
    result["leader"] = await store.leader()
    # Steady state: every revision stored in ALERTS during the window, and process figures.
    received: list[tuple[float, float, str]] = []
    publishers: Counter[str] = Counter()

    async def on_message(msg: Any) -> None:
        event = msgspec.json.decode(msg.data)
        stored = msg.metadata.timestamp
        stored_s = stored.timestamp() if isinstance(stored, datetime) else float(stored)
        received.append((stored_s, float(event["updated_at"]), msg.header["Nats-Msg-Id"]))
        publishers[msg.header.get("Vsa-Node", "")] += 1

    sub = await store.js.subscribe(
        "vsa.alerts.>", cb=on_message, ordered_consumer=True, deliver_policy=DeliverPolicy.NEW
    )
    pids = {f"nats-server {i}": p for i, p in enumerate(servers)}
    pids |= {name: p.pid for name, p in daemons.items()}
    for name, proc in daemons.items():  # each daemon's lease process
        with contextlib.suppress(OSError):
            # A /proc read of a few bytes, once, before the measured window.
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()  # noqa: ASYNC240
            pids |= {f"{name} lease": int(c) for c in children}
    before = {name: _proc_figures(pid) for name, pid in pids.items()}
    messages_before = _messages(monitors)
    t0 = time.monotonic()
    rounds: list[float] = []
    some_node = sorted(daemons)[0]
    while time.monotonic() - t0 < args.window - 2:
        begun = time.perf_counter()  # what a worker of the new layout reads each round
        await store.node_assignments(some_node)
        await store.fleet_revision()
        rounds.append(time.perf_counter() - begun)
        await anyio.sleep(5.0)
    await anyio.sleep(max(0.0, args.window - (time.monotonic() - t0)))
    window = time.monotonic() - t0
    messages_after = _messages(monitors)
    after = {name: _proc_figures(pid) for name, pid in pids.items()}
    await sub.unsubscribe()
    latencies = sorted(max(0.0, s - u) for s, u, _ in received)
    result["worker_round_read_ms"] = sorted(rounds)[len(rounds) // 2] * 1000
    per_daemon = {
        d: (messages_after[0].get(d, 0) - messages_before[0].get(d, 0)) / window for d in daemons
    }
    result["messages_per_s"] = per_daemon
    # Each revision published is one message in and its acknowledgement one out.
    result["control_messages_per_s"] = {
        d: per_daemon[d] - 2 * publishers.get(d, 0) / window for d in daemons
    }
    result["server_messages_per_s"] = (messages_after[1] - messages_before[1]) / window
    records = await store.nodes()
    result["renew_ms"] = {
        d: (rec.renew_ms_p99, rec.renew_ms_max) for d, rec in sorted(records.items())
    }
    result["window_s"] = window
    result["revisions"] = len(received)
    result["duplicates"] = len(received) - len({m for _, _, m in received})
    result["revisions_per_s"] = len(received) / window
    result["latency_p50_s"] = latencies[len(latencies) // 2] if latencies else None
    result["latency_p99_s"] = latencies[int(len(latencies) * 0.99)] if latencies else None
    result["processes"] = {
        name: {"rss_mib": after[name][0], "cpu_share": (after[name][1] - before[name][1]) / window}
        for name in pids
    }
    # Cameras that changed node or epoch during the steady window (expected: none).
    settled = running
    running = await _running(store)
    result["moved_during_window"] = sum(
        1
        for node, cams in settled.items()
        for c, epoch in cams.items()
        if running.get(node, {}).get(c) != epoch
    )
    # Takeover: kill -9 a daemon that is not the assigner.
    result["leader"] = await store.leader()
    victim = next(d for d in sorted(daemons) if d != result["leader"])
    lost = set(running[victim])
    killed = time.monotonic()
    daemons[victim].send_signal(signal.SIGKILL)
    daemons[victim].wait(10)
    expired = first = done = None
    while True:
        now_running = await _running(store)
        if expired is None and victim not in now_running:
            expired = time.monotonic() - killed
        back = {c for node, cams in now_running.items() if node != victim for c in cams} & lost
        if back and first is None:
            first = time.monotonic() - killed
        if back == lost and done is None:
            done = time.monotonic() - killed
        if done is not None and sum(len(c) for c in now_running.values()) >= n:
            break
        if time.monotonic() - killed > 120:
            raise TimeoutError(f"{len(lost - back)} cameras of {victim} not running after 120 s")
        if time.monotonic() - killed > 60 and done is not None:
            break  # the survivors' own moves did not settle: reported as not all running
        await anyio.sleep(0.1)
    fleet_running_s = time.monotonic() - killed
    await anyio.sleep(5.0)  # moves that come late (a fencing) count too
    now_running = await _running(store)
    result["takeover"] = {
        "node": victim,
        "cameras": len(lost),
        "lease_gone_s": expired,
        "first_running_s": first,
        "all_running_s": done,
        "fleet_running_s": fleet_running_s,
        "fleet_running": sum(len(c) for c in now_running.values()),
        # Cameras that were not the lost node's but changed node (capacity made them move).
        "moved_between_survivors": sum(
            1
            for node, cams in running.items()
            if node != victim
            for c, epoch in cams.items()
            if any(c in o and o[c] != epoch for o in now_running.values())
            or not any(c in o for o in now_running.values())
        ),
    }
    result["per_node_after"] = {k: len(v) for k, v in sorted(now_running.items())}
    records = await store.nodes()
    result["renew_ms_after"] = {
        d: (rec.renew_ms_p99, rec.renew_ms_max) for d, rec in sorted(records.items())
    }
    result["fenced_after"] = {d: rec.fenced for d, rec in sorted(records.items())}
    result["rss_after_mib"] = {
        name: _proc_figures(pid)[0] for name, pid in pids.items() if name.split()[0] != victim
    }
    await nc.close()
    return result


def bench_scale(args: Any) -> dict[str, Any]:
    server = shutil.which("nats-server")
    det = Path(args.det)
    if server is None or not det.is_file():
        raise SystemExit(f"--scale needs nats-server and a detection file ({det})")
    with tempfile.TemporaryDirectory(prefix="vsa-scale-") as tmp:
        folder = Path(tmp)
        servers = _start_servers(server, folder, args.servers)
        urls = (folder / "urls").read_text()
        monitors = [int(p) for p in (folder / "monitors").read_text().split(",")]
        src = Path(args.python_src)
        daemons: dict[str, subprocess.Popen[bytes]] = {}
        try:
            fleet = folder / "fleet.yaml"
            fleet.write_text(_fleet_yaml(det, args.scale_cameras, args.fps))
            apply = _vsa(
                "cluster", "apply", str(fleet), "--cluster", urls, log=folder / "a.log", src=src
            )
            if apply.wait(120) != 0:
                raise SystemExit((folder / "a.log").read_text()[-2000:])
            # Room after one loss, with --headroom: a loss moves only the lost node's cameras.
            capacity = math.ceil(args.scale_cameras / (args.daemons - 1) * (1 + args.headroom))
            for k in range(args.daemons):
                node = folder / f"d{k}"
                node.mkdir()
                (node / "node.yaml").write_text(
                    f"state_dir: {node / 'state'}\noutbox: {{synchronous: normal}}\n"
                )
                daemons[f"d{k}"] = _vsa(
                    "run", str(node / "node.yaml"), "--cluster", urls, "--node-id", f"d{k}",
                    "--capacity", str(capacity), log=node / "daemon.log", src=src,
                )  # fmt: skip
            result = anyio.run(_scale_run, urls, daemons, [p.pid for p in servers], monitors, args)
        finally:
            for proc in daemons.values():
                if proc.poll() is None:
                    proc.terminate()
            for proc in daemons.values():
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            for proc in servers:
                proc.terminate()
                proc.wait(10)
            logs = {d: (folder / d / "daemon.log") for d in daemons}
            counts = {d: _log_counts(path) for d, path in logs.items() if path.exists()}
            if args.keep_logs:
                kept = RESULTS / "cluster_scale_logs"
                shutil.rmtree(kept, ignore_errors=True)
                kept.mkdir(parents=True)
                for d, path in logs.items():
                    if path.exists():
                        shutil.copy(path, kept / f"{d}.log")
    result |= {
        "cameras": args.scale_cameras,
        "daemons": args.daemons,
        "servers": args.servers,
        "fps": args.fps,
        "capacity": capacity,
        "headroom": args.headroom,
        "python_src": str(args.python_src),
        "load_average": os.getloadavg(),
        "log_counts": counts,
    }
    return result


# Daemon log messages counted over the whole run (JSON logs: "event": "<message>").
_COUNTED = {
    "camera started": "camera started",
    "camera assigned": "camera assigned",  # a move written by the assigner
    "fenced": "lease not renewed in time: fenced, stopping every camera",
    "renewal failed": "lease renewal failed",
    "elected": "elected leader (assigner)",
    "leadership lost": "leadership lost",
    "missing yet live": "node missing from the read of leases, yet live",
}


def _log_counts(path: Path) -> dict[str, int]:
    counts = dict.fromkeys(_COUNTED, 0)
    with open(path, errors="replace") as f:
        for line in f:
            with contextlib.suppress(ValueError, AttributeError):
                message = json.loads(line).get("event")
                for name, text in _COUNTED.items():
                    counts[name] += message == text
    return counts


def print_scale(r: dict[str, Any]) -> None:
    procs = r["processes"]
    servers = {k: v for k, v in procs.items() if k.startswith("nats")}
    leases = {k: v for k, v in procs.items() if k.endswith(" lease")}
    daemons = {k: v for k, v in procs.items() if not k.startswith("nats") and k not in leases}
    t = r["takeover"]
    loads = list(r["per_node"].values())
    rows = [
        ("cameras / daemons / NATS servers", f"{r['cameras']} / {r['daemons']} / {r['servers']}"),
        ("every camera running after apply + start", f"{r['all_running_s']:.1f} s"),
        (
            "cameras per node (max/mean)",
            f"{', '.join(map(str, loads))} ({max(loads) / (sum(loads) / len(loads)):.2f})",
        ),
        ("ALERTS revisions stored / s (window)", f"{r['revisions_per_s']:.1f} ({r['revisions']} "
         f"in {r['window_s']:.0f} s, {r['duplicates']} duplicates)"),
        ("revision → stored, p50 / p99", f"{r['latency_p50_s']:.3f} s / {r['latency_p99_s']:.3f} s"
         if r["latency_p50_s"] is not None else "no revision"),
        ("kill -9 of a worker: its cameras", f"{t['cameras']} ({t['node']})"),
        ("  its lease gone", f"{t['lease_gone_s']:.1f} s"),
        ("  first / last camera running elsewhere",
         f"{t['first_running_s']:.1f} s / {t['all_running_s']:.1f} s"),
        ("  every camera of the fleet running again",
         f"{t['fleet_running_s']:.1f} s ({t['fleet_running']} cameras)"),
        ("  other cameras moved between survivors", f"{t['moved_between_survivors']}"),
        ("cameras moved during the steady window", f"{r['moved_during_window']}"),
        ("whole run: starts / moves / fencings / leader elections", " / ".join(
            str(sum(c[k] for c in r["log_counts"].values()))
            for k in ("camera started", "camera assigned", "fenced", "elected"))),
        ("nodes missing from a read of leases yet live (kept)",
         str(sum(c.get("missing yet live", 0) for c in r["log_counts"].values()))),
        ("cameras per node after", ", ".join(map(str, r["per_node_after"].values()))),
        ("one worker round's reads (its assignments, fleet revision)",
         f"{r['worker_round_read_ms']:.1f} ms"),
        ("messages/s per daemon, all (server's count, in + out)",
         ", ".join(f"{v:.1f}" for v in r["messages_per_s"].values())),
        ("  of which control plane (less ALERTS publish + ack)",
         ", ".join(f"{v:.1f}" for v in r["control_messages_per_s"].values())),
        ("messages/s, every server (clients and routes)", f"{r['server_messages_per_s']:.0f}"),
        ("lease renewal p99 / max, steady (ms)", ", ".join(
            f"{a:.0f}/{b:.0f}" for a, b in r["renew_ms"].values())),
        ("lease renewal p99 / max, after takeover (ms)", ", ".join(
            f"{a:.0f}/{b:.0f}" for a, b in r["renew_ms_after"].values())),
        ("load average (1, 5, 15 min) at the end",
         ", ".join(f"{v:.1f}" for v in r["load_average"])),
        ("NATS server RSS (each)", ", ".join(f"{v['rss_mib']:.0f}" for v in servers.values())
         + " MiB"),
        ("NATS server CPU (each, share of a core)",
         ", ".join(f"{v['cpu_share']:.2f}" for v in servers.values())),
        ("daemon RSS (each)", ", ".join(f"{v['rss_mib']:.0f}" for v in daemons.values())
         + " MiB"),
        ("daemon CPU (each, share of a core)",
         ", ".join(f"{v['cpu_share']:.2f}" for v in daemons.values())),
        ("lease process RSS (each)", ", ".join(f"{v['rss_mib']:.0f}" for v in leases.values())
         + " MiB"),
        ("lease process CPU (each, share of a core)",
         ", ".join(f"{v['cpu_share']:.3f}" for v in leases.values())),
        ("daemon RSS after takeover", ", ".join(
            f"{v:.0f}" for k, v in r["rss_after_mib"].items()
            if not k.startswith("nats") and not k.endswith(" lease"))
         + " MiB"),
    ]  # fmt: skip
    print("| figure | value |")
    print("|---|---:|")
    for name, value in rows:
        print(f"| {name} | {value} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (CI checks it runs)")
    parser.add_argument("--scale", action="store_true", help="the control-plane benchmark")
    parser.add_argument("--scale-cameras", type=int, default=1000)
    parser.add_argument("--daemons", type=int, default=5)
    parser.add_argument("--servers", type=int, default=3, choices=[1, 3])
    parser.add_argument("--fps", type=float, default=1.0, help="of each replayed camera")
    parser.add_argument("--window", type=float, default=60.0, help="seconds of steady state")
    parser.add_argument("--startup-timeout", type=float, default=300.0)
    parser.add_argument(
        "--headroom", type=float, default=0.2, help="capacity over the fleet / (daemons - 1)"
    )
    parser.add_argument(
        "--python-src",
        default=str(PYTHON_SRC),
        help="the python/ tree the daemons run (another checkout: a before/after run)",
    )
    parser.add_argument("--det", default=str(DEFAULT_DET), help="MOTChallenge det.txt")
    parser.add_argument(
        "--keep-logs", action="store_true", help="copy daemon logs to bench/results/"
    )
    parser.add_argument("--cameras", type=int, nargs="*", default=[1000, 5000])
    parser.add_argument("--nodes", type=int, nargs="*", default=[5, 50])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.scale:
        result = bench_scale(args)
        print_scale(result)
        RESULTS.mkdir(exist_ok=True)
        result |= {"version": __version__, "machine": platform.platform()}
        (RESULTS / "cluster_scale.json").write_bytes(msgspec.json.encode(result))
        return 0
    cameras = [200] if args.quick else args.cameras
    nodes = [5] if args.quick else args.nodes
    rounds = 1 if args.quick else args.rounds
    rows = [bench_assign(n, k) for n in cameras for k in nodes]
    print(
        "| cameras | nodes | assign ms | hash-mod ms | max/mean load | moved on loss "
        "| hash-mod moved | ideal |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['cameras']:.0f} | {r['nodes']:.0f} | {r['ms']:.1f} | {r['anchor_ms']:.2f} | "
            f"{r['max_over_mean']:.2f} | {r['moved_on_loss']:.3f} | "
            f"{r['anchor_moved_on_loss']:.3f} | {r['ideal_moved']:.3f} |"
        )
    nats_rows: list[dict[str, float]] = []
    server = shutil.which("nats-server")
    if server is None:
        print("nats-server not installed: read and publish rows skipped", file=sys.stderr)
    else:
        with tempfile.TemporaryDirectory() as store_dir:
            port = _free_port()
            proc = subprocess.Popen(
                [server, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", store_dir],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                time.sleep(0.5)
                for n in cameras:
                    row = anyio.run(bench_nats, f"nats://127.0.0.1:{port}", n, rounds)
                    row["keys"] = n
                    nats_rows.append(row)
            finally:
                proc.terminate()
                proc.wait(10)
        print()
        print(
            "| keys / revisions | read_all ms | N × kv.get ms | ratio | sink publish/s "
            "| bare publish/s | ratio |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for r in nats_rows:
            print(
                f"| {r['keys']:.0f} | {r['read_ms']:.1f} | {r['get_ms']:.1f} | "
                f"{r['read_ms'] / r['get_ms']:.2f} | {r['publish_per_s']:.0f} | "
                f"{r['bare_publish_per_s']:.0f} | "
                f"{r['publish_per_s'] / r['bare_publish_per_s']:.2f} |"
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cluster.json").write_bytes(
        msgspec.json.encode(
            {
                "version": __version__,
                "machine": platform.platform(),
                "quick": args.quick,
                "assign": rows,
                "nats": nats_rows,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
