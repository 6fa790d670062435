"""Prometheus metrics of one engine: :class:`Metrics`.

Two kinds of figures, one registry per engine (never the process-global one, so two engines in
one process, as in the tests, never mix their counts):

- figures that already live in status objects (frames decoded per camera, camera state, ...)
  are read when the metrics are scraped, by the *collectors* added with
  :meth:`Metrics.add_collector`: nothing is counted twice and the hot loops pay nothing;
- figures that only exist as they happen (an inference's latency, an event of some type, a
  delivery failure) are recorded in the counters and histograms below, which are thread-safe.

Metric names start with ``vsa_``; labels never carry anything about a person.

Example:
    >>> m = Metrics()
    >>> m.events.labels(camera="gate", type="intrusion", state="open").inc()
    >>> b'vsa_events_total{camera="gate",state="open",type="intrusion"} 1.0' in m.exposition()
    True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE", "Metrics", "counter", "gauge"]

#: The media type of :meth:`Metrics.exposition` (Prometheus text format 0.0.4).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Inference of a small detector on a CPU takes milliseconds to a second.
_LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


class _Callback(Collector):
    """A collector that asks a function for its metric families at each scrape."""

    def __init__(self, collect: Callable[[], Iterable[Metric]]) -> None:
        self._collect = collect

    def collect(self) -> Iterable[Metric]:
        return self._collect()


class Metrics:
    """The metrics of one engine: a private registry, shared counters and collectors."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.events = Counter(
            "vsa_events",
            "Event revisions emitted, by camera, type and state.",
            ["camera", "type", "state"],
            registry=r,
        )
        self.reviews = Counter(
            "vsa_reviews",
            "Operator verdicts recorded, by camera, type, verdict and false-alarm cause.",
            ["camera", "type", "review", "cause"],
            registry=r,
        )
        self.inference_seconds = Histogram(
            "vsa_inference_seconds",
            "Wall time of one detector inference (one batch), seconds.",
            ["detector"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.delivery_failures = Counter(
            "vsa_delivery_failures",
            "Failed deliveries of an event to a sink.",
            ["sink"],
            registry=r,
        )
        self.loop_lag_seconds = Gauge(
            "vsa_event_loop_lag_seconds",
            "Latest measured lag of the event loop, seconds.",
            registry=r,
        )

    def add_collector(self, collect: Callable[[], Iterable[Metric]]) -> None:
        """Read ``collect()`` at every scrape: it yields metric families built from live state
        (see :func:`gauge`)."""
        self.registry.register(_Callback(collect))

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format (see :data:`CONTENT_TYPE`)."""
        return generate_latest(self.registry)


def gauge(
    name: str, documentation: str, labels: list[str], samples: Iterable[tuple[list[str], float]]
) -> GaugeMetricFamily:
    """A gauge family for a collector: ``samples`` are ``(label values, value)`` pairs."""
    return _filled(GaugeMetricFamily(name, documentation, labels=labels), samples)


def counter(
    name: str, documentation: str, labels: list[str], samples: Iterable[tuple[list[str], float]]
) -> CounterMetricFamily:
    """A counter family for a collector (``name`` without ``_total``), like :func:`gauge`."""
    return _filled(CounterMetricFamily(name, documentation, labels=labels), samples)


_F = TypeVar("_F", GaugeMetricFamily, CounterMetricFamily)


def _filled(family: _F, samples: Iterable[tuple[list[str], float]]) -> _F:
    for values, value in samples:
        family.add_metric(values, value)
    return family
