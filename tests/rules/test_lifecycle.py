"""The event engine on scripted triggers: confirmation, hysteresis, cooldown, storms, merging."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from scripted import observation
from vsa_stream.events import Event
from vsa_stream.rules.lifecycle import STORM_TYPE, Lifecycle, StormGuard, Timing, Trigger


def drive(life: Lifecycle, script: list[list[Trigger]], fps: float = 10.0) -> list[Event]:
    out: list[Event] = []
    for i, triggers in enumerate(script):
        out.extend(life.step(observation(i, fps=fps), triggers))
    return out


def on(key: str = "z", **kw: object) -> list[Trigger]:
    return [Trigger(key=key, zone_id=key, **kw)]  # type: ignore[arg-type]


def test_confirmation_opens_after_min_duration_dated_from_the_start() -> None:
    life = Lifecycle("cam", "intrusion", Timing(min_duration_s=2.0, exit_grace_s=0.5))
    events = drive(life, [[]] * 5 + [on(values={"dwell_s": 1.0})] * 30 + [[]] * 10)
    assert [e.state for e in events] == ["open", "closed"]
    opened, closed = events
    assert opened.start_s == 0.5
    assert opened.start_frame == 5
    assert opened.evidence.frame_index == 25  # confirmed 2 s later
    assert opened.evidence.values["duration_s"] == 2.0
    assert uuid.UUID(opened.id).version == 7
    assert closed.end_s is not None
    assert abs(closed.end_s - 3.4) < 1e-9
    assert closed.evidence.values["duration_s"] == 2.9
    assert closed.reason == "condition cleared"


def test_blips_shorter_than_confirmation_never_open() -> None:
    life = Lifecycle("cam", "intrusion", Timing(min_duration_s=2.0, exit_grace_s=0.5))
    # 1.9 s on, then 0.6 s off (past the grace), repeatedly: never 2 s in a row
    assert drive(life, ([on()] * 19 + [[]] * 6) * 5) == []


def test_hysteresis_gaps_within_grace_keep_one_event() -> None:
    life = Lifecycle("cam", "intrusion", Timing(min_duration_s=0.5, exit_grace_s=1.0))
    events = drive(life, ([on()] * 10 + [[]] * 9) * 4 + [[]] * 15)
    assert [e.state for e in events] == ["open", "closed"]
    assert len({e.id for e in events}) == 1


def test_cooldown_per_key_then_new_event_with_new_id() -> None:
    life = Lifecycle("cam", "intrusion", Timing(0.0, exit_grace_s=0.2, cooldown_s=5.0))
    visit = [on()] * 5 + [[]] * 10  # 1.5 s cycles
    events = drive(life, visit * 6)
    opened = [e for e in events if e.state == "open"]
    # opens at 0.0; closes at 0.7; quiet until 5.7; visits at 1.5..4.5 are suppressed;
    # the visit at 6.0 opens again.
    assert [e.start_s for e in opened] == [0.0, 6.0]
    assert opened[0].id != opened[1].id


def test_cooldown_is_per_key() -> None:
    life = Lifecycle("cam", "intrusion", Timing(0.0, exit_grace_s=0.2, cooldown_s=60.0))
    events = drive(life, [on("a")] * 3 + [[]] * 5 + [on("b")] * 3 + [on("a")] * 3)
    assert [(e.zone_id, e.state) for e in events if e.state == "open"] == [
        ("a", "open"),
        ("b", "open"),
    ]


def test_merging_same_key_one_event_peak_and_tracks() -> None:
    life = Lifecycle("cam", "wrong_way", Timing(0.0, exit_grace_s=1.0))
    script = [on(values={"speed": 3.0}, track_ids=[1], peak=("speed",))] * 5
    script += [on(values={"speed": 9.0}, track_ids=[1, 2], peak=("speed",))] * 5
    script += [on(values={"speed": 4.0}, track_ids=[2], peak=("speed",))] * 5 + [[]] * 15
    events = drive(life, script)
    assert [e.state for e in events] == ["open", "closed"]
    assert events[1].evidence.values["peak_speed"] == 9.0
    assert events[1].evidence.values["speed"] == 4.0
    assert events[1].evidence.track_ids == [2]


def test_ids_stable_across_revisions_severity_and_periodic_updates() -> None:
    life = Lifecycle("cam", "density", Timing(1.0, exit_grace_s=0.5, update_s=2.0))
    script = [on(severity=1)] * 20 + [on(severity=2)] * 30 + [[]] * 10
    events = drive(life, script)
    states = [(e.state, e.revision, round(e.evidence.stream_time_s, 1)) for e in events]
    # open at 1.0; periodic update at 3.0 (severity 1); severity rises at 2.0 -> update now
    assert states == [
        ("open", 1, 1.0),
        ("updated", 2, 2.0),
        ("updated", 3, 4.0),
        ("closed", 4, 4.9),
    ]
    assert len({e.id for e in events}) == 1
    assert all(e.review == "pending" for e in events)


def test_not_ready_holds_the_timer_without_opening() -> None:
    life = Lifecycle("cam", "fire", Timing(min_duration_s=1.0, exit_grace_s=0.5))
    events = drive(life, [on(ready=False)] * 30 + [on(ready=True)] * 2)
    (opened,) = events
    assert opened.start_s == 0.0
    assert opened.evidence.frame_index == 30


def test_storm_guard_limits_opens_and_summarises_shared_across_rules() -> None:
    storm = StormGuard("cam", max_per_minute=2)
    a = Lifecycle("cam", "intrusion", Timing(0.0, exit_grace_s=0.1, cooldown_s=0.0), storm)
    b = Lifecycle("cam", "wrong_way", Timing(0.0, exit_grace_s=0.1, cooldown_s=0.0), storm)
    out: list[Event] = []
    # every 2 s, a new key triggers in each lifecycle for 0.5 s: 4 candidates every 2 s
    for i in range(1500):  # 150 s at 10 fps
        t = i / 10
        burst = t < 20.0 and (i % 20) < 5
        key = f"k{i // 20}"
        obs = observation(i)
        out.extend(a.step(obs, [Trigger(key=key)] if burst else []))
        out.extend(b.step(obs, [Trigger(key=key)] if burst else []))
    opened = [e for e in out if e.state == "open" and e.type != STORM_TYPE]
    assert len(opened) == 2  # 20 candidates in 20 s, two allowed per minute
    summary = [e for e in out if e.type == STORM_TYPE]
    assert [e.state for e in summary] == ["open", "closed"]
    assert summary[0].start_s == 2.0  # the first suppressed candidate
    assert summary[1].updated_at - summary[0].updated_at >= 76.0  # a quiet minute closes it
    assert summary[1].evidence.values["suppressed"] == 18.0
    assert summary[1].evidence.values["suppressed_intrusion"] == 9.0
    assert summary[1].evidence.values["suppressed_wrong_way"] == 9.0
    assert summary[1].end_s == 18.0
    assert summary[0].id == summary[1].id
    # a suppressed candidate never opens later, even though it keeps triggering
    assert all(e.start_s in (0.0,) for e in opened)


def test_finish_closes_open_events_and_the_storm_summary() -> None:
    storm = StormGuard("cam", max_per_minute=1)
    life = Lifecycle("cam", "weapon", Timing(0.0, exit_grace_s=5.0), storm)
    events = drive(life, [on("a") + on("b")] * 3)
    assert [(e.type, e.state) for e in events] == [("weapon", "open"), (STORM_TYPE, "open")]
    closed = life.finish(None, "stream ended")
    assert [(e.type, e.state, e.reason) for e in closed] == [
        ("weapon", "closed", "stream ended"),
        (STORM_TYPE, "closed", "stream ended"),
    ]


@settings(max_examples=200, deadline=None)
@given(
    script=st.lists(st.sets(st.sampled_from("abc"), max_size=3), max_size=120),
    min_duration=st.sampled_from([0.0, 0.3, 1.0]),
    grace=st.sampled_from([0.0, 0.2, 0.5]),
    cooldown=st.sampled_from([0.0, 1.0, 5.0]),
    per_minute=st.integers(1, 4),
)
def test_lifecycle_invariants(
    script: list[set[str]], min_duration: float, grace: float, cooldown: float, per_minute: int
) -> None:
    storm = StormGuard("cam", per_minute)
    life = Lifecycle("cam", "intrusion", Timing(min_duration, grace, cooldown), storm)
    events = drive(life, [[Trigger(key=k, zone_id=k) for k in sorted(keys)] for keys in script])
    events += life.finish(observation(len(script)), "end")
    by_id: dict[str, list[Event]] = {}
    for e in events:
        by_id.setdefault(e.id, []).append(e)
    open_now: set[str] = set()
    for e in events:
        key = e.zone_id or e.type
        if e.state == "open":
            assert key not in open_now, "two open events for one key"
            open_now.add(key)
        elif e.state == "closed":
            open_now.discard(key)
    assert not open_now, "every event is closed by finish()"
    for revisions in by_id.values():
        assert [r.revision for r in revisions] == list(range(1, len(revisions) + 1))
        assert revisions[0].state == "open"
        assert revisions[-1].state == "closed"
        assert all(r.state != "closed" for r in revisions[:-1])
        assert len({(r.type, r.zone_id, r.start_s) for r in revisions}) == 1
        if revisions[0].type != STORM_TYPE:  # confirmed: opened min_duration after the start
            confirmed = revisions[0].evidence.stream_time_s - revisions[0].start_s
            assert confirmed >= min_duration - 1e-6
    starts = [e for e in events if e.state == "open" and e.type != STORM_TYPE]
    for i, e in enumerate(starts):  # storm control: never more than per_minute a minute
        window = [
            o for o in starts[: i + 1] if e.evidence.stream_time_s - o.evidence.stream_time_s < 60.0
        ]
        assert len(window) <= per_minute
