"""Privacy, audit, logging and the public notice."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from vsa_stream.config._base import _Base

__all__ = ["AuditConfig", "LoggingConfig", "Notice", "Privacy"]


class Privacy(_Base):
    """Legal profile and data minimisation."""

    legal_profile: Annotated[
        Literal["fr-2023", "lab"],
        msgspec.Meta(
            description=(
                "the closed set of situations allowed (the eight, under both), "
                "and the lawful frame: `fr-2023` analyses only inside an "
                "[authorisation](#authorisations) (at least one required, one "
                "month at most each); `lab` is for evaluation on recorded files "
                "(tests, examples, `eval`, the demo): a live URL (`rtsp://`, "
                "`http://`, ...) is an error naming `cameras[i].url`, and no "
                "authorisation is needed (those given are honoured). See "
                "[lawful.md](lawful.md)"
            )
        ),
    ] = "fr-2023"
    snapshots: Annotated[
        bool,
        msgspec.Meta(
            description=(
                "store a JPEG of the frame on which each alert opens and closes, "
                "in `<state_dir>/evidence/<camera>/`, served to operators by the "
                "API (each read audited)"
            )
        ),
    ] = False
    blur_persons: Annotated[
        bool,
        msgspec.Meta(
            description=(
                "pixelate in snapshots every person and every unclassified motion"
                " blob seen on the camera in the last `blur_hold_s` seconds "
                "(tracks the detector just lost included) and, on a camera "
                "without a detector, every foreground region; `false` needs "
                "`blur_off_reason`"
            )
        ),
    ] = True
    #: Why snapshots keep persons visible: required with ``blur_persons: false`` (logged and
    #: audited at every start).
    blur_off_reason: Annotated[
        Annotated[str, msgspec.Meta(min_length=10, max_length=500)] | None,
        msgspec.Meta(
            description=(
                "why snapshots keep persons recognisable: required with "
                "`blur_persons: false`; logged as a warning and written to the "
                "audit log at every start"
            )
        ),
    ] = None
    blur_vehicles: Annotated[
        bool, msgspec.Meta(description="pixelate vehicles too (number plates)")
    ] = True
    blur_hold_s: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            le=30.0,
            description=("how long, in stream seconds, what was seen stays hidden in snapshots"),
        ),
    ] = 3.0
    retention_days: Annotated[
        float,
        msgspec.Meta(
            gt=0.0,
            le=30.0,
            description=(
                "snapshots are deleted this many days after they were written "
                "(checked at start, then hourly); more than 30 is an error"
            ),
        ),
    ] = 7.0


class AuditConfig(_Base):
    """The audit log's key (HMAC-SHA256 chain) and its checkpoints to the sinks."""

    key_file: Annotated[
        Annotated[str, msgspec.Meta(min_length=1)] | None,
        msgspec.Meta(
            description=(
                "the key: the file's content, surrounding blanks stripped, at "
                "least 32 bytes (`openssl rand -hex 32 > /etc/vsa/audit.key; "
                "chmod 600 /etc/vsa/audit.key`); refused inside `state_dir` and "
                "when the group or others have any access to it"
            )
        ),
    ] = None
    key_env: Annotated[
        Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None,
        msgspec.Meta(
            description=(
                "the key from this environment variable instead (at least 32 "
                "bytes; unset at start: exit 2); not with `key_file`"
            )
        ),
    ] = None
    checkpoint_every_s: Annotated[
        float,
        msgspec.Meta(
            ge=10.0,
            le=86400.0,
            description=(
                "how often the audit head is sent to the sinks as an "
                "`audit_checkpoint` revision when it moved (also at start and at "
                "stop)"
            ),
        ),
    ] = 300.0


class LoggingConfig(_Base):
    """Log level and format (``auto``: JSON lines unless the log stream is a terminal)."""

    level: Annotated[
        Literal["debug", "info", "warning", "error"],
        msgspec.Meta(description="the least severe level written"),
    ] = "info"
    format: Annotated[
        Literal["auto", "json", "console"],
        msgspec.Meta(description="`auto`: coloured console on a terminal, JSON lines otherwise"),
    ] = "auto"


class Notice(_Base):
    """What ``vsa-stream notice`` tells the public besides what the configuration already says
    (cameras, situations, authorisations, retention): who is responsible and how to exercise
    one's rights."""

    controller: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=300,
            description=("who is responsible for the processing (the operator of the system)"),
        ),
    ]
    contact: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=300,
            description="where to write to exercise one's rights (an address, a mailbox)",
        ),
    ]
    address: Annotated[
        Annotated[str, msgspec.Meta(max_length=300)] | None,
        msgspec.Meta(description="the controller's postal address"),
    ] = None
    dpo: Annotated[
        Annotated[str, msgspec.Meta(max_length=300)] | None,
        msgspec.Meta(
            description=("the data protection officer's contact (used for rights when given)")
        ),
    ] = None
    places: Annotated[
        dict[str, Annotated[str, msgspec.Meta(min_length=1, max_length=300)]],
        msgspec.Meta(
            description=(
                "where each camera is, in words a passer-by understands; an "
                "unknown camera id is an error"
            )
        ),
    ] = msgspec.field(default_factory=dict)
    complaints: Annotated[
        str, msgspec.Meta(min_length=1, max_length=300, description="where to lodge a complaint")
    ] = "CNIL, 3 place de Fontenoy, 75007 Paris, www.cnil.fr"
