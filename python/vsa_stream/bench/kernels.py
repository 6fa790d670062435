"""``vsa-stream bench kernels``: each Rust kernel next to its anchor, one thread, three sizes.

Groups (``--only`` picks some):

* ``background``: ``DualBackground.update`` (both models, masks, clean-up, blobs, tamper,
  static evidence) against OpenCV MOG2 followed by ``connectedComponentsWithStats`` on the
  same /4 area downscale our model works on (the fair anchor), and, labelled as a reference
  only, at full resolution;
* ``flow``: ``MotionField.update`` (16-px grid, pyramidal Lucas-Kanade) against OpenCV DIS
  (ultrafast, fast) and Farneback, with the mean endpoint error of each over our confident
  cells on synthetic frame pairs of known motion (:mod:`~vsa_stream.bench.flow_synth`); then
  against DIS fast and ultrafast on real frames of ``../shared`` (``$VSA_BENCH_SHARED``)
  warped by a known motion, with the error over *all* cells, the share of confident cells
  and the error over those;
* ``tracker``: ``Tracker.update`` against ``trackers.ByteTrackTracker`` on 20, 100 and 400
  moving boxes, with MOTA and IDF1 of both (motmetrics);
* ``zones``: ``boxes_in_polygon`` against ``supervision.PolygonZone.trigger``, and
  ``LineCounter.update`` against ``supervision.LineZone.trigger``;
* ``prepost``: detector pre-processing (``preprocess_yuv420p``) against OpenCV colour
  conversion + resize + letterbox + numpy normalisation, and YOLOX decode + NMS against numpy;
* ``camera``: the camera-motion check, ``CameraShift.shift``, against the same phase
  correlation in numpy (the engine's former implementation: the same work, the same answers,
  counted), and, labelled a reference only, OpenCV's ``phaseCorrelate`` on the same
  half-resolution squares (it transforms both frames at every call and locates the peak to a
  sub-pixel).

Both sides get the same pre-built inputs (``supervision.Detections`` are built outside the
timed region); rounds are interleaved and the best round of each side counts. The ratio is
anchor time / our time: above 1, the kernel is faster.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vsa_stream import _core
from vsa_stream.bench.common import Steps, anchor, best_of, fmt, table
from vsa_stream.bench.flow_synth import (
    REAL_CLIPS,
    endpoint_error,
    make_sequences,
    real_sequences,
    sample_dense,
)
from vsa_stream.bench.references import (
    NumpyShift,
    numpy_yolox,
    opencv_preprocess,
)
from vsa_stream.bench.scenes import BoxFrame, boxes_scene, walking_clip, yolox_like_output

__all__ = ["GROUPS", "markdown", "run"]

GROUPS: tuple[str, ...] = ("background", "flow", "tracker", "zones", "prepost", "camera")
F64 = NDArray[np.float64]
Row = dict[str, Any]
SIZES = ((320, 180), (640, 360), (1280, 720))


class _Plan:
    """How much work each group does: full, or a quick run that only proves it works."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.rounds = 1 if quick else 5
        self.bg_frames = 8 if quick else 60
        self.flow_rounds = 1 if quick else 8
        self.track_frames = 15 if quick else 300
        self.polygon_boxes = (100, 1_000, 10_000)
        self.repeat = 2 if quick else 20
        self.objects = (20, 100, 400)
        self.shift_frames = 8 if quick else 100


def _row(
    kernel: str,
    size: str,
    ours: str,
    ours_s: float,
    anchor_name: str,
    anchor_s: float,
    calls: int,
    accuracy: str = "-",
    **metrics: float | int | str | None,
) -> Row:
    return {
        "kernel": kernel,
        "size": size,
        "ours": ours,
        "anchor": anchor_name,
        "ours_ms": 1e3 * ours_s / calls,
        "ours_per_s": calls / ours_s,
        "anchor_ms": 1e3 * anchor_s / calls,
        "anchor_per_s": calls / anchor_s,
        "ratio": anchor_s / ours_s,
        "accuracy": accuracy,
        "metrics": metrics,
    }


