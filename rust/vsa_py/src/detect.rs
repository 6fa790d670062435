//! Detector pre- and post-processing: `Letterbox`, `Detections`, `preprocess_yuv420p`,
//! `preprocess_packed`, `decode_yolox`, `decode_yolov5`, `decode_yolov8`, `decode_nanodet`,
//! `nms`.

use numpy::ndarray::{Array1, Array2, Array4};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArray4, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;
use vsa_core::detect::{self, ChannelOrder, DecodeParams, Normalize, YuvMatrix};
use vsa_core::image::PlaneView;

use crate::arrays::{plane_view, readonly_2d, readonly_dyn, run_detached, shape_str};
use crate::errors::{sized, Error, Result};

/// Where the content lies in the model input and how boxes map back to the source frame.
#[pyclass(frozen, get_all, module = "vsa_stream._core")]
#[derive(Debug, Clone)]
pub(crate) struct Letterbox {
    src_width: usize,
    src_height: usize,
    dst_width: usize,
    dst_height: usize,
    content_width: usize,
    content_height: usize,
    pad_x: usize,
    pad_y: usize,
    scale_x: f64,
    scale_y: f64,
}

impl From<detect::Letterbox> for Letterbox {
    fn from(l: detect::Letterbox) -> Self {
        Self {
            src_width: l.src_width,
            src_height: l.src_height,
            dst_width: l.dst_width,
            dst_height: l.dst_height,
            content_width: l.content_width,
            content_height: l.content_height,
            pad_x: l.pad_x,
            pad_y: l.pad_y,
            scale_x: l.scale_x,
            scale_y: l.scale_y,
        }
    }
}

impl Letterbox {
    fn core(&self) -> detect::Letterbox {
        detect::Letterbox {
            src_width: self.src_width,
            src_height: self.src_height,
            dst_width: self.dst_width,
            dst_height: self.dst_height,
            content_width: self.content_width,
            content_height: self.content_height,
            pad_x: self.pad_x,
            pad_y: self.pad_y,
            scale_x: self.scale_x,
            scale_y: self.scale_y,
        }
    }
}

fn size(name: &str, value: i64) -> Result<usize> {
    usize::try_from(value)
        .ok()
        .filter(|&v| v > 0)
        .ok_or_else(|| Error::parameter(name, format!("{name} must be positive, got {value}")))
}

#[pymethods]
impl Letterbox {
    #[new]
    #[pyo3(signature = (src_width, src_height, dst_width, dst_height, *, keep_ratio = true, center = false))]
    fn new(
        src_width: i64,
        src_height: i64,
        dst_width: i64,
        dst_height: i64,
        keep_ratio: bool,
        center: bool,
    ) -> Result<Self> {
        let letterbox = sized(detect::Letterbox::fit(
            size("src_width", src_width)?,
            size("src_height", src_height)?,
            size("dst_width", dst_width)?,
            size("dst_height", dst_height)?,
            keep_ratio,
            center,
        ))?;
        Ok(letterbox.into())
    }

    /// Boxes `(N, 4)` of the model input mapped to source pixels and clipped to the source.
    fn to_source<'py>(
        &self,
        py: Python<'py>,
        boxes: &Bound<'py, PyAny>,
    ) -> Result<Bound<'py, PyArray2<f64>>> {
        let boxes = box_rows(boxes)?;
        let lb = self.core();
        let mapped: Vec<f64> = boxes.iter().flat_map(|b| lb.to_source(*b)).collect();
        let n = boxes.len();
        Ok(Array2::from_shape_vec((n, 4), mapped)?.into_pyarray(py))
    }

    fn __repr__(&self) -> String {
        format!(
            "Letterbox({}x{} -> {}x{}, content {}x{} at ({}, {}), scale ({:.6}, {:.6}))",
            self.src_width,
            self.src_height,
            self.dst_width,
            self.dst_height,
            self.content_width,
            self.content_height,
            self.pad_x,
            self.pad_y,
            self.scale_x,
            self.scale_y
        )
    }
}

