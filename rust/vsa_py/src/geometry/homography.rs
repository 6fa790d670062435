//! `Homography` and `density_grid`.

use numpy::{IntoPyArray, PyArray1, PyArray2};
use pyo3::prelude::*;
use vsa_core::geometry::{self, GridSpec, Point};

use super::{boxes_vec, check_point, parse_anchor, points_vec, polygon_vec};
use crate::arrays::{owned_2d, readonly_2d, run_detached, shape_str};
use crate::errors::{Error, Result};

fn grid_spec(origin: (f64, f64), cell_m: f64, shape: (i64, i64)) -> Result<GridSpec> {
    let origin = check_point(origin, "origin")?;
    let (Ok(rows), Ok(cols)) = (usize::try_from(shape.0), usize::try_from(shape.1)) else {
        return Err(Error::parameter(
            "shape",
            format!("shape must be (rows, cols) >= 0, got {shape:?}"),
        ));
    };
    let spec = GridSpec {
        origin,
        cell: cell_m,
        rows,
        cols,
    };
    spec.check()?;
    Ok(spec)
}

fn grid<'py>(
    py: Python<'py>,
    points: Vec<Point>,
    spec: GridSpec,
    sigma_m: f64,
) -> Result<Bound<'py, PyArray2<f64>>> {
    let data = run_detached(py, "density_grid", move || {
        geometry::density_grid(points, &spec, sigma_m)
    })??;
    owned_2d(py, data, spec.rows, spec.cols)
}

fn points_out<'py>(py: Python<'py>, points: &[Point]) -> Result<Bound<'py, PyArray2<f64>>> {
    let flat: Vec<f64> = points.iter().flat_map(|&(x, y)| [x, y]).collect();
    owned_2d(py, flat, points.len(), 2)
}

/// Persons per m² on a ground grid, each person a truncated Gaussian (see the stub).
#[pyfunction]
pub(crate) fn density_grid<'py>(
    py: Python<'py>,
    ground_points: &Bound<'py, PyAny>,
    origin: (f64, f64),
    cell_m: f64,
    shape: (i64, i64),
    sigma_m: f64,
) -> Result<Bound<'py, PyArray2<f64>>> {
    let points = points_vec(ground_points, "ground_points", true)?;
    let spec = grid_spec(origin, cell_m, shape)?;
    grid(py, points, spec, sigma_m)
}

/// Image ↔ ground-plane homography from point pairs (see the stub).
#[pyclass(frozen, module = "vsa_stream._core")]
pub(crate) struct Homography {
    inner: geometry::Homography,
}

#[pymethods]
impl Homography {
    #[new]
    fn new(image_points: &Bound<'_, PyAny>, ground_points: &Bound<'_, PyAny>) -> Result<Self> {
        let image = points_vec(image_points, "image_points", false)?;
        let ground = points_vec(ground_points, "ground_points", false)?;
        Ok(Self {
            inner: geometry::Homography::from_points(&image, &ground)?,
        })
    }

    /// The homography with image → ground `matrix`, `visible` being image points on the ground.
    #[staticmethod]
    fn from_matrix(matrix: &Bound<'_, PyAny>, visible: &Bound<'_, PyAny>) -> Result<Self> {
        let array = readonly_2d::<f64>(matrix, "matrix")?;
        let m = array.as_array();
        if m.shape() != [3, 3] {
            return Err(Error::parameter(
                "matrix",
                format!(
                    "matrix must have shape (3, 3), got {}",
                    shape_str(m.shape())
                ),
            ));
        }
        let rows = [0, 1, 2].map(|i| [m[[i, 0]], m[[i, 1]], m[[i, 2]]]);
        let visible = points_vec(visible, "visible", true)?;
        Ok(Self {
            inner: geometry::Homography::from_matrix_visible(rows, &visible)?,
        })
    }

    /// Image → ground matrix (last entry 1 when it is not 0).
    #[getter]
    fn matrix<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyArray2<f64>>> {
        owned_2d(py, self.inner.matrix().concat(), 3, 3)
    }

