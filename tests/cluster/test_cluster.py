"""Cluster mode on loopback: a real 3-server NATS JetStream cluster and real daemon processes.

The time bounds asserted here are the feature's contract (issue 10), not speed measurements: a
lost daemon's cameras are analysed again within TTL + 3 s, publishing resumes within 10 s of the
stream leader's death. Each test prints what it measured.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import nats.errors
import nats.js.errors
import pytest

from nats_cluster import PYTHON_SRC, Daemon, NatsCluster, wait_until
from tiny_detector import build_slow_loading_detector
from vsa_stream.cluster import admin, assign
from vsa_stream.cluster.store import ALERTS_STREAM, ClusterOptions, connect
from vsa_stream.outbox import Outbox
from vsa_stream.synth import render

pytestmark = [
    pytest.mark.skipif(shutil.which("nats-server") is None, reason="needs Debian nats-server"),
    pytest.mark.timeout(300),
]

TTL_S = 5.0
ZONE = "[[0.63, 0.56], [0.94, 0.53], [0.96, 0.93], [0.60, 0.95]]"


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The intruder scene at 640x360, 10 fps: one intrusion (open, closed) per 12 s loop."""
    path = tmp_path_factory.mktemp("cluster") / "intruder.mp4"
    render("intruder", path, width=640, height=360, fps=10)
    return path


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    with NatsCluster(tmp_path / "nats") as cluster:
        yield cluster


def fleet_yaml(
    video: Path, count: int, *, cooldown_s: float = 2.0, skip: tuple[int, ...] = ()
) -> str:
    cameras = "\n".join(
        f"  - id: cam-{i}\n"
        f"    url: {video}\n"
        "    loop: true\n"
        "    fps: 5\n"
        f"    zones: [{{id: restricted, polygon: {ZONE}}}]\n"
        "    rules: [{type: intrusion, zones: [restricted], min_dwell_s: 1.0, "
        f"exit_grace_s: 1.0, cooldown_s: {cooldown_s}}}]"
        for i in range(count)
        if i not in skip
    )
    return f"privacy: {{legal_profile: lab}}\ncameras:\n{cameras}\n"


def options(cluster: NatsCluster) -> ClusterOptions:
    return ClusterOptions(servers=cluster.urls.split(","), node_id="test")


def status(cluster: NatsCluster) -> admin.Status:
    # called from wait_until's synchronous predicates (try_status, settled): a loop of its own
    return anyio.run(admin.status, options(cluster))


def try_status(cluster: NatsCluster) -> admin.Status | None:
    """The cluster's status, or None while it cannot answer (a server is being elected)."""
    try:
        return status(cluster)
    except (nats.errors.Error, nats.js.errors.Error, OSError, TimeoutError):
        return None


def apply(cluster: NatsCluster, tmp_path: Path, text: str) -> None:
    from vsa_stream import config as config_mod

    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    # for the synchronous tests below (their wait_until predicates run loops of their own)
    anyio.run(admin.apply, options(cluster), config_mod.load(path))


def running(st: admin.Status) -> dict[str, tuple[str, int, int]]:
    """camera -> (node, epoch, frames analysed), for cameras that a live node runs."""
    return {
        camera: (node, run.epoch, run.analysed)
        for node, rec in st.nodes.items()
        for camera, run in rec.cameras.items()
    }


def all_analysing(cluster: NatsCluster, cameras: int) -> bool:
    st = try_status(cluster)
    return st is not None and sum(1 for r in running(st).values() if r[2] > 0) == cameras


def settled(cluster: NatsCluster, cameras: int, nodes: int) -> bool:
    """Every daemon registered, every camera analysed where the assigner wants it (no move
    pending: the start-up churn, while daemons join one by one, is over)."""
    st = try_status(cluster)
    if st is None or len(st.nodes) != nodes:
        return False
    now = running(st)
    wanted = assign(st.cameras, {n: rec.capacity for n, rec in st.nodes.items()})
    return (
        len(now) == cameras
        and all(r[2] > 0 for r in now.values())
        and all(now[c][0] == node for c, node in wanted.items())
    )


