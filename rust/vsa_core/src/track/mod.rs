//! ByteTrack-style multi-object tracking: Kalman prediction, two-stage association by optimal
//! assignment, per class.
//!
//! - [`kalman`]: constant-velocity filter on `(cx, cy, w, h)`.
//! - [`assign`]: optimal rectangular assignment with a cost limit (Jonker–Volgenant).
//! - [`cost`]: `1 − IoU` costs, the small/fast-object fallback, gated candidate pairs.
//! - [`tracker`]: the [`Tracker`] and its track life cycle.
//!
//! Privacy: a track is a box, a class and its motion. No appearance feature is computed or
//! kept, and ids are small integers local to one tracker; nothing can re-identify an object
//! after its track is removed.

pub mod assign;
pub mod cost;
pub mod kalman;
pub mod tracker;

pub use tracker::{TrackError, TrackState, TrackView, Tracker, TrackerConfig};
