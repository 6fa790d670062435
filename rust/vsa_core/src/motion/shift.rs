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
//! crop), computed as column transforms over whole rows at once (so every butterfly works on
//! contiguous rows the compiler vectorises), with a transpose between the two passes. The input
//! and the correlation are real, so each pass transforms two real columns as one complex column
//! and only half the spectrum is kept: about half the work of a complex 2-D transform. A
//! power-of-two `n` uses a radix-2 FFT. Another `n` (a frame under 256 pixels on its short
//! side) whose prime factors are all at most [`MAX_RADIX`] (the usual small frames: 120, 144,
//! 180, 216 or 240 pixels) uses a mixed-radix FFT, one pass per prime factor; the rest (a
//! 202-pixel side: 101 is prime) go through Bluestein's chirp transform onto a power-of-two FFT.

use std::f64::consts::PI;

use crate::image::{try_filled, PlaneError, PlaneView};

/// The translation between consecutive frames of one camera (see the module documentation).
#[derive(Debug, Clone)]
pub struct CameraShift {
    crop: usize,
    /// Side of the half-resolution square of the last frame (0: none yet).
    n: usize,
    transform: Option<Transform>,
    /// The 2-D Hann window, packed as the input is: column 2j in `re`, 2j + 1 in `im`.
    window: Complex,
    /// This frame's half spectrum, then the previous frame's (see [`spectrum`]).
    current: Complex,
    previous: Complex,
    has_previous: bool,
    work: Work,
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
            window: Complex::default(),
            current: Complex::default(),
            previous: Complex::default(),
            has_previous: false,
            work: Work::default(),
        })
    }

    /// Side of the square crop, full-resolution pixels.
    pub fn crop(&self) -> usize {
        self.crop
    }

    /// The transform of the last frame's square: `"radix-2"`, `"mixed-radix"` or
    /// `"bluestein"`; `None` before the first frame.
    #[inline(always)]
    pub fn transform(&self) -> Option<&'static str> {
        self.transform.as_ref().map(|t| match t {
            Transform::Radix2(_) => "radix-2",
            Transform::Mixed(_) => "mixed-radix",
            Transform::Bluestein(_) => "bluestein",
        })
    }

    /// Forgets the previous frame: the next call returns 0.
    #[inline(always)]
    pub fn reset(&mut self) {
        self.has_previous = false;
    }

    /// The translation of `plane` against the previous frame given, full-resolution pixels
    /// (twice the peak's distance from the origin at half resolution); 0 for the first frame,
    /// after a change of size or a [`reset`](Self::reset), and for a frame under 2×2 pixels.
    #[inline(always)]
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
        let work = &mut self.work;
        spectrum(
            transform,
            &self.window,
            plane,
            side,
            work,
            &mut self.current,
        );
        let peak = self
            .has_previous
            .then(|| correlation_peak(transform, &self.current, &self.previous, work));
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

    #[inline(always)]
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
        let (lanes, freqs) = (n.div_ceil(2), n / 2 + 1);
        let mut window = Complex::zeroed(n, lanes)?;
        for (y, &hy) in hann.iter().enumerate() {
            let (re, im) = window.row_mut(y);
            for (x, &hx) in hann.iter().enumerate() {
                let part = if x % 2 == 0 { &mut *re } else { &mut *im };
                part[x / 2] = hy * hx;
            }
        }
        self.window = window;
        self.current = Complex::zeroed(n, freqs)?;
        self.previous = Complex::zeroed(n, freqs)?;
        self.work = Work {
            packed: Complex::zeroed(n, lanes)?,
            half: Complex::zeroed(freqs, n)?,
            cross: Complex::zeroed(n, freqs)?,
        };
        Ok(())
    }
}

