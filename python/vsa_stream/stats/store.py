"""Where the statistics intervals are kept, and how they are read back (JSON, CSV).

``<state_dir>/statistics.sqlite3`` holds one table, ``intervals``: per ``statistics``
revision its camera, its interval and its aggregates (:class:`~vsa_stream.events.
IntervalStats`), nothing else. It is written by :class:`StatisticsSink`, a sink of the outbox
like any other (so an interval survives a crash between its end and its storage, and is stored
once: the revision's id is the key), and each camera's intervals are deleted
``statistics.retention_days`` after their end.

Example:
    >>> store = StatisticsStore(":memory:")
    >>> store.query() == []
    True
    >>> store.close()
"""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import anyio.to_thread
import msgspec

from vsa_stream.config import Config
from vsa_stream.config.statistics import STATISTICS_TYPE
from vsa_stream.events import Event, IntervalStats
from vsa_stream.private import private_dir, private_file
from vsa_stream.sinks.base import DeliveryPolicy, Sink

__all__ = [
    "CameraInterval",
    "StatisticsSink",
    "StatisticsStore",
    "retention_days",
    "statistics_path",
    "to_csv",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS intervals (
    id TEXT PRIMARY KEY,
    camera_id TEXT NOT NULL,
    start REAL NOT NULL,
    end REAL NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS intervals_time ON intervals (start, camera_id);
"""


class CameraInterval(IntervalStats, kw_only=True):
    """One camera's aggregates over one interval, as ``/api/stats`` returns them."""

    camera_id: str


_decoder = msgspec.json.Decoder(IntervalStats)


def statistics_path(config: Config) -> str:
    """The statistics database of a configuration: ``<state_dir>/statistics.sqlite3``."""
    return os.path.join(config.state_dir, "statistics.sqlite3")


def retention_days(config: Config) -> dict[str, int]:
    """``statistics.retention_days`` of each camera that has statistics."""
    return {c.id: c.statistics.retention_days for c in config.cameras if c.statistics is not None}


class StatisticsStore:
    """The intervals database (see the module docstring). Every method blocks (SQLite).

    Args:
        path: the SQLite file (its folder is created ``0700``), or ``":memory:"``.

    Raises:
        OSError: the database cannot be opened.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        if self.path != ":memory:":
            private_dir(Path(self.path).parent)
            private_file(self.path)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise OSError(f"cannot open statistics database {self.path}: {exc}") from None
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def add(self, event: Event) -> bool:
        """Store the interval of a ``statistics`` revision; False when it was stored already
        (a revision delivered twice) or carries no interval."""
        stats = event.statistics
        if event.type != STATISTICS_TYPE or stats is None:
            return False
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO intervals (id, camera_id, start, end, body) "
                "VALUES (?, ?, ?, ?, ?)",
                (event.id, event.camera_id, stats.start, stats.end, msgspec.json.encode(stats)),
            )
        return cursor.rowcount == 1

    def prune(
        self, keep_days: Mapping[str, int], *, default_days: int = 365, now: float | None = None
    ) -> int:
        """Delete the intervals that ended more than their camera's ``keep_days`` ago (cameras
        not listed: ``default_days``, or the longest listed when longer); returns how many."""
        now = time.time() if now is None else now
        other = max([default_days, *keep_days.values()])
        deleted = 0
        with self._lock:
            for camera, days in keep_days.items():
                deleted += self._db.execute(
                    "DELETE FROM intervals WHERE camera_id = ? AND end < ?",
                    (camera, now - days * 86400.0),
                ).rowcount
            marks = ",".join("?" * len(keep_days))
            deleted += self._db.execute(
                f"DELETE FROM intervals WHERE camera_id NOT IN ({marks}) AND end < ?",
                (*keep_days, now - other * 86400.0),
            ).rowcount
        return int(deleted)

    def query(
        self,
        *,
        camera_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 10000,
    ) -> list[CameraInterval]:
        """The intervals starting in ``[since, until)``, oldest first, at most ``limit``."""
        where, params = [], []
        for clause, value in (
            ("camera_id = ?", camera_id),
            ("start >= ?", since),
            ("start < ?", until),
        ):
            if value is not None:
                where.append(clause)
                params.append(value)
        sql = "SELECT camera_id, body FROM intervals"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY start, camera_id, id LIMIT ?"
        params.append(max(0, limit))
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        out = []
        for camera, body in rows:
            stats = _decoder.decode(body)
            out.append(CameraInterval(camera_id=camera, **msgspec.structs.asdict(stats)))
        return out


class StatisticsSink(Sink):
    """The sink that stores every ``statistics`` revision in a :class:`StatisticsStore` and
    prunes each camera's intervals after its ``retention_days`` (at start, then hourly)."""

    name = "statistics"
    policy = DeliveryPolicy(mode="ordered", types=frozenset({STATISTICS_TYPE}))

    def __init__(self, store: StatisticsStore, keep_days: Mapping[str, int]) -> None:
        self.store = store
        self.keep_days = dict(keep_days)
        self._pruned = 0.0

    async def send(self, event: Event) -> None:
        """Store one interval (in a worker thread)."""
        await anyio.to_thread.run_sync(self._store, event)

    def _store(self, event: Event) -> None:
        self.store.add(event)
        if time.time() - self._pruned >= 3600.0:
            self.store.prune(self.keep_days)
            self._pruned = time.time()

    async def aclose(self) -> None:
        """Close the database."""
        await anyio.to_thread.run_sync(self.store.close)


_CSV_COLUMNS = (
    "camera_id",
    "start",
    "end",
    "interval_min",
    "complete",
    "frames",
    "measure",
    "where",
    "direction",
    "class",
    "count",
    "mean",
    "peak",
)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def to_csv(intervals: list[CameraInterval]) -> str:
    """The intervals as CSV: one row per line, direction and class (``measure`` ``crossings``)
    and per zone and class (``occupancy``); times ISO 8601 UTC; ``"< k"`` kept as written.

    Example:
        >>> from vsa_stream.events import LineCount
        >>> row = CameraInterval(camera_id="gate", start=0.0, end=900.0, interval_min=15,
        ...     complete=True, frames=9000, min_count=5,
        ...     crossings=[LineCount(line="door", direction="in", object_class="person", count=12)])
        >>> print(to_csv([row]).splitlines()[1])
        gate,1970-01-01T00:00:00Z,1970-01-01T00:15:00Z,15,true,9000,crossings,door,in,person,12,,
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    for i in intervals:
        head = [
            i.camera_id,
            _iso(i.start),
            _iso(i.end),
            i.interval_min,
            "true" if i.complete else "false",
            i.frames,
        ]
        for c in i.crossings:
            writer.writerow(
                [*head, "crossings", c.line, c.direction, c.object_class, c.count, "", ""]
            )
        for z in i.occupancy:
            writer.writerow([*head, "occupancy", z.zone, "", z.object_class, "", z.mean, z.peak])
    return buffer.getvalue()
