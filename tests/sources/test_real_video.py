"""The motion pipeline on real footage: PETS 2009 S2.L1 (pedestrians on a campus walkway).

The MOTChallenge public detections of the same sequence (../shared/data/mot/PETS09-S2L1) say
where people are; motion blobs must mostly be people and most people must be in a blob.
"""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict
from pathlib import Path

from conftest import shared_path
from vsa_stream.config import MotionConfig
from vsa_stream.perception import MotionPerception
from vsa_stream.sources import VideoSource

# The detections are in the original 768x576 frames; the shared video is 480x360.
SCALE = 480 / 768


def load_detections(path: Path) -> dict[int, list[tuple[float, float, float, float]]]:
    boxes: dict[int, list[tuple[float, float, float, float]]] = defaultdict(list)
    for line in path.read_text().splitlines():
        frame, _, x, y, w, h, score = (float(v) for v in line.split(",")[:7])
        if score > 0.5:
            box = (x * SCALE, y * SCALE, (x + w) * SCALE, (y + h) * SCALE)
            boxes[int(frame)].append(box)
    return boxes


def test_motion_blobs_find_the_pedestrians_of_pets09() -> None:
    video = shared_path("data", "pets09_s2l1_480x360.avi")
    people = load_detections(shared_path("data", "mot", "PETS09-S2L1", "det.txt"))
    perception = MotionPerception(MotionConfig())
    source = VideoSource(str(video))
    blobs_on_people = blobs = people_in_blobs = people_total = 0
    for frame in source.frames(threading.Event()):
        found = perception.detect(frame)
        if frame.index < 10:  # background warm-up
            continue
        truth = people[frame.index + 1]  # video frame k is MOTChallenge frame k + 1
        for b in found:
            cx, cy = (b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2
            blobs += 1
            blobs_on_people += any(x0 <= cx <= x1 and y0 <= cy <= y1 for x0, y0, x1, y1 in truth)
        for x0, y0, x1, y1 in truth:
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            people_total += 1
            people_in_blobs += any(b.x0 <= cx <= b.x1 and b.y0 <= cy <= b.y1 for b in found)
    assert source.stats.decoded == 795
    # measured: 0.74 and 0.81 with the default motion settings
    assert blobs_on_people / blobs >= 0.65
    assert people_in_blobs / people_total >= 0.72


def test_stream_time_of_a_file_whose_pts_come_in_decoding_order() -> None:
    """PETS09's AVI carries H.264 B-frames with pts in decoding order (1, 4, 3, 5, 2, ...);
    the dts are right. Stream time must follow the frames, 10 per second, never jumping (once
    the third frame has shown which timestamps are wrong)."""
    source = VideoSource(str(shared_path("data", "pets09_s2l1_480x360.avi")), realtime=False)
    times = [frame.time_s for frame in source.frames(threading.Event())]
    assert len(times) == 795
    steps = [b - a for a, b in itertools.pairwise(times[2:])]
    assert min(steps) > 0.099
    assert max(steps) < 0.101
    assert source.stats.time_jumps <= 2  # the first frames, before the switch to dts
    assert 79.3 < times[-1] < 79.7  # 795 frames at 10 per second
