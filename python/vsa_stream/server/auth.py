"""Bearer tokens and roles of the HTTP API.

Each configured token (``server.tokens``) grants a role: ``viewer`` reads (events, cameras,
metrics, the event stream), ``operator`` also reviews alerts and reads evidence snapshots.
Tokens are compared in constant time (:func:`hmac.compare_digest`) against every configured
token, so the time taken says nothing about which one nearly matched. Without any configured
token (allowed on a loopback address only) every local client is an anonymous ``viewer``.

Example:
    >>> from vsa_stream.config import ApiToken
    >>> auth = Authenticator([ApiToken(name="ops", token="o" * 20, role="operator")])
    >>> auth.identify("Bearer " + "o" * 20)
    Principal(name='ops', role='operator')
    >>> auth.identify("Bearer wrong") is None, auth.identify(None) is None
    (True, True)
    >>> Principal("ops", "operator").allows("viewer")
    True
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from vsa_stream.config import ApiToken

__all__ = ["ANONYMOUS", "Authenticator", "Principal", "Role"]

Role = Literal["viewer", "operator"]
_RANK: dict[str, int] = {"viewer": 1, "operator": 2}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made a request: the token's name (never its value) and its role."""

    name: str
    role: Role

    def allows(self, needed: Role) -> bool:
        """True when this principal's role includes ``needed``."""
        return _RANK[self.role] >= _RANK[needed]


#: Who a request is when no token is configured (loopback only).
ANONYMOUS = Principal("anonymous", "viewer")


class Authenticator:
    """Maps an ``Authorization`` header to a :class:`Principal` (see the module docstring)."""

    def __init__(self, tokens: Sequence[ApiToken]) -> None:
        self._tokens = [(t.token.encode(), Principal(t.name, t.role)) for t in tokens]

    @property
    def open(self) -> bool:
        """True when no token is configured: requests without one are :data:`ANONYMOUS`."""
        return not self._tokens

    def identify(self, authorization: str | None) -> Principal | None:
        """The principal of a request, or None when its token is missing or wrong."""
        if authorization is None:
            return ANONYMOUS if self.open else None
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None
        given = value.strip().encode()
        found: Principal | None = None
        for token, principal in self._tokens:  # no early exit: the same work for any token
            if hmac.compare_digest(given, token):
                found = principal
        return found
