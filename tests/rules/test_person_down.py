"""person_down on scripted tracks and postures."""

from __future__ import annotations

from collections.abc import Callable

from scripted import box, opens, run
from vsa_stream.config import PersonDownRule, Zone
from vsa_stream.observation import Detection, Posture
from vsa_stream.rules.person_down import PersonDownRunner

BENCH = Zone(id="bench", polygon=[(0.0, 0.0), (0.25, 0.0), (0.25, 1.0), (0.0, 1.0)])


def person(w: float, h: float, cx: float = 400.0, bottom: float = 420.0, tid: int = 1) -> Detection:
    return box(cx, bottom, w, h, label="person", track_id=tid)


def morph(
    a: tuple[float, float], b: tuple[float, float], seconds: float, cx: float = 400.0
) -> list[list[Detection]]:
    """The box going from size ``a`` to size ``b`` (w, h) over ``seconds`` at 10 fps."""
    n = max(1, round(seconds * 10))
    return [
        [person(a[0] + (b[0] - a[0]) * k / n, a[1] + (b[1] - a[1]) * k / n, cx=cx)]
        for k in range(1, n + 1)
    ]


STAND, LIE, SIT = (40.0, 120.0), (120.0, 40.0), (50.0, 75.0)


def down(**kw: object) -> PersonDownRunner:
    return PersonDownRunner("cam", PersonDownRule(**kw), [BENCH])  # type: ignore[arg-type]


def test_fall_then_lying_still_alerts_after_min_down() -> None:
    script = [[person(*STAND)]] * 20 + morph(STAND, LIE, 0.5) + [[person(*LIE)]] * 100
    events = run(down(), script)
    (opened,) = opens(events)
    v = opened.evidence.values
    assert 2.0 <= v["fall_s"] <= 2.5
    assert v["drop"] >= 0.4
    assert v["aspect"] == 3.0
    # down from the first lying frame of the fall (wider than tall, centre barely moved)
    assert 2.0 <= opened.start_s <= 2.5
    assert abs(opened.evidence.stream_time_s - opened.start_s - 5.0) < 1e-6
    assert opened.evidence.track_ids == [1]


def test_sitting_down_is_not_a_person_down() -> None:
    script = [[person(*STAND)]] * 20 + morph(STAND, SIT, 0.5) + [[person(*SIT)]] * 100
    assert run(down(), script) == []


def test_lying_down_slowly_is_not_a_fall() -> None:
    script = [[person(*STAND)]] * 20 + morph(STAND, LIE, 5.0) + [[person(*LIE)]] * 100
    assert run(down(), script) == []


def test_getting_up_or_moving_on_the_ground_does_not_alert() -> None:
    up = [[person(*STAND)]] * 20 + morph(STAND, LIE, 0.5) + [[person(*LIE)]] * 30
    up += morph(LIE, STAND, 1.0) + [[person(*STAND)]] * 80
    assert run(down(), up) == []
    crawl = [[person(*STAND)]] * 20 + morph(STAND, LIE, 0.5)
    crawl += [[person(*LIE, cx=400 + 30 * (k % 4))] for k in range(100)]
    assert run(down(), crawl) == []


def test_exclusion_zone_and_classes() -> None:
    on_bench = [[person(*STAND, cx=100)]] * 20 + morph(STAND, LIE, 0.5, cx=100)
    on_bench += [[person(*LIE, cx=100)]] * 100
    assert run(down(exclude_zones=["bench"]), on_bench) == []
    assert len(opens(run(down(), on_bench))) == 1
    blobs = [[box(400, 420, 40, 120, track_id=1)]] * 20 + [
        [box(400, 420, 120, 40, track_id=1)]
    ] * 100
    assert run(down(), blobs) == []


# --- abandoned object -------------------------------------------------------------------------


def test_lying_down_over_four_seconds_is_not_a_fall() -> None:
    # the last 1.5 s lower the top edge by 30 px: 0.43 of the 70 px box it had then, but only
    # 0.25 of the person's upright height, which is what a fall is measured against
    script = [[person(*STAND)]] * 20 + morph(STAND, LIE, 4.0) + [[person(*LIE)]] * 100
    assert run(down(), script) == []


# --- person_down across detector misses, without a fall, with a pose model -------------------

LOW_LIE = (120.0, 40.0)


def lying_posture(box: tuple[float, float, float, float]) -> Posture:
    return Posture(lying=True, bent=False, torso_deg=85.0, legs_deg=80.0, score=0.6, box=box)


def bent_posture(box: tuple[float, float, float, float]) -> Posture:
    return Posture(lying=False, bent=True, torso_deg=80.0, legs_deg=10.0, score=0.6, box=box)


class ScriptedPose:
    """Postures for boxes, as a pose model bound to each frame would give them; counts crops."""

    def __init__(self, answer: Callable[[tuple[float, float, float, float]], Posture | None]):
        self.answer = answer
        self.crops = 0

    def __call__(self, box: tuple[float, float, float, float]) -> Posture | None:
        self.crops += 1
        return self.answer(box)


