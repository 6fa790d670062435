//! Constant-velocity Kalman filter on a box `(cx, cy, w, h)` and its velocities.
//!
//! The model is the one of ByteTrack / BoT-SORT (state `(cx, cy, w, h, vcx, vcy, vw, vh)`,
//! one step per frame, process and measurement noise proportional to the box size), with the
//! BoT-SORT choice of width and height rather than aspect ratio. Its transition, observation
//! and noise matrices are block-diagonal per coordinate and the initial covariance is diagonal,
//! so the covariance stays block-diagonal: the 8-dimensional filter is exactly four independent
//! 2-dimensional filters (value, velocity), which is what this module computes.

/// Process noise on positions, as a fraction of the box size (BoT-SORT: 1/20).
const STD_POSITION: f64 = 1.0 / 20.0;
/// Process noise on velocities, as a fraction of the box size (BoT-SORT: 1/160).
const STD_VELOCITY: f64 = 1.0 / 160.0;

/// One coordinate: value, velocity and their 2×2 covariance `[[a, b], [b, c]]`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Axis {
    x: f64,
    v: f64,
    a: f64,
    b: f64,
    c: f64,
}

impl Axis {
    fn new(x: f64, std_x: f64, std_v: f64) -> Self {
        Self {
            x,
            v: 0.0,
            a: std_x * std_x,
            b: 0.0,
            c: std_v * std_v,
        }
    }

    fn predict(&mut self, q_x: f64, q_v: f64) {
        self.x += self.v;
        self.a += 2.0 * self.b + self.c + q_x;
        self.b += self.c;
        self.c += q_v;
    }

    fn update(&mut self, z: f64, r: f64) {
        let s = self.a + r;
        if s <= 0.0 || !s.is_finite() {
            return;
        }
        let (k0, k1) = (self.a / s, self.b / s);
        let innovation = z - self.x;
        self.x += k0 * innovation;
        self.v += k1 * innovation;
        let (a, b, c) = (self.a, self.b, self.c);
        self.a = a - k0 * a;
        self.b = b - k0 * b;
        self.c = c - k1 * b;
    }
}

/// The filter of one track: centre, width and height, each with its velocity (pixels per frame).
#[derive(Debug, Clone, PartialEq)]
pub struct KalmanBox {
    axes: [Axis; 4],
}

/// `(cx, cy, w, h)` of a box `(x0, y0, x1, y1)`.
pub fn xyxy_to_cxcywh(b: [f64; 4]) -> [f64; 4] {
    [
        0.5 * (b[0] + b[2]),
        0.5 * (b[1] + b[3]),
        b[2] - b[0],
        b[3] - b[1],
    ]
}

impl KalmanBox {
    /// A filter at the measured box `(x0, y0, x1, y1)`, at rest, with a wide velocity prior.
    pub fn new(xyxy: [f64; 4]) -> Self {
        let [cx, cy, w, h] = xyxy_to_cxcywh(xyxy);
        let (pw, ph) = (2.0 * STD_POSITION * w, 2.0 * STD_POSITION * h);
        let (vw, vh) = (10.0 * STD_VELOCITY * w, 10.0 * STD_VELOCITY * h);
        Self {
            axes: [
                Axis::new(cx, pw, vw),
                Axis::new(cy, ph, vh),
                Axis::new(w, pw, vw),
                Axis::new(h, ph, vh),
            ],
        }
    }

    /// Advances one frame. `coasting` freezes the size velocities (a lost track keeps its
    /// size, as in ByteTrack).
    pub fn predict(&mut self, coasting: bool) {
        if coasting {
            self.axes[2].v = 0.0;
            self.axes[3].v = 0.0;
        }
        let (w, h) = self.size_scale();
        let (qxw, qxh) = sq(STD_POSITION * w, STD_POSITION * h);
        let (qvw, qvh) = sq(STD_VELOCITY * w, STD_VELOCITY * h);
        self.axes[0].predict(qxw, qvw);
        self.axes[1].predict(qxh, qvh);
        self.axes[2].predict(qxw, qvw);
        self.axes[3].predict(qxh, qvh);
    }

