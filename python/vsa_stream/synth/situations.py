"""The scenario suite: scripted scenes of the eight situations and of their usual false alarms.

Each scenario is a function of a random generator returning a :class:`Scene`: the things in it
(people on paths, blocks such as bags and vehicles, flames, lights), global effects (lighting,
camera shake), its zones, the ground truth (situation intervals, known by construction) and the
rules it is evaluated under. :func:`render_scenario` renders one to ``video.mp4``,
``truth.json`` and ``config.yaml`` in a folder; ``vsa-stream eval`` runs the engine on it.

The seed draws the background texture, the looks, positions, timings and speeds within each
scenario's ranges, and the sensor noise. Scenes that need classes (weapon, person down) paint
the objects to detect in key colours for the stand-in detector of
:mod:`vsa_stream.synth.standin`; every other scene is seen through motion only.
"""

from __future__ import annotations

import itertools
import math
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path as FsPath
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import yaml

from vsa_stream.synth.figure import Look, paint, pose_at, random_look
from vsa_stream.synth.renderer import _noise_table
from vsa_stream.synth.scenarios import Path
from vsa_stream.synth.scene import Background, lighting_gain, make_background
from vsa_stream.synth.standin import key_yuv
from vsa_stream.synth.truth import Truth, TruthEvent, TruthZone, dump_truth, point_in_polygon

__all__ = [
    "SITUATIONS",
    "ScenarioInfo",
    "Scene",
    "render_scenario",
    "render_scene",
]

Box = tuple[float, float, float, float]
F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
_ASPECT_Y = 9.0 / 16.0
STANDIN_MODEL = "standin.onnx"  # in the suite folder; eval resolves it there


# --------------------------------------------------------------------------- things in a scene


@dataclass
class Person:
    """A walking figure on ``path`` (normalised anchor), visible from ``t_in`` to ``t_out``."""

    path: Path
    look: Look
    t_in: float = -math.inf
    t_out: float = math.inf


@dataclass
class Block:
    """A rounded rectangle whose normalised box is ``box(t)`` (None: not there).

    ``yuv`` gives its colour; with ``contrast`` instead, its luma is the background's plus
    ``contrast`` and its chroma a slight tint.
    """

    box: Callable[[float], Box | None]
    yuv: tuple[float, float, float] | None = None
    contrast: float = 50.0
    emitter: bool = False  # painted after the lighting gain (a lamp, a sign)


@dataclass
class Flame:
    """A flickering flame standing on ``(x, y)`` whose height is ``height(t)`` (normalised)."""

    x: float
    y: float
    height: Callable[[float], float]
    rng: np.random.Generator


@dataclass
class Scene:
    """Everything a scenario scripts."""

    duration_s: float
    things: list[Person | Block | Flame]
    zones: dict[str, list[tuple[float, float]]]
    truth: list[tuple[str, str, float, float]]  # (type, zone or "", start_s, end_s)
    rules: list[dict[str, Any]]
    detector: bool = False
    gain: Callable[[float], float] | None = None
    shake: Callable[[float], tuple[float, float]] | None = None
    zone_areas: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ScenarioInfo:
    """A registered scenario: its builder, the situation it shows (None: a negative)."""

    build: Callable[[np.random.Generator], Scene]
    situation: str | None
    summary: str


SITUATIONS: dict[str, ScenarioInfo] = {}


def _scenario(
    situation: str | None, summary: str
) -> Callable[[Callable[[np.random.Generator], Scene]], Callable[[np.random.Generator], Scene]]:
    def register(
        fn: Callable[[np.random.Generator], Scene],
    ) -> Callable[[np.random.Generator], Scene]:
        SITUATIONS[fn.__name__] = ScenarioInfo(fn, situation, summary)
        return fn

    return register


# --------------------------------------------------------------------------- building blocks


def walk(t0: float, speed: float, points: list[tuple[float, float]]) -> Path:
    """A path through ``points`` at ``speed`` frame widths per second, from ``t0``."""
    keys = [(t0, points[0][0], points[0][1])]
    for (xa, ya), (xb, yb) in itertools.pairwise(points):
        dist = math.hypot(xb - xa, (yb - ya) * _ASPECT_Y)
        keys.append((keys[-1][0] + max(dist / speed, 1e-3), xb, yb))
    return Path(keys)


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _person(rng: np.random.Generator, path: Path, role: str = "walker") -> Person:
    return Person(path, random_look(rng, role), path.t_start - 0.5, path.t_end + 0.5)


def _crossers(
    rng: np.random.Generator,
    n: int,
    duration: float,
    band: tuple[float, float],
    direction: int,
    speed: tuple[float, float] = (0.07, 0.11),
) -> list[Person]:
    """``n`` people crossing the frame in ``band`` (anchor y range), left to right (+1) or back."""
    people = []
    for _ in range(n):
        t0 = _u(rng, -6.0, duration - 2.0)
        ya, yb = _u(rng, *band), _u(rng, *band)
        xs = (-0.05, 1.05) if direction > 0 else (1.05, -0.05)
        people.append(_person(rng, walk(t0, _u(rng, *speed), [(xs[0], ya), (xs[1], yb)])))
    return people


def _still(
    box: Box, t_in: float = -math.inf, t_out: float = math.inf
) -> Callable[[float], Box | None]:
    return lambda t: box if t_in <= t < t_out else None


def _entered(
    path: Path, polygon: list[tuple[float, float]], duration: float
) -> tuple[float, float] | None:
    """First and last time (s, 0.1 s steps) the path's anchor is inside ``polygon``."""
    inside = [
        k / 10.0
        for k in range(round(duration * 10) + 1)
        if point_in_polygon(*path.at(k / 10.0)[:2], polygon)
    ]
    return (inside[0], inside[-1]) if inside else None


