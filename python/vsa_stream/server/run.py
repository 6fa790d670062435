"""The HTTP server inside the daemon's event loop: uvicorn serving :func:`build_app`.

The daemon owns the signals (the engine drains its cameras on SIGINT / SIGTERM), so uvicorn's
own signal handling is turned off; :meth:`ApiServer.stop` ends it once the engine has stopped.
The listening socket is bound by :meth:`ApiServer.bind` before the engine starts, so a port
that is taken fails the start at once, and ``port: 0`` gets a free port (tests).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import anyio
import uvicorn
from prometheus_client import Gauge

from vsa_stream.log import get_logger
from vsa_stream.server.app import ApiContext, build_app

__all__ = ["ApiServer", "monitor_loop_lag"]


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the engine handles SIGINT and SIGTERM


class ApiServer:
    """Serves the API of ``ctx`` on ``host:port`` until :meth:`stop`."""

    def __init__(self, ctx: ApiContext, host: str, port: int) -> None:
        self.ctx = ctx
        self.host = host
        self.port = port
        self._socket: socket.socket | None = None
        config = uvicorn.Config(
            build_app(ctx),
            log_config=None,
            access_log=False,
            lifespan="off",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=2,
            server_header=False,
        )
        self._server = _Server(config)

    def bind(self) -> None:
        """Open the listening socket (``port`` 0: a free one, then stored in ``port``).

        Raises:
            OSError: the address cannot be bound.
        """
        family, kind, proto, _, address = socket.getaddrinfo(
            self.host.strip("[]"), self.port, type=socket.SOCK_STREAM
        )[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._socket = sock
        self.port = int(sock.getsockname()[1])

    @property
    def url(self) -> str:
        """The base URL (``http://host:port``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def run(self) -> None:
        """Serve until :meth:`stop` (binds first if :meth:`bind` was not called)."""
        if self._socket is None:
            self.bind()
        assert self._socket is not None
        get_logger().info("http api listening", url=self.url)
        await self._server.serve(sockets=[self._socket])

    def stop(self) -> None:
        """End open event streams and shut the server down (from the event loop)."""
        self.ctx.closing.set()
        self._server.should_exit = True


async def monitor_loop_lag(gauge: Gauge, interval_s: float = 0.25) -> None:
    """Measure how late the event loop wakes a sleeping task, forever, into ``gauge``."""
    while True:
        started = anyio.current_time()
        await anyio.sleep(interval_s)
        gauge.set(max(0.0, anyio.current_time() - started - interval_s))