    /// Corrects with a measured box `(x0, y0, x1, y1)`.
    pub fn update(&mut self, xyxy: [f64; 4]) {
        let z = xyxy_to_cxcywh(xyxy);
        let (w, h) = self.size_scale();
        let (rw, rh) = sq(STD_POSITION * w, STD_POSITION * h);
        self.axes[0].update(z[0], rw);
        self.axes[1].update(z[1], rh);
        self.axes[2].update(z[2], rw);
        self.axes[3].update(z[3], rh);
    }

    /// The current box `(x0, y0, x1, y1)` (width and height at least 0).
    pub fn xyxy(&self) -> [f64; 4] {
        let [cx, cy, w, h] = self.axes.map(|a| a.x);
        let (hw, hh) = (0.5 * w.max(0.0), 0.5 * h.max(0.0));
        [cx - hw, cy - hh, cx + hw, cy + hh]
    }

    /// Velocity of the box centre `(vx, vy)`, in pixels per frame.
    pub fn velocity(&self) -> [f64; 2] {
        [self.axes[0].v, self.axes[1].v]
    }

    fn size_scale(&self) -> (f64, f64) {
        // Noise scales with the box size; a degenerate box keeps a pixel of noise.
        (self.axes[2].x.max(1.0), self.axes[3].x.max(1.0))
    }
}

fn sq(a: f64, b: f64) -> (f64, f64) {
    (a * a, b * b)
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)] // matrix code reads best with indices
mod tests {
    use super::*;

    /// The full 8-dimensional filter of ByteTrack/BoT-SORT, written with plain matrices.
    struct Dense {
        mean: [f64; 8],
        cov: [[f64; 8]; 8],
    }

    fn matmul(a: &[[f64; 8]; 8], b: &[[f64; 8]; 8]) -> [[f64; 8]; 8] {
        let mut out = [[0.0; 8]; 8];
        for i in 0..8 {
            for j in 0..8 {
                out[i][j] = (0..8).map(|k| a[i][k] * b[k][j]).sum();
            }
        }
        out
    }

    fn transpose(a: &[[f64; 8]; 8]) -> [[f64; 8]; 8] {
        let mut out = [[0.0; 8]; 8];
        for i in 0..8 {
            for j in 0..8 {
                out[i][j] = a[j][i];
            }
        }
        out
    }

    impl Dense {
        fn new(z: [f64; 4]) -> Self {
            let (w, h) = (z[2], z[3]);
            let std = [
                2.0 * STD_POSITION * w,
                2.0 * STD_POSITION * h,
                2.0 * STD_POSITION * w,
                2.0 * STD_POSITION * h,
                10.0 * STD_VELOCITY * w,
                10.0 * STD_VELOCITY * h,
                10.0 * STD_VELOCITY * w,
                10.0 * STD_VELOCITY * h,
            ];
            let mut cov = [[0.0; 8]; 8];
            for i in 0..8 {
                cov[i][i] = std[i] * std[i];
            }
            let mut mean = [0.0; 8];
            mean[..4].copy_from_slice(&z);
            Self { mean, cov }
        }

        fn predict(&mut self) {
            let (w, h) = (self.mean[2], self.mean[3]);
            let mut f = [[0.0; 8]; 8];
            for i in 0..8 {
                f[i][i] = 1.0;
            }
            for i in 0..4 {
                f[i][i + 4] = 1.0;
            }
            let mut m = [0.0; 8];
            for i in 0..8 {
                m[i] = (0..8).map(|k| f[i][k] * self.mean[k]).sum();
            }
            self.mean = m;
            let mut cov = matmul(&matmul(&f, &self.cov), &transpose(&f));
            let q = [
                STD_POSITION * w,
                STD_POSITION * h,
                STD_POSITION * w,
                STD_POSITION * h,
                STD_VELOCITY * w,
                STD_VELOCITY * h,
                STD_VELOCITY * w,
                STD_VELOCITY * h,
            ];
            for i in 0..8 {
                cov[i][i] += q[i] * q[i];
            }
            self.cov = cov;
        }

