"""Servers on loopback for the fault-injection tests and the soak bench.

Real servers that are not ours: Debian's ``ffmpeg`` serving MPEG-TS over HTTP or UDP,
GStreamer's RTSP server (``tests/support/rtsp_server.py``, run by the system Python), plus two small
Python servers for faults no real server produces on demand: one that accepts and never
sends, and a relay that flips bytes of an ffmpeg MPEG-TS stream.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Self

__all__ = [
    "CorruptingRelay",
    "FfmpegServer",
    "RtspServer",
    "SilentServer",
    "free_port",
    "wait_for_port",
]

RTSP_SERVER = Path(__file__).resolve().parent / "rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port nobody listens on now (TCP by default)."""
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    """Block until something listens on TCP ``port`` (a hang guard, not a speed check).

    Reads ``/proc/net/tcp`` rather than connecting: a probe connection would be the one client
    an ``ffmpeg -listen 1`` server serves. A connection already accepted on the port counts
    too (a camera retrying fast may be accepted before this looks).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _listening(port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


def _listening(port: int) -> bool:
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if fields[3] in ("0A", "01") and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    return True
    return False


class _Process:
    """A server process that can be killed, paused and started again on the same port."""

    proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
        )

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.resume()
        self.kill()


class FfmpegServer(_Process):
    """``ffmpeg -re -stream_loop -1 -i VIDEO -c copy -f mpegts`` to HTTP (listening) or UDP.

    An HTTP server serves one client: when that client goes away, ffmpeg exits, like a camera
    that reboots; :meth:`ensure_running` starts it again.
    """

    def __init__(self, video: Path, protocol: str = "http", port: int | None = None) -> None:
        if shutil.which("ffmpeg") is None:
            raise RuntimeError("ffmpeg is not installed (Debian package ffmpeg)")
        self.video = video
        self.protocol = protocol
        self.port = port or free_port(
            socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
        )

    @property
    def url(self) -> str:
        """Where a camera reads the stream."""
        if self.protocol == "udp":
            return f"udp://127.0.0.1:{self.port}?fifo_size=1000000&overrun_nonfatal=1"
        return f"http://127.0.0.1:{self.port}/cam.ts"

    def command(self) -> list[str]:
        out = (
            f"udp://127.0.0.1:{self.port}?pkt_size=1316"
            if self.protocol == "udp"
            else f"http://127.0.0.1:{self.port}/cam.ts"
        )
        listen = [] if self.protocol == "udp" else ["-listen", "1"]
        return [
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "quiet",
            "-re", "-stream_loop", "-1", "-i", str(self.video),
            "-c", "copy", "-f", "mpegts", *listen, out,
        ]  # fmt: skip

    def start(self) -> None:
        super().start()
        if self.protocol == "http":
            wait_for_port(self.port)

    def ensure_running(self) -> None:
        """Start the server again if it exited (its client went away)."""
        if self.proc is None or self.proc.poll() is not None:
            self.proc = None
            self.start()


class RtspServer(_Process):
    """GStreamer's RTSP server with a live test pattern at ``rtsp://127.0.0.1:PORT/cam``."""

    def __init__(self, port: int | None = None, size: str = "320x240") -> None:
        self.port = port or free_port()
        self.size = size

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam"

    def command(self) -> list[str]:
        return [SYSTEM_PYTHON, str(RTSP_SERVER), str(self.port), self.size]

    def start(self) -> None:
        super().start()
        wait_for_port(self.port)


class SilentServer:
    """Accepts TCP connections and never sends a byte (until closed)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.accepted = 0
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.listener.accept()
                self._conns.append(conn)
                self.accepted += 1

    def close(self) -> None:
        self.listener.close()
        for conn in self._conns:
            conn.close()


class CorruptingRelay:
    """Serves ffmpeg's looping MPEG-TS output over TCP, flipping bytes at ``rate``.

    The TS packet headers (sync byte, PIDs) are spared only by chance, as on a noisy link.
    """

    def __init__(self, video: Path, rate: float, seed: int = 0) -> None:
        self.video = video
        self.rate = rate
        self.random = random.Random(seed)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.flipped = 0
        self._procs: list[subprocess.Popen[bytes]] = []
        self._closed = False
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while not self._closed:
                conn, _ = self.listener.accept()
                threading.Thread(target=self._relay, args=(conn,), daemon=True).start()

    def _relay(self, conn: socket.socket) -> None:
        command = [
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "quiet",
            "-re", "-stream_loop", "-1", "-i", str(self.video),
            "-c", "copy", "-f", "mpegts", "pipe:1",
        ]  # fmt: skip
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, bufsize=0
        )
        self._procs.append(proc)
        assert proc.stdout is not None
        with conn, contextlib.suppress(OSError):
            while chunk := proc.stdout.read(16384):
                data = bytearray(chunk)
                flips = _binomial(self.random, len(data), self.rate)
                for _ in range(flips):
                    data[self.random.randrange(len(data))] ^= 1 << self.random.randrange(8)
                self.flipped += flips
                conn.sendall(data)
        proc.kill()
        proc.wait()

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        for proc in self._procs:
            proc.kill()
            proc.wait()


def _binomial(rng: random.Random, n: int, p: float) -> int:
    """How many of ``n`` bytes to flip: the expected count, rounded at random."""
    expected = n * p
    whole = int(expected)
    return whole + (rng.random() < expected - whole)
