"""Statistics mode on scripted tracks: crossings per line and direction, occupancy, intervals
on the clock, ``"< k"`` below ``min_count``, and nothing but aggregates in what it reports."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
import pytest

from scripted import box, observation
from vsa_stream import config
from vsa_stream.config import Camera, Zone, class_problems
from vsa_stream.config.statistics import STATISTICS_TYPE, Statistics
from vsa_stream.errors import ConfigError
from vsa_stream.events import Event, IntervalStats, encode
from vsa_stream.observation import Detection
from vsa_stream.stats.counter import StatisticsCounter
from vsa_stream.stats.store import CameraInterval, StatisticsStore, to_csv

HOUR0 = 472_222 * 3600.0  # a wall clock on the hour
FPS = 10.0
SIZE = (800, 600)  # the line is at y = 300, drawn left to right: "in" is down the image


def camera(**stats: Any) -> Camera:
    section = {
        "lines": [{"id": "door", "points": [[0.0, 0.5], [1.0, 0.5]]}],
        "zones": ["hall"],
        "interval_min": 1,
        "min_count": 1,
    } | stats
    return Camera(
        id="cam",
        url="v.mp4",
        zones=[Zone(id="hall", polygon=[(0.0, 0.5), (1.0, 0.5), (1.0, 1.0), (0.0, 1.0)])],
        statistics=msgspec.convert(section, Statistics),
    )


def walker(tid: int, x: float, ys: Sequence[float], label: str = "person") -> list[Detection]:
    return [box(x, y, 30, 80, label=label, track_id=tid) for y in ys]


def feed(
    counter: StatisticsCounter, frames: Sequence[Sequence[Detection]], start: int = 0
) -> list[Event]:
    out: list[Event] = []
    for i, dets in enumerate(frames, start):
        out.extend(counter.update(observation(i, dets, FPS, SIZE, HOUR0)))
    return out


def steps(a: float, b: float, n: int = 20) -> list[float]:
    return [a + (b - a) * k / (n - 1) for k in range(n)]


def counts(stats: IntervalStats) -> dict[tuple[str, str, str], int | str]:
    return {(c.line, c.direction, c.object_class): c.count for c in stats.crossings}


def test_crossings_are_counted_once_per_track_and_direction() -> None:
    counter = StatisticsCounter(camera())
    down = [[d] for d in walker(1, 100, steps(200, 400))]  # crosses down: "in"
    up = [[d] for d in walker(2, 300, steps(450, 150))]  # crosses up: "out"
    # track 3 goes down, back up, and down again: one "in", one "out"
    zigzag = [[d] for d in walker(3, 500, steps(200, 400) + steps(400, 200) + steps(200, 400))]
    turner = [[d] for d in walker(4, 700, steps(450, 330) + steps(330, 450))]  # never crosses
    car = [[d] for d in walker(5, 400, steps(150, 450), label="vehicle")]
    bag = [[d] for d in walker(6, 400, steps(150, 450), label="bag")]  # not counted
    assert feed(counter, down + up + zigzag + turner + car + bag) == []
    (event,) = counter.finish()
    stats = event.statistics
    assert stats is not None
    assert counts(stats) == {
        ("door", "in", "person"): 2,
        ("door", "out", "person"): 2,
        ("door", "in", "vehicle"): 1,
        ("door", "out", "vehicle"): 0,
    }
    assert not stats.complete  # the counter started within this minute
    assert stats.frames == 180
    assert (stats.start, stats.end) == (HOUR0, HOUR0 + 60.0)


def test_an_interval_is_reported_when_the_clock_enters_the_next_one() -> None:
    counter = StatisticsCounter(camera())
    first = [[d] for d in walker(1, 100, steps(200, 400))]
    quiet: list[list[Detection]] = [[]] * (600 - len(first))  # the rest of the first minute
    second = [[d] for d in walker(2, 100, steps(200, 400))] + [[]] * 580
    events = feed(counter, first + quiet + second + [[]])
    assert [e.statistics.start for e in events if e.statistics] == [HOUR0, HOUR0 + 60.0]
    one, two = (e.statistics for e in events)
    assert one is not None
    assert two is not None
    assert counts(one)[("door", "in", "person")] == 1
    assert counts(two)[("door", "in", "person")] == 1  # a new track, in a new minute
    assert (one.complete, two.complete) == (False, True)
    assert counter.finish()[0].statistics.frames == 1  # type: ignore[union-attr]


def test_an_interval_with_the_camera_away_is_not_complete() -> None:
    counter = StatisticsCounter(camera())  # offline_after_s: 30 s by default
    events = []
    for t in range(240):  # minute 0: partial (started); 1: complete; 2: a 40 s hole
        if not 130 <= t < 170:
            events += counter.update(observation(t, [], 1.0, SIZE, HOUR0))
    assert [
        (e.statistics.start - HOUR0, e.statistics.complete) for e in events if e.statistics
    ] == [
        (0.0, False),
        (60.0, True),
        (120.0, False),
    ]


def test_counts_below_min_count_are_written_as_less_than_k() -> None:
    counter = StatisticsCounter(camera(min_count=3))
    frames: list[list[Detection]] = [[] for _ in range(20)]
    for tid, x in enumerate((100, 300, 500, 700)):  # four walk down together
        for i, d in enumerate(walker(tid, x, steps(200, 400))):
            frames[i].append(d)
    frames += [[d] for d in walker(9, 400, steps(450, 150))]  # one walks up
    feed(counter, frames)
    (event,) = counter.finish()
    stats = event.statistics
    assert stats is not None
    assert counts(stats)[("door", "in", "person")] == 4
    assert counts(stats)[("door", "out", "person")] == "< 3"
    occupancy = {z.object_class: z for z in stats.occupancy}
    assert occupancy["person"].peak == 4  # all four below the line at once
    assert occupancy["person"].mean == "< 3"
    assert (occupancy["vehicle"].peak, occupancy["vehicle"].mean) == (0, 0.0)  # nobody: 0
    assert b'"count":"< 3"' in encode(event)


def test_the_revision_carries_aggregates_only() -> None:
    counter = StatisticsCounter(camera())
    feed(counter, [[d] for d in walker(987654321, 100, steps(200, 400))])
    (event,) = counter.finish()
    assert (event.type, event.state, event.camera_id) == (STATISTICS_TYPE, "closed", "cam")
    assert event.evidence.boxes == []
    assert event.evidence.track_ids == []
    assert event.evidence.frame_index == 0
    assert event.start_frame == 0
    assert b"987654321" not in encode(event)  # no track id anywhere


def test_a_camera_with_only_statistics_is_valid_and_needs_a_detector(tmp_path: Any) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(b"")
    text = f"""
