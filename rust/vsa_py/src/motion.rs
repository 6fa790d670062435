//! `Blob` and `MotionDetector`.

use numpy::PyArray2;
use pyo3::prelude::*;
use vsa_core::image::PlaneView;
use vsa_core::motion::{self, MotionConfig, MotionError};

use crate::arrays::{non_negative, on_luma, owned_2d};
use crate::errors::{sized, Error, Result};

/// A moving region, in full-resolution pixels: the box is `[x0, x1) × [y0, y1)`, `area` counts
/// its foreground pixels, and `(cx, cy)` is its centroid (pixel `(x, y)` has its centre at
/// `(x + 0.5, y + 0.5)`).
#[pyclass(frozen, get_all, module = "vsa_stream._core")]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Blob {
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
    area: usize,
    cx: f64,
    cy: f64,
}

#[pymethods]
impl Blob {
    /// Fill ratio: `area` over the box area.
    #[getter]
    fn fill(&self) -> f64 {
        let box_area = (self.x1 - self.x0) * (self.y1 - self.y0);
        if box_area == 0 {
            0.0
        } else {
            self.area as f64 / box_area as f64
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "Blob(x0={}, y0={}, x1={}, y1={}, area={}, cx={:.1}, cy={:.1})",
            self.x0, self.y0, self.x1, self.y1, self.area, self.cx, self.cy
        )
    }
}

impl From<motion::Blob> for Blob {
    fn from(b: motion::Blob) -> Self {
        Self {
            x0: b.x0,
            y0: b.y0,
            x1: b.x1,
            y1: b.y1,
            area: b.area,
            cx: b.cx,
            cy: b.cy,
        }
    }
}

/// Runs a blob kernel of a stateful model on a luma plane with the GIL released (see
/// [`on_luma`]).
pub(crate) fn blobs_of_luma<M: Send>(
    py: Python<'_>,
    name: &str,
    luma: &Bound<'_, PyAny>,
    model: &mut M,
    kernel: impl Send + FnOnce(&mut M, &PlaneView<'_>) -> Result<Vec<motion::Blob>, MotionError>,
    reset: impl FnOnce(&mut M),
) -> Result<Vec<Blob>> {
    let blobs = on_luma(py, name, luma, model, kernel, reset)?;
    Ok(blobs.into_iter().map(Blob::from).collect())
}

/// Background-subtraction motion detector for one camera's luma plane.
///
/// Downscales each frame by `factor` (box average), compares it with a running-average
/// background (learning rate `alpha`, ten times slower under foreground) after removing the
/// global brightness change, thresholds at `threshold` grey levels, cleans the mask (3×3
/// closing then opening) and returns the 8-connected blobs of at least `min_area`
/// full-resolution pixels. The first `warmup_frames` frames only build the background.
#[pyclass(module = "vsa_stream._core")]
pub(crate) struct MotionDetector {
    inner: motion::MotionDetector,
}

#[pymethods]
impl MotionDetector {
    #[new]
    #[pyo3(signature = (
        width, height, *, factor = 4, alpha = 0.05, threshold = 20.0, min_area = 400,
        warmup_frames = 5
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        width: i64,
        height: i64,
        factor: i64,
        alpha: f64,
        threshold: f64,
        min_area: i64,
        warmup_frames: i64,
    ) -> Result<Self> {
        let width = non_negative("width", width)?;
        let height = non_negative("height", height)?;
        let factor = non_negative("factor", factor)?;
        if factor == 0 {
            return Err(Error::parameter(
                "factor",
                "factor must be at least 1, got 0",
            ));
        }
        if width < factor || height < factor {
            return Err(Error::parameter(
                "factor",
                format!("a {width}×{height} frame is smaller than the downscale factor {factor}"),
            ));
        }
        let config = MotionConfig {
            factor,
            alpha: alpha as f32,
            threshold: threshold as f32,
            min_area: non_negative("min_area", min_area)?,
            warmup_frames: non_negative("warmup_frames", warmup_frames)? as u64,
        };
        Ok(Self {
            inner: sized(motion::MotionDetector::new(width, height, config))?,
        })
    }

    /// Processes one luma plane (uint8, `(height, width)`, rows may be padded) and returns the
    /// moving blobs in full-resolution pixels. The GIL is released meanwhile.
    fn process(&mut self, py: Python<'_>, luma: &Bound<'_, PyAny>) -> Result<Vec<Blob>> {
        blobs_of_luma(
            py,
            "MotionDetector.process",
            luma,
            &mut self.inner,
            #[inline(always)]
            |m, v| m.process(v),
            |m| m.reset(),
        )
    }

    /// The cleaned foreground mask of the last frame: uint8, downscaled size, 0 or 255.
    fn foreground<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyArray2<u8>>> {
        let (w, h) = self.inner.small_size();
        owned_2d(py, self.inner.mask().to_vec(), h, w)
    }

    /// The background model rounded to uint8, downscaled size (zeros before the first frame).
    fn background<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyArray2<u8>>> {
        let (w, h) = self.inner.small_size();
        owned_2d(py, self.inner.background().background_u8(), h, w)
    }

    /// Forgets the background and the frame count; the next frame starts a new warm-up.
    fn reset(&mut self) {
        self.inner.reset();
    }

    /// Width of the full-resolution frames, in pixels.
    #[getter]
    fn width(&self) -> usize {
        self.inner.width()
    }

    /// Height of the full-resolution frames, in pixels.
    #[getter]
    fn height(&self) -> usize {
        self.inner.height()
    }

    /// Downscale factor.
    #[getter]
    fn factor(&self) -> usize {
        self.inner.config().factor
    }

    /// Frames processed since creation or the last reset.
    #[getter]
    fn frames(&self) -> u64 {
        self.inner.frames()
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!(
            "MotionDetector({}, {}, factor={}, alpha={}, threshold={}, min_area={}, \
             warmup_frames={}; frames={})",
            self.inner.width(),
            self.inner.height(),
            c.factor,
            c.alpha,
            c.threshold,
            c.min_area,
            c.warmup_frames,
            self.inner.frames()
        )
    }
}

