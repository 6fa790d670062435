//! The [`Tracker`]: track life cycle and the ByteTrack association cascade.
//!
//! Each [`Tracker::update`] (one frame):
//! 1. predicts every track one frame ahead (lost tracks keep their size);
//! 2. matches high-score detections (`score >= high_thresh`) to confirmed and lost tracks,
//!    cost limit `match_thresh`;
//! 3. matches low-score detections (`low_thresh <= score < high_thresh`) to the confirmed
//!    tracks still unmatched, limit `low_match_thresh`; confirmed tracks left over become lost;
//! 4. matches the high-score detections left, and the low-score ones left with
//!    `score >= tentative_thresh`, to tentative tracks, limit `tentative_match_thresh`;
//!    tentative tracks left over are removed;
//! 5. starts a tentative track on every detection left with `score >= tentative_thresh`
//!    (one with `score >= new_track_thresh` is confirmed at once on the very first frame, as
//!    ByteTrack), strong ones first, except a weak one (below `new_track_thresh`) on a
//!    confirmed or lost track of its class, or on a track started in this frame (cost under
//!    `match_thresh`);
//! 6. removes lost tracks not seen for more than `lost_s` seconds.
//!
//! A tentative track started at `score >= new_track_thresh` is confirmed after `min_hits`
//! consecutive matches; one started lower (a weak detection: a far, dark or partly hidden
//! object) after `tentative_hits`, and only once it has moved `tentative_travel` box sizes
//! from where it started (or matched a detection at `new_track_thresh`): a moving object the
//! detector scores low but sees in every frame is tracked, while a one-frame false detection,
//! or a fixed structure the detector keeps scoring weakly (a sign taken for a person), is not. Detections only match tracks
//! of their own class. Everything is deterministic: the same detections give the same ids.

use std::collections::VecDeque;
use std::fmt;

use super::assign::assign_sparse;
use super::cost::{candidate_pairs, iou, CostParams, TrackProbe, Xyxy};
use super::kalman::KalmanBox;

/// Parameters of a [`Tracker`] (ByteTrack's defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerConfig {
    /// Frames per second of the input, used to turn `lost_s` into frames.
    pub frame_rate: f64,
    /// Detections at or above this score take part in the first association.
    pub high_thresh: f64,
    /// Detections below this score are ignored.
    pub low_thresh: f64,
    /// An unmatched detection at or above this score starts a track confirmed after
    /// `min_hits` consecutive matches.
    pub new_track_thresh: f64,
    /// An unmatched detection in `[tentative_thresh, new_track_thresh)` starts a track
    /// confirmed only after `tentative_hits` consecutive matches (`tentative_thresh ==
    /// new_track_thresh`: weak detections never start a track).
    pub tentative_thresh: f64,
    /// Cost limit (`1 − IoU`) of the first association.
    pub match_thresh: f64,
    /// Cost limit of the second (low-score) association.
    pub low_match_thresh: f64,
    /// Cost limit between tentative tracks and detections.
    pub tentative_match_thresh: f64,
    /// How long a lost track is kept, in seconds.
    pub lost_s: f64,
    /// Consecutive matches that confirm a tentative track.
    pub min_hits: u32,
    /// Consecutive matches that confirm a track started by a weak detection.
    pub tentative_hits: u32,
    /// How far a track started by a weak detection must have moved before it is confirmed:
    /// its centre's displacement from where it started in box sizes (`sqrt(w · h)`), plus
    /// the change of its size (`|ln(size / first size)|`, for an object coming towards the
    /// camera or going away); 0: not at all. A weak detection
    /// that comes back at the same place in every frame is usually a fixed structure (a
    /// sign, a pole) the detector takes for an object; it stays tentative until it moves or
    /// scores `new_track_thresh`.
    pub tentative_travel: f64,
    /// How many recent anchor points each track remembers.
    pub path_length: usize,
    /// Centre-distance fallback for small or fast objects (see [`super::cost`]).
    pub fallback: bool,
    /// Multiply IoU by the detection score in the first association.
    pub fuse_score: bool,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            frame_rate: 30.0,
            high_thresh: 0.5,
            low_thresh: 0.1,
            new_track_thresh: 0.6,
            tentative_thresh: 0.3,
            match_thresh: 0.8,
            low_match_thresh: 0.5,
            tentative_match_thresh: 0.7,
            lost_s: 1.0,
            min_hits: 2,
            tentative_hits: 3,
            tentative_travel: 1.0,
            path_length: 32,
            fallback: true,
            fuse_score: false,
        }
    }
}

