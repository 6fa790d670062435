"""The exception tree of ``vsa_stream.errors`` and how the native core maps onto it.

As PyAV's ``test_errors``: the classes and their bases, which kernel input raises which class,
and the attributes each keeps (the fields of the Rust variant it came from).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable

import numpy as np
import pytest

from vsa_stream import _core, errors
from vsa_stream.errors import (
    ConfigError,
    FrameError,
    GeometryError,
    InternalError,
    KernelError,
    ModelError,
    ParameterError,
    SourceError,
    VsaError,
)


def test_tree() -> None:
    assert issubclass(VsaError, Exception)
    assert issubclass(KernelError, VsaError)
    assert FrameError.__mro__[1:3] == (KernelError, VsaError)
    assert issubclass(FrameError, ValueError)
    assert issubclass(ParameterError, KernelError)
    assert issubclass(ParameterError, ValueError)
    assert GeometryError.__bases__ == (ParameterError,)
    assert issubclass(InternalError, KernelError)
    assert issubclass(InternalError, RuntimeError)
    # A bug of ours is not a bad value: `except ValueError` around a kernel must not hide it.
    assert not issubclass(InternalError, ValueError)
    assert not issubclass(FrameError, ParameterError)
    assert not issubclass(ParameterError, FrameError)
    assert issubclass(ConfigError, ValueError)
    assert issubclass(ModelError, ValueError)
    assert issubclass(SourceError, OSError)
    exported = {getattr(errors, name) for name in errors.__all__}
    assert {FrameError, GeometryError, InternalError, KernelError, ParameterError} <= exported
    assert all(issubclass(cls, VsaError) for cls in exported)


def test_raised_from_python_like_any_exception() -> None:
    e = FrameError("the luma plane must be a non-empty 2-D array")
    assert str(e) == "the luma plane must be a non-empty 2-D array"
    assert (e.code, e.field, e.details) == ("", None, {})
    with pytest.raises(AttributeError, match="width"):
        _ = e.width
    detailed = ParameterError("bad", field="alpha", code="invalid_parameter", low=0)
    assert (detailed.field, detailed.code, detailed.low) == ("alpha", "invalid_parameter", 0)


def _plane(height: int, width: int) -> np.ndarray:
    return np.zeros((height, width), np.uint8)


def _heading_backwards() -> None:
    tracker = _core.HeadingTracker(0.0)
    box = np.array([[0.0, 0.0, 1.0, 1.0]])
    tracker.update(1.0, np.array([1]), box)
    tracker.update(0.5, np.array([1]), box)


# (what, call, class, message, attributes): one row per core error enum, several variants each.
KERNEL_ERRORS: list[tuple[str, Callable[[], object], type[KernelError], str, dict[str, object]]] = [
    (
        "binding: wrong dtype",
        lambda: _core.downscale_area(np.zeros((4, 4), np.float32), 2),
        FrameError,
        "plane must have dtype uint8, got float32",
        {"code": "bad_input", "field": "plane"},
    ),
    (
        "binding: bad parameter",
        lambda: _core.downscale_area(_plane(8, 8), 0),
        ParameterError,
        "factor must be at least 1, got 0",
        {"field": "factor"},
    ),
    (
        "PlaneError::Oversize",
        lambda: _core.flow_grid(_plane(1, 20_000), _plane(1, 20_000)),
        FrameError,
        "frame 20000×1 is too large",
        {"code": "oversize", "width": 20_000, "height": 1},
    ),
    (
        # A kernel sized on a frame refuses the size as a parameter: no frame is there yet, and
        # a camera whose stream it refuses fails with the reason instead of dropping every frame.
        "PlaneError::Oversize, constructor",
        lambda: _core.MotionDetector(20_000, 10),
        ParameterError,
        "frame 20000×10 is too large",
        {"code": "oversize", "width": 20_000, "height": 10},
    ),
    (
        "PlaneError::FactorTooLarge",
        lambda: _core.downscale_area(_plane(8, 8), 9),
        FrameError,
        "downscale factor 9 is larger than the plane",
        {"code": "factor_too_large", "factor": 9, "width": 8, "height": 8},
    ),
    (
        "MotionError::SizeMismatch",
        lambda: _core.MotionDetector(64, 48).process(_plane(32, 32)),
        FrameError,
        "luma plane is 32×32 but the detector was built for 64×48",
        {"code": "size_mismatch", "field": "luma plane", "expected": (64, 48), "got": (32, 32)},
    ),
    (
        "MotionError::InvalidParameter",
        lambda: _core.MotionDetector(64, 48, alpha=2.0),
        ParameterError,
        "alpha must be in",
        {"code": "invalid_parameter", "field": "alpha"},
    ),
    (
        "MotionError::BadInput",
        lambda: _core.downscale_chroma(_plane(10, 10), 2, 40, 40),
        FrameError,
        "chroma plane 10×10 is too small",
        {"field": "chroma plane"},
    ),
    (
        "FlowError::SizeMismatch",
        lambda: _core.MotionField(96, 64).update(_plane(32, 32)),
        FrameError,
        "luma plane is 32×32 but 96×64 was expected",
        {"code": "size_mismatch", "expected": (96, 64), "got": (32, 32)},
    ),
    (
        "FlowError::InvalidParameter",
        lambda: _core.flow_grid(_plane(64, 96), _plane(64, 96), cell=2),
        ParameterError,
        "cell",
        {"field": "cell"},
    ),
    (
        "binding: polygon shape",
        lambda: _core.validate_polygon(np.zeros((3, 3))),
        GeometryError,
        "polygon must have shape (M, 2)",
        {"code": "bad_polygon", "field": "polygon"},
    ),
    (
        "PolygonError::SelfIntersecting",
        lambda: _core.validate_polygon(np.array([(0.0, 0.0), (2, 2), (2, 0), (0, 2)])),
        GeometryError,
        "polygon is self-intersecting: edges 0 and 2 cross or touch",
        {"code": "bad_polygon", "field": "polygon", "edges": (0, 2)},
    ),
    (
        "PolygonError::TooFewVertices",
        lambda: _core.validate_polygon(np.array([(0.0, 0.0), (1, 0), (1, 0)])),
        GeometryError,
        "polygon needs at least 3 distinct vertices, got 2",
        {"vertices": 2},
    ),
    (
        "GeometryError::DegenerateHomography",
        lambda: _core.Homography(
            np.array([(0.0, 0.0), (1, 1), (2, 2), (3, 3)]),
            np.array([(0.0, 0.0), (1, 0), (1, 1), (0, 1)]),
        ),
        GeometryError,
        "degenerate homography: three of the four image points are collinear",
        {"code": "degenerate_homography"},
    ),
    (
        "GeometryError::Invalid",
        lambda: _core.LineCounter((0.0, 0.0), (1.0, 0.0), hysteresis_px=-1.0),
        ParameterError,
        "hysteresis_px must be finite and >= 0, got -1",
        {"code": "invalid_parameter", "field": "hysteresis_px"},
    ),
    (
        "GeometryError::BadInput",
        _heading_backwards,
        FrameError,
        "time_s must not go backwards, got 0.5 after 1",
        {"field": "time_s"},
    ),
    (
        "TrackError::InvertedBox",
        lambda: _core.Tracker().update(np.array([[2.0, 0.0, 1.0, 1.0]]), np.array([0.9])),
        FrameError,
        "detection 0 is not an (x0, y0, x1, y1) box",
        {"code": "inverted_box", "field": "boxes", "index": 0, "xyxy": (2.0, 0.0, 1.0, 1.0)},
    ),
    (
        "TrackError::Config",
        lambda: _core.Tracker(frame_rate=-1.0),
        ParameterError,
        "frame_rate must be > 0",
        {"code": "invalid_parameter", "field": "frame_rate"},
    ),
    (
        "DetectError::Shape",
        lambda: _core.decode_yolox(
            np.zeros((5, 7), np.float32), _core.Letterbox(640, 480, 416, 416), strides=[8, 16, 32]
        ),
        FrameError,
        "YOLOX output has 5 anchors",
        {"code": "bad_shape"},
    ),
    (
        "DetectError::Invalid",
        lambda: _core.decode_yolox(
            np.zeros((5, 7), np.float32), _core.Letterbox(640, 480, 416, 416), strides=[]
        ),
        ParameterError,
        "strides must be positive and not empty",
        {"code": "invalid_parameter"},
    ),
    (
        "FireError::BadParameter",
        lambda: _core.FireDetector(64, 48, threshold=float("nan")),
        ParameterError,
        "threshold must be finite",
        {"code": "invalid_parameter", "field": "threshold"},
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "message", "attributes"),
    [pytest.param(*row[1:], id=row[0]) for row in KERNEL_ERRORS],
)
def test_kernel_input_raises_its_class(
    call: Callable[[], object],
    error: type[KernelError],
    message: str,
    attributes: dict[str, object],
) -> None:
    with pytest.raises(error) as info:
        call()
    e = info.value
    assert type(e) is error
    assert str(e).startswith(message)
    assert e.message == str(e)
    for name, value in attributes.items():
        assert getattr(e, name) == value, name
        assert e.details[name] == value, name
    assert e.code  # every native error names its variant


def test_attributes_survive_pickling() -> None:
    # Errors cross process boundaries (the detector service, multiprocessing in tests).
    with pytest.raises(FrameError) as info:
        _core.MotionField(96, 64).update(_plane(32, 32))
    back = pickle.loads(pickle.dumps(info.value))
    assert type(back) is FrameError
    assert str(back) == str(info.value)
    assert (back.code, back.expected, back.got) == ("size_mismatch", (96, 64), (32, 32))
