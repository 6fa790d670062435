"""``_core.simd``: on a CPU with AVX2 and FMA every per-frame kernel runs a copy compiled for
them; it must give what the baseline copy gives, bit for bit, on real frames."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import av
import numpy as np
import pytest

from conftest import shared_path
from vsa_stream import _core
from vsa_stream.errors import ParameterError
from vsa_stream.sources.frame import Planes, yuv420p_views

CLIP = ("data", "dev", "falls", "gmdcsa24_S3_Fall_15.mp4")  # 1280x720, a person falls


@pytest.fixture
def avx2() -> Iterator[None]:
    """Both copies available; the process left on its automatic choice afterwards."""
    if _core.simd("auto") != "avx2":
        pytest.skip("this CPU has no AVX2 and FMA: only the baseline copy can run here")
    try:
        yield
    finally:
        _core.simd("auto")


def _frames(count: int = 24) -> list[Planes]:
    out: list[Planes] = []
    with av.open(str(shared_path(*CLIP))) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index % 3 == 0:
                y, u, v = yuv420p_views(frame)
                out.append((y.copy(), u.copy(), v.copy()))
            if len(out) == count:
                break
    return out


def _blobs(blobs: list[_core.Blob]) -> list[tuple[int, ...]]:
    return [(b.x0, b.y0, b.x1, b.y1, b.area) for b in blobs]


def _everything(frames: list[Planes]) -> list[Any]:
    """What every per-frame kernel returns and keeps, over ``frames`` (state carried across)."""
    h, w = frames[0][0].shape
    motion = _core.MotionDetector(w, h, warmup_frames=2)
    dual = _core.DualBackground(w, h, warmup_frames=2, static_frames=3)
    fire = _core.FireDetector(w // 2, h // 2)
    field = _core.MotionField(w // 2, h // 2)
    shift = _core.CameraShift()
    out: list[Any] = []
    for y, u, v in frames:
        half = _core.downscale_area(y, 2)
        # the fire kernel's frame: the luma halved, its chroma at half that (yuv420p again)
        chroma = (_core.downscale_chroma(u, 4, w, h), _core.downscale_chroma(v, 4, w, h))
        out += [half, _core.downscale_area(y, 3), _core.downscale_chroma(u, 2, w, h)]
        out += [*chroma, *_core.pyramid(y, 3)]
        out += [_blobs(motion.process(y)), motion.foreground(), motion.background()]
        out += [_blobs(dual.update(y)), dual.fast_background(), dual.slow_background()]
        out += [dual.fast_foreground(), dual.slow_foreground(), dual.evidence()]
        result = fire.update(half, *chroma)
        out += [result.colour, result.flicker, result.growth, result.score, result.periodicity]
        flow = field.update(half)
        if flow is not None:
            out += [flow.flow, flow.confidence, flow.divergence, flow.histogram, flow.mean_speed]
        out.append(shift.shift(y))
        tensor, _ = _core.preprocess_yuv420p(y, u, v, (416, 256))
        out.append(tensor)
    return out


def _same(a: list[Any], b: list[Any]) -> bool:
    """Equal item by item (NaN where NaN: a fire cell's periodicity before its window fills)."""

    def equal(x: Any, y: Any) -> bool:
        if isinstance(x, np.ndarray):
            return np.array_equal(x, y, equal_nan=x.dtype.kind == "f")
        return bool(x == y or (x != x and y != y))

    return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))


def test_the_avx2_copy_gives_the_baseline_results_bit_for_bit(avx2: None) -> None:
    frames = _frames()
    assert _core.simd("baseline") == "baseline"
    baseline = _everything(frames)
    assert _core.simd("auto") == "avx2"
    wide = _everything(frames)
    assert _same(wide, baseline)
    # what is compared moves with the frames (a check that could not fail would prove nothing)
    assert not _same(_everything(frames[1:] + frames[:1]), baseline)


def test_the_level_is_reported_and_checked() -> None:
    try:
        assert _core.simd() in ("avx2", "baseline")
        assert _core.simd("baseline") == "baseline"
        assert _core.simd() == "baseline"
        with pytest.raises(ParameterError, match="level"):
            _core.simd("sse2")  # type: ignore[arg-type]
        assert _core.simd() == "baseline"  # a refused level changes nothing
    finally:
        _core.simd("auto")
