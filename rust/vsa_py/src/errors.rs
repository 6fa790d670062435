//! Kernel errors as typed Python exceptions: one mapping per core error enum.
//!
//! Every binding returns [`Result`], whose [`Error`] is either a Python exception already made
//! (a `PyErr` from PyO3 or numpy) or a kernel error on its way to Python. Each error enum of
//! `vsa_core` converts into [`Error`] in one `From` impl below, which chooses the Python class by
//! variant and keeps the variant's fields as attributes of the exception:
//!
//! | what went wrong                                    | Python class (`vsa_stream.errors`)   |
//! |----------------------------------------------------|--------------------------------------|
//! | a frame, plane or per-frame array is unusable      | `FrameError` (a `ValueError`)        |
//! | a parameter is out of range                        | `ParameterError` (a `ValueError`)    |
//! | a polygon or a homography is degenerate            | `GeometryError` (a `ParameterError`) |
//! | a kernel panicked (a bug, caught at the boundary)  | `InternalError` (a `RuntimeError`)   |
//!
//! A frame size refused by a kernel's constructor is a parameter of it (see [`sized`]).
//!
//! `impl From<vsa_core::...> for PyErr` cannot be written here (the orphan rule: neither the trait
//! nor the types are local, and `vsa_core` knows no Python), hence the local [`Error`]. The crate
//! is an extension module, whose test binaries cannot link without a Python; the mapping is
//! tested from Python (`tests/test_errors.py`: which input raises which class, with which
//! attributes).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use vsa_core::detect::DetectError;
use vsa_core::fire::FireError;
use vsa_core::flow::FlowError;
use vsa_core::geometry::{GeometryError as CoreGeometryError, PolygonError};
use vsa_core::image::PlaneError;
use vsa_core::motion::MotionError;
use vsa_core::track::TrackError;

pyo3::import_exception!(vsa_stream.errors, FrameError);
pyo3::import_exception!(vsa_stream.errors, ParameterError);
pyo3::import_exception!(vsa_stream.errors, GeometryError);
pyo3::import_exception!(vsa_stream.errors, InternalError);

/// What a binding returns: its value, or an [`Error`] that PyO3 raises in Python.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// The Python class a kernel error becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Frame,
    Parameter,
    Geometry,
    Internal,
}

/// A field of an error variant, kept as an attribute of the Python exception.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Attr {
    Int(usize),
    Text(String),
    /// A `(width, height)` size or a pair of indices, as a Python tuple.
    Pair(usize, usize),
    /// A box or a point, as a Python tuple of floats.
    Floats(Vec<f64>),
}

/// An error on its way to Python.
#[derive(Debug)]
pub(crate) enum Error {
    /// A Python exception already made (by PyO3, numpy or a Python callback).
    Python(PyErr),
    /// A kernel or binding error: the class, the message a user reads, a short `code` naming the
    /// variant (`"size_mismatch"`), and the variant's fields.
    Kernel {
        class: Class,
        message: String,
        code: &'static str,
        attrs: Vec<(&'static str, Attr)>,
    },
}

impl Error {
    fn new(class: Class, code: &'static str, message: impl Into<String>) -> Self {
        Self::Kernel {
            class,
            message: message.into(),
            code,
            attrs: Vec::new(),
        }
    }

    /// A frame (or a per-frame array) the binding rejects; `field` names it (`"luma plane"`).
    pub(crate) fn frame(field: &str, message: impl Into<String>) -> Self {
        Self::new(Class::Frame, "bad_input", message).with("field", Attr::Text(field.into()))
    }

    /// A parameter out of range; `field` is the argument's name.
    pub(crate) fn parameter(field: &str, message: impl Into<String>) -> Self {
        Self::new(Class::Parameter, "invalid_parameter", message)
            .with("field", Attr::Text(field.into()))
    }

    /// A degenerate polygon the binding rejects before the kernel sees it; `field` names it.
    pub(crate) fn geometry(field: &str, message: impl Into<String>) -> Self {
        Self::new(Class::Geometry, "bad_polygon", message).with("field", Attr::Text(field.into()))
    }

    /// A failure that is a bug of ours, not of the input (a panic, an impossible shape).
    pub(crate) fn internal(kernel: &str, message: impl Into<String>) -> Self {
        Self::new(Class::Internal, "internal", message).with("kernel", Attr::Text(kernel.into()))
    }

    fn with(mut self, name: &'static str, value: Attr) -> Self {
        if let Self::Kernel { attrs, .. } = &mut self {
            attrs.push((name, value));
        }
        self
    }

