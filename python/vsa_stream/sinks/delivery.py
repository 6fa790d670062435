"""Delivery from the outbox: one task per sink, each reading from its own cursor.

::

    accept(batch) ──commit──► outbox ──► sink A task (cursor A) ──► sink A
                                     └─► sink B task (cursor B) ──► sink B

A revision counts as accepted once :meth:`Delivery.accept` has committed it. Each sink's task
then hands it over at least once, in acceptance order (see :class:`DeliveryPolicy` for what a
failure does), and persists its cursor; after a crash, each sink starts again from its cursor,
so a revision handed over just before the crash may come twice, with the same id and revision.
A slow or failing sink only holds back itself.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

import anyio
import anyio.abc
import anyio.to_thread
from prometheus_client.core import GaugeMetricFamily

from vsa_stream.events import Event, Review
from vsa_stream.log import get_logger
from vsa_stream.metrics import Metrics, gauge
from vsa_stream.outbox import Outbox, Row
from vsa_stream.sinks.base import (
    CameraStates,
    DeliveryError,
    DeliveryPolicy,
    EndpointGoneError,
    Sink,
)

__all__ = ["Delivery"]

# How often a sink's cursor is persisted, busy or caught up (each persist is a commit).
_PERSIST_EVERY_S = 0.2
# A sink with nothing to do looks at the outbox this often even when no commit woke it.
_IDLE_WAKE_S = 1.0
_READ_BATCH = 256
_PRUNE_EVERY_S = 300.0
# Retry-After beyond this is not believed.
_MAX_RETRY_AFTER_S = 86400.0


def _jitter(delay: float) -> float:
    """``delay`` ± 20 %, so that many failed revisions do not come back all at once."""
    return delay * random.uniform(0.8, 1.2) if delay > 0 else 0.0


def _scope(st: _SinkState) -> anyio.CancelScope:
    """A new cancel scope of ``st``'s tasks, cancelled when the sink is taken out."""
    scope = anyio.CancelScope()
    st.scopes.append(scope)
    return scope


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@dataclass(slots=True)
class _SinkState:
    sink: Sink
    name: str
    policy: DeliveryPolicy
    cursor: int = 0
    persisted: int = 0
    disabled: str | None = None
    # Handed out but not finished, in seq order, with their acceptance times.
    window: deque[tuple[int, float]] = field(default_factory=deque)
    finished: set[int] = field(default_factory=set)
    failures: int = 0
    delivered: int = 0
    # Cancelled to take the sink out (a reload): its worker's and its camera watch's;
    # ``stopped`` is set once the worker has saved its cursor.
    scopes: list[anyio.CancelScope] = field(default_factory=list)
    stopped: anyio.Event = field(default_factory=anyio.Event)

    def enabled(self) -> bool:
        return self.disabled is None

    def lag(self, head: int, now: float) -> tuple[float, int]:
        if self.disabled is not None or head <= self.cursor:
            return 0.0, 0
        oldest = self.window[0][1] if self.window else now
        return max(0.0, now - oldest), head - self.cursor


