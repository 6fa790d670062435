//! Association costs between predicted track boxes and detections, and gated candidate pairs.
//!
//! The cost of a pair is `1 − IoU`. When the boxes do not overlap at all but the object is
//! small or fast relative to its size (its prediction can miss by more than its own size), a
//! fallback cost from the centre distance, normalised by the track's size and speed, lets it be
//! matched anyway: `0.5 + 0.25 · d / R`, where `R = max(w, h) + 2·speed` for a fast track (speed in px/frame
//! above half its smaller side) and `R = 2·max(w, h) + 2·speed` for a small box (smaller side
//! under 16 px), so a fallback pair never beats a real overlap of IoU ≥ 0.5, is gated like any
//! other pair, and never joins a box of a very different size. Only a detection scoring at
//! least `fallback_min_score` is linked without overlap: the tracker asks `new_track_thresh`
//! of its confirmed and lost tracks (tentative ones, not reported yet, may follow weak
//! detections), because a track whose object has left the picture or gone behind something
//! is otherwise handed over to a weak detection nearby that is not its object (on PETS 2009 a
//! blue sign post that YOLOX-nano scores about 0.5 as a person took over the track of a walker
//! who left the picture past it, twice, and held it for the rest of the video). Pairs of
//! different classes have no cost (never matched).

/// A box `(x0, y0, x1, y1)` in pixels.
pub type Xyxy = [f64; 4];

