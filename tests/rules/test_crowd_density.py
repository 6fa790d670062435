"""crowd_movement on scripted motion fields, density on scripted person tracks and masks."""

from __future__ import annotations

import numpy as np

from scripted import Script, box, opens, run
from vsa_stream.config import Calibration, CrowdMovementRule, DensityRule, Zone
from vsa_stream.events import encode
from vsa_stream.observation import Detection, FlowField, Foreground
from vsa_stream.rules.crowd_movement import CrowdMovementRunner
from vsa_stream.rules.density import DensityRunner

ROWS, COLS, CELL = 12, 16, 16  # a 256x192 frame
SIZE = (COLS * CELL, ROWS * CELL)


def field(rng: np.random.Generator, kind: str, speed: float, moving: float = 0.6) -> FlowField:
    """A crowd's motion field: ``calm`` (walking every way), ``run`` (everyone one way, fast),
    ``burst`` (outwards from the centre), ``gather`` (towards it)."""
    angle = rng.uniform(0, 2 * np.pi, (ROWS, COLS))
    s = rng.normal(speed, 0.1 * speed, (ROWS, COLS))
    div = rng.normal(0.0, 0.003, (ROWS, COLS))
    if kind == "run":
        angle = rng.normal(0.0, 0.2, (ROWS, COLS))
    elif kind in ("burst", "gather"):
        yy, xx = np.mgrid[0:ROWS, 0:COLS]
        angle = np.arctan2(yy - ROWS / 2 + 0.5, xx - COLS / 2 + 0.5)
        if kind == "gather":
            angle += np.pi
        div += 0.08 if kind == "burst" else -0.08
    flow = np.stack([s * np.cos(angle), s * np.sin(angle)], axis=-1).astype(np.float32)
    flow[rng.random((ROWS, COLS)) > moving] = 0.0
    confidence = np.full((ROWS, COLS), 0.9, np.float32)
    return FlowField(CELL, flow, confidence, div.astype(np.float32))


def script(*parts: tuple[str, float, float]) -> Script:
    rng = np.random.default_rng(7)
    out: Script = []
    for kind, speed, seconds in parts:
        out += [([], {"flow": field(rng, kind, speed)}) for _ in range(round(seconds * 10))]
    return out


def crowd(**kw: object) -> CrowdMovementRunner:
    return CrowdMovementRunner("cam", CrowdMovementRule(**kw), [])  # type: ignore[arg-type]


def test_calm_dense_crowd_is_the_baseline_not_an_anomaly() -> None:
    assert run(crowd(), script(("calm", 1.5, 180)), size=SIZE) == []


def test_running_crowd_alerts_after_min_duration() -> None:
    events = run(crowd(), script(("calm", 1.5, 40), ("run", 5.0, 5), ("calm", 1.5, 10)), size=SIZE)
    assert [e.state for e in events] == ["open", "closed"]
    opened = events[0]
    assert opened.start_s == 40.0
    assert opened.evidence.stream_time_s == 41.0
    v = opened.evidence.values
    assert v["kind_running"] == 1.0
    assert v["speed_z"] >= 4.0
    assert v["coherence"] >= 0.7
    assert abs(v["baseline_speed"] - 1.5) < 0.1
    (x0, y0, x1, y1) = opened.evidence.boxes[0]  # the moving cells: most of the frame
    assert (x1 - x0) * (y1 - y0) > 0.5


def test_surge_in_every_direction_is_a_surge_not_running() -> None:
    (opened,) = opens(run(crowd(), script(("calm", 1.5, 40), ("calm", 5.0, 5)), size=SIZE))
    assert "kind_surge" in opened.evidence.values
    assert "kind_running" not in opened.evidence.values


def test_dispersal_and_convergence() -> None:
    (burst,) = opens(run(crowd(), script(("calm", 1.5, 40), ("burst", 1.5, 5)), size=SIZE))
    assert burst.evidence.values["kind_dispersal"] == 1.0
    (gather,) = opens(run(crowd(), script(("calm", 1.5, 40), ("gather", 1.5, 5)), size=SIZE))
    assert gather.evidence.values["kind_convergence"] == 1.0
    only_surge = crowd(kinds=["surge"])
    assert run(only_surge, script(("calm", 1.5, 40), ("burst", 1.5, 5)), size=SIZE) == []


