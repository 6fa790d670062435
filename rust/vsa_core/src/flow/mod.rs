//! Motion field: grid optical flow (pyramidal Lucas–Kanade) with frame statistics.
//!
//! The frame is cut into a grid of `cell × cell` pixel cells (`width / cell` columns,
//! `height / cell` rows; the right and bottom remainders are ignored). Cell `(r, c)` has its
//! centre at pixel coordinates `(c·cell + (cell−1)/2, r·cell + (cell−1)/2)` (pixel `x` has its
//! centre at `x`). Flow is computed coarse to fine: level `l` of the pyramid (the frame area-
//! downscaled by `2^l`) has its own grid of `cell`-pixel cells, so a coarse cell sees a window
//! `2^l` times wider; each level starts from the bilinear interpolation of the coarser level's
//! grid. Every cell runs a few Gauss–Newton iterations of translational Lucas–Kanade over its
//! own window ([`lk`]). The finest level gives the vectors (px/frame) and a confidence in
//! [0, 1]: 0 for flat cells (smallest structure-tensor eigenvalue per pixel below
//! `min_eigen`) or lost ones, falling with a large final residual, and multiplied by the
//! *support* of the cell's start: 1 where a coarser level measured the vector it started from,
//! 0 where none did (the coarsest level starts from an unmeasured "no motion"), interpolated
//! between cells. A window started from an unmeasured guess converges only if the motion is
//! within its own reach, which it cannot tell (low texture: a road, a wall).
//!
//! Each level's grid is made whole before the finer level starts from it ([`propagate`]):
//! vectors that are not confident are checked against their neighbours, and the cells that
//! measured nothing (or whose vector was rejected) take the measured motion around them. Their
//! confidence stays 0: every cell has a usable vector, the confidence says which were measured.

mod lk;
mod propagate;
mod pyramid;
mod stats;

use std::fmt;

use crate::image::{check_frame_size, PlaneError, PlaneView};

pub use pyramid::{Level, Pyramid};
pub use stats::{flow_stats, FlowStats};

/// Why a flow kernel rejected its input or its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum FlowError {
    /// The plane itself is malformed.
    Plane(PlaneError),
    /// The frame does not have the size the motion field was built for (or the two frames differ).
    SizeMismatch {
        expected: (usize, usize),
        got: (usize, usize),
    },
    /// A parameter is out of its range.
    InvalidParameter { name: &'static str, reason: String },
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plane(e) => e.fmt(f),
            Self::SizeMismatch {
                expected: (ew, eh),
                got: (gw, gh),
            } => write!(f, "luma plane is {gw}×{gh} but {ew}×{eh} was expected"),
            Self::InvalidParameter { name, reason } => write!(f, "{name}: {reason}"),
        }
    }
}

impl std::error::Error for FlowError {}

impl From<PlaneError> for FlowError {
    fn from(e: PlaneError) -> Self {
        Self::Plane(e)
    }
}

/// Parameters of the motion field.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowConfig {
    /// Grid cell (and Lucas–Kanade window) side in pixels, >= 4.
    pub cell: usize,
    /// Pyramid levels, 1..=6 (fewer are used when the frame is too small).
    pub levels: usize,
    /// Sampling stride inside a window, 1..=4: 2 uses every other pixel of every other row
    /// (a quarter of the pixels, about 3× faster, slightly less precise).
    pub step: usize,
    /// Gauss–Newton iterations per level, 1..=50 (stops earlier at 0.01 px).
    pub iterations: usize,
    /// Smallest structure-tensor eigenvalue per pixel (grey²/px²) for a cell to count.
    pub min_eigen: f32,
    /// RMS residual (grey levels) at which the confidence is halved.
    pub residual_scale: f32,
    /// Cells below this confidence are ignored by the statistics.
    pub min_confidence: f32,
    /// Cells slower than this (px/frame) are not moving (histogram, coherence).
    pub min_speed: f32,
    /// Direction histogram bins, 1..=360.
    pub bins: usize,
}

impl Default for FlowConfig {
    fn default() -> Self {
        Self {
            cell: 16,
            levels: 3,
            step: 2,
            iterations: 5,
            min_eigen: 2.0,
            residual_scale: 8.0,
            min_confidence: 0.25,
            min_speed: 0.5,
            bins: 8,
        }
    }
}