/// Detections of one frame, best first: `boxes` `(K, 4)` float64 `[x1, y1, x2, y2]` in source
/// pixels, `scores` `(K,)` float64, `class_ids` `(K,)` int64.
#[pyclass(frozen, get_all, module = "vsa_stream._core")]
pub(crate) struct Detections {
    boxes: Py<PyArray2<f64>>,
    scores: Py<PyArray1<f64>>,
    class_ids: Py<PyArray1<i64>>,
}

#[pymethods]
impl Detections {
    fn __len__(&self, py: Python<'_>) -> usize {
        self.scores.bind(py).len()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!("Detections({} boxes)", self.__len__(py))
    }
}

fn detections(py: Python<'_>, dets: Vec<detect::Detection>) -> Result<Detections> {
    let n = dets.len();
    let boxes: Vec<f64> = dets.iter().flat_map(|d| d.bbox).collect();
    let boxes = Array2::from_shape_vec((n, 4), boxes)?;
    let scores: Array1<f64> = dets.iter().map(|d| d.score).collect();
    let class_ids: Array1<i64> = dets.iter().map(|d| d.class_id).collect();
    Ok(Detections {
        boxes: boxes.into_pyarray(py).unbind(),
        scores: scores.into_pyarray(py).unbind(),
        class_ids: class_ids.into_pyarray(py).unbind(),
    })
}

// --- pre-processing -----------------------------------------------------------------------

fn channel_order(name: &str, value: &str) -> Result<ChannelOrder> {
    match value.to_ascii_lowercase().as_str() {
        "bgr" => Ok(ChannelOrder::Bgr),
        "rgb" => Ok(ChannelOrder::Rgb),
        _ => Err(Error::parameter(
            name,
            format!("{name} must be 'bgr' or 'rgb', got {value:?}"),
        )),
    }
}

fn triple(name: &str, values: &[f64]) -> Result<[f32; 3]> {
    <[f64; 3]>::try_from(values)
        .map(|v| v.map(|x| x as f32))
        .map_err(|_| {
            Error::parameter(
                name,
                format!(
                    "{name} needs 3 values (one per channel), got {}",
                    values.len()
                ),
            )
        })
}

fn normalize(
    order: &str,
    mean: Option<Vec<f64>>,
    std: Option<Vec<f64>>,
    pad_value: f64,
) -> Result<Normalize> {
    Ok(Normalize {
        order: channel_order("order", order)?,
        mean: triple("mean", &mean.unwrap_or_else(|| vec![0.0; 3]))?,
        std: triple("std", &std.unwrap_or_else(|| vec![1.0; 3]))?,
        pad_value: pad_value as f32,
    })
}

fn fit(
    src: (usize, usize),
    dst: (i64, i64),
    keep_ratio: bool,
    center: bool,
) -> Result<detect::Letterbox> {
    let (w, h) = (size("size[0]", dst.0)?, size("size[1]", dst.1)?);
    Ok(detect::Letterbox::fit(
        src.0, src.1, w, h, keep_ratio, center,
    )?)
}

fn tensor<'py>(
    py: Python<'py>,
    data: Vec<f32>,
    lb: &detect::Letterbox,
) -> Result<Bound<'py, PyArray4<f32>>> {
    Ok(Array4::from_shape_vec((1, 3, lb.dst_height, lb.dst_width), data)?.into_pyarray(py))
}

