//! Image ↔ ground-plane homography from point pairs (normalised DLT).
//!
//! [`Homography::from_points`] estimates the 3×3 matrix mapping image pixels to ground
//! coordinates (metres, any metric frame) from at least four pairs: both point sets are
//! normalised (centroid at the origin, mean distance √2, after Hartley), the direct linear
//! transform system is solved by SVD (least squares for more than four pairs), and the result
//! is denormalised. Degenerate input is an error: non-finite coordinates, collinear or repeated
//! points, three collinear points among exactly four, or a rank-deficient or singular solution.
//!
//! # The horizon
//!
//! Image points on the far side of the horizon (the image of the ground's line at infinity)
//! have no ground position; [`Homography::to_ground`] returns NaN for them, and for points on
//! the horizon itself. The visible side is the side of the calibration points.

use super::linalg::{det, frobenius, inverse, mul, svd_right, Mat3};
use super::{validate_polygon, GeometryError, Point};

/// A ground-plane homography and its inverse (see the module doc).
#[derive(Debug, Clone, PartialEq)]
pub struct Homography {
    /// Image → ground.
    h: Mat3,
    /// Ground → image.
    inv: Mat3,
    /// Sign of the projective `w` of visible image points under `h`.
    image_sign: f64,
    /// Sign of the projective `w` of visible ground points under `inv`.
    ground_sign: f64,
}

fn degenerate(why: impl Into<String>) -> GeometryError {
    GeometryError::DegenerateHomography(why.into())
}

/// Hartley normalisation of `points`: the similarity that moves their centroid to the origin
/// and their mean distance to it to √2. Errors when the points are collinear or coincide.
fn normalisation(points: &[Point], what: &str) -> Result<Mat3, GeometryError> {
    let n = points.len() as f64;
    let cx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let cy = points.iter().map(|p| p.1).sum::<f64>() / n;
    let mean = points
        .iter()
        .map(|p| (p.0 - cx).hypot(p.1 - cy))
        .sum::<f64>()
        / n;
    if !(mean > 0.0 && mean.is_finite()) {
        return Err(degenerate(format!("the {what} points all coincide")));
    }
    let s = std::f64::consts::SQRT_2 / mean;
    // Collinearity: the smaller eigenvalue of the normalised scatter matrix.
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for p in points {
        let (x, y) = (s * (p.0 - cx), s * (p.1 - cy));
        sxx += x * x;
        syy += y * y;
        sxy += x * y;
    }
    let half_trace = (sxx + syy) / 2.0;
    let root = (((sxx - syy) / 2.0).powi(2) + sxy * sxy).sqrt();
    if half_trace - root <= 1e-10 * (half_trace + root) {
        return Err(degenerate(format!("the {what} points are collinear")));
    }
    Ok([[s, 0.0, -s * cx], [0.0, s, -s * cy], [0.0, 0.0, 1.0]])
}

fn apply(m: &Mat3, p: Point) -> (f64, f64, f64) {
    (
        m[0][0] * p.0 + m[0][1] * p.1 + m[0][2],
        m[1][0] * p.0 + m[1][1] * p.1 + m[1][2],
        m[2][0] * p.0 + m[2][1] * p.1 + m[2][2],
    )
}

/// `m · p` in Cartesian coordinates, NaN when `p` is not on the `sign` side of `m`'s horizon.
fn project(m: &Mat3, sign: f64, p: Point) -> Point {
    let (x, y, w) = apply(m, p);
    let scale = (m[2][0] * p.0).abs() + (m[2][1] * p.1).abs() + m[2][2].abs();
    if w.is_nan() || w * sign <= 1e-12 * scale {
        return (f64::NAN, f64::NAN);
    }
    (x / w, y / w)
}

fn collinear(a: Point, b: Point, c: Point) -> bool {
    let cross = (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0);
    let scale = (b.0 - a.0).hypot(b.1 - a.1) * (c.0 - a.0).hypot(c.1 - a.1);
    cross.abs() <= 1e-9 * scale
}

