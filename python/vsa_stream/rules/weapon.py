"""``weapon``: a weapon class of a user-supplied detector, seen in k of n consecutive frames.

Per zone (or the whole frame), each analysed frame either has a detection of one of
``classes`` scoring at least ``min_score`` or not; the condition holds while at least ``k`` of
the last ``n`` frames had one. One event per zone merges every weapon seen there.

False-positive controls: the score threshold, and k-of-n, so a single-frame false detection
(a phone, an umbrella) never alerts; unclassified motion blobs never count.
"""

from __future__ import annotations

from collections import deque

from vsa_stream.config import WeaponRule, Zone
from vsa_stream.observation import Observation
from vsa_stream.rules.base import SituationRunner, SituationSpec
from vsa_stream.rules.common import Zones, matches_class, whole_frame_key
from vsa_stream.rules.lifecycle import StormGuard, Timing, Trigger

__all__ = ["SITUATION", "WeaponRunner"]


class WeaponRunner(SituationRunner[WeaponRule]):
    """Runs one ``weapon`` rule of one camera."""

    clear_reason = "no weapon seen"

    def __init__(
        self, camera_id: str, rule: WeaponRule, zones: list[Zone], storm: StormGuard | None = None
    ) -> None:
        super().__init__(camera_id, rule, storm)
        self._zones = Zones(rule.zones, zones)
        self._seen: dict[str, deque[bool]] = {}

    def timing(self) -> Timing:
        return Timing(0.0, self.rule.exit_grace_s, self.rule.cooldown_s)

    def condition(self, obs: Observation) -> list[Trigger]:
        rule = self.rule
        weapons = [
            d
            for d in obs.detections
            if matches_class(d, rule.classes, blobs=False) and d.score >= rule.min_score
        ]
        triggers: list[Trigger] = []
        for zone in self._zones.of(obs):
            key = whole_frame_key if zone is None else zone.id
            hits = weapons if zone is None else zone.inside(weapons)
            window = self._seen.setdefault(key, deque(maxlen=rule.n))
            window.append(bool(hits))
            frames = sum(window)
            if not hits or frames < rule.k:
                continue
            triggers.append(
                Trigger(
                    key=key,
                    zone_id=None if zone is None else zone.id,
                    boxes=[obs.normalised(d) for d in hits],
                    values={
                        "score": round(max(d.score for d in hits), 3),
                        "frames": float(frames),
                        "objects": float(len(hits)),
                    },
                    track_ids=[d.track_id for d in hits if d.track_id is not None],
                    peak=("score",),
                )
            )
        return triggers


#: The ``weapon`` situation, for :mod:`vsa_stream.rules.registry`.
SITUATION = SituationSpec(
    config=WeaponRule,
    notice=("présence ou usage d'une arme", "presence or use of a weapon"),
    runner=lambda camera, rule, storm: WeaponRunner(camera.id, rule, camera.zones, storm),
    hold_s=lambda rule, fps: rule.k / fps,
)
