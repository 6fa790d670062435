//! `FlowResult`, `MotionField` and `flow_grid`.

use numpy::ndarray::{Array1, Array3};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArray3};
use pyo3::prelude::*;
use vsa_core::flow::{self, FlowConfig, FlowField};

use crate::arrays::{non_negative, on_luma, owned_2d, plane_view, readonly_2d, run_detached};
use crate::errors::{sized, Result};

/// Grid optical flow between two frames and its statistics.
#[pyclass(frozen, module = "vsa_stream._core")]
pub(crate) struct FlowResult {
    inner: FlowField,
}

#[pymethods]
impl FlowResult {
    /// float32 `(rows, cols, 2)`: `(dx, dy)` per cell, px/frame.
    #[getter]
    fn flow<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyArray3<f32>>> {
        let f = &self.inner;
        let data: Vec<f32> = f.flow.iter().flatten().copied().collect();
        let array = Array3::from_shape_vec((f.rows, f.cols, 2), data)?;
        Ok(array.into_pyarray(py))
    }

    /// float32 `(rows, cols)`: confidence per cell in [0, 1] (0 for flat or lost cells).
    #[getter]
    fn confidence<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyArray2<f32>>> {
        owned_2d(
            py,
            self.inner.confidence.clone(),
            self.inner.rows,
            self.inner.cols,
        )
    }

    /// float32 `(rows, cols)`: divergence per cell, 1/frame.
    #[getter]
    fn divergence<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyArray2<f32>>> {
        let s = &self.inner.stats;
        owned_2d(py, s.divergence.clone(), self.inner.rows, self.inner.cols)
    }

    /// float32 `(rows, cols)`: curl per cell, 1/frame.
    #[getter]
    fn curl<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyArray2<f32>>> {
        let s = &self.inner.stats;
        owned_2d(py, s.curl.clone(), self.inner.rows, self.inner.cols)
    }

    /// float32 `(bins,)`: speed-weighted direction histogram of the confident moving cells.
    #[getter]
    fn histogram<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        Array1::from_vec(self.inner.stats.histogram.clone()).into_pyarray(py)
    }

    #[getter]
    fn rows(&self) -> usize {
        self.inner.rows
    }

    #[getter]
    fn cols(&self) -> usize {
        self.inner.cols
    }

    #[getter]
    fn cell(&self) -> usize {
        self.inner.cell
    }

    #[getter]
    fn mean_speed(&self) -> f64 {
        f64::from(self.inner.stats.mean_speed)
    }

    #[getter]
    fn p50_speed(&self) -> f64 {
        f64::from(self.inner.stats.p50_speed)
    }

    #[getter]
    fn p90_speed(&self) -> f64 {
        f64::from(self.inner.stats.p90_speed)
    }

    #[getter]
    fn coherence(&self) -> f64 {
        f64::from(self.inner.stats.coherence)
    }

    #[getter]
    fn mean_divergence(&self) -> f64 {
        f64::from(self.inner.stats.mean_divergence)
    }

    #[getter]
    fn mean_curl(&self) -> f64 {
        f64::from(self.inner.stats.mean_curl)
    }

    #[getter]
    fn confident_fraction(&self) -> f64 {
        f64::from(self.inner.stats.confident_fraction)
    }

    #[getter]
    fn moving_fraction(&self) -> f64 {
        f64::from(self.inner.stats.moving_fraction)
    }

    fn __repr__(&self) -> String {
        let s = &self.inner.stats;
        format!(
            "FlowResult({}×{} cells of {} px, mean_speed={:.2}, p90_speed={:.2}, \
             coherence={:.2}, confident={:.0}%)",
            self.inner.rows,
            self.inner.cols,
            self.inner.cell,
            s.mean_speed,
            s.p90_speed,
            s.coherence,
            100.0 * s.confident_fraction
        )
    }
}

