//! Checked numpy inputs, owned numpy outputs, and kernel calls without the GIL.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use numpy::ndarray::{Array2, Dimension};
use numpy::{
    dtype, IntoPyArray, PyArray, PyArray2, PyArrayDescrMethods, PyArrayMethods, PyReadonlyArray,
    PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArrayDyn, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use vsa_core::image::PlaneView;

use crate::errors::{Error, Result};
use crate::simd;

/// A non-negative Python integer as `usize`, or a `ParameterError` naming the argument.
pub(crate) fn non_negative(name: &str, value: i64) -> Result<usize> {
    usize::try_from(value)
        .map_err(|_| Error::parameter(name, format!("{name} must be >= 0, got {value}")))
}

/// `obj` as a read-only numpy array of `T` with dimension `D`, or a `FrameError` naming what
/// is wrong. `ndim` is checked when given (for `IxDyn` pass `None` to accept any).
///
/// Takes `PyAny` rather than letting PyO3 extract the array, so that a wrong dtype or number of
/// dimensions is a `FrameError` (a `ValueError`) with a useful message, not a `TypeError`.
pub(crate) fn readonly<'py, T: numpy::Element, D: Dimension>(
    obj: &Bound<'py, PyAny>,
    what: &str,
    ndim: Option<usize>,
) -> Result<PyReadonlyArray<'py, T, D>> {
    let Ok(untyped) = obj.cast::<PyUntypedArray>() else {
        let type_name = obj.get_type().name()?;
        return Err(Error::frame(
            what,
            format!("{what} must be a numpy array, got {type_name}"),
        ));
    };
    if let Some(ndim) = ndim.filter(|&n| n != untyped.ndim()) {
        return Err(Error::frame(
            what,
            format!(
                "{what} must be a {ndim}-D array, got {} dimension(s) with shape {}",
                untyped.ndim(),
                shape_str(untyped.shape())
            ),
        ));
    }
    let expected = dtype::<T>(obj.py());
    let actual = untyped.dtype();
    if !actual.is_equiv_to(&expected) {
        return Err(Error::frame(
            what,
            format!("{what} must have dtype {expected}, got {actual}"),
        ));
    }
    untyped
        .cast::<PyArray<T, D>>()
        .map_err(|e| {
            Error::frame(
                what,
                format!("{what} is not a usable {expected} array: {e}"),
            )
        })?
        .try_readonly()
        .map_err(|e| Error::frame(what, format!("{what} cannot be borrowed: {e}")))
}

/// `obj` as a read-only 2-D numpy array of `T` (see [`readonly`]).
pub(crate) fn readonly_2d<'py, T: numpy::Element>(
    obj: &Bound<'py, PyAny>,
    what: &str,
) -> Result<PyReadonlyArray2<'py, T>> {
    readonly(obj, what, Some(2))
}

/// `obj` as a read-only 1-D numpy array of `T` (see [`readonly`]).
pub(crate) fn readonly_1d<'py, T: numpy::Element>(
    obj: &Bound<'py, PyAny>,
    what: &str,
) -> Result<PyReadonlyArray1<'py, T>> {
    readonly(obj, what, Some(1))
}

/// `obj` as a read-only numpy array of `T` of any number of dimensions (see [`readonly`]).
pub(crate) fn readonly_dyn<'py, T: numpy::Element>(
    obj: &Bound<'py, PyAny>,
    what: &str,
) -> Result<PyReadonlyArrayDyn<'py, T>> {
    readonly(obj, what, None)
}

