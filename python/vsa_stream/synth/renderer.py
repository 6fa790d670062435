"""Render a scenario to H.264 video and ground truth.

Each frame is composed in YUV 4:2:0 with numpy (no RGB anywhere): the background luma is copied,
people are painted far to near, the lighting gain is applied, fresh Gaussian sensor noise is
added, and the planes go to libx264 through PyAV. The encoder runs single-threaded with fixed
settings, so a seed gives the same bytes on every machine with the same libx264.
"""

from __future__ import annotations

import math
import os
from fractions import Fraction
from statistics import NormalDist

import av
import numpy as np
import numpy.typing as npt

from vsa_stream.synth.figure import Look, Pose, paint, pose_at, random_look
from vsa_stream.synth.scenarios import DEFAULT_DURATION_S, MIN_DURATION_S, SCENARIOS, people_for
from vsa_stream.synth.scene import lighting_gain, make_background
from vsa_stream.synth.truth import (
    RESTRICTED_ZONE,
    Truth,
    TruthBox,
    TruthEvent,
    TruthObject,
    TruthZone,
    anchor_of,
    dump_truth,
    point_in_polygon,
)

__all__ = ["render"]

NOISE_SIGMA = 3.0
# "fast" renders quickly (no CABAC, no deblocking: cheap to decode too); "camera" encodes the
# way IP cameras do (High profile, CABAC, deblocking filter, no B-frames), so that decoding
# costs what it costs on a real stream: benchmarks use it.
ENCODINGS: dict[str, dict[str, str]] = {
    "fast": {"preset": "ultrafast", "crf": "23", "threads": "1"},
    "camera": {"preset": "veryfast", "crf": "23", "threads": "1", "bf": "0", "profile": "high"},
}


def _noise_table(sigma: float) -> npt.NDArray[np.float32]:
    """Gaussian quantiles for the 256 byte values, plus 0.5 so truncation rounds."""
    dist = NormalDist(0.0, sigma)
    return np.array([dist.inv_cdf((i + 0.5) / 256.0) + 0.5 for i in range(256)], dtype=np.float32)


