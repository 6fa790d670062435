//! The image pyramid of one frame: level 0 is the frame, each next level the 2×2 area average.

use crate::image::{downscale_area, PlaneError, PlaneView};

/// One pyramid level as `f32` grey levels, tightly packed.
#[derive(Debug, Clone, Default)]
pub struct Level {
    pub data: Vec<f32>,
    pub width: usize,
    pub height: usize,
}

impl Level {
    fn from_rows<'a>(rows: impl Iterator<Item = &'a [u8]>, width: usize, height: usize) -> Self {
        let mut data = Vec::with_capacity(width * height);
        for row in rows {
            data.extend(row.iter().map(|&v| f32::from(v)));
        }
        Self {
            data,
            width,
            height,
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
    pub fn build(plane: &PlaneView<'_>, levels: usize) -> Result<Self, PlaneError> {
        let mut out = Vec::with_capacity(levels);
        out.push(Level::from_rows(
            plane.rows(),
            plane.width(),
            plane.height(),
        ));
        let mut current = None;
        for _ in 1..levels.max(1) {
            let next = match &current {
                None => downscale_area(plane, 2),
                Some(p) => downscale_area(&crate::image::OwnedPlane::view(p), 2),
            };
            let Ok(next) = next else { break };
            if next.width() < 2 || next.height() < 2 {
                break;
            }
            out.push(Level::from_rows(
                next.view().rows(),
                next.width(),
                next.height(),
            ));
            current = Some(next);
        }
        Ok(Self { levels: out })
    }
}