/// The half spectrum of the windowed, mean-removed half-resolution crop, into `out`
/// (`n × (n/2 + 1)`): `out[v][k]` is frequency `k` down the rows (`k <= n/2`; the others are
/// the conjugates of these) and `v` across the columns.
#[inline(always)]
fn spectrum(
    transform: &mut Transform,
    window: &Complex,
    plane: &PlaneView<'_>,
    side: usize,
    work: &mut Work,
    out: &mut Complex,
) {
    let Work { packed, half, .. } = work;
    let n = side / 2;
    let lanes = packed.cols;
    let y0 = (plane.height() - side) / 2;
    let x0 = (plane.width() - side) / 2;
    // 2×2 sums; column 2j goes to the real part of lane j, column 2j + 1 to its imaginary part
    let mut total: u64 = 0;
    for y in 0..n {
        let top = &plane.row(y0 + 2 * y)[x0..x0 + side];
        let bottom = &plane.row(y0 + 2 * y + 1)[x0..x0 + side];
        let (re, im) = packed.row_mut(y);
        let mut row_total = 0_u32;
        for (((r, i), t), b) in re
            .iter_mut()
            .zip(im.iter_mut())
            .zip(top.chunks_exact(4))
            .zip(bottom.chunks_exact(4))
        {
            let even = u32::from(t[0]) + u32::from(t[1]) + u32::from(b[0]) + u32::from(b[1]);
            let odd = u32::from(t[2]) + u32::from(t[3]) + u32::from(b[2]) + u32::from(b[3]);
            row_total += even + odd;
            *r = even as f32;
            *i = odd as f32;
        }
        if n % 2 == 1 {
            let (t, b) = (&top[side - 2..], &bottom[side - 2..]);
            let even = u32::from(t[0]) + u32::from(t[1]) + u32::from(b[0]) + u32::from(b[1]);
            row_total += even;
            re[lanes - 1] = even as f32;
            im[lanes - 1] = 0.0;
        }
        total += u64::from(row_total);
    }
    let mean = (total as f64 / (n * n) as f64) as f32;
    // the window is kept in the same packed layout (zero for the odd side's missing column)
    for (value, &w) in packed.re.iter_mut().zip(&window.re) {
        *value = (*value - mean) * w;
    }
    for (value, &w) in packed.im.iter_mut().zip(&window.im) {
        *value = (*value - mean) * w;
    }
    transform.columns(&mut packed.re, &mut packed.im, lanes, false);
    // Two real columns a, b sent as a + ib: A[k] = (Z[k] + conj Z[-k]) / 2,
    // B[k] = (Z[k] - conj Z[-k]) / 2i; rows k <= n/2 only.
    for k in 0..half.rows {
        let mirror = (n - k) % n;
        let (zr, zi) = (packed.re_row(k), packed.im_row(k));
        let (mr, mi) = (packed.re_row(mirror), packed.im_row(mirror));
        let (hr, hi) = half.row_mut(k);
        for (((((a_re, a_im), &zr), &zi), &mr), &mi) in hr
            .chunks_exact_mut(2)
            .zip(hi.chunks_exact_mut(2))
            .zip(zr)
            .zip(zi)
            .zip(mr)
            .zip(mi)
        {
            a_re[0] = 0.5 * (zr + mr);
            a_im[0] = 0.5 * (zi - mi);
            a_re[1] = 0.5 * (zi + mi);
            a_im[1] = 0.5 * (mr - zr);
        }
        if n % 2 == 1 {
            // the last column has no partner (its imaginary part was 0)
            hr[n - 1] = 0.5 * (zr[lanes - 1] + mr[lanes - 1]);
            hi[n - 1] = 0.5 * (zi[lanes - 1] - mi[lanes - 1]);
        }
    }
    half.transpose_into(out);
    transform.columns(&mut out.re, &mut out.im, out.cols, false);
}

