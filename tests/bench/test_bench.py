"""``vsa-stream bench``: the quick runs write the report a performance tester reads.

No timed assertion: the figures are whatever the machine gives; what is checked is that each
part runs, reports every figure it promises, and says what to install when an anchor is missing.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import SHARED, shared_path
from vsa_stream.bench.common import Steps
from vsa_stream.bench.pipeline import Trial, search
from vsa_stream.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


def _report(out: Path, part: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((out / f"{part}.json").read_text())
    assert (out / f"{part}.png").read_bytes().startswith(PNG)
    assert report["benchmark"] == part
    assert report["quick"] is True
    machine, versions = report["machine"], report["versions"]
    assert machine["cpu_model"]
    assert machine["cores"] >= 1
    assert machine["kernels"] in ("avx2", "baseline")  # which copy of the kernels ran
    for name in ("vsa_stream", "numpy", "av", "onnxruntime", "opencv"):
        assert versions[name], name
    assert report["git"]
    return report


def test_kernels_quick_tracker_reports_speed_ratio_and_accuracy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["bench", "kernels", "--quick", "--only", "tracker", "--out", str(tmp_path),
         "--no-progress"]
    )  # fmt: skip
    assert code == 0
    report = _report(tmp_path, "kernels")
    rows = report["rows"]
    assert [r["size"] for r in rows] == ["20 objects", "100 objects", "400 objects"]
    for r in rows:
        assert r["anchor"] == "trackers.ByteTrackTracker"
        assert r["ratio"] == pytest.approx(r["anchor_ms"] / r["ours_ms"])
        assert r["ours_per_s"] == pytest.approx(1e3 / r["ours_ms"])
        for key in ("mota_ours", "mota_anchor", "idf1_ours", "idf1_anchor"):
            assert 0.0 < r["metrics"][key] <= 1.0
    table = capsys.readouterr().out
    assert "| tracker: Tracker.update | 400 objects |" in table
    assert "MOTA" in table


def test_kernels_quick_flow_and_prepost_agree_with_their_anchors(tmp_path: Path) -> None:
    assert main(["bench", "kernels", "--quick", "--only", "flow,prepost", "--out",
                 str(tmp_path), "--no-progress"]) == 0  # fmt: skip
    rows = _report(tmp_path, "kernels")["rows"]
    flow = [r for r in rows if r["kernel"] == "flow" and not r["size"].startswith("real")]
    assert {r["anchor"] for r in flow} == {"DIS ultrafast", "DIS fast", "Farneback"}
    assert {r["size"] for r in flow} == {"320x180", "640x360", "1280x720"}
    # warped real frames: the error over every cell, and the share of confident cells
    real = [r for r in rows if r["kernel"] == "flow" and r["size"].startswith("real")]
    assert real or not Path("..", "shared").exists()
    assert {r["anchor"] for r in real} <= {"DIS fast", "DIS ultrafast"}
    for r in real:
        assert 0.0 <= r["metrics"]["confident_share"] <= 1.0
        assert r["metrics"]["epe_all_ours_px"] >= 0.0
        assert r["metrics"]["epe_all_anchor_px"] >= 0.0
    for r in flow:  # known motion: every method is within a fraction of a pixel
        assert r["metrics"]["epe_ours_px"] < 0.5
        assert r["metrics"]["epe_anchor_px"] < 0.5
    post = [r for r in rows if r["ours"] == "decode_yolox + NMS"]
    assert len([r for r in post if "synthetic" in r["size"]]) == 3
    has_model = (SHARED / "models" / "yolox_nano.onnx").exists()  # then also real outputs
    assert len([r for r in post if "real" in r["size"]]) == int(has_model)
    for r in post:
        assert r["metrics"]["detections_ours"] == r["metrics"]["detections_anchor"]


def test_kernels_quick_camera_shift_agrees_with_numpy(tmp_path: Path) -> None:
    assert main(["bench", "kernels", "--quick", "--only", "camera", "--out", str(tmp_path),
                 "--no-progress"]) == 0  # fmt: skip
    rows = _report(tmp_path, "kernels")["rows"]
    assert {r["size"] for r in rows} == {"320x180", "640x360", "1280x720"}
    same_work = [r for r in rows if r["anchor"].startswith("numpy")]
    assert len(same_work) == 3
    for r in same_work:  # the shaking camera moved, and each frame got numpy's shift
        assert r["metrics"]["same"] == r["metrics"]["frames"] == 8
        assert "moved" in r["accuracy"]
        assert "(0 moved)" not in r["accuracy"]
    assert any("mixed-radix" in r["ours"] for r in rows)  # 320x180: a 90-point square
    assert any("radix-2" in r["ours"] for r in rows)  # 640x360, 1280x720: 128 points
    assert any("OpenCV phaseCorrelate" in r["anchor"] for r in rows)


def test_missing_anchor_names_the_bench_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "trackers", None)  # as if not installed
    code = main(["bench", "kernels", "--quick", "--only", "tracker", "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "'trackers'" in err
    assert "pip install 'vsa-stream[bench]'" in err
    assert not (tmp_path / "kernels.json").exists()


def test_unknown_group_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "kernels", "--only", "tracker,optical"]) == 2
    assert "unknown group 'optical'" in capsys.readouterr().err


def test_pipeline_quick_measures_capacity_latency_and_ceiling(tmp_path: Path) -> None:
    code = main(
        ["bench", "pipeline", "--quick", "--modes", "ceiling,motion", "--max-streams", "1",
         "--out", str(tmp_path), "--no-progress"]
    )  # fmt: skip
    assert code == 0
    report = _report(tmp_path, "pipeline")
    assert report["stream"]["width"] == 1280
    assert report["stream"]["fps"] == 25.0
    assert set(report["modes"]) == {"ceiling", "motion"}
    for mode in report["modes"].values():
        assert mode["capacity"] in (0, 1)
        for t in mode["trials"]:
            assert t["streams"] == 1
            assert t["expected"] > 0
            assert t["window_s"] > 0
    motion = report["modes"]["motion"]["trials"][0]
    assert len(motion["latencies_s"]) == motion["onsets"]
    assert "efficiency" in report


def test_pipeline_trial_as_two_processes_sums_what_both_did(tmp_path: Path) -> None:
    """``motion-2p``: two engine processes, one stream each, over one window; the trial's
    figures are the sums of both processes', and it passes only when both did."""
    from vsa_stream.bench import pipeline
    from vsa_stream.bench.cli import _modes
    from vsa_stream.synth import render

    assert _modes("ceiling,motion,motion-2p") == ("ceiling", "motion", "motion-2p")
    with pytest.raises(ValueError, match="motion-0p"):
        _modes("motion-0p")
    assert pipeline.shares(5, 2) == [3, 2]
    assert pipeline.shares(1, 2) == [1]  # never a process without a stream
    video = tmp_path / "intruder.mp4"
    truth = render("intruder", video, width=640, height=360, duration_s=9.0, encoding="camera")
    s = pipeline.Settings.quick(None)
    trial = pipeline.isolated("motion-2p", 2, video, s, truth.n_frames / truth.fps,
                              truth.events[0].start_s)  # fmt: skip
    assert trial.mode == "motion-2p"
    assert trial.streams == 2
    parts = trial.parts
    assert [p["streams"] for p in parts] == [1, 1]
    assert all(p["mode"] == "motion" and p["decoded"] > 0 for p in parts)
    for name in ("decoded", "expected", "analysed", "dropped", "onsets", "alerts"):
        assert getattr(trial, name) == sum(p[name] for p in parts), name
    assert trial.cpu_cores == pytest.approx(sum(p["cpu_cores"] for p in parts))
    assert trial.expected > 0
    assert trial.cpu_cores > 0
    assert trial.ok == all(p["ok"] for p in parts)
    assert len(trial.latencies_s) == trial.onsets


