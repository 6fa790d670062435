//! `DwellTimers`.

use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use vsa_core::geometry;

use super::{frame_vecs, parse_anchor, polygon_vec};
use crate::arrays::run_detached;
use crate::errors::{Error, Result};

type DwellArrays<'py> = (
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<f64>>,
);

/// Time spent by each track in each zone, with a grace period (see the stub).
#[pyclass(module = "vsa_stream._core")]
pub(crate) struct DwellTimers {
    inner: geometry::DwellTimers,
}

#[pymethods]
impl DwellTimers {
    #[new]
    #[pyo3(signature = (zones, *, grace_s = 1.0, anchor = "bottom_center"))]
    fn new(zones: Vec<Bound<'_, PyAny>>, grace_s: f64, anchor: &str) -> Result<Self> {
        let polygons = zones
            .iter()
            .enumerate()
            .map(|(i, z)| {
                let what = format!("zones[{i}]");
                let polygon = polygon_vec(z, &what)?;
                // Checked here rather than by the kernel, so that a bad zone is a
                // `GeometryError` naming it like `validate_polygon`'s.
                geometry::validate_polygon(&polygon).map_err(|e| Error::from(e).about(&what))?;
                Ok(polygon)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            inner: geometry::DwellTimers::new(polygons, grace_s, parse_anchor(anchor)?)?,
        })
    }

    /// Feeds one frame; returns `(track_ids, zone_idx, dwell_s)` of the pairs inside now.
    fn update<'py>(
        &mut self,
        py: Python<'py>,
        time_s: f64,
        track_ids: &Bound<'py, PyAny>,
        boxes: &Bound<'py, PyAny>,
    ) -> Result<DwellArrays<'py>> {
        let (ids, boxes) = frame_vecs(track_ids, boxes)?;
        let inner = &mut self.inner;
        let dwells = run_detached(py, "DwellTimers.update", move || {
            inner.update(time_s, &ids, &boxes)
        })??;
        let ids: Vec<i64> = dwells.iter().map(|d| d.track_id).collect();
        let zones: Vec<i64> = dwells.iter().map(|d| d.zone as i64).collect();
        let times: Vec<f64> = dwells.iter().map(|d| d.dwell_s).collect();
        Ok((
            ids.into_pyarray(py),
            zones.into_pyarray(py),
            times.into_pyarray(py),
        ))
    }

    /// Number of zones.
    #[getter]
    fn zone_count(&self) -> usize {
        self.inner.zones().len()
    }

    /// (track, zone) pairs remembered: inside, or out for less than the grace period.
    #[getter]
    fn remembered(&self) -> usize {
        self.inner.remembered()
    }

    /// Forgets every timer (and the last time).
    fn reset(&mut self) {
        self.inner.reset();
    }

    fn __repr__(&self) -> String {
        format!(
            "DwellTimers(<{} zones>, grace_s={}, anchor={:?})",
            self.inner.zones().len(),
            self.inner.grace_s(),
            self.inner.anchor().name()
        )
    }
}
