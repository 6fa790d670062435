"""Nothing lost: 10,000 alerts, the delivering process killed with SIGKILL mid-burst, restarted.

The process is ``python -m vsa_stream.cli.loadgen``: the daemon's own outbox and delivery code
(:class:`vsa_stream.sinks.delivery.Delivery`) fed with synthetic events instead of cameras, with
ids that depend only on the seed and index, so the restarted run adds exactly what the killed
one had not committed. The receiver is a real HTTP server on loopback.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from receiver import receiver
from vsa_stream.cli.loadgen import synthetic_event

ROOT = Path(__file__).resolve().parents[2]
SECRET = "whsec_" + base64.b64encode(b"crash-test-key-0123456789abcdef").decode()
COUNT = 10_000
SEED = 7


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "python"), env.get("PYTHONPATH")]))
    return env


def _committed(outbox: Path) -> int:
    """Revisions the outbox has committed so far (read beside the writer: WAL)."""
    if not outbox.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{outbox}?mode=ro", uri=True)) as db:
            return int(db.execute("SELECT COUNT(*) FROM revisions").fetchone()[0])
    except sqlite3.Error:
        return 0  # not created yet


@pytest.mark.timeout(600)
def test_sigkill_mid_burst_loses_no_event(tmp_path: Path) -> None:
    with receiver([SECRET]) as rx:
        config = tmp_path / "load.yaml"
        config.write_text(
            f"""
privacy: {{legal_profile: lab}}
cameras: [{{id: unused, url: unused.mp4}}]
state_dir: {json.dumps(str(tmp_path / "state"))}
outbox: {{drain_s: 300}}
sinks:
  jsonl: {{path: {json.dumps(str(tmp_path / "events.jsonl"))}, fsync: false}}
  webhooks:
    - {{name: rx, url: "{rx.url}", secrets: ["{SECRET}"], allow_private: true}}
"""
        )
        command = [
            sys.executable, "-m", "vsa_stream.cli.loadgen", str(config),
            "--count", str(COUNT), "--seed", str(SEED), "--rate", "2000",
        ]  # fmt: skip
        started = time.monotonic()
        first = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL)
        # Kill it mid-burst: once 1,000 alerts were delivered or half were committed, whichever
        # comes first (the injection lasts 5 s and is never over by then; a backlog is waiting).
        outbox = tmp_path / "state" / "outbox.sqlite3"
        while len(rx.snapshot()) < 1000 and _committed(outbox) < COUNT // 2:
            assert first.poll() is None, "the load generator ended early"
            assert time.monotonic() - started < 300, "the first run made no progress"
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert first.returncode == -signal.SIGKILL
        before_restart = len(rx.snapshot())

        second = subprocess.run(command, env=_env(), capture_output=True, timeout=600)
        assert second.returncode == 0, second.stderr.decode()[-3000:]
        summary = json.loads(second.stdout)
        elapsed = time.monotonic() - started

    # The kill came mid-burst: the first run had committed part of the events, not all.
    assert 0 < summary["already_in_outbox"] < COUNT
    assert summary["injected"] == COUNT - summary["already_in_outbox"]
    assert summary["undelivered"] == 0

    deliveries = rx.snapshot()
    assert all(d.valid for d in deliveries), "every request carries a valid signature"
    expected = {synthetic_event(SEED, i).id for i in range(COUNT)}
    webhook_ids: dict[str, set[str]] = defaultdict(set)
    for d in deliveries:
        webhook_ids[str(d.event["id"])].add(d.webhook_id)
    assert set(webhook_ids) == expected, "every event id reached the receiver"
    assert all(len(ids) == 1 for ids in webhook_ids.values()), "a duplicate has the same id"
    duplicates = len(deliveries) - COUNT

    # The ordered file sink got everything too, each revision at least once.
    lines = (tmp_path / "events.jsonl").read_bytes().splitlines()
    assert {json.loads(line)["id"] for line in lines if line.strip()} == expected

    print(
        f"\nSIGKILL test: {COUNT} events, killed after {before_restart} deliveries and "
        f"{summary['already_in_outbox']} commits; "
        f"restart injected {summary['injected']}; received {len(deliveries)} requests, "
        f"{len(webhook_ids)} distinct ids, {duplicates} duplicates; {elapsed:.1f} s in all"
    )
