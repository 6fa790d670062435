"""Rules: one module per situation of the closed set, each fed plain observations."""

from __future__ import annotations

from vsa_stream.config import (
    AbandonedObjectRule,
    Camera,
    CrowdMovementRule,
    DensityRule,
    FireRule,
    IntrusionRule,
    PersonDownRule,
    Rule,
    WeaponRule,
    WrongWayRule,
)
from vsa_stream.rules.abandoned_object import AbandonedObjectRunner
from vsa_stream.rules.base import RuleRunner
from vsa_stream.rules.crowd_movement import CrowdMovementRunner
from vsa_stream.rules.density import DensityRunner
from vsa_stream.rules.fire import FireRunner
from vsa_stream.rules.intrusion import IntrusionRunner
from vsa_stream.rules.lifecycle import Lifecycle, StormGuard, Timing, Trigger
from vsa_stream.rules.person_down import PersonDownRunner
from vsa_stream.rules.weapon import WeaponRunner
from vsa_stream.rules.wrong_way import WrongWayRunner

__all__ = [
    "AbandonedObjectRunner",
    "CrowdMovementRunner",
    "DensityRunner",
    "FireRunner",
    "IntrusionRunner",
    "Lifecycle",
    "PersonDownRunner",
    "RuleRunner",
    "StormGuard",
    "Timing",
    "Trigger",
    "WeaponRunner",
    "WrongWayRunner",
    "build_rule",
    "build_rules",
    "needed_signals",
]


def build_rule(camera: Camera, rule: Rule, storm: StormGuard | None = None) -> RuleRunner:
    """The runner of one rule of ``camera``."""
    cid, zones, cal = camera.id, camera.zones, camera.calibration
    if isinstance(rule, IntrusionRule):
        return IntrusionRunner(cid, rule, zones, storm)
    if isinstance(rule, WrongWayRule):
        return WrongWayRunner(cid, rule, zones, cal, storm)
    if isinstance(rule, WeaponRule):
        return WeaponRunner(cid, rule, zones, storm)
    if isinstance(rule, FireRule):
        return FireRunner(cid, rule, zones, storm)
    if isinstance(rule, CrowdMovementRule):
        return CrowdMovementRunner(cid, rule, zones, storm, cal)
    if isinstance(rule, PersonDownRule):
        return PersonDownRunner(cid, rule, zones, storm)
    if isinstance(rule, DensityRule):
        return DensityRunner(cid, rule, zones, cal, storm)
    return AbandonedObjectRunner(cid, rule, zones, storm)


def build_rules(camera: Camera) -> list[RuleRunner]:
    """A runner for each rule configured on ``camera``, sharing the camera's storm guard."""
    storm = StormGuard(camera.id, camera.max_alerts_per_minute)
    return [build_rule(camera, rule, storm) for rule in camera.rules]


def needed_signals(camera: Camera) -> frozenset[str]:
    """Scene signals the rules of ``camera`` read from observations: ``flow``, ``fire``,
    ``static_objects``, ``foreground``, and ``tamper`` (the camera's ``tamper`` setting, or an
    ``abandoned_object`` rule, whose dual-rate background gives it for free). Perception
    computes only these."""
    needs: set[str] = {"tamper"} if camera.tamper else set()
    for rule in camera.rules:
        if isinstance(rule, CrowdMovementRule):
            needs.update(("flow", "foreground"))
        elif isinstance(rule, FireRule):
            needs.add("fire")
        elif isinstance(rule, AbandonedObjectRule) and rule.use_static_evidence:
            needs.update(("static_objects", "tamper"))
        elif isinstance(rule, DensityRule):
            needs.add("foreground")  # occupancy, and the estimate where tracks cannot count
    return frozenset(needs)
