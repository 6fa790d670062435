"""``intrusion``: presence in a forbidden zone for at least a minimum dwell time.

Per zone: presence starts a dwell timer; once it reaches ``min_dwell_s`` an event opens,
dated from the first frame of presence (so the alert says when the intrusion began, not when
it was confirmed); gaps shorter than ``exit_grace_s`` (a missed detection, an occlusion) do
not end the presence; once the zone has been empty for ``exit_grace_s`` the event closes, and
for ``cooldown_s`` no new event opens in that zone *for the same objects*: the cooldown keeps a
person who steps out and back in (or whom the detector loses for a moment) from alerting twice,
but it never delays a different person. A track the zone's last event did not contain that
enters during the cooldown starts a fresh condition (a new key of the zone, see
:class:`~vsa_stream.rules.keys.ZoneKeys`), with its own dwell timer, so its alert comes
``min_dwell_s`` after it entered. Untracked detections (no track id) cannot be told apart and
keep the zone's cooldown. With a ``schedule``, presence only counts inside its time windows
(local time of ``timezone``). The lifecycle is
:class:`~vsa_stream.rules.lifecycle.Lifecycle`'s.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from vsa_stream.config import DAYS, IntrusionRule, ScheduleWindow, Zone
from vsa_stream.events import Event
from vsa_stream.observation import Observation
from vsa_stream.rules.base import SituationRunner, SituationSpec
from vsa_stream.rules.common import Zones, matches_class
from vsa_stream.rules.keys import ZoneKeys
from vsa_stream.rules.lifecycle import StormGuard, Timing, Trigger

__all__ = ["SITUATION", "IntrusionRunner", "in_schedule"]


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def in_schedule(windows: list[ScheduleWindow], tz: dt.tzinfo, wall: float) -> bool:
    """Whether the Unix time ``wall`` falls in one of ``windows`` (all times if none).

    Example:
        >>> night = [ScheduleWindow(start="22:00", end="06:00")]
        >>> utc = dt.timezone.utc
        >>> [in_schedule(night, utc, h * 3600.0) for h in (23, 3, 12)]
        [True, True, False]
    """
    if not windows:
        return True
    local = dt.datetime.fromtimestamp(wall, tz)
    now = local.hour * 60 + local.minute
    today = DAYS[local.weekday()]
    yesterday = DAYS[(local.weekday() - 1) % 7]
    for w in windows:
        start, end = _minutes(w.start), _minutes(w.end)
        if start < end:
            if today in w.days and start <= now < end:
                return True
        elif (today in w.days and now >= start) or (yesterday in w.days and now < end):
            return True
    return False


class IntrusionRunner(SituationRunner[IntrusionRule]):
    """Runs one ``intrusion`` rule of one camera over its zones."""

    clear_reason = "zone empty"

    def __init__(
        self,
        camera_id: str,
        rule: IntrusionRule,
        zones: list[Zone],
        storm: StormGuard | None = None,
    ) -> None:
        super().__init__(camera_id, rule, storm)
        self._zones = Zones(rule.zones, zones)
        self._tz = zoneinfo.ZoneInfo(rule.timezone)
        self._keys = ZoneKeys(self.lifecycle, rule.cooldown_s)

    def timing(self) -> Timing:
        return Timing(self.rule.min_dwell_s, self.rule.exit_grace_s, self.rule.cooldown_s)

    def condition(self, obs: Observation) -> list[Trigger]:
        triggers: list[Trigger] = []
        if in_schedule(self.rule.schedule, self._tz, obs.wall_time):
            candidates = [d for d in obs.detections if matches_class(d, self.rule.classes)]
            for zone in self._zones.resolve(obs):
                hits = zone.inside(candidates)
                if not hits:
                    continue
                track_ids = [d.track_id for d in hits if d.track_id is not None]
                key = self._keys.key(zone.id, track_ids, obs.time_s)
                if key is None:
                    continue  # the last alert's objects, in its cooldown
                since = self.lifecycle.since(key, obs.time_s)
                dwell = 0.0 if since is None else obs.time_s - since
                triggers.append(
                    Trigger(
                        key=key,
                        zone_id=zone.id,
                        boxes=[obs.normalised(d) for d in hits],
                        values={"dwell_s": round(dwell, 3), "objects": float(len(hits))},
                        track_ids=track_ids,
                        peak=("objects",),
                    )
                )
        return triggers

    def stepped(self, obs: Observation, events: list[Event]) -> None:
        self._keys.closed(events, obs.time_s)


#: The ``intrusion`` situation, for :mod:`vsa_stream.rules.registry`.
SITUATION = SituationSpec(
    config=IntrusionRule,
    notice=("présence dans une zone interdite ou sensible", "presence in a forbidden zone"),
    runner=lambda camera, rule, storm: IntrusionRunner(camera.id, rule, camera.zones, storm),
    hold_s=lambda rule, fps: rule.min_dwell_s,
)