impl Homography {
    /// Estimates the image → ground homography from `image[i] ↔ ground[i]` pairs (at least 4).
    pub fn from_points(image: &[Point], ground: &[Point]) -> Result<Self, GeometryError> {
        if image.len() != ground.len() {
            return Err(GeometryError::invalid(
                "ground_points",
                format!(
                    "must pair with image_points: {} image and {} ground points",
                    image.len(),
                    ground.len()
                ),
            ));
        }
        if image.len() < 4 {
            return Err(degenerate(format!(
                "needs at least 4 point pairs, got {}",
                image.len()
            )));
        }
        for (what, pts) in [("image", image), ("ground", ground)] {
            if let Some(i) = pts
                .iter()
                .position(|p| !(p.0.is_finite() && p.1.is_finite()))
            {
                return Err(degenerate(format!("{what} point {i} is not finite")));
            }
            if pts.len() == 4 {
                for skip in 0..4 {
                    let t: Vec<Point> = (0..4).filter(|&k| k != skip).map(|k| pts[k]).collect();
                    if collinear(t[0], t[1], t[2]) {
                        return Err(degenerate(format!(
                            "three of the four {what} points are collinear"
                        )));
                    }
                }
            }
        }
        let ti = normalisation(image, "image")?;
        let tg = normalisation(ground, "ground")?;
        let rows: Vec<[f64; 9]> = image
            .iter()
            .zip(ground)
            .flat_map(|(&p, &q)| {
                let (x, y, _) = apply(&ti, p);
                let (u, v, _) = apply(&tg, q);
                [
                    [-x, -y, -1.0, 0.0, 0.0, 0.0, u * x, u * y, u],
                    [0.0, 0.0, 0.0, -x, -y, -1.0, v * x, v * y, v],
                ]
            })
            .collect();
        let (values, vectors) = svd_right(&rows);
        if values[1] <= 1e-8 * values[8] {
            return Err(degenerate(
                "the point pairs do not determine a unique homography",
            ));
        }
        let h = vectors[0];
        let hn: Mat3 = [[h[0], h[1], h[2]], [h[3], h[4], h[5]], [h[6], h[7], h[8]]];
        if det(&hn).abs() <= 1e-10 * frobenius(&hn).powi(3) {
            return Err(degenerate("the fitted homography is singular"));
        }
        let tg_inv = inverse(&tg).ok_or_else(|| degenerate("ground normalisation"))?;
        let m = mul(&tg_inv, &mul(&hn, &ti));
        Self::from_matrix_visible(m, image)
    }

    /// The homography with image → ground matrix `m`; `visible` are image points known to be on
    /// the ground side of the horizon (at least one; they must all be on the same side).
    pub fn from_matrix_visible(m: Mat3, visible: &[Point]) -> Result<Self, GeometryError> {
        if m.iter().flatten().any(|v| !v.is_finite()) {
            return Err(degenerate("the matrix is not finite"));
        }
        let norm = frobenius(&m);
        if norm <= 0.0 || det(&m).abs() <= 1e-12 * norm.powi(3) {
            return Err(degenerate("the matrix is singular"));
        }
        // Scale to h22 = 1 when possible (the usual convention), else to unit norm.
        let s = if m[2][2].abs() > 1e-12 * norm {
            1.0 / m[2][2]
        } else {
            1.0 / norm
        };
        let h = m.map(|r| r.map(|v| v * s));
        let inv = inverse(&h).ok_or_else(|| degenerate("the matrix is singular"))?;
        let signs: Vec<f64> = visible.iter().map(|&p| apply(&h, p).2.signum()).collect();
        let image_sign = *signs
            .first()
            .ok_or_else(|| degenerate("no visible point given"))?;
        if signs.iter().any(|&s| s != image_sign) || image_sign == 0.0 {
            return Err(degenerate(
                "the image points straddle the horizon of the ground plane",
            ));
        }
        let mut out = Self {
            h,
            inv,
            image_sign,
            ground_sign: 1.0,
        };
        let g = out.to_ground(visible[0]);
        out.ground_sign = apply(&inv, g).2.signum();
        Ok(out)
    }

    /// The image → ground matrix, scaled so that its last entry is 1 (when it is not 0).
    pub fn matrix(&self) -> Mat3 {
        self.h
    }

    /// The ground → image matrix.
    pub fn inverse_matrix(&self) -> Mat3 {
        self.inv
    }

    /// The ground position of image point `p`; NaN beyond the horizon.
    pub fn to_ground(&self, p: Point) -> Point {
        project(&self.h, self.image_sign, p)
    }

    /// The image position of ground point `p`; NaN for points behind the camera.
    pub fn to_image(&self, p: Point) -> Point {
        project(&self.inv, self.ground_sign, p)
    }

    /// Distance in pixels between `image` and the image of `ground` (NaN behind the camera).
    pub fn reprojection_error(&self, image: Point, ground: Point) -> f64 {
        let q = self.to_image(ground);
        (q.0 - image.0).hypot(q.1 - image.1)
    }

