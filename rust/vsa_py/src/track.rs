//! `Tracker`, `TrackBatch` and `linear_assignment`.

use numpy::{IntoPyArray, PyArray1, PyArray2};
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use vsa_core::track::{self, assign, TrackState, TrackView, TrackerConfig};

use crate::arrays::{owned_2d, readonly_1d, readonly_2d, run_detached, shape_str};
use crate::errors::{Error, Result};

/// The tracks of one update as parallel numpy arrays (struct of arrays), ordered by id.
///
/// Each property returns a new array. `states` codes: 0 tentative, 1 confirmed, 2 lost,
/// 3 removed. Velocities are in pixels per frame. `det_index` is the row of the detection that
/// updated the track in this frame, -1 if none.
#[pyclass(frozen, module = "vsa_stream._core")]
pub(crate) struct TrackBatch {
    ids: Vec<i64>,
    boxes: Vec<f64>,
    velocities: Vec<f64>,
    classes: Vec<i64>,
    states: Vec<u8>,
    ages: Vec<i64>,
    hits: Vec<i64>,
    time_since_update: Vec<i64>,
    det_index: Vec<i64>,
    scores: Vec<f64>,
}

impl TrackBatch {
    fn from_views(views: &[TrackView]) -> Self {
        let n = views.len();
        let mut b = Self {
            ids: Vec::with_capacity(n),
            boxes: Vec::with_capacity(4 * n),
            velocities: Vec::with_capacity(2 * n),
            classes: Vec::with_capacity(n),
            states: Vec::with_capacity(n),
            ages: Vec::with_capacity(n),
            hits: Vec::with_capacity(n),
            time_since_update: Vec::with_capacity(n),
            det_index: Vec::with_capacity(n),
            scores: Vec::with_capacity(n),
        };
        for v in views {
            b.ids.push(v.id as i64);
            b.boxes.extend_from_slice(&v.xyxy);
            b.velocities.extend_from_slice(&v.velocity);
            b.classes.push(v.class);
            b.states.push(v.state as u8);
            b.ages.push(i64::from(v.age));
            b.hits.push(i64::from(v.hits));
            b.time_since_update.push(i64::from(v.time_since_update));
            b.det_index.push(v.det_index.map_or(-1, |d| d as i64));
            b.scores.push(v.score);
        }
        b
    }
}

#[pymethods]
impl TrackBatch {
    /// Track ids (int64), increasing.
    #[getter]
    fn ids<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        self.ids.clone().into_pyarray(py)
    }
    /// Filtered boxes `(x0, y0, x1, y1)`, float64 `(M, 4)`.
    #[getter]
    fn boxes<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyArray2<f64>>> {
        owned_2d(py, self.boxes.clone(), self.ids.len(), 4)
    }
    /// Centre velocities `(vx, vy)` in pixels per frame, float64 `(M, 2)`.
    #[getter]
    fn velocities<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyArray2<f64>>> {
        owned_2d(py, self.velocities.clone(), self.ids.len(), 2)
    }
    /// Classes (int64).
    #[getter]
    fn classes<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        self.classes.clone().into_pyarray(py)
    }
    /// State codes (uint8): 0 tentative, 1 confirmed, 2 lost, 3 removed.
    #[getter]
    fn states<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u8>> {
        self.states.clone().into_pyarray(py)
    }
    /// Frames since each track started (int64, 1 on its first frame).
    #[getter]
    fn ages<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        self.ages.clone().into_pyarray(py)
    }
    /// Frames with a matched detection (int64).
    #[getter]
    fn hits<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        self.hits.clone().into_pyarray(py)
    }
    /// Frames since the last match (int64, 0 when matched now).
    #[getter]
    fn time_since_update<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        self.time_since_update.clone().into_pyarray(py)
    }
    /// Row of the detection matched in this frame (int64), -1 if none.
    #[getter]
    fn det_index<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        self.det_index.clone().into_pyarray(py)
    }
    /// Score of each track's last matched detection (float64).
    #[getter]
    fn scores<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.scores.clone().into_pyarray(py)
    }

    fn __len__(&self) -> usize {
        self.ids.len()
    }

    fn __repr__(&self) -> String {
        format!("TrackBatch({} tracks, ids={:?})", self.ids.len(), self.ids)
    }
}

