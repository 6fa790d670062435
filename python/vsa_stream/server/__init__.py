"""The HTTP API and the operator page (see README "HTTP API and operator page")."""

from __future__ import annotations

from vsa_stream.server.app import ApiContext, build_app
from vsa_stream.server.auth import Authenticator, Principal
from vsa_stream.server.run import ApiServer, monitor_loop_lag

__all__ = ["ApiContext", "ApiServer", "Authenticator", "Principal", "build_app", "monitor_loop_lag"]
