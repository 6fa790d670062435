"""``person_down``: a person on the ground, after a fall or found lying still.

A *fall* is seen on a person track when, within ``fall_window_s``, the top edge of its box
drops fast, by at least ``min_drop`` of the track's upright height (its tallest box of the
last 5 s). A fall does not depend on one track surviving it: real detectors often lose a
person within a fraction of a second of the collapse, then find them lying under a new track,
or not at all. So a track that vanishes inside the view shortly after standing (within
``fall_window_s``) is followed at its place for ``relink_s``: a low or wide person box there
(any track), or a lying pose, is that person, and the fall is measured from their last standing
box to where they are found. A person who fell and is then lost by the detector is presumed
down where they were, unseen (``unseen_s`` in the evidence), until seen kneeling or getting up
(a standing box as tall as they were): detectors see people sitting or kneeling well and lose
them lying.

A person is *down* while their box is wider than tall (``lying_aspect``), or their posture is
lying, and still (their centre moving less than ``max_motion`` of the box width over the last
second). Down after a fall for ``min_down_s`` opens the event; down without any fall seen
(someone found on the ground) opens it only after ``min_lying_s``. Getting up clears the fall.

The pose model (a second stage, see :mod:`vsa_stream.detection.pose`) is asked only about
candidates, each at most every 0.3 s: a track that fell or whose box turned wide or low, and
the floor where a person was lost. A lying posture makes someone down whatever their box; a
bent one (torso forward, thighs upright: kneeling, bending over) makes them not down; an
upright torso in the image decides nothing (a body lying along the line of sight looks upright
when foreshortened), so the box decides. The posture serves that frame only; the event
carries no keypoint.

False-positive controls: sitting down keeps an upright box and posture; lying down slowly
shows no fall and must last ``min_lying_s``; someone moving on the ground is not still;
kneeling and bending are seen as such by the pose model; ``exclude_zones`` (beds, benches,
lawns) never alert; one event per person.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from vsa_stream.config import PersonDownRule, Zone
from vsa_stream.observation import Detection, Observation, Posture
from vsa_stream.rules.base import SituationRunner, SituationSpec
from vsa_stream.rules.common import TrackHistory, Zones, matches_class
from vsa_stream.rules.lifecycle import StormGuard, Timing, Trigger

__all__ = ["SITUATION", "PersonDownRunner"]

Box = tuple[float, float, float, float]

_STILL_WINDOW_S = 1.0
_UPRIGHT_WINDOW_S = 5.0  # the drop of a fall is relative to the tallest box of this window
#: Standing: a box at most this wide for its height (a person upright, seen whole).
_STANDING_ASPECT = 0.75
#: A box at most this part of the upright height is low (a relinking candidate).
_LOW = 0.6
#: A box touching the left or right border within this part of the width left the view.
_BORDER = 0.02
#: A person's posture is asked again at most this often (one crop per person and period).
_POSE_PERIOD_S = 0.3
_EPS = 1e-6


def _aspect(b: Box) -> float:
    return (b[2] - b[0]) / max(b[3] - b[1], 1e-6)


def _box(d: Detection) -> Box:
    return (d.x0, d.y0, d.x1, d.y1)


def _at_side(obs: Observation, b: Box) -> bool:
    """Whether ``b`` touches the left or right border of the picture (leaving or cut by it)."""
    margin = _BORDER * obs.width
    return b[0] <= margin or b[2] >= obs.width - margin


def _center(b: Box) -> tuple[float, float]:
    return ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0)


@dataclass(slots=True)
class _Person:
    """One person who fell, lies, or vanished from standing, followed across track switches
    and detector misses."""

    key: str
    height: float  # upright height, pixels (the scale of "near", "low" and of a drop)
    box: Box  # last place seen
    track_id: int | None
    last_s: float  # last seen (by the detector or the pose model)
    fall_s: float | None = None
    drop: float = 0.0
    tracked: bool = True  # its track is in this frame's detections
    upright: tuple[float, float] | None = None  # (time, top edge) of its last standing box
    lying_since: float | None = None
    up_since: float | None = None  # not lying since (hysteresis of ``lying_since``)
    relinked: bool = False
    posture: Posture | None = None
    posture_s: float = -1e9
    path: deque[tuple[float, Box]] = field(default_factory=deque)

    def near(self, b: Box) -> bool:
        """``b``'s centre lies where this person could be lying: their last box widened by
        half their upright height on each side and below."""
        cx, cy = _center(b)
        r = self.height / 2.0
        x0, y0, x1, y1 = self.box
        return x0 - r <= cx <= x1 + r and y0 <= cy <= y1 + r


class PersonDownRunner(SituationRunner[PersonDownRule]):
    """Runs one ``person_down`` rule of one camera."""

    clear_reason = "person up or gone"

    def __init__(
        self,
        camera_id: str,
        rule: PersonDownRule,
        zones: list[Zone],
        storm: StormGuard | None = None,
    ) -> None:
        super().__init__(camera_id, rule, storm)
        self._zones = Zones(rule.zones, zones)
        self._excluded = Zones(rule.exclude_zones, zones)
        keep = max(rule.fall_window_s, _STILL_WINDOW_S) + 0.5
        self._history = TrackHistory(keep_s=keep, forget_s=max(1.0, rule.exit_grace_s))
        self._tall: dict[int, deque[tuple[float, float]]] = {}  # track -> (time, box height)
        self._persons: dict[str, _Person] = {}
        self._present: dict[int, Detection] = {}  # tracks of the last detected frame
        # track -> (time, posture) of its last crop, for tracks not followed as a person
        self._asked: dict[int, tuple[float, Posture | None]] = {}

    def timing(self) -> Timing:
        return Timing(self.rule.min_down_s, self.rule.exit_grace_s, self.rule.cooldown_s)

    def condition(self, obs: Observation) -> list[Trigger]:
        rule = self.rule
        now = obs.time_s
        persons = [
            d
            for d in obs.detections
            if d.track_id is not None and matches_class(d, rule.classes, blobs=False)
        ]
        self._history.add(now, persons)
        for tid in [t for t in self._tall if t not in self._history.first_seen]:
            del self._tall[tid]
            self._asked.pop(tid, None)
        watched = self._zones.inside(obs, persons)
        if obs.detected:
            self._vanished(obs, {d.track_id for d in persons})
            self._present = {d.track_id: d for d in persons if d.track_id is not None}
        for person in self._persons.values():
            person.tracked = False
        for d in watched:
            found = self._follow(obs, d)
            if found is not None:
                found.tracked = True
                self._place(found, now, _box(d), d.track_id)
        for person in list(self._persons.values()):
            if not person.tracked:
                self._look(obs, person)
                # someone who fell and was then lost by the detector is presumed down there,
                # unseen, long enough to be confirmed (see the module docstring)
                keep = rule.relink_s + (rule.min_down_s if person.fall_s is not None else 0.0)
                if now - person.last_s > keep + _EPS:
                    del self._persons[person.key]
        excluded = self._excluded
        triggers: list[Trigger] = []
        for person in list(self._persons.values()):
            unseen = not person.tracked and person.fall_s is not None
            if person.last_s != now and not unseen:
                continue
            trigger = self._down(obs, person)
            if trigger is not None and not (excluded and self._in(obs, excluded, person.box)):
                triggers.append(trigger)
        return triggers

    # --- following people -------------------------------------------------------------------

    def _follow(self, obs: Observation, d: Detection) -> _Person | None:
        """The person ``d`` is (creating one when its track falls or lies), or None."""
        rule = self.rule
        now = obs.time_s
        assert d.track_id is not None
        tid = d.track_id
        tallest = self._heights(now, d)
        # a box cut by the side of the picture shrinks for no physical reason: no fall there
        drop = 0.0 if _at_side(obs, _box(d)) else self._drop(now, d, tallest)
        for person in self._persons.values():
            if person.track_id == tid:  # (also a lost track the tracker found again)
                if person.fall_s is None and drop >= rule.min_drop:
                    person.fall_s, person.drop = now, drop
                return person
        box = _box(d)
        wide = _aspect(box) >= rule.lying_aspect
        for person in list(self._persons.values()):
            if person.tracked or person.track_id == tid or not person.near(box):
                continue
            # a low box where someone was just lost is that person, whatever its track (low
            # for them: a new track has no upright height of its own) ...
            if wide or box[3] - box[1] <= _LOW * person.height:
                self._relink(person, now, box)
                return person
            # ... and a standing one, as tall as they were, is them up again
            if _aspect(box) <= _STANDING_ASPECT and box[1] <= person.box[1]:
                del self._persons[person.key]
        low = wide or (box[3] - box[1]) <= _LOW * tallest
        if drop >= rule.min_drop:
            person = self._new(f"track-{tid}", tallest, box, tid, now)
            person.fall_s, person.drop = now, drop
            return person
        if low and self._lying(obs, box, None, tid):
            return self._new(f"track-{tid}", tallest, box, tid, now)
        return None

    def _relink(self, person: _Person, now: float, box: Box) -> None:
        """``person`` found again at ``box`` (a new track, or the pose model): a fall when the
        top edge came down from their last standing box by ``min_drop`` fast enough."""
        rule = self.rule
        person.relinked = True
        if person.fall_s is None and person.upright is not None:
            since, top = person.upright
            drop = (box[1] - top) / max(person.height, 1e-6)
            if drop >= rule.min_drop and now - since <= rule.fall_window_s + rule.relink_s + _EPS:
                person.fall_s, person.drop = person.last_s, drop

    def _new(self, key: str, height: float, box: Box, tid: int | None, now: float) -> _Person:
        while key in self._persons:  # an earlier person of the same track is still followed
            key += "'"
        person = self._persons[key] = _Person(key, height, box, tid, now)
        return person

    def _vanished(self, obs: Observation, present: set[int | None]) -> None:
        """Tracks of the last detected frame that are gone. A followed person stays at their
        place (see ``relink_s``); a track gone inside the view shortly after standing may have
        fallen out of the detector's sight: followed there too."""
        rule = self.rule
        now = obs.time_s
        followed = {p.track_id: p for p in self._persons.values()}
        for tid, last in self._present.items():
            if tid in present:
                continue
            left = _at_side(obs, _box(last))
            if tid in followed:
                if left:  # out of the picture sideways: not down here
                    del self._persons[followed[tid].key]
                continue
            if left:
                continue
            standing = [
                (t, p)
                for t, p in self._history.path(tid, now - rule.fall_window_s)
                if _aspect(_box(p)) <= _STANDING_ASPECT
            ]
            if not standing:
                continue
            t, p = standing[-1]
            tallest = max((h for _, h in self._tall.get(tid, ())), default=p.y1 - p.y0)
            person = self._new(f"track-{tid}", tallest, _box(last), tid, now)
            person.upright, person.tracked = (t, p.y0), False

    def _look(self, obs: Observation, person: _Person) -> None:
        """Ask the pose model about the floor where the untracked ``person`` was last seen: a
        lying body there, or a low one (not kneeling or bending) where someone was standing a
        moment ago, is them, down."""
        if obs.posture is None or obs.time_s - person.posture_s < _POSE_PERIOD_S - _EPS:
            return
        x0, y0, x1, y1 = person.box
        r = person.height / 2.0
        # the floor around the lower half of the last box: a fallen person lies at its foot,
        # either side (a whole standing box would make the lying body small in the crop)
        posture = obs.posture((x0 - r, (y0 + y1) / 2.0, x1 + r, y1 + r / 2.0))
        person.posture, person.posture_s = posture, obs.time_s
        if posture is None or posture.bent or not person.near(posture.box):
            return
        low = posture.box[3] - posture.box[1] <= _LOW * person.height
        if posture.lying or (low and (person.fall_s is not None or person.upright is not None)):
            self._relink(person, obs.time_s, posture.box)
            if posture.lying or person.fall_s is not None:
                self._place(person, obs.time_s, posture.box, person.track_id)

    def _place(self, person: _Person, now: float, box: Box, tid: int | None) -> None:
        person.box, person.track_id, person.last_s = box, tid, now
        person.path.append((now, box))
        while person.path and now - person.path[0][0] > _STILL_WINDOW_S + _EPS:
            person.path.popleft()

    # --- the condition ----------------------------------------------------------------------

    def _down(self, obs: Observation, person: _Person) -> Trigger | None:
        """The trigger of ``person`` when down in this frame; clears a fall they got up from."""
        rule = self.rule
        now = obs.time_s
        box = person.box
        if not person.tracked and person.fall_s is not None:
            # lost by the detector after a fall: detectors see people sitting or kneeling
            # well and lose them lying, so down unless the pose model saw them kneel or bend
            down = person.posture is None or not person.posture.bent
        else:
            down = self._lying(obs, box, person)
        if not down:
            if person.up_since is None:
                person.up_since = now
            if now - person.up_since > rule.exit_grace_s + _EPS:
                person.lying_since = None
            posture = person.posture
            stood = (
                _aspect(box) < 1.0
                and box[3] - box[1] >= _LOW * person.height
                and (posture is None or not posture.lying)
            )
            if person.fall_s is not None and stood and now - person.fall_s > rule.fall_window_s:
                person.fall_s = None  # up again
            if person.fall_s is None and person.lying_since is None and person.tracked:
                del self._persons[person.key]
            return None
        person.up_since = None
        if person.lying_since is None:
            person.lying_since = now
        motion = self._motion(person)
        if motion > rule.max_motion:
            return None
        values = {
            "aspect": round(_aspect(box), 3),
            "motion": round(motion, 3),
            "lying_s": round(now - person.lying_since, 3),
        }
        if person.fall_s is not None:
            values["fall_s"] = round(person.fall_s, 3)
            values["drop"] = round(person.drop, 3)
            values["relinked"] = float(person.relinked)
        if person.posture is not None and now - person.posture_s < 2 * _POSE_PERIOD_S:
            values["torso_deg"] = person.posture.torso_deg
        if person.last_s < now:
            values["unseen_s"] = round(now - person.last_s, 3)
        ready = person.fall_s is not None or now - person.lying_since >= rule.min_lying_s - _EPS
        return Trigger(
            key=person.key,
            zone_id=self._zone_of(obs, box),
            boxes=[obs.normalised_box(*box)],
            values=values,
            track_ids=[] if person.track_id is None else [person.track_id],
            ready=ready,
        )

    def _lying(
        self, obs: Observation, box: Box, person: _Person | None, tid: int | None = None
    ) -> bool:
        """Whether ``box`` (of ``person``, or of track ``tid`` not followed yet) shows someone
        lying. A confident posture decides when it is lying or bent (kneeling, bending); an
        upright torso in the image may be a body foreshortened along the line of sight, so then
        the box decides, as without a pose model. The pose model is asked about one person or
        track at most every ``_POSE_PERIOD_S``."""
        posture: Posture | None = None
        if obs.posture is not None:
            if person is None:
                asked = self._asked.get(tid) if tid is not None else None
                if asked is None or obs.time_s - asked[0] >= _POSE_PERIOD_S - _EPS:
                    asked = (obs.time_s, obs.posture(box))
                    if tid is not None:
                        self._asked[tid] = asked
                posture = asked[1]
            elif obs.time_s - person.posture_s >= _POSE_PERIOD_S - _EPS:
                posture = obs.posture(box)
                person.posture, person.posture_s = posture, obs.time_s
            else:
                posture = person.posture
        if posture is not None and (posture.lying or posture.bent):
            return posture.lying
        return _aspect(box) >= self.rule.lying_aspect

    # --- measures ---------------------------------------------------------------------------

    def _drop(self, now: float, d: Detection, tallest: float) -> float:
        """How far the top edge of ``d``'s track (its last box) came down within
        ``fall_window_s``, as a fraction of its upright height (its tallest recent box, not a
        box already lowered: someone lying down slowly must not "fall" over the last few
        centimetres)."""
        assert d.track_id is not None
        recent = [p for _, p in self._history.path(d.track_id, now - self.rule.fall_window_s)]
        if not recent:
            return 0.0
        highest = min(recent, key=lambda p: p.y0)
        tallest = max(tallest, highest.y1 - highest.y0)
        return (recent[-1].y0 - highest.y0) / max(tallest, 1e-6)

    def _heights(self, now: float, d: Detection) -> float:
        """The tallest box of ``d``'s track over the last ``_UPRIGHT_WINDOW_S``."""
        assert d.track_id is not None
        seen = self._tall.setdefault(d.track_id, deque())
        seen.append((now, d.y1 - d.y0))
        while seen and now - seen[0][0] > _UPRIGHT_WINDOW_S:
            seen.popleft()
        return max(h for _, h in seen)

    @staticmethod
    def _motion(person: _Person) -> float:
        """Largest centre displacement over the last second, relative to the box width."""
        _, box = person.path[-1]
        cx, cy = _center(box)
        width = max(box[2] - box[0], 1e-6)
        moved = 0.0
        for _, b in person.path:
            px, py = _center(b)
            moved = max(moved, ((px - cx) ** 2 + (py - cy) ** 2) ** 0.5 / width)
        return moved

    def _zone_of(self, obs: Observation, box: Box) -> str | None:
        probe = [Detection(*box)]
        for zone in self._zones.resolve(obs):
            if zone.inside(probe):
                return zone.id
        return None

    @staticmethod
    def _in(obs: Observation, zones: Zones, box: Box) -> bool:
        return bool(zones.inside(obs, [Detection(*box)]))


#: The ``person_down`` situation, for :mod:`vsa_stream.rules.registry`.
SITUATION = SituationSpec(
    config=PersonDownRule,
    notice=("personne au sol", "a person on the ground"),
    runner=lambda camera, rule, storm: PersonDownRunner(camera.id, rule, camera.zones, storm),
    hold_s=lambda rule, fps: rule.min_down_s,
    pose=True,
)
