//! Motion detection: background subtraction on a downscaled luma plane, cleaned into blobs.
//!
//! [`MotionDetector`] runs, per frame: [`downscale_area`](crate::image::downscale_area) by
//! `factor`; the [`BackgroundModel`] difference with global illumination compensation;
//! threshold; 3×3 [`close_open`]; 8-connected [`Labeller::find`]; then scales the blobs back to
//! full-resolution pixels.

mod background;
mod blobs;
mod detector;
mod morphology;
mod shift;

use std::fmt;

use crate::image::PlaneError;

pub use background::{BackgroundModel, FOREGROUND_SLOWDOWN};
pub use blobs::{find_blobs, Blob, Labeller};
pub use detector::{MotionConfig, MotionDetector};
pub use morphology::close_open;
pub use shift::CameraShift;

/// Why a motion kernel rejected its input or its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum MotionError {
    /// The plane itself is malformed.
    Plane(PlaneError),
    /// The frame does not have the size the detector was built for.
    SizeMismatch {
        expected: (usize, usize),
        got: (usize, usize),
    },
    /// A buffer handed to the background model has the wrong length.
    BufferLength { len: usize, expected: usize },
    /// A parameter is out of its range.
    InvalidParameter { name: &'static str, reason: String },
    /// A per-frame input (a plane) does not fit the others: that frame fails.
    BadInput { name: &'static str, reason: String },
}

impl MotionError {
    #[inline(always)]
    pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidParameter {
            name,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for MotionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plane(e) => e.fmt(f),
            Self::SizeMismatch {
                expected: (ew, eh),
                got: (gw, gh),
            } => write!(
                f,
                "luma plane is {gw}×{gh} but the detector was built for {ew}×{eh}"
            ),
            Self::BufferLength { len, expected } => {
                write!(
                    f,
                    "buffer holds {len} values but the model has {expected} pixels"
                )
            }
            Self::InvalidParameter { name, reason } | Self::BadInput { name, reason } => {
                write!(f, "{name} {reason}")
            }
        }
    }
}

impl std::error::Error for MotionError {
    #[inline(always)]
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Plane(e) => Some(e),
            _ => None,
        }
    }
}

impl From<PlaneError> for MotionError {
    fn from(e: PlaneError) -> Self {
        Self::Plane(e)
    }
}
