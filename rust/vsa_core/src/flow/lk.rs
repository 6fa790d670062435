//! Lucas–Kanade on one window: inverse-compositional Gauss–Newton for a pure translation.
//!
//! The template is the previous frame's window (its gradients and structure tensor are
//! computed once); each iteration samples the next frame bilinearly at the window shifted by the
//! current estimate. With a pure translation every pixel shares the same bilinear weights, so an
//! iteration is four multiply-adds per pixel plus the three sums, in 8-wide lanes.

use super::pyramid::Level;

const LANES: usize = 8;

/// Per-window buffers, reused across cells.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    t: Vec<f32>,
    gx: Vec<f32>,
    gy: Vec<f32>,
}

/// What tracking one window gave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Track {
    /// Displacement in pixels of this level.
    pub d: [f32; 2],
    /// Smallest eigenvalue of the structure tensor divided by the pixel count (grey²/px²).
    pub min_eig: f32,
    /// Root-mean-square residual after the last iteration (grey levels).
    pub rms: f32,
    /// Fraction of the window whose samples were inside the next frame (last iteration).
    pub inside: f32,
    /// False when the window left the frame or the tensor is singular.
    pub ok: bool,
}

/// Tracks the `w × h` window of `prev` whose top-left pixel is `(x0, y0)` (inside the
/// level) into `next`, starting from displacement `d`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn track_window(
    prev: &Level,
    next: &Level,
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
    mut d: [f32; 2],
    iterations: usize,
    s: &mut Scratch,
) -> Track {
    let (lw, lh) = (prev.width, prev.height);
    let n = w * h;
    s.t.clear();
    s.gx.clear();
    s.gy.clear();
    let (mut a11, mut a12, mut a22) = (0f32, 0f32, 0f32);
    for y in y0..y0 + h {
        let row = &prev.data[y * lw..(y + 1) * lw];
        let up = &prev.data[y.saturating_sub(1) * lw..][..lw];
        let dn = &prev.data[(y + 1).min(lh - 1) * lw..][..lw];
        for x in x0..x0 + w {
            let gx = 0.5 * (row[(x + 1).min(lw - 1)] - row[x.saturating_sub(1)]);
            let gy = 0.5 * (dn[x] - up[x]);
            a11 += gx * gx;
            a12 += gx * gy;
            a22 += gy * gy;
            s.t.push(row[x]);
            s.gx.push(gx);
            s.gy.push(gy);
        }
    }
    let det = a11 * a22 - a12 * a12;
    let half_tr = 0.5 * (a11 + a22);
    let min_eig = (half_tr - (0.25 * (a11 - a22) * (a11 - a22) + a12 * a12).sqrt()).max(0.0);
    let min_eig = min_eig / n as f32;
    if det <= f32::EPSILON * (a11 * a22).max(1.0) || min_eig <= 1e-6 {
        return Track {
            d,
            min_eig,
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
        let Some((valid, bx, by, sse)) = residual(next, x0, y0, w, h, d, s) else {
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
        if dx * dx + dy * dy < 1e-4 {
            break;
        }
    }
    Track {
        d,
        min_eig,
        rms,
        inside,
        ok,
    }
}

/// `(valid pixels, Σ gx·e, Σ gy·e, Σ e²)` with `e = next(x + d) − prev(x)` over the window, or `None` when
/// the shifted window lies entirely outside `next`.
fn residual(
    next: &Level,
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
    d: [f32; 2],
    s: &Scratch,
) -> Option<(usize, f32, f32, f32)> {
    let (lw, lh) = (next.width as isize, next.height as isize);
    let (fx, fy) = (d[0].floor(), d[1].floor());
    if !(fx.abs() < 1e6 && fy.abs() < 1e6) {
        return None;
    }
    let (ix, iy) = (x0 as isize + fx as isize, y0 as isize + fy as isize);
    if ix + w as isize <= 0 || iy + h as isize <= 0 || ix >= lw || iy >= lh {
        return None;
    }
    let (ax, ay) = (d[0] - fx, d[1] - fy);
    let w00 = (1.0 - ax) * (1.0 - ay);
    let w01 = ax * (1.0 - ay);
    let w10 = (1.0 - ax) * ay;
    let w11 = ax * ay;
    let inside = ix >= 0 && iy >= 0 && ix + w as isize + 1 <= lw && iy + h as isize + 1 <= lh;
    let mut sx = [0f32; LANES];
    let mut sy = [0f32; LANES];
    let mut se = [0f32; LANES];
    let mut samples = [0f32; 64];
    let mut tail = (0f32, 0f32, 0f32);
    let mut valid = if inside { w * h } else { 0 };
    for r in 0..h {
        let t = &s.t[r * w..(r + 1) * w];
        let gx = &s.gx[r * w..(r + 1) * w];
        let gy = &s.gy[r * w..(r + 1) * w];
        let mut c0 = 0;
        while c0 < w {
            let c1 = (c0 + samples.len()).min(w);
            let buf = &mut samples[..c1 - c0];
            if inside {
                let base = (iy as usize + r) * lw as usize + ix as usize + c0;
                let a = &next.data[base..base + buf.len() + 1];
                let b = &next.data[base + lw as usize..base + lw as usize + buf.len() + 1];
                for (k, v) in buf.iter_mut().enumerate() {
                    *v = w00 * a[k] + w01 * a[k + 1] + w10 * b[k] + w11 * b[k + 1];
                }
            } else {
                // Pixels whose sample falls outside the frame carry no evidence: their
                // residual is zero (the sample is replaced by the template).
                let yy = iy + r as isize;
                let row_in = yy >= 0 && yy + 1 < lh;
                for (k, v) in buf.iter_mut().enumerate() {
                    let xx = ix + (c0 + k) as isize;
                    if row_in && xx >= 0 && xx + 1 < lw {
                        let base = yy as usize * lw as usize + xx as usize;
                        let (a, b) = (&next.data[base..], &next.data[base + lw as usize..]);
                        *v = w00 * a[0] + w01 * a[1] + w10 * b[0] + w11 * b[1];
                        valid += 1;
                    } else {
                        *v = t[c0 + k];
                    }
                }
            }
            let (t, gx, gy) = (&t[c0..c1], &gx[c0..c1], &gy[c0..c1]);
            let chunks = buf.len() / LANES * LANES;
            for (((v, t), gx), gy) in buf[..chunks]
                .chunks_exact(LANES)
                .zip(t.chunks_exact(LANES))
                .zip(gx.chunks_exact(LANES))
                .zip(gy.chunks_exact(LANES))
            {
                for k in 0..LANES {
                    let e = v[k] - t[k];
                    sx[k] += gx[k] * e;
                    sy[k] += gy[k] * e;
                    se[k] += e * e;
                }
            }
            for k in chunks..buf.len() {
                let e = buf[k] - t[k];
                tail.0 += gx[k] * e;
                tail.1 += gy[k] * e;
                tail.2 += e * e;
            }
            c0 = c1;
        }
    }
    if valid == 0 {
        return None;
    }
    Some((
        valid,
        sx.iter().sum::<f32>() + tail.0,
        sy.iter().sum::<f32>() + tail.1,
        se.iter().sum::<f32>() + tail.2,
    ))
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
        Level {
            data,
            width: w,
            height: h,
        }
    }

    #[test]
    fn recovers_subpixel_translation() {
        let prev = scene(64, 64, (0.0, 0.0));
        let next = scene(64, 64, (1.3, -0.7));
        let mut s = Scratch::default();
        let t = track_window(&prev, &next, 24, 24, 16, 16, [0.0, 0.0], 10, &mut s);
        assert!(t.ok);
        assert!((t.d[0] - 1.3).abs() < 0.05, "{:?}", t.d);
        assert!((t.d[1] + 0.7).abs() < 0.05, "{:?}", t.d);
        assert!(t.min_eig > 1.0);
        // Near the border the clamped path still converges.
        let t = track_window(&prev, &next, 0, 0, 16, 16, [0.0, 0.0], 10, &mut s);
        assert!(t.ok && (t.d[0] - 1.3).abs() < 0.2, "{:?}", t.d);
    }

    #[test]
    fn flat_window_is_not_ok() {
        let flat = Level {
            data: vec![90.0; 32 * 32],
            width: 32,
            height: 32,
        };
        let mut s = Scratch::default();
        let t = track_window(&flat, &flat, 8, 8, 16, 16, [0.0, 0.0], 5, &mut s);
        assert!(!t.ok);
        assert_eq!(t.min_eig, 0.0);
    }
}
