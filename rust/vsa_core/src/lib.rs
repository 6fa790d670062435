//! Pure-Rust perception and geometry kernels of vsa_stream.
//!
//! This crate knows nothing of Python: `rust/vsa_py` binds it as `vsa_stream._core`. Every
//! kernel takes plain slices (a frame is a borrowed [`image::PlaneView`] with its row stride)
//! and reports bad input through a typed error enum, never a panic.
//!
//! - [`image`]: 8-bit planes and the area downscale.
//! - [`motion`]: background model, foreground mask, blobs, and the [`motion::MotionDetector`]
//!   that combines them.
//! - [`background`]: pyramids, the dual-rate background, tampering and static-object evidence.
//! - [`detect`]: object-detector input tensors, output decoders and NMS.
//! - [`fire`]: flame colour, flicker and growth per cell: the fire score.
//! - [`flow`]: the motion field: grid optical flow (pyramidal Lucas–Kanade) and its statistics.
//! - [`geometry`]: scene geometry: polygons, line crossings, headings, the ground-plane
//!   homography, density grids and dwell timers.
//! - [`track`]: ByteTrack-style multi-object tracking (Kalman, optimal assignment), per class.
//!
//! The functions a frame goes through in the per-frame kernels (image, detector
//! pre-processing, motion, background, fire, flow) are `#[inline(always)]`: the binding runs
//! each kernel inside a function compiled for AVX2 and FMA on a CPU that has them, and only
//! code inlined into it gets those instructions (`rust/vsa_py/src/simd.rs`). The rule is
//! applied to whole modules, constructors and plain getters excepted: a few methods that are not
//! on a frame's path carry it too, at no cost.

#![forbid(unsafe_code)]

pub mod background;
pub mod detect;
pub mod fire;
pub mod flow;
pub mod geometry;
pub mod image;
pub mod motion;
pub mod track;

#[cfg(test)]
pub(crate) mod testutil;
