"""Operator verdicts: confirmed, false_alarm with a cause from the closed list, unclear; stored
by the outbox, delivered to the sinks as revisions, served and audited by the API."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import anyio
import pytest

from api_daemon import OPERATOR, api_config, make_event, running_daemon, still_clip
from vsa_stream.events import CAUSES, decode, encode, new_event_id
from vsa_stream.metrics import Metrics
from vsa_stream.outbox import Outbox
from vsa_stream.sinks import JsonlSink, Sink, StdoutSink
from vsa_stream.sinks.delivery import Delivery


class Clock:
    """A wall clock the test moves."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_a_false_alarm_needs_a_cause_from_the_closed_list() -> None:
    box = Outbox()
    event = make_event()
    box.append([event])
    with pytest.raises(ValueError, match=r"^cause: a false_alarm needs one of reflection"):
        box.review(event.id, "false_alarm")
    with pytest.raises(ValueError, match=r"^cause: a false_alarm needs .*got 'ghost'"):
        box.review(event.id, "false_alarm", cause="ghost")
    with pytest.raises(ValueError, match=r"^cause: only a false_alarm has a cause"):
        box.review(event.id, "confirmed", cause="animal")
    with pytest.raises(ValueError, match=r"^review must be one of"):
        box.review(event.id, "pending")
    for cause in CAUSES:
        reviewed = box.review(event.id, "false_alarm", note="seen", cause=cause)
        assert (reviewed.review, reviewed.review_cause) == ("false_alarm", cause)
    assert box.review(event.id, "unclear").review_cause is None  # a new verdict replaces it
    box.close()


def test_a_statistics_interval_cannot_be_reviewed_and_is_not_in_the_report() -> None:
    box = Outbox()
    interval = make_event(kind="statistics", state="closed")
    alert = make_event()
    box.append([interval, alert])
    with pytest.raises(ValueError, match=r"^review: a statistics interval is an aggregate"):
        box.review(interval.id, "confirmed")
    assert [f.event.id for f in box.facts(0.0, 2e10)] == [alert.id]
    box.close()


def test_a_late_rule_revision_keeps_the_verdict_and_its_cause_and_the_first_review_time() -> None:
    clock = Clock(1000.0)
    box = Outbox(clock=clock)
    event = make_event()
    box.append([event])
    clock.t = 1030.0
    box.review(event.id, "unclear", note="too dark")
    clock.t = 1100.0
    box.review(event.id, "false_alarm", note="a cat", cause="animal")
    clock.t = 1200.0
    closed = box.append([event.revised(state="closed")])[0].event
    assert (closed.revision, closed.review, closed.review_cause, closed.review_note) == (
        4,
        "false_alarm",
        "animal",
        "a cat",
    )
    [facts] = box.facts(0.0, event.started_at + 1.0)
    # The first revision was accepted at 1000, the first verdict at 1030 (not the later one).
    assert (facts.opened_at, facts.reviewed_at, facts.event.review_cause) == (
        1000.0,
        1030.0,
        "animal",
    )
    box.close()


def test_an_outbox_of_the_earlier_schema_gets_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE events (id TEXT PRIMARY KEY, revision INTEGER NOT NULL, seq INTEGER NOT "
        "NULL, camera_id TEXT NOT NULL, type TEXT NOT NULL, state TEXT NOT NULL, review TEXT "
        "NOT NULL, updated_at REAL NOT NULL, body BLOB NOT NULL);"
    )
    event = make_event()
    body = json.dumps({**json.loads(encode(event)), "review": "dismissed"})
    old.execute(
        "INSERT INTO events VALUES (?, 1, 1, 'cam', 'intrusion', 'open', 'dismissed', ?, ?)",
        (event.id, event.updated_at + 100.0, body.encode()),
    )
    old.commit()
    old.close()
    box = Outbox(path)
    [facts] = box.facts(event.started_at - 1, event.started_at + 1)
    assert (facts.event.review, facts.event.review_cause) == ("dismissed", None)
    assert (facts.opened_at, facts.reviewed_at) == (None, None)  # not recorded back then
    # The start of the situation is read back from the stored revision (what the report's
    # window selects on), so an alert still open past the window is found.
    assert box.facts(event.started_at - 1, event.started_at + 0.5)[0].event.id == event.id
    assert box.review(event.id, "confirmed").revision == 2
    box.close()