/// A yuv420p frame (three planes) to a `(1, 3, H, W)` float32 model input and its letterbox.
#[pyfunction]
#[pyo3(signature = (
    y, u, v, size, *, order = "bgr", keep_ratio = true, center = false, pad_value = 114.0,
    mean = None, std = None, matrix = "bt601", full_range = false
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn preprocess_yuv420p<'py>(
    py: Python<'py>,
    y: &Bound<'py, PyAny>,
    u: &Bound<'py, PyAny>,
    v: &Bound<'py, PyAny>,
    size: (i64, i64),
    order: &str,
    keep_ratio: bool,
    center: bool,
    pad_value: f64,
    mean: Option<Vec<f64>>,
    std: Option<Vec<f64>>,
    matrix: &str,
    full_range: bool,
) -> Result<(Bound<'py, PyArray4<f32>>, Letterbox)> {
    let norm = normalize(order, mean, std, pad_value)?;
    let matrix = match matrix.to_ascii_lowercase().as_str() {
        "bt601" => YuvMatrix::Bt601,
        "bt709" => YuvMatrix::Bt709,
        _ => {
            return Err(Error::parameter(
                "matrix",
                format!("matrix must be 'bt601' or 'bt709', got {matrix:?}"),
            ))
        }
    };
    let (ya, ua, va) = (
        readonly_2d::<u8>(y, "Y plane")?,
        readonly_2d::<u8>(u, "U plane")?,
        readonly_2d::<u8>(v, "V plane")?,
    );
    let (yv, uv, vv) = (
        plane_view(&ya, "Y plane")?,
        plane_view(&ua, "U plane")?,
        plane_view(&va, "V plane")?,
    );
    let lb = fit((yv.width(), yv.height()), size, keep_ratio, center)?;
    let data = run_detached(
        py,
        "preprocess_yuv420p",
        #[inline(always)]
        move || {
            let mut out = vec![0.0f32; lb.tensor_len()];
            detect::yuv420p_to_tensor(&yv, &uv, &vv, &lb, matrix, full_range, &norm, &mut out)
                .map(|()| out)
        },
    )??;
    Ok((tensor(py, data, &lb)?, lb.into()))
}

/// A packed `(H, W, 3)` uint8 image to a `(1, 3, H', W')` float32 model input and its
/// letterbox.
#[pyfunction]
#[pyo3(signature = (
    image, size, *, image_order = "bgr", order = "bgr", keep_ratio = true, center = false,
    pad_value = 114.0, mean = None, std = None
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn preprocess_packed<'py>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    size: (i64, i64),
    image_order: &str,
    order: &str,
    keep_ratio: bool,
    center: bool,
    pad_value: f64,
    mean: Option<Vec<f64>>,
    std: Option<Vec<f64>>,
) -> Result<(Bound<'py, PyArray4<f32>>, Letterbox)> {
    let norm = normalize(order, mean, std, pad_value)?;
    let image_order = channel_order("image_order", image_order)?;
    let array = readonly_dyn::<u8>(image, "image")?;
    let view = packed_view(&array)?;
    let lb = fit((view.width() / 3, view.height()), size, keep_ratio, center)?;
    let data = run_detached(
        py,
        "preprocess_packed",
        #[inline(always)]
        move || {
            let mut out = vec![0.0f32; lb.tensor_len()];
            detect::packed_to_tensor(&view, image_order, &lb, &norm, &mut out).map(|()| out)
        },
    )??;
    Ok((tensor(py, data, &lb)?, lb.into()))
}

/// A packed `(H, W, 3)` uint8 image as a plane of `3 · W` bytes per row, through its strides.
fn packed_view<'a>(array: &'a PyReadonlyArrayDyn<'_, u8>) -> Result<PlaneView<'a>> {
    let view = array.as_array();
    let shape = view.shape();
    if shape.len() != 3 || shape[2] != 3 {
        return Err(Error::frame(
            "image",
            format!(
                "image must have shape (height, width, 3), got {}",
                shape_str(shape)
            ),
        ));
    }
    let (height, width) = (shape[0], shape[1]);
    if height == 0 || width == 0 {
        return Err(Error::frame(
            "image",
            format!("image is empty (shape {})", shape_str(shape)),
        ));
    }
    let s = view.strides();
    let row = 3 * width;
    let stride = if height == 1 { row as isize } else { s[0] };
    if (width > 1 && s[1] != 3) || s[2] != 1 || stride < row as isize {
        return Err(Error::frame(
            "image",
            format!(
            "image must have packed pixels (strides (row, 3, 1), row >= 3 * width), got strides \
             {}; use np.ascontiguousarray",
            shape_str(s)
        ),
        ));
    }
    let stride = stride.unsigned_abs();
    let len = (height - 1) * stride + row;
    // SAFETY: as in `arrays::plane_view`: the array is kept alive and borrowed read-only by
    // `array` for 'a; element (y, x, c) is at `as_ptr() + y * stride + 3 * x + c` with the
    // strides checked above (channel stride 1, pixel stride 3 or a single column, positive row
    // stride >= 3 * width), so the span `[as_ptr(), as_ptr() + len)` runs from the first to
    // the last element of one numpy buffer and any byte is a valid `u8`. Row padding inside
    // the span is never read: `PlaneView` hands out `3 * width` bytes per row.
    let data = unsafe { std::slice::from_raw_parts(view.as_ptr(), len) };
    PlaneView::new(data, row, height, stride).map_err(|e| Error::from(e).about("image"))
}

