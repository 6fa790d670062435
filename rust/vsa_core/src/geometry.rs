//! Planar geometry on image coordinates.
//!
//! # Points on an edge
//!
//! [`point_in_polygon`] uses the even-odd (crossing number) rule with a half-open convention,
//! the one of W. R. Franklin's PNPOLY: a horizontal ray from the point towards `+x` counts the
//! edges it crosses, an edge spanning the ray's `y` only when one end is strictly above and the
//! other at or below. The result for a point exactly on the boundary is deterministic and
//! mirrors a half-open box `[x0, x1) × [y0, y1)`: on the square with corners (0, 0) and (1, 1),
//! the edges `x = 0` and `y = 0` are inside and the edges `x = 1` and `y = 1` are outside. Two
//! polygons sharing an edge therefore never both claim a point of it. Callers that need a
//! tolerance should test a slightly grown polygon instead.
//!
//! Polygons are closed implicitly (the last vertex connects to the first), may be concave or
//! self-intersecting (even-odd), and need at least three vertices: with fewer, no point is
//! inside. A point or vertex with a NaN coordinate is never inside.

/// Whether `(x, y)` lies inside `polygon` (even-odd rule, half-open edges, see the module doc).
pub fn point_in_polygon(x: f64, y: f64, polygon: &[(f64, f64)]) -> bool {
    let Some(&last) = polygon.last() else {
        return false;
    };
    if polygon.len() < 3 {
        return false;
    }
    let mut inside = false;
    let (mut xj, mut yj) = last;
    for &(xi, yi) in polygon {
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        (xj, yj) = (xi, yi);
    }
    inside
}

/// [`point_in_polygon`] for many points, in order.
pub fn points_in_polygon<I>(points: I, polygon: &[(f64, f64)]) -> Vec<bool>
where
    I: IntoIterator<Item = (f64, f64)>,
{
    points
        .into_iter()
        .map(|(x, y)| point_in_polygon(x, y, polygon))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    const SQUARE: [(f64, f64); 4] = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)];

    /// A "U": a 3×3 square with the notch (1..2, 1..3) cut out of its top.
    const U_SHAPE: [(f64, f64); 8] = [
        (0.0, 0.0),
        (3.0, 0.0),
        (3.0, 3.0),
        (2.0, 3.0),
        (2.0, 1.0),
        (1.0, 1.0),
        (1.0, 3.0),
        (0.0, 3.0),
    ];

    #[test]
    fn convex_square() {
        assert!(point_in_polygon(0.5, 0.5, &SQUARE));
        assert!(!point_in_polygon(1.5, 0.5, &SQUARE));
        assert!(!point_in_polygon(-0.5, 0.5, &SQUARE));
        assert!(!point_in_polygon(0.5, 1.5, &SQUARE));
    }

    #[test]
    fn edges_are_half_open() {
        assert!(point_in_polygon(0.0, 0.5, &SQUARE));
        assert!(point_in_polygon(0.5, 0.0, &SQUARE));
        assert!(point_in_polygon(0.0, 0.0, &SQUARE));
        assert!(!point_in_polygon(1.0, 0.5, &SQUARE));
        assert!(!point_in_polygon(0.5, 1.0, &SQUARE));
        assert!(!point_in_polygon(1.0, 1.0, &SQUARE));
        // Two squares sharing the edge x = 1: each point of it belongs to exactly one.
        let right: Vec<(f64, f64)> = SQUARE.iter().map(|&(x, y)| (x + 1.0, y)).collect();
        for k in 0..10 {
            let y = 0.05 + 0.1 * f64::from(k);
            assert!(point_in_polygon(1.0, y, &SQUARE) ^ point_in_polygon(1.0, y, &right));
        }
    }

    #[test]
    fn concave_polygon() {
        assert!(point_in_polygon(0.5, 2.5, &U_SHAPE)); // left arm
        assert!(point_in_polygon(2.5, 2.5, &U_SHAPE)); // right arm
        assert!(point_in_polygon(1.5, 0.5, &U_SHAPE)); // base
        assert!(!point_in_polygon(1.5, 2.0, &U_SHAPE)); // the notch
        assert!(!point_in_polygon(1.5, 1.5, &U_SHAPE));
        assert!(!point_in_polygon(3.5, 2.0, &U_SHAPE));
        // Orientation does not matter.
        let mut reversed = U_SHAPE;
        reversed.reverse();
        assert!(point_in_polygon(0.5, 2.5, &reversed));
        assert!(!point_in_polygon(1.5, 2.0, &reversed));
    }

    #[test]
    fn concave_polygon_matches_rasterised_area() {
        // Random points: the fraction inside the U approaches its area (7 of 9) over the box.
        let mut rng = Rng::new(3);
        let n = 20_000;
        let pts: Vec<(f64, f64)> = (0..n)
            .map(|_| (3.0 * rng.uniform(), 3.0 * rng.uniform()))
            .collect();
        let inside = points_in_polygon(pts.iter().copied(), &U_SHAPE);
        for (&(x, y), &got) in pts.iter().zip(&inside) {
            let in_notch = (1.0..2.0).contains(&x) && y >= 1.0;
            assert_eq!(got, !in_notch, "({x}, {y})");
        }
    }

    #[test]
    fn self_intersecting_uses_even_odd() {
        // A bow tie: the two triangles are inside, the region around them is not.
        let bow = [(0.0, 0.0), (2.0, 2.0), (2.0, 0.0), (0.0, 2.0)];
        assert!(point_in_polygon(0.3, 1.0, &bow));
        assert!(point_in_polygon(1.7, 1.0, &bow));
        assert!(!point_in_polygon(1.0, 0.3, &bow));
    }

    #[test]
    fn degenerate_polygons_and_points() {
        assert!(!point_in_polygon(0.0, 0.0, &[]));
        assert!(!point_in_polygon(0.0, 0.0, &[(0.0, 0.0)]));
        assert!(!point_in_polygon(0.5, 0.0, &[(0.0, 0.0), (1.0, 0.0)]));
        // Zero-area polygon: a line traversed back and forth.
        assert!(!point_in_polygon(
            0.5,
            0.5,
            &[(0.0, 0.0), (1.0, 1.0), (0.0, 0.0)]
        ));
        assert!(!point_in_polygon(f64::NAN, 0.5, &SQUARE));
        assert!(!point_in_polygon(0.5, f64::NAN, &SQUARE));
        assert_eq!(
            points_in_polygon(std::iter::empty(), &SQUARE),
            Vec::<bool>::new()
        );
    }
}
