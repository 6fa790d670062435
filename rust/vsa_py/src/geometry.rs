//! `points_in_polygon`.

use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;

use crate::arrays::{readonly_2d, run_detached, shape_str};
use crate::FrameError;

/// For each point of `points` (N, 2), whether it lies inside `polygon` (M >= 3, 2).
///
/// Even-odd rule; the polygon may be concave and is closed implicitly. A point exactly on an
/// edge follows the half-open convention of `vsa_core::geometry` (like a box `[x0, x1) ×
/// [y0, y1)`). Both arrays are float64 and may be strided.
#[pyfunction]
pub(crate) fn points_in_polygon<'py>(
    py: Python<'py>,
    points: &Bound<'py, PyAny>,
    polygon: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<bool>>> {
    let points = readonly_2d::<f64>(points, "points")?;
    let polygon = readonly_2d::<f64>(polygon, "polygon")?;
    let points = points.as_array();
    let polygon = polygon.as_array();
    if points.ncols() != 2 {
        return Err(FrameError::new_err(format!(
            "points must have shape (N, 2), got {}",
            shape_str(points.shape())
        )));
    }
    if polygon.ncols() != 2 || polygon.nrows() < 3 {
        return Err(FrameError::new_err(format!(
            "polygon must have shape (M, 2) with M >= 3, got {}",
            shape_str(polygon.shape())
        )));
    }
    if polygon.iter().any(|v| !v.is_finite()) {
        return Err(FrameError::new_err("polygon vertices must be finite"));
    }
    let vertices: Vec<(f64, f64)> = polygon.rows().into_iter().map(|r| (r[0], r[1])).collect();
    let inside = run_detached(py, "points_in_polygon", move || {
        let pts = points.rows().into_iter().map(|r| (r[0], r[1]));
        vsa_core::geometry::points_in_polygon(pts, &vertices)
    })?;
    Ok(inside.into_pyarray(py))
}