// --- decoders -----------------------------------------------------------------------------

/// A float32 model output of shape `(1, rows, cols)` or `(rows, cols)`, C-contiguous.
fn output_2d<'a>(
    array: &'a PyReadonlyArrayDyn<'_, f32>,
    what: &str,
) -> Result<(&'a [f32], usize, usize)> {
    let shape = array.shape();
    let (rows, cols) = match *shape {
        [1, r, c] | [r, c] => (r, c),
        _ => {
            return Err(Error::frame(
                what,
                format!(
                    "{what} must have shape (1, rows, cols) or (rows, cols), got {}",
                    shape_str(shape)
                ),
            ))
        }
    };
    // `as_slice` also accepts Fortran order, which would be read transposed: check C order.
    let not_c = || {
        Error::frame(
            what,
            format!("{what} must be C-contiguous (use np.ascontiguousarray)"),
        )
    };
    if !array.is_c_contiguous() {
        return Err(not_c());
    }
    let data = array.as_slice().map_err(|_| not_c())?;
    Ok((data, rows, cols))
}

fn params(
    score_threshold: f64,
    iou_threshold: f64,
    max_detections: Option<i64>,
    class_agnostic: bool,
) -> Result<DecodeParams> {
    let max_detections = max_detections
        .map(|m| {
            usize::try_from(m).map_err(|_| {
                Error::parameter(
                    "max_detections",
                    format!("max_detections must be >= 0, got {m}"),
                )
            })
        })
        .transpose()?;
    let p = DecodeParams {
        score_threshold,
        iou_threshold,
        max_detections,
        class_agnostic,
    };
    if !score_threshold.is_finite() || !(0.0..=1.0).contains(&iou_threshold) {
        return Err(Error::parameter(
            "score_threshold",
            format!(
            "score_threshold must be finite and iou_threshold in [0, 1], got {score_threshold} \
             and {iou_threshold}"
        ),
        ));
    }
    Ok(p)
}

fn strides_of(strides: Option<Vec<i64>>) -> Result<Vec<usize>> {
    strides
        .unwrap_or_else(|| vec![8, 16, 32])
        .into_iter()
        .map(|s| size("each stride", s))
        .collect()
}

/// A single-output model `(1, rows, cols)` decoded by `decode` with the GIL released.
fn decode_2d<F>(
    py: Python<'_>,
    output: &Bound<'_, PyAny>,
    letterbox: &Letterbox,
    what: &str,
    name: &str,
    decode: F,
) -> Result<Detections>
where
    F: Send
        + FnOnce(
            &[f32],
            usize,
            usize,
            &detect::Letterbox,
        ) -> Result<Vec<detect::Detection>, detect::DetectError>,
{
    let array = readonly_dyn::<f32>(output, what)?;
    let (data, rows, cols) = output_2d(&array, what)?;
    let lb = letterbox.core();
    let dets = run_detached(
        py,
        name,
        #[inline(always)]
        move || decode(data, rows, cols, &lb),
    )??;
    detections(py, dets)
}

