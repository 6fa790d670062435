"""The sink base class (its default hooks) and the memory sink, through the real delivery."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from sample_events import make_event
from vsa_stream import config
from vsa_stream.engine import Engine
from vsa_stream.events import Event
from vsa_stream.metrics import Metrics
from vsa_stream.outbox import Outbox
from vsa_stream.sinks import MemorySink, Sink
from vsa_stream.sinks.base import CameraStates, DeliveryPolicy
from vsa_stream.sinks.delivery import Delivery
from vsa_stream.synth import Truth

ZONE = "[[0.63, 0.56], [0.94, 0.53], [0.96, 0.93], [0.60, 0.95]]"


class OnlySends(Sink):
    """A third-party sink as small as it can be: a name and ``send``."""

    name = "only-sends"

    def __init__(self) -> None:
        self.ids: list[str] = []

    async def send(self, event: Event) -> None:
        self.ids.append(event.id)


class Watcher(MemorySink):
    """Records every camera id and state its ``watch_cameras`` is shown."""

    def __init__(self) -> None:
        super().__init__("watcher")
        self.seen: set[tuple[str, str]] = set()

    async def watch_cameras(self, states: CameraStates) -> None:
        while True:
            self.seen.update(states())
            await anyio.sleep(0.01)


async def deliver(
    sinks: list[Sink], events: list[Event], camera_states: CameraStates = list
) -> Delivery:
    delivery = Delivery(Outbox(), sinks, Metrics(), drain_s=3.0, camera_states=camera_states)
    async with anyio.create_task_group() as tg:
        tg.start_soon(delivery.run)
        await delivery.accept(events)
        delivery.finish()
    return delivery


def test_a_sink_must_say_how_it_sends() -> None:
    class NoSend(Sink):
        name = "no-send"

    with pytest.raises(TypeError, match="send"):
        NoSend()  # type: ignore[abstract]


@pytest.mark.anyio
async def test_a_sink_with_only_send_gets_every_revision_in_order() -> None:
    sink = OnlySends()
    events = [make_event() for _ in range(5)]
    delivery = await deliver([sink], events)
    assert sink.policy == DeliveryPolicy()  # ordered, every type
    assert sink.ids == [e.id for e in events]
    assert delivery.undelivered() == 0
    await sink.aclose()  # the default: nothing to release


@pytest.mark.anyio
async def test_a_memory_sink_keeps_only_its_types_in_order() -> None:
    every, fires = MemorySink("every"), MemorySink("fires", types=["fire"])
    events = [make_event(kind=k) for k in ("intrusion", "fire", "intrusion", "fire")]
    await deliver([every, fires], events)
    assert [e.id for e in every.events] == [e.id for e in events]
    assert [e.id for e in fires.events] == [events[1].id, events[3].id]
    assert fires.opened("fire") == fires.events
    assert fires.of("cam", "intrusion") == []


@pytest.mark.anyio
async def test_a_watching_sink_is_shown_the_camera_states_it_is_given() -> None:
    watcher = Watcher()
    states = [("cam-a", "running"), ("cam-b", "failed")]
    await deliver([watcher], [make_event()], camera_states=lambda: states)
    assert watcher.seen == set(states)
    assert len(watcher.events) == 1


@pytest.mark.anyio
async def test_the_engine_shows_its_cameras_to_a_watching_sink_and_closes_it(
    small_intruder: tuple[Path, Truth],
) -> None:
    video, _ = small_intruder
    cfg = config.loads(
        f"""
privacy: {{legal_profile: lab}}
cameras:
  - id: door
    url: {json.dumps(str(video))}
    fps: 5
    zones: [{{id: restricted, polygon: {ZONE}}}]
    rules: [{{type: intrusion, zones: [restricted]}}]
"""
    )
    watcher = Watcher()
    await Engine(cfg, [watcher], scan=True).run()
    assert "door" in {camera for camera, _ in watcher.seen}
    assert watcher.opened("intrusion"), "the intruder was not seen"
    assert watcher.closed