# Zones shared by scenarios (normalised polygons).
RESTRICTED = [(0.63, 0.56), (0.94, 0.53), (0.96, 0.93), (0.60, 0.95)]
WALKWAY = [(0.0, 0.24), (1.0, 0.27), (1.0, 0.46), (0.0, 0.48)]
PLAZA = [(0.22, 0.50), (0.78, 0.50), (0.82, 0.95), (0.18, 0.95)]

# Rule settings per type, as a scenario's config writes them (timings short enough for
# scenes of tens of seconds; documented in docs/eval.md).
RULES: dict[str, dict[str, Any]] = {
    "intrusion": {"type": "intrusion", "zones": ["restricted"], "min_dwell_s": 1.0},
    "wrong_way": {
        "type": "wrong_way",
        "zones": ["walkway"],
        "direction_deg": 0.0,
        "tolerance_deg": 60.0,
        "min_displacement_px": 20.0,
    },
    "weapon": {"type": "weapon", "classes": ["weapon"], "k": 3, "n": 5},
    "fire": {"type": "fire", "min_duration_s": 2.0},
    "crowd_movement": {
        "type": "crowd_movement",
        "zones": ["plaza"],
        "min_baseline_s": 8.0,
        "baseline_s": 60.0,
        "min_duration_s": 1.0,
        "min_divergence": 0.05,
    },
    "person_down": {"type": "person_down", "min_down_s": 3.0},
    "density": {
        "type": "density",
        "zones": ["plaza"],
        "source": "occupancy",
        "full_density": 7.0,
        "warning": 1.0,
        "alert": 2.0,
        "min_duration_s": 4.0,
    },
    "abandoned_object": {
        "type": "abandoned_object",
        "min_static_s": 8.0,
        "owner_gone_s": 4.0,
        "max_size": 0.01,
    },
}


def rules_for(*types: str) -> list[dict[str, Any]]:
    """The suite's rule settings for ``types``."""
    return [dict(RULES[t]) for t in types]


MOTION_RULES = ("intrusion", "fire", "crowd_movement", "density", "abandoned_object")
DETECTOR_RULES = ("weapon", "person_down", "fire")
#: The plaza's declared ground area; with ``full_density`` calibrated for the drawn figures
#: (about 170 figures would cover it), 25 persons in it make 1 person/m², the warning level.
PLAZA_AREA_M2 = 25.0


def _zones(*names: str) -> dict[str, list[tuple[float, float]]]:
    table = {"restricted": RESTRICTED, "walkway": WALKWAY, "plaza": PLAZA}
    return {n: table[n] for n in names}


def _needed_zones(types: tuple[str, ...]) -> dict[str, list[tuple[float, float]]]:
    names = {"intrusion": "restricted", "wrong_way": "walkway", "crowd_movement": "plaza"}
    names["density"] = "plaza"
    return _zones(*sorted({names[t] for t in types if t in names}))


def _scene(
    duration: float,
    things: list[Person | Block | Flame],
    truth: list[tuple[str, str, float, float]],
    types: tuple[str, ...],
    **kwargs: Any,
) -> Scene:
    return Scene(
        duration,
        things,
        _needed_zones(types),
        truth,
        rules_for(*types),
        zone_areas={"plaza": PLAZA_AREA_M2},
        **kwargs,
    )


def _keyed_person(
    path: Path,
    height: Callable[[float], float] | None = None,
    width: Callable[[float], float] | None = None,
) -> Block:
    """A person in the stand-in detector's key colour: a box standing on ``path``."""

    def box(t: float) -> Box | None:
        if not path.t_start - 0.5 <= t <= path.t_end + 0.5:
            return None
        x, y, _ = path.at(t)
        h = 0.17 if height is None else height(t)
        w = 0.022 if width is None else width(t)
        return (x - w / 2, y - h, x + w / 2, y)

    return Block(box, yuv=key_yuv("person"))


def _weapon(path: Path, t_draw: float, side: float) -> Block:
    def box(t: float) -> Box | None:
        if t < t_draw or not path.t_start <= t <= path.t_end + 0.5:
            return None
        x, y, _ = path.at(t)
        x0 = x + 0.011 if side > 0 else x - 0.011 - 0.032
        return (x0, y - 0.125, x0 + 0.032, y - 0.09)

    return Block(box, yuv=key_yuv("weapon"))


def _leaving_time(path: Path) -> float:
    return path.t_end


# --------------------------------------------------------------------------- positives


@_scenario("wrong_way", "walkers go right along the walkway; one walks left against them")
def wrong_way_walker(rng: np.random.Generator) -> Scene:
    d = 16.0
    things: list[Person | Block | Flame] = list(_crossers(rng, 6, d, (0.30, 0.44), +1))
    t0 = _u(rng, 2.0, 5.0)
    ya = _u(rng, 0.32, 0.42)
    path = walk(t0, _u(rng, 0.08, 0.12), [(1.05, ya), (-0.05, ya + _u(rng, -0.03, 0.03))])
    things.append(_person(rng, path))
    span = _entered(path, WALKWAY, d)
    assert span is not None
    truth = [("wrong_way", "walkway", span[0], min(span[1], d))]
    return _scene(d, things, truth, ("wrong_way", "intrusion"))