    /// The error with its message prefixed by `what` (`"luma plane: plane is empty (0×4)"`) and
    /// `what` as its `field`.
    pub(crate) fn about(mut self, what: &str) -> Self {
        if let Self::Kernel { message, attrs, .. } = &mut self {
            *message = format!("{what}: {message}");
            attrs.retain(|(name, _)| *name != "field");
            attrs.push(("field", Attr::Text(what.into())));
        }
        self
    }
}

/// The result of a kernel's constructor for `width × height` frames: a size it refuses (empty,
/// over the limits) is a bad parameter of that constructor, not a bad frame (no frame is there
/// yet), so a caller sizing a kernel on a stream's first frame fails that camera, with the
/// reason, rather than dropping every frame.
pub(crate) fn sized<T>(result: Result<T, impl Into<Error>>) -> Result<T> {
    result.map_err(|e| match e.into() {
        Error::Kernel {
            class: Class::Frame,
            message,
            code,
            attrs,
        } => Error::Kernel {
            class: Class::Parameter,
            message,
            code,
            attrs,
        },
        other => other,
    })
}

impl From<PyErr> for Error {
    fn from(e: PyErr) -> Self {
        Self::Python(e)
    }
}

impl From<Error> for PyErr {
    fn from(e: Error) -> Self {
        match e {
            Error::Python(e) => e,
            Error::Kernel {
                class,
                message,
                code,
                attrs,
            } => Python::attach(|py| {
                raise(py, class, &message, code, attrs).unwrap_or_else(|failed| failed)
            }),
        }
    }
}

/// The exception `class(message, code=code, **attrs)`, or the error that building it raised.
fn raise(
    py: Python<'_>,
    class: Class,
    message: &str,
    code: &'static str,
    attrs: Vec<(&'static str, Attr)>,
) -> PyResult<PyErr> {
    let kwargs = PyDict::new(py);
    kwargs.set_item("code", code)?;
    for (name, value) in attrs {
        match value {
            Attr::Int(v) => kwargs.set_item(name, v)?,
            Attr::Text(v) => kwargs.set_item(name, v)?,
            Attr::Pair(a, b) => kwargs.set_item(name, (a, b))?,
            Attr::Floats(v) => kwargs.set_item(name, PyTuple::new(py, v)?)?,
        }
    }
    let class = match class {
        Class::Frame => py.get_type::<FrameError>(),
        Class::Parameter => py.get_type::<ParameterError>(),
        Class::Geometry => py.get_type::<GeometryError>(),
        Class::Internal => py.get_type::<InternalError>(),
    };
    Ok(PyErr::from_value(class.call((message,), Some(&kwargs))?))
}

fn pair((a, b): (usize, usize)) -> Attr {
    Attr::Pair(a, b)
}

/// An owned output array whose shape does not match its data: a bug of the binding.
impl From<numpy::ndarray::ShapeError> for Error {
    fn from(e: numpy::ndarray::ShapeError) -> Self {
        Self::internal("output", format!("internal error: output shape: {e}"))
    }
}

impl From<PlaneError> for Error {
    fn from(e: PlaneError) -> Self {
        let message = e.to_string();
        let (class, code, attrs) = match e {
            PlaneError::Empty { width, height } => (
                Class::Frame,
                "empty",
                vec![("width", Attr::Int(width)), ("height", Attr::Int(height))],
            ),
            PlaneError::StrideTooSmall { stride, width } => (
                Class::Frame,
                "stride_too_small",
                vec![("stride", Attr::Int(stride)), ("width", Attr::Int(width))],
            ),
            PlaneError::BufferTooSmall { len, needed } => (
                Class::Frame,
                "buffer_too_small",
                vec![("len", Attr::Int(len)), ("needed", Attr::Int(needed))],
            ),
            PlaneError::TooLarge {
                width,
                height,
                stride,
            } => (
                Class::Frame,
                "too_large",
                vec![
                    ("width", Attr::Int(width)),
                    ("height", Attr::Int(height)),
                    ("stride", Attr::Int(stride)),
                ],
            ),
            PlaneError::Oversize { width, height } => (
                Class::Frame,
                "oversize",
                vec![("width", Attr::Int(width)), ("height", Attr::Int(height))],
            ),
            PlaneError::OutOfMemory { bytes } => (
                Class::Frame,
                "out_of_memory",
                vec![("bytes", Attr::Int(bytes))],
            ),
            PlaneError::ZeroFactor => (
                Class::Parameter,
                "zero_factor",
                vec![("field", Attr::Text("factor".into()))],
            ),
            PlaneError::FactorTooLarge {
                factor,
                width,
                height,
            } => (
                Class::Frame,
                "factor_too_large",
                vec![
                    ("factor", Attr::Int(factor)),
                    ("width", Attr::Int(width)),
                    ("height", Attr::Int(height)),
                ],
            ),
        };
        Self::Kernel {
            class,
            message,
            code,
            attrs,
        }
    }
}

impl From<FlowError> for Error {
    fn from(e: FlowError) -> Self {
        let message = e.to_string();
        match e {
            FlowError::Plane(e) => e.into(),
            FlowError::SizeMismatch { expected, got } => {
                Self::new(Class::Frame, "size_mismatch", message)
                    .with("field", Attr::Text("luma plane".into()))
                    .with("expected", pair(expected))
                    .with("got", pair(got))
            }
            FlowError::InvalidParameter { name, reason } => {
                Self::parameter(name, message).with("reason", Attr::Text(reason))
            }
        }
    }
}

impl From<FireError> for Error {
    fn from(e: FireError) -> Self {
        let message = e.to_string();
        match e {
            FireError::Plane(e) => e.into(),
            FireError::SizeMismatch {
                plane,
                expected,
                got,
            } => Self::new(Class::Frame, "size_mismatch", message)
                .with("field", Attr::Text(format!("{plane} plane")))
                .with("expected", pair(expected))
                .with("got", pair(got)),
            FireError::BadParameter { name, .. } => Self::parameter(name, message),
        }
    }
}

impl From<DetectError> for Error {
    fn from(e: DetectError) -> Self {
        match e {
            DetectError::Invalid(message) => {
                Self::new(Class::Parameter, "invalid_parameter", message)
            }
            DetectError::Shape(message) => Self::new(Class::Frame, "bad_shape", message),
        }
    }
}

impl From<PolygonError> for Error {
    fn from(e: PolygonError) -> Self {
        let message = format!("polygon {e}");
        let polygon = Self::new(Class::Geometry, "bad_polygon", message)
            .with("field", Attr::Text("polygon".into()));
        match e {
            PolygonError::TooFewVertices(n) => polygon.with("vertices", Attr::Int(n)),
            PolygonError::NonFinite { index } => polygon.with("index", Attr::Int(index)),
            PolygonError::ZeroArea => polygon,
            PolygonError::SelfIntersecting { edges: (i, j) } => {
                polygon.with("edges", Attr::Pair(i, j))
            }
        }
    }
}

impl From<CoreGeometryError> for Error {
    fn from(e: CoreGeometryError) -> Self {
        let message = e.to_string();
        match e {
            CoreGeometryError::Polygon(e) => e.into(),
            CoreGeometryError::DegenerateHomography(why) => {
                Self::new(Class::Geometry, "degenerate_homography", message)
                    .with("reason", Attr::Text(why))
            }
            CoreGeometryError::Invalid { name, reason } => {
                Self::parameter(name, message).with("reason", Attr::Text(reason))
            }
            CoreGeometryError::BadInput { name, reason } => {
                Self::frame(name, message).with("reason", Attr::Text(reason))
            }
        }
    }
}

impl From<TrackError> for Error {
    fn from(e: TrackError) -> Self {
        let message = e.to_string();
        match e {
            TrackError::LengthMismatch {
                boxes,
                scores,
                classes,
            } => Self::new(Class::Frame, "length_mismatch", message)
                .with("boxes", Attr::Int(boxes))
                .with("scores", Attr::Int(scores))
                .with("classes", Attr::Int(classes)),
            TrackError::NonFinite { index } => Self::new(Class::Frame, "non_finite", message)
                .with("field", Attr::Text("boxes".into()))
                .with("index", Attr::Int(index)),
            TrackError::InvertedBox { index, xyxy } => {
                Self::new(Class::Frame, "inverted_box", message)
                    .with("field", Attr::Text("boxes".into()))
                    .with("index", Attr::Int(index))
                    .with("xyxy", Attr::Floats(xyxy.to_vec()))
            }
            TrackError::Config { name, .. } => Self::parameter(name, message),
        }
    }
}

impl From<MotionError> for Error {
    fn from(e: MotionError) -> Self {
        let message = e.to_string();
        match e {
            MotionError::Plane(e) => e.into(),
            MotionError::SizeMismatch { expected, got } => {
                Self::new(Class::Frame, "size_mismatch", message)
                    .with("field", Attr::Text("luma plane".into()))
                    .with("expected", pair(expected))
                    .with("got", pair(got))
            }
            MotionError::BufferLength { len, expected } => {
                Self::new(Class::Frame, "buffer_length", message)
                    .with("len", Attr::Int(len))
                    .with("expected", Attr::Int(expected))
            }
            MotionError::InvalidParameter { name, reason } => {
                Self::parameter(name, message).with("reason", Attr::Text(reason))
            }
            MotionError::BadInput { name, reason } => {
                Self::frame(name, message).with("reason", Attr::Text(reason))
            }
        }
    }
}
