"""``_core.CameraShift``: the camera's own translation between frames, by phase correlation.

The kernel must give exactly what the plain numpy phase correlation gives (the engine's former
implementation, kept as ``vsa_stream.bench.references.NumpyShift``) on real footage where the
camera moves and on the synthetic camera-shake scene, at a size whose half-resolution square is
a power of two (radix-2 FFT) and at sizes where it is not (a mixed-radix FFT when its prime
factors are small, Bluestein's transform otherwise).
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from numpy.typing import NDArray

from conftest import shared_path
from vsa_stream._core import CameraShift
from vsa_stream.bench.references import NumpyShift
from vsa_stream.errors import FrameError, ParameterError
from vsa_stream.synth.situations import render_scenario


def _compare(path: Path, limit: int = 200, transform: str | None = None) -> tuple[int, int]:
    """Frames compared and frames where the camera moved; asserts both agree on each (and that
    the kernel took ``transform``, when given)."""
    kernel, reference = CameraShift(), NumpyShift()
    frames = moved = 0
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index >= limit:
                break
            luma: NDArray[np.uint8] = np.asarray(frame.to_ndarray(format="gray"), np.uint8)
            want = reference.shift(luma)
            assert kernel.shift(luma) == want, f"{path.name} frame {index}"
            frames += 1
            moved += want >= 2.0
    if transform is not None:
        assert kernel.transform == transform
    return frames, moved


def test_the_same_shifts_as_numpy_on_real_footage() -> None:
    """A handheld clip of the dev set (the camera moves in about a third of its frames)."""
    frames, moved = _compare(shared_path("data", "dev", "falls", "gmdcsa24_S1_Fall_13.mp4"))
    assert frames >= 100
    assert moved >= 20


@pytest.mark.parametrize(
    ("size", "transform"),
    [
        ((640, 480), "radix-2"),
        ((384, 216), "mixed-radix"),
        ((320, 240), "mixed-radix"),
        ((200, 150), "mixed-radix"),
        ((240, 136), "bluestein"),
        ((256, 118), "bluestein"),
    ],
)
def test_the_same_shifts_as_numpy_on_a_shaking_camera(
    tmp_path: Path, size: tuple[int, int], transform: str
) -> None:
    """640x480: a 128-point square (radix 2); 384x216, 320x240 and 200x150: 108, 120 and 75
    points (mixed radix: 2 x 2 x 3 x 3 x 3, 2 x 2 x 2 x 3 x 5, 3 x 5 x 5); 240x136 and 256x118:
    68 and 59 points (Bluestein: 2 x 2 x 17 and a prime). An odd side leaves one real column
    unpaired."""
    render_scenario("camera_shake", tmp_path, seed=7, width=size[0], height=size[1])
    frames, moved = _compare(tmp_path / "video.mp4", transform=transform)
    assert frames >= 100
    assert moved >= 10


def test_a_translation_is_found_and_a_still_frame_is_not() -> None:
    rng = np.random.default_rng(0)
    scene = rng.integers(0, 255, (300, 400), dtype=np.uint8)
    shift = CameraShift()
    assert CameraShift().transform is None  # no frame yet
    assert shift.shift(scene) == 0.0  # no previous frame
    assert shift.transform == "radix-2"  # a 128-point square
    assert shift.shift(scene) == 0.0
    assert shift.shift(np.roll(scene, (6, 8), axis=(0, 1))) == 10.0
    shift.reset()
    assert shift.shift(scene) == 0.0


def test_padded_rows_give_what_a_packed_copy_gives() -> None:
    rng = np.random.default_rng(1)
    big = rng.integers(0, 255, (300, 480), dtype=np.uint8)
    padded, packed = CameraShift(), CameraShift()
    for dx in (0, 4, 10):
        view = np.roll(big, dx, axis=1)[:, :400]  # rows 480 bytes apart
        assert padded.shift(view) == packed.shift(np.ascontiguousarray(view))


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ParameterError, match="crop"):
        CameraShift(1)
    shift = CameraShift()
    with pytest.raises(FrameError, match="uint8"):
        shift.shift(np.zeros((100, 100), np.float32))
    with pytest.raises(FrameError, match="2-D"):
        shift.shift(np.zeros((100, 100, 3), np.uint8))
    assert shift.shift(np.zeros((1, 1), np.uint8)) == 0.0  # too small to measure
