//! Raw detector outputs to boxes in source pixels: score threshold, [`Letterbox`] undone,
//! clipping, then [`nms`].
//!
//! Every decoder keeps, per anchor, its best class only (the first one on ties), with the
//! score defined by the layout; anchors whose score is below `score_threshold` are dropped
//! before their box is decoded. Boxes are mapped to the source and clipped to it; a box left
//! without area (wholly in the padding) or with a non-finite coordinate is dropped. NMS then
//! runs on the source boxes, so its result is what a user sees.

use super::nms::nms;
use super::preprocess::Letterbox;
use super::{invalid, shape, DetectError};

/// Thresholds common to every decoder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeParams {
    /// Anchors scoring below this are dropped (`score >= score_threshold` is kept).
    pub score_threshold: f64,
    /// Boxes overlapping a better kept box of their class with a greater IoU are suppressed.
    pub iou_threshold: f64,
    /// At most this many detections, best first.
    pub max_detections: Option<usize>,
    /// Suppress across classes.
    pub class_agnostic: bool,
}

impl DecodeParams {
    fn check(&self) -> Result<(), DetectError> {
        if !self.score_threshold.is_finite() {
            return Err(invalid(format!(
                "score_threshold must be finite, got {}",
                self.score_threshold
            )));
        }
        if !(0.0..=1.0).contains(&self.iou_threshold) {
            return Err(invalid(format!(
                "iou_threshold must be in [0, 1], got {}",
                self.iou_threshold
            )));
        }
        Ok(())
    }
}

/// One detection: `[x1, y1, x2, y2]` in source pixels, its score and class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub bbox: [f64; 4],
    pub score: f64,
    pub class_id: i64,
}

/// Candidates that passed the threshold, in anchor order (NMS breaks ties by this order).
struct Candidates<'a> {
    lb: &'a Letterbox,
    boxes: Vec<[f64; 4]>,
    scores: Vec<f64>,
    classes: Vec<i64>,
}

impl<'a> Candidates<'a> {
    fn new(lb: &'a Letterbox) -> Self {
        Self {
            lb,
            boxes: Vec::new(),
            scores: Vec::new(),
            classes: Vec::new(),
        }
    }

    /// Adds a box given in model input pixels.
    fn push(&mut self, input_box: [f64; 4], score: f64, class_id: usize) {
        let b = self.lb.to_source(input_box);
        if b.iter().all(|v| v.is_finite()) && b[2] > b[0] && b[3] > b[1] {
            self.boxes.push(b);
            self.scores.push(score);
            self.classes.push(class_id as i64);
        }
    }

    fn finish(self, p: &DecodeParams) -> Vec<Detection> {
        let keep = nms(
            &self.boxes,
            &self.scores,
            &self.classes,
            p.iou_threshold,
            p.class_agnostic,
            p.max_detections,
        );
        keep.into_iter()
            .map(|i| Detection {
                bbox: self.boxes[i],
                score: self.scores[i],
                class_id: self.classes[i],
            })
            .collect()
    }
}

/// Index and value of the largest element (the first on ties; NaN never wins).
fn best_class(scores: &[f32]) -> (usize, f32) {
    let best = best_score(scores);
    let c = first_index(scores, best);
    match scores.get(c) {
        Some(&s) if s == best => (c, s), // s, not best: the first of 0.0 and -0.0
        _ => (0, best),
    }
}

/// The largest element (NaN never wins; `-inf` when there is none), over eight independent
/// lanes so that the compiler vectorises it: most anchors stop here, below the threshold,
/// and only the others look for the class ([`first_index`]).
fn best_score(scores: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 8];
    let mut chunks = scores.chunks_exact(8);
    for chunk in &mut chunks {
        for (lane, &s) in lanes.iter_mut().zip(chunk) {
            if s > *lane {
                *lane = s;
            }
        }
    }
    let mut best = f32::NEG_INFINITY;
    for &s in lanes.iter().chain(chunks.remainder()) {
        if s > best {
            best = s;
        }
    }
    best
}

/// Index of the first element equal to `best` (0 when none is: every score NaN).
fn first_index(scores: &[f32], best: f32) -> usize {
    scores.iter().position(|&s| s == best).unwrap_or(0)
}