def test_no_judgement_before_a_baseline_nor_on_a_short_burst() -> None:
    assert run(crowd(), script(("calm", 1.5, 10), ("run", 5.0, 5)), size=SIZE) == []
    assert (
        run(crowd(), script(("calm", 1.5, 40), ("run", 5.0, 0.8), ("calm", 1.5, 5)), size=SIZE)
        == []
    )


def test_a_scene_without_a_crowd_is_no_baseline_for_one() -> None:
    # 40 s of an empty, still plaza, then something large moves across it (cars driving in,
    # seeds 20-24 and 40-49 of the synthetic suite): judged against a baseline of stillness
    # any motion is a surge. The baseline learns the motion of crowds only; with no crowd seen
    # yet (and no person scale) there is nothing to judge it against.
    assert run(crowd(), script(("calm", 0.0, 40), ("run", 5.0, 5)), size=SIZE) == []
    # a crowd seen calm, then running, is still judged against its own calm
    (opened,) = opens(
        run(crowd(), script(("calm", 0.0, 20), ("calm", 1.5, 30), ("run", 5.0, 5)), size=SIZE)
    )
    assert opened.evidence.values["kind_running"] == 1.0
    assert abs(opened.evidence.values["baseline_speed"] - 1.5) < 0.1


def test_minimum_area_of_the_zone() -> None:
    zone = Zone(id="corner", polygon=[(0.0, 0.0), (0.25, 0.0), (0.25, 0.25), (0.0, 0.25)])
    rng = np.random.default_rng(3)
    frames: Script = [([], {"flow": field(rng, "calm", 1.5)}) for _ in range(400)]
    for _ in range(50):  # the corner (3x4 cells) is nearly still, one cell runs
        f = field(rng, "calm", 1.5)
        f.flow[:3, :4] = 0.0
        f.flow[0, 0] = (6.0, 0.0)
        frames.append(([], {"flow": f}))
    r = CrowdMovementRunner("cam", CrowdMovementRule(zones=["corner"]), [zone])
    assert run(r, frames, size=SIZE) == []


def people(height: float, n: int = 4) -> list[Detection]:
    """A few persons the detector sees, ``height`` px tall, spread over the frame."""
    return [
        box(30 + 60 * k, 60 + 40 * (k % 3), 0.4 * height, height, label="person", track_id=k)
        for k in range(n)
    ]


def test_a_field_measured_on_a_reduced_frame_reads_the_same_at_any_resolution() -> None:
    """The engine measures the motion field of a large frame on the frame reduced ``scale``
    times: a 3x larger camera of the same crowd (persons 3x taller, cells of 48 frame pixels,
    the same field in reduced pixels) gives the same alert with the same values."""

    def scene(k: int) -> Script:
        rng = np.random.default_rng(11)
        out: Script = []
        for _ in range(60):
            f = field(rng, "run", 10.0)
            scaled = FlowField(CELL * k, f.flow, f.confidence, f.divergence, k)
            persons = [
                Detection(k * d.x0, k * d.y0, k * d.x1, k * d.y1, "person", track_id=d.track_id)
                for d in people(48)
            ]
            out.append((persons, {"flow": scaled}))
        return out

    (small,) = opens(run(crowd(), scene(1), size=SIZE))
    (large,) = opens(run(crowd(), scene(3), size=(3 * SIZE[0], 3 * SIZE[1])))
    assert large.start_s == small.start_s
    assert large.evidence.values["speed_bh_s"] == small.evidence.values["speed_bh_s"]
    assert large.evidence.values["persons_moving"] == small.evidence.values["persons_moving"]
    assert large.evidence.boxes == small.evidence.boxes  # normalised: the same cells


def test_a_scene_that_starts_in_a_surge_alerts_without_a_baseline() -> None:
    rng = np.random.default_rng(11)
    # persons 48 px tall; the crowd runs one way at 10 px/frame: 100 px/s, 2.1 body heights/s
    frames: Script = [(people(48), {"flow": field(rng, "run", 10.0)}) for _ in range(60)]
    events = run(crowd(), frames, size=SIZE)
    (opened,) = opens(events)
    assert opened.start_s <= 0.2
    assert opened.evidence.stream_time_s <= 1.0 + 2.0  # min_duration_s, plus at most 2 s
    encode(opened)  # plain numbers: it goes to the sinks
    v = opened.evidence.values
    assert v["kind_running"] == 1.0
    assert v["speed_bh_s"] >= 1.5
    assert v["persons_moving"] >= 3.0
    # the same crowd walking one way (0.6 body heights/s), or milling, is no surge
    walking: Script = [(people(48), {"flow": field(rng, "run", 3.0)}) for _ in range(60)]
    assert run(crowd(), walking, size=SIZE) == []
    milling: Script = [(people(48), {"flow": field(rng, "calm", 3.0)}) for _ in range(60)]
    assert run(crowd(), milling, size=SIZE) == []