@pytest.mark.anyio
async def test_a_verdict_reaches_the_jsonl_and_stdout_sinks_as_a_revision(tmp_path: Path) -> None:
    out = io.BytesIO()
    sinks: list[Sink] = [JsonlSink(tmp_path / "alerts.jsonl", fsync=False), StdoutSink(out)]
    event = make_event()

    async def main() -> None:
        delivery = Delivery(Outbox(), sinks, Metrics())
        async with anyio.create_task_group() as tg:
            tg.start_soon(delivery.run)
            await delivery.accept([event])
            await delivery.review(event.id, "false_alarm", "headlights on the wall", "vehicle")
            with pytest.raises(ValueError, match="cause"):
                await delivery.review(event.id, "false_alarm")
            delivery.finish()

    await main()
    for text in ((tmp_path / "alerts.jsonl").read_text(), out.getvalue().decode()):
        revisions = [decode(line) for line in text.splitlines()]
        assert [(e.revision, e.review, e.review_cause, e.review_note) for e in revisions] == [
            (1, "pending", None, None),
            (2, "false_alarm", "vehicle", "headlights on the wall"),
        ]


def test_the_api_records_a_verdict_with_its_cause_and_audits_it(tmp_path: Path) -> None:
    clip = still_clip(tmp_path / "still.mp4")
    with running_daemon(api_config(tmp_path / "state", clip)) as run, run.client(OPERATOR) as http:
        event = make_event()
        run.inject(event)
        url = f"/api/events/{event.id}/review"
        missing = http.post(url, json={"review": "false_alarm"})
        assert missing.status_code == 422
        assert "cause" in missing.json()["error"]
        unknown = http.post(url, json={"review": "false_alarm", "cause": "ghost"})
        assert unknown.status_code == 422
        assert "cause" in unknown.json()["error"]
        ok = http.post(url, json={"review": "false_alarm", "cause": "reflection", "note": "sun"})
        assert ok.status_code == 200
        revised = decode(ok.content)
        assert (revised.revision, revised.review, revised.review_cause) == (
            2,
            "false_alarm",
            "reflection",
        )
        listed = http.get("/api/events", params={"review": "false_alarm"}).json()["events"]
        assert [(e["id"], e["review_cause"]) for e in listed] == [(event.id, "reflection")]
        assert http.post(url, json={"review": "unclear"}).json()["review"] == "unclear"
        metrics = http.get("/metrics").text
        assert (
            'vsa_reviews_total{camera="cam",cause="reflection",review="false_alarm",'
            'type="intrusion"} 1.0' in metrics
        )
        assert 'vsa_reviews_total{camera="cam",cause="",review="unclear",type="intrusion"} 1.0' in (
            metrics
        )
        doc = http.get("/api/openapi.json").json()
        cause_schema = doc["components"]["schemas"]["ReviewRequest"]["properties"]["cause"]
        assert "animal" in json.dumps(cause_schema)
    assert [(e.review, e.review_cause) for e in run.sink.events] == [
        ("pending", None),
        ("false_alarm", "reflection"),
        ("unclear", None),
    ]
    lines = [json.loads(x) for x in (tmp_path / "state" / "audit.jsonl").read_text().splitlines()]
    reviews = [e["data"] for e in lines if e["kind"] == "review"]
    assert [(r["review"], r["cause"], r["actor"]) for r in reviews] == [
        ("false_alarm", "reflection", "alice"),
        ("unclear", None, "alice"),
    ]


def test_an_unknown_event_is_not_reviewed() -> None:
    box = Outbox()
    with pytest.raises(KeyError):
        box.review(new_event_id(), "false_alarm", cause="animal")
    box.close()
