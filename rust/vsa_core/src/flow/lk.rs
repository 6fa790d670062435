//! Lucas–Kanade on one window: inverse-compositional Gauss–Newton for a pure translation.
//!
//! The template is the previous frame's window (its gradients and structure tensor are
//! computed once); each iteration samples the next frame bilinearly at the window shifted by the
//! current estimate. With a pure translation every pixel shares the same bilinear weights, so an
//! iteration is four multiply-adds per pixel plus the three sums, in 8-wide lanes.

use super::pyramid::Level;

/// Gauss–Newton stops when a step is shorter than this (pixels of the level).
const CONVERGED: f32 = 0.03;
const LANES: usize = 8;
const _: () = assert!(LANES == 8);

/// What tracking one window gave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Track {
    /// Displacement in pixels of this level.
    pub d: [f32; 2],
    /// Smallest eigenvalue of the structure tensor divided by the pixel count (grey²/px²).
    pub min_eig: f32,
    /// The structure tensor `(Σgx², Σgx·gy, Σgy²)` divided by the pixel count (grey²/px²).
    pub tensor: [f32; 3],
    /// Root-mean-square residual after the last iteration (grey levels).
    pub rms: f32,
    /// Fraction of the window whose samples were inside the next frame (last iteration).
    pub inside: f32,
    /// False when the window left the frame or the tensor is singular.
    pub ok: bool,
}

/// `x.floor()` for |x| < 2³¹ without a libm call (no `roundps` in baseline x86-64).
#[inline(always)]
fn floor(x: f32) -> f32 {
    let t = x as i32 as f32;
    if t > x {
        t - 1.0
    } else {
        t
    }
}

/// Sums of `f(a, b)` over two equal slices in 8 lanes (so that the loop vectorises).
#[inline(always)]
fn lane_sum3(
    gx: &[f32],
    gy: &[f32],
    f: impl Fn(f32, f32) -> (f32, f32, f32),
    acc: &mut [[f32; LANES]; 3],
) -> (f32, f32, f32) {
    let n = gx.len() / LANES * LANES;
    for (a, b) in gx[..n].chunks_exact(LANES).zip(gy[..n].chunks_exact(LANES)) {
        for k in 0..LANES {
            let (p, q, r) = f(a[k], b[k]);
            acc[0][k] += p;
            acc[1][k] += q;
            acc[2][k] += r;
        }
    }
    let mut tail = (0.0, 0.0, 0.0);
    for (&a, &b) in gx[n..].iter().zip(&gy[n..]) {
        let (p, q, r) = f(a, b);
        tail.0 += p;
        tail.1 += q;
        tail.2 += r;
    }
    tail
}

#[inline(always)]
fn finish(acc: &[[f32; LANES]; 3], tail: (f32, f32, f32)) -> (f32, f32, f32) {
    (
        acc[0].iter().sum::<f32>() + tail.0,
        acc[1].iter().sum::<f32>() + tail.1,
        acc[2].iter().sum::<f32>() + tail.2,
    )
}

/// Tracks the `w × h` window of `prev` whose top-left pixel is `(x0, y0)` (inside the
/// level) into `next`, starting from displacement `d`. A window whose smallest structure-tensor
/// eigenvalue per pixel is below `min_eigen` cannot be measured: it returns at once, not ok,
/// without iterating (the caller discards such a window's displacement anyway).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn track_window(
    prev: &Level,
    next: &Level,
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
    step: usize,
    mut d: [f32; 2],
    iterations: usize,
    min_eigen: f32,
) -> Track {
    let step = step.max(1);
    let lw = prev.width;
    let n = w.div_ceil(step) * h.div_ceil(step);
    let mut acc = [[0f32; LANES]; 3];
    let mut tail = (0.0, 0.0, 0.0);
    for y in (y0..y0 + h).step_by(step) {
        let (gx, gy) = (&prev.gx[y * lw + x0..][..w], &prev.gy[y * lw + x0..][..w]);
        if step == 1 {
            let t = lane_sum3(gx, gy, |a, b| (a * a, a * b, b * b), &mut acc);
            tail = (tail.0 + t.0, tail.1 + t.1, tail.2 + t.2);
        } else if step == 2 && w % (2 * LANES) == 0 {
            for (a, b) in gx.chunks_exact(2 * LANES).zip(gy.chunks_exact(2 * LANES)) {
                for k in 0..LANES {
                    let (p, q) = (a[2 * k], b[2 * k]);
                    acc[0][k] += p * p;
                    acc[1][k] += p * q;
                    acc[2][k] += q * q;
                }
            }
        } else {
            for (&a, &b) in gx.iter().step_by(step).zip(gy.iter().step_by(step)) {
                tail.0 += a * a;
                tail.1 += a * b;
                tail.2 += b * b;
            }
        }
    }
    let (a11, a12, a22) = finish(&acc, tail);
    let det = a11 * a22 - a12 * a12;
    let half_tr = 0.5 * (a11 + a22);
    let min_eig = (half_tr - (0.25 * (a11 - a22) * (a11 - a22) + a12 * a12).sqrt()).max(0.0);
    let min_eig = min_eig / n as f32;
    let tensor = [a11 / n as f32, a12 / n as f32, a22 / n as f32];
    if det <= f32::EPSILON * (a11 * a22).max(1.0) || min_eig <= 1e-6 || min_eig < min_eigen {
        return Track {
            d,
            min_eig,
            tensor,
            rms: 0.0,
            inside: 0.0,
            ok: false,
        };
    }
    let (i11, i12, i22) = (a22 / det, -a12 / det, a11 / det);
    let mut rms = 0.0;
    let mut inside = 1.0;
    let mut ok = true;
    for _ in 0..iterations.max(1) {
        let Some((valid, bx, by, sse)) = residual(prev, next, x0, y0, w, h, step, d) else {
            ok = false;
            break;
        };
        rms = (sse / valid as f32).sqrt();
        inside = valid as f32 / n as f32;
        let dx = i11 * bx + i12 * by;
        let dy = i12 * bx + i22 * by;
        d[0] -= dx;
        d[1] -= dy;
        if !(d[0].is_finite() && d[1].is_finite()) {
            ok = false;
            break;
        }
        if dx * dx + dy * dy < CONVERGED * CONVERGED {
            break;
        }
    }
    Track {
        d,
        min_eig,
        tensor,
        rms,
        inside,
        ok,
    }
}