def _interleaved(
    cases: dict[str, Callable[[], object]], rounds: int, repeat: int = 1
) -> dict[str, float]:
    """Best seconds of each case, the cases taking turns round after round."""
    best = dict.fromkeys(cases, math.inf)
    for _ in range(rounds):
        for name, fn in cases.items():
            best[name] = min(best[name], best_of(fn, repeat))
    return best


# --- background ---------------------------------------------------------------------------


def background(plan: _Plan, steps: Steps) -> list[Row]:
    """DualBackground against MOG2 (+ connected components), full resolution and /4."""
    cv2 = anchor("cv2")
    rows: list[Row] = []
    for w, h in SIZES:
        steps.step(f"background {w}x{h}")
        frames = walking_clip(plan.bg_frames, w, h)

        def ours(frames: list[NDArray[np.uint8]] = frames, w: int = w, h: int = h) -> None:
            bg = _core.DualBackground(w, h)
            for f in frames:
                bg.update(f)

        def mog2(frames: list[NDArray[np.uint8]] = frames, factor: int = 1) -> None:
            mog = cv2.createBackgroundSubtractorMOG2()
            size = (frames[0].shape[1] // factor, frames[0].shape[0] // factor)
            for f in frames:
                small = f if factor == 1 else cv2.resize(f, size, interpolation=cv2.INTER_AREA)
                cv2.connectedComponentsWithStats(mog.apply(small), connectivity=8)

        best = _interleaved(
            {"ours": ours, "mog2": mog2, "mog2_4": partial(mog2, factor=4)}, plan.rounds
        )
        for name, label in (
            # the fair anchor: MOG2 on the same /4 downscale as ours
            ("mog2_4", "resize /4 + MOG2 + components (same scale)"),
            ("mog2", "MOG2 + components, full size (reference only: 16x the pixels)"),
        ):
            rows.append(
                _row(
                    "background",
                    f"{w}x{h}",
                    "DualBackground.update",
                    best["ours"],
                    label,
                    best[name],
                    len(frames),
                )
            )
        steps.done()
    return rows


# --- flow ---------------------------------------------------------------------------------


def flow(plan: _Plan, steps: Steps) -> list[Row]:
    """MotionField against DIS ultrafast, DIS fast and Farneback: time and endpoint error."""
    cv2 = anchor("cv2")
    cell = 16
    rows: list[Row] = []
    for w, h in SIZES:
        steps.step(f"flow {w}x{h}")
        seqs = make_sequences(width=w, height=h)
        field = _core.MotionField(w, h, cell=cell)
        dense = np.zeros((h, w, 2), np.float32)
        anchors: dict[str, Callable[[NDArray[np.uint8], NDArray[np.uint8]], Any]] = {
            "DIS ultrafast": partial(
                cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST).calc, flow=dense
            ),
            "DIS fast": partial(
                cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_FAST).calc, flow=dense
            ),
            "Farneback": lambda a, b: cv2.calcOpticalFlowFarneback(
                a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0
            ),
        }
        # Time per frame pair; the best round (mean over the pairs) of each method counts.
        best = dict.fromkeys(["ours", *anchors], math.inf)
        for _ in range(plan.flow_rounds):
            spent = dict.fromkeys(best, 0.0)
            for seq in seqs:
                field.reset()
                field.update(seq.prev)
                t0 = time.perf_counter()
                field.update(seq.next)
                spent["ours"] += time.perf_counter() - t0
                for name, calc in anchors.items():
                    t0 = time.perf_counter()
                    calc(seq.prev, seq.next)
                    spent[name] += time.perf_counter() - t0
            for name in best:
                best[name] = min(best[name], spent[name])
        # Accuracy: mean endpoint error over our confident cells, every sequence.
        errors: dict[str, list[float]] = {name: [] for name in best}
        for seq in seqs:
            field.reset()
            field.update(seq.prev)
            result = field.update(seq.next)
            assert result is not None
            mask = result.confidence >= 0.25
            errors["ours"].append(endpoint_error(result.flow.astype(np.float64), seq, cell, mask))
            for name, calc in anchors.items():
                out = np.asarray(calc(seq.prev, seq.next), np.float32)
                sampled = sample_dense(out, result.rows, result.cols, cell)
                errors[name].append(endpoint_error(sampled, seq, cell, mask))
        epe = {name: float(np.nanmean(v)) for name, v in errors.items()}
        for name in anchors:
            rows.append(
                _row(
                    "flow",
                    f"{w}x{h}",
                    "MotionField.update",
                    best["ours"],
                    name,
                    best[name],
                    len(seqs),
                    f"EPE {epe['ours']:.2f} vs {epe[name]:.2f} px",
                    epe_ours_px=epe["ours"],
                    epe_anchor_px=epe[name],
                )
            )
        steps.done()
    return rows