    /// Ground → image matrix.
    #[getter]
    fn inverse_matrix<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyArray2<f64>>> {
        owned_2d(py, self.inner.inverse_matrix().concat(), 3, 3)
    }

    /// Ground positions of `(N, 2)` image points; NaN rows beyond the horizon.
    fn to_ground<'py>(
        &self,
        py: Python<'py>,
        points: &Bound<'py, PyAny>,
    ) -> Result<Bound<'py, PyArray2<f64>>> {
        let points = points_vec(points, "points", false)?;
        let h = &self.inner;
        let out = run_detached(py, "Homography.to_ground", move || {
            points.iter().map(|&p| h.to_ground(p)).collect::<Vec<_>>()
        })?;
        points_out(py, &out)
    }

    /// Image positions of `(N, 2)` ground points; NaN rows behind the camera.
    fn to_image<'py>(
        &self,
        py: Python<'py>,
        points: &Bound<'py, PyAny>,
    ) -> Result<Bound<'py, PyArray2<f64>>> {
        let points = points_vec(points, "points", false)?;
        let h = &self.inner;
        let out = run_detached(py, "Homography.to_image", move || {
            points.iter().map(|&p| h.to_image(p)).collect::<Vec<_>>()
        })?;
        points_out(py, &out)
    }

    /// Pixel distance between each image point and the image of its ground point.
    fn reprojection_error<'py>(
        &self,
        py: Python<'py>,
        image_points: &Bound<'py, PyAny>,
        ground_points: &Bound<'py, PyAny>,
    ) -> Result<Bound<'py, PyArray1<f64>>> {
        let image = points_vec(image_points, "image_points", false)?;
        let ground = points_vec(ground_points, "ground_points", false)?;
        if image.len() != ground.len() {
            return Err(Error::parameter(
                "ground_points",
                format!(
                    "image_points has {} rows but ground_points has {}",
                    image.len(),
                    ground.len()
                ),
            ));
        }
        let errors: Vec<f64> = image
            .iter()
            .zip(&ground)
            .map(|(&i, &g)| self.inner.reprojection_error(i, g))
            .collect();
        Ok(errors.into_pyarray(py))
    }

    /// Ground area (m²) of an image polygon.
    fn ground_area(&self, polygon: &Bound<'_, PyAny>) -> Result<f64> {
        let polygon = polygon_vec(polygon, "polygon")?;
        Ok(self.inner.ground_area(&polygon)?)
    }

    /// Ground positions of the anchors of `(N, 4)` boxes; NaN rows beyond the horizon.
    #[pyo3(signature = (boxes, anchor = "bottom_center"))]
    fn ground_anchors<'py>(
        &self,
        py: Python<'py>,
        boxes: &Bound<'py, PyAny>,
        anchor: &str,
    ) -> Result<Bound<'py, PyArray2<f64>>> {
        let anchor = parse_anchor(anchor)?;
        let boxes = boxes_vec(boxes)?;
        let out: Vec<Point> = boxes
            .iter()
            .map(|&b| self.inner.to_ground(anchor.point(b)))
            .collect();
        points_out(py, &out)
    }

    /// `density_grid` of the ground anchors of `boxes` (those beyond the horizon skipped).
    #[pyo3(signature = (boxes, origin, cell_m, shape, sigma_m, anchor = "bottom_center"))]
    #[allow(clippy::too_many_arguments)]
    fn density<'py>(
        &self,
        py: Python<'py>,
        boxes: &Bound<'py, PyAny>,
        origin: (f64, f64),
        cell_m: f64,
        shape: (i64, i64),
        sigma_m: f64,
        anchor: &str,
    ) -> Result<Bound<'py, PyArray2<f64>>> {
        let anchor = parse_anchor(anchor)?;
        let boxes = boxes_vec(boxes)?;
        let spec = grid_spec(origin, cell_m, shape)?;
        let points: Vec<Point> = boxes
            .iter()
            .map(|&b| self.inner.to_ground(anchor.point(b)))
            .collect();
        grid(py, points, spec, sigma_m)
    }

    fn __repr__(&self) -> String {
        format!("Homography(matrix={:?})", self.inner.matrix())
    }
}
