"""The daemon (``vsa-stream run``): the engine, and around it in the same event loop the HTTP
API, the event-loop lag monitor, the evidence retention job and the audit log.

::

    Daemon.run ─┬─ Engine.run (cameras ─► outbox ─► sinks)
                ├─ ApiServer (server.enabled)       reads the engine, reviews through it
                ├─ monitor_loop_lag                 vsa_event_loop_lag_seconds
                ├─ retention job (privacy.snapshots) hourly, deletes old evidence
                └─ SIGHUP watcher                   reloads the configuration file

SIGHUP, ``vsa-stream reload`` (which signals the process named by ``<state_dir>/daemon.pid``)
and ``POST /api/config/reload`` load the configuration file again and apply only what changed
(:mod:`vsa_stream.reload`); an invalid file changes nothing. Each attempt is audited
(``config_reload`` with the old and new configuration hashes and who asked, or
``config_reload_rejected`` with the error) and its report written to
``<state_dir>/reload.json``.

The audit log (``<state_dir>/audit.jsonl``) gets the daemon's start with the SHA-256 of its
configuration, its stop, every review, every evidence read, every retention deletion and the
API's failed authentications. With ``audit.key_file`` or ``audit.key_env`` its chain is keyed
(HMAC-SHA256); without, it is a plain chain and every start logs a warning. Its head is
anchored in the outbox database after each entry and sent to the sinks as an
``audit_checkpoint`` revision at start, every ``audit.checkpoint_every_s`` when it moved, and
at stop, so a log cut short is found (``vsa-stream audit verify``).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import signal
import sqlite3
import time

import anyio
import anyio.to_thread
import msgspec
from prometheus_client import Counter, Gauge

from vsa_stream import __version__, _core
from vsa_stream import config as config_mod
from vsa_stream import reload as reload_mod
from vsa_stream.audit import AuditHead, AuditLog, checkpoint_event, read_key
from vsa_stream.config import Config
from vsa_stream.engine import Engine, EngineResult
from vsa_stream.errors import ConfigError
from vsa_stream.events import Event
from vsa_stream.evidence import EvidenceStore
from vsa_stream.log import get_logger
from vsa_stream.outbox import Outbox
from vsa_stream.private import check_private_dir, private_dir, private_file
from vsa_stream.reload import ReloadReport
from vsa_stream.server import ApiContext, ApiServer, Authenticator, monitor_loop_lag
from vsa_stream.sinks import Sink
from vsa_stream.stats.store import (
    StatisticsSink,
    StatisticsStore,
    retention_days,
    statistics_path,
)

__all__ = [
    "RETENTION_EVERY_S",
    "Daemon",
    "ReloadRequest",
    "audit_path",
    "config_sha256",
    "lock_state_dir",
    "pid_path",
    "reload_request_path",
    "reload_result_path",
]

#: How often the retention job looks for expired evidence, seconds.
RETENTION_EVERY_S = 3600.0


def audit_path(config: Config) -> str:
    """The audit log of a configuration: ``<state_dir>/audit.jsonl``."""
    return os.path.join(config.state_dir, "audit.jsonl")


def pid_path(config: Config) -> str:
    """The running daemon's process id: ``<state_dir>/daemon.pid`` (SIGHUP reloads it)."""
    return os.path.join(config.state_dir, "daemon.pid")


def lock_state_dir(config: Config) -> int:
    """Hold ``<state_dir>/daemon.lock`` for this process (an exclusive ``flock``, released when
    the returned descriptor is closed or the process ends): two daemons on one folder would
    share its outbox, each delivering the other's events to its own sinks, interleave its audit
    chain (which then fails verification) and overwrite each other's ``daemon.pid``.

    Raises:
        ConfigError: another process holds the folder (``state_dir``).
        OSError: the lock file cannot be opened.
    """
    path = os.path.join(config.state_dir, "daemon.lock")
    private_file(path)
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ConfigError(
            f"another daemon uses {config.state_dir!r}: each daemon on a host needs its own "
            "state folder",
            path="state_dir",
        ) from None
    except OSError:
        os.close(fd)
        raise
    return fd


def reload_request_path(config: Config) -> str:
    """Who asks for the next SIGHUP reload: ``<state_dir>/reload-request.json``."""
    return os.path.join(config.state_dir, "reload-request.json")


