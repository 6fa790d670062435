//! Frame statistics of a flow grid: speeds, direction histogram, divergence, curl, coherence.

/// Summary of one flow grid.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowStats {
    /// Mean speed (px/frame) over confident cells; 0 when there is none.
    pub mean_speed: f32,
    /// Median speed over confident cells.
    pub p50_speed: f32,
    /// 90th-percentile speed over confident cells.
    pub p90_speed: f32,
    /// Speed-weighted histogram of directions of the confident moving cells; bin `k` is
    /// centred on angle `k · 360° / bins`, measured from +x towards +y (image y points down).
    pub histogram: Vec<f32>,
    /// `|mean vector| / mean |vector|` over confident moving cells, in [0, 1]; 0 when none.
    pub coherence: f32,
    /// Fraction of cells that are confident.
    pub confident_fraction: f32,
    /// Fraction of cells that are confident and move at least `min_speed`.
    pub moving_fraction: f32,
    /// Per-cell divergence, 1/frame (`∂u/∂x + ∂v/∂y`, central differences on the grid).
    pub divergence: Vec<f32>,
    /// Per-cell curl, 1/frame (`∂v/∂x − ∂u/∂y`).
    pub curl: Vec<f32>,
    /// Mean divergence over confident cells.
    pub mean_divergence: f32,
    /// Mean curl over confident cells.
    pub mean_curl: f32,
}

/// Percentile `q` in [0, 1] of sorted values by linear interpolation (numpy's default).
#[inline(always)]
fn percentile(sorted: &[f32], q: f32) -> f32 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q * (sorted.len() - 1) as f32;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f32)
}

/// Derivative along one grid axis at index `i` of `n` (central, one-sided at the ends, 0 for
/// a single cell), given the values at `i-1`, `i`, `i+1` through `at`.
#[inline(always)]
fn diff(i: usize, n: usize, at: impl Fn(usize) -> f32) -> f32 {
    if n < 2 {
        0.0
    } else if i == 0 {
        at(1) - at(0)
    } else if i == n - 1 {
        at(n - 1) - at(n - 2)
    } else {
        0.5 * (at(i + 1) - at(i - 1))
    }
}