fn cxcywh(cx: f64, cy: f64, w: f64, h: f64) -> [f64; 4] {
    [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0]
}

/// `(stride, grid width, grid height)` of each level of a `dst_width × dst_height` input.
fn grids(lb: &Letterbox, strides: &[usize]) -> Result<Vec<(usize, usize, usize)>, DetectError> {
    if strides.is_empty() || strides.contains(&0) {
        return Err(invalid(format!(
            "strides must be positive and not empty, got {strides:?}"
        )));
    }
    Ok(strides
        .iter()
        .map(|&s| (s, lb.dst_width.div_ceil(s), lb.dst_height.div_ceil(s)))
        .collect())
}

fn check_len(data: &[f32], rows: usize, cols: usize, what: &str) -> Result<(), DetectError> {
    if rows.checked_mul(cols) != Some(data.len()) {
        return Err(shape(format!(
            "{what}: {} values do not make a {rows}×{cols} array",
            data.len()
        )));
    }
    Ok(())
}

/// YOLOX raw output `[anchors, 5 + classes]`: per anchor `(x, y, log w, log h, objectness,
/// class scores...)` on the grids of `strides`, row-major per level, levels in order.
///
/// Centre `(x + gx, y + gy) · stride`, size `exp(log w) · stride`; score `objectness · class`.
pub fn decode_yolox(
    data: &[f32],
    anchors: usize,
    cols: usize,
    lb: &Letterbox,
    strides: &[usize],
    p: &DecodeParams,
) -> Result<Vec<Detection>, DetectError> {
    p.check()?;
    check_len(data, anchors, cols, "YOLOX output")?;
    if cols < 6 {
        return Err(shape(format!(
            "YOLOX output rows need 5 + classes >= 6 values, got {cols}"
        )));
    }
    let levels = grids(lb, strides)?;
    let expected: usize = levels.iter().map(|&(_, gw, gh)| gw * gh).sum();
    if anchors != expected {
        return Err(shape(format!(
            "YOLOX output has {anchors} anchors but a {}×{} input with strides {strides:?} has \
             {expected}",
            lb.dst_width, lb.dst_height
        )));
    }
    let mut out = Candidates::new(lb);
    let mut rows = data.chunks_exact(cols);
    for (stride, gw, gh) in levels {
        let s = stride as f64;
        for (cell, row) in (0..gw * gh).zip(&mut rows) {
            let best = best_score(&row[5..]);
            if f64::from(row[4]) * f64::from(best) >= p.score_threshold {
                let (c, best) = best_class(&row[5..]);
                let score = f64::from(row[4]) * f64::from(best);
                let (gx, gy) = ((cell % gw) as f64, (cell / gw) as f64);
                let cx = (f64::from(row[0]) + gx) * s;
                let cy = (f64::from(row[1]) + gy) * s;
                let w = f64::from(row[2]).exp() * s;
                let h = f64::from(row[3]).exp() * s;
                out.push(cxcywh(cx, cy, w, h), score, c);
            }
        }
    }
    Ok(out.finish(p))
}

/// YOLOv5 output `[anchors, 5 + classes]`: `(cx, cy, w, h)` in input pixels, objectness, class
/// scores (all already decoded by the model); score `objectness · class`.
pub fn decode_yolov5(
    data: &[f32],
    anchors: usize,
    cols: usize,
    lb: &Letterbox,
    p: &DecodeParams,
) -> Result<Vec<Detection>, DetectError> {
    p.check()?;
    check_len(data, anchors, cols, "YOLOv5 output")?;
    if cols < 6 {
        return Err(shape(format!(
            "YOLOv5 output rows need 5 + classes >= 6 values, got {cols}"
        )));
    }
    let mut out = Candidates::new(lb);
    for row in data.chunks_exact(cols) {
        let best = best_score(&row[5..]);
        if f64::from(row[4]) * f64::from(best) >= p.score_threshold {
            let (c, best) = best_class(&row[5..]);
            let score = f64::from(row[4]) * f64::from(best);
            let [cx, cy, w, h] = [row[0], row[1], row[2], row[3]].map(f64::from);
            out.push(cxcywh(cx, cy, w, h), score, c);
        }
    }
    Ok(out.finish(p))
}

