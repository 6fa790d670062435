"""A small keep-alive HTTP/1.1 client for webhook POSTs, on asyncio's transports.

Webhook delivery sends many small POSTs to one origin and only needs the status and a few
headers of each answer. A general client (httpx) spends most of a request's CPU time in its
layers (request and response models, stream wrappers, a socket probe before each reuse); on a
small machine that was the limit of the whole delivery path. This client does only what
delivery needs, and leaves reading and checking answers to h11, a maintained sans-I/O HTTP/1.1
implementation (uvicorn's):

- one request per connection at a time, each written with a single ``write`` of bytes this
  client formats (its target and fixed headers checked by h11 once, when the client is made;
  the per-request headers are the caller's: webhook ids, times and signatures). h11 follows
  each exchange from a request event with the same method, target and host and no body: the
  framing of an answer depends only on the request's method and on whether it asked to close,
  and formatting every request through h11 doubled the client's CPU time per request;
- at most ``max_connections`` connections, idle ones reused (most recent first) for
  ``keepalive_s`` and closed after;
- answers framed by ``Content-Length``, ``Transfer-Encoding: chunked`` or the end of the
  connection; interim ``1xx`` answers skipped; bodies read and discarded (at most
  ``max_body`` bytes), headers kept; an answer h11 finds malformed (or another transfer
  coding than chunked) fails the request with :class:`HttpError`;
- ``https`` with certificate and host name checks (the system's CA store by default, see
  :func:`vsa_stream.tls.client_context`);
- connecting to addresses given by the caller (the SSRF guard's, so that the address checked is
  the address used), or to the URL's host;
- a POST on a reused connection that the server closed before answering anything is sent once
  more on a new connection (the server had not read it; every request carries a stable id);
- one deadline for a whole request (connecting, sending, answer), ``timeout_s``.

It runs on asyncio (anyio's default backend, the daemon's).
Proxies are not used (``HTTP(S)_PROXY`` is ignored): the connection goes to the URL's host.

Example:
    >>> client = Http1Client("http://127.0.0.1:9/hook?a=1", max_connections=2)
    >>> client.host_header, client.target
    ('127.0.0.1:9', '/hook?a=1')
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import h11

from vsa_stream.tls import client_context

__all__ = ["Http1Client", "HttpError", "Response"]

# The largest answer head (status line and headers) read.
_MAX_HEAD = 64 * 1024
# How long closing waits for an idle connection to end.
_CLOSE_S = 1.0


class HttpError(Exception):
    """The request failed before a complete answer: connection, protocol, or time-out."""


class _UnansweredError(HttpError):
    """The connection ended before a single byte of the answer."""


@dataclass(frozen=True, slots=True)
class Response:
    """A complete answer: status and headers (names lower case; repeated ones joined by ``,``)."""

    status: int
    headers: dict[str, str]


class _Connection(asyncio.Protocol):
    """One connection; h11 parses the answer to the request in flight as bytes arrive."""

    def __init__(self, max_body: int, timeout_s: float) -> None:
        self.max_body = max_body
        self.timeout_s = timeout_s
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        #: Set once the connection is gone (a TLS one needs the loop to say goodbye).
        self.lost = asyncio.Event()
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD)
        self._waiter: asyncio.Future[Response] | None = None
        self._body = 0
        self._received = False
        self._response: Response | None = None

    # --- asyncio callbacks --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            self.close()  # bytes nobody asked for: the connection is not usable any more
            return
        self._received = True
        self._h11.receive_data(data)
        self._read()

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.lost.set()
        if self._waiter is None or self._waiter.done():
            return
        if not self._received:
            self._waiter.set_exception(_UnansweredError("connection closed before any answer"))
            return
        self._h11.receive_data(b"")  # an answer framed by the end of the connection ends here
        self._read()
        if not self._waiter.done():
            self._waiter.set_exception(HttpError("connection closed in the middle of the answer"))

    # --- one exchange -------------------------------------------------------------------

    async def exchange(self, request: bytes, follow: h11.Request, deadline: float) -> Response:
        """Send ``request`` and wait for the complete answer until ``deadline`` (loop time);
        ``follow``: the request as h11 is told of it (see the module docstring)."""
        assert self.transport is not None
        if self.closed or self.transport.is_closing():
            raise _UnansweredError("connection already closed")
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Response] = loop.create_future()
        self._waiter = waiter
        timer = loop.call_at(deadline, self._time_out)
        self._received = False
        self._response = None
        self._body = 0
        conn = self._h11
        if conn.our_state is h11.DONE:
            conn.start_next_cycle()  # only reached when both sides allowed it: see reusable
        conn.send(follow)
        conn.send(_END)
        self.transport.write(request)
        try:
            return await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def _time_out(self) -> None:
        self._fail(HttpError(f"no complete answer within {self.timeout_s:g} s"))

    @property
    def reusable(self) -> bool:
        """Both sides finished the exchange, kept the connection alive, and nothing is left."""
        conn = self._h11
        return (
            not self.closed
            and conn.our_state is h11.DONE
            and conn.their_state is h11.DONE
            and not conn.trailing_data[0]
        )

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, exc: HttpError) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        self.close()

    # --- the answer ---------------------------------------------------------------------

    def _read(self) -> None:
        """Take h11's events until it needs more bytes; the final one completes the waiter."""
        try:
            while self._next(self._h11.next_event()):
                pass
        except h11.RemoteProtocolError as exc:
            self._fail(HttpError(f"malformed HTTP/1.1 answer: {exc}"))
        except HttpError as exc:
            self._fail(exc)

    def _next(self, event: Any) -> bool:
        """Handle one event of h11; False when there is nothing more to take now."""
        if event is h11.NEED_DATA or event is h11.PAUSED:
            return False
        if isinstance(event, h11.Data):
            self._body += len(event.data)
            if self._body > self.max_body:
                raise HttpError(f"answer body larger than {self.max_body} bytes")
        elif isinstance(event, h11.Response):
            headers: dict[str, str] = {}
            for raw_name, raw_value in event.headers:
                name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            self._response = Response(event.status_code, headers)
        elif isinstance(event, h11.InformationalResponse):
            if event.status_code == 101:
                raise HttpError("unexpected protocol switch (101)")
            # an interim answer (100 Continue, 103 Early Hints): the final one follows
        elif isinstance(event, h11.EndOfMessage):
            if self._waiter is not None and not self._waiter.done():
                assert self._response is not None
                self._waiter.set_result(self._response)
            return False
        elif isinstance(event, h11.ConnectionClosed):
            raise HttpError("connection closed in the middle of the answer")
        return True


