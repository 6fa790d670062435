//! Propagation of measured motion into the cells a level could not measure.
//!
//! A window on low texture (a road, a wall, the sky) gives no displacement of its own, or one
//! dominated by noise; one started from a poor guess may converge to a wrong minimum. Rather
//! than leaving such cells at their coarse start, each level's grid is made whole in two
//! steps:
//!
//! 1. **Validation**: every tracked vector that is not confident is compared with the tracked
//!    vectors of its 3 × 3 neighbourhood by the normalised median test of particle image
//!    velocimetry (Westerweel & Scarano 2005: residual to the neighbours' median over their
//!    median residual plus 0.1 px, rejected above 2, per component). A rejected vector counts as
//!    not tracked.
//! 2. **Propagation**: a few Gauss–Seidel sweeps of a small quadratic problem on the grid. A
//!    confident cell keeps its vector. Every other cell balances its own measurement, weighted
//!    by its structure tensor (texture in each direction, so an edge constrains only the motion
//!    across it; no weight when it was not tracked), against what its neighbours predict: per
//!    axis the mean of the two neighbours, or at the border the linear extrapolation of the two
//!    on one side, so a zoom or a rotation carries on to the edge of the frame instead of
//!    flattening. Each neighbour cell weighs as much as a cell whose texture is at the
//!    confidence threshold (`min_eigen`): a flat cell takes its neighbours' motion, a cell at
//!    the threshold counts for one fifth against its four neighbours, a well textured one
//!    mostly for itself. The sweeps stop early once no vector moves by 0.005 px.
//!
//! The confidence of the cells is not raised: a propagated vector is an estimate of what the
//! cell did not measure, its confidence stays what the measurement gave (zero for flat cells).

use super::lk::Track;

/// Normalised median test: a residual above this many times the neighbours' spread rejects.
const OUTLIER_RATIO: f32 = 2.0;
/// Floor of the neighbours' spread (pixels of the level): the noise of a measurement.
const OUTLIER_NOISE: f32 = 0.1;
/// Gauss–Seidel sweeps at most (a forward and a backward pass each).
const SWEEPS: usize = 8;
/// Sweeps stop once no vector moved more than this (pixels of the level).
const SETTLED: f32 = 0.005;

/// What propagation needs of one tracked cell.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cell {
    /// The window's result (`ok`, displacement, structure tensor, residual, inside fraction).
    pub track: Track,
    /// Where the window started: the coarser level's field at this cell.
    pub init: [f32; 2],
    /// Confident: its vector is kept as measured.
    pub keep: bool,
}

/// The grid of one level made whole: `flow` per cell and whether each cell's own measurement
/// survived validation (`false` for untracked and rejected cells).
pub(crate) struct Propagated {
    pub flow: Vec<[f32; 2]>,
    pub valid: Vec<bool>,
}

