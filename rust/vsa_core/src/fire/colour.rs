//! The flame-colour rule of Çelik & Demirel (2009) on YCbCr planes, at chroma resolution.
//!
//! The luma is averaged over the 2×2 block under each chroma sample (rounded half up; on an
//! odd-sized frame the last column or row is repeated). A sample is fire-coloured when
//! `Y > Cb`, `Cr > Cb`, `Y > mean(Y)`, `Cb < mean(Cb)`, `Cr > mean(Cr)` and `|Cb − Cr| ≥ tau`,
//! the means taken over the whole working image. The mean tests are exact integer
//! comparisons (`v * n > sum`), so a reference in another language gives the same mask.

use super::FireError;
use crate::image::PlaneView;

/// The thresholds of the colour rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColourRule {
    /// Minimum `|Cb − Cr|` (Çelik & Demirel use 40).
    pub tau: u8,
}

impl Default for ColourRule {
    fn default() -> Self {
        Self { tau: 40 }
    }
}

/// Checks that `u` and `v` are the chroma planes of a `y` plane in yuv420p.
#[inline(always)]
pub(crate) fn check_planes(
    y: &PlaneView<'_>,
    u: &PlaneView<'_>,
    v: &PlaneView<'_>,
) -> Result<(usize, usize), FireError> {
    let expected = (y.width().div_ceil(2), y.height().div_ceil(2));
    for (plane, name) in [(u, "U"), (v, "V")] {
        let got = (plane.width(), plane.height());
        if got != expected {
            return Err(FireError::SizeMismatch {
                plane: name,
                expected,
                got,
            });
        }
    }
    Ok(expected)
}

/// Writes the 2×2-averaged luma at chroma resolution into `out` (`cw * ch` bytes) and returns
/// its sum.
#[inline(always)]
pub(crate) fn luma_into(y: &PlaneView<'_>, cw: usize, ch: usize, out: &mut [u8]) -> u64 {
    let (w, h) = (y.width(), y.height());
    let full = w / 2;
    let mut sum = 0u64;
    for r in 0..ch {
        let a = y.row(2 * r);
        let b = y.row((2 * r + 1).min(h - 1));
        let dst = &mut out[r * cw..(r + 1) * cw];
        let mut row_sum = 0u32;
        // Eight columns of both rows at a time in a u64 (SWAR): four 16-bit lanes each hold a
        // 2×2 sum (at most 1020), rounded and divided by 4 in place; then the remaining pairs.
        const M8: u64 = 0x00FF_00FF_00FF_00FF;
        const TWO: u64 = 0x0002_0002_0002_0002;
        let words = full / 4;
        for ((d, wa), wb) in dst[..4 * words]
            .chunks_exact_mut(4)
            .zip(a.chunks_exact(8))
            .zip(b.chunks_exact(8))
        {
            let wa = u64::from_le_bytes(wa.try_into().unwrap_or_default());
            let wb = u64::from_le_bytes(wb.try_into().unwrap_or_default());
            let s = (wa & M8) + ((wa >> 8) & M8) + (wb & M8) + ((wb >> 8) & M8);
            let m = ((s + TWO) >> 2) & M8;
            // the four lanes summed into the top one (at most 1020: no carry out)
            row_sum += ((m.wrapping_mul(0x0001_0001_0001_0001)) >> 48) as u32;
            // the four bytes packed: lanes 0 and 1 into bytes 0-1, lanes 2 and 3 into 2-3
            let x = m | (m >> 8);
            let packed = (x & 0xFFFF) | ((x >> 16) & 0xFFFF_0000);
            d.copy_from_slice(&(packed as u32).to_le_bytes());
        }
        for ((d, pa), pb) in dst[4 * words..full]
            .iter_mut()
            .zip(a[8 * words..].chunks_exact(2))
            .zip(b[8 * words..].chunks_exact(2))
        {
            let s = u16::from(pa[0]) + u16::from(pa[1]) + u16::from(pb[0]) + u16::from(pb[1]);
            let m = ((s + 2) >> 2) as u8;
            *d = m;
            row_sum += u32::from(m);
        }
        if full < cw {
            let s = 2 * (u16::from(a[w - 1]) + u16::from(b[w - 1]));
            let m = ((s + 2) >> 2) as u8;
            dst[full] = m;
            row_sum += u32::from(m);
        }
        sum += u64::from(row_sum);
    }
    sum
}

