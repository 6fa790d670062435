//! Scene geometry bindings: polygons, line counting, headings, homography and density, dwell.
//!
//! Every function takes float64 numpy arrays (strided views are read in place) and int64 track
//! ids, checks them (dtype, shape, finite values, distinct ids) and raises `FrameError` with a
//! message naming the problem; batch work runs with the GIL released.

pub(crate) mod dwell;
pub(crate) mod heading;
pub(crate) mod homography;
pub(crate) mod line;
pub(crate) mod polygon;

use numpy::PyReadonlyArray2;
use pyo3::prelude::*;
use vsa_core::geometry::{Anchor, BoxXyxy, Point};

pub(crate) use crate::arrays::readonly_1d;
use crate::arrays::{readonly_2d, shape_str};
use crate::errors::{Error, Result};

pub(crate) fn parse_anchor(name: &str) -> Result<Anchor> {
    Ok(Anchor::parse(name)?)
}

/// A float64 `(N, cols)` array, checked.
pub(crate) fn readonly_cols<'py>(
    obj: &Bound<'py, PyAny>,
    what: &str,
    cols: usize,
) -> Result<PyReadonlyArray2<'py, f64>> {
    let array = readonly_2d::<f64>(obj, what)?;
    let shape = array.as_array().shape().to_vec();
    if shape[1] != cols {
        let name = if cols == 4 {
            "(N, 4) (x0, y0, x1, y1)"
        } else {
            "(N, 2)"
        };
        return Err(Error::frame(
            what,
            format!("{what} must have shape {name}, got {}", shape_str(&shape)),
        ));
    }
    Ok(array)
}

/// `(N, 2)` float64 points as a vector; `finite` rejects NaN and infinities.
pub(crate) fn points_vec(obj: &Bound<'_, PyAny>, what: &str, finite: bool) -> Result<Vec<Point>> {
    let array = readonly_cols(obj, what, 2)?;
    let points: Vec<Point> = array
        .as_array()
        .rows()
        .into_iter()
        .map(|r| (r[0], r[1]))
        .collect();
    if finite {
        if let Some(i) = points
            .iter()
            .position(|p| !(p.0.is_finite() && p.1.is_finite()))
        {
            return Err(Error::frame(
                what,
                format!("{what} must be finite, row {i} is {:?}", points[i]),
            ));
        }
    }
    Ok(points)
}

/// A polygon: `(M, 2)` float64, `M >= 3`, finite vertices.
pub(crate) fn polygon_vec(obj: &Bound<'_, PyAny>, what: &str) -> Result<Vec<Point>> {
    let array = readonly_2d::<f64>(obj, what)?;
    let view = array.as_array();
    if view.ncols() != 2 || view.nrows() < 3 {
        return Err(Error::geometry(
            what,
            format!(
                "{what} must have shape (M, 2) with M >= 3, got {}",
                shape_str(view.shape())
            ),
        ));
    }
    if view.iter().any(|v| !v.is_finite()) {
        return Err(Error::geometry(
            what,
            format!("{what} vertices must be finite"),
        ));
    }
    Ok(view.rows().into_iter().map(|r| (r[0], r[1])).collect())
}

/// `(N, 4)` float64 boxes, checked finite and ordered.
pub(crate) fn boxes_vec(obj: &Bound<'_, PyAny>) -> Result<Vec<BoxXyxy>> {
    let array = readonly_cols(obj, "boxes", 4)?;
    let boxes: Vec<BoxXyxy> = array
        .as_array()
        .rows()
        .into_iter()
        .map(|r| [r[0], r[1], r[2], r[3]])
        .collect();
    vsa_core::geometry::check_boxes(&boxes)?;
    Ok(boxes)
}

/// A frame: `(N,)` int64 track ids and `(N, 4)` boxes.
pub(crate) fn frame_vecs(
    track_ids: &Bound<'_, PyAny>,
    boxes: &Bound<'_, PyAny>,
) -> Result<(Vec<i64>, Vec<BoxXyxy>)> {
    let ids = readonly_1d::<i64>(track_ids, "track_ids")?;
    let ids: Vec<i64> = ids.as_array().iter().copied().collect();
    Ok((ids, boxes_vec(boxes)?))
}

pub(crate) fn check_point(p: Point, what: &str) -> Result<Point> {
    if p.0.is_finite() && p.1.is_finite() {
        Ok(p)
    } else {
        Err(Error::parameter(
            what,
            format!("{what} must be finite, got {p:?}"),
        ))
    }
}
