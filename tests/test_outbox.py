"""The durable outbox and the per-sink delivery tasks, in process."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path

import anyio
import msgspec
import pytest

from collect import Collect
from sample_events import make_event
from vsa_stream.events import Event, new_event_id
from vsa_stream.metrics import Metrics
from vsa_stream.outbox import Outbox
from vsa_stream.sinks import Sink
from vsa_stream.sinks.delivery import Delivery


class Stuck(Sink):
    """A sink whose receiver never answers."""

    name = "stuck"

    async def send(self, event: Event) -> None:
        await anyio.sleep_forever()

    async def aclose(self) -> None:
        pass


class Flaky(Sink):
    """Fails each revision's first ``failures`` attempts."""

    name = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts: dict[str, int] = {}
        self.delivered: list[str] = []

    async def send(self, event: Event) -> None:
        n = self.attempts[event.id] = self.attempts.get(event.id, 0) + 1
        if n <= self.failures:
            raise OSError("disk full")
        self.delivered.append(event.id)

    async def aclose(self) -> None:
        pass


def test_revisions_survive_reopening_and_cursors_resume(tmp_path: Path) -> None:
    path = tmp_path / "state" / "outbox.sqlite3"
    box = Outbox(path)
    assert box.cursor("a").seq == 0
    events = [make_event() for _ in range(5)]
    rows = box.append(events)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    box.advance("a", 3)
    box.close()

    again = Outbox(path)
    assert again.head == 5
    assert again.cursor("a").seq == 3
    assert [r.event.id for r in again.read_after(3)] == [e.id for e in events[3:]]
    # A sink added later starts with what is accepted from then on.
    assert again.cursor("b").seq == 5
    journal = again._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert journal == "wal"
    again.close()


def test_an_outbox_of_a_later_schema_is_refused_not_rewritten(tmp_path: Path) -> None:
    """A daemon rolled back after an upgrade must not write into the newer outbox."""
    path = tmp_path / "outbox.sqlite3"
    box = Outbox(path)
    box.append([make_event()])
    box._db.execute("PRAGMA user_version=2")
    box.close()
    with pytest.raises(OSError, match=r"schema is version 2.*reads up to 1"):
        Outbox(path)
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2  # left as it was


def test_review_is_a_new_revision_and_a_late_rule_revision_keeps_it() -> None:
    box = Outbox()
    event = make_event()
    box.append([event])
    reviewed = box.review(event.id, "dismissed", note="a shadow")
    assert (reviewed.revision, reviewed.review, reviewed.review_note) == (
        2,
        "dismissed",
        "a shadow",
    )
    # The rule closes its event, unaware of the review: revision 2 is taken.
    (closed,) = box.append([event.revised(state="closed")])
    assert (closed.event.revision, closed.event.state) == (3, "closed")
    assert (closed.event.review, closed.event.review_note) == ("dismissed", "a shadow")
    assert [(r.event.revision, r.event.review) for r in box.read_after(0)] == [
        (1, "pending"),
        (2, "dismissed"),
        (3, "dismissed"),
    ]
    with pytest.raises(KeyError):
        box.review(new_event_id(), "confirmed")
    with pytest.raises(ValueError, match="confirmed"):
        box.review(event.id, "pending")


def test_events_are_listed_latest_revision_first_filtered_and_paged() -> None:
    box = Outbox()
    a = make_event("cam1")
    b = make_event("cam2")
    c = make_event("cam1", kind="fire")
    box.append([a, b, c, a.revised(state="closed")])
    latest = box.list_events()
    assert [(e.id, e.revision) for e in latest] == [(a.id, 2), (b.id, 1), (c.id, 1)]
    assert [e.id for e in box.list_events(camera_id="cam1")] == [a.id, c.id]
    assert [e.id for e in box.list_events(type="fire")] == [c.id]
    assert [e.id for e in box.list_events(state="closed")] == [a.id]
    page1 = box.list_events(limit=2)
    page2 = box.list_events(limit=2, after_id=page1[-1].id)
    assert [e.id for e in page1 + page2] == [a.id, b.id, c.id]
    box.review(b.id, "confirmed")
    assert [e.id for e in box.list_events(review="confirmed")] == [b.id]
    reviewed = box.get_event(b.id)
    assert reviewed is not None
    assert (reviewed.revision, reviewed.review) == (2, "confirmed")


def test_pruning_keeps_what_a_sink_has_not_had_and_pending_retries() -> None:
    box = Outbox()
    box.cursor("fast")
    box.cursor("slow")
    rows = box.append([make_event() for _ in range(6)])
    box.advance("fast", 6)
    box.advance("slow", 4)
    box.schedule_retry("fast", 2, 1, 0.0, "HTTP 500")
    deleted = box.prune(0.0, ["fast", "slow"], now=rows[-1].accepted_at + 1)
    assert deleted == 3  # 1, 3, 4: 2 waits for a retry, 5 and 6 for "slow"
    assert [r.seq for r in box.read_after(0)] == [2, 5, 6]
    box.disable("slow", "HTTP 410")  # a disabled sink holds nothing back
    box.retry_done("fast", 2)
    assert box.prune(0.0, ["fast", "slow"], now=rows[-1].accepted_at + 1) == 3
    assert box.read_after(0) == []


