//! Heading of tracks against an allowed direction (the `wrong_way` signal).
//!
//! Angles follow the module convention of [`crate::geometry`]: degrees in `[0, 360)` from `+x`
//! towards `+y`, and `y` points **down** the image, so 90° is "down the image" and the angles
//! turn clockwise on screen.
//!
//! A track is *judged* once it has moved at least `min_displacement` pixels (net, over the
//! recent path) and has a non-zero smoothed velocity; it is *against* the allowed direction
//! when its heading is more than `tolerance_deg` away from `allowed_deg`.
//! [`HeadingTracker`] smooths the velocity with a least-squares line fit of the anchor's
//! position against time over the last `window_s` seconds.

use std::collections::{HashMap, VecDeque};

use super::{check_frame, Anchor, BoxXyxy, GeometryError, Point};

/// The heading of a velocity, in degrees in `[0, 360)` (0° = `+x`, 90° = `+y`, down the
/// image); NaN for a zero or non-finite velocity.
pub fn heading_deg(vx: f64, vy: f64) -> f64 {
    if !(vx.is_finite() && vy.is_finite()) || (vx == 0.0 && vy == 0.0) {
        return f64::NAN;
    }
    let a = vy.atan2(vx).to_degrees();
    let a = if a < 0.0 { a + 360.0 } else { a };
    if a >= 360.0 {
        0.0
    } else {
        a
    }
}

/// The absolute difference of two angles in degrees, in `[0, 180]`.
pub fn angle_diff_deg(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(360.0);
    d.min(360.0 - d)
}

/// The verdict on one track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judgement {
    /// Enough displacement and a non-zero velocity to judge.
    pub judged: bool,
    /// Judged and heading more than the tolerance away from the allowed direction.
    pub against: bool,
    /// Heading of the velocity in degrees (NaN when the velocity is zero).
    pub heading_deg: f64,
    /// Speed, in pixels per second (or per whatever unit the velocity has).
    pub speed: f64,
}

/// Judges one track from its smoothed velocity and its net displacement.
pub fn judge_heading(
    velocity: Point,
    displacement: Point,
    allowed_deg: f64,
    tolerance_deg: f64,
    min_displacement: f64,
) -> Judgement {
    let speed = velocity.0.hypot(velocity.1);
    let heading = heading_deg(velocity.0, velocity.1);
    let moved = displacement.0.hypot(displacement.1);
    let judged = heading.is_finite() && moved >= min_displacement;
    Judgement {
        judged,
        against: judged && angle_diff_deg(heading, allowed_deg) > tolerance_deg,
        heading_deg: heading,
        speed: if speed.is_finite() { speed } else { f64::NAN },
    }
}

/// Checks the parameters shared by [`judge_heading`] callers.
pub fn check_heading_params(
    allowed_deg: f64,
    tolerance_deg: f64,
    min_displacement: f64,
) -> Result<(), GeometryError> {
    if !allowed_deg.is_finite() {
        return Err(GeometryError::invalid(
            "allowed_deg",
            format!("must be finite, got {allowed_deg}"),
        ));
    }
    if !(0.0..=180.0).contains(&tolerance_deg) {
        return Err(GeometryError::invalid(
            "tolerance_deg",
            format!("must be in [0, 180], got {tolerance_deg}"),
        ));
    }
    if !(min_displacement >= 0.0 && min_displacement.is_finite()) {
        return Err(GeometryError::invalid(
            "min_displacement",
            format!("must be finite and >= 0, got {min_displacement}"),
        ));
    }
    Ok(())
}

/// Parameters of a [`HeadingTracker`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadingConfig {
    /// The allowed heading, degrees.
    pub allowed_deg: f64,
    /// Half-width of the allowed cone, degrees in `[0, 180]`.
    pub tolerance_deg: f64,
    /// Net displacement over the window, in pixels, before a track is judged.
    pub min_displacement: f64,
    /// Length of the recent path, in seconds (> 0).
    pub window_s: f64,
    /// The point of the box that is followed.
    pub anchor: Anchor,
    /// Updates a track may be absent before it is forgotten.
    pub max_missed: u64,
}

impl Default for HeadingConfig {
    fn default() -> Self {
        Self {
            allowed_deg: 0.0,
            tolerance_deg: 90.0,
            min_displacement: 20.0,
            window_s: 2.0,
            anchor: Anchor::BottomCenter,
            max_missed: 30,
        }
    }
}

#[derive(Debug, Clone)]
struct Path {
    points: VecDeque<(f64, Point)>,
    last_seen: u64,
}

/// Follows each track's anchor and judges its heading every frame (see the module doc).
#[derive(Debug, Clone)]
pub struct HeadingTracker {
    config: HeadingConfig,
    paths: HashMap<i64, Path>,
    updates: u64,
    last_time: Option<f64>,
}

