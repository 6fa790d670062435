"""One source for the configuration's field documentation: each field's ``msgspec.Meta``
description is what ``vsa-stream check --schema`` prints and what docs/config.md's table says
of it, word for word."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec

from vsa_stream import config
from vsa_stream.authorisation import Authorisation
from vsa_stream.detection.spec import ModelSpec

#: Each section of docs/config.md with a field table -> the struct it documents.
SECTIONS: dict[str, type[msgspec.Struct]] = {
    "Top level": config.Config,
    "camera": config.Camera,
    "supervision": config.Supervision,
    "zone": config.Zone,
    "calibration": config.Calibration,
    "statistics": config.Statistics,
    "line": config.CountingLine,
    "`intrusion`": config.IntrusionRule,
    "schedule window": config.ScheduleWindow,
    "`wrong_way`": config.WrongWayRule,
    "`weapon`": config.WeaponRule,
    "`fire`": config.FireRule,
    "`crowd_movement`": config.CrowdMovementRule,
    "`person_down`": config.PersonDownRule,
    "`density`": config.DensityRule,
    "`abandoned_object`": config.AbandonedObjectRule,
    "motion": config.MotionConfig,
    "detectors": config.DetectorConfig,
    "model": ModelSpec,
    "tracking": config.TrackingConfig,
    "pose": config.PoseConfig,
    "sinks": config.Sinks,
    "stdout": config.StdoutSink,
    "jsonl": config.JsonlSink,
    "webhooks": config.WebhookEndpoint,
    "mqtt": config.MqttSink,
    "outbox": config.OutboxConfig,
    "server": config.ServerConfig,
    "tls": config.ServerTls,
    "token": config.ApiToken,
    "privacy": config.Privacy,
    "authorisations": Authorisation,
    "notice": config.Notice,
    "audit": config.AuditConfig,
    "logging": config.LoggingConfig,
}


def _tables() -> dict[str, dict[str, str]]:
    """The first field table under each heading of docs/config.md: field -> meaning."""
    lines = (Path(__file__).resolve().parents[2] / "docs" / "config.md").read_text()
    tables: dict[str, dict[str, str]] = {}
    heading = ""
    rows = iter(lines.splitlines())
    for line in rows:
        if match := re.match(r"^#{2,4} (.*)$", line):
            heading = match.group(1).strip()
        elif line.startswith("| key | type | default | meaning |") and heading not in tables:
            next(rows)  # the |---| line
            table = tables[heading] = {}
            for row in rows:
                if not row.startswith("|"):
                    break
                cells = re.split(r"(?<!\\)\|", row)[1:-1]
                table[cells[0].strip().strip("`")] = cells[3].strip().replace("\\|", "|")
    return tables


def _properties(schema: dict[str, Any], struct: type[msgspec.Struct]) -> dict[str, Any]:
    props: dict[str, Any] = schema["$defs"][struct.__name__]["properties"]
    return props


def test_every_field_is_described_once_for_the_schema_and_the_reference() -> None:
    schema = config.json_schema()
    tables = _tables()
    assert set(SECTIONS) <= set(tables), set(SECTIONS) - set(tables)
    for heading, struct in SECTIONS.items():
        props = _properties(schema, struct)
        for name in struct.__struct_fields__:
            described = props[name].get("description")
            assert described, f"{struct.__name__}.{name} has no description"
            assert tables[heading].get(name) == described, (
                f"docs/config.md ({heading}) and {struct.__name__}.{name}'s description differ"
            )


def test_check_schema_prints_the_descriptions() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "vsa_stream", "check", "--schema"], capture_output=True, check=True
    )
    schema = json.loads(out.stdout)
    assert _properties(schema, config.Camera)["fps"]["description"] == (
        "frames analysed per second (sampled by stream time)"
    )