/// Index `(dy, dx)` of the largest value of the phase correlation of two half spectra (the
/// first in row-major order on ties). `cross` is an `n × (n/2 + 1)` work matrix.
#[inline(always)]
fn correlation_peak(
    transform: &mut Transform,
    current: &Complex,
    previous: &Complex,
    work: &mut Work,
) -> (usize, usize) {
    let Work {
        packed,
        half,
        cross,
    } = work;
    let n = current.rows;
    let lanes = packed.cols;
    // the cross-power spectrum a · conj(b) / |a · conj(b)|
    for ((((re, im), (&ar, &ai)), &br), &bi) in cross
        .re
        .iter_mut()
        .zip(cross.im.iter_mut())
        .zip(current.re.iter().zip(&current.im))
        .zip(&previous.re)
        .zip(&previous.im)
    {
        let cr = ar * br + ai * bi;
        let ci = ai * br - ar * bi;
        let scale = 1.0 / (cr * cr + ci * ci).sqrt().max(1e-6);
        *re = cr * scale;
        *im = ci * scale;
    }
    // back across the columns (rows x, frequency k <= n/2 across), then transposed: rows k
    transform.columns(&mut cross.re, &mut cross.im, cross.cols, true);
    cross.transpose_into(half);
    // back down the rows, two real columns as one complex column p + iq; the spectrum of a
    // real column at k > n/2 is the conjugate of its value at n - k
    for k in 0..n {
        let (source, sign) = if k < half.rows {
            (k, 1.0)
        } else {
            (n - k, -1.0)
        };
        let (hr, hi) = (half.re_row(source), half.im_row(source));
        let (pr, pi) = packed.row_mut(k);
        for (((r, i), p), q) in pr
            .iter_mut()
            .zip(pi.iter_mut())
            .zip(hr.chunks_exact(2))
            .zip(hi.chunks_exact(2))
        {
            // column 2j: p[0] + i·sign·q[0]; column 2j + 1: p[1] + i·sign·q[1]
            *r = p[0] - sign * q[1];
            *i = sign * q[0] + p[1];
        }
        if n % 2 == 1 {
            pr[lanes - 1] = hr[n - 1];
            pi[lanes - 1] = sign * hi[n - 1];
        }
    }
    transform.columns(&mut packed.re, &mut packed.im, lanes, true);
    let mut best = (0, f32::NEG_INFINITY);
    for y in 0..n {
        let (re, im) = (packed.re_row(y), packed.im_row(y));
        for (j, (&even, &odd)) in re.iter().zip(im).enumerate() {
            if even > best.1 {
                best = (y * n + 2 * j, even);
            }
            if odd > best.1 && 2 * j + 1 < n {
                best = (y * n + 2 * j + 1, odd);
            }
        }
    }
    (best.0 / n, best.0 % n)
}

/// Work matrices of one frame: two real columns per complex column (`n × ⌈n/2⌉`), the half
/// spectrum down the rows before its transpose (`(n/2 + 1) × n`), the cross-power spectrum
/// (`n × (n/2 + 1)`).
#[derive(Debug, Clone, Default)]
struct Work {
    packed: Complex,
    half: Complex,
    cross: Complex,
}

/// A complex `rows × cols` matrix in split real and imaginary parts, row-major.
#[derive(Debug, Clone, Default)]
struct Complex {
    rows: usize,
    cols: usize,
    re: Vec<f32>,
    im: Vec<f32>,
}

impl Complex {
    #[inline(always)]
    fn zeroed(rows: usize, cols: usize) -> Result<Self, PlaneError> {
        Ok(Self {
            rows,
            cols,
            re: try_filled(0.0, rows * cols)?,
            im: try_filled(0.0, rows * cols)?,
        })
    }

    #[inline(always)]
    fn re_row(&self, r: usize) -> &[f32] {
        &self.re[r * self.cols..(r + 1) * self.cols]
    }

    #[inline(always)]
    fn im_row(&self, r: usize) -> &[f32] {
        &self.im[r * self.cols..(r + 1) * self.cols]
    }

    #[inline(always)]
    fn row_mut(&mut self, r: usize) -> (&mut [f32], &mut [f32]) {
        let range = r * self.cols..(r + 1) * self.cols;
        (&mut self.re[range.clone()], &mut self.im[range])
    }

    /// `out` becomes this matrix transposed (its buffers must hold `rows × cols`).
    #[inline(always)]
    fn transpose_into(&self, out: &mut Self) {
        const BLOCK: usize = 16;
        let (rows, cols) = (self.rows, self.cols);
        out.rows = cols;
        out.cols = rows;
        for (src, dst) in [(&self.re, &mut out.re), (&self.im, &mut out.im)] {
            for r0 in (0..rows).step_by(BLOCK) {
                for c0 in (0..cols).step_by(BLOCK) {
                    for r in r0..(r0 + BLOCK).min(rows) {
                        for c in c0..(c0 + BLOCK).min(cols) {
                            dst[c * rows + r] = src[r * cols + c];
                        }
                    }
                }
            }
        }
    }
}

