//! Connected components of a mask (8-connectivity), by runs and union-find.

/// A connected foreground region.
///
/// The box is `[x0, x1) × [y0, y1)` in pixels. The centroid is the mean of the pixel centres
/// in continuous coordinates, where pixel `(x, y)` covers `[x, x + 1) × [y, y + 1)` and has its
/// centre at `(x + 0.5, y + 0.5)`: a filled box has its centroid at `((x0 + x1) / 2,
/// (y0 + y1) / 2)`, and scaling a blob by a factor scales its centroid by the same factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Blob {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
    /// Number of foreground pixels.
    pub area: usize,
    pub cx: f64,
    pub cy: f64,
}

impl Blob {
    pub fn width(&self) -> usize {
        self.x1 - self.x0
    }

    pub fn height(&self) -> usize {
        self.y1 - self.y0
    }

    /// Fill ratio: `area` over the box area, in `(0, 1]` (0 for an empty box).
    #[inline(always)]
    pub fn fill(&self) -> f64 {
        let box_area = self.width() * self.height();
        if box_area == 0 {
            0.0
        } else {
            self.area as f64 / box_area as f64
        }
    }

    /// The same blob on a plane `factor` times larger: box and centroid times `factor`,
    /// area times `factor²`.
    #[inline(always)]
    pub fn scaled(&self, factor: usize) -> Self {
        let f = factor as f64;
        Self {
            x0: self.x0 * factor,
            y0: self.y0 * factor,
            x1: self.x1 * factor,
            y1: self.y1 * factor,
            area: self.area * factor * factor,
            cx: self.cx * f,
            cy: self.cy * f,
        }
    }
}

/// A horizontal run of foreground pixels `[start, end)` on row `y`.
#[derive(Debug, Clone, Copy)]
struct Run {
    y: usize,
    start: usize,
    end: usize,
}

/// Reusable labelling buffers: one [`Labeller`] per detector keeps `find` allocation-free in
/// the steady state.
#[derive(Debug, Default, Clone)]
pub struct Labeller {
    runs: Vec<Run>,
    parent: Vec<u32>,
    slot: Vec<u32>,
}

impl Labeller {
    pub fn new() -> Self {
        Self::default()
    }

    /// The 8-connected components of the non-zero pixels of `mask` (`width * height`,
    /// row-major) with at least `min_area` pixels, in the order of their first pixel
    /// (top to bottom, then left to right).
    ///
    /// # Panics
    /// If `mask.len() != width * height`.
    #[inline(always)]
    pub fn find(&mut self, mask: &[u8], width: usize, height: usize, min_area: usize) -> Vec<Blob> {
        assert_eq!(mask.len(), width * height, "mask size");
        self.runs.clear();
        self.parent.clear();
        let mut prev_rows = 0..0; // runs of the previous row
        for (y, row) in mask.chunks_exact(width.max(1)).take(height).enumerate() {
            let first = self.runs.len();
            let mut x = 0;
            let mut candidate = prev_rows.start;
            while x < width {
                let Some(start) = next_nonzero(row, x) else {
                    break;
                };
                let end = row[start..]
                    .iter()
                    .position(|&v| v == 0)
                    .map_or(width, |p| p + start);
                let id = self.runs.len() as u32;
                self.runs.push(Run { y, start, end });
                self.parent.push(id);
                // Runs above touch this one (8-connectivity) iff above.end >= start and
                // above.start <= end. Runs of a row are sorted, so skip those ending too early.
                while candidate < prev_rows.end && self.runs[candidate].end < start {
                    candidate += 1;
                }
                let mut k = candidate;
                while k < prev_rows.end && self.runs[k].start <= end {
                    self.union(k as u32, id);
                    k += 1;
                }
                x = end;
            }
            prev_rows = first..self.runs.len();
        }
        self.collect(min_area)
    }

    #[inline(always)]
    fn root(&mut self, mut i: u32) -> u32 {
        while self.parent[i as usize] != i {
            let grand = self.parent[self.parent[i as usize] as usize];
            self.parent[i as usize] = grand; // path halving
            i = grand;
        }
        i
    }

    #[inline(always)]
    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.root(a), self.root(b));
        // The smaller index becomes the root, so roots are the earliest runs.
        if ra < rb {
            self.parent[rb as usize] = ra;
        } else if rb < ra {
            self.parent[ra as usize] = rb;
        }
    }

    #[inline(always)]
    fn collect(&mut self, min_area: usize) -> Vec<Blob> {
        const NONE: u32 = u32::MAX;
        self.slot.clear();
        self.slot.resize(self.runs.len(), NONE);
        let mut blobs: Vec<(Blob, u64, u64)> = Vec::new(); // blob, Σ 2x+1, Σ (2y+1)
        for i in 0..self.runs.len() {
            let root = self.root(i as u32) as usize;
            let Run { y, start, end } = self.runs[i];
            let len = end - start;
            if self.slot[root] == NONE {
                self.slot[root] = blobs.len() as u32;
                let blob = Blob {
                    x0: start,
                    y0: y,
                    x1: end,
                    y1: y + 1,
                    area: 0,
                    cx: 0.0,
                    cy: 0.0,
                };
                blobs.push((blob, 0, 0));
            }
            let (blob, sum_x2, sum_y2) = &mut blobs[self.slot[root] as usize];
            blob.x0 = blob.x0.min(start);
            blob.x1 = blob.x1.max(end);
            blob.y1 = y + 1;
            blob.area += len;
            // Σ over the run of (2x + 1) = end² - start².
            *sum_x2 += (end * end - start * start) as u64;
            *sum_y2 += ((2 * y + 1) * len) as u64;
        }
        blobs
            .into_iter()
            .filter(|(b, _, _)| b.area >= min_area.max(1))
            .map(|(mut b, sx, sy)| {
                let twice_area = 2.0 * b.area as f64;
                b.cx = sx as f64 / twice_area;
                b.cy = sy as f64 / twice_area;
                b
            })
            .collect()
    }
}

