"""Signed webhooks against a real HTTP receiver on loopback; the verify command; the example."""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import anyio
import httpx
import msgspec
import pytest

from receiver import Delivery as Received
from receiver import receiver
from sample_events import make_event
from vsa_stream import config
from vsa_stream.cli import main
from vsa_stream.errors import ConfigError
from vsa_stream.events import Event
from vsa_stream.metrics import Metrics
from vsa_stream.outbox import Outbox
from vsa_stream.sinks import DeliveryError
from vsa_stream.sinks.delivery import Delivery
from vsa_stream.sinks.webhook import WebhookSink
from vsa_stream.synth import Truth
from vsa_stream.webhook_signature import SignatureError, sign, verify
from webhook_endpoint import OLD_SECRET, SECRET, endpoint

ROOT = Path(__file__).resolve().parents[2]


async def deliver(
    sink: WebhookSink,
    events: Sequence[Event],
    *,
    box: Outbox | None = None,
    until: Callable[[], bool] | None = None,
) -> Delivery:
    """Run a delivery of ``events``; stop once ``until()`` holds (when given) and first attempts
    are done."""

    delivery = Delivery(box or Outbox(), [sink], Metrics(), drain_s=30)
    async with anyio.create_task_group() as tg:
        tg.start_soon(delivery.run)
        await delivery.accept(events)
        with anyio.fail_after(60):
            # Polls state the engine's threads update (no event to await); fail_after bounds it.
            while until is not None and not until():  # noqa: ASYNC110
                await anyio.sleep(0.05)
        delivery.finish()
    await sink.aclose()
    return delivery


@pytest.mark.anyio
async def test_each_revision_is_posted_signed_with_a_stable_id() -> None:
    events = [make_event(), make_event(kind="fire")]
    with receiver([SECRET]) as rx:
        await deliver(WebhookSink(endpoint(rx.url)), events)
        got = rx.snapshot()
    assert sorted(d.webhook_id for d in got) == sorted(f"{e.id}-1" for e in events)
    assert all(d.valid for d in got)
    body = msgspec.json.decode(got[0].body)
    assert body["type"] in ("event.intrusion", "event.fire")
    assert body["data"]["revision"] == 1
    assert body["timestamp"].endswith("Z")
    assert abs(int(got[0].timestamp) - time.time()) < 3600


@pytest.mark.anyio
async def test_a_failed_revision_is_retried_with_the_same_id_and_a_fresh_signature() -> None:
    seen: set[str] = set()

    def fail_first(d: Received) -> tuple[int, dict[str, str]]:
        if d.webhook_id not in seen:
            seen.add(d.webhook_id)
            return 500, {}
        return 200, {}

    events = [make_event() for _ in range(3)]
    with receiver([SECRET], fail_first) as rx:
        sink = WebhookSink(endpoint(rx.url, retry_schedule_s=[0, 0, 0]))
        delivery = await deliver(sink, events, until=lambda: len(rx.snapshot()) == 6)
        box = delivery.outbox
        got = rx.snapshot()
    assert all(d.valid for d in got)
    for event in events:
        assert [d.status for d in got if d.webhook_id == f"{event.id}-1"] == [500, 200]
    assert delivery.failures == 3
    assert box.retries("webhook:rx") == []


@pytest.mark.anyio
async def test_retry_after_is_honoured_on_429() -> None:
    with receiver([SECRET], lambda d: (429, {"retry-after": "3600"})) as rx:
        before = time.time()
        delivery = await deliver(
            WebhookSink(endpoint(rx.url, retry_schedule_s=[0, 1])), [make_event()]
        )
        assert len(rx.snapshot()) == 1
    (retry,) = delivery.outbox.retries("webhook:rx")
    assert retry.attempts == 1
    assert retry.due_at >= before + 3600  # not the 1 s of the schedule


