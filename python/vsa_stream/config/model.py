"""The whole configuration of one daemon, and its JSON Schema."""

from __future__ import annotations

import os
from typing import Annotated, Any

import msgspec

from vsa_stream.authorisation import Authorisation
from vsa_stream.config._base import _Base
from vsa_stream.config.cameras import Camera, MotionConfig
from vsa_stream.config.detection import DetectorConfig, PoseConfig, TrackingConfig
from vsa_stream.config.privacy import AuditConfig, LoggingConfig, Notice, Privacy
from vsa_stream.config.server import ServerConfig
from vsa_stream.config.sinks import OutboxConfig, Sinks, StdoutSink

__all__ = ["Config", "dumps_schema", "json_schema"]


class Config(_Base):
    """The whole configuration of one daemon."""

    cameras: Annotated[list[Camera], msgspec.Meta(min_length=1)]
    privacy: Privacy = msgspec.field(default_factory=Privacy)
    motion: MotionConfig = msgspec.field(default_factory=MotionConfig)
    detectors: list[DetectorConfig] = msgspec.field(default_factory=list)
    tracking: TrackingConfig = msgspec.field(default_factory=TrackingConfig)
    pose: PoseConfig | None = None
    sinks: Sinks = msgspec.field(default_factory=lambda: Sinks(stdout=StdoutSink()))
    state_dir: Annotated[str, msgspec.Meta(min_length=1)] = "vsa-state"
    outbox: OutboxConfig = msgspec.field(default_factory=OutboxConfig)
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)
    logging: LoggingConfig = msgspec.field(default_factory=LoggingConfig)
    audit: AuditConfig = msgspec.field(default_factory=AuditConfig)
    authorisations: list[Authorisation] = msgspec.field(default_factory=list)
    notice: Notice | None = None

    def motion_for(self, camera: Camera) -> MotionConfig:
        """The motion settings of ``camera``: its own when given, else the global ones."""
        return camera.motion if camera.motion is not None else self.motion

    def detectors_for(self, camera: Camera) -> list[str]:
        """The names of the detectors ``camera`` uses: its own list, else every detector."""
        if camera.detectors is None:
            return [d.id for d in self.detectors]
        return list(camera.detectors)

    def detector(self, detector_id: str) -> DetectorConfig:
        """The detector called ``detector_id`` (KeyError if there is none)."""
        for d in self.detectors:
            if d.id == detector_id:
                return d
        raise KeyError(detector_id)

    def outbox_path(self) -> str:
        """The outbox database: ``outbox.path``, else ``outbox.sqlite3`` in ``state_dir``."""
        if self.outbox.path is not None:
            return self.outbox.path
        return os.path.join(self.state_dir, "outbox.sqlite3")


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the configuration, generated from the Structs."""
    schema = msgspec.json.schema(Config)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "vsa_stream configuration"
    return schema


def dumps_schema() -> bytes:
    """The JSON Schema, pretty-printed."""
    return msgspec.json.format(msgspec.json.encode(json_schema()), indent=2)