@_scenario("wrong_way", "a cyclist-sized block rides left along the walkway among walkers")
def wrong_way_cyclist(rng: np.random.Generator) -> Scene:
    d = 14.0
    things: list[Person | Block | Flame] = list(_crossers(rng, 5, d, (0.30, 0.44), +1))
    t0 = _u(rng, 2.0, 5.0)
    ya = _u(rng, 0.33, 0.43)
    path = walk(t0, _u(rng, 0.16, 0.22), [(1.08, ya), (-0.08, ya)])

    def box(t: float) -> Box | None:
        if not path.t_start <= t <= path.t_end:
            return None
        x, y, _ = path.at(t)
        return (x - 0.035, y - 0.11, x + 0.035, y)

    things.append(Block(box, contrast=float(rng.choice([-55.0, 55.0]))))
    span = _entered(path, WALKWAY, d)
    assert span is not None
    truth = [("wrong_way", "walkway", span[0], min(span[1], d))]
    return _scene(d, things, truth, ("wrong_way", "intrusion"))


def _intrusion_scene(rng: np.random.Generator, stay: bool) -> Scene:
    d = 16.0
    things: list[Person | Block | Flame] = list(_crossers(rng, 5, d, (0.30, 0.44), +1))
    t0 = _u(rng, 1.0, 3.0)
    entry = (1.06, _u(rng, 0.62, 0.85))
    inside = [(_u(rng, 0.68, 0.90), _u(rng, 0.62, 0.90)) for _ in range(3 if not stay else 1)]
    speed = _u(rng, 0.06, 0.10)
    points = [entry, *inside]
    if stay:
        p = walk(t0, speed, points)
        pause = _u(rng, 3.0, 5.0)
        keys = [*p.keys, (p.t_end + pause, *points[-1])]
        rest = walk(keys[-1][0], speed, [points[-1], (1.06, _u(rng, 0.6, 0.9))])
        path = Path([*keys, *rest.keys[1:]])
    else:
        path = walk(t0, speed, [*points, (1.06, _u(rng, 0.6, 0.9))])
    things.append(_person(rng, path, "intruder"))
    span = _entered(path, RESTRICTED, d)
    assert span is not None
    return _scene(d, things, [("intrusion", "restricted", *span)], ("intrusion", "wrong_way"))


@_scenario("intrusion", "a person walks into the restricted zone, wanders and leaves")
def intrusion_wander(rng: np.random.Generator) -> Scene:
    return _intrusion_scene(rng, stay=False)


@_scenario("intrusion", "a person walks into the restricted zone, stops a few seconds, leaves")
def intrusion_loiter(rng: np.random.Generator) -> Scene:
    return _intrusion_scene(rng, stay=True)


def _weapon_scene(rng: np.random.Generator, t_draw_after: float) -> Scene:
    d = 14.0
    things: list[Person | Block | Flame] = list(_crossers(rng, 4, d, (0.30, 0.44), +1))
    direction = 1 if rng.random() < 0.5 else -1
    xs = (-0.04, 1.04) if direction > 0 else (1.04, -0.04)
    ya = _u(rng, 0.55, 0.85)
    t0 = _u(rng, 0.5, 2.0)
    path = walk(t0, _u(rng, 0.06, 0.09), [(xs[0], ya), (xs[1], ya + _u(rng, -0.05, 0.05))])
    things.append(_keyed_person(path))
    t_draw = path.t_start + t_draw_after
    things.append(_weapon(path, t_draw, direction))
    end = min(path.t_end, d)
    return _scene(d, things, [("weapon", "", t_draw, end)], DETECTOR_RULES, detector=True)


@_scenario("weapon", "a person walks across holding a weapon")
def weapon_carried(rng: np.random.Generator) -> Scene:
    return _weapon_scene(rng, 0.4)


@_scenario("weapon", "a person walks in, then draws a weapon")
def weapon_drawn(rng: np.random.Generator) -> Scene:
    return _weapon_scene(rng, _u(rng, 3.0, 5.0))


def _fire_scene(rng: np.random.Generator, grow_s: float) -> Scene:
    d = 14.0
    things: list[Person | Block | Flame] = list(_crossers(rng, 4, d, (0.30, 0.44), +1))
    onset = _u(rng, 2.0, 5.0)
    top = _u(rng, 0.10, 0.18)

    def height(t: float) -> float:
        return 0.0 if t < onset else min(top, 0.05 + (top - 0.05) * (t - onset) / grow_s)

    fire_rng = np.random.default_rng(int(rng.integers(1 << 31)))
    # outside the restricted zone: without a detector, intrusion counts any moving thing
    things.append(Flame(_u(rng, 0.12, 0.52), _u(rng, 0.55, 0.9), height, fire_rng))
    return _scene(d, things, [("fire", "", onset, d)], ("fire", "intrusion"))


@_scenario("fire", "a small flame starts and grows slowly")
def fire_slow(rng: np.random.Generator) -> Scene:
    return _fire_scene(rng, _u(rng, 6.0, 10.0))


@_scenario("fire", "a flame starts and flares up within two seconds")
def fire_fast(rng: np.random.Generator) -> Scene:
    return _fire_scene(rng, _u(rng, 1.0, 2.0))


