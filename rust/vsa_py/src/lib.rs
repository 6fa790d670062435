//! `vsa_stream._core`: the PyO3 binding of `vsa_core`.
//!
//! A thin layer: it checks numpy arrays, takes zero-copy views of frames (row strides and all),
//! releases the GIL around every frame-sized kernel, and turns kernel errors and panics into the
//! typed exceptions of `vsa_stream.errors`, one mapping per core error enum (see [`errors`]). All
//! the computing is in `vsa_core`.

mod arrays;
mod background;
mod detect;
mod errors;
mod fire;
mod flow;
mod geometry;
mod image;
mod motion;
mod simd;
mod track;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(simd::simd, m)?)?;
    m.add_function(wrap_pyfunction!(image::downscale_area, m)?)?;
    m.add_function(wrap_pyfunction!(geometry::polygon::points_in_polygon, m)?)?;
    m.add_function(wrap_pyfunction!(geometry::polygon::boxes_in_polygon, m)?)?;
    m.add_function(wrap_pyfunction!(geometry::polygon::polygon_area, m)?)?;
    m.add_function(wrap_pyfunction!(geometry::polygon::validate_polygon, m)?)?;
    m.add_function(wrap_pyfunction!(geometry::heading::heading_check, m)?)?;
    m.add_function(wrap_pyfunction!(geometry::homography::density_grid, m)?)?;
    m.add_class::<geometry::line::LineCounter>()?;
    m.add_class::<geometry::heading::HeadingTracker>()?;
    m.add_class::<geometry::homography::Homography>()?;
    m.add_class::<geometry::dwell::DwellTimers>()?;
    m.add_class::<motion::Blob>()?;
    m.add_class::<motion::MotionDetector>()?;
    m.add_class::<motion::CameraShift>()?;
    m.add_function(wrap_pyfunction!(track::linear_assignment, m)?)?;
    m.add_class::<track::Tracker>()?;
    m.add_class::<fire::FireDetector>()?;
    m.add_class::<fire::FireResult>()?;
    m.add_class::<track::TrackBatch>()?;
    m.add_class::<detect::Letterbox>()?;
    m.add_class::<detect::Detections>()?;
    m.add_function(wrap_pyfunction!(detect::preprocess_yuv420p, m)?)?;
    m.add_function(wrap_pyfunction!(detect::preprocess_packed, m)?)?;
    m.add_function(wrap_pyfunction!(detect::decode_yolox, m)?)?;
    m.add_function(wrap_pyfunction!(detect::decode_yolov5, m)?)?;
    m.add_function(wrap_pyfunction!(detect::decode_yolov8, m)?)?;
    m.add_function(wrap_pyfunction!(detect::decode_nanodet, m)?)?;
    m.add_function(wrap_pyfunction!(detect::nms, m)?)?;
    m.add_function(wrap_pyfunction!(background::pyramid, m)?)?;
    m.add_function(wrap_pyfunction!(background::downscale_chroma, m)?)?;
    m.add_function(wrap_pyfunction!(background::connected_components, m)?)?;
    m.add_class::<background::DualBackground>()?;
    m.add_class::<background::Tamper>()?;
    m.add_class::<background::StaticCandidate>()?;
    m.add_class::<flow::FlowResult>()?;
    m.add_class::<flow::MotionField>()?;
    m.add_function(wrap_pyfunction!(flow::flow_grid, m)?)?;
    Ok(())
}
