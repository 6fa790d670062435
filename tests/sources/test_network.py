"""Network sources against real servers on loopback: HTTP, TCP and UDP MPEG-TS streams.

(RTSP needs an RTSP server that is not ours; the reliability suite brings one.)
"""

from __future__ import annotations

import functools
import http.server
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from authorised import authorised
from vsa_stream import config
from vsa_stream.engine import Engine, EngineResult
from vsa_stream.sources import VideoSource
from vsa_stream.synth import render


@pytest.fixture(scope="module")
def ts_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("net") / "walkers.ts"
    render("walkers", path, width=320, height=180, duration_s=2.0)
    return path


def decode_all(url: str, limit: int = 10_000) -> list[float]:
    stop = threading.Event()
    times = []
    for frame in VideoSource(url, open_timeout_s=5, read_timeout_s=5).frames(stop):
        assert frame.luma.shape == (180, 320)
        times.append(frame.time_s)
        if len(times) >= limit:
            stop.set()
    return times


def test_http_stream(ts_clip: Path) -> None:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(ts_clip.parent))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        times = decode_all(f"http://127.0.0.1:{port}/{ts_clip.name}")
    finally:
        server.shutdown()
        server.server_close()
    assert len(times) == 50
    assert times == sorted(times)


@pytest.fixture
def tcp_server(ts_clip: Path) -> Iterator[int]:
    listener = socket.create_server(("127.0.0.1", 0))
    data = ts_clip.read_bytes()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    listener.close()


def test_tcp_stream(tcp_server: int) -> None:
    times = decode_all(f"tcp://127.0.0.1:{tcp_server}")
    assert len(times) == 50


def test_udp_stream(ts_clip: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = ts_clip.read_bytes()
    stop_sending = threading.Event()

    def send() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            while not stop_sending.is_set():  # a live multicast-like feed, sent in a loop
                for i in range(0, len(data), 1316):  # 7 TS packets per datagram
                    sock.sendto(data[i : i + 1316], ("127.0.0.1", port))
                    if i % (1316 * 20) == 0:
                        time.sleep(0.002)
                    if stop_sending.is_set():
                        return

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        times = decode_all(f"udp://127.0.0.1:{port}?fifo_size=100000&overrun_nonfatal=1", 30)
    finally:
        stop_sending.set()
        sender.join(timeout=5)
    assert len(times) == 30


@pytest.mark.anyio
async def test_a_live_stream_that_ends_is_reconnected(ts_clip: Path) -> None:
    """The server sends the clip and hangs up, twice: the camera reconnects after a backoff."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    data = await anyio.Path(ts_clip).read_bytes()
    served: list[float] = []

    def serve() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            served.append(time.monotonic())
            with conn:
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    cfg = config.loads(
        f"cameras: [{{id: live, url: 'tcp://127.0.0.1:{port}', fps: 100}}]\n" + authorised(["live"])
    )
    engine = Engine(cfg, [])
    results: list[EngineResult] = []

    async def run() -> None:
        results.append(await engine.run(handle_signals=False))

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            with anyio.fail_after(30):
                # Polls state the engine's threads update (no event to await); fail_after bounds it.
                while engine.result.cameras == [] and (  # noqa: ASYNC110
                    len(served) < 2 or engine._pipelines[0].source.stats.decoded < 100
                ):
                    await anyio.sleep(0.05)
            engine.stop()
    finally:
        listener.close()
    (result,) = results
    (status,) = result.cameras
    assert status.state == "stopped"
    assert status.decoded == 100  # both connections' frames
    # a live stream keeps only its newest frame: what analysis did not take was dropped
    assert status.analysed + status.dropped == 100
    assert status.analysed > 10
    assert served[1] - served[0] >= 0.8  # waited (1 s +- 20 % jitter) before reconnecting
