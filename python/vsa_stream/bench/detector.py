"""The detector's input shaped like the camera against the model's square input, on real clips.

For each clip (the dev set of ``../shared``, PETS 2009 S2.L1, the Intel road clip), frames
spread over it are detected by two YOLOX-nano models, one onnxruntime thread each:
``input_shape: model`` (416x416 for every camera) and ``input_shape: camera`` (416x256 for
16:9, 416x320 for 4:3, ...). Per clip:

* agreement: detections of each, the share matched one to one (same engine class, IoU >= 0.5,
  greedy by IoU), the mean and lowest IoU of the matched pairs, the largest score difference,
  and the frames whose detection counts differ;
* cost: CPU time of the calling thread per frame (the whole ``Model.detect``: pre-processing,
  inference, decoding + NMS; exact with one onnxruntime thread), and the ratio square / camera,
  that is detections per core of the camera-shaped input relative to the square one;
* the ceiling beside it: a bare onnxruntime loop (``session.run`` on the same frames' ready
  tensors, through the same sessions, so the same threads and session options) at both inputs.
  Its ratio is what the model alone gains; the engine's pre- and post-processing is the gap.

The four loops of a clip (engine and bare, square and camera) run one after the other in each
round, in an order that alternates; each figure is the median of the rounds. Clips are grouped
by camera input in a summary (frame-weighted means). ``vsa-stream bench detector`` (and
``bench all``) runs it; so does ``bench/bench_detect_shape.py``. Without the model or the clips
the section says why it measured nothing.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from vsa_stream.bench.common import Steps
from vsa_stream.detection import ModelDetection, ModelSpec, Planes, load_model
from vsa_stream.detection.model import Model

__all__ = ["CASES", "chart", "clips", "markdown", "match", "measure", "run"]

CASES = ("engine square", "engine camera", "bare square", "bare camera")


def clips(shared: Path) -> list[Path]:
    """The real clips of ``shared`` measured, those present."""
    found = sorted((shared / "data" / "dev").glob("*/*.mp4"))
    found += [
        shared / "data" / "pets09_s2l1_480x360.avi",
        shared / "data" / "intel" / "car-detection.mp4",
    ]
    return [p for p in found if p.exists()]


def frames(path: Path, count: int) -> list[Planes]:
    """``count`` frames spread over the clip, as yuv420p planes."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        step = max(1, (stream.frames or 300) // count)
        out: list[Planes] = []
        for i, frame in enumerate(container.decode(stream)):
            if i % step == 0:
                p = np.asarray(frame.reformat(format="yuv420p").to_ndarray(), np.uint8)
                h, w = frame.height, frame.width
                u = p[h : h + h // 4].reshape(h // 2, w // 2)
                v = p[h + h // 4 :].reshape(h // 2, w // 2)
                out.append((p[:h], u, v))
            if len(out) >= count:
                break
    return out


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def match(
    a: list[ModelDetection], b: list[ModelDetection], floor: float = 0.5
) -> list[tuple[float, float]]:
    """Greedy one-to-one pairs (IoU, |score difference|) of the same engine class."""
    pairs = sorted(
        (
            (_iou(da.box, db.box), i, j)
            for i, da in enumerate(a)
            for j, db in enumerate(b)
            if da.engine_class == db.engine_class
        ),
        reverse=True,
    )
    used_a: set[int] = set()
    used_b: set[int] = set()
    out: list[tuple[float, float]] = []
    for value, i, j in pairs:
        if value < floor:
            break
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        out.append((value, abs(a[i].score - b[j].score)))
    return out


def _cpu_ms(run: Callable[[], None], items: int) -> float:
    """Thread CPU milliseconds per item of one call of ``run``."""
    cpu = time.thread_time()
    run()
    return 1e3 * (time.thread_time() - cpu) / items


def measure(square: Model, camera: Model, planes: list[Planes], rounds: int) -> dict[str, Any]:
    """One clip's agreement and CPU per frame, engine and bare, at both inputs."""
    models = {"square": square, "camera": camera}
    got = {k: [m.detect(*f) for f in planes] for k, m in models.items()}  # warms both
    tensors = {k: [m.preprocess(f)[0] for f in planes] for k, m in models.items()}

    def engine(model: Model) -> None:
        for f in planes:
            model.detect(*f)

    def bare(model: Model, ready: list[Any]) -> None:
        session = model.session_for((ready[0].shape[3], ready[0].shape[2]))
        for t in ready:
            session.run(None, {model.input_name: t})

    runs: dict[str, Callable[[], None]] = {
        "engine square": lambda: engine(square),
        "engine camera": lambda: engine(camera),
        "bare square": lambda: bare(square, tensors["square"]),
        "bare camera": lambda: bare(camera, tensors["camera"]),
    }
    runs["bare square"]()  # warm the bare loops too
    runs["bare camera"]()
    samples: dict[str, list[float]] = {k: [] for k in CASES}
    for r in range(rounds):
        for case in CASES if r % 2 == 0 else CASES[::-1]:
            samples[case].append(_cpu_ms(runs[case], len(planes)))
    ms = {k: statistics.median(v) for k, v in samples.items()}
    ious: list[float] = []
    score_diff = 0.0
    differ = 0
    for a, b in zip(got["square"], got["camera"], strict=True):
        pairs = match(a, b)
        ious += [p[0] for p in pairs]
        score_diff = max([score_diff, *(p[1] for p in pairs)])
        differ += len(a) != len(b)
    n = {k: sum(map(len, v)) for k, v in got.items()}
    return {
        "frames": len(planes),
        "detections_square": n["square"],
        "detections_camera": n["camera"],
        "matched": len(ious),
        "matched_share": len(ious) / max(n.values()) if max(n.values()) else None,
        "mean_iou": float(np.mean(ious)) if ious else None,
        "min_iou": float(np.min(ious)) if ious else None,
        "max_score_diff": score_diff,
        "frames_count_differs": differ,
        "cpu_ms_square": ms["engine square"],
        "cpu_ms_camera": ms["engine camera"],
        "per_core_ratio": ms["engine square"] / ms["engine camera"],
        "bare_ms_square": ms["bare square"],
        "bare_ms_camera": ms["bare camera"],
        "bare_ratio": ms["bare square"] / ms["bare camera"],
        "samples_ms": samples,
    }


def _summary(rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The clips grouped by camera input: frame-weighted CPU per frame, pooled agreement."""
    by_input: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows.values():
        by_input[r["input_camera"]].append(r)
    out: dict[str, dict[str, Any]] = {}
    for shape, rs in sorted(by_input.items()):
        frames_n = sum(r["frames"] for r in rs)
        sq, cam, bsq, bcam = (
            sum(r[key] * r["frames"] for r in rs) / frames_n
            for key in ("cpu_ms_square", "cpu_ms_camera", "bare_ms_square", "bare_ms_camera")
        )
        most = sum(max(r["detections_square"], r["detections_camera"]) for r in rs)
        matched = sum(r["matched"] for r in rs) / most if most else None
        out[shape] = {
            "clips": len(rs),
            "frames": frames_n,
            "matched_share": matched,
            "cpu_ms_square": sq,
            "cpu_ms_camera": cam,
            "per_core_ratio": sq / cam,
            "bare_ms_square": bsq,
            "bare_ms_camera": bcam,
            "bare_ratio": bsq / bcam,
        }
    return out


def run(
    steps: Steps,
    quick: bool,
    *,
    model: str,
    shared: str,
    frames_per_clip: int | None = None,
    rounds: int | None = None,
) -> dict[str, Any]:
    """Measure every clip of ``shared`` with the model at ``model``; returns the section.
    ``quick``: three clips, four frames, one round (it runs; the figures mean little)."""
    count, rounds = (4, 1) if quick else (frames_per_clip or 40, rounds or 3)
    root = Path(shared)
    found = clips(root)
    section: dict[str, Any] = {"rounds": rounds, "model": model, "clips": {}, "by_input": {}}
    if not Path(model).is_file() or not found:
        missing = model if not Path(model).is_file() else f"the real clips under {root / 'data'}"
        section["skipped"] = f"no {missing}: nothing to measure (--model, --shared)"
        return section
    if quick:
        found = [found[0], found[-2], found[-1]]
    steps.total(len(found))
    square = load_model(ModelSpec(path=model, intra_op_threads=1, input_shape="model"))
    load_start = os.getloadavg()
    for clip in found:
        steps.step(f"detector: {clip.name}")
        planes = frames(clip, count)
        h, w = planes[0][0].shape
        # A group of one camera: the input follows this clip alone.
        camera = load_model(ModelSpec(path=model, intra_op_threads=1))
        row = measure(square, camera, planes, rounds)
        row["frame"] = f"{w}x{h}"
        row["input_camera"] = "x".join(map(str, camera.input_for((w, h))))
        section["clips"][str(clip.relative_to(root / "data"))] = row
        steps.done()
    section["load_average"] = {"start": load_start, "end": os.getloadavg()}
    section["by_input"] = _summary(section["clips"])
    return section


def _fmt_iou(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _fmt_share(value: float | None) -> str:
    """A share of detections matched; ``-`` when neither input detected anything."""
    return "-" if value is None else f"{100 * value:.1f} %"


def markdown(section: dict[str, Any]) -> str:
    """The per-input summary, then every clip."""
    if "skipped" in section:
        return f"Skipped: {section['skipped']}"
    load = section["load_average"]
    lines = [
        f"YOLOX-nano, one onnxruntime thread, median of {section['rounds']} interleaved "
        f"rounds; load average {load['start'][0]:.2f} at the start, {load['end'][0]:.2f} at "
        "the end. Per core: CPU per frame at 416x416 over CPU per frame at the camera's "
        "input (the engine's whole `Model.detect`); its anchor, the ceiling: the same ratio of "
        "a bare onnxruntime loop on ready tensors.",
        "",
        "| camera input | clips | frames | detections matched | engine CPU ms 416x416 "
        "| engine CPU ms camera | engine per core | bare ms 416x416 | bare ms camera "
        "| bare per core (ceiling) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for shape, s in section["by_input"].items():
        lines.append(
            f"| {shape} | {s['clips']} | {s['frames']} | {_fmt_share(s['matched_share'])} | "
            f"{s['cpu_ms_square']:.1f} | {s['cpu_ms_camera']:.1f} | "
            f"**{s['per_core_ratio']:.2f}x** | {s['bare_ms_square']:.1f} | "
            f"{s['bare_ms_camera']:.1f} | {s['bare_ratio']:.2f}x |"
        )
    lines += [
        "",
        "| clip | frame | camera input | frames | dets 416x416 | dets camera | matched "
        "| mean IoU | min IoU | max score diff | frames with other count | CPU ms 416x416 "
        "| CPU ms camera | per core | bare ms 416x416 | bare ms camera | bare per core |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in section["clips"].items():
        lines.append(
            f"| {name} | {r['frame']} | {r['input_camera']} | {r['frames']} | "
            f"{r['detections_square']} | {r['detections_camera']} | "
            f"{_fmt_share(r['matched_share'])} | {_fmt_iou(r['mean_iou'])} | "
            f"{_fmt_iou(r['min_iou'])} | {r['max_score_diff']:.3f} | "
            f"{r['frames_count_differs']} | {r['cpu_ms_square']:.1f} | {r['cpu_ms_camera']:.1f} | "
            f"{r['per_core_ratio']:.2f}x | {r['bare_ms_square']:.1f} | {r['bare_ms_camera']:.1f} | "
            f"{r['bare_ratio']:.2f}x |"
        )
    return "\n".join(lines)


def chart(section: dict[str, Any], path: Any) -> None:
    """Bars per camera input: the engine's detections per core against the model's ceiling."""
    from vsa_stream.bench.common import pyplot

    plt = pyplot()
    shapes = list(section["by_input"])
    fig, ax = plt.subplots(figsize=(7, 0.8 * max(1, len(shapes)) + 1.5))
    if shapes:
        at = np.arange(len(shapes))
        engine = [section["by_input"][s]["per_core_ratio"] for s in shapes]
        bare = [section["by_input"][s]["bare_ratio"] for s in shapes]
        ax.barh(at - 0.2, engine, height=0.4, label="engine (Model.detect)")
        ax.barh(at + 0.2, bare, height=0.4, label="bare onnxruntime (ceiling)")
        ax.set_yticks(at, shapes)
        ax.invert_yaxis()
        ax.legend(loc="lower right", fontsize=8)
    else:
        ax.text(0.5, 0.5, section.get("skipped", "no clips"), ha="center", wrap=True)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("detections per core, camera-shaped input over the 416x416 square")
    ax.set_title("YOLOX-nano input shaped like the camera")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
