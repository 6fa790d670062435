"""A real HTTP webhook receiver on loopback for the tests: records and verifies every request."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec

from vsa_stream.webhook_signature import SignatureError, verify

__all__ = ["Delivery", "Receiver", "receiver"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One request as received."""

    webhook_id: str
    timestamp: str
    signature: str
    body: bytes
    valid: bool
    status: int

    @property
    def event(self) -> dict[str, object]:
        data: dict[str, object] = msgspec.json.decode(self.body)["data"]
        return data


Answer = Callable[[Delivery], tuple[int, dict[str, str]]]


def _ok(_: Delivery) -> tuple[int, dict[str, str]]:
    return 204, {}


@dataclass
class Receiver:
    """What the server saw; ``answer`` decides each response (status, headers)."""

    secrets: list[str]
    answer: Answer = _ok
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)
    url: str = ""

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    def wait_for(self, n: int, timeout: float = 60.0) -> bool:
        """Wait until ``n`` requests arrived (False on timeout)."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.deliveries) >= n, timeout)

    def snapshot(self) -> list[Delivery]:
        with self.lock:
            return list(self.deliveries)


@contextmanager
def receiver(secrets: list[str], answer: Answer = _ok) -> Iterator[Receiver]:
    """A threaded HTTP server on 127.0.0.1 (a free port), stopped on exit."""
    state = Receiver(secrets, answer)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            if len(body) < length:  # the sender died mid-request: nothing was delivered
                self.close_connection = True
                return
            wid = self.headers.get("webhook-id", "")
            ts = self.headers.get("webhook-timestamp", "")
            sig = self.headers.get("webhook-signature", "")
            try:
                verify(state.secrets, wid, ts, sig, body)
                valid = True
            except SignatureError:
                valid = False
            status, headers = state.answer(Delivery(wid, ts, sig, body, valid, 0))
            delivery = Delivery(wid, ts, sig, body, valid, status)
            with state.arrived:
                state.deliveries.append(delivery)
                state.arrived.notify_all()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
