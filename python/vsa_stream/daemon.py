"""The daemon (``vsa-stream run``): the engine, and around it in the same event loop the HTTP
API, the event-loop lag monitor, the evidence retention job and the audit log.

::

    Daemon.run ─┬─ Engine.run (cameras ─► outbox ─► sinks)
                ├─ ApiServer (server.enabled)       reads the engine, reviews through it
                ├─ monitor_loop_lag                 vsa_event_loop_lag_seconds
                └─ retention job (privacy.snapshots) hourly, deletes old evidence

The audit log (``<state_dir>/audit.jsonl``) gets the daemon's start with the SHA-256 of its
configuration, its stop, every review, every evidence read, every retention deletion and the
API's failed authentications. With ``audit.key_file`` or ``audit.key_env`` its chain is keyed
(HMAC-SHA256); without, it is a plain chain and every start logs a warning. Its head is
anchored in the outbox database after each entry and sent to the sinks as an
``audit_checkpoint`` revision at start, every ``audit.checkpoint_every_s`` when it moved, and
at stop, so a log cut short is found (``vsa-stream audit verify``).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3

import anyio
import anyio.to_thread
import msgspec

from vsa_stream import __version__
from vsa_stream.audit import AuditHead, AuditLog, checkpoint_event, read_key
from vsa_stream.config import Config
from vsa_stream.engine import Engine, EngineResult
from vsa_stream.errors import ConfigError
from vsa_stream.events import Event
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
        ConfigError: the audit key cannot be read (``audit.key_file`` / ``audit.key_env``).
    """

    def __init__(
        self, config: Config, sinks: list[Sink], outbox: Outbox, *, source: str | None = None
    ) -> None:
        self.config = config
        self.source = source
        check_private_dir(private_dir(config.state_dir))
        self._log = get_logger()
        self.outbox = outbox
        audit = config.audit
        try:
            key = read_key(key_file=audit.key_file, key_env=audit.key_env)
        except (OSError, ValueError) as exc:
            field = "audit.key_file" if audit.key_file is not None else "audit.key_env"
            raise ConfigError(f"cannot use the audit key: {exc}", path=field) from None
        self.audit = AuditLog(audit_path(config), key=key, on_head=self._anchor)
        self._checkpoint: Event | None = None
        self._checkpoint_lock = anyio.Lock()
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
        self.engine.before_finish = self._final_checkpoint
        self.engine.on_authorisation = self._audit_authorisation
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

    async def run(self, *, handle_signals: bool = True) -> EngineResult:
        """Run until the engine stops; the API shuts down after it."""
        config = self.config
        if not self.audit.keyed:
            self._log.warning(
                "audit log unkeyed: whoever can write the state folder can rewrite it "
                "undetected (set audit.key_file or audit.key_env)"
            )
        anchor = await self.outbox.call(self.outbox.audit_head)
        cut = await anyio.to_thread.run_sync(self.audit.check_anchor, anchor)
        if cut is not None:
            self._log.error("audit log cut short: it ends before its anchored head", **cut["data"])
        await anyio.to_thread.run_sync(
            self.audit.append,
            "daemon_start",
            {
                "audit_keyed": self.audit.keyed,
                "version": __version__,
                "config_sha256": config_sha256(config),
                "config_source": self.source,
                "server": self.server.url if self.server else None,
                "snapshots": config.privacy.snapshots,
                "blur_persons": config.privacy.blur_persons,
                "blur_off_reason": config.privacy.blur_off_reason,
                "blur_vehicles": config.privacy.blur_vehicles,
                "retention_days": config.privacy.retention_days,
                "legal_profile": config.privacy.legal_profile,
                "authorisations": [msgspec.to_builtins(auth) for auth in config.authorisations],
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
        await anyio.to_thread.run_sync(lambda: self.audit.flush_auth_failures(all=True))
        await anyio.to_thread.run_sync(
            self.audit.append,
            "daemon_stop",
            {"events": result.events, "undelivered": result.undelivered},
        )
        return result

    def _audit_authorisation(self, record: dict[str, object]) -> None:
        """An authorisation change of a camera (from its analysis thread): into the audit log."""
        try:
            self.audit.append("authorisation", record)
        except OSError as exc:
            self._log.error("authorisation change not audited", error=str(exc), **record)

    async def _helpers(self, scope: anyio.CancelScope) -> None:
        with scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(monitor_loop_lag, self.engine.metrics.loop_lag_seconds)
                tg.start_soon(self._checkpoints)
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

    # --- the audit log's anchors ----------------------------------------------------------

    def _anchor(self, head: AuditHead) -> None:
        """Keep the audit head in the outbox database (called after each entry)."""
        if not self.outbox.durable or self.outbox.closed:
            return
        try:
            self.outbox.set_audit_head(head)
        except sqlite3.Error as exc:
            self._log.error("audit head not anchored", seq=head.seq, error=str(exc))

    async def _checkpoints(self) -> None:
        """A checkpoint at start, then every ``audit.checkpoint_every_s`` when the head moved;
        failed authentications counted but not yet written are written first."""
        while True:
            try:
                await anyio.to_thread.run_sync(self.audit.flush_auth_failures)
                await self._send_checkpoint(final=False)
            except Exception as exc:  # the outbox or the log cannot be written: try again later
                self._log.error("audit checkpoint failed", error=f"{type(exc).__name__}: {exc}")
            await anyio.sleep(self.config.audit.checkpoint_every_s)

    async def _final_checkpoint(self) -> None:
        await anyio.to_thread.run_sync(lambda: self.audit.flush_auth_failures(all=True))
        await self._send_checkpoint(final=True)

    async def _send_checkpoint(self, *, final: bool) -> None:
        async with self._checkpoint_lock:
            previous = self._checkpoint
            if previous is not None and previous.state == "closed":
                return
            head = self.audit.head
            moved = previous is None or previous.evidence.values.get("audit_seq") != head.seq
            if not final and not moved:
                return  # nothing written since the last checkpoint
            event = checkpoint_event(head, previous, final=final)
            rows = await self.engine.delivery.accept([event])
            self._checkpoint = rows[0].event if rows else event
