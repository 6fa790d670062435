"""Matching alerts to truth, the metrics per situation, floors and the table.

A synthetic scene (:mod:`vsa_stream.evaluate.suite`) and a real clip
(:mod:`vsa_stream.evaluate.real`) are both a :class:`ScenarioResult`, scored the same way.
:func:`score` matches the alerts to the truth, per type. A truth interval has an
onset (the situation starts), a time from which it holds (the person lies on the floor, the bag
is unattended) and an end; a synthetic scene's onset and holding time are the same.

- an alert (an event's ``open`` revision) of type T is a *true positive* when its span (from
  the condition's start to the close, or the end of the video) overlaps a truth interval of
  type T (onset to end) widened by ``tolerance_s`` on both sides, one of its evidence boxes
  touches the truth's box (where the truth gives one), and that interval has no earlier alert;
- further alerts on an interval that already has one are *repeats* (counted, not errors);
- any other alert of type T is a *false positive*; a truth interval without alert is a *false
  negative*. Only the types a clip's config has a rule for are scored on it.
- the alert is *on time* when it comes at most :data:`ON_TIME_S` after the situation holds and
  the rule's own time threshold has passed: ``alert <= from_s + threshold + ON_TIME_S``.

Latency is the time from the truth's onset to the alert (its ``evidence.stream_time_s``), and
from the time it holds; ``over threshold`` is ``alert - from_s - threshold`` (see
:func:`rule_threshold`). False alerts per hour count the false positives of type T on clips
judged on T that have no truth interval of type T, over the total duration of those clips.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from vsa_stream.config import Camera, Rule
from vsa_stream.event_types import SITUATIONS
from vsa_stream.events import Event
from vsa_stream.rules.registry import spec_of

__all__ = [
    "ON_TIME_S",
    "TOLERANCE_S",
    "TYPES",
    "Floor",
    "Interval",
    "ScenarioResult",
    "TypeScore",
    "below_floors",
    "clip_lines",
    "load_floors",
    "markdown",
    "rule_threshold",
    "rule_thresholds",
    "score",
]

TYPES: tuple[str, ...] = SITUATIONS  # every situation of the closed set is scored
TOLERANCE_S = 2.0
ON_TIME_S = 2.0  # an alert is on time up to this long after from_s + the rule's threshold


def rule_threshold(rule: Rule, fps: float) -> float:
    """The time a rule waits by its own settings before it may alert, in seconds.

    Example:
        >>> from vsa_stream.config import IntrusionRule, WeaponRule
        >>> rule_threshold(IntrusionRule(zones=["z"], min_dwell_s=2.0), 10.0)
        2.0
        >>> rule_threshold(WeaponRule(k=3, n=5), 10.0)
        0.3
    """
    return spec_of(rule).hold_s(rule, fps)


def rule_thresholds(camera: Camera) -> dict[str, float]:
    """The types a camera has a rule for (those it is judged on) and their time thresholds
    (the longest, where a type has several rules)."""
    out: dict[str, float] = {}
    for rule in camera.rules:
        kind = rule.situation
        out[kind] = max(out.get(kind, 0.0), rule_threshold(rule, camera.fps))
    return out


Box = tuple[float, float, float, float]


class Interval(NamedTuple):
    """A truth interval: the situation starts at ``onset_s``, holds from ``from_s`` (a person
    lies on the floor, a bag is unattended), ends at ``to_s``; ``box`` (``x0, y0, x1, y1``
    normalised to the frame) is where it is, when the truth says."""

    type: str
    onset_s: float
    from_s: float
    to_s: float
    box: Box | None = None


def _overlaps(box: Box | None, boxes: Sequence[Box]) -> bool:
    """Whether an alert's evidence ``boxes`` touch a truth ``box`` (always, when either side
    has none: there is nothing to compare).

    Example:
        >>> _overlaps((0.1, 0.1, 0.2, 0.2), [(0.5, 0.5, 0.6, 0.6), (0.15, 0.0, 0.3, 0.12)])
        True
        >>> _overlaps((0.1, 0.1, 0.2, 0.2), [(0.5, 0.5, 0.6, 0.6)]), _overlaps(None, [])
        (False, True)
    """
    if box is None or not boxes:
        return True
    x0, y0, x1, y1 = box
    return any(b[0] <= x1 and b[2] >= x0 and b[1] <= y1 and b[3] >= y0 for b in boxes)


@dataclass
@dataclass
class ScenarioResult:
    """A clip's truth, rules and alerts (a scenario of the suite, or a real clip)."""

    name: str
    folder: str
    seed: int | None  # None: a real clip
    fps: float
    duration_s: float
    truth: list[Interval]
    thresholds: dict[str, float]  # scored type -> rule threshold
    events: list[Event]

    @property
    def tag(self) -> str:
        """How misses name the clip: ``scenario-s<seed>``, or a real clip's name."""
        return self.name if self.seed is None else f"{self.name}-s{self.seed}"

    def as_dict(self) -> dict[str, Any]:
        """The clip, its truth and its alerts of the judged types (times in seconds)."""
        return {
            "clip": self.tag,
            "duration_s": round(self.duration_s, 3),
            "judged": sorted(self.thresholds),
            "truth": [
                {"type": t.type, "onset_s": t.onset_s, "from_s": t.from_s, "to_s": t.to_s}
                for t in self.truth
            ],
            "alerts": [
                {
                    "type": e.type,
                    "at_s": round(e.evidence.stream_time_s, 3),
                    "start_s": round(e.start_s, 3),
                }
                for e in self.events
                if e.state == "open" and e.type in self.thresholds
            ],
        }


