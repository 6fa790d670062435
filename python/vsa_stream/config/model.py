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

    cameras: Annotated[list[Camera], msgspec.Meta(min_length=1, description="the streams to watch")]
    privacy: Annotated[
        Privacy, msgspec.Meta(description="legal profile, evidence snapshots and their retention")
    ] = msgspec.field(default_factory=Privacy)
    motion: Annotated[
        MotionConfig, msgspec.Meta(description="motion-kernel defaults for every camera")
    ] = msgspec.field(default_factory=MotionConfig)
    detectors: Annotated[
        list[DetectorConfig],
        msgspec.Meta(
            description=(
                "ONNX object detectors shared by the cameras; none: motion blobs are the objects"
            )
        ),
    ] = msgspec.field(default_factory=list)
    tracking: Annotated[
        TrackingConfig, msgspec.Meta(description="the multi-object tracker of every camera")
    ] = msgspec.field(default_factory=TrackingConfig)
    pose: Annotated[
        PoseConfig | None,
        msgspec.Meta(
            description=("a pose model `person_down` asks about candidate persons (a second stage)")
        ),
    ] = None
    sinks: Annotated[Sinks, msgspec.Meta(description="where alerts go")] = msgspec.field(
        default_factory=lambda: Sinks(stdout=StdoutSink())
    )
    state_dir: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            description=(
                "folder of the daemon's state (the outbox by default, the audit "
                "log `audit.jsonl`, evidence snapshots under `evidence/`), "
                "relative to the working directory; created `0700`, every file in"
                " it `0600` whatever the umask; `run` refuses a folder open to "
                "other users (exit 2: `chmod 700` it)"
            ),
        ),
    ] = "vsa-state"
    outbox: Annotated[
        OutboxConfig,
        msgspec.Meta(description="the durable outbox every alert is committed to before delivery"),
    ] = msgspec.field(default_factory=OutboxConfig)
    server: Annotated[ServerConfig, msgspec.Meta(description="HTTP API and operator page")] = (
        msgspec.field(default_factory=ServerConfig)
    )
    logging: Annotated[LoggingConfig, msgspec.Meta(description="log level and format")] = (
        msgspec.field(default_factory=LoggingConfig)
    )
    audit: Annotated[
        AuditConfig,
        msgspec.Meta(description="the audit log's key and its checkpoints to the sinks"),
    ] = msgspec.field(default_factory=AuditConfig)
    authorisations: Annotated[
        list[Authorisation],
        msgspec.Meta(
            description=(
                "the authorisations (prefectoral orders) the cameras analyse "
                "under: outside them none of the eight situations is analysed "
                "(statistics, which are not one of them, need none: see "
                "`statistics`)"
            )
        ),
    ] = msgspec.field(default_factory=list)
    notice: Annotated[
        Notice | None,
        msgspec.Meta(
            description=("who is responsible and how to exercise one's rights: `vsa-stream notice`")
        ),
    ] = None

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
