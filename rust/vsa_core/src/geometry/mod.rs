//! Scene geometry on image coordinates: zones, lines, headings, the ground plane, dwell.
//!
//! # Conventions
//!
//! - Image coordinates are pixels, `x` to the right and `y` **down** the image.
//! - A box is `[x0, y0, x1, y1]` with `x0 <= x1` and `y0 <= y1`; an [`Anchor`] picks the point
//!   of it that stands for the object (the bottom centre, where a person touches the ground,
//!   by default).
//! - Angles are in degrees in `[0, 360)`, measured from `+x` towards `+y`: 0° points right,
//!   90° **down** the image, 180° left, 270° up (clockwise on screen).
//! - The ground plane is metric (metres), reached through a [`Homography`].
//!
//! # Modules
//!
//! - [`polygon`]: point-in-polygon (half-open edges), boxes in a polygon, area, validity.
//! - [`line`]: [`LineCounter`], directed line crossings with hysteresis.
//! - [`heading`]: heading of a track against an allowed direction, [`HeadingTracker`].
//! - [`homography`]: normalised DLT image ↔ ground, ground area of a zone.
//! - [`density`]: persons per m² on a ground grid, Gaussian-spread.
//! - [`dwell`]: [`DwellTimers`], time spent per (track, zone) with a grace period.

pub mod density;
pub mod dwell;
pub mod heading;
pub mod homography;
mod linalg;
pub mod line;
pub mod polygon;

use std::fmt;

pub use density::{density_grid, GridSpec};
pub use dwell::{Dwell, DwellTimers};
pub use heading::{
    angle_diff_deg, heading_deg, judge_heading, HeadingConfig, HeadingTracker, Judgement,
};
pub use homography::Homography;
pub use line::{Crossing, LineCounter};
pub use polygon::{
    boxes_in_polygon, point_in_polygon, points_in_polygon, polygon_area, signed_area,
    validate_polygon, PolygonError,
};

/// A point `(x, y)`.
pub type Point = (f64, f64);

/// A box `[x0, y0, x1, y1]`.
pub type BoxXyxy = [f64; 4];

/// Which point of a box stands for the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Anchor {
    /// `((x0 + x1) / 2, y1)`: where a standing person touches the ground.
    #[default]
    BottomCenter,
    /// `((x0 + x1) / 2, (y0 + y1) / 2)`.
    Center,
    /// `((x0 + x1) / 2, y0)`.
    TopCenter,
}

impl Anchor {
    /// All anchors, with their names.
    pub const ALL: [Anchor; 3] = [Anchor::BottomCenter, Anchor::Center, Anchor::TopCenter];

    /// The anchor point of `b`.
    pub fn point(self, b: BoxXyxy) -> Point {
        let x = (b[0] + b[2]) / 2.0;
        match self {
            Self::BottomCenter => (x, b[3]),
            Self::Center => (x, (b[1] + b[3]) / 2.0),
            Self::TopCenter => (x, b[1]),
        }
    }

    /// `"bottom_center"`, `"center"` or `"top_center"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::BottomCenter => "bottom_center",
            Self::Center => "center",
            Self::TopCenter => "top_center",
        }
    }

    /// The anchor called `name` (see [`Anchor::name`]).
    pub fn parse(name: &str) -> Result<Self, GeometryError> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| {
                GeometryError::invalid(
                    "anchor",
                    format!("must be bottom_center, center or top_center, got {name:?}"),
                )
            })
    }
}

/// Why a geometry kernel rejected its input.
#[derive(Debug, Clone, PartialEq)]
pub enum GeometryError {
    /// A polygon is unusable.
    Polygon(PolygonError),
    /// Point pairs that define no unique, invertible homography.
    DegenerateHomography(String),
    /// A parameter (fixed for the kernel's life: a line, a window, an anchor) is out of range.
    Invalid { name: &'static str, reason: String },
    /// A per-frame input (boxes, track ids, a timestamp) is out of range: that frame fails.
    BadInput { name: &'static str, reason: String },
}

impl GeometryError {
    pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            name,
            reason: reason.into(),
        }
    }