/// Sum of all samples of a plane.
#[inline(always)]
pub(crate) fn plane_sum(p: &PlaneView<'_>) -> u64 {
    // Runs of 257 samples sum to at most 65535: in u16 lanes, twice as many per vector op as
    // in u32 (the same integer).
    p.rows()
        .flat_map(|row| row.chunks(257))
        .map(|run| u64::from(run.iter().map(|&x| u16::from(x)).sum::<u16>()))
        .sum()
}

/// The per-sample thresholds of one frame: `Y > ym`, `Cb < bm`, `Cr > rm` in integer form.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameMeans {
    pub n: u64,
    pub sum_y: u64,
    pub sum_b: u64,
    pub sum_r: u64,
}

impl FrameMeans {
    /// Smallest `v` with `v * n > sum`, as a u16 (256 when none).
    #[inline(always)]
    fn above(n: u64, sum: u64) -> u16 {
        (sum / n + 1).min(256) as u16
    }

    /// Largest `v` with `v * n < sum` plus one, i.e. `v < limit` ⇔ `v * n < sum`.
    #[inline(always)]
    fn below(n: u64, sum: u64) -> u16 {
        sum.div_ceil(n).min(256) as u16
    }

    /// `(y_min, cb_limit, cr_min)`: fire needs `Y ≥ y_min`, `Cb < cb_limit`, `Cr ≥ cr_min`.
    #[inline(always)]
    pub fn limits(&self) -> (u16, u16, u16) {
        (
            Self::above(self.n, self.sum_y),
            Self::below(self.n, self.sum_b),
            Self::above(self.n, self.sum_r),
        )
    }
}

/// The rule's per-frame thresholds in the samples' own type (`u8`), so that a row of samples
/// is tested 16 at a time by the compiler's vector code (in `u16` it is 8, with conversions).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Thresholds {
    /// Fire needs `Y ≥ y_min`, `Cb ≤ cb_max`, `Cr ≥ cr_min`, `Cr − Cb ≥ tau`.
    y_min: u8,
    cb_max: u8,
    cr_min: u8,
    tau: u8,
    /// False when a limit excludes every sample value (a mean of 255, or a Cb mean of 0):
    /// no sample of the frame is fire-coloured.
    pub possible: bool,
}

impl Thresholds {
    /// The `u8` form of `limits` (`(y_min, cb_limit, cr_min)` from [`FrameMeans::limits`]).
    pub fn new(limits: (u16, u16, u16), tau: u8) -> Self {
        let (y, b, r) = limits;
        // y_min and cr_min are in 1..=256 and cb_limit in 0..=256: `v ≥ 256` and `v < 0`
        // hold for no byte, `v < 256` for all of them (`v ≤ 255`).
        let possible = y <= 255 && r <= 255 && b >= 1;
        let byte = |v: u16| u8::try_from(v).unwrap_or(u8::MAX);
        Self {
            y_min: byte(y),
            cb_max: byte(b.saturating_sub(1)),
            cr_min: byte(r),
            tau,
            possible,
        }
    }
}

/// The rule for one sample, given the frame thresholds (their `possible` checked by the
/// caller).
#[inline(always)]
pub(crate) fn is_fire(y: u8, b: u8, r: u8, t: Thresholds) -> bool {
    (y > b)
        & (r > b)
        & (y >= t.y_min)
        & (b <= t.cb_max)
        & (r >= t.cr_min)
        & (r.saturating_sub(b) >= t.tau)
}

/// The 2×2-averaged luma at chroma resolution, row-major `(ceil(h/2), ceil(w/2))`.
#[inline(always)]
pub fn luma_at_chroma(y: &PlaneView<'_>) -> Vec<u8> {
    let (cw, ch) = (y.width().div_ceil(2), y.height().div_ceil(2));
    let mut out = vec![0u8; cw * ch];
    luma_into(y, cw, ch, &mut out);
    out
}

