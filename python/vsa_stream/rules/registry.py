"""The registry of situations, built from the declaration each module of ``rules/`` makes.

Every other list of situations (the config's rule union, the legal profiles, the webhook
filters, the report, the evaluation) derives from :data:`vsa_stream.event_types.SITUATIONS`;
this registry maps each of them to its declaration, and refuses to build when the two
disagree. Adding a situation: its module here (settings struct in the config, runner,
declaration), its name in :data:`~vsa_stream.event_types.Situation`, and one line below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

from vsa_stream.config import Rule
from vsa_stream.event_types import SITUATIONS, Situation
from vsa_stream.rules import (
    abandoned_object,
    crowd_movement,
    density,
    fire,
    intrusion,
    person_down,
    weapon,
    wrong_way,
)
from vsa_stream.rules.base import SituationSpec

__all__ = ["REGISTRY", "spec_of"]

_DECLARED: tuple[SituationSpec[Any], ...] = (
    wrong_way.SITUATION,
    intrusion.SITUATION,
    weapon.SITUATION,
    fire.SITUATION,
    crowd_movement.SITUATION,
    person_down.SITUATION,
    density.SITUATION,
    abandoned_object.SITUATION,
)


def _build(declared: tuple[SituationSpec[Any], ...]) -> dict[Situation, SituationSpec[Any]]:
    registry = {spec.type: spec for spec in declared}
    structs = set(get_args(Rule))
    if len(registry) != len(declared) or set(registry) != set(SITUATIONS):
        raise RuntimeError(
            f"situations declared ({', '.join(sorted(registry))}) differ from the closed set "
            f"({', '.join(sorted(SITUATIONS))}) or repeat one"
        )
    if {spec.config for spec in declared} != structs:
        raise RuntimeError("the declared config structs differ from vsa_stream.config.Rule")
    return {kind: registry[kind] for kind in SITUATIONS}


#: Each situation of the closed set -> its declaration, in the order of the law's list.
REGISTRY: Mapping[Situation, SituationSpec[Any]] = _build(_DECLARED)


def spec_of(rule: Rule) -> SituationSpec[Any]:
    """The declaration of the situation ``rule`` configures.

    Example:
        >>> from vsa_stream.config import FireRule
        >>> spec_of(FireRule()).signals(FireRule())
        frozenset({'fire'})
    """
    return REGISTRY[rule.situation]