    /// Area on the ground (m² when the ground is in metres) of an image polygon.
    ///
    /// Straight image edges map to straight ground edges, so mapping the vertices is exact.
    /// Errors when the polygon is invalid (see [`validate_polygon`]) or reaches the horizon.
    pub fn ground_area(&self, polygon: &[Point]) -> Result<f64, GeometryError> {
        validate_polygon(polygon)?;
        let ground: Vec<Point> = polygon.iter().map(|&p| self.to_ground(p)).collect();
        if ground.iter().any(|p| p.0.is_nan()) {
            return Err(GeometryError::invalid(
                "polygon",
                "reaches beyond the horizon of the ground plane",
            ));
        }
        Ok(super::polygon_area(&ground))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    const SQUARE_PX: [Point; 4] = [
        (100.0, 100.0),
        (300.0, 100.0),
        (300.0, 300.0),
        (100.0, 300.0),
    ];
    const SQUARE_M: [Point; 4] = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)];

    fn close(a: Point, b: Point, tol: f64) -> bool {
        (a.0 - b.0).abs() <= tol && (a.1 - b.1).abs() <= tol
    }

    #[test]
    fn known_square_is_a_scaling() {
        let h = Homography::from_points(&SQUARE_PX, &SQUARE_M).unwrap();
        assert!(close(h.to_ground((200.0, 200.0)), (1.0, 1.0), 1e-12));
        assert!(close(h.to_ground((0.0, 0.0)), (-1.0, -1.0), 1e-12));
        assert!(close(h.to_image((0.5, 1.5)), (150.0, 250.0), 1e-9));
        let m = h.matrix();
        assert!((m[0][0] - 0.01).abs() < 1e-14 && m[2][0].abs() < 1e-15);
        assert!((h.ground_area(&SQUARE_PX).unwrap() - 4.0).abs() < 1e-12);
    }

    /// A camera looking down at a tilted ground: the image of a 10 m × 20 m rectangle.
    fn perspective() -> Homography {
        let g2i: Mat3 = [[40.0, 8.0, 320.0], [2.0, -10.0, 450.0], [0.001, 0.04, 1.0]];
        let h = inverse(&g2i).unwrap();
        Homography::from_matrix_visible(h, &[(320.0, 450.0)]).unwrap()
    }

    #[test]
    fn perspective_round_trip_area_and_horizon() {
        let truth = perspective();
        let ground: Vec<Point> = vec![
            (0.0, 0.0),
            (10.0, 0.0),
            (10.0, 20.0),
            (0.0, 20.0),
            (5.0, 7.0),
        ];
        let image: Vec<Point> = ground.iter().map(|&g| truth.to_image(g)).collect();
        let h = Homography::from_points(&image, &ground).unwrap();
        for (&i, &g) in image.iter().zip(&ground) {
            assert!(close(h.to_ground(i), g, 1e-9), "{:?} {g:?}", h.to_ground(i));
            assert!(h.reprojection_error(i, g) < 1e-7);
        }
        let area = h.ground_area(&image[..4]).unwrap();
        assert!((area - 200.0).abs() < 1e-8, "{area}");
        // Beyond the horizon (w = 0 at y_ground = -25 m for x = 0): NaN.
        let far = truth.to_image((0.0, 1e6));
        assert!(far.0.is_finite());
        let sky = (far.0, far.1 - 50.0);
        assert!(h.to_ground(sky).0.is_nan(), "{:?}", h.to_ground(sky));
        assert!(h.ground_area(&[image[0], image[1], sky]).is_err());
    }

    #[test]
    fn least_squares_with_noise() {
        let truth = perspective();
        let mut rng = Rng::new(8);
        let ground: Vec<Point> = (0..40)
            .map(|_| (10.0 * rng.uniform(), 20.0 * rng.uniform()))
            .collect();
        let image: Vec<Point> = ground
            .iter()
            .map(|&g| {
                let p = truth.to_image(g);
                (p.0 + rng.gaussian(0.5), p.1 + rng.gaussian(0.5))
            })
            .collect();
        let h = Homography::from_points(&image, &ground).unwrap();
        let rms = (image
            .iter()
            .zip(&ground)
            .map(|(&i, &g)| h.reprojection_error(i, g).powi(2))
            .sum::<f64>()
            / 40.0)
            .sqrt();
        assert!(rms < 1.0, "{rms}");
        let centre = truth.to_image((5.0, 10.0));
        assert!(close(h.to_ground(centre), (5.0, 10.0), 0.1));
    }

    #[test]
    fn degenerate_input_is_rejected() {
        let line: Vec<Point> = (0..5).map(|k| (f64::from(k), 2.0 * f64::from(k))).collect();
        assert!(Homography::from_points(&line, &SQUARE_M.repeat(2)[..5]).is_err());
        assert!(Homography::from_points(&SQUARE_PX[..3], &SQUARE_M[..3]).is_err());
        assert!(Homography::from_points(&SQUARE_PX, &SQUARE_M[..3]).is_err());
        let mut nan = SQUARE_PX;
        nan[2].1 = f64::NAN;
        assert!(Homography::from_points(&nan, &SQUARE_M).is_err());
        let three = [(0.0, 0.0), (1.0, 0.0), (2.0, 0.0), (0.0, 1.0)];
        let e = Homography::from_points(&three, &SQUARE_M).unwrap_err();
        assert!(e.to_string().contains("collinear"), "{e}");
        let same = [(1.0, 1.0); 4];
        assert!(Homography::from_points(&same, &SQUARE_M).is_err());
        let singular = [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 0.0, 1.0]];
        assert!(Homography::from_matrix_visible(singular, &[(0.0, 0.0)]).is_err());
    }
}
