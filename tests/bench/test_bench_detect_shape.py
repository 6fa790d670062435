"""``bench/bench_detect_shape.py``: the camera-shaped input's gain with its ceiling beside it.

No timed assertion: what is checked is that the quick run reports, for every clip and every
camera input, the engine's CPU per inference at both inputs *and* a bare onnxruntime loop's at
both inputs (the model's own gain, which the engine's can only approach), and that the two
inputs' detections are compared.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, shared_path


def test_quick_run_reports_the_bare_onnxruntime_ceiling_beside_the_engine(tmp_path: Path) -> None:
    shared_path("models", "yolox_nano.onnx")
    out = tmp_path / "detect_shape.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_detect_shape.py"), "--quick", "--out", out],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "bare per core (ceiling)" in run.stdout
    report = json.loads(out.read_text())
    assert report["quick"] is True
    assert report["rounds"] == 1
    assert len(report["load_average"]["start"]) == 3
    figures = ("cpu_ms_square", "cpu_ms_camera", "bare_ms_square", "bare_ms_camera")
    for name, row in report["clips"].items():
        assert all(row[k] > 0 for k in figures), name
        assert row["per_core_ratio"] == row["cpu_ms_square"] / row["cpu_ms_camera"]
        assert row["bare_ratio"] == row["bare_ms_square"] / row["bare_ms_camera"]
        assert row["detections_square"] >= row["matched"] <= row["detections_camera"]
    assert {"416x256", "416x320"} <= set(report["by_input"])
    for summary in report["by_input"].values():
        assert summary["bare_ratio"] > 0
        assert summary["per_core_ratio"] > 0
