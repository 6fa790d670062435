//! `FireDetector` and `FireResult`.

use numpy::PyArray2;
use pyo3::prelude::*;
use vsa_core::fire::{self, ColourRule, FireConfig};

use crate::arrays::{owned_2d, plane_view, readonly_2d, run_detached};
use crate::errors::{sized, Error, Result};

/// The fire evidence of one frame: per-cell float32 arrays and the best cell.
#[pyclass(frozen, module = "vsa_stream._core")]
pub(crate) struct FireResult {
    #[pyo3(get)]
    colour: Py<PyArray2<f32>>,
    #[pyo3(get)]
    flicker: Py<PyArray2<f32>>,
    #[pyo3(get)]
    growth: Py<PyArray2<f32>>,
    #[pyo3(get)]
    score: Py<PyArray2<f32>>,
    #[pyo3(get)]
    periodicity: Py<PyArray2<f32>>,
    #[pyo3(get)]
    best_score: f32,
    #[pyo3(get)]
    best_cell: (usize, usize),
    #[pyo3(get)]
    best_box: (usize, usize, usize, usize),
    #[pyo3(get)]
    alarm: bool,
}

#[pymethods]
impl FireResult {
    fn __repr__(&self) -> String {
        format!(
            "FireResult(best_score={:.3}, best_cell={:?}, best_box={:?}, alarm={})",
            self.best_score, self.best_cell, self.best_box, self.alarm
        )
    }
}

/// Fire evidence from yuv420p planes (see the stub for the details).
#[pyclass(module = "vsa_stream._core")]
pub(crate) struct FireDetector {
    inner: fire::FireDetector,
}

#[pymethods]
impl FireDetector {
    #[new]
    #[pyo3(signature = (
        width, height, *, cell = 16, window = 30, threshold = 0.5, tau = 40, period_window = 180
    ))]
    fn new(
        width: i64,
        height: i64,
        cell: i64,
        window: i64,
        threshold: f64,
        tau: i64,
        period_window: i64,
    ) -> Result<Self> {
        let pos = |name: &str, v: i64| {
            usize::try_from(v)
                .map_err(|_| Error::parameter(name, format!("{name} must be >= 0, got {v}")))
        };
        let tau = u8::try_from(tau)
            .map_err(|_| Error::parameter("tau", format!("tau must be in [0, 255], got {tau}")))?;
        let config = FireConfig {
            cell: pos("cell", cell)?,
            window: pos("window", window)?,
            threshold: threshold as f32,
            period_window: pos("period_window", period_window)?,
            rule: ColourRule { tau },
        };
        Ok(Self {
            inner: sized(fire::FireDetector::new(
                pos("width", width)?,
                pos("height", height)?,
                config,
            ))?,
        })
    }

    /// Processes one yuv420p frame; the GIL is released meanwhile.
    fn update(
        &mut self,
        py: Python<'_>,
        y: &Bound<'_, PyAny>,
        u: &Bound<'_, PyAny>,
        v: &Bound<'_, PyAny>,
    ) -> Result<FireResult> {
        let (ya, ua, va) = (
            readonly_2d::<u8>(y, "Y plane")?,
            readonly_2d::<u8>(u, "U plane")?,
            readonly_2d::<u8>(v, "V plane")?,
        );
        let (yv, uv, vv) = (
            plane_view(&ya, "Y plane")?,
            plane_view(&ua, "U plane")?,
            plane_view(&va, "V plane")?,
        );
        let inner = &mut self.inner;
        let res = run_detached(
            py,
            "FireDetector.update",
            #[inline(always)]
            move || inner.update(&yv, &uv, &vv).map(|_| ()),
        );
        match res {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e.into()),
            Err(panic) => {
                self.inner.reset();
                return Err(panic);
            }
        }
        let (rows, cols) = self.inner.grid();
        let out = self.inner.last();
        let (best, best_score) = out.best;
        Ok(FireResult {
            colour: owned_2d(py, out.colour.clone(), rows, cols)?.unbind(),
            flicker: owned_2d(py, out.flicker.clone(), rows, cols)?.unbind(),
            growth: owned_2d(py, out.growth.clone(), rows, cols)?.unbind(),
            score: owned_2d(py, out.score.clone(), rows, cols)?.unbind(),
            periodicity: owned_2d(py, out.periodicity.clone(), rows, cols)?.unbind(),
            best_score,
            best_cell: (best / cols, best % cols),
            best_box: self.inner.cell_box(best),
            alarm: best_score >= self.inner.config().threshold,
        })
    }

    /// Forgets the window.
    fn reset(&mut self) {
        self.inner.reset();
    }

    /// `(rows, cols)` of the cell grid.
    #[getter]
    fn grid(&self) -> (usize, usize) {
        self.inner.grid()
    }

    /// Frames processed since creation or the last reset.
    #[getter]
    fn frames(&self) -> u64 {
        self.inner.frames()
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!(
            "FireDetector({}, {}, cell={}, window={}, threshold={}, tau={}, period_window={}; \
             frames={})",
            self.inner.width(),
            self.inner.height(),
            c.cell,
            c.window,
            c.threshold,
            c.rule.tau,
            c.period_window,
            self.inner.frames()
        )
    }
}
