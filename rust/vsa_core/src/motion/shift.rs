//! The camera itself moving: the global translation of the view between two frames, by phase
//! correlation of a central crop.
//!
//! [`CameraShift::shift`] takes the central `crop × crop` square of a luma plane (smaller
//! frames: the largest even square that fits), sums it over 2×2 blocks (half resolution, less
//! noise), removes its mean, applies a 2-D Hann window and keeps its Fourier spectrum. Against
//! the previous frame's spectrum, the normalised cross-power spectrum is transformed back; its
//! peak is the translation, reported as a distance in full-resolution pixels.
//!
//! The transforms are 2-D DFTs of the `n × n` half-resolution square (`n = 128` for the default
//! crop). Both passes run as column transforms over whole rows at once (a transpose between
//! them), so every butterfly works on contiguous rows the compiler vectorises. A power-of-two
//! `n` uses a radix-2 FFT; any other `n` (a frame under 256 pixels high) goes through
//! Bluestein's chirp transform onto a power-of-two FFT.

use std::f64::consts::PI;

use crate::image::{try_filled, PlaneError, PlaneView};

/// The translation between consecutive frames of one camera (see the module documentation).
#[derive(Debug, Clone)]
pub struct CameraShift {
    crop: usize,
    /// Side of the half-resolution square of the last frame (0: none yet).
    n: usize,
    transform: Option<Transform>,
    window: Vec<f32>,
    /// This frame's spectrum, then the previous frame's (transposed layout, see
    /// [`CameraShift::spectrum`]).
    current: Matrix,
    previous: Matrix,
    has_previous: bool,
    work: Matrix,
}

impl CameraShift {
    /// A detector for central crops of `crop` pixels (at least 2).
    pub fn new(crop: usize) -> Result<Self, PlaneError> {
        if crop < 2 {
            return Err(PlaneError::Empty {
                width: crop,
                height: crop,
            });
        }
        Ok(Self {
            crop,
            n: 0,
            transform: None,
            window: Vec::new(),
            current: Matrix::default(),
            previous: Matrix::default(),
            has_previous: false,
            work: Matrix::default(),
        })
    }

    /// Side of the square crop, full-resolution pixels.
    pub fn crop(&self) -> usize {
        self.crop
    }

    /// Forgets the previous frame: the next call returns 0.
    pub fn reset(&mut self) {
        self.has_previous = false;
    }

    /// The translation of `plane` against the previous frame given, full-resolution pixels
    /// (twice the peak's distance from the origin at half resolution); 0 for the first frame,
    /// after a change of size or a [`reset`](Self::reset), and for a frame under 2×2 pixels.
    pub fn shift(&mut self, plane: &PlaneView<'_>) -> Result<f64, PlaneError> {
        let side = self.crop.min(plane.width()).min(plane.height()) / 2 * 2;
        let n = side / 2;
        if n == 0 {
            self.has_previous = false;
            return Ok(0.0);
        }
        if n != self.n {
            self.resize(n)?;
        }
        let Some(transform) = self.transform.as_mut() else {
            return Ok(0.0); // unreachable: resize set it
        };
        spectrum(transform, &self.window, plane, side, &mut self.current);
        let peak = self
            .has_previous
            .then(|| peak(transform, &mut self.work, &self.current, &self.previous));
        std::mem::swap(&mut self.current, &mut self.previous);
        self.has_previous = true;
        let Some((dy, dx)) = peak else {
            return Ok(0.0);
        };
        let wrap = |d: usize| {
            if d > n / 2 {
                d as f64 - n as f64
            } else {
                d as f64
            }
        };
        Ok(2.0 * wrap(dx).hypot(wrap(dy)))
    }

    fn resize(&mut self, n: usize) -> Result<(), PlaneError> {
        self.n = n;
        self.has_previous = false;
        self.transform = Some(Transform::new(n)?);
        let hann: Vec<f32> = (0..n)
            .map(|k| {
                if n == 1 {
                    1.0
                } else {
                    (0.5 - 0.5 * (2.0 * PI * k as f64 / (n - 1) as f64).cos()) as f32
                }
            })
            .collect();
        let mut window = try_filled(0.0_f32, n * n)?;
        for (row, &hy) in window.chunks_exact_mut(n).zip(&hann) {
            for (w, &hx) in row.iter_mut().zip(&hann) {
                *w = hy * hx;
            }
        }
        self.window = window;
        self.current = Matrix::zeroed(n, n)?;
        self.previous = Matrix::zeroed(n, n)?;
        self.work = Matrix::zeroed(n, n)?;
        Ok(())
    }
}

