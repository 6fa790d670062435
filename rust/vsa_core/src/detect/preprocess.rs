//! A frame to a detector's input tensor in one pass.
//!
//! The frame is resized into a `dst_width × dst_height` canvas keeping its aspect ratio (a
//! letterbox: the content is `content_width × content_height`, the rest is filled with a pad
//! value), converted to BGR or RGB, normalised per channel as `(value - mean) / std` and written
//! as planar NCHW float32. The source is either the three planes of a yuv420p frame (as a
//! decoder hands them out, rows padded) or a packed 8-bit BGR/RGB image.
//!
//! Resampling is bilinear with half-pixel centres, like OpenCV's `INTER_LINEAR` and
//! `align_corners=False`: output pixel `x` of the content samples the source at
//! `sx = (x + 0.5) · src_width / content_width - 0.5`, clamped to `[0, src_width - 1]` (edge
//! pixels repeat). There is no antialiasing filter on downscale, as in OpenCV. A chroma sample
//! of yuv420p covers 2×2 luma pixels and is taken as sitting at their centre (MPEG-1/JPEG
//! siting), so chroma is sampled at `(sx + 0.5) / 2 - 0.5` in chroma pixels, from the unclamped
//! `sx`; for even frame sizes this is exactly a bilinear resize of the chroma planes to the
//! content size. (H.264's default "left" siting is a quarter chroma pixel off horizontally, which
//! does not matter to a detector.) Colour values are computed in f32, clamped to `[0, 255]` and
//! never rounded.

use super::{invalid, shape, DetectError};
use crate::image::{check_frame_size, PlaneView};

/// Where the content lies in the model input and how to map model boxes back to the source.
///
/// A point `x` of the model input is `(x - pad_x) / scale_x` in the source (and likewise for
/// `y`). `scale_x` and `scale_y` are `content_width / src_width` and
/// `content_height / src_height`: equal when the aspect ratio is kept, up to the rounding of the
/// content size to whole pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    pub src_width: usize,
    pub src_height: usize,
    pub dst_width: usize,
    pub dst_height: usize,
    pub content_width: usize,
    pub content_height: usize,
    pub pad_x: usize,
    pub pad_y: usize,
    pub scale_x: f64,
    pub scale_y: f64,
}

impl Letterbox {
    /// Fits a `src_width × src_height` image into a `dst_width × dst_height` input.
    ///
    /// With `keep_ratio` the scale is `min(dst_w / src_w, dst_h / src_h)` and the content size
    /// is the scaled size rounded to whole pixels; otherwise the image is stretched to the whole
    /// input. With `center` the padding is split evenly (the extra pixel going right and down),
    /// otherwise the content sits at the top-left corner (YOLOX's convention).
    #[inline(always)]
    pub fn fit(
        src_width: usize,
        src_height: usize,
        dst_width: usize,
        dst_height: usize,
        keep_ratio: bool,
        center: bool,
    ) -> Result<Self, DetectError> {
        if src_width == 0 || src_height == 0 || dst_width == 0 || dst_height == 0 {
            return Err(invalid(format!(
                "cannot fit a {src_width}×{src_height} image into a {dst_width}×{dst_height} \
                 input: sizes must be positive"
            )));
        }
        for (what, w, h) in [
            ("image", src_width, src_height),
            ("model input", dst_width, dst_height),
        ] {
            check_frame_size(w, h).map_err(|e| shape(format!("{what}: {e}")))?;
        }
        let (content_width, content_height) = if keep_ratio {
            let r =
                (dst_width as f64 / src_width as f64).min(dst_height as f64 / src_height as f64);
            let cw = ((src_width as f64 * r).round() as usize).clamp(1, dst_width);
            let ch = ((src_height as f64 * r).round() as usize).clamp(1, dst_height);
            (cw, ch)
        } else {
            (dst_width, dst_height)
        };
        let (pad_x, pad_y) = if center {
            (
                (dst_width - content_width) / 2,
                (dst_height - content_height) / 2,
            )
        } else {
            (0, 0)
        };
        Ok(Self {
            src_width,
            src_height,
            dst_width,
            dst_height,
            content_width,
            content_height,
            pad_x,
            pad_y,
            scale_x: content_width as f64 / src_width as f64,
            scale_y: content_height as f64 / src_height as f64,
        })
    }

