"""Configuration: every bad config names its field (and line), exits 2; good ones load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from authorised import LAB
from vsa_stream import config
from vsa_stream.cli import main
from vsa_stream.config.statistics import CountingLine, Statistics
from vsa_stream.detection.spec import ModelSpec
from vsa_stream.errors import ConfigError

GOOD = """\
cameras:
  - id: gate
    url: rtsp://viewer:${CAM_PASSWORD}@10.1.2.3:554/stream1
    options: {rtsp_transport: tcp}
    fps: 8
    zones:
      - id: tracks
        polygon: [[0.1, 0.5], [0.9, 0.5], [0.9, 0.9], [0.1, 0.9]]
      - id: depot
        units: pixels
        polygon: [[10, 10], [200, 10], [200, 150], [120, 60], [10, 150]]
    rules:
      - type: intrusion
        zones: [tracks, depot]
        min_dwell_s: 2.5
  - id: hall
    url: /var/video/hall.mp4
    loop: true
sinks:
  stdout: {}
  jsonl: {path: /tmp/events.jsonl}
authorisations:
  - reference: "arrêté 2026-0042"
    start: 2026-12-01
    end: 2026-12-31
    timezone: Europe/Paris
    cameras: [gate, hall]
    situations: [intrusion]
"""


def test_good_config_loads_with_env_substitution() -> None:
    cfg = config.loads(GOOD, env={"CAM_PASSWORD": "s3cret"})
    assert cfg.privacy.legal_profile == "fr-2023"
    gate = cfg.cameras[0]
    assert gate.url == "rtsp://viewer:s3cret@10.1.2.3:554/stream1"
    assert gate.fps == 8.0
    assert gate.zones[1].units == "pixels"
    rule = gate.rules[0]
    assert isinstance(rule, config.IntrusionRule)
    assert rule.min_dwell_s == 2.5
    assert cfg.cameras[1].loop is True
    assert cfg.sinks.jsonl is not None
    assert cfg.sinks.jsonl.path == "/tmp/events.jsonl"


def test_env_default_and_escape() -> None:
    text = "cameras: [{id: a, url: '${NOPE:-/v.mp4}'}]\nsinks: {jsonl: {path: 'c$$x'}}\n" + LAB
    cfg = config.loads(text, env={})
    assert cfg.cameras[0].url == "/v.mp4"
    assert cfg.sinks.jsonl is not None
    assert cfg.sinks.jsonl.path == "c$x"


CAM_Z = (
    "cameras:\n  - id: a\n    url: a.mp4\n    zones: [{id: z, polygon: [[0, 0], [1, 0], [1, 1]]}]\n"
)

# (yaml, expected path, expected words in the message, expected line or None)
BAD: list[tuple[str, str, str, int | None]] = [
    (
        """\
        cameras:
          - {id: a, url: a.mp4}
          - {id: b, url: b.mp4}
          - id: c
            url: c.mp4
            zones:
              - id: z
                polygon: [[0, 0], [1, 1]]
        """,
        "cameras[2].zones[0].polygon",
        "expected at least 3 points, got 2",
        8,
    ),
    (
        """\
        cameras:
          - id: a
            url: a.mp4
            fps: fast
        """,
        "cameras[0].fps",
        "expected float, got str",
        4,
    ),
    (
        """\
        cameras:
          - id: a
            url: a.mp4
            fsp: 10
        """,
        "cameras[0].fsp",
        "unknown key; expected one of: id, url",
        4,
    ),
    ("cameras:\n  - url: a.mp4\n", "cameras[0].id", "required field is missing", 2),
    (
        """\
        cameras:
          - id: a
            url: a.mp4
            rules:
              - type: face_recognition
        """,
        "cameras[0].rules[0].type",
        "not a situation the legal profile fr-2023 allows",
        5,
    ),
    (
        """\
        cameras:
          - id: a
            url: a.mp4
            zones: [{id: z, polygon: [[0, 0], [1, 0], [1, 1]]}]
            rules:
              - type: intrusion
                zones: [z, platform]
        """,
        "cameras[0].rules[0].zones[1]",
        "unknown zone 'platform'; this camera's zones: z",
        7,
    ),
    (
        """\
        cameras:
          - id: a
            url: a.mp4
            zones: [{id: z, polygon: [[0, 0], [1.5, 0], [1, 1]]}]
        """,
        "cameras[0].zones[0].polygon[1]",
        "normalized coordinates must lie in [0, 1]",
        4,
    ),
    (
        "cameras:\n  - {id: a, url: a.mp4}\n  - {id: a, url: b.mp4}\n",
        "cameras[1].id",
        "duplicate camera id 'a'",
        3,
    ),
    ("cameras:\n  - {id: a, url: 'ftp://host/x'}\n", "cameras[0].url", "unsupported URL scheme", 2),
    ("cameras: []\n", "cameras", "expected at least 1 entry, got 0", 1),
    (
        "cameras:\n  - {id: a, url: a.mp4, fps: 0}\n",
        "cameras[0].fps",
        "expected float > 0.0",
        2,
    ),
    (
        "privacy: {legal_profile: us}\ncameras:\n  - {id: a, url: a.mp4}\n",
        "privacy.legal_profile",
        "unknown legal profile 'us'",
        1,
    ),
    (
        "cameras:\n  - {id: a, url: 'rtsp://u:${CAM_PW}@h/s'}\n",
        "cameras[0].url",
        "environment variable CAM_PW is not set",
        2,
    ),
    ("cameras:\n  - {id: 'has space', url: a.mp4}\n", "cameras[0].id", "matching regex", 2),
    (
        "cameras:\n  - {id: a, url: a.mp4}\nsinks: {}\n",
        "sinks",
        "no sink enabled",
        3,
    ),
    (
        "cameras:\n  - {id: a, url: a.mp4,"
        " rules: [{type: intrusion, zones: [z], min_dwell_s: -1}]}",
        "cameras[0].rules[0].min_dwell_s",
        "expected float >= 0.0",
        2,
    ),
    (
        "cameras:\n  - id: a\n    url: a.mp4\n    zones:\n"
        "      - {id: z, polygon: [[0, 0], [0.5, 0.5], [1, 1]]}\n",
        "cameras[0].zones[0].polygon",
        "zero area",
        5,
    ),
    (
        "cameras:\n  - {id: a, url: a.mp4}\nsinks: {stdout: {enabled: false}}\n",
        "sinks",
        "no sink enabled",
        3,
    ),
    (
        "cameras:\n  - {id: a, url: a.mp4}\nsinks:\n  jsonl: {path: /tmp}\n",
        "sinks.jsonl.path",
        "/tmp is a directory",
        4,
    ),
    (
        "cameras:\n  - {id: a, url: a.mp4, enabled: false}\n",
        "cameras",
        "every camera has enabled: false",
        1,
    ),
    (
        "cameras:\n  - id: a\n    url: a.mp4\n    rules: [{type: person_down}]\n",
        "cameras[0].rules[0].type",
        "person_down needs classified detections (person): give this camera a detector",
        4,
    ),
    (
        "cameras:\n  - id: a\n    url: a.mp4\n    rules: [{type: weapon, k: 6, n: 5}]\n",
        "cameras[0].rules[0].k",
        "k (6) must not exceed n (5)",
        4,
    ),
    (
        f"{CAM_Z}    rules:\n      - {{type: density, zones: [z]}}\n",
        "cameras[0].rules[0].zones[0]",
        "needs area_m2, or the camera a calibration",
        6,
    ),
    (
        f"{CAM_Z}    rules:\n      - {{type: wrong_way, zones: [z]}}\n",
        "cameras[0].rules[0].direction_deg",
        "exactly one of direction_deg and lane",
        6,
    ),
    (
        f"{CAM_Z}    rules:\n      - {{type: person_down, exclude_zones: [bench]}}\n",
        "cameras[0].rules[0].exclude_zones[0]",
        "unknown zone 'bench'",
        6,
    ),
    (
        f"{CAM_Z}"
        "    rules:\n      - type: intrusion\n        zones: [z]\n        timezone: Mars/Base\n",
        "cameras[0].rules[0].timezone",
        "unknown time zone 'Mars/Base'",
        8,
    ),
    (
        "cameras:\n  - id: a\n    url: a.mp4\n"
        "    rules: [{type: intrusion, zones: [z], schedule: [{start: '25:00'}]}]\n",
        "cameras[0].rules[0].schedule[0].start",
        "matching regex",
        4,
    ),
    (
        "cameras:\n  - id: a\n    url: a.mp4\n"
        "    rules: [{type: density, zones: [z], warning: 5}]\n"
        "    zones: [{id: z, area_m2: 10, polygon: [[0, 0], [1, 0], [1, 1]]}]\n",
        "cameras[0].rules[0].alert",
        "alert (4.0) must exceed warning (5.0)",
        4,
    ),
    (
        "cameras:\n  - id: a\n    url: a.mp4\n    calibration:\n"
        "      image_points: [[0, 0], [1, 0], [1, 1], [0, 1]]\n"
        "      ground_points: [[0, 0], [1, 0], [1, 1]]\n",
        "cameras[0].calibration.ground_points",
        "expected at least 4 entries, got 3",
        6,
    ),
]


@pytest.mark.parametrize(("text", "path", "words", "line"), BAD, ids=[b[1] for b in BAD])
def test_bad_config_names_the_field(text: str, path: str, words: str, line: int | None) -> None:
    with pytest.raises(ConfigError) as info:
        config.loads(textwrap.dedent(text), source="bad.yaml", env={})
    err = info.value
    assert err.path == path
    assert words in err.message
    assert err.line == line
    assert str(err).startswith(f"bad.yaml:{line}: {path}: ")


@pytest.mark.parametrize(("text", "path", "words", "line"), BAD, ids=[b[1] for b in BAD])
def test_check_exits_2_with_the_path(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    path: str,
    words: str,
    line: int | None,
) -> None:
    monkeypatch.delenv("CAM_PW", raising=False)
    file = tmp_path / "bad.yaml"
    file.write_text(textwrap.dedent(text))
    assert main(["check", str(file)]) == 2
    err = capsys.readouterr().err
    assert f"{file}:{line}: {path}: " in err
    assert words in err


def test_yaml_syntax_error_and_duplicate_keys_have_lines() -> None:
    with pytest.raises(ConfigError, match="invalid YAML") as info:
        config.loads("cameras:\n  - id: a\n    url: [unclosed\n")
    assert info.value.line is not None
    with pytest.raises(ConfigError, match="duplicate key 'url'") as dup:
        config.loads("cameras:\n  - id: a\n    url: a.mp4\n    url: b.mp4\n")
    assert dup.value.line == 4


def test_recursive_alias_is_an_error_not_a_hang() -> None:
    with pytest.raises(ConfigError, match="recursive YAML"):
        config.loads("cameras: &x [*x]\n")
    shared = "zone: &z {id: z, polygon: [[0, 0], [1, 0], [1, 1]]}\n"
    cams = "cameras:\n  - {id: a, url: a.mp4, zones: [*z]}\n  - {id: b, url: b.mp4, zones: [*z]}\n"
    with pytest.raises(ConfigError, match="zone: unknown key"):
        config.loads(shared + cams)  # aliases work (the unknown top-level key is the error)


def test_errors_never_show_stream_passwords() -> None:
    text = "cameras:\n  - {id: a, url: 'gopher://admin:hunter2@cam/live'}\n"
    with pytest.raises(ConfigError) as info:
        config.loads(text)
    assert "hunter2" not in str(info.value)
    assert "admin:***@cam" in str(info.value)


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


def test_check_cli_exit_status_and_schema(tmp_path: Path) -> None:
    file = tmp_path / "c.yaml"
    file.write_text("cameras:\n  - {id: a, url: a.mp4, fps: -3}\n")
    cmd = [sys.executable, "-m", "vsa_stream", "check", str(file)]
    bad = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert bad.returncode == 2
    assert "cameras[0].fps" in bad.stderr
    file.write_text(GOOD.replace("${CAM_PASSWORD}", "x"))
    good = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert good.returncode == 0, good.stderr
    assert "ok (2 cameras, 2 zones, 1 rules, 0 detectors)" in good.stdout
    schema = subprocess.run(
        [sys.executable, "-m", "vsa_stream", "check", "--schema"],
        capture_output=True,
        check=True,
    )
    doc = json.loads(schema.stdout)
    cam = doc["$defs"]["Camera"]
    assert cam["additionalProperties"] is False
    assert {"id", "url", "fps", "zones", "rules"} <= set(cam["properties"])
    assert doc["$defs"]["Zone"]["properties"]["polygon"]["minItems"] == 3


def test_reference_documents_every_field_and_examples_are_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    reference = (root / "docs" / "config.md").read_text()
    for struct in (
        config.Config,
        config.Camera,
        config.Zone,
        config.IntrusionRule,
        config.ScheduleWindow,
        config.WrongWayRule,
        config.WeaponRule,
        config.FireRule,
        config.CrowdMovementRule,
        config.PersonDownRule,
        config.DensityRule,
        config.AbandonedObjectRule,
        config.Calibration,
        Statistics,
        CountingLine,
        config.MotionConfig,
        config.DetectorConfig,
        config.TrackingConfig,
        ModelSpec,
        config.Sinks,
        config.JsonlSink,
        config.WebhookEndpoint,
        config.MqttSink,
        config.OutboxConfig,
        config.ServerConfig,
        config.ApiToken,
        config.Privacy,
        config.LoggingConfig,
        config.Authorisation,
        config.Notice,
    ):
        for name in struct.__struct_fields__:
            assert f"`{name}`" in reference, f"docs/config.md lacks {struct.__name__}.{name}"
    cfg = config.load(root / "examples" / "station.yaml", env={"GATE_PASSWORD": "x"})
    assert [c.id for c in cfg.cameras] == ["platform-1", "depot-door"]


def test_alerts_example_is_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {"WEBHOOK_SECRET": "whsec_" + "A" * 44, "MQTT_PASSWORD": "x", "VSA_STATE_DIR": "s"}
    env |= {"VSA_OPERATOR_TOKEN": "o" * 32, "VSA_VIEWER_TOKEN": "v" * 32}
    alerts = config.load(root / "examples" / "alerts.yaml", env=env)
    assert [t.role for t in alerts.server.tokens] == ["operator", "viewer"]
    assert [w.name for w in alerts.sinks.webhooks] == ["control-room"]
    assert alerts.sinks.mqtt is not None
    assert alerts.sinks.mqtt.tls
    assert alerts.outbox_path() == os.path.join("s", "outbox.sqlite3")


def test_server_section() -> None:
    base = LAB + "cameras: [{id: c, url: v.mp4}]\n"
    enabled = config.loads(base + "server: {enabled: true}").server
    assert (enabled.enabled, enabled.host, enabled.tokens) == (True, "127.0.0.1", [])
    with pytest.raises(ConfigError, match=r"server\.host: 0\.0\.0\.0 is not a loopback"):
        config.loads(base + "server: {enabled: true, host: 0.0.0.0}")
    token = "{name: ops, token: '${TOK}', role: operator}"
    cfg = config.loads(
        base + f"server: {{enabled: true, host: 0.0.0.0, tokens: [{token}]}}",
        env={"TOK": "t" * 24},
    )
    assert cfg.server.tokens[0].token == "t" * 24
    with pytest.raises(ConfigError, match=r"server\.tokens\[0\]\.token"):
        config.loads(base + "server: {tokens: [{name: a, token: short}]}")
    with pytest.raises(ConfigError, match=r"server\.tokens\[1\]\.name: duplicate"):
        config.loads(
            base + f"server: {{tokens: [{{name: a, token: {'a' * 16}}}, "
            f"{{name: a, token: {'b' * 16}}}]}}"
        )
    with pytest.raises(ConfigError, match=r"server\.tokens\[0\]\.role"):
        config.loads(base + f"server: {{tokens: [{{name: a, token: {'a' * 16}, role: admin}}]}}")


def test_zones_are_checked_with_the_kernels_own_polygon_check() -> None:
    """A self-intersecting zone (a bow tie) is refused: the geometry kernels would refuse it."""
    bow_tie = "[[0, 0], [0.5, 0.5], [0.5, 0], [0, 0.25]]"
    with pytest.raises(ConfigError) as err:
        config.loads(f"cameras: [{{id: c, url: a.mp4, zones: [{{id: z, polygon: {bow_tie}}}]}}]")
    assert err.value.path == "cameras[0].zones[0].polygon"
    assert "self-intersecting" in str(err.value)
    with pytest.raises(ConfigError, match="zero area"):
        config.loads(
            "cameras: [{id: c, url: a.mp4, zones: [{id: z, polygon: [[0,0],[0.5,0],[1,0]]}]}]"
        )


@pytest.mark.parametrize(
    ("rule", "own", "other"),
    [
        ("{type: intrusion, zones: [z], min_dwel_s: 3}", "min_dwell_s", "direction_deg"),
        ("{type: fire, min_duraton_s: 3}", "min_duration_s", "direction_deg"),
        ("{type: person_down, min_down: 3}", "min_down_s", "direction_deg"),
    ],
)
def test_an_unknown_rule_key_lists_the_fields_of_that_rule(rule: str, own: str, other: str) -> None:
    zone = "[[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]]"
    text = f"cameras: [{{id: c, url: a.mp4, zones: [{{id: z, polygon: {zone}}}], rules: [{rule}]}}]"
    with pytest.raises(ConfigError) as err:
        config.loads(text)
    assert "unknown key; expected one of:" in str(err.value)
    fields = str(err.value).split("expected one of:")[1]
    assert own in fields
    assert other not in fields


def test_a_rule_needing_classes_no_detector_of_its_camera_produces_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tiny_detector import build_bright_detector

    people = build_bright_detector(tmp_path / "people.onnx", ["person"])
    knives = build_bright_detector(tmp_path / "knives.onnx", ["knife"])

    def check(rules: str, detectors: str = "[coco]") -> int:
        file = tmp_path / "c.yaml"
        file.write_text(
            f"""
