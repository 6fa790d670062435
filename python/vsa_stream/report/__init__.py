"""The quality report: the evaluation the law asks for, from data the engine already holds.

``vsa-stream report --config C --from DATE --to DATE`` computes, per camera and per situation,
alerts per day, share reviewed, confirmed precision, false-alarm causes, time to first review,
detection latency and camera availability, lists the authorisations in force and the audit
log's head, and signs the result (:mod:`~vsa_stream.report.sign`); ``vsa-stream report verify``
checks it.

- :mod:`~vsa_stream.report.model`: the report's data;
- :mod:`~vsa_stream.report.compute`: the figures, a pure function of the outbox's events and the
  audit log's runs;
- :mod:`~vsa_stream.report.inputs`: reading those from a configuration's state;
- :mod:`~vsa_stream.report.render`: Markdown, HTML (inline SVG charts) and JSON;
- :mod:`~vsa_stream.report.sign`: the HMAC signature and its check.
"""

from __future__ import annotations

from vsa_stream.report.compute import build_report
from vsa_stream.report.model import Authorisation, Report
from vsa_stream.report.sign import check, sign_json, sign_text

__all__ = ["Authorisation", "Report", "build_report", "check", "sign_json", "sign_text"]
