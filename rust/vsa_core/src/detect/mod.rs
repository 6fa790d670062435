//! Object-detector pre- and post-processing around an ONNX model.
//!
//! - [`preprocess`]: a decoded frame (yuv420p planes, or a packed BGR/RGB image) to the model's
//!   NCHW float32 input in one pass: bilinear letterbox resize, colour conversion and
//!   per-channel normalisation, with the [`Letterbox`] that maps boxes back.
//! - [`decode`]: raw outputs of YOLOX, YOLOv5, YOLOv8/YOLO11 and GFL heads (NanoDet; PicoDet,
//!   the same head with a fourth, stride-64 level) to scored boxes in original image pixels,
//!   after a score threshold and [`nms`]. A plain resize (PicoDet's pre-processing) is a
//!   [`Letterbox`] fitted without keeping the aspect ratio.
//! - [`nms`]: greedy non-maximum suppression, class-aware or class-agnostic.
//!
//! Boxes are `[x1, y1, x2, y2]` in continuous pixel coordinates: pixel `(x, y)` covers
//! `[x, x + 1) × [y, y + 1)`, so a box of a whole `w × h` image is `[0, 0, w, h]`.

use std::fmt;

pub mod decode;
pub mod nms;
pub mod preprocess;

pub use decode::{
    decode_nanodet, decode_yolov5, decode_yolov8, decode_yolox, DecodeParams, Detection,
    NanoDetLevel, NanoDetParams,
};
pub use nms::{iou, nms};
pub use preprocess::{
    packed_to_tensor, yuv420p_to_tensor, ChannelOrder, Letterbox, Normalize, YuvMatrix,
};

/// Why a detector input or output was rejected.
#[derive(Debug, Clone, PartialEq)]
pub enum DetectError {
    /// A parameter (a size, a count, a threshold) is out of range; the message says which.
    Invalid(String),
    /// An input (a frame, a plane, a model output) does not have the shape or size its layout
    /// requires.
    Shape(String),
}

impl fmt::Display for DetectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(m) | Self::Shape(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for DetectError {}

pub(crate) fn invalid(message: impl Into<String>) -> DetectError {
    DetectError::Invalid(message.into())
}

pub(crate) fn shape(message: impl Into<String>) -> DetectError {
    DetectError::Shape(message.into())
}