def _crowd_paths(
    rng: np.random.Generator, n: int, until: float, centre: tuple[float, float] | None
) -> list[list[tuple[float, float, float]]]:
    """Keyframes of ``n`` people milling in the plaza (near ``centre`` if given) until ``until``."""
    out = []
    for _ in range(n):
        if centre is None:
            x, y = _u(rng, 0.25, 0.75), _u(rng, 0.56, 0.92)
        else:
            x, y = centre[0] + _u(rng, -0.13, 0.13), centre[1] + _u(rng, -0.1, 0.1)
        keys = [(-0.5, x, y)]
        t = -0.5
        while t < until:
            nx = min(0.76, max(0.24, x + _u(rng, -0.08, 0.08)))
            ny = min(0.93, max(0.56, y + _u(rng, -0.06, 0.06)))
            t += max(0.5, math.hypot(nx - x, (ny - y) * _ASPECT_Y) / _u(rng, 0.03, 0.05))
            keys.append((t, nx, ny))
            x, y = nx, ny
        out.append(keys)
    return out


def _at(keys: list[tuple[float, float, float]], t: float) -> tuple[float, float]:
    x, y, _ = Path(keys).at(t)
    return x, y


@_scenario("crowd_movement", "a milling crowd suddenly runs off the same way")
def crowd_running(rng: np.random.Generator) -> Scene:
    d = 20.0
    onset = _u(rng, 11.0, 13.0)
    sign = 1.0 if rng.random() < 0.5 else -1.0
    people: list[Person | Block | Flame] = []
    for keys in _crowd_paths(rng, int(rng.integers(18, 26)), d, None):
        x, y = _at(keys, onset)
        head = [k for k in keys if k[0] < onset] + [(onset, x, y)]
        run = walk(onset, _u(rng, 0.16, 0.22), [(x, y), (x + sign * 1.2, y + _u(rng, -0.05, 0.05))])
        walker = _person(rng, Path([*head, *run.keys[1:]]))
        walker.t_in = -1.0
        people.append(walker)
    truth = [("crowd_movement", "plaza", onset, min(d, onset + 3.0))]
    return _scene(d, people, truth, ("crowd_movement", "fire"))


@_scenario("crowd_movement", "a gathered crowd suddenly disperses in every direction")
def crowd_dispersal(rng: np.random.Generator) -> Scene:
    d = 20.0
    onset = _u(rng, 11.0, 13.0)
    centre = (_u(rng, 0.42, 0.58), _u(rng, 0.68, 0.78))
    people: list[Person | Block | Flame] = []
    for keys in _crowd_paths(rng, int(rng.integers(16, 22)), d, centre):
        x, y = _at(keys, onset)
        angle = math.atan2((y - centre[1]) * _ASPECT_Y, x - centre[0]) + _u(rng, -0.3, 0.3)
        end = (x + 1.2 * math.cos(angle), y + 1.2 * math.sin(angle) / _ASPECT_Y)
        head = [k for k in keys if k[0] < onset] + [(onset, x, y)]
        run = walk(onset, _u(rng, 0.16, 0.22), [(x, y), end])
        walker = _person(rng, Path([*head, *run.keys[1:]]))
        walker.t_in = -1.0
        people.append(walker)
    truth = [("crowd_movement", "plaza", onset, min(d, onset + 3.0))]
    return _scene(d, people, truth, ("crowd_movement", "fire"))


def _person_down_scene(rng: np.random.Generator, gets_up: bool) -> Scene:
    d = 16.0
    direction = 1 if rng.random() < 0.5 else -1
    xs = (-0.04, 1.04) if direction > 0 else (1.04, -0.04)
    ya = _u(rng, 0.55, 0.85)
    t_fall = _u(rng, 3.0, 5.0)
    speed = _u(rng, 0.06, 0.09)
    x_fall = xs[0] + direction * speed * (t_fall - 0.5)
    down_s = _u(rng, 7.0, 9.0) if gets_up else d
    t_up = t_fall + down_s
    keys = [(0.5, xs[0], ya), (t_fall, x_fall, ya), (t_up, x_fall, ya), (t_up + 12.0, xs[1], ya)]
    path = Path(keys)
    fall_s = _u(rng, 0.3, 0.6)
    lying_w = _u(rng, 0.075, 0.095)

    def phase(t: float) -> float:  # 0 upright .. 1 lying
        if t < t_fall or t > t_up + 1.0:
            return 0.0
        if t < t_fall + fall_s:
            return (t - t_fall) / fall_s
        if t > t_up:
            return 1.0 - (t - t_up)
        return 1.0

    def height(t: float) -> float:
        return 0.17 + (0.045 - 0.17) * phase(t)

    def width(t: float) -> float:
        return 0.022 + (lying_w - 0.022) * phase(t)

    things: list[Person | Block | Flame] = list(_crossers(rng, 4, d, (0.30, 0.44), +1))
    things.append(_keyed_person(path, height, width))
    truth = [("person_down", "", t_fall, min(d, t_up))]
    return _scene(d, things, truth, DETECTOR_RULES, detector=True)


@_scenario("person_down", "a walker falls and lies still")
def person_down_stays(rng: np.random.Generator) -> Scene:
    return _person_down_scene(rng, gets_up=False)


@_scenario("person_down", "a walker falls, lies still for several seconds, gets up and walks on")
def person_down_gets_up(rng: np.random.Generator) -> Scene:
    return _person_down_scene(rng, gets_up=True)


def _density_scene(rng: np.random.Generator, n: int, arrive_s: float) -> Scene:
    d = 20.0
    t_arrive = _u(rng, 7.0, 9.0)
    things: list[Person | Block | Flame] = []
    for keys in _crowd_paths(rng, n, d, None):
        start = (float(rng.choice([-0.05, 1.05])), _u(rng, 0.55, 0.95))
        t_at = t_arrive + _u(rng, 0.0, arrive_s)
        inside = [k for k in keys if k[0] > t_at]
        path = Path([(t_at - math.hypot(start[0] - inside[0][1], 0.3) / 0.08, *start), *inside])
        walker = _person(rng, path)
        walker.t_in = path.t_start
        things.append(walker)
    # the truth: persons whose anchor is in the plaza, per m², reach the rule's warning level
    warning = float(RULES["density"]["warning"]) * PLAZA_AREA_M2
    counts = [
        (k / 10.0, sum(1 for p in things if isinstance(p, Person) and _in_plaza(p, k / 10.0)))
        for k in range(round(d * 10) + 1)
    ]
    onset = next(t for t, n in counts if n >= warning)
    return _scene(d, things, [("density", "plaza", onset, d)], ("density", "crowd_movement"))