def shared_folder() -> str:
    """Where the real clips are: ``$VSA_BENCH_SHARED``, else ``../shared`` (a checkout)."""
    return os.environ.get("VSA_BENCH_SHARED", os.path.join("..", "shared"))


def _real_frame(path: str, index: int = 50) -> NDArray[np.uint8] | None:
    """Luma of frame ``index`` of ``path`` (None when the clip is not there)."""
    if not os.path.exists(path):
        return None
    av = anchor("av")
    with av.open(path) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i == index:
                return np.ascontiguousarray(frame.to_ndarray(format="gray"))
    return None


def flow_real(plan: _Plan, steps: Steps) -> list[Row]:
    """MotionField against DIS fast and ultrafast on warped real frames: time, the endpoint
    error over *all* cells (what the rules receive), the share of confident cells and the
    error over them. A clip missing from ``../shared`` is left out, with a note."""
    cv2 = anchor("cv2")
    cell = 16
    rows: list[Row] = []
    for label, rel in REAL_CLIPS:
        steps.step(f"flow on real frames: {label}")
        frame = _real_frame(os.path.join(shared_folder(), rel))
        if frame is None:
            steps.done()
            continue
        seqs = real_sequences(frame, label)
        h, w = seqs[0].prev.shape
        field = _core.MotionField(w, h, cell=cell)
        dense = np.zeros((h, w, 2), np.float32)
        anchors: dict[str, Callable[[NDArray[np.uint8], NDArray[np.uint8]], Any]] = {
            "DIS fast": partial(
                cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_FAST).calc, flow=dense
            ),
            "DIS ultrafast": partial(
                cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST).calc, flow=dense
            ),
        }
        best = dict.fromkeys(["ours", *anchors], math.inf)
        for _ in range(plan.flow_rounds):
            spent = dict.fromkeys(best, 0.0)
            for seq in seqs:
                field.reset()
                field.update(seq.prev)
                t0 = time.perf_counter()
                field.update(seq.next)
                spent["ours"] += time.perf_counter() - t0
                for name, calc in anchors.items():
                    t0 = time.perf_counter()
                    calc(seq.prev, seq.next)
                    spent[name] += time.perf_counter() - t0
            for name in best:
                best[name] = min(best[name], spent[name])
        every: dict[str, list[float]] = {name: [] for name in best}
        confident: dict[str, list[float]] = {name: [] for name in best}
        shares: list[float] = []
        for seq in seqs:
            field.reset()
            field.update(seq.prev)
            result = field.update(seq.next)
            assert result is not None
            mask = result.confidence >= 0.25
            shares.append(float(mask.mean()))
            whole = np.ones_like(mask)
            ours = result.flow.astype(np.float64)
            every["ours"].append(endpoint_error(ours, seq, cell, whole))
            confident["ours"].append(endpoint_error(ours, seq, cell, mask))
            for name, calc in anchors.items():
                out = np.asarray(calc(seq.prev, seq.next), np.float32)
                sampled = sample_dense(out, result.rows, result.cols, cell)
                every[name].append(endpoint_error(sampled, seq, cell, whole))
                confident[name].append(endpoint_error(sampled, seq, cell, mask))
        epe = {name: float(np.mean(v)) for name, v in every.items()}
        epe_conf = {name: float(np.nanmean(v)) for name, v in confident.items()}
        share = float(np.mean(shares))
        for name in anchors:
            rows.append(
                _row(
                    "flow",
                    f"real {label} {w}x{h}",
                    "MotionField.update",
                    best["ours"],
                    name,
                    best[name],
                    len(seqs),
                    f"EPE all cells {epe['ours']:.2f} vs {epe[name]:.2f} px; "
                    f"{100 * share:.0f} % confident: {epe_conf['ours']:.2f} vs "
                    f"{epe_conf[name]:.2f} px",
                    epe_all_ours_px=epe["ours"],
                    epe_all_anchor_px=epe[name],
                    confident_share=share,
                    epe_confident_ours_px=epe_conf["ours"],
                    epe_confident_anchor_px=epe_conf[name],
                )
            )
        steps.done()
    return rows


