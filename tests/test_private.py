"""State files are private to the daemon's user whatever the umask, and a state folder open to
other users is refused at start."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from api_daemon import api_config
from vsa_stream.daemon import Daemon
from vsa_stream.outbox import Outbox
from vsa_stream.sinks import build_sinks
from vsa_stream.synth import Truth

ROOT = Path(__file__).resolve().parent.parent
ZONE = "[[0.63, 0.56], [0.94, 0.53], [0.96, 0.93], [0.60, 0.95]]"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The loosest umask: files would be world-readable unless the daemon says otherwise."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("open_umask")
@pytest.mark.anyio
async def test_state_files_are_private_whatever_the_umask(
    small_intruder: tuple[Path, Truth], tmp_path: Path
) -> None:
    video, _ = small_intruder
    state = tmp_path / "deep" / "state"
    events = tmp_path / "out" / "events.jsonl"
    extra = (
        "privacy: {legal_profile: lab, snapshots: true}\n"
        f"sinks: {{jsonl: {{path: {json.dumps(str(events))}}}}}"
    )
    rules = "    realtime: false\n    rules: [{type: intrusion, zones: [gate]}]"
    cfg = api_config(state, video, extra=extra, camera=rules, zone=ZONE)
    outbox = Outbox(cfg.outbox_path())
    try:
        daemon = Daemon(cfg, build_sinks(cfg.sinks), outbox, source="test")
        await daemon.run(handle_signals=False)
        wal = [Path(cfg.outbox_path() + suffix) for suffix in ("-wal", "-shm")]
        assert all(p.exists() for p in wal)  # WAL mode, checked while the outbox is open
        assert [mode(p) for p in wal] == [0o600, 0o600]
    finally:
        outbox.close()
    snapshots = sorted((state / "evidence" / "cam").iterdir())
    assert len(snapshots) == 2  # the alert's open and closed frames
    assert mode(state) == 0o700
    assert mode(state / "evidence") == mode(state / "evidence" / "cam") == 0o700
    assert mode(events.parent) == 0o700
    private = [state / "outbox.sqlite3", state / "audit.jsonl", events, *snapshots]
    assert {p.name: mode(p) for p in private} == {p.name: 0o600 for p in private}


def test_files_of_an_older_run_are_made_private(tmp_path: Path) -> None:
    """Files left readable by an earlier version are narrowed when the daemon opens them."""
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    for name in ("outbox.sqlite3", "audit.jsonl"):
        (state / name).touch()
        os.chmod(state / name, 0o644)
    outbox = Outbox(state / "outbox.sqlite3")
    outbox.close()
    from vsa_stream.audit import AuditLog

    AuditLog(state / "audit.jsonl")
    assert [mode(state / n) for n in ("outbox.sqlite3", "audit.jsonl")] == [0o600, 0o600]


def test_a_state_folder_open_to_others_is_refused_at_start(
    small_intruder: tuple[Path, Truth], tmp_path: Path
) -> None:
    video, _ = small_intruder
    state = tmp_path / "state"
    state.mkdir()
    os.chmod(state, 0o755)
    config = tmp_path / "daemon.yaml"
    config.write_text(
        "privacy: {legal_profile: lab}\n"
        f"cameras: [{{id: cam, url: {json.dumps(str(video))}, realtime: false}}]\n"
        f"state_dir: {json.dumps(str(state))}\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    proc = subprocess.run(
        [sys.executable, "-m", "vsa_stream", "run", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "state_dir" in proc.stderr
    assert "chmod 700" in proc.stderr
    assert list(state.iterdir()) == []  # nothing was written into it
    cfg = api_config(state, video)
    with pytest.raises(PermissionError, match="open to other users"):
        Daemon(cfg, [], Outbox(":memory:"), source="test")


@pytest.mark.anyio
async def test_a_device_given_as_an_output_keeps_its_mode() -> None:
    # `--out /dev/null` (or a jsonl sink on /dev/stdout) writes there; only files the engine
    # owns are made 0600: a /dev/null made 0600 refuses every other user of the machine
    # (apt's sandbox user among them).
    from vsa_stream.private import private_file, write_private
    from vsa_stream.sinks import JsonlSink

    before = stat.S_IMODE(os.stat(os.devnull).st_mode)
    try:
        sink = JsonlSink(os.devnull)
        await sink.aclose()
        private_file(os.devnull)
        write_private(os.devnull, b"")
        assert stat.S_IMODE(os.stat(os.devnull).st_mode) == before
    finally:
        if stat.S_IMODE(os.stat(os.devnull).st_mode) != before:
            os.chmod(os.devnull, before)  # put the machine back as it was
