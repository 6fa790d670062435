//! Running-average background with selective update and global illumination compensation.

use super::MotionError;
use crate::image::{check_frame_size, try_filled};

/// How much slower a foreground pixel learns than a background pixel.
pub const FOREGROUND_SLOWDOWN: f32 = 10.0;

/// Signed differences are histogrammed over `-255..=255` to find their median.
const HIST_BINS: usize = 511;
const HIST_LEN: usize = 512;

/// A per-pixel running average of a (downscaled) 8-bit plane.
///
/// Each frame, a background pixel moves towards the observed pixel by `alpha` of the gap and a
/// foreground pixel by `alpha / 10` ([`FOREGROUND_SLOWDOWN`]): a person who stops is absorbed
/// into the background after a while (hundreds of frames at the default rate), not at once and
/// not never. Before that, the whole model is shifted by the global illumination offset (the
/// median of `frame - background`), so a slow brightness drift of the whole scene neither
/// produces foreground nor leaves pixels that were foreground during the drift behind.
#[derive(Debug, Clone)]
pub struct BackgroundModel {
    width: usize,
    height: usize,
    alpha: f32,
    background: Vec<f32>,
    initialised: bool,
    histogram: Box<[u32; HIST_LEN]>,
    bins: Vec<u16>,
}

impl BackgroundModel {
    /// An empty model for `width × height` planes; `alpha` must be in `(0, 1]`.
    pub fn new(width: usize, height: usize, alpha: f32) -> Result<Self, MotionError> {
        check_frame_size(width, height)?;
        check_alpha(alpha)?;
        Ok(Self {
            width,
            height,
            alpha,
            background: try_filled(0.0, width * height)?,
            initialised: false,
            histogram: Box::new([0; HIST_LEN]),
            bins: Vec::new(),
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    #[inline(always)]
    pub fn alpha(&self) -> f32 {
        self.alpha
    }

    /// Whether a first frame has been learned.
    #[inline(always)]
    pub fn is_initialised(&self) -> bool {
        self.initialised
    }

    /// The background, row-major, `width * height` values in `0.0..=255.0`.
    #[inline(always)]
    pub fn background(&self) -> &[f32] {
        &self.background
    }

    /// The background rounded to bytes.
    #[inline(always)]
    pub fn background_u8(&self) -> Vec<u8> {
        self.background
            .iter()
            .map(|&v| v.round().clamp(0.0, 255.0) as u8)
            .collect()
    }

    /// Forgets everything; the next frame initialises the model again.
    #[inline(always)]
    pub fn reset(&mut self) {
        self.background.fill(0.0);
        self.initialised = false;
    }

    /// Takes `frame` as the background.
    #[inline(always)]
    pub fn initialise(&mut self, frame: &[u8]) -> Result<(), MotionError> {
        self.check_len(frame.len())?;
        for (b, &p) in self.background.iter_mut().zip(frame) {
            *b = f32::from(p);
        }
        self.initialised = true;
        Ok(())
    }

    /// The global illumination offset: the median of `frame - background`.
    ///
    /// Robust as long as less than half the plane is foreground. Interpolated inside the
    /// 1-grey-level histogram bin, so sub-level drifts are tracked too.
    #[inline(always)]
    pub fn illumination_offset(&mut self, frame: &[u8]) -> Result<f32, MotionError> {
        self.check_len(frame.len())?;
        if !self.initialised {
            return Ok(0.0);
        }
        // Bin k holds differences in [k - 255.5, k - 254.5) (ties to even). The bins are
        // computed in one vectorisable pass, then counted.
        self.bins.resize(frame.len(), 0);
        for ((k, &b), &p) in self.bins.iter_mut().zip(&self.background).zip(frame) {
            *k = round_to_u16((f32::from(p) - b + 255.0).clamp(0.0, (HIST_BINS - 1) as f32));
        }
        let histogram = &mut *self.histogram;
        histogram.fill(0);
        for &k in &self.bins {
            // k <= 510: the mask only lets the compiler drop the bounds check.
            histogram[usize::from(k) & (HIST_LEN - 1)] += 1;
        }
        let half = frame.len() as f32 / 2.0;
        let mut below = 0.0f32;
        for (bin, &count) in self.histogram[..HIST_BINS].iter().enumerate() {
            let count = count as f32;
            if below + count >= half && count > 0.0 {
                let fraction = (half - below) / count;
                return Ok(bin as f32 - 255.5 + fraction);
            }
            below += count;
        }
        Ok(0.0)
    }

    /// Writes the foreground mask (255 foreground, 0 background) of `frame`:
    /// `|frame - background - offset| > threshold`. All background before initialisation.
    #[inline(always)]
    pub fn classify(
        &self,
        frame: &[u8],
        offset: f32,
        threshold: f32,
        mask: &mut [u8],
    ) -> Result<(), MotionError> {
        self.check_len(frame.len())?;
        self.check_len(mask.len())?;
        if !self.initialised {
            mask.fill(0);
            return Ok(());
        }
        for ((m, &b), &p) in mask.iter_mut().zip(&self.background).zip(frame) {
            let d = f32::from(p) - b - offset;
            *m = if d.abs() > threshold { 255 } else { 0 };
        }
        Ok(())
    }

    /// Learns `frame`: shifts the model by `offset`, then moves each pixel towards the frame by
    /// `rate` where `mask` is 0 and by `rate / 10` where it is not. Initialises the model when
    /// it is empty.
    #[inline(always)]
    pub fn update(
        &mut self,
        frame: &[u8],
        mask: &[u8],
        offset: f32,
        rate: f32,
    ) -> Result<(), MotionError> {
        self.check_len(mask.len())?;
        if !self.initialised {
            return self.initialise(frame);
        }
        self.check_len(frame.len())?;
        check_alpha(rate)?;
        let slow = rate / FOREGROUND_SLOWDOWN;
        for ((b, &p), &m) in self.background.iter_mut().zip(frame).zip(mask) {
            let shifted = *b + offset;
            let r = if m == 0 { rate } else { slow };
            *b = (shifted + r * (f32::from(p) - shifted)).clamp(0.0, 255.0);
        }
        Ok(())
    }

    #[inline(always)]
    fn check_len(&self, len: usize) -> Result<(), MotionError> {
        if len == self.width * self.height {
            Ok(())
        } else {
            Err(MotionError::BufferLength {
                len,
                expected: self.width * self.height,
            })
        }
    }
}

/// `v` rounded to the nearest integer (ties to even), for `v` in `0.0..=65535.0`.
///
/// Adding 1.5 × 2²³ leaves the integer in the low mantissa bits; unlike `as`, which must
/// saturate and so does not vectorise on baseline x86-64, this is a plain add and mask.
#[inline(always)]
fn round_to_u16(v: f32) -> u16 {
    const MAGIC: f32 = 12_582_912.0;
    ((v + MAGIC).to_bits() & 0xFFFF) as u16
}

#[inline(always)]
fn check_alpha(alpha: f32) -> Result<(), MotionError> {
    if alpha.is_finite() && alpha > 0.0 && alpha <= 1.0 {
        Ok(())
    } else {
        Err(MotionError::invalid(
            "alpha",
            format!("must be in (0, 1], got {alpha}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_frame_initialises_then_learns_at_alpha() {
        let mut model = BackgroundModel::new(4, 2, 0.5).unwrap();
        assert!(!model.is_initialised());
        model.update(&[100; 8], &[0; 8], 0.0, 0.5).unwrap();
        assert!(model.is_initialised());
        assert!(model.background().iter().all(|&v| v == 100.0));
        model.update(&[120; 8], &[0; 8], 0.0, 0.5).unwrap();
        assert!(model.background().iter().all(|&v| v == 110.0));
        for _ in 0..30 {
            model.update(&[120; 8], &[0; 8], 0.0, 0.5).unwrap();
        }
        assert_eq!(model.background_u8(), vec![120; 8]);
    }

    #[test]
    fn foreground_pixels_learn_ten_times_slower() {
        let mut model = BackgroundModel::new(2, 1, 0.1).unwrap();
        model.initialise(&[0, 0]).unwrap();
        model.update(&[100, 100], &[0, 255], 0.0, 0.1).unwrap();
        let bg = model.background();
        assert!((bg[0] - 10.0).abs() < 1e-4);
        assert!((bg[1] - 1.0).abs() < 1e-4);
    }

    #[test]
    fn offset_is_the_median_difference() {
        let mut model = BackgroundModel::new(10, 1, 0.05).unwrap();
        model.initialise(&[50; 10]).unwrap();
        // Seven pixels 10 brighter, three very different: the median ignores the three.
        let frame = [60, 60, 60, 60, 60, 60, 60, 200, 0, 255];
        let offset = model.illumination_offset(&frame).unwrap();
        assert!((offset - 10.0).abs() <= 0.5, "{offset}");
        let mut mask = [0u8; 10];
        model.classify(&frame, offset, 20.0, &mut mask).unwrap();
        assert_eq!(mask, [0, 0, 0, 0, 0, 0, 0, 255, 255, 255]);
    }

    #[test]
    fn rejects_bad_sizes_and_rates() {
        assert!(BackgroundModel::new(0, 3, 0.1).is_err());
        for alpha in [0.0, -0.1, 1.5, f32::NAN, f32::INFINITY] {
            assert!(BackgroundModel::new(3, 3, alpha).is_err());
        }
        let mut model = BackgroundModel::new(3, 3, 0.1).unwrap();
        assert!(model.initialise(&[0; 8]).is_err());
        assert!(model.update(&[0; 9], &[0; 10], 0.0, 0.1).is_err());
        assert!(model.classify(&[0; 9], 0.0, 1.0, &mut [0; 4]).is_err());
    }
}