# --------------------------------------------------------------------------- scoring


@dataclass
class TypeScore:
    """The score of one situation type over a set of clips."""

    type: str
    scenarios: int = 0  # clips judged on this type
    positives: int = 0  # truth intervals
    tp: int = 0
    fp: int = 0
    fn: int = 0
    repeats: int = 0
    on_time: int = 0  # truth intervals alerted by from_s + threshold + ON_TIME_S
    negative_s: float = 0.0  # duration of the judged clips without this type
    negative_fp: int = 0  # false positives on those clips
    latencies: list[float] = field(default_factory=list)  # alert - onset_s
    latencies_from: list[float] = field(default_factory=list)  # alert - from_s
    over_threshold: list[float] = field(default_factory=list)  # alert - from_s - threshold
    misses: list[str] = field(default_factory=list)  # "clip: missed|late|false alert ..."

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def on_time_rate(self) -> float | None:
        """Truth intervals alerted on time, of all truth intervals; None without any."""
        return self.on_time / self.positives if self.positives else None

    @property
    def false_per_hour(self) -> float | None:
        """False alerts per hour of judged video without this situation; None without any."""
        return self.negative_fp * 3600.0 / self.negative_s if self.negative_s > 0 else None

    def as_dict(self) -> dict[str, Any]:
        on_time, per_hour = self.on_time_rate, self.false_per_hour
        return {
            "type": self.type,
            "scenarios": self.scenarios,
            "positives": self.positives,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "repeats": self.repeats,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "on_time": self.on_time,
            "on_time_rate": None if on_time is None else round(on_time, 4),
            "negative_h": round(self.negative_s / 3600.0, 4),
            "negative_fp": self.negative_fp,
            "false_per_hour": None if per_hour is None else round(per_hour, 2),
            "latency_median_s": _stat(self.latencies, 0.5),
            "latency_p95_s": _stat(self.latencies, 0.95),
            "latency_from_median_s": _stat(self.latencies_from, 0.5),
            "latency_from_p95_s": _stat(self.latencies_from, 0.95),
            "over_threshold_median_s": _stat(self.over_threshold, 0.5),
            "over_threshold_p95_s": _stat(self.over_threshold, 0.95),
            "misses": self.misses,
        }


