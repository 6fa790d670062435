"""Statistics mode: counting lines and occupancy zones, reported per interval as aggregates.

- :mod:`vsa_stream.stats.counter`: one camera's counts, fed its observations (in the analyzer);
- :mod:`vsa_stream.stats.store`: the intervals database, its sink, CSV;
- :mod:`vsa_stream.stats.metrics`: the last interval of each camera for Prometheus.
"""