def _in_plaza(p: Person, t: float) -> bool:
    return p.t_in <= t <= p.t_out and point_in_polygon(*p.path.at(t)[:2], PLAZA)


@_scenario("density", "people gather in the plaza over a few seconds and mill about")
def density_gathering(rng: np.random.Generator) -> Scene:
    return _density_scene(rng, int(rng.integers(30, 38)), _u(rng, 3.0, 5.0))


@_scenario("density", "a crowd pours into the plaza quickly and mills about")
def density_influx(rng: np.random.Generator) -> Scene:
    return _density_scene(rng, int(rng.integers(34, 42)), _u(rng, 1.0, 2.0))


def _abandoned_scene(rng: np.random.Generator, passers: bool) -> Scene:
    d = 22.0
    direction = 1 if rng.random() < 0.5 else -1
    xs = (-0.04, 1.04) if direction > 0 else (1.04, -0.04)
    ya = _u(rng, 0.6, 0.88)
    t_drop = _u(rng, 3.0, 5.0)
    speed = _u(rng, 0.06, 0.09)
    x_drop = xs[0] + direction * speed * (t_drop - 0.5)
    pause = _u(rng, 0.5, 1.5)
    path = Path(
        [
            (0.5, xs[0], ya),
            (t_drop, x_drop, ya),
            (t_drop + pause, x_drop, ya),
            (t_drop + pause + 14.0, xs[1], ya - 0.02),
        ]
    )
    bw, bh = _u(rng, 0.03, 0.04), _u(rng, 0.05, 0.065)
    contrast = float(rng.choice([-1.0, 1.0])) * _u(rng, 45.0, 65.0)
    side = direction * 0.018

    def bag(t: float) -> Box | None:
        x, y, _ = path.at(min(t, t_drop))
        if t < 0.5:
            return None
        return (x + side - bw / 2, y - bh, x + side + bw / 2, y)

    things: list[Person | Block | Flame] = [_person(rng, path), Block(bag, contrast=contrast)]
    if passers:
        things += _crossers(rng, 4, d, (0.28, 0.42), +1)
    return _scene(d, things, [("abandoned_object", "", t_drop, d)], ("abandoned_object", "fire"))


@_scenario("abandoned_object", "a person sets a bag down and walks away")
def abandoned_bag(rng: np.random.Generator) -> Scene:
    return _abandoned_scene(rng, passers=False)


@_scenario("abandoned_object", "a bag left near the walkway while others walk past at a distance")
def abandoned_bag_busy(rng: np.random.Generator) -> Scene:
    return _abandoned_scene(rng, passers=True)


# --------------------------------------------------------------------------- negatives

NEGATIVE_MOTION = (
    "intrusion",
    "wrong_way",
    "fire",
    "crowd_movement",
    "density",
    "abandoned_object",
)


def _walkway_crowd(rng: np.random.Generator, d: float) -> list[Person | Block | Flame]:
    return list(_crossers(rng, 7, d, (0.30, 0.44), +1))


@_scenario(None, "walkers, then the lights switch on or off (a global brightness jump)")
def lighting_jump(rng: np.random.Generator) -> Scene:
    d = 18.0
    t_jump = _u(rng, 9.0, 12.0)
    factor = float(rng.choice([_u(rng, 0.65, 0.8), _u(rng, 1.25, 1.4)]))
    return _scene(
        d,
        _walkway_crowd(rng, d),
        [],
        NEGATIVE_MOTION,
        gain=lambda t: factor if t >= t_jump else 1.0,
    )


@_scenario(None, "an emergency light flashes red at about 2 Hz beside walkers")
def flashing_light(rng: np.random.Generator) -> Scene:
    d = 16.0
    x, y = _u(rng, 0.1, 0.5), _u(rng, 0.55, 0.85)  # outside the restricted zone
    hz = _u(rng, 1.5, 3.0)
    t_on = _u(rng, 2.0, 4.0)
    box = (x, y, x + 0.05, y + 0.07)
    light = Block(
        lambda t: box if t >= t_on and (t * hz) % 1.0 < 0.5 else None,
        yuv=(_u(rng, 150.0, 200.0), _u(rng, 70.0, 95.0), _u(rng, 190.0, 215.0)),
        emitter=True,
    )
    return _scene(d, [*_walkway_crowd(rng, d), light], [], NEGATIVE_MOTION)


@_scenario(None, "a red, flame-coloured shop sign that never flickers, and walkers")
def red_sign(rng: np.random.Generator) -> Scene:
    d = 16.0
    x, y = _u(rng, 0.1, 0.7), _u(rng, 0.55, 0.8)
    box = (x, y, x + _u(rng, 0.1, 0.18), y + _u(rng, 0.05, 0.09))
    sign = Block(
        _still(box),
        yuv=(_u(rng, 170.0, 210.0), _u(rng, 70.0, 90.0), _u(rng, 185.0, 205.0)),
        emitter=True,
    )
    return _scene(d, [sign, *_walkway_crowd(rng, d)], [], NEGATIVE_MOTION)


