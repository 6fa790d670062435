//! Counting the tracks that cross a directed line segment, with hysteresis.
//!
//! # Sides and directions
//!
//! The line runs from `p0` to `p1`. A point's signed distance `d` is the cross product of the
//! unit direction with the point's offset from `p0`; in image coordinates (`y` down) `d > 0` is
//! on the **right** of the line as seen on screen when facing from `p0` to `p1` (for a line
//! drawn left to right, right is below it). A crossing has direction `+1` when the object went
//! from the left side to the right side, `-1` from right to left.
//!
//! # Hysteresis
//!
//! A track is *settled* on a side once its anchor is at least `hysteresis_px` away from the
//! line on that side. A crossing is counted when a track settled on one side becomes settled on
//! the other, and only if the last time its path (straight between consecutive observations)
//! went over the line it did so within the segment, i.e. its crossing point projects onto
//! `[p0, p1]`: walking round the end of the segment does not count, and jitter around the line
//! that never reaches `hysteresis_px` on the far side never counts, however often it changes
//! sign. A new track first settles without counting. The anchor, not the whole box, decides,
//! so a line close to the frame edge counts as soon as the anchor has passed it by
//! `hysteresis_px`; place lines at least that far inside the frame.
//!
//! Tracks absent for more than `max_missed` consecutive updates are forgotten.

use std::collections::HashMap;

use super::{check_frame, Anchor, BoxXyxy, GeometryError, Point};

/// One counted crossing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crossing {
    /// The track that crossed.
    pub track_id: i64,
    /// `+1` left → right of the directed line, `-1` right → left (see the module doc).
    pub direction: i8,
}

#[derive(Debug, Clone, Copy)]
struct LineTrack {
    /// `+1` / `-1` once settled on a side, 0 before.
    settled: i8,
    last: Point,
    last_d: f64,
    /// Whether the most recent passage over the infinite line was within the segment.
    through_segment: bool,
    last_seen: u64,
}

/// Stateful counter of directed crossings of one line segment (see the module doc).
#[derive(Debug, Clone)]
pub struct LineCounter {
    p0: Point,
    p1: Point,
    dir: Point,
    length: f64,
    hysteresis: f64,
    anchor: Anchor,
    max_missed: u64,
    updates: u64,
    tracks: HashMap<i64, LineTrack>,
    totals: [u64; 2],
}

fn side(d: f64) -> i8 {
    if d >= 0.0 {
        1
    } else {
        -1
    }
}

impl LineCounter {
    /// A counter for the segment `p0`–`p1`.
    ///
    /// Errors when the points are not finite or coincide, or `hysteresis_px` is negative or
    /// not finite.
    pub fn new(
        p0: Point,
        p1: Point,
        hysteresis_px: f64,
        anchor: Anchor,
        max_missed: u64,
    ) -> Result<Self, GeometryError> {
        if ![p0.0, p0.1, p1.0, p1.1].iter().all(|v| v.is_finite()) {
            return Err(GeometryError::invalid(
                "line",
                format!("end points must be finite, got {p0:?} and {p1:?}"),
            ));
        }
        let length = (p1.0 - p0.0).hypot(p1.1 - p0.1);
        if length <= 0.0 {
            return Err(GeometryError::invalid(
                "line",
                format!("end points must differ, both are {p0:?}"),
            ));
        }
        if !(hysteresis_px >= 0.0 && hysteresis_px.is_finite()) {
            return Err(GeometryError::invalid(
                "hysteresis_px",
                format!("must be finite and >= 0, got {hysteresis_px}"),
            ));
        }
        Ok(Self {
            p0,
            p1,
            dir: ((p1.0 - p0.0) / length, (p1.1 - p0.1) / length),
            length,
            hysteresis: hysteresis_px,
            anchor,
            max_missed,
            updates: 0,
            tracks: HashMap::new(),
            totals: [0, 0],
        })
    }

    /// Signed distance of `p` to the line (positive on the right, see the module doc) and its
    /// position along the segment (0 at `p0`, the segment's length at `p1`).
    pub fn coordinates(&self, p: Point) -> (f64, f64) {
        let (ox, oy) = (p.0 - self.p0.0, p.1 - self.p0.1);
        (
            self.dir.0 * oy - self.dir.1 * ox,
            self.dir.0 * ox + self.dir.1 * oy,
        )
    }

