"""Every event type the engine emits: the one list that the others derive from.

Three families, each a closed ``Literal``:

- :data:`Situation`: the eight situations French law allows to detect (loi JO 2023, décret
  2023-828), the only types a rule can have and the only ones counted as alerts;
- :data:`HealthEvent`: what a camera's supervision says about the camera itself (offline,
  online again, tampered with, running outside its authorisations);
- :data:`ControlEvent`: signals of the engine: the storm summary of a camera, the audit log's
  signed head, an interval's aggregates.

Config validation (rule types, webhook filters), the report, the documentation and the tests
read these tuples; no other module spells a list of types.

Example:
    >>> "alert_storm" in EVENT_TYPES and "alert_storm" not in SITUATIONS
    True
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "CHECKPOINT_TYPE",
    "CONTROL_EVENTS",
    "EVENT_TYPES",
    "HEALTH_EVENTS",
    "OFFLINE_TYPE",
    "ONLINE_TYPE",
    "SITUATIONS",
    "STATISTICS_TYPE",
    "STORM_TYPE",
    "SYSTEM_EVENTS",
    "TAMPER_TYPE",
    "UNAUTHORISED_TYPE",
    "ControlEvent",
    "EventType",
    "HealthEvent",
    "Situation",
]

Situation = Literal[
    "wrong_way",
    "intrusion",
    "weapon",
    "fire",
    "crowd_movement",
    "person_down",
    "density",
    "abandoned_object",
]
#: The closed set of situations, in the order of the law's list.
SITUATIONS: tuple[Situation, ...] = get_args(Situation)

HealthEvent = Literal["camera_offline", "camera_online", "camera_tampered", "camera_unauthorised"]
#: What supervision says about a camera (:mod:`vsa_stream.supervisor`, :mod:`vsa_stream.tamper`,
#: :mod:`vsa_stream.lawful`).
HEALTH_EVENTS: tuple[HealthEvent, ...] = get_args(HealthEvent)
OFFLINE_TYPE: HealthEvent = "camera_offline"
ONLINE_TYPE: HealthEvent = "camera_online"
TAMPER_TYPE: HealthEvent = "camera_tampered"
UNAUTHORISED_TYPE: HealthEvent = "camera_unauthorised"

ControlEvent = Literal["alert_storm", "audit_checkpoint", "statistics"]
#: Signals of the engine, never alerts.
CONTROL_EVENTS: tuple[ControlEvent, ...] = get_args(ControlEvent)
#: The summary a camera's storm control emits (:class:`vsa_stream.rules.lifecycle.StormGuard`).
STORM_TYPE: ControlEvent = "alert_storm"
#: The audit log's signed head, on camera ``_audit`` (:mod:`vsa_stream.audit`).
CHECKPOINT_TYPE: ControlEvent = "audit_checkpoint"
#: An interval's aggregates (:mod:`vsa_stream.stats`): counts only, never a track or an image.
STATISTICS_TYPE: ControlEvent = "statistics"

EventType = Literal[Situation, HealthEvent, ControlEvent]
#: Every type an event may have: what a webhook filter may name.
EVENT_TYPES: tuple[EventType, ...] = (*SITUATIONS, *HEALTH_EVENTS, *CONTROL_EVENTS)
#: The types that are not situations: health and control signals.
SYSTEM_EVENTS: tuple[HealthEvent | ControlEvent, ...] = (*HEALTH_EVENTS, *CONTROL_EVENTS)
