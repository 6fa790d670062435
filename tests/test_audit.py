"""The audit log: hash chain, tamper detection, ``vsa-stream audit verify``."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from vsa_stream.audit import GENESIS, AuditLog, entry_hash, verify
from vsa_stream.cli import main


def _log(path: Path, n: int = 5) -> list[bytes]:
    log = AuditLog(path)
    log.append("daemon_start", {"config_sha256": "0" * 64})
    for i in range(n - 1):
        log.append("review", {"actor": "alice", "event_id": f"e{i}", "review": "confirmed"})
    return path.read_bytes().splitlines(keepends=True)


def test_entries_are_chained(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    lines = [json.loads(line) for line in _log(path)]
    assert lines[0]["prev"] == GENESIS
    for before, entry in itertools.pairwise(lines):
        assert entry["prev"] == before["hash"] == entry_hash(before)
    assert [e["seq"] for e in lines] == [1, 2, 3, 4, 5]
    assert (verify(path).ok, verify(path).entries) == (True, 5)


def test_reopening_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _log(path, 2)
    AuditLog(path).append("daemon_stop", {})
    assert (verify(path).ok, verify(path).entries) == (True, 3)


@pytest.mark.parametrize("line", [1, 3, 5])
def test_an_edited_entry_is_named(tmp_path: Path, line: int) -> None:
    path = tmp_path / "audit.jsonl"
    lines = _log(path)
    entry = json.loads(lines[line - 1])
    entry["data"]["review"] = "dismissed" if line > 1 else "x"
    entry["data"]["config_sha256"] = "f" * 64
    lines[line - 1] = json.dumps(entry).encode() + b"\n"
    path.write_bytes(b"".join(lines))
    result = verify(path)
    assert (result.ok, result.broken_line, result.entries) == (False, line, line - 1)
    assert "altered" in (result.reason or "")


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    lines = _log(path)
    entry = json.loads(lines[1])
    entry["data"]["actor"] = "mallory"
    entry["hash"] = entry_hash(entry)
    lines[1] = json.dumps(entry).encode() + b"\n"
    path.write_bytes(b"".join(lines))
    assert verify(path).broken_line == 3


def test_a_removed_entry_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    lines = _log(path)
    path.write_bytes(b"".join(lines[:2] + lines[3:]))
    result = verify(path)
    assert (result.ok, result.broken_line) == (False, 3)


def test_cli_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "audit.jsonl"
    lines = _log(path)
    assert main(["audit", "verify", str(path)]) == 0
    assert "ok (5 entries" in capsys.readouterr().out
    lines[3] = lines[3].replace(b"alice", b"bob")
    path.write_bytes(b"".join(lines))
    assert main(["audit", "verify", str(path)]) == 1
    assert "broken at line 4" in capsys.readouterr().err
    assert main(["audit", "verify", str(tmp_path / "missing.jsonl")]) == 1