/// ByteTrack-style multi-object tracker for one camera (see `_core.pyi`).
#[pyclass(module = "vsa_stream._core")]
pub(crate) struct Tracker {
    inner: track::Tracker,
}

#[pymethods]
impl Tracker {
    #[new]
    #[pyo3(signature = (
        *, frame_rate = 30.0, track_high_thresh = 0.5, track_low_thresh = 0.1,
        new_track_thresh = 0.6, match_thresh = 0.8, low_match_thresh = 0.5,
        tentative_match_thresh = 0.7, lost_s = 1.0, min_hits = 2, path_length = 32,
        fallback = true, fuse_score = false, tentative_thresh = 0.3, tentative_hits = 3,
        tentative_travel = 1.0
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        frame_rate: f64,
        track_high_thresh: f64,
        track_low_thresh: f64,
        new_track_thresh: f64,
        match_thresh: f64,
        low_match_thresh: f64,
        tentative_match_thresh: f64,
        lost_s: f64,
        min_hits: i64,
        path_length: i64,
        fallback: bool,
        fuse_score: bool,
        tentative_thresh: f64,
        tentative_hits: i64,
        tentative_travel: f64,
    ) -> Result<Self> {
        let min_hits = u32::try_from(min_hits).map_err(|_| {
            Error::parameter("min_hits", format!("min_hits must be >= 1, got {min_hits}"))
        })?;
        let tentative_hits = u32::try_from(tentative_hits).map_err(|_| {
            Error::parameter(
                "tentative_hits",
                format!("tentative_hits must be >= 1, got {tentative_hits}"),
            )
        })?;
        let path_length = usize::try_from(path_length).map_err(|_| {
            Error::parameter(
                "path_length",
                format!("path_length must be >= 0, got {path_length}"),
            )
        })?;
        let config = TrackerConfig {
            frame_rate,
            high_thresh: track_high_thresh,
            low_thresh: track_low_thresh,
            new_track_thresh,
            tentative_thresh,
            match_thresh,
            low_match_thresh,
            tentative_match_thresh,
            lost_s,
            min_hits,
            tentative_hits,
            tentative_travel,
            path_length,
            fallback,
            fuse_score,
        };
        Ok(Self {
            inner: track::Tracker::new(config)?,
        })
    }

    /// One frame of detections in, the tracks out (see `_core.pyi`). GIL released.
    #[pyo3(signature = (
        boxes, scores, classes = None, *, include_tentative = false, include_lost = false,
        include_removed = false
    ))]
    #[allow(clippy::too_many_arguments)]
    fn update(
        &mut self,
        py: Python<'_>,
        boxes: &Bound<'_, PyAny>,
        scores: &Bound<'_, PyAny>,
        classes: Option<&Bound<'_, PyAny>>,
        include_tentative: bool,
        include_lost: bool,
        include_removed: bool,
    ) -> Result<TrackBatch> {
        let boxes = readonly_2d::<f64>(boxes, "boxes")?;
        let scores = readonly_1d::<f64>(scores, "scores")?;
        let classes = classes
            .map(|c| readonly_1d::<i64>(c, "classes"))
            .transpose()?;
        let boxes = boxes.as_array();
        if boxes.ncols() != 4 {
            return Err(Error::frame(
                "boxes",
                format!(
                    "boxes must have shape (N, 4) (x0, y0, x1, y1), got {}",
                    shape_str(boxes.shape())
                ),
            ));
        }
        let scores = scores.as_array();
        let classes = classes.as_ref().map(|c| c.as_array());
        let n = boxes.nrows();
        if scores.len() != n || classes.as_ref().is_some_and(|c| c.len() != n) {
            return Err(Error::frame(
                "boxes",
                format!(
                    "boxes, scores and classes must have the same length, got {n}, {} and {}",
                    scores.len(),
                    classes.as_ref().map_or(n, |c| c.len())
                ),
            ));
        }
        let inner = &mut self.inner;
        let result = run_detached(
            py,
            "Tracker.update",
            #[inline(always)]
            move || {
                let b: Vec<[f64; 4]> = boxes
                    .rows()
                    .into_iter()
                    .map(|r| [r[0], r[1], r[2], r[3]])
                    .collect();
                let s: Vec<f64> = scores.iter().copied().collect();
                let c: Option<Vec<i64>> = classes.map(|c| c.iter().copied().collect());
                inner.update(&b, &s, c.as_deref())?;
                let mut views: Vec<TrackView> = inner
                    .tracks()
                    .filter(|v| match v.state {
                        TrackState::Confirmed => true,
                        TrackState::Tentative => include_tentative,
                        TrackState::Lost => include_lost,
                        TrackState::Removed => false,
                    })
                    .collect();
                if include_removed {
                    views.extend(inner.removed());
                    views.sort_by_key(|v| v.id);
                }
                Ok::<_, track::TrackError>(TrackBatch::from_views(&views))
            },
        );
        match result {
            Ok(Ok(batch)) => Ok(batch),
            Ok(Err(e)) => Err(e.into()),
            Err(panic) => {
                self.inner.reset();
                Err(panic)
            }
        }
    }

    /// Recent anchor points (bottom centre) of a live track, oldest first: float64 `(K, 2)`.
    fn path<'py>(&self, py: Python<'py>, track_id: i64) -> Result<Bound<'py, PyArray2<f64>>> {
        let points = u64::try_from(track_id)
            .ok()
            .and_then(|id| self.inner.path(id))
            .ok_or_else(|| PyKeyError::new_err(format!("no live track with id {track_id}")))?;
        let k = points.len();
        owned_2d(py, points.into_iter().flatten().collect(), k, 2)
    }

    /// Forgets every track; ids start again from 1 and `frame` from 0.
    fn reset(&mut self) {
        self.inner.reset();
    }

    /// Frames processed since creation or the last reset.
    #[getter]
    fn frame(&self) -> u64 {
        self.inner.frame()
    }

    /// Live tracks (tentative, confirmed or lost).
    fn __len__(&self) -> usize {
        self.inner.tracks().count()
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!(
            "Tracker(frame_rate={}, track_high_thresh={}, track_low_thresh={}, \
             new_track_thresh={}, tentative_thresh={}, match_thresh={}, lost_s={}, min_hits={}, \
             tentative_hits={}, path_length={}; frame={}, tracks={})",
            c.frame_rate,
            c.high_thresh,
            c.low_thresh,
            c.new_track_thresh,
            c.tentative_thresh,
            c.match_thresh,
            c.lost_s,
            c.min_hits,
            c.tentative_hits,
            c.path_length,
            self.inner.frame(),
            self.inner.tracks().count()
        )
    }
}