def test_alerts_quick_reports_delivery_against_bare_httpx(tmp_path: Path) -> None:
    assert main(["bench", "alerts", "--quick", "--out", str(tmp_path), "--no-progress"]) == 0
    report = _report(tmp_path, "alerts")
    runs = [r["run"] for r in report["rows"]]
    assert runs[-1] == "anchor: bare httpx POSTs"
    assert all(r["per_s"] > 0 for r in report["rows"])


def test_trial_verdicts_follow_the_criteria() -> None:
    ok = Trial("motion", 4, expected=1000, decoded=1000, analysed=400, dropped=3,
               latencies_s=[0.1] * 19 + [0.5])  # fmt: skip
    ok.judge()
    assert ok.ok
    assert ok.p95_s == pytest.approx(0.1)
    missed = Trial("motion", 4, expected=1000, decoded=1000, analysed=400,
                   latencies_s=[0.1] * 10 + [math.inf])  # fmt: skip
    missed.judge()
    assert not missed.ok
    assert "p95 latency" in missed.why
    dropping = Trial("motion", 4, expected=1000, decoded=995, analysed=400, dropped=5,
                     latencies_s=[0.1])  # fmt: skip
    dropping.judge()
    assert not dropping.ok
    assert "dropped" in dropping.why
    jitter = Trial("ceiling", 8, expected=1000, decoded=920)  # 0.4 s late at the end
    jitter.judge()
    assert jitter.ok
    behind = Trial("ceiling", 8, expected=1000, decoded=880)
    behind.judge()
    assert not behind.ok
    assert "real time" in behind.why


