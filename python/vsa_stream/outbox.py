"""The durable outbox: every event revision on disk before it counts as accepted.

One SQLite database in WAL mode holds:

- ``revisions``: every accepted revision, in acceptance order (``seq``), with its JSON body;
- ``events``: the latest revision of each event id (what an API lists and filters), with when
  its first revision and its first verdict were accepted (``opened_at``, ``reviewed_at``: what
  the quality report's detection latency and time to first review are computed from);
- ``cursors``: per sink, the last ``seq`` handed over, and whether the sink is disabled;
- ``retries``: per sink, revisions whose delivery failed and is scheduled again;
- ``audit_head``: the audit log's last entry (seq, hash, MAC), its anchor outside the file.

The outbox is the source of truth for revision numbers: a revision arriving with a number that is
already taken (an operator's review raced the rule's next update) is renumbered after the latest
one, and keeps the latest review decision (verdict, note, cause) when it carries none. So a
review recorded with :meth:`Outbox.review` and a later ``closed`` from the rule both reach
every sink, in order.

Every method is blocking (SQLite): the event loop calls them through a worker thread
(:meth:`Outbox.call`). One connection, one lock: SQLite has one writer anyway, and every call is
short. ``synchronous=FULL`` (the default) makes a commit survive a power cut, ``NORMAL`` only a
crash of the process.

Example:
    >>> from vsa_stream.events import Event, Evidence
    >>> box = Outbox(":memory:")
    >>> ev = Event(id="0190a000-0000-7000-8000-000000000001", revision=1, type="intrusion",
    ...            camera_id="cam", state="open", started_at=1.0, updated_at=1.0, start_s=0.0,
    ...            start_frame=0, evidence=Evidence(frame_index=0, stream_time_s=0.0))
    >>> [(r.seq, r.event.revision) for r in box.append([ev])]
    [(1, 1)]
    >>> box.review(ev.id, "confirmed", note="seen on site").revision
    2
    >>> box.append([ev.revised(state="closed")])[0].event.review  # renumbered, keeps the review
    'confirmed'
    >>> [(e.revision, e.state, e.review) for e in box.list_events()]
    [(3, 'closed', 'confirmed')]
    >>> box.close()
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import anyio.to_thread
import msgspec

from vsa_stream.audit import CHECKPOINT_TYPE, AuditHead
from vsa_stream.config.statistics import STATISTICS_TYPE
from vsa_stream.events import CAUSES, VERDICTS, Event, Review, decode, encode
from vsa_stream.private import private_dir, private_file

__all__ = ["EventFacts", "Outbox", "RetryRow", "Row", "SinkCursor"]

_T = TypeVar("_T")

#: The schema version (``PRAGMA user_version``); an outbox of a later one is refused.
_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS revisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    accepted_at REAL NOT NULL,
    body BLOB NOT NULL,
    UNIQUE (event_id, revision)
);
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    camera_id TEXT NOT NULL,
    type TEXT NOT NULL,
    state TEXT NOT NULL,
    review TEXT NOT NULL,
    updated_at REAL NOT NULL,
    body BLOB NOT NULL,
    started_at REAL,
    opened_at REAL,
    reviewed_at REAL
);
CREATE INDEX IF NOT EXISTS events_camera ON events (camera_id, id);
CREATE INDEX IF NOT EXISTS events_updated ON events (updated_at);
CREATE TABLE IF NOT EXISTS cursors (
    sink TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    disabled_reason TEXT,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS retries (
    sink TEXT NOT NULL,
    seq INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    due_at REAL NOT NULL,
    last_error TEXT NOT NULL,
    dead INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (sink, seq)
);
CREATE INDEX IF NOT EXISTS retries_due ON retries (sink, dead, due_at);
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    mac TEXT,
    updated_at REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Row:
    """One accepted revision as stored: ``seq`` is its place in the delivery order."""

    seq: int
    event: Event
    body: bytes
    accepted_at: float

    @property
    def key(self) -> str:
        """The delivery idempotency key: event id and revision (``webhook-id``)."""
        return f"{self.event.id}-{self.event.revision}"


@dataclass(frozen=True, slots=True)
class EventFacts:
    """The latest revision of an event and when the outbox accepted its first revision
    (``opened_at``) and its first verdict (``reviewed_at``); None where not recorded (an event
    stored before these columns existed, or not reviewed yet)."""

    event: Event
    opened_at: float | None
    reviewed_at: float | None


@dataclass(frozen=True, slots=True)
class SinkCursor:
    """Where a sink stands: the last ``seq`` handed over, and why it is disabled (if it is)."""

    sink: str
    seq: int
    disabled_reason: str | None


@dataclass(frozen=True, slots=True)
class RetryRow:
    """A revision whose delivery to ``sink`` failed ``attempts`` times, next tried at ``due_at``."""

    sink: str
    seq: int
    attempts: int
    due_at: float


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A revision whose every delivery attempt to ``sink`` failed: kept for an operator, who
    may re-queue it (:meth:`Outbox.redrive`)."""

    sink: str
    seq: int
    event_id: str
    revision: int
    type: str
    camera_id: str
    attempts: int
    last_error: str