/// Matched rows and columns, as two int64 arrays.
type MatchedPairs<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<i64>>);

/// Optimal assignment of a float64 cost matrix `(N, M)` (see `_core.pyi`).
#[pyfunction]
#[pyo3(signature = (cost, cost_limit = f64::INFINITY))]
pub(crate) fn linear_assignment<'py>(
    py: Python<'py>,
    cost: &Bound<'py, PyAny>,
    cost_limit: f64,
) -> Result<MatchedPairs<'py>> {
    let cost = readonly_2d::<f64>(cost, "cost")?;
    let cost = cost.as_array();
    if cost.iter().any(|v| v.is_nan()) || cost_limit.is_nan() {
        return Err(Error::frame("cost", "cost and cost_limit must not be NaN"));
    }
    let (rows, cols) = cost.dim();
    let matched = run_detached(
        py,
        "linear_assignment",
        #[inline(always)]
        move || {
            let flat: Vec<f64> = cost.iter().copied().collect();
            assign::assign_dense(&flat, rows, cols, cost_limit)
        },
    )?;
    let (r, c): (Vec<i64>, Vec<i64>) = matched
        .iter()
        .enumerate()
        .filter_map(|(i, j)| j.map(|j| (i as i64, j as i64)))
        .unzip();
    Ok((r.into_pyarray(py), c.into_pyarray(py)))
}