#[allow(clippy::too_many_arguments)]
fn config(
    cell: i64,
    levels: i64,
    step: i64,
    iterations: i64,
    min_eigen: f64,
    residual_scale: f64,
    min_confidence: f64,
    min_speed: f64,
    bins: i64,
) -> Result<FlowConfig> {
    Ok(FlowConfig {
        cell: non_negative("cell", cell)?,
        levels: non_negative("levels", levels)?,
        step: non_negative("step", step)?,
        iterations: non_negative("iterations", iterations)?,
        min_eigen: min_eigen as f32,
        residual_scale: residual_scale as f32,
        min_confidence: min_confidence as f32,
        min_speed: min_speed as f32,
        bins: non_negative("bins", bins)?,
    })
}

/// Grid optical flow of one camera's luma plane (pyramidal Lucas–Kanade per grid cell).
///
/// Keeps the previous frame's pyramid: `update` returns the flow from the previous frame to
/// this one (`None` for the first frame after creation or `reset`).
#[pyclass(module = "vsa_stream._core")]
pub(crate) struct MotionField {
    inner: flow::MotionField,
}

#[pymethods]
impl MotionField {
    #[new]
    #[pyo3(signature = (
        width, height, *, cell = 16, levels = 3, step = 2, iterations = 5, min_eigen = 2.0,
        residual_scale = 8.0, min_confidence = 0.25, min_speed = 0.5, bins = 8
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        width: i64,
        height: i64,
        cell: i64,
        levels: i64,
        step: i64,
        iterations: i64,
        min_eigen: f64,
        residual_scale: f64,
        min_confidence: f64,
        min_speed: f64,
        bins: i64,
    ) -> Result<Self> {
        let width = non_negative("width", width)?;
        let height = non_negative("height", height)?;
        let config = config(
            cell,
            levels,
            step,
            iterations,
            min_eigen,
            residual_scale,
            min_confidence,
            min_speed,
            bins,
        )?;
        Ok(Self {
            inner: sized(flow::MotionField::new(width, height, config))?,
        })
    }

    /// Feeds one luma plane (uint8 `(height, width)`, rows may be padded); GIL released.
    fn update(&mut self, py: Python<'_>, luma: &Bound<'_, PyAny>) -> Result<Option<FlowResult>> {
        let out = on_luma(
            py,
            "MotionField.update",
            luma,
            &mut self.inner,
            #[inline(always)]
            |m, v| m.update(v),
            |m| m.reset(),
        )?;
        Ok(out.map(|inner| FlowResult { inner }))
    }

    /// Forgets the previous frame.
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
    fn cell(&self) -> usize {
        self.inner.config().cell
    }

    /// `(rows, cols)` of the grid.
    #[getter]
    fn grid_shape(&self) -> (usize, usize) {
        self.inner.grid_shape()
    }

    #[getter]
    fn frames(&self) -> u64 {
        self.inner.frames()
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!(
            "MotionField({}, {}, cell={}, levels={}, iterations={}; frames={})",
            self.inner.width(),
            self.inner.height(),
            c.cell,
            c.levels,
            c.iterations,
            self.inner.frames()
        )
    }
}

/// Grid optical flow from `prev` to `next` (uint8 planes of the same shape); GIL released.
#[pyfunction]
#[pyo3(signature = (
    prev, next, *, cell = 16, levels = 3, step = 2, iterations = 5, min_eigen = 2.0,
    residual_scale = 8.0, min_confidence = 0.25, min_speed = 0.5, bins = 8
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn flow_grid(
    py: Python<'_>,
    prev: &Bound<'_, PyAny>,
    next: &Bound<'_, PyAny>,
    cell: i64,
    levels: i64,
    step: i64,
    iterations: i64,
    min_eigen: f64,
    residual_scale: f64,
    min_confidence: f64,
    min_speed: f64,
    bins: i64,
) -> Result<FlowResult> {
    let config = config(
        cell,
        levels,
        step,
        iterations,
        min_eigen,
        residual_scale,
        min_confidence,
        min_speed,
        bins,
    )?;
    let a = readonly_2d::<u8>(prev, "prev")?;
    let b = readonly_2d::<u8>(next, "next")?;
    let (va, vb) = (plane_view(&a, "prev")?, plane_view(&b, "next")?);
    Ok(FlowResult {
        inner: run_detached(
            py,
            "flow_grid",
            #[inline(always)]
            move || flow::flow_grid(&va, &vb, &config),
        )??,
    })
}