@_scenario(None, "the camera shakes for a few seconds (wind, a passing truck)")
def camera_shake(rng: np.random.Generator) -> Scene:
    d = 18.0
    t0 = _u(rng, 9.0, 11.0)
    t1 = t0 + _u(rng, 2.0, 4.0)
    amp = _u(rng, 1.5, 3.5)
    jitter = np.random.default_rng(int(rng.integers(1 << 31)))

    def shake(t: float) -> tuple[float, float]:
        if not t0 <= t < t1:
            return (0.0, 0.0)
        return (float(jitter.uniform(-amp, amp)), float(jitter.uniform(-amp, amp)))

    return _scene(d, _walkway_crowd(rng, d), [], NEGATIVE_MOTION, shake=shake)


@_scenario(None, "a person sits down on the ground, stands up, walks on and sits again")
def sit_and_stand(rng: np.random.Generator) -> Scene:
    d = 20.0
    ya = _u(rng, 0.6, 0.85)
    x0 = _u(rng, 0.15, 0.3)
    keys = [(0.5, -0.04, ya)]
    sits = []
    t, x = 0.5, -0.04
    for target in (x0, x0 + _u(rng, 0.25, 0.35)):
        t += (target - x) / 0.07
        keys.append((t, target, ya))
        sit = (t + 0.3, _u(rng, 3.0, 5.0))
        sits.append(sit)
        t += sit[1] + 1.0
        keys.append((t, target, ya))
        x = target
    keys.append((t + (1.04 - x) / 0.07, 1.04, ya))
    path = Path(keys)

    def low(t: float) -> float:
        for start, length in sits:
            if start <= t < start + length:
                return min(1.0, (t - start) / 0.4, (start + length - t) / 0.4)
        return 0.0

    person = _keyed_person(path, lambda t: 0.17 - 0.06 * low(t), lambda t: 0.022 + 0.012 * low(t))
    things: list[Person | Block | Flame] = [person, *_crossers(rng, 3, d, (0.30, 0.44), +1)]
    return _scene(d, things, [], ("person_down", "weapon", "abandoned_object"), detector=True)


@_scenario(None, "a person lies down slowly on the ground to rest, and stays")
def lie_down_slowly(rng: np.random.Generator) -> Scene:
    d = 18.0
    ya, xa = _u(rng, 0.6, 0.85), _u(rng, 0.3, 0.7)
    t_stop = xa / 0.07 + 0.5
    path = Path([(0.5, -0.04, ya), (t_stop, xa, ya), (d + 1, xa, ya)])
    lie_s = _u(rng, 4.0, 6.0)

    def phase(t: float) -> float:
        return min(1.0, max(0.0, (t - t_stop - 1.0) / lie_s))

    person = _keyed_person(
        path, lambda t: 0.17 - 0.125 * phase(t), lambda t: 0.022 + 0.06 * phase(t)
    )
    return _scene(d, [person], [], ("person_down", "abandoned_object"), detector=True)


@_scenario(None, "a dense crowd walks calmly through the plaza both ways")
def calm_crowd(rng: np.random.Generator) -> Scene:
    d = 20.0
    people: list[Person | Block | Flame] = []
    for keys in _crowd_paths(rng, int(rng.integers(22, 30)), d, None):
        walker = _person(rng, Path(keys))
        walker.t_in = -1.0
        people.append(walker)
    return _scene(d, people, [], ("crowd_movement", "fire", "abandoned_object", "wrong_way"))


@_scenario(None, "cars drive in and park; their drivers get out and walk away")
def parked_vehicles(rng: np.random.Generator) -> Scene:
    d = 22.0
    things: list[Person | Block | Flame] = []
    for k in range(2):
        y = _u(rng, 0.62, 0.9)
        x_park = _u(rng, 0.15, 0.35) + 0.45 * k
        t_park = _u(rng, 3.5, 5.0) + 3.0 * k  # drives in after the video starts
        w, h = _u(rng, 0.13, 0.17), _u(rng, 0.12, 0.15)
        car_path = Path([(t_park - 3.0, -0.2, y), (t_park, x_park, y), (d + 1, x_park, y)])

        def car(t: float, p: Path = car_path, w: float = w, h: float = h) -> Box | None:
            if t < p.t_start:
                return None
            x, yy, _ = p.at(t)
            return (x - w / 2, yy - h, x + w / 2, yy)

        things.append(Block(car, contrast=float(rng.choice([-1.0, 1.0])) * _u(rng, 40, 70)))
        driver = walk(t_park + 1.0, 0.08, [(x_park, y + 0.02), (x_park + 0.1, 1.1)])
        things.append(_person(rng, driver))
    return _scene(d, things, [], ("abandoned_object", "fire", "crowd_movement"))


# --------------------------------------------------------------------------- rendering


def _span(lo: float, hi: float, limit: int) -> tuple[int, int]:
    a = max(0, (math.floor(lo) - 1) & ~1)
    b = math.ceil(hi) + 2
    return a, min(limit, b + (b & 1))


def _coverage(
    px: F32, py: F32, centre: tuple[float, float], half: tuple[float, float], power: float
) -> F32:
    hx, hy = max(half[0], 0.5), max(half[1], 0.5)
    r = (np.abs((px - centre[0]) / hx) ** power + np.abs((py - centre[1]) / hy) ** power) ** (
        1.0 / power
    )
    out: F32 = np.clip(0.5 - (r - 1.0) * min(hx, hy), 0.0, 1.0).astype(np.float32)
    return out


