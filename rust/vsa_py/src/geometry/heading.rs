//! `heading_check` and `HeadingTracker`.

use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use vsa_core::geometry::{self, heading::check_heading_params, HeadingConfig, Judgement};

use super::{frame_vecs, parse_anchor, points_vec};
use crate::arrays::run_detached;
use crate::errors::{Error, Result};

type JudgementArrays<'py> = (
    Bound<'py, PyArray1<bool>>,
    Bound<'py, PyArray1<bool>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
);

fn to_arrays<'py>(py: Python<'py>, judgements: &[Judgement]) -> JudgementArrays<'py> {
    let judged: Vec<bool> = judgements.iter().map(|j| j.judged).collect();
    let against: Vec<bool> = judgements.iter().map(|j| j.against).collect();
    let heading: Vec<f64> = judgements.iter().map(|j| j.heading_deg).collect();
    let speed: Vec<f64> = judgements.iter().map(|j| j.speed).collect();
    (
        judged.into_pyarray(py),
        against.into_pyarray(py),
        heading.into_pyarray(py),
        speed.into_pyarray(py),
    )
}

/// Judges `(N, 2)` velocities with their `(N, 2)` net displacements (see the stub).
#[pyfunction]
pub(crate) fn heading_check<'py>(
    py: Python<'py>,
    velocities: &Bound<'py, PyAny>,
    displacements: &Bound<'py, PyAny>,
    allowed_deg: f64,
    tolerance_deg: f64,
    min_displacement: f64,
) -> Result<JudgementArrays<'py>> {
    check_heading_params(allowed_deg, tolerance_deg, min_displacement)?;
    let v = points_vec(velocities, "velocities", false)?;
    let d = points_vec(displacements, "displacements", false)?;
    if v.len() != d.len() {
        return Err(Error::frame(
            "displacements",
            format!(
                "velocities has {} rows but displacements has {}",
                v.len(),
                d.len()
            ),
        ));
    }
    let judgements = run_detached(py, "heading_check", move || {
        v.iter()
            .zip(&d)
            .map(|(&v, &d)| {
                geometry::judge_heading(v, d, allowed_deg, tolerance_deg, min_displacement)
            })
            .collect::<Vec<_>>()
    })?;
    Ok(to_arrays(py, &judgements))
}

/// Follows track anchors and judges their smoothed heading every frame (see the stub).
#[pyclass(module = "vsa_stream._core")]
pub(crate) struct HeadingTracker {
    inner: geometry::HeadingTracker,
}

#[pymethods]
impl HeadingTracker {
    #[new]
    #[pyo3(signature = (
        allowed_deg, *, tolerance_deg = 90.0, min_displacement_px = 20.0, window_s = 2.0,
        anchor = "bottom_center", max_missed = 30
    ))]
    fn new(
        allowed_deg: f64,
        tolerance_deg: f64,
        min_displacement_px: f64,
        window_s: f64,
        anchor: &str,
        max_missed: i64,
    ) -> Result<Self> {
        let max_missed = u64::try_from(max_missed).map_err(|_| {
            Error::parameter(
                "max_missed",
                format!("max_missed must be >= 0, got {max_missed}"),
            )
        })?;
        let config = HeadingConfig {
            allowed_deg,
            tolerance_deg,
            min_displacement: min_displacement_px,
            window_s,
            anchor: parse_anchor(anchor)?,
            max_missed,
        };
        Ok(Self {
            inner: geometry::HeadingTracker::new(config)?,
        })
    }

    /// Feeds one frame; returns `(judged, against, heading_deg, speed)` per input track.
    fn update<'py>(
        &mut self,
        py: Python<'py>,
        time_s: f64,
        track_ids: &Bound<'py, PyAny>,
        boxes: &Bound<'py, PyAny>,
    ) -> Result<JudgementArrays<'py>> {
        let (ids, boxes) = frame_vecs(track_ids, boxes)?;
        let inner = &mut self.inner;
        let judgements = run_detached(py, "HeadingTracker.update", move || {
            inner.update(time_s, &ids, &boxes)
        })??;
        Ok(to_arrays(py, &judgements))
    }

    /// Tracks currently remembered.
    #[getter]
    fn tracked(&self) -> usize {
        self.inner.tracked()
    }

    /// Forgets every track (and the last time).
    fn reset(&mut self) {
        self.inner.reset();
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!(
            "HeadingTracker({}, tolerance_deg={}, min_displacement_px={}, window_s={}, \
             anchor={:?}, max_missed={})",
            c.allowed_deg,
            c.tolerance_deg,
            c.min_displacement,
            c.window_s,
            c.anchor.name(),
            c.max_missed
        )
    }
}
