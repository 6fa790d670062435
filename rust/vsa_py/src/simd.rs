//! The instruction set the kernels run with: AVX2 and FMA where the CPU has them, chosen at run
//! time, so one build runs on every x86-64 CPU and uses 256-bit vectors on those that have them.
//!
//! Every kernel call goes through [`run`] (from `run_detached`): on a CPU with AVX2 and FMA it
//! enters a copy of the kernel compiled for them, otherwise the baseline copy (SSE2 on x86-64,
//! the build's own target elsewhere). The AVX2 copy is whatever the compiler inlines into
//! [`avx2`]: the kernel closures of this crate are `#[inline(always)]`, and so is every function
//! a kernel of `vsa_core` calls on its way through a frame (a function left out would run its
//! baseline code, correct but slower). Both copies compute the same results, bit for bit: the
//! compiler only does element-wise work more widely, it keeps every floating-point reduction
//! in its order, and Rust never fuses a multiplication and an addition into one FMA by itself.
//! `VSA_STREAM_SIMD=baseline` in the environment, or `simd("baseline")` from Python, keeps to
//! the baseline copy (to rule the AVX2 one out, or to compare the two).

use std::sync::atomic::{AtomicU8, Ordering};

use pyo3::prelude::*;

use crate::errors::{Error, Result};

const UNSET: u8 = 0;
const WIDE: u8 = 1;
const BASELINE: u8 = 2;

static LEVEL: AtomicU8 = AtomicU8::new(UNSET);

#[cfg(target_arch = "x86_64")]
fn cpu_is_wide() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

#[cfg(not(target_arch = "x86_64"))]
fn cpu_is_wide() -> bool {
    false
}

fn level_of(wide: bool) -> u8 {
    if wide {
        WIDE
    } else {
        BASELINE
    }
}

/// Whether the kernels run their AVX2 copy (decided at the first kernel call, unless set).
fn wide() -> bool {
    let level = match LEVEL.load(Ordering::Relaxed) {
        UNSET => {
            let forced = std::env::var("VSA_STREAM_SIMD").is_ok_and(|v| v == "baseline");
            let level = level_of(!forced && cpu_is_wide());
            LEVEL.store(level, Ordering::Relaxed);
            level
        }
        level => level,
    };
    level == WIDE
}

/// Runs `kernel` in its AVX2 copy when the CPU has AVX2 and FMA, in its baseline copy
/// otherwise.
#[inline(always)]
pub(crate) fn run<T>(kernel: impl FnOnce() -> T) -> T {
    #[cfg(target_arch = "x86_64")]
    if wide() {
        // SAFETY: `wide` is true only on a CPU with AVX2 and FMA.
        return unsafe { avx2(kernel) };
    }
    kernel()
}

/// `kernel`, and everything inlined into it, compiled with AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<T>(kernel: impl FnOnce() -> T) -> T {
    kernel()
}

/// The instruction set the kernels use: `"avx2"` or `"baseline"`; `level` first sets it for the
/// whole process: `"baseline"`, or `"auto"` (AVX2 when the CPU has it).
#[pyfunction]
#[pyo3(signature = (level = None))]
pub(crate) fn simd(level: Option<&str>) -> Result<&'static str> {
    match level {
        None => {}
        Some("auto") => LEVEL.store(level_of(cpu_is_wide()), Ordering::Relaxed),
        Some("baseline") => LEVEL.store(BASELINE, Ordering::Relaxed),
        Some(other) => {
            return Err(Error::parameter(
                "level",
                format!("level must be 'auto' or 'baseline', got {other:?}"),
            ))
        }
    }
    Ok(if wide() { "avx2" } else { "baseline" })
}
