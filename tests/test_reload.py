"""Reloading the configuration of a running daemon: only what changed restarts.

Real daemons (engine, outbox, audit log) on synthetic clips; a real webhook receiver on
loopback for the sinks; the HTTP API with a real client; SIGHUP and ``vsa-stream reload``
against a daemon in its own process.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import anyio.from_thread
import httpx
import msgspec
import pytest

from api_daemon import GATE, OPERATOR, VIEWER, make_event, still_clip
from authorised import LAB
from collect import Collect
from receiver import Delivery, receiver
from tiny_detector import build_bright_detector
from vsa_stream import config
from vsa_stream.analyzer import Analyzer
from vsa_stream.config import Camera, IntrusionRule, MotionConfig, Zone
from vsa_stream.daemon import Daemon, audit_path, config_sha256, pid_path
from vsa_stream.events import Event
from vsa_stream.observation import Observation
from vsa_stream.outbox import Outbox
from vsa_stream.pipeline import CameraPipeline
from vsa_stream.reload import ReloadReport, effective
from vsa_stream.sinks import Sink, build_sinks
from vsa_stream.webhook_signature import SignatureError
from vsa_stream.webhook_signature import verify as verify_signature

WHOLE = "[[0, 0], [1, 0], [1, 1], [0, 1]]"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return still_clip(tmp_path_factory.mktemp("clip") / "still.mp4")


def camera_yaml(camera_id: str, clip: Path, rules: str = "[]", extra: str = "") -> str:
    return f"""
  - id: {camera_id}
    url: {json.dumps(str(clip))}
    loop: true
    zones: [{{id: gate, polygon: {GATE}}}, {{id: all, polygon: {WHOLE}}}]
    rules: {rules}
{extra}"""


def replay_yaml(camera_id: str, det: Path, rules: str) -> str:
    """A camera replaying one person standing in the gate (a ``replay://`` source)."""
    return f"""
  - id: {camera_id}
    url: {json.dumps(f"replay://{det}")}
    options: {{width: "640", height: "480"}}
    loop: true
    zones: [{{id: gate, polygon: {GATE}}}, {{id: all, polygon: {WHOLE}}}]
    rules: {rules}
"""


@pytest.fixture(scope="module")
def standing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Recorded detections: one person standing in the gate, 60 s at 10 fps."""
    det = tmp_path_factory.mktemp("det") / "det.txt"
    det.write_text("".join(f"{i},-1,400,200,60,200,0.9,-1,-1,-1\n" for i in range(1, 601)))
    return det


def wait_for(condition: Callable[[], bool], what: str) -> None:
    for _ in range(600):  # a hang guard, not a timing claim
        if condition():
            return
        time.sleep(0.05)
    raise TimeoutError(what)


def write_config(path: Path, cameras: str, extra: str = "") -> Path:
    state = path.parent / "state"
    path.write_text(f"{LAB}cameras:{cameras}\nstate_dir: {json.dumps(str(state))}\n{extra}")
    return path


@dataclass
class Running:
    daemon: Daemon
    portal: anyio.from_thread.BlockingPortal
    sink: Collect

    def reload(self, actor: str = "test") -> ReloadReport:
        report: ReloadReport = self.portal.call(self.daemon.reload, actor)
        return report

    def pipelines(self) -> dict[str, CameraPipeline]:
        return dict(self.daemon.engine.running())

    def wait_streaming(self, *camera_ids: str) -> None:
        for _ in range(600):  # a hang guard, not a timing claim
            running = self.daemon.engine.running()
            if all(c in running and running[c].status.analysed > 2 for c in camera_ids):
                return
            time.sleep(0.05)
        raise TimeoutError(f"cameras {camera_ids} never analysed a frame")


@contextmanager
def running(
    path: Path,
    sinks: list[Sink] | None = None,
    observe: Callable[[Observation], None] | None = None,
) -> Iterator[Running]:
    cfg = config.load(path)
    collect = Collect()
    outbox = Outbox(cfg.outbox_path())
    daemon = Daemon(cfg, [collect, *(sinks or [])], outbox, source=str(path))
    daemon.engine.observe = observe
    try:
        with anyio.from_thread.start_blocking_portal() as portal:
            future = portal.start_task_soon(partial(daemon.run, handle_signals=False))
            for _ in range(400):
                if daemon.engine.cameras_running and daemon.engine.delivery.ready:
                    break
                time.sleep(0.05)
            try:
                yield Running(daemon, portal, collect)
            finally:
                portal.call(daemon.engine.stop)
                future.result(timeout=30)
    finally:
        outbox.close()


def audit_entries(cfg_path: Path, kind: str) -> list[dict[str, object]]:
    cfg = config.load(cfg_path)
    entries = [json.loads(line) for line in Path(audit_path(cfg)).read_text().splitlines()]
    return [e["data"] for e in entries if e["kind"] == kind]


# --- rules swapped in one analyzer ------------------------------------------------------------


def test_a_rule_taken_out_closes_its_events_reconfigured_and_the_others_go_on() -> None:
    square = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    zones = [Zone(id="gate", polygon=square), Zone(id="all", polygon=square)]
    gate = IntrusionRule(zones=["gate"], min_dwell_s=0.3)
    every = IntrusionRule(zones=["all"], min_dwell_s=0.3)
    camera = Camera(id="cam", url="replay://x", zones=zones, rules=[gate, every])
    analyzer = Analyzer(camera, MotionConfig())
    events: list[Event] = []

    def frames(start: int, stop: int) -> None:
        for i in range(start, stop):
            box = (200.0, 100.0, 260.0, 300.0)
            events.extend(analyzer.process_recorded(i, i / 10, (640, 480), [box], [0.9], "person"))

    frames(1, 20)
    opened = {e.zone_id: e for e in events if e.state == "open"}
    assert set(opened) == {"gate", "all"}
    kept_runner = analyzer.rules[1]

    closing = analyzer.reconfigure(
        msgspec_replace(camera, rules=[every, IntrusionRule(zones=["gate"], min_dwell_s=5.0)])
    )
    assert [(e.id, e.state, e.reason) for e in closing] == [
        (opened["gate"].id, "closed", "reconfigured")
    ]
    assert analyzer.rules[0] is kept_runner  # unchanged rule: same runner, its event goes on
    events.clear()
    frames(20, 40)
    assert not [e for e in events if e.zone_id == "all" and e.state == "open"]
    assert [e.id for e in events if e.zone_id == "all"] == [opened["all"].id] * len(
        [e for e in events if e.zone_id == "all"]
    )
    # the new gate rule (5 s dwell) has not opened yet after 2 s
    assert not [e for e in events if e.zone_id == "gate"]
    # a zone moved: the rules reading it start again, the others go on
    half = [(0.0, 0.0), (1.0, 0.0), (1.0, 0.5), (0.0, 0.5)]
    moved = msgspec_replace(analyzer.camera, zones=[Zone(id="gate", polygon=half), zones[1]])
    gate_runner, all_runner = analyzer.rules[1], analyzer.rules[0]
    assert analyzer.reconfigure(moved) == []  # the new gate rule had nothing open
    assert analyzer.rules[0] is all_runner
    assert analyzer.rules[1] is not gate_runner
    finished = analyzer.finish("engine stopped")
    assert {(e.id, e.reason) for e in finished} == {(opened["all"].id, "engine stopped")}


def msgspec_replace(camera: Camera, **changes: object) -> Camera:
    import msgspec

    return msgspec.structs.replace(camera, **changes)


# --- the daemon -----------------------------------------------------------------------------


def test_an_invalid_configuration_changes_nothing(tmp_path: Path, clip: Path) -> None:
    path = write_config(tmp_path / "vsa.yaml", camera_yaml("a", clip))
    with running(path) as run:
        run.wait_streaming("a")
        before = run.pipelines()
        old = run.daemon.config
        good = path.read_text()
        path.write_text(good.replace("loop: true", "loop: true\n    fps: -3"))
        report = run.reload("alice")
        assert not report.ok
        assert report.field == "cameras[0].fps"
        assert "cameras[0].fps" in (report.error or "")
        assert run.pipelines() == before
        assert run.daemon.config is old
        # valid, but cannot run: checked before anything changes, as at a start
        missing = json.dumps(str(tmp_path / "missing.onnx"))
        path.write_text(good + f"detectors: [{{id: coco, model: {{path: {missing}}}}}]\n")
        report = run.reload("alice")
        assert not report.ok
        assert report.field == "detectors[0].model"
        model = json.dumps(build_bright_detector(tmp_path / "bright.onnx", ["person"]))
        path.write_text(
            good.replace("rules: []", "rules: [{type: weapon}]", 1)
            + f"detectors: [{{id: bright, model: {{path: {model}}}}}]\n"
        )
        report = run.reload("alice")
        assert not report.ok
        assert report.field == "cameras[0].rules[0].classes"
        assert run.pipelines() == before
        assert run.daemon.config is old
        assert run.daemon.engine.detectors == {}
    rejected = audit_entries(path, "config_reload_rejected")
    assert [(r["actor"], r["field"]) for r in rejected] == [
        ("alice", "cameras[0].fps"),
        ("alice", "detectors[0].model"),
        ("alice", "cameras[0].rules[0].classes"),
    ]
    assert all(r["old_sha256"] == config_sha256(old) for r in rejected)


def test_rules_change_keeps_the_stream_and_not_a_frame_is_lost(
    tmp_path: Path, clip: Path, standing: Path
) -> None:
    seen: dict[str, list[int]] = {"a": [], "b": [], "r": []}
    lock = threading.Lock()

    def observe(obs: Observation) -> None:
        with lock:
            seen[obs.camera_id].append(obs.frame_index)

    rule = "[{type: intrusion, zones: [gate]}]"
    both = "[{type: intrusion, zones: [all], min_dwell_s: 0.3}, {type: intrusion, zones: [gate]}]"
    path = write_config(
        tmp_path / "vsa.yaml",
        camera_yaml("a", clip, rule)
        + camera_yaml("b", clip, rule)
        + replay_yaml("r", standing, both),
    )
    with running(path, observe=observe) as run:
        run.wait_streaming("a", "b", "r")

        def opened() -> dict[str | None, Event]:
            return {e.zone_id: e for e in run.sink.of("r", "intrusion") if e.state == "open"}

        wait_for(lambda: set(opened()) == {"all", "gate"}, "r's events never opened")
        before = run.pipelines()
        sources = {c: p.source for c, p in run.daemon.engine.running().items()}
        new_rules = "[{type: intrusion, zones: [all], min_dwell_s: 2}]"
        path.write_text(
            path.read_text()
            .replace(rule, new_rules, 1)  # camera a
            .replace(both, "[{type: intrusion, zones: [all], min_dwell_s: 0.3}]")  # r: one less
        )
        old_sha = config_sha256(run.daemon.config)
        with lock:
            at_reload = {c: len(v) for c, v in seen.items()}
        report = run.reload("alice")
        assert report.ok, report.error
        assert report.rules_swapped == ["a", "r"]
        assert report.restarted == report.started == report.stopped == []
        after = run.daemon.engine.running()
        assert after["a"] is before["a"]
        assert after["b"] is before["b"]
        assert after["a"].source is sources["a"]
        assert after["a"].camera.rules == run.daemon.config.cameras[0].rules
        assert [r.zones for r in after["a"].camera.rules] == [["all"]]
        for _ in range(600):  # until each camera analysed 10 more frames (a hang guard)
            with lock:
                if all(len(v) > at_reload[c] + 10 for c, v in seen.items()):
                    break
            time.sleep(0.05)
        statuses = {c: p.status for c, p in after.items()}
        gate_event = opened()["gate"].id
        wait_for(
            lambda: any(e.id == gate_event and e.state == "closed" for e in run.sink.events),
            "the gate rule's event was not closed",
        )
        closed = [e for e in run.sink.events if e.state == "closed"]
        # the rule taken out closed its event; the one kept goes on (no new event either)
        assert [(e.id, e.reason) for e in closed] == [(gate_event, "reconfigured")]
        assert len([e for e in run.sink.of("r") if e.state == "open"]) == 2
    for camera_id, indices in seen.items():
        # one run of frames: no restart (its frame indices would start again at 0), and every
        # frame index missing is one the frame slot counted as skipped while analysis was
        # busy (a loaded machine), as without a reload: none is lost to the reload
        steps = [b - a for a, b in itertools.pairwise(indices)]
        assert min(steps) >= 1, camera_id
        assert sum(steps) - len(steps) == statuses[camera_id].dropped, camera_id
        assert statuses[camera_id].reconnects == 0
        assert len(indices) > at_reload[camera_id] + 10
    entries = audit_entries(path, "config_reload")
    assert len(entries) == 1
    assert entries[0]["actor"] == "alice"
    assert entries[0]["old_sha256"] == old_sha
    assert entries[0]["new_sha256"] == config_sha256(config.load(path))
    assert entries[0]["old_sha256"] != entries[0]["new_sha256"]


def test_cameras_added_removed_and_restarted(tmp_path: Path, clip: Path, standing: Path) -> None:
    rule = "[{type: intrusion, zones: [gate], min_dwell_s: 0.3}]"
    path = write_config(
        tmp_path / "vsa.yaml",
        camera_yaml("a", clip) + replay_yaml("b", standing, rule) + camera_yaml("c", clip),
    )
    with running(path) as run:
        run.wait_streaming("a", "b", "c")
        before = run.pipelines()
        wait_for(lambda: bool(run.sink.of("b", "intrusion")), "b's event never opened")
        open_on_b = run.sink.of("b", "intrusion")[0]
        path.write_text(
            f"{LAB}cameras:{camera_yaml('a', clip)}"
            + camera_yaml("c", clip, extra="    fps: 5")  # its analysis rate: a restart
            + camera_yaml("d", clip)
            + f"state_dir: {json.dumps(str(tmp_path / 'state'))}\n"
        )
        report = run.reload()
        assert report.ok, report.error
        assert (report.started, report.stopped, report.restarted) == (["d"], ["b"], ["c"])
        run.wait_streaming("a", "c", "d")
        after = run.daemon.engine.running()
        assert set(after) == {"a", "c", "d"}
        assert after["a"] is before["a"]
        assert after["c"] is not before["c"]
        assert after["c"].camera.fps == 5
        assert [s.camera_id for s in run.daemon.engine.camera_statuses()] == ["a", "c", "d"]
        assert before["b"].status.state == "stopped"
        assert before["c"].status.state == "stopped"
        wait_for(lambda: run.sink.of("b")[-1].state == "closed", "b's event was not closed")
        last = run.sink.of("b")[-1]
        assert (last.id, last.reason) == (open_on_b.id, "reconfigured")


def test_a_webhook_secret_rotated_loses_no_revision_and_keeps_its_ids(
    tmp_path: Path, clip: Path
) -> None:
    def slow(_: Delivery) -> tuple[int, dict[str, str]]:
        time.sleep(0.02)  # revisions in flight when the sink is rebuilt
        return 204, {}

    old_secret, new_secret = "whsec_" + "b2xk" * 8, "whsec_" + "bmV3" * 8
    with receiver([old_secret, new_secret], slow) as hook:

        def webhook(secret: str) -> str:
            return (
                f"sinks:\n  webhooks:\n    - {{name: ops, url: {json.dumps(hook.url)}, "
                f"secrets: [{json.dumps(secret)}], allow_private: true, concurrency: 4}}\n"
            )

        path = write_config(tmp_path / "vsa.yaml", camera_yaml("a", clip), webhook(old_secret))
        cfg = config.load(path)
        with running(path, sinks=build_sinks(cfg.sinks)) as run:
            accepted: list[str] = []

            def inject(n: int) -> None:
                for _ in range(n):
                    rows = run.portal.call(
                        run.daemon.engine.delivery.accept, [make_event(), make_event()]
                    )
                    accepted.extend(r.key for r in rows)
                    time.sleep(0.005)

            injector = threading.Thread(target=inject, args=(60,))
            injector.start()
            while len(accepted) < 30:
                time.sleep(0.01)
            path.write_text(path.read_text().replace(old_secret, new_secret))
            report = run.reload("alice")
            rotated_at = len(hook.snapshot())
            injector.join()
            inject(10)
            assert report.ok, report.error
            assert report.sinks_rebuilt == ["webhook:ops"]
            assert [s.name for s in run.daemon.engine.sinks].count("webhook:ops") == 1
            assert hook.wait_for(len(accepted))
            for _ in range(400):  # every accepted revision received (a hang guard)
                if set(accepted) <= {d.webhook_id for d in hook.snapshot()}:
                    break
                time.sleep(0.05)
        deliveries = hook.snapshot()
    received = {d.webhook_id for d in deliveries}
    assert set(accepted) <= received  # none lost
    for d in deliveries:  # a revision sent twice has the same id
        event = d.event
        assert d.webhook_id == f"{event['id']}-{event['revision']}"
        assert d.valid
    late = deliveries[rotated_at + 20 :]
    assert late
    for d in late:  # signed with the new secret only
        verify_signature([new_secret], d.webhook_id, d.timestamp, d.signature, d.body)
        with pytest.raises(SignatureError):
            verify_signature([old_secret], d.webhook_id, d.timestamp, d.signature, d.body)
    outbox = Outbox(config.load(path).outbox_path())
    try:
        assert outbox.cursor("webhook:ops", hook.url).seq == outbox.head
    finally:
        outbox.close()


def test_settings_that_need_a_restart_are_kept_and_reported(tmp_path: Path, clip: Path) -> None:
    path = write_config(tmp_path / "vsa.yaml", camera_yaml("a", clip))
    with running(path) as run:
        run.wait_streaming("a")
        state = run.daemon.config.state_dir
        path.write_text(
            path.read_text().replace(str(tmp_path / "state"), str(tmp_path / "elsewhere"))
            + "logging: {level: debug}\n"
        )
        report = run.reload()
        assert report.ok
        assert report.restart_required == ["state_dir", "logging"]
        assert run.daemon.config.state_dir == state
        assert run.daemon.config.logging.level == "info"
        assert b"vsa_config_restart_required 1.0" in run.daemon.engine.metrics.exposition()


# --- the HTTP API -------------------------------------------------------------------------


def test_reload_through_the_api_needs_an_operator(tmp_path: Path, clip: Path) -> None:
    server = (
        "server:\n  enabled: true\n  port: 0\n  tokens:\n"
        f"    - {{name: alice, token: {OPERATOR}, role: operator}}\n"
        f"    - {{name: screen, token: {VIEWER}, role: viewer}}\n"
    )
    path = write_config(tmp_path / "vsa.yaml", camera_yaml("a", clip), server)
    with running(path) as run:
        assert run.daemon.server is not None
        url = run.daemon.server.url
        run.wait_streaming("a")

        def post(token: str) -> httpx.Response:
            headers = {"Authorization": f"Bearer {token}"}
            return httpx.post(url + "/api/config/reload", headers=headers, timeout=30)

        assert post(VIEWER).status_code == 403
        path.write_text(
            f"{LAB}cameras:{camera_yaml('a', clip)}{camera_yaml('b', clip)}"
            f"state_dir: {json.dumps(str(tmp_path / 'state'))}\n{server}"
        )
        answer = post(OPERATOR)
        assert answer.status_code == 200, answer.text
        assert answer.json()["started"] == ["b"]
        assert answer.json()["actor"] == "api:alice"
        good = path.read_text()
        path.write_text(good.replace("loop: true", "loop: maybe", 1))
        answer = post(OPERATOR)
        assert answer.status_code == 422
        assert answer.json()["field"] == "cameras[0].loop"
        assert set(run.daemon.engine.running()) == {"a", "b"}
        path.write_text(good)
        metrics = httpx.get(
            url + "/metrics", headers={"Authorization": f"Bearer {VIEWER}"}, timeout=30
        ).text
        assert 'vsa_config_reloads_total{result="applied"} 1.0' in metrics
        assert 'vsa_config_reloads_total{result="rejected"} 1.0' in metrics
        assert "vsa_config_restart_required 0.0" in metrics
    assert [e["actor"] for e in audit_entries(path, "config_reload")] == ["api:alice"]
    assert [e["actor"] for e in audit_entries(path, "config_reload_rejected")] == ["api:alice"]


# --- SIGHUP and vsa-stream reload --------------------------------------------------------


def test_sighup_and_the_reload_command(tmp_path: Path, clip: Path) -> None:
    path = write_config(tmp_path / "vsa.yaml", camera_yaml("a", clip))
    cfg = config.load(path)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "vsa_stream", "--log-format", "json"]
    daemon = subprocess.Popen(
        [*command, "run", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        for _ in range(600):
            if os.path.exists(pid_path(cfg)) or daemon.poll() is not None:
                break
            time.sleep(0.05)
        assert daemon.poll() is None
        path.write_text(
            f"{LAB}cameras:{camera_yaml('a', clip)}{camera_yaml('b', clip)}"
            f"state_dir: {json.dumps(str(tmp_path / 'state'))}\n"
        )
        done = subprocess.run(
            [*command, "reload", str(path)], capture_output=True, text=True, env=env, timeout=90
        )
        assert done.returncode == 0, done.stderr
        assert "started: b" in done.stdout
        # an invalid file: the command says why, nothing is sent
        good = path.read_text()
        path.write_text(good.replace("loop: true", "loop: 3", 1))
        done = subprocess.run(
            [*command, "reload", str(path)], capture_output=True, text=True, env=env, timeout=90
        )
        assert done.returncode == 2
        assert "cameras[0].loop" in done.stderr
        # a plain SIGHUP (systemd's ExecReload) with the file invalid: rejected, audited
        os.kill(daemon.pid, signal.SIGHUP)
        for _ in range(600):
            if _rejected(cfg):
                break
            time.sleep(0.05)
        assert daemon.poll() is None  # SIGHUP did not end it
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, stderr.decode()[-2000:]
    assert not os.path.exists(pid_path(cfg))
    entries = [json.loads(line) for line in Path(audit_path(cfg)).read_text().splitlines()]
    reloads = [(e["kind"], e["data"]["actor"]) for e in entries if "reload" in e["kind"]]
    user = _user()
    assert reloads == [
        ("config_reload", f"cli:{user}"),
        ("config_reload_rejected", "signal:SIGHUP"),
    ]
    logs = [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]
    rejected = [entry for entry in logs if "reload rejected" in entry.get("event", "")]
    assert rejected
    assert rejected[0]["field"] == "cameras[0].loop"


def _rejected(cfg: config.Config) -> bool:
    try:
        text = Path(audit_path(cfg)).read_text()
    except OSError:
        return False
    return "config_reload_rejected" in text


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def test_a_cluster_daemon_ignores_sighup(tmp_path: Path) -> None:
    """systemd's ExecReload on a cluster daemon: logged, the daemon goes on (its cameras
    change with ``vsa-stream cluster apply``)."""
    from nats_cluster import Daemon as ClusterDaemon
    from nats_cluster import NatsCluster, wait_until

    with NatsCluster(tmp_path / "nats", size=1) as cluster:
        node = ClusterDaemon(tmp_path / "d0", "d0", cluster.urls)
        node.start()
        try:
            wait_until(lambda: b"joined the cluster" in node.log.read_bytes(), 60)
            node.signal(signal.SIGHUP)
            wait_until(lambda: b"SIGHUP ignored" in node.log.read_bytes(), 30)
            assert node.proc is not None
            assert node.proc.poll() is None
        finally:
            status = node.stop()
    assert status == 0, node.log.read_text()[-2000:]


def test_a_detector_changed_restarts_only_its_cameras(tmp_path: Path, clip: Path) -> None:
    model = json.dumps(build_bright_detector(tmp_path / "bright.onnx", ["person"]))
    detector = f"detectors: [{{id: bright, model: {{path: {model}}}, fps: 5}}]\n"
    path = write_config(
        tmp_path / "vsa.yaml",
        camera_yaml("a", clip, extra="    detectors: [bright]")
        + camera_yaml("b", clip, extra="    detectors: []"),
        detector,
    )
    with running(path) as run:
        run.wait_streaming("a", "b")
        before = run.pipelines()
        service = run.daemon.engine.detectors["bright"]
        path.write_text(path.read_text().replace("fps: 5}", "fps: 2}"))
        report = run.reload()
        assert report.ok, report.error
        assert report.restarted == ["a"]
        assert report.detectors_loaded == ["bright"]
        assert report.rules_swapped == report.started == report.stopped == []
        run.wait_streaming("a", "b")
        after = run.daemon.engine.running()
        assert after["b"] is before["b"]
        assert after["a"] is not before["a"]
        assert run.daemon.engine.detectors["bright"] is not service
        assert run.daemon.engine.detectors["bright"].model is not service.model


def test_sinks_added_and_removed(tmp_path: Path, clip: Path) -> None:
    secret = "whsec_" + "c2lu" * 8
    with receiver([secret]) as first, receiver([secret]) as second:

        def hooks(*urls: tuple[str, str]) -> str:
            lines = "".join(
                f"    - {{name: {name}, url: {json.dumps(url)}, secrets: [{json.dumps(secret)}], "
                "allow_private: true}\n"
                for name, url in urls
            )
            return f"sinks:\n  webhooks:\n{lines}"

        path = write_config(
            tmp_path / "vsa.yaml", camera_yaml("a", clip), hooks(("one", first.url))
        )
        with running(path, sinks=build_sinks(config.load(path).sinks)) as run:
            accept = run.daemon.engine.delivery.accept
            before = [r.key for r in run.portal.call(accept, [make_event(), make_event()])]
            assert first.wait_for(len(before))
            path.write_text(
                path.read_text().replace(hooks(("one", first.url)), hooks(("two", second.url)))
            )
            report = run.reload()
            assert report.ok, report.error
            assert (report.sinks_added, report.sinks_removed) == (["webhook:two"], ["webhook:one"])
            after = [r.key for r in run.portal.call(accept, [make_event(), make_event()])]
            assert second.wait_for(len(after))
            wait_for(
                lambda: set(after) <= {d.webhook_id for d in second.snapshot()}, "not delivered"
            )
            assert [s.name for s in run.daemon.engine.sinks] == ["collect", "webhook:two"]
    # the new sink starts with what is accepted from its start; the removed one gets nothing more
    assert not set(before) & {d.webhook_id for d in second.snapshot()}
    assert not set(after) & {d.webhook_id for d in first.snapshot()}


def test_a_camera_that_starts_counting_is_a_setting_that_needs_a_restart() -> None:
    # The statistics store and its retention are opened at start: a reload that makes a camera
    # count (or changes how long counts are kept) says so instead of losing the intervals.
    counting = config.load("examples/statistics.yaml")
    camera = counting.cameras[0]
    assert camera.statistics is not None
    plain = msgspec.structs.replace(
        counting, cameras=[msgspec.structs.replace(camera, statistics=None)]
    )
    assert effective(plain, counting)[1] == ["statistics"]
    assert effective(counting, plain)[1] == ["statistics"]
    longer = msgspec.structs.replace(camera.statistics, retention_days=30)
    shorter = msgspec.structs.replace(
        counting, cameras=[msgspec.structs.replace(camera, statistics=longer)]
    )
    assert effective(counting, shorter)[1] == ["statistics"]
    assert effective(counting, counting)[1] == []