def _paint_patch(
    box_px: Box,
    alpha_fn: Callable[[F32, F32], F32],
    fill: tuple[float, float, float],
    planes: tuple[F32, U8, U8],
) -> None:
    """Blend ``fill`` (Y, U, V) into the planes with the coverage ``alpha_fn(px, py)``."""
    y_plane, u_plane, v_plane = planes
    h, w = y_plane.shape
    ax, bx = _span(box_px[0], box_px[2], w)
    ay, by = _span(box_px[1], box_px[3], h)
    if bx <= ax or by <= ay:
        return
    px = np.arange(ax, bx, dtype=np.float32)[None, :] + np.float32(0.5)
    py = np.arange(ay, by, dtype=np.float32)[:, None] + np.float32(0.5)
    alpha = alpha_fn(px, py)
    patch = y_plane[ay:by, ax:bx]
    patch += alpha * (np.float32(fill[0]) - patch)
    hh, hw = (by - ay) // 2, (bx - ax) // 2
    half = alpha.reshape(hh, 2, hw, 2).mean(axis=(1, 3))
    for plane, value in ((u_plane, fill[1]), (v_plane, fill[2])):
        c = plane[ay // 2 : by // 2, ax // 2 : bx // 2]
        f = c.astype(np.float32)
        f += half * (np.float32(value) - f)
        c[...] = np.rint(f)


def _paint_block(block: Block, box: Box, bg: Background, planes: tuple[F32, U8, U8]) -> None:
    h, w = planes[0].shape
    bx = (box[0] * w, box[1] * h, box[2] * w, box[3] * h)
    if block.yuv is not None:
        fill = block.yuv
    else:
        mean = bg.mean_luma(
            math.floor(bx[0]), math.floor(bx[1]), math.ceil(bx[2]), math.ceil(bx[3])
        )
        luma = mean + block.contrast
        if not 20.0 <= luma <= 235.0:
            luma = mean - block.contrast
        fill = (luma, 126.0, 131.0)
    centre = ((bx[0] + bx[2]) / 2, (bx[1] + bx[3]) / 2)
    half = ((bx[2] - bx[0]) / 2, (bx[3] - bx[1]) / 2)
    _paint_patch(bx, lambda px, py: _coverage(px, py, centre, half, 6.0), fill, planes)


def _ellipse(centre: tuple[float, float], half: tuple[float, float]) -> Callable[[F32, F32], F32]:
    return lambda px, py: _coverage(px, py, centre, half, 2.0)


def _paint_flame(flame: Flame, t: float, planes: tuple[F32, U8, U8]) -> None:
    height = flame.height(t)
    if height <= 0.0:
        return
    h, w = planes[0].shape
    rng = flame.rng
    hp = height * h
    base_x, base_y = flame.x * w, flame.y * h
    # three tongues, each flickering in height and sway every frame; an orange body, a yellow core
    for k, (dx, scale) in enumerate(((-0.25, 0.7), (0.0, 1.0), (0.25, 0.75))):
        th = hp * scale * float(rng.uniform(0.7, 1.15))
        tw = hp * 0.22 * float(rng.uniform(0.85, 1.15))
        cx = base_x + dx * hp * 0.5 + float(rng.uniform(-0.08, 0.08)) * hp
        cy = base_y - th / 2
        body = (
            float(rng.uniform(175, 205)),
            float(rng.uniform(70, 90)),
            float(rng.uniform(175, 195)),
        )
        box = (cx - tw, cy - th / 2, cx + tw, cy + th / 2)
        _paint_patch(box, _ellipse((cx, cy), (tw, th / 2)), body, planes)
        if k == 1:
            core = (
                float(rng.uniform(225, 245)),
                float(rng.uniform(85, 105)),
                float(rng.uniform(155, 170)),
            )
            ch = th * 0.5
            box = (cx - tw * 0.5, base_y - ch, cx + tw * 0.5, base_y)
            _paint_patch(box, _ellipse((cx, base_y - ch / 2), (tw * 0.5, ch / 2)), core, planes)


def scene_for(name: str, seed: int) -> Scene:
    """Build scenario ``name`` for ``seed``.

    Raises:
        ValueError: unknown scenario.
    """
    if name not in SITUATIONS:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SITUATIONS)}")
    return SITUATIONS[name].build(np.random.default_rng([seed, _stable_hash(name)]))


def _stable_hash(name: str) -> int:
    return zlib.crc32(name.encode())


def config_for(scene: Scene, width: int, height: int, fps: float) -> dict[str, Any]:
    """The configuration a scenario is evaluated under (video and model paths relative to its
    folder's suite)."""
    zones = []
    for zid, polygon in scene.zones.items():
        zone: dict[str, Any] = {"id": zid, "polygon": [list(p) for p in polygon]}
        if zid in scene.zone_areas:
            zone["area_m2"] = scene.zone_areas[zid]
        zones.append(zone)
    scale = width * height / (1280 * 720)
    config: dict[str, Any] = {
        "privacy": {"legal_profile": "lab"},  # recorded files: no authorisation needed
        "motion": {"factor": 2 if width < 800 else 4, "min_area": max(16, round(400 * scale))},
        "cameras": [
            {
                "id": "synth",
                "url": "video.mp4",
                "fps": float(fps),
                "zones": zones,
                "rules": scene.rules,
            }
        ],
    }
    if scene.detector:
        config["detectors"] = [
            {
                "id": "standin",
                "model": {"path": f"../{STANDIN_MODEL}"},
                "fps": float(fps),
                "gating": False,
            }
        ]
    return config