    /// A box `[x1, y1, x2, y2]` of the model input, in source pixels, clipped to the source.
    #[inline(always)]
    pub fn to_source(&self, b: [f64; 4]) -> [f64; 4] {
        let (w, h) = (self.src_width as f64, self.src_height as f64);
        let x = |v: f64| ((v - self.pad_x as f64) / self.scale_x).clamp(0.0, w);
        let y = |v: f64| ((v - self.pad_y as f64) / self.scale_y).clamp(0.0, h);
        [x(b[0]), y(b[1]), x(b[2]), y(b[3])]
    }

    /// Elements of the NCHW tensor: `3 · dst_height · dst_width`.
    #[inline(always)]
    pub fn tensor_len(&self) -> usize {
        3 * self.dst_width * self.dst_height
    }
}

/// Channel order of a packed image or of the model input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelOrder {
    Bgr,
    Rgb,
}

/// The YCbCr → RGB matrix of a yuv420p frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YuvMatrix {
    /// ITU-R BT.601 (SD video, most IP cameras' default).
    Bt601,
    /// ITU-R BT.709 (HD video).
    Bt709,
}

/// Per-channel normalisation of the model input, in the model's channel order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalize {
    /// Channel order written to the tensor.
    pub order: ChannelOrder,
    /// Subtracted from each channel (0–255 units).
    pub mean: [f32; 3],
    /// Each channel is divided by this after the mean is subtracted.
    pub std: [f32; 3],
    /// Value (0–255 units, before normalisation) of every channel of the padding.
    pub pad_value: f32,
}

impl Normalize {
    /// Raw 0–255 values in `order`, padding 114 (YOLOX, YOLOv5/v8 letterbox grey).
    #[inline(always)]
    pub fn identity(order: ChannelOrder) -> Self {
        Self {
            order,
            mean: [0.0; 3],
            std: [1.0; 3],
            pad_value: 114.0,
        }
    }

    fn check(&self) -> Result<(), DetectError> {
        let finite = self.mean.iter().chain(&self.std).all(|v| v.is_finite());
        if !finite || !self.pad_value.is_finite() {
            return Err(invalid("mean, std and pad_value must be finite"));
        }
        if self.std.contains(&0.0) {
            return Err(invalid(format!("std must not be zero, got {:?}", self.std)));
        }
        Ok(())
    }
}

/// Source coordinate of each output pixel along one axis: `(i0, i1, frac)` with
/// `value = src[i0] · (1 - frac) + src[i1] · frac`.
#[inline(always)]
fn axis_table(src_len: usize, content_len: usize, chroma_len: Option<usize>) -> Vec<Tap> {
    let ratio = src_len as f64 / content_len as f64;
    (0..content_len)
        .map(|i| {
            let s = (i as f64 + 0.5) * ratio - 0.5;
            match chroma_len {
                None => Tap::new(s, src_len),
                Some(n) => Tap::new((s + 0.5) / 2.0 - 0.5, n),
            }
        })
        .collect()
}

#[derive(Debug, Clone, Copy)]
struct Tap {
    i0: usize,
    i1: usize,
    frac: f32,
}

impl Tap {
    fn new(s: f64, len: usize) -> Self {
        let s = s.clamp(0.0, (len - 1) as f64);
        let i0 = s.floor() as usize;
        Self {
            i0,
            i1: (i0 + 1).min(len - 1),
            frac: (s - i0 as f64) as f32,
        }
    }
}

/// `out[x] = r0[x] + (r1[x] - r0[x]) · f` over whole rows (vectorised by the compiler).
#[inline(always)]
fn lerp_rows(r0: &[u8], r1: &[u8], f: f32, out: &mut [f32]) {
    for ((o, &a), &b) in out.iter_mut().zip(r0).zip(r1) {
        let a = f32::from(a);
        *o = a + (f32::from(b) - a) * f;
    }
}