impl FlowConfig {
    /// Windows start on multiples of `cell` (or 0) and sample every `step`-th row, so with an
    /// even cell and step 2 only even rows need gradients.
    #[inline(always)]
    fn gradient_rows(&self) -> usize {
        if self.step == 2 && self.cell % 2 == 0 {
            2
        } else {
            1
        }
    }

    /// Checks the ranges, and that a `width × height` frame holds at least one cell.
    pub fn validate(&self, width: usize, height: usize) -> Result<(), FlowError> {
        let bad = |name, reason: String| Err(FlowError::InvalidParameter { name, reason });
        check_frame_size(width, height)?;
        if self.cell < 4 {
            return bad("cell", format!("must be at least 4, got {}", self.cell));
        }
        if !(1..=6).contains(&self.levels) {
            return bad("levels", format!("must be in 1..=6, got {}", self.levels));
        }
        if !(1..=4).contains(&self.step) {
            return bad("step", format!("must be in 1..=4, got {}", self.step));
        }
        if !(1..=50).contains(&self.iterations) {
            return bad(
                "iterations",
                format!("must be in 1..=50, got {}", self.iterations),
            );
        }
        if !(1..=360).contains(&self.bins) {
            return bad("bins", format!("must be in 1..=360, got {}", self.bins));
        }
        for (name, v) in [
            ("min_eigen", self.min_eigen),
            ("min_confidence", self.min_confidence),
            ("min_speed", self.min_speed),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(name, format!("must be finite and >= 0, got {v}"));
            }
        }
        if !(self.residual_scale.is_finite() && self.residual_scale > 0.0) {
            return bad(
                "residual_scale",
                format!("must be > 0, got {}", self.residual_scale),
            );
        }
        if width < self.cell || height < self.cell {
            return bad(
                "cell",
                format!(
                    "a {width}×{height} frame is smaller than one {0}×{0} cell",
                    self.cell
                ),
            );
        }
        Ok(())
    }
}

/// Flow on the grid and its statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowField {
    pub rows: usize,
    pub cols: usize,
    pub cell: usize,
    /// Row-major `(dx, dy)` per cell, px/frame.
    pub flow: Vec<[f32; 2]>,
    /// Row-major confidence per cell, in [0, 1].
    pub confidence: Vec<f32>,
    pub stats: FlowStats,
}

/// Grid of one pyramid level: `(rows, cols)`, window size `(w, h)`.
#[inline(always)]
fn level_grid(level: &Level, cell: usize) -> (usize, usize, usize, usize) {
    let w = cell.min(level.width);
    let h = cell.min(level.height);
    (
        (level.height / cell).max(1),
        (level.width / cell).max(1),
        w,
        h,
    )
}

/// A level's grid: `(rows, cols)`, its vectors and whether each was measured.
type CoarseGrid = (usize, usize, Vec<[f32; 2]>, Vec<f32>);

