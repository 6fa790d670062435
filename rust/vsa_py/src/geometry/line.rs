//! `LineCounter`.

use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use vsa_core::geometry;

use super::{check_point, frame_vecs, parse_anchor};
use crate::arrays::run_detached;
use crate::errors::{Error, Result};

type CrossingArrays<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<i8>>);

/// Counts directed crossings of the segment `p0`–`p1` with hysteresis (see the stub).
#[pyclass(module = "vsa_stream._core")]
pub(crate) struct LineCounter {
    inner: geometry::LineCounter,
}

#[pymethods]
impl LineCounter {
    #[new]
    #[pyo3(signature = (p0, p1, *, hysteresis_px = 4.0, anchor = "bottom_center", max_missed = 30))]
    fn new(
        p0: (f64, f64),
        p1: (f64, f64),
        hysteresis_px: f64,
        anchor: &str,
        max_missed: i64,
    ) -> Result<Self> {
        let max_missed = u64::try_from(max_missed).map_err(|_| {
            Error::parameter(
                "max_missed",
                format!("max_missed must be >= 0, got {max_missed}"),
            )
        })?;
        let p0 = check_point(p0, "p0")?;
        let p1 = check_point(p1, "p1")?;
        Ok(Self {
            inner: geometry::LineCounter::new(
                p0,
                p1,
                hysteresis_px,
                parse_anchor(anchor)?,
                max_missed,
            )?,
        })
    }

    /// Feeds one frame; returns `(track_ids, directions)` of the crossings counted in it.
    fn update<'py>(
        &mut self,
        py: Python<'py>,
        track_ids: &Bound<'py, PyAny>,
        boxes: &Bound<'py, PyAny>,
    ) -> Result<CrossingArrays<'py>> {
        let (ids, boxes) = frame_vecs(track_ids, boxes)?;
        let inner = &mut self.inner;
        let crossings =
            run_detached(py, "LineCounter.update", move || inner.update(&ids, &boxes))??;
        let ids: Vec<i64> = crossings.iter().map(|c| c.track_id).collect();
        let dirs: Vec<i8> = crossings.iter().map(|c| c.direction).collect();
        Ok((ids.into_pyarray(py), dirs.into_pyarray(py)))
    }

    /// Crossings since creation or the last reset: `(left_to_right, right_to_left)`.
    #[getter]
    fn totals(&self) -> (u64, u64) {
        self.inner.totals()
    }

    /// Signed distance to the line (positive on its right) and position along it.
    fn coordinates(&self, x: f64, y: f64) -> (f64, f64) {
        self.inner.coordinates((x, y))
    }

    /// Tracks currently remembered.
    #[getter]
    fn tracked(&self) -> usize {
        self.inner.tracked()
    }

    /// Forgets every track and the totals.
    fn reset(&mut self) {
        self.inner.reset();
    }

    fn __repr__(&self) -> String {
        let (p0, p1) = self.inner.line();
        let (l2r, r2l) = self.inner.totals();
        format!(
            "LineCounter({p0:?}, {p1:?}, hysteresis_px={}, anchor={:?}, max_missed={}; \
             totals=({l2r}, {r2l}))",
            self.inner.hysteresis(),
            self.inner.anchor().name(),
            self.inner.max_missed()
        )
    }
}
