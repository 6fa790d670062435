"""The HTTP API: address, tokens, TLS, and the host names it answers to."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

import msgspec

from vsa_stream.config._base import _ID, _Base

__all__ = [
    "ApiToken",
    "ServerConfig",
    "ServerTls",
    "is_host_name",
    "is_loopback_host",
    "is_private_host",
    "normal_host_name",
]


class ApiToken(_Base):
    """A bearer token of the HTTP API and the role it grants (``operator`` includes ``viewer``)."""

    name: Annotated[
        _ID,
        msgspec.Meta(
            description=(
                "who this is, as written in the audit log (never the token itself); unique"
            )
        ),
    ]
    token: Annotated[
        str,
        msgspec.Meta(
            min_length=16,
            max_length=512,
            description=(
                'the bearer token; write `"${VAR}"` to take it from the environment; unique'
            ),
        ),
    ]
    role: Annotated[
        Literal["viewer", "operator"],
        msgspec.Meta(
            description=(
                "`viewer`: events, cameras, metrics, event stream; `operator`: "
                "also reviews and evidence snapshots"
            )
        ),
    ] = "viewer"


class ServerTls(_Base):
    """The API's certificate (PEM, chain included) and its private key (PEM, unencrypted)."""

    cert: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            description=("the server's certificate, followed by its intermediate certificates"),
        ),
    ]
    key: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            description=("its private key, unencrypted (keep it readable by the daemon only)"),
        ),
    ]


class ServerConfig(_Base):
    """The HTTP API and the operator page, served inside the daemon."""

    enabled: Annotated[bool, msgspec.Meta(description="serve the API")] = False
    host: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            description=(
                "address to bind; anything but a loopback address needs `tokens` "
                "(an error otherwise)"
            ),
        ),
    ] = "127.0.0.1"
    port: Annotated[
        int,
        msgspec.Meta(ge=0, le=65535, description="TCP port (`0`: any free port, logged at start)"),
    ] = 8080
    tokens: Annotated[
        list[ApiToken],
        msgspec.Meta(
            description=(
                "who may call the API; none: anonymous read-only access, on a loopback address only"
            )
        ),
    ] = msgspec.field(default_factory=list)
    tls: Annotated[
        ServerTls | None, msgspec.Meta(description="serve HTTPS with this certificate")
    ] = None
    allowed_hosts: Annotated[
        list[str],
        msgspec.Meta(
            description=(
                "names a request's `Host` may give, besides the loopback names "
                "and `host` (no scheme, port or wildcard; IPv6 with or without "
                "brackets)"
            )
        ),
    ] = msgspec.field(default_factory=list)

    def host_names(self) -> frozenset[str]:
        """The names a request's ``Host`` may give: the loopback names, ``host`` unless it is
        a wildcard (``0.0.0.0``, ``::``), and ``allowed_hosts``; lower case, IPv6 without
        brackets.

        Example:
            >>> sorted(ServerConfig(host="0.0.0.0", allowed_hosts=["Cam.example"]).host_names())
            ['127.0.0.1', '::1', 'cam.example', 'localhost']
        """
        names = {"127.0.0.1", "localhost", "::1"}
        if not _is_wildcard_host(self.host):
            names.add(normal_host_name(self.host))
        names.update(normal_host_name(name) for name in self.allowed_hosts)
        return frozenset(names)


def normal_host_name(name: str) -> str:
    """A host name as the API compares them: lower case, an IPv6 address without brackets,
    no final dot.

    Example:
        >>> normal_host_name("[::1]"), normal_host_name("Cam.Example.")
        ('::1', 'cam.example')
    """
    name = name.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    return name.rstrip(".")


_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"


_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


def is_host_name(text: str) -> bool:
    """True for a DNS name or an IP address (IPv6 with or without brackets)."""
    name = normal_host_name(text)
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return bool(_HOST_NAME.match(name))
    return True


def _is_wildcard_host(host: str) -> bool:
    """True for an address that binds every interface (``0.0.0.0``, ``::``)."""
    try:
        return ipaddress.ip_address(normal_host_name(host)).is_unspecified
    except ValueError:
        return False


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_private_host(host: str) -> bool:
    """True for an IP literal that is not globally routable, and for ``localhost``."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a name: checked when it is resolved, before each request
    return not address.is_global or address.is_multicast
