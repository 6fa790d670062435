"""MOTChallenge files: accuracy against Roboflow's ByteTrack, the reader's errors, the CLI."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import av
import motmetrics as mm  # type: ignore[import-untyped]
import numpy as np
import pytest
import supervision as sv
from numpy.typing import NDArray
from trackers import ByteTrackTracker

from conftest import shared_path
from tiny_detector import build_bright_detector, render_square
from vsa_stream._core import Tracker
from vsa_stream.cli import main
from vsa_stream.detection import ModelSpec, load_model
from vsa_stream.errors import ConfigError
from vsa_stream.sources.frame import yuv420p_views
from vsa_stream.tracking import MotFrame, MotPredictor, TrackRow, read_mot, track_frames

Boxes = list[tuple[int, list[float]]]

MOT_FLOORS = Path(__file__).parent / "mot_floors.json"
EXAMPLES = Path(__file__).parents[1] / "examples"


def iou_distance(gt: NDArray[np.float64], hyp: NDArray[np.float64]) -> NDArray[np.float64]:
    """``1 - IoU`` between ``(x, y, w, h)`` boxes, NaN (no match) above 0.5 as MOTChallenge."""
    if len(gt) == 0 or len(hyp) == 0:
        return np.empty((len(gt), len(hyp)))
    a0, a1 = gt[:, None, :2], gt[:, None, :2] + gt[:, None, 2:]
    b0, b1 = hyp[None, :, :2], hyp[None, :, :2] + hyp[None, :, 2:]
    wh = np.clip(np.minimum(a1, b1) - np.maximum(a0, b0), 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = (gt[:, 2] * gt[:, 3])[:, None] + (hyp[:, 2] * hyp[:, 3])[None, :] - inter
    distance: NDArray[np.float64] = 1.0 - inter / union
    distance[distance > 0.5] = np.nan
    return distance


def read_gt(path: Path) -> dict[int, Boxes]:
    out: dict[int, Boxes] = {}
    for line in path.read_text().splitlines():
        f = line.split(",")
        if len(f) > 6 and float(f[6]) == 0:  # flagged "ignore"
            continue
        out.setdefault(int(f[0]), []).append((int(f[1]), [float(v) for v in f[2:6]]))
    return out


def mota_idf1(gt: dict[int, Boxes], rows: list[TrackRow], last: int) -> tuple[float, float]:
    hyp: dict[int, Boxes] = {}
    for frame, track_id, xywh in rows:
        hyp.setdefault(frame, []).append((track_id, list(xywh)))
    acc = mm.MOTAccumulator(auto_id=True)
    for frame in range(1, last + 1):
        g, h = gt.get(frame, []), hyp.get(frame, [])
        distance = iou_distance(
            np.array([b for _, b in g]).reshape(-1, 4), np.array([b for _, b in h]).reshape(-1, 4)
        )
        acc.update([i for i, _ in g], [i for i, _ in h], distance)
    summary = mm.metrics.create().compute(acc, metrics=["mota", "idf1"])
    return float(summary["mota"].iloc[0]), float(summary["idf1"].iloc[0])


def roboflow_bytetrack(frames: dict[int, MotFrame], last: int, fps: float) -> list[TrackRow]:
    """``trackers.ByteTrackTracker`` with its defaults; its boxes are the matched detections."""
    tracker = ByteTrackTracker(frame_rate=fps)
    rows: list[TrackRow] = []
    for frame in range(1, last + 1):
        boxes, scores = frames.get(frame, (np.empty((0, 4)), np.empty(0)))
        detections = sv.Detections(
            xyxy=boxes, confidence=scores, class_id=np.zeros(len(scores), int)
        )
        out = tracker.update(detections)
        assert out.tracker_id is not None
        for (x0, y0, x1, y1), track_id in zip(out.xyxy, out.tracker_id, strict=True):
            if track_id >= 0:
                rows.append((frame, int(track_id), (x0, y0, x1 - x0, y1 - y0)))
    return rows


@pytest.mark.shared
@pytest.mark.parametrize("sequence", ["TUD-Campus", "TUD-Stadtmitte"])
def test_mota_and_idf1_at_least_roboflow_bytetrack(sequence: str) -> None:
    folder = shared_path("data", "mot", sequence)
    frames = read_mot(folder / "det.txt")
    gt = read_gt(folder / "gt.txt")
    last = max(max(frames), max(gt))
    ours = mota_idf1(gt, track_frames(frames, Tracker(frame_rate=25.0), last_frame=last), last)
    theirs = mota_idf1(gt, roboflow_bytetrack(frames, last, 25.0), last)
    print(
        f"{sequence}: ours MOTA {ours[0]:.3f} IDF1 {ours[1]:.3f}; "
        f"trackers MOTA {theirs[0]:.3f} IDF1 {theirs[1]:.3f}"
    )
    assert ours[0] >= theirs[0] - 0.005
    assert ours[1] >= theirs[1] - 0.005
    assert ours[0] > 0.55
    assert ours[1] > 0.6


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("1,-1,10,10,20,40", "7 to 10 comma-separated fields"),
        ("1,-1,10,10,20,40,0.9,-1,-1,-1,5", "got 11"),
        ("1,-1,10,ten,20,40,0.9", "not a number: 'ten'"),
        ("1,-1,10,10,0,40,0.9", "width and height must be > 0"),
        ("1,-1,10,10,20,-4,0.9", "width and height must be > 0"),
        ("0,-1,10,10,20,40,0.9", "frame must be a positive integer"),
        ("1.5,-1,10,10,20,40,0.9", "frame must be a positive integer"),
        ("1,-1,10,10,inf,40,0.9", "finite"),
    ],
)
def test_malformed_lines_name_their_line(tmp_path: Path, line: str, message: str) -> None:
    det = tmp_path / "det.txt"
    det.write_text(f"1,-1,10,10,20,40,0.9,-1,-1,-1\n\n{line}\n")
    with pytest.raises(ConfigError, match=message) as info:
        read_mot(det)
    assert info.value.line == 3
    assert str(info.value).startswith(f"{det}:3: ")


def test_cli_tracks_a_small_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    det = tmp_path / "det.txt"
    lines = []
    for frame in range(1, 21):
        if frame == 10:
            continue  # a frame without detections: both objects coast through it
        lines.append(f"{frame},-1,{10 + 3 * frame},50,20,40,0.9,-1,-1,-1")
        lines.append(f"{frame},-1,300,{200 - 2 * frame},30,60,0.8,-1,-1,-1")
        lines.append(f"{frame},-1,500,500,10,10,0.05,-1,-1,-1")  # below --min-score
    det.write_text("\n".join(lines) + "\n")
    out = tmp_path / "tracks.txt"
    assert main(["track", "--mot-det", str(det), "--out", str(out), "--min-score", "0.3"]) == 0
    rows = [line.split(",") for line in out.read_text().splitlines()]
    keys = [(int(r[0]), int(r[1])) for r in rows]
    assert keys == sorted(keys)
    assert {k[1] for k in keys} == {1, 2}
    assert len(rows) == 2 * 19
    assert all(r[6:] == ["1", "-1", "-1", "-1"] for r in rows)
    first = [float(v) for v in rows[0][2:6]]
    np.testing.assert_allclose(first, [13, 50, 20, 40], atol=0.01)
    assert "2 tracks" in capsys.readouterr().err


def test_cli_bad_file_exits_2_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    det = tmp_path / "det.txt"
    det.write_text("1,-1,10,10,20,40,0.9\n1,-1,10,10,20,oops,0.9\n")
    assert main(["track", "--mot-det", str(det), "--out", str(tmp_path / "t.txt")]) == 2
    assert capsys.readouterr().err.startswith(f"error: {det}:2: not a number: 'oops'")
    assert main(["track", "--mot-det", str(tmp_path / "absent"), "--out", "x"]) == 2


@pytest.mark.shared
def test_a_sign_weakly_taken_for_a_person_never_becomes_a_track() -> None:
    # PETS 2009: YOLOX-nano scores a blue sign post at the left edge about 0.5 as a person in
    # nearly every frame; weak detections start tentative tracks, which must not report it.
    model = load_model(ModelSpec(path=str(shared_path("models", "yolox_nano.onnx"))))
    video = shared_path("data", "pets09_s2l1_480x360.avi")
    sign = np.array([24.0, 79.0])
    frames: list[MotFrame] = []
    with av.open(str(video)) as container:
        for frame in itertools.islice(container.decode(video=0), 100):
            found = [d for d in model.detect(*yuv420p_views(frame)) if d.engine_class == "person"]
            boxes = np.array([d.box for d in found], dtype=np.float64).reshape(-1, 4)
            frames.append((boxes, np.array([d.score for d in found], dtype=np.float64)))

    def at_sign(boxes: NDArray[np.float64]) -> NDArray[np.bool_]:
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        near: NDArray[np.bool_] = np.hypot(*(centres - sign).T) < 12
        return near

    weak = sum(bool((at_sign(b) & (s >= 0.3) & (s < 0.6)).any()) for b, s in frames)
    assert weak >= 80, "the detector no longer sees the sign: this test checks nothing"

    def sign_tracked(tracker: Tracker) -> int:
        return sum(bool(at_sign(tracker.update(b, s).boxes).any()) for b, s in frames)

    assert sign_tracked(Tracker(frame_rate=10.0)) == 0
    # The travel condition is what keeps it out.
    assert sign_tracked(Tracker(frame_rate=10.0, tentative_travel=0.0)) > 80


def box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_scan_with_a_detector_on_every_other_frame_writes_moving_boxes_on_every_frame(
    tmp_path: Path,
) -> None:
    # A 30 px wide object moving 8 px per frame; the detector runs at 5/s on a 10 fps video.
    # Between two results the MOT file carries the object on at its velocity: a box held where
    # the last result left it would overlap the object by IoU 0.58 only (the filtered boxes
    # lag the object by a few pixels while the velocity settles: 0.77 at worst).
    video = tmp_path / "square.mp4"
    truth = render_square(video, velocity=(8.0, 0.0), frames=30)
    model = build_bright_detector(tmp_path / "bright.onnx", ["person"])
    config = tmp_path / "c.yaml"
    config.write_text(
        "privacy: {legal_profile: lab}\n"
        f"detectors: [{{id: bright, model: {{path: {model}}}, fps: 5, gating: false}}]\n"
        "cameras: [{id: cam, url: unused.mp4}]\n"
    )
    tracks = tmp_path / "tracks.txt"
    argv = ["scan", str(video), "--config", str(config), "--mot-out", str(tracks)]
    assert main([*argv, "--out", str(tmp_path / "e.jsonl")]) == 0
    rows = read_mot(tracks)
    assert sorted(rows) == list(range(1, len(truth) + 1))  # every frame
    for frame, (boxes, _) in rows.items():
        assert len(boxes) == 1
        if frame >= 3:  # from its second result on, the object's velocity is known
            assert box_iou(tuple(boxes[0]), truth[frame - 1]) > 0.7, frame


def test_predictor_holds_an_object_seen_once_and_stops_moving_after_max_frames() -> None:
    predictor = MotPredictor(max_frames=2)
    predictor.observe(1, [(1, (0.0, 0.0, 10.0, 10.0))])
    assert predictor.predict(2) == [(1, (0.0, 0.0, 10.0, 10.0))]
    predictor.observe(2, [(1, (2.0, 0.0, 12.0, 10.0)), (2, (50.0, 50.0, 60.0, 60.0))])
    assert predictor.predict(9) == [(1, (6.0, 0.0, 16.0, 10.0)), (2, (50.0, 50.0, 60.0, 60.0))]
    predictor.observe(3, [])  # a result without objects: nothing is carried on
    assert predictor.predict(4) == []


def mot_floor(sequence: str) -> dict[str, float]:
    floors: dict[str, dict[str, float]] = json.loads(MOT_FLOORS.read_text())
    return floors[sequence]


@pytest.mark.shared
@pytest.mark.parametrize("sequence", ["TUD-Campus", "TUD-Stadtmitte"])
def test_tracker_keeps_its_mot_floors_on_the_public_detections(sequence: str) -> None:
    folder = shared_path("data", "mot", sequence)
    frames = read_mot(folder / "det.txt")
    gt = read_gt(folder / "gt.txt")
    last = max(max(frames), max(gt))
    rows = track_frames(frames, Tracker(frame_rate=25.0), last_frame=last)
    mota, idf1 = mota_idf1(gt, rows, last)
    floor = mot_floor(sequence)
    assert mota >= floor["min_mota"], f"{sequence}: MOTA {mota:.3f}"
    assert idf1 >= floor["min_idf1"], f"{sequence}: IDF1 {idf1:.3f}"


@pytest.mark.shared
def test_pets_example_scan_keeps_its_mot_floor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # examples/pets.yaml as shipped (YOLOX-nano, the tracker's defaults) on PETS 2009 S2.L1,
    # every frame of the scan's MOT file against the MOT15 public detections taken as truth (the
    # ground truth itself is not in ../shared): the score follows the ground truth's closely
    # (before the sign-post fix 0.690 here, 0.698 against the ground truth; after 0.801 and
    # 0.805; docs/eval.md).
    monkeypatch.setenv("VSA_MODELS", str(shared_path("models", "yolox_nano.onnx").parent))
    video = shared_path("data", "pets09_s2l1_480x360.avi")
    tracks = tmp_path / "tracks.txt"
    argv = ["scan", str(video), "--config", str(EXAMPLES / "pets.yaml"), "--mot-out", str(tracks)]
    assert main([*argv, "--mot-classes", "person", "--out", str(tmp_path / "e.jsonl")]) == 0
    scale = 480 / 768  # MOT15 boxes are in the original 768x576 frames
    truth: dict[int, Boxes] = {}
    detections = shared_path("data", "mot", "PETS09-S2L1", "det.txt").read_text().splitlines()
    for k, line in enumerate(detections):
        f = line.split(",")
        truth.setdefault(int(f[0]), []).append((k, [float(v) * scale for v in f[2:6]]))
    rows = [
        (frame, int(i), (b[0], b[1], b[2] - b[0], b[3] - b[1]))
        for frame, (boxes, ids) in read_tracks(tracks).items()
        for b, i in zip(boxes.tolist(), ids, strict=True)
    ]
    mota, _ = mota_idf1(truth, rows, 795)  # detections have no identities: no IDF1
    assert mota >= mot_floor("PETS09-S2L1")["min_mota"], f"PETS09-S2L1: MOTA {mota:.3f}"


def read_tracks(path: Path) -> dict[int, tuple[NDArray[np.float64], list[int]]]:
    """A MOT tracks file: frame -> ((N, 4) boxes ``(x0, y0, x1, y1)``, ids)."""
    out: dict[int, tuple[list[list[float]], list[int]]] = {}
    for line in path.read_text().splitlines():
        f = line.split(",")
        x, y, w, h = (float(v) for v in f[2:6])
        boxes, ids = out.setdefault(int(f[0]), ([], []))
        boxes.append([x, y, x + w, y + h])
        ids.append(int(f[1]))
    return {k: (np.array(b, dtype=np.float64), i) for k, (b, i) in out.items()}