/// An `n`-point DFT applied to every column of a matrix at once.
#[derive(Debug, Clone)]
enum Transform {
    Radix2(Radix2),
    Mixed(Box<MixedRadix>),
    Bluestein(Box<Bluestein>),
}

impl Transform {
    fn new(n: usize) -> Result<Self, PlaneError> {
        if n.is_power_of_two() {
            Ok(Self::Radix2(Radix2::new(n)))
        } else if let Some(radices) = small_factors(n) {
            Ok(Self::Mixed(Box::new(MixedRadix::new(n, &radices)?)))
        } else {
            Ok(Self::Bluestein(Box::new(Bluestein::new(n)?)))
        }
    }

    /// Transforms each column of the `n × width` matrix `(re, im)` (forward: `e^{-2πi jk/n}`,
    /// unnormalised; inverse: the conjugate kernel, unnormalised). `width` is at most `n`.
    #[inline(always)]
    fn columns(&mut self, re: &mut [f32], im: &mut [f32], width: usize, inverse: bool) {
        match self {
            Self::Radix2(plan) => plan.columns(re, im, width, inverse),
            Self::Mixed(plan) => plan.columns(re, im, width, inverse),
            Self::Bluestein(plan) => plan.columns(re, im, width, inverse),
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
    #[inline(always)]
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
#[inline(always)]
fn two_rows(data: &mut [f32], p: usize, q: usize, width: usize) -> (&mut [f32], &mut [f32]) {
    let (low, high) = data.split_at_mut(q * width);
    (&mut low[p * width..(p + 1) * width], &mut high[..width])
}

#[inline(always)]
fn swap_rows(data: &mut [f32], p: usize, q: usize, width: usize) {
    let (a, b) = two_rows(data, p.min(q), p.max(q), width);
    a.swap_with_slice(b);
}

/// Largest prime factor the mixed-radix FFT takes; a larger one goes through Bluestein.
pub const MAX_RADIX: usize = 13;

/// The prime factors of `n`, smallest first, when none exceeds [`MAX_RADIX`] (`n > 1`).
#[inline(always)]
fn small_factors(n: usize) -> Option<Vec<usize>> {
    let mut rest = n;
    let mut out = Vec::new();
    for p in [2, 3, 5, 7, 11, 13] {
        while rest % p == 0 {
            out.push(p);
            rest /= p;
        }
    }
    (rest == 1 && n > 1).then_some(out)
}

/// `e^{-2πi · num / den}` as `(cos, sin)`.
#[inline(always)]
fn unit(num: usize, den: usize) -> (f32, f32) {
    let angle = -2.0 * PI * (num % den) as f64 / den as f64;
    (angle.cos() as f32, angle.sin() as f32)
}

/// Mixed-radix FFT over the rows of a matrix (Stockham's self-sorting form): one pass per
/// prime factor of `n`, each combining `radix` interleaved transforms of the length done so far
/// into transforms `radix` times longer, reading one buffer and writing the other in order, so
/// no reordering pass is needed. Every step works on whole rows (vectorised over the columns).
#[derive(Debug, Clone)]
struct MixedRadix {
    n: usize,
    stages: Vec<Stage>,
    /// The second buffer, `n × n` (a transform of `width <= n` columns uses `n × width`).
    other: Complex,
    /// The twiddled inputs of one butterfly, `MAX_RADIX` rows of `n`.
    inputs: Complex,
}

/// One pass of [`MixedRadix`].
#[derive(Debug, Clone)]
struct Stage {
    radix: usize,
    /// Length of the transforms the earlier passes made (the product of their radices).
    span: usize,
    /// `e^{-2πi · j · r / (span · radix)}` at `j * radix + r` (`j < span`, `r < radix`).
    twiddles: Vec<(f32, f32)>,
    /// `e^{-2πi · q / radix}` (`q < radix`).
    roots: Vec<(f32, f32)>,
}

impl MixedRadix {
    fn new(n: usize, radices: &[usize]) -> Result<Self, PlaneError> {
        let mut span = 1;
        let mut stages = Vec::with_capacity(radices.len());
        for &radix in radices {
            let size = span * radix;
            stages.push(Stage {
                radix,
                span,
                twiddles: (0..size)
                    .map(|i| unit((i / radix) * (i % radix), size))
                    .collect(),
                roots: (0..radix).map(|q| unit(q, radix)).collect(),
            });
            span = size;
        }
        Ok(Self {
            n,
            stages,
            other: Complex::zeroed(n, n)?,
            inputs: Complex::zeroed(MAX_RADIX, n)?,
        })
    }

    /// Transforms the columns of the `self.n × width` matrix `(re, im)`.
    #[inline(always)]
    fn columns(&mut self, re: &mut [f32], im: &mut [f32], width: usize, inverse: bool) {
        let len = self.n * width;
        let (other_re, other_im) = (&mut self.other.re[..len], &mut self.other.im[..len]);
        let mut in_other = false;
        for stage in &self.stages {
            let inputs = &mut self.inputs;
            if in_other {
                stage.pass(
                    self.n,
                    width,
                    inverse,
                    (other_re, other_im),
                    (re, im),
                    inputs,
                );
            } else {
                stage.pass(
                    self.n,
                    width,
                    inverse,
                    (re, im),
                    (other_re, other_im),
                    inputs,
                );
            }
            in_other = !in_other;
        }
        if in_other {
            re.copy_from_slice(other_re);
            im.copy_from_slice(other_im);
        }
    }
}

impl Stage {
    /// Reads the `n × width` matrix `src`, writes this pass's output to `dst`.
    #[inline(always)]
    fn pass(
        &self,
        n: usize,
        width: usize,
        inverse: bool,
        src: (&[f32], &[f32]),
        dst: (&mut [f32], &mut [f32]),
        inputs: &mut Complex,
    ) {
        let (radix, span) = (self.radix, self.span);
        let stride = n / radix;
        let sign = if inverse { -1.0 } else { 1.0 };
        for j in 0..stride {
            let jm = j % span;
            // the inputs: rows j, j + stride, ..., each turned by its twiddle
            for r in 0..radix {
                let at = (j + r * stride) * width;
                let (xr, xi) = (&src.0[at..at + width], &src.1[at..at + width]);
                let (tr, ti) = inputs.row_mut(r);
                let (tr, ti) = (&mut tr[..width], &mut ti[..width]);
                let (wr, wi) = self.twiddles[jm * radix + r];
                if r == 0 || jm == 0 {
                    tr.copy_from_slice(xr);
                    ti.copy_from_slice(xi);
                } else {
                    let wi = sign * wi;
                    for (((a, b), &c), &d) in tr.iter_mut().zip(ti.iter_mut()).zip(xr).zip(xi) {
                        *a = c * wr - d * wi;
                        *b = c * wi + d * wr;
                    }
                }
            }
            // a `radix`-point DFT of those rows, written `span` rows apart
            let first = (j / span) * span * radix + jm;
            for k in 0..radix {
                let at = (first + k * span) * width;
                let (or, oi) = (&mut dst.0[at..at + width], &mut dst.1[at..at + width]);
                or.copy_from_slice(&inputs.re_row(0)[..width]);
                oi.copy_from_slice(&inputs.im_row(0)[..width]);
                for r in 1..radix {
                    let (tr, ti) = (&inputs.re_row(r)[..width], &inputs.im_row(r)[..width]);
                    let q = (r * k) % radix;
                    let (c, s) = self.roots[q];
                    if q == 0 {
                        for (((a, b), &x), &y) in or.iter_mut().zip(oi.iter_mut()).zip(tr).zip(ti) {
                            *a += x;
                            *b += y;
                        }
                    } else {
                        let s = sign * s;
                        for (((a, b), &x), &y) in or.iter_mut().zip(oi.iter_mut()).zip(tr).zip(ti) {
                            *a += x * c - y * s;
                            *b += x * s + y * c;
                        }
                    }
                }
            }
        }
    }
}

/// Bluestein's transform: an `n`-point DFT as a convolution with a chirp, computed by a
/// power-of-two FFT of `m >= 2n - 1` points.
#[derive(Debug, Clone)]
struct Bluestein {
    fft: Radix2,
    /// `e^{-iπk²/n}`, `k < n` (`n` is its length).
    chirp: Vec<(f32, f32)>,
    /// FFT of the conjugate chirp, wrapped around `m`, divided by `m` (the inverse FFT's scale).
    kernel: Vec<(f32, f32)>,
    /// `m × n` work matrix (a transform of `width <= n` columns uses its first `m × width`).
    work: Complex,
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
            fft,
            chirp,
            kernel,
            work: Complex::zeroed(m, n)?,
        })
    }

