//! Greedy non-maximum suppression.

/// Intersection over union of two `[x1, y1, x2, y2]` boxes; 0 when the union is empty.
///
/// A box with `x2 <= x1` or `y2 <= y1` has no area.
pub fn iou(a: &[f64; 4], b: &[f64; 4]) -> f64 {
    let area = |r: &[f64; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let union = area(a) + area(b) - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// Indices of the boxes kept by greedy NMS, best first.
///
/// Boxes are visited by decreasing score, ties by increasing index (NaN scores last); a box is
/// kept unless its IoU with an already kept box of the same class (of any class when
/// `class_agnostic`) is greater than `iou_threshold`. Stops after `max_detections` boxes.
///
/// # Panics
/// If `boxes`, `scores` and `class_ids` differ in length.
pub fn nms(
    boxes: &[[f64; 4]],
    scores: &[f64],
    class_ids: &[i64],
    iou_threshold: f64,
    class_agnostic: bool,
    max_detections: Option<usize>,
) -> Vec<usize> {
    assert!(boxes.len() == scores.len() && scores.len() == class_ids.len());
    let mut order: Vec<usize> = (0..boxes.len()).collect();
    order.sort_by(|&i, &j| {
        let (si, sj) = (scores[i], scores[j]);
        // Descending score with NaN last; `sort_by` is stable, so ties keep index order.
        match (si.is_nan(), sj.is_nan()) {
            (false, false) => sj.total_cmp(&si),
            (a, b) => a.cmp(&b),
        }
    });
    let limit = max_detections.unwrap_or(usize::MAX);
    let mut kept: Vec<usize> = Vec::new();
    if limit == 0 {
        return kept;
    }
    for i in order {
        let suppressed = kept.iter().any(|&k| {
            (class_agnostic || class_ids[k] == class_ids[i])
                && iou(&boxes[k], &boxes[i]) > iou_threshold
        });
        if !suppressed {
            kept.push(i);
            if kept.len() >= limit {
                break;
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_known_boxes() {
        let a = [0.0, 0.0, 2.0, 2.0];
        assert_eq!(iou(&a, &a), 1.0);
        assert!((iou(&a, &[1.0, 0.0, 3.0, 2.0]) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(iou(&a, &[5.0, 5.0, 6.0, 6.0]), 0.0);
        assert_eq!(iou(&[1.0, 1.0, 1.0, 1.0], &[1.0, 1.0, 1.0, 1.0]), 0.0);
    }

    #[test]
    fn suppresses_overlaps_of_the_same_class_only() {
        let boxes = [
            [0.0, 0.0, 10.0, 10.0],
            [1.0, 1.0, 11.0, 11.0],
            [1.0, 1.0, 11.0, 11.0],
            [50.0, 50.0, 60.0, 60.0],
        ];
        let scores = [0.5, 0.9, 0.8, 0.7];
        let classes = [0, 0, 1, 0];
        assert_eq!(
            nms(&boxes, &scores, &classes, 0.5, false, None),
            vec![1, 2, 3]
        );
        assert_eq!(nms(&boxes, &scores, &classes, 0.5, true, None), vec![1, 3]);
        assert_eq!(
            nms(&boxes, &scores, &classes, 0.5, false, Some(2)),
            vec![1, 2]
        );
    }

    #[test]
    fn ties_keep_the_lower_index() {
        let boxes = [[0.0, 0.0, 10.0, 10.0]; 3];
        assert_eq!(
            nms(&boxes, &[0.5, 0.5, 0.5], &[0, 0, 0], 0.5, false, None),
            vec![0]
        );
        assert_eq!(
            nms(&boxes, &[f64::NAN, 0.1, 0.1], &[0, 0, 0], 0.5, false, None),
            vec![1]
        );
    }
}
