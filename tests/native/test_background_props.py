"""Property tests: pyramid, chroma downscale and connected components against numpy/scipy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import ndimage  # type: ignore[import-untyped]

from vsa_stream._core import connected_components, downscale_chroma, pyramid
from vsa_stream.errors import FrameError, ParameterError

U8 = NDArray[np.uint8]


def area2(plane: U8) -> U8:
    """Reference 2x area downscale: block mean rounded half up, remainders dropped."""
    h, w = plane.shape[0] // 2, plane.shape[1] // 2
    blocks = plane[: 2 * h, : 2 * w].astype(np.int64).reshape(h, 2, w, 2).sum(axis=(1, 3))
    out: U8 = ((blocks + 2) // 4).astype(np.uint8)
    return out


def area(plane: U8, f: int) -> U8:
    h, w = plane.shape[0] // f, plane.shape[1] // f
    blocks = plane[: f * h, : f * w].astype(np.int64).reshape(h, f, w, f).sum(axis=(1, 3))
    out: U8 = ((blocks + f * f // 2) // (f * f)).astype(np.uint8)
    return out


planes = st.tuples(st.integers(8, 70), st.integers(8, 70), st.integers(0, 2**32 - 1)).map(
    lambda t: np.random.default_rng(t[2]).integers(0, 256, size=(t[0], t[1]), dtype=np.uint8)
)


@settings(max_examples=60, deadline=None)
@given(planes, st.integers(0, 3), st.integers(0, 5))
def test_pyramid_matches_numpy(plane: U8, levels: int, pad: int) -> None:
    wide = np.zeros((plane.shape[0], plane.shape[1] + pad), np.uint8)
    wide[:, : plane.shape[1]] = plane
    got = pyramid(wide[:, : plane.shape[1]], levels)
    assert len(got) == levels + 1
    want = plane
    np.testing.assert_array_equal(got[0], want)
    for level in got[1:]:
        want = area2(want)
        np.testing.assert_array_equal(level, want)


@settings(max_examples=60, deadline=None)
@given(planes, st.sampled_from([1, 2, 4, 6, 8]))
def test_chroma_matches_luma_downscale_size(chroma: U8, factor: int) -> None:
    luma_h, luma_w = 2 * chroma.shape[0] - 1, 2 * chroma.shape[1]  # odd luma height
    got = downscale_chroma(chroma, factor, luma_w, luma_h)
    out_h, out_w = luma_h // factor, luma_w // factor
    assert got.shape == (out_h, out_w)
    if factor == 1:
        want = np.repeat(np.repeat(chroma, 2, axis=0), 2, axis=1)[:out_h, :out_w]
    else:
        want = area(chroma, factor // 2)[:out_h, :out_w]
    np.testing.assert_array_equal(got, want)


def test_chroma_rejects_odd_factor_and_small_plane() -> None:
    chroma = np.zeros((10, 10), np.uint8)
    with pytest.raises(ParameterError, match="even"):
        downscale_chroma(chroma, 3, 20, 20)
    with pytest.raises(FrameError, match="too small"):
        downscale_chroma(chroma, 2, 40, 40)


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 40),
    st.floats(0.05, 0.9),
    st.integers(0, 2**32 - 1),
    st.integers(1, 4),
)
def test_components_match_scipy(h: int, w: int, p: float, seed: int, min_area: int) -> None:
    mask = (np.random.default_rng(seed).random((h, w)) < p).astype(np.uint8) * 255
    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    want = []
    for k in range(1, n + 1):
        ys, xs = np.nonzero(labels == k)
        if len(ys) < min_area:
            continue
        first = int(np.argmin(ys * w + xs))
        box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        fill = len(ys) / ((box[2] - box[0]) * (box[3] - box[1]))
        centre = (float(xs.mean()) + 0.5, float(ys.mean()) + 0.5)
        want.append((int(ys[first] * w + xs[first]), box, len(ys), fill, centre))
    want.sort()
    got = connected_components(mask, min_area)
    assert len(got) == len(want)
    for b, (_, box, count, fill, (cx, cy)) in zip(got, want, strict=True):
        assert (b.x0, b.y0, b.x1, b.y1) == box
        assert b.area == count
        assert b.fill == pytest.approx(fill)
        assert b.cx == pytest.approx(cx)
        assert b.cy == pytest.approx(cy)
