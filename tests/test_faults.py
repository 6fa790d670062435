"""Fault injection against real servers on loopback: what an operator sees when cameras fail.

Servers: Debian's ffmpeg (HTTP and UDP MPEG-TS), GStreamer's RTSP server, and small Python
servers for faults no server produces on demand. Cameras use short supervision timings (the
``supervision`` config section) so a test does not wait 30 s for an offline verdict; every
wait is a hang guard, never a speed assertion.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import anyio.from_thread
import pytest

from authorised import authorised
from collect import Collect
from loopback import CorruptingRelay, FfmpegServer, RtspServer, SilentServer
from vsa_stream import config
from vsa_stream.engine import Engine
from vsa_stream.pipeline import CameraPipeline
from vsa_stream.supervisor import CameraStatus
from vsa_stream.synth import render

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs Debian ffmpeg")

FAST = (
    "{open_timeout_s: 2, read_timeout_s: 2, stall_after_s: 1, offline_after_s: 2,"
    " backoff_min_s: 0.2, backoff_max_s: 1, healthy_after_s: 5}"
)


def make_config(
    cameras: dict[str, str], fps: float = 5.0, supervision: str = FAST
) -> config.Config:
    lines = ["cameras:"]
    for cam_id, url in cameras.items():
        lines.append(f"  - {{id: {cam_id}, url: '{url}', fps: {fps}, supervision: {supervision}}}")
    return config.loads("\n".join(lines) + "\n" + authorised(cameras))


class Running:
    """An engine running in a background event loop while the test injects faults."""

    def __init__(self, engine: Engine, sink: Collect) -> None:
        self.engine, self.sink = engine, sink

    def pipeline(self, cam: str) -> CameraPipeline:
        wait_until(lambda: bool(self.engine._pipelines), "the engine to start")
        return next(p for p in self.engine._pipelines if p.camera.id == cam)

    def status(self, cam: str) -> CameraStatus:
        return self.pipeline(cam).status


@contextlib.contextmanager
def running(cfg: config.Config) -> Iterator[Running]:
    sink = Collect()
    engine = Engine(cfg, [sink])
    with anyio.from_thread.start_blocking_portal() as portal:
        future = portal.start_task_soon(functools.partial(engine.run, handle_signals=False))
        try:
            yield Running(engine, sink)
        finally:
            portal.call(engine.stop)
            future.result(timeout=60)


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll until ``predicate()``; the timeout only guards against a hang."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def in_order(states: Sequence[str], *expected: str) -> bool:
    """Whether ``expected`` appears in ``states`` as a subsequence."""
    it = iter(states)
    return all(state in it for state in expected)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "walkers.mp4"
    render("walkers", path, width=320, height=240, duration_s=4.0)
    return path


@pytest.fixture(scope="module")
def ts_clip(clip: Path) -> Path:
    return remux(clip, clip.with_suffix(".ts"))


def remux(src: Path, out: Path, *extra: str) -> Path:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(src), "-c", "copy",
         *extra, "-f", "mpegts", str(out)],
        check=True,
    )  # fmt: skip
    return out


def test_http_server_killed_and_restarted(clip: Path) -> None:
    """Camera a goes offline and comes back; camera b never notices."""
    with FfmpegServer(clip) as a, FfmpegServer(clip) as b:
        cfg = make_config({"a": a.url, "b": b.url})
        with running(cfg) as run:
            sa, sb = run.status("a"), run.status("b")
            wait_until(lambda: sa.decoded > 10 and sb.decoded > 10, "both cameras streaming")
            a.kill()
            wait_until(lambda: bool(run.sink.of("a", "camera_offline")), "camera a offline")
            assert sa.states[-1] != "streaming"
            b_then = sb.decoded
            wait_until(lambda: sb.decoded > b_then + 25, "camera b decoding while a is down")
            a_then = sa.analysed
            a.start()
            wait_until(lambda: bool(run.sink.of("a", "camera_online")), "camera a online")
            wait_until(lambda: sa.analysed > a_then + 5, "analysis of camera a resuming")
            assert str(sa.state) == "streaming"
        offline = run.sink.of("a", "camera_offline")
        assert [e.state for e in offline] == ["open", "closed"]
        assert offline[0].id == offline[1].id
        assert in_order(sa.states, "connecting", "streaming", "backoff", "connecting", "streaming")
        assert sa.reconnects >= 1
        assert run.sink.of("b") == []
        assert sb.states == ["connecting", "streaming", "stopped"]
        assert sb.reconnects == 0


def test_sigstop_is_a_stall_then_recovery(clip: Path) -> None:
    with FfmpegServer(clip) as a:
        with running(make_config({"a": a.url})) as run:
            sa = run.status("a")
            wait_until(lambda: sa.decoded > 10, "streaming")
            a.pause()
            wait_until(lambda: "stalled" in sa.states, "the stall to be detected")
            wait_until(lambda: bool(run.sink.of("a", "camera_offline")), "camera offline")
            a.resume()
            a.kill()
            a.start()
            wait_until(lambda: bool(run.sink.of("a", "camera_online")), "camera online")
        assert in_order(sa.states, "streaming", "stalled", "backoff", "connecting", "streaming")
        assert sa.stalls >= 1


def test_silent_server_is_offline_others_unaffected(clip: Path) -> None:
    """A server that accepts and never sends: open times out, retried forever, offline once."""
    silent = SilentServer()
    try:
        with FfmpegServer(clip) as b:
            cfg = make_config({"silent": f"tcp://127.0.0.1:{silent.port}", "b": b.url})
            with running(cfg) as run:
                s, sb = run.status("silent"), run.status("b")
                wait_until(lambda: s.reconnects >= 2, "two reconnection attempts")
                wait_until(lambda: bool(run.sink.of("silent", "camera_offline")), "offline")
                metrics = run.engine.metrics.exposition().decode()
                assert 'vsa_camera_state{camera="b",state="streaming"} 1.0' in metrics
                assert f'vsa_camera_reconnects_total{{camera="silent"}} {s.reconnects}' in (metrics)
                assert 'vsa_frames_decoded_total{camera="silent"} 0.0' in metrics
        assert silent.accepted >= 2
        assert s.decoded == 0
        assert "streaming" not in s.states
        # the offline event is closed when the engine stops, not left open forever
        assert [(e.type, e.state, e.reason) for e in run.sink.events] == [
            ("camera_offline", "open", run.sink.events[0].reason),
            ("camera_offline", "closed", "engine stopped while the camera was offline"),
        ]
        assert run.sink.events[1].id == run.sink.events[0].id
        assert sb.states == ["connecting", "streaming", "stopped"]
        assert sb.decoded > 0
    finally:
        silent.close()


def test_a_read_that_ignores_its_timeout_is_abandoned(ts_clip: Path) -> None:
    """The server sends half the stream, then nothing for a while on an open connection.

    The read timeout is long (30 s), so FFmpeg keeps waiting: the watchdog declares a stall,
    abandons the stuck thread and reconnects; when the stuck thread wakes up, its frames are
    dropped.
    """
    data = ts_clip.read_bytes()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    resumed = threading.Event()
    release = threading.Event()

    def answer(conn: socket.socket, first: bool) -> None:
        with contextlib.suppress(OSError), conn:
            if first:
                conn.sendall(data[: len(data) // 2])
                release.wait(60.0)  # the stuck read: until the test has seen it handled
                conn.sendall(data[len(data) // 2 :])
                resumed.set()
            else:
                conn.sendall(data)

    def serve() -> None:
        with contextlib.suppress(OSError):
            for n in range(1000):
                conn, _ = listener.accept()
                threading.Thread(target=answer, args=(conn, n == 0), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    slow = FAST.replace("read_timeout_s: 2", "read_timeout_s: 30")
    try:
        with running(make_config({"a": f"tcp://127.0.0.1:{port}"}, supervision=slow)) as run:
            sa = run.status("a")
            wait_until(lambda: sa.abandoned_threads >= 1, "the stuck thread to be abandoned")
            wait_until(lambda: in_order(sa.states, "stalled", "streaming"), "a fresh attempt")
            release.set()
            wait_until(resumed.is_set, "the server to resume the first connection")
            wait_until(
                lambda: not any(t.name == "decode-a-0" for t in threading.enumerate()),
                "the abandoned thread to end",
            )
            source = run.pipeline("a").source
            # every frame the source produced came from a current attempt
            assert source.stats.decoded == sa.decoded
    finally:
        listener.close()
    assert sa.stalls >= 1


def test_udp_sender_stops_and_comes_back(clip: Path) -> None:
    with FfmpegServer(clip, "udp") as a, running(make_config({"a": a.url})) as run:
        sa = run.status("a")
        wait_until(lambda: sa.decoded > 10, "streaming")
        a.kill()
        wait_until(lambda: bool(run.sink.of("a", "camera_offline")), "camera offline")
        then = sa.analysed
        a.start()
        wait_until(lambda: bool(run.sink.of("a", "camera_online")), "camera online")
        wait_until(lambda: sa.analysed > then + 5, "analysis resuming")


@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="needs the system Python")
def test_rtsp_server_killed_and_restarted() -> None:
    server = RtspServer()
    with server, running(make_config({"cam": server.url})) as run:
        s = run.status("cam")
        wait_until(lambda: s.decoded > 10, "RTSP streaming")
        server.kill()
        wait_until(lambda: bool(run.sink.of("cam", "camera_offline")), "camera offline")
        then = s.analysed
        server.start()
        wait_until(lambda: bool(run.sink.of("cam", "camera_online")), "camera online")
        wait_until(lambda: s.analysed > then + 5, "analysis resuming")
    assert in_order(s.states, "streaming", "backoff", "streaming") or in_order(
        s.states, "streaming", "stalled", "streaming"
    )


def test_corrupted_packets_do_not_stop_the_camera(clip: Path) -> None:
    relay = CorruptingRelay(clip, rate=1e-3)
    try:
        with running(make_config({"noisy": relay.url}, fps=25)) as run:
            s = run.status("noisy")
            wait_until(lambda: s.analysed > 100, "analysis of a noisy stream")
            assert relay.flipped > 100
            assert s.state == "streaming"
    finally:
        relay.close()
    assert run.sink.of("noisy", "camera_offline") == []


def serve_once(data: bytes) -> int:
    """A TCP server that sends ``data`` to its first client, then hangs up."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    return int(listener.getsockname()[1])


