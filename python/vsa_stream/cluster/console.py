"""``vsa-stream run --cluster URLS --console``: the operator loop of a whole fleet.

::

    stream ALERTS ──ordered consumer──► fleet view (<state_dir>/fleet.db) ──► HTTP API, SSE, page
    POST review ──► KV vsa_reviews (once) ──► audit.jsonl ──► stream AUDIT (R3, one subject
                                         │                     per console, Nats-Msg-Id)
                                         └─► the raising node applies it (its sinks, ALERTS);
                                             its lease gone: the console emits the revision
                                             (its own outbox ──► its sinks, ALERTS)

The console runs no camera. Its fleet view is a cache of ``ALERTS``, rebuilt from the stream
at every start (an :class:`~vsa_stream.outbox.Outbox` used as a store: the API lists and
filters it as a daemon lists its own). Which node raised an event is the ``Vsa-Node`` header of
its first revision.

**Who emits a review's revision.** The node that raised the event numbers its revisions; it
applies the review as its next revision (:func:`~vsa_stream.cluster.reviews.follow_reviews`),
so every later revision carries it and no two writers give one number to two different
revisions. Only when that node has no lease (dead, or gone for longer than the TTL) does the
console emit the revision itself, through its own durable outbox to its sinks and ``ALERTS``.

**Audit.** The console's audit log (``<state_dir>/audit.jsonl``, hash-chained, keyed with
``audit.key_file`` / ``audit.key_env``, its head anchored in the console's outbox) gets its
start and stop, every review recorded, every snapshot served and every refused credential; each
entry is replicated to the ``AUDIT`` stream and written back from it when the file lost entries
(:mod:`vsa_stream.cluster.audit_stream`).
"""

from __future__ import annotations

import hashlib
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import msgspec
import nats.errors
import nats.js.errors
from nats.js.api import ConsumerConfig, DeliverPolicy

from vsa_stream import __version__
from vsa_stream.audit import AuditHead, AuditLog, read_key
from vsa_stream.cluster.alerts import AlertStreamSink
from vsa_stream.cluster.audit_stream import AuditReplica, restore_audit
from vsa_stream.cluster.evidence import EvidenceBucket
from vsa_stream.cluster.reviews import ReviewBook, ReviewRecord, same_verdict
from vsa_stream.cluster.store import ALERTS_STREAM, ClusterOptions, ClusterStore, connect
from vsa_stream.config import Config
from vsa_stream.errors import ConfigError
from vsa_stream.events import Event, decode
from vsa_stream.log import get_logger
from vsa_stream.metrics import Metrics
from vsa_stream.outbox import Outbox
from vsa_stream.private import check_private_dir, private_dir
from vsa_stream.sinks import Sink
from vsa_stream.sinks.delivery import Delivery

__all__ = ["Console"]

# A follower that got nothing this long while the stream holds more subscribes again.
_STALL_S = 3.0
# Revisions stored in the fleet view in one transaction, at most.
_BATCH = 512


