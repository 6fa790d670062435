//! The per-camera motion detector.

use super::{close_open, BackgroundModel, Blob, Labeller, MotionError};
use crate::image::{check_frame_size, downscale_area_into, downscaled_size, try_filled, PlaneView};

/// Parameters of a [`MotionDetector`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MotionConfig {
    /// Downscale factor (box average); 4 turns 1280×720 into 320×180.
    pub factor: usize,
    /// Background learning rate per frame, in `(0, 1]`.
    pub alpha: f32,
    /// Grey-level difference (after illumination compensation) above which a downscaled pixel
    /// is foreground.
    pub threshold: f32,
    /// Smallest blob reported, in full-resolution pixels.
    pub min_area: usize,
    /// Frames during which the background settles and no blob is reported.
    pub warmup_frames: u64,
}

impl Default for MotionConfig {
    /// Tuned for 720p–1080p luma at 25 fps: a person (about 40×110 px at 1280×720) 30 grey
    /// levels off the background is one blob; sensor noise up to σ≈4 and slow drifts are not.
    fn default() -> Self {
        Self {
            factor: 4,
            alpha: 0.05,
            threshold: 20.0,
            min_area: 400,
            warmup_frames: 5,
        }
    }
}

impl MotionConfig {
    /// Checks every parameter's range.
    pub fn validate(&self) -> Result<(), MotionError> {
        if self.factor == 0 {
            return Err(MotionError::invalid("factor", "must be at least 1"));
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0 && self.alpha <= 1.0) {
            return Err(MotionError::invalid(
                "alpha",
                format!("must be in (0, 1], got {}", self.alpha),
            ));
        }
        if !(self.threshold.is_finite() && self.threshold >= 0.0) {
            return Err(MotionError::invalid(
                "threshold",
                format!("must be finite and >= 0, got {}", self.threshold),
            ));
        }
        Ok(())
    }
}

/// Downscale, background subtraction, mask clean-up and blobs for one camera.
///
/// The first frame initialises the background. During the first
/// [`warmup_frames`](MotionConfig::warmup_frames) frames the background is the plain average of
/// the frames seen (or follows them at `alpha`, whichever is faster) and no blob is reported;
/// afterwards the update is selective (see [`BackgroundModel`]).
#[derive(Debug, Clone)]
pub struct MotionDetector {
    width: usize,
    height: usize,
    config: MotionConfig,
    small_width: usize,
    small_height: usize,
    small: Vec<u8>,
    mask: Vec<u8>,
    scratch: Vec<u8>,
    model: BackgroundModel,
    labeller: Labeller,
    frames: u64,
}