        fn update(&mut self, z: [f64; 4]) {
            // H selects the first four components and R is diagonal, so S = P[:4,:4] + R; the
            // axes are uncoupled, so S is diagonal here too (checked below).
            let (w, h) = (self.mean[2], self.mean[3]);
            let r = [
                STD_POSITION * w,
                STD_POSITION * h,
                STD_POSITION * w,
                STD_POSITION * h,
            ];
            let mut s = [[0.0; 4]; 4];
            for i in 0..4 {
                for j in 0..4 {
                    s[i][j] = self.cov[i][j] + if i == j { r[i] * r[i] } else { 0.0 };
                    if i != j {
                        assert!(s[i][j].abs() < 1e-12);
                    }
                }
            }
            let mut k = [[0.0; 4]; 8];
            for i in 0..8 {
                for j in 0..4 {
                    k[i][j] = self.cov[i][j] / s[j][j];
                }
            }
            let y: Vec<f64> = (0..4).map(|j| z[j] - self.mean[j]).collect();
            for i in 0..8 {
                self.mean[i] += (0..4).map(|j| k[i][j] * y[j]).sum::<f64>();
            }
            let mut cov = self.cov;
            for i in 0..8 {
                for j in 0..8 {
                    cov[i][j] -= (0..4).map(|l| k[i][l] * self.cov[l][j]).sum::<f64>();
                }
            }
            self.cov = cov;
        }
    }

    #[test]
    fn matches_the_dense_eight_dimensional_filter() {
        let boxes = [
            [10.0, 20.0, 40.0, 100.0],
            [13.0, 21.0, 44.0, 101.0],
            [15.5, 22.0, 47.0, 103.0],
            [19.0, 24.0, 50.0, 102.0],
        ];
        let mut ours = KalmanBox::new(boxes[0]);
        let mut dense = Dense::new(xyxy_to_cxcywh(boxes[0]));
        for b in &boxes[1..] {
            ours.predict(false);
            dense.predict();
            ours.update(*b);
            dense.update(xyxy_to_cxcywh(*b));
            for (i, axis) in ours.axes.iter().enumerate() {
                assert!((axis.x - dense.mean[i]).abs() < 1e-9);
                assert!((axis.v - dense.mean[i + 4]).abs() < 1e-9);
                assert!((axis.a - dense.cov[i][i]).abs() < 1e-9);
                assert!((axis.b - dense.cov[i][i + 4]).abs() < 1e-9);
                assert!((axis.c - dense.cov[i + 4][i + 4]).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn learns_a_constant_velocity_and_predicts_it() {
        let mut kf = KalmanBox::new([0.0, 0.0, 20.0, 40.0]);
        for t in 1..30 {
            kf.predict(false);
            let x = 3.0 * t as f64;
            let y = -1.5 * t as f64;
            kf.update([x, y, x + 20.0, y + 40.0]);
        }
        let [vx, vy] = kf.velocity();
        assert!((vx - 3.0).abs() < 0.05, "vx {vx}");
        assert!((vy + 1.5).abs() < 0.05, "vy {vy}");
        // Five frames of coasting land where the object would be.
        for _ in 0..5 {
            kf.predict(true);
        }
        let b = kf.xyxy();
        assert!((b[0] - 3.0 * 34.0).abs() < 0.5, "{b:?}");
        assert!((b[1] + 1.5 * 34.0).abs() < 0.5, "{b:?}");
        assert!((b[2] - b[0] - 20.0).abs() < 0.5);
    }
}