/// The windowed, mean-removed half-resolution crop's 2-D DFT, into `out` (transposed:
/// `out[u][v]` holds frequency `(v, u)`; only elementwise products follow, and the inverse
/// transform transposes back).
fn spectrum(
    transform: &mut Transform,
    window: &[f32],
    plane: &PlaneView<'_>,
    side: usize,
    out: &mut Matrix,
) {
    let n = out.n;
    let y0 = (plane.height() - side) / 2;
    let x0 = (plane.width() - side) / 2;
    let mut total: u64 = 0;
    for (y, row) in out.re.chunks_exact_mut(n).enumerate() {
        let top = &plane.row(y0 + 2 * y)[x0..x0 + side];
        let bottom = &plane.row(y0 + 2 * y + 1)[x0..x0 + side];
        for ((v, t), b) in row
            .iter_mut()
            .zip(top.chunks_exact(2))
            .zip(bottom.chunks_exact(2))
        {
            let sum = u32::from(t[0]) + u32::from(t[1]) + u32::from(b[0]) + u32::from(b[1]);
            total += u64::from(sum);
            *v = sum as f32;
        }
    }
    let mean = (total as f64 / (n * n) as f64) as f32;
    for (v, &w) in out.re.iter_mut().zip(window) {
        *v = (*v - mean) * w;
    }
    out.im.fill(0.0);
    transform.columns(out, false);
    out.transpose();
    transform.columns(out, false);
}

/// Index `(dy, dx)` of the largest value of the phase correlation of two spectra (the first
/// in row-major order on ties).
fn peak(
    transform: &mut Transform,
    work: &mut Matrix,
    current: &Matrix,
    previous: &Matrix,
) -> (usize, usize) {
    let n = work.n;
    for ((((re, im), (&ar, &ai)), &br), &bi) in work
        .re
        .iter_mut()
        .zip(work.im.iter_mut())
        .zip(current.re.iter().zip(&current.im))
        .zip(&previous.re)
        .zip(&previous.im)
    {
        // a · conj(b), over its magnitude
        let cr = ar * br + ai * bi;
        let ci = ai * br - ar * bi;
        let scale = 1.0 / (cr * cr + ci * ci).sqrt().max(1e-6);
        *re = cr * scale;
        *im = ci * scale;
    }
    transform.columns(work, true);
    work.transpose();
    transform.columns(work, true);
    let mut best = (0, f32::NEG_INFINITY);
    for (i, &v) in work.re.iter().enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    (best.0 / n, best.0 % n)
}

/// A complex matrix of `rows × n` in split real and imaginary parts, row-major.
#[derive(Debug, Clone, Default)]
struct Matrix {
    n: usize,
    re: Vec<f32>,
    im: Vec<f32>,
}

impl Matrix {
    fn zeroed(rows: usize, n: usize) -> Result<Self, PlaneError> {
        Ok(Self {
            n,
            re: try_filled(0.0, rows * n)?,
            im: try_filled(0.0, rows * n)?,
        })
    }

    /// Transposes the square matrix in place.
    fn transpose(&mut self) {
        let n = self.n;
        for part in [&mut self.re, &mut self.im] {
            for i in 0..n {
                for j in i + 1..n {
                    part.swap(i * n + j, j * n + i);
                }
            }
        }
    }
}

/// An `n`-point DFT applied to every column of a matrix at once.
#[derive(Debug, Clone)]
enum Transform {
    Radix2(Radix2),
    Bluestein(Box<Bluestein>),
}

impl Transform {
    fn new(n: usize) -> Result<Self, PlaneError> {
        if n.is_power_of_two() {
            Ok(Self::Radix2(Radix2::new(n)))
        } else {
            Ok(Self::Bluestein(Box::new(Bluestein::new(n)?)))
        }
    }

