"""The audit log: hash chain, keyed chain, head anchors, failed authentications,
``vsa-stream audit verify``."""

from __future__ import annotations

import itertools
import json
import os
import time
from pathlib import Path

import pytest

from api_daemon import OPERATOR, api_config, make_event, running_daemon, still_clip
from vsa_stream.audit import (
    GENESIS,
    AuditHead,
    AuditLog,
    entry_hash,
    parse_head,
    verify,
)
from vsa_stream.cli import main
from vsa_stream.daemon import Daemon
from vsa_stream.errors import ConfigError
from vsa_stream.outbox import Outbox
from vsa_stream.sinks import build_sinks

KEY = b"0123456789abcdef0123456789abcdef0123456789abcdef"


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
    assert main(["audit", "verify", str(path)]) == 3
    assert "entry_hash failed at line 4" in capsys.readouterr().err
    assert main(["audit", "verify", str(tmp_path / "missing.jsonl")]) == 1


# --- the keyed chain -------------------------------------------------------------------------


def _keyed(path: Path, n: int = 5, **kwargs: object) -> list[dict[str, object]]:
    log = AuditLog(path, key=KEY, **kwargs)  # type: ignore[arg-type]
    log.append("daemon_start", {"config_sha256": "0" * 64})
    for i in range(n - 1):
        log.append("review", {"actor": "alice", "event_id": f"e{i}", "review": "confirmed"})
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def _write(path: Path, entries: list[dict[str, object]]) -> None:
    path.write_bytes(b"".join(json.dumps(e).encode() + b"\n" for e in entries))


def _rechain(entries: list[dict[str, object]], start: int) -> None:
    """What an attacker without the key can do: recompute every hash and link from ``start``."""
    prev = entries[start - 1]["hash"] if start else GENESIS
    for entry in entries[start:]:
        entry["prev"] = prev
        entry["hash"] = prev = entry_hash(entry)


def _key_file(tmp_path: Path, mode: int = 0o600) -> Path:
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o700, exist_ok=True)
    key = folder / "audit.key"
    key.write_bytes(KEY + b"\n")
    os.chmod(key, mode)
    return key


def test_an_edit_with_the_plain_chain_recomputed_is_caught_by_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "audit.jsonl"
    entries = _keyed(path)
    assert verify(path, key=KEY).ok
    assert verify(path, key=KEY).keyed == 5
    entries[1]["data"] = {"actor": "mallory", "event_id": "e0", "review": "dismissed"}
    _rechain(entries, 1)
    _write(path, entries)
    plain = verify(path)  # every hash and link holds: only the key can tell
    assert (plain.failure, plain.broken_line) == ("key_missing", None)
    keyed = verify(path, key=KEY)
    assert (keyed.failure, keyed.broken_line, keyed.entries) == ("mac", 2, 1)
    key = _key_file(tmp_path)
    assert main(["audit", "verify", str(path), "--key-file", str(key)]) == 4
    assert "mac failed at line 2" in capsys.readouterr().err
    assert main(["audit", "verify", str(path)]) == 7
    assert "key_missing" in capsys.readouterr().err


