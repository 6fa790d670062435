//! How long each track has been inside each zone, with a grace period for short gaps.
//!
//! A (track, zone) pair is *inside* on an update when the track's anchor is in the zone's
//! polygon ([`point_in_polygon`]). Its dwell time is the time since it entered; the entry time
//! is kept when the pair was last inside at most `grace_s` seconds ago (the track left the zone
//! briefly, or was missed by the detector), and starts again after a longer absence. A pair
//! inside on two consecutive updates stays inside however far apart they are (a slow analysis
//! rate never resets a timer).

use std::collections::HashMap;

use super::heading::check_time;
use super::{
    check_frame, point_in_polygon, validate_polygon, Anchor, BoxXyxy, GeometryError, Point,
};

/// One track inside one zone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dwell {
    /// The track.
    pub track_id: i64,
    /// Index of the zone in the list given to [`DwellTimers::new`].
    pub zone: usize,
    /// Seconds since the track entered the zone (0 on the update it enters).
    pub dwell_s: f64,
}

#[derive(Debug, Clone, Copy)]
struct Stay {
    entered: f64,
    last_inside: f64,
}

/// Dwell timers per (track, zone) (see the module doc).
#[derive(Debug, Clone)]
pub struct DwellTimers {
    zones: Vec<Vec<Point>>,
    grace_s: f64,
    anchor: Anchor,
    stays: HashMap<(i64, usize), Stay>,
    last_time: Option<f64>,
}

impl DwellTimers {
    /// Timers over `zones`; each must be a valid polygon ([`validate_polygon`]).
    pub fn new(
        zones: Vec<Vec<Point>>,
        grace_s: f64,
        anchor: Anchor,
    ) -> Result<Self, GeometryError> {
        for (i, z) in zones.iter().enumerate() {
            validate_polygon(z)
                .map_err(|e| GeometryError::invalid("zones", format!("[{i}]: polygon {e}")))?;
        }
        if !(grace_s >= 0.0 && grace_s.is_finite()) {
            return Err(GeometryError::invalid(
                "grace_s",
                format!("must be finite and >= 0, got {grace_s}"),
            ));
        }
        Ok(Self {
            zones,
            grace_s,
            anchor,
            stays: HashMap::new(),
            last_time: None,
        })
    }

    /// The zones.
    pub fn zones(&self) -> &[Vec<Point>] {
        &self.zones
    }

    /// The grace period in seconds.
    pub fn grace_s(&self) -> f64 {
        self.grace_s
    }

    /// The anchor of the boxes.
    pub fn anchor(&self) -> Anchor {
        self.anchor
    }

    /// (track, zone) pairs currently remembered, inside or within their grace period.
    pub fn remembered(&self) -> usize {
        self.stays.len()
    }

    /// Forgets every timer.
    pub fn reset(&mut self) {
        self.stays.clear();
        self.last_time = None;
    }

