//! `points_in_polygon`, `boxes_in_polygon`, `polygon_area`, `validate_polygon`.

use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use vsa_core::geometry;

use super::{parse_anchor, polygon_vec, readonly_cols};
use crate::arrays::{readonly_2d, run_detached};
use crate::errors::{Error, Result};

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
) -> Result<Bound<'py, PyArray1<bool>>> {
    let points = readonly_cols(points, "points", 2)?;
    let vertices = polygon_vec(polygon, "polygon")?;
    let points = points.as_array();
    let inside = run_detached(py, "points_in_polygon", move || {
        let pts = points.rows().into_iter().map(|r| (r[0], r[1]));
        geometry::points_in_polygon(pts, &vertices)
    })?;
    Ok(inside.into_pyarray(py))
}

/// For each box of `boxes` (N, 4) xyxy, whether its anchor lies inside `polygon`.
#[pyfunction]
#[pyo3(signature = (boxes, polygon, anchor = "bottom_center"))]
pub(crate) fn boxes_in_polygon<'py>(
    py: Python<'py>,
    boxes: &Bound<'py, PyAny>,
    polygon: &Bound<'py, PyAny>,
    anchor: &str,
) -> Result<Bound<'py, PyArray1<bool>>> {
    let anchor = parse_anchor(anchor)?;
    let boxes = readonly_cols(boxes, "boxes", 4)?;
    let vertices = polygon_vec(polygon, "polygon")?;
    let boxes = boxes.as_array();
    let inside = run_detached(py, "boxes_in_polygon", move || {
        let rows: Vec<geometry::BoxXyxy> = boxes
            .rows()
            .into_iter()
            .map(|r| [r[0], r[1], r[2], r[3]])
            .collect();
        geometry::check_boxes(&rows)?;
        Ok::<_, geometry::GeometryError>(geometry::boxes_in_polygon(rows, &vertices, anchor))
    })??;
    Ok(inside.into_pyarray(py))
}

/// Absolute shoelace area of `polygon` (M >= 3, 2), in squared pixels.
#[pyfunction]
pub(crate) fn polygon_area(polygon: &Bound<'_, PyAny>) -> Result<f64> {
    Ok(geometry::polygon_area(&polygon_vec(polygon, "polygon")?))
}

/// Raises `FrameError` unless `polygon` is a usable zone (see `validate_polygon` in vsa_core).
#[pyfunction]
pub(crate) fn validate_polygon(polygon: &Bound<'_, PyAny>) -> Result<()> {
    let array = readonly_2d::<f64>(polygon, "polygon")?;
    let view = array.as_array();
    if view.ncols() != 2 {
        return Err(Error::geometry(
            "polygon",
            format!("polygon must have shape (M, 2), got {:?}", view.shape()),
        ));
    }
    let vertices: Vec<(f64, f64)> = view.rows().into_iter().map(|r| (r[0], r[1])).collect();
    Ok(geometry::validate_polygon(&vertices)?)
}