/// YOLOv8/YOLO11 output `[4 + classes, anchors]` (transposed: one row per value): `(cx, cy,
/// w, h)` in input pixels then class scores, no objectness; score = the class score.
pub fn decode_yolov8(
    data: &[f32],
    rows: usize,
    anchors: usize,
    lb: &Letterbox,
    p: &DecodeParams,
) -> Result<Vec<Detection>, DetectError> {
    p.check()?;
    check_len(data, rows, anchors, "YOLOv8 output")?;
    if rows < 5 {
        return Err(shape(format!(
            "YOLOv8 output needs 4 + classes >= 5 rows, got {rows} (is it [1, anchors, 4 + C]? \
             transpose it)"
        )));
    }
    // Class by class over all anchors: contiguous reads, unlike a per-anchor column walk.
    let mut best = vec![f32::NEG_INFINITY; anchors];
    let mut best_c = vec![0usize; anchors];
    for (c, row) in data.chunks_exact(anchors).skip(4).enumerate() {
        for ((b, bc), &s) in best.iter_mut().zip(&mut best_c).zip(row) {
            if s > *b {
                *b = s;
                *bc = c;
            }
        }
    }
    let at = |j: usize, a: usize| f64::from(data[j * anchors + a]);
    let mut out = Candidates::new(lb);
    for a in 0..anchors {
        let score = f64::from(best[a]);
        if score >= p.score_threshold {
            out.push(
                cxcywh(at(0, a), at(1, a), at(2, a), at(3, a)),
                score,
                best_c[a],
            );
        }
    }
    Ok(out.finish(p))
}

/// One level of NanoDet output: class scores `[anchors, classes]` (already sigmoid-ed) and
/// distance distributions `[anchors, 4 · (reg_max + 1)]` (logits, sides left, top, right,
/// bottom), both row-major.
#[derive(Debug, Clone, Copy)]
pub struct NanoDetLevel<'a> {
    pub cls: &'a [f32],
    pub dis: &'a [f32],
    pub anchors: usize,
}

/// Geometry of a NanoDet (GFL) head.
#[derive(Debug, Clone, PartialEq)]
pub struct NanoDetParams {
    /// One stride per level, in the order of the levels.
    pub strides: Vec<usize>,
    /// Largest bin of the distance distributions (NanoDet: 7, so 8 bins).
    pub reg_max: usize,
    /// Cell centre, in cells: `(gx + center_offset) · stride` (0.5: the middle of the cell).
    pub center_offset: f64,
}

