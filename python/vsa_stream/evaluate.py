"""``vsa-stream eval``: run the scenario suite through the engine and score it per situation.

A suite folder holds ``standin.onnx`` (the stand-in detector, see
:mod:`vsa_stream.synth.standin`) and one folder per scenario and seed with ``video.mp4``,
``truth.json`` and ``config.yaml`` (:func:`generate_suite`). :func:`run_suite` scans every
scenario with the real engine (as ``vsa-stream scan`` does, several in parallel processes) and
:func:`score` matches the alerts to the truth, per type:

- an alert (an event's ``open`` revision) of type T is a *true positive* when its span (from
  the condition's start to the close, or the end of the video) overlaps a truth interval of
  type T widened by ``tolerance_s`` on both sides, and that interval has no earlier alert;
- further alerts on an interval that already has one are *repeats* (counted, not errors);
- any other alert of type T is a *false positive*; a truth interval without alert is a *false
  negative*. Only the types a scenario's config has a rule for are scored on it.

Latency is the time from the truth's onset to the alert (its ``evidence.stream_time_s``);
``latency - threshold`` subtracts the rule's own time threshold (see :func:`rule_threshold`).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import statistics
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import msgspec

from vsa_stream import config as config_mod
from vsa_stream.config import (
    SITUATIONS,
    AbandonedObjectRule,
    Config,
    CrowdMovementRule,
    DensityRule,
    FireRule,
    IntrusionRule,
    PersonDownRule,
    Rule,
    WeaponRule,
    WrongWayRule,
)
from vsa_stream.events import Event, encode
from vsa_stream.synth.truth import load_truth

__all__ = [
    "TYPES",
    "ScenarioResult",
    "TypeScore",
    "generate_suite",
    "markdown",
    "rule_threshold",
    "run_scenario",
    "run_suite",
    "score",
]

TYPES = SITUATIONS  # every situation of the closed set is scored
TOLERANCE_S = 2.0


def rule_threshold(rule: Rule, fps: float) -> float:
    """The time a rule waits by its own settings before it may alert, in seconds.

    Example:
        >>> rule_threshold(IntrusionRule(zones=["z"], min_dwell_s=2.0), 10.0)
        2.0
        >>> rule_threshold(WeaponRule(k=3, n=5), 10.0)
        0.3
    """
    if isinstance(rule, IntrusionRule):
        return rule.min_dwell_s
    if isinstance(rule, WrongWayRule):
        return rule.min_track_age_s + rule.min_duration_s
    if isinstance(rule, WeaponRule):
        return rule.k / fps
    if isinstance(rule, PersonDownRule):
        return rule.min_down_s
    if isinstance(rule, AbandonedObjectRule):
        return max(rule.min_static_s, rule.owner_gone_s)
    assert isinstance(rule, FireRule | CrowdMovementRule | DensityRule)
    return rule.min_duration_s


# --------------------------------------------------------------------------- generating


def _render_one(job: tuple[str, str, int, int, int, float]) -> str:
    from vsa_stream.synth.situations import render_scenario

    name, folder, seed, width, height, fps = job
    render_scenario(name, folder, seed=seed, width=width, height=height, fps=fps)
    return folder


def generate_suite(
    folder: str | os.PathLike[str],
    *,
    seeds: Sequence[int] = (0, 1, 2),
    scenarios: Sequence[str] | None = None,
    width: int = 384,
    height: int = 216,
    fps: float = 10.0,
    jobs: int = 2,
) -> list[Path]:
    """Render every scenario (or ``scenarios``) for every seed into ``folder``.

    Each goes to ``folder/<scenario>-s<seed>/``; the stand-in detector to
    ``folder/standin.onnx`` (needs the ``onnx`` package: ``pip install vsa_stream[eval]``).

    Raises:
        ValueError: an unknown scenario.
        ModuleNotFoundError: ``onnx`` is not installed.
    """
    from vsa_stream.synth.situations import SITUATIONS, STANDIN_MODEL
    from vsa_stream.synth.standin import build_standin_detector

    names = list(SITUATIONS) if scenarios is None else list(scenarios)
    unknown = [n for n in names if n not in SITUATIONS]
    if unknown:
        raise ValueError(f"unknown scenario {unknown[0]!r}; known: {', '.join(SITUATIONS)}")
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    build_standin_detector(root / STANDIN_MODEL)
    job_list = [
        (n, str(root / f"{n}-s{seed}"), seed, width, height, fps) for seed in seeds for n in names
    ]
    return [Path(p) for p in _map(_render_one, job_list, jobs)]


def _map(fn: Any, items: list[Any], jobs: int) -> list[Any]:
    if jobs <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        return list(pool.map(fn, items))


# --------------------------------------------------------------------------- running


class _Collect:
    """A sink keeping every revision in memory."""

    name = "eval"

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def send(self, event: Event) -> None:
        self.events.append(event)

    async def aclose(self) -> None:
        return None


def scenario_config(folder: str | os.PathLike[str]) -> Config:
    """The config of a scenario folder, its video and model paths resolved."""
    folder = Path(folder)
    config = config_mod.load(folder / "config.yaml")
    camera = config.cameras[0]
    camera = msgspec.structs.replace(
        camera, url=str(folder / camera.url), realtime=False, enabled=True
    )
    detectors = [
        msgspec.structs.replace(
            d, model=msgspec.structs.replace(d.model, path=str((folder / d.model.path).resolve()))
        )
        for d in config.detectors
    ]
    return msgspec.structs.replace(config, cameras=[camera], detectors=detectors)


def run_scenario(folder: str | os.PathLike[str]) -> list[Event]:
    """Scan one scenario with the engine; writes and returns its event revisions."""
    from vsa_stream.engine import Engine
    from vsa_stream.log import configure_logging

    configure_logging(level="warning", fmt="json")
    config = scenario_config(folder)
    sink = _Collect()
    engine = Engine(config, [sink], scan=True)
    result = anyio.run(engine.run)
    status = result.cameras[0]
    if status.state == "failed":
        raise RuntimeError(f"{folder}: {status.error}")
    with open(Path(folder) / "events.jsonl", "wb") as f:
        for event in sink.events:
            f.write(encode(event) + b"\n")
    return sink.events


def _run_one(folder: str) -> tuple[str, list[bytes]]:
    return folder, [encode(e) for e in run_scenario(folder)]


@dataclass
class ScenarioResult:
    """A scenario's truth, rules and alerts."""

    name: str
    folder: str
    seed: int
    fps: float
    duration_s: float
    truth: list[tuple[str, float, float]]  # (type, start_s, end_s)
    thresholds: dict[str, float]  # scored type -> rule threshold
    events: list[Event]