def test_person_lost_while_falling_and_found_lying_under_a_new_track_alerts_once() -> None:
    # the detector loses track 1 a moment into the collapse (its top edge only 0.15 down),
    # finds nobody for 0.5 s, then a wide box where they were, under a new track id
    script = [[person(*STAND)]] * 20 + morph(STAND, (45.0, 102.0), 0.2)
    script += [[]] * 5 + [[person(*LOW_LIE, cx=420, bottom=425, tid=2)]] * 100
    events = run(down(), script)
    (opened,) = opens(events)
    v = opened.evidence.values
    assert v["relinked"] == 1.0
    assert 2.1 <= v["fall_s"] <= 2.8  # the fall is dated from the loss of track 1
    assert v["drop"] >= 0.4  # from the standing box to the box found lying
    assert opened.evidence.track_ids == [2]
    assert abs(opened.evidence.stream_time_s - opened.start_s - 5.0) < 1e-6
    # the same person, far from where track 1 was lost, is somebody else: no fall to carry
    elsewhere = script[:27] + [[person(*LOW_LIE, cx=700, bottom=425, tid=2)]] * 100
    assert run(down(), elsewhere) == []


def test_fallen_person_the_detector_no_longer_sees_is_presumed_down_until_seen_up() -> None:
    fall = [[person(*STAND)]] * 20 + morph(STAND, (80.0, 60.0), 0.4)
    (opened,) = opens(run(down(min_down_s=2.0), fall + [[]] * 60))
    assert opened.evidence.values["unseen_s"] >= 2.0
    assert opened.evidence.track_ids == [1]
    # standing again a moment later, under a new track: up, no alert
    up = fall + [[]] * 10 + [[person(*STAND, cx=410, tid=3)]] * 60
    assert run(down(min_down_s=2.0), up) == []


def test_person_found_lying_still_without_a_fall_alerts_after_min_lying_s() -> None:
    script = [[person(*LOW_LIE, tid=4)]] * 400
    (opened,) = opens(run(down(min_lying_s=30.0), script))
    assert "fall_s" not in opened.evidence.values
    assert abs(opened.evidence.stream_time_s - 30.0) < 0.05
    assert opened.evidence.values["lying_s"] >= 30.0
    assert run(down(min_lying_s=45.0), script) == []  # 40 s is not long enough for 45 s
    on_bench = [[person(*LOW_LIE, cx=100, tid=4)]] * 400
    assert run(down(min_lying_s=30.0, exclude_zones=["bench"]), on_bench) == []


def test_kneeling_after_a_quick_drop_is_not_down_when_the_pose_model_sees_it() -> None:
    # on all fours: a wide box after a fast drop looks like a fall to the box alone
    kneel = (100.0, 70.0)
    script = [[person(*STAND)]] * 20 + morph(STAND, kneel, 0.3) + [[person(*kneel)]] * 100
    assert len(opens(run(down(), script))) == 1  # box only: a false alarm
    pose = ScriptedPose(bent_posture)
    assert run(down(), [(dets, {"posture": pose}) for dets in script]) == []
    assert 0 < pose.crops <= 45  # about three crops per second of the candidate, not every frame


def test_pose_model_finds_the_fallen_person_the_detector_lost() -> None:
    def floor(box: tuple[float, float, float, float]) -> Posture | None:
        # a person lying across the floor below where the standing box was
        return lying_posture((340.0, 385.0, 470.0, 425.0)) if box[3] >= 420 else None

    pose = ScriptedPose(floor)
    script = [[person(*STAND)]] * 20 + morph(STAND, (45.0, 102.0), 0.2) + [[]] * 100
    frames = [(dets, {"posture": pose}) for dets in script]
    (opened,) = opens(run(down(), frames))
    v = opened.evidence.values
    assert v["relinked"] == 1.0
    assert v["torso_deg"] == 85.0
    assert opened.evidence.boxes == [(340 / 800, 385 / 600, 470 / 800, 425 / 600)]
    # without the pose model the lost person is never seen down (the drop was too small)
    assert run(down(), script) == []


def test_pose_model_is_not_asked_about_people_walking_or_standing() -> None:
    pose = ScriptedPose(lying_posture)
    walk = [
        [person(*STAND, cx=200 + 4 * k, tid=1), person(*STAND, cx=600, tid=2)] for k in range(100)
    ]
    assert run(down(), [(dets, {"posture": pose}) for dets in walk]) == []
    assert pose.crops == 0


def test_walking_out_of_the_side_of_the_picture_is_no_fall() -> None:
    # the box is cut by the right border as the person leaves: it shrinks, then vanishes
    def at_edge(w: float, h: float) -> Detection:
        return Detection(800 - w, 420 - h, 800.0, 420.0, label="person", track_id=5)

    script = [[at_edge(40, 120)]] * 20 + [[at_edge(30 - 5 * k, 120 - 20 * k)] for k in range(4)]
    assert run(down(min_down_s=2.0), [*script, *[[]] * 60]) == []


def test_pose_model_is_asked_about_a_wide_box_a_few_times_a_second_not_every_frame() -> None:
    # someone seated with arms spread, a box wider than tall for 10 s, never lying
    pose = ScriptedPose(bent_posture)
    seated = [[person(*LOW_LIE, tid=6)]] * 100
    assert run(down(), [(dets, {"posture": pose}) for dets in seated]) == []
    assert pose.crops <= 35  # at most one crop per 0.3 s, not one per frame (100)
