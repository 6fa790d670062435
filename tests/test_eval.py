"""The scenario suite end to end: render every scenario (one seed, 384x216, 10 fps), scan each
with the engine, score per type against the issue's targets (precision and recall >= 0.95,
median latency <= 2 s over the rule's own threshold). Rendering is deterministic for a seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vsa_stream.cli import main
from vsa_stream.evaluate import TYPES, generate_suite, run_suite, score
from vsa_stream.synth.situations import SITUATIONS


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("suite")
    generate_suite(root, seeds=[0], jobs=2)
    return root


def test_every_situation_has_two_positive_scenarios_and_six_negatives() -> None:
    per_type = {t: [n for n, i in SITUATIONS.items() if i.situation == t] for t in TYPES}
    assert all(len(names) >= 2 for names in per_type.values()), per_type
    assert sum(1 for i in SITUATIONS.values() if i.situation is None) >= 6


def test_suite_meets_precision_and_recall_floors(suite: Path) -> None:
    scores = score(run_suite(suite, jobs=2))
    for kind in TYPES:
        s = scores[kind]
        assert s.positives >= 2, kind
        assert s.recall >= 0.95, (kind, s.misses)
        assert s.precision >= 0.95, (kind, s.misses)
        # an alert comes at most 2 s (median) after the rule's own time threshold
        assert s.as_dict()["over_threshold_median_s"] <= 2.0, (kind, s.latencies)


def test_eval_command_prints_the_table_and_writes_json(suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "scores.json"
    # an impossible floor fails the command, after the table and the JSON
    assert main(["eval", str(suite), "--json", str(out), "--min-precision", "1.01"]) == 1
    data = json.loads(out.read_text())
    assert data["seeds"] == [0]
    assert [t["type"] for t in data["types"]] == list(TYPES)
    assert all(t["recall"] >= 0.95 and t["positives"] >= 2 for t in data["types"])


def test_scenario_truth_and_config_are_written(tmp_path: Path) -> None:
    assert main(["synth", "intrusion_wander", "--out", str(tmp_path / "s"), "--seed", "3"]) == 0
    truth = json.loads((tmp_path / "s" / "truth.json").read_text())
    assert [e["type"] for e in truth["events"]] == ["intrusion"]
    assert truth["seed"] == 3
    assert main(["check", str(tmp_path / "s" / "config.yaml")]) == 0
    assert main(["synth", "no_such_scenario", "--out", str(tmp_path / "x")]) == 2