    #[inline(always)]
    fn columns(&mut self, re: &mut [f32], im: &mut [f32], width: usize, inverse: bool) {
        let (n, m) = (self.chirp.len(), self.kernel.len());
        // inverse(x) = conj(forward(conj(x)))
        let sign = if inverse { -1.0 } else { 1.0 };
        let work_re = &mut self.work.re[..m * width];
        let work_im = &mut self.work.im[..m * width];
        work_re[n * width..].fill(0.0);
        work_im[n * width..].fill(0.0);
        for (k, &(cr, ci)) in self.chirp.iter().enumerate() {
            let rows = k * width..(k + 1) * width;
            for (((wr, wi), &xr), &xi) in work_re[rows.clone()]
                .iter_mut()
                .zip(work_im[rows.clone()].iter_mut())
                .zip(&re[rows.clone()])
                .zip(&im[rows])
            {
                let xi = sign * xi;
                *wr = xr * cr - xi * ci;
                *wi = xr * ci + xi * cr;
            }
        }
        self.fft.columns(work_re, work_im, width, false);
        for (k, &(kr, ki)) in self.kernel.iter().enumerate() {
            let rows = k * width..(k + 1) * width;
            for (wr, wi) in work_re[rows.clone()]
                .iter_mut()
                .zip(work_im[rows].iter_mut())
            {
                let (r, i) = (*wr * kr - *wi * ki, *wr * ki + *wi * kr);
                *wr = r;
                *wi = i;
            }
        }
        self.fft.columns(work_re, work_im, width, true);
        for (k, &(cr, ci)) in self.chirp.iter().enumerate() {
            let rows = k * width..(k + 1) * width;
            for (((xr, xi), &wr), &wi) in re[rows.clone()]
                .iter_mut()
                .zip(im[rows.clone()].iter_mut())
                .zip(&work_re[rows.clone()])
                .zip(&work_im[rows])
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
    fn every_transform_matches_the_dft() {
        let paths = [
            ("radix-2", &[1, 2, 8, 64][..]),
            (
                "mixed-radix",
                &[3, 5, 7, 12, 45, 49, 90, 108, 120, 143, 210][..],
            ),
            ("bluestein", &[17, 34, 101][..]),
        ];
        for (path, n) in paths
            .iter()
            .flat_map(|&(p, ns)| ns.iter().map(move |&n| (p, n)))
        {
            let mut cam = CameraShift::new(2 * n).unwrap();
            let plane = vec![0_u8; 4 * n * n];
            cam.shift(&PlaneView::packed(&plane, 2 * n, 2 * n).unwrap())
                .unwrap();
            assert_eq!(cam.transform(), Some(path), "n={n}");
            // three columns, transformed at once, each checked against its own DFT
            let value = |i: usize, c: usize, a: usize, b: usize| ((i * a + c * 3 + 1) % b) as f32;
            let re: Vec<f32> = (0..n * 3)
                .map(|x| value(x / 3, x % 3, 7, 11) - 5.0)
                .collect();
            let im: Vec<f32> = (0..n * 3)
                .map(|x| value(x / 3, x % 3, 5, 7) - 3.0)
                .collect();
            for inverse in [false, true] {
                let (mut got_re, mut got_im) = (re.clone(), im.clone());
                Transform::new(n)
                    .unwrap()
                    .columns(&mut got_re, &mut got_im, 3, inverse);
                for c in 0..3 {
                    let column = |v: &[f32]| v.iter().skip(c).step_by(3).copied().collect();
                    let (cr, ci): (Vec<f32>, Vec<f32>) = (column(&re), column(&im));
                    let (er, ei) = naive_dft(&cr, &ci, inverse);
                    for k in 0..n {
                        let tol = 1e-3 * (1.0 + er[k].abs().max(ei[k].abs()));
                        let (gr, gi) = (got_re[k * 3 + c], got_im[k * 3 + c]);
                        assert!((gr - er[k]).abs() < tol, "n={n} column {c} k={k} re");
                        assert!((gi - ei[k]).abs() < tol, "n={n} column {c} k={k} im");
                    }
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
