"""``vsa-stream eval``: run labelled clips through the engine and score them per situation.

Two kinds of clip sets, scored the same way (:mod:`vsa_stream.evaluate.score`):

- the synthetic *scenario suite* (:mod:`vsa_stream.evaluate.suite`): rendered scenes of the
  eight situations and their usual false alarms, one folder per scenario and seed;
- *real annotated clips* (:mod:`vsa_stream.evaluate.real`): videos with one truth file for the
  set, judged under configs chosen per clip, per group of clips or by default.
"""

from __future__ import annotations

from vsa_stream.evaluate.real import run_real
from vsa_stream.evaluate.score import (
    ON_TIME_S,
    TYPES,
    Floor,
    Interval,
    ScenarioResult,
    TypeScore,
    below_floors,
    clip_lines,
    load_floors,
    markdown,
    rule_threshold,
    rule_thresholds,
    score,
)
from vsa_stream.evaluate.suite import (
    TUNING_SEEDS,
    fresh_seed_base,
    generate_suite,
    parallel_map,
    run_scenario,
    run_suite,
    scan_events,
)

__all__ = [
    "ON_TIME_S",
    "TUNING_SEEDS",
    "TYPES",
    "Floor",
    "Interval",
    "ScenarioResult",
    "TypeScore",
    "below_floors",
    "clip_lines",
    "fresh_seed_base",
    "generate_suite",
    "load_floors",
    "markdown",
    "parallel_map",
    "rule_threshold",
    "rule_thresholds",
    "run_real",
    "run_scenario",
    "run_suite",
    "scan_events",
    "score",
]
