//! 3×3 binary morphology on 0/255 masks.
//!
//! Erosion and dilation are separable (a 3-tap row pass, then a 3-tap column pass), with the
//! border replicated: a blob touching the image border is not eaten from outside.

/// Fills pinholes and gaps up to two pixels wide (closing), then removes everything a 3×3
/// square does not fit in (opening): isolated specks, one- and two-pixel-thin lines.
///
/// Closing comes first so that a blob with holes (a person whose clothes match the background
/// in places) is made solid before the opening, which would otherwise break it apart. Noise
/// specks survive the closing only where they are dense enough to form a 3×3 patch.
///
/// `mask` holds `width * height` values, 0 or 255; `scratch` is resized as needed.
///
/// # Panics
/// If `mask.len() != width * height`.
#[inline(always)]
pub fn close_open(mask: &mut [u8], width: usize, height: usize, scratch: &mut Vec<u8>) {
    assert_eq!(mask.len(), width * height, "mask size");
    scratch.resize(mask.len(), 0);
    filter3x3(mask, scratch, width, height, u8::max); // dilate
    filter3x3(scratch, mask, width, height, u8::min); // erode: closing done
    filter3x3(mask, scratch, width, height, u8::min); // erode
    filter3x3(scratch, mask, width, height, u8::max); // dilate: opening done
}

/// 3×3 min (erosion) or max (dilation) of `src` into `dst`, border replicated.
#[inline(always)]
fn filter3x3(src: &[u8], dst: &mut [u8], width: usize, height: usize, op: fn(u8, u8) -> u8) {
    // Row pass src -> dst.
    for (s, d) in src.chunks_exact(width).zip(dst.chunks_exact_mut(width)) {
        row3(s, d, op);
    }
    // Column pass dst -> dst, one row of history kept in `prev`.
    let mut prev = dst[..width].to_vec();
    let mut cur = prev.clone();
    for y in 0..height {
        let next_y = (y + 1).min(height - 1);
        let (head, tail) = dst.split_at_mut((y + 1) * width);
        let out = &mut head[y * width..];
        let next = if next_y == y {
            &cur[..]
        } else {
            &tail[..width]
        };
        for (((o, &p), &c), &n) in out.iter_mut().zip(&prev).zip(&cur).zip(next) {
            *o = op(op(p, c), n);
        }
        if next_y != y {
            std::mem::swap(&mut prev, &mut cur);
            cur.copy_from_slice(&tail[..width]);
        }
    }
}

/// 3-tap min/max along one row, ends replicated.
#[inline(always)]
fn row3(src: &[u8], dst: &mut [u8], op: fn(u8, u8) -> u8) {
    let n = src.len();
    if n == 1 {
        dst[0] = src[0];
        return;
    }
    dst[0] = op(src[0], src[1]);
    dst[n - 1] = op(src[n - 2], src[n - 1]);
    for ((d, (&a, &b)), &c) in dst[1..n - 1]
        .iter_mut()
        .zip(src.iter().zip(&src[1..]))
        .zip(&src[2..])
    {
        *d = op(op(a, b), c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask_from(rows: &[&str]) -> (Vec<u8>, usize, usize) {
        let w = rows[0].len();
        let data = rows
            .iter()
            .flat_map(|r| r.bytes().map(|b| if b == b'#' { 255 } else { 0 }))
            .collect();
        (data, w, rows.len())
    }

    fn naive(src: &[u8], w: usize, h: usize, op: fn(u8, u8) -> u8) -> Vec<u8> {
        let mut out = vec![0; w * h];
        for y in 0..h {
            for x in 0..w {
                let mut v = src[y * w + x];
                for dy in -1i64..=1 {
                    for dx in -1i64..=1 {
                        let yy = (y as i64 + dy).clamp(0, h as i64 - 1) as usize;
                        let xx = (x as i64 + dx).clamp(0, w as i64 - 1) as usize;
                        v = op(v, src[yy * w + xx]);
                    }
                }
                out[y * w + x] = v;
            }
        }
        out
    }

    #[test]
    fn separable_filter_matches_naive() {
        let mut rng = crate::testutil::Rng::new(11);
        for (w, h) in [(1, 1), (1, 5), (5, 1), (2, 2), (17, 9)] {
            let src: Vec<u8> = rng
                .bytes(w * h)
                .into_iter()
                .map(|v| if v > 128 { 255 } else { 0 })
                .collect();
            for op in [u8::min as fn(u8, u8) -> u8, u8::max] {
                let mut dst = vec![0; w * h];
                filter3x3(&src, &mut dst, w, h, op);
                assert_eq!(dst, naive(&src, w, h, op), "{w}x{h}");
            }
        }
    }

    #[test]
    fn fills_holes_and_removes_specks_and_lines() {
        let (mut mask, w, h) = mask_from(&[
            "#..........#",
            "............",
            "............",
            "...#####....",
            "...#####..#.",
            "...##.##....",
            "...#####....",
            "...#####....",
            "............",
            "............",
            "............",
            "############",
        ]);
        let mut scratch = Vec::new();
        close_open(&mut mask, w, h, &mut scratch);
        let (expected, _, _) = mask_from(&[
            "............",
            "............",
            "............",
            "...#####....",
            "...#####....",
            "...#####....",
            "...#####....",
            "...#####....",
            "............",
            "............",
            "............",
            "............",
        ]);
        assert_eq!(mask, expected);
    }

    #[test]
    fn keeps_blobs_touching_the_border() {
        let (mut mask, w, h) = mask_from(&["###...", "###...", "###..."]);
        let before = mask.clone();
        close_open(&mut mask, w, h, &mut Vec::new());
        assert_eq!(mask, before);
    }
}
