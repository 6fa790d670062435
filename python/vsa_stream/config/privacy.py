"""Privacy, audit, logging and the public notice."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from vsa_stream.config._base import _Base

__all__ = ["AuditConfig", "LoggingConfig", "Notice", "Privacy"]


class Privacy(_Base):
    """Legal profile and data minimisation."""

    legal_profile: Literal["fr-2023", "lab"] = "fr-2023"
    snapshots: bool = False
    blur_persons: bool = True
    #: Why snapshots keep persons visible: required with ``blur_persons: false`` (logged and
    #: audited at every start).
    blur_off_reason: Annotated[str, msgspec.Meta(min_length=10, max_length=500)] | None = None
    blur_vehicles: bool = True
    blur_hold_s: Annotated[float, msgspec.Meta(ge=0.0, le=30.0)] = 3.0
    retention_days: Annotated[float, msgspec.Meta(gt=0.0, le=30.0)] = 7.0


class AuditConfig(_Base):
    """The audit log's key (HMAC-SHA256 chain) and its checkpoints to the sinks."""

    key_file: Annotated[str, msgspec.Meta(min_length=1)] | None = None
    key_env: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    checkpoint_every_s: Annotated[float, msgspec.Meta(ge=10.0, le=86400.0)] = 300.0


class LoggingConfig(_Base):
    """Log level and format (``auto``: JSON lines unless the log stream is a terminal)."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class Notice(_Base):
    """What ``vsa-stream notice`` tells the public besides what the configuration already says
    (cameras, situations, authorisations, retention): who is responsible and how to exercise
    one's rights."""

    controller: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    contact: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    address: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    dpo: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    places: dict[str, Annotated[str, msgspec.Meta(min_length=1, max_length=300)]] = msgspec.field(
        default_factory=dict
    )
    complaints: Annotated[str, msgspec.Meta(min_length=1, max_length=300)] = (
        "CNIL, 3 place de Fontenoy, 75007 Paris, www.cnil.fr"
    )
