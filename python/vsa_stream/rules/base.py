"""What every rule runner offers, and the base that owns their lifecycle.

A situation's runner states only its *condition*: frame by frame, which keys hold, as
:class:`~vsa_stream.rules.lifecycle.Trigger`\\ s (:meth:`SituationRunner.condition`), and the
:class:`~vsa_stream.rules.lifecycle.Timing` its settings give (:meth:`SituationRunner.timing`).
:class:`SituationRunner` turns those into events through one
:class:`~vsa_stream.rules.lifecycle.Lifecycle`. Rules see plain observations, never streams.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Generic, Protocol, TypeVar

from vsa_stream.config import Camera, Rule
from vsa_stream.event_types import SITUATIONS, Situation
from vsa_stream.events import Event
from vsa_stream.observation import Observation
from vsa_stream.rules.lifecycle import Lifecycle, StormGuard, Timing, Trigger

__all__ = ["RuleRunner", "Signal", "SituationRunner", "SituationSpec"]

R = TypeVar("R", bound=Rule)

#: A scene signal perception computes only for the rules that read it (see
#: :func:`vsa_stream.rules.needed_signals`).
Signal = str


def _no_signals(rule: Rule) -> frozenset[Signal]:
    return frozenset()


@dataclass(frozen=True, slots=True)
class SituationSpec(Generic[R]):
    """Everything the engine needs to know of one situation, declared by its module in
    ``rules/`` (``SITUATION = SituationSpec(...)``); :mod:`vsa_stream.rules.registry` gathers
    them. What the settings say about themselves (cross-field checks, the detector classes
    they need) lives on the config struct, which config validation reads without the rules.

    Attributes:
        config: the rule's settings (a tagged struct of :data:`vsa_stream.config.Rule`); its
            tag is the situation's type.
        notice: how the public notice names it: the decree's words in French, and English.
        runner: builds the runner of one rule of one camera, sharing the camera's storm guard.
        hold_s: the time the rule waits by its own settings before it may alert, seconds, at a
            frame rate (its confirmation, as an evaluation judges it on time).
        signals: the scene signals (``flow``, ``fire``, ``static_objects``, ``foreground``,
            ``tamper``) the rule reads from observations.
        pose: whether the rule asks the pose model (``pose`` config) about candidate crops.
    """

    config: type[R]
    notice: tuple[str, str]
    runner: Callable[[Camera, R, StormGuard | None], RuleRunner]
    hold_s: Callable[[R, float], float]
    signals: Callable[[R], frozenset[Signal]] = _no_signals
    pose: bool = False

    @property
    def type(self) -> Situation:
        """The situation's type: the tag of its config struct."""
        tag = self.config.__struct_config__.tag
        assert tag in SITUATIONS, tag  # a rule struct is tagged with its situation
        return tag


class RuleRunner(Protocol):
    """One configured rule on one camera: fed every observation, returns event revisions."""

    def update(self, obs: Observation) -> list[Event]:
        """Process one frame's observation."""
        ...

    def finish(self, obs: Observation | None, reason: str) -> list[Event]:
        """Close whatever is open (end of stream, shutdown)."""
        ...


class SituationRunner(ABC, Generic[R]):
    """One rule of one camera: its condition, over a lifecycle this base owns.

    Args:
        camera_id: the camera.
        rule: the rule's settings; its ``type`` is the type of the events.
        storm: the camera's storm guard, shared by its rules; None: no limit.
    """

    #: The close reason of an event whose condition stopped holding.
    clear_reason: ClassVar[str] = "condition cleared"

    def __init__(self, camera_id: str, rule: R, storm: StormGuard | None = None) -> None:
        self.camera_id = camera_id
        self.rule = rule
        self.lifecycle = Lifecycle(
            camera_id, rule.situation, self.timing(), storm, clear_reason=self.clear_reason
        )

    @abstractmethod
    def timing(self) -> Timing:
        """The confirmation, hysteresis and cooldown the rule's settings give."""

    @abstractmethod
    def condition(self, obs: Observation) -> list[Trigger]:
        """The keys whose condition holds in this frame (one trigger per key)."""

    def close_reasons(self) -> Mapping[str, str] | None:
        """Why a key's condition stopped holding in the frame :meth:`condition` just judged,
        for an event that closes now (``clear_reason`` for the keys not given)."""
        return None

    def stepped(self, obs: Observation, events: list[Event]) -> None:
        """Called with the revisions each frame produced (a rule that keys its conditions on
        its past events follows them here)."""

    def update(self, obs: Observation) -> list[Event]:
        """Feed one frame; returns the event revisions it produced."""
        triggers = self.condition(obs)
        events = self.lifecycle.step(obs, triggers, self.close_reasons())
        self.stepped(obs, events)
        return events

    def finish(self, obs: Observation | None, reason: str) -> list[Event]:
        """Close every open event (end of stream, shutdown)."""
        return self.lifecycle.finish(obs, reason)