/// The fire-colour mask at chroma resolution (1 = fire-coloured), row-major `(ch, cw)`.
#[inline(always)]
pub fn fire_mask(
    y: &PlaneView<'_>,
    u: &PlaneView<'_>,
    v: &PlaneView<'_>,
    rule: ColourRule,
) -> Result<Vec<u8>, FireError> {
    let (cw, ch) = check_planes(y, u, v)?;
    let mut luma = vec![0u8; cw * ch];
    let sum_y = luma_into(y, cw, ch, &mut luma);
    let means = FrameMeans {
        n: (cw * ch) as u64,
        sum_y,
        sum_b: plane_sum(u),
        sum_r: plane_sum(v),
    };
    let t = Thresholds::new(means.limits(), rule.tau);
    let mut out = vec![0u8; cw * ch];
    if !t.possible {
        return Ok(out);
    }
    for ((o, l), r) in out
        .chunks_exact_mut(cw)
        .zip(luma.chunks_exact(cw))
        .zip(0..ch)
    {
        for (((o, &y), &b), &rr) in o.iter_mut().zip(l).zip(u.row(r)).zip(v.row(r)) {
            *o = u8::from(is_fire(y, b, rr, t));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 2×2 average one pixel at a time, as the rule defines it.
    fn luma_reference(y: &[u8], w: usize, h: usize) -> (Vec<u8>, u64) {
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let mut out = vec![0u8; cw * ch];
        let mut sum = 0u64;
        for r in 0..ch {
            for c in 0..cw {
                let (y0, y1) = (2 * r, (2 * r + 1).min(h - 1));
                let (x0, x1) = (2 * c, (2 * c + 1).min(w - 1));
                let s = u16::from(y[y0 * w + x0])
                    + u16::from(y[y0 * w + x1])
                    + u16::from(y[y1 * w + x0])
                    + u16::from(y[y1 * w + x1]);
                let m = ((s + 2) >> 2) as u8;
                out[r * cw + c] = m;
                sum += u64::from(m);
            }
        }
        (out, sum)
    }

    #[test]
    fn luma_at_chroma_matches_the_pixel_by_pixel_average() {
        let mut rng = crate::testutil::Rng::new(11);
        for (w, h) in [(2, 2), (7, 5), (16, 4), (33, 9), (64, 3), (1, 1), (250, 7)] {
            for extreme in [None, Some(0u8), Some(255u8)] {
                let y: Vec<u8> = (0..w * h)
                    .map(|_| extreme.unwrap_or((rng.uniform() * 256.0) as u8))
                    .collect();
                let plane = PlaneView::packed(&y, w, h).unwrap();
                let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
                let mut out = vec![0u8; cw * ch];
                let sum = luma_into(&plane, cw, ch, &mut out);
                assert_eq!((out, sum), luma_reference(&y, w, h), "{w}x{h} {extreme:?}");
            }
        }
    }
    use crate::testutil::Rng;

    fn reference(y: &[u8], w: usize, h: usize, u: &[u8], v: &[u8], tau: i64) -> Vec<u8> {
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let mut ys = vec![0i64; cw * ch];
        for r in 0..ch {
            for c in 0..cw {
                let mut s = 0i64;
                for dy in 0..2 {
                    for dx in 0..2 {
                        let yy = (2 * r + dy).min(h - 1);
                        let xx = (2 * c + dx).min(w - 1);
                        s += i64::from(y[yy * w + xx]);
                    }
                }
                ys[r * cw + c] = (s + 2) / 4;
            }
        }
        let n = (cw * ch) as i64;
        let sy: i64 = ys.iter().sum();
        let sb: i64 = u.iter().map(|&x| i64::from(x)).sum();
        let sr: i64 = v.iter().map(|&x| i64::from(x)).sum();
        (0..cw * ch)
            .map(|i| {
                let (yv, b, r) = (ys[i], i64::from(u[i]), i64::from(v[i]));
                u8::from(
                    yv > b
                        && r > b
                        && yv * n > sy
                        && b * n < sb
                        && r * n > sr
                        && (b - r).abs() >= tau,
                )
            })
            .collect()
    }

    #[test]
    fn mask_matches_reference_on_random_planes() {
        let mut rng = Rng::new(7);
        for &(w, h) in &[(8usize, 6usize), (7, 5), (33, 17), (2, 2), (1, 1)] {
            let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
            let y = rng.bytes(w * h);
            let u: Vec<u8> = rng.bytes(cw * ch).iter().map(|b| b / 2 + 40).collect();
            let v: Vec<u8> = rng.bytes(cw * ch).iter().map(|b| b / 2 + 90).collect();
            let yp = PlaneView::packed(&y, w, h).unwrap();
            let up = PlaneView::packed(&u, cw, ch).unwrap();
            let vp = PlaneView::packed(&v, cw, ch).unwrap();
            let got = fire_mask(&yp, &up, &vp, ColourRule::default()).unwrap();
            assert_eq!(got, reference(&y, w, h, &u, &v, 40), "{w}x{h}");
        }
    }

    #[test]
    fn mask_matches_reference_at_extreme_frame_means() {
        // Uniform planes put a limit at its end of the range (a mean of 0 or 255: a limit of
        // 0 or 256, outside a byte); a few random samples move it just inside.
        let mut rng = Rng::new(9);
        let (w, h) = (12usize, 10usize);
        let (cw, ch) = (w / 2, h / 2);
        for (yv, uv, vv) in [(255u8, 0u8, 255u8), (255, 0, 0), (0, 0, 255), (200, 255, 0)] {
            for noisy in [0usize, 1, 3] {
                let mut y = vec![yv; w * h];
                let mut u = vec![uv; cw * ch];
                let mut v = vec![vv; cw * ch];
                for _ in 0..noisy {
                    let i = (rng.uniform() * (cw * ch) as f64) as usize % (cw * ch);
                    y[2 * (i / cw) * w + 2 * (i % cw)] = (rng.uniform() * 256.0) as u8;
                    u[i] = (rng.uniform() * 256.0) as u8;
                    v[i] = (rng.uniform() * 256.0) as u8;
                }
                let yp = PlaneView::packed(&y, w, h).unwrap();
                let up = PlaneView::packed(&u, cw, ch).unwrap();
                let vp = PlaneView::packed(&v, cw, ch).unwrap();
                let got = fire_mask(&yp, &up, &vp, ColourRule::default()).unwrap();
                let want = reference(&y, w, h, &u, &v, 40);
                assert_eq!(got, want, "Y {yv} U {uv} V {vv} noisy {noisy}");
            }
        }
    }

    #[test]
    fn plane_sum_of_long_rows_is_exact() {
        let mut rng = Rng::new(13);
        let (w, h, stride) = (1000, 7, 1030);
        for fill in [None, Some(255u8)] {
            let mut data = fill.map_or_else(|| rng.bytes(h * stride), |v| vec![v; h * stride]);
            for y in 0..h - 1 {
                data[y * stride + w..(y + 1) * stride].fill(255); // padding: not summed
            }
            let plane = PlaneView::new(&data, w, h, stride).unwrap();
            let want: u64 = (0..h)
                .flat_map(|y| &data[y * stride..y * stride + w])
                .map(|&v| u64::from(v))
                .sum();
            assert_eq!(plane_sum(&plane), want, "{fill:?}");
        }
    }

    #[test]
    fn wrong_chroma_size_is_an_error() {
        let y = vec![0u8; 16];
        let c = vec![0u8; 4];
        let bad = vec![0u8; 6];
        let yp = PlaneView::packed(&y, 4, 4).unwrap();
        let up = PlaneView::packed(&c, 2, 2).unwrap();
        let vp = PlaneView::packed(&bad, 3, 2).unwrap();
        assert!(matches!(
            fire_mask(&yp, &up, &vp, ColourRule::default()),
            Err(FireError::SizeMismatch { plane: "V", .. })
        ));
    }
}
