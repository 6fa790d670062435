"""The intrusion rule on scripted observations: dwell, exit grace, cooldown, classes."""

from __future__ import annotations

from scripted import run
from vsa_stream.config import IntrusionRule, ScheduleWindow, Zone
from vsa_stream.events import Event
from vsa_stream.observation import Detection, Observation
from vsa_stream.rules.intrusion import IntrusionRunner

ZONE = Zone(id="z", polygon=[(0.5, 0.5), (1.0, 0.5), (1.0, 1.0), (0.5, 1.0)])
INSIDE = Detection(700.0, 300.0, 740.0, 420.0)  # bottom-centre (720, 420): inside
OUTSIDE = Detection(100.0, 300.0, 140.0, 420.0)
# A box overlapping the zone (x 400..420 of it) whose feet, at x 395, stand outside it.
FEET_OUTSIDE = Detection(370.0, 320.0, 420.0, 500.0)


def runner(**kw: float | list[str]) -> IntrusionRunner:
    rule = IntrusionRule(zones=["z"], **kw)  # type: ignore[arg-type]
    return IntrusionRunner("cam", rule, [ZONE])


def feed(r: IntrusionRunner, script: list[list[Detection]], fps: float = 10.0) -> list[Event]:
    out: list[Event] = []
    for i, dets in enumerate(script):
        obs = Observation("cam", i, i / fps, 1000.0 + i / fps, 800, 600, dets)
        out.extend(r.update(obs))
    return out


def test_opens_after_dwell_dated_from_first_presence_then_closes() -> None:
    script = [[OUTSIDE]] * 10 + [[INSIDE]] * 30 + [[]] * 20
    events = feed(runner(min_dwell_s=1.0, exit_grace_s=0.5), script)
    assert [e.state for e in events] == ["open", "closed"]
    opened, closed = events
    assert opened.id == closed.id
    assert (opened.revision, closed.revision) == (1, 2)
    assert opened.start_s == 1.0  # first frame inside, not the confirmation time
    assert opened.start_frame == 10
    assert opened.evidence.frame_index == 20  # confirmed after 1 s of dwell
    assert opened.zone_id == "z"
    assert opened.review == "pending"
    x0, y0, x1, y1 = opened.evidence.boxes[0]
    assert (x0, y0, x1, y1) == (700 / 800, 300 / 600, 740 / 800, 420 / 600)
    assert closed.end_s is not None
    assert abs(closed.end_s - 3.9) < 1e-9
    assert closed.evidence.values["dwell_s"] == 2.9


def test_short_presence_never_alerts() -> None:
    script = [[INSIDE]] * 9 + [[]] * 30
    assert feed(runner(min_dwell_s=1.0), script) == []


def test_gaps_shorter_than_exit_grace_do_not_split_the_event() -> None:
    script = ([[INSIDE]] * 8 + [[]] * 3) * 4 + [[]] * 20
    events = feed(runner(min_dwell_s=1.0, exit_grace_s=0.5), script)
    assert [e.state for e in events] == ["open", "closed"]


def test_anchor_outside_zone_does_not_count() -> None:
    assert feed(runner(min_dwell_s=0.0), [[FEET_OUTSIDE]] * 50) == []


def test_cooldown_suppresses_a_second_alert_then_allows_one() -> None:
    visit = [[INSIDE]] * 15 + [[]] * 10
    events = feed(runner(min_dwell_s=1.0, exit_grace_s=0.5, cooldown_s=3.0), visit * 3)
    opens = [e for e in events if e.state == "open"]
    # visit 1 alerts; visit 2 starts 1.9 s after the close, inside the cooldown; visit 3 alerts.
    assert len(opens) == 2
    assert opens[0].id != opens[1].id
    assert opens[1].start_s == 5.0


