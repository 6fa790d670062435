"""The vocabulary of situations: one list of event types, one declaration per situation.

Every list of types derives from :mod:`vsa_stream.event_types`, and each situation of the
closed set is declared once, by its module, with its config struct, runner, signals and
confirmation; the registry refuses to build when they disagree.
"""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import msgspec
import pytest

from authorised import LAB
from vsa_stream import config
from vsa_stream.evaluate.score import rule_threshold
from vsa_stream.event_types import EVENT_TYPES, SITUATIONS, SYSTEM_EVENTS
from vsa_stream.events import decode
from vsa_stream.rules import REGISTRY, SituationRunner, build_rules, needed_signals, spec_of
from vsa_stream.server.openapi import openapi_document

SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="

#: One valid rule of each situation (zones named ``z``; density measured on ``area_m2``).
RULES = {
    "wrong_way": "{type: wrong_way, zones: [z], direction_deg: 0}",
    "intrusion": "{type: intrusion, zones: [z], min_dwell_s: 2}",
    "weapon": "{type: weapon, k: 3, n: 5}",
    "fire": "{type: fire, min_duration_s: 1.5}",
    "crowd_movement": "{type: crowd_movement}",
    "person_down": "{type: person_down, min_down_s: 4}",
    "density": "{type: density, zones: [z], source: occupancy}",
    "abandoned_object": "{type: abandoned_object, min_static_s: 20, owner_gone_s: 30}",
}


def _camera(rule: str) -> config.Camera:
    cfg = config.loads(
        LAB
        + "detectors: [{id: d, model: {path: m.onnx}}]\n"
        + "cameras: [{id: cam, url: v.mp4, zones: [{id: z, area_m2: 50, "
        + f"polygon: [[0, 0], [1, 0], [1, 1]]}}], rules: [{rule}]}}]\n"
    )
    return cfg.cameras[0]


def test_the_lists_of_types_derive_from_one_closed_set() -> None:
    assert len(SITUATIONS) == 8
    assert set(SITUATIONS).isdisjoint(SYSTEM_EVENTS)
    assert set(EVENT_TYPES) == {*SITUATIONS, *SYSTEM_EVENTS}
    assert {"alert_storm", "camera_tampered", "statistics"} <= set(SYSTEM_EVENTS)
    assert set(config.LEGAL_PROFILES["fr-2023"]) == set(SITUATIONS)
    assert {rule.__struct_config__.tag for rule in get_args(config.Rule)} == set(SITUATIONS)


def test_every_event_type_can_be_named_in_a_webhook_filter() -> None:
    types = ", ".join(EVENT_TYPES)
    cfg = config.loads(
        LAB + "cameras: [{id: cam, url: v.mp4}]\nsinks: {webhooks: [{name: a, "
        f"url: 'https://example.org/', secrets: [{SECRET}], types: [{types}]}}]}}\n"
    )
    assert cfg.sinks.webhooks[0].types == list(EVENT_TYPES)


def test_an_event_of_a_type_outside_the_vocabulary_is_refused() -> None:
    """An event read back (outbox, cluster stream) names a known type, or is an error."""
    line = (
        '{"id":"0190a000-0000-7000-8000-000000000001","revision":1,"type":"%s",'
        '"camera_id":"cam","state":"open","started_at":1.0,"updated_at":1.0,"start_s":0.0,'
        '"start_frame":0,"evidence":{"frame_index":0,"stream_time_s":0.0}}'
    )
    assert decode(line % "camera_tampered").type == "camera_tampered"
    with pytest.raises(msgspec.ValidationError, match=r"\$\.type"):
        decode(line % "face_match")


def test_each_situation_is_declared_once_by_its_module() -> None:
    assert list(REGISTRY) == list(SITUATIONS)
    for kind, spec in REGISTRY.items():
        assert spec.type == kind
        assert spec.config.__struct_config__.tag == kind
        assert spec.config.__module__ == "vsa_stream.config.rules"


@pytest.mark.parametrize("kind", SITUATIONS)
def test_a_rule_runs_on_the_runner_its_situation_declares(kind: str) -> None:
    camera = _camera(RULES[kind])
    (runner,) = build_rules(camera)
    assert isinstance(runner, SituationRunner)
    assert runner.lifecycle.kind == kind  # its events carry the situation's type
    assert runner.finish(None, "stream ended") == []
    assert spec_of(camera.rules[0]) is REGISTRY[camera.rules[0].situation]


def test_signals_and_confirmation_come_from_the_declarations() -> None:
    expected = {
        "fire": {"fire"},
        "crowd_movement": {"flow", "foreground"},
        "density": {"foreground"},
        "abandoned_object": {"static_objects", "tamper"},
    }
    for kind in SITUATIONS:
        assert needed_signals(_camera(RULES[kind])) == expected.get(kind, set()), kind
    waits = {kind: rule_threshold(_camera(RULES[kind]).rules[0], 10.0) for kind in SITUATIONS}
    assert waits == {
        "wrong_way": 1.5,  # min_track_age_s + min_duration_s
        "intrusion": 2.0,
        "weapon": 0.3,  # k frames at 10 fps
        "fire": 1.5,
        "crowd_movement": 1.0,
        "person_down": 4.0,
        "density": 10.0,
        "abandoned_object": 30.0,  # the longer of still and alone
    }


def test_the_api_documents_the_event_types_it_filters_on() -> None:
    doc = openapi_document()
    (param,) = [p for p in doc["paths"]["/api/events"]["get"]["parameters"] if p["name"] == "type"]
    assert param["schema"]["enum"] == list(EVENT_TYPES)
    assert set(doc["components"]["schemas"]["Event"]["properties"]["type"]["enum"]) == set(
        EVENT_TYPES
    )


def test_the_reference_names_every_type_a_webhook_may_filter_on() -> None:
    reference = (Path(__file__).resolve().parents[2] / "docs" / "config.md").read_text()
    (row,) = [line for line in reference.splitlines() if line.startswith("| `types` |")]
    assert all(f"`{kind}`" in row for kind in SYSTEM_EVENTS), row
    assert "the eight situations" in row
