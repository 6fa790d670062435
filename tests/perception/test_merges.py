"""Motion blobs that merge: tracks keep their own objects through the merge (no swap)."""

from __future__ import annotations

import numpy as np

from vsa_stream.config import TrackingConfig
from vsa_stream.observation import Detection
from vsa_stream.perception.merges import split_merges
from vsa_stream.perception.objects import BlobTracker

Box = tuple[float, float, float, float]

# The blobs the motion kernel found in the synthetic suite's `wrong_way_walker` seed 20
# (384x216, 10 fps), 6.5 s to 9.0 s, x 60..300: a walker going left along the walkway (x 246
# -> 148) crosses one going right (x 78 -> 178 in the end); at frames 19-21 the two are one
# blob (154..170 wide, then 158..166, 156..168), and a third walker follows the second.
SEED20: list[list[Box]] = [
    [(272, 40, 278, 64), (246, 58, 252, 76), (78, 64, 84, 80)],
    [(274, 42, 280, 58), (242, 58, 248, 74), (60, 60, 68, 76), (82, 64, 88, 80)],
    [(276, 42, 284, 58), (238, 58, 244, 74), (64, 60, 72, 86), (86, 64, 92, 88)],
    [(280, 42, 286, 68), (68, 54, 74, 76), (234, 58, 240, 74), (90, 64, 96, 88)],
    [(282, 44, 288, 58), (70, 58, 78, 74), (230, 62, 236, 74), (94, 64, 100, 88)],
    [(286, 42, 292, 68), (74, 54, 80, 78), (226, 62, 232, 74), (98, 64, 104, 80)],
    [(288, 42, 294, 66), (76, 60, 84, 86), (220, 62, 226, 72), (102, 64, 108, 80)],
    [(292, 42, 298, 58), (80, 58, 88, 74), (216, 58, 222, 74), (106, 64, 112, 88)],
    [(294, 42, 300, 58), (84, 58, 90, 74), (212, 58, 218, 80), (110, 66, 116, 90)],
    [(298, 42, 304, 56), (88, 54, 94, 74), (208, 62, 214, 80), (114, 64, 120, 88)],
    [(300, 42, 306, 68), (90, 54, 98, 74), (204, 62, 210, 74), (118, 64, 124, 80)],
    [(94, 58, 102, 72), (200, 62, 206, 72), (122, 64, 128, 80)],
    [(98, 58, 106, 84), (126, 64, 132, 90), (196, 64, 202, 72)],
    [(102, 54, 108, 82), (130, 64, 136, 90), (190, 64, 196, 72)],
    [(104, 58, 112, 72), (186, 62, 192, 76), (134, 64, 140, 80)],
    [(108, 52, 114, 72), (182, 58, 188, 76), (138, 64, 144, 80)],
    [(110, 52, 118, 74), (178, 62, 184, 74), (142, 64, 148, 80)],
    [(114, 52, 122, 72), (172, 64, 180, 72), (146, 66, 152, 88)],
    [(118, 52, 124, 82), (150, 64, 156, 88), (168, 64, 174, 74)],
    [(120, 52, 128, 82), (154, 62, 170, 80)],
    [(124, 54, 132, 70), (158, 60, 166, 80)],
    [(128, 54, 136, 70), (156, 60, 168, 84)],
    [(132, 54, 138, 82), (152, 62, 158, 82), (166, 66, 172, 80)],
    [(136, 52, 142, 80), (148, 62, 154, 76), (170, 66, 176, 90)],
    [(138, 54, 150, 82), (174, 64, 180, 80)],
    [(138, 54, 148, 82), (178, 64, 184, 80)],
]


def track(frames: list[list[Box]]) -> list[dict[int, Detection]]:
    tracker = BlobTracker(TrackingConfig(), 10.0)
    out = []
    for boxes in frames:
        objects = tracker.track([Detection(b[0], b[1], b[2], b[3]) for b in boxes])
        out.append({d.track_id: d for d in objects if d.track_id is not None})
    return out


def near(tracks: dict[int, Detection], x0: float) -> int | None:
    """The id of the track whose box starts within 3 px of ``x0``."""
    ids = [i for i, d in tracks.items() if abs(d.x0 - x0) <= 3.0]
    return ids[0] if ids else None


def test_two_crossing_walkers_do_not_swap_tracks() -> None:
    frames = track(SEED20)
    left = near(frames[18], 168.0)  # the walker going left, just before the merge
    right = near(frames[18], 150.0)  # the walker going right
    assert left is not None
    assert right is not None
    assert left != right
    # after the split (frame 25: left walker's blob gone in a third walker's, right at 178)
    assert near(frames[25], 178.0) == right
    assert left not in frames[25] or frames[25][left].x0 < 150.0
    # the left walker's track never follows the right walker out of the merge
    for tracks in frames[22:]:
        if left in tracks:
            assert tracks[left].x0 <= 158.0


def crossing(merged_frames: list[int]) -> list[list[Box]]:
    """Walker A goes left 4 px a frame, B right; on ``merged_frames`` they are one blob."""
    frames: list[list[Box]] = []
    for i in range(20):
        a = (200.0 - 4 * i, 64.0, 206.0 - 4 * i, 84.0)
        b = (120.0 + 4 * i, 64.0, 126.0 + 4 * i, 84.0)
        if i in merged_frames:
            frames.append([(min(a[0], b[0]), 64.0, max(a[2], b[2]), 84.0)])
        else:
            frames.append([a, b])
    return frames


def test_both_walkers_stay_tracked_at_their_own_velocity_through_a_merge() -> None:
    frames = track(crossing([9, 10, 11]))
    a, b = near(frames[8], 168.0), near(frames[8], 152.0)
    assert a is not None
    assert b is not None
    assert a != b
    for tracks in frames[9:12]:  # one blob: both are still reported, moving their own way
        assert a in tracks
        assert b in tracks
    assert frames[11][a].x0 < frames[9][a].x0 - 6.0
    assert frames[11][b].x0 > frames[9][b].x0 + 6.0
    assert near(frames[12], 200.0 - 48) == a
    assert near(frames[12], 120.0 + 48) == b


def test_a_lasting_merge_goes_back_to_one_track() -> None:
    # two walkers side by side, one blob for 5 s: their tracks coast at most lost_s (2 s)
    # through it, then the blob is one object
    frames = [
        [(100.0 + 2 * i, 60.0, 106.0 + 2 * i, 80.0), (108.0 + 2 * i, 60.0, 114.0 + 2 * i, 80.0)]
        for i in range(5)
    ]
    frames += [[(100.0 + 2 * i, 60.0, 114.0 + 2 * i, 80.0)] for i in range(5, 55)]
    out = track(frames)
    assert len(out[10]) == 2  # split
    assert len(out[-1]) == 1
    (last,) = out[-1].values()
    assert last.x1 - last.x0 > 12.0  # the merged blob itself


def test_a_blob_holding_one_track_or_none_is_left_whole() -> None:
    blobs = np.array([[10.0, 0.0, 40.0, 20.0]])
    grown = np.array([[10.0, 0.0, 16.0, 20.0]])  # one track in a larger blob: it grew
    boxes, groups = split_merges(blobs, grown)
    assert boxes.tolist() == blobs.tolist()
    assert groups == []
    apart = np.array([[10.0, 0.0, 16.0, 20.0], [60.0, 0.0, 66.0, 20.0]])
    boxes, groups = split_merges(blobs, apart)
    assert boxes.tolist() == blobs.tolist()
    assert groups == []
