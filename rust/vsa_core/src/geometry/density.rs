//! Crowd density on a ground grid: persons per m², each person a small Gaussian.
//!
//! The grid has `rows × cols` square cells of side `cell` (metres); cell `(r, c)` covers
//! `[ox + c·cell, ox + (c+1)·cell) × [oy + r·cell, oy + (r+1)·cell)` of the ground, `(ox, oy)`
//! being the origin. Each person adds the mass of an isotropic Gaussian of standard deviation
//! `sigma` truncated at ±3σ on each axis, integrated exactly over each cell (through `erf`) and
//! renormalised so that the truncated kernel holds exactly one person; a cell's value is its
//! mass divided by the cell area. The grid therefore sums (times the cell area) to the number
//! of persons, less the part of the kernels of persons near the border that falls outside it.
//! With `sigma = 0` each person lands in its cell.

use super::{GeometryError, Point};

/// Kernel truncation, in standard deviations.
pub const TRUNCATION: f64 = 3.0;

/// Largest grid accepted, in cells.
pub const MAX_CELLS: usize = 1 << 26;

/// The geometry of a ground grid (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridSpec {
    /// Ground position of the corner of cell `(0, 0)`.
    pub origin: Point,
    /// Side of a cell, in metres (> 0).
    pub cell: f64,
    /// Number of cells along the ground `y` axis.
    pub rows: usize,
    /// Number of cells along the ground `x` axis.
    pub cols: usize,
}

impl GridSpec {
    /// Checks the spec: finite origin, positive finite cell, at most [`MAX_CELLS`] cells.
    pub fn check(&self) -> Result<(), GeometryError> {
        if !(self.origin.0.is_finite() && self.origin.1.is_finite()) {
            return Err(GeometryError::invalid(
                "origin",
                format!("must be finite, got {:?}", self.origin),
            ));
        }
        if !(self.cell > 0.0 && self.cell.is_finite()) {
            return Err(GeometryError::invalid(
                "cell_m",
                format!("must be finite and > 0, got {}", self.cell),
            ));
        }
        if self
            .rows
            .checked_mul(self.cols)
            .is_none_or(|n| n > MAX_CELLS)
        {
            return Err(GeometryError::invalid(
                "shape",
                format!(
                    "has too many cells: ({}, {}), at most {MAX_CELLS}",
                    self.rows, self.cols
                ),
            ));
        }
        Ok(())
    }
}

/// `erf(x)`: near machine precision for `|x| < 3` (the range the kernel uses, a positive
/// series with no cancellation), about 1e-7 relative on `erfc` beyond (Numerical Recipes'
/// Chebyshev fit); odd by construction.
pub fn erf(x: f64) -> f64 {
    let z = x.abs();
    let value = if z < 3.0 {
        // erf(z) = 2/√π · e^(−z²) · Σ 2ⁿ z^(2n+1) / (1·3·…·(2n+1))
        let mut term = z;
        let mut sum = z;
        let mut n = 0.0;
        while term > 1e-17 * sum {
            n += 1.0;
            term *= 2.0 * z * z / (2.0 * n + 1.0);
            sum += term;
        }
        2.0 / std::f64::consts::PI.sqrt() * (-z * z).exp() * sum
    } else {
        let t = 1.0 / (1.0 + 0.5 * z);
        let poly = -z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77))))))));
        1.0 - t * poly.exp()
    };
    if x < 0.0 {
        -value
    } else {
        value
    }
}

/// The weights of one axis: the first cell index (may be negative) and the normalised mass of
/// each cell of the truncated kernel centred at `x`.
fn axis_weights(x: f64, origin: f64, cell: f64, sigma: f64, out: &mut Vec<f64>) -> i64 {
    out.clear();
    if sigma <= 0.0 {
        out.push(1.0);
        return ((x - origin) / cell).floor() as i64;
    }
    let half = TRUNCATION * sigma;
    let first = ((x - half - origin) / cell).floor() as i64;
    let last = ((x + half - origin) / cell).floor() as i64;
    let cdf = |edge: f64| {
        erf(((edge - x) / sigma).clamp(-TRUNCATION, TRUNCATION) / std::f64::consts::SQRT_2)
    };
    let mut lower = cdf(origin + first as f64 * cell);
    for k in first..=last {
        let upper = cdf(origin + (k + 1) as f64 * cell);
        out.push(upper - lower);
        lower = upper;
    }
    let total: f64 = out.iter().sum();
    if total > 0.0 {
        out.iter_mut().for_each(|w| *w /= total);
    }
    first
}

