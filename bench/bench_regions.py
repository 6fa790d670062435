"""Detection regions on real clips, and PicoDet-S against YOLOX-nano (issue 14, items 2c/2d).

Part ``regions``: each clip runs the camera's perception path as the engine does (Rust motion
blobs -> ObjectPerception -> DetectorService -> tracker) with ``regions`` off and on, side by
side (the two runs of a clip alternate, same process). Reported per clip and mode: analysed
frames, detected frames, region crops, person boxes per detected frame, and the CPU of the
whole process per analysed frame (decoding excluded, the detector's worker thread included).
For the dev fall clips, the share of detected frames while the person lies on the floor
(truth.json ``from_s``..``to_s``) with a person box, and the best score there.

Part ``models``: the full-frame detector alone on PETS 2009 S2.L1 (coverage of the
MOTChallenge public detections, IoU >= 0.4, persons scoring >= 0.5) and on the dev fall
clips (person on the floor), with CPU per frame, for each model.

Prints Markdown tables and writes ``bench/results/regions.json``. Timings on a shared machine
are noisy: compare the ratios within one run, and note the load average printed with them.

Usage: ``python bench/bench_regions.py [--part regions|models|all] [--quick]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import av
import numpy as np

from vsa_stream.config import DetectorConfig, MotionConfig, TrackingConfig
from vsa_stream.detection import Model, ModelSpec, load_model
from vsa_stream.detection.scheduler import DetectorService
from vsa_stream.perception import ObjectPerception
from vsa_stream.perception.motion import MotionPerception
from vsa_stream.sources.frame import Frame, luma_view, yuv420p_views

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
RESULTS = ROOT / "bench" / "results"
FALLS_720P = [
    "gmdcsa24_S3_Fall_01.mp4",
    "gmdcsa24_S3_Fall_15.mp4",
    "gmdcsa24_S3_Fall_16.mp4",
]
MODELS = {
    "yolox_nano": "models/yolox_nano.onnx",
    "picodet_s_320": "models/picodet/picodet_s_320_coco.onnx",
    "picodet_s_416": "models/picodet/picodet_s_416_coco.onnx",
}


def frames(path: Path, limit: int | None = None) -> list[tuple[Frame, float]]:
    """Decoded frames (yuv420p) with their time, all held (decoding is not measured)."""
    out: list[tuple[Frame, float]] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 25)
        for i, decoded in enumerate(container.decode(stream)):
            if decoded.format.name != "yuv420p":
                decoded = decoded.reformat(format="yuv420p")
            t = i / fps  # PETS' AVI has its pts in decoding order: count frames
            luma, keep = luma_view(decoded)
            out.append((Frame(i, t, 0.0, luma, keep), t))
            if limit is not None and len(out) >= limit:
                break
    return out


def pets_people(offset: tuple[int, int] = (0, 0)) -> dict[int, list[list[float]]]:
    """MOT public detections (score > 0.5) of PETS S2.L1 by video frame, in 480x360 pixels
    shifted by ``offset``."""
    scale, (ox, oy) = 480 / 768, offset
    people: dict[int, list[list[float]]] = defaultdict(list)
    for line in (SHARED / "data" / "mot" / "PETS09-S2L1" / "det.txt").read_text().splitlines():
        f, _, x, y, w, h, score = (float(v) for v in line.split(",")[:7])
        if score > 0.5:
            box = [x * scale + ox, y * scale + oy, (x + w) * scale + ox, (y + h) * scale + oy]
            people[int(f) - 1].append(box)
    return people


def pasted(limit: int, origin: tuple[int, int]) -> list[tuple[Frame, float]]:
    """PETS frames pasted pixel for pixel into grey 1280x720 frames (people ~50 px tall)."""
    out: list[tuple[Frame, float]] = []
    ox, oy = origin
    for frame, t in frames(SHARED / "data" / "pets09_s2l1_480x360.avi", limit):
        y, u, v = yuv420p_views(frame.keepalive)  # type: ignore[arg-type]
        big = np.full((1080, 1280), 128, np.uint8)
        big[:720] = 110
        big[oy : oy + 360, ox : ox + 480] = y
        for k, plane in enumerate((u, v)):
            c = big[720 + 180 * k : 900 + 180 * k].reshape(360, 640)
            c[oy // 2 : oy // 2 + 180, ox // 2 : ox // 2 + 240] = plane
        decoded = av.VideoFrame.from_ndarray(big, format="yuv420p")
        luma, keep = luma_view(decoded)
        out.append((Frame(frame.index, t, 0.0, luma, keep), t))
    return out


def coverage(
    boxes: dict[int, list[tuple[float, float, float, float]]], truth: dict[int, list[list[float]]]
) -> tuple[int, int]:
    """People of the detected frames matched by a person box (IoU >= 0.4), and their count."""
    hits = total = 0
    for index, found in boxes.items():
        people = truth.get(index, [])
        total += len(people)
        hits += sum(any(_iou(p, b) >= 0.4 for b in found) for p in people)
    return hits, total


def lying(name: str) -> tuple[float, float] | None:
    truth = json.loads((SHARED / "data" / "dev" / "truth.json").read_text())
    for s in truth.get(f"falls/{name}", {}).get("situations", []):
        if s["type"] == "person_down":
            return float(s["from_s"]), float(s["to_s"])
    return None


def run_camera(model: Model, clip: list[tuple[Frame, float]], regions: bool) -> dict[str, Any]:
    """The engine's per-camera perception on one clip; CPU of the process per frame."""
    service = DetectorService("people", model)
    config = DetectorConfig(id="people", model=ModelSpec(path="unused"), regions=regions)
    objects = ObjectPerception("cam", [(service, config)], TrackingConfig(), wait=True)
    motion = MotionPerception(MotionConfig(), "cam")
    persons: list[tuple[float, int, float]] = []  # (time, person boxes, best score)
    boxes: dict[int, list[tuple[float, float, float, float]]] = {}  # frame index -> persons
    crops0, runs0 = model.region_images, model.runs
    tracked_person_frames = 0
    service.start()
    cpu0 = time.process_time()
    try:
        for frame, t in clip:
            blobs = motion.detect(frame)
            moving = bool(blobs) or motion.warming_up
            served = service.stats["cam"].served
            tracked, _ = objects.update(frame, moving=moving, blobs=blobs)
            tracked_person_frames += any(d.label == "person" for d in tracked)
            if service.stats["cam"].served > served:
                found = [d for d in _LAST.get(id(model), []) if d.engine_class == "person"]
                persons.append((t, len(found), max((d.score for d in found), default=0.0)))
                boxes[frame.index] = [d.box for d in found]
    finally:
        cpu = time.process_time() - cpu0
        service.close()
    return {
        "frames": len(clip),
        "detected": service.stats["cam"].served,
        "inferences": model.runs - runs0,
        "crops": model.region_images - crops0,
        "cpu_ms_per_frame": 1000 * cpu / len(clip),
        "persons": persons,
        "boxes": boxes,
        "tracked_person_frames": tracked_person_frames,
    }


