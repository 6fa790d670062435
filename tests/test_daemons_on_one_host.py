"""Several ``vsa-stream run`` daemons on one host, each with its share of the cameras: what must
differ between them (docs/operations.md, *Capacity planning*) is refused when it does not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from vsa_stream import config
from vsa_stream.cli import main
from vsa_stream.daemon import pid_path
from vsa_stream.synth import Truth

LAB = "privacy: {legal_profile: lab}\n"


def _config(path: Path, camera: str, clip: Path, state: Path, *, loop: bool) -> Path:
    path.write_text(
        f"{LAB}cameras:\n  - {{id: {camera}, url: {json.dumps(str(clip))}, fps: 5, "
        f"loop: {'true' if loop else 'false'}, realtime: true}}\n"
        f"sinks: {{jsonl: {{path: {json.dumps(str(path.with_suffix('.jsonl')))}}}}}\n"
        f"state_dir: {json.dumps(str(state))}\n"
    )
    return path


def test_a_second_daemon_on_the_same_state_folder_is_refused_naming_the_field(
    tmp_path: Path, small_intruder: tuple[Path, Truth], capsys: pytest.CaptureFixture[str]
) -> None:
    """Two daemons on one state folder would share its outbox (each delivering the other's
    events to its own sinks) and interleave its audit chain: the second exits 2."""
    clip, _ = small_intruder
    state = tmp_path / "state"
    first = _config(tmp_path / "a.yaml", "a", clip, state, loop=True)
    second = _config(tmp_path / "b.yaml", "b", clip, state, loop=False)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "vsa_stream", "run", str(first)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        for _ in range(600):
            if os.path.exists(pid_path(config.load(first))) or daemon.poll() is not None:
                break
            time.sleep(0.05)
        assert daemon.poll() is None
        assert main(["run", str(second)]) == 2
        err = capsys.readouterr().err
        assert "state_dir: another daemon uses" in err
        assert daemon.poll() is None  # the first runs on
    finally:
        daemon.terminate()
        _, stderr = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, stderr.decode()[-2000:]
    # once the first has stopped, the folder is free again
    assert main(["run", str(second)]) == 0


def test_daemons_on_one_host_get_their_own_mqtt_client_id(tmp_path: Path) -> None:
    """Without ``client_id``, two daemons on one host connected as the same client
    (``vsa-stream-<hostname>``): the broker closes a client's connection when another connects
    with its id, so they took turns once a second. The default now follows the state folder:
    distinct between daemons, the same when a daemon restarts."""
    from vsa_stream.sinks import build_sinks
    from vsa_stream.sinks.mqtt import MqttSink

    def client_id(state: Path) -> str:
        # port 9: nothing listens, the sink keeps trying in the background until closed
        sinks = config.loads(
            f"{LAB}cameras: [{{id: a, url: clip.mp4}}]\n"
            "sinks: {mqtt: {host: 127.0.0.1, port: 9}}\n"
        ).sinks
        (sink,) = build_sinks(sinks, str(state))
        assert isinstance(sink, MqttSink)
        anyio.run(sink.aclose)
        return sink.client_id

    a, b = client_id(tmp_path / "a"), client_id(tmp_path / "b")
    assert a != b
    assert a.startswith("vsa-stream-")
    assert client_id(tmp_path / "a") == a  # a restart takes its session back
    assert client_id(tmp_path / "x" / ".." / "a") == a  # the folder, however it is written


def test_a_port_already_taken_is_refused_naming_server_port(
    tmp_path: Path, small_intruder: tuple[Path, Truth], capsys: pytest.CaptureFixture[str]
) -> None:
    """Two daemons with the same ``server.port``: the second used to exit with ``cannot start:
    [Errno 98] Address already in use``, naming no field."""
    import socket

    clip, _ = small_intruder
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = taken.getsockname()[1]
        path = _config(tmp_path / "a.yaml", "a", clip, tmp_path / "state", loop=False)
        path.write_text(path.read_text() + f"server: {{enabled: true, port: {port}}}\n")
        assert main(["run", str(path)]) == 2
    finally:
        taken.close()
    err = capsys.readouterr().err
    assert f"server.port: cannot listen on 127.0.0.1:{port}" in err
    assert str(path) in err
    # the state folder is not left locked
    path.write_text(path.read_text().replace(f"port: {port}", "port: 0"))
    assert main(["run", str(path)]) == 0


def test_a_cluster_node_or_the_load_generator_on_a_held_state_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cluster node (``run --cluster``) and the load generator keep an outbox and an audit
    chain in the state folder as a daemon does: on a folder another process holds, they exit 2
    naming ``state_dir`` before touching it (no cluster server needed: the node stops first)."""
    from vsa_stream.cli import loadgen
    from vsa_stream.daemon import lock_state_dir

    state = tmp_path / "state"
    node = tmp_path / "node.yaml"
    node.write_text(
        f"sinks: {{jsonl: {{path: {json.dumps(str(tmp_path / 'alerts.jsonl'))}}}}}\n"
        f"state_dir: {json.dumps(str(state))}\n"
    )
    held = _config(tmp_path / "held.yaml", "a", tmp_path / "none.mp4", state, loop=False)
    state.mkdir(mode=0o700)
    lock = lock_state_dir(config.load(held))  # another daemon's, as far as they can tell
    try:
        assert main(["run", "--cluster", "nats://127.0.0.1:9", "--node-id", "n1", str(node)]) == 2
        assert "state_dir: another daemon uses" in capsys.readouterr().err
        assert loadgen.main([str(held), "--count", "3"]) == 2
        assert "state_dir: another daemon uses" in capsys.readouterr().err
        assert not list(state.glob("outbox*"))
    finally:
        os.close(lock)
    # the folder free again, the load generator runs and delivers
    assert loadgen.main([str(held), "--count", "3"]) == 0
    assert len(held.with_suffix(".jsonl").read_text().splitlines()) == 3