# --- tracker ------------------------------------------------------------------------------


def _iou_distance(gt: F64, hyp: F64) -> F64:
    """``1 - IoU`` between ``(x0, y0, x1, y1)`` boxes, NaN (no match) above 0.5."""
    if len(gt) == 0 or len(hyp) == 0:
        return np.empty((len(gt), len(hyp)))
    lo = np.maximum(gt[:, None, :2], hyp[None, :, :2])
    hi = np.minimum(gt[:, None, 2:], hyp[None, :, 2:])
    wh = np.clip(hi - lo, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_g = (gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1])
    area_h = (hyp[:, 2] - hyp[:, 0]) * (hyp[:, 3] - hyp[:, 1])
    distance: F64 = 1.0 - inter / (area_g[:, None] + area_h[None, :] - inter)
    distance[distance > 0.5] = np.nan
    return distance


def _mota_idf1(frames: list[BoxFrame], hyps: list[tuple[NDArray[np.int64], F64]]) -> list[float]:
    mm = anchor("motmetrics")
    acc = mm.MOTAccumulator(auto_id=True)
    for f, (ids, boxes) in zip(frames, hyps, strict=True):
        acc.update(f.truth_ids.tolist(), ids.tolist(), _iou_distance(f.truth, boxes))
    summary = mm.metrics.create().compute(acc, metrics=["mota", "idf1"], name="run")
    return [float(summary["mota"].iloc[0]), float(summary["idf1"].iloc[0])]


def tracker(plan: _Plan, steps: Steps) -> list[Row]:
    """Tracker against trackers.ByteTrackTracker: updates/s, MOTA and IDF1 of both."""
    sv = anchor("supervision")
    trackers = anchor("trackers")
    rows: list[Row] = []
    for n in plan.objects:
        steps.step(f"tracker {n} objects")
        frames = boxes_scene(n, plan.track_frames, seed=n)
        detections = [
            sv.Detections(xyxy=f.boxes, confidence=f.scores, class_id=np.zeros(len(f.scores), int))
            for f in frames
        ]

        def ours(frames: list[BoxFrame] = frames) -> list[tuple[NDArray[np.int64], F64]]:
            t = _core.Tracker(frame_rate=30.0)
            out = []
            for f in frames:
                batch = t.update(f.boxes, f.scores)
                out.append((batch.ids, batch.boxes))
            return out

        def theirs(detections: list[Any] = detections) -> list[tuple[NDArray[np.int64], F64]]:
            t = trackers.ByteTrackTracker(frame_rate=30.0)
            out = []
            for d in detections:
                r = t.update(d)
                keep = r.tracker_id >= 0
                out.append((np.asarray(r.tracker_id[keep]), np.asarray(r.xyxy[keep])))
            return out

        best = _interleaved({"ours": ours, "theirs": theirs}, plan.rounds)
        ours_acc, theirs_acc = _mota_idf1(frames, ours()), _mota_idf1(frames, theirs())
        rows.append(
            _row(
                "tracker",
                f"{n} objects",
                "Tracker.update",
                best["ours"],
                "trackers.ByteTrackTracker",
                best["theirs"],
                len(frames),
                f"MOTA {ours_acc[0]:.3f} vs {theirs_acc[0]:.3f}, "
                f"IDF1 {ours_acc[1]:.3f} vs {theirs_acc[1]:.3f}",
                mota_ours=ours_acc[0],
                mota_anchor=theirs_acc[0],
                idf1_ours=ours_acc[1],
                idf1_anchor=theirs_acc[1],
            )
        )
        steps.done()
    return rows


