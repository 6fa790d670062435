"""The daemon (``vsa-stream run``): the engine, and around it in the same event loop the HTTP
API, the event-loop lag monitor, the evidence retention job and the audit log.

::

    Daemon.run ─┬─ Engine.run (cameras ─► outbox ─► sinks)
                ├─ ApiServer (server.enabled)       reads the engine, reviews through it
                ├─ monitor_loop_lag                 vsa_event_loop_lag_seconds
                └─ retention job (privacy.snapshots) hourly, deletes old evidence

The audit log (``<state_dir>/audit.jsonl``) gets the daemon's start with the SHA-256 of its
configuration, its stop, every review, every evidence read and every retention deletion.
"""

from __future__ import annotations

import hashlib
import os

import anyio
import anyio.to_thread
import msgspec

from vsa_stream import __version__
from vsa_stream.audit import AuditLog
from vsa_stream.config import Config
from vsa_stream.engine import Engine, EngineResult
from vsa_stream.evidence import EvidenceStore
from vsa_stream.log import get_logger
from vsa_stream.outbox import Outbox
from vsa_stream.private import check_private_dir, private_dir
from vsa_stream.server import ApiContext, ApiServer, Authenticator, monitor_loop_lag
from vsa_stream.sinks import Sink

__all__ = ["RETENTION_EVERY_S", "Daemon", "audit_path", "config_sha256"]

#: How often the retention job looks for expired evidence, seconds.
RETENTION_EVERY_S = 3600.0


def audit_path(config: Config) -> str:
    """The audit log of a configuration: ``<state_dir>/audit.jsonl``."""
    return os.path.join(config.state_dir, "audit.jsonl")


def config_sha256(config: Config) -> str:
    """SHA-256 of the validated configuration (after ``${VAR}`` substitution), as JSON."""
    return hashlib.sha256(msgspec.json.encode(config)).hexdigest()


class Daemon:
    """One daemon run (see the module docstring).

    Args:
        config: a validated configuration.
        sinks: built from ``config.sinks``.
        outbox: the opened outbox (the caller closes it).
        source: where the configuration came from (recorded in the audit log).

    Raises:
        PermissionError: the state folder is open to other users.
        OSError: the audit log, or the API's address, cannot be opened.
    """

    def __init__(
        self, config: Config, sinks: list[Sink], outbox: Outbox, *, source: str | None = None
    ) -> None:
        self.config = config
        self.source = source
        check_private_dir(private_dir(config.state_dir))
        self.audit = AuditLog(audit_path(config))
        privacy = config.privacy
        self.evidence = (
            EvidenceStore(
                os.path.join(config.state_dir, "evidence"),
                blur_persons=privacy.blur_persons,
                retention_days=privacy.retention_days,
                blur_vehicles=privacy.blur_vehicles,
                hold_s=privacy.blur_hold_s,
            )
            if privacy.snapshots
            else None
        )
        self.engine = Engine(config, sinks, outbox=outbox, evidence=self.evidence)
        self.server: ApiServer | None = None
        if config.server.enabled:
            ctx = ApiContext(
                self.engine,
                config,
                Authenticator(config.server.tokens),
                audit=self.audit,
                evidence=self.evidence,
            )
            self.server = ApiServer(ctx, config.server.host, config.server.port)
            self.server.bind()
        self._log = get_logger()

    async def run(self, *, handle_signals: bool = True) -> EngineResult:
        """Run until the engine stops; the API shuts down after it."""
        config = self.config
        await anyio.to_thread.run_sync(
            self.audit.append,
            "daemon_start",
            {
                "version": __version__,
                "config_sha256": config_sha256(config),
                "config_source": self.source,
                "server": self.server.url if self.server else None,
                "snapshots": config.privacy.snapshots,
                "blur_persons": config.privacy.blur_persons,
                "blur_off_reason": config.privacy.blur_off_reason,
                "blur_vehicles": config.privacy.blur_vehicles,
                "retention_days": config.privacy.retention_days,
            },
        )
        if config.privacy.snapshots and not config.privacy.blur_persons:
            self._log.warning(
                "snapshots keep persons recognisable (privacy.blur_persons: false)",
                reason=config.privacy.blur_off_reason,
            )
        if self.server is not None and self.server.ctx.auth.open:
            self._log.warning("http api without tokens: anonymous read-only access on loopback")
        async with anyio.create_task_group() as tg:
            if self.server is not None:
                tg.start_soon(self.server.run)
            helpers = anyio.CancelScope()
            tg.start_soon(self._helpers, helpers)
            try:
                result = await self.engine.run(handle_signals=handle_signals)
            finally:
                helpers.cancel()
                if self.server is not None:
                    self.server.stop()
                if self.evidence is not None:
                    with anyio.CancelScope(shield=True):
                        await anyio.to_thread.run_sync(self.evidence.close)
        await anyio.to_thread.run_sync(
            self.audit.append,
            "daemon_stop",
            {"events": result.events, "undelivered": result.undelivered},
        )
        return result

    async def _helpers(self, scope: anyio.CancelScope) -> None:
        with scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(monitor_loop_lag, self.engine.metrics.loop_lag_seconds)
                if self.evidence is not None:
                    tg.start_soon(self._retention, self.evidence)

    async def _retention(self, evidence: EvidenceStore) -> None:
        while True:
            try:
                deleted = await anyio.to_thread.run_sync(evidence.prune)
            except OSError as exc:
                self._log.error("evidence retention failed", error=str(exc))
            else:
                if deleted:
                    self._log.info("evidence deleted after retention", files=len(deleted))
                    await anyio.to_thread.run_sync(
                        self.audit.append,
                        "evidence_deleted",
                        {
                            "files": len(deleted),
                            "retention_days": self.config.privacy.retention_days,
                        },
                    )
            await anyio.sleep(RETENTION_EVERY_S)
