"""A small keep-alive HTTP/1.1 client for webhook POSTs, on asyncio's transports.

Webhook delivery sends many small POSTs to one origin and only needs the status and a few
headers of each answer. A general client (httpx) spends most of a request's CPU time in its
layers (request and response models, stream wrappers, a socket probe before each reuse); on a
small machine that was the limit of the whole delivery path. This client does only what
delivery needs:

- one request per connection at a time, each written with a single ``write``;
- at most ``max_connections`` connections, idle ones reused (most recent first) for
  ``keepalive_s`` and closed after;
- answers framed by ``Content-Length``, ``Transfer-Encoding: chunked`` or the end of the
  connection; interim ``1xx`` answers skipped; bodies read and discarded (at most
  ``max_body`` bytes), headers kept;
- ``https`` with certificate and host name checks (certifi's CA bundle, as httpx uses);
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
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

__all__ = ["Http1Client", "HttpError", "Response"]

_MAX_HEAD = 64 * 1024
_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _UNTIL_CLOSE, _DONE = range(8)


class HttpError(Exception):
    """The request failed before a complete answer: connection, protocol, or time-out."""


class _UnansweredError(HttpError):
    """The connection ended before a single byte of the answer."""


@dataclass(frozen=True, slots=True)
class Response:
    """A complete answer: status and headers (names lower case; repeated ones joined by ``,``)."""

    status: int
    headers: dict[str, str]


def _ssl_context() -> ssl.SSLContext:
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi comes with httpx
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


class _Connection(asyncio.Protocol):
    """One connection; parses the answer to the request in flight as bytes arrive."""

    def __init__(self, max_body: int, timeout_s: float) -> None:
        self.max_body = max_body
        self.timeout_s = timeout_s
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._buf = bytearray()
        self._waiter: asyncio.Future[Response] | None = None
        self._state = _DONE
        self._remaining = 0
        self._body = 0
        self._received = False
        self._response: Response | None = None
        self._keep_alive = False

    # --- asyncio callbacks --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            self.close()  # bytes nobody asked for: the connection is not usable any more
            return
        self._received = True
        self._buf += data
        try:
            self._parse()
        except HttpError as exc:
            self._fail(exc)

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is None or self._waiter.done():
            return
        if self._state == _UNTIL_CLOSE and self._response is not None:
            self._keep_alive = False
            self._finish()
        elif not self._received:
            self._waiter.set_exception(_UnansweredError("connection closed before any answer"))
        else:
            self._waiter.set_exception(HttpError("connection closed in the middle of the answer"))

    # --- one exchange -------------------------------------------------------------------

    async def exchange(self, request: bytes, deadline: float) -> Response:
        """Send ``request`` and wait for the complete answer until ``deadline`` (loop time)."""
        assert self.transport is not None
        if self.closed or self.transport.is_closing():
            raise _UnansweredError("connection already closed")
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Response] = loop.create_future()
        self._waiter = waiter
        timer = loop.call_at(deadline, self._time_out)
        self._buf.clear()
        self._state = _HEAD
        self._received = False
        self._response = None
        self._body = 0
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
        return self._keep_alive and not self.closed and not self._buf

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

    def _finish(self) -> None:
        self._state = _DONE
        if self._waiter is not None and not self._waiter.done() and self._response is not None:
            self._waiter.set_result(self._response)

    # --- the parser ---------------------------------------------------------------------

    def _parse(self) -> None:
        buf = self._buf
        while True:
            state = self._state
            if state == _HEAD:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > _MAX_HEAD:
                        raise HttpError("answer headers too large")
                    return
                head = bytes(buf[:end])
                del buf[: end + 4]
                self._head(head)
            elif state == _LENGTH:
                take = min(self._remaining, len(buf))
                del buf[:take]
                self._remaining -= take
                if self._remaining:
                    return
                self._finish()
            elif state == _CHUNK_SIZE:
                end = buf.find(b"\r\n")
                if end < 0:
                    if len(buf) > 1024:
                        raise HttpError("bad chunk size line")
                    return
                size_text = bytes(buf[:end]).split(b";", 1)[0].strip()
                del buf[: end + 2]
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise HttpError(f"bad chunk size {size_text[:20]!r}") from None
                if size < 0:
                    raise HttpError("bad chunk size")
                self._count_body(size)
                self._remaining = size
                self._state = _CHUNK_DATA if size else _TRAILERS
            elif state == _CHUNK_DATA:
                take = min(self._remaining, len(buf))
                del buf[:take]
                self._remaining -= take
                if self._remaining:
                    return
                self._state = _CHUNK_END
            elif state == _CHUNK_END:
                if len(buf) < 2:
                    return
                if buf[:2] != b"\r\n":
                    raise HttpError("chunk not followed by CRLF")
                del buf[:2]
                self._state = _CHUNK_SIZE
            elif state == _TRAILERS:
                end = buf.find(b"\r\n")
                if end < 0:
                    if len(buf) > _MAX_HEAD:
                        raise HttpError("answer trailers too large")
                    return
                del buf[: end + 2]
                if end == 0:
                    self._finish()
            elif state == _UNTIL_CLOSE:
                self._count_body(len(buf))
                buf.clear()
                return
            else:  # _DONE: anything more is not ours
                if buf:
                    self._keep_alive = False
                return

    def _count_body(self, size: int) -> None:
        self._body += size
        if self._body > self.max_body:
            raise HttpError(f"answer body larger than {self.max_body} bytes")

    def _head(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise HttpError(f"not an HTTP/1 answer: {lines[0][:60]!r}")
        status = int(parts[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise HttpError(f"bad header line {line[:60]!r}")
            name = name.lower()
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        if 100 <= status < 200:
            if status == 101:
                raise HttpError("unexpected protocol switch (101)")
            return  # interim answer: the final one follows
        connection = headers.get("connection", "").lower()
        if parts[0] == "HTTP/1.0":
            self._keep_alive = "keep-alive" in connection
        else:
            self._keep_alive = "close" not in connection
        self._response = Response(status, headers)
        coding = headers.get("transfer-encoding")
        length = headers.get("content-length")
        if status in (204, 304):
            self._finish()
        elif coding is not None:
            if coding.lower().rsplit(",", 1)[-1].strip() != "chunked":
                self._keep_alive = False
                self._state = _UNTIL_CLOSE
            else:
                self._state = _CHUNK_SIZE
        elif length is not None:
            values = {v.strip() for v in length.split(",")}
            if len(values) != 1 or not next(iter(values)).isdigit():
                raise HttpError(f"bad content-length {length[:40]!r}")
            self._remaining = int(values.pop())
            self._count_body(self._remaining)
            self._state = _LENGTH
        else:
            self._keep_alive = False
            self._state = _UNTIL_CLOSE


class Http1Client:
    """POSTs to one URL over kept-alive connections (see the module docstring).

    Args:
        url: ``http://`` or ``https://`` URL; user and password in it become basic auth.
        max_connections: connections (and requests in flight) at most.
        timeout_s: deadline of one request, connecting included.
        keepalive_s: an idle connection older than this is closed, not reused.
        headers: sent with every request.
        ssl_context: for ``https`` (default: certifi's CA bundle, host name checked).
        max_body: an answer body larger than this fails the request.

    Raises:
        ValueError: not an ``http`` or ``https`` URL with a host.
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
        self._ssl = (ssl_context or _ssl_context()) if parts.scheme == "https" else None
        fixed = [("host", self.host_header), *headers]
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            fixed.append(("authorization", "Basic " + base64.b64encode(pair.encode()).decode()))
        self._prefix = (
            f"POST {self.target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fixed)
        ).encode("latin-1")
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
                not HTTP/1, time-out).
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
                response = await conn.exchange(request, deadline)
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
        """Close every idle connection; requests in flight close theirs when they end."""
        self._closed = True
        while self._idle:
            self._idle.pop().close()