detectors: [{{id: coco, model: {{path: m.onnx}}}}]
cameras:
  - id: street
    url: {video}
    zones: [{{id: hall, polygon: [[0, 0.5], [1, 0.5], [1, 1]]}}]
    statistics:
      lines: [{{id: door, points: [[0, 0.5], [1, 0.5]], directions: [enter, leave]}}]
      zones: [hall]
"""
    cfg = config.loads(text)
    assert cfg.cameras[0].rules == []
    assert cfg.cameras[0].statistics is not None
    with pytest.raises(ConfigError, match=r"cameras\[0\]\.statistics\.classes.*detector"):
        config.loads(text.replace("detectors: [{id: coco, model: {path: m.onnx}}]", ""))
    with pytest.raises(ConfigError, match=r"cameras\[0\]\.statistics\.zones\[0\].*unknown zone"):
        config.loads(text.replace("zones: [hall]", "zones: [lobby]"))
    with pytest.raises(ConfigError, match=r"statistics\.interval_min.*divide an hour"):
        config.loads(text.replace("zones: [hall]", "zones: [hall]\n      interval_min: 7"))
    with pytest.raises(ConfigError, match=r"statistics\.interval_min"):
        config.loads(text.replace("zones: [hall]", "zones: [hall]\n      interval_min: 90"))
    with pytest.raises(ConfigError, match=r"statistics\.lines\[0\]\.directions"):
        config.loads(text.replace("[enter, leave]", "[enter, enter]"))
    # the models say which classes they have: neither person nor vehicle is an error
    problems = class_problems(cfg.cameras[0], {"coco": ["bag", "weapon"]})
    assert [p for p, _ in problems] == ["statistics.classes"]
    assert class_problems(cfg.cameras[0], {"coco": ["person"]}) == []


def test_a_webhook_may_ask_for_statistics_only(tmp_path: Any) -> None:
    cfg = config.loads(
        """privacy: {legal_profile: lab}
cameras: [{id: c, url: v.mp4}]
sinks:
  webhooks:
    - name: town
      url: "https://example.org/h"
      secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
      types: [statistics]
"""
    )
    assert cfg.sinks.webhooks[0].types == ["statistics"]


def test_the_store_keeps_each_interval_once_for_its_retention() -> None:
    counter = StatisticsCounter(camera())
    feed(counter, [[d] for d in walker(1, 100, steps(200, 400))])
    (event,) = counter.finish()
    store = StatisticsStore(":memory:")
    assert store.add(event)
    assert not store.add(event)  # delivered twice: stored once
    (row,) = store.query(camera_id="cam")
    assert isinstance(row, CameraInterval)
    assert row.frames == 20
    assert store.query(since=HOUR0 + 60.0) == []
    csv_text = to_csv([row])
    assert "cam,2023-11-14T" in csv_text
    assert ",crossings,door,in,person,1,," in csv_text
    assert store.prune({"cam": 1}, now=HOUR0 + 60.0 + 86400.0 - 1) == 0
    assert store.prune({"cam": 1}, now=HOUR0 + 60.0 + 86400.0 + 1) == 1
    assert store.query() == []
    store.add(event)
    # a camera no longer configured: its intervals go after the default year
    assert store.prune({}, now=HOUR0 + 60.0 + 365 * 86400.0 - 1) == 0
    assert store.prune({}, now=HOUR0 + 60.0 + 365 * 86400.0 + 1) == 1
    store.close()


def test_a_statistics_revision_never_takes_a_snapshot(tmp_path: Any) -> None:
    import av
    import numpy as np

    from vsa_stream.evidence import EvidenceStore
    from vsa_stream.sources.frame import Frame

    counter = StatisticsCounter(camera())
    feed(counter, [[d] for d in walker(1, 100, steps(200, 400))])
    (event,) = counter.finish()
    image = np.zeros((240, 320, 3), dtype=np.uint8)
    video = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
    luma = np.asarray(video.to_ndarray()[:240], dtype=np.uint8)
    frame = Frame(index=3, time_s=0.3, wall=time.monotonic(), luma=luma, keepalive=video)
    store = EvidenceStore(tmp_path, blur_persons=True, retention_days=1)
    store.capture(frame, observation(3, [], FPS, (320, 240), HOUR0), [event])
    store.close()
    assert store.written == 0
    assert list(tmp_path.rglob("*")) == []


def test_the_statistics_example_is_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    cfg = config.load(root / "examples" / "statistics.yaml")
    (cam,) = cfg.cameras
    assert cam.rules == []
    assert cam.statistics is not None
    assert cam.statistics.lines[0].directions == ["westward", "eastward"]