    /// Feeds one frame's tracks; returns the crossings counted in it, in input order.
    ///
    /// Errors (and changes nothing) when the lengths differ, an id repeats, or a box is not
    /// finite or not ordered.
    pub fn update(
        &mut self,
        track_ids: &[i64],
        boxes: &[BoxXyxy],
    ) -> Result<Vec<Crossing>, GeometryError> {
        check_frame(track_ids, boxes)?;
        self.updates += 1;
        let now = self.updates;
        let mut out = Vec::new();
        for (&id, &b) in track_ids.iter().zip(boxes) {
            let p = self.anchor.point(b);
            let (d, _) = self.coordinates(p);
            let settled_now = if d.abs() >= self.hysteresis {
                side(d)
            } else {
                0
            };
            let Some(track) = self.tracks.get(&id).copied() else {
                self.tracks.insert(
                    id,
                    LineTrack {
                        settled: settled_now,
                        last: p,
                        last_d: d,
                        through_segment: false,
                        last_seen: now,
                    },
                );
                continue;
            };
            let mut track = track;
            if side(track.last_d) != side(d) {
                // Where the straight path between the two observations meets the line.
                let a = track.last_d / (track.last_d - d);
                let q = (
                    track.last.0 + a * (p.0 - track.last.0),
                    track.last.1 + a * (p.1 - track.last.1),
                );
                let (_, t) = self.coordinates(q);
                track.through_segment = (0.0..=self.length).contains(&t);
            }
            if settled_now != 0 {
                if track.settled != 0 && settled_now != track.settled && track.through_segment {
                    let direction = if settled_now > 0 { 1 } else { -1 };
                    self.totals[usize::from(direction < 0)] += 1;
                    out.push(Crossing {
                        track_id: id,
                        direction,
                    });
                }
                track.settled = settled_now;
            }
            track.last = p;
            track.last_d = d;
            track.last_seen = now;
            self.tracks.insert(id, track);
        }
        let max_missed = self.max_missed;
        self.tracks.retain(|_, t| now - t.last_seen <= max_missed);
        Ok(out)
    }

    /// Crossings counted since creation or the last reset: `(left_to_right, right_to_left)`.
    pub fn totals(&self) -> (u64, u64) {
        (self.totals[0], self.totals[1])
    }

    /// Forgets every track and the totals.
    pub fn reset(&mut self) {
        self.tracks.clear();
        self.totals = [0, 0];
        self.updates = 0;
    }

    /// Tracks currently remembered.
    pub fn tracked(&self) -> usize {
        self.tracks.len()
    }

    /// The segment's end points.
    pub fn line(&self) -> (Point, Point) {
        (self.p0, self.p1)
    }

    /// The hysteresis distance in pixels.
    pub fn hysteresis(&self) -> f64 {
        self.hysteresis
    }

    /// The anchor of the boxes.
    pub fn anchor(&self) -> Anchor {
        self.anchor
    }

