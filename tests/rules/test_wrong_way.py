"""wrong_way on scripted tracks: direction, lane, age, displacement, tolerance, metres."""

from __future__ import annotations

import math

from scripted import box, opens, run
from vsa_stream.config import Calibration, WrongWayRule, Zone
from vsa_stream.events import encode
from vsa_stream.observation import Detection
from vsa_stream.rules.wrong_way import WrongWayRunner

ZONE = Zone(id="lane", polygon=[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)])


def runner(calibration: Calibration | None = None, **kw: object) -> WrongWayRunner:
    kw.setdefault("direction_deg", 0.0)  # allowed: to the right
    rule = WrongWayRule(zones=["lane"], **kw)  # type: ignore[arg-type]
    return WrongWayRunner("cam", rule, [ZONE], calibration)


def walk(
    x0: float, y0: float, vx: float, vy: float, seconds: float, tid: int = 1, fps: float = 10.0
) -> list[list[Detection]]:
    """A person walking at (vx, vy) px/s."""
    n = round(seconds * fps)
    return [
        [box(x0 + vx * i / fps, y0 + vy * i / fps, 30, 80, label="person", track_id=tid)]
        for i in range(n)
    ]


def test_walking_against_the_direction_alerts_with_heading_and_speed() -> None:
    events = run(runner(), walk(700, 400, -50, 0, 4) + [[]] * 20)
    assert [e.state for e in events] == ["open", "closed"]
    opened = events[0]
    # judged once the track is 1 s old (50 px > 30 px moved), held 0.5 s
    assert opened.start_s == 1.0
    assert opened.evidence.stream_time_s == 1.5
    v = opened.evidence.values
    assert abs(v["heading_deg"] - 180.0) < 1.0
    assert abs(v["speed_px_s"] - 50.0) < 1.0
    assert v["allowed_deg"] == 0.0
    assert opened.evidence.track_ids == [1]
    assert opened.zone_id == "lane"


def test_walking_the_allowed_way_or_within_tolerance_is_quiet() -> None:
    assert run(runner(), walk(100, 400, 50, 0, 6)) == []
    assert run(runner(), walk(100, 100, 40, 40, 6)) == []  # 45°, inside the 60° cone
    assert len(opens(run(runner(tolerance_deg=30), walk(100, 100, 40, 40, 6)))) == 1


def test_jitter_and_a_step_back_are_not_wrong_way() -> None:
    jitter = [
        [box(400 + 8 * math.sin(i), 400, 30, 80, label="person", track_id=1)] for i in range(100)
    ]
    assert run(runner(), jitter) == []
    # two steps back (20 px) then standing still: under the displacement threshold
    step_back = (
        walk(400, 400, -50, 0, 0.4) + [[box(380, 400, 30, 80, label="person", track_id=1)]] * 60
    )
    assert run(runner(), walk(300, 400, 50, 0, 2) + step_back) == []


def test_young_tracks_are_not_judged() -> None:
    # the tracker loses the person every 0.9 s: each new track is too young to judge
    script = []
    for k in range(6):
        script += walk(700 - 45 * k, 400, -50, 0, 0.9, tid=k + 1)
    assert run(runner(), script) == []
    assert len(opens(run(runner(min_track_age_s=0.5), script))) == 1


def test_classes_and_untracked_detections() -> None:
    bikes = [
        [box(d.center[0], d.y1, 30, 80, label="bicycle", track_id=1)]
        for (d,) in walk(700, 400, -50, 0, 4)
    ]
    assert run(runner(), bikes) == []
    untracked = [[box(700 - 5 * i, 400, 30, 80)] for i in range(40)]
    assert run(runner(), untracked) == []


def test_lane_polyline_gives_the_local_direction() -> None:
    # an L-shaped lane: right along y=100, then down along x=600 (normalised on 800x600)
    lane = [(0.1, 1 / 6), (0.75, 1 / 6), (0.75, 1.0)]
    r = runner(direction_deg=None, lane=lane)
    assert run(r, walk(600, 550, 0, 50, 4)) == []  # going down the vertical part: allowed
    up = run(runner(direction_deg=None, lane=lane), walk(600, 550, 0, -50, 4))
    (opened,) = opens(up)
    assert opened.evidence.values["allowed_deg"] == 90.0
    assert abs(opened.evidence.values["heading_deg"] - 270.0) < 1.0


def test_metres_with_a_calibration() -> None:
    # 100 px = 1 m on the ground
    cal = Calibration(
        image_points=[(0, 0), (800, 0), (800, 600), (0, 600)],
        ground_points=[(0, 0), (8, 0), (8, 6), (0, 6)],
        units="pixels",
    )
    slow = walk(700, 400, -30, 0, 5)  # 0.6 m over the 2 s window
    assert run(runner(cal, min_displacement_m=1.0), slow) == []
    (opened,) = opens(run(runner(cal, min_displacement_m=0.5), slow))
    assert 0.5 <= opened.evidence.values["displacement_m"] <= 0.61


def test_a_jittering_box_drifting_against_the_direction_is_not_a_walk() -> None:
    # a blob of a shaking camera or of merging blobs: net 60 px to the left over 2 s, but it
    # jumps 40 px back and forth every frame on the way (straightness about 0.08)
    frames = [
        [box(600 - 3 * i + (40 if i % 2 else 0), 400, 30, 80, label="person", track_id=1)]
        for i in range(40)
    ]
    assert run(runner(), frames) == []
    # the same drift without the jumps is a walk against the direction
    steady = [[box(600 - 30 * i / 10, 400, 30, 80, label="person", track_id=1)] for i in range(40)]
    assert len(opens(run(runner(), steady))) == 1