/// Flow between two pyramids of equal size, on the grid of `config`.
#[inline(always)]
pub fn pyramid_flow(prev: &Pyramid, next: &Pyramid, config: &FlowConfig) -> FlowField {
    let levels = prev.levels.len().min(next.levels.len()).max(1);
    let cell = config.cell;
    // Flow of the coarser level: (rows, cols, vectors), in that level's pixels, and whether
    // each of its vectors was measured (by that level or a coarser one).
    let mut coarse: Option<CoarseGrid> = None;
    let mut confidence = Vec::new();
    let mut cells = Vec::new();
    let mut supports = Vec::new();
    for l in (0..levels).rev() {
        let (p, n) = (&prev.levels[l], &next.levels[l]);
        let (rows, cols, w, h) = level_grid(p, cell);
        cells.clear();
        supports.clear();
        confidence.clear();
        let centre = |i: usize, size: usize, extent: usize| -> (usize, f32) {
            let start = (i * cell).min(extent - size);
            (start, start as f32 + (size as f32 - 1.0) / 2.0)
        };
        // The finest level tracks only the windows with enough texture to be confident; a
        // coarser one every window whose structure tensor is invertible (its weak measurements
        // feed the propagation, weighted by their texture).
        let track_floor = if l == 0 { config.min_eigen } else { 0.0 };
        for r in 0..rows {
            let (y0, cy) = centre(r, h, p.height);
            for c in 0..cols {
                let (x0, cx) = centre(c, w, p.width);
                // The coarsest level starts from no motion, an assumption nothing measured.
                let (init, support) = match &coarse {
                    None => ([0.0, 0.0], if levels == 1 { 1.0 } else { 0.0 }),
                    Some((cr, cc, cf, cm)) => {
                        // This centre in the coarser level's pixels, then in its grid units.
                        let gx = ((cx - 0.5) / 2.0 - (cell as f32 - 1.0) / 2.0) / cell as f32;
                        let gy = ((cy - 0.5) / 2.0 - (cell as f32 - 1.0) / 2.0) / cell as f32;
                        let v = bilinear(cf, *cr, *cc, gx, gy);
                        let m = bilinear_scalar(cm, *cr, *cc, gx, gy);
                        ([2.0 * v[0], 2.0 * v[1]], m)
                    }
                };
                let track = lk::track_window(
                    p,
                    n,
                    x0,
                    y0,
                    w,
                    h,
                    config.step,
                    init,
                    config.iterations,
                    track_floor,
                );
                let good = track.ok && track.min_eig >= config.min_eigen;
                let conf = cell_confidence(&track, good, support, config);
                confidence.push(conf);
                supports.push((good, support));
                cells.push(propagate::Cell {
                    track,
                    init,
                    keep: conf > 0.0 && conf >= config.min_confidence,
                });
            }
        }
        let whole =
            propagate::propagate(&cells, rows, cols, config.residual_scale, config.min_eigen);
        // A textured window supports the finer windows started from its cell even when its
        // own vector was rejected: the neighbours' motion that replaced it is measured too. A
        // rejected vector's own confidence is zero.
        let measured = supports
            .iter()
            .map(|&(good, support)| if good { 1.0 } else { support })
            .collect();
        for (c, &valid) in confidence.iter_mut().zip(&whole.valid) {
            if !valid {
                *c = 0.0;
            }
        }
        coarse = Some((rows, cols, whole.flow, measured));
    }
    let (rows, cols, flow, _) = coarse.unwrap_or_default();
    let stats = flow_stats(
        &flow,
        &confidence,
        rows,
        cols,
        cell as f32,
        config.min_confidence,
        config.min_speed,
        config.bins,
    );
    FlowField {
        rows,
        cols,
        cell,
        flow,
        confidence,
        stats,
    }
}

/// A window tracked from a start no coarser level measured (low texture there: a road, a
/// wall) converges only if the motion is within its own reach, which it cannot tell: its
/// confidence falls with that support.
#[inline(always)]
fn cell_confidence(t: &lk::Track, good: bool, support: f32, config: &FlowConfig) -> f32 {
    if !good {
        return 0.0;
    }
    let texture = 1.0 - config.min_eigen / t.min_eig.max(f32::MIN_POSITIVE);
    let r = t.rms / config.residual_scale;
    (texture * t.inside * t.inside * support / (1.0 + r * r)).clamp(0.0, 1.0)
}

/// Bilinear interpolation of a grid of vectors at grid coordinates `(gx, gy)`, clamped.
#[inline(always)]
fn bilinear(grid: &[[f32; 2]], rows: usize, cols: usize, gx: f32, gy: f32) -> [f32; 2] {
    let gx = gx.clamp(0.0, (cols - 1) as f32);
    let gy = gy.clamp(0.0, (rows - 1) as f32);
    // Both are >= 0 after the clamp, so truncation is the floor.
    let (x0, y0) = (gx as usize, gy as usize);
    let (x1, y1) = ((x0 + 1).min(cols - 1), (y0 + 1).min(rows - 1));
    let (ax, ay) = (gx - x0 as f32, gy - y0 as f32);
    let at = |y: usize, x: usize| grid[y * cols + x];
    let mut out = [0f32; 2];
    for (k, o) in out.iter_mut().enumerate() {
        let top = at(y0, x0)[k] * (1.0 - ax) + at(y0, x1)[k] * ax;
        let bottom = at(y1, x0)[k] * (1.0 - ax) + at(y1, x1)[k] * ax;
        *o = top * (1.0 - ay) + bottom * ay;
    }
    out
}