impl HeadingTracker {
    /// A tracker with `config`; errors when a parameter is out of range.
    pub fn new(config: HeadingConfig) -> Result<Self, GeometryError> {
        check_heading_params(
            config.allowed_deg,
            config.tolerance_deg,
            config.min_displacement,
        )?;
        if !(config.window_s > 0.0 && config.window_s.is_finite()) {
            return Err(GeometryError::invalid(
                "window_s",
                format!("must be finite and > 0, got {}", config.window_s),
            ));
        }
        Ok(Self {
            config,
            paths: HashMap::new(),
            updates: 0,
            last_time: None,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &HeadingConfig {
        &self.config
    }

    /// Tracks currently remembered.
    pub fn tracked(&self) -> usize {
        self.paths.len()
    }

    /// Forgets every track.
    pub fn reset(&mut self) {
        self.paths.clear();
        self.updates = 0;
        self.last_time = None;
    }

    /// Feeds one frame at `time_s` and judges each of its tracks, in input order.
    ///
    /// Errors (changing nothing) on mismatched lengths, repeated ids, bad boxes, or a time that
    /// is not finite or goes backwards.
    pub fn update(
        &mut self,
        time_s: f64,
        track_ids: &[i64],
        boxes: &[BoxXyxy],
    ) -> Result<Vec<Judgement>, GeometryError> {
        check_frame(track_ids, boxes)?;
        check_time(time_s, self.last_time)?;
        self.last_time = Some(time_s);
        self.updates += 1;
        let now = self.updates;
        let c = self.config;
        let mut out = Vec::with_capacity(track_ids.len());
        for (&id, &b) in track_ids.iter().zip(boxes) {
            let path = self.paths.entry(id).or_insert_with(|| Path {
                points: VecDeque::new(),
                last_seen: now,
            });
            path.last_seen = now;
            path.points.push_back((time_s, c.anchor.point(b)));
            while path
                .points
                .front()
                .is_some_and(|&(t, _)| time_s - t > c.window_s)
            {
                path.points.pop_front();
            }
            let (velocity, displacement) = fit_velocity(&path.points);
            out.push(judge_heading(
                velocity,
                displacement,
                c.allowed_deg,
                c.tolerance_deg,
                c.min_displacement,
            ));
        }
        self.paths.retain(|_, p| now - p.last_seen <= c.max_missed);
        Ok(out)
    }
}

pub(crate) fn check_time(time_s: f64, last: Option<f64>) -> Result<(), GeometryError> {
    if !time_s.is_finite() {
        return Err(GeometryError::bad_input(
            "time_s",
            format!("must be finite, got {time_s}"),
        ));
    }
    if let Some(last) = last {
        if time_s < last {
            return Err(GeometryError::bad_input(
                "time_s",
                format!("must not go backwards, got {time_s} after {last}"),
            ));
        }
    }
    Ok(())
}

/// Least-squares velocity of `(t, (x, y))` samples and their net displacement (newest minus
/// oldest). Zero velocity with fewer than two distinct times.
pub fn fit_velocity<'a, I>(samples: I) -> (Point, Point)
where
    I: IntoIterator<Item = &'a (f64, Point)>,
    I::IntoIter: Clone,
{
    let it = samples.into_iter();
    let (mut n, mut st, mut sx, mut sy) = (0.0, 0.0, 0.0, 0.0);
    let (mut first, mut last) = (None, None);
    for &(t, (x, y)) in it.clone() {
        n += 1.0;
        st += t;
        sx += x;
        sy += y;
        first.get_or_insert((x, y));
        last = Some((x, y));
    }
    let (Some(first), Some(last)) = (first, last) else {
        return ((0.0, 0.0), (0.0, 0.0));
    };
    let displacement = (last.0 - first.0, last.1 - first.1);
    let (mt, mx, my) = (st / n, sx / n, sy / n);
    let (mut stt, mut stx, mut sty) = (0.0, 0.0, 0.0);
    for &(t, (x, y)) in it {
        let dt = t - mt;
        stt += dt * dt;
        stx += dt * (x - mx);
        sty += dt * (y - my);
    }
    if stt <= 0.0 {
        return ((0.0, 0.0), displacement);
    }
    ((stx / stt, sty / stt), displacement)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    #[test]
    fn heading_convention() {
        assert_eq!(heading_deg(1.0, 0.0), 0.0);
        assert_eq!(heading_deg(0.0, 1.0), 90.0); // down the image
        assert_eq!(heading_deg(-1.0, 0.0), 180.0);
        assert_eq!(heading_deg(0.0, -1.0), 270.0);
        assert!(heading_deg(0.0, 0.0).is_nan());
        assert!(heading_deg(f64::NAN, 1.0).is_nan());
        let tiny = heading_deg(1.0, -1e-300);
        assert!((0.0..360.0).contains(&tiny), "{tiny}");
        assert_eq!(angle_diff_deg(350.0, 10.0), 20.0);
        assert_eq!(angle_diff_deg(10.0, 190.0), 180.0);
        assert_eq!(angle_diff_deg(-90.0, 270.0), 0.0);
    }

    #[test]
    fn with_against_and_too_slow() {
        let j = judge_heading((10.0, 1.0), (30.0, 3.0), 0.0, 45.0, 20.0);
        assert!(j.judged && !j.against);
        let j = judge_heading((-10.0, 1.0), (-30.0, 3.0), 0.0, 45.0, 20.0);
        assert!(j.judged && j.against);
        assert!((j.speed - 101f64.sqrt()).abs() < 1e-12);
        let j = judge_heading((-10.0, 1.0), (-3.0, 0.0), 0.0, 45.0, 20.0);
        assert!(!j.judged && !j.against);
        let j = judge_heading((0.0, 0.0), (30.0, 0.0), 0.0, 45.0, 20.0);
        assert!(!j.judged && j.heading_deg.is_nan());
        // Across the 0/360 seam.
        let j = judge_heading((10.0, -1.0), (30.0, -3.0), 10.0, 20.0, 0.0);
        assert!(j.judged && !j.against, "{j:?}");
    }

    #[test]
    fn least_squares_velocity() {
        let samples: Vec<(f64, Point)> = (0..10)
            .map(|k| {
                let t = 0.1 * f64::from(k);
                (t, (3.0 + 20.0 * t, 5.0 - 7.0 * t))
            })
            .collect();
        let ((vx, vy), (dx, dy)) = fit_velocity(&samples);
        assert!((vx - 20.0).abs() < 1e-9 && (vy + 7.0).abs() < 1e-9);
        assert!((dx - 18.0).abs() < 1e-9 && (dy + 6.3).abs() < 1e-9);
        assert_eq!(fit_velocity(&[]), ((0.0, 0.0), (0.0, 0.0)));
        assert_eq!(fit_velocity(&[(1.0, (2.0, 2.0))]).0, (0.0, 0.0));
    }

    #[test]
    fn tracker_judges_a_noisy_walker() {
        let config = HeadingConfig {
            allowed_deg: 90.0,
            tolerance_deg: 45.0,
            min_displacement: 30.0,
            ..HeadingConfig::default()
        };
        let mut tracker = HeadingTracker::new(config).unwrap();
        let mut rng = Rng::new(5);
        let mut last = Vec::new();
        // Track 1 walks down the image (allowed), 2 up (against), 3 stands still; 25 fps.
        for k in 0..50 {
            let t = f64::from(k) / 25.0;
            let y = 100.0 + 40.0 * t;
            let b = |x: f64, y: f64, rng: &mut Rng| {
                let (x, y) = (x + rng.gaussian(1.0), y + rng.gaussian(1.0));
                [x - 10.0, y - 40.0, x + 10.0, y]
            };
            let boxes = [
                b(50.0, y, &mut rng),
                b(150.0, 400.0 - y, &mut rng),
                b(250.0, 200.0, &mut rng),
            ];
            last = tracker.update(t, &[1, 2, 3], &boxes).unwrap();
            if k < 10 {
                assert!(last.iter().all(|j| !j.judged), "{k}: {last:?}");
            }
        }
        assert!(last[0].judged && !last[0].against);
        assert!((last[0].heading_deg - 90.0).abs() < 5.0);
        assert!((last[0].speed - 40.0).abs() < 4.0);
        assert!(last[1].judged && last[1].against);
        assert!((last[1].heading_deg - 270.0).abs() < 5.0);
        assert!(!last[2].judged && !last[2].against);
    }

    #[test]
    fn tracker_forgets_and_rejects_bad_input() {
        let config = HeadingConfig {
            max_missed: 2,
            ..HeadingConfig::default()
        };
        let mut tracker = HeadingTracker::new(config).unwrap();
        tracker.update(0.0, &[1], &[[0.0, 0.0, 1.0, 1.0]]).unwrap();
        tracker.update(0.1, &[], &[]).unwrap();
        tracker.update(0.2, &[], &[]).unwrap();
        assert_eq!(tracker.tracked(), 1);
        tracker.update(0.3, &[], &[]).unwrap();
        assert_eq!(tracker.tracked(), 0);
        assert!(tracker.update(0.2, &[], &[]).is_err());
        assert!(tracker.update(f64::NAN, &[], &[]).is_err());
        assert!(tracker.update(0.5, &[1], &[]).is_err());
        for bad in [
            HeadingConfig {
                tolerance_deg: 181.0,
                ..config
            },
            HeadingConfig {
                allowed_deg: f64::INFINITY,
                ..config
            },
            HeadingConfig {
                min_displacement: -1.0,
                ..config
            },
            HeadingConfig {
                window_s: 0.0,
                ..config
            },
        ] {
            assert!(HeadingTracker::new(bad).is_err());
        }
    }
}