/// Validates, then propagates, the `rows × cols` cells of one level (row-major).
/// `residual_scale` weighs down a measurement with a large residual as the confidence does;
/// `neighbour_weight` is the weight of each neighbour cell in grey²/px² (the texture a cell
/// needs to count as much as one neighbour).
#[inline(always)]
pub(crate) fn propagate(
    cells: &[Cell],
    rows: usize,
    cols: usize,
    residual_scale: f32,
    neighbour_weight: f32,
) -> Propagated {
    let n = rows * cols;
    debug_assert_eq!(cells.len(), n);
    let mut valid: Vec<bool> = cells.iter().map(|c| c.track.ok).collect();
    let rejected: Vec<bool> = (0..n)
        .map(|i| valid[i] && !cells[i].keep && is_outlier(cells, &valid, rows, cols, i))
        .collect();
    for (v, r) in valid.iter_mut().zip(&rejected) {
        *v &= !r;
    }
    // Each free cell's data term: its structure tensor (weighed down like the confidence by the
    // residual and by the share of the window that stayed in the frame) and its vector.
    let data: Vec<([f32; 3], [f32; 2])> = cells
        .iter()
        .zip(&valid)
        .map(|(c, &ok)| {
            if !ok {
                return ([0.0; 3], [0.0; 2]);
            }
            let t = &c.track;
            let r = t.rms / residual_scale;
            let k = t.inside * t.inside / (1.0 + r * r);
            ([t.tensor[0] * k, t.tensor[1] * k, t.tensor[2] * k], t.d)
        })
        .collect();
    let mut flow: Vec<[f32; 2]> = cells
        .iter()
        .zip(&valid)
        .map(|(c, &ok)| if ok { c.track.d } else { c.init })
        .collect();
    if n == 1 {
        return Propagated { flow, valid };
    }
    // Per free cell, what the sweeps reuse: the inverse of its 2 × 2 system and the data part
    // of its right-hand side; `None` for a kept cell (or a singular system: it stays put).
    let systems: Vec<Option<System>> = (0..n)
        .map(|i| {
            if cells[i].keep {
                return None;
            }
            let k = neighbour_weight * neighbour_cells(rows, cols, i / cols, i % cols);
            let (t, d) = data[i];
            let (m11, m12, m22) = (t[0] + k, t[1], t[2] + k);
            let det = m11 * m22 - m12 * m12;
            (det > 0.0 && det.is_finite()).then(|| System {
                inverse: [m22 / det, -m12 / det, m11 / det],
                data: [t[0] * d[0] + t[1] * d[1], t[1] * d[0] + t[2] * d[1]],
            })
        })
        .collect();
    let grid = Grid {
        systems: &systems,
        rows,
        cols,
        neighbour_weight,
    };
    for _ in 0..SWEEPS {
        let mut moved = 0f32;
        for r in 0..rows {
            for c in 0..cols {
                moved = moved.max(grid.relax(&mut flow, r, c));
            }
        }
        for r in (0..rows).rev() {
            for c in (0..cols).rev() {
                moved = moved.max(grid.relax(&mut flow, r, c));
            }
        }
        if moved < SETTLED {
            break;
        }
    }
    Propagated { flow, valid }
}

/// The systems of a level's grid, for the sweeps.
struct Grid<'a> {
    systems: &'a [Option<System>],
    rows: usize,
    cols: usize,
    neighbour_weight: f32,
}

impl Grid<'_> {
    /// Solves cell `(r, c)`'s system with its neighbours' current vectors; returns how far its
    /// vector moved (0 for a kept cell).
    #[inline(always)]
    fn relax(&self, flow: &mut [[f32; 2]], r: usize, c: usize) -> f32 {
        let i = r * self.cols + c;
        let Some(s) = &self.systems[i] else {
            return 0.0;
        };
        let p = predict(flow, self.rows, self.cols, r, c);
        let b0 = s.data[0] + self.neighbour_weight * p[0];
        let b1 = s.data[1] + self.neighbour_weight * p[1];
        let v = [
            s.inverse[0] * b0 + s.inverse[1] * b1,
            s.inverse[1] * b0 + s.inverse[2] * b1,
        ];
        let moved = (v[0] - flow[i][0]).abs().max((v[1] - flow[i][1]).abs());
        flow[i] = v;
        moved
    }
}

/// One free cell's system: the inverse `(a, b, c)` of `[[a, b], [b, c]]` and the data term.
struct System {
    inverse: [f32; 3],
    data: [f32; 2],
}

/// The normalised median test of cell `i` against its valid 3 × 3 neighbours (needs 3).
#[inline(always)]
fn is_outlier(cells: &[Cell], valid: &[bool], rows: usize, cols: usize, i: usize) -> bool {
    let (r, c) = (i / cols, i % cols);
    let mut xs = [0f32; 8];
    let mut ys = [0f32; 8];
    let mut m = 0;
    for rr in r.saturating_sub(1)..(r + 2).min(rows) {
        for cc in c.saturating_sub(1)..(c + 2).min(cols) {
            let j = rr * cols + cc;
            if j != i && valid[j] {
                let d = cells[j].track.d;
                xs[m] = d[0];
                ys[m] = d[1];
                m += 1;
            }
        }
    }
    if m < 3 {
        return false;
    }
    let d = cells[i].track.d;
    normalised_residual(&mut xs[..m], d[0]) > OUTLIER_RATIO
        || normalised_residual(&mut ys[..m], d[1]) > OUTLIER_RATIO
}

