//! Static-object evidence (Porikli, Ivanov & Haga 2008): foreground for the long-term model,
//! background for the short-term one, and not moving.

use crate::motion::{Blob, Labeller};

/// A region that has been static long enough, in full-resolution pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StaticCandidate {
    /// Box, area and centroid (full resolution); `blob.fill()` is the box fill ratio.
    pub blob: Blob,
    /// Frame index (1-based, as [`DualBackground::frames`](super::DualBackground::frames))
    /// at which the region first became a candidate.
    pub first_frame: u64,
    /// Frames since it became a candidate (0 on that frame). The object has been static for
    /// about `age + static_frames` frames (plus the fast model's settling time).
    pub age: u64,
    /// Mean evidence of its pixels, in frames.
    pub evidence: f32,
    /// Which image holds the region's outline, in `[0, 1]`: the contrast across its boundary
    /// in the current frame over that contrast in the current frame plus in the slow
    /// background (see [`StaticEvidence::measure_presence`]). Above 0.5 an object is there
    /// now (it arrived); below, the outline is the background's (a *ghost*: something that
    /// was part of the background has left). 0.5 until measured, and when neither has any.
    pub presence: f32,
}

impl StaticCandidate {
    /// Whether the region is a ghost: its outline is in the old background, not the frame.
    #[inline(always)]
    pub fn is_ghost(&self) -> bool {
        self.presence < 0.5
    }
}

/// Per-pixel static evidence on the downscaled plane, and the candidates above the threshold.
///
/// Each frame a pixel gains 1 when it is foreground for the slow model, background for the
/// fast one and not moving (frame difference); it loses `moving_penalty` when it moves
/// (a person standing and talking keeps moving slightly) and `decay` otherwise (the object
/// was removed, or a passer-by left). Evidence is capped at `threshold + threshold / 4`, so a
/// removed object's candidate disappears within `threshold / (4 * decay) + 1` frames.
#[derive(Debug, Clone)]
pub struct StaticEvidence {
    width: usize,
    height: usize,
    factor: usize,
    threshold: u16,
    decay: u16,
    moving_penalty: u16,
    min_area: usize,
    evidence: Vec<u16>,
    mask: Vec<u8>,
    labeller: Labeller,
    candidates: Vec<StaticCandidate>,
}

impl StaticEvidence {
    /// `threshold` frames of evidence make a candidate; `min_area` is in downscaled pixels.
    pub fn new(
        width: usize,
        height: usize,
        factor: usize,
        threshold: u16,
        decay: u16,
        min_area: usize,
    ) -> Self {
        Self {
            width,
            height,
            factor,
            threshold: threshold.max(1),
            decay: decay.max(1),
            moving_penalty: decay.max(1).saturating_mul(4),
            min_area,
            evidence: vec![0; width * height],
            mask: vec![0; width * height],
            labeller: Labeller::new(),
            candidates: Vec::new(),
        }
    }

    /// The evidence map (downscaled size, row-major), in frames.
    #[inline(always)]
    pub fn evidence(&self) -> &[u16] {
        &self.evidence
    }

    /// The candidates of the last update.
    #[inline(always)]
    pub fn candidates(&self) -> &[StaticCandidate] {
        &self.candidates
    }

    #[inline(always)]
    pub fn reset(&mut self) {
        self.evidence.fill(0);
        self.candidates.clear();
    }

