"""How tall a standing person looks at a point of the image: the yardstick of crowd rules.

Speeds in body heights per second and densities per person-sized area need no minutes of
history and no per-camera constant: they need to know how big a person is where the crowd is.
Two sources, best first:

- the camera's ``calibration`` (image → ground homography): the local ground scale at the point
  (pixels per metre, the square root of the homography's area ratio there) times
  :data:`PERSON_HEIGHT_M`;
- the person detections of the last ``keep_s`` seconds: their box heights, as a straight line
  of the foot row (perspective: farther, higher in the image, smaller) when they spread over
  the height of the view, else their median. A detector that sees only a few persons of a
  dense crowd still says how big they are.

Neither (no calibration, no person seen yet): no scale, and the rules fall back on what they
did without one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from vsa_stream import _core
from vsa_stream.config import Calibration
from vsa_stream.observation import Observation
from vsa_stream.rules.common import ground_homography

__all__ = ["PERSON_HEIGHT_M", "PersonScale"]

#: Height of a standing adult, the unit of the body-height yardstick.
PERSON_HEIGHT_M = 1.7
_MIN_SAMPLES = 3  # person boxes needed before their heights are a scale
_FIT_SAMPLES = 6  # ... and before a straight line of the foot row is fitted
_FIT_SPREAD = 0.2  # fraction of the frame height the feet must spread over for that line
_MIN_HEIGHT_PX = 4.0


class PersonScale:
    """Pixel height of a standing person at points of one camera's image.

    Args:
        calibration: the camera's calibration, if any (preferred).
        classes: detection labels that are persons.
        keep_s: how long person detections are remembered.

    Example:
        >>> from vsa_stream.observation import Detection
        >>> scale = PersonScale(None)
        >>> people = [Detection(10.0 * k, 100.0, 10.0 * k + 20, 160.0, "person") for k in range(3)]
        >>> scale.observe(Observation("c", 0, 0.0, 0.0, 320, 240, people))
        >>> scale.heights(Observation("c", 1, 0.1, 0.1, 320, 240), np.array([[50.0, 120.0]]))
        array([60.])
    """

    def __init__(
        self,
        calibration: Calibration | None,
        classes: Sequence[str] = ("person",),
        keep_s: float = 10.0,
    ) -> None:
        self.calibration = calibration
        self.classes = tuple(classes)
        self.keep_s = keep_s
        self._samples: deque[tuple[float, float, float]] = deque()  # time, foot y, height
        self._homography: _core.Homography | None = None
        self._size = (0, 0)

    def observe(self, obs: Observation) -> None:
        """Record the person boxes of a frame (only frames the detector ran on)."""
        if obs.detected:
            for d in obs.detections:
                if d.label in self.classes and d.y1 - d.y0 >= _MIN_HEIGHT_PX:
                    self._samples.append((obs.time_s, d.y1, d.y1 - d.y0))
        while self._samples and obs.time_s - self._samples[0][0] > self.keep_s:
            self._samples.popleft()

    @property
    def known(self) -> bool:
        """Whether :meth:`heights` has a scale to give (else it returns None)."""
        return self.calibration is not None or len(self._samples) >= _MIN_SAMPLES

    def heights(self, obs: Observation, points: NDArray[np.float64]) -> NDArray[np.float64] | None:
        """Person height (px) at each of the ``(N, 2)`` points; NaN where the homography has
        none (beyond the horizon); None without any scale."""
        if self.calibration is not None:
            return self._from_homography(obs, points)
        if len(self._samples) < _MIN_SAMPLES:
            return None
        s = np.array(self._samples, dtype=np.float64)
        feet, tall = s[:, 1], s[:, 2]
        if len(s) >= _FIT_SAMPLES and np.ptp(feet) >= _FIT_SPREAD * obs.height:
            slope, intercept = np.polyfit(feet, tall, 1)
            fitted = intercept + slope * points[:, 1]
            out: NDArray[np.float64] = np.clip(fitted, tall.min() / 1.5, tall.max() * 1.5)
            return np.maximum(out, _MIN_HEIGHT_PX)
        return np.full(len(points), float(np.median(tall)))

    def _from_homography(
        self, obs: Observation, points: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        assert self.calibration is not None
        if self._size != (obs.width, obs.height) or self._homography is None:
            self._size = (obs.width, obs.height)
            self._homography = ground_homography(self.calibration, obs.width, obs.height)
        h = self._homography
        g0 = h.to_ground(np.ascontiguousarray(points, dtype=np.float64))
        gx = h.to_ground(np.ascontiguousarray(points + np.array([1.0, 0.0])))
        gy = h.to_ground(np.ascontiguousarray(points + np.array([0.0, 1.0])))
        a, b = gx - g0, gy - g0
        m2_per_px2 = np.abs(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0])
        with np.errstate(divide="ignore", invalid="ignore"):
            px_per_m = 1.0 / np.sqrt(m2_per_px2)
        out: NDArray[np.float64] = np.where(
            np.isfinite(px_per_m), PERSON_HEIGHT_M * px_per_m, np.nan
        )
        return out