def test_a_calibrated_camera_judges_the_surge_in_metres_per_second() -> None:
    # 20 px per metre everywhere: a person is 34 px tall; no person detections at all
    cal = Calibration(
        image_points=[(0, 0), (256, 0), (256, 192), (0, 192)],
        ground_points=[(0, 0), (12.8, 0), (12.8, 9.6), (0, 9.6)],
        units="pixels",
    )
    rng = np.random.default_rng(12)
    frames: Script = [([], {"flow": field(rng, "run", 8.0)}) for _ in range(40)]  # 4 m/s
    r = CrowdMovementRunner("cam", CrowdMovementRule(), [], calibration=cal)
    (opened,) = opens(run(r, frames, size=SIZE))
    assert abs(opened.evidence.values["person_height_px"] - 34.0) < 0.5
    encode(opened)
    assert opened.evidence.stream_time_s <= 3.0


def test_one_person_running_is_never_a_crowd_movement() -> None:
    # a still scene, then one person close to the camera (100 px tall: 15 % of the frame's
    # cells) runs across it, seen by the detector
    still = FlowField(
        CELL,
        np.zeros((ROWS, COLS, 2), np.float32),
        np.full((ROWS, COLS), 0.9, np.float32),
        np.zeros((ROWS, COLS), np.float32),
    )
    frames: Script = [(people(100, 1), {"flow": still}) for _ in range(300)]
    for i in range(50):
        f = np.zeros((ROWS, COLS, 2), np.float32)
        col = 1 + (i // 10)
        f[2:9, col : col + 4] = (8.0, 0.0)
        runner_box = box((col + 2) * CELL, 9 * CELL, 40, 100, label="person", track_id=0)
        frames.append(
            ([runner_box], {"flow": FlowField(CELL, f, still.confidence, still.divergence)})
        )
    assert run(crowd(), frames, size=SIZE) == []


# --- density -------------------------------------------------------------------------------

PLAZA = Zone(id="plaza", polygon=[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)], area_m2=10.0)


