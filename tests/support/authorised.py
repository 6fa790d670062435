"""Configurations for tests: the ``lab`` profile for recorded files, an authorisation covering
the test's run for live streams (``fr-2023`` analyses a live camera only inside one)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from vsa_stream.event_types import SITUATIONS

#: Put before ``cameras:`` in a test's YAML: recorded files, no authorisation needed.
LAB = "privacy: {legal_profile: lab}\n"


def _iso(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def authorised(cameras: Iterable[str], situations: Iterable[str] = SITUATIONS) -> str:
    """An ``authorisations:`` block (YAML, one line) for ``cameras``, in force from a day
    before now to a day after: live test streams under ``fr-2023``."""
    now = time.time()
    return (
        f"authorisations: [{{reference: test, start: '{_iso(now - 86400)}', "
        f"end: '{_iso(now + 86400)}', cameras: [{', '.join(cameras)}], "
        f"situations: [{', '.join(situations)}]}}]\n"
    )