def test_resolution_change_mid_stream(tmp_path: Path, ts_clip: Path) -> None:
    small = tmp_path / "small.mp4"
    render("walkers", small, width=192, height=144, duration_s=4.0)
    data = ts_clip.read_bytes() + remux(small, tmp_path / "small.ts").read_bytes()
    port = serve_once(data)
    with running(make_config({"cam": f"tcp://127.0.0.1:{port}"}, fps=100)) as run:
        s = run.status("cam")
        wait_until(lambda: s.decoded >= 200, "both parts decoded")
        pipeline = run.pipeline("cam")
        wait_until(lambda: pipeline.slot.accepted == s.analysed + s.dropped, "analysis")
        detector = pipeline.analyzer.perception._detector
        assert detector is not None
        assert (detector.width, detector.height) == (192, 144)
    assert s.bad_frames == 0
    assert s.analysed > 50


def test_timestamp_jumps(tmp_path: Path, clip: Path, ts_clip: Path) -> None:
    """The clip, the clip again (time goes back to 0), then 1000 s later: time stays smooth."""
    later = remux(clip, tmp_path / "later.ts", "-output_ts_offset", "1000")
    data = ts_clip.read_bytes() * 2 + later.read_bytes()
    port = serve_once(data)
    with running(make_config({"cam": f"tcp://127.0.0.1:{port}"}, fps=100)) as run:
        s = run.status("cam")
        wait_until(lambda: s.decoded >= 300, "three parts decoded")
        pipeline = run.pipeline("cam")
        assert pipeline.source.stats.time_jumps >= 2
        last = pipeline.analyzer._last
        assert last is not None
        assert last.time_s < 30  # not 1000 s: the jump was absorbed
    assert s.bad_frames == 0
