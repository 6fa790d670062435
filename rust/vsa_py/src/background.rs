//! `pyramid`, `downscale_chroma`, `DualBackground`, `Tamper` and `StaticCandidate`.

use numpy::PyArray2;
use pyo3::prelude::*;
use vsa_core::background::{self as bg, DualConfig};

use crate::arrays::{non_negative, owned_2d, plane_view, readonly_2d, run_detached};
use crate::errors::{sized, Error, Result};
use crate::motion::{blobs_of_luma, Blob};

/// Area pyramid: `levels + 1` uint8 planes, level 0 a copy, each next level the 2× area
/// downscale of the previous one.
#[pyfunction]
pub(crate) fn pyramid<'py>(
    py: Python<'py>,
    plane: &Bound<'py, PyAny>,
    levels: i64,
) -> Result<Vec<Bound<'py, PyArray2<u8>>>> {
    let levels = usize::try_from(levels)
        .map_err(|_| Error::parameter("levels", format!("levels must be >= 0, got {levels}")))?;
    let array = readonly_2d::<u8>(plane, "plane")?;
    let view = plane_view(&array, "plane")?;
    let out = run_detached(
        py,
        "pyramid",
        #[inline(always)]
        move || bg::pyramid(&view, levels),
    )??;
    out.into_iter()
        .map(|p| {
            let (w, h) = (p.width(), p.height());
            owned_2d(py, p.into_vec(), h, w)
        })
        .collect()
}

/// A half-resolution chroma plane downscaled to `(luma_height // factor, luma_width // factor)`.
#[pyfunction]
pub(crate) fn downscale_chroma<'py>(
    py: Python<'py>,
    plane: &Bound<'py, PyAny>,
    factor: i64,
    luma_width: i64,
    luma_height: i64,
) -> Result<Bound<'py, PyArray2<u8>>> {
    let factor = usize::try_from(factor)
        .map_err(|_| Error::parameter("factor", format!("factor must be >= 1, got {factor}")))?;
    let lw = usize::try_from(luma_width)
        .map_err(|_| Error::parameter("luma_width", "luma_width < 0"))?;
    let lh = usize::try_from(luma_height)
        .map_err(|_| Error::parameter("luma_height", "luma_height < 0"))?;
    let array = readonly_2d::<u8>(plane, "chroma plane")?;
    let view = plane_view(&array, "chroma plane")?;
    let out = run_detached(
        py,
        "downscale_chroma",
        #[inline(always)]
        move || bg::downscale_chroma(&view, factor, lw, lh),
    )??;
    let (w, h) = (out.width(), out.height());
    owned_2d(py, out.into_vec(), h, w)
}

/// 8-connected components of the non-zero pixels of a uint8 mask with at least `min_area`
/// pixels, in the order of their first pixel (row-major scan).
#[pyfunction]
#[pyo3(signature = (mask, min_area = 1))]
pub(crate) fn connected_components(
    py: Python<'_>,
    mask: &Bound<'_, PyAny>,
    min_area: i64,
) -> Result<Vec<Blob>> {
    let min_area = non_negative("min_area", min_area)?;
    let array = readonly_2d::<u8>(mask, "mask")?;
    let view = plane_view(&array, "mask")?;
    let blobs = run_detached(
        py,
        "connected_components",
        #[inline(always)]
        move || {
            let packed: Vec<u8> = view.rows().flatten().copied().collect();
            vsa_core::motion::find_blobs(&packed, view.width(), view.height(), min_area)
        },
    )?;
    Ok(blobs.into_iter().map(Blob::from).collect())
}

/// The camera-tampering signal of one frame.
#[pyclass(frozen, get_all, module = "vsa_stream._core")]
#[derive(Debug, Clone)]
pub(crate) struct Tamper {
    score: f32,
    reason: Option<&'static str>,
    run: u32,
    flag: bool,
}

#[pymethods]
impl Tamper {
    fn __repr__(&self) -> String {
        format!(
            "Tamper(flag={}, reason={}, score={:.2}, run={})",
            if self.flag { "True" } else { "False" },
            self.reason.map_or("None".to_string(), |r| format!("'{r}'")),
            self.score,
            self.run
        )
    }
}

/// A static-object candidate in full-resolution pixels.
#[pyclass(frozen, get_all, module = "vsa_stream._core")]
#[derive(Debug, Clone)]
pub(crate) struct StaticCandidate {
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
    area: usize,
    cx: f64,
    cy: f64,
    fill: f64,
    first_frame: u64,
    age: u64,
    evidence: f32,
    presence: f32,
    ghost: bool,
}

#[pymethods]
impl StaticCandidate {
    fn __repr__(&self) -> String {
        format!(
            "StaticCandidate(x0={}, y0={}, x1={}, y1={}, area={}, age={}, evidence={:.1}, \
             presence={:.2})",
            self.x0, self.y0, self.x1, self.y1, self.area, self.age, self.evidence, self.presence
        )
    }
}

/// Dual-rate background subtraction with tampering signal and static-object evidence.
#[pyclass(module = "vsa_stream._core")]
pub(crate) struct DualBackground {
    inner: bg::DualBackground,
}