def test_class_filter_applies_to_classified_objects_only() -> None:
    car = Detection(700.0, 300.0, 740.0, 420.0, label="car")
    person = Detection(700.0, 300.0, 740.0, 420.0, label="person")
    assert feed(runner(min_dwell_s=0.0, classes=["person"]), [[car]] * 20) == []
    assert len(feed(runner(min_dwell_s=0.0, classes=["person"]), [[person]] * 20)) == 1
    assert len(feed(runner(min_dwell_s=0.0, classes=["person"]), [[INSIDE]] * 20)) == 1


def test_finish_closes_open_events() -> None:
    r = runner(min_dwell_s=0.5)
    events = feed(r, [[INSIDE]] * 10)
    assert [e.state for e in events] == ["open"]
    closed = r.finish(None, "engine stopped")
    assert [(e.state, e.reason) for e in closed] == [("closed", "engine stopped")]
    assert closed[0].id == events[0].id


def test_schedule_counts_presence_only_inside_its_windows() -> None:
    night = [ScheduleWindow(start="22:00", end="06:00")]
    rule = IntrusionRule(zones=["z"], min_dwell_s=1.0, schedule=night, timezone="Europe/Paris")
    # 2023-11-14 22:30 in Paris (UTC+1) is 21:30 UTC; 12:00 Paris is 11:00 UTC
    at_night = run(IntrusionRunner("cam", rule, [ZONE]), [[INSIDE]] * 30, wall0=1699997400.0)
    assert [e.state for e in at_night] == ["open"]
    at_noon = run(IntrusionRunner("cam", rule, [ZONE]), [[INSIDE]] * 30, wall0=1699959600.0)
    assert at_noon == []


def test_schedule_end_closes_an_ongoing_intrusion() -> None:
    # 05:59:55 Paris on a Wednesday: the night window ends 5 s into the clip
    rule = IntrusionRule(
        zones=["z"],
        min_dwell_s=1.0,
        exit_grace_s=0.5,
        schedule=[ScheduleWindow(days=["tue"], start="22:00", end="06:00")],
        timezone="Europe/Paris",
    )
    events = run(IntrusionRunner("cam", rule, [ZONE]), [[INSIDE]] * 100, wall0=1700024395.0)
    assert [e.state for e in events] == ["open", "closed"]
    assert events[1].end_s is not None
    assert abs(events[1].end_s - 4.9) < 1e-9


def person(track_id: int) -> Detection:
    return Detection(700.0, 300.0, 740.0, 420.0, label="person", track_id=track_id)


def test_a_different_person_is_not_delayed_by_the_previous_ones_cooldown() -> None:
    # person 1 stays 1.5 s and leaves; person 2 enters 1 s after that event closed, well
    # inside the zone's 10 s cooldown
    first = [[person(1)]] * 15 + [[]] * 15
    second = [[person(2)]] * 40 + [[]] * 10
    events = feed(runner(min_dwell_s=1.0, exit_grace_s=0.5, cooldown_s=10.0), first + second)
    opened = [e for e in events if e.state == "open"]
    assert len(opened) == 2
    assert opened[0].id != opened[1].id
    assert opened[1].evidence.track_ids == [2]
    assert opened[1].start_s == 3.0  # dated from person 2 entering
    # its first alert reaches the sinks within min_dwell_s + 1 s of its arrival
    assert opened[1].evidence.stream_time_s - 3.0 <= 1.0 + 1.0


def test_the_same_person_coming_back_within_the_cooldown_does_not_alert_again() -> None:
    visit = [[person(1)]] * 15 + [[]] * 15
    events = feed(runner(min_dwell_s=1.0, exit_grace_s=0.5, cooldown_s=10.0), visit * 3)
    assert len([e for e in events if e.state == "open"]) == 1
    # a newcomer joining the returning person during the cooldown is alerted
    back = [[person(1)]] * 5 + [[person(1), person(2)]] * 20
    events = feed(runner(min_dwell_s=1.0, exit_grace_s=0.5, cooldown_s=10.0), visit + back)
    opened = [e for e in events if e.state == "open"]
    assert len(opened) == 2
    assert opened[1].evidence.track_ids == [1, 2]
    assert opened[1].start_s == 3.5