/// Statistics of a `rows × cols` grid of vectors with confidences; `cell` is the grid spacing
/// in pixels (for divergence and curl), `min_confidence` and `min_speed` select confident and
/// moving cells.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn flow_stats(
    flow: &[[f32; 2]],
    confidence: &[f32],
    rows: usize,
    cols: usize,
    cell: f32,
    min_confidence: f32,
    min_speed: f32,
    bins: usize,
) -> FlowStats {
    let n = rows * cols;
    let mut speeds = Vec::with_capacity(n);
    let mut histogram = vec![0f32; bins.max(1)];
    let (mut sum_u, mut sum_v, mut sum_mag, mut moving) = (0f64, 0f64, 0f64, 0usize);
    for (v, &c) in flow.iter().zip(confidence) {
        if c < min_confidence || c <= 0.0 {
            continue;
        }
        let speed = (v[0] * v[0] + v[1] * v[1]).sqrt();
        speeds.push(speed);
        if speed >= min_speed && speed > 0.0 {
            moving += 1;
            sum_u += f64::from(v[0]);
            sum_v += f64::from(v[1]);
            sum_mag += f64::from(speed);
            let angle = v[1].atan2(v[0]).rem_euclid(std::f32::consts::TAU);
            let width = std::f32::consts::TAU / histogram.len() as f32;
            let bin = ((angle / width + 0.5).floor() as usize) % histogram.len();
            histogram[bin] += speed;
        }
    }
    let confident = speeds.len();
    let mean_speed = if confident > 0 {
        speeds.iter().map(|&s| f64::from(s)).sum::<f64>() as f32 / confident as f32
    } else {
        0.0
    };
    speeds.sort_by(f32::total_cmp);
    let coherence = if moving > 0 && sum_mag > 0.0 {
        ((sum_u * sum_u + sum_v * sum_v).sqrt() / sum_mag).min(1.0) as f32
    } else {
        0.0
    };
    let mut divergence = vec![0f32; n];
    let mut curl = vec![0f32; n];
    let (mut sum_div, mut sum_curl) = (0f64, 0f64);
    let scale = 1.0 / cell.max(f32::MIN_POSITIVE);
    for r in 0..rows {
        for c in 0..cols {
            let i = r * cols + c;
            let dudx = diff(c, cols, |k| flow[r * cols + k][0]);
            let dvdx = diff(c, cols, |k| flow[r * cols + k][1]);
            let dudy = diff(r, rows, |k| flow[k * cols + c][0]);
            let dvdy = diff(r, rows, |k| flow[k * cols + c][1]);
            divergence[i] = (dudx + dvdy) * scale;
            curl[i] = (dvdx - dudy) * scale;
            if confidence[i] >= min_confidence && confidence[i] > 0.0 {
                sum_div += f64::from(divergence[i]);
                sum_curl += f64::from(curl[i]);
            }
        }
    }
    let per = |s: f64| {
        if confident > 0 {
            (s / confident as f64) as f32
        } else {
            0.0
        }
    };
    FlowStats {
        mean_speed,
        p50_speed: percentile(&speeds, 0.5),
        p90_speed: percentile(&speeds, 0.9),
        histogram,
        coherence,
        confident_fraction: if n > 0 {
            confident as f32 / n as f32
        } else {
            0.0
        },
        moving_fraction: if n > 0 { moving as f32 / n as f32 } else { 0.0 },
        divergence,
        curl,
        mean_divergence: per(sum_div),
        mean_curl: per(sum_curl),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_translation() {
        let flow = vec![[2.0, 0.0]; 12];
        let conf = vec![1.0; 12];
        let s = flow_stats(&flow, &conf, 3, 4, 16.0, 0.1, 0.5, 8);
        assert_eq!(s.mean_speed, 2.0);
        assert_eq!(s.p90_speed, 2.0);
        assert!((s.coherence - 1.0).abs() < 1e-6);
        assert_eq!(s.histogram[0], 24.0);
        assert!(s.divergence.iter().all(|&d| d == 0.0));
        // Downwards is bin 2 of 8 (image y points down).
        let down = flow_stats(&[[0.0, 1.0]; 4], &[1.0; 4], 2, 2, 16.0, 0.1, 0.5, 8);
        assert_eq!(down.histogram[2], 4.0);
    }

    #[test]
    fn expansion_and_rotation() {
        let (rows, cols) = (5, 7);
        let mut grow = Vec::new();
        let mut spin = Vec::new();
        for r in 0..rows {
            for c in 0..cols {
                let (x, y) = ((c as f32 - 3.0) * 16.0, (r as f32 - 2.0) * 16.0);
                grow.push([0.01 * x, 0.01 * y]);
                spin.push([-0.01 * y, 0.01 * x]);
            }
        }
        let conf = vec![1.0; rows * cols];
        let g = flow_stats(&grow, &conf, rows, cols, 16.0, 0.1, 0.0, 8);
        assert!(g.divergence.iter().all(|&d| (d - 0.02).abs() < 1e-5));
        assert!(g.curl.iter().all(|&d| d.abs() < 1e-5));
        assert!(g.coherence < 0.1);
        let s = flow_stats(&spin, &conf, rows, cols, 16.0, 0.1, 0.0, 8);
        assert!(s.curl.iter().all(|&d| (d - 0.02).abs() < 1e-5));
        assert!((s.mean_divergence).abs() < 1e-5);
    }

    #[test]
    fn nothing_confident_gives_zeros() {
        let s = flow_stats(&[[1.0, 1.0]; 4], &[0.0; 4], 2, 2, 16.0, 0.1, 0.5, 16);
        assert_eq!((s.mean_speed, s.coherence, s.p50_speed), (0.0, 0.0, 0.0));
        assert_eq!(s.histogram.len(), 16);
    }
}
