"""Prometheus families of the statistics: the last interval each camera reported.

Only what an interval published: a count below the camera's ``min_count`` (``"< k"``) has no
sample, so a scrape never reveals more than ``/api/stats``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import Metric

from vsa_stream.metrics import counter, gauge
from vsa_stream.stats.counter import StatisticsCounter

__all__ = ["statistics_metrics"]


def statistics_metrics(
    counters: Callable[[], list[StatisticsCounter]],
) -> Callable[[], Iterator[Metric]]:
    """A collector of the statistics of the cameras ``counters()`` returns."""

    def collect() -> Iterator[Metric]:
        found = [c for c in counters() if c.last is not None]
        yield counter(
            "vsa_statistics_intervals",
            "Statistics intervals reported, by camera.",
            ["camera"],
            (([c.camera_id], float(c.intervals)) for c in counters()),
        )
        yield gauge(
            "vsa_statistics_crossings",
            "Crossings of a counting line in the last interval reported, by camera, line, "
            "direction and class (absent when below min_count).",
            ["camera", "line", "direction", "class"],
            (
                ([c.camera_id, x.line, x.direction, x.object_class], float(x.count))
                for c in found
                if c.last is not None
                for x in c.last.crossings
                if not isinstance(x.count, str)
            ),
        )
        for what in ("mean", "peak"):
            yield gauge(
                f"vsa_statistics_occupancy_{what}",
                f"Objects in an occupancy zone in the last interval reported ({what} over its "
                "analysed frames), by camera, zone and class (absent when below min_count).",
                ["camera", "zone", "class"],
                (
                    ([c.camera_id, z.zone, z.object_class], float(getattr(z, what)))
                    for c in found
                    if c.last is not None
                    for z in c.last.occupancy
                    if not isinstance(getattr(z, what), str)
                ),
            )
        yield gauge(
            "vsa_statistics_interval_end_seconds",
            "End of the last interval reported, Unix seconds, by camera.",
            ["camera"],
            (([c.camera_id], c.last.end) for c in found if c.last is not None),
        )

    return collect