/// Intersection over union of two boxes (0 when either is empty).
pub fn iou(a: &Xyxy, b: &Xyxy) -> f64 {
    let iw = a[2].min(b[2]) - a[0].max(b[0]);
    let ih = a[3].min(b[3]) - a[1].max(b[1]);
    if iw <= 0.0 || ih <= 0.0 {
        return 0.0;
    }
    let inter = iw * ih;
    let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// What the association knows of one track: predicted box, class, centre speed (px/frame),
/// and whether its velocity has been estimated (at least two hits).
#[derive(Debug, Clone, Copy)]
pub struct TrackProbe {
    pub xyxy: Xyxy,
    pub class: i64,
    pub speed: f64,
    pub has_velocity: bool,
}

/// How pair costs are computed.
#[derive(Debug, Clone, Copy)]
pub struct CostParams {
    /// Use the centre-distance fallback for small or fast objects.
    pub fallback: bool,
    /// A box whose smaller side is under this many pixels counts as small.
    pub small_px: f64,
    /// Lowest detection score the fallback links (weaker detections must overlap).
    pub fallback_min_score: f64,
    /// Multiply IoU by the detection score (ByteTrack's `fuse_score`).
    pub fuse_score: bool,
}

impl TrackProbe {
    /// Radius around the predicted centre within which the fallback applies (0: no fallback).
    fn fallback_radius(&self, params: &CostParams) -> f64 {
        if !params.fallback {
            return 0.0;
        }
        let (w, h) = (self.xyxy[2] - self.xyxy[0], self.xyxy[3] - self.xyxy[1]);
        if w.min(h) < params.small_px {
            // A small box: a few pixels of detector jitter or motion already cost all overlap.
            2.0 * w.max(h) + 2.0 * self.speed
        } else if self.has_velocity && self.speed > 0.5 * w.min(h) {
            w.max(h) + 2.0 * self.speed
        } else {
            0.0
        }
    }
}

fn pair_cost(
    t: &TrackProbe,
    radius: f64,
    det: &Xyxy,
    score: f64,
    params: &CostParams,
) -> Option<f64> {
    let overlap = iou(&t.xyxy, det);
    if overlap > 0.0 {
        let similarity = if params.fuse_score {
            overlap * score
        } else {
            overlap
        };
        return Some(1.0 - similarity);
    }
    if radius <= 0.0 || score < params.fallback_min_score {
        return None;
    }
    let (tw, th) = (t.xyxy[2] - t.xyxy[0], t.xyxy[3] - t.xyxy[1]);
    let (dw, dh) = (det[2] - det[0], det[3] - det[1]);
    // Sizes must agree within a factor of two: a fallback never links a box to a very
    // different object.
    let ratio_ok = |a: f64, b: f64| a > 0.0 && b > 0.0 && a <= 2.0 * b && b <= 2.0 * a;
    if !ratio_ok(tw, dw) || !ratio_ok(th, dh) {
        return None;
    }
    let dx = 0.5 * (det[0] + det[2] - t.xyxy[0] - t.xyxy[2]);
    let dy = 0.5 * (det[1] + det[3] - t.xyxy[1] - t.xyxy[3]);
    let d = dx.hypot(dy);
    (d < radius).then(|| 0.5 + 0.25 * d / radius)
}

/// Candidate pairs `(track, detection, cost)` with `cost < limit`, in track order then
/// detection order. `dets` and `scores` are indexed by the entries of `det_ids`; the pair
/// indices returned are positions in `tracks` and `det_ids`.
#[allow(clippy::too_many_arguments)]
pub fn candidate_pairs(
    tracks: &[TrackProbe],
    det_ids: &[usize],
    dets: &[Xyxy],
    scores: &[f64],
    classes: &[i64],
    params: &CostParams,
    limit: f64,
    out: &mut Vec<(usize, usize, f64)>,
) {
    out.clear();
    if tracks.is_empty() || det_ids.is_empty() {
        return;
    }
    // Detections sorted by left edge: a track only looks at those whose left edge lies in
    // [search_x0 - widest, search_x1).
    let mut order: Vec<(f64, usize)> = det_ids
        .iter()
        .enumerate()
        .map(|(k, &d)| (dets[d][0], k))
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let widest = det_ids
        .iter()
        .map(|&d| dets[d][2] - dets[d][0])
        .fold(0.0, f64::max);
    let mut hits: Vec<(usize, f64)> = Vec::new();
    for (ti, t) in tracks.iter().enumerate() {
        let radius = t.fallback_radius(params);
        let (sx0, sx1) = (t.xyxy[0] - radius, t.xyxy[2] + radius);
        let (sy0, sy1) = (t.xyxy[1] - radius, t.xyxy[3] + radius);
        let start = order.partition_point(|&(x0, _)| x0 < sx0 - widest);
        hits.clear();
        for &(x0, k) in &order[start..] {
            if x0 > sx1 {
                break;
            }
            let d = &dets[det_ids[k]];
            if d[2] < sx0 || d[3] < sy0 || d[1] > sy1 || classes[det_ids[k]] != t.class {
                continue;
            }
            if let Some(c) = pair_cost(t, radius, d, scores[det_ids[k]], params) {
                if c < limit {
                    hits.push((k, c));
                }
            }
        }
        hits.sort_unstable_by_key(|h| h.0);
        out.extend(hits.iter().map(|&(k, c)| (ti, k, c)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    const PARAMS: CostParams = CostParams {
        fallback: true,
        small_px: 16.0,
        fallback_min_score: 0.6,
        fuse_score: false,
    };

    #[test]
    fn iou_of_known_boxes() {
        assert_eq!(iou(&[0.0, 0.0, 2.0, 2.0], &[1.0, 0.0, 3.0, 2.0]), 1.0 / 3.0);
        assert_eq!(iou(&[0.0, 0.0, 1.0, 1.0], &[1.0, 0.0, 2.0, 1.0]), 0.0);
        assert_eq!(iou(&[0.0, 0.0, 0.0, 0.0], &[0.0, 0.0, 0.0, 0.0]), 0.0);
    }

    #[test]
    fn sweep_finds_every_overlapping_pair_of_the_same_class() {
        let mut rng = Rng::new(3);
        let boxes = |rng: &mut Rng, n: usize| -> Vec<Xyxy> {
            (0..n)
                .map(|_| {
                    let (x, y) = (rng.uniform() * 500.0, rng.uniform() * 500.0);
                    let (w, h) = (16.0 + rng.uniform() * 80.0, 16.0 + rng.uniform() * 80.0);
                    [x, y, x + w, y + h]
                })
                .collect()
        };
        let tb = boxes(&mut rng, 60);
        let dets = boxes(&mut rng, 70);
        let classes: Vec<i64> = (0..70).map(|i| i % 2).collect();
        let scores = vec![0.9; 70];
        let tracks: Vec<TrackProbe> = tb
            .iter()
            .enumerate()
            .map(|(i, b)| TrackProbe {
                xyxy: *b,
                class: (i % 2) as i64,
                speed: 0.0,
                has_velocity: false,
            })
            .collect();
        let ids: Vec<usize> = (0..70).collect();
        let mut got = Vec::new();
        candidate_pairs(
            &tracks, &ids, &dets, &scores, &classes, &PARAMS, 0.9, &mut got,
        );
        let mut want = Vec::new();
        for (ti, t) in tracks.iter().enumerate() {
            for (k, d) in dets.iter().enumerate() {
                let o = iou(&t.xyxy, d);
                if classes[k] == t.class && o > 0.0 && 1.0 - o < 0.9 {
                    want.push((ti, k, 1.0 - o));
                }
            }
        }
        assert!(!want.is_empty());
        assert_eq!(got, want);
    }

    #[test]
    fn fallback_links_a_fast_small_object_only_near_its_prediction() {
        let t = TrackProbe {
            xyxy: [100.0, 100.0, 120.0, 120.0],
            class: 0,
            speed: 15.0,
            has_velocity: true,
        };
        let r = t.fallback_radius(&PARAMS);
        assert_eq!(r, 50.0);
        let near = pair_cost(&t, r, &[135.0, 100.0, 155.0, 120.0], 1.0, &PARAMS).unwrap();
        assert!((near - (0.5 + 0.25 * 35.0 / 50.0)).abs() < 1e-12);
        assert!(pair_cost(&t, r, &[200.0, 100.0, 220.0, 120.0], 1.0, &PARAMS).is_none());
        // A much larger box is not this object.
        assert!(pair_cost(&t, r, &[125.0, 100.0, 175.0, 150.0], 1.0, &PARAMS).is_none());
        // A weak detection must overlap: without overlap it is not linked at all.
        assert!(pair_cost(&t, r, &[135.0, 100.0, 155.0, 120.0], 0.59, &PARAMS).is_none());
        assert!(pair_cost(&t, r, &[105.0, 100.0, 125.0, 120.0], 0.2, &PARAMS).is_some());
        // A small box has a fallback before its velocity is known.
        let tiny = TrackProbe {
            xyxy: [0.0, 0.0, 8.0, 8.0],
            class: 0,
            speed: 0.0,
            has_velocity: false,
        };
        assert_eq!(tiny.fallback_radius(&PARAMS), 16.0);
        // A large slow object has no fallback.
        let big = TrackProbe {
            xyxy: [0.0, 0.0, 50.0, 100.0],
            class: 0,
            speed: 2.0,
            has_velocity: true,
        };
        assert_eq!(big.fallback_radius(&PARAMS), 0.0);
    }
}
