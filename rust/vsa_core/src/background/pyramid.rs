//! Area pyramid and chroma downscale.

use crate::image::{downscale_area, OwnedPlane, PlaneError, PlaneView};
use crate::motion::MotionError;

/// `levels + 1` planes: level 0 is a copy of `plane`, level `k` the 2× area downscale of
/// level `k - 1` (each level rounded, as [`downscale_area`] does).
///
/// Fails when a level would be empty (`plane` smaller than `2^levels` in either direction).
#[inline(always)]
pub fn pyramid(plane: &PlaneView<'_>, levels: usize) -> Result<Vec<OwnedPlane>, PlaneError> {
    let mut out = Vec::with_capacity(levels + 1);
    out.push(downscale_area(plane, 1)?);
    for _ in 0..levels {
        let next = downscale_area(&out[out.len() - 1].view(), 2)?;
        out.push(next);
    }
    Ok(out)
}

/// A 4:2:0 chroma plane downscaled to the size of its luma plane downscaled by `factor`:
/// `(luma_width / factor) × (luma_height / factor)`.
///
/// Chroma is half resolution, so an even `factor` is an area downscale by `factor / 2`
/// (cropped to the luma size); factor 1 repeats each chroma pixel 2×2. Odd factors above 1
/// would need fractional blocks and are rejected.
#[inline(always)]
pub fn downscale_chroma(
    plane: &PlaneView<'_>,
    factor: usize,
    luma_width: usize,
    luma_height: usize,
) -> Result<OwnedPlane, MotionError> {
    if factor == 0 {
        return Err(PlaneError::ZeroFactor.into());
    }
    let (out_w, out_h) = (luma_width / factor, luma_height / factor);
    if out_w == 0 || out_h == 0 {
        return Err(PlaneError::FactorTooLarge {
            factor,
            width: luma_width,
            height: luma_height,
        }
        .into());
    }
    if factor > 1 && factor % 2 == 1 {
        return Err(MotionError::invalid(
            "factor",
            format!("must be 1 or even for a half-resolution chroma plane, got {factor}"),
        ));
    }
    let too_small = || MotionError::BadInput {
        name: "chroma plane",
        reason: format!(
            "{}×{} is too small for a {luma_width}×{luma_height} luma plane",
            plane.width(),
            plane.height()
        ),
    };
    let mut out = Vec::with_capacity(out_w * out_h);
    if factor == 1 {
        if plane.width() * 2 < out_w || plane.height() * 2 < out_h {
            return Err(too_small());
        }
        for y in 0..out_h {
            let row = plane.row(y / 2);
            out.extend((0..out_w).map(|x| row[x / 2]));
        }
    } else {
        let half = factor / 2;
        let small = downscale_area(plane, half)?;
        if small.width() < out_w || small.height() < out_h {
            return Err(too_small());
        }
        for row in small.as_slice().chunks_exact(small.width()).take(out_h) {
            out.extend_from_slice(&row[..out_w]);
        }
    }
    Ok(OwnedPlane::from_vec(out, out_w, out_h)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyramid_halves_each_level() {
        let data: Vec<u8> = (0..64u8).collect();
        let p = PlaneView::packed(&data, 8, 8).unwrap();
        let levels = pyramid(&p, 3).unwrap();
        let sizes: Vec<_> = levels.iter().map(|l| (l.width(), l.height())).collect();
        assert_eq!(sizes, vec![(8, 8), (4, 4), (2, 2), (1, 1)]);
        // Level 1 pixel (0,0): (0 + 1 + 8 + 9 + 2) / 4 = 5.
        assert_eq!(levels[1].as_slice()[0], 5);
        assert!(pyramid(&p, 4).is_err());
    }

    #[test]
    fn chroma_matches_luma_size() {
        let data = vec![7u8; 4 * 3];
        let c = PlaneView::packed(&data, 4, 3).unwrap();
        let d = downscale_chroma(&c, 4, 7, 5).unwrap();
        assert_eq!((d.width(), d.height()), (1, 1));
        let u = downscale_chroma(&c, 1, 7, 5).unwrap();
        assert_eq!((u.width(), u.height()), (7, 5));
        assert!(u.as_slice().iter().all(|&v| v == 7));
        assert!(downscale_chroma(&c, 3, 7, 5).is_err());
        assert!(downscale_chroma(&c, 2, 16, 16).is_err());
    }
}