def reload_result_path(config: Config) -> str:
    """The report of the last reload: ``<state_dir>/reload.json``."""
    return os.path.join(config.state_dir, "reload.json")


class ReloadRequest(msgspec.Struct, kw_only=True):
    """Left by ``vsa-stream reload`` before its SIGHUP: who asks, and the id its answer in
    ``reload.json`` carries."""

    id: str
    actor: str


class ReloadResult(msgspec.Struct, kw_only=True):
    """``<state_dir>/reload.json``: the last reload's report, and the request it answers."""

    request: str | None
    at: float
    report: ReloadReport


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
        #: The file a reload reads: ``source`` when it names one.
        self.config_path = source if source is not None and os.path.isfile(source) else None
        self._reloading = anyio.Lock()
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
        # Statistics (aggregates per interval) are stored by a sink of their own.
        self.statistics: StatisticsStore | None = None
        if keep := retention_days(config):
            self.statistics = StatisticsStore(statistics_path(config))
            self.statistics.prune(keep)
            sinks = [*sinks, StatisticsSink(self.statistics, keep)]
        elif os.path.exists(statistics_path(config)):  # no camera counts now: the kept expire
            kept = StatisticsStore(statistics_path(config))
            kept.prune({})
            kept.close()
        self.engine = Engine(config, sinks, outbox=outbox, evidence=self.evidence)
        self._reloads = Counter(
            "vsa_config_reloads",
            "Configuration reloads, by result (applied, rejected: nothing changed).",
            ["result"],
            registry=self.engine.metrics.registry,
        )
        self._restart_required = Gauge(
            "vsa_config_restart_required",
            "1 when the configuration file changes settings that only a restart applies.",
            registry=self.engine.metrics.registry,
        )
        self.engine.before_finish = self._final_checkpoint
        self.engine.on_authorisation = self._audit_authorisation
        self.server: ApiServer[ApiContext] | None = None
        if config.server.enabled:
            ctx = ApiContext(
                self.engine,
                config,
                Authenticator(config.server.tokens),
                audit=self.audit,
                evidence=self.evidence,
                statistics=self.statistics,
                reload=self.reload,
            )
            self.server = ApiServer(ctx, config.server.host, config.server.port)
            try:
                self.server.bind()
            except OSError as exc:  # taken (another daemon's port?), or not this host's
                reason = exc.strerror or str(exc)
                where = f"{config.server.host}:{config.server.port}"
                raise ConfigError(
                    f"cannot listen on {where}: {reason}", path="server.port"
                ) from None

    async def run(self, *, handle_signals: bool = True) -> EngineResult:
        """Run until the engine stops; the API shuts down after it."""
        config = self.config
        # which copy of the Rust kernels runs: "avx2", or "baseline" (older CPU, or forced)
        self._log.info("daemon starting", version=__version__, kernels=_core.simd())
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
        if self.server is not None and self.server.backend.auth.open:
            self._log.warning("http api without tokens: anonymous read-only access on loopback")
        async with anyio.create_task_group() as tg:
            if self.server is not None:
                tg.start_soon(self.server.run)
            helpers = anyio.CancelScope()
            tg.start_soon(self._helpers, helpers, handle_signals)
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

    async def _helpers(self, scope: anyio.CancelScope, handle_signals: bool = True) -> None:
        with scope:
            async with anyio.create_task_group() as tg:
                if handle_signals:
                    tg.start_soon(self._reload_on_sighup)
                tg.start_soon(monitor_loop_lag, self.engine.metrics.loop_lag_seconds)
                tg.start_soon(self._checkpoints)
                if self.evidence is not None:
                    tg.start_soon(self._retention, self.evidence)

    # --- reloading the configuration ------------------------------------------------------

    async def reload(self, actor: str) -> ReloadReport:
        """Load the configuration file again and apply what changed (see
        :mod:`vsa_stream.reload`); one reload at a time.

        Args:
            actor: who asked (``api:<token name>``, ``cli:<user>``, ``signal:SIGHUP``).

        Returns:
            the report; ``ok`` False (with ``error`` and ``field``) when the file is invalid
            or cannot run, in which case nothing changed.
        """
        async with self._reloading:
            report = await self._reload(actor)
        self._reloads.labels(result="applied" if report.ok else "rejected").inc()
        if report.ok:
            self._restart_required.set(1.0 if report.restart_required else 0.0)
        try:
            await anyio.to_thread.run_sync(
                self.audit.append,
                "config_reload" if report.ok else "config_reload_rejected",
                msgspec.to_builtins(report),
            )
        except OSError as exc:
            self._log.error("configuration reload not audited", error=str(exc))
        return report

    async def _reload(self, actor: str) -> ReloadReport:
        old = self.config
        old_sha = config_sha256(old)
        try:
            if self.config_path is None:
                raise ConfigError("the daemon was not started from a configuration file")
            if not self.engine.cameras_running:
                raise ConfigError("the daemon is not running its cameras (starting or stopping)")
            new = await anyio.to_thread.run_sync(config_mod.load, self.config_path)
            prepared = await reload_mod.plan(self.engine, old, new)
        except ConfigError as exc:
            self._log.error(
                "configuration reload rejected: nothing changed",
                field=exc.path or None,
                error=str(exc),
                actor=actor,
            )
            return ReloadReport(
                ok=False, actor=actor, old_sha256=old_sha, error=str(exc), field=exc.path or None
            )
        new_sha = config_sha256(prepared.config)
        report = prepared.report(actor, old_sha, new_sha)
        try:
            await reload_mod.apply(self.engine, prepared)
        except Exception as exc:  # a camera that cannot start now: the rest is applied
            report.error = f"partly applied: {type(exc).__name__}: {exc}"
            self._log.error("configuration reload partly applied", error=report.error)
        self.config = prepared.config
        if self.server is not None:
            self.server.backend.config = prepared.config
        self._log.info(
            "configuration reloaded",
            actor=actor,
            old_sha256=old_sha,
            new_sha256=new_sha,
            started=report.started,
            stopped=report.stopped,
            restarted=report.restarted,
            rules_swapped=report.rules_swapped,
            sinks_rebuilt=report.sinks_rebuilt,
        )
        if report.restart_required:
            self._log.warning(
                "settings that change only at a restart were kept as they run",
                fields=report.restart_required,
            )
        return report

    async def _reload_on_sighup(self) -> None:
        """Reload on each SIGHUP; ``<state_dir>/daemon.pid`` names this process meanwhile."""
        config = self.config
        pid_file = pid_path(config)
        try:
            with anyio.open_signal_receiver(signal.SIGHUP) as signals:
                try:
                    pid = f"{os.getpid()}\n".encode()
                    await anyio.to_thread.run_sync(_write_private, pid_file, pid)
                except OSError as exc:
                    self._log.error(
                        "pid file not written: vsa-stream reload cannot find this "
                        "daemon (SIGHUP still reloads)",
                        error=str(exc),
                    )
                async for _ in signals:
                    with anyio.CancelScope(shield=True):  # a stop waits for a reload under way
                        await self._answer_sighup(config)
        finally:
            # asyncio puts back the default action, which ends the process: a SIGHUP while the
            # daemon drains its sinks must not cut that short
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_remove_pid, pid_file)

    async def _answer_sighup(self, config: Config) -> None:
        request = await anyio.to_thread.run_sync(_take_request, config)
        report = await self.reload(request.actor if request is not None else "signal:SIGHUP")
        result = ReloadResult(
            request=request.id if request is not None else None, at=time.time(), report=report
        )
        try:
            await anyio.to_thread.run_sync(
                _write_private, reload_result_path(config), msgspec.json.encode(result)
            )
        except OSError as exc:
            self._log.error("reload report not written", error=str(exc))

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


def _write_private(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data`` at once (a ``0600`` file)."""
    temporary = f"{path}.{os.getpid()}.tmp"
    private_file(temporary)
    with open(temporary, "wb") as out:
        out.write(data)
    os.replace(temporary, path)


def _take_request(config: Config) -> ReloadRequest | None:
    """The request ``vsa-stream reload`` left (removed once read), if any."""
    path = reload_request_path(config)
    try:
        with open(path, "rb") as file:
            data = file.read()
        os.remove(path)
        return msgspec.json.decode(data, type=ReloadRequest)
    except (OSError, msgspec.DecodeError):
        return None


def _remove_pid(path: str) -> None:
    try:
        with open(path, encoding="ascii") as file:
            if file.read().strip() != str(os.getpid()):
                return  # another daemon's
        os.remove(path)
    except OSError:
        pass