/// A zero-copy [`PlaneView`] of a read-only `uint8` array, through its real strides.
///
/// Rows may be padded (a PyAV plane whose `line_size` exceeds the width, or a view such as
/// `a[:, :w]` of a wider array); each row must be contiguous and rows must not overlap or run
/// backwards.
pub(crate) fn plane_view<'a>(
    array: &'a PyReadonlyArray2<'_, u8>,
    what: &str,
) -> Result<PlaneView<'a>> {
    let view = array.as_array();
    let (height, width) = view.dim();
    if height == 0 || width == 0 {
        return Err(Error::frame(
            what,
            format!("{what} is empty (shape ({height}, {width}))"),
        ));
    }
    let strides = view.strides();
    if width > 1 && strides[1] != 1 {
        return Err(Error::frame(
            what,
            format!(
                "{what} must be contiguous along its last axis, got strides {} \
             (a view like a[:, ::2] is not supported; use np.ascontiguousarray)",
                shape_str(strides)
            ),
        ));
    }
    let stride = if height == 1 {
        width
    } else if strides[0] <= 0 {
        return Err(Error::frame(
            what,
            format!(
                "{what} must have a positive row stride, got strides {}",
                shape_str(strides)
            ),
        ));
    } else {
        strides[0].unsigned_abs()
    };
    if stride < width {
        return Err(Error::frame(
            what,
            format!(
            "{what} has overlapping rows: row stride {stride} is smaller than the width {width}"
        ),
        ));
    }
    let len = (height - 1) * stride + width;
    // SAFETY: `view` comes from a numpy array kept alive and borrowed read-only (numpy's
    // borrow flags) by `array` for all of 'a. Element (y, x) is at `as_ptr() + y * stride + x`
    // (strides are in elements, and an element is a byte), and the checks above give
    // `strides[1] == 1` (or a single column) and `stride >= width > 0`, so every byte of the
    // span `[as_ptr(), as_ptr() + len)` lies between the first and the last element of the
    // array. A numpy array addresses one contiguous buffer, so the span lies in that buffer and
    // is readable; any `u8` value is valid. The bytes of row padding are inside the span but are
    // never read: `PlaneView` only hands out `width` bytes per row. As with every numpy binding,
    // Python code writing into the buffer from another thread while a kernel runs would race;
    // the values read would be stale, not out of bounds.
    let data = unsafe { std::slice::from_raw_parts(view.as_ptr(), len) };
    PlaneView::new(data, width, height, stride).map_err(|e| Error::from(e).about(what))
}

/// A new `(height, width)` numpy array owning `data`.
pub(crate) fn owned_2d<'py, T: numpy::Element>(
    py: Python<'py>,
    data: Vec<T>,
    height: usize,
    width: usize,
) -> Result<Bound<'py, PyArray2<T>>> {
    let array = Array2::from_shape_vec((height, width), data)?;
    Ok(array.into_pyarray(py))
}

/// Runs `kernel` with the GIL released, in its AVX2 copy where the CPU has one (see
/// [`simd`]: pass an `#[inline(always)]` closure, or its AVX2 copy stays baseline code); a
/// panic becomes `InternalError("internal error in ...")`.
pub(crate) fn run_detached<T, F>(py: Python<'_>, name: &str, kernel: F) -> Result<T>
where
    F: Send + FnOnce() -> T,
    T: Send,
{
    py.detach(move || {
        catch_unwind(AssertUnwindSafe(
            #[inline(always)]
            || simd::run(kernel),
        ))
    })
    .map_err(|payload| {
        Error::internal(
            name,
            format!("internal error in {name}: {}", panic_message(&*payload)),
        )
    })
}

/// Runs a stateful kernel on a luma plane (uint8, `(height, width)`, rows may be padded) with
/// the GIL released. After a panic the model may be half-updated, so `reset` makes it start
/// again from the next frame.
pub(crate) fn on_luma<M: Send, T: Send, E: Send + Into<Error>>(
    py: Python<'_>,
    name: &str,
    luma: &Bound<'_, PyAny>,
    model: &mut M,
    kernel: impl Send + FnOnce(&mut M, &PlaneView<'_>) -> Result<T, E>,
    reset: impl FnOnce(&mut M),
) -> Result<T> {
    let array = readonly_2d::<u8>(luma, "luma plane")?;
    let view = plane_view(&array, "luma plane")?;
    match run_detached(
        py,
        name,
        #[inline(always)]
        || kernel(&mut *model, &view),
    ) {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(e.into()),
        Err(panic) => {
            reset(model);
            Err(panic)
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "panic"
    }
}

/// `(2, 3)` / `(5,)`, as numpy prints a shape or strides.
pub(crate) fn shape_str<T: std::fmt::Display>(dims: &[T]) -> String {
    let items: Vec<String> = dims.iter().map(ToString::to_string).collect();
    match items.len() {
        1 => format!("({},)", items[0]),
        _ => format!("({})", items.join(", ")),
    }
}
