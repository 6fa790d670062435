//! `downscale_area`.

use numpy::PyArray2;
use pyo3::prelude::*;

use crate::arrays::{owned_2d, plane_view, readonly_2d, run_detached};
use crate::errors::{Error, Result};

/// Box average of a uint8 plane over `factor × factor` blocks.
///
/// The output is `(height // factor, width // factor)`; each pixel is the block sum divided
/// by `factor²`, rounded half up. The input is read in place through its strides (row
/// padding allowed, the last axis must be contiguous); the GIL is released meanwhile.
#[pyfunction]
pub(crate) fn downscale_area<'py>(
    py: Python<'py>,
    plane: &Bound<'py, PyAny>,
    factor: i64,
) -> Result<Bound<'py, PyArray2<u8>>> {
    if factor < 1 {
        return Err(Error::parameter(
            "factor",
            format!("factor must be at least 1, got {factor}"),
        ));
    }
    let factor = usize::try_from(factor)
        .map_err(|_| Error::parameter("factor", format!("factor {factor} is too large")))?;
    let array = readonly_2d::<u8>(plane, "plane")?;
    let view = plane_view(&array, "plane")?;
    let out = run_detached(
        py,
        "downscale_area",
        #[inline(always)]
        move || vsa_core::image::downscale_area(&view, factor),
    )??;
    let (width, height) = (out.width(), out.height());
    owned_2d(py, out.into_vec(), height, width)
}
