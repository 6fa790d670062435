"""person_down and abandoned_object on scripted tracks and static-object evidence."""

from __future__ import annotations

from scripted import Script, box, opens, run
from vsa_stream.config import AbandonedObjectRule, PersonDownRule, Zone
from vsa_stream.observation import Detection, StaticObject
from vsa_stream.rules.abandoned_object import AbandonedObjectRunner
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

BAG = (30.0, 30.0)


def bag(cx: float, tid: int = 9) -> Detection:
    return box(cx, 420, *BAG, label="bag", track_id=tid)


def owner(cx: float) -> Detection:
    return box(cx, 420, 40, 120, label="person", track_id=1)


def leave_bag(
    stay_s: float, owner_away: bool = True, total_s: float = 60.0
) -> list[list[Detection]]:
    """The owner walks in with the bag, puts it down at x=400 at 5 s, walks off (or stays)."""
    frames: list[list[Detection]] = []
    for i in range(round(total_s * 10)):
        t = i / 10
        if t < 5.0:
            x = 200 + 40 * t
            frames.append([owner(x + 20), bag(x)])
            continue
        x_owner = 420 + (60 * (t - 5.0) if owner_away else 0.0)
        dets = [bag(400)] if t < 5.0 + stay_s else []
        if x_owner < 800:
            dets.append(owner(x_owner))
        frames.append(dets)
    return frames


def abandoned(**kw: object) -> AbandonedObjectRunner:
    kw.setdefault("min_static_s", 20.0)
    return AbandonedObjectRunner("cam", AbandonedObjectRule(**kw), [BENCH])  # type: ignore[arg-type]


def test_bag_left_behind_alerts_then_closes_when_taken() -> None:
    events = run(abandoned(), leave_bag(stay_s=40.0))
    assert [e.state for e in events] == ["open", "closed"]
    opened, closed = events
    # put down at ~5 s (the last slow steps count as still): 20 s later, owner long gone
    assert 24.5 <= opened.start_s <= 25.0
    assert opened.evidence.values["static_s"] == 20.0
    assert opened.evidence.values["owner_gone_s"] >= 10.0
    assert opened.evidence.track_ids == [9]
    assert closed.reason == "object removed"
    assert closed.end_s == 44.9


def test_bag_with_its_owner_nearby_never_alerts() -> None:
    assert run(abandoned(), leave_bag(stay_s=55.0, owner_away=False)) == []


def test_owner_back_closes_the_event() -> None:
    frames = leave_bag(stay_s=55.0)
    for i in range(350, 600):  # the owner comes back next to the bag at 35 s
        frames[i] = [bag(400), owner(430)]
    events = run(abandoned(), frames)
    assert [e.state for e in events] == ["open", "closed"]
    assert events[1].reason == "owner back"


def static(x0: float, y0: float, x1: float, y1: float, since: float = 0.0) -> dict[str, object]:
    return {"static_objects": [StaticObject(x0, y0, x1, y1, since)]}


def test_static_evidence_object_without_a_detector() -> None:
    frames: list[tuple[list[Detection], dict[str, object]]] = [([], {})] * 50
    frames += [([], static(500, 380, 530, 420, since=0.0))] * 300
    (opened,) = opens(run(abandoned(), frames))
    assert opened.start_s == 20.0  # still since 0 s: 20 s, and nobody came near
    assert opened.evidence.boxes == [(500 / 800, 380 / 600, 530 / 800, 420 / 600)]


def test_static_evidence_false_positives() -> None:
    sleeper = box(515, 420, 120, 45, label="person", track_id=4)
    frames = [([sleeper], static(460, 378, 570, 420))] * 400
    assert run(abandoned(), frames) == []  # a person lying still is not an object
    furniture: Script = [([], static(200, 200, 700, 500))] * 400
    assert run(abandoned(), furniture) == []  # larger than max_size
    on_bench: Script = [([], static(100, 380, 130, 420))] * 400
    assert run(abandoned(exclude_zones=["bench"]), on_bench) == []
    assert len(opens(run(abandoned(), on_bench))) == 1
    # the object's own foreground blob (no detector) is not its owner
    blob = Detection(498, 378, 532, 422)
    frames = [([blob], static(500, 380, 530, 420))] * 300
    assert len(opens(run(abandoned(), frames))) == 1


def test_lying_down_over_four_seconds_is_not_a_fall() -> None:
    # the last 1.5 s lower the top edge by 30 px: 0.43 of the 70 px box it had then, but only
    # 0.25 of the person's upright height, which is what a fall is measured against
    script = [[person(*STAND)]] * 20 + morph(STAND, LIE, 4.0) + [[person(*LIE)]] * 100
    assert run(down(), script) == []