/// Bilinear interpolation of a grid of scalars at grid coordinates `(gx, gy)`, clamped.
#[inline(always)]
fn bilinear_scalar(grid: &[f32], rows: usize, cols: usize, gx: f32, gy: f32) -> f32 {
    let gx = gx.clamp(0.0, (cols - 1) as f32);
    let gy = gy.clamp(0.0, (rows - 1) as f32);
    let (x0, y0) = (gx as usize, gy as usize);
    let (x1, y1) = ((x0 + 1).min(cols - 1), (y0 + 1).min(rows - 1));
    let (ax, ay) = (gx - x0 as f32, gy - y0 as f32);
    let at = |y: usize, x: usize| grid[y * cols + x];
    let top = at(y0, x0) * (1.0 - ax) + at(y0, x1) * ax;
    let bottom = at(y1, x0) * (1.0 - ax) + at(y1, x1) * ax;
    top * (1.0 - ay) + bottom * ay
}

/// Flow between two frames of the same size (builds both pyramids).
#[inline(always)]
pub fn flow_grid(
    prev: &PlaneView<'_>,
    next: &PlaneView<'_>,
    config: &FlowConfig,
) -> Result<FlowField, FlowError> {
    let (w, h) = (prev.width(), prev.height());
    if (next.width(), next.height()) != (w, h) {
        return Err(FlowError::SizeMismatch {
            expected: (w, h),
            got: (next.width(), next.height()),
        });
    }
    config.validate(w, h)?;
    let mut a = Pyramid::default();
    a.rebuild(prev, config.levels, config.gradient_rows())?;
    let mut b = Pyramid::default();
    b.rebuild(next, config.levels, config.gradient_rows())?;
    Ok(pyramid_flow(&a, &b, config))
}

/// Stateful motion field of one camera: keeps the previous frame's pyramid, so each frame's
/// pyramid is built once.
#[derive(Debug, Clone)]
pub struct MotionField {
    width: usize,
    height: usize,
    config: FlowConfig,
    prev: Pyramid,
    next: Pyramid,
    has_prev: bool,
    frames: u64,
}

impl MotionField {
    pub fn new(width: usize, height: usize, config: FlowConfig) -> Result<Self, FlowError> {
        config.validate(width, height)?;
        Ok(Self {
            width,
            height,
            config,
            prev: Pyramid::default(),
            next: Pyramid::default(),
            has_prev: false,
            frames: 0,
        })
    }

    /// Feeds one frame; returns the flow from the previous frame (`None` for the first).
    #[inline(always)]
    pub fn update(&mut self, frame: &PlaneView<'_>) -> Result<Option<FlowField>, FlowError> {
        if (frame.width(), frame.height()) != (self.width, self.height) {
            return Err(FlowError::SizeMismatch {
                expected: (self.width, self.height),
                got: (frame.width(), frame.height()),
            });
        }
        self.next
            .rebuild(frame, self.config.levels, self.config.gradient_rows())?;
        let out = self
            .has_prev
            .then(|| pyramid_flow(&self.prev, &self.next, &self.config));
        std::mem::swap(&mut self.prev, &mut self.next);
        self.has_prev = true;
        self.frames += 1;
        Ok(out)
    }

    /// Forgets the previous frame.
    #[inline(always)]
    pub fn reset(&mut self) {
        self.has_prev = false;
        self.frames = 0;
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn config(&self) -> &FlowConfig {
        &self.config
    }

    /// Frames fed since creation or the last reset.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// `(rows, cols)` of the output grid.
    #[inline(always)]
    pub fn grid_shape(&self) -> (usize, usize) {
        (
            self.height / self.config.cell,
            self.width / self.config.cell,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: usize, h: usize, f: impl Fn(f32, f32) -> (f32, f32)) -> Vec<u8> {
        let mut out = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let (sx, sy) = f(x as f32, y as f32);
                let v = 128.0
                    + 45.0 * (sx / 6.0).sin() * (sy / 8.0).cos()
                    + 35.0 * ((sx - 1.7 * sy) / 11.0).sin();
                out.push(v.round().clamp(0.0, 255.0) as u8);
            }
        }
        out
    }

    #[test]
    fn translation_of_several_pixels() {
        let (w, h) = (160, 96);
        let a = frame(w, h, |x, y| (x, y));
        let b = frame(w, h, |x, y| (x - 3.4, y - 1.2));
        let mut field = MotionField::new(w, h, FlowConfig::default()).unwrap();
        assert!(field
            .update(&PlaneView::packed(&a, w, h).unwrap())
            .unwrap()
            .is_none());
        let out = field
            .update(&PlaneView::packed(&b, w, h).unwrap())
            .unwrap()
            .unwrap();
        assert_eq!((out.rows, out.cols), field.grid_shape());
        let mut good = 0;
        for (i, (v, &c)) in out.flow.iter().zip(&out.confidence).enumerate() {
            if c > 0.25 {
                good += 1;
                assert!(
                    (v[0] - 3.4).abs() < 0.2 && (v[1] - 1.2).abs() < 0.2,
                    "{v:?} {c} {i}"
                );
            }
        }
        assert!(
            good * 10 >= out.flow.len() * 8,
            "{good} of {}",
            out.flow.len()
        );
        assert!(out.stats.coherence > 0.95);
        assert!((out.stats.p50_speed - 3.6).abs() < 0.2);
    }