/// `out[i] = row[t.i0] + (row[t.i1] - row[t.i0]) · t.frac` for each tap, reading `row` from
/// element `offset` (a channel of a packed row).
#[inline(always)]
fn gather(row: &[f32], taps: &[Tap], offset: usize, out: &mut [f32]) {
    for (o, t) in out.iter_mut().zip(taps) {
        let a = row[t.i0 + offset];
        *o = a + (row[t.i1 + offset] - a) * t.frac;
    }
}

/// [`gather`] of two rows with the same taps (the U and V planes).
#[inline(always)]
fn gather2(a: &[f32], b: &[f32], taps: &[Tap], out_a: &mut [f32], out_b: &mut [f32]) {
    for ((oa, ob), t) in out_a.iter_mut().zip(out_b.iter_mut()).zip(taps) {
        let (a0, b0) = (a[t.i0], b[t.i0]);
        *oa = a0 + (a[t.i1] - a0) * t.frac;
        *ob = b0 + (b[t.i1] - b0) * t.frac;
    }
}

/// The three output planes, in tensor order, with the padding already written.
#[inline(always)]
fn prepare_output<'o>(
    out: &'o mut [f32],
    lb: &Letterbox,
    norm: &Normalize,
) -> Result<[&'o mut [f32]; 3], DetectError> {
    norm.check()?;
    if out.len() != lb.tensor_len() {
        return Err(invalid(format!(
            "output holds {} floats but a 3×{}×{} tensor needs {}",
            out.len(),
            lb.dst_height,
            lb.dst_width,
            lb.tensor_len()
        )));
    }
    let plane = lb.dst_width * lb.dst_height;
    let (p0, rest) = out.split_at_mut(plane);
    let (p1, p2) = rest.split_at_mut(plane);
    let mut planes = [p0, p1, p2];
    for (c, p) in planes.iter_mut().enumerate() {
        fill_padding(p, lb, (norm.pad_value - norm.mean[c]) / norm.std[c]);
    }
    Ok(planes)
}

/// Writes `value` to the pixels of one `dst_width × dst_height` plane outside the content
/// (the content is written once, by the caller, not first filled and then overwritten).
#[inline(always)]
fn fill_padding(plane: &mut [f32], lb: &Letterbox, value: f32) {
    let w = lb.dst_width;
    let (top, bottom) = (lb.pad_y * w, (lb.pad_y + lb.content_height) * w);
    plane[..top].fill(value);
    plane[bottom..].fill(value);
    if lb.content_width != w {
        let right = lb.pad_x + lb.content_width;
        for row in plane[top..bottom].chunks_exact_mut(w) {
            row[..lb.pad_x].fill(value);
            row[right..].fill(value);
        }
    }
}

/// Writes one content row of R, G, B values (clamped to 0–255 here) to the tensor planes at
/// `start`, in the tensor's order, normalised.
#[inline(always)]
fn write_row(planes: &mut [&mut [f32]; 3], start: usize, rgb: [&[f32]; 3], norm: &Normalize) {
    let src = match norm.order {
        ChannelOrder::Rgb => rgb,
        ChannelOrder::Bgr => [rgb[2], rgb[1], rgb[0]],
    };
    for (c, (plane, values)) in planes.iter_mut().zip(src).enumerate() {
        let (mean, inv) = (norm.mean[c], 1.0 / norm.std[c]);
        let dst = &mut plane[start..start + values.len()];
        for (d, &v) in dst.iter_mut().zip(values) {
            *d = (v.clamp(0.0, 255.0) - mean) * inv;
        }
    }
}