#[pymethods]
impl DualBackground {
    #[new]
    #[pyo3(signature = (
        width, height, *, factor = 4, fast_alpha = 0.1, slow_alpha = 0.005, threshold = 15.0,
        noise_k = 3.0, min_area = 100, warmup_frames = 10, static_frames = 50,
        static_decay = 2, tamper_frames = 10
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        width: i64,
        height: i64,
        factor: i64,
        fast_alpha: f64,
        slow_alpha: f64,
        threshold: f64,
        noise_k: f64,
        min_area: i64,
        warmup_frames: i64,
        static_frames: i64,
        static_decay: i64,
        tamper_frames: i64,
    ) -> Result<Self> {
        let u16_param = |name: &str, v: i64| {
            u16::try_from(v).map_err(|_| {
                Error::parameter(name, format!("{name} must be in 0..=65535, got {v}"))
            })
        };
        let config = DualConfig {
            factor: non_negative("factor", factor)?,
            fast_alpha: fast_alpha as f32,
            slow_alpha: slow_alpha as f32,
            threshold: threshold as f32,
            noise_k: noise_k as f32,
            min_area: non_negative("min_area", min_area)?,
            warmup_frames: non_negative("warmup_frames", warmup_frames)? as u64,
            static_frames: u16_param("static_frames", static_frames)?,
            static_decay: u16_param("static_decay", static_decay)?,
            tamper_frames: u32::try_from(non_negative("tamper_frames", tamper_frames)?)
                .map_err(|_| Error::parameter("tamper_frames", "tamper_frames is too large"))?,
        };
        let (w, h) = (
            non_negative("width", width)?,
            non_negative("height", height)?,
        );
        Ok(Self {
            inner: sized(bg::DualBackground::new(w, h, config))?,
        })
    }

    /// Processes one luma plane; returns the fast-mask blobs (full-resolution pixels).
    fn update(&mut self, py: Python<'_>, luma: &Bound<'_, PyAny>) -> Result<Vec<Blob>> {
        blobs_of_luma(
            py,
            "DualBackground.update",
            luma,
            &mut self.inner,
            #[inline(always)]
            |m, v| m.update(v),
            |m| m.reset(),
        )
    }

    /// Cleaned fast foreground mask (uint8 0/255, downscaled size).
    fn fast_foreground<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyArray2<u8>>> {
        let (w, h) = self.inner.small_size();
        owned_2d(py, self.inner.fast_mask().to_vec(), h, w)
    }

    /// Cleaned slow foreground mask (uint8 0/255, downscaled size).
    fn slow_foreground<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyArray2<u8>>> {
        let (w, h) = self.inner.small_size();
        owned_2d(py, self.inner.slow_mask().to_vec(), h, w)
    }

    /// The fast model (float32, downscaled size).
    fn fast_background<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyArray2<f32>>> {
        let (w, h) = self.inner.small_size();
        owned_2d(py, self.inner.fast_background().to_vec(), h, w)
    }

    /// The slow model (float32, downscaled size).
    fn slow_background<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyArray2<f32>>> {
        let (w, h) = self.inner.small_size();
        owned_2d(py, self.inner.slow_background().to_vec(), h, w)
    }

    /// Static-object evidence per downscaled pixel, in frames (uint16).
    fn evidence<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyArray2<u16>>> {
        let (w, h) = self.inner.small_size();
        owned_2d(py, self.inner.statics().evidence().to_vec(), h, w)
    }

    /// Static-object candidates of the last frame.
    fn static_candidates(&self) -> Vec<StaticCandidate> {
        self.inner
            .statics()
            .candidates()
            .iter()
            .map(|c| StaticCandidate {
                x0: c.blob.x0,
                y0: c.blob.y0,
                x1: c.blob.x1,
                y1: c.blob.y1,
                area: c.blob.area,
                cx: c.blob.cx,
                cy: c.blob.cy,
                fill: c.blob.fill(),
                first_frame: c.first_frame,
                age: c.age,
                evidence: c.evidence,
                presence: c.presence,
                ghost: c.is_ghost(),
            })
            .collect()
    }

    /// The tampering signal of the last frame.
    #[getter]
    fn tamper(&self) -> Tamper {
        let t = self.inner.tamper();
        Tamper {
            score: t.score,
            reason: t.reason.map(|r| r.as_str()),
            run: t.run,
            flag: t.flag,
        }
    }

    /// Global illumination offset removed from the last frame (grey levels).
    #[getter]
    fn illumination_offset(&self) -> f32 {
        self.inner.illumination_offset()
    }

    /// Forgets the models, evidence and tampering state.
    fn reset(&mut self) {
        self.inner.reset();
    }

    #[getter]
    fn width(&self) -> usize {
        self.inner.width()
    }

    #[getter]
    fn height(&self) -> usize {
        self.inner.height()
    }

    #[getter]
    fn factor(&self) -> usize {
        self.inner.config().factor
    }

    #[getter]
    fn frames(&self) -> u64 {
        self.inner.frames()
    }

    fn __repr__(&self) -> String {
        format!(
            "DualBackground({}, {}, {:?}; frames={})",
            self.inner.width(),
            self.inner.height(),
            self.inner.config(),
            self.inner.frames()
        )
    }
}
