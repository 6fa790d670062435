"""Credentials never reach a log line or an error message.

Stream URLs often carry a user and password (``rtsp://admin:secret@10.0.0.5/stream``) or a
token in the query string. :func:`redact_url` masks them; :func:`redact_text` masks every URL
found in a free text (an FFmpeg error message, an exception), and the logging setup applies it
to every log event.

Example:
    >>> redact_url("rtsp://admin:secret@cam.local:554/live?token=abc&x=1")
    'rtsp://admin:***@cam.local:554/live?token=***&x=1'
    >>> redact_url("https://ghp_abc123@example.org/x")
    'https://***@example.org/x'
"""

from __future__ import annotations

import re

__all__ = ["redact_text", "redact_url"]

# The user information of a URL runs to the LAST "@" before the path: FFmpeg reads
# "rtsp://admin:p@ss@cam/" as user "admin", password "p@ss". A mistyped separator
# ("rtsp//admin:pw@cam", "rtsp:/admin:pw@cam", "rtsp:admin:pw@cam") still hides the password.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*(?::/{0,2}|//))(?P<info>[^/?#\s]*)@")
_SECRET_PARAM = re.compile(
    r"(?P<key>[?&;](?:password|passwd|pwd|pass|passphrase|token|access_token|auth|key|apikey"
    r"|api_key|secret|signature|sig)=)(?P<value>[^&;#\s]*)",
    re.IGNORECASE,
)


def _mask_userinfo(match: re.Match[str]) -> str:
    user, colon, _ = match["info"].partition(":")
    # "user:password@" keeps the user name (useful, rarely secret); a lone "token@" is masked.
    return f"{match['scheme']}{user}:***@" if colon else f"{match['scheme']}***@"


def redact_url(url: str) -> str:
    """``url`` with its password and secret query parameters replaced by ``***``."""
    return redact_text(url)


def redact_text(text: str) -> str:
    """``text`` with the credentials of every URL in it replaced by ``***``."""
    if "@" not in text and "=" not in text:
        return text
    text = _USERINFO.sub(_mask_userinfo, text)
    return _SECRET_PARAM.sub(lambda m: f"{m['key']}***", text)