def _stat(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (nearest rank), None without values.

    Example:
        >>> _stat([1.0, 2.0, 3.0, 4.0], 0.5), _stat([], 0.5)
        (2.5, None)
    """
    if not values:
        return None
    if q == 0.5:
        return round(statistics.median(values), 3)
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)], 3)


def score(
    results: Sequence[ScenarioResult], tolerance_s: float = TOLERANCE_S
) -> dict[str, TypeScore]:
    """Match alerts to truth per type (see the module's docstring)."""
    scores = {t: TypeScore(t) for t in TYPES}
    for r in results:
        tag = r.tag
        closes = {e.id: e.end_s for e in r.events if e.state == "closed"}
        for kind, threshold in r.thresholds.items():
            s = scores[kind]
            s.scenarios += 1
            alerts = sorted(
                (
                    (e.evidence.stream_time_s, e.start_s, closes.get(e.id) or r.duration_s, i)
                    for i, e in enumerate(r.events)
                    if e.type == kind and e.state == "open"
                ),
            )
            boxes = [r.events[i].evidence.boxes for *_, i in alerts]
            truths = sorted((t for t in r.truth if t.type == kind), key=lambda t: t[1:4])
            s.positives += len(truths)
            used: set[int] = set()
            matched: list[tuple[float, float, Box | None]] = []
            for truth in truths:
                lo, hi = truth.onset_s - tolerance_s, truth.to_s + tolerance_s
                hit = next(
                    (
                        i
                        for i, (_, a0, a1, _) in enumerate(alerts)
                        if i not in used
                        and a0 <= hi
                        and a1 >= lo
                        and _overlaps(truth.box, boxes[i])
                    ),
                    None,
                )
                if hit is None:
                    s.fn += 1
                    s.misses.append(f"{tag}: missed {truth.onset_s:.1f}-{truth.to_s:.1f}")
                    continue
                used.add(hit)
                matched.append((lo, hi, truth.box))
                s.tp += 1
                t_alert = alerts[hit][0]
                s.latencies.append(t_alert - truth.onset_s)
                s.latencies_from.append(t_alert - truth.from_s)
                over = t_alert - truth.from_s - threshold
                s.over_threshold.append(over)
                if over <= ON_TIME_S:
                    s.on_time += 1
                else:
                    due = truth.from_s + threshold + ON_TIME_S
                    s.misses.append(f"{tag}: late alert at {t_alert:.1f} (due by {due:.1f})")
            if not truths:
                s.negative_s += r.duration_s
            for i, (t_alert, a0, a1, _) in enumerate(alerts):
                if i in used:
                    continue
                if any(a0 <= hi and a1 >= lo and _overlaps(b, boxes[i]) for lo, hi, b in matched):
                    s.repeats += 1
                    s.misses.append(f"{tag}: repeat alert at {t_alert:.1f}")
                else:
                    s.fp += 1
                    s.negative_fp += not truths
                    s.misses.append(f"{tag}: false alert at {t_alert:.1f}")
    return scores


class Floor(msgspec.Struct, forbid_unknown_fields=True):
    """The floors of one situation type (a field left out is not checked)."""

    min_recall: float | None = None
    min_precision: float | None = None
    min_on_time: float | None = None
    max_false_per_hour: float | None = None


def read_json_object(path: str | os.PathLike[str], what: str, shape: str) -> dict[str, Any]:
    """The JSON object in ``path`` (``what`` it holds, its ``shape``, name the problem).

    Raises:
        ValueError: the file cannot be read, is not JSON, or holds no object.
    """
    try:
        raw = msgspec.json.decode(Path(path).read_bytes())
    except (OSError, msgspec.DecodeError) as exc:
        raise ValueError(f"{path}: cannot read the {what}: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected an object {shape}")
    return raw


def load_floors(path: str | os.PathLike[str]) -> dict[str, dict[str, Floor]]:
    """A floors file: ``{set name: {type: {min_recall, min_precision, min_on_time,
    max_false_per_hour}}}`` (JSON; keys starting with ``_`` are comments).

    Raises:
        ValueError: the file is not valid; the message names the field.
    """
    raw = read_json_object(path, "floors", "{set: {type: floors}}")
    out: dict[str, dict[str, Floor]] = {}
    for name, types in raw.items():
        if name.startswith("_"):
            continue
        if not isinstance(types, dict):
            raise ValueError(f"{path}: {name}: expected an object {{type: floors}}")
        out[name] = {}
        for kind, value in types.items():
            if kind.startswith("_"):
                continue
            if kind not in TYPES:
                raise ValueError(f"{path}: {name}.{kind}: not a situation ({', '.join(TYPES)})")
            try:
                out[name][kind] = msgspec.convert(value, Floor)
            except msgspec.ValidationError as exc:
                raise ValueError(f"{path}: {name}.{kind}: {exc}") from None
    return out


def below_floors(scores: Mapping[str, TypeScore], floors: Mapping[str, Floor]) -> list[str]:
    """What falls below ``floors``, one line per failed check (empty: all pass).

    A type judged on no clip fails any floor set for it: a floor must measure something.
    """
    failed = []
    for kind, floor in floors.items():
        s = scores[kind]
        if s.scenarios == 0:
            failed.append(f"{kind}: judged on no clip")
            continue
        on_time, per_hour = s.on_time_rate, s.false_per_hour
        checks = [
            ("recall", s.recall, floor.min_recall, False),
            ("precision", s.precision, floor.min_precision, False),
            ("on-time rate", on_time, floor.min_on_time, False),
            ("false alerts per hour", per_hour, floor.max_false_per_hour, True),
        ]
        for what, value, limit, is_max in checks:
            if limit is None or value is None:
                continue
            if (value > limit) if is_max else (value < limit):
                bound = "above the maximum" if is_max else "below the floor"
                failed.append(f"{kind}: {what} {value:.3f} {bound} {limit:g}")
    return failed


def clip_lines(results: Sequence[ScenarioResult]) -> list[str]:
    """One line per clip: its truth and its alerts of the judged types.

    Example:
        >>> r = ScenarioResult("falls/a.mp4", "", None, 15.0, 6.0,
        ...                    [Interval("person_down", 2.0, 3.0, 6.0)], {"person_down": 1.0}, [])
        >>> clip_lines([r])
        ['falls/a.mp4 (6.0 s): person_down 2.0/3.0-6.0; alerts: none']
    """
    lines = []
    for r in results:
        d = r.as_dict()
        truth = ", ".join(f"{t['type']} {t['onset_s']:.1f}/{t['from_s']:.1f}-{t['to_s']:.1f}"
                          for t in d["truth"]) or "nothing"  # fmt: skip
        alerts = ", ".join(f"{a['type']} at {a['at_s']:.1f}" for a in d["alerts"]) or "none"
        lines.append(f"{d['clip']} ({r.duration_s:.1f} s): {truth}; alerts: {alerts}")
    return lines


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def markdown(sets: Mapping[str, Mapping[str, TypeScore]]) -> str:
    """One table of every set's types judged on at least one clip, in Markdown (``–``: no
    value, such as the recall of a type without positives or the precision without alerts)."""
    lines = [
        "| set | type | clips | positives | TP | FP | FN | repeats | precision | recall "
        "| on time | latency median s | latency p95 s | from holds median s "
        "| over threshold median s | over threshold p95 s | negative h | false/h |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, scores in sets.items():
        for s in scores.values():
            if s.scenarios == 0:
                continue
            d = s.as_dict()
            lines.append(
                f"| {name} | `{s.type}` | {s.scenarios} | {s.positives} | {s.tp} | {s.fp} "
                f"| {s.fn} | {s.repeats} "
                f"| {_fmt(s.precision if s.tp + s.fp else None, 3)} "
                f"| {_fmt(s.recall if s.positives else None, 3)} "
                f"| {_fmt(s.on_time_rate, 3)} "
                f"| {_fmt(d['latency_median_s'])} | {_fmt(d['latency_p95_s'])} "
                f"| {_fmt(d['latency_from_median_s'])} "
                f"| {_fmt(d['over_threshold_median_s'])} | {_fmt(d['over_threshold_p95_s'])} "
                f"| {s.negative_s / 3600.0:.3f} | {_fmt(s.false_per_hour, 1)} |"
            )
    return "\n".join(lines)
