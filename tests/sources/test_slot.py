"""The frame slot between decode and analysis threads: drop-oldest and blocking modes."""

from __future__ import annotations

import threading
import time

import pytest

from vsa_stream.sources import FrameSlot


def test_latest_mode_keeps_newest_and_counts_drops() -> None:
    slot: FrameSlot[int] = FrameSlot("latest")
    for i in range(10):
        assert slot.put(i)
    assert slot.dropped == 9
    assert slot.accepted == 10
    assert slot.get() == 9
    assert slot.get(timeout=0.01) is None


def test_block_mode_loses_nothing_with_a_slow_consumer() -> None:
    slot: FrameSlot[int] = FrameSlot("block", capacity=2)
    got: list[int] = []

    def consume() -> None:
        while (item := slot.get()) is not None:
            got.append(item)
            time.sleep(0.001)

    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(200):
        slot.put(i)
    slot.close()
    consumer.join(timeout=10)
    assert got == list(range(200))
    assert slot.dropped == 0


def test_close_wakes_a_blocked_producer_and_consumer() -> None:
    slot: FrameSlot[int] = FrameSlot("block", capacity=1)
    slot.put(1)
    results: list[bool] = []
    producer = threading.Thread(target=lambda: results.append(slot.put(2)))
    producer.start()
    time.sleep(0.05)
    slot.close()
    producer.join(timeout=5)
    assert results == [False]
    assert slot.get() == 1  # what was accepted stays readable
    assert slot.get() is None


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        FrameSlot("latest", capacity=0)