def test_the_latest_state_of_events_is_kept_longer_than_delivered_revisions() -> None:
    box = Outbox()
    box.cursor("sink")
    t0 = time.time()
    old = make_event(updated_at=t0)
    (row,) = box.append([old])
    box.advance("sink", row.seq)
    day = 86400.0
    now = t0 + 2 * day
    assert box.prune(day, ["sink"], keep_events_s=30 * day, now=now) == 1
    assert box.get_event(old.id) is not None  # 2 days: the API still lists it
    box.prune(day, ["sink"], keep_events_s=30 * day, now=t0 + 31 * day)
    assert box.get_event(old.id) is None  # minimisation: gone after 30 days
    # Should the rule revise it still, it gets a fresh revision number, not a conflict.
    again = make_event(updated_at=t0)
    (r1,) = box.append([again])
    box.advance("sink", r1.seq)
    box.prune(day, ["sink"], keep_events_s=0.0, now=r1.accepted_at + 1)
    assert box.get_event(again.id) is None
    assert len(box.read_after(0)) == 1  # its revision 1 is still kept (keep_s)
    (r2,) = box.append([msgspec.structs.replace(again, state="closed")])
    assert r2.event.revision == 2


@pytest.mark.anyio
async def test_a_stuck_sink_holds_back_neither_the_others_nor_acceptance() -> None:
    collect = Collect()

    async def main() -> Delivery:
        # The collecting sink needs milliseconds; 3 s of drain leaves room on a loaded machine.
        delivery = Delivery(Outbox(), [Stuck(), collect], Metrics(), drain_s=3.0)
        async with anyio.create_task_group() as tg:
            tg.start_soon(delivery.run)
            for _ in range(10):
                await delivery.accept([make_event() for _ in range(10)])
            delivery.finish()
        return delivery

    delivery = await main()
    assert len(collect.events) == 100
    assert [e.id for e in collect.events] == sorted(e.id for e in collect.events)
    assert delivery.undelivered() == 100  # the stuck sink's, left in the outbox
    text = delivery.metrics.exposition().decode()
    assert 'vsa_delivery_lag_revisions{sink="stuck"} 100.0' in text
    assert 'vsa_delivery_lag_revisions{sink="collect"} 0.0' in text


@pytest.mark.anyio
async def test_an_ordered_sink_retries_in_order_and_failures_are_counted() -> None:
    flaky = Flaky(failures=1)
    events = [make_event() for _ in range(3)]

    async def main() -> Delivery:
        delivery = Delivery(Outbox(), [flaky], Metrics(), drain_s=30)
        async with anyio.create_task_group() as tg:
            tg.start_soon(delivery.run)
            await delivery.accept(events)
            delivery.finish()
        return delivery

    delivery = await main()
    assert flaky.delivered == [e.id for e in events]
    assert delivery.failures == 3
    assert 'vsa_delivery_failures_total{sink="flaky"} 3.0' in delivery.metrics.exposition().decode()


@pytest.mark.anyio
async def test_undelivered_revisions_are_delivered_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    events = [make_event() for _ in range(20)]

    async def run(sinks: list[Sink], new: list[Event]) -> None:
        box = Outbox(path)
        # The collecting sink needs milliseconds; 3 s of drain leaves room on a loaded machine.
        delivery = Delivery(box, sinks, Metrics(), drain_s=3.0)
        async with anyio.create_task_group() as tg:
            tg.start_soon(delivery.run)
            if new:
                await delivery.accept(new)
            delivery.finish()
        box.close()

    first = Collect("files")
    sinks: list[Sink] = [first, Stuck()]
    await run(sinks, events)
    assert len(first.events) == 20
    # The stuck sink is a receiver that was down; next run it is back, under the same name.
    back = Collect("stuck")
    sinks = [Collect("files"), back]
    await run(sinks, [])
    assert [e.id for e in back.events] == [e.id for e in events]


@pytest.mark.anyio
async def test_a_review_flows_to_every_sink_like_any_other_change() -> None:
    files, hook = Collect("files"), Collect("hook")
    event = make_event()

    async def main() -> None:
        delivery = Delivery(Outbox(), [files, hook], Metrics())
        async with anyio.create_task_group() as tg:
            tg.start_soon(delivery.run)
            await delivery.accept([event])
            reviewed = await delivery.review(event.id, "confirmed", "checked on the camera")
            assert reviewed.revision == 2
            with pytest.raises(KeyError):
                await delivery.review(new_event_id(), "dismissed")
            delivery.finish()

    await main()
    for sink in (files, hook):
        assert [(e.revision, e.review, e.review_note) for e in sink.events] == [
            (1, "pending", None),
            (2, "confirmed", "checked on the camera"),
        ]