/// Persons per m² on the grid `spec`, row-major `rows × cols` (see the module doc).
///
/// Points with a non-finite coordinate are skipped. Errors on a bad spec or `sigma`.
pub fn density_grid<I>(points: I, spec: &GridSpec, sigma: f64) -> Result<Vec<f64>, GeometryError>
where
    I: IntoIterator<Item = Point>,
{
    spec.check()?;
    if !(sigma >= 0.0 && sigma.is_finite()) {
        return Err(GeometryError::invalid(
            "sigma_m",
            format!("must be finite and >= 0, got {sigma}"),
        ));
    }
    let (rows, cols) = (spec.rows, spec.cols);
    let mut grid = vec![0.0; rows * cols];
    if rows == 0 || cols == 0 {
        return Ok(grid);
    }
    let per_m2 = 1.0 / (spec.cell * spec.cell);
    let (mut wx, mut wy) = (Vec::new(), Vec::new());
    for (x, y) in points {
        if !(x.is_finite() && y.is_finite()) {
            continue;
        }
        let c0 = axis_weights(x, spec.origin.0, spec.cell, sigma, &mut wx);
        let r0 = axis_weights(y, spec.origin.1, spec.cell, sigma, &mut wy);
        for (i, &w_row) in wy.iter().enumerate() {
            let Ok(r) = usize::try_from(r0 + i as i64) else {
                continue;
            };
            if r >= rows {
                break;
            }
            let row = &mut grid[r * cols..(r + 1) * cols];
            for (j, &w_col) in wx.iter().enumerate() {
                let Ok(c) = usize::try_from(c0 + j as i64) else {
                    continue;
                };
                if c >= cols {
                    break;
                }
                row[c] += w_row * w_col * per_m2;
            }
        }
    }
    Ok(grid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    fn spec(rows: usize, cols: usize, cell: f64) -> GridSpec {
        GridSpec {
            origin: (0.0, 0.0),
            cell,
            rows,
            cols,
        }
    }

    #[test]
    fn erf_values() {
        assert_eq!(erf(0.0), 0.0);
        assert!((erf(1.0) - 0.842_700_792_949_714_9).abs() < 1e-15);
        assert!((erf(-2.0) + 0.995_322_265_018_952_7).abs() < 1e-15);
        assert!((erf(2.9) - 0.999_958_902_121_900_7).abs() < 1e-15);
        assert!((erf(3.5) - 0.999_999_256_901_627_7).abs() < 1e-9);
        assert!((erf(30.0) - 1.0).abs() < 1e-15);
        assert_eq!(erf(0.3), -erf(-0.3));
    }

    #[test]
    fn integrates_to_the_count() {
        let mut rng = Rng::new(1);
        let s = spec(40, 60, 0.5);
        // Persons at least 3σ from the border.
        let pts: Vec<Point> = (0..25)
            .map(|_| (3.0 + 24.0 * rng.uniform(), 3.0 + 14.0 * rng.uniform()))
            .collect();
        for sigma in [0.0, 0.1, 0.5, 0.9] {
            let grid = density_grid(pts.iter().copied(), &s, sigma).unwrap();
            let total: f64 = grid.iter().sum::<f64>() * 0.25;
            assert!((total - 25.0).abs() < 1e-9, "{sigma}: {total}");
            assert!(grid.iter().all(|&v| v >= 0.0));
        }
    }

    #[test]
    fn one_person_is_centred_and_symmetric() {
        let s = spec(9, 9, 1.0);
        let grid = density_grid([(4.5, 4.5)], &s, 0.6).unwrap();
        let at = |r: usize, c: usize| grid[r * 9 + c];
        assert!(at(4, 4) > at(4, 5) && at(4, 5) > at(4, 6));
        assert!((at(4, 3) - at(4, 5)).abs() < 1e-12 && (at(3, 4) - at(5, 4)).abs() < 1e-12);
        assert_eq!(at(0, 0), 0.0);
        // sigma 0: one cell holds the person, per m².
        let s = spec(4, 4, 0.5);
        let grid = density_grid([(1.2, 0.3), (1.4, 0.1)], &s, 0.0).unwrap();
        assert_eq!(grid[2], 8.0);
        assert_eq!(grid.iter().filter(|&&v| v != 0.0).count(), 1);
    }

    #[test]
    fn border_and_bad_points() {
        let s = spec(4, 4, 1.0);
        // Half a person falls outside the left edge; far away and NaN points add nothing.
        let grid = density_grid([(0.0, 2.0), (100.0, 2.0), (f64::NAN, 1.0)], &s, 0.3).unwrap();
        let total: f64 = grid.iter().sum();
        assert!((total - 0.5).abs() < 1e-9, "{total}");
        assert!(density_grid([(0.0, 0.0)], &s, -1.0).is_err());
        assert!(density_grid([(0.0, 0.0)], &spec(4, 4, 0.0), 1.0).is_err());
        assert!(density_grid([(0.0, 0.0)], &spec(1 << 20, 1 << 20, 1.0), 1.0).is_err());
        assert_eq!(
            density_grid([(0.0, 0.0)], &spec(0, 4, 1.0), 1.0).unwrap(),
            vec![]
        );
    }
}
