"""The configuration: YAML decoded into msgspec Structs, validated with path-precise errors.

A package: the schema by section (:mod:`.cameras`, :mod:`.rules`, :mod:`.detection`,
:mod:`.sinks`, :mod:`.server`, :mod:`.privacy`, :mod:`.statistics`, the whole in :mod:`.model`),
loading (:mod:`.loading`, :mod:`.yaml_document`), msgspec's messages made readable
(:mod:`.messages`) and the cross-field checks (:mod:`.checks`). Every public name is
imported from here.

A configuration file is read in four steps, each of which can fail with a
:class:`~vsa_stream.errors.ConfigError` that names the field (``cameras[2].zones[0].polygon``)
and, where it can, the YAML line:

1. YAML is parsed (duplicate keys are an error, not a silent overwrite);
2. ``${VAR}`` / ``${VAR:-default}`` in string values are replaced from the environment, so
   secrets stay out of the file;
3. the data is converted into the :class:`Config` Structs (unknown keys are errors; a rule
   type outside the legal profile's closed set is an error naming the allowed ones);
4. cross-field checks (unique ids, zones a rule names exist, polygon geometry, ...).

Example:
    >>> cfg = loads("privacy: {legal_profile: lab}\\ncameras: [{id: cam1, url: video.mp4}]")
    >>> cfg.cameras[0].fps
    10.0
"""

from __future__ import annotations

from vsa_stream.authorisation import Authorisation
from vsa_stream.config._base import Problem
from vsa_stream.config.cameras import Calibration, Camera, MotionConfig, Supervision, Zone
from vsa_stream.config.checks import class_problems
from vsa_stream.config.detection import DetectorConfig, PoseConfig, TrackingConfig
from vsa_stream.config.loading import load, loads
from vsa_stream.config.model import Config, dumps_schema, json_schema
from vsa_stream.config.privacy import AuditConfig, LoggingConfig, Notice, Privacy
from vsa_stream.config.rules import (
    DAYS,
    LEGAL_PROFILES,
    AbandonedObjectRule,
    CrowdMovementRule,
    Day,
    DensityRule,
    FireRule,
    IntrusionRule,
    PersonDownRule,
    Rule,
    ScheduleWindow,
    WeaponRule,
    WrongWayRule,
)
from vsa_stream.config.server import ApiToken, ServerConfig, ServerTls, normal_host_name
from vsa_stream.config.sinks import (
    WEBHOOK_RETRY_SCHEDULE_S,
    JsonlSink,
    MqttSink,
    OutboxConfig,
    Sinks,
    StdoutSink,
    WebhookEndpoint,
)
from vsa_stream.config.statistics import (
    INTERVALS_MIN,
    STATISTICS_CLASSES,
    STATISTICS_TYPE,
    CountingLine,
    Statistics,
)
from vsa_stream.event_types import SITUATIONS

__all__ = [
    "DAYS",
    "INTERVALS_MIN",
    "LEGAL_PROFILES",
    "SITUATIONS",
    "STATISTICS_CLASSES",
    "STATISTICS_TYPE",
    "WEBHOOK_RETRY_SCHEDULE_S",
    "AbandonedObjectRule",
    "ApiToken",
    "AuditConfig",
    "Authorisation",
    "Calibration",
    "Camera",
    "Config",
    "CountingLine",
    "CrowdMovementRule",
    "Day",
    "DensityRule",
    "DetectorConfig",
    "FireRule",
    "IntrusionRule",
    "JsonlSink",
    "LoggingConfig",
    "MotionConfig",
    "MqttSink",
    "Notice",
    "OutboxConfig",
    "PersonDownRule",
    "PoseConfig",
    "Privacy",
    "Problem",
    "Rule",
    "ScheduleWindow",
    "ServerConfig",
    "ServerTls",
    "Sinks",
    "Statistics",
    "StdoutSink",
    "Supervision",
    "TrackingConfig",
    "WeaponRule",
    "WebhookEndpoint",
    "WrongWayRule",
    "Zone",
    "class_problems",
    "dumps_schema",
    "json_schema",
    "load",
    "loads",
    "normal_host_name",
]