/// YOLOX raw grid output `(1, anchors, 5 + C)` to detections in source pixels.
#[pyfunction]
#[pyo3(signature = (
    output, letterbox, *, score_threshold = 0.25, iou_threshold = 0.45, max_detections = None,
    class_agnostic = false, strides = None
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn decode_yolox(
    py: Python<'_>,
    output: &Bound<'_, PyAny>,
    letterbox: &Letterbox,
    score_threshold: f64,
    iou_threshold: f64,
    max_detections: Option<i64>,
    class_agnostic: bool,
    strides: Option<Vec<i64>>,
) -> Result<Detections> {
    let p = params(
        score_threshold,
        iou_threshold,
        max_detections,
        class_agnostic,
    )?;
    let strides = strides_of(strides)?;
    decode_2d(
        py,
        output,
        letterbox,
        "YOLOX output",
        "decode_yolox",
        move |d, r, c, lb| detect::decode_yolox(d, r, c, lb, &strides, &p),
    )
}

/// YOLOv5 output `(1, anchors, 5 + C)` to detections in source pixels.
#[pyfunction]
#[pyo3(signature = (
    output, letterbox, *, score_threshold = 0.25, iou_threshold = 0.45, max_detections = None,
    class_agnostic = false
))]
pub(crate) fn decode_yolov5(
    py: Python<'_>,
    output: &Bound<'_, PyAny>,
    letterbox: &Letterbox,
    score_threshold: f64,
    iou_threshold: f64,
    max_detections: Option<i64>,
    class_agnostic: bool,
) -> Result<Detections> {
    let p = params(
        score_threshold,
        iou_threshold,
        max_detections,
        class_agnostic,
    )?;
    decode_2d(
        py,
        output,
        letterbox,
        "YOLOv5 output",
        "decode_yolov5",
        move |d, r, c, lb| detect::decode_yolov5(d, r, c, lb, &p),
    )
}

/// YOLOv8/YOLO11 output `(1, 4 + C, anchors)` to detections in source pixels.
#[pyfunction]
#[pyo3(signature = (
    output, letterbox, *, score_threshold = 0.25, iou_threshold = 0.45, max_detections = None,
    class_agnostic = false
))]
pub(crate) fn decode_yolov8(
    py: Python<'_>,
    output: &Bound<'_, PyAny>,
    letterbox: &Letterbox,
    score_threshold: f64,
    iou_threshold: f64,
    max_detections: Option<i64>,
    class_agnostic: bool,
) -> Result<Detections> {
    let p = params(
        score_threshold,
        iou_threshold,
        max_detections,
        class_agnostic,
    )?;
    decode_2d(
        py,
        output,
        letterbox,
        "YOLOv8 output",
        "decode_yolov8",
        move |d, r, c, lb| detect::decode_yolov8(d, r, c, lb, &p),
    )
}

/// NanoDet GFL outputs (class scores and distance distributions per level) to detections.
#[pyfunction]
#[pyo3(signature = (
    cls_outputs, dis_outputs, letterbox, *, score_threshold = 0.25, iou_threshold = 0.45,
    max_detections = None, class_agnostic = false, strides = None, reg_max = 7,
    center_offset = 0.5
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn decode_nanodet(
    py: Python<'_>,
    cls_outputs: Vec<Bound<'_, PyAny>>,
    dis_outputs: Vec<Bound<'_, PyAny>>,
    letterbox: &Letterbox,
    score_threshold: f64,
    iou_threshold: f64,
    max_detections: Option<i64>,
    class_agnostic: bool,
    strides: Option<Vec<i64>>,
    reg_max: i64,
    center_offset: f64,
) -> Result<Detections> {
    let p = params(
        score_threshold,
        iou_threshold,
        max_detections,
        class_agnostic,
    )?;
    let geometry = detect::NanoDetParams {
        strides: strides_of(strides)?,
        reg_max: usize::try_from(reg_max).map_err(|_| {
            Error::parameter("reg_max", format!("reg_max must be >= 0, got {reg_max}"))
        })?,
        center_offset,
    };
    if cls_outputs.len() != dis_outputs.len() {
        return Err(Error::frame(
            "dis_outputs",
            format!(
                "{} class outputs but {} distance outputs",
                cls_outputs.len(),
                dis_outputs.len()
            ),
        ));
    }
    let cls_arrays = cls_outputs
        .iter()
        .map(|o| readonly_dyn::<f32>(o, "NanoDet class scores"))
        .collect::<Result<Vec<_>>>()?;
    let dis_arrays = dis_outputs
        .iter()
        .map(|o| readonly_dyn::<f32>(o, "NanoDet distances"))
        .collect::<Result<Vec<_>>>()?;
    let mut levels = Vec::with_capacity(cls_arrays.len());
    let mut classes = None;
    for (i, (c, d)) in cls_arrays.iter().zip(&dis_arrays).enumerate() {
        let (cls, n, k) = output_2d(c, &format!("NanoDet class scores of level {i}"))?;
        let (dis, nd, _) = output_2d(d, &format!("NanoDet distances of level {i}"))?;
        if nd != n || classes.is_some_and(|k0| k0 != k) {
            return Err(Error::frame(
                "dis_outputs",
                format!(
                    "NanoDet level {i}: class scores {} and distances {} disagree with each other \
                 or with level 0",
                    shape_str(c.shape()),
                    shape_str(d.shape())
                ),
            ));
        }
        classes = Some(k);
        levels.push(detect::NanoDetLevel {
            cls,
            dis,
            anchors: n,
        });
    }
    let lb = letterbox.core();
    let classes = classes.unwrap_or(0);
    let dets = run_detached(
        py,
        "decode_nanodet",
        #[inline(always)]
        move || detect::decode_nanodet(&levels, classes, &lb, &geometry, &p),
    )??;
    detections(py, dets)
}