class Delivery:
    """Accepts revisions into an outbox and delivers them to every sink.

    Args:
        outbox: where revisions are committed.
        sinks: the destinations; their names must be unique (each names a cursor).
        metrics: gets delivery lag and failures per sink.
        keep_delivered_s: revisions every sink has had are deleted after this long.
        keep_events_s: the latest state of an event is deleted this long after its last change.
        drain_s: after :meth:`finish`, how long sinks get to catch up before they are stopped
            (what is left stays in the outbox for the next run).
        camera_states: the cameras' ``(camera_id, state)`` pairs now, given to each sink's
            :meth:`~vsa_stream.sinks.base.Sink.watch_cameras` (none by default).
    """

    def __init__(
        self,
        outbox: Outbox,
        sinks: Sequence[Sink],
        metrics: Metrics,
        *,
        keep_delivered_s: float = 86400.0,
        keep_events_s: float = 30 * 86400.0,
        drain_s: float = 10.0,
        camera_states: CameraStates = list,
    ) -> None:
        names = [s.name for s in sinks]
        if len(set(names)) != len(names):
            raise ValueError(f"sink names must be unique, got {names}")
        self.outbox = outbox
        self.metrics = metrics
        self.keep_delivered_s = keep_delivered_s
        self.keep_events_s = keep_events_s
        self.drain_s = drain_s
        self.camera_states = camera_states
        self._states = [_SinkState(s, s.name, s.policy) for s in sinks]
        self._wake = anyio.Event()
        self._ready = anyio.Event()
        self._finishing = False
        self._finish_event = anyio.Event()
        self._workers: anyio.abc.TaskGroup | None = None
        self._side: anyio.abc.TaskGroup | None = None
        self._log = get_logger()
        metrics.add_collector(self._collect)

    @property
    def failures(self) -> int:
        """Failed delivery attempts since this object was made, all sinks together."""
        return sum(s.failures for s in self._states)

    def undelivered(self) -> int:
        """Revisions a sink has not had yet, summed over sinks (they stay in the outbox): past
        its cursor (all of them for a sink disabled by a 410), waiting for a retry, or dead."""
        head = self.outbox.head
        counts = self.outbox.retry_counts()
        return sum(max(0, head - s.cursor) + sum(counts.get(s.name, (0, 0))) for s in self._states)

    def _collect(self) -> Iterable[GaugeMetricFamily]:
        now = time.time()
        head = self.outbox.head
        lags = [(s.name, *s.lag(head, now)) for s in self._states]
        yield gauge(
            "vsa_delivery_lag_seconds",
            "Age of the oldest revision a sink has not had yet, seconds.",
            ["sink"],
            [([name], seconds) for name, seconds, _ in lags],
        )
        yield gauge(
            "vsa_delivery_lag_revisions",
            "Revisions accepted that a sink has not had yet.",
            ["sink"],
            [([name], float(rows)) for name, _, rows in lags],
        )
        yield gauge(
            "vsa_delivery_disabled",
            "1 when a sink's receiver disabled it (HTTP 410).",
            ["sink"],
            [([s.name], float(s.disabled is not None)) for s in self._states],
        )
        counts = self.outbox.retry_counts()
        for index, name, text in (
            (0, "vsa_delivery_retrying", "Revisions waiting for a retry, per sink."),
            (1, "vsa_delivery_dead", "Dead letters (every attempt failed), per sink."),
        ):
            yield gauge(
                name,
                text,
                ["sink"],
                [([s.name], float(counts.get(s.name, (0, 0))[index])) for s in self._states],
            )

    # --- accepting --------------------------------------------------------------------------

    async def accept(self, events: Sequence[Event]) -> list[Row]:
        """Commit ``events`` (one transaction) and wake the sinks; returns them as stored.

        Waits until :meth:`run` has loaded every sink's cursor, so that a sink new to this
        outbox starts before the first revision it must have.

        Raises:
            OSError, sqlite3.Error: the commit failed; nothing of the batch was accepted.
        """
        await self._ready.wait()
        rows = await self.outbox.call(self.outbox.append, list(events))
        self._wake.set()
        self._wake = anyio.Event()
        return rows

    async def review(
        self, event_id: str, review: Review, note: str | None = None, cause: str | None = None
    ) -> Event:
        """Record an operator's verdict as a new revision and wake the sinks (see
        :meth:`Outbox.review`); returns the new revision.

        Raises:
            KeyError: no event has this id.
            ValueError: ``review`` is not a verdict, or ``cause`` does not fit it.
        """
        await self._ready.wait()
        event = await anyio.to_thread.run_sync(
            lambda: self.outbox.review(event_id, review, note, cause)
        )
        self.metrics.reviews.labels(
            camera=event.camera_id, type=event.type, review=event.review, cause=cause or ""
        ).inc()
        self._wake.set()
        self._wake = anyio.Event()
        return event

    @property
    def ready(self) -> bool:
        """True once every sink's cursor is loaded: revisions can be accepted."""
        return self._ready.is_set()

    def next_change(self) -> anyio.Event:
        """An event set at the next commit (accept or review), for readers that follow the
        outbox (the HTTP API's event stream)."""
        return self._wake

    def finish(self) -> None:
        """No more revisions will come: each sink stops once it has caught up (or after
        ``drain_s``)."""
        self._finishing = True
        self._finish_event.set()
        self._wake.set()

    # --- running ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Deliver until :meth:`finish` and every sink caught up, or until cancelled."""
        for st in self._states:
            cursor = await self.outbox.call(self.outbox.cursor, st.name, st.policy.target)
            st.cursor = st.persisted = cursor.seq
            st.disabled = cursor.disabled_reason
        self._ready.set()
        async with anyio.create_task_group() as tg:
            side = anyio.CancelScope()
            tg.start_soon(self._side_tasks, side)
            async with anyio.create_task_group() as workers:
                self._workers = workers
                for state in self._states:
                    workers.start_soon(self._run_worker, state)
                await self._finish_event.wait()
                workers.cancel_scope.deadline = anyio.current_time() + self.drain_s
            self._workers = None
            side.cancel()
        left = self.undelivered()
        if left:
            self._log.warning("revisions left in the outbox for the next run", count=left)

    async def _side_tasks(self, scope: anyio.CancelScope) -> None:
        with scope:
            async with anyio.create_task_group() as tg:
                self._side = tg
                tg.start_soon(self._prune_loop)
                for state in self._states:
                    self._watch(state)

    def _watch(self, st: _SinkState) -> None:
        """Start the sink's ``watch_cameras``, ended with its worker."""
        if self._side is None:
            return

        async def run() -> None:
            with _scope(st):
                await st.sink.watch_cameras(self.camera_states)

        self._side.start_soon(run)

    async def _run_worker(self, st: _SinkState) -> None:
        try:
            with _scope(st):
                await self._worker(st)
        finally:
            st.stopped.set()

    async def reconfigure(self, add: Sequence[Sink], remove: Iterable[str]) -> list[Sink]:
        """Take the sinks named in ``remove`` out and put ``add`` in, while delivering (a
        configuration reload); returns the sinks taken out, for the caller to close.

        A sink taken out stops at once and saves its cursor: what it had in flight is sent
        again by whoever takes its name, with the same ids (at least once, as after a crash).
        A sink added under a name the outbox knows (settings changed: a rotated secret, a new
        URL) starts from that name's cursor and keeps its scheduled retries, so no revision is
        lost; a sink under a new name starts with the revisions accepted from now on.

        Raises:
            ValueError: two sinks would have the same name.
            RuntimeError: :meth:`run` is not delivering (not started, or finishing).
        """
        workers = self._workers
        if workers is None or self._finishing:
            raise RuntimeError("sinks can only be replaced while delivering")
        gone = set(remove)
        names = [s.name for s in self._states if s.name not in gone] + [s.name for s in add]
        if len(set(names)) != len(names):
            raise ValueError(f"sink names must be unique, got {names}")
        taken = [s for s in self._states if s.name in gone]
        for st in taken:
            for scope in st.scopes:
                scope.cancel()
        for st in taken:
            await st.stopped.wait()
        fresh = []
        for sink in add:
            st = _SinkState(sink, sink.name, sink.policy)
            cursor = await self.outbox.call(self.outbox.cursor, st.name, st.policy.target)
            st.cursor = st.persisted = cursor.seq
            st.disabled = cursor.disabled_reason
            fresh.append(st)
        # One swap, no wait in it: pruning and the metrics always see every cursor in use.
        self._states = [s for s in self._states if s not in taken] + fresh
        for st in fresh:
            workers.start_soon(self._run_worker, st)
            self._watch(st)
        self._wake.set()
        self._wake = anyio.Event()
        return [st.sink for st in taken]

    async def _prune_loop(self) -> None:
        while True:
            names = [s.name for s in self._states]
            try:
                deleted = await anyio.to_thread.run_sync(
                    partial(
                        self.outbox.prune,
                        self.keep_delivered_s,
                        names,
                        keep_events_s=self.keep_events_s,
                    )
                )
                if deleted:
                    self._log.info("outbox pruned", revisions=deleted)
            except Exception as exc:
                self._log.error("outbox pruning failed", error=_error_text(exc))
            await anyio.sleep(_PRUNE_EVERY_S)

    async def _worker(self, st: _SinkState) -> None:
        if st.disabled is not None:
            self._log.error("sink is disabled; not delivering", sink=st.name, reason=st.disabled)
            return
        limiter = anyio.Semaphore(max(1, st.policy.concurrency))
        last_persist = time.monotonic()
        next_read = st.cursor
        try:
            async with anyio.create_task_group() as tg:
                if st.policy.mode == "independent":
                    tg.start_soon(self._retry_loop, st, limiter)
                while st.disabled is None:
                    wake = self._wake
                    # Read after noting whether we are finishing: whatever was committed before
                    # finish() is then in this read, so stopping on an empty read loses nothing.
                    finishing = self._finishing
                    rows = await self.outbox.call(self.outbox.read_after, next_read, _READ_BATCH)
                    for row in rows:
                        if not st.enabled():
                            break
                        next_read = row.seq
                        st.window.append((row.seq, row.accepted_at))
                        types = st.policy.types
                        if types is not None and row.event.type not in types:
                            self._finished(st, row.seq)
                        elif st.policy.mode == "ordered":
                            await self._deliver_ordered(st, row)
                        else:
                            await limiter.acquire()
                            tg.start_soon(self._first_attempt, st, row, limiter)
                        if time.monotonic() - last_persist > _PERSIST_EVERY_S:
                            await self._persist(st)
                            last_persist = time.monotonic()
                    if rows:
                        continue
                    if finishing and not st.window:
                        tg.cancel_scope.cancel()  # the retry loop; retries wait in the outbox
                        break
                    # Caught up: persist at most every _PERSIST_EVERY_S (each is a commit; a
                    # steady trickle of revisions would otherwise cost one per batch).
                    wait = _IDLE_WAKE_S
                    if st.cursor != st.persisted:
                        since = time.monotonic() - last_persist
                        if since >= _PERSIST_EVERY_S:
                            await self._persist(st)
                            last_persist = time.monotonic()
                        else:
                            wait = _PERSIST_EVERY_S - since
                    with anyio.move_on_after(wait):
                        await wake.wait()
        finally:
            with anyio.CancelScope(shield=True):
                await self._persist(st)

    def _finished(self, st: _SinkState, seq: int) -> None:
        st.finished.add(seq)
        while st.window and st.window[0][0] in st.finished:
            done, _ = st.window.popleft()
            st.finished.discard(done)
            st.cursor = done

    async def _persist(self, st: _SinkState) -> None:
        if st.cursor != st.persisted:
            seq = st.cursor
            await self.outbox.call(self.outbox.advance, st.name, seq)
            st.persisted = seq

    def _failed(self, st: _SinkState, row: Row, exc: BaseException, attempt: int) -> None:
        st.failures += 1
        self.metrics.delivery_failures.labels(sink=st.name).inc()
        if attempt > 3 and attempt & (attempt - 1):
            return  # a long outage is logged at attempts 1, 2, 3, 4, 8, 16, ...; all are counted
        self._log.warning(
            "delivery failed",
            sink=st.name,
            event_id=row.event.id,
            revision=row.event.revision,
            attempt=attempt,
            error=_error_text(exc),
        )

    async def _disable(self, st: _SinkState, exc: EndpointGoneError) -> None:
        st.disabled = str(exc) or "gone"
        await self.outbox.call(self.outbox.disable, st.name, st.disabled)
        self._log.error("sink disabled by its receiver", sink=st.name, reason=st.disabled)

    async def _deliver_ordered(self, st: _SinkState, row: Row) -> None:
        attempt = 0
        schedule = st.policy.schedule or (1.0,)
        while True:
            attempt += 1
            try:
                await st.sink.send(row.event)
            except EndpointGoneError as exc:
                self._failed(st, row, exc, attempt)
                await self._disable(st, exc)
                return
            except Exception as exc:
                self._failed(st, row, exc, attempt)
                delay = schedule[min(attempt, len(schedule) - 1)]
                if isinstance(exc, DeliveryError) and exc.retry_after is not None:
                    delay = min(exc.retry_after, _MAX_RETRY_AFTER_S)
                await anyio.sleep(max(_jitter(delay), 0.05))
            else:
                st.delivered += 1
                self._finished(st, row.seq)
                return

    async def _attempt(self, st: _SinkState, row: Row, attempts: int) -> str:
        """One attempt of an ``independent`` sink, after ``attempts`` failed ones.

        Returns ``delivered``, ``scheduled`` (failed: the next attempt is in the outbox, or the
        revision was given up after the last one) or ``gone`` (the sink is now disabled).
        """
        try:
            await st.sink.send(row.event)
        except EndpointGoneError as exc:
            self._failed(st, row, exc, attempts + 1)
            await self._disable(st, exc)
            return "gone"
        except Exception as exc:
            self._failed(st, row, exc, attempts + 1)
            attempts += 1
            schedule = st.policy.schedule
            error = _error_text(exc)
            if attempts >= len(schedule):
                await self.outbox.call(self.outbox.give_up, st.name, row.seq, attempts, error)
                self._log.error(
                    "delivery abandoned after the last attempt",
                    sink=st.name,
                    event_id=row.event.id,
                    revision=row.event.revision,
                    attempts=attempts,
                )
                return "scheduled"
            delay = _jitter(schedule[attempts])
            if isinstance(exc, DeliveryError) and exc.retry_after is not None:
                delay = min(max(delay, exc.retry_after), _MAX_RETRY_AFTER_S)
            await self.outbox.call(
                self.outbox.schedule_retry, st.name, row.seq, attempts, time.time() + delay, error
            )
            return "scheduled"
        st.delivered += 1
        return "delivered"

    async def _first_attempt(self, st: _SinkState, row: Row, limiter: anyio.Semaphore) -> None:
        try:
            if await self._attempt(st, row, 0) != "gone":
                self._finished(st, row.seq)
        finally:
            limiter.release()

    async def _retry_loop(self, st: _SinkState, limiter: anyio.Semaphore) -> None:
        while st.disabled is None:
            now = time.time()
            retries = await self.outbox.call(self.outbox.retries, st.name)
            due = [r for r in retries if r.due_at <= now]
            found = await self.outbox.call(self.outbox.read, [d.seq for d in due])
            rows = {row.seq: row for row in found}
            for retry in due:
                row = rows.get(retry.seq)
                if row is None:  # deleted by hand: nothing left to send
                    await self.outbox.call(self.outbox.retry_done, st.name, retry.seq)
                    continue
                async with limiter:
                    outcome = await self._attempt(st, row, retry.attempts)
                if outcome == "gone":
                    return
                if outcome == "delivered":
                    await self.outbox.call(self.outbox.retry_done, st.name, retry.seq)
            await anyio.sleep(1.0)
