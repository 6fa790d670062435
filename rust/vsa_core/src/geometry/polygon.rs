//! Polygons: containment of points and box anchors, area, validity.
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

use std::fmt;

use super::{Anchor, BoxXyxy, Point};

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

/// A polygon prepared for many [`point_in_polygon`] tests, with exactly its answers.
///
/// The distinct `y` of its vertices cut the plane into horizontal bands; within one band the
/// same edges span every row (no vertex lies strictly inside a band), so each band keeps its
/// spanning edges, and a point is tested against its band's edges only (two for a convex
/// polygon), found by a binary search, with the same arithmetic as [`point_in_polygon`] (each
/// edge's end-point differences are the same subtractions, done once). A point above or below
/// every vertex is outside without further work, and so is a point to the left or right of
/// every vertex: that test leaves a margin far wider than the few ulps by which a computed
/// crossing may stray, and points within it go through the edges. Polygons of fewer than 3 or
/// more than [`BANDED_MAX`] vertices (whose bands would hold up to `n²` edges) or with a
/// non-finite vertex go to [`point_in_polygon`] itself.
struct Prepared<'p> {
    polygon: &'p [Point],
    /// `(xi, yi, xj - xi, yj - yi)` of each band's spanning edges (from vertex `j`, the
    /// previous one, to `i`), in band order.
    edges: Vec<[f64; 4]>,
    /// The distinct vertex `y`, ascending, and where each band's edges start in `edges` (one
    /// more entry than bands); empty: no bands, [`point_in_polygon`] answers.
    ys: Vec<f64>,
    starts: Vec<usize>,
    /// `[x_min - margin, x_max + margin]`: outside, no point is inside.
    columns: [f64; 2],
}

/// The most vertices a polygon is cut into bands for.
const BANDED_MAX: usize = 64;

impl<'p> Prepared<'p> {
    fn new(polygon: &'p [Point]) -> Self {
        let mut prepared = Self {
            polygon,
            edges: Vec::new(),
            ys: Vec::new(),
            starts: Vec::new(),
            columns: [f64::NEG_INFINITY, f64::INFINITY],
        };
        let finite = polygon.iter().all(|&(x, y)| x.is_finite() && y.is_finite());
        let Some(&last) = polygon.last() else {
            return prepared;
        };
        if !finite || !(3..=BANDED_MAX).contains(&polygon.len()) {
            return prepared;
        }
        let (mut xj, mut yj) = last;
        let mut edges = Vec::with_capacity(polygon.len());
        for &(xi, yi) in polygon {
            edges.push([xi, yi, yj, xj - xi, yj - yi]);
            (xj, yj) = (xi, yi);
        }
        let (mut x0, mut x1, mut far) = (f64::MAX, f64::MIN, 1.0_f64);
        for &(x, _) in polygon {
            (x0, x1, far) = (x0.min(x), x1.max(x), far.max(x.abs()));
        }
        let margin = 1e-9 * far;
        prepared.columns = [x0 - margin, x1 + margin];
        let mut ys: Vec<f64> = polygon.iter().map(|&(_, y)| y).collect();
        ys.sort_by(f64::total_cmp);
        ys.dedup();
        prepared.starts.push(0);
        for band in ys.windows(2) {
            // spans the band's rows: min(yi, yj) <= band[0] and max(yi, yj) >= band[1]
            prepared.edges.extend(
                edges
                    .iter()
                    .filter(|e| e[1].min(e[2]) <= band[0] && e[1].max(e[2]) >= band[1])
                    .map(|&[xi, yi, _, dx, dy]| [xi, yi, dx, dy]),
            );
            prepared.starts.push(prepared.edges.len());
        }
        prepared.ys = ys;
        prepared
    }

    #[inline(always)]
    fn contains(&self, x: f64, y: f64) -> bool {
        if self.ys.is_empty() {
            return point_in_polygon(x, y, self.polygon);
        }
        let [x0, x1] = self.columns;
        let (top, bottom) = (self.ys[0], self.ys[self.ys.len() - 1]);
        // (NaN coordinates fail these comparisons: never inside, as in point_in_polygon)
        if !(y >= top && y < bottom && x >= x0 && x < x1) {
            return false;
        }
        let band = self.ys.partition_point(|&v| v <= y) - 1;
        let mut inside = false;
        for &[xi, yi, dx, dy] in &self.edges[self.starts[band]..self.starts[band + 1]] {
            if x < dx * (y - yi) / dy + xi {
                inside = !inside;
            }
        }
        inside
    }
}

/// [`point_in_polygon`] for many points, in order.
pub fn points_in_polygon<I>(points: I, polygon: &[(f64, f64)]) -> Vec<bool>
where
    I: IntoIterator<Item = (f64, f64)>,
{
    let prepared = Prepared::new(polygon);
    points
        .into_iter()
        .map(|(x, y)| prepared.contains(x, y))
        .collect()
}