/// `(valid pixels, Σ gx·e, Σ gy·e, Σ e²)` with `e = next(x + d) − prev(x)` over the window, or
/// `None` when the shifted window lies entirely outside `next`.
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
#[inline(always)]
fn residual(
    prev: &Level,
    next: &Level,
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
    step: usize,
    d: [f32; 2],
) -> Option<(usize, f32, f32, f32)> {
    let pw = prev.width;
    let (lw, lh) = (next.width as isize, next.height as isize);
    if !(d[0].abs() < 1e6 && d[1].abs() < 1e6) {
        return None;
    }
    let (fx, fy) = (floor(d[0]), floor(d[1]));
    let (ix, iy) = (x0 as isize + fx as isize, y0 as isize + fy as isize);
    if ix + w as isize <= 0 || iy + h as isize <= 0 || ix >= lw || iy >= lh {
        return None;
    }
    let (ax, ay) = (d[0] - fx, d[1] - fy);
    let w00 = (1.0 - ax) * (1.0 - ay);
    let w01 = ax * (1.0 - ay);
    let w10 = (1.0 - ax) * ay;
    let w11 = ax * ay;
    let inside = ix >= 0 && iy >= 0 && ix + (w as isize) < lw && iy + (h as isize) < lh;
    let mut acc = [[0f32; LANES]; 3];
    let mut tail = (0f32, 0f32, 0f32);
    let mut valid = if inside {
        w.div_ceil(step) * h.div_ceil(step)
    } else {
        0
    };
    for r in (0..h).step_by(step) {
        let p = (y0 + r) * pw + x0;
        let (t, gx, gy) = (&prev.data[p..p + w], &prev.gx[p..p + w], &prev.gy[p..p + w]);
        if inside && step == 2 {
            // Every other pixel: blocks of 16 source pixels give 8 lanes.
            let base = (iy as usize + r) * lw as usize + ix as usize;
            let a = &next.data[base..base + w + 1];
            let b = &next.data[base + lw as usize..base + lw as usize + w + 1];
            let n = w / (2 * LANES) * (2 * LANES);
            for c in (0..n).step_by(2 * LANES) {
                let a: &[f32; 2 * LANES + 1] =
                    a[c..c + 2 * LANES + 1].try_into().unwrap_or(&[0.0; 17]);
                let b: &[f32; 2 * LANES + 1] =
                    b[c..c + 2 * LANES + 1].try_into().unwrap_or(&[0.0; 17]);
                let t: &[f32; 2 * LANES] = t[c..c + 2 * LANES].try_into().unwrap_or(&[0.0; 16]);
                let gx: &[f32; 2 * LANES] = gx[c..c + 2 * LANES].try_into().unwrap_or(&[0.0; 16]);
                let gy: &[f32; 2 * LANES] = gy[c..c + 2 * LANES].try_into().unwrap_or(&[0.0; 16]);
                for k in 0..LANES {
                    let i = 2 * k;
                    let e = w00 * a[i] + w01 * a[i + 1] + w10 * b[i] + w11 * b[i + 1] - t[i];
                    acc[0][k] += gx[i] * e;
                    acc[1][k] += gy[i] * e;
                    acc[2][k] += e * e;
                }
            }
            for k in (n..w).step_by(2) {
                let e = w00 * a[k] + w01 * a[k + 1] + w10 * b[k] + w11 * b[k + 1] - t[k];
                tail.0 += gx[k] * e;
                tail.1 += gy[k] * e;
                tail.2 += e * e;
            }
        } else if inside && step > 1 {
            let base = (iy as usize + r) * lw as usize + ix as usize;
            let a = &next.data[base..base + w + 1];
            let b = &next.data[base + lw as usize..base + lw as usize + w + 1];
            for k in (0..w).step_by(step) {
                let e = w00 * a[k] + w01 * a[k + 1] + w10 * b[k] + w11 * b[k + 1] - t[k];
                tail.0 += gx[k] * e;
                tail.1 += gy[k] * e;
                tail.2 += e * e;
            }
        } else if inside {
            let base = (iy as usize + r) * lw as usize + ix as usize;
            let a = &next.data[base..base + w + 1];
            let b = &next.data[base + lw as usize..base + lw as usize + w + 1];
            let n = w / LANES * LANES;
            for c in (0..n).step_by(LANES) {
                let a: &[f32; LANES + 1] = a[c..c + LANES + 1].try_into().unwrap_or(&[0.0; 9]);
                let b: &[f32; LANES + 1] = b[c..c + LANES + 1].try_into().unwrap_or(&[0.0; 9]);
                let t: &[f32; LANES] = t[c..c + LANES].try_into().unwrap_or(&[0.0; 8]);
                let gx: &[f32; LANES] = gx[c..c + LANES].try_into().unwrap_or(&[0.0; 8]);
                let gy: &[f32; LANES] = gy[c..c + LANES].try_into().unwrap_or(&[0.0; 8]);
                for k in 0..LANES {
                    let e = w00 * a[k] + w01 * a[k + 1] + w10 * b[k] + w11 * b[k + 1] - t[k];
                    acc[0][k] += gx[k] * e;
                    acc[1][k] += gy[k] * e;
                    acc[2][k] += e * e;
                }
            }
            for k in n..w {
                let e = w00 * a[k] + w01 * a[k + 1] + w10 * b[k] + w11 * b[k + 1] - t[k];
                tail.0 += gx[k] * e;
                tail.1 += gy[k] * e;
                tail.2 += e * e;
            }
        } else {
            // Pixels whose sample falls outside the frame carry no evidence.
            let yy = iy + r as isize;
            if yy < 0 || yy + 1 >= lh {
                continue;
            }
            for k in (0..w).step_by(step) {
                let xx = ix + k as isize;
                if xx >= 0 && xx + 1 < lw {
                    let base = yy as usize * lw as usize + xx as usize;
                    let (a, b) = (&next.data[base..], &next.data[base + lw as usize..]);
                    let e = w00 * a[0] + w01 * a[1] + w10 * b[0] + w11 * b[1] - t[k];
                    tail.0 += gx[k] * e;
                    tail.1 += gy[k] * e;
                    tail.2 += e * e;
                    valid += 1;
                }
            }
        }
    }
    if valid == 0 {
        return None;
    }
    let (sx, sy, se) = finish(&acc, tail);
    Some((valid, sx, sy, se))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(w: usize, h: usize, shift: (f32, f32)) -> Level {
        let mut data = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let (fx, fy) = (x as f32 - shift.0, y as f32 - shift.1);
                data.push(
                    128.0
                        + 50.0 * (fx / 5.0).sin() * (fy / 7.0).cos()
                        + 30.0 * ((fx + 2.0 * fy) / 9.0).sin(),
                );
            }
        }
        Level::from_f32(data, w, h)
    }

    #[test]
    fn recovers_subpixel_translation() {
        let prev = scene(64, 64, (0.0, 0.0));
        let next = scene(64, 64, (1.3, -0.7));
        let t = track_window(&prev, &next, 24, 24, 16, 16, 1, [0.0, 0.0], 10, 0.0);
        assert!(t.ok);
        assert!((t.d[0] - 1.3).abs() < 0.05, "{:?}", t.d);
        assert!((t.d[1] + 0.7).abs() < 0.05, "{:?}", t.d);
        assert!(t.min_eig > 1.0);
        // Near the border the clamped path still converges.
        let t = track_window(&prev, &next, 0, 0, 16, 16, 2, [0.0, 0.0], 10, 0.0);
        assert!(t.ok && (t.d[0] - 1.3).abs() < 0.2, "{:?}", t.d);
    }

    #[test]
    fn flat_window_is_not_ok() {
        let flat = Level::from_f32(vec![90.0; 32 * 32], 32, 32);
        let t = track_window(&flat, &flat, 8, 8, 16, 16, 1, [0.0, 0.0], 5, 0.0);
        assert!(!t.ok);
        assert_eq!(t.min_eig, 0.0);
    }
}