def test_another_key_and_stripped_macs_are_caught(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    box = Outbox(tmp_path / "outbox.sqlite3")
    try:
        entries = _keyed(path, on_head=box.set_audit_head)
        other = verify(path, key=b"x" * 32)
        assert (other.failure, other.broken_line) == ("mac", 1)
        tail = [dict(e) for e in entries]
        for entry in tail[2:]:  # MACs stripped after keyed entries
            del entry["mac"], entry["kid"]
        _rechain(tail, 2)
        _write(path, tail)
        assert (verify(path, key=KEY).failure, verify(path, key=KEY).broken_line) == ("mac", 3)
        bare = [{k: v for k, v in e.items() if k != "mac"} for e in entries]
        _write(path, bare)  # MACs removed, hashes untouched (they do not cover the MAC)
        assert (verify(path, key=KEY).failure, verify(path, key=KEY).broken_line) == ("mac", 1)
        for entry in entries:  # every MAC and key id stripped, the whole chain recomputed
            del entry["mac"], entry["kid"]
        _rechain(entries, 0)
        _write(path, entries)
        assert verify(path).ok  # a valid plain chain, as an old unkeyed log is
        stripped = verify(path, key=KEY)
        assert (stripped.failure, stripped.unkeyed) == ("mac", 5)
        anchored = verify(path, key=KEY, head=box.audit_head())
        assert anchored.failure == "anchor"
    finally:
        box.close()


def test_an_unkeyed_log_goes_on_keyed_and_verifies(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _log(path, 2)
    AuditLog(path, key=KEY).append("daemon_start", {})
    result = verify(path, key=KEY)
    assert (result.ok, result.unkeyed, result.keyed) == (True, 2, 1)


# --- the head anchored outside the file -------------------------------------------------------


def test_a_truncated_log_is_caught_by_its_anchor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, db = tmp_path / "audit.jsonl", tmp_path / "outbox.sqlite3"
    box = Outbox(db)
    try:
        _keyed(path, on_head=box.set_audit_head)
        head = box.audit_head()
        assert head is not None
        assert head.seq == 5
        lines = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(b"".join(lines[:3]))
        assert verify(path, key=KEY).ok  # the chain alone cannot tell
        cut = verify(path, key=KEY, head=head)
        assert (cut.failure, cut.broken_line) == ("anchor", None)
        assert "2 entries cut off" in (cut.reason or "")
        forged = AuditHead(3, json.loads(lines[2])["hash"], "0" * 64)  # an anchor rewritten
        assert verify(path, key=KEY, head=forged).failure == "anchor"
    finally:
        box.close()
    key = _key_file(tmp_path)
    args = ["audit", "verify", str(path), "--key-file", str(key), "--outbox", str(db)]
    assert main(args) == 6
    assert "anchor failed at the end" in capsys.readouterr().err
    # The next start finds the file behind its anchor and says so in the log itself: the loss
    # stays visible after the anchor has moved on.
    box = Outbox(db)
    try:
        log = AuditLog(path, key=KEY, on_head=box.set_audit_head)
        written = log.check_anchor(box.audit_head())
        assert written is not None
        assert written["data"]["anchor_seq"] == 5
        log.append("daemon_start", {})
        later = verify(path, key=KEY, head=box.audit_head())
        assert (later.failure, later.broken_line) == ("anchor", 4)
        assert "entries 4..5 were cut off" in (later.reason or "")
    finally:
        box.close()


def test_a_checkpoint_reason_is_a_head(tmp_path: Path) -> None:
    head = AuditHead(7, "a" * 64, "b" * 64)
    assert parse_head(f"audit head seq=7 hash={'a' * 64} mac={'b' * 64}") == head
    assert parse_head(f"7:{'a' * 64}:{'b' * 64}") == head
    assert parse_head(f"7:{'a' * 64}") == AuditHead(7, "a" * 64, None)
    with pytest.raises(ValueError, match="SEQ:HASH"):
        parse_head("seven")


# --- failed authentications ------------------------------------------------------------------


def test_failed_authentications_make_one_entry_per_address_per_minute(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, key=KEY)
    t = 1_800_000_000.0
    assert log.auth_failed("10.0.0.7", "/api/events", now=t)
    assert not any(log.auth_failed("10.0.0.7", "/api/events", now=t + i) for i in range(1, 10))
    assert log.auth_failed("10.0.0.8", "/metrics", now=t + 5)  # another address: its own entry
    assert log.flush_auth_failures(now=t + 30) == 0  # within the minute: still counting
    assert log.auth_failed("10.0.0.7", "/api/me", now=t + 61)  # 9 counted, and this one
    assert not log.auth_failed("10.0.0.7", "/api/me", now=t + 70)
    assert log.flush_auth_failures(now=t + 125) == 1  # the last one, once its minute passed
    found = [json.loads(line)["data"] for line in path.read_bytes().splitlines()]
    assert [(d["address"], d["failures"]) for d in found] == [
        ("10.0.0.7", 1),
        ("10.0.0.8", 1),
        ("10.0.0.7", 10),
        ("10.0.0.7", 1),
    ]
    assert found[2]["paths"] == ["/api/events", "/api/me"]
    assert verify(path, key=KEY).ok


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return still_clip(tmp_path_factory.mktemp("clip") / "still.mp4")


def test_failed_logins_through_the_api_are_audited_without_the_token(
    tmp_path: Path, clip: Path
) -> None:
    wrong = "not-the-operator-token-at-all"
    cfg = api_config(tmp_path, clip)
    with running_daemon(cfg) as run:
        with run.client(wrong) as http:
            assert [http.get("/api/events").status_code for _ in range(5)] == [401] * 5
        with run.client(None) as anonymous:  # no credential offered: nothing to audit
            assert anonymous.get("/api/events").status_code == 401
        with run.client(OPERATOR) as http:
            assert http.get("/api/events").status_code == 200
    text = (tmp_path / "audit.jsonl").read_text()
    failed = [e["data"] for e in map(json.loads, text.splitlines()) if e["kind"] == "auth_failed"]
    # the first at once, the four others counted and written at stop
    assert [(d["address"], d["failures"]) for d in failed] == [("127.0.0.1", 1), ("127.0.0.1", 4)]
    assert wrong not in text
    assert OPERATOR not in text


# --- the key's configuration -----------------------------------------------------------------


def test_a_key_file_in_the_state_folder_or_open_to_others_is_refused(
    tmp_path: Path, clip: Path
) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    inside = state / "audit.key"
    inside.write_bytes(KEY)
    os.chmod(inside, 0o600)
    with pytest.raises(ConfigError, match="outside state_dir") as refused:
        api_config(state, clip, extra=f"audit: {{key_file: {json.dumps(str(inside))}}}")
    assert refused.value.path == "audit.key_file"
    key = _key_file(tmp_path, 0o640)
    with pytest.raises(ConfigError, match="open to other users") as refused:
        api_config(state, clip, extra=f"audit: {{key_file: {json.dumps(str(key))}}}")
    assert refused.value.path == "audit.key_file"
    os.chmod(key, 0o600)
    cfg = api_config(state, clip, extra=f"audit: {{key_file: {json.dumps(str(key))}}}")
    assert cfg.audit.key_file == str(key)
    key.write_bytes(b"short")
    box = Outbox(cfg.outbox_path())
    try:
        with pytest.raises(ConfigError, match="at least 32") as refused:
            Daemon(cfg, [], box)
        assert refused.value.path == "audit.key_file"
    finally:
        box.close()


def test_an_unset_key_variable_is_refused_at_start(
    tmp_path: Path, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VSA_TEST_AUDIT_KEY", raising=False)
    cfg = api_config(tmp_path, clip, extra="audit: {key_env: VSA_TEST_AUDIT_KEY}")
    box = Outbox(cfg.outbox_path())
    try:
        with pytest.raises(ConfigError, match="VSA_TEST_AUDIT_KEY is not set") as refused:
            Daemon(cfg, [], box)
        assert refused.value.path == "audit.key_env"
    finally:
        box.close()


# --- checkpoints to the sinks ----------------------------------------------------------------


@pytest.mark.anyio
async def test_checkpoints_reach_a_jsonl_sink_and_anchor_the_log(
    tmp_path: Path, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VSA_TEST_AUDIT_KEY", KEY.decode())
    state, events = tmp_path / "state", tmp_path / "out" / "events.jsonl"
    extra = (
        f"sinks: {{jsonl: {{path: {json.dumps(str(events))}}}}}\n"
        "audit: {key_env: VSA_TEST_AUDIT_KEY}"
    )
    cfg = api_config(state, clip, extra=extra, camera="    realtime: false")
    for _ in range(2):  # two runs: one checkpoint event each, opened and closed
        box = Outbox(cfg.outbox_path())
        try:
            daemon = Daemon(cfg, build_sinks(cfg.sinks), box, source="test")
            result = await daemon.run(handle_signals=False)
            assert result.undelivered == 0
            assert box.list_events() == []  # not an alert: operators do not see it
            assert len(box.list_events(type="audit_checkpoint")) >= 1
        finally:
            box.close()
    revisions = [json.loads(line) for line in events.read_text().splitlines()]
    checkpoints = [r for r in revisions if r["type"] == "audit_checkpoint"]
    assert [r["type"] for r in revisions] == ["audit_checkpoint"] * len(revisions)
    runs = [
        [r for r in checkpoints if r["id"] == i]
        for i in dict.fromkeys(r["id"] for r in checkpoints)
    ]
    assert len(runs) == 2  # one event per run, revised as the head moves, closed at stop
    for revisions_of_run in runs:
        assert [r["revision"] for r in revisions_of_run] == list(
            range(1, len(revisions_of_run) + 1)
        )
        assert revisions_of_run[-1]["state"] == "closed"
    assert {r["camera_id"] for r in checkpoints} == {"_audit"}
    path = state / "audit.jsonl"
    last = parse_head(checkpoints[-1]["reason"])
    assert last.mac is not None
    assert verify(path, key=KEY, head=last).ok
    # Cut the log back to before the last checkpoint (and its outbox anchor with it): the
    # sink's copy of the head still tells.
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[: last.seq - 1]))
    assert verify(path, key=KEY, head=last).failure == "anchor"
    assert verify(path, key=KEY).ok
    reason = checkpoints[-1]["reason"]
    args = ["audit", "verify", str(path), "--key-env", "VSA_TEST_AUDIT_KEY", "--head", reason]
    assert main(args) == 6


def test_cli_verify_takes_log_key_and_anchor_from_the_config(
    tmp_path: Path, clip: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, key = tmp_path / "state", _key_file(tmp_path)
    cfg = tmp_path / "vsa.yaml"
    cfg.write_text(
        f"privacy: {{legal_profile: lab}}\ncameras: [{{id: cam, url: {json.dumps(str(clip))}}}]\n"
        f"state_dir: {json.dumps(str(state))}\n"
        f"audit: {{key_file: {json.dumps(str(key))}}}\n"
    )
    box = Outbox(state / "outbox.sqlite3")
    try:
        _keyed(state / "audit.jsonl", on_head=box.set_audit_head)
    finally:
        box.close()
    assert main(["audit", "verify", "--config", str(cfg)]) == 0
    assert "5 keyed, anchored at seq 5" in capsys.readouterr().out
    lines = (state / "audit.jsonl").read_bytes().splitlines(keepends=True)
    (state / "audit.jsonl").write_bytes(b"".join(lines[:-1]))
    assert main(["audit", "verify", "--config", str(cfg)]) == 6
    assert "1 entries cut off (truncated)" in capsys.readouterr().err


def test_checkpoints_reach_the_daemons_sinks_but_not_the_operator(
    tmp_path: Path, clip: Path
) -> None:
    cfg = api_config(tmp_path, clip)
    with running_daemon(cfg) as run, run.client(OPERATOR) as http:
        for _ in range(200):  # the first checkpoint follows the start entry
            if run.sink.checkpoints:
                break
            time.sleep(0.05)
        assert http.get("/api/events").json()["events"] == []
        listed = http.get("/api/events", params={"type": "audit_checkpoint"}).json()["events"]
        assert [e["state"] for e in listed] == ["open"]
    assert [c.state for c in run.sink.checkpoints][-1] == "closed"
    assert parse_head(run.sink.checkpoints[-1].reason or "").mac is None  # unkeyed
    assert verify(
        tmp_path / "audit.jsonl", head=parse_head(run.sink.checkpoints[-1].reason or "")
    ).ok


def test_a_webhook_may_ask_for_checkpoints_by_type(tmp_path: Path, clip: Path) -> None:
    extra = """sinks:
  webhooks:
    - name: siem
      url: https://siem.example.com/hook
      secrets: ["whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]
      types: [audit_checkpoint, intrusion]
"""
    cfg = api_config(tmp_path, clip, extra=extra)
    assert cfg.sinks.webhooks[0].types == ["audit_checkpoint", "intrusion"]


def test_a_moved_head_is_checkpointed_again_while_running(tmp_path: Path, clip: Path) -> None:
    cfg = api_config(tmp_path, clip, extra="audit: {checkpoint_every_s: 10}")
    with running_daemon(cfg) as run, run.client(OPERATOR) as http:
        event = make_event()
        run.inject(event)
        for _ in range(200):  # the start checkpoint (a hang guard, not a timing)
            if run.sink.checkpoints:
                break
            time.sleep(0.05)
        assert http.post(f"/api/events/{event.id}/review", json={"review": "confirmed"}).is_success
        review_seq = 2  # daemon_start, then the review
        for _ in range(600):  # the next period's checkpoint carries the review's entry
            if any(c.state == "updated" for c in run.sink.checkpoints):
                break
            time.sleep(0.05)
    states = [c.state for c in run.sink.checkpoints]
    assert states == ["open", "updated", "closed"]
    updated = parse_head(run.sink.checkpoints[1].reason or "")
    assert updated.seq == review_seq
    assert len({c.id for c in run.sink.checkpoints}) == 1