# --- zones and lines ----------------------------------------------------------------------


def zones(plan: _Plan, steps: Steps) -> list[Row]:
    """boxes_in_polygon vs PolygonZone; LineCounter vs LineZone; agreement of the answers."""
    sv = anchor("supervision")
    rows: list[Row] = []
    rng = np.random.default_rng(0)
    angles = 2 * np.pi * (np.arange(16) + 0.8 * rng.random(16)) / 16
    radii = rng.uniform(100, 300, 16)
    polygon: F64 = np.round(
        np.stack([640 + radii * np.cos(angles), 360 + radii * np.sin(angles)], 1)
    ).astype(np.float64)
    zone = sv.PolygonZone(
        polygon=polygon.astype(np.int64), triggering_anchors=(sv.Position.BOTTOM_CENTER,)
    )
    for n in plan.polygon_boxes:
        steps.step(f"zones: polygon, {n} boxes")
        x0, y0 = rng.uniform(0, 1240, n), rng.uniform(0, 620, n)
        boxes: F64 = np.stack([x0, y0, x0 + 40, y0 + 100], 1).round() + 0.5  # off the grid
        dets = sv.Detections(xyxy=boxes)
        best = _interleaved(
            {
                "ours": partial(_core.boxes_in_polygon, boxes, polygon),
                "theirs": partial(zone.trigger, dets),
            },
            plan.rounds,
            plan.repeat,
        )
        agree = float(
            (_core.boxes_in_polygon(boxes, polygon) == np.asarray(zone.trigger(dets))).mean()
        )
        rows.append(
            _row(
                "zones",
                f"{n} boxes",
                "boxes_in_polygon",
                best["ours"],
                "supervision PolygonZone.trigger",
                best["theirs"],
                1,
                f"same answer {100 * agree:.1f} %",
                agreement=agree,
            )
        )
        steps.done()
    for n in plan.objects:
        steps.step(f"zones: line, {n} tracks")
        frames = boxes_scene(n, plan.track_frames, seed=100 + n)
        line_dets = [sv.Detections(xyxy=f.truth, tracker_id=f.truth_ids) for f in frames]

        def ours(frames: list[BoxFrame] = frames) -> int:
            counter = _core.LineCounter((0.0, 540.0), (1920.0, 540.0), hysteresis_px=2.0)
            for f in frames:
                counter.update(f.truth_ids, f.truth)
            return sum(counter.totals)

        def theirs(dets: list[Any] = line_dets) -> int:
            lz = sv.LineZone(
                start=sv.Point(0, 540),
                end=sv.Point(1920, 540),
                triggering_anchors=(sv.Position.BOTTOM_CENTER,),
            )
            for d in dets:
                lz.trigger(d)
            return int(lz.in_count + lz.out_count)

        best = _interleaved({"ours": ours, "theirs": theirs}, plan.rounds)
        ours_n, theirs_n = ours(), theirs()
        rows.append(
            _row(
                "zones",
                f"{n} tracks",
                "LineCounter.update",
                best["ours"],
                "supervision LineZone.trigger",
                best["theirs"],
                len(frames),
                f"crossings {ours_n} vs {theirs_n}",
                crossings_ours=ours_n,
                crossings_anchor=theirs_n,
            )
        )
        steps.done()
    return rows


# --- detector pre- and post-processing ----------------------------------------------------