def _check(
    scenario: str, width: int, height: int, fps: float, duration_s: float | None
) -> tuple[float, int]:
    """Validate the arguments of :func:`render`; return the duration and the frame count."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known scenarios: {', '.join(SCENARIOS)}")
    for name, value in (("width", width), ("height", height)):
        if value < 64 or value % 2:
            raise ValueError(f"{name} must be an even number of pixels >= 64, got {value}")
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps}")
    duration = DEFAULT_DURATION_S[scenario] if duration_s is None else float(duration_s)
    minimum = MIN_DURATION_S[scenario]
    if not (math.isfinite(duration) and duration >= minimum):
        raise ValueError(
            f"duration_s={duration_s} is too short for scenario {scenario!r}: "
            f"it needs at least {minimum:g} s"
        )
    n_frames = round(duration * fps)
    if n_frames < 1:
        raise ValueError(f"duration_s={duration_s} at fps={fps} gives no frame")
    return duration, n_frames


def _clipped(pose: Pose, k: int, width: int, height: int) -> TruthBox | None:
    """The truth box of a pose: clipped to the frame, None when (almost) nothing is visible."""
    x0, y0, x1, y1 = pose.box
    x0, x1 = max(0.0, x0), min(float(width), x1)
    y0, y1 = max(0.0, y0), min(float(height), y1)
    if x1 - x0 < 1.0 or y1 - y0 < 1.0:
        return None
    return TruthBox(k, round(x0, 2), round(y0, 2), round(x1, 2), round(y1, 2))


def _intrusions(
    objects: list[TruthObject], roles: dict[int, str], width: int, height: int, fps: float
) -> list[TruthEvent]:
    """One intrusion per intruder: from the first to the last frame its anchor is in the zone."""
    events = []
    for obj in objects:
        if roles[obj.id] != "intruder":
            continue
        inside = [
            b.frame
            for b in obj.boxes
            if point_in_polygon(*anchor_of(b, width, height), RESTRICTED_ZONE.polygon)
        ]
        if inside:
            first, last = inside[0], inside[-1]
            events.append(
                TruthEvent(
                    "intrusion", RESTRICTED_ZONE.id, obj.id, first, last, first / fps, last / fps
                )
            )
    return events


def render(
    scenario: str,
    out: str | os.PathLike[str],
    truth: str | os.PathLike[str] | None = None,
    *,
    width: int = 1280,
    height: int = 720,
    fps: float = 25.0,
    duration_s: float | None = None,
    seed: int = 0,
    encoding: str = "fast",
) -> Truth:
    """Render a labelled synthetic scenario to an H.264 video and, optionally, truth JSON.

    Args:
        scenario: One of :data:`SCENARIOS`: ``"walkers"`` (people walking, never in the
            restricted zone) or ``"intruder"`` (the walkers plus one person who enters the zone
            at about 3.5 s and stays about 5 s).
        out: Video path; the container follows the extension (``.mp4``, ``.mkv``, ...).
        truth: Where to write the ground truth as JSON, if given.
        width: Frame width in pixels, even, at least 64.
        height: Frame height in pixels, even, at least 64.
        fps: Frame rate; frame ``k`` is at ``k / fps`` seconds.
        duration_s: Length of the video; the scenario's default (12 s) when None.
        seed: Seeds the background, the people's looks, the lighting and the sensor noise.
            The same arguments give the same video and truth.
        encoding: ``"fast"`` (quick to render and to decode) or ``"camera"`` (H.264 High
            profile with CABAC and deblocking, like an IP camera; slower to render).

    Returns:
        The ground truth, as written to ``truth``.

    Raises:
        ValueError: Unknown scenario, bad size or frame rate, or a duration too short.

    Example:
        >>> t = render("intruder", "/tmp/intruder.mp4", width=320, height=180)  # doctest: +SKIP
        >>> [e.type for e in t.events]  # doctest: +SKIP
        ['intrusion']
    """
    duration, n_frames = _check(scenario, width, height, fps, duration_s)
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; known: {', '.join(ENCODINGS)}")
    people = people_for(scenario, duration)
    bg_seq, look_seq, noise_seq = np.random.SeedSequence(seed).spawn(3)
    bg = make_background(np.random.default_rng(bg_seq), width, height)
    look_rng = np.random.default_rng(look_seq)
    looks: dict[int, Look] = {p.id: random_look(look_rng, p.role) for p in people}
    phase_a, phase_b = (float(v) for v in look_rng.uniform(0.0, 2.0 * math.pi, size=2))
    noise_rng = np.random.default_rng(noise_seq)
    table = _noise_table(NOISE_SIGMA)

    rate = Fraction(fps).limit_denominator(1_000_000)
    boxes: dict[int, list[TruthBox]] = {p.id: [] for p in people}
    n_px = width * height
    buf = np.empty(n_px * 3 // 2, dtype=np.uint8)
    y_out = buf[:n_px].reshape(height, width)
    u_out = buf[n_px : n_px * 5 // 4].reshape(height // 2, width // 2)
    v_out = buf[n_px * 5 // 4 :].reshape(height // 2, width // 2)
    luma = np.empty((height, width), dtype=np.float32)
    noise = np.empty((height, width), dtype=np.float32)

    with av.open(os.fspath(out), mode="w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = max(1, round(2 * fps))
        stream.options = dict(ENCODINGS[encoding])
        for k in range(n_frames):
            t = k / fps
            visible: list[tuple[Pose, Look]] = []
            for p in people:
                if p.path.t_start - 1.0 <= t <= p.path.t_end + 1.0:
                    pose = pose_at(p.path, looks[p.id], t, width, height)
                    box = _clipped(pose, k, width, height)
                    if box is not None:
                        boxes[p.id].append(box)
                        visible.append((pose, looks[p.id]))
            np.copyto(luma, bg.y)
            np.copyto(u_out, bg.u)
            np.copyto(v_out, bg.v)
            for pose, look in sorted(visible, key=lambda pl: pl[0].feet):
                paint(pose, look, bg, luma, u_out, v_out)
            luma *= np.float32(lighting_gain(t, phase_a, phase_b))
            noise_bytes = np.frombuffer(noise_rng.bytes(n_px), dtype=np.uint8)
            np.take(table, noise_bytes.reshape(height, width), out=noise)
            luma += noise
            np.clip(luma, 0.0, 255.0, out=luma)
            np.copyto(y_out, luma, casting="unsafe")
            frame = av.VideoFrame.from_ndarray(buf.reshape(-1, width), format="yuv420p")
            frame.pts = k
            frame.time_base = 1 / rate
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))

    roles = {p.id: p.role for p in people}
    objects = [TruthObject(p.id, "person", boxes[p.id]) for p in people if boxes[p.id]]
    result = Truth(
        scenario=scenario,
        width=width,
        height=height,
        fps=float(fps),
        n_frames=n_frames,
        seed=seed,
        zones=[TruthZone(RESTRICTED_ZONE.id, list(RESTRICTED_ZONE.polygon))],
        objects=objects,
        events=_intrusions(objects, roles, width, height, float(fps)),
    )
    if truth is not None:
        dump_truth(result, truth)
    return result