    /// Feeds one frame at `time_s`; returns the pairs inside now, in input order then zone
    /// order.
    ///
    /// Errors (changing nothing) on mismatched lengths, repeated ids, bad boxes, or a time that
    /// is not finite or goes backwards.
    pub fn update(
        &mut self,
        time_s: f64,
        track_ids: &[i64],
        boxes: &[BoxXyxy],
    ) -> Result<Vec<Dwell>, GeometryError> {
        check_frame(track_ids, boxes)?;
        check_time(time_s, self.last_time)?;
        let previous = self.last_time.replace(time_s);
        let mut out = Vec::new();
        for (&track_id, &b) in track_ids.iter().zip(boxes) {
            let (x, y) = self.anchor.point(b);
            for (zone, polygon) in self.zones.iter().enumerate() {
                if !point_in_polygon(x, y, polygon) {
                    continue;
                }
                let stay = self.stays.entry((track_id, zone)).or_insert(Stay {
                    entered: time_s,
                    last_inside: time_s,
                });
                let continued = Some(stay.last_inside) == previous;
                if !continued && time_s - stay.last_inside > self.grace_s {
                    stay.entered = time_s;
                }
                stay.last_inside = time_s;
                out.push(Dwell {
                    track_id,
                    zone,
                    dwell_s: time_s - stay.entered,
                });
            }
        }
        let grace = self.grace_s;
        self.stays
            .retain(|_, s| s.last_inside == time_s || time_s - s.last_inside <= grace);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timers(grace: f64) -> DwellTimers {
        let left = vec![(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)];
        let right = vec![(100.0, 0.0), (200.0, 0.0), (200.0, 100.0), (100.0, 100.0)];
        let big = vec![(0.0, 0.0), (200.0, 0.0), (200.0, 100.0), (0.0, 100.0)];
        DwellTimers::new(vec![left, right, big], grace, Anchor::BottomCenter).unwrap()
    }

    fn at(x: f64) -> BoxXyxy {
        [x - 5.0, 40.0, x + 5.0, 50.0]
    }

    #[test]
    fn dwell_grows_and_survives_short_gaps() {
        let mut t = timers(1.0);
        assert_eq!(
            t.update(10.0, &[4], &[at(50.0)]).unwrap(),
            vec![
                Dwell {
                    track_id: 4,
                    zone: 0,
                    dwell_s: 0.0
                },
                Dwell {
                    track_id: 4,
                    zone: 2,
                    dwell_s: 0.0
                }
            ]
        );
        let d = t.update(12.0, &[4], &[at(60.0)]).unwrap();
        assert_eq!(d[0].dwell_s, 2.0);
        // Missed for 0.9 s (no detection), then back: the timer goes on.
        t.update(12.5, &[], &[]).unwrap();
        let d = t.update(12.9, &[4], &[at(60.0)]).unwrap();
        assert!((d[0].dwell_s - 2.9).abs() < 1e-12);
        // Steps into the right zone: left keeps its timer within the grace, big goes on.
        let d = t.update(13.5, &[4], &[at(150.0)]).unwrap();
        assert_eq!(
            d,
            vec![
                Dwell {
                    track_id: 4,
                    zone: 1,
                    dwell_s: 0.0
                },
                Dwell {
                    track_id: 4,
                    zone: 2,
                    dwell_s: 3.5
                }
            ]
        );
        let d = t.update(13.8, &[4], &[at(50.0)]).unwrap();
        assert!((d[0].dwell_s - 3.8).abs() < 1e-12 && d[0].zone == 0);
        // Gone for longer than the grace: starts again.
        t.update(14.5, &[], &[]).unwrap();
        assert_eq!(t.remembered(), 3);
        t.update(15.0, &[], &[]).unwrap();
        assert_eq!(t.remembered(), 0);
        let d = t.update(15.5, &[4], &[at(50.0)]).unwrap();
        assert_eq!(d[0].dwell_s, 0.0);
        assert_eq!(t.remembered(), 2);
        // Inside on consecutive updates far apart: no reset, whatever the grace.
        let d = t.update(25.5, &[4], &[at(50.0)]).unwrap();
        assert_eq!(d[0].dwell_s, 10.0);
    }

    #[test]
    fn bad_input() {
        let square = vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)];
        assert!(DwellTimers::new(vec![vec![(0.0, 0.0), (1.0, 1.0)]], 1.0, Anchor::Center).is_err());
        assert!(DwellTimers::new(vec![square.clone()], -1.0, Anchor::Center).is_err());
        let mut t = DwellTimers::new(vec![square], 1.0, Anchor::Center).unwrap();
        t.update(1.0, &[], &[]).unwrap();
        assert!(t.update(0.5, &[], &[]).is_err());
        assert!(t.update(2.0, &[1, 1], &[at(0.0), at(0.0)]).is_err());
        assert!(t
            .update(2.0, &[1], &[[0.0, 0.0, f64::INFINITY, 1.0]])
            .is_err());
    }
}