_END = h11.EndOfMessage()


class Http1Client:
    """POSTs to one URL over kept-alive connections (see the module docstring).

    Args:
        url: ``http://`` or ``https://`` URL; user and password in it become basic auth.
        max_connections: connections (and requests in flight) at most.
        timeout_s: deadline of one request, connecting included.
        keepalive_s: an idle connection older than this is closed, not reused.
        headers: sent with every request.
        ssl_context: for ``https`` (default: the system's CA store, host name checked).
        max_body: an answer body larger than this fails the request.

    Raises:
        ValueError: not an ``http`` or ``https`` URL with a host, or a target or header that
            HTTP/1.1 does not allow.
    """

    def __init__(
        self,
        url: str,
        *,
        max_connections: int = 4,
        timeout_s: float = 15.0,
        keepalive_s: float = 4.0,
        headers: Sequence[tuple[str, str]] = (),
        ssl_context: ssl.SSLContext | None = None,
        max_body: int = 1 << 20,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {parts.scheme}://{parts.hostname or ''}")
        self.hostname = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.host_header = parts.netloc.rpartition("@")[2]
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.timeout_s = timeout_s
        self.keepalive_s = keepalive_s
        self.max_body = max_body
        self._ssl = (ssl_context or client_context()) if parts.scheme == "https" else None
        fixed = [("host", self.host_header), *headers]
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            fixed.append(("authorization", "Basic " + base64.b64encode(pair.encode()).decode()))
        self._prefix = (
            f"POST {self.target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fixed)
        ).encode("latin-1")
        try:  # h11 checks the target and the fixed headers once
            self._follow = h11.Request(
                method=b"POST",
                target=self.target.encode("latin-1"),
                headers=[(k, v) for k, v in fixed] + [("content-length", "0")],
            )
        except h11.LocalProtocolError as exc:
            raise ValueError(f"cannot send to this URL with these headers: {exc}") from None
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(max(1, max_connections))
        self._closed = False

    async def post(
        self,
        body: bytes,
        headers: Sequence[tuple[str, str]] = (),
        *,
        addresses: Sequence[str] | None = None,
    ) -> Response:
        """POST ``body`` with ``headers``; returns the answer, whatever its status.

        ``addresses``: connect to these (in order, the first that answers) rather than
        resolving the URL's host; the ``Host`` header and the TLS name stay the URL's.

        Raises:
            HttpError: no complete answer within ``timeout_s`` (connection refused or lost,
                a malformed answer, time-out).
        """
        if self._closed:
            raise HttpError("client closed")
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers)
        request = b"".join(
            (
                self._prefix,
                f"{extra}content-length: {len(body)}\r\n\r\n".encode("latin-1"),
                body,
            )
        )
        async with self._slots:
            loop = asyncio.get_running_loop()
            return await self._send(request, addresses, loop.time() + self.timeout_s)

    async def _send(
        self, request: bytes, addresses: Sequence[str] | None, deadline: float
    ) -> Response:
        for _ in range(2):
            conn = self._reuse()
            reused = conn is not None
            if conn is None:
                conn = await self._connect(addresses, deadline)
            done = False
            try:
                response = await conn.exchange(request, self._follow, deadline)
                done = True
            except _UnansweredError:
                if reused:
                    continue  # the server had closed it: once more on a new connection
                raise
            finally:
                if not done:
                    conn.abort()
            if conn.reusable and not self._closed:
                conn.idle_since = time.monotonic()
                self._idle.append(conn)
            else:
                conn.close()
            return response
        raise HttpError("connection closed before any answer")  # pragma: no cover

    def _reuse(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed and now - conn.idle_since < self.keepalive_s:
                return conn
            conn.close()
        return None

    async def _connect(self, addresses: Sequence[str] | None, deadline: float) -> _Connection:
        loop = asyncio.get_running_loop()
        errors: list[str] = []
        for host in addresses or (self.hostname,):
            try:
                _, conn = await asyncio.wait_for(
                    loop.create_connection(
                        lambda: _Connection(self.max_body, self.timeout_s),
                        host,
                        self.port,
                        ssl=self._ssl,
                        server_hostname=self.hostname if self._ssl is not None else None,
                    ),
                    max(0.0, deadline - loop.time()),
                )
            except TimeoutError:
                raise HttpError(f"no connection within {self.timeout_s:g} s") from None
            except OSError as exc:  # ssl.SSLError is an OSError
                errors.append(f"{host}: {exc}")
                continue
            return conn
        raise HttpError(f"cannot connect to {self.hostname}:{self.port}: {'; '.join(errors)}")

    async def aclose(self) -> None:
        """Close every idle connection (a TLS one is given a second to end cleanly);
        requests in flight close theirs when they end."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        for conn in idle:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(conn.lost.wait(), _CLOSE_S)
            conn.abort()