    /// Updates a track may be absent before it is forgotten.
    pub fn max_missed(&self) -> u64 {
        self.max_missed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    /// A 10×10 box whose bottom centre is `(x, y)`.
    fn at(x: f64, y: f64) -> BoxXyxy {
        [x - 5.0, y - 10.0, x + 5.0, y]
    }

    /// A horizontal line y = 100 from x = 0 to x = 200, drawn left to right: below is right.
    fn counter(h: f64) -> LineCounter {
        LineCounter::new((0.0, 100.0), (200.0, 100.0), h, Anchor::BottomCenter, 5).unwrap()
    }

    fn feed(c: &mut LineCounter, id: i64, path: &[Point]) -> Vec<i8> {
        path.iter()
            .flat_map(|&(x, y)| c.update(&[id], &[at(x, y)]).unwrap())
            .map(|k| k.direction)
            .collect()
    }

    #[test]
    fn sides_follow_the_screen() {
        let c = counter(0.0);
        assert!(c.coordinates((50.0, 120.0)).0 > 0.0); // below a left-to-right line: right
        assert!(c.coordinates((50.0, 80.0)).0 < 0.0);
        assert_eq!(c.coordinates((50.0, 80.0)), (-20.0, 50.0));
    }

    #[test]
    fn one_crossing_each_way() {
        let mut c = counter(5.0);
        let down: Vec<Point> = (0..20)
            .map(|k| (100.0, 80.0 + 2.0 * f64::from(k)))
            .collect();
        assert_eq!(feed(&mut c, 1, &down), vec![1]);
        let up: Vec<Point> = down.iter().rev().copied().collect();
        assert_eq!(feed(&mut c, 1, &up), vec![-1]);
        assert_eq!(c.totals(), (1, 1));
    }

    #[test]
    fn jitter_on_the_line_never_double_counts() {
        let mut c = counter(5.0);
        let mut rng = Rng::new(2);
        let mut path = vec![(100.0, 90.0)];
        path.extend((0..200).map(|_| (100.0, 100.0 + rng.gaussian(1.5))));
        assert_eq!(feed(&mut c, 1, &path), Vec::<i8>::new());
        // Finally settling on the far side counts exactly once.
        path = vec![
            (100.0, 106.0),
            (100.0, 99.0),
            (100.0, 107.0),
            (100.0, 120.0),
        ];
        assert_eq!(feed(&mut c, 1, &path), vec![1]);
        assert_eq!(c.totals(), (1, 0));
    }

    #[test]
    fn crossing_beyond_the_segment_does_not_count() {
        let mut c = counter(5.0);
        // Crosses at x = 250, past p1.
        assert!(feed(&mut c, 1, &[(250.0, 80.0), (250.0, 120.0)]).is_empty());
        // Goes round the end: settles on the left within the extent, leaves, comes back below.
        let round = [(150.0, 80.0), (260.0, 80.0), (260.0, 120.0), (150.0, 120.0)];
        assert!(feed(&mut c, 2, &round).is_empty());
        // A diagonal step whose crossing point is inside the segment counts.
        assert_eq!(feed(&mut c, 3, &[(230.0, 60.0), (170.0, 140.0)]), vec![1]);
        // One whose end points project inside but crossing point outside does not.
        let mut c = counter(5.0);
        assert!(feed(&mut c, 4, &[(-100.0, 60.0), (-30.0, 90.0), (10.0, 110.0)]).is_empty());
    }

    #[test]
    fn new_tracks_settle_without_counting_and_old_ones_are_forgotten() {
        let mut c = counter(5.0);
        assert!(feed(&mut c, 1, &[(100.0, 102.0), (100.0, 130.0)]).is_empty());
        assert_eq!(c.tracked(), 1);
        for _ in 0..5 {
            c.update(&[], &[]).unwrap();
        }
        assert_eq!(c.tracked(), 1);
        c.update(&[], &[]).unwrap();
        assert_eq!(c.tracked(), 0);
        // Coming back as a new track on the other side: no crossing.
        assert!(feed(&mut c, 1, &[(100.0, 60.0)]).is_empty());
    }

    #[test]
    fn gaps_interpolate_straight() {
        let mut c = counter(5.0);
        c.update(&[7], &[at(100.0, 50.0)]).unwrap();
        for _ in 0..4 {
            c.update(&[], &[]).unwrap();
        }
        let got = c.update(&[7], &[at(100.0, 150.0)]).unwrap();
        assert_eq!(
            got,
            vec![Crossing {
                track_id: 7,
                direction: 1
            }]
        );
    }

    #[test]
    fn line_at_the_frame_edge() {
        // A vertical line 8 px inside the left edge of a 320-wide frame, drawn downwards:
        // its right side (as seen facing down the image) is x < 8.
        let mut c =
            LineCounter::new((8.0, 0.0), (8.0, 240.0), 4.0, Anchor::BottomCenter, 5).unwrap();
        assert!(c.coordinates((0.0, 100.0)).0 > 0.0);
        // A person walking in from beyond the left edge: its box is clipped at x = 0.
        let mut crossings = Vec::new();
        for k in 0..12 {
            let x1 = 6.0 + 4.0 * f64::from(k);
            let b = [(x1 - 30.0).max(0.0), 100.0, x1, 200.0];
            crossings.extend(c.update(&[1], &[b]).unwrap());
        }
        assert_eq!(
            crossings,
            vec![Crossing {
                track_id: 1,
                direction: -1
            }]
        );
    }

    #[test]
    fn bad_input() {
        assert!(LineCounter::new((0.0, 0.0), (0.0, 0.0), 1.0, Anchor::Center, 1).is_err());
        assert!(LineCounter::new((0.0, f64::NAN), (1.0, 0.0), 1.0, Anchor::Center, 1).is_err());
        assert!(LineCounter::new((0.0, 0.0), (1.0, 0.0), -1.0, Anchor::Center, 1).is_err());
        assert!(LineCounter::new((0.0, 0.0), (1.0, 0.0), f64::NAN, Anchor::Center, 1).is_err());
        let mut c = counter(1.0);
        assert!(c.update(&[1, 1], &[at(0.0, 0.0), at(1.0, 1.0)]).is_err());
        assert!(c.update(&[1], &[]).is_err());
        assert_eq!(c.tracked(), 0);
    }
}
