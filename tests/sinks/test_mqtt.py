"""MQTT delivery against a real Mosquitto broker on a free loopback port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import msgspec
import pytest

from mosquitto import MOSQUITTO, Broker, Subscriber, free_port, run_engine_until
from sample_events import make_event
from tls_files import make_pki
from vsa_stream import config
from vsa_stream.metrics import Metrics
from vsa_stream.outbox import Outbox
from vsa_stream.sinks.base import DeliveryError
from vsa_stream.sinks.delivery import Delivery
from vsa_stream.sinks.mqtt import MqttSink
from vsa_stream.synth import Truth

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    if not Path(MOSQUITTO).exists():
        pytest.fail("mosquitto is not installed (Debian package mosquitto, .ci/apt-packages)")
    b = Broker(tmp_path)
    b.start()
    try:
        yield b
    finally:
        b.stop()


def mqtt_config(port: int, **fields: object) -> config.MqttSink:
    return msgspec.convert({"host": "127.0.0.1", "port": port, **fields}, config.MqttSink)


def event_ids(sub: Subscriber, topic: str = "vsa/cam/intrusion") -> list[str]:
    return [json.loads(p)["id"] for p in sub.payloads(topic)]


@pytest.mark.anyio
async def test_events_survive_a_broker_restart_in_order(broker: Broker) -> None:
    sub = Subscriber(broker.port)
    events = [make_event() for _ in range(10)]

    async def main() -> Delivery:
        sink = MqttSink(mqtt_config(broker.port, client_id="vsa-test"))
        delivery = Delivery(Outbox(), [sink], Metrics(), drain_s=60)
        async with anyio.create_task_group() as tg:
            tg.start_soon(delivery.run)
            await delivery.accept(events[:5])
            assert await anyio.to_thread.run_sync(
                lambda: sub.wait(lambda m: len(event_ids(sub)) >= 5)
            )
            await anyio.to_thread.run_sync(broker.stop)
            await delivery.accept(events[5:])  # accepted while the broker is away
            await anyio.sleep(1.5)  # the sink fails and retries meanwhile
            await anyio.to_thread.run_sync(broker.start)
            delivery.finish()
        await sink.aclose()
        return delivery

    try:
        delivery = await main()
        assert sub.wait(lambda m: set(event_ids(sub)) >= {e.id for e in events})
        # the sink's last word is its status going offline (it may arrive after the events)
        assert sub.wait(lambda m: sub.payloads("vsa/_engine/status")[-1:] == [b"offline"])
    finally:
        sub.close()
    received = event_ids(sub)
    first_seen = list(dict.fromkeys(received))
    assert first_seen == [e.id for e in events], "in order, duplicates aside"
    assert delivery.failures >= 1  # the outage was noticed and retried, not skipped


@pytest.mark.anyio
async def test_delivery_resumes_soon_after_a_long_outage(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    """After 20 s without a broker, delivery resumes within about a second of its return
    (it waited up to 30 s: paho's reconnection backoff and the ordered retry backoff both grew
    during the outage). The bound below is a hang guard with room for a loaded machine."""
    event = make_event()

    async def main() -> tuple[float, int]:
        sink = MqttSink(mqtt_config(broker.port, client_id="vsa-outage"))
        delivery = Delivery(Outbox(), [sink], Metrics(), drain_s=60)
        async with anyio.create_task_group() as tg:
            tg.start_soon(delivery.run)
            await anyio.to_thread.run_sync(broker.stop)
            await delivery.accept([event])
            await anyio.sleep(20)  # the sink keeps failing; backoffs grow
            assert delivery.undelivered() == 1
            await anyio.to_thread.run_sync(broker.start)
            back = time.monotonic()
            with anyio.fail_after(60):
                # Polls state the engine's threads update (no event to await); fail_after bounds it.
                while delivery.undelivered():  # noqa: ASYNC110
                    await anyio.sleep(0.05)
            resumed = time.monotonic() - back
            delivery.finish()
        await sink.aclose()
        return resumed, delivery.failures

    resumed, failures = await main()
    assert resumed < 5.0
    # every failure is counted, but a long outage is not a log line a second
    logged = capsys.readouterr().err.count('"delivery failed"')
    assert failures >= 15
    assert 4 <= logged <= 6  # attempts 1, 2, 3, 4, 8, 16


@pytest.mark.anyio
async def test_camera_status_is_retained_online_then_offline(
    broker: Broker, small_intruder: tuple[Path, Truth]
) -> None:
    video, _ = small_intruder
    cfg = config.loads(
        f"""
privacy: {{legal_profile: lab}}
cameras: [{{id: cam, url: {json.dumps(str(video))}, loop: true}}]
sinks:
  mqtt: {{host: 127.0.0.1, port: {broker.port}, client_id: vsa-engine}}