/// Converts one content row of Y, Cb and Cr values (resampled) to R, G, B, clamps them to
/// 0–255, normalises them and writes them to the tensor planes at `start`, in the tensor's
/// order: one pass over the row, the same arithmetic as [`write_row`] after the conversion.
#[inline(always)]
fn write_yuv_row(
    planes: &mut [&mut [f32]; 3],
    start: usize,
    yuv: [&[f32]; 3],
    k: &[f32; 7],
    norm: &Normalize,
) {
    let [ys, yo, cs, r_cr, g_cb, g_cr, b_cb] = *k;
    let n = yuv[0].len();
    let (mean, inv) = (norm.mean, norm.std.map(|s| 1.0 / s));
    let bgr = norm.order == ChannelOrder::Bgr;
    let [p0, p1, p2] = planes;
    let outs = p0[start..start + n]
        .iter_mut()
        .zip(&mut p1[start..start + n])
        .zip(&mut p2[start..start + n]);
    let pixels = yuv[0].iter().zip(yuv[1]).zip(yuv[2]);
    for (((o0, o1), o2), ((&l, &cb), &cr)) in outs.zip(pixels) {
        let l = (l - yo) * ys;
        let (cb, cr) = ((cb - 128.0) * cs, (cr - 128.0) * cs);
        let (r, g, b) = (l + r_cr * cr, l - g_cb * cb - g_cr * cr, l + b_cb * cb);
        let (c0, c2) = if bgr { (b, r) } else { (r, b) };
        *o0 = (c0.clamp(0.0, 255.0) - mean[0]) * inv[0];
        *o1 = (g.clamp(0.0, 255.0) - mean[1]) * inv[1];
        *o2 = (c2.clamp(0.0, 255.0) - mean[2]) * inv[2];
    }
}

/// Coefficients `[y_scale, y_offset, c_scale, r_cr, g_cb, g_cr, b_cb]`.
#[inline(always)]
fn yuv_coefficients(matrix: YuvMatrix, full_range: bool) -> [f32; 7] {
    let (kr, kb) = match matrix {
        YuvMatrix::Bt601 => (0.299_f64, 0.114_f64),
        YuvMatrix::Bt709 => (0.2126, 0.0722),
    };
    let kg = 1.0 - kr - kb;
    let (ys, yo, cs) = if full_range {
        (1.0, 0.0, 1.0)
    } else {
        (255.0 / 219.0, 16.0, 255.0 / 224.0)
    };
    [
        ys,
        yo,
        cs,
        2.0 * (1.0 - kr),
        2.0 * kb * (1.0 - kb) / kg,
        2.0 * kr * (1.0 - kr) / kg,
        2.0 * (1.0 - kb),
    ]
    .map(|v| v as f32)
}

/// Letterboxes a yuv420p frame into `out` (NCHW, `lb.tensor_len()` floats).
///
/// `y` is `src_width × src_height`; `u` and `v` are `ceil(src_width / 2) × ceil(src_height / 2)`.
/// `lb` must have been fitted for this source size. Each output row blends two source rows
/// over the whole width (vectorised), then gathers its columns: bilinear, separably.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn yuv420p_to_tensor(
    y: &PlaneView<'_>,
    u: &PlaneView<'_>,
    v: &PlaneView<'_>,
    lb: &Letterbox,
    matrix: YuvMatrix,
    full_range: bool,
    norm: &Normalize,
    out: &mut [f32],
) -> Result<(), DetectError> {
    let (w, h) = (y.width(), y.height());
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    for (name, p) in [("U", u), ("V", v)] {
        if (p.width(), p.height()) != (cw, ch) {
            return Err(shape(format!(
                "{name} plane is {}×{} but a {w}×{h} yuv420p frame has {cw}×{ch} chroma planes",
                p.width(),
                p.height()
            )));
        }
    }
    check_source(lb, w, h)?;
    let mut planes = prepare_output(out, lb, norm)?;
    let k = yuv_coefficients(matrix, full_range);
    let xl = axis_table(w, lb.content_width, None);
    let xc = axis_table(w, lb.content_width, Some(cw));
    let yl = axis_table(h, lb.content_height, None);
    let yc = axis_table(h, lb.content_height, Some(ch));
    let (mut sy, mut su, mut sv) = (vec![0.0; w], vec![0.0; cw], vec![0.0; cw]);
    let n = lb.content_width;
    let (mut gy, mut gu, mut gv) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    for (oy, (ty, tc)) in yl.iter().zip(&yc).enumerate() {
        lerp_rows(y.row(ty.i0), y.row(ty.i1), ty.frac, &mut sy);
        lerp_rows(u.row(tc.i0), u.row(tc.i1), tc.frac, &mut su);
        lerp_rows(v.row(tc.i0), v.row(tc.i1), tc.frac, &mut sv);
        gather(&sy, &xl, 0, &mut gy);
        gather2(&su, &sv, &xc, &mut gu, &mut gv);
        let start = (oy + lb.pad_y) * lb.dst_width + lb.pad_x;
        write_yuv_row(&mut planes, start, [&gy, &gu, &gv], &k, norm);
    }
    Ok(())
}

