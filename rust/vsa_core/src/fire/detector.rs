//! [`FireDetector`]: per-cell colour fraction and mean luma over a sliding window, scored.
//!
//! Per cell and over the last `window` frames: `mean` fire fraction, `min` fraction,
//! persistence (share of frames with a fraction above 5 %), the fraction's total variation
//! (mean |Δ| between frames), and the standard deviation of the mean luma of the cell's
//! *fire-coloured* samples. The score is the product of clamped ramps: colour (mean fraction),
//! persistence, flicker (fraction variation *and* variation of the fire pixels' own brightness:
//! flames flicker in shape and brightness) and steadiness (`min / mean`: a flame never vanishes
//! from its cell for a frame). So a static sign (no variation), a colour-noisy brick wall
//! (fraction jitters, luma steady), a fire-coloured pavement partly occluded by passers-by (the
//! fraction and the cell's brightness jump, but the pavement pixels that stay visible keep
//! their brightness) and an on/off blinking light (zero half of the time, low persistence) all
//! score low.
//!
//! Over a longer history (`period_window` frames, a few seconds) each cell also gets a
//! *periodicity*: the highest normalised autocorrelation of its colour fraction at a lag beyond
//! the first zero crossing (lags up to half the history). A neon sign, a beacon or an indicator
//! repeats one on/off cycle, so its series correlates strongly with itself one period later
//! (close to 1); a flame's flicker is broadband and aperiodic, its autocorrelation dies out
//! after the first crossing. A series that never crosses zero (a steady trend, a growing fire)
//! or barely varies has periodicity 0, and so has a cell whose fire score is 0 (it is computed
//! only where the score is positive). The score does not use it: rules judge it per region.

use super::colour::{
    check_planes, is_fire, luma_into, plane_sum, ColourRule, FrameMeans, Thresholds,
};
use super::FireError;
use crate::image::{check_frame_size, try_filled, PlaneView};

/// Parameters of a [`FireDetector`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FireConfig {
    /// Cell side in full-resolution pixels (even, ≥ 2).
    pub cell: usize,
    /// Frames in the sliding window (≥ 2); no score before it is full.
    pub window: usize,
    /// Score at which a cell counts as fire.
    pub threshold: f32,
    /// Frames of the periodicity history (0: no periodicity, all 0); NaN until half of it is
    /// filled.
    pub period_window: usize,
    /// The colour rule.
    pub rule: ColourRule,
}

impl Default for FireConfig {
    fn default() -> Self {
        Self {
            cell: 16,
            window: 30,
            threshold: 0.5,
            period_window: 180,
            rule: ColourRule::default(),
        }
    }
}

/// The per-cell output of one frame, row-major `(rows, cols)`.
#[derive(Debug, Clone, Default)]
pub struct FireFrame {
    /// Fire-coloured fraction of each cell in this frame.
    pub colour: Vec<f32>,
    /// Flicker in `[0, 1]` (fraction and luma variation over the window).
    pub flicker: Vec<f32>,
    /// Growth: mean fraction of the newer half of the window minus the older half.
    pub growth: Vec<f32>,
    /// Periodicity in `[0, 1]` of the colour fraction over the `period_window` history (NaN
    /// while less than half of it is filled: not known yet; 0 where the score is 0).
    pub periodicity: Vec<f32>,
    /// Fire score in `[0, 1]`.
    pub score: Vec<f32>,
    /// Index of the highest-scoring cell, and its score.
    pub best: (usize, f32),
}

#[inline(always)]
fn ramp(x: f32, lo: f32, hi: f32) -> f32 {
    ((x - lo) / (hi - lo)).clamp(0.0, 1.0)
}

/// Stateful fire-evidence detector for one camera.
#[derive(Debug, Clone)]
pub struct FireDetector {
    width: usize,
    height: usize,
    config: FireConfig,
    cols: usize,
    rows: usize,
    /// Working-resolution (chroma) samples per cell.
    counts: Vec<u32>,
    luma: Vec<u8>,
    /// Ring buffers `[slot * cells + cell]` of fraction and mean luma of the fire samples.
    frac: Vec<f32>,
    mean_y: Vec<f32>,
    /// Ring buffer `[slot * cells + cell]` of the fraction over `period_window` frames.
    history: Vec<f32>,
    /// One cell's series, oldest first (scratch).
    series: Vec<f32>,
    /// Per chroma column, fire samples and the sum of their luma over a row of cells
    /// (scratch).
    column_hits: Vec<u32>,
    column_luma: Vec<u32>,
    /// The same in `u16`, for cells up to 257 samples high.
    short_hits: Vec<u16>,
    short_luma: Vec<u16>,
    /// Per cell of a row of cells, its fire samples and the sum of their luma (scratch).
    cell_fire: Vec<u32>,
    cell_sum: Vec<u32>,
    /// Per cell, the window statistics of [`FireDetector::score`] (scratch).
    window: WindowSums,
    frames: u64,
    out: FireFrame,
}

