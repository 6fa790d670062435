//! The image pyramid of one frame: level 0 is the frame, each next level the 2×2 area average.

use crate::image::{downscale_area, OwnedPlane, PlaneError, PlaneView};

/// One pyramid level as `f32` grey levels, tightly packed, with its gradients.
#[derive(Debug, Clone, Default)]
pub struct Level {
    pub data: Vec<f32>,
    /// Horizontal central difference `(I[x+1] − I[x−1]) / 2` (one-sided at the edges).
    pub gx: Vec<f32>,
    /// Vertical central difference.
    pub gy: Vec<f32>,
    pub width: usize,
    pub height: usize,
}

impl Level {
    /// Refills this level from rows of bytes, reusing its buffers (no page faults per frame).
    ///
    /// Gradients are computed on every `row_step`-th row only (the rows windows sample).
    #[inline(always)]
    fn fill<'a>(
        &mut self,
        rows: impl Iterator<Item = &'a [u8]>,
        width: usize,
        height: usize,
        row_step: usize,
    ) {
        self.data.resize(width * height, 0.0);
        for (dst, row) in self.data.chunks_exact_mut(width).zip(rows) {
            for (d, &v) in dst.iter_mut().zip(row) {
                *d = f32::from(v);
            }
        }
        self.width = width;
        self.height = height;
        self.gradients(row_step);
    }

    /// Builds a level from packed `f32` data (for tests).
    #[inline(always)]
    pub fn from_f32(data: Vec<f32>, width: usize, height: usize) -> Self {
        assert_eq!(data.len(), width * height);
        let mut level = Self {
            data,
            gx: Vec::new(),
            gy: Vec::new(),
            width,
            height,
        };
        level.gradients(1);
        level
    }

    #[inline(always)]
    fn gradients(&mut self, row_step: usize) {
        let (w, h) = (self.width, self.height);
        self.gx.resize(w * h, 0.0);
        self.gy.resize(w * h, 0.0);
        for y in (0..h).step_by(row_step.max(1)) {
            let row = &self.data[y * w..(y + 1) * w];
            let gx = &mut self.gx[y * w..(y + 1) * w];
            if w >= 2 {
                for ((g, &a), &b) in gx[1..w - 1].iter_mut().zip(&row[..w - 2]).zip(&row[2..]) {
                    *g = 0.5 * (b - a);
                }
                gx[0] = row[1] - row[0];
                gx[w - 1] = row[w - 1] - row[w - 2];
            }
            if h >= 2 {
                let (up, dn, scale) = match y {
                    0 => (0, 1, 1.0),
                    y if y == h - 1 => (h - 2, h - 1, 1.0),
                    y => (y - 1, y + 1, 0.5),
                };
                let (a, b) = (
                    &self.data[up * w..(up + 1) * w],
                    &self.data[dn * w..(dn + 1) * w],
                );
                for ((g, &a), &b) in self.gy[y * w..(y + 1) * w].iter_mut().zip(a).zip(b) {
                    *g = scale * (b - a);
                }
            }
        }
    }
}

/// A frame's pyramid, finest level first.
#[derive(Debug, Clone, Default)]
pub struct Pyramid {
    pub levels: Vec<Level>,
}

impl Pyramid {
    /// Builds `levels` levels (at least 1) from `plane`; stops early when a level would be
    /// smaller than 2×2.
    #[inline(always)]
    pub fn build(plane: &PlaneView<'_>, levels: usize) -> Result<Self, PlaneError> {
        let mut out = Self::default();
        out.rebuild(plane, levels, 1)?;
        Ok(out)
    }

    /// [`Pyramid::build`] into this pyramid's buffers, with gradients on every `row_step`-th
    /// row only (1: all rows).
    #[inline(always)]
    pub fn rebuild(
        &mut self,
        plane: &PlaneView<'_>,
        levels: usize,
        row_step: usize,
    ) -> Result<(), PlaneError> {
        let levels = levels.max(1);
        if self.levels.len() < levels {
            self.levels.resize_with(levels, Level::default);
        }
        self.levels[0].fill(plane.rows(), plane.width(), plane.height(), row_step);
        let mut used = 1;
        let mut current: Option<OwnedPlane> = None;
        for l in 1..levels {
            let next = match &current {
                None => downscale_area(plane, 2),
                Some(p) => downscale_area(&p.view(), 2),
            };
            let Ok(next) = next else { break };
            if next.width() < 2 || next.height() < 2 {
                break;
            }
            self.levels[l].fill(next.view().rows(), next.width(), next.height(), row_step);
            used += 1;
            current = Some(next);
        }
        self.levels.truncate(used);
        Ok(())
    }
}