/// Letterboxes a packed 8-bit image into `out` (NCHW, `lb.tensor_len()` floats).
///
/// `image` is a plane of `3 · src_width` bytes per row (pixels of three channels in
/// `image_order`, rows may be padded).
#[inline(always)]
pub fn packed_to_tensor(
    image: &PlaneView<'_>,
    image_order: ChannelOrder,
    lb: &Letterbox,
    norm: &Normalize,
    out: &mut [f32],
) -> Result<(), DetectError> {
    if image.width() % 3 != 0 {
        return Err(shape(format!(
            "a packed 3-channel row has a multiple of 3 bytes, got {}",
            image.width()
        )));
    }
    let (w, h) = (image.width() / 3, image.height());
    check_source(lb, w, h)?;
    let mut planes = prepare_output(out, lb, norm)?;
    let xl: Vec<Tap> = axis_table(w, lb.content_width, None)
        .into_iter()
        .map(|t| Tap {
            i0: 3 * t.i0,
            i1: 3 * t.i1,
            frac: t.frac,
        })
        .collect();
    let yl = axis_table(h, lb.content_height, None);
    let mut row = vec![0.0; 3 * w];
    let mut c = [(); 3].map(|()| vec![0.0; lb.content_width]);
    for (oy, ty) in yl.iter().enumerate() {
        lerp_rows(image.row(ty.i0), image.row(ty.i1), ty.frac, &mut row);
        for (offset, channel) in c.iter_mut().enumerate() {
            gather(&row, &xl, offset, channel);
        }
        let rgb = match image_order {
            ChannelOrder::Bgr => [&c[2][..], &c[1][..], &c[0][..]],
            ChannelOrder::Rgb => [&c[0][..], &c[1][..], &c[2][..]],
        };
        let start = (oy + lb.pad_y) * lb.dst_width + lb.pad_x;
        write_row(&mut planes, start, rgb, norm);
    }
    Ok(())
}

