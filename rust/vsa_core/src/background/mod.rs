//! Dual-rate background subtraction, camera tampering and static-object evidence.
//!
//! - [`pyramid`]: area pyramid (2× per level) and the chroma downscale matching a luma factor.
//! - [`DualBackground`]: fast and slow per-pixel models on the downscaled luma, with
//!   per-pixel noise variance, global illumination compensation, cleaned foreground masks,
//!   blobs of the fast mask, the [`Tamper`] signal and the [`StaticEvidence`] map
//!   (Porikli, Ivanov & Haga, EURASIP JASP 2008: long- vs short-term backgrounds).
//!
//! Everything counts in frames: the caller converts seconds with its frame rate.

mod dual;
mod pyramid;
mod statics;

pub use dual::{DualBackground, DualConfig, Tamper, TamperReason};
pub use pyramid::{downscale_chroma, pyramid};
pub use statics::{StaticCandidate, StaticEvidence};