/// Life-cycle state of a track; the discriminant is the code exposed to Python.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TrackState {
    /// Started, not yet matched `min_hits` (or `tentative_hits`) times in a row.
    Tentative = 0,
    /// Matched in the current frame (or confirmed and matched on its last frame).
    Confirmed = 1,
    /// Confirmed earlier, unmatched now; kept for `lost_s` and predicted meanwhile.
    Lost = 2,
    /// Gone: a tentative track that missed a frame, or a lost track past `lost_s`.
    Removed = 3,
}

/// A bad input to [`Tracker::update`] or a bad [`TrackerConfig`].
#[derive(Debug, Clone, PartialEq)]
pub enum TrackError {
    /// The boxes, scores and classes do not have the same length.
    LengthMismatch {
        boxes: usize,
        scores: usize,
        classes: usize,
    },
    /// A box coordinate or score is NaN or infinite.
    NonFinite { index: usize },
    /// A box with `x1 < x0` or `y1 < y0`.
    InvertedBox { index: usize, xyxy: Xyxy },
    /// A configuration value out of range: `name` is the field, `message` says why.
    Config { name: &'static str, message: String },
}

impl fmt::Display for TrackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LengthMismatch {
                boxes,
                scores,
                classes,
            } => write!(
                f,
                "boxes, scores and classes differ in length ({boxes}, {scores}, {classes})"
            ),
            Self::NonFinite { index } => {
                write!(
                    f,
                    "detection {index} has a NaN or infinite coordinate or score"
                )
            }
            Self::InvertedBox { index, xyxy } => write!(
                f,
                "detection {index} is not an (x0, y0, x1, y1) box with x0 <= x1 and y0 <= y1: \
                 {xyxy:?}"
            ),
            Self::Config { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for TrackError {}

/// One track as seen after an update.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackView {
    pub id: u64,
    pub class: i64,
    /// Filtered box `(x0, y0, x1, y1)` (predicted when not matched this frame).
    pub xyxy: Xyxy,
    /// Centre velocity `(vx, vy)` in pixels per frame.
    pub velocity: [f64; 2],
    /// Frames since the track started (1 on its first frame).
    pub age: u32,
    /// Frames in which a detection was matched.
    pub hits: u32,
    /// Frames since the last match (0 when matched this frame).
    pub time_since_update: u32,
    pub state: TrackState,
    /// Index of the detection that updated the track this frame, if any.
    pub det_index: Option<usize>,
    /// Score of the last matched detection.
    pub score: f64,
}

#[derive(Debug, Clone)]
struct Track {
    id: u64,
    class: i64,
    kf: KalmanBox,
    state: TrackState,
    age: u32,
    hits: u32,
    streak: u32,
    /// Consecutive matches that confirm this track while tentative.
    needed: u32,
    /// Started by a weak detection and never matched one at `new_track_thresh`: it must also
    /// travel `tentative_travel` from `origin` to be confirmed.
    weak: bool,
    /// Centre and size (`sqrt(w · h)`) of the first detection.
    origin: [f64; 3],
    time_since_update: u32,
    det_index: Option<usize>,
    score: f64,
    path: VecDeque<[f64; 2]>,
}

impl Track {
    fn view(&self) -> TrackView {
        TrackView {
            id: self.id,
            class: self.class,
            xyxy: self.kf.xyxy(),
            velocity: self.kf.velocity(),
            age: self.age,
            hits: self.hits,
            time_since_update: self.time_since_update,
            state: self.state,
            det_index: self.det_index,
            score: self.score,
        }
    }