/// The camera itself moving: the global translation of the view between consecutive frames,
/// by phase correlation of a central `crop × crop` square (smaller frames: the largest even
/// square that fits), taken at half resolution with a Hann window.
#[pyclass(module = "vsa_stream._core")]
pub(crate) struct CameraShift {
    inner: motion::CameraShift,
}

#[pymethods]
impl CameraShift {
    #[new]
    #[pyo3(signature = (crop = 256))]
    fn new(crop: i64) -> Result<Self> {
        let crop = non_negative("crop", crop)?;
        if crop < 2 {
            return Err(Error::parameter(
                "crop",
                format!("crop must be at least 2 pixels, got {crop}"),
            ));
        }
        Ok(Self {
            inner: sized(motion::CameraShift::new(crop))?,
        })
    }

    /// The translation of `luma` (uint8, `(height, width)`, rows may be padded) against the
    /// previous frame given, in full-resolution pixels: a distance, a multiple of 2. 0 for the
    /// first frame, after a change of crop size or a reset, and for a frame under 2×2 pixels.
    /// The GIL is released meanwhile.
    fn shift(&mut self, py: Python<'_>, luma: &Bound<'_, PyAny>) -> Result<f64> {
        on_luma(
            py,
            "CameraShift.shift",
            luma,
            &mut self.inner,
            #[inline(always)]
            |m, v| m.shift(v),
            |m| m.reset(),
        )
    }

    /// Forgets the previous frame: the next shift is 0.
    fn reset(&mut self) {
        self.inner.reset();
    }

    /// Side of the square crop, full-resolution pixels.
    #[getter]
    fn crop(&self) -> usize {
        self.inner.crop()
    }

    /// The transform of the last frame's half-resolution square: "radix-2", "mixed-radix" or
    /// "bluestein"; None before the first frame.
    #[getter]
    fn transform(&self) -> Option<&'static str> {
        self.inner.transform()
    }

    fn __repr__(&self) -> String {
        format!("CameraShift(crop={})", self.inner.crop())
    }
}