    /// Transforms each column of the `n × width` matrix `m` (forward: `e^{-2πi jk/n}`,
    /// unnormalised; inverse: the conjugate kernel, unnormalised).
    fn columns(&mut self, m: &mut Matrix, inverse: bool) {
        match self {
            Self::Radix2(plan) => plan.columns(&mut m.re, &mut m.im, m.n, inverse),
            Self::Bluestein(plan) => plan.columns(m, inverse),
        }
    }
}

/// Iterative radix-2 FFT over the rows of a matrix: row `k` of the result is frequency `k`.
#[derive(Debug, Clone)]
struct Radix2 {
    n: usize,
    /// `e^{-2πik/n}` for `k < n/2`.
    twiddles: Vec<(f32, f32)>,
    /// Bit-reversed index of each row.
    reversed: Vec<usize>,
}

impl Radix2 {
    fn new(n: usize) -> Self {
        let bits = n.trailing_zeros();
        let reversed = (0..n)
            .map(|i| {
                if bits == 0 {
                    0
                } else {
                    i.reverse_bits() >> (usize::BITS - bits)
                }
            })
            .collect();
        let twiddles = (0..n / 2)
            .map(|k| {
                let angle = -2.0 * PI * k as f64 / n as f64;
                (angle.cos() as f32, angle.sin() as f32)
            })
            .collect();
        Self {
            n,
            twiddles,
            reversed,
        }
    }

    /// Transforms the columns of the `self.n × width` matrix `(re, im)`.
    fn columns(&self, re: &mut [f32], im: &mut [f32], width: usize, inverse: bool) {
        let n = self.n;
        for (i, &j) in self.reversed.iter().enumerate() {
            if i < j {
                swap_rows(re, i, j, width);
                swap_rows(im, i, j, width);
            }
        }
        let mut len = 2;
        while len <= n {
            let half = len / 2;
            let step = n / len;
            for start in (0..n).step_by(len) {
                for k in 0..half {
                    let (wr, wi) = self.twiddles[k * step];
                    let wi = if inverse { -wi } else { wi };
                    let p = start + k;
                    let (re_p, re_q) = two_rows(re, p, p + half, width);
                    let (im_p, im_q) = two_rows(im, p, p + half, width);
                    for (((ar, ai), br), bi) in re_p
                        .iter_mut()
                        .zip(im_p.iter_mut())
                        .zip(re_q.iter_mut())
                        .zip(im_q.iter_mut())
                    {
                        let tr = wr * *br - wi * *bi;
                        let ti = wr * *bi + wi * *br;
                        *br = *ar - tr;
                        *bi = *ai - ti;
                        *ar += tr;
                        *ai += ti;
                    }
                }
            }
            len *= 2;
        }
    }
}

/// Rows `p < q` of a row-major matrix `width` wide, both mutable.
fn two_rows(data: &mut [f32], p: usize, q: usize, width: usize) -> (&mut [f32], &mut [f32]) {
    let (low, high) = data.split_at_mut(q * width);
    (&mut low[p * width..(p + 1) * width], &mut high[..width])
}

fn swap_rows(data: &mut [f32], p: usize, q: usize, width: usize) {
    let (a, b) = two_rows(data, p.min(q), p.max(q), width);
    a.swap_with_slice(b);
}

/// Bluestein's transform: an `n`-point DFT as a convolution with a chirp, computed by a
/// power-of-two FFT of `m >= 2n - 1` points.
#[derive(Debug, Clone)]
struct Bluestein {
    n: usize,
    fft: Radix2,
    /// `e^{-iπk²/n}`, `k < n`.
    chirp: Vec<(f32, f32)>,
    /// FFT of the conjugate chirp, wrapped around `m`, divided by `m` (the inverse FFT's scale).
    kernel: Vec<(f32, f32)>,
    /// `m × width` work matrix.
    work: Matrix,
}

