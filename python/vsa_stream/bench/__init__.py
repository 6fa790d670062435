"""The benchmark suite behind ``vsa-stream bench``: every figure next to its anchor.

Three reports, each a Markdown table on standard output, a JSON file and a PNG chart in the
results folder (``bench/results/`` by default):

* :mod:`~vsa_stream.bench.kernels`: each Rust kernel against its usual Python anchor (OpenCV,
  Roboflow ``trackers``, ``supervision``, numpy), one thread, three sizes;
* :mod:`~vsa_stream.bench.pipeline`: how many live 720p streams the engine sustains, against
  the ceiling of bare PyAV decoding of the same streams;
* :mod:`~vsa_stream.bench.alerts`: alert delivery through the outbox and signed webhooks,
  against bare httpx.

The anchors are imported only when a benchmark runs; without them the command says to
``pip install 'vsa-stream[bench]'`` (:class:`~vsa_stream.bench.common.MissingAnchorError`).
On a shared machine absolute figures are noisy: the ratios measured side by side in one run are
what counts.
"""

from __future__ import annotations

from vsa_stream.bench.common import INSTALL_HINT, MissingAnchorError

__all__ = ["INSTALL_HINT", "MissingAnchorError"]
