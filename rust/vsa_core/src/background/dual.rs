//! Fast and slow per-pixel background models with noise variance and the tampering signal.

use super::statics::StaticEvidence;
use crate::image::{check_frame_size, downscale_area_into, downscaled_size, try_filled, PlaneView};
use crate::motion::{close_open, Blob, Labeller, MotionError};

const HIST_LEN: usize = 512;

/// Parameters of a [`DualBackground`]. Rates and durations are per frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DualConfig {
    /// Luma downscale factor (area average) before modelling.
    pub factor: usize,
    /// Learning rate of the fast (short-term) model, in `(0, 1]`; learns every pixel.
    pub fast_alpha: f32,
    /// Learning rate of the slow (long-term) model, in `(0, 1]`; ten times slower under
    /// foreground.
    pub slow_alpha: f32,
    /// Smallest grey-level difference that is foreground (the per-pixel threshold is
    /// `max(threshold, noise_k * sigma)` with `sigma` the pixel's running noise deviation).
    pub threshold: f32,
    /// Multiple of the per-pixel noise deviation that is foreground.
    pub noise_k: f32,
    /// Smallest blob (and static candidate) reported, in full-resolution pixels.
    pub min_area: usize,
    /// Frames that only build the models.
    pub warmup_frames: u64,
    /// Frames of evidence that make a static-object candidate.
    pub static_frames: u16,
    /// Evidence lost per frame by a pixel that is no longer static.
    pub static_decay: u16,
    /// Frames a tampering condition must persist before the flag is raised.
    pub tamper_frames: u32,
}

impl Default for DualConfig {
    /// Tuned for 10 fps: the fast model absorbs a stopped object in about 1.5 s, the slow one
    /// (under foreground) in minutes; a candidate after 5 s of evidence; tampering after 1 s.
    fn default() -> Self {
        Self {
            factor: 4,
            fast_alpha: 0.1,
            slow_alpha: 0.005,
            threshold: 15.0,
            noise_k: 3.0,
            min_area: 100,
            warmup_frames: 10,
            static_frames: 50,
            static_decay: 2,
            tamper_frames: 10,
        }
    }
}

impl DualConfig {
    /// Checks every parameter's range.
    pub fn validate(&self) -> Result<(), MotionError> {
        if self.factor == 0 {
            return Err(MotionError::invalid("factor", "must be at least 1"));
        }
        for (name, a) in [
            ("fast_alpha", self.fast_alpha),
            ("slow_alpha", self.slow_alpha),
        ] {
            if !(a.is_finite() && a > 0.0 && a <= 1.0) {
                return Err(MotionError::invalid(
                    name,
                    format!("must be in (0, 1], got {a}"),
                ));
            }
        }
        for (name, v) in [("threshold", self.threshold), ("noise_k", self.noise_k)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(MotionError::invalid(
                    name,
                    format!("must be finite and >= 0, got {v}"),
                ));
            }
        }
        if self.static_frames == 0 {
            return Err(MotionError::invalid("static_frames", "must be at least 1"));
        }
        Ok(())
    }
}

/// Why the camera view is considered tampered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TamperReason {
    /// Near-uniform frame: the spatial deviation fell below 30% of its usual value.
    Covered,
    /// Edge energy fell below 45% of its usual value.
    Defocused,
    /// At least half the frame is foreground for the slow model (after illumination
    /// compensation).
    Moved,
}

impl TamperReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Covered => "covered",
            Self::Defocused => "defocused",
            Self::Moved => "moved",
        }
    }
}

/// The tampering signal of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Tamper {
    /// Strongest per-frame indicator in `[0, 1]`: the loss of spatial deviation, the loss of
    /// edge energy, or the slow-foreground fraction.
    pub score: f32,
    /// This frame's condition, if any (raised or not yet).
    pub reason: Option<TamperReason>,
    /// Consecutive frames the condition has held.
    pub run: u32,
    /// Raised: the condition has held for `tamper_frames` frames.
    pub flag: bool,
}