    /// One frame: `slow`, `fast` and `moving` are 0/non-zero masks of the downscaled size.
    #[inline(always)]
    pub fn update(&mut self, slow: &[u8], fast: &[u8], moving: &[u8], frame: u64) {
        let cap = self.threshold.saturating_add(self.threshold / 4);
        let (decay, penalty, threshold) = (self.decay, self.moving_penalty, self.threshold);
        for ((((e, &s), &f), &m), out) in self
            .evidence
            .iter_mut()
            .zip(slow)
            .zip(fast)
            .zip(moving)
            .zip(self.mask.iter_mut())
        {
            // selects, not branches: the loop vectorises (`e <= cap` always, so `e + 1` only
            // saturates where `cap` is the largest u16 and the min gives `cap` anyway)
            let grown = e.saturating_add(1).min(cap);
            let kept = if (s != 0) & (f == 0) {
                grown
            } else {
                e.saturating_sub(decay)
            };
            *e = if m != 0 {
                e.saturating_sub(penalty)
            } else {
                kept
            };
            *out = if *e >= threshold { 255 } else { 0 };
        }
        let blobs = self
            .labeller
            .find(&self.mask, self.width, self.height, self.min_area.max(1));
        let previous = std::mem::take(&mut self.candidates);
        for b in blobs {
            let mut sum = 0u64;
            for y in b.y0..b.y1 {
                for x in b.x0..b.x1 {
                    if self.mask[y * self.width + x] != 0 {
                        sum += u64::from(self.evidence[y * self.width + x]);
                    }
                }
            }
            let blob = b.scaled(self.factor);
            let first_frame = previous
                .iter()
                .find(|p| overlaps(&p.blob, &blob))
                .map_or(frame, |p| p.first_frame);
            self.candidates.push(StaticCandidate {
                blob,
                first_frame,
                age: frame - first_frame,
                evidence: sum as f32 / b.area as f32,
                presence: 0.5,
            });
        }
    }

    /// Measures each candidate's [`presence`](StaticCandidate::presence): `frame` is the
    /// current downscaled plane and `background` the slow model, both of the evidence map's
    /// size (mismatched sizes leave the candidates unmeasured).
    ///
    /// The contrast across the region's boundary is measured on every pair of pixels, one on
    /// the inside edge of the evidence mask and one two pixels outside it, separately for the
    /// four sides (pairs looking right, left, down, up): per side the signed differences are
    /// summed, so the floor's own texture mostly cancels and an outline (a step all along the
    /// side) remains. An object put down has its outline in the current frame and not in the
    /// background learnt before it came; a ghost (a parked car, a bin, a bag there at start
    /// that left) has it the other way round, the current frame showing the floor continuing
    /// across the region.
    #[inline(always)]
    pub fn measure_presence(&mut self, frame: &[u8], background: &[f32]) {
        let (w, h) = (self.width, self.height);
        if frame.len() != w * h || background.len() != w * h {
            return;
        }
        let f = self.factor.max(1);
        for c in &mut self.candidates {
            let (x0, y0) = (c.blob.x0 / f, c.blob.y0 / f);
            let (x1, y1) = ((c.blob.x1 / f).min(w), (c.blob.y1 / f).min(h));
            let (mut now, mut old) = ([0.0f64; 4], [0.0f64; 4]);
            for y in y0..y1 {
                for x in x0..x1 {
                    let i = y * w + x;
                    if self.mask[i] == 0 {
                        continue;
                    }
                    // (neighbour on the edge, pixel two steps out) to the right, left, down, up
                    let sides = [
                        (x + 2 < w).then(|| (i + 1, i + 2)),
                        (x >= 2).then(|| (i - 1, i - 2)),
                        (y + 2 < h).then(|| (i + w, i + 2 * w)),
                        (y >= 2).then(|| (i - w, i - 2 * w)),
                    ];
                    for (side, pair) in sides.into_iter().enumerate() {
                        let Some((edge, o)) = pair else { continue };
                        if self.mask[edge] != 0 || self.mask[o] != 0 {
                            continue;
                        }
                        now[side] += f64::from(frame[i]) - f64::from(frame[o]);
                        old[side] += f64::from(background[i] - background[o]);
                    }
                }
            }
            let now: f64 = now.iter().map(|v| v.abs()).sum();
            let old: f64 = old.iter().map(|v| v.abs()).sum();
            c.presence = if now + old > 0.0 {
                (now / (now + old)) as f32
            } else {
                0.5
            };
        }
    }
}

