"""Signing a rendered report, and checking it (``vsa-stream report verify``).

The signature is an HMAC-SHA256 under a key of at least 32 bytes (from a file or an environment
variable, as the audit key; ``cryptography``, which Ed25519 would need, is not a dependency).

- Markdown and HTML: the last line is ``<!-- vsa-report-signature alg=HMAC-SHA256 kid=K
  mac=M -->``; the MAC covers every byte before that line, so a changed figure, word or chart
  fails.
- JSON: ``{"report": {...}, "signature": {"alg", "kid", "mac"}}``; the MAC covers the
  canonical JSON of ``report`` (sorted keys, no spaces), so re-indenting the file is harmless
  and changing a value is not.

``kid`` names the key (a fingerprint, :func:`vsa_stream.audit.key_id`), never the key itself.

Example:
    >>> key = b"k" * 32
    >>> signed = sign_text("# report\\n", "md", key)
    >>> check(signed, key).ok
    True
    >>> check(signed.replace("# report", "# rapport"), key).failure
    'mac'
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from vsa_stream.audit import key_id

__all__ = ["ALG", "EXIT_CODES", "Check", "check", "sign_json", "sign_text"]

ALG = "HMAC-SHA256"
Failure = Literal["unreadable", "unsigned", "mac", "other_key"]
#: The exit code of ``vsa-stream report verify`` for each failure (0 when intact).
EXIT_CODES: dict[Failure, int] = {"unreadable": 1, "unsigned": 3, "mac": 4, "other_key": 5}

_TRAILER = re.compile(
    r"<!-- vsa-report-signature alg=(?P<alg>\S+) kid=(?P<kid>[0-9a-f]+) "
    r"mac=(?P<mac>[0-9a-f]{64}) -->\n?\Z"
)


def _mac(key: bytes, fmt: str, payload: bytes) -> str:
    return hmac.new(
        key, b"vsa-report\0" + fmt.encode() + b"\0" + payload, hashlib.sha256
    ).hexdigest()


def _canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_text(body: str, fmt: Literal["md", "html"], key: bytes) -> str:
    """``body`` followed by its signature line (``fmt`` is signed too)."""
    if not body.endswith("\n"):
        body += "\n"
    mac = _mac(key, fmt, body.encode())
    return f"{body}<!-- vsa-report-signature alg={ALG} kid={key_id(key)} mac={mac} -->\n"


def sign_json(report: dict[str, Any], key: bytes) -> str:
    """The signed JSON document of ``report`` (indented for reading)."""
    signature = {"alg": ALG, "kid": key_id(key), "mac": _mac(key, "json", _canonical(report))}
    return json.dumps({"report": report, "signature": signature}, indent=2, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Check:
    """What :func:`check` found: ``failure`` is None when the report is intact."""

    format: str | None
    failure: Failure | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when the signature holds under the key."""
        return self.failure is None

    @property
    def exit_code(self) -> int:
        """0 when intact, else :data:`EXIT_CODES` of the failure."""
        return 0 if self.failure is None else EXIT_CODES[self.failure]


def check(text: str, key: bytes) -> Check:
    """Check a signed report (any format: told apart by its content)."""
    if text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
            report, sig = doc["report"], doc["signature"]
            alg, kid, mac = str(sig["alg"]), str(sig["kid"]), str(sig["mac"])
        except (ValueError, KeyError, TypeError) as exc:
            return Check("json", "unreadable", f"not a signed JSON report ({exc})")
        return _compare("json", alg, kid, mac, _mac(key, "json", _canonical(report)), key)
    match = _TRAILER.search(text)
    if match is None:
        return Check(None, "unsigned", "no signature line at the end of the report")
    body = text[: match.start()]
    fmt = "html" if body.lstrip().lower().startswith("<!doctype html") else "md"
    expected = _mac(key, fmt, body.encode())
    return _compare(fmt, match["alg"], match["kid"], match["mac"], expected, key)


def _compare(fmt: str, alg: str, kid: str, mac: str, expected: str, key: bytes) -> Check:
    if alg != ALG:
        return Check(fmt, "unreadable", f"unknown signature algorithm {alg!r}")
    if kid != key_id(key):
        return Check(fmt, "other_key", f"signed with another key (kid {kid}, this key is "
                     f"{key_id(key)})")  # fmt: skip
    if not hmac.compare_digest(mac, expected):
        return Check(fmt, "mac", "the report was altered after it was signed (MAC mismatch)")
    return Check(fmt)