def scenario_folders(suite: str | os.PathLike[str]) -> list[Path]:
    """The scenario folders of a suite (those holding a ``truth.json``), sorted."""
    return sorted(p.parent for p in Path(suite).glob("*/truth.json"))


def run_suite(suite: str | os.PathLike[str], *, jobs: int = 2) -> list[ScenarioResult]:
    """Scan every scenario of ``suite``, ``jobs`` at a time.

    Raises:
        FileNotFoundError: no scenario in ``suite``.
    """
    from vsa_stream.events import decode

    folders = scenario_folders(suite)
    if not folders:
        raise FileNotFoundError(f"no scenario (*/truth.json) in {suite}")
    outputs = dict(_map(_run_one, [str(f) for f in folders], jobs))
    results = []
    for folder in folders:
        truth = load_truth(folder / "truth.json")
        config = scenario_config(folder)
        camera = config.cameras[0]
        thresholds: dict[str, float] = {}
        for rule in camera.rules:
            kind = type(rule).__struct_config__.tag
            assert isinstance(kind, str)
            thresholds[kind] = max(thresholds.get(kind, 0.0), rule_threshold(rule, camera.fps))
        results.append(
            ScenarioResult(
                name=truth.scenario,
                folder=str(folder),
                seed=truth.seed,
                fps=truth.fps,
                duration_s=truth.n_frames / truth.fps,
                truth=[(e.type, e.start_s, e.end_s) for e in truth.events],
                thresholds=thresholds,
                events=[decode(line) for line in outputs[str(folder)]],
            )
        )
    return results


# --------------------------------------------------------------------------- scoring


@dataclass
class TypeScore:
    """The score of one situation type over a suite."""

    type: str
    scenarios: int = 0
    positives: int = 0  # truth intervals
    tp: int = 0
    fp: int = 0
    fn: int = 0
    repeats: int = 0
    latencies: list[float] = field(default_factory=list)
    over_threshold: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)  # "scenario-seed: fn|fp@t"

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def as_dict(self) -> dict[str, Any]:
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
            "latency_median_s": _stat(self.latencies, 0.5),
            "latency_p95_s": _stat(self.latencies, 0.95),
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
        tag = f"{r.name}-s{r.seed}"
        closes = {e.id: e.end_s for e in r.events if e.state == "closed"}
        for kind, threshold in r.thresholds.items():
            s = scores[kind]
            s.scenarios += 1
            alerts = sorted(
                (
                    (e.evidence.stream_time_s, e.start_s, closes.get(e.id) or r.duration_s)
                    for e in r.events
                    if e.type == kind and e.state == "open"
                ),
            )
            truths = sorted((a, b) for k, a, b in r.truth if k == kind)
            s.positives += len(truths)
            used: set[int] = set()
            matched: list[tuple[float, float]] = []
            for start, end in truths:
                lo, hi = start - tolerance_s, end + tolerance_s
                hit = next(
                    (
                        i
                        for i, (_, a0, a1) in enumerate(alerts)
                        if i not in used and a0 <= hi and a1 >= lo
                    ),
                    None,
                )
                if hit is None:
                    s.fn += 1
                    s.misses.append(f"{tag}: missed {start:.1f}-{end:.1f}")
                    continue
                used.add(hit)
                matched.append((lo, hi))
                s.tp += 1
                latency = alerts[hit][0] - start
                s.latencies.append(latency)
                s.over_threshold.append(latency - threshold)
            for i, (t_alert, a0, a1) in enumerate(alerts):
                if i in used:
                    continue
                if any(a0 <= hi and a1 >= lo for lo, hi in matched):
                    s.repeats += 1
                else:
                    s.fp += 1
                    s.misses.append(f"{tag}: false alert at {t_alert:.1f}")
    return scores


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def markdown(scores: dict[str, TypeScore]) -> str:
    """The per-type table, in Markdown."""
    lines = [
        "| type | scenarios | positives | TP | FP | FN | repeats | precision | recall "
        "| latency median s | latency p95 s | over threshold median s | over threshold p95 s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in scores.values():
        d = s.as_dict()
        lines.append(
            f"| `{s.type}` | {s.scenarios} | {s.positives} | {s.tp} | {s.fp} | {s.fn} "
            f"| {s.repeats} | {s.precision:.3f} | {s.recall:.3f} "
            f"| {_fmt(d['latency_median_s'])} | {_fmt(d['latency_p95_s'])} "
            f"| {_fmt(d['over_threshold_median_s'])} | {_fmt(d['over_threshold_p95_s'])} |"
        )
    return "\n".join(lines)