/// Dual-rate background subtraction for one camera's luma plane.
///
/// Per frame: area downscale by `factor`; the global illumination offset (median of
/// `frame - fast`) shifts both models, so a global brightness jump or drift is not
/// foreground; a pixel is foreground for a model when `|frame - model - offset|` exceeds
/// `max(threshold, noise_k * sigma)`, `sigma` being its running noise deviation (learned on
/// background pixels); both masks are cleaned (3×3 closing then opening); the fast mask gives
/// the blobs. The slow-but-not-fast pixels feed the [`StaticEvidence`]; frame statistics
/// feed the [`Tamper`] signal.
#[derive(Debug, Clone)]
pub struct DualBackground {
    width: usize,
    height: usize,
    config: DualConfig,
    sw: usize,
    sh: usize,
    small: Vec<u8>,
    prev: Vec<u8>,
    fast: Vec<f32>,
    slow: Vec<f32>,
    var: Vec<f32>,
    fast_mask: Vec<u8>,
    slow_mask: Vec<u8>,
    moving: Vec<u8>,
    scratch: Vec<u8>,
    /// Histogram bin of each pixel of the last frame (scratch of the median offset).
    bins: Vec<u16>,
    histogram: Box<[u32; HIST_LEN]>,
    labeller: Labeller,
    statics: StaticEvidence,
    frames: u64,
    offset: f32,
    ref_std: f32,
    ref_edge: f32,
    tamper: Tamper,
}