// --- NMS ----------------------------------------------------------------------------------

/// `(N, 4)` float64 finite boxes as rows.
fn box_rows(boxes: &Bound<'_, PyAny>) -> Result<Vec<[f64; 4]>> {
    let array = readonly_2d::<f64>(boxes, "boxes")?;
    let view = array.as_array();
    if view.ncols() != 4 {
        return Err(Error::frame(
            "boxes",
            format!(
                "boxes must have shape (N, 4), got {}",
                shape_str(view.shape())
            ),
        ));
    }
    if view.iter().any(|v| !v.is_finite()) {
        return Err(Error::frame("boxes", "boxes must be finite"));
    }
    Ok(view
        .rows()
        .into_iter()
        .map(|r| [r[0], r[1], r[2], r[3]])
        .collect())
}

fn column<T: numpy::Element + Copy>(
    obj: &Bound<'_, PyAny>,
    what: &str,
    n: usize,
) -> Result<Vec<T>> {
    let array = readonly_dyn::<T>(obj, what)?;
    if array.shape() != [n] {
        return Err(Error::frame(
            what,
            format!(
                "{what} must have shape ({n},) like the boxes, got {}",
                shape_str(array.shape())
            ),
        ));
    }
    Ok(array.as_array().iter().copied().collect())
}

/// Indices of the boxes kept by greedy NMS, best first.
#[pyfunction]
#[pyo3(signature = (boxes, scores, iou_threshold, class_ids = None, *, max_detections = None))]
pub(crate) fn nms<'py>(
    py: Python<'py>,
    boxes: &Bound<'py, PyAny>,
    scores: &Bound<'py, PyAny>,
    iou_threshold: f64,
    class_ids: Option<&Bound<'py, PyAny>>,
    max_detections: Option<i64>,
) -> Result<Bound<'py, PyArray1<i64>>> {
    let p = params(0.0, iou_threshold, max_detections, class_ids.is_none())?;
    let rows = box_rows(boxes)?;
    let scores: Vec<f64> = column(scores, "scores", rows.len())?;
    if scores.iter().any(|s| s.is_nan()) {
        return Err(Error::frame("scores", "scores must not be NaN"));
    }
    let classes: Vec<i64> = match class_ids {
        Some(c) => column(c, "class_ids", rows.len())?,
        None => vec![0; rows.len()],
    };
    let keep = run_detached(
        py,
        "nms",
        #[inline(always)]
        move || {
            detect::nms(
                &rows,
                &scores,
                &classes,
                p.iou_threshold,
                p.class_agnostic,
                p.max_detections,
            )
        },
    )?;
    Ok(keep
        .into_iter()
        .map(|i| i as i64)
        .collect::<Vec<_>>()
        .into_pyarray(py))
}
