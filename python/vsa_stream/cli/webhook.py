"""``vsa-stream webhook verify``: check one webhook's signature, the way a receiver would."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from vsa_stream.webhook_signature import SignatureError, verify

__all__ = ["parse_headers", "verify_command"]


def parse_headers(text: str) -> dict[str, str]:
    """The headers of an HTTP header block (a status line and blank lines are skipped), with
    lower-case names.

    Example:
        >>> parse_headers("HTTP/1.1 200 OK\\r\\nWebhook-Id: a-1\\r\\nwebhook-timestamp: 7\\r\\n")
        {'webhook-id': 'a-1', 'webhook-timestamp': '7'}
    """
    headers: dict[str, str] = {}
    for line in text.splitlines():
        name, colon, value = line.partition(":")
        if colon and name.strip() and " " not in name.strip():
            headers[name.strip().lower()] = value.strip()
    return headers


def verify_command(args: argparse.Namespace) -> int:
    """Exit status 0 when the signature is valid, 1 when not, 2 on a usage error."""
    secrets = args.secret or (
        [os.environ["VSA_WEBHOOK_SECRET"]] if os.environ.get("VSA_WEBHOOK_SECRET") else []
    )
    if not secrets:
        print("error: give --secret (or set VSA_WEBHOOK_SECRET)", file=sys.stderr)
        return 2
    headers: dict[str, str] = {}
    if args.headers is not None:
        try:
            headers = parse_headers(Path(args.headers).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            print(f"error: cannot read headers: {exc}", file=sys.stderr)
            return 2
    values = {
        "webhook-id": args.id or headers.get("webhook-id"),
        "webhook-timestamp": args.timestamp or headers.get("webhook-timestamp"),
        "webhook-signature": args.signature or headers.get("webhook-signature"),
    }
    missing = [name for name, value in values.items() if not value]
    if missing:
        print(f"error: missing {', '.join(missing)} (options or --headers)", file=sys.stderr)
        return 2
    try:
        body = sys.stdin.buffer.read() if args.body == "-" else Path(args.body).read_bytes()
    except OSError as exc:
        print(f"error: cannot read body: {exc}", file=sys.stderr)
        return 2
    tolerance = args.tolerance if args.tolerance > 0 else float("inf")
    try:
        verify(
            secrets,
            str(values["webhook-id"]),
            str(values["webhook-timestamp"]),
            str(values["webhook-signature"]),
            body,
            tolerance_s=tolerance,
        )
    except SignatureError as exc:
        print(f"invalid: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: bad secret: {exc}", file=sys.stderr)
        return 2
    print(f"valid: webhook {values['webhook-id']} is signed by a given secret")
    return 0