impl MotionDetector {
    /// A detector for `width × height` luma planes.
    pub fn new(width: usize, height: usize, config: MotionConfig) -> Result<Self, MotionError> {
        config.validate()?;
        check_frame_size(width, height)?;
        let (small_width, small_height) = downscaled_size(width, height, config.factor)?;
        let n = small_width * small_height;
        Ok(Self {
            width,
            height,
            config,
            small_width,
            small_height,
            small: try_filled(0, n)?,
            mask: try_filled(0, n)?,
            scratch: try_filled(0, n)?,
            model: BackgroundModel::new(small_width, small_height, config.alpha)?,
            labeller: Labeller::new(),
            frames: 0,
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn config(&self) -> &MotionConfig {
        &self.config
    }

    /// Size of the downscaled plane, the mask and the background: `(width, height)`.
    pub fn small_size(&self) -> (usize, usize) {
        (self.small_width, self.small_height)
    }

    /// Frames processed since creation or the last [`reset`](Self::reset).
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// The cleaned foreground mask of the last frame (0 or 255, downscaled size, row-major).
    #[inline(always)]
    pub fn mask(&self) -> &[u8] {
        &self.mask
    }

    /// The background model (downscaled size).
    #[inline(always)]
    pub fn background(&self) -> &BackgroundModel {
        &self.model
    }

    /// Forgets the background and the frame count; keeps the configuration.
    #[inline(always)]
    pub fn reset(&mut self) {
        self.model.reset();
        self.mask.fill(0);
        self.frames = 0;
    }

    /// Processes one luma plane and returns its moving blobs in full-resolution pixels, in the
    /// scan order of their first pixel (see [`Labeller::find`]). A frame of the wrong size is
    /// rejected and leaves the detector unchanged.
    #[inline(always)]
    pub fn process(&mut self, plane: &PlaneView<'_>) -> Result<Vec<Blob>, MotionError> {
        if (plane.width(), plane.height()) != (self.width, self.height) {
            return Err(MotionError::SizeMismatch {
                expected: (self.width, self.height),
                got: (plane.width(), plane.height()),
            });
        }
        let factor = self.config.factor;
        downscale_area_into(plane, factor, &mut self.small)?;
        self.frames += 1;

        let offset = self.model.illumination_offset(&self.small)?;
        self.model
            .classify(&self.small, offset, self.config.threshold, &mut self.mask)?;
        close_open(
            &mut self.mask,
            self.small_width,
            self.small_height,
            &mut self.scratch,
        );

        let warming_up = self.frames <= self.config.warmup_frames;
        if warming_up {
            // Cumulative mean of the warm-up frames, learned everywhere.
            let rate = self.config.alpha.max(1.0 / self.frames as f32);
            self.scratch.fill(0);
            self.model
                .update(&self.small, &self.scratch, offset, rate)?;
        } else {
            self.model
                .update(&self.small, &self.mask, offset, self.config.alpha)?;
        }
        if warming_up || self.frames == 1 {
            return Ok(Vec::new());
        }

        let min_small_area = self.config.min_area.div_ceil(factor * factor);
        let blobs = self.labeller.find(
            &self.mask,
            self.small_width,
            self.small_height,
            min_small_area,
        );
        Ok(blobs.into_iter().map(|b| b.scaled(factor)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::downscale_area;
    use crate::testutil::{noisy_frame, textured_scene, Rng};

    const W: usize = 320;
    const H: usize = 240;

    fn with_box(frame: &mut [u8], x0: usize, y0: usize, bw: usize, bh: usize, delta: i16) {
        for y in y0..y0 + bh {
            for p in &mut frame[y * W + x0..y * W + x0 + bw] {
                *p = (i16::from(*p) + delta).clamp(0, 255) as u8;
            }
        }
    }

    fn process(det: &mut MotionDetector, frame: &[u8]) -> Vec<Blob> {
        det.process(&PlaneView::packed(frame, W, H).unwrap())
            .unwrap()
    }

    #[test]
    fn moving_square_is_one_blob_with_its_box() {
        let scene = textured_scene(W, H);
        let mut rng = Rng::new(1);
        let mut det = MotionDetector::new(W, H, MotionConfig::default()).unwrap();
        for _ in 0..10 {
            assert!(process(&mut det, &noisy_frame(&scene, 0.0, 3.0, &mut rng)).is_empty());
        }
        for step in 0..30 {
            let (x0, y0) = (21 + 5 * step, 50 + 2 * step);
            let mut frame = noisy_frame(&scene, 0.0, 3.0, &mut rng);
            with_box(&mut frame, x0, y0, 40, 60, 50);
            let blobs = process(&mut det, &frame);
            assert_eq!(blobs.len(), 1, "step {step}: {blobs:?}");
            let b = blobs[0];
            for (got, want) in [(b.x0, x0), (b.y0, y0), (b.x1, x0 + 40), (b.y1, y0 + 60)] {
                assert!(
                    got.abs_diff(want) <= 4,
                    "step {step}: {b:?} vs ({x0}, {y0})"
                );
            }
            assert!((b.cx - (x0 as f64 + 20.0)).abs() <= 3.0, "{b:?}");
            assert!((b.cy - (y0 as f64 + 30.0)).abs() <= 3.0, "{b:?}");
            assert!(b.area.abs_diff(40 * 60) <= 500, "{b:?}");
        }
        assert_eq!(det.frames(), 40);
        assert_eq!(det.mask().len(), 80 * 60);
    }

    #[test]
    fn dark_object_is_found_too() {
        let scene = textured_scene(W, H);
        let mut rng = Rng::new(2);
        let mut det = MotionDetector::new(W, H, MotionConfig::default()).unwrap();
        for _ in 0..6 {
            process(&mut det, &noisy_frame(&scene, 0.0, 3.0, &mut rng));
        }
        let mut frame = noisy_frame(&scene, 0.0, 3.0, &mut rng);
        with_box(&mut frame, 200, 100, 40, 110, -35);
        let blobs = process(&mut det, &frame);
        assert_eq!(blobs.len(), 1, "{blobs:?}");
    }

    #[test]
    fn noise_alone_gives_no_blobs() {
        let scene = textured_scene(W, H);
        let mut rng = Rng::new(3);
        let mut det = MotionDetector::new(W, H, MotionConfig::default()).unwrap();
        for i in 0..100 {
            let blobs = process(&mut det, &noisy_frame(&scene, 0.0, 4.0, &mut rng));
            assert!(blobs.is_empty(), "frame {i}: {blobs:?}");
        }
        assert!(det.mask().iter().all(|&m| m == 0));
    }

    #[test]
    fn global_brightness_ramp_gives_no_blobs() {
        let scene = textured_scene(W, H);
        let mut rng = Rng::new(4);
        for sign in [1.0, -1.0] {
            let mut det = MotionDetector::new(W, H, MotionConfig::default()).unwrap();
            for i in 0..40 {
                let frame = noisy_frame(&scene, sign * i as f64, 3.0, &mut rng);
                let blobs = process(&mut det, &frame);
                assert!(blobs.is_empty(), "frame {i}: {blobs:?}");
            }
            // The background follows the drift instead of lagging behind it.
            let bg = det.background().background();
            let mean: f64 = bg.iter().map(|&v| f64::from(v)).sum::<f64>() / bg.len() as f64;
            let scene_mean: f64 = scene.iter().sum::<f64>() / scene.len() as f64;
            assert!(
                (mean - scene_mean - sign * 39.0).abs() < 3.0,
                "{mean} vs {scene_mean}"
            );
        }
    }

    #[test]
    fn background_learns_the_scene() {
        let scene = textured_scene(W, H);
        let mut rng = Rng::new(5);
        let mut det = MotionDetector::new(W, H, MotionConfig::default()).unwrap();
        for _ in 0..6 {
            process(&mut det, &noisy_frame(&scene, 0.0, 3.0, &mut rng));
        }
        // A new object placed in the scene is foreground at first ...
        let mut frame = noisy_frame(&scene, 0.0, 3.0, &mut rng);
        with_box(&mut frame, 100, 80, 40, 40, 60);
        for _ in 0..10 {
            process(&mut det, &frame);
        }
        let still = |det: &mut MotionDetector| process(det, &frame).len();
        assert_eq!(still(&mut det), 1);
        // ... and is absorbed slowly (rate alpha / 10), not at once, not never.
        let mut frames_to_absorb = 0;
        while still(&mut det) > 0 {
            frames_to_absorb += 1;
            assert!(frames_to_absorb < 2000);
        }
        assert!(frames_to_absorb > 100, "{frames_to_absorb}");
        // The background there is now close to the object, far from the empty scene.
        let bg = det.background().background_u8();
        let (sw, _) = det.small_size();
        let i = (80 / 4 + 5) * sw + 100 / 4 + 5;
        let small = |f: &[u8]| downscale_area(&PlaneView::packed(f, W, H).unwrap(), 4).unwrap();
        let object = small(&frame).as_slice()[i];
        let empty = small(&noisy_frame(&scene, 0.0, 0.0, &mut rng)).as_slice()[i];
        assert!(bg[i].abs_diff(object) <= 21, "{} vs {object}", bg[i]);
        assert!(bg[i].abs_diff(empty) >= 35, "{} vs {empty}", bg[i]);
    }

    #[test]
    fn warm_up_reports_nothing() {
        let scene = textured_scene(W, H);
        let mut rng = Rng::new(6);
        let config = MotionConfig {
            warmup_frames: 8,
            ..MotionConfig::default()
        };
        let mut det = MotionDetector::new(W, H, config).unwrap();
        for step in 0..8 {
            let mut frame = noisy_frame(&scene, 0.0, 3.0, &mut rng);
            with_box(&mut frame, 10 + 30 * step, 100, 40, 40, 80);
            assert!(process(&mut det, &frame).is_empty());
        }
        det.reset();
        assert_eq!(det.frames(), 0);
        assert!(!det.background().is_initialised());
    }

    #[test]
    fn min_area_is_in_full_resolution_pixels() {
        let scene = textured_scene(W, H);
        let mut rng = Rng::new(7);
        let config = MotionConfig {
            min_area: 40 * 40 + 1,
            ..MotionConfig::default()
        };
        let mut det = MotionDetector::new(W, H, config).unwrap();
        for _ in 0..6 {
            process(&mut det, &noisy_frame(&scene, 0.0, 3.0, &mut rng));
        }
        let mut frame = noisy_frame(&scene, 0.0, 3.0, &mut rng);
        with_box(&mut frame, 100, 100, 40, 40, 60);
        with_box(&mut frame, 200, 100, 48, 40, 60);
        let blobs = process(&mut det, &frame);
        assert_eq!(blobs.len(), 1, "{blobs:?}");
        assert_eq!((blobs[0].x0, blobs[0].area), (200, 48 * 40));
    }

    #[test]
    fn strided_frames_are_read_through_their_stride() {
        let scene = textured_scene(W, H);
        let mut rng = Rng::new(8);
        let mut packed_det = MotionDetector::new(W, H, MotionConfig::default()).unwrap();
        let mut strided_det = packed_det.clone();
        let stride = W + 64;
        for step in 0..12 {
            let mut frame = noisy_frame(&scene, 0.0, 3.0, &mut rng);
            if step > 6 {
                with_box(&mut frame, 10 * step, 60, 40, 40, 60);
            }
            let mut padded = vec![255u8; stride * H];
            for (dst, src) in padded.chunks_exact_mut(stride).zip(frame.chunks_exact(W)) {
                dst[..W].copy_from_slice(src);
            }
            let a = process(&mut packed_det, &frame);
            let b = strided_det
                .process(&PlaneView::new(&padded, W, H, stride).unwrap())
                .unwrap();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn rejects_bad_configs_and_frames() {
        let bad = [
            MotionConfig {
                factor: 0,
                ..MotionConfig::default()
            },
            MotionConfig {
                alpha: 0.0,
                ..MotionConfig::default()
            },
            MotionConfig {
                alpha: f32::NAN,
                ..MotionConfig::default()
            },
            MotionConfig {
                threshold: -1.0,
                ..MotionConfig::default()
            },
            MotionConfig {
                threshold: f32::INFINITY,
                ..MotionConfig::default()
            },
        ];
        for config in bad {
            assert!(matches!(
                MotionDetector::new(W, H, config),
                Err(MotionError::InvalidParameter { .. })
            ));
        }
        assert!(matches!(
            MotionDetector::new(3, 3, MotionConfig::default()),
            Err(MotionError::Plane(_))
        ));
        let mut det = MotionDetector::new(W, H, MotionConfig::default()).unwrap();
        let frame = vec![0u8; 640 * 480];
        let err = det
            .process(&PlaneView::packed(&frame, 640, 480).unwrap())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "luma plane is 640×480 but the detector was built for 320×240"
        );
        assert_eq!(det.frames(), 0);
    }
}
