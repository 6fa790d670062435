"""The HTTP server inside the daemon's (or the cluster console's) event loop: uvicorn serving
:func:`build_app` over an :class:`~vsa_stream.server.backend.ApiBackend`.

The daemon owns the signals (the engine drains its cameras on SIGINT / SIGTERM; the console
stops on them), so uvicorn's own signal handling is turned off; :meth:`ApiServer.stop` ends it
(a daemon's: once the engine has stopped).
The listening socket is bound by :meth:`ApiServer.bind` before the engine starts, so a port
that is taken fails the start at once, and ``port: 0`` gets a free port (tests).

With ``server.tls`` it serves HTTPS only (TLS 1.2 at least); the certificate and key are read
at :meth:`ApiServer.bind`, so a file that changed since the configuration was checked also fails
the start. A server bound to a non-loopback address without TLS logs a warning at every start:
its tokens and alerts cross the network in clear.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Generic, TypeVar

import anyio
import uvicorn
from prometheus_client import Gauge

from vsa_stream.errors import ConfigError
from vsa_stream.log import get_logger
from vsa_stream.server.app import build_app
from vsa_stream.server.backend import ApiBackend
from vsa_stream.server.hosts import is_loopback_host
from vsa_stream.tls import TlsFileError, server_context

__all__ = ["ApiServer", "monitor_loop_lag"]

B = TypeVar("B", bound=ApiBackend)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the engine handles SIGINT and SIGTERM


class ApiServer(Generic[B]):
    """Serves the API of ``backend`` on ``host:port`` until :meth:`stop` (HTTPS with
    ``backend.settings.tls``)."""

    def __init__(self, backend: B, host: str, port: int) -> None:
        self.backend = backend
        self.host = host
        self.port = port
        self.tls = backend.settings.tls
        self._socket: socket.socket | None = None
        tls = self.tls
        config = uvicorn.Config(
            build_app(backend),
            # our context (TLS 1.2 at least, Python's default ciphers), not uvicorn's
            ssl_context_factory=(lambda *_: server_context(tls.cert, tls.key)) if tls else None,
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
        """Read the TLS files and open the listening socket (``port`` 0: a free one, then
        stored in ``port``).

        Raises:
            ConfigError: the certificate or the key cannot be used (``server.tls.*``).
            OSError: the address cannot be bound.
        """
        if not self._server.config.loaded:
            try:
                self._server.config.load()
            except TlsFileError as exc:  # changed since the configuration was checked
                raise ConfigError(str(exc), path=f"server.tls.{exc.which}") from None
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
        """The base URL (``http://host:port``, ``https://`` with TLS)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    async def run(self) -> None:
        """Serve until :meth:`stop` (binds first if :meth:`bind` was not called)."""
        if self._socket is None:
            self.bind()
        assert self._socket is not None
        log = get_logger()
        name = self.backend.name
        log.info(f"{name} listening", url=self.url, tls=self.tls is not None)
        if self.tls is None and not is_loopback_host(self.host):
            log.warning(
                f"{name} served without TLS on a non-loopback address: its tokens and alerts "
                "cross the network in clear; set server.tls (cert, key)",
                host=self.host,
            )
        await self._server.serve(sockets=[self._socket])

    def stop(self) -> None:
        """End open event streams and shut the server down (from the event loop)."""
        self.backend.closing.set()
        self._server.should_exit = True


async def monitor_loop_lag(gauge: Gauge, interval_s: float = 0.25) -> None:
    """Measure how late the event loop wakes a sleeping task, forever, into ``gauge``."""
    while True:
        started = anyio.current_time()
        await anyio.sleep(interval_s)
        gauge.set(max(0.0, anyio.current_time() - started - interval_s))
