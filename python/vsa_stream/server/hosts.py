"""The ``Host`` allow-list of the API, against DNS rebinding.

A web page of ``evil.example`` can make its name resolve to 127.0.0.1 (or to the daemon's LAN
address) and then read the API from the victim's browser as if it were its own origin: the
browser sends ``Host: evil.example``. The daemon answers only requests whose ``Host`` names
it (:meth:`~vsa_stream.config.ServerConfig.host_names`: the loopback names, the bound host,
``server.allowed_hosts``); any other gets **421 Misdirected Request** with a JSON body saying
which field to extend. The port of ``Host`` is not compared (rebinding changes the name, not the
port).

The probes ``/healthz`` and ``/readyz`` answer whatever the ``Host``: they carry nothing a page
could steal, and load balancers and orchestrators probe by IP address.

Example:
    >>> host_of("[::1]:8080"), host_of("Cam.Example:443"), host_of("10.0.0.2")
    ('::1', 'cam.example', '10.0.0.2')
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

import msgspec
from starlette.types import ASGIApp, Receive, Scope, Send

from vsa_stream.config import normal_host_name

__all__ = ["PROBES", "HostGuard", "host_of", "is_loopback_host"]

#: Paths answered whatever the ``Host`` (health and readiness probes).
PROBES = frozenset({"/healthz", "/readyz"})


def host_of(value: str) -> str:
    """The name of a ``Host`` header value, without its port (see :func:`normal_host_name`)."""
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        return normal_host_name(value[: end + 1] if end > 0 else value)
    name, colon, port = value.rpartition(":")
    if colon and port.isdigit() and ":" not in name:
        return normal_host_name(name)
    return normal_host_name(value)


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (a bind address that only this machine
    reaches).

    Example:
        >>> is_loopback_host("127.0.0.2"), is_loopback_host("[::1]"), is_loopback_host("0.0.0.0")
        (True, True, False)
    """
    name = normal_host_name(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class HostGuard:
    """ASGI middleware: passes a request to ``app`` only when its ``Host`` is in ``names``."""

    def __init__(self, app: ASGIApp, names: Iterable[str], probes: frozenset[str] = PROBES):
        self.app = app
        self.names = frozenset(normal_host_name(n) for n in names)
        self.probes = probes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.probes:
            await self.app(scope, receive, send)
            return
        host = ""
        for key, value in scope["headers"]:
            if key == b"host":
                host = value.decode("latin-1")
                break
        if host_of(host) in self.names:
            await self.app(scope, receive, send)
            return
        shown = host[:100] if host else "(none)"
        body = msgspec.json.encode(
            {
                "error": f"Host {shown} is not a name of this server: add it to "
                "server.allowed_hosts (refused against DNS rebinding)"
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 421,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