_LAST: dict[int, list[Any]] = {}


def _record(model: Model) -> None:
    """Keep the last result of ``model.detect`` (the bench reads what the camera got)."""
    inner = model.detect

    def detect(*args: Any, **kwargs: Any) -> Any:
        result = inner(*args, **kwargs)
        _LAST[id(model)] = result
        return result

    model.detect = detect  # type: ignore[method-assign]


def part_regions(quick: bool) -> list[dict[str, Any]]:
    model = load_model(ModelSpec(path=str(SHARED / MODELS["yolox_nano"])))
    _record(model)
    clips = [(SHARED / "data" / "dev" / "falls" / n, n) for n in FALLS_720P]
    clips += [
        (SHARED / "data" / "dev" / "daily" / "gmdcsa24_S3_ADL_15.mp4", "gmdcsa24_S3_ADL_15.mp4"),
        (SHARED / "data" / "pets09_s2l1_480x360.avi", "pets09 (480x360)"),
        (SHARED / "data" / "intel" / "car-detection.mp4", "intel car-detection (768x432)"),
    ]
    if quick:
        clips = clips[:1]
    rows = []
    origin = (700, 300)
    truths = {"pets09 pasted in 1280x720": pets_people(origin), "pets09 (480x360)": pets_people()}
    for path, name in [(None, "pets09 pasted in 1280x720"), *clips]:
        limit = 40 if quick else 200
        clip = pasted(limit, origin) if path is None else frames(path, limit)
        window = lying(name)
        for regions in (False, True):
            r = run_camera(model, clip, regions)
            persons = r.pop("persons")
            found = r.pop("boxes")
            if name in truths:
                r["people_found"], r["people"] = coverage(found, truths[name])
            boxes = [n for _, n, _ in persons]
            row = {"clip": name, "regions": regions, **r}
            row["persons_per_detection"] = float(np.mean(boxes)) if boxes else 0.0
            if window is not None:
                on_floor = [(n, s) for t, n, s in persons if window[0] <= t <= window[1]]
                row["floor_detections"] = len(on_floor)
                row["floor_seen"] = sum(n > 0 for n, _ in on_floor)
                row["floor_best_score"] = max((s for _, s in on_floor), default=0.0)
            row["size"] = f"{clip[0][0].width}x{clip[0][0].height}"
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def part_models(quick: bool) -> list[dict[str, Any]]:
    people = pets_people()
    step = 40 if quick else 10
    pets = frames(SHARED / "data" / "pets09_s2l1_480x360.avi")[::step]
    names = sorted(p.name for p in (SHARED / "data" / "dev" / "falls").glob("*.mp4"))
    falls = {
        n: frames(SHARED / "data" / "dev" / "falls" / n)[::3] for n in names[: 1 if quick else None]
    }
    rows = []
    for name, rel in MODELS.items():
        model = load_model(ModelSpec(path=str(SHARED / rel)))
        hits = total = 0
        cpu0 = time.thread_time()
        for frame, _ in pets:
            boxes = [
                d.box
                for d in model.detect(*yuv420p_views(frame.keepalive))  # type: ignore[arg-type]
                if d.engine_class == "person" and d.score >= 0.5
            ]
            truth = people.get(frame.index, [])
            total += len(truth)
            hits += sum(any(_iou(t, b) >= 0.4 for b in boxes) for t in truth)
        pets_ms = 1000 * (time.thread_time() - cpu0) / len(pets)
        floor: dict[str, Any] = {}  # default_threshold 0.3: what a camera would get
        cpu0, n = time.thread_time(), 0
        for clip, fr in falls.items():
            window = lying(clip)
            assert window is not None
            seen, best, count = 0, 0.0, 0
            for frame, t in fr:
                found = model.detect(*yuv420p_views(frame.keepalive))  # type: ignore[arg-type]
                n += 1
                if window[0] <= t <= window[1]:  # a person box >= 0.3 while on the floor
                    scores = [d.score for d in found if d.engine_class == "person"]
                    count += 1
                    seen += bool(scores)
                    best = max(best, *scores, 0.0)
            floor[clip] = {"seen": seen, "frames": count, "best": round(best, 2)}
        falls_ms = 1000 * (time.thread_time() - cpu0) / n
        row = {
            "model": name,
            "pets_coverage": hits / total,
            "pets_hits": hits,
            "pets_people": total,
            "pets_cpu_ms": pets_ms,
            "falls_cpu_ms": falls_ms,
            "floor_seen": sum(f["seen"] for f in floor.values()),
            "floor_frames": sum(f["frames"] for f in floor.values()),
            "floor": floor,
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def _iou(a: list[float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["regions", "models", "all"], default="all")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    result: dict[str, Any] = {"load_before": os.getloadavg()}
    if args.part in ("regions", "all"):
        result["regions"] = part_regions(args.quick)
    if args.part in ("models", "all"):
        result["models"] = part_models(args.quick)
    result["load_after"] = os.getloadavg()
    print(f"load average before {result['load_before']}, after {result['load_after']}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "regions.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