# A lane band across the picture (y 250..350 of 800x600), traffic allowed to the right.
BAND = Zone(
    id="lane", polygon=[(0.0, 250 / 600), (1.0, 250 / 600), (1.0, 350 / 600), (0.0, 350 / 600)]
)


def band_runner() -> WrongWayRunner:
    return WrongWayRunner("cam", WrongWayRule(zones=["lane"], direction_deg=0.0), [BAND])


def car(x: float, y: float) -> list[Detection]:
    """A car seen from above, 40 px wide, its bottom centre at (x, y)."""
    return [box(x, y, 40, 60, label="vehicle", track_id=7)]


def test_a_car_turning_across_the_lane_is_not_wrong_way() -> None:
    # it drives left in the opposite lane (y 200), then turns left (a quarter circle of radius
    # 100 around (400, 300)) across the band into a side road going down: while it crosses the
    # band its heading sweeps from 150° to 90°, all outside the 60° cone around 0°
    frames = [car(600 - 10 * i, 200) for i in range(20)]
    frames += [
        car(400 + 100 * math.cos(math.radians(a)), 300 + 100 * math.sin(math.radians(a)))
        for a in range(-90, -181, -6)
    ]
    frames += [car(300, 300 + 10 * i) for i in range(1, 30)]
    assert run(band_runner(), frames) == []


def test_a_car_grazing_the_lane_edge_is_not_wrong_way() -> None:
    # driving left in its own lane, its bottom centre 5 px over the band's edge for 4 s
    assert run(band_runner(), [car(700 - 10 * i, 255) for i in range(40)]) == []
    # the same car in the middle of the band is against the direction
    (opened,) = opens(run(band_runner(), [car(700 - 10 * i, 310) for i in range(40)]))
    encode(opened)  # plain numbers: it goes to the sinks
    assert opened.evidence.values["along_px"] >= 30.0
    assert opened.evidence.values["turn_deg"] <= 5.0


def test_the_cooldown_does_not_hold_back_another_walker() -> None:
    # walker 1 goes the wrong way for 3 s and leaves; walker 2 does the same 2 s after that
    # event closed, well inside the zone's 10 s cooldown
    first = walk(700, 400, -50, 0, 3, tid=1) + [[]] * 30
    second = walk(700, 300, -50, 0, 4, tid=2) + [[]] * 20
    events = run(runner(), first + second)
    opened = opens(events)
    assert [e.evidence.track_ids for e in opened] == [[1], [2]]
    # judged once 1 s old, held 0.5 s: as soon as the first walker's alert was
    assert abs(opened[1].evidence.stream_time_s - 6.0 - 1.5) < 0.11
    # the first walker coming back the wrong way within the cooldown is held back
    back = walk(700, 400, -50, 0, 3, tid=1)
    assert len(opens(run(runner(), first + back))) == 1


def test_a_walker_whose_track_breaks_is_not_alerted_twice() -> None:
    # the tracker loses the walker for 4 s (behind others) and starts a new track where it has
    # walked to by then: the second fragment is the same walker, held back by the cooldown
    first = walk(700, 400, -50, 0, 2.5, tid=1)
    second = [
        [box(d.center[0] - 325, d.y1, 30, 80, label="person", track_id=2)]
        for (d,) in walk(700, 400, -50, 0, 3, tid=2)
    ]
    events = run(runner(), first + [[]] * 40 + second + [[]] * 20)
    assert [e.state for e in events].count("open") == 1


def test_the_last_alerts_walker_does_not_prop_up_a_newcomers_brief_condition() -> None:
    # walker 1 goes the wrong way, is lost for 1.5 s (its event closes) and is found again
    # with its id, still going the wrong way: held back by the cooldown. Meanwhile another
    # track is against for only 0.3 s (under min_duration_s): alone it would not alert, and
    # walker 1 must not hold its condition up into a second alert
    first = walk(700, 400, -50, 0, 3, tid=1)
    found = walk(475, 400, -50, 0, 3, tid=1)
    brief = walk(700, 200, -50, 0, 1.3, tid=5)
    frames = first + [[]] * 15 + [a + b for a, b in zip(found, brief + [[]] * 30, strict=False)]
    events = run(runner(), frames)
    assert [e.evidence.track_ids for e in opens(events)] == [[1]]


def blob_walker(bottoms: list[float], vx: float = -40.0) -> list[list[Detection]]:
    """A walker's motion blob, 8 px wide, going left at ``vx`` px/s: its top steady, its
    bottom (the anchor) on ``bottoms``, frame by frame (the legs come and go)."""
    return [
        [Detection(700 + vx * i / 10 - 4, 200.0, 700 + vx * i / 10 + 4, y, "person", 1.0, 3)]
        for i, y in enumerate(bottoms)
    ]


def test_a_walker_near_the_lane_edge_whose_blob_loses_its_legs_is_alerted() -> None:
    # feet 12 px inside the band's top edge (y 250); one frame in four the blob loses its legs
    # and its bottom is at y 246, over the edge: a blip, not a stay outside
    bottoms = [246.0 if i % 4 == 3 else 262.0 for i in range(80)]
    (opened,) = opens(run(band_runner(), blob_walker(bottoms)))
    assert abs(opened.evidence.values["heading_deg"] - 180.0) < 15.0
    # out of the band as long as in it: not in the lane (grazing it from the next one)
    grazing = [246.0 if i % 4 >= 2 else 262.0 for i in range(80)]
    assert run(band_runner(), blob_walker(grazing)) == []
