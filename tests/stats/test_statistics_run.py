"""Statistics mode end to end: a daemon on a synthetic scene with a known number of crossings
counts them exactly, serves them (``/api/stats``, Prometheus, every sink), and writes no track
id, box or image anywhere (every file the run writes is read back)."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from api_daemon import OPERATOR, VIEWER, api_config, make_event, running_daemon, still_clip
from vsa_stream import config
from vsa_stream.daemon import Daemon
from vsa_stream.events import Event, Evidence, IntervalStats, LineCount, new_event_id
from vsa_stream.outbox import Outbox
from vsa_stream.sinks import build_sinks
from vsa_stream.synth.counting import LINE_Y, OCCUPANCY_ZONE, render_counting
from vsa_stream.synth.standin import build_standin_detector


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, int]]:
    """The counting scene (3 crossings down, 2 up, 1 walker turning back before the line) and
    the stand-in detector that sees its keyed persons."""
    folder = tmp_path_factory.mktemp("counting")
    _, crossings = render_counting(folder / "scene", down=3, up=2, turners=1)
    model = Path(build_standin_detector(folder / "standin.onnx"))
    return folder / "scene" / "video.mp4", model, crossings


def counting_config(run: Path, video: Path, model: Path, min_count: int = 1) -> config.Config:
    zone = json.dumps([list(p) for p in OCCUPANCY_ZONE])
    return config.loads(
        f"""
detectors: [{{id: standin, model: {{path: {json.dumps(str(model))}}}, fps: 10, gating: false}}]
cameras:
  - id: street
    url: {json.dumps(str(video))}
    realtime: false
    zones: [{{id: below, polygon: {zone}}}]
    statistics:
      lines: [{{id: kerb, points: [[0.0, {LINE_Y}], [1.0, {LINE_Y}]], directions: [down, up]}}]
      zones: [below]
      classes: [person]
      interval_min: 60
      min_count: {min_count}
state_dir: {json.dumps(str(run / "state"))}
privacy: {{snapshots: true}}
sinks:
  jsonl: {{path: {json.dumps(str(run / "out" / "events.jsonl"))}}}
