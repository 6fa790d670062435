"""Rules: one module per situation of the closed set, each fed plain observations."""

from __future__ import annotations

from vsa_stream.config import Camera
from vsa_stream.rules.base import RuleRunner
from vsa_stream.rules.intrusion import IntrusionRunner

__all__ = ["IntrusionRunner", "RuleRunner", "build_rules"]


def build_rules(camera: Camera) -> list[RuleRunner]:
    """A runner for each rule configured on ``camera``."""
    runners: list[RuleRunner] = []
    for rule in camera.rules:
        runners.append(IntrusionRunner(camera.id, rule, camera.zones))
    return runners