def test_search_finds_the_largest_passing_count() -> None:
    tried: list[int] = []

    def trial(n: int) -> Trial:
        tried.append(n)
        t = Trial("ceiling", n, expected=1000 * n, decoded=1000 * n if n <= 11 else 50)
        t.judge()
        return t

    capacity, trials = search(trial, 1, 64, Steps(None, None), "x")
    assert capacity == 11
    assert tried[:6] == [1, 2, 4, 8, 16, 16]  # a failure is confirmed once
    assert len(tried) <= 12
    assert [t.streams for t in trials] == sorted(tried)
    assert [t.retry for t in trials if t.streams == 16] == [False, True]
    assert search(trial, 20, 64, Steps(None, None), "x")[0] == 11  # down from a high hint


def test_search_runs_a_failed_trial_again_before_giving_up() -> None:
    flaky = {4: 1}  # the first trial of 4 streams meets a neighbour's burst

    def trial(n: int) -> Trial:
        bad = n > 5 or flaky.get(n, 0) > 0
        flaky[n] = flaky.get(n, 0) - 1
        t = Trial("ceiling", n, expected=1000 * n, decoded=10 if bad else 1000 * n)
        t.judge()
        return t

    capacity, trials = search(trial, 1, 64, Steps(None, None), "x")
    assert capacity == 5
    four = [t for t in trials if t.streams == 4]
    assert [(t.ok, t.retry) for t in four] == [(False, False), (True, True)]


def test_scan_bench_compares_with_a_decode_of_the_same_settings(tmp_path: Path) -> None:
    """The scan figures are fair: each engine row is compared with a bare decode of exactly
    its decoder settings (the scan's frame threads, or a live camera's own threads), the other
    decodes are labelled references, a probe says how much of a second core the machine gave,
    and every run reports its CPU per frame, the all-signals camera included, with the load
    average."""
    assert main(["bench", "scan", "--quick", "--out", str(tmp_path), "--no-progress"]) == 0
    report = _report(tmp_path, "scan")
    anchor, live = report["anchor"], report["live_anchor"]
    assert "skip_loop_filter + frame threads" in anchor
    assert "live camera" in live
    assert "frame threads" not in live
    runs = report["runs"]
    assert runs[anchor]["ratio_to_anchor"] == pytest.approx(1.0)
    assert runs[live]["ratio_to_anchor"] == pytest.approx(1.0)
    references = [name for name in runs if name.startswith("pyav decode")]
    assert all("reference" in name for name in set(references) - {anchor, live})
    engine_rows = [name for name in runs if name.startswith("engine")]
    for settings in (anchor, live):  # each anchor's rows: default rate, every frame, all signals
        own = [name for name in engine_rows if runs[name]["anchor"] == settings]
        assert len(own) == 3
        assert any("all signals" in name for name in own)
    probe = [name for name in runs if name.startswith("probe")]
    assert len(probe) == 1
    assert runs[probe[0]]["anchor"] == live
    for name in runs:
        assert runs[name]["cpu_ms_per_frame"] > 0
        assert runs[name]["ratio_to_anchor"] > 0
    assert len(report["load_average_start"]) == 3
    assert len(report["load_average_end"]) == 3
    # where a live camera's CPU goes, by thread (Linux), with the bound a free core allows
    split = report["live_threads"]
    assert set(split) == {"analysis 10 fps, the default", "every frame", "all signals, 10 fps"}
    for row in split.values():
        # the quick clip is too short for the clock ticks to say (None): never a wild figure
        assert row["bound_with_a_free_core"] is None or 0 < row["bound_with_a_free_core"] < 3
        assert row["bare_decode_ms_per_frame"] > 0
    stages = report["stages"]["all signals"]
    assert {"fire", "flow", "static_objects"} <= set(stages["signals"])
    assert {"motion", "flow", "fire", "background", "rest", "total"} <= set(
        stages["ms_per_analysed_frame"]
    )