#[inline(always)]
fn check_source(lb: &Letterbox, w: usize, h: usize) -> Result<(), DetectError> {
    if (lb.src_width, lb.src_height) != (w, h) {
        return Err(shape(format!(
            "the letterbox was fitted for a {}×{} source but the frame is {w}×{h}",
            lb.src_width, lb.src_height
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letterbox_fits_720p_into_416_top_left() {
        let lb = Letterbox::fit(1280, 720, 416, 416, true, false).unwrap();
        assert_eq!((lb.content_width, lb.content_height), (416, 234));
        assert_eq!((lb.pad_x, lb.pad_y), (0, 0));
        let lb = Letterbox::fit(1280, 720, 416, 416, true, true).unwrap();
        assert_eq!(lb.pad_y, 91);
        let b = lb.to_source([0.0, 91.0, 416.0, 325.0]);
        assert!((b[2] - 1280.0).abs() < 1e-9 && (b[3] - 720.0).abs() < 1e-9 && b[1] == 0.0);
    }

    #[test]
    fn grey_yuv_gives_grey_tensor_and_padding() {
        let (w, h) = (8, 6);
        let yp = vec![126u8; w * h];
        let cp = vec![128u8; (w / 2) * (h / 2)];
        let y = PlaneView::packed(&yp, w, h).unwrap();
        let c = PlaneView::packed(&cp, w / 2, h / 2).unwrap();
        let lb = Letterbox::fit(w, h, 4, 4, true, false).unwrap();
        let mut out = vec![0.0; lb.tensor_len()];
        let norm = Normalize::identity(ChannelOrder::Bgr);
        yuv420p_to_tensor(&y, &c, &c, &lb, YuvMatrix::Bt601, false, &norm, &mut out).unwrap();
        let grey = (126.0 - 16.0) * 255.0 / 219.0;
        assert!((out[0] - grey).abs() < 1e-3, "{}", out[0]);
        assert_eq!(out[15], 114.0); // the last row is padding (content is 4×3)
    }

    #[test]
    fn packed_identity_resize_copies_and_swaps_channels() {
        let data: Vec<u8> = (0..2 * 2 * 3).map(|i| i as u8 * 10).collect();
        let img = PlaneView::packed(&data, 6, 2).unwrap();
        let lb = Letterbox::fit(2, 2, 2, 2, true, false).unwrap();
        let mut out = vec![0.0; lb.tensor_len()];
        let norm = Normalize::identity(ChannelOrder::Rgb);
        packed_to_tensor(&img, ChannelOrder::Bgr, &lb, &norm, &mut out).unwrap();
        // R plane first: byte 2 of each BGR pixel.
        assert_eq!(&out[..4], &[20.0, 50.0, 80.0, 110.0]);
        assert_eq!(&out[8..], &[0.0, 30.0, 60.0, 90.0]);
    }

    #[test]
    fn plain_resize_stretches_and_normalises_without_padding() {
        // PicoDet: the frame fills the whole input, no pad value is written.
        let (w, h) = (8, 2);
        let yp: Vec<u8> = (0..w * h)
            .map(|i| if i % w < w / 2 { 16 } else { 235 })
            .collect();
        let cp = vec![128u8; (w / 2) * (h / 2)];
        let y = PlaneView::packed(&yp, w, h).unwrap();
        let c = PlaneView::packed(&cp, w / 2, h / 2).unwrap();
        let lb = Letterbox::fit(w, h, 2, 4, false, false).unwrap();
        assert_eq!((lb.content_width, lb.content_height), (2, 4));
        assert_eq!((lb.scale_x, lb.scale_y), (0.25, 2.0));
        let norm = Normalize {
            order: ChannelOrder::Bgr,
            mean: [103.53, 116.28, 123.675],
            std: [57.375, 57.12, 58.395],
            pad_value: 114.0,
        };
        let mut out = vec![f32::NAN; lb.tensor_len()];
        yuv420p_to_tensor(&y, &c, &c, &lb, YuvMatrix::Bt601, false, &norm, &mut out).unwrap();
        // Each output column samples 4 source columns' centre: black left, white right.
        for row in 0..4 {
            let (left, right) = (out[row * 2], out[row * 2 + 1]);
            assert!((left - (0.0 - 103.53) / 57.375).abs() < 1e-4, "{left}");
            assert!((right - (255.0 - 103.53) / 57.375).abs() < 1e-4, "{right}");
        }
        assert!(out.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn a_one_pixel_crop_fills_the_input() {
        // The corner crop of a frame (a detection region at the edge) may be tiny.
        let (yp, cp) = ([200u8], [128u8]);
        let y = PlaneView::packed(&yp, 1, 1).unwrap();
        let c = PlaneView::packed(&cp, 1, 1).unwrap();
        for keep in [true, false] {
            let lb = Letterbox::fit(1, 1, 416, 416, keep, false).unwrap();
            let mut out = vec![0.0; lb.tensor_len()];
            let norm = Normalize::identity(ChannelOrder::Bgr);
            yuv420p_to_tensor(&y, &c, &c, &lb, YuvMatrix::Bt601, false, &norm, &mut out).unwrap();
            let v = (200.0 - 16.0) * 255.0 / 219.0;
            assert!(out.iter().all(|&o| (o - v).abs() < 1e-3));
        }
    }

    #[test]
    fn mismatched_sizes_are_errors() {
        let yp = vec![0u8; 16];
        let y = PlaneView::packed(&yp, 4, 4).unwrap();
        let c = PlaneView::packed(&yp, 3, 2).unwrap();
        let lb = Letterbox::fit(4, 4, 4, 4, true, false).unwrap();
        let mut out = vec![0.0; lb.tensor_len()];
        let norm = Normalize::identity(ChannelOrder::Bgr);
        let r = yuv420p_to_tensor(&y, &c, &c, &lb, YuvMatrix::Bt601, false, &norm, &mut out);
        assert!(r.is_err());
        assert!(Letterbox::fit(0, 4, 4, 4, true, false).is_err());
    }
}