impl DualBackground {
    /// A model for `width × height` luma planes.
    pub fn new(width: usize, height: usize, config: DualConfig) -> Result<Self, MotionError> {
        config.validate()?;
        check_frame_size(width, height)?;
        let (sw, sh) = downscaled_size(width, height, config.factor)?;
        let n = sw * sh;
        let min_small = config.min_area.div_ceil(config.factor * config.factor);
        Ok(Self {
            width,
            height,
            config,
            sw,
            sh,
            small: try_filled(0, n)?,
            prev: try_filled(0, n)?,
            fast: try_filled(0.0, n)?,
            slow: try_filled(0.0, n)?,
            var: try_filled(0.0, n)?,
            fast_mask: try_filled(0, n)?,
            slow_mask: try_filled(0, n)?,
            moving: try_filled(0, n)?,
            scratch: try_filled(0, n)?,
            bins: try_filled(0, n)?,
            histogram: Box::new([0; HIST_LEN]),
            labeller: Labeller::new(),
            statics: StaticEvidence::new(
                sw,
                sh,
                config.factor,
                config.static_frames,
                config.static_decay,
                min_small,
            ),
            frames: 0,
            offset: 0.0,
            ref_std: 0.0,
            ref_edge: 0.0,
            tamper: Tamper::default(),
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }
    pub fn height(&self) -> usize {
        self.height
    }
    pub fn config(&self) -> &DualConfig {
        &self.config
    }
    /// `(width, height)` of the downscaled plane, the masks and the evidence map.
    pub fn small_size(&self) -> (usize, usize) {
        (self.sw, self.sh)
    }
    /// Frames processed since creation or the last reset.
    pub fn frames(&self) -> u64 {
        self.frames
    }
    /// Cleaned foreground mask of the fast model (0/255), last frame.
    #[inline(always)]
    pub fn fast_mask(&self) -> &[u8] {
        &self.fast_mask
    }
    /// Cleaned foreground mask of the slow model (0/255), last frame.
    #[inline(always)]
    pub fn slow_mask(&self) -> &[u8] {
        &self.slow_mask
    }
    #[inline(always)]
    pub fn fast_background(&self) -> &[f32] {
        &self.fast
    }
    #[inline(always)]
    pub fn slow_background(&self) -> &[f32] {
        &self.slow
    }
    /// The global illumination offset removed from the last frame, in grey levels.
    #[inline(always)]
    pub fn illumination_offset(&self) -> f32 {
        self.offset
    }
    #[inline(always)]
    pub fn tamper(&self) -> Tamper {
        self.tamper
    }
    #[inline(always)]
    pub fn statics(&self) -> &StaticEvidence {
        &self.statics
    }

    /// Forgets everything but the configuration.
    #[inline(always)]
    pub fn reset(&mut self) {
        self.frames = 0;
        self.fast_mask.fill(0);
        self.slow_mask.fill(0);
        self.statics.reset();
        self.tamper = Tamper::default();
        self.offset = 0.0;
    }

    /// Processes one luma plane; returns the blobs of the fast mask in full-resolution pixels
    /// (none during the warm-up). A plane of the wrong size leaves the model unchanged.
    #[inline(always)]
    pub fn update(&mut self, plane: &PlaneView<'_>) -> Result<Vec<Blob>, MotionError> {
        if (plane.width(), plane.height()) != (self.width, self.height) {
            return Err(MotionError::SizeMismatch {
                expected: (self.width, self.height),
                got: (plane.width(), plane.height()),
            });
        }
        downscale_area_into(plane, self.config.factor, &mut self.small)?;
        self.frames += 1;
        let (std, edge) = frame_stats(&self.small, self.sw, self.sh);
        if self.frames == 1 {
            for ((f, s), &p) in self.fast.iter_mut().zip(&mut self.slow).zip(&self.small) {
                *f = f32::from(p);
                *s = f32::from(p);
            }
            self.var.fill(4.0);
            // the next frame overwrites `small` whole: a swap, not a copy
            std::mem::swap(&mut self.prev, &mut self.small);
            (self.ref_std, self.ref_edge) = (std, edge);
            return Ok(Vec::new());
        }
        let offset = self.median_offset();
        self.offset = offset;
        self.classify(offset);
        close_open(&mut self.fast_mask, self.sw, self.sh, &mut self.scratch);
        close_open(&mut self.slow_mask, self.sw, self.sh, &mut self.scratch);
        let warming = self.frames <= self.config.warmup_frames;
        self.learn(offset, warming);
        // this frame is `prev` from here on (the next one overwrites `small` whole)
        std::mem::swap(&mut self.prev, &mut self.small);
        if warming {
            let r = 1.0 / self.frames as f32;
            self.ref_std += r * (std - self.ref_std);
            self.ref_edge += r * (edge - self.ref_edge);
            return Ok(Vec::new());
        }
        self.update_tamper(std, edge);
        self.statics
            .update(&self.slow_mask, &self.fast_mask, &self.moving, self.frames);
        self.statics.measure_presence(&self.prev, &self.slow);
        let f = self.config.factor;
        let min_small = self.config.min_area.div_ceil(f * f);
        let blobs = self
            .labeller
            .find(&self.fast_mask, self.sw, self.sh, min_small);
        Ok(blobs.into_iter().map(|b| b.scaled(f)).collect())
    }

    /// Median of `small - fast`, interpolated inside its 1-grey-level bin.
    #[inline(always)]
    fn median_offset(&mut self) -> f32 {
        // Each pixel's bin in a pass the compiler vectorises, then the counts (a scatter).
        for ((k, &p), &b) in self.bins.iter_mut().zip(&self.small).zip(&self.fast) {
            *k = offset_bin(f32::from(p) - b + 255.5);
        }
        let h = &mut *self.histogram;
        h.fill(0);
        for &k in &self.bins {
            h[usize::from(k) & (HIST_LEN - 1)] += 1;
        }
        let half = self.small.len() as f32 / 2.0;
        let mut below = 0.0f32;
        for (bin, &count) in h.iter().enumerate() {
            let c = count as f32;
            if c > 0.0 && below + c >= half {
                return bin as f32 - 255.5 + (half - below) / c;
            }
            below += c;
        }
        0.0
    }

    #[inline(always)]
    fn classify(&mut self, offset: f32) {
        let t2 = self.config.threshold * self.config.threshold;
        let k2 = self.config.noise_k * self.config.noise_k;
        let thr = self.config.threshold;
        // Every slice cut to the same length: no bounds check in the loop, which vectorises.
        let n = self.small.len();
        let (small, var, fast, slow, prev) = (
            &self.small[..n],
            &self.var[..n],
            &self.fast[..n],
            &self.slow[..n],
            &self.prev[..n],
        );
        let (fast_mask, slow_mask, moving) = (
            &mut self.fast_mask[..n],
            &mut self.slow_mask[..n],
            &mut self.moving[..n],
        );
        for i in 0..n {
            let p = f32::from(small[i]) - offset;
            let tt = t2.max(k2 * var[i]);
            let df = p - fast[i];
            let ds = p - slow[i];
            fast_mask[i] = if df * df > tt { 255 } else { 0 };
            slow_mask[i] = if ds * ds > tt { 255 } else { 0 };
            let dm = p - f32::from(prev[i]);
            moving[i] = if dm.abs() > thr { 255 } else { 0 };
        }
    }

    #[inline(always)]
    fn learn(&mut self, offset: f32, warming: bool) {
        let c = &self.config;
        let warm_rate = 1.0 / self.frames as f32;
        let fa = if warming {
            c.fast_alpha.max(warm_rate)
        } else {
            c.fast_alpha
        };
        let sa = if warming {
            c.slow_alpha.max(warm_rate)
        } else {
            c.slow_alpha
        };
        let sa_fg = if warming { sa } else { sa / 10.0 };
        // Same-length slices and selects instead of branches: the loop vectorises.
        let n = self.small.len();
        let (small, fast_mask, slow_mask) =
            (&self.small[..n], &self.fast_mask[..n], &self.slow_mask[..n]);
        let (var, fast, slow) = (&mut self.var[..n], &mut self.fast[..n], &mut self.slow[..n]);
        for i in 0..n {
            let p = f32::from(small[i]);
            let f = fast[i] + offset;
            let d = p - f;
            let learned = (var[i] + fa * (d * d - var[i])).clamp(1.0, 400.0);
            var[i] = if warming || fast_mask[i] == 0 {
                learned
            } else {
                var[i]
            };
            fast[i] = f + fa * d;
            let s = slow[i] + offset;
            let rate = if slow_mask[i] == 0 { sa } else { sa_fg };
            slow[i] = s + rate * (p - s);
        }
    }

    #[inline(always)]
    fn update_tamper(&mut self, std: f32, edge: f32) {
        let n = self.slow_mask.len() as f32;
        let fraction = self.slow_mask.iter().filter(|&&m| m != 0).count() as f32 / n;
        let cover = (1.0 - std / self.ref_std.max(1e-3)).clamp(0.0, 1.0);
        let blur = (1.0 - edge / self.ref_edge.max(1e-3)).clamp(0.0, 1.0);
        let reason = if cover >= 0.7 && std < 12.0 {
            Some(TamperReason::Covered)
        } else if blur >= 0.55 {
            Some(TamperReason::Defocused)
        } else if fraction >= 0.5 {
            Some(TamperReason::Moved)
        } else {
            None
        };
        let run = if reason.is_some() {
            self.tamper.run.saturating_add(1)
        } else {
            // Usual values follow slow changes of the scene while nothing is wrong.
            self.ref_std += 0.02 * (std - self.ref_std);
            self.ref_edge += 0.02 * (edge - self.ref_edge);
            0
        };
        self.tamper = Tamper {
            score: cover.max(blur).max(fraction),
            reason,
            run,
            flag: run >= self.config.tamper_frames.max(1),
        };
    }
}

/// Spatial standard deviation and mean absolute gradient (`|dx| + |dy|`) of a plane.
/// The histogram bin of `v`: its floor clamped to `0..=510` (NaN: 0). Clamped in floats
/// first, with `max`/`min` (which drop a NaN), the cast cannot saturate and so vectorises; the
/// same as truncating then clamping in integers.
#[inline(always)]
#[allow(clippy::manual_clamp)] // `clamp` keeps a NaN, which the cast would then have to saturate
fn offset_bin(v: f32) -> u16 {
    v.max(0.0).min(510.0) as u16
}

#[inline(always)]
fn frame_stats(p: &[u8], w: usize, h: usize) -> (f32, f32) {
    let n = p.len() as f64;
    // Sums per row in u32 (a row is at most MAX_SIDE = 2^14 samples: 2^14 · 255² < 2^32),
    // which vectorise, then in u64: the same integers as summing in u64 throughout.
    let (mut s, mut s2) = (0u64, 0u64);
    for row in p.chunks_exact(w.max(1)) {
        let (mut rs, mut rs2) = (0u32, 0u32);
        for &v in row {
            rs += u32::from(v);
            rs2 += u32::from(v) * u32::from(v);
        }
        s += u64::from(rs);
        s2 += u64::from(rs2);
    }
    let mean = s as f64 / n;
    let std = (s2 as f64 / n - mean * mean).max(0.0).sqrt();
    let mut g = 0u64;
    for y in 0..h {
        let row = &p[y * w..(y + 1) * w];
        let mut rg = 0u32;
        for (a, b) in row[1..].iter().zip(&row[..w - 1]) {
            rg += u32::from(a.abs_diff(*b));
        }
        if y > 0 {
            let up = &p[(y - 1) * w..y * w];
            for (a, b) in row.iter().zip(up) {
                rg += u32::from(a.abs_diff(*b));
            }
        }
        g += u64::from(rg);
    }
    (std as f32, (g as f64 / n) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{noisy_frame, textured_scene, Rng};

    const W: usize = 320;
    const H: usize = 240;

    fn run(model: &mut DualBackground, frame: &[u8]) -> Vec<Blob> {
        model
            .update(&PlaneView::packed(frame, W, H).unwrap())
            .unwrap()
    }

    #[test]
    fn illumination_jump_is_not_foreground_and_box_is() {
        let scene = textured_scene(W, H);
        let mut rng = Rng::new(3);
        let mut m = DualBackground::new(W, H, DualConfig::default()).unwrap();
        for _ in 0..30 {
            assert!(run(&mut m, &noisy_frame(&scene, 0.0, 3.0, &mut rng)).is_empty());
        }
        for _ in 0..5 {
            let blobs = run(&mut m, &noisy_frame(&scene, 40.0, 3.0, &mut rng));
            assert!(blobs.is_empty(), "{blobs:?}");
            assert!(!m.tamper().flag);
        }
        let mut frame = noisy_frame(&scene, 40.0, 3.0, &mut rng);
        for y in 100..160 {
            for p in &mut frame[y * W + 80..y * W + 120] {
                *p = p.saturating_sub(60);
            }
        }
        let blobs = run(&mut m, &frame);
        assert_eq!(blobs.len(), 1, "{blobs:?}");
        assert!(blobs[0].fill() > 0.8);
        assert!(blobs[0].x0.abs_diff(80) <= 4 && blobs[0].y1.abs_diff(160) <= 4);
    }

    #[test]
    fn covered_lens_raises_tamper_after_persisting() {
        let scene = textured_scene(W, H);
        let mut rng = Rng::new(4);
        let mut m = DualBackground::new(W, H, DualConfig::default()).unwrap();
        for _ in 0..30 {
            run(&mut m, &noisy_frame(&scene, 0.0, 3.0, &mut rng));
        }
        let dark: Vec<u8> = (0..W * H).map(|i| 10 + (i % 3) as u8).collect();
        for k in 1..=12u32 {
            run(&mut m, &dark);
            let t = m.tamper();
            assert_eq!(t.reason, Some(TamperReason::Covered));
            assert_eq!(t.flag, k >= 10, "{k}: {t:?}");
        }
    }

    /// `scene` with a dark 24×20 block at (150, 170).
    fn with_block(scene: &[f64]) -> Vec<f64> {
        let mut f = scene.to_vec();
        for y in 170..190 {
            for p in &mut f[y * W + 150..y * W + 174] {
                *p = 40.0;
            }
        }
        f
    }

    /// Candidates after `before` (warm-up) then 120 frames of `after`.
    fn candidates_after(before: &[f64], after: &[f64]) -> Vec<crate::background::StaticCandidate> {
        let mut rng = Rng::new(5);
        let config = DualConfig {
            static_frames: 30,
            ..DualConfig::default()
        };
        let mut m = DualBackground::new(W, H, config).unwrap();
        for _ in 0..40 {
            run(&mut m, &noisy_frame(before, 0.0, 2.0, &mut rng));
        }
        for _ in 0..120 {
            run(&mut m, &noisy_frame(after, 0.0, 2.0, &mut rng));
        }
        m.statics().candidates().to_vec()
    }

    #[test]
    fn an_object_put_down_is_present_and_one_that_left_is_a_ghost() {
        let scene = textured_scene(W, H);
        let block = with_block(&scene);
        let put = candidates_after(&scene, &block);
        assert_eq!(put.len(), 1, "{put:?}");
        assert!(put[0].presence > 0.6 && !put[0].is_ghost(), "{put:?}");
        let left = candidates_after(&block, &scene);
        assert_eq!(left.len(), 1, "{left:?}");
        assert!(left[0].presence < 0.4 && left[0].is_ghost(), "{left:?}");
    }

    #[test]
    fn offset_bin_is_the_clamped_floor() {
        let specials = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -0.0,
            0.0,
            -0.999,
            -1.0,
            509.999,
            510.0,
            510.5,
            511.0,
            1e30,
            -1e30,
        ];
        let sweep = (-4000..4000).map(|i| i as f32 * 0.173);
        for v in specials.into_iter().chain(sweep) {
            assert_eq!(offset_bin(v), (v as i32).clamp(0, 510) as u16, "{v}");
        }
    }

    #[test]
    fn rejects_bad_config_and_size() {
        let bad = DualConfig {
            fast_alpha: 0.0,
            ..DualConfig::default()
        };
        assert!(DualBackground::new(W, H, bad).is_err());
        let mut m = DualBackground::new(W, H, DualConfig::default()).unwrap();
        let frame = vec![0u8; 16];
        assert!(m.update(&PlaneView::packed(&frame, 4, 4).unwrap()).is_err());
        assert_eq!(m.frames(), 0);
    }
}