class Console:
    """The console role (see the module docstring).

    Args:
        config: the console's own configuration (server, audit key, sinks, state_dir).
        sinks: built from ``config.sinks``: they get the revisions the console emits.
        outbox: the console's durable outbox (those revisions, before their sinks had them).
        options: the cluster options (``node_id`` names the console).
    """

    def __init__(
        self, config: Config, sinks: list[Sink], outbox: Outbox, options: ClusterOptions
    ) -> None:
        self.config = config
        self.options = options
        self.id = options.node_id
        self.sinks = sinks
        self.outbox = outbox
        check_private_dir(private_dir(config.state_dir))
        try:
            self.key = read_key(key_file=config.audit.key_file, key_env=config.audit.key_env)
        except (OSError, ValueError) as exc:
            field = "audit.key_file" if config.audit.key_file is not None else "audit.key_env"
            raise ConfigError(f"cannot use the audit key: {exc}", path=field) from None
        self.audit_path = Path(config.state_dir) / "audit.jsonl"
        fleet_path = Path(config.state_dir) / "fleet.db"
        for suffix in ("", "-wal", "-shm"):  # a cache of ALERTS: rebuilt at every start
            Path(f"{fleet_path}{suffix}").unlink(missing_ok=True)
        self.fleet = Outbox(fleet_path, synchronous="normal")
        self.metrics = Metrics()
        self.delivery: Delivery
        #: event id -> the node that raised it (the ``Vsa-Node`` of its first revision).
        self.raised_by: dict[str, str] = {}
        #: True once the fleet view holds every revision ``ALERTS`` had at the start.
        self.caught_up = False
        self.store: ClusterStore
        self.book: ReviewBook
        self.evidence: EvidenceBucket
        self.audit: AuditLog
        self.replica: AuditReplica
        self._changed = anyio.Event()
        self._done: dict[str, int] = {}
        self._stopping = False
        self._log = get_logger(console=self.id)

    # --- what the HTTP API uses -----------------------------------------------------------

    def next_change(self) -> anyio.Event:
        """Set when the fleet view next changes."""
        return self._changed

    async def _deliver(self, done: anyio.Event) -> None:
        """Run the delivery until :meth:`Delivery.finish` and every sink caught up."""
        try:
            await self.delivery.run()
        finally:
            done.set()

    async def record(self, kind: str, data: dict[str, Any]) -> None:
        """Append an audit entry (and have it replicated to ``AUDIT``)."""
        await anyio.to_thread.run_sync(self.audit.append, kind, data)
        self.replica.wake()

    async def review(
        self, event: Event, review: Any, cause: str | None, note: str | None, actor: str
    ) -> tuple[ReviewRecord, bool]:
        """Record a verdict on ``event`` once (see :mod:`vsa_stream.cluster.reviews`); audited
        when it was written. Returns the stored record and whether this call wrote it.

        Raises:
            LookupError: the node that raised the event is not known.
        """
        node = self.raised_by.get(event.id)
        if node is None:
            raise LookupError(event.id)
        wanted = ReviewRecord(
            event_id=event.id,
            node=node,
            camera_id=event.camera_id,
            type=event.type,
            review=review,
            cause=cause,
            note=note,
            actor=actor,
            at=time.time(),
        )
        stored, revision, written = await self.book.write(wanted)
        if written:
            await self.record(
                "review",
                {
                    "actor": actor,
                    "event_id": event.id,
                    "node": node,
                    "review": stored.review,
                    "cause": stored.cause,
                    "note_sha256": hashlib.sha256((note or "").encode()).hexdigest(),
                    "record_revision": revision,
                },
            )
            self._log.info(
                "event reviewed", event_id=event.id, node=node, review=review, actor=actor
            )
        return stored, written

    # --- running ----------------------------------------------------------------------------

    async def run(self, ready: anyio.Event | None = None) -> None:
        """Serve until SIGINT or SIGTERM (``ready`` is set once the API may be called)."""
        from vsa_stream.cluster.console_app import ConsoleBackend
        from vsa_stream.server.run import ApiServer

        nc = await connect(self.options.servers, name=f"vsa-stream console {self.id}")
        server: ApiServer[ConsoleBackend] | None = None
        try:
            self.store = await ClusterStore(nc, self.options).open()
            self.book = await ReviewBook(self.store).open()
            self.evidence = await EvidenceBucket(self.store).open()
            self.replica = await AuditReplica(self.store, self.id, self.audit_path).open()
            restored = await restore_audit(self.store, self.id, self.audit_path)
            if restored:
                self._log.warning(
                    "audit entries written back from the AUDIT stream", count=restored
                )
            self.audit = AuditLog(self.audit_path, key=self.key, on_head=self._anchor)
            if not self.audit.keyed:
                self._log.warning("audit log unkeyed (set audit.key_file or audit.key_env)")
            stream = AlertStreamSink(self.store, self.id, lambda _: None)
            outbox = self.config.outbox
            self.delivery = Delivery(
                self.outbox,
                [*self.sinks, stream],
                self.metrics,
                keep_delivered_s=outbox.keep_delivered_h * 3600.0,
                keep_events_s=outbox.keep_events_days * 86400.0,
                drain_s=outbox.drain_s,
            )
            if self.config.server.enabled:
                settings = self.config.server
                server = ApiServer(ConsoleBackend(self), settings.host, settings.port)
                server.bind()
            await self.record(
                "daemon_start",
                {
                    "role": "console",
                    "console": self.id,
                    "version": __version__,
                    "audit_keyed": self.audit.keyed,
                    "server": server.url if server else None,
                },
            )
            async with anyio.create_task_group() as tg:
                delivered = anyio.Event()
                tg.start_soon(self._deliver, delivered)
                tg.start_soon(self._follow_alerts)
                tg.start_soon(self.replica.run)
                tg.start_soon(self._stand_in)
                if server is not None:
                    tg.start_soon(server.run)
                if ready is not None:
                    ready.set()
                with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for _ in signals:
                        break
                self._log.info("console stopping")
                if server is not None:
                    server.stop()
                await anyio.to_thread.run_sync(lambda: self.audit.flush_auth_failures(all=True))
                await self.record("daemon_stop", {"role": "console"})
                with anyio.move_on_after(5.0):
                    await self.replica.replicated(self.audit.head.seq)
                self.delivery.finish()
                with anyio.move_on_after(self.config.outbox.drain_s + 1.0):
                    await delivered.wait()  # every sink caught up, or drain_s passed
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(5.0):
                await nc.close()
            self.fleet.close()

    # --- ALERTS → the fleet view --------------------------------------------------------------

    async def _follow_alerts(self) -> None:
        """Read ``ALERTS`` from its first message into the fleet view, then follow it (an
        ordered consumer, subscribed again from the next sequence when it stalls)."""
        js = self.store.js
        subject = f"{self.store.subject_prefix}.>"
        next_seq = 1
        while True:
            try:
                info = await js.stream_info(ALERTS_STREAM)
                start_last = int(info.state.last_seq)
                if start_last < next_seq:
                    self._caught_up()
                sub = await js.subscribe(
                    subject,
                    stream=ALERTS_STREAM,
                    ordered_consumer=True,
                    config=ConsumerConfig(
                        deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=next_seq
                    ),
                )
                quiet_since = time.monotonic()
                try:
                    while True:
                        try:
                            msg = await sub.next_msg(timeout=0.5)
                        except nats.errors.TimeoutError:
                            if time.monotonic() - quiet_since > _STALL_S:
                                info = await js.stream_info(ALERTS_STREAM)
                                if int(info.state.last_seq) >= next_seq:
                                    break  # the stream has more: subscribe again
                                quiet_since = time.monotonic()
                            continue
                        quiet_since = time.monotonic()
                        batch = [msg]  # and what has already arrived: one transaction
                        while sub.pending_msgs and len(batch) < _BATCH:
                            batch.append(await sub.next_msg())
                        fresh = []
                        for m in batch:
                            seq = int(m.metadata.sequence.stream)
                            if seq >= next_seq:
                                next_seq = seq + 1
                                fresh.append((m.data, (m.headers or {}).get("Vsa-Node")))
                        await self._ingest(fresh)
                        if next_seq > start_last:
                            self._caught_up()
                finally:
                    await sub.unsubscribe()
            except (nats.errors.Error, nats.js.errors.Error, OSError) as exc:
                self._log.warning("ALERTS not read", error=f"{type(exc).__name__}: {exc}")
                await anyio.sleep(0.5)

    def _caught_up(self) -> None:
        if not self.caught_up:
            self.caught_up = True
            self._log.info("fleet view caught up with ALERTS", events=len(self.raised_by))

    async def _ingest(self, messages: list[tuple[bytes, str | None]]) -> None:
        """Store revisions of ``ALERTS`` (body, ``Vsa-Node``) in the fleet view, in order."""
        events = []
        for data, node in messages:
            try:
                event = decode(data)
            except msgspec.DecodeError:
                self._log.error("unreadable revision in ALERTS")
                continue
            if node is not None and node != self.id:
                self.raised_by.setdefault(event.id, node)
            events.append(event)
        stored: int = await self.fleet.call(_store_newer, self.fleet, events) if events else 0
        if stored:
            self._changed.set()
            self._changed = anyio.Event()

    # --- standing in for a node that is gone ------------------------------------------------

    async def _stand_in(self) -> None:
        """Every second: a review not yet carried by its event, whose node has no lease, is
        emitted by the console (once per record revision)."""
        pending: dict[str, tuple[ReviewRecord, int]] = {}
        while True:
            try:
                if await self.book.changed():
                    pending = {
                        k: v
                        for k, v in (await self.book.all()).items()
                        if self._done.get(k) != v[1]
                    }
                if pending and self.caught_up:
                    live = await self.store.nodes()
                    for key, (record, revision) in list(pending.items()):
                        if await self._stand_in_for(record, live):
                            self._done[key] = revision
                            del pending[key]
            except Exception as exc:
                self.book._last_seq = None
                self._log.warning("reviews not read", error=f"{type(exc).__name__}: {exc}")
            await anyio.sleep(1.0)

    async def _stand_in_for(self, record: ReviewRecord, live: dict[str, Any]) -> bool:
        """True when the review is carried (or now emitted by the console)."""
        latest = await self.fleet.call(self.fleet.get_event, record.event_id)
        if latest is None:
            return False
        if same_verdict(latest, record):
            return True
        own = await self.outbox.call(self.outbox.get_event, record.event_id)
        if own is not None and same_verdict(own, record):
            return True  # emitted before a restart, still on its way
        if record.node in live:
            return False  # the node applies it
        revised = latest.revised(
            review=record.review,
            review_note=record.note,
            review_cause=record.cause,
            updated_at=time.time(),
        )
        rows = await self.delivery.accept([revised])
        self._log.info(
            "review emitted for a node that is gone",
            event_id=record.event_id,
            node=record.node,
            revision=rows[0].event.revision,
        )
        return True

    # --- the audit log, replicated ------------------------------------------------------------

    def _anchor(self, head: AuditHead) -> None:
        """Keep the audit head in the console's outbox database, as a daemon does."""
        try:
            self.outbox.set_audit_head(head)
        except sqlite3.Error as exc:
            self._log.error("audit head not anchored", seq=head.seq, error=str(exc))


def _store_newer(fleet: Outbox, events: list[Event]) -> int:
    """Append the revisions newer than what ``fleet`` holds of their event (a stand-in
    revision that its node also published, or an older one, is skipped); how many."""
    latest: dict[str, int] = {}
    newer = []
    for event in events:
        if event.id not in latest:
            current = fleet.get_event(event.id)
            latest[event.id] = current.revision if current is not None else 0
        if event.revision > latest[event.id]:
            latest[event.id] = event.revision
            newer.append(event)
    fleet.append(newer)
    return len(newer)