/// For each box, whether its `anchor` point lies inside `polygon` ([`point_in_polygon`]).
pub fn boxes_in_polygon<I>(boxes: I, polygon: &[Point], anchor: Anchor) -> Vec<bool>
where
    I: IntoIterator<Item = BoxXyxy>,
{
    let prepared = Prepared::new(polygon);
    boxes
        .into_iter()
        .map(|b| {
            let (x, y) = anchor.point(b);
            prepared.contains(x, y)
        })
        .collect()
}

/// Shoelace area of `polygon`, signed: positive when its vertices run clockwise **on screen**
/// (image coordinates, `y` down), which is counter-clockwise in the usual `y`-up convention.
/// Self-intersecting polygons get the sum of their lobes' signed areas. Fewer than three
/// vertices: zero.
pub fn signed_area(polygon: &[Point]) -> f64 {
    let Some(&(x0, y0)) = polygon.first() else {
        return 0.0;
    };
    // Relative to the first vertex: no cancellation for polygons far from the origin, and the
    // closing edge (last vertex to the first) contributes nothing.
    let mut twice = 0.0;
    for w in polygon.windows(2) {
        let (ax, ay) = (w[0].0 - x0, w[0].1 - y0);
        let (bx, by) = (w[1].0 - x0, w[1].1 - y0);
        twice += ax * by - bx * ay;
    }
    twice / 2.0
}

/// Absolute shoelace area of `polygon` (see [`signed_area`]).
pub fn polygon_area(polygon: &[Point]) -> f64 {
    signed_area(polygon).abs()
}

/// Why a polygon is not a usable zone.
#[derive(Debug, Clone, PartialEq)]
pub enum PolygonError {
    /// Fewer than three distinct vertices (consecutive repeats, including a last vertex equal to
    /// the first, are ignored).
    TooFewVertices(usize),
    /// A vertex with a NaN or infinite coordinate.
    NonFinite { index: usize },
    /// All vertices on one line (the bow tie, whose lobes cancel, is self-intersecting).
    ZeroArea,
    /// Two edges cross or touch (edge `i` joins vertex `i` to `i + 1`, after removing repeats).
    SelfIntersecting { edges: (usize, usize) },
}

impl fmt::Display for PolygonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooFewVertices(n) => write!(f, "needs at least 3 distinct vertices, got {n}"),
            Self::NonFinite { index } => write!(f, "vertex {index} is not finite"),
            Self::ZeroArea => write!(f, "has zero area (all vertices on one line)"),
            Self::SelfIntersecting { edges: (i, j) } => {
                write!(f, "is self-intersecting: edges {i} and {j} cross or touch")
            }
        }
    }
}

impl std::error::Error for PolygonError {}

/// `polygon` without consecutive repeated vertices (cyclically: a closing vertex equal to the
/// first is dropped).
pub fn dedup_vertices(polygon: &[Point]) -> Vec<Point> {
    let mut out: Vec<Point> = Vec::with_capacity(polygon.len());
    for &p in polygon {
        if out.last() != Some(&p) {
            out.push(p);
        }
    }
    while out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    out
}

/// Checks that `polygon` is a usable zone: finite vertices, at least three distinct ones,
/// non-zero area, and no two edges crossing or touching (a simple polygon, convex or not).
///
/// Repeated consecutive vertices are tolerated. The self-intersection test compares every pair
/// of edges (`O(M²)`, fine for hand-drawn zones).
pub fn validate_polygon(polygon: &[Point]) -> Result<(), PolygonError> {
    if let Some(index) = polygon
        .iter()
        .position(|&(x, y)| !x.is_finite() || !y.is_finite())
    {
        return Err(PolygonError::NonFinite { index });
    }
    let v = dedup_vertices(polygon);
    let n = v.len();
    if n < 3 {
        return Err(PolygonError::TooFewVertices(n));
    }
    // Zero area: every vertex on the line through v[0] and the vertex farthest from it.
    let far = v
        .iter()
        .copied()
        .max_by(|a, b| dist2(*a, v[0]).total_cmp(&dist2(*b, v[0])))
        .unwrap_or(v[0]);
    let reach = dist2(far, v[0]);
    if v.iter()
        .all(|&p| cross(v[0], far, p).abs() <= 1e-12 * reach)
    {
        return Err(PolygonError::ZeroArea);
    }
    let edge = |i: usize| (v[i], v[(i + 1) % n]);
    for i in 0..n {
        let (a, b) = edge(i);
        // The next edge shares vertex b: they only overlap when it turns straight back.
        let (_, c) = edge((i + 1) % n);
        if cross(a, b, c) == 0.0 && dot(sub(b, a), sub(c, b)) < 0.0 {
            return Err(PolygonError::SelfIntersecting {
                edges: (i, (i + 1) % n),
            });
        }
        for j in i + 2..n {
            if i == 0 && j == n - 1 {
                continue; // adjacent through vertex 0
            }
            let (c, d) = edge(j);
            if segments_intersect(a, b, c, d) {
                return Err(PolygonError::SelfIntersecting { edges: (i, j) });
            }
        }
    }
    Ok(())
}