/// The most (cell, frame) samples of the ring buffers: 2²⁶ (256 MiB each as `f32`).
const MAX_RING: usize = 1 << 26;

impl FireDetector {
    /// A detector for `width × height` frames.
    pub fn new(width: usize, height: usize, config: FireConfig) -> Result<Self, FireError> {
        check_frame_size(width, height)?;
        if config.cell < 2 || config.cell % 2 != 0 {
            return Err(FireError::BadParameter {
                name: "cell",
                message: format!(
                    "cell must be an even number of pixels >= 2, got {}",
                    config.cell
                ),
            });
        }
        if config.window < 2 || config.window > 10_000 {
            return Err(FireError::BadParameter {
                name: "window",
                message: format!("window must be in [2, 10000] frames, got {}", config.window),
            });
        }
        if config.period_window > 10_000 {
            return Err(FireError::BadParameter {
                name: "period_window",
                message: format!(
                    "period_window must be in [0, 10000] frames, got {}",
                    config.period_window
                ),
            });
        }
        if !config.threshold.is_finite() {
            return Err(FireError::BadParameter {
                name: "threshold",
                message: "threshold must be finite".into(),
            });
        }
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        let cc = config.cell / 2;
        let (cols, rows) = (cw.div_ceil(cc), ch.div_ceil(cc));
        let mut counts = vec![0u32; cols * rows];
        for r in 0..rows {
            let hh = (ch - r * cc).min(cc);
            for c in 0..cols {
                counts[r * cols + c] = (hh * (cw - c * cc).min(cc)) as u32;
            }
        }
        let cells = cols * rows;
        if cells.saturating_mul(config.window) > MAX_RING {
            return Err(FireError::BadParameter {
                name: "window",
                message: format!(
                    "{cells} cells × a window of {} frames is more than the {MAX_RING} samples a \
                 detector keeps: use larger cells or a shorter window",
                    config.window
                ),
            });
        }
        if cells.saturating_mul(config.period_window) > MAX_RING {
            return Err(FireError::BadParameter {
                name: "period_window",
                message: format!(
                "{cells} cells × a period_window of {} frames is more than the {MAX_RING} samples \
                 a detector keeps: use larger cells or a shorter period_window",
                config.period_window
            ),
            });
        }
        Ok(Self {
            width,
            height,
            config,
            cols,
            rows,
            counts,
            luma: try_filled(0, cw * ch)?,
            frac: try_filled(0.0, cells.saturating_mul(config.window))?,
            mean_y: try_filled(0.0, cells.saturating_mul(config.window))?,
            history: try_filled(0.0, cells.saturating_mul(config.period_window))?,
            series: Vec::with_capacity(config.period_window),
            column_hits: try_filled(0, cw)?,
            column_luma: try_filled(0, cw)?,
            short_hits: try_filled(0, cw)?,
            short_luma: try_filled(0, cw)?,
            cell_fire: try_filled(0, cols)?,
            cell_sum: try_filled(0, cols)?,
            window: WindowSums::new(cells)?,
            frames: 0,
            out: FireFrame {
                colour: vec![0.0; cells],
                flicker: vec![0.0; cells],
                growth: vec![0.0; cells],
                periodicity: vec![0.0; cells],
                score: vec![0.0; cells],
                best: (0, 0.0),
            },
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }
    pub fn height(&self) -> usize {
        self.height
    }
    pub fn config(&self) -> &FireConfig {
        &self.config
    }
    /// `(rows, cols)` of the grid.
    pub fn grid(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }
    pub fn frames(&self) -> u64 {
        self.frames
    }
    /// The output of the last frame.
    pub fn last(&self) -> &FireFrame {
        &self.out
    }

    /// Forgets the window.
    #[inline(always)]
    pub fn reset(&mut self) {
        self.frames = 0;
        self.frac.fill(0.0);
        self.mean_y.fill(0.0);
        self.history.fill(0.0);
        for v in [
            &mut self.out.colour,
            &mut self.out.flicker,
            &mut self.out.growth,
            &mut self.out.periodicity,
            &mut self.out.score,
        ] {
            v.fill(0.0);
        }
        self.out.best = (0, 0.0);
    }

    /// Box `[x0, x1) × [y0, y1)` of cell `index` in full-resolution pixels.
    #[inline(always)]
    pub fn cell_box(&self, index: usize) -> (usize, usize, usize, usize) {
        let (r, c) = (index / self.cols, index % self.cols);
        let s = self.config.cell;
        (
            c * s,
            r * s,
            ((c + 1) * s).min(self.width),
            ((r + 1) * s).min(self.height),
        )
    }

    /// Processes one yuv420p frame.
    #[inline(always)]
    pub fn update(
        &mut self,
        y: &PlaneView<'_>,
        u: &PlaneView<'_>,
        v: &PlaneView<'_>,
    ) -> Result<&FireFrame, FireError> {
        if (y.width(), y.height()) != (self.width, self.height) {
            return Err(FireError::SizeMismatch {
                plane: "Y",
                expected: (self.width, self.height),
                got: (y.width(), y.height()),
            });
        }
        let (cw, ch) = check_planes(y, u, v)?;
        let sum_y = luma_into(y, cw, ch, &mut self.luma);
        let limits = FrameMeans {
            n: (cw * ch) as u64,
            sum_y,
            sum_b: plane_sum(u),
            sum_r: plane_sum(v),
        }
        .limits();
        let t = Thresholds::new(limits, self.config.rule.tau);
        let cc = self.config.cell / 2;
        let cells = self.cols * self.rows;
        let slot = (self.frames % self.config.window as u64) as usize;
        // One row of cells at a time: per chroma column, the fire samples and their luma summed
        // down the cell's rows (one branch-free pass per row, which the compiler vectorises),
        // then per cell the sums of its columns.
        for gr in 0..self.rows {
            // nothing to read when no sample can be fire-coloured: all sums 0
            let rows = if t.possible {
                gr * cc..((gr + 1) * cc).min(ch)
            } else {
                0..0
            };
            let planes = (&self.luma[..], u, v, cw);
            let cell = (&mut self.cell_fire[..], &mut self.cell_sum[..]);
            // a column of a cell, at most 257 samples, sums to at most 65535 in u16
            if cc <= 257 {
                let columns = (&mut self.short_hits[..], &mut self.short_luma[..]);
                sum_cells(planes, rows, t, cc, columns, cell);
            } else {
                let columns = (&mut self.column_hits[..], &mut self.column_luma[..]);
                sum_cells(planes, rows, t, cc, columns, cell);
            }
            let (frac, mean_y) = (
                &mut self.frac[slot * cells..(slot + 1) * cells],
                &mut self.mean_y[slot * cells..(slot + 1) * cells],
            );
            for (gc, (&fire, &lsum)) in self.cell_fire.iter().zip(&self.cell_sum).enumerate() {
                let i = gr * self.cols + gc;
                let f = fire as f32 / self.counts[i] as f32;
                self.out.colour[i] = f;
                frac[i] = f;
                mean_y[i] = lsum as f32 / fire.max(1) as f32;
            }
        }
        let pw = self.config.period_window;
        if pw > 0 {
            let ps = (self.frames % pw as u64) as usize;
            self.history[ps * cells..(ps + 1) * cells].copy_from_slice(&self.out.colour);
        }
        self.frames += 1;
        self.score(slot);
        self.periodicity();
        Ok(&self.out)
    }

    /// Per cell: the highest autocorrelation of the fraction beyond its first zero crossing.
    #[inline(always)]
    fn periodicity(&mut self) {
        let pw = self.config.period_window;
        let n = (self.frames.min(pw as u64)) as usize;
        let cells = self.cols * self.rows;
        if pw == 0 {
            self.out.periodicity.fill(0.0);
            return;
        }
        if n < (pw / 2).max(8) {
            self.out.periodicity.fill(f32::NAN);
            return;
        }
        let newest = ((self.frames - 1) % pw as u64) as usize;
        for i in 0..cells {
            // only where the cell looks like fire at all: the rest of the frame costs nothing
            if self.out.score[i] <= 0.0 {
                self.out.periodicity[i] = 0.0;
                continue;
            }
            self.series.clear();
            for k in 0..n {
                // oldest first: the n slots ending at `newest`
                let s = (newest + pw + 1 + k - n) % pw;
                self.series.push(self.history[s * cells + i]);
            }
            self.out.periodicity[i] = periodicity(&mut self.series);
        }
    }

    #[inline(always)]
    fn score(&mut self, newest: usize) {
        let w = self.config.window;
        let cells = self.cols * self.rows;
        if self.frames < w as u64 {
            self.out.flicker.fill(0.0);
            self.out.growth.fill(0.0);
            self.out.score.fill(0.0);
            self.out.best = (0, 0.0);
            return;
        }
        // The window's frames oldest first (slot newest+1 .. newest+w), each a pass over all
        // cells: per cell the same operations in the same order as one cell at a time, on
        // contiguous rows of the ring buffers.
        let acc = &mut self.window;
        for k in 0..w {
            let s = (newest + 1 + k) % w;
            let (frac, mean_y) = (
                &self.frac[s * cells..(s + 1) * cells],
                &self.mean_y[s * cells..(s + 1) * cells],
            );
            acc.add(frac, mean_y, k, w);
        }
        let wf = w as f32;
        let mut best = (0usize, 0.0f32);
        for i in 0..cells {
            let mean = acc.sum[i] / wf;
            let ystd = (acc.syy[i] / wf - (acc.sy[i] / wf).powi(2)).max(0.0).sqrt();
            let tv = acc.tv[i] / (wf - 1.0);
            let flicker = ramp(tv, 0.0, 0.04) * ramp(ystd, 2.0, 8.0);
            let steady = if mean > 0.0 {
                ramp(acc.min[i] / mean, 0.1, 0.4)
            } else {
                0.0
            };
            let pers = acc.pers[i] as f32;
            let score = ramp(mean, 0.0, 0.2) * ramp(pers / wf, 0.5, 0.9) * flicker * steady;
            self.out.flicker[i] = flicker;
            self.out.growth[i] =
                acc.newer[i] / (wf - (w / 2) as f32) - acc.older[i] / (w / 2) as f32;
            self.out.score[i] = score;
            if score > best.1 {
                best = (i, score);
            }
        }
        self.out.best = best;
    }
}

/// Per cell of `cc` columns, over the `cw`-sample rows `rows` (none: all 0): the
/// fire-coloured samples (`fire`) and the sum of their luma (`sums`). The per-column sums go
/// through `columns`, whose `T` must hold a column's sums.
#[inline(always)]
fn sum_cells<T>(
    (luma, u, v, cw): (&[u8], &PlaneView<'_>, &PlaneView<'_>, usize),
    rows: std::ops::Range<usize>,
    t: Thresholds,
    cc: usize,
    (hits, sums): (&mut [T], &mut [T]),
    (fire, luma_sums): (&mut [u32], &mut [u32]),
) where
    T: Copy + Default + From<u8> + Into<u32> + std::ops::AddAssign,
{
    let (hits, sums) = (&mut hits[..cw], &mut sums[..cw]);
    if rows.is_empty() {
        fire.fill(0);
        luma_sums.fill(0);
        return;
    }
    let first = rows.start;
    for r in rows {
        let (lr, ur, vr) = (&luma[r * cw..(r + 1) * cw], u.row(r), v.row(r));
        for ((((h, s), &l), &b), &rr) in hits
            .iter_mut()
            .zip(sums.iter_mut())
            .zip(lr)
            .zip(&ur[..cw])
            .zip(&vr[..cw])
        {
            let is = is_fire(l, b, rr, t);
            let (n, y) = (T::from(u8::from(is)), T::from(if is { l } else { 0 }));
            // the first row sets the sums (no clearing pass)
            if r == first {
                (*h, *s) = (n, y);
            } else {
                *h += n;
                *s += y;
            }
        }
    }
    for (((f, ls), h), s) in fire
        .iter_mut()
        .zip(luma_sums.iter_mut())
        .zip(hits.chunks(cc))
        .zip(sums.chunks(cc))
    {
        *f = h.iter().map(|&x| x.into()).sum();
        *ls = s.iter().map(|&x| x.into()).sum();
    }
}

/// Per-cell running statistics of the window, accumulated one frame (all cells) at a time.
#[derive(Debug, Clone)]
struct WindowSums {
    sum: Vec<f32>,
    min: Vec<f32>,
    pers: Vec<u32>,
    tv: Vec<f32>,
    prev: Vec<f32>,
    sy: Vec<f32>,
    syy: Vec<f32>,
    older: Vec<f32>,
    newer: Vec<f32>,
}

impl WindowSums {
    fn new(cells: usize) -> Result<Self, FireError> {
        Ok(Self {
            sum: try_filled(0.0, cells)?,
            min: try_filled(f32::MAX, cells)?,
            pers: try_filled(0, cells)?,
            tv: try_filled(0.0, cells)?,
            prev: try_filled(0.0, cells)?,
            sy: try_filled(0.0, cells)?,
            syy: try_filled(0.0, cells)?,
            older: try_filled(0.0, cells)?,
            newer: try_filled(0.0, cells)?,
        })
    }

    /// Frame `k` (0: the oldest) of a window of `w`: its fractions and fire-sample lumas.
    #[inline(always)]
    fn add(&mut self, frac: &[f32], mean_y: &[f32], k: usize, w: usize) {
        let n = frac.len();
        let (sum, min, pers) = (&mut self.sum[..n], &mut self.min[..n], &mut self.pers[..n]);
        let (tv, prev, sy, syy) = (
            &mut self.tv[..n],
            &mut self.prev[..n],
            &mut self.sy[..n],
            &mut self.syy[..n],
        );
        let half = if k < w / 2 {
            &mut self.older[..n]
        } else {
            &mut self.newer[..n]
        };
        let mean_y = &mean_y[..n];
        if k == 0 || k == w / 2 {
            // the first frame of the window or of its newer half starts that half's sum
            half.fill(0.0);
        }
        if k == 0 {
            // the first frame starts the sums: the same operations on the starting values
            for i in 0..n {
                let (f, yv) = (frac[i], mean_y[i]);
                sum[i] = 0.0 + f;
                min[i] = f32::MAX.min(f);
                pers[i] = u32::from(f > 0.05);
                tv[i] = 0.0;
                prev[i] = f;
                sy[i] = 0.0 + yv;
                syy[i] = 0.0 + yv * yv;
                half[i] += f;
            }
            return;
        }
        for i in 0..n {
            let (f, yv) = (frac[i], mean_y[i]);
            sum[i] += f;
            min[i] = min[i].min(f);
            pers[i] += u32::from(f > 0.05);
            tv[i] += (f - prev[i]).abs();
            prev[i] = f;
            sy[i] += yv;
            syy[i] += yv * yv;
            half[i] += f;
        }
    }
}

/// The highest normalised autocorrelation of `x` at a lag between its first zero crossing and
/// `len / 2` (unbiased: each lag's mean product over the variance), in `[0, 1]`; 0 for a series
/// that barely varies or never decorrelates. `x` is centred in place.
#[inline(always)]
fn periodicity(x: &mut [f32]) -> f32 {
    let n = x.len();
    if n < 4 {
        return 0.0;
    }
    let mean = x.iter().sum::<f32>() / n as f32;
    let mut var = 0.0f32;
    for v in x.iter_mut() {
        *v -= mean;
        var += *v * *v;
    }
    var /= n as f32;
    // a fraction varying by less than 1 % of the cell: nothing blinks there
    if var < 1e-4 {
        return 0.0;
    }
    let mut crossed = false;
    let mut best = 0.0f32;
    for lag in 1..=n / 2 {
        let r = x[..n - lag]
            .iter()
            .zip(&x[lag..])
            .map(|(a, b)| a * b)
            .sum::<f32>()
            / (n - lag) as f32
            / var;
        if !crossed {
            crossed = r <= 0.0;
        } else {
            best = best.max(r);
        }
    }
    best.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    /// A grey 64×64 frame with an orange 16×16 square at (16, 16) whose chroma is on in
    /// `on` and whose luma is `luma`.
    fn frame(on: bool, luma: u8, jitter: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let mut y = vec![90u8; 64 * 64];
        let mut u = vec![128u8; 32 * 32];
        let mut v = vec![128u8; 32 * 32];
        if on {
            for r in 8..16 {
                for c in 8..(12 + jitter).min(32) {
                    u[r * 32 + c] = 80;
                    v[r * 32 + c] = 180;
                    for dy in 0..2 {
                        for dx in 0..2 {
                            y[(2 * r + dy) * 64 + 2 * c + dx] = luma;
                        }
                    }
                }
            }
        }
        (y, u, v)
    }

    fn run(det: &mut FireDetector, f: (Vec<u8>, Vec<u8>, Vec<u8>)) -> f32 {
        let yp = PlaneView::packed(&f.0, 64, 64).unwrap();
        let up = PlaneView::packed(&f.1, 32, 32).unwrap();
        let vp = PlaneView::packed(&f.2, 32, 32).unwrap();
        det.update(&yp, &up, &vp).unwrap().best.1
    }

    #[test]
    fn static_sign_and_blinker_score_low_flicker_scores_high() {
        let mut rng = Rng::new(3);
        let new = || FireDetector::new(64, 64, FireConfig::default()).unwrap();
        let (mut s, mut b, mut f, mut o) = (new(), new(), new(), new());
        let (mut max_s, mut max_b, mut max_f, mut max_o) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
        for t in 0..90 {
            max_s = max_s.max(run(&mut s, frame(true, 200, 4)));
            max_b = max_b.max(run(&mut b, frame((t / 8) % 2 == 0, 200, 4)));
            let j = (rng.uniform() * 12.0) as usize;
            let l = 150 + (rng.uniform() * 100.0) as u8;
            max_f = max_f.max(run(&mut f, frame(true, l, j)));
            // Steady orange pavement, a varying part of it hidden by a grey passer-by: the
            // fraction and the cell's mean luma jump, the visible pavement's luma does not.
            max_o = max_o.max(run(&mut o, frame(true, 200, j)));
        }
        assert!(max_s < 0.1, "static {max_s}");
        assert!(max_b < 0.1, "blinker {max_b}");
        assert!(max_f > 0.5, "flicker {max_f}");
        assert!(max_o < 0.1, "occluded pavement {max_o}");
    }

    #[test]
    fn blinking_cell_is_periodic_flickering_and_growing_cells_are_not() {
        let mut rng = Rng::new(5);
        let config = FireConfig {
            period_window: 40,
            ..FireConfig::default()
        };
        let new = || FireDetector::new(64, 64, config).unwrap();
        let (mut blink, mut flame, mut grow, mut steady) = (new(), new(), new(), new());
        let cell = 4 + 1; // the orange square's cell: (1, 1) of the 4×4 grid
        let at = |d: &FireDetector| d.last().periodicity[cell];
        let (mut b, mut f, mut g, mut s) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
        for t in 0..120usize {
            // a chase-lit neon letter: its lit part sweeps wide and narrow, brighter and dimmer,
            // in an 8-frame cycle (it scores like a flame: never dark, flickering)
            let phase = [0usize, 1, 2, 3, 4, 3, 2, 1][t % 8];
            run(&mut blink, frame(true, 150 + 22 * phase as u8, phase));
            let j = (rng.uniform() * 12.0) as usize;
            run(&mut flame, frame(true, 200, j));
            run(&mut grow, frame(true, 200, t / 10));
            run(&mut steady, frame(true, 200, 4));
            if t >= 40 {
                (b, f, g, s) = (
                    b.max(at(&blink)),
                    f.max(at(&flame)),
                    g.max(at(&grow)),
                    s.max(at(&steady)),
                );
            }
        }
        assert!(blink.last().score[cell] > 0.5, "the chase scores");
        assert!(b > 0.8, "blinker {b}");
        assert!(f < 0.5, "flame {f}");
        assert!(g < 0.5, "growing {g}");
        assert_eq!(s, 0.0, "steady {s}");
        // not known before half of the history is filled
        let mut early = new();
        for t in 0..19usize {
            run(&mut early, frame((t / 4) % 2 == 0, 200, 4));
            assert!(at(&early).is_nan());
        }
        let off = FireConfig {
            period_window: 0,
            ..FireConfig::default()
        };
        let mut none = FireDetector::new(64, 64, off).unwrap();
        for t in 0..40usize {
            run(&mut none, frame((t / 4) % 2 == 0, 200, 4));
            assert_eq!(none.last().periodicity[cell], 0.0);
        }
    }

    #[test]
    fn periodicity_of_plain_series() {
        let mut square: Vec<f32> = (0..60)
            .map(|t| f32::from(u8::from((t / 5) % 2 == 0)))
            .collect();
        assert!(periodicity(&mut square) > 0.9);
        let mut ramp: Vec<f32> = (0..60).map(|t| t as f32 / 60.0).collect();
        assert_eq!(periodicity(&mut ramp), 0.0);
        let mut flat = vec![0.3f32; 60];
        assert_eq!(periodicity(&mut flat), 0.0);
        assert_eq!(periodicity(&mut [1.0, 0.0]), 0.0);
    }

    /// Per cell, (fire fraction, mean luma of its fire samples) of one frame, straight from the
    /// rule's definition: exact integer means, one sample at a time.
    fn reference_cells(
        y: &[u8],
        (w, h): (usize, usize),
        u: &[u8],
        v: &[u8],
        cell: usize,
    ) -> (Vec<f32>, Vec<f32>) {
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let luma: Vec<i64> = (0..cw * ch)
            .map(|i| {
                let (r, c) = (i / cw, i % cw);
                let mut s = 0i64;
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    s += i64::from(y[(2 * r + dy).min(h - 1) * w + (2 * c + dx).min(w - 1)]);
                }
                (s + 2) / 4
            })
            .collect();
        let n = (cw * ch) as i64;
        let sy: i64 = luma.iter().sum();
        let sb: i64 = u.iter().map(|&x| i64::from(x)).sum();
        let sr: i64 = v.iter().map(|&x| i64::from(x)).sum();
        let cc = cell / 2;
        let (cols, rows) = (cw.div_ceil(cc), ch.div_ceil(cc));
        let (mut frac, mut mean) = (vec![0.0; cols * rows], vec![0.0; cols * rows]);
        for gr in 0..rows {
            for gc in 0..cols {
                let (mut total, mut fire, mut sum) = (0u32, 0u32, 0u32);
                for r in gr * cc..((gr + 1) * cc).min(ch) {
                    for c in gc * cc..((gc + 1) * cc).min(cw) {
                        let i = r * cw + c;
                        let (yv, b, rr) = (luma[i], i64::from(u[i]), i64::from(v[i]));
                        total += 1;
                        if yv > b
                            && rr > b
                            && yv * n > sy
                            && b * n < sb
                            && rr * n > sr
                            && (b - rr).abs() >= 40
                        {
                            fire += 1;
                            sum += yv as u32;
                        }
                    }
                }
                frac[gr * cols + gc] = fire as f32 / total as f32;
                mean[gr * cols + gc] = sum as f32 / fire.max(1) as f32;
            }
        }
        (frac, mean)
    }

    /// (flicker, growth, score) of one cell over a window given oldest first, one cell at a
    /// time as the definition reads.
    fn reference_score(frac: &[f32], mean_y: &[f32]) -> (f32, f32, f32) {
        let w = frac.len();
        let (mut sum, mut min, mut pers, mut tv) = (0.0f32, f32::MAX, 0u32, 0.0f32);
        let (mut sy, mut syy, mut older, mut newer, mut prev) = (0.0f32, 0.0f32, 0.0, 0.0, 0.0);
        for k in 0..w {
            let (f, yv) = (frac[k], mean_y[k]);
            sum += f;
            min = min.min(f);
            pers += u32::from(f > 0.05);
            if k > 0 {
                tv += (f - prev).abs();
            }
            prev = f;
            sy += yv;
            syy += yv * yv;
            if k < w / 2 {
                older += f;
            } else {
                newer += f;
            }
        }
        let wf = w as f32;
        let mean = sum / wf;
        let ystd = (syy / wf - (sy / wf).powi(2)).max(0.0).sqrt();
        let flicker = ramp(tv / (wf - 1.0), 0.0, 0.04) * ramp(ystd, 2.0, 8.0);
        let steady = if mean > 0.0 {
            ramp(min / mean, 0.1, 0.4)
        } else {
            0.0
        };
        let score = ramp(mean, 0.0, 0.2) * ramp(pers as f32 / wf, 0.5, 0.9) * flicker * steady;
        let growth = newer / (wf - (w / 2) as f32) - older / (w / 2) as f32;
        (flicker, growth, score)
    }

    #[test]
    fn every_output_matches_the_reference_bit_for_bit() {
        // Odd sizes (partial cells, a repeated last luma column and row), small and tall cells
        // (a cell column of more than 257 samples sums in u32), a flickering orange patch on
        // random planes, and frames whose means put a limit outside the byte range.
        for (w, h, cell, window) in [(71, 47, 16, 6), (40, 30, 4, 3), (36, 1100, 600, 4)] {
            let config = FireConfig {
                cell,
                window,
                period_window: 0,
                ..FireConfig::default()
            };
            let mut det = FireDetector::new(w, h, config).unwrap();
            let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
            let mut rng = Rng::new(w as u64);
            let mut history: Vec<(Vec<f32>, Vec<f32>)> = Vec::new();
            let mut scored = 0.0f32;
            for t in 0..3 * window + 2 {
                let mut y = rng.bytes(w * h);
                let mut u: Vec<u8> = rng.bytes(cw * ch).iter().map(|b| b / 2 + 40).collect();
                let mut v: Vec<u8> = rng.bytes(cw * ch).iter().map(|b| b / 2 + 90).collect();
                // the patch's extent and brightness flicker from frame to frame
                let (share, level) = (
                    0.6 + 0.3 * rng.uniform(),
                    150 + (rng.uniform() * 70.0) as u8,
                );
                for i in 0..cw * ch {
                    let (r, c) = (i / cw, i % cw);
                    if r < ch / 2 && c < cw / 2 && rng.uniform() < share {
                        (u[i], v[i]) = (60, 200);
                        for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                            let (yy, xx) = ((2 * r + dy).min(h - 1), (2 * c + dx).min(w - 1));
                            y[yy * w + xx] = level + (rng.uniform() * 30.0) as u8;
                        }
                    }
                }
                if t == window {
                    y.fill(255); // a Y mean of 255: nothing can be fire-coloured
                }
                if t == window + 1 {
                    u.fill(0); // a Cb mean of 0: neither
                }
                let yp = PlaneView::packed(&y, w, h).unwrap();
                let up = PlaneView::packed(&u, cw, ch).unwrap();
                let vp = PlaneView::packed(&v, cw, ch).unwrap();
                let out = det.update(&yp, &up, &vp).unwrap().clone();
                let cells = reference_cells(&y, (w, h), &u, &v, cell);
                assert_eq!(out.colour, cells.0, "{w}x{h} cell {cell} frame {t}");
                history.push(cells);
                let filled = history.len() >= window;
                let mut best = (0usize, 0.0f32);
                for i in 0..out.score.len() {
                    let (f, g, s) = if filled {
                        let last = &history[history.len() - window..];
                        let frac: Vec<f32> = last.iter().map(|c| c.0[i]).collect();
                        let mean: Vec<f32> = last.iter().map(|c| c.1[i]).collect();
                        reference_score(&frac, &mean)
                    } else {
                        (0.0, 0.0, 0.0)
                    };
                    let got = (out.flicker[i], out.growth[i], out.score[i]);
                    assert_eq!(
                        (got.0.to_bits(), got.1.to_bits(), got.2.to_bits()),
                        (f.to_bits(), g.to_bits(), s.to_bits()),
                        "{w}x{h} cell {cell} frame {t} cell {i}"
                    );
                    if s > best.1 {
                        best = (i, s);
                    }
                }
                assert_eq!(out.best, best);
                scored = scored.max(best.1);
            }
            assert!(
                scored > 0.0,
                "{w}x{h}: no cell scored, the score is not tested"
            );
        }
    }

    #[test]
    fn bad_config_and_sizes_are_errors() {
        let bad = FireConfig {
            cell: 3,
            ..FireConfig::default()
        };
        assert!(FireDetector::new(64, 64, bad).is_err());
        let long = FireConfig {
            period_window: 10_001,
            ..FireConfig::default()
        };
        assert!(FireDetector::new(64, 64, long).is_err());
        let huge = FireConfig {
            cell: 2,
            window: 2,
            period_window: 10_000,
            ..FireConfig::default()
        };
        let err = FireDetector::new(4096, 4096, huge).unwrap_err();
        assert!(err.to_string().contains("period_window"), "{err}");
        let mut d = FireDetector::new(64, 64, FireConfig::default()).unwrap();
        let y = vec![0u8; 32 * 32];
        let c = vec![0u8; 16 * 16];
        let yp = PlaneView::packed(&y, 32, 32).unwrap();
        let cp = PlaneView::packed(&c, 16, 16).unwrap();
        assert!(d.update(&yp, &cp, &cp).is_err());
    }
}