class Outbox:
    """The outbox database (see the module docstring).

    Args:
        path: the SQLite file (parent folders are created), or ``":memory:"`` for an outbox that
            orders and isolates sinks but survives nothing (``scan``, tests).
        synchronous: ``"full"`` (each commit survives a power cut) or ``"normal"`` (a crash).
        clock: the wall clock of acceptance and review times (a scripted run gives its own).

    Raises:
        OSError: the database cannot be opened or created.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        synchronous: Literal["full", "normal"] = "full",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = os.fspath(path)
        self._clock = clock
        self.durable = self.path != ":memory:"
        if self.durable:
            # SQLite gives its -wal and -shm files the database file's mode: 0600 from here on
            private_dir(Path(self.path).parent)
            private_file(self.path)
            for suffix in ("-wal", "-shm"):
                if os.path.exists(self.path + suffix):
                    os.chmod(self.path + suffix, 0o600)
        try:
            self._db = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=30.0
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
            stored = self._db.execute("PRAGMA user_version").fetchone()[0]
            if stored > _SCHEMA_VERSION:  # a later version's outbox: never write it blind
                self._db.close()
                raise OSError(
                    f"cannot open outbox {self.path}: its schema is version {stored}, written "
                    f"by a later vsa_stream; this version reads up to {_SCHEMA_VERSION}"
                )
            self._db.executescript(_SCHEMA)
            self._add_columns()
            self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            raise OSError(f"cannot open outbox {self.path}: {exc}") from None
        self._lock = threading.Lock()
        self.head = self._scalar("SELECT COALESCE(MAX(seq), 0) FROM revisions")

    # --- plumbing ---------------------------------------------------------------------------

    async def call(self, fn: Callable[..., _T], *args: object) -> _T:
        """Run one of the blocking methods in a worker thread (never blocks the event loop)."""
        return await anyio.to_thread.run_sync(fn, *args)

    def _scalar(self, sql: str, params: Sequence[object] = ()) -> int:
        row = self._db.execute(sql, params).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def _add_columns(self) -> None:
        """Give an ``events`` table created by an earlier version its newer columns."""
        have = {row[1] for row in self._db.execute("PRAGMA table_info(events)")}
        for column in ("started_at", "opened_at", "reviewed_at"):
            if column not in have:
                self._db.execute(f"ALTER TABLE events ADD COLUMN {column} REAL")
        if "started_at" not in have:  # from the stored revisions (opened_at is not known)
            self._db.execute(
                "UPDATE events SET started_at = json_extract(CAST(body AS TEXT), '$.started_at')"
            )
        self._db.execute("CREATE INDEX IF NOT EXISTS events_started ON events (started_at)")

    def close(self) -> None:
        """Close the database (a WAL checkpoint happens on close)."""
        with self._lock:
            self._db.close()
            self.closed = True

    #: True once :meth:`close` ran (metrics scraped after an engine ended read nothing more).
    closed = False

    # --- accepting revisions ----------------------------------------------------------------

    def append(self, events: Iterable[Event]) -> list[Row]:
        """Commit revisions in one transaction (group commit); returns them as stored.

        A revision whose number is taken is renumbered after the latest one, and a ``pending``
        one inherits the latest review decision (see the module docstring). Nothing is
        accepted unless the commit succeeds.
        """
        now = self._clock()
        rows: list[Row] = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for event in events:
                    rows.append(self._insert(event, now))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            if rows:
                self.head = rows[-1].seq
        return rows

    def _insert(self, event: Event, now: float) -> Row:
        latest = self._db.execute(
            "SELECT revision, review, body FROM events WHERE id = ?", (event.id,)
        ).fetchone()
        if latest is None:  # the event's latest state was pruned: revisions may remain
            row = self._db.execute(
                "SELECT MAX(revision) FROM revisions WHERE event_id = ?", (event.id,)
            ).fetchone()
            if row[0] is not None and event.revision <= row[0]:
                event = msgspec.structs.replace(event, revision=int(row[0]) + 1)
        else:
            revision, review, _ = latest
            if event.revision <= revision:
                event = msgspec.structs.replace(event, revision=revision + 1)
            if event.review == "pending" and review != "pending":
                previous = decode(latest[2])
                event = msgspec.structs.replace(
                    event,
                    review=previous.review,
                    review_note=previous.review_note,
                    review_cause=previous.review_cause,
                )
        body = encode(event)
        cursor = self._db.execute(
            "INSERT INTO revisions (event_id, revision, accepted_at, body) VALUES (?, ?, ?, ?)",
            (event.id, event.revision, now, body),
        )
        seq = int(cursor.lastrowid or 0)
        self._db.execute(
            "INSERT INTO events (id, revision, seq, camera_id, type, state, review, updated_at, "
            "body, started_at, opened_at, reviewed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET "
            "revision = excluded.revision, seq = excluded.seq, state = excluded.state, "
            "review = excluded.review, updated_at = excluded.updated_at, body = excluded.body, "
            "started_at = excluded.started_at, "
            "reviewed_at = COALESCE(events.reviewed_at, excluded.reviewed_at)",
            (
                event.id,
                event.revision,
                seq,
                event.camera_id,
                event.type,
                event.state,
                event.review,
                event.updated_at,
                body,
                event.started_at,
                now,
                None if event.review == "pending" else now,
            ),
        )
        return Row(seq, event, body, now)

    def review(
        self, event_id: str, review: Review, note: str | None = None, cause: str | None = None
    ) -> Event:
        """Record an operator's verdict as a new revision (delivered like any other).

        ``false_alarm`` needs a ``cause`` from :data:`~vsa_stream.events.CAUSES`; the other
        verdicts take none. A later verdict replaces the verdict, note and cause; the time of
        the first one stays (``reviewed_at`` of :meth:`facts`).

        Raises:
            KeyError: no event has this id.
            ValueError: ``review`` is not a verdict, or ``cause`` does not fit it (the message
                names the field).
        """
        if review not in VERDICTS:
            raise ValueError(f"review must be one of {', '.join(VERDICTS)}, got {review!r}")
        if review == "false_alarm" and cause not in CAUSES:
            given = "none given" if cause is None else f"got {cause!r}"
            raise ValueError(f"cause: a false_alarm needs one of {', '.join(CAUSES)} ({given})")
        if review != "false_alarm" and cause is not None:
            raise ValueError(f"cause: only a false_alarm has a cause, not {review}")
        current = self.get_event(event_id)
        if current is None:
            raise KeyError(event_id)
        if current.type == STATISTICS_TYPE:
            raise ValueError("review: a statistics interval is an aggregate, not an alert")
        revised = current.revised(
            review=review, review_note=note, review_cause=cause, updated_at=self._clock()
        )
        return self.append([revised])[0].event

    # --- reading ----------------------------------------------------------------------------

    def read_after(self, seq: int, limit: int = 256) -> list[Row]:
        """Revisions accepted after ``seq``, in order, at most ``limit``."""
        with self._lock:
            found = self._db.execute(
                "SELECT seq, body, accepted_at FROM revisions WHERE seq > ? ORDER BY seq LIMIT ?",
                (seq, limit),
            ).fetchall()
        return [Row(s, decode(b), bytes(b), a) for s, b, a in found]

    def read(self, seqs: Sequence[int]) -> list[Row]:
        """The revisions with these ``seq`` numbers that are still stored, in order."""
        if not seqs:
            return []
        marks = ",".join("?" * len(seqs))
        with self._lock:
            found = self._db.execute(
                f"SELECT seq, body, accepted_at FROM revisions WHERE seq IN ({marks}) ORDER BY seq",
                tuple(seqs),
            ).fetchall()
        return [Row(s, decode(b), bytes(b), a) for s, b, a in found]

    def accepted_at(self, seq: int) -> float | None:
        """When the revision ``seq`` was accepted (None when it is no longer stored)."""
        with self._lock:
            row = self._db.execute(
                "SELECT accepted_at FROM revisions WHERE seq = ?", (seq,)
            ).fetchone()
        return float(row[0]) if row else None

    def get_event(self, event_id: str) -> Event | None:
        """The latest revision of one event."""
        with self._lock:
            row = self._db.execute("SELECT body FROM events WHERE id = ?", (event_id,)).fetchone()
        return decode(row[0]) if row else None

    def known(self, event_ids: Sequence[str]) -> set[str]:
        """Which of ``event_ids`` the outbox has (any revision)."""
        if not event_ids:
            return set()
        marks = ",".join("?" * len(event_ids))
        with self._lock:
            found = self._db.execute(
                f"SELECT id FROM events WHERE id IN ({marks})", tuple(event_ids)
            ).fetchall()
        return {i for (i,) in found}

    def list_events(
        self,
        *,
        camera_id: str | None = None,
        type: str | None = None,
        state: str | None = None,
        review: str | None = None,
        after_id: str | None = None,
        limit: int = 100,
        newest_first: bool = False,
    ) -> list[Event]:
        """The latest revision of each event, by id (time order, or newest first), filtered,
        one page.

        Pass the last id of a page as ``after_id`` to get the next one (in either order).
        ``audit_checkpoint`` and ``statistics`` events (not alerts) are listed only when
        ``type`` asks for them.
        """
        where: list[str] = [] if type is not None else ["type NOT IN (?, ?)"]
        params: list[object] = [] if type is not None else [CHECKPOINT_TYPE, STATISTICS_TYPE]
        for column, value in (
            ("camera_id", camera_id),
            ("type", type),
            ("state", state),
            ("review", review),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if after_id is not None:
            where.append("id < ?" if newest_first else "id > ?")
            params.append(after_id)
        sql = "SELECT body FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?" if newest_first else " ORDER BY id LIMIT ?"
        params.append(max(0, limit))
        with self._lock:
            found = self._db.execute(sql, params).fetchall()
        return [decode(b) for (b,) in found]

    def facts(self, start: float, end: float) -> list[EventFacts]:
        """Every event (latest revision) whose situation started in ``[start, end)`` or whose
        interval overlaps it (a ``camera_offline`` that began before ``start``), by id, with
        the acceptance times of its first revision and first verdict (the quality report)."""
        with self._lock:
            found = self._db.execute(
                "SELECT body, opened_at, reviewed_at FROM events WHERE type NOT IN (?, ?) AND "
                "COALESCE(started_at, updated_at) < ? AND (COALESCE(started_at, updated_at) >= ? "
                "OR state != 'closed' OR updated_at >= ?) ORDER BY id",
                (CHECKPOINT_TYPE, STATISTICS_TYPE, end, start, start),
            ).fetchall()
        return [EventFacts(decode(b), o, r) for b, o, r in found]

    # --- cursors and retries ----------------------------------------------------------------

    def cursor(self, sink: str, target: str = "") -> SinkCursor:
        """The cursor of ``sink``, created at the current head when the sink is new.

        A new sink starts with the revisions accepted from now on. ``target`` identifies where
        the sink delivers (a URL): when it changes, a disabled sink is enabled again.
        """
        with self._lock:
            row = self._db.execute(
                "SELECT seq, target, disabled_reason FROM cursors WHERE sink = ?", (sink,)
            ).fetchone()
            if row is None:
                head = self._scalar("SELECT COALESCE(MAX(seq), 0) FROM revisions")
                self._db.execute(
                    "INSERT INTO cursors (sink, seq, target, updated_at) VALUES (?, ?, ?, ?)",
                    (sink, head, target, time.time()),
                )
                return SinkCursor(sink, head, None)
            seq, old_target, reason = row
            if old_target != target:
                self._db.execute(
                    "UPDATE cursors SET target = ?, disabled_reason = NULL WHERE sink = ?",
                    (target, sink),
                )
                reason = None
            return SinkCursor(sink, int(seq), reason)

    def advance(self, sink: str, seq: int) -> None:
        """Persist that every revision up to ``seq`` was handed over to ``sink``."""
        with self._lock:
            self._db.execute(
                "UPDATE cursors SET seq = MAX(seq, ?), updated_at = ? WHERE sink = ?",
                (seq, time.time(), sink),
            )

    def disable(self, sink: str, reason: str) -> None:
        """Mark ``sink`` disabled (it stays so across restarts until its target changes)."""
        with self._lock:
            self._db.execute(
                "UPDATE cursors SET disabled_reason = ?, updated_at = ? WHERE sink = ?",
                (reason, time.time(), sink),
            )

    def schedule_retry(self, sink: str, seq: int, attempts: int, due_at: float, error: str) -> None:
        """Record that delivering ``seq`` to ``sink`` failed ``attempts`` times so far."""
        with self._lock:
            self._db.execute(
                "INSERT INTO retries (sink, seq, attempts, due_at, last_error) VALUES "
                "(?, ?, ?, ?, ?) ON CONFLICT (sink, seq) DO UPDATE SET attempts = "
                "excluded.attempts, due_at = excluded.due_at, last_error = excluded.last_error",
                (sink, seq, attempts, due_at, error),
            )

    def give_up(self, sink: str, seq: int, attempts: int, error: str) -> None:
        """Keep a revision whose every attempt failed, as dead, for an operator to see."""
        with self._lock:
            self._db.execute(
                "INSERT INTO retries (sink, seq, attempts, due_at, last_error, dead) VALUES "
                "(?, ?, ?, 0, ?, 1) ON CONFLICT (sink, seq) DO UPDATE SET dead = 1, "
                "attempts = excluded.attempts, last_error = excluded.last_error",
                (sink, seq, attempts, error),
            )

    def retry_done(self, sink: str, seq: int) -> None:
        """Forget a retry that succeeded."""
        with self._lock:
            self._db.execute("DELETE FROM retries WHERE sink = ? AND seq = ?", (sink, seq))

    def retries(self, sink: str, *, dead: bool = False) -> list[RetryRow]:
        """The scheduled (or, with ``dead``, abandoned) retries of ``sink``, soonest first."""
        with self._lock:
            found = self._db.execute(
                "SELECT seq, attempts, due_at FROM retries WHERE sink = ? AND dead = ? "
                "ORDER BY due_at, seq",
                (sink, int(dead)),
            ).fetchall()
        return [RetryRow(sink, int(s), int(a), float(d)) for s, a, d in found]

    def retry_counts(self) -> dict[str, tuple[int, int]]:
        """Per sink: (revisions waiting for a retry, dead letters); empty once closed."""
        with self._lock:
            if self.closed:
                return {}
            found = self._db.execute(
                "SELECT sink, SUM(dead = 0), SUM(dead = 1) FROM retries GROUP BY sink"
            ).fetchall()
        return {str(s): (int(w), int(d)) for s, w, d in found}

    def dead_letters(self, sink: str | None = None) -> list[DeadLetter]:
        """The dead letters (of ``sink``, or of every sink), oldest revision first."""
        sql = (
            "SELECT r.sink, r.seq, v.event_id, v.revision, r.attempts, r.last_error, v.body "
            "FROM retries r JOIN revisions v ON v.seq = r.seq WHERE r.dead = 1"
        )
        params: list[object] = []
        if sink is not None:
            sql += " AND r.sink = ?"
            params.append(sink)
        with self._lock:
            found = self._db.execute(sql + " ORDER BY r.seq, r.sink", params).fetchall()
        out = []
        for name, seq, event_id, revision, attempts, error, body in found:
            event = decode(body)
            out.append(
                DeadLetter(
                    str(name), int(seq), str(event_id), int(revision), event.type,
                    event.camera_id, int(attempts), str(error),
                )
            )  # fmt: skip
        return out

    def redrive(self, sink: str | None = None, *, now: float | None = None) -> int:
        """Re-queue the dead letters (of ``sink``, or of every sink) for delivery now, with a
        fresh retry schedule; returns how many. A running daemon sends them within a second."""
        sql = "UPDATE retries SET dead = 0, attempts = 0, due_at = ? WHERE dead = 1"
        params: list[object] = [time.time() if now is None else now]
        if sink is not None:
            sql += " AND sink = ?"
            params.append(sink)
        with self._lock:
            return int(self._db.execute(sql, params).rowcount)

    # --- the audit log's anchor -------------------------------------------------------------

    def set_audit_head(self, head: AuditHead) -> None:
        """Anchor the audit log's head (:class:`~vsa_stream.audit.AuditLog` ``on_head``)."""
        with self._lock:
            self._db.execute(
                "INSERT INTO audit_head (id, seq, hash, mac, updated_at) VALUES (1, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, "
                "mac = excluded.mac, updated_at = excluded.updated_at",
                (head.seq, head.hash, head.mac, time.time()),
            )

    def audit_head(self) -> AuditHead | None:
        """The anchored audit head, None when no entry was ever anchored here."""
        with self._lock:
            row = self._db.execute("SELECT seq, hash, mac FROM audit_head WHERE id = 1").fetchone()
        return None if row is None else AuditHead(int(row[0]), str(row[1]), row[2])

    # --- housekeeping -----------------------------------------------------------------------

    def prune(
        self,
        keep_s: float,
        sinks: Iterable[str],
        *,
        keep_events_s: float | None = None,
        now: float | None = None,
    ) -> int:
        """Delete revisions older than ``keep_s`` that every enabled sink of ``sinks`` has had.

        Revisions still waiting for a retry are kept. The latest state of an event (the
        ``events`` table) goes ``keep_events_s`` after its last change (``keep_s`` when None),
        once delivered. Returns the number of revisions deleted.
        """
        now = time.time() if now is None else now
        cutoff = now - keep_s
        events_cutoff = now - (keep_s if keep_events_s is None else keep_events_s)
        names = list(sinks)
        marks = ",".join("?" * len(names))
        with self._lock:
            row = self._db.execute(
                f"SELECT MIN(seq) FROM cursors WHERE disabled_reason IS NULL AND sink IN ({marks})",
                names,
            ).fetchone()
            floor = int(row[0]) if row and row[0] is not None else self.head
            self._db.execute("BEGIN IMMEDIATE")
            try:
                deleted = self._db.execute(
                    "DELETE FROM revisions WHERE seq <= ? AND accepted_at < ? AND seq NOT IN "
                    "(SELECT seq FROM retries WHERE dead = 0)",
                    (floor, cutoff),
                ).rowcount
                self._db.execute(
                    "DELETE FROM events WHERE updated_at < ? AND seq <= ?", (events_cutoff, floor)
                )
                self._db.execute(
                    "DELETE FROM retries WHERE dead = 1 AND seq NOT IN (SELECT seq FROM revisions)"
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return int(deleted)
