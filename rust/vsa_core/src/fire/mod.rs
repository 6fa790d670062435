//! Fire evidence from yuv420p planes: a per-pixel flame-colour rule in YCbCr, aggregated per
//! cell of a grid, and per-cell temporal statistics (flicker, persistence, growth) combined
//! into a fire score in `[0, 1]`.
//!
//! - [`colour`]: the Çelik & Demirel colour rule evaluated at chroma resolution.
//! - [`detector`]: the stateful [`FireDetector`] with its sliding window per cell.

mod colour;
mod detector;

use std::fmt;

use crate::image::PlaneError;

pub use colour::{fire_mask, luma_at_chroma, ColourRule};
pub use detector::{FireConfig, FireDetector, FireFrame};

/// Why a fire kernel rejected its input or its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum FireError {
    /// A plane is malformed.
    Plane(PlaneError),
    /// A plane does not have the size expected.
    SizeMismatch {
        plane: &'static str,
        expected: (usize, usize),
        got: (usize, usize),
    },
    /// A parameter is out of range: `name` is the parameter, `message` says why.
    BadParameter { name: &'static str, message: String },
}

impl fmt::Display for FireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plane(e) => write!(f, "{e}"),
            Self::SizeMismatch {
                plane,
                expected,
                got,
            } => write!(
                f,
                "{plane} plane is {}×{} but {}×{} was expected",
                got.0, got.1, expected.0, expected.1
            ),
            Self::BadParameter { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for FireError {}

impl From<PlaneError> for FireError {
    fn from(e: PlaneError) -> Self {
        Self::Plane(e)
    }
}