impl Bluestein {
    fn new(n: usize) -> Result<Self, PlaneError> {
        let m = (2 * n - 1).next_power_of_two();
        let fft = Radix2::new(m);
        let chirp: Vec<(f32, f32)> = (0..n)
            .map(|k| {
                // k² mod 2n keeps the angle exact for large k
                let k2 = (k * k) % (2 * n);
                let angle = -PI * k2 as f64 / n as f64;
                (angle.cos() as f32, angle.sin() as f32)
            })
            .collect();
        let mut re = try_filled(0.0_f32, m)?;
        let mut im = try_filled(0.0_f32, m)?;
        for (k, &(cr, ci)) in chirp.iter().enumerate() {
            re[k] = cr;
            im[k] = -ci;
            if k > 0 {
                re[m - k] = cr;
                im[m - k] = -ci;
            }
        }
        fft.columns(&mut re, &mut im, 1, false);
        let scale = 1.0 / m as f32;
        let kernel = re
            .iter()
            .zip(&im)
            .map(|(&r, &i)| (r * scale, i * scale))
            .collect();
        Ok(Self {
            n,
            fft,
            chirp,
            kernel,
            work: Matrix::zeroed(m, n)?,
        })
    }

    fn columns(&mut self, matrix: &mut Matrix, inverse: bool) {
        let (n, width) = (self.n, matrix.n);
        // inverse(x) = conj(forward(conj(x)))
        let sign = if inverse { -1.0 } else { 1.0 };
        let work = &mut self.work;
        work.re.fill(0.0);
        work.im.fill(0.0);
        for (k, &(cr, ci)) in self.chirp.iter().enumerate() {
            let rows = k * width..(k + 1) * width;
            for (((wr, wi), &xr), &xi) in work.re[rows.clone()]
                .iter_mut()
                .zip(work.im[rows.clone()].iter_mut())
                .zip(&matrix.re[rows.clone()])
                .zip(&matrix.im[rows])
            {
                let xi = sign * xi;
                *wr = xr * cr - xi * ci;
                *wi = xr * ci + xi * cr;
            }
        }
        self.fft.columns(&mut work.re, &mut work.im, width, false);
        for (k, &(kr, ki)) in self.kernel.iter().enumerate() {
            let rows = k * width..(k + 1) * width;
            for (wr, wi) in work.re[rows.clone()]
                .iter_mut()
                .zip(work.im[rows].iter_mut())
            {
                let (r, i) = (*wr * kr - *wi * ki, *wr * ki + *wi * kr);
                *wr = r;
                *wi = i;
            }
        }
        self.fft.columns(&mut work.re, &mut work.im, width, true);
        for (k, &(cr, ci)) in self.chirp.iter().enumerate().take(n) {
            let rows = k * width..(k + 1) * width;
            for (((xr, xi), &wr), &wi) in matrix.re[rows.clone()]
                .iter_mut()
                .zip(matrix.im[rows.clone()].iter_mut())
                .zip(&work.re[rows.clone()])
                .zip(&work.im[rows])
            {
                *xr = wr * cr - wi * ci;
                *xi = sign * (wr * ci + wi * cr);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A textured plane: a smooth random-looking pattern (deterministic).
    fn scene(width: usize, height: usize, dx: isize, dy: isize) -> Vec<u8> {
        let mut out = vec![0_u8; width * height];
        for y in 0..height {
            for x in 0..width {
                let (u, v) = ((x as isize - dx) as f64, (y as isize - dy) as f64);
                let h = (u * 0.37).sin() * (v * 0.23).cos()
                    + (u * 0.11 + v * 0.07).sin()
                    + ((u * 12.9898 + v * 78.233).sin() * 43758.5453).fract() * 0.5;
                out[y * width + x] = (128.0 + 60.0 * h).clamp(0.0, 255.0) as u8;
            }
        }
        out
    }

    fn naive_dft(re: &[f32], im: &[f32], inverse: bool) -> (Vec<f32>, Vec<f32>) {
        let n = re.len();
        let sign = if inverse { 1.0 } else { -1.0 };
        let mut out = (vec![0.0; n], vec![0.0; n]);
        for k in 0..n {
            let (mut sr, mut si) = (0.0_f64, 0.0_f64);
            for j in 0..n {
                let a = sign * 2.0 * PI * ((j * k) % n) as f64 / n as f64;
                let (c, s) = (a.cos(), a.sin());
                sr += f64::from(re[j]) * c - f64::from(im[j]) * s;
                si += f64::from(re[j]) * s + f64::from(im[j]) * c;
            }
            out.0[k] = sr as f32;
            out.1[k] = si as f32;
        }
        out
    }

    #[test]
    fn both_transforms_match_the_dft() {
        for n in [1, 2, 8, 64, 3, 5, 12, 45, 120] {
            let re: Vec<f32> = (0..n).map(|i| ((i * 7 + 3) % 11) as f32 - 5.0).collect();
            let im: Vec<f32> = (0..n).map(|i| ((i * 5 + 1) % 7) as f32 - 3.0).collect();
            for inverse in [false, true] {
                let mut m = Matrix {
                    n: 1,
                    re: re.clone(),
                    im: im.clone(),
                };
                Transform::new(n).unwrap().columns(&mut m, inverse);
                let (er, ei) = naive_dft(&re, &im, inverse);
                for k in 0..n {
                    let tol = 1e-3 * (1.0 + er[k].abs().max(ei[k].abs()));
                    assert!((m.re[k] - er[k]).abs() < tol, "n={n} k={k} re");
                    assert!((m.im[k] - ei[k]).abs() < tol, "n={n} k={k} im");
                }
            }
        }
    }

    #[test]
    fn finds_a_translation_of_the_view() {
        for (width, height, crop) in [(320, 240, 256), (160, 96, 256), (300, 200, 100)] {
            for (dx, dy) in [(4, 0), (0, -6), (8, 6), (-10, 2)] {
                let mut cam = CameraShift::new(crop).unwrap();
                let a = scene(width, height, 0, 0);
                let b = scene(width, height, dx, dy);
                let pa = PlaneView::packed(&a, width, height).unwrap();
                let pb = PlaneView::packed(&b, width, height).unwrap();
                assert_eq!(cam.shift(&pa).unwrap(), 0.0, "first frame");
                assert_eq!(cam.shift(&pa).unwrap(), 0.0, "same frame");
                let got = cam.shift(&pb).unwrap();
                let want = ((dx * dx + dy * dy) as f64).sqrt();
                assert!(
                    (got - want).abs() <= 2.9,
                    "{width}x{height} crop {crop} ({dx}, {dy}): {got} vs {want}"
                );
                assert_eq!(cam.shift(&pb).unwrap(), 0.0, "still again");
            }
        }
    }

    #[test]
    fn a_size_change_or_a_tiny_frame_starts_again() {
        let mut cam = CameraShift::new(256).unwrap();
        let a = scene(200, 150, 0, 0);
        let b = scene(120, 100, 6, 0); // a 100-pixel crop instead of 150
        assert_eq!(
            cam.shift(&PlaneView::packed(&a, 200, 150).unwrap())
                .unwrap(),
            0.0
        );
        assert_eq!(
            cam.shift(&PlaneView::packed(&b, 120, 100).unwrap())
                .unwrap(),
            0.0
        );
        assert_eq!(
            cam.shift(&PlaneView::packed(&b, 120, 100).unwrap())
                .unwrap(),
            0.0
        );
        cam.reset();
        assert_eq!(
            cam.shift(&PlaneView::packed(&a, 200, 150).unwrap())
                .unwrap(),
            0.0
        );
        let tiny = [9_u8];
        assert_eq!(
            cam.shift(&PlaneView::packed(&tiny, 1, 1).unwrap()).unwrap(),
            0.0
        );
        assert!(CameraShift::new(1).is_err());
    }

    #[test]
    fn padded_rows_are_read_through_the_stride() {
        let (w, h, stride) = (160, 120, 176);
        let packed = scene(w, h, 0, 0);
        let shifted = scene(w, h, 6, 0);
        let pad = |p: &[u8]| {
            let mut out = vec![255_u8; stride * h];
            for y in 0..h {
                out[y * stride..y * stride + w].copy_from_slice(&p[y * w..(y + 1) * w]);
            }
            out
        };
        let (a, b) = (pad(&packed), pad(&shifted));
        let mut cam = CameraShift::new(256).unwrap();
        cam.shift(&PlaneView::new(&a, w, h, stride).unwrap())
            .unwrap();
        let got = cam
            .shift(&PlaneView::new(&b, w, h, stride).unwrap())
            .unwrap();
        assert_eq!(got, 6.0);
    }
}