def stream_messages(cluster: NatsCluster) -> list[dict[str, str]]:
    """Every message of ALERTS: its Nats-Msg-Id, Vsa-Node, Vsa-Epoch and subject."""

    async def read() -> list[dict[str, str]]:
        nc = await connect(cluster.urls.split(","), name="test-reader")
        try:
            js = nc.jetstream(timeout=5.0)
            info = await js.stream_info(ALERTS_STREAM)
            out = []
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                if info.state.messages == 0:
                    break
                msg = await js.get_msg(ALERTS_STREAM, seq)
                headers = dict(msg.headers or {})
                headers["subject"] = msg.subject or ""
                headers["seq"] = str(msg.seq)
                headers["time"] = str(msg.time.timestamp() if msg.time else 0.0)
                out.append(headers)
            return out
        finally:
            await nc.close()

    # called from wait_until's synchronous predicates (new_owner_alerted...): a loop of its own
    return anyio.run(read)


def acknowledged(daemon: Daemon) -> set[str]:
    """Revisions JetStream acknowledged to ``daemon`` (its outbox cursor of the ALERTS sink)."""
    outbox = Outbox(str(daemon.state / "outbox.sqlite3"))
    try:
        cursor = outbox.cursor("nats").seq
        rows = outbox.read_after(0, 1_000_000)
        return {f"{r.event.id}-{r.event.revision}" for r in rows if r.seq <= cursor}
    finally:
        outbox.close()


def accepted(daemon: Daemon) -> set[str]:
    outbox = Outbox(str(daemon.state / "outbox.sqlite3"))
    try:
        return {f"{r.event.id}-{r.event.revision}" for r in outbox.read_after(0, 1_000_000)}
    finally:
        outbox.close()


def start_daemons(tmp_path: Path, cluster: NatsCluster, count: int) -> list[Daemon]:
    daemons = [Daemon(tmp_path / f"d{i}", f"d{i}", cluster.urls) for i in range(count)]
    for daemon in daemons:
        daemon.start()
    return daemons


def check_stream(cluster: NatsCluster, daemons: list[Daemon]) -> list[dict[str, str]]:
    """Every revision a daemon had acknowledged, and every one it accepted, is in ALERTS, each
    exactly once."""
    messages = stream_messages(cluster)
    ids = Counter(m["Nats-Msg-Id"] for m in messages)
    assert not [i for i, n in ids.items() if n > 1], "a revision is twice in the stream"
    for daemon in daemons:
        missing = acknowledged(daemon) - set(ids)
        assert not missing, f"{daemon.node_id}: acknowledged but not in ALERTS: {missing}"
        assert accepted(daemon) <= set(ids), f"{daemon.node_id}: accepted alerts not in ALERTS"
    return messages