"""
    )
    sub = Subscriber(broker.port)

    try:
        assert await run_engine_until(cfg, sub, "vsa/cam/status", b"online")
        assert sub.wait(lambda m: sub.payloads("vsa/cam/status")[-1:] == [b"offline"])
    finally:
        sub.close()
    # A newcomer gets the retained statuses.
    late = Subscriber(broker.port, client_id="late")
    try:
        assert late.wait(lambda m: len(late.payloads("vsa/cam/status")) >= 1)
        assert late.wait(lambda m: len(late.payloads("vsa/_engine/status")) >= 1)
        assert late.payloads("vsa/cam/status") == [b"offline"]
        assert late.payloads("vsa/_engine/status") == [b"offline"]
        assert all(retain for t, _, retain in late.messages if t.endswith("/status"))
    finally:
        late.close()


def test_last_will_says_offline_when_the_daemon_is_killed(broker: Broker, tmp_path: Path) -> None:
    cfg = tmp_path / "mqtt.yaml"
    cfg.write_text(
        f"""
privacy: {{legal_profile: lab}}
cameras: [{{id: unused, url: unused.mp4}}]
state_dir: {json.dumps(str(tmp_path / "state"))}
sinks:
  mqtt: {{host: 127.0.0.1, port: {broker.port}, client_id: doomed}}
"""
    )
    sub = Subscriber(broker.port)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vsa_stream.cli.loadgen",
            str(cfg),
            "--count",
            "100000",
            "--rate",
            "5",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        assert sub.wait(lambda m: b"online" in sub.payloads("vsa/_engine/status"))
        assert sub.wait(lambda m: len(sub.payloads("vsa/loadgen/intrusion")) >= 2)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert sub.wait(lambda m: sub.payloads("vsa/_engine/status")[-1:] == [b"offline"])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sub.close()


@pytest.mark.anyio
async def test_tls_broker_trusted_through_ca_file_with_a_client_certificate(tmp_path: Path) -> None:
    """A broker with a certificate of a private CA that requires client certificates: the sink
    with ca_file and its certificate delivers; without ca_file it refuses the broker, without
    a certificate the broker refuses it (both seen in the broker's log)."""
    if not await anyio.Path(MOSQUITTO).exists():
        pytest.fail("mosquitto is not installed (Debian package mosquitto, .ci/apt-packages)")
    pki = make_pki(tmp_path / "pki")
    tls_port, log = free_port(), tmp_path / "broker.log"
    broker = Broker(
        tmp_path,
        f"listener {tls_port} 127.0.0.1\ncafile {pki.ca}\ncertfile {pki.server_cert}\n"
        f"keyfile {pki.server_key}\nrequire_certificate true\nlog_dest file {log}\n",
    )
    broker.start()
    sub = Subscriber(broker.port)  # on the plain listener
    tls: dict[str, object] = {"tls": True}
    mine: dict[str, object] = {"cert_file": str(pki.client_cert), "key_file": str(pki.client_key)}
    event = make_event()

    def logged(words: str) -> bool:  # a hang guard, not a timing: waits for the line
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if log.exists() and words in log.read_text():
                return True
            time.sleep(0.05)
        return False

    try:
        ca = str(pki.ca)
        good = MqttSink(mqtt_config(tls_port, **tls, client_id="good", ca_file=ca, **mine))
        untrusting = MqttSink(mqtt_config(tls_port, **tls, client_id="untrusting", **mine))
        anonymous = MqttSink(mqtt_config(tls_port, **tls, client_id="anonymous", ca_file=ca))
        delivery = Delivery(Outbox(), [good], Metrics(), drain_s=60)
        async with anyio.create_task_group() as tg:
            tg.start_soon(delivery.run)
            await delivery.accept([event])
            delivery.finish()
        refused = await anyio.to_thread.run_sync(logged, "tlsv1 alert unknown ca")
        no_cert = await anyio.to_thread.run_sync(logged, "peer did not return a certificate")
        for sink in (untrusting, anonymous):
            with pytest.raises(DeliveryError, match="not connected"):
                await sink.send(event)
        with anyio.fail_after(60):  # a hang guard: the reason comes with the next attempt
            while True:
                try:
                    await untrusting.send(event)
                except DeliveryError as exc:  # says why, not only "not connected"
                    if "TLS: [SSL: CERTIFICATE_VERIFY_FAILED]" in str(exc):
                        break
                await anyio.sleep(0.05)
        for sink in (good, untrusting, anonymous):
            await sink.aclose()
        assert sub.wait(lambda m: event_ids(sub) == [event.id])
    finally:
        sub.close()
        broker.stop()
    assert refused, "the sink without ca_file did not refuse the broker's certificate"
    assert no_cert, "the broker did not refuse the sink without a client certificate"
    assert "New client connected from 127.0.0.1" in log.read_text()