    pub(crate) fn bad_input(name: &'static str, reason: impl Into<String>) -> Self {
        Self::BadInput {
            name,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for GeometryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Polygon(e) => write!(f, "polygon {e}"),
            Self::DegenerateHomography(why) => write!(f, "degenerate homography: {why}"),
            Self::Invalid { name, reason } | Self::BadInput { name, reason } => {
                write!(f, "{name} {reason}")
            }
        }
    }
}

impl std::error::Error for GeometryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Polygon(e) => Some(e),
            _ => None,
        }
    }
}

impl From<PolygonError> for GeometryError {
    fn from(e: PolygonError) -> Self {
        Self::Polygon(e)
    }
}

/// Checks that every box is finite with `x0 <= x1` and `y0 <= y1`.
pub fn check_boxes(boxes: &[BoxXyxy]) -> Result<(), GeometryError> {
    boxes
        .iter()
        .enumerate()
        .try_for_each(|(i, &b)| check_box(i, b))
}

/// [`check_boxes`] for one box, `i` naming it in the error.
pub fn check_box(i: usize, b: BoxXyxy) -> Result<(), GeometryError> {
    if b.iter().any(|v| !v.is_finite()) {
        return Err(GeometryError::bad_input(
            "boxes",
            format!("must be finite, box {i} is {b:?}"),
        ));
    }
    if b[0] > b[2] || b[1] > b[3] {
        return Err(GeometryError::bad_input(
            "boxes",
            format!("must have x0 <= x1 and y0 <= y1 (xyxy), box {i} is {b:?}"),
        ));
    }
    Ok(())
}

/// Checks that a frame's track ids and boxes match in length and the ids are distinct.
pub(crate) fn check_frame(track_ids: &[i64], boxes: &[BoxXyxy]) -> Result<(), GeometryError> {
    if track_ids.len() != boxes.len() {
        return Err(GeometryError::bad_input(
            "track_ids",
            format!(
                "has {} entries but boxes has {}",
                track_ids.len(),
                boxes.len()
            ),
        ));
    }
    let mut seen = std::collections::HashSet::with_capacity(track_ids.len());
    if let Some(dup) = track_ids.iter().find(|id| !seen.insert(**id)) {
        return Err(GeometryError::bad_input(
            "track_ids",
            format!("must be distinct within a frame, {dup} appears twice"),
        ));
    }
    check_boxes(boxes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors() {
        let b = [10.0, 20.0, 30.0, 60.0];
        assert_eq!(Anchor::BottomCenter.point(b), (20.0, 60.0));
        assert_eq!(Anchor::Center.point(b), (20.0, 40.0));
        assert_eq!(Anchor::TopCenter.point(b), (20.0, 20.0));
        for a in Anchor::ALL {
            assert_eq!(Anchor::parse(a.name()), Ok(a));
        }
        assert!(Anchor::parse("feet").is_err());
        assert_eq!(Anchor::default(), Anchor::BottomCenter);
    }

    #[test]
    fn frame_checks() {
        let b = [0.0, 0.0, 1.0, 1.0];
        assert!(check_frame(&[1, 2], &[b, b]).is_ok());
        assert!(check_frame(&[1], &[b, b]).is_err());
        assert!(check_frame(&[1, 1], &[b, b]).is_err());
        assert!(check_frame(&[1], &[[0.0, 0.0, f64::NAN, 1.0]]).is_err());
        assert!(check_frame(&[1], &[[2.0, 0.0, 1.0, 1.0]]).is_err());
        let e = check_frame(&[3, 3], &[b, b]).unwrap_err().to_string();
        assert!(e.contains("3 appears twice"), "{e}");
    }
}