/// NanoDet GFL output: per level, class scores and per-side distance distributions.
///
/// Each side's distance is the expected bin (softmax over `reg_max + 1` logits) times the
/// stride, measured from the cell centre; the score is the best class score.
pub fn decode_nanodet(
    levels: &[NanoDetLevel<'_>],
    classes: usize,
    lb: &Letterbox,
    g: &NanoDetParams,
    p: &DecodeParams,
) -> Result<Vec<Detection>, DetectError> {
    p.check()?;
    if !g.center_offset.is_finite() {
        return Err(invalid("center_offset must be finite"));
    }
    let grid = grids(lb, &g.strides)?;
    if levels.len() != grid.len() {
        return Err(shape(format!(
            "{} NanoDet levels given for {} strides {:?}",
            levels.len(),
            grid.len(),
            g.strides
        )));
    }
    if classes == 0 {
        return Err(shape("NanoDet class scores have no class"));
    }
    let bins = g.reg_max + 1;
    let mut out = Candidates::new(lb);
    let mut probs = vec![0.0f64; bins];
    for (i, (level, &(stride, gw, gh))) in levels.iter().zip(&grid).enumerate() {
        let n = level.anchors;
        if n != gw * gh {
            return Err(shape(format!(
                "NanoDet level {i} has {n} anchors but a {}×{} input at stride {stride} has {}",
                lb.dst_width,
                lb.dst_height,
                gw * gh
            )));
        }
        check_len(
            level.cls,
            n,
            classes,
            &format!("NanoDet class scores of level {i}"),
        )?;
        check_len(
            level.dis,
            n,
            4 * bins,
            &format!("NanoDet distances of level {i}"),
        )?;
        let s = stride as f64;
        for (a, (cls, dis)) in level
            .cls
            .chunks_exact(classes)
            .zip(level.dis.chunks_exact(4 * bins))
            .enumerate()
        {
            if f64::from(best_score(cls)) < p.score_threshold {
                continue;
            }
            let (c, best) = best_class(cls);
            let score = f64::from(best);
            let mut d = [0.0f64; 4];
            for (side, logits) in d.iter_mut().zip(dis.chunks_exact(bins)) {
                *side = expected_bin(logits, &mut probs) * s;
            }
            let cx = ((a % gw) as f64 + g.center_offset) * s;
            let cy = ((a / gw) as f64 + g.center_offset) * s;
            out.push([cx - d[0], cy - d[1], cx + d[2], cy + d[3]], score, c);
        }
    }
    Ok(out.finish(p))
}

/// `Σ i · softmax(logits)_i`, computed stably in f64 (`probs` is scratch of the same length).
fn expected_bin(logits: &[f32], probs: &mut [f64]) -> f64 {
    let max = logits
        .iter()
        .fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
    let mut sum = 0.0;
    for (p, &v) in probs.iter_mut().zip(logits) {
        *p = (f64::from(v) - max).exp();
        sum += *p;
    }
    probs
        .iter()
        .enumerate()
        .map(|(i, p)| i as f64 * p)
        .sum::<f64>()
        / sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> DecodeParams {
        DecodeParams {
            score_threshold: 0.3,
            iou_threshold: 0.5,
            max_detections: None,
            class_agnostic: false,
        }
    }

    #[test]
    fn yolox_decodes_one_anchor_on_the_right_grid_cell() {
        // 64×64 input, strides 8/16/32: 64 + 16 + 4 anchors; 2 classes.
        let lb = Letterbox::fit(128, 64, 64, 64, true, false).unwrap(); // scale 0.5, content 64×32
        let (n, k) = (84, 7);
        let mut data = vec![0.0f32; n * k];
        let a = 64 + 5; // stride 16, cell (1, 1)
        data[a * k..(a + 1) * k].copy_from_slice(&[0.5, 0.5, 0.0, 0.0, 0.9, 0.2, 0.8]);
        let dets = decode_yolox(&data, n, k, &lb, &[8, 16, 32], &params()).unwrap();
        assert_eq!(dets.len(), 1);
        let d = dets[0];
        assert_eq!(d.class_id, 1);
        assert!((d.score - 0.9 * 0.8_f32 as f64).abs() < 1e-6);
        // centre (24, 24), size 16 in input pixels → ×2 in source pixels.
        assert_eq!(d.bbox, [32.0, 32.0, 64.0, 64.0]);
        assert!(decode_yolox(&data, n - 1, k, &lb, &[8, 16, 32], &params()).is_err());
    }

    #[test]
    fn best_class_is_the_first_largest_and_nan_never_wins() {
        // Lengths around the eight lanes; the best in a lane, in the remainder, tied.
        for n in [1usize, 7, 8, 9, 16, 80, 83] {
            for at in 0..n {
                let mut s: Vec<f32> = (0..n).map(|i| (i % 5) as f32 * 0.1).collect();
                s[at] = 0.9;
                assert_eq!(best_class(&s), (at, 0.9), "n {n} at {at}");
                s[n - 1] = 0.9; // a tie later: the first one wins
                assert_eq!(best_class(&s), (at, 0.9), "n {n} at {at}, tied");
                s[0] = f32::NAN;
                let want = if n == 1 {
                    (0, f32::NEG_INFINITY)
                } else if at == 0 {
                    (n - 1, 0.9)
                } else {
                    (at, 0.9)
                };
                assert_eq!(best_class(&s), want, "n {n} at {at}, NaN first");
            }
        }
        assert_eq!(best_class(&[f32::NAN; 9]), (0, f32::NEG_INFINITY));
    }

    #[test]
    fn yolov8_reads_the_transposed_layout() {
        let lb = Letterbox::fit(100, 100, 100, 100, true, false).unwrap();
        let (rows, n) = (6, 3);
        let mut data = vec![0.0f32; rows * n];
        for (j, v) in [50.0, 40.0, 20.0, 10.0, 0.1, 0.7].into_iter().enumerate() {
            data[j * n + 2] = v;
        }
        let dets = decode_yolov8(&data, rows, n, &lb, &params()).unwrap();
        assert_eq!(dets.len(), 1);
        assert_eq!(dets[0].bbox, [40.0, 35.0, 60.0, 45.0]);
        assert_eq!(dets[0].class_id, 1);
    }

    #[test]
    fn nanodet_expected_distance_is_the_softmax_mean() {
        let mut probs = vec![0.0; 8];
        let uniform = [0.0f32; 8];
        assert!((expected_bin(&uniform, &mut probs) - 3.5).abs() < 1e-12);
        let mut peaked = [-100.0f32; 8];
        peaked[2] = 100.0;
        assert!((expected_bin(&peaked, &mut probs) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn picodet_head_decodes_on_a_partial_stride_64_grid() {
        // PicoDet-S 416: strides 8/16/32/64; 416 / 64 = 6.5, so the last grid is 7×7 (its
        // last row and column of cells lie partly outside the input). Plain resize of a
        // 1280×720 frame: the scales differ per axis.
        let lb = Letterbox::fit(1280, 720, 416, 416, false, false).unwrap();
        let strides = [8, 16, 32, 64];
        let sizes: Vec<usize> = strides
            .iter()
            .map(|s| 416usize.div_ceil(*s).pow(2))
            .collect();
        assert_eq!(sizes, [2704, 676, 169, 49]);
        let (classes, bins) = (3, 8);
        let mut cls: Vec<Vec<f32>> = sizes.iter().map(|n| vec![0.0; n * classes]).collect();
        let mut dis: Vec<Vec<f32>> = sizes.iter().map(|n| vec![0.0; n * 4 * bins]).collect();
        let a = 6 * 7 + 6; // stride 64, cell (6, 6): centre (416, 416) with offset 0.5
        cls[3][a * classes + 2] = 0.9;
        for side in 0..4 {
            let logits = &mut dis[3][(a * 4 + side) * bins..(a * 4 + side + 1) * bins];
            logits.fill(-50.0);
            logits[1] = 50.0; // one bin: 64 input pixels on every side
        }
        let levels: Vec<NanoDetLevel<'_>> = (0..4)
            .map(|i| NanoDetLevel {
                cls: &cls[i],
                dis: &dis[i],
                anchors: sizes[i],
            })
            .collect();
        let g = NanoDetParams {
            strides: strides.to_vec(),
            reg_max: 7,
            center_offset: 0.5,
        };
        let dets = decode_nanodet(&levels, classes, &lb, &g, &params()).unwrap();
        assert_eq!(dets.len(), 1);
        assert_eq!(dets[0].class_id, 2);
        // Input box [352, 352, 480, 480] → source, clipped to the 1280×720 frame.
        let b = dets[0].bbox;
        let (sx, sy) = (1280.0 / 416.0, 720.0 / 416.0);
        assert!((b[0] - 352.0 * sx).abs() < 1e-6 && (b[1] - 352.0 * sy).abs() < 1e-6);
        assert_eq!([b[2], b[3]], [1280.0, 720.0]);
        let short = NanoDetLevel {
            anchors: 36,
            ..levels[3]
        };
        let three = [levels[0], levels[1], levels[2], short];
        assert!(decode_nanodet(&three, classes, &lb, &g, &params()).is_err());
    }

    #[test]
    fn boxes_in_the_padding_are_dropped() {
        let lb = Letterbox::fit(100, 50, 100, 100, true, false).unwrap(); // content 100×50
        let data = [50.0, 80.0, 10.0, 10.0, 1.0, 1.0];
        let dets = decode_yolov5(&data, 1, 6, &lb, &params()).unwrap();
        assert!(dets.is_empty());
    }
}
