"""Standard Webhooks signatures (https://www.standardwebhooks.com), standard library only.

A request carries ``webhook-id`` (stable across retries), ``webhook-timestamp`` (Unix seconds
of the attempt) and ``webhook-signature``: space-separated ``v1,<base64 HMAC-SHA256>`` of
``"{id}.{timestamp}.{body}"``, one per secret while secrets are rotated. A secret is
``whsec_`` followed by the base64 of the key (24 to 64 bytes).

Example:
    >>> secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    >>> header = sign([secret], "0190-1", 1700000000, b'{"a":1}')
    >>> header.startswith("v1,")
    True
    >>> verify([secret], "0190-1", "1700000000", header, b'{"a":1}', now=1700000010)
    >>> verify([secret], "0190-1", "1700000000", header, b'{"a":2}', now=1700000010)
    Traceback (most recent call last):
    ...
    vsa_stream.webhook_signature.SignatureError: no signature matches (1 given, 1 secret tried)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Sequence

__all__ = ["DEFAULT_TOLERANCE_S", "SignatureError", "Signer", "parse_secret", "sign", "verify"]

#: How old (or how far in the future) a timestamp may be before a signature is refused.
DEFAULT_TOLERANCE_S = 300.0
_PREFIX = "whsec_"


class SignatureError(ValueError):
    """A webhook that must not be trusted; the message says why."""


def parse_secret(secret: str) -> bytes:
    """The key of a ``whsec_`` secret.

    Raises:
        ValueError: not ``whsec_`` + base64 of 24 to 64 bytes.
    """
    if not secret.startswith(_PREFIX):
        raise ValueError("a webhook secret starts with whsec_ followed by base64")
    try:
        key = base64.b64decode(secret[len(_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the part after whsec_ is not valid base64") from None
    if not 24 <= len(key) <= 64:
        raise ValueError(f"a webhook key must be 24 to 64 bytes, this one has {len(key)}")
    return key


def _signature(key: bytes, msg_id: str, timestamp: int | str, body: bytes) -> str:
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def sign(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: one ``v1,`` signature per secret."""
    return Signer(secrets)(msg_id, timestamp, body)


class Signer:
    """:func:`sign` for a fixed set of secrets, parsed and keyed once (a sender signs many).

    Raises:
        ValueError: a secret is malformed.

    Example:
        >>> secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
        >>> signer = Signer([secret])
        >>> signer("0190-1", 1700000000, b"{}") == sign([secret], "0190-1", 1700000000, b"{}")
        True
    """

    def __init__(self, secrets: Sequence[str]) -> None:
        self._macs = [hmac.new(parse_secret(s), digestmod=hashlib.sha256) for s in secrets]

    def __call__(self, msg_id: str, timestamp: int, body: bytes) -> str:
        """The ``webhook-signature`` header of one message."""
        head = f"{msg_id}.{timestamp}.".encode()
        parts = []
        for keyed in self._macs:
            mac = keyed.copy()
            mac.update(head)
            mac.update(body)
            parts.append("v1," + base64.b64encode(mac.digest()).decode())
        return " ".join(parts)


def verify(
    secrets: Sequence[str],
    msg_id: str,
    timestamp: str,
    signature: str,
    body: bytes,
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> None:
    """Check a webhook; returns when one of its signatures matches one of ``secrets``.

    Raises:
        SignatureError: timestamp not an integer or too old/new, or no signature matches.
        ValueError: a secret is malformed.
    """
    keys = [parse_secret(s) for s in secrets]
    try:
        sent = int(timestamp)
    except ValueError:
        raise SignatureError(f"webhook-timestamp is not an integer: {timestamp!r}") from None
    age = (time.time() if now is None else now) - sent
    if abs(age) > tolerance_s:
        when = "old" if age > 0 else "far in the future"
        raise SignatureError(
            f"timestamp is {abs(age):.0f} s {when} (tolerance {tolerance_s:g} s): "
            "refused as a possible replay"
        )
    given = [p.split(",", 1)[1] for p in signature.split() if p.startswith("v1,")]
    for key in keys:
        expected = _signature(key, msg_id, timestamp, body)
        if any(hmac.compare_digest(expected, g) for g in given):
            return
    plural = "secret" if len(keys) == 1 else "secrets"
    raise SignatureError(f"no signature matches ({len(given)} given, {len(keys)} {plural} tried)")