def render_scenario(
    name: str,
    folder: str | os.PathLike[str],
    *,
    seed: int = 0,
    width: int = 384,
    height: int = 216,
    fps: float = 10.0,
) -> Truth:
    """Render scenario ``name`` into ``folder``: ``video.mp4``, ``truth.json``, ``config.yaml``.

    The config's detector model path is ``../standin.onnx`` (the suite folder's); a suite is
    generated by :func:`vsa_stream.evaluate.generate_suite`.

    Raises:
        ValueError: unknown scenario, or a size that is not even and at least 64.
    """
    if width < 64 or height < 64 or width % 2 or height % 2:
        raise ValueError(f"width and height must be even and >= 64, got {width}x{height}")
    scene = scene_for(name, seed)
    return render_scene(
        scene,
        folder,
        name,
        SITUATIONS[name].summary,
        seed=seed,
        width=width,
        height=height,
        fps=fps,
    )


def render_scene(
    scene: Scene,
    folder: str | os.PathLike[str],
    name: str,
    summary: str,
    *,
    seed: int = 0,
    width: int = 384,
    height: int = 216,
    fps: float = 10.0,
) -> Truth:
    """Render a scripted ``scene`` into ``folder`` as :func:`render_scenario` does (``name``
    and ``summary`` label it in the truth and the config's first line)."""
    out = FsPath(folder)
    out.mkdir(parents=True, exist_ok=True)
    n_frames = round(scene.duration_s * fps)
    bg_seq, noise_seq = np.random.SeedSequence([seed, _stable_hash(name), 7]).spawn(2)
    bg = make_background(np.random.default_rng(bg_seq), width, height)
    noise_rng = np.random.default_rng(noise_seq)
    phase_a, phase_b = (float(v) for v in noise_rng.uniform(0.0, 2.0 * math.pi, size=2))
    table = _noise_table(3.0)
    n_px = width * height
    buf = np.empty(n_px * 3 // 2, dtype=np.uint8)
    y_out = buf[:n_px].reshape(height, width)
    u_out = buf[n_px : n_px * 5 // 4].reshape(height // 2, width // 2)
    v_out = buf[n_px * 5 // 4 :].reshape(height // 2, width // 2)
    luma = np.empty((height, width), dtype=np.float32)
    noise = np.empty((height, width), dtype=np.float32)
    rate = Fraction(fps).limit_denominator(1_000_000)
    with av.open(os.fspath(out / "video.mp4"), mode="w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = max(1, round(2 * fps))
        stream.options = {"preset": "ultrafast", "crf": "23", "threads": "1"}
        for k in range(n_frames):
            t = k / fps
            np.copyto(luma, bg.y)
            np.copyto(u_out, bg.u)
            np.copyto(v_out, bg.v)
            planes = (luma, u_out, v_out)
            late: list[tuple[Block, Box]] = []
            people = [p for p in scene.things if isinstance(p, Person) and p.t_in <= t <= p.t_out]
            poses = [(pose_at(p.path, p.look, t, width, height), p.look) for p in people]
            order: list[tuple[float, Any]] = [(pose.feet, (pose, look)) for pose, look in poses]
            for thing in scene.things:
                if isinstance(thing, Block):
                    box = thing.box(t)
                    if box is None:
                        continue
                    if thing.emitter:
                        late.append((thing, box))
                    else:
                        order.append((box[3] * height, (thing, box)))
            for _, item in sorted(order, key=lambda fi: fi[0]):
                if isinstance(item[0], Block):
                    _paint_block(item[0], item[1], bg, planes)
                else:
                    paint(item[0], item[1], bg, luma, u_out, v_out)
            gain = lighting_gain(t, phase_a, phase_b) * (
                1.0 if scene.gain is None else scene.gain(t)
            )
            luma *= np.float32(gain)
            for block, box in late:
                _paint_block(block, box, bg, planes)
            for thing in scene.things:
                if isinstance(thing, Flame):
                    _paint_flame(thing, t, planes)
            noise_bytes = np.frombuffer(noise_rng.bytes(n_px), dtype=np.uint8)
            np.take(table, noise_bytes.reshape(height, width), out=noise)
            luma += noise
            np.clip(luma, 0.0, 255.0, out=luma)
            np.copyto(y_out, luma, casting="unsafe")
            if scene.shake is not None:
                dx, dy = scene.shake(t)
                sx, sy = round(dx / 2) * 2, round(dy / 2) * 2
                if sx or sy:
                    y_out[...] = np.roll(y_out, (sy, sx), axis=(0, 1))
                    u_out[...] = np.roll(u_out, (sy // 2, sx // 2), axis=(0, 1))
                    v_out[...] = np.roll(v_out, (sy // 2, sx // 2), axis=(0, 1))
            frame = av.VideoFrame.from_ndarray(buf.reshape(-1, width), format="yuv420p")
            frame.pts = k
            frame.time_base = 1 / rate
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))

    events = [
        TruthEvent(kind, zone, 0, round(s * fps), round(e * fps), round(s, 3), round(e, 3))
        for kind, zone, s, e in scene.truth
    ]
    truth = Truth(
        scenario=name,
        width=width,
        height=height,
        fps=float(fps),
        n_frames=n_frames,
        seed=seed,
        zones=[TruthZone(z, list(p)) for z, p in scene.zones.items()],
        objects=[],
        events=events,
    )
    dump_truth(truth, out / "truth.json")
    with open(out / "config.yaml", "w", encoding="utf-8") as f:
        f.write(f"# scenario {name}, seed {seed}: {summary}\n")
        yaml.safe_dump(config_for(scene, width, height, fps), f, sort_keys=False)
    return truth
