"""A threaded HTTP server on loopback answering each request with the bytes a test scripts."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

CLOSE = b"<close>"  # close the connection (alone: without answering; at the end: after)
HANG = b"<hang>"  # never answer


@dataclass
class Seen:
    """What the server saw: each request (connection number, head, body) and connections."""

    requests: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    connections: int = 0
    url: str = ""
    port: int = 0


# (request number over all connections, request number on its connection) -> raw answer
Script = Callable[[int, int], bytes]


def _read_request(conn: socket.socket, buf: bytearray) -> tuple[dict[str, str], bytes] | None:
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
    end = buf.index(b"\r\n\r\n")
    lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
    del buf[: end + 4]
    headers = {"request-line": lines[0]}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(buf) < length:
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
    body = bytes(buf[:length])
    del buf[:length]
    return headers, body


@contextmanager
def server(script: Script, *, tls: ssl.SSLContext | None = None) -> Iterator[Seen]:
    """A threaded server on 127.0.0.1 answering each request with ``script``'s bytes."""
    seen = Seen()
    lock = threading.Lock()
    listener = socket.create_server(("127.0.0.1", 0))
    seen.port = listener.getsockname()[1]
    seen.url = f"{'https' if tls else 'http'}://127.0.0.1:{seen.port}/hook"
    stop = threading.Event()
    conns: list[socket.socket] = []

    def handle(conn: socket.socket, number: int) -> None:
        buf = bytearray()
        on_conn = 0
        with conn:
            while not stop.is_set():
                try:
                    got = _read_request(conn, buf)
                except OSError:
                    return
                if got is None:
                    return
                with lock:
                    index = len(seen.requests)
                    seen.requests.append((number, *got))
                answer = script(index, on_conn)
                on_conn += 1
                if answer.endswith(CLOSE):
                    conn.sendall(answer[: -len(CLOSE)])
                    return
                if answer == HANG:
                    stop.wait()
                    return
                conn.sendall(answer)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                if tls is not None:
                    conn = tls.wrap_socket(conn, server_side=True)
            except OSError:
                continue
            with lock:
                seen.connections += 1
                number = seen.connections
                conns.append(conn)
            threading.Thread(target=handle, args=(conn, number), daemon=True).start()

    listener.settimeout(0.1)
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join()
        listener.close()
        for conn in conns:
            conn.close()


def no_content(_: int, __: int) -> bytes:
    return b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"