def test_detector_quick_reports_the_camera_shaped_input_beside_its_ceiling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Item 3's figure in ``bench all``: per camera input, the engine's detections per core
    at the camera's shape over the square (the whole ``Model.detect``), beside a bare
    onnxruntime loop's (the model's own gain, its anchor), with how far the two inputs'
    detections agree and the load average."""
    model = shared_path("models", "yolox_nano.onnx")
    code = main(
        ["bench", "detector", "--quick", "--out", str(tmp_path), "--no-progress",
         "--model", str(model), "--shared", str(SHARED)]
    )  # fmt: skip
    assert code == 0
    report = _report(tmp_path, "detector")
    assert report["rounds"] == 1
    assert len(report["load_average"]["start"]) == 3
    clips = report["clips"]
    assert len(clips) == 3
    for name, row in clips.items():
        figures = ("cpu_ms_square", "cpu_ms_camera", "bare_ms_square", "bare_ms_camera")
        assert all(row[k] > 0 for k in figures), name
        assert row["per_core_ratio"] == pytest.approx(row["cpu_ms_square"] / row["cpu_ms_camera"])
        assert row["bare_ratio"] == pytest.approx(row["bare_ms_square"] / row["bare_ms_camera"])
        assert row["detections_square"] >= row["matched"] <= row["detections_camera"]
    # PETS09's walkers: the 416x320 input finds what the square finds
    pets = clips["pets09_s2l1_480x360.avi"]
    assert pets["input_camera"] == "416x320"
    assert pets["detections_square"] >= 10
    assert pets["matched_share"] >= 0.9
    assert {"416x256", "416x320"} <= set(report["by_input"])
    table = capsys.readouterr().out
    assert "| 416x256 | 1 | 4 |" in table
    assert "bare per core (ceiling)" in table


def test_detector_without_its_model_says_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.onnx"
    code = main(
        ["bench", "detector", "--quick", "--out", str(tmp_path), "--no-progress",
         "--model", str(missing)]
    )  # fmt: skip
    assert code == 0
    report = _report(tmp_path, "detector")
    assert str(missing) in report["skipped"]
    assert report["clips"] == {}
    assert f"Skipped: no {missing}" in capsys.readouterr().out


def test_capacity_reports_cpu_per_stream_beside_the_ceiling() -> None:
    """At equal stream counts, the engine's CPU per stream is set beside bare decoding's; only
    trials that sustained their streams count (a failed one did less work)."""
    from vsa_stream.bench.pipeline import cpu_per_stream

    modes = {
        "ceiling": {
            "trials": [
                {"streams": 2, "window_s": 10.0, "cpu_cores": 0.5, "ok": True},
                {"streams": 8, "window_s": 10.0, "cpu_cores": 1.9, "ok": False},
            ]
        },
        "motion": {
            "trials": [
                {"streams": 2, "window_s": 10.0, "cpu_cores": 0.6, "ok": False},
                {"streams": 2, "window_s": 10.0, "cpu_cores": 0.8, "ok": True},
                {"streams": 4, "window_s": 10.0, "cpu_cores": 1.6, "ok": True},
                {"streams": 8, "window_s": 10.0, "cpu_cores": 1.8, "ok": False},
            ]
        },
    }
    rows = cpu_per_stream(modes)
    assert rows == [
        {
            "mode": "motion",
            "streams": 2,
            "cpu_per_stream": 0.4,
            "ceiling_cpu_per_stream": 0.25,
            "ratio": pytest.approx(1.6),
        }
    ]


def test_thread_cpu_is_attributed_to_the_thread_that_spent_it() -> None:
    """The live split's monitor charges CPU to the thread that burnt it, by name: a busy
    thread shows its work, a sleeping one none."""
    import threading
    import time

    from vsa_stream.bench.threadcpu import ThreadMonitor

    def busy() -> None:
        end = time.thread_time() + 0.3
        while time.thread_time() < end:
            pass

    with ThreadMonitor() as monitor:
        threads = [
            threading.Thread(target=busy, name="busy-a"),
            threading.Thread(target=time.sleep, args=(0.3,), name="idle-a"),
        ]
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            monitor.poll()
        for thread in threads:
            thread.join()
    assert monitor.seconds("busy-") >= 0.2
    assert monitor.seconds("idle-") < 0.05