def test_killed_daemon_cameras_taken_over(
    video: Path, nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    apply(nats_cluster, tmp_path, fleet_yaml(video, 6))
    daemons = start_daemons(tmp_path, nats_cluster, 3)
    try:
        wait_until(lambda: settled(nats_cluster, 6, 3), 60)
        wait_until(lambda: len(stream_messages(nats_cluster)) >= 4, 60, step=0.5)
        st = status(nats_cluster)
        before = running(st)
        # The victim: the node with the most cameras, the leader among equals (it then loses
        # both roles at once).
        by_node = Counter(node for node, _, _ in before.values())
        victim_id = max(by_node, key=lambda n: (by_node[n], n == st.leader))
        victim = next(d for d in daemons if d.node_id == victim_id)
        lost = {c: epoch for c, (node, epoch, _) in before.items() if node == victim_id}
        assert lost

        victim.kill()
        killed = time.time()

        def taken_over() -> bool:
            st = try_status(nats_cluster)
            if st is None:
                return False
            now = running(st)
            return all(
                c in now and now[c][0] != victim_id and now[c][1] > e and now[c][2] > 0
                for c, e in lost.items()
            )

        wait_until(taken_over, 60)
        assert all_analysing(nats_cluster, 6)

        survivors = [d for d in daemons if d is not victim]

        def new_owner_alerted() -> bool:
            return any(
                m["subject"].split(".")[2] in lost
                and m["Vsa-Node"] != victim_id
                and int(m.get("Vsa-Epoch", "0")) > lost[m["subject"].split(".")[2]]
                for m in stream_messages(nats_cluster)
            )

        # A taken-over camera starts its file again: its intruder comes back within a loop.
        wait_until(new_owner_alerted, 60, step=0.5)
        # The victim comes back with its outbox: what it had accepted but not published goes
        # out now; what it had published is not stored twice.
        victim.start()

        def victim_drained() -> bool:
            st = try_status(nats_cluster)
            rec = st.nodes.get(victim_id) if st is not None else None
            return rec is not None and rec.lag_revisions == 0

        wait_until(victim_drained, 60)
        time.sleep(2.0)
    finally:
        for daemon in daemons:
            daemon.stop()
    check_stream(nats_cluster, daemons)
    assert all(acknowledged(d) for d in survivors)
    # When each lost camera's first frame was analysed again, from its new owner's record.
    first_frames: dict[str, float] = {}
    for r in (r for d in survivors for r in d.ownership()):
        if r["camera"] in lost and r["epoch"] > lost[r["camera"]] and r["first_frame_at"]:
            first = float(r["first_frame_at"])
            first_frames[r["camera"]] = min(first, first_frames.get(r["camera"], first))
    assert set(first_frames) == set(lost)
    takeover_s = max(first_frames.values()) - killed
    print(f"{len(lost)} cameras analysed again {takeover_s:.2f} s after kill -9 of their daemon")
    assert takeover_s <= TTL_S + 3.0


def test_stream_leader_killed(video: Path, nats_cluster: NatsCluster, tmp_path: Path) -> None:
    apply(nats_cluster, tmp_path, fleet_yaml(video, 8, cooldown_s=0.5))
    daemons = start_daemons(tmp_path, nats_cluster, 2)
    try:
        wait_until(lambda: settled(nats_cluster, 8, 2), 60)
        wait_until(lambda: len(stream_messages(nats_cluster)) >= 4, 60, step=0.5)
        st = status(nats_cluster)
        assert st.alerts_leader is not None
        assert len(st.alerts_replicas) == 2  # 3 replicas: the leader and two followers
        leader = nats_cluster.server(st.alerts_leader)
        leader.kill()
        killed = time.time()

        def stored_after_kill() -> list[float]:
            try:
                messages = stream_messages(nats_cluster)
            except (nats.errors.Error, nats.js.errors.Error, OSError, TimeoutError):
                return []  # no stream leader yet
            return [float(m["time"]) for m in messages if float(m["time"]) > killed]

        wait_until(stored_after_kill, 60, step=0.5)
        # When JetStream stored the first revision after the kill (its own timestamp).
        resumed_s = min(stored_after_kill()) - killed
        print(f"publishing resumed {resumed_s:.2f} s after kill -9 of the stream leader")
        assert resumed_s <= 10.0

        def new_stream_leader() -> bool:
            st = try_status(nats_cluster)
            return st is not None and st.alerts_leader not in (None, leader.name)

        wait_until(new_stream_leader, 60)
        time.sleep(3.0)
    finally:
        for daemon in daemons:
            daemon.stop()
    check_stream(nats_cluster, daemons)
    for daemon in daemons:
        # The daemon's JSONL sink, beside the stream, has every revision too.
        lines = [json.loads(line) for line in daemon.alerts.read_text().splitlines()]
        assert {f"{e['id']}-{e['revision']}" for e in lines} == accepted(daemon)


def test_paused_daemon_fences_itself(
    video: Path, nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    apply(nats_cluster, tmp_path, fleet_yaml(video, 4))
    daemons = start_daemons(tmp_path, nats_cluster, 2)
    try:
        wait_until(lambda: settled(nats_cluster, 4, 2), 60)
        before = running(status(nats_cluster))
        by_node = Counter(node for node, _, _ in before.values())
        paused_id = by_node.most_common(1)[0][0]
        paused = next(d for d in daemons if d.node_id == paused_id)
        lost = {c: epoch for c, (node, epoch, _) in before.items() if node == paused_id}

        paused.signal(signal.SIGSTOP)
        stopped = time.monotonic()

        def taken_over() -> bool:
            st = try_status(nats_cluster)
            now = running(st) if st is not None else {}
            return all(c in now and now[c][1] > e and now[c][2] > 0 for c, e in lost.items())

        wait_until(taken_over, 60)
        print(f"taken over from the paused daemon after {time.monotonic() - stopped:.2f} s")
        time.sleep(1.0)
        paused.signal(signal.SIGCONT)
        # It fences itself: one ownership record per camera it had, ended "fenced".
        wait_until(
            lambda: (
                {r["camera"] for r in paused.ownership() if r["reason"] == "fenced"} >= set(lost)
            ),
            30,
        )
        # It rejoins; cameras that rank it first come back to it, handed over cleanly.
        time.sleep(6.0)
        assert all_analysing(nats_cluster, 4)
    finally:
        for daemon in daemons:
            daemon.stop()
    records = [r for d in daemons for r in d.ownership()]
    fenced = [r for r in records if r["reason"] == "fenced"]
    assert {r["camera"] for r in fenced} == set(lost)
    assert all(r["epoch"] == lost[str(r["camera"])] for r in fenced)
    # No camera analysed by two nodes at once.
    check_no_overlap(records)


def test_a_slow_model_load_does_not_fence_the_node(
    video: Path, nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    """Loading a detector takes longer than the lease's TTL (as a GPU provider's start-up can):
    the node goes on renewing its lease meanwhile, so it never fences itself."""
    model = build_slow_loading_detector(tmp_path / "slow.onnx", ["person"])
    fleet = fleet_yaml(video, 1) + (
        f"detectors:\n  - id: slow\n    model: {{path: {model}}}\n    fps: 2\n    gating: false\n"
    )
    apply(nats_cluster, tmp_path, fleet)
    (daemon,) = start_daemons(tmp_path, nats_cluster, 1)
    try:
        wait_until(lambda: all_analysing(nats_cluster, 1), 120)
        time.sleep(2 * TTL_S)  # renewals after the load: the lease holds
        assert all_analysing(nats_cluster, 1)
    finally:
        daemon.stop()
    log = daemon.log.read_text()
    assert "camera started" in log
    assert "fenced" not in log, log[-3000:]
    assert all(r["reason"] != "fenced" for r in daemon.ownership())


def check_no_overlap(records: list[dict[str, Any]]) -> None:
    """Per camera, the runs' analysis intervals (first to last analysed frame) are disjoint."""
    for camera in {str(r["camera"]) for r in records}:
        runs = sorted(
            (float(r["first_frame_at"]), float(r["last_frame_at"]), str(r["node"]))
            for r in records
            if r["camera"] == camera and r["first_frame_at"] is not None
        )
        for (_, end, node), (start, _, other) in itertools.pairwise(runs):
            assert end < start, f"{camera}: analysed by {node} and {other} at once"


def cli(cluster: NatsCluster, *args: str) -> subprocess.CompletedProcess[str]:
    """``vsa-stream ARGS --cluster URLS`` as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "vsa_stream", *args, "--cluster", cluster.urls],
        env=dict(os.environ, PYTHONPATH=str(PYTHON_SRC)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_apply_and_drain(video: Path, nats_cluster: NatsCluster, tmp_path: Path) -> None:
    (tmp_path / "fleet.yaml").write_text(fleet_yaml(video, 4))
    done = cli(nats_cluster, "cluster", "apply", str(tmp_path / "fleet.yaml"))
    assert done.returncode == 0, done.stderr
    assert "4 added" in done.stderr
    daemons = start_daemons(tmp_path, nats_cluster, 2)
    try:
        wait_until(lambda: settled(nats_cluster, 4, 2), 60)
        owner = running(status(nats_cluster))["cam-0"][0]
        # A config change reaches the fleet: cam-0 restarts with its new settings, cam-3 is
        # removed, cam-4 added.
        text = fleet_yaml(video, 5, skip=(3,)).replace("    fps: 5\n", "    fps: 4\n", 1)
        apply(nats_cluster, tmp_path, text)

        def reconfigured() -> bool:
            st = try_status(nats_cluster)
            now = running(st) if st is not None else {}
            return set(now) == {"cam-0", "cam-1", "cam-2", "cam-4"} and all(
                r[2] > 0 for r in now.values()
            )

        wait_until(reconfigured, 60)
        records = [r for d in daemons for r in d.ownership()]
        assert {(r["camera"], r["node"], r["reason"]) for r in records} >= {
            ("cam-0", owner, "configuration changed"),
            ("cam-3", running_node(records, "cam-3"), "removed"),
        }
        # Drain the node running cam-0: every camera ends on the other one.
        other = next(d.node_id for d in daemons if d.node_id != owner)
        done = cli(nats_cluster, "cluster", "drain", owner)
        assert done.returncode == 0, done.stderr

        def drained() -> bool:
            st = try_status(nats_cluster)
            now = running(st) if st is not None else {}
            return len(now) == 4 and all(r[0] == other and r[2] > 0 for r in now.values())

        wait_until(drained, 60)
        st = status(nats_cluster)
        assert owner in st.draining
        assert not st.nodes[owner].cameras
        assert st.leader == other  # a draining node gives up the assigner role too
        done = cli(nats_cluster, "cluster", "status", "--json")
        assert done.returncode == 0, done.stderr
        shown = json.loads(done.stdout)
        assert shown["leader"] == other
        assert shown["draining"] == [owner]
        assert sorted(shown["nodes"][other]["cameras"]) == ["cam-0", "cam-1", "cam-2", "cam-4"]
        assert shown["not_running"] == []
        text = cli(nats_cluster, "cluster", "status").stdout
        assert f"leader: {other}" in text
        assert "draining" in text
        # A second daemon with a live node's id refuses to start.
        twin = Daemon(tmp_path / "twin", other, nats_cluster.urls)
        twin.start()
        assert twin.proc is not None
        assert twin.proc.wait(60) == 1
        assert "another daemon runs as node" in twin.log.read_text()
    finally:
        for daemon in daemons:
            daemon.stop()
    check_no_overlap([r for d in daemons for r in d.ownership()])


def running_node(records: list[dict[str, Any]], camera: str) -> str:
    return next(str(r["node"]) for r in records if r["camera"] == camera)


def replay_fleet(det: Path, count: int) -> str:
    """``count`` lightweight cameras: recorded detections replayed at 1 frame/s (no decoding),
    through the tracker and an intrusion rule, as ``bench/bench_cluster.py --scale`` runs."""
    cameras = "\n".join(
        f"  - {{id: cam-{i:03d}, url: 'replay://{det}', fps: 1, loop: true, "
        f"options: {{start: '{1 + i % 20}'}}, "
        "zones: [{id: z, polygon: [[0.5, 0.3], [0.8, 0.3], [0.8, 0.7], [0.5, 0.7]]}], "
        "rules: [{type: intrusion, zones: [z]}]}"
        for i in range(count)
    )
    return f"privacy: {{legal_profile: lab}}\ncameras:\n{cameras}\n"


def test_takeover_of_200_cameras_within_ttl_plus_5s(
    nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    """kill -9 of the daemon that runs 200 cameras: the survivors run every one of them again
    within TTL + 5 s (the protocol's deadline: lease expiry, one assigner round, batched
    claims and starts)."""
    det = tmp_path / "det.txt"  # one person walking across the scene, 40 frames
    det.write_text("".join(f"{f},-1,{40 + 15 * f},250,60,150,0.9,-1,-1,-1\n" for f in range(1, 41)))
    apply(nats_cluster, tmp_path, replay_fleet(det, 200))
    daemons = [
        Daemon(tmp_path / f"d{i}", f"d{i}", nats_cluster.urls, capacity=250) for i in range(3)
    ]
    # The survivors-to-be join drained: every camera is on d0, the victim.
    for survivor in ("d1", "d2"):
        # a synchronous test: its wait_until predicates run loops of their own (status)
        anyio.run(admin.drain, options(nats_cluster), survivor)
    for daemon in daemons:
        daemon.start()
    victim, survivors = daemons[0], daemons[1:]
    try:

        def all_on_victim() -> bool:
            st = try_status(nats_cluster)
            if st is None or len(st.nodes) != 3:
                return False
            now = running(st)
            return len(now) == 200 and all(r[0] == "d0" and r[2] > 0 for r in now.values())

        wait_until(all_on_victim, 120, step=0.5)
        lost = {c: epoch for c, (_, epoch, _) in running(status(nats_cluster)).items()}
        victim.kill()
        killed = time.time()
        for survivor in ("d1", "d2"):
            # a synchronous test: its wait_until predicates run loops of their own (status)
            anyio.run(functools.partial(admin.drain, undo=True), options(nats_cluster), survivor)

        def taken_over() -> bool:
            st = try_status(nats_cluster)
            now = running(st) if st is not None else {}
            return all(
                c in now and now[c][0] != "d0" and now[c][1] > e and now[c][2] > 0
                for c, e in lost.items()
            )

        wait_until(taken_over, 90, step=0.5)
    finally:
        for daemon in daemons:
            daemon.stop()
    # When each camera's first frame was analysed again, from its new owner's own records.
    first_frames: dict[str, float] = {}
    for r in (r for d in survivors for r in d.ownership()):
        if r["camera"] in lost and r["epoch"] > lost[r["camera"]] and r["first_frame_at"]:
            first = float(r["first_frame_at"])
            first_frames[r["camera"]] = min(first, first_frames.get(r["camera"], first))
    assert set(first_frames) == set(lost)
    first_s, last_s = min(first_frames.values()) - killed, max(first_frames.values()) - killed
    print(f"200 cameras analysed again {first_s:.2f} s (first) to {last_s:.2f} s (last) after kill")
    assert last_s <= TTL_S + 5.0
    assert not any("fenced" in d.log.read_text() for d in survivors)
    check_no_overlap([r for d in daemons for r in d.ownership()])