#[inline(always)]
fn overlaps(a: &Blob, b: &Blob) -> bool {
    a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_grows_then_decays() {
        let (w, h) = (8, 8);
        let mut ev = StaticEvidence::new(w, h, 2, 10, 2, 4);
        let mut slow = vec![0u8; w * h];
        for y in 2..5 {
            for x in 2..5 {
                slow[y * w + x] = 255;
            }
        }
        let zero = vec![0u8; w * h];
        for f in 1..=9 {
            ev.update(&slow, &zero, &zero, f);
            assert!(ev.candidates().is_empty());
        }
        ev.update(&slow, &zero, &zero, 10);
        assert_eq!(ev.candidates().len(), 1);
        let c = ev.candidates()[0];
        assert_eq!((c.blob.x0, c.blob.y0, c.blob.x1, c.blob.y1), (4, 4, 10, 10));
        ev.update(&slow, &zero, &zero, 11);
        assert_eq!(ev.candidates()[0].age, 1);
        // Removed: decays below the threshold at once (evidence 11, decay 2).
        ev.update(&zero, &zero, &zero, 12);
        assert!(ev.candidates().is_empty());
        // Moving pixels never accumulate.
        ev.reset();
        for f in 0..40 {
            let m = if f % 3 == 0 { &slow } else { &zero };
            ev.update(&slow, &zero, m, f);
            assert!(ev.candidates().is_empty());
        }
    }

    #[test]
    fn evidence_follows_its_definition_pixel_by_pixel() {
        // Random masks, one pixel at a time as the rule reads: a moving pixel loses the
        // penalty, a slow-but-not-fast one gains a frame up to the cap, any other decays.
        let (w, h) = (37, 23);
        let mut rng = crate::testutil::Rng::new(17);
        for (threshold, decay) in [(10u16, 2u16), (1, 1), (60_000, 3)] {
            let mut ev = StaticEvidence::new(w, h, 2, threshold, decay, 4);
            let cap = threshold.saturating_add(threshold / 4);
            let mut want = vec![0u16; w * h];
            for f in 0..60u64 {
                let mask = |rng: &mut crate::testutil::Rng, p: f64| -> Vec<u8> {
                    (0..w * h)
                        .map(|_| if rng.uniform() < p { 255 } else { 0 })
                        .collect()
                };
                let (slow, fast, moving) = (
                    mask(&mut rng, 0.7),
                    mask(&mut rng, 0.2),
                    mask(&mut rng, 0.1),
                );
                for i in 0..w * h {
                    want[i] = if moving[i] != 0 {
                        want[i].saturating_sub(4 * decay)
                    } else if slow[i] != 0 && fast[i] == 0 {
                        (want[i] + 1).min(cap)
                    } else {
                        want[i].saturating_sub(decay)
                    };
                }
                ev.update(&slow, &fast, &moving, f);
                assert_eq!(ev.evidence(), &want[..], "threshold {threshold} frame {f}");
                let on = want.iter().map(|&e| if e >= threshold { 255 } else { 0 });
                assert!(
                    ev.mask.iter().copied().eq(on),
                    "threshold {threshold} frame {f}"
                );
            }
        }
    }

    /// A 16×16 plane of grey 100 with a dark 4×4 square at (6, 6) when `square`.
    fn plane(square: bool) -> Vec<u8> {
        let mut p = vec![100u8; 16 * 16];
        if square {
            for y in 6..10 {
                for x in 6..10 {
                    p[y * 16 + x] = 30;
                }
            }
        }
        p
    }

    #[test]
    fn presence_tells_an_object_put_down_from_a_ghost() {
        let (w, h) = (16, 16);
        let mut slow = vec![0u8; w * h];
        for y in 6..10 {
            for x in 6..10 {
                slow[y * w + x] = 255;
            }
        }
        let zero = vec![0u8; w * h];
        let mut ev = StaticEvidence::new(w, h, 4, 3, 1, 4);
        for f in 1..=3 {
            ev.update(&slow, &zero, &zero, f);
        }
        assert_eq!(ev.candidates().len(), 1);
        assert_eq!(ev.candidates()[0].presence, 0.5, "unmeasured");
        let as_f32 = |p: Vec<u8>| p.into_iter().map(f32::from).collect::<Vec<_>>();
        // Put down: the square is in the frame, the background is the bare floor.
        ev.measure_presence(&plane(true), &as_f32(plane(false)));
        let c = ev.candidates()[0];
        assert!(c.presence > 0.9 && !c.is_ghost(), "{c:?}");
        // Left: the background learnt the square, the frame shows the floor.
        ev.measure_presence(&plane(false), &as_f32(plane(true)));
        let c = ev.candidates()[0];
        assert!(c.presence < 0.1 && c.is_ghost(), "{c:?}");
        // Wrong sizes leave the candidates as they are.
        ev.measure_presence(&[0u8; 4], &[0.0f32; 4]);
        assert!(ev.candidates()[0].is_ghost());
    }
}