def crowd_of(n: int) -> list[Detection]:
    return [
        box(20 + (k % 25) * 30, 100 + (k // 25) * 100, 20, 60, label="person", track_id=k)
        for k in range(n)
    ]


def density(**kw: object) -> DensityRunner:
    return DensityRunner("cam", DensityRule(zones=["plaza"], **kw), [PLAZA])  # type: ignore[arg-type]


def test_density_warning_then_alert_update_then_close() -> None:
    frames = [crowd_of(5)] * 50 + [crowd_of(30)] * 150 + [crowd_of(45)] * 100 + [crowd_of(5)] * 100
    events = run(density(), frames)
    assert [e.state for e in events] == ["open", "updated", "closed"]
    assert [e.evidence.values["level"] for e in events[:2]] == [1.0, 2.0]
    opened, updated, closed = events
    assert opened.evidence.values["density"] >= 2.0
    assert opened.evidence.values["persons"] == 30
    # smoothing (2 s) delays the onset by ~1 s, then 10 s sustained
    assert 5.5 <= opened.start_s <= 6.5
    assert abs(opened.evidence.stream_time_s - opened.start_s - 10.0) < 0.11
    assert updated.evidence.values["density"] >= 4.0
    assert 20.0 <= updated.evidence.stream_time_s <= 21.5
    assert len({opened.id, updated.id, closed.id}) == 1
    assert closed.evidence.values["peak_density"] == 4.5


def test_density_short_peak_never_alerts() -> None:
    frames = [crowd_of(5)] * 50 + [crowd_of(50)] * 80 + [crowd_of(5)] * 100
    assert run(density(), frames) == []


def test_density_from_a_calibrated_zone_area() -> None:
    cal = Calibration(
        image_points=[(0, 0), (800, 0), (800, 600), (0, 600)],
        ground_points=[(0, 0), (4, 0), (4, 3), (0, 3)],  # 12 m²
        units="pixels",
    )
    zone = Zone(id="plaza", polygon=[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)])
    r = DensityRunner("cam", DensityRule(zones=["plaza"], min_duration_s=1.0), [zone], cal)
    (opened,) = opens(run(r, [crowd_of(30)] * 30))
    assert abs(opened.evidence.values["area_m2"] - 12.0) < 1e-6
    assert opened.evidence.values["density"] == 2.5


def test_density_from_foreground_occupancy_without_a_detector() -> None:
    def mask(fraction: float) -> dict[str, object]:
        m = np.zeros((150, 200), np.uint8)
        m[: round(150 * fraction)] = 255
        return {"foreground": Foreground(4, m)}

    none: list[Detection] = []
    frames: Script = [(none, mask(0.2))] * 50 + [(none, mask(0.6))] * 150
    (opened,) = opens(run(density(source="occupancy", min_duration_s=5.0), frames))
    assert abs(opened.evidence.values["occupancy"] - 0.6) < 0.01
    assert opened.evidence.values["level"] == 1.0  # 0.6 x 5 = 3 persons/m²


def test_on_video_a_shaking_camera_or_flow_outside_the_foreground_is_no_surge() -> None:
    rng = np.random.default_rng(3)
    everywhere = Foreground(4, np.full((ROWS * CELL // 4, COLS * CELL // 4), 255, np.uint8))
    nowhere = Foreground(4, np.zeros((ROWS * CELL // 4, COLS * CELL // 4), np.uint8))

    def shaken(seconds: float, speed: float, fg: Foreground) -> Script:
        out: Script = []
        for _ in range(round(seconds * 10)):
            f = field(rng, "calm", 1.5)
            f.flow[...] += rng.normal(0.0, speed, 2).astype(np.float32)  # the whole view jumps
            out.append(([], {"flow": f, "foreground": fg}))
        return out

    # the camera jumps by up to several px per frame: the median vector of the frame is it
    assert run(crowd(), shaken(40, 0.0, everywhere) + shaken(5, 5.0, everywhere), size=SIZE) == []
    # a crowd running where the foreground mask sees nothing moving is flow noise
    calm: Script = [
        ([], {"flow": field(rng, "calm", 1.5), "foreground": nowhere}) for _ in range(400)
    ]
    run_: Script = [
        ([], {"flow": field(rng, "run", 5.0), "foreground": nowhere}) for _ in range(50)
    ]
    assert run(crowd(), calm + run_, size=SIZE) == []
    # the same running crowd where it is foreground (a third of the view) alerts
    part = np.zeros((ROWS * CELL // 4, COLS * CELL // 4), np.uint8)
    part[:, : COLS * CELL // 12] = 255
    seen = Foreground(4, part)
    calm = [([], {"flow": field(rng, "calm", 1.5), "foreground": seen}) for _ in range(400)]
    run_ = [([], {"flow": field(rng, "run", 5.0), "foreground": seen}) for _ in range(50)]
    assert len(opens(run(crowd(), calm + run_, size=SIZE))) == 1


def test_a_few_cells_of_strong_divergence_are_no_dispersal() -> None:
    rng = np.random.default_rng(5)

    def spiky() -> FlowField:
        f = field(rng, "calm", 1.5, moving=1.0)
        div = -np.abs(f.divergence)  # most of the crowd drifts gently together ...
        div.flat[rng.choice(div.size, div.size // 10, replace=False)] = 0.5  # ... a few spread
        return FlowField(f.cell, f.flow, f.confidence, div)

    script: Script = [([], {"flow": field(rng, "calm", 1.5, moving=1.0)}) for _ in range(400)]
    script += [([], {"flow": spiky()}) for _ in range(30)]
    # the mean divergence is about 0.05, far above the baseline, but 10 % of the cells are no
    # crowd spreading out: most of them must agree
    assert run(crowd(), script, size=SIZE) == []


# A camera high above a square: the zone (the central 400x300 px of 800x600) is 30 m² on the
# ground, and a standing person is 40 px tall (16 px wide) there.
SQUARE = Zone(
    id="plaza", polygon=[(0.25, 0.25), (0.75, 0.25), (0.75, 0.75), (0.25, 0.75)], area_m2=30.0
)


def packed_crowd(rng: np.random.Generator, n: int) -> tuple[list[Detection], Foreground]:
    """``n`` persons at random in the zone: the foreground mask they cover (factor 4), and the
    5 of them the detector sees."""
    mask = np.zeros((150, 200), np.uint8)
    feet = np.stack([rng.uniform(208, 592, n), rng.uniform(190, 450, n)], axis=1)
    for x, y in feet:
        mask[int(y - 40) // 4 : int(y) // 4, int(x - 8) // 4 : int(x + 8) // 4] = 255
    seen = [
        box(float(x), float(y), 16, 40, label="person", track_id=k)
        for k, (x, y) in enumerate(feet[:5])
    ]
    return seen, Foreground(4, mask)


def test_density_of_a_crowd_the_detector_sees_only_a_few_of() -> None:
    rng = np.random.default_rng(21)
    frames: Script = []
    for _ in range(150):  # 120 persons on 30 m²: 4 per m², the detector sees 5 of them
        seen, fg = packed_crowd(rng, 120)
        frames.append((seen, {"foreground": fg}))
    r = DensityRunner("cam", DensityRule(zones=["plaza"], min_duration_s=5.0), [SQUARE])
    events = run(r, frames)
    (opened,) = opens(events)
    v = opened.evidence.values
    assert v["persons"] == 5.0  # counting tracks alone: 0.17 per m²
    encode(opened)
    assert 3.0 <= v["density_average"] <= 5.0
    assert v["density_peak"] >= v["density_average"]
    assert any(e.evidence.values["level"] == 2.0 for e in events)  # the alert level
    # a sparse crowd (20 persons: 0.7 per m²) stays quiet
    sparse: Script = []
    for _ in range(150):
        seen, fg = packed_crowd(rng, 20)
        sparse.append((seen, {"foreground": fg}))
    r = DensityRunner("cam", DensityRule(zones=["plaza"], min_duration_s=5.0), [SQUARE])
    assert run(r, sparse) == []


def test_a_scene_cut_resets_density_instead_of_alerting() -> None:
    def cover(fraction: float) -> dict[str, object]:
        m = np.zeros((150, 200), np.uint8)
        m[: round(150 * fraction)] = 255
        return {"foreground": Foreground(4, m)}

    none: list[Detection] = []
    # an edited video: a cut makes the whole view foreground, which the background model then
    # unlearns over 4 s; later a crowd gathers for real over 3 s and stays
    frames: Script = [(none, cover(0.05))] * 50
    frames += [(none, cover(1.0 - 0.9 * i / 40)) for i in range(40)]
    frames += [(none, cover(0.05))] * 50
    frames += [(none, cover(0.05 + 0.55 * i / 30)) for i in range(30)]
    frames += [(none, cover(0.6))] * 100
    r = density(source="occupancy", min_duration_s=2.0)
    (opened,) = opens(run(r, frames))
    assert opened.start_s >= 14.0  # the real crowd, not the cut at 5 s


def test_a_cell_is_foreground_from_five_percent_of_its_pixels_and_a_short_mask_adds_none() -> None:
    from vsa_stream.observation import Observation
    from vsa_stream.rules.crowd_movement import _foreground_cells

    rng = np.random.default_rng(3)
    flow = field(rng, "calm", 1.0)
    k = CELL // 4  # mask pixels per cell side (factor 4)
    mask = np.zeros((ROWS * k - 2, COLS * k + 3), np.uint8)  # two rows short, three extra
    mask[0, 0] = 255  # 1 of 16 pixels: 6 %, foreground
    mask[k, k : k + 2] = 255  # 2 of 16 in cell (1, 1)
    mask[ROWS * k - 3, COLS * k - 1] = 1  # the last row of cells, in the rows the mask has
    mask[:, COLS * k :] = 255  # beyond the grid: ignored
    obs = Observation("c", 0, 0.0, 0.0, *SIZE, [], foreground=Foreground(4, mask))
    cells = _foreground_cells(obs, flow)
    assert cells is not None
    assert cells.shape == (ROWS, COLS)
    assert sorted(zip(*np.nonzero(cells), strict=True)) == [(0, 0), (1, 1), (ROWS - 1, COLS - 1)]
    # 8-px cells of a factor-4 mask: 2x2 mask pixels each
    small = FlowField(8, flow.flow, flow.confidence, flow.divergence)
    cells = _foreground_cells(obs, small)
    assert cells is not None
    assert sorted(zip(*np.nonzero(cells), strict=True)) == [(0, 0), (2, 2)]