    fn probe(&self) -> TrackProbe {
        let [vx, vy] = self.kf.velocity();
        TrackProbe {
            xyxy: self.kf.xyxy(),
            class: self.class,
            speed: vx.hypot(vy),
            has_velocity: self.hits >= 2,
        }
    }
}

/// ByteTrack-style multi-object tracker over one camera's detections.
#[derive(Debug, Clone)]
pub struct Tracker {
    config: TrackerConfig,
    max_lost_frames: u32,
    tracks: Vec<Track>,
    removed: Vec<Track>,
    next_id: u64,
    frame: u64,
    // Scratch buffers reused across frames.
    pairs: Vec<(usize, usize, f64)>,
}

impl Tracker {
    /// A tracker with `config`, or an error naming the value out of range.
    pub fn new(config: TrackerConfig) -> Result<Self, TrackError> {
        let c = &config;
        let bad = |name: &'static str, message: String| Err(TrackError::Config { name, message });
        if !(c.frame_rate.is_finite() && c.frame_rate > 0.0) {
            return bad(
                "frame_rate",
                format!("frame_rate must be > 0, got {}", c.frame_rate),
            );
        }
        if !(c.lost_s.is_finite() && c.lost_s >= 0.0) {
            return bad("lost_s", format!("lost_s must be >= 0, got {}", c.lost_s));
        }
        for (name, v) in [
            ("track_high_thresh", c.high_thresh),
            ("track_low_thresh", c.low_thresh),
            ("new_track_thresh", c.new_track_thresh),
            ("tentative_thresh", c.tentative_thresh),
            ("tentative_travel", c.tentative_travel),
            ("match_thresh", c.match_thresh),
            ("low_match_thresh", c.low_match_thresh),
            ("tentative_match_thresh", c.tentative_match_thresh),
        ] {
            if !v.is_finite() {
                return bad(name, format!("{name} must be finite, got {v}"));
            }
        }
        if c.low_thresh > c.high_thresh {
            return bad(
                "track_low_thresh",
                format!(
                    "track_low_thresh ({}) must not exceed track_high_thresh ({})",
                    c.low_thresh, c.high_thresh
                ),
            );
        }
        if c.tentative_thresh > c.new_track_thresh {
            return bad(
                "tentative_thresh",
                format!(
                    "tentative_thresh ({}) must not exceed new_track_thresh ({})",
                    c.tentative_thresh, c.new_track_thresh
                ),
            );
        }
        if c.min_hits == 0 {
            return bad("min_hits", "min_hits must be at least 1".into());
        }
        if c.tentative_travel < 0.0 {
            return bad(
                "tentative_travel",
                format!("tentative_travel must be >= 0, got {}", c.tentative_travel),
            );
        }
        if c.tentative_hits == 0 {
            return bad("tentative_hits", "tentative_hits must be at least 1".into());
        }
        let max_lost_frames = (c.lost_s * c.frame_rate).round().min(u32::MAX as f64) as u32;
        Ok(Self {
            config,
            max_lost_frames,
            tracks: Vec::new(),
            removed: Vec::new(),
            next_id: 1,
            frame: 0,
            pairs: Vec::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    /// Frames processed since creation or the last reset.
    pub fn frame(&self) -> u64 {
        self.frame
    }

    /// Forgets every track; ids start again from 1.
    pub fn reset(&mut self) {
        self.tracks.clear();
        self.removed.clear();
        self.next_id = 1;
        self.frame = 0;
    }

    /// Live tracks (tentative, confirmed, lost), by increasing id.
    pub fn tracks(&self) -> impl Iterator<Item = TrackView> + '_ {
        self.tracks.iter().map(Track::view)
    }

    /// Tracks removed by the last update, by increasing id.
    pub fn removed(&self) -> impl Iterator<Item = TrackView> + '_ {
        self.removed.iter().map(Track::view)
    }

    /// Recent anchor points (bottom centre of the matched box) of a live track, oldest first.
    pub fn path(&self, id: u64) -> Option<Vec<[f64; 2]>> {
        let k = self.tracks.binary_search_by_key(&id, |t| t.id).ok()?;
        Some(self.tracks[k].path.iter().copied().collect())
    }

    /// Processes one frame of detections: boxes `(x0, y0, x1, y1)`, scores, and classes
    /// (`None`: all class 0). On error nothing changes.
    pub fn update(
        &mut self,
        boxes: &[Xyxy],
        scores: &[f64],
        classes: Option<&[i64]>,
    ) -> Result<(), TrackError> {
        let n = boxes.len();
        let zeros;
        let classes = match classes {
            Some(c) => c,
            None => {
                zeros = vec![0i64; n];
                &zeros
            }
        };
        if scores.len() != n || classes.len() != n {
            return Err(TrackError::LengthMismatch {
                boxes: n,
                scores: scores.len(),
                classes: classes.len(),
            });
        }
        for (index, (b, s)) in boxes.iter().zip(scores).enumerate() {
            if !(b.iter().all(|v| v.is_finite()) && s.is_finite()) {
                return Err(TrackError::NonFinite { index });
            }
            if b[2] < b[0] || b[3] < b[1] {
                return Err(TrackError::InvertedBox { index, xyxy: *b });
            }
        }
        self.frame += 1;
        self.removed.clear();
        for t in &mut self.tracks {
            t.kf.predict(t.state != TrackState::Confirmed);
            t.age = t.age.saturating_add(1);
            t.time_since_update = t.time_since_update.saturating_add(1);
            t.det_index = None;
        }
        let c = self.config.clone();
        let high: Vec<usize> = (0..n).filter(|&i| scores[i] >= c.high_thresh).collect();
        let low: Vec<usize> = (0..n)
            .filter(|&i| scores[i] >= c.low_thresh && scores[i] < c.high_thresh)
            .collect();
        let params = CostParams {
            fallback: c.fallback,
            small_px: 16.0,
            fallback_min_score: c.new_track_thresh,
            fuse_score: c.fuse_score,
        };
        let plain = CostParams {
            fuse_score: false,
            ..params
        };
        // A tentative track (not reported yet) may follow its weak detections by distance too.
        let young = CostParams {
            fallback_min_score: 0.0,
            ..params
        };

        // Stage 1: high-score detections against confirmed and lost tracks.
        let pool: Vec<usize> = (0..self.tracks.len())
            .filter(|&k| self.tracks[k].state != TrackState::Tentative)
            .collect();
        let matched = self.associate(
            &pool,
            &high,
            boxes,
            scores,
            classes,
            &params,
            c.match_thresh,
        );
        let mut high_used = vec![false; high.len()];
        let mut pool_used = vec![false; pool.len()];
        for &(p, d) in &matched {
            pool_used[p] = true;
            high_used[d] = true;
            self.hit(pool[p], high[d], boxes, scores);
        }

        // Stage 2: low-score detections against the confirmed tracks still unmatched.
        let rest: Vec<usize> = pool
            .iter()
            .zip(&pool_used)
            .filter(|&(&k, &used)| !used && self.tracks[k].state == TrackState::Confirmed)
            .map(|(&k, _)| k)
            .collect();
        let matched = self.associate(
            &rest,
            &low,
            boxes,
            scores,
            classes,
            &plain,
            c.low_match_thresh,
        );
        let mut rest_used = vec![false; rest.len()];
        for &(r, d) in &matched {
            rest_used[r] = true;
            self.hit(rest[r], low[d], boxes, scores);
        }
        for (&k, used) in rest.iter().zip(rest_used) {
            if !used {
                self.tracks[k].state = TrackState::Lost;
                self.tracks[k].streak = 0;
            }
        }

        // Stage 3: the detections left that may start a track (high or weak) against tentative
        // tracks, in detection order.
        let tentative: Vec<usize> = (0..self.tracks.len())
            .filter(|&k| self.tracks[k].state == TrackState::Tentative)
            .collect();
        let mut low_used = vec![false; low.len()];
        for &(_, d) in &matched {
            low_used[d] = true;
        }
        let mut left: Vec<usize> = high
            .iter()
            .zip(&high_used)
            .chain(low.iter().zip(&low_used))
            .filter(|&(&d, &u)| !u && scores[d] >= c.high_thresh.min(c.tentative_thresh))
            .map(|(&d, _)| d)
            .collect();
        left.sort_unstable();
        let matched = self.associate(
            &tentative,
            &left,
            boxes,
            scores,
            classes,
            &young,
            c.tentative_match_thresh,
        );
        let mut left_used = vec![false; left.len()];
        let mut tentative_used = vec![false; tentative.len()];
        for &(t, d) in &matched {
            tentative_used[t] = true;
            left_used[d] = true;
            self.hit(tentative[t], left[d], boxes, scores);
        }
        for (&k, used) in tentative.iter().zip(tentative_used) {
            if !used {
                self.tracks[k].state = TrackState::Removed;
            }
        }

        // Lost tracks past their time are removed.
        for t in &mut self.tracks {
            if t.state == TrackState::Lost && t.time_since_update > self.max_lost_frames {
                t.state = TrackState::Removed;
            }
        }
        let (removed, kept): (Vec<Track>, Vec<Track>) = self
            .tracks
            .drain(..)
            .partition(|t| t.state == TrackState::Removed);
        self.tracks = kept;
        self.removed = removed;

        // New tracks: from strong detections, then from weak ones, each in detection order. A
        // weak detection where a confirmed or lost track of its class is (a high-score
        // detection there would have gone to it), or a track started in this frame, starts
        // none: it is that object seen weakly, or a duplicate box of it.
        let known = self.tracks.len();
        let (strong, weak): (Vec<usize>, Vec<usize>) = left
            .iter()
            .zip(&left_used)
            .filter(|&(&d, &used)| !used && scores[d] >= c.tentative_thresh)
            .map(|(&d, _)| d)
            .partition(|&d| scores[d] >= c.new_track_thresh);
        for d in strong.into_iter().chain(weak) {
            let strong = scores[d] >= c.new_track_thresh;
            if !strong
                && self.tracks.iter().enumerate().any(|(k, t)| {
                    (k >= known || t.state != TrackState::Tentative)
                        && t.class == classes[d]
                        && 1.0 - iou(&t.kf.xyxy(), &boxes[d]) < c.match_thresh
                })
            {
                continue;
            }
            let needed = if strong { c.min_hits } else { c.tentative_hits };
            let weak = !strong && c.tentative_travel > 0.0;
            let state = if (strong && self.frame == 1) || (needed <= 1 && !weak) {
                TrackState::Confirmed
            } else {
                TrackState::Tentative
            };
            let mut path = VecDeque::with_capacity(c.path_length.min(1024));
            push_anchor(&mut path, &boxes[d], c.path_length);
            self.tracks.push(Track {
                id: self.next_id,
                class: classes[d],
                kf: KalmanBox::new(boxes[d]),
                state,
                age: 1,
                hits: 1,
                streak: 1,
                needed,
                weak,
                origin: centre_size(&boxes[d]),
                time_since_update: 0,
                det_index: Some(d),
                score: scores[d],
                path,
            });
            self.next_id += 1;
        }
        Ok(())
    }

    /// Optimal matching of the tracks at `track_ids` to the detections at `det_ids`; returns
    /// `(position in track_ids, position in det_ids)` pairs.
    #[allow(clippy::too_many_arguments)]
    fn associate(
        &mut self,
        track_ids: &[usize],
        det_ids: &[usize],
        boxes: &[Xyxy],
        scores: &[f64],
        classes: &[i64],
        params: &CostParams,
        limit: f64,
    ) -> Vec<(usize, usize)> {
        if track_ids.is_empty() || det_ids.is_empty() {
            return Vec::new();
        }
        let probes: Vec<TrackProbe> = track_ids.iter().map(|&k| self.tracks[k].probe()).collect();
        let mut pairs = std::mem::take(&mut self.pairs);
        candidate_pairs(
            &probes, det_ids, boxes, scores, classes, params, limit, &mut pairs,
        );
        let matched = assign_sparse(&pairs, track_ids.len(), det_ids.len(), limit);
        self.pairs = pairs;
        matched
    }

    fn hit(&mut self, k: usize, d: usize, boxes: &[Xyxy], scores: &[f64]) {
        let path_length = self.config.path_length;
        let travel = self.config.tentative_travel;
        let strong = scores[d] >= self.config.new_track_thresh;
        let t = &mut self.tracks[k];
        t.kf.update(boxes[d]);
        t.hits = t.hits.saturating_add(1);
        t.streak = t.streak.saturating_add(1);
        t.time_since_update = 0;
        t.det_index = Some(d);
        t.score = scores[d];
        t.weak &= !strong;
        match t.state {
            TrackState::Lost => t.state = TrackState::Confirmed,
            TrackState::Tentative if t.streak >= t.needed => {
                let [x, y, size] = centre_size(&boxes[d]);
                let [x0, y0, size0] = t.origin;
                let shift = (x - x0).hypot(y - y0) / size.max(1e-9);
                let scale = (size.max(1e-9) / size0.max(1e-9)).ln().abs();
                if !t.weak || shift + scale >= travel {
                    t.state = TrackState::Confirmed;
                }
            }
            _ => {}
        }
        push_anchor(&mut t.path, &t.kf.xyxy(), path_length);
    }
}

fn centre_size(b: &Xyxy) -> [f64; 3] {
    let size = ((b[2] - b[0]) * (b[3] - b[1])).sqrt();
    [0.5 * (b[0] + b[2]), 0.5 * (b[1] + b[3]), size]
}

fn push_anchor(path: &mut VecDeque<[f64; 2]>, b: &Xyxy, max_len: usize) {
    if max_len == 0 {
        return;
    }
    if path.len() == max_len {
        path.pop_front();
    }
    path.push_back([0.5 * (b[0] + b[2]), b[3]]);
}

#[cfg(test)]
mod tests;
