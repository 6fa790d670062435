"""Rules: one module per situation of the closed set, each fed plain observations.

Each module declares its situation (:class:`~vsa_stream.rules.base.SituationSpec`); the
registry (:mod:`vsa_stream.rules.registry`) gathers them, and the functions below read it.
"""

from __future__ import annotations

from vsa_stream.config import Camera, Rule
from vsa_stream.rules.abandoned_object import AbandonedObjectRunner
from vsa_stream.rules.base import RuleRunner, SituationRunner, SituationSpec
from vsa_stream.rules.crowd_movement import CrowdMovementRunner
from vsa_stream.rules.density import DensityRunner
from vsa_stream.rules.fire import FireRunner
from vsa_stream.rules.intrusion import IntrusionRunner
from vsa_stream.rules.lifecycle import Lifecycle, StormGuard, Timing, Trigger
from vsa_stream.rules.person_down import PersonDownRunner
from vsa_stream.rules.registry import REGISTRY, spec_of
from vsa_stream.rules.weapon import WeaponRunner
from vsa_stream.rules.wrong_way import WrongWayRunner

__all__ = [
    "REGISTRY",
    "AbandonedObjectRunner",
    "CrowdMovementRunner",
    "DensityRunner",
    "FireRunner",
    "IntrusionRunner",
    "Lifecycle",
    "PersonDownRunner",
    "RuleRunner",
    "SituationRunner",
    "SituationSpec",
    "StormGuard",
    "Timing",
    "Trigger",
    "WeaponRunner",
    "WrongWayRunner",
    "build_rule",
    "build_rules",
    "needed_signals",
    "spec_of",
    "wants_pose",
]


def build_rule(camera: Camera, rule: Rule, storm: StormGuard | None = None) -> RuleRunner:
    """The runner of one rule of ``camera``."""
    return spec_of(rule).runner(camera, rule, storm)


def build_rules(camera: Camera) -> list[RuleRunner]:
    """A runner for each rule configured on ``camera``, sharing the camera's storm guard."""
    storm = StormGuard(camera.id, camera.max_alerts_per_minute)
    return [build_rule(camera, rule, storm) for rule in camera.rules]


def needed_signals(camera: Camera) -> frozenset[str]:
    """Scene signals the rules of ``camera`` read from observations (``flow``, ``fire``,
    ``static_objects``, ``foreground``, ``tamper``: each situation declares its own), and
    ``tamper`` where the camera's ``tamper`` setting asks for it. Perception computes only
    these."""
    needs: set[str] = {"tamper"} if camera.tamper else set()
    for rule in camera.rules:
        needs.update(spec_of(rule).signals(rule))
    return frozenset(needs)


def wants_pose(camera: Camera) -> bool:
    """Whether a rule of ``camera`` asks a pose model about candidates (``person_down``)."""
    return any(spec_of(rule).pose for rule in camera.rules)