@pytest.mark.anyio
async def test_the_last_failed_attempt_gives_up_and_keeps_the_revision_as_dead() -> None:
    with receiver([SECRET], lambda d: (500, {})) as rx:
        box = Outbox()
        sink = endpoint(rx.url, retry_schedule_s=[0, 0])
        await deliver(
            WebhookSink(sink),
            [make_event()],
            box=box,
            until=lambda: bool(box.retries("webhook:rx", dead=True)),
        )
        assert len(rx.snapshot()) == 2
    assert box.retries("webhook:rx") == []
    assert [r.attempts for r in box.retries("webhook:rx", dead=True)] == [2]


@pytest.mark.anyio
async def test_dead_letters_are_listed_counted_and_redriven(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "outbox.sqlite3"
    events = [make_event(), make_event(kind="fire")]
    with receiver([SECRET], lambda d: (500, {})) as rx:
        box = Outbox(path)
        delivery = await deliver(
            WebhookSink(endpoint(rx.url, retry_schedule_s=[0, 0])),
            events,
            box=box,
            until=lambda: len(box.retries("webhook:rx", dead=True)) == 2,
        )
        metrics = delivery.metrics.exposition().decode()
        assert 'vsa_delivery_dead{sink="webhook:rx"} 2.0' in metrics
        assert delivery.undelivered() == 2  # the stop record counts dead letters
        box.close()
    assert main(["outbox", "dead", "--outbox", str(path)]) == 0
    out = capsys.readouterr()
    listed = sorted(line.split("\t")[1] for line in out.out.splitlines())
    assert listed == sorted(f"{e.id}-1" for e in events)
    assert "2 dead letters" in out.err
    assert "500" in out.out  # the last error says why
    assert main(["outbox", "dead", "--outbox", str(path), "--sink", "webhook:other"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["outbox", "redrive", "--outbox", str(path)]) == 0
    assert "2 dead letters re-queued" in capsys.readouterr().out
    with receiver([SECRET]) as rx2:  # the receiver is fixed: the next run delivers them
        box = Outbox(path)
        await deliver(
            WebhookSink(endpoint(rx2.url)),
            [],
            box=box,
            until=lambda: not box.retries("webhook:rx"),
        )
        assert sorted(d.webhook_id for d in rx2.snapshot()) == sorted(f"{e.id}-1" for e in events)
    assert box.dead_letters() == []


@pytest.mark.anyio
async def test_waiting_retries_and_a_disabled_sink_count_as_undelivered() -> None:
    with receiver([SECRET], lambda d: (503, {})) as rx:
        delivery = await deliver(
            WebhookSink(endpoint(rx.url, retry_schedule_s=[0, 3600])), [make_event()]
        )
    assert delivery.undelivered() == 1  # waiting an hour for its retry: not delivered
    with receiver([SECRET], lambda d: (410, {})) as rx:
        delivery = await deliver(
            WebhookSink(endpoint(rx.url, concurrency=1)), [make_event(), make_event()]
        )
    assert delivery.undelivered() == 2  # the receiver is gone: nothing reached it


@pytest.mark.anyio
async def test_410_disables_the_endpoint_until_its_url_changes(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    with receiver([SECRET], lambda d: (410, {})) as rx:
        box = Outbox(path)
        delivery = await deliver(
            WebhookSink(endpoint(rx.url, concurrency=1)), [make_event()], box=box
        )
        await deliver(WebhookSink(endpoint(rx.url)), [make_event()], box=box)
        assert len(rx.snapshot()) == 1  # disabled: the second run sent nothing
        box.close()
    assert 'vsa_delivery_disabled{sink="webhook:rx"} 1.0' in delivery.metrics.exposition().decode()
    box = Outbox(path)
    assert box.cursor("webhook:rx", endpoint(rx.url).url).disabled_reason is not None
    with receiver([SECRET]) as rx2:  # the operator points it elsewhere: enabled again
        await deliver(WebhookSink(endpoint(rx2.url)), [], box=box)
        assert len(rx2.snapshot()) == 2  # what was held back is delivered


@pytest.mark.anyio
async def test_type_filter_and_rotation_with_two_secrets() -> None:
    events = [make_event(kind="intrusion"), make_event(kind="fire"), make_event(kind="fire")]
    with receiver([OLD_SECRET]) as rx:
        await deliver(
            WebhookSink(endpoint(rx.url, types=["fire"], secrets=[SECRET, OLD_SECRET])), events
        )
        got = rx.snapshot()
    assert sorted(d.event["id"] for d in got) == sorted(e.id for e in events[1:])  # type: ignore[type-var]
    for d in got:
        assert d.valid  # the receiver knows only the old secret
        assert len(d.signature.split()) == 2
        verify([SECRET], d.webhook_id, d.timestamp, d.signature, d.body)


@pytest.mark.anyio
async def test_ssrf_guard_refuses_a_name_resolving_to_loopback() -> None:
    with receiver([SECRET]) as rx:
        port = rx.url.split(":")[2].split("/")[0]
        sink = WebhookSink(endpoint(f"http://localhost:{port}/hook", allow_private=False))

        async def main() -> None:
            with pytest.raises(DeliveryError, match="private, loopback or link-local"):
                await sink.send(make_event())
            await sink.aclose()

        await main()
        assert rx.snapshot() == []


def test_config_refuses_private_urls_and_bad_secrets_naming_the_field() -> None:
    base = (
        "privacy: {legal_profile: lab}\ncameras: [{id: c, url: v.mp4}]\nsinks:\n  webhooks:\n    - "
    )
    with pytest.raises(ConfigError) as err:
        config.loads(base + f"{{name: a, url: 'http://10.1.2.3/x', secrets: [{SECRET}]}}")
    assert err.value.path == "sinks.webhooks[0].url"
    assert "allow_private" in str(err.value)
    with pytest.raises(ConfigError) as err:
        config.loads(base + "{name: a, url: 'https://example.org/x', secrets: [whsec_abc]}")
    assert err.value.path == "sinks.webhooks[0].secrets[0]"
    with pytest.raises(ConfigError) as err:
        config.loads(base + "{name: a, url: 'https://example.org/x', secrets: nope-secret}")
    assert err.value.path == "sinks.webhooks[0].secrets"
    assert "nope-secret" not in str(err.value)  # a secret never reaches a message
    with pytest.raises(ConfigError) as err:
        config.loads(
            base + f"{{name: a, url: 'https://example.org/', secrets: [{SECRET}], types: [face]}}"
        )
    assert err.value.path == "sinks.webhooks[0].types[0]"
    assert "intrusion" in str(err.value)
    # every event type the engine emits can be named, the storm summary included
    storms = config.loads(
        base + f"{{name: a, url: 'https://example.org/', secrets: [{SECRET}], "
        "types: [alert_storm, camera_offline, camera_online]}"
    )
    assert storms.sinks.webhooks[0].types == ["alert_storm", "camera_offline", "camera_online"]
    ok = config.loads(
        base + f"{{name: a, url: 'http://127.0.0.1:9/x', secrets: [{SECRET}], allow_private: true}}"
    )
    assert ok.sinks.webhooks[0].retry_schedule_s == [0, 5, 300, 1800, 7200, 18000, 36000, 36000]


def test_verify_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = tmp_path / "body.json"
    body.write_bytes(b'{"type":"event.fire"}')
    now = int(time.time())
    signature = sign([SECRET], "e-1", now, body.read_bytes())
    args = ["webhook", "verify", "--secret", SECRET, "--id", "e-1", "--timestamp", str(now)]
    assert main([*args, "--signature", signature, str(body)]) == 0
    assert "valid" in capsys.readouterr().out
    body.write_bytes(b'{"type":"event.FIRE"}')
    assert main([*args, "--signature", signature, str(body)]) == 1
    assert "no signature matches" in capsys.readouterr().err
    old = now - 3600
    stale = sign([SECRET], "e-1", old, body.read_bytes())
    headers = tmp_path / "headers.txt"
    headers.write_text(
        f"HTTP/1.1 200 OK\r\nWebhook-Id: e-1\r\nWebhook-Timestamp: {old}\r\n"
        f"Webhook-Signature: {stale}\r\n\r\n"
    )
    assert (
        main(["webhook", "verify", "--secret", SECRET, "--headers", str(headers), str(body)]) == 1
    )
    assert "s old" in capsys.readouterr().err
    with pytest.raises(SignatureError):
        verify([SECRET], "e-1", str(old), stale, body.read_bytes())
    verify([SECRET], "e-1", str(old), stale, body.read_bytes(), now=old + 10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def example_receiver() -> Iterator[tuple[str, list[str]]]:
    """``examples/webhook_receiver.py`` on a free loopback port: (its URL, and once it has
    stopped, its standard output and standard error)."""
    port = _free_port()
    env = dict(os.environ, WEBHOOK_SECRET=SECRET)
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "webhook_receiver.py"), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/"
    output: list[str] = []
    try:
        for _ in range(200):
            try:
                httpx.get(url)
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        yield url, output
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
        output += [out.decode(), err.decode()]


@pytest.mark.anyio
async def test_example_receiver_accepts_signed_and_refuses_forged_webhooks() -> None:
    with example_receiver() as (url, output):
        event = make_event()
        await deliver(WebhookSink(endpoint(url)), [event])
        async with httpx.AsyncClient() as client:
            forged = await client.post(
                url,
                content=b"{}",
                headers={
                    "webhook-id": "x",
                    "webhook-timestamp": str(int(time.time())),
                    "webhook-signature": "v1,AAAA",
                },
            )
        assert forged.status_code == 401
    out, err = output
    assert f"{event.id}-1" in out, err
    assert "refused" in err


def test_example_receiver_prints_each_alert_once_under_concurrent_deliveries() -> None:
    """64 deliveries at once, each of 16 revisions sent 4 times (at-least-once delivery):
    16 whole lines, one per revision."""
    events = [make_event() for _ in range(16)]
    barrier = threading.Barrier(64)

    def post(url: str, index: int) -> int:
        event = events[index % 16]
        body = msgspec.json.encode({"type": f"event.{event.type}", "data": event})
        msg_id = f"{event.id}-1"
        now = int(time.time())
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(now),
            "webhook-signature": sign([SECRET], msg_id, now, body),
        }
        barrier.wait(timeout=30)
        return httpx.post(url, content=body, headers=headers, timeout=30).status_code

    with example_receiver() as (url, output), concurrent.futures.ThreadPoolExecutor(64) as pool:
        codes = list(pool.map(functools.partial(post, url), range(64)))
    out, err = output
    assert codes == [204] * 64, err
    assert sorted(out.splitlines()) == sorted(f"{e.id}-1 {e.type} {e.camera_id}" for e in events)


def test_daemon_delivers_camera_alerts_as_signed_webhooks_through_its_outbox(
    small_intruder: tuple[Path, Truth], tmp_path: Path
) -> None:
    video, _ = small_intruder
    zone = "[[0.63, 0.56], [0.94, 0.53], [0.96, 0.93], [0.60, 0.95]]"
    with receiver([SECRET]) as rx:
        cfg = tmp_path / "daemon.yaml"
        cfg.write_text(
            f"""
privacy: {{legal_profile: lab}}
cameras:
  - id: gate
    url: {json.dumps(str(video))}
    realtime: false
    zones: [{{id: restricted, polygon: {zone}}}]
    rules: [{{type: intrusion, zones: [restricted]}}]
state_dir: state
sinks:
  webhooks:
    - name: ops
      url: {rx.url}
      secrets: ["${{HOOK_SECRET}}"]
      types: [intrusion]
      allow_private: true
"""
        )
        env = dict(os.environ, HOOK_SECRET=SECRET)
        done = subprocess.run(
            [sys.executable, "-m", "vsa_stream", "run", str(cfg)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        got = rx.snapshot()
    assert [(d.event["camera_id"], d.event["state"]) for d in got] == [
        ("gate", "open"),
        ("gate", "closed"),
    ]
    assert all(d.valid for d in got)
    assert len({d.event["id"] for d in got}) == 1
    assert [d.webhook_id.rsplit("-", 1)[1] for d in got] == ["1", "2"]
    # The daemon's outbox holds the event, delivered: the cursor is at the head.
    box = Outbox(tmp_path / "state" / "outbox.sqlite3")
    (event,) = box.list_events()
    assert (event.state, event.revision) == ("closed", 2)
    assert box.cursor("webhook:ops", rx.url).seq == box.head  # audit checkpoints filtered out
    box.close()