fn sub(a: Point, b: Point) -> Point {
    (a.0 - b.0, a.1 - b.1)
}

fn dist2(a: Point, b: Point) -> f64 {
    (a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)
}

fn dot(a: Point, b: Point) -> f64 {
    a.0 * b.0 + a.1 * b.1
}

/// `(b - a) × (c - a)`: positive when `c` is clockwise from `b` on screen.
fn cross(a: Point, b: Point, c: Point) -> f64 {
    (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0)
}

/// Whether `c`, known collinear with `a`–`b`, lies within the segment's bounding box.
fn on_segment(a: Point, b: Point, c: Point) -> bool {
    c.0 >= a.0.min(b.0) && c.0 <= a.0.max(b.0) && c.1 >= a.1.min(b.1) && c.1 <= a.1.max(b.1)
}

/// Whether the closed segments `a`–`b` and `c`–`d` share a point.
pub(crate) fn segments_intersect(a: Point, b: Point, c: Point, d: Point) -> bool {
    let (d1, d2) = (cross(c, d, a), cross(c, d, b));
    let (d3, d4) = (cross(a, b, c), cross(a, b, d));
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0))
        && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
    {
        return true;
    }
    (d1 == 0.0 && on_segment(c, d, a))
        || (d2 == 0.0 && on_segment(c, d, b))
        || (d3 == 0.0 && on_segment(a, b, c))
        || (d4 == 0.0 && on_segment(a, b, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_use_their_anchor() {
        // A box whose bottom centre is in the square but whose centre and top are not.
        let b = [0.4, -1.0, 0.6, 0.5];
        assert_eq!(
            boxes_in_polygon([b], &SQUARE, Anchor::BottomCenter),
            vec![true]
        );
        assert_eq!(boxes_in_polygon([b], &SQUARE, Anchor::Center), vec![false]);
        assert_eq!(
            boxes_in_polygon([b], &SQUARE, Anchor::TopCenter),
            vec![false]
        );
        let b = [0.4, 0.2, 0.6, 1.5];
        assert_eq!(
            boxes_in_polygon([b, b], &SQUARE, Anchor::TopCenter),
            vec![true, true]
        );
    }

    #[test]
    fn shoelace_area() {
        assert_eq!(polygon_area(&SQUARE), 1.0);
        assert_eq!(polygon_area(&U_SHAPE), 7.0);
        // Clockwise on screen (y down) is positive.
        assert_eq!(signed_area(&SQUARE), 1.0);
        let mut rev = SQUARE;
        rev.reverse();
        assert_eq!(signed_area(&rev), -1.0);
        // Far from the origin: no cancellation.
        let far: Vec<Point> = U_SHAPE.iter().map(|&(x, y)| (x + 1e9, y - 1e9)).collect();
        assert_eq!(polygon_area(&far), 7.0);
        assert_eq!(polygon_area(&[(0.0, 0.0), (1.0, 1.0)]), 0.0);
        // The bow tie's lobes cancel.
        assert_eq!(
            signed_area(&[(0.0, 0.0), (2.0, 2.0), (2.0, 0.0), (0.0, 2.0)]),
            0.0
        );
    }

    #[test]
    fn validity() {
        assert_eq!(validate_polygon(&SQUARE), Ok(()));
        assert_eq!(validate_polygon(&U_SHAPE), Ok(()));
        // A closing vertex equal to the first, and a repeated vertex, are fine.
        let closed = [
            (0.0, 0.0),
            (1.0, 0.0),
            (1.0, 0.0),
            (1.0, 1.0),
            (0.0, 1.0),
            (0.0, 0.0),
        ];
        assert_eq!(validate_polygon(&closed), Ok(()));
        assert_eq!(
            validate_polygon(&[(0.0, 0.0), (1.0, 0.0), (0.0, 0.0)]),
            Err(PolygonError::TooFewVertices(2))
        );
        assert_eq!(
            validate_polygon(&[(0.0, 0.0), (1.0, f64::NAN), (0.0, 1.0)]),
            Err(PolygonError::NonFinite { index: 1 })
        );
        assert_eq!(
            validate_polygon(&[(0.0, 0.0), (1.0, 1.0), (2.0, 2.0)]),
            Err(PolygonError::ZeroArea)
        );
        let bow = [(0.0, 0.0), (2.0, 2.0), (2.0, 0.0), (0.0, 2.0)];
        assert_eq!(
            validate_polygon(&bow),
            Err(PolygonError::SelfIntersecting { edges: (0, 2) })
        );
        // A spike going straight back along its edge touches itself.
        let spike = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (3.0, 2.0), (0.0, 2.0)];
        assert!(matches!(
            validate_polygon(&spike),
            Err(PolygonError::SelfIntersecting { .. })
        ));
        // Two lobes touching at one vertex.
        let touching = [
            (0.0, 0.0),
            (1.0, 1.0),
            (2.0, 0.0),
            (2.0, 2.0),
            (1.0, 1.0),
            (0.0, 2.0),
        ];
        assert!(matches!(
            validate_polygon(&touching),
            Err(PolygonError::SelfIntersecting { .. })
        ));
    }

    #[test]
    fn random_star_polygons_are_valid() {
        // Vertices at increasing angles around a centre: always simple, often concave.
        let mut rng = Rng::new(11);
        for _ in 0..200 {
            let n = 3 + (rng.next_u64() % 12) as usize;
            let poly: Vec<Point> = (0..n)
                .map(|k| {
                    let a = std::f64::consts::TAU * (k as f64 + 0.8 * rng.uniform()) / n as f64;
                    let r = 1.0 + 9.0 * rng.uniform();
                    (5.0 + r * a.cos(), -3.0 + r * a.sin())
                })
                .collect();
            assert_eq!(validate_polygon(&poly), Ok(()), "{poly:?}");
        }
    }
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

    /// The batch functions (a prepared polygon: horizontal bands of spanning edges, the
    /// extent first) give exactly `point_in_polygon`'s answers: random concave and
    /// self-intersecting polygons (vertices snapped to integers or not, so with horizontal
    /// edges and shared rows; some with more vertices than are banded; one with a NaN vertex),
    /// far from the origin too, against random points, their vertices, points on their edges,
    /// on and just around their extent, and NaN.
    #[test]
    fn batches_answer_as_point_in_polygon() {
        let mut rng = Rng::new(11);
        let mut checked = 0;
        for case in 0..300 {
            let n = if case % 50 == 1 {
                2 * BANDED_MAX
            } else {
                3 + case % 9
            };
            let (cx, cy) = if case % 3 == 0 {
                (1e7, -3e6)
            } else {
                (0.0, 0.0)
            };
            let mut poly: Vec<Point> = (0..n)
                .map(|_| {
                    let (x, y) = (rng.uniform() * 20.0 - 10.0, rng.uniform() * 20.0 - 10.0);
                    let snap = |v: f64| if case % 2 == 0 { v.round() } else { v };
                    (cx + snap(x), cy + snap(y))
                })
                .collect();
            if case == 7 {
                poly[1].0 = f64::NAN;
            }
            let (x0, x1) = poly
                .iter()
                .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
            let (y0, y1) = poly
                .iter()
                .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
            let mut points: Vec<Point> = (0..200)
                .map(|_| {
                    (
                        cx + rng.uniform() * 24.0 - 12.0,
                        cy + rng.uniform() * 24.0 - 12.0,
                    )
                })
                .collect();
            points.extend(poly.iter().copied());
            for w in 0..n {
                let (a, b) = (poly[w], poly[(w + 1) % n]);
                let t = rng.uniform();
                points.push((a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)));
            }
            for x in [x0, x1] {
                for y in [y0, y1, (y0 + y1) / 2.0] {
                    for d in [-1e-9, 0.0, 1e-9] {
                        points.push((x + d, y));
                        points.push((x.next_up(), y.next_down()));
                        points.push((x.next_down(), y + d));
                    }
                }
            }
            points.extend([(f64::NAN, cy), (cx, f64::NAN), (f64::INFINITY, cy)]);
            let expected: Vec<bool> = points
                .iter()
                .map(|&(x, y)| point_in_polygon(x, y, &poly))
                .collect();
            assert_eq!(
                points_in_polygon(points.iter().copied(), &poly),
                expected,
                "{poly:?}"
            );
            let boxes: Vec<BoxXyxy> = points
                .iter()
                .map(|&(x, y)| [x - 2.0, y - 5.0, x + 2.0, y])
                .collect();
            assert_eq!(
                boxes_in_polygon(boxes.iter().copied(), &poly, Anchor::BottomCenter),
                boxes
                    .iter()
                    .map(|&b| {
                        let (x, y) = Anchor::BottomCenter.point(b);
                        point_in_polygon(x, y, &poly)
                    })
                    .collect::<Vec<_>>()
            );
            checked += expected.iter().filter(|&&v| v).count();
        }
        assert!(
            checked > 5_000,
            "{checked} points inside: the cases test too little"
        );
        assert_eq!(points_in_polygon([(0.5, 0.5)], &SQUARE[..2]), vec![false]);
        assert_eq!(points_in_polygon([(0.5, 0.5)], &[]), vec![false]);
    }

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
