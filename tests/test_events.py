"""Events: stable time-ordered ids, revisions, the JSON wire format."""

from __future__ import annotations

import threading
import uuid

from vsa_stream.events import Event, Evidence, decode, encode, new_event_id


def test_ids_are_uuid7_unique_and_time_ordered_across_threads() -> None:
    ids: list[str] = []
    lock = threading.Lock()

    def make() -> None:
        local = [new_event_id() for _ in range(5000)]
        with lock:
            ids.extend(local)

    threads = [threading.Thread(target=make) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == len(ids) == 20000
    assert all(uuid.UUID(i).version == 7 for i in ids[:100])
    # monotonic within the process, even when asked for an earlier time
    first = new_event_id()
    assert first < new_event_id(1.0)


def test_event_round_trips_and_revises() -> None:
    ev = Event(
        id=new_event_id(),
        revision=1,
        type="intrusion",
        camera_id="cam",
        state="open",
        zone_id="z",
        started_at=1.5,
        updated_at=2.0,
        start_s=0.5,
        start_frame=5,
        evidence=Evidence(frame_index=9, stream_time_s=0.9, boxes=[(0.1, 0.2, 0.3, 0.4)]),
    )
    wire = encode(ev)
    assert b"\n" not in wire
    assert decode(wire) == ev
    closed = ev.revised(state="closed", end_s=3.0)
    assert (closed.id, closed.revision, closed.state, closed.review) == (
        ev.id,
        2,
        "closed",
        "pending",
    )