def _i420(w: int, h: int, rng: np.random.Generator) -> tuple[list[NDArray[np.uint8]], Any]:
    """yuv420p planes with padded rows (as PyAV gives them) and the same as one I420 buffer.

    The content is 16x16 flat blocks of random levels: resampling differences stay at the edges.
    """
    line = (w + 63) // 64 * 64 + 64
    planes = []
    for pw, ph, k in ((w, h, 16), (w // 2, h // 2, 8), (w // 2, h // 2, 8)):
        blocks = rng.integers(16, 240, (ph // k + 1, line // k + 1), dtype=np.uint8)
        plane = np.kron(blocks, np.ones((k, k), np.uint8))[:ph, :line]
        planes.append(np.ascontiguousarray(plane)[:, :pw])
    i420 = np.concatenate([p.ravel() for p in planes]).reshape(h * 3 // 2, w)
    return planes, i420


def _real_yolox_outputs(count: int) -> list[tuple[NDArray[np.float32], Any]]:
    """YOLOX-nano's raw outputs (416x416) on ``count`` PETS 2009 frames and their letterboxes,
    when the model (``$VSA_BENCH_MODEL``, default ``../shared/models/yolox_nano.onnx``) and the
    clip beside it (``../shared/data``) are there; none otherwise."""
    import av

    from vsa_stream.detection import ModelSpec, load_model

    default = os.path.join("..", "shared", "models", "yolox_nano.onnx")
    model_path = os.environ.get("VSA_BENCH_MODEL", default)
    video = os.path.join(os.path.dirname(model_path), "..", "data", "pets09_s2l1_480x360.avi")
    if not (os.path.exists(model_path) and os.path.exists(video)):
        return []
    model = load_model(ModelSpec(path=model_path, input_shape="model"))
    out: list[tuple[NDArray[np.float32], Any]] = []
    with av.open(video) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i % 20:
                continue
            p = np.asarray(frame.reformat(format="yuv420p").to_ndarray(), np.uint8)
            h, w = frame.height, frame.width
            u = p[h : h + h // 4].reshape(h // 2, w // 2)
            v = p[h + h // 4 :].reshape(h // 2, w // 2)
            tensor, lb = model.preprocess((p[:h], u, v))
            (raw,) = model.session.run(None, {model.input_name: tensor})
            out.append((np.asarray(raw, np.float32), lb))
            if len(out) == count:
                break
    return out


def prepost(plan: _Plan, steps: Steps) -> list[Row]:
    """preprocess_yuv420p vs OpenCV + numpy; decode_yolox (+NMS) vs numpy, on synthetic outputs
    (a few hundred candidates: the kernel under load) and on real ones (what a frame costs)."""
    cv2 = anchor("cv2")
    rng = np.random.default_rng(0)
    rows: list[Row] = []
    for w, h in ((640, 360), (1280, 720), (1920, 1080)):
        steps.step(f"pre-processing {w}x{h}")
        (y, u, v), i420 = _i420(w, h, rng)
        ours_fn = partial(_core.preprocess_yuv420p, y, u, v, (416, 416))
        theirs_fn = partial(opencv_preprocess, cv2, i420, 416, False)
        best = _interleaved({"ours": ours_fn, "theirs": theirs_fn}, plan.rounds, plan.repeat)
        a = np.asarray(ours_fn()[0], np.float32)
        b = theirs_fn()
        diff = float(np.abs(a - b).mean())
        rows.append(
            _row(
                "prepost",
                f"{w}x{h} -> 416",
                "preprocess_yuv420p",
                best["ours"],
                "cv2 I420->BGR + resize + letterbox + numpy",
                best["theirs"],
                1,
                f"mean abs. difference {diff:.1f}/255",
                mean_abs_diff=diff,
            )
        )
        steps.done()
    for size in (320, 416, 640):
        anchors_n = sum((size // s) ** 2 for s in (8, 16, 32))
        steps.step(f"post-processing {anchors_n} anchors")
        out = yolox_like_output(anchors_n, seed=size)
        lb = _core.Letterbox(1280, 720, size, size)
        decode = partial(_core.decode_yolox, out, lb, score_threshold=0.3)
        reference = partial(numpy_yolox, out, lb, 0.3, 0.45)
        best = _interleaved({"ours": decode, "theirs": reference}, plan.rounds, plan.repeat)
        got, want = len(decode()), reference()
        candidates = int(((out[0, :, 4:5] * out[0, :, 5:]).max(1) >= 0.3).sum())
        rows.append(
            _row(
                "prepost",
                f"YOLOX {size} ({anchors_n} anchors), synthetic: {candidates} candidates",
                "decode_yolox + NMS",
                best["ours"],
                "numpy decode + greedy NMS",
                best["theirs"],
                1,
                f"detections {got} vs {want}",
                detections_ours=got,
                detections_anchor=want,
            )
        )
        if size == 416 and (real := _real_yolox_outputs(4 if plan.quick else 20)):
            rows.append(_real_decode_row(real, plan))
        steps.done()
    return rows


def _real_decode_row(real: list[tuple[NDArray[np.float32], Any]], plan: _Plan) -> Row:
    """decode_yolox + NMS against numpy over YOLOX-nano's outputs of real frames."""

    def ours() -> int:
        return sum(len(_core.decode_yolox(o, lb, score_threshold=0.3)) for o, lb in real)

    def theirs() -> int:
        return sum(numpy_yolox(o, lb, 0.3, 0.45) for o, lb in real)

    best = _interleaved({"ours": ours, "theirs": theirs}, plan.rounds, plan.repeat)
    got, want = ours(), theirs()
    candidates = [int(((o[0, :, 4:5] * o[0, :, 5:]).max(1) >= 0.3).sum()) for o, _ in real]
    return _row(
        "prepost",
        f"YOLOX 416, real: {len(real)} PETS09 frames, median "
        f"{int(np.median(candidates))} candidates",
        "decode_yolox + NMS",
        best["ours"],
        "numpy decode + greedy NMS",
        best["theirs"],
        len(real),
        f"detections {got} vs {want}",
        detections_ours=got,
        detections_anchor=want,
    )


# --- camera motion ------------------------------------------------------------------------


def _shaking(frames: list[NDArray[np.uint8]], seed: int = 0) -> list[NDArray[np.uint8]]:
    """``frames`` seen by a shaking camera: every third frame moved by up to 6 px each way."""
    rng = np.random.default_rng(seed)
    out = []
    for i, frame in enumerate(frames):
        dy, dx = rng.integers(-6, 7, size=2) if i % 3 == 2 else (0, 0)
        out.append(np.roll(frame, (int(dy), int(dx)), axis=(0, 1)))
    return out


def camera(plan: _Plan, steps: Steps) -> list[Row]:
    """CameraShift.shift against numpy's phase correlation (the same work) and OpenCV's."""
    cv2 = anchor("cv2")
    rows: list[Row] = []
    for w, h in SIZES:
        steps.step(f"camera shift {w}x{h}")
        frames = _shaking(walking_clip(plan.shift_frames, w, h))
        side = min(256, w, h) // 2 * 2
        y0, x0 = (h - side) // 2, (w - side) // 2
        # OpenCV's input: the same half-resolution squares, float64 (its FFT's type)
        squares = [
            f[y0 : y0 + side, x0 : x0 + side]
            .reshape(side // 2, 2, side // 2, 2)
            .sum(axis=(1, 3), dtype=np.float64)
            for f in frames
        ]
        window = cv2.createHanningWindow((side // 2, side // 2), cv2.CV_64F)

        def ours(frames: list[NDArray[np.uint8]] = frames) -> list[float]:
            shift = _core.CameraShift()
            return [shift.shift(f) for f in frames]

        def numpy(frames: list[NDArray[np.uint8]] = frames) -> list[float]:
            shift = NumpyShift()
            return [shift.shift(f) for f in frames]

        def opencv(
            squares: list[NDArray[np.float64]] = squares, window: NDArray[np.float64] = window
        ) -> None:
            for a, b in itertools.pairwise(squares):
                cv2.phaseCorrelate(a, b, window)

        best = _interleaved({"ours": ours, "numpy": numpy, "opencv": opencv}, plan.rounds)
        got, want = ours(), numpy()
        kind = _core.CameraShift()
        kind.shift(frames[0])  # names the transform this size takes
        same = sum(a == b for a, b in zip(got, want, strict=True))
        moved = sum(x >= 2.0 for x in want)
        accuracy = f"same shift on {same}/{len(want)} frames ({moved} moved)"
        rows.append(
            _row(
                "camera shift",
                f"{w}x{h}",
                f"CameraShift.shift ({side // 2}-point square, {kind.transform})",
                best["ours"],
                "numpy phase correlation (the same work)",
                best["numpy"],
                len(frames),
                accuracy,
                same=same,
                frames=len(want),
            )
        )
        rows.append(
            _row(
                "camera shift",
                f"{w}x{h}",
                f"CameraShift.shift ({side // 2}-point square, {kind.transform})",
                best["ours"],
                "OpenCV phaseCorrelate (reference only: both frames transformed per call)",
                best["opencv"],
                len(frames),
            )
        )
        steps.done()
    return rows


_RUNNERS: dict[str, Callable[[_Plan, Steps], list[Row]]] = {
    "background": background,
    "flow": lambda plan, steps: flow(plan, steps) + flow_real(plan, steps),
    "tracker": tracker,
    "zones": zones,
    "prepost": prepost,
    "camera": camera,
}
_STEPS = {
    "background": 3,
    "flow": 3 + len(REAL_CLIPS),
    "tracker": 3,
    "zones": 6,
    "prepost": 6,
    "camera": 3,
}


def step_count(groups: Sequence[str]) -> int:
    """How many progress steps ``groups`` take."""
    return sum(_STEPS[g] for g in groups)


def run(groups: Sequence[str], quick: bool, steps: Steps) -> dict[str, Any]:
    """Run the kernel groups; returns the report section (``rows`` and settings)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if {"background", "flow", "prepost", "camera"} & set(groups):
        anchor("cv2").setNumThreads(1)
    plan = _Plan(quick)
    rows: list[Row] = []
    for group in groups:
        rows.extend(_RUNNERS[group](plan, steps))
    return {
        "groups": list(groups),
        "threads": 1,
        "rounds": plan.rounds,
        "note": "ratio = anchor time / our time, best of interleaved rounds, one thread",
        "rows": rows,
    }


def markdown(section: dict[str, Any]) -> str:
    """The kernels table."""
    return table(
        ["kernel", "size", "ours ms", "calls/s", "anchor", "anchor ms", "anchor calls/s",
         "ratio", "accuracy (ours vs anchor)"],
        [
            [f"{r['kernel']}: {r['ours']}", r["size"], fmt(r["ours_ms"]), fmt(r["ours_per_s"]),
             r["anchor"], fmt(r["anchor_ms"]), fmt(r["anchor_per_s"]), fmt(r["ratio"], "x"),
             r["accuracy"]]
            for r in section["rows"]
        ],
    )  # fmt: skip


def chart(section: dict[str, Any], path: Any) -> None:
    """Horizontal bars: speed ratio to the anchor of every row, log scale."""
    from vsa_stream.bench.common import pyplot

    plt = pyplot()
    rows = section["rows"]
    labels = [f"{r['ours']} {r['size']}\nvs {r['anchor']}" for r in rows]
    ratios = [r["ratio"] for r in rows]
    fig, ax = plt.subplots(figsize=(10, 0.42 * len(rows) + 1.5))
    colours = ["tab:green" if x >= 1 else "tab:red" for x in ratios]
    ax.barh(range(len(rows)), ratios, color=colours)
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("anchor time / our time (one thread; > 1: the Rust kernel is faster)")
    ax.set_title("vsa-stream kernels against their anchors")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
