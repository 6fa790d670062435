"""Detector pre- and post-processing: the Rust kernels against numpy + OpenCV, one thread.

Runs, in one process and interleaved over several rounds (best of each, ratios side by side):

* pre-processing of a 1280x720 yuv420p frame (rows padded like a PyAV plane) to a 416x416
  YOLOX input (BGR 0-255, pad 114) and to a 320x320 NanoDet input (mean/std normalised):
  ``preprocess_yuv420p`` against ``cv2.cvtColor(I420 -> BGR)`` at full resolution +
  ``cv2.resize`` (INTER_LINEAR) + letterbox + normalise + NCHW transpose in numpy. The OpenCV
  path is handed a ready contiguous I420 buffer, which a PyAV frame does not give for free;
* decode + NMS of a YOLOX-nano output (real, from a PETS 2009 frame when ../shared is there,
  otherwise synthetic) at two score thresholds, and of a synthetic YOLOv8 output (8400
  anchors): ``decode_yolox``/``decode_yolov8`` against a vectorised numpy decoder and the
  usual numpy greedy NMS.

Prints a Markdown table and writes ``bench/results/detect.json``.

Usage: ``python bench/bench_detect.py [--quick] [--rounds N] [--shared DIR]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import importlib
import json
import platform
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vsa_stream import _core
from vsa_stream.bench.references import (
    NANO_MEAN,
    NANO_STD,
    numpy_yolov8,
    numpy_yolox,
    opencv_preprocess,
)
from vsa_stream.bench.scenes import yolox_like_output

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


def yolox_output(rng: np.random.Generator, shared: Path) -> tuple[F32, Any, str]:
    """A real YOLOX-nano output on a PETS 2009 frame, else a synthetic one."""
    model, video = (
        shared / "models" / "yolox_nano.onnx",
        shared / "data" / "pets09_s2l1_480x360.avi",
    )
    if model.exists() and video.exists():
        import av

        ort: Any = importlib.import_module("onnxruntime")

        with av.open(str(video)) as container:
            frame = next(f for i, f in enumerate(container.decode(video=0)) if i == 150)
        bgr = np.asarray(frame.to_ndarray(format="bgr24"), np.uint8)
        tensor, _ = _core.preprocess_packed(bgr, (416, 416))
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        (out,) = session.run(None, {"images": tensor})
        lb = _core.Letterbox(frame.width, frame.height, 416, 416)
        return np.asarray(out, np.float32), lb, "YOLOX-nano on PETS09 frame 150"
    out = yolox_like_output(3549)
    return out, _core.Letterbox(1280, 720, 416, 416), "synthetic YOLOX-like output"


def best_of(f: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few repetitions (CI)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"), help="../shared")
    parser.add_argument("--out", default=str(RESULTS / "detect.json"), help="JSON results")
    args = parser.parse_args()
    rounds, repeat = (1, 3) if args.quick else (args.rounds, 20)
    cv2: Any
    try:
        cv2 = importlib.import_module("cv2")
        cv2.setNumThreads(1)
        cv_version: str | None = cv2.__version__
    except ImportError:  # the bench extra is not installed: Rust-only rows for pre-processing
        cv2, cv_version = None, None

    rng = np.random.default_rng(0)
    w, h, line = 1280, 720, 1344  # PyAV pads rows
    planes = []
    for pw, ph in ((w, h), (w // 2, h // 2), (w // 2, h // 2)):
        buf = rng.integers(0, 256, (ph, line), dtype=np.uint8)
        planes.append(buf[:, :pw])
    y, u, v = planes
    i420 = np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(h * 3 // 2, w)
    nano = {"mean": tuple(NANO_MEAN.tolist()), "std": tuple(NANO_STD.tolist())}

    out, lb, source = yolox_output(rng, Path(args.shared))
    n8 = 8400
    v8 = np.concatenate(
        [rng.uniform(0, 640, (2, n8)), rng.uniform(8, 200, (2, n8)), rng.uniform(0, 0.1, (80, n8))]
    ).astype(np.float32)[None]
    hot = rng.choice(n8, 400, replace=False)  # objects: a few hundred confident anchors
    v8[0, 4 + rng.integers(0, 80, 400), hot] = rng.uniform(0.25, 1, 400)
    lb8 = _core.Letterbox(1280, 720, 640, 640)

    cases: list[tuple[str, Callable[[], object], Callable[[], object] | None]] = []
    for size, is_nano in ((416, False), (320, True)):
        kw: dict[str, Any] = nano if is_nano else {}
        label = f"pre-process 1280x720 yuv420p -> {size}x{size}"
        base_fn = partial(opencv_preprocess, cv2, i420, size, is_nano) if cv2 else None
        rust_fn = partial(_core.preprocess_yuv420p, y, u, v, (size, size), **kw)
        cases.append((label + (" (NanoDet norm.)" if is_nano else ""), rust_fn, base_fn))
    for thr in (0.3, 0.05):
        got = len(_core.decode_yolox(out, lb, score_threshold=thr))
        want = numpy_yolox(out, lb, thr, 0.45)
        if got != want:
            raise SystemExit(f"Rust and numpy disagree at {thr}: {got} vs {want} detections")
        cand = int(((out[0, :, 4:5] * out[0, :, 5:]).max(1) >= thr).sum())
        cases.append((
            f"decode+NMS YOLOX 3549 anchors, thr {thr} ({cand} candidates)",
            partial(_core.decode_yolox, out, lb, score_threshold=thr),
            partial(numpy_yolox, out, lb, thr, 0.45),
        ))  # fmt: skip
    cand8 = int((v8[0, 4:].max(0) >= 0.25).sum())
    if len(_core.decode_yolov8(v8, lb8)) != numpy_yolov8(v8, lb8, 0.25, 0.45):
        raise SystemExit("Rust and numpy disagree on the YOLOv8 output")
    cases.append((
        f"decode+NMS YOLOv8 8400 anchors, thr 0.25 ({cand8} candidates)",
        partial(_core.decode_yolov8, v8, lb8),
        partial(numpy_yolov8, v8, lb8, 0.25, 0.45),
    ))  # fmt: skip

    best: dict[str, list[float]] = {name: [float("inf"), float("inf")] for name, _, _ in cases}
    for _ in range(rounds):
        for name, rust, base in cases:
            best[name][0] = min(best[name][0], best_of(rust, repeat))
            if base is not None:
                best[name][1] = min(best[name][1], best_of(base, repeat))

    rows = []
    print(f"YOLOX output: {source}; one thread; best of {rounds} x {repeat}\n")
    print("| case | Rust (ms) | numpy + OpenCV (ms) | ratio |")
    print("|---|---:|---:|---:|")
    for name, (rust_ms, base_ms) in best.items():
        has_base = base_ms != float("inf")
        ratio = base_ms / rust_ms if has_base else None
        rows.append({"case": name, "rust_ms": rust_ms, "baseline_ms": base_ms if has_base else None,
                     "ratio": ratio})  # fmt: skip
        base_txt = f"{base_ms:.3f}" if has_base else "n/a"
        ratio_txt = f"{ratio:.1f}x" if ratio else "n/a"
        print(f"| {name} | {rust_ms:.3f} | {base_txt} | {ratio_txt} |")

    report = {
        "benchmark": "detect",
        "quick": args.quick,
        "rounds": rounds,
        "repeat": repeat,
        "yolox_output": source,
        "opencv": cv_version,
        "numpy": np.__version__,
        "machine": platform.machine(),
        "python": platform.python_version(),
        "rows": rows,
    }
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