    /// A flat square (no texture at any level) in a textured frame that translates: its cells
    /// measure nothing, yet take the motion around them, with zero confidence.
    #[test]
    fn flat_region_takes_surrounding_motion() {
        let (w, h) = (256, 192);
        // Texture fades out over 6 px at the square's border (a sharp edge would move by whole
        // pixels, not by the sub-pixel shift).
        let ramp = |t: f32| (t / 6.0).clamp(0.0, 1.0);
        let flatness =
            |x: f32, y: f32| ramp(x - 64.0) * ramp(192.0 - x) * ramp(y - 40.0) * ramp(152.0 - y);
        let shade = |x: f32, y: f32| {
            let texture =
                45.0 * (x / 6.0).sin() * (y / 8.0).cos() + 35.0 * ((x - 1.7 * y) / 11.0).sin();
            128.0 + (1.0 - flatness(x, y)) * texture
        };
        let (dx, dy) = (2.6, -1.3);
        let render = |sx: f32, sy: f32| -> Vec<u8> {
            let mut out = Vec::with_capacity(w * h);
            for y in 0..h {
                for x in 0..w {
                    let v = shade(x as f32 - sx, y as f32 - sy);
                    out.push(v.round().clamp(0.0, 255.0) as u8);
                }
            }
            out
        };
        let (a, b) = (render(0.0, 0.0), render(dx, dy));
        let out = flow_grid(
            &PlaneView::packed(&a, w, h).unwrap(),
            &PlaneView::packed(&b, w, h).unwrap(),
            &FlowConfig::default(),
        )
        .unwrap();
        let mut inside = 0;
        for r in 0..out.rows {
            for c in 0..out.cols {
                // Cells flat in both frames (the square moves by less than 3 px).
                let (x0, y0) = ((c * 16) as f32 - 3.0, (r * 16) as f32 - 3.0);
                if flatness(x0, y0) < 1.0 || flatness(x0 + 21.0, y0 + 21.0) < 1.0 {
                    continue;
                }
                inside += 1;
                let i = r * out.cols + c;
                let v = out.flow[i];
                assert_eq!(out.confidence[i], 0.0, "cell ({r}, {c}) measured nothing");
                assert!(
                    (v[0] - dx).abs() < 0.2 && (v[1] - dy).abs() < 0.2,
                    "cell ({r}, {c}): {v:?}"
                );
            }
        }
        assert!(inside >= 20, "{inside} flat cells");
    }

    #[test]
    fn flat_frame_has_zero_confidence() {
        let flat = vec![77u8; 64 * 64];
        let v = PlaneView::packed(&flat, 64, 64).unwrap();
        let out = flow_grid(&v, &v, &FlowConfig::default()).unwrap();
        assert!(out.confidence.iter().all(|&c| c == 0.0));
        assert_eq!(out.stats.mean_speed, 0.0);
    }

    #[test]
    fn bad_input_is_an_error() {
        let data = vec![0u8; 64 * 64];
        let v = PlaneView::packed(&data, 64, 64).unwrap();
        let small = PlaneView::packed(&data, 32, 32).unwrap();
        assert!(matches!(
            flow_grid(&v, &small, &FlowConfig::default()),
            Err(FlowError::SizeMismatch { .. })
        ));
        let mut field = MotionField::new(64, 64, FlowConfig::default()).unwrap();
        assert!(field.update(&small).is_err());
        for config in [
            FlowConfig {
                cell: 2,
                ..FlowConfig::default()
            },
            FlowConfig {
                levels: 0,
                ..FlowConfig::default()
            },
            FlowConfig {
                min_eigen: f32::NAN,
                ..FlowConfig::default()
            },
            FlowConfig {
                cell: 128,
                ..FlowConfig::default()
            },
        ] {
            assert!(MotionField::new(64, 64, config).is_err());
        }
    }
}