/// `|x − median| / (median of |neighbour − median| + noise)` over `values` (reordered).
#[inline(always)]
fn normalised_residual(values: &mut [f32], x: f32) -> f32 {
    let med = median(values);
    for v in values.iter_mut() {
        *v = (*v - med).abs();
    }
    (x - med).abs() / (median(values) + OUTLIER_NOISE)
}

#[inline(always)]
fn median(values: &mut [f32]) -> f32 {
    values.sort_unstable_by(f32::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        0.5 * (values[n / 2 - 1] + values[n / 2])
    }
}

/// Neighbour cells that inform cell `(r, c)`'s prediction: two per axis that has a neighbour.
#[inline(always)]
fn neighbour_cells(rows: usize, cols: usize, _r: usize, _c: usize) -> f32 {
    2.0 * (f32::from(u8::from(cols > 1)) + f32::from(u8::from(rows > 1)))
}

/// Sum of the neighbour predictions of cell `(r, c)`, each counted for the two cells it rests
/// on: per axis the two neighbours, or at the border the linear extrapolation of the two on one
/// side (`2a − b`, twice), or the one there is (twice).
#[inline(always)]
fn predict(flow: &[[f32; 2]], rows: usize, cols: usize, r: usize, c: usize) -> [f32; 2] {
    let i = r * cols + c;
    if r >= 1 && c >= 1 && r + 1 < rows && c + 1 < cols {
        let (a, b, u, d) = (flow[i - 1], flow[i + 1], flow[i - cols], flow[i + cols]);
        return [a[0] + b[0] + u[0] + d[0], a[1] + b[1] + u[1] + d[1]];
    }
    let mut sum = [0f32; 2];
    let mut axis =
        |lo: Option<usize>, far_lo: Option<usize>, hi: Option<usize>, far_hi: Option<usize>| {
            let (p0, p1) = match (lo, hi) {
                (Some(a), Some(b)) => (flow[a][0] + flow[b][0], flow[a][1] + flow[b][1]),
                (Some(a), None) | (None, Some(a)) => match far_lo.or(far_hi) {
                    Some(f) => (
                        2.0 * (2.0 * flow[a][0] - flow[f][0]),
                        2.0 * (2.0 * flow[a][1] - flow[f][1]),
                    ),
                    None => (2.0 * flow[a][0], 2.0 * flow[a][1]),
                },
                (None, None) => return,
            };
            sum[0] += p0;
            sum[1] += p1;
        };
    axis(
        (c >= 1).then(|| i - 1),
        (c >= 2).then(|| i - 2),
        (c + 1 < cols).then(|| i + 1),
        (c + 2 < cols).then(|| i + 2),
    );
    axis(
        (r >= 1).then(|| i - cols),
        (r >= 2).then(|| i - 2 * cols),
        (r + 1 < rows).then(|| i + cols),
        (r + 2 < rows).then(|| i + 2 * cols),
    );
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tracked cell with displacement `d` and an isotropic tensor of `texture` grey²/px².
    fn tracked(d: [f32; 2], texture: f32, keep: bool) -> Cell {
        Cell {
            track: Track {
                d,
                min_eig: texture,
                tensor: [texture, 0.0, texture],
                rms: 0.0,
                inside: 1.0,
                ok: true,
            },
            init: [0.0, 0.0],
            keep,
        }
    }

    fn untracked() -> Cell {
        let mut c = tracked([0.0, 0.0], 0.0, false);
        c.track.ok = false;
        c
    }

    #[test]
    fn flat_cells_take_the_measured_motion_around_them() {
        // A 6 × 6 grid whose inner 4 × 4 block measured nothing, in a ring moving (1.5, -0.5).
        let (rows, cols) = (6, 6);
        let cells: Vec<Cell> = (0..rows * cols)
            .map(|i| {
                let (r, c) = (i / cols, i % cols);
                if (1..5).contains(&r) && (1..5).contains(&c) {
                    untracked()
                } else {
                    tracked([1.5, -0.5], 10.0, true)
                }
            })
            .collect();
        let out = propagate(&cells, rows, cols, 8.0, 2.0);
        for (i, v) in out.flow.iter().enumerate() {
            assert!(
                (v[0] - 1.5).abs() < 0.01 && (v[1] + 0.5).abs() < 0.01,
                "{i}: {v:?}"
            );
        }
        assert_eq!(out.valid.iter().filter(|&&v| !v).count(), 16);
    }

    #[test]
    fn a_stray_weak_vector_is_rejected() {
        // Weakly textured cells agree on (2, 1) but one, started from a bad guess, says (-6, 4).
        let (rows, cols) = (5, 5);
        let mut cells: Vec<Cell> = (0..rows * cols)
            .map(|_| tracked([2.0, 1.0], 0.5, false))
            .collect();
        cells[12] = tracked([-6.0, 4.0], 0.5, false);
        let out = propagate(&cells, rows, cols, 8.0, 2.0);
        assert!(!out.valid[12]);
        assert_eq!(out.valid.iter().filter(|&&v| v).count(), 24);
        let v = out.flow[12];
        assert!(
            (v[0] - 2.0).abs() < 0.01 && (v[1] - 1.0).abs() < 0.01,
            "{v:?}"
        );
    }

    #[test]
    fn a_confident_vector_is_kept_even_if_alone() {
        // One small object moving alone among still, confident cells keeps its motion.
        let (rows, cols) = (5, 5);
        let mut cells: Vec<Cell> = (0..rows * cols)
            .map(|_| tracked([0.0, 0.0], 10.0, true))
            .collect();
        cells[12] = tracked([3.0, 0.0], 10.0, true);
        let out = propagate(&cells, rows, cols, 8.0, 2.0);
        assert!(out.valid.iter().all(|&v| v));
        assert_eq!(out.flow[12], [3.0, 0.0]);
    }

    #[test]
    fn a_weakly_measured_zoom_is_not_flattened_at_the_border() {
        // Every cell measured a zoom (u = 0.1 · (c − 4), v = 0.1 · (r − 3)) on weak texture.
        // Neighbour predictions extrapolate at the border, so the field stays as measured
        // (copying the inner neighbour would pull the border cells 0.1 px inwards).
        let (rows, cols) = (7, 9);
        let zoom = |i: usize| {
            [
                0.1 * ((i % cols) as f32 - 4.0),
                0.1 * ((i / cols) as f32 - 3.0),
            ]
        };
        let cells: Vec<Cell> = (0..rows * cols)
            .map(|i| tracked(zoom(i), 0.5, false))
            .collect();
        let out = propagate(&cells, rows, cols, 8.0, 2.0);
        for (i, v) in out.flow.iter().enumerate() {
            let z = zoom(i);
            assert!(
                (v[0] - z[0]).abs() < 1e-4 && (v[1] - z[1]).abs() < 1e-4,
                "{i}: {v:?} vs {z:?}"
            );
        }
    }

    #[test]
    fn degenerate_grids_do_not_panic() {
        for (rows, cols) in [(1, 1), (1, 5), (4, 1), (2, 2)] {
            let cells: Vec<Cell> = (0..rows * cols).map(|_| untracked()).collect();
            let out = propagate(&cells, rows, cols, 8.0, 2.0);
            assert_eq!(out.flow.len(), rows * cols);
            assert!(out
                .flow
                .iter()
                .all(|v| v[0].is_finite() && v[1].is_finite()));
        }
        let cells = vec![tracked([f32::MAX, f32::MAX], f32::MAX, false); 9];
        let out = propagate(&cells, 3, 3, 8.0, 2.0);
        assert_eq!(out.flow.len(), 9);
    }
}