/// Index of the first non-zero byte of `row` at or after `from`: eight bytes at a time over
/// the empty stretches that make most of a mask.
#[inline(always)]
fn next_nonzero(row: &[u8], from: usize) -> Option<usize> {
    let mut chunks = row[from..].chunks_exact(8);
    let mut base = from;
    for c in &mut chunks {
        if c.iter().fold(0u8, |a, &v| a | v) != 0 {
            return c.iter().position(|&v| v != 0).map(|p| base + p);
        }
        base += 8;
    }
    let rest = chunks.remainder();
    rest.iter().position(|&v| v != 0).map(|p| base + p)
}

/// One-shot [`Labeller::find`].
#[inline(always)]
pub fn find_blobs(mask: &[u8], width: usize, height: usize, min_area: usize) -> Vec<Blob> {
    Labeller::new().find(mask, width, height, min_area)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask_from(rows: &[&str]) -> (Vec<u8>, usize, usize) {
        let w = rows[0].len();
        let data = rows
            .iter()
            .flat_map(|r| r.bytes().map(|b| u8::from(b == b'#')))
            .collect();
        (data, w, rows.len())
    }

    #[test]
    fn filled_box() {
        let (m, w, h) = mask_from(&["......", ".###..", ".###..", "......"]);
        let blobs = find_blobs(&m, w, h, 1);
        assert_eq!(
            blobs,
            vec![Blob {
                x0: 1,
                y0: 1,
                x1: 4,
                y1: 3,
                area: 6,
                cx: 2.5,
                cy: 2.0
            }]
        );
        let big = blobs[0].scaled(4);
        assert_eq!(
            (big.x0, big.y0, big.x1, big.y1, big.area),
            (4, 4, 16, 12, 96)
        );
        assert_eq!((big.cx, big.cy), (10.0, 8.0));
    }

    #[test]
    fn eight_connectivity_and_u_shapes_merge() {
        let (m, w, h) = mask_from(&[
            "#.#...#...#",
            ".#....#...#",
            "#.#...#####",
            "...........",
            "##.......##",
        ]);
        let blobs = find_blobs(&m, w, h, 1);
        let summary: Vec<_> = blobs
            .iter()
            .map(|b| (b.x0, b.y0, b.x1, b.y1, b.area))
            .collect();
        assert_eq!(
            summary,
            vec![
                (0, 0, 3, 3, 5),
                (6, 0, 11, 3, 9),
                (0, 4, 2, 5, 2),
                (9, 4, 11, 5, 2)
            ]
        );
    }

    #[test]
    fn staircase_and_late_merges() {
        // Two branches that only meet at the bottom row, then a third joining from the right.
        let (m, w, h) = mask_from(&["#...#...#", "#...#...#", "#...#...#", "#########"]);
        let blobs = find_blobs(&m, w, h, 1);
        assert_eq!(blobs.len(), 1);
        assert_eq!((blobs[0].x0, blobs[0].x1, blobs[0].area), (0, 9, 18));
        let (m, w, h) = mask_from(&["#.....", ".#....", "..#...", "...#..", "....#."]);
        assert_eq!(find_blobs(&m, w, h, 1).len(), 1);
    }

    #[test]
    fn min_area_filters() {
        let (m, w, h) = mask_from(&["##..#", "##..."]);
        assert_eq!(find_blobs(&m, w, h, 2).len(), 1);
        assert_eq!(find_blobs(&m, w, h, 5).len(), 0);
        assert_eq!(find_blobs(&m, w, h, 0).len(), 2);
    }

    #[test]
    fn empty_and_full_masks() {
        assert!(find_blobs(&[0; 12], 4, 3, 1).is_empty());
        assert!(find_blobs(&[], 0, 0, 1).is_empty());
        let full = find_blobs(&[255; 12], 4, 3, 1);
        assert_eq!(
            full,
            vec![Blob {
                x0: 0,
                y0: 0,
                x1: 4,
                y1: 3,
                area: 12,
                cx: 2.0,
                cy: 1.5
            }]
        );
    }

    #[test]
    fn next_nonzero_finds_the_first_set_byte() {
        let mut rng = crate::testutil::Rng::new(3);
        for len in [0usize, 1, 7, 8, 9, 23, 64, 100] {
            for _ in 0..50 {
                let row: Vec<u8> = (0..len)
                    .map(|_| if rng.uniform() < 0.05 { 255 } else { 0 })
                    .collect();
                for from in 0..=len {
                    let want = row[from..].iter().position(|&v| v != 0).map(|p| p + from);
                    assert_eq!(next_nonzero(&row, from), want, "{row:?} from {from}");
                }
            }
        }
    }

    #[test]
    fn labeller_is_reusable() {
        let mut labeller = Labeller::new();
        let (m, w, h) = mask_from(&["#.#", "...", "###"]);
        assert_eq!(labeller.find(&m, w, h, 1).len(), 3);
        assert_eq!(labeller.find(&[0; 9], 3, 3, 1).len(), 0);
        assert_eq!(labeller.find(&m, w, h, 1).len(), 3);
    }
}