privacy: {{legal_profile: lab}}
detectors:
  - {{id: coco, model: {{path: {people}}}}}
  - {{id: knives, model: {{path: {knives}, class_map: {{weapon: [knife]}}}}}}
cameras:
  - id: hall
    url: hall.mp4
    detectors: {detectors}
    zones: [{{id: all, polygon: [[0, 0], [1, 0], [1, 1]]}}]
    rules: {rules}
"""
        )
        return main(["check", str(file)])

    assert check("[{type: weapon}]") == 2
    err = capsys.readouterr().err
    assert "cameras[0].rules[0].classes" in err
    assert "weapon rule needs class weapon" in err
    assert "coco produces person" in err
    # density from tracks and person_down need persons: a weapon model alone has none
    assert check("[{type: person_down}]", "[knives]") == 2
    assert "person_down rule needs class person" in capsys.readouterr().err
    # with detectors, intrusion sees only their classes: vehicles are never seen here
    assert check("[{type: intrusion, zones: [all], classes: [vehicle]}]") == 2
    assert "intrusion rule needs class vehicle" in capsys.readouterr().err
    # what the detectors produce is fine; fire needs no class
    assert check("[{type: weapon}, {type: person_down}, {type: fire}]", "[coco, knives]") == 0


@pytest.mark.anyio
async def test_the_engine_refuses_a_camera_whose_rules_its_detectors_cannot_serve(
    tmp_path: Path,
) -> None:

    from tiny_detector import build_bright_detector
    from vsa_stream.engine import Engine

    people = build_bright_detector(tmp_path / "people.onnx", ["person"])
    cfg = config.loads(
        f"""