"""
    )


async def run_daemon(cfg: config.Config) -> Daemon:
    outbox = Outbox(cfg.outbox_path())
    try:
        daemon = Daemon(cfg, build_sinks(cfg.sinks), outbox, source="test")
        # A file read faster than real time goes on without the detections its detector could
        # not keep up with (a loaded machine: fewer boxes, broken tracks); analysed as a scan,
        # each detection is waited for, so the counts are the scene's whatever the load.
        daemon.engine.scan = True
        result = await daemon.run(handle_signals=False)
        assert result.undelivered == 0
    finally:
        outbox.close()
    return daemon


def walk_json(value: Any, found: list[tuple[str, Any]], key: str = "") -> None:
    """Every (key, value) pair of a decoded JSON document."""
    if isinstance(value, dict):
        for k, v in value.items():
            found.append((k, v))
            walk_json(v, found, k)
    elif isinstance(value, list):
        for v in value:
            walk_json(v, found, key)


def json_documents(path: Path) -> list[Any]:
    """The JSON documents a file holds: JSON lines, or the JSON cells of an SQLite database."""
    docs: list[Any] = []
    if path.suffix == ".sqlite3":
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                for row in db.execute(f"SELECT * FROM {table}"):
                    for cell in row:
                        text = cell.decode() if isinstance(cell, bytes) else cell
                        if isinstance(text, str) and text[:1] in ("{", "["):
                            docs.append(json.loads(text))
        finally:
            db.close()
        return docs
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            docs.append(json.loads(line))
    return docs


@pytest.mark.anyio
async def test_exact_counts_and_nothing_but_aggregates_in_any_file(
    scene: tuple[Path, Path, dict[str, int]], tmp_path: Path
) -> None:
    video, model, crossings = scene
    daemon = await run_daemon(counting_config(tmp_path, video, model))
    assert daemon.statistics is not None  # closed with the sinks: read back below
    db = sqlite3.connect(tmp_path / "state" / "statistics.sqlite3")
    bodies = [json.loads(b) for (b,) in db.execute("SELECT body FROM intervals")]
    db.close()
    # summed over the intervals the run spanned (the wall clock may cross an hour)
    total = {"down": 0, "up": 0}
    for body in bodies:
        for c in body["crossings"]:
            assert (c["line"], c["class"]) == ("kerb", "person")
            total[c["direction"]] += c["count"]
    assert total == crossings == {"down": 3, "up": 2}
    assert max(o["peak"] for b in bodies for o in b["occupancy"]) == 1  # one at a time
    assert sum(b["frames"] for b in bodies) == 379

    # every sink got the same intervals as revisions of type statistics, and nothing else
    lines = json_documents(tmp_path / "out" / "events.jsonl")
    kinds = {e["type"] for e in lines}
    assert kinds <= {"statistics", "audit_checkpoint"}, kinds
    assert sorted(
        json.dumps(e["statistics"], sort_keys=True) for e in lines if e["statistics"]
    ) == sorted(json.dumps(b, sort_keys=True) for b in bodies)

    # Prometheus: the last interval's counts
    exposition = daemon.engine.metrics.exposition().decode()
    assert 'vsa_statistics_intervals_total{camera="street"}' in exposition
    crossing = 'vsa_statistics_crossings{camera="street",class="person",direction="down"'
    assert crossing in exposition

    # every file the run wrote: no image, no box, no track id, no frame
    written = [Path(root) / f for root, _, files in os.walk(tmp_path) for f in files]
    names = sorted(p.relative_to(tmp_path).as_posix() for p in written)
    assert names == [
        "out/events.jsonl",
        "state/audit.jsonl",
        "state/outbox.sqlite3",
        "state/statistics.sqlite3",
    ], names
    read = {}
    for path in written:
        assert path.stat().st_mode & 0o777 == 0o600, path  # personal or not, private
        read[path.name] = len(json_documents(path))
        for doc in json_documents(path):
            pairs: list[tuple[str, Any]] = []
            walk_json(doc, pairs)
            for key, value in pairs:
                assert key not in ("track_id", "box", "bbox"), (path, key)
                if key in ("boxes", "track_ids"):
                    assert value == [], (path, key, value)
                if key in ("frame_index", "start_frame"):
                    assert value == 0, (path, key, value)
    assert all(read.values()), read  # every file was read back as JSON documents


def test_api_serves_intervals_as_json_and_csv_to_viewers(tmp_path: Path, scene: Any) -> None:
    _, model, _ = scene
    clip = still_clip(tmp_path / "still.mp4")
    cfg = api_config(
        tmp_path / "state",
        clip,
        extra=f"detectors: [{{id: standin, model: {{path: {json.dumps(str(model))}}}}}]",
        camera="    loop: true\n"
        "    statistics: {lines: [{id: kerb, points: [[0, 0.5], [1, 0.5]]}]}",
    )
    now = time.time()
    start = now // 900 * 900 - 900
    stats = IntervalStats(
        start=start,
        end=start + 900,
        interval_min=15,
        complete=True,
        frames=9000,
        min_count=5,
        crossings=[
            LineCount(line="kerb", direction="in", object_class="person", count=12),
            LineCount(line="kerb", direction="out", object_class="person", count="< 5"),
        ],
    )
    event = Event(
        id=new_event_id(),
        revision=1,
        type="statistics",
        camera_id="cam",
        state="closed",
        started_at=start,
        updated_at=now,
        ended_at=start + 900,
        start_s=0.0,
        start_frame=0,
        evidence=Evidence(frame_index=0, stream_time_s=900.0),
        statistics=stats,
    )
    with running_daemon(cfg) as run:
        run.inject(event)
        with run.client(VIEWER) as viewer:
            for _ in range(200):  # delivered to the statistics sink within seconds
                body = viewer.get("/api/stats").json()
                if body["intervals"]:
                    break
                time.sleep(0.05)
            (got,) = body["intervals"]
            assert got["camera_id"] == "cam"
            assert [c["count"] for c in got["crossings"]] == [12, "< 5"]
            csv_text = viewer.get("/api/stats", params={"format": "csv"}).text
            assert csv_text.splitlines()[0].startswith("camera_id,start,end,")
            assert ",crossings,kerb,out,person,< 5,," in csv_text
            assert viewer.get("/api/stats", params={"from": start + 1}).json() == {"intervals": []}
            assert viewer.get("/api/stats", params={"camera": "other"}).json() == {"intervals": []}
            assert viewer.get("/api/stats", params={"from": "yesterday"}).status_code == 400
            assert viewer.get("/api/stats", params={"format": "xml"}).status_code == 400
            # an aggregate is not an alert: not listed with the events, not on the event stream
            assert viewer.get("/api/events").json()["events"] == []
            alert = make_event()
            run.inject(alert)
            with viewer.stream("GET", "/api/stream", headers={"Last-Event-ID": "0"}) as stream:
                first = next(
                    json.loads(line[6:])
                    for line in stream.iter_lines()
                    if line.startswith("data: ")
                )
            assert (first["id"], first["type"]) == (alert.id, "intrusion")
        with run.client(OPERATOR) as operator:
            assert operator.get("/api/stats").status_code == 200
        assert httpx.get(run.url + "/api/stats").status_code == 401
        doc = httpx.get(run.url + "/api/openapi.json").json()
        assert "/api/stats" in doc["paths"]


@pytest.mark.anyio
async def test_an_unauthorised_camera_still_counts_and_runs_none_of_its_rules(
    scene: tuple[Path, Path, dict[str, int]], tmp_path: Path
) -> None:
    # The camera also has an intrusion rule, under fr-2023, with an authorisation that has
    # ended: its rule must not run (no alert, the camera_unauthorised health event instead),
    # and its statistics, which are not one of the eight situations, go on exactly.
    video, model, crossings = scene
    counting = counting_config(tmp_path, video, model)
    text = msgspec.yaml.encode(msgspec.to_builtins(counting)).decode()
    assert "rules: []" in text
    assert "authorisations: []" in text
    cfg = config.loads(
        text.replace(
            "rules: []", "rules: [{type: intrusion, zones: [below], min_dwell_s: 0}]", 1
        ).replace(
            "authorisations: []",
            "authorisations: [{reference: ended, start: '2020-01-01', end: '2020-01-31', "
            "timezone: UTC, "
            "cameras: [street], situations: [intrusion]}]",
        )
    )
    assert cfg.cameras[0].rules
    assert cfg.privacy.legal_profile == "fr-2023"
    await run_daemon(cfg)
    lines = json_documents(tmp_path / "out" / "events.jsonl")
    kinds = {e["type"] for e in lines}
    assert "intrusion" not in kinds, kinds
    assert "camera_unauthorised" in kinds, kinds
    total = {"down": 0, "up": 0}
    for event in lines:
        for c in (event["statistics"] or {}).get("crossings", []):
            total[c["direction"]] += c["count"]
    assert total == crossings
