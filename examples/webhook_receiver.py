#!/usr/bin/env python3
"""A minimal vsa-stream webhook receiver that verifies signatures (standard library only).

    WEBHOOK_SECRET=whsec_... python3 examples/webhook_receiver.py --port 8000

Each verified alert is printed on standard output as ``<webhook-id> <type> <camera>``; a
request with a bad or stale signature gets 401 and a line on standard error. A webhook-id seen
before is acknowledged and skipped (vsa-stream delivers at least once: after a crash a revision
can come twice, always with the same webhook-id). Several secrets (space-separated in
WEBHOOK_SECRET) are accepted while they are rotated.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_S = 300


def key_of(secret: str) -> bytes:
    if not secret.startswith("whsec_"):
        raise SystemExit("a secret starts with whsec_")
    return base64.b64decode(secret[len("whsec_") :])


def check(keys: list[bytes], headers: dict[str, str], body: bytes) -> str | None:
    """None when the request is authentic, else the reason it is not."""
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "").split()
    if not (msg_id and stamp.isdigit() and signatures):
        return "missing webhook headers"
    if abs(time.time() - int(stamp)) > TOLERANCE_S:
        return "timestamp too old or too new"
    signed = f"{msg_id}.{stamp}.".encode() + body
    for key in keys:
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        for given in signatures:
            version, _, value = given.partition(",")
            if version == "v1" and hmac.compare_digest(expected, value):
                return None
    return "no valid signature"


class Server(ThreadingHTTPServer):
    # vsa-stream keeps up to 16 deliveries in flight per sink (several sinks may share this
    # receiver): the standard library's backlog of 5 would reset connections.
    request_queue_size = 128
    daemon_threads = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--secret", action="append", help="whsec_ secret (default: $WEBHOOK_SECRET)"
    )
    args = parser.parse_args()
    secrets = args.secret or os.environ.get("WEBHOOK_SECRET", "").split()
    if not secrets:
        raise SystemExit("give --secret or set WEBHOOK_SECRET")
    keys = [key_of(s) for s in secrets]
    seen: set[str] = set()
    # Requests are handled in threads: one lock makes "seen before?" and the printed line one
    # step, so a revision delivered twice at once is printed once and lines never interleave.
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            problem = check(keys, headers, body)
            if problem is not None:
                print(f"refused: {problem}", file=sys.stderr, flush=True)
                self.send_response(401)
            else:
                msg_id = headers["webhook-id"]
                event = json.loads(body)["data"]
                with lock:
                    if msg_id not in seen:
                        seen.add(msg_id)
                        sys.stdout.write(f"{msg_id} {event['type']} {event['camera_id']}\n")
                        sys.stdout.flush()
                self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = Server((args.host, args.port), Handler)
    print(f"listening on http://{args.host}:{args.port}/", file=sys.stderr, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