privacy: {{legal_profile: lab}}
detectors: [{{id: coco, model: {{path: {people}}}}}]
cameras: [{{id: hall, url: {tmp_path / "none.mp4"}, rules: [{{type: weapon}}]}}]
sinks: {{jsonl: {{path: {tmp_path / "e.jsonl"}}}}}
"""
    )
    result = await Engine(cfg, [], scan=True).run()
    (status,) = result.cameras
    assert status.state == "failed"
    assert status.error is not None
    assert "rules[0].classes" in status.error
    assert "weapon rule needs class weapon" in status.error


@pytest.mark.anyio
async def test_a_cluster_worker_refuses_to_start_a_camera_its_detectors_cannot_serve(
    tmp_path: Path,
) -> None:
    import anyio

    from tiny_detector import build_bright_detector
    from vsa_stream.engine import Engine

    people = build_bright_detector(tmp_path / "people.onnx", ["person"])
    shared = config.loads(
        f"detectors: [{{id: coco, model: {{path: {people}}}}}]\nsinks: {{}}", cluster_node=True
    )
    hall = config.Camera(id="hall", url=str(tmp_path / "none.mp4"), rules=[config.WeaponRule()])
    engine = Engine(shared, [], dynamic=True)

    async def drive() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: engine.run(handle_signals=False))
            await engine.wait_accepting()
            with pytest.raises(ConfigError, match="weapon rule needs class weapon") as info:
                await engine.start_camera(hall, shared)
            assert info.value.path == "cameras[hall].rules[0].classes"
            assert engine.running() == {}
            engine.stop()

    await drive()
