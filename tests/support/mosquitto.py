"""A real mosquitto broker on loopback and a subscriber recording every message."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from vsa_stream.config import Config
from vsa_stream.engine import Engine
from vsa_stream.sinks.mqtt import MqttSink

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    """A Mosquitto process with on-disk persistence, which can be stopped and started again."""

    def __init__(self, folder: Path, extra: str = "") -> None:
        self.port = free_port()
        self.folder = folder
        conf = folder / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {folder}/\nlog_dest stderr\n"
            # run as the test's user: started as root, mosquitto would switch to the user
            # "mosquitto", which cannot write the persistence file into the test's folder
            f"user {getpass.getuser()}\n{extra}"
        )
        self.conf = conf
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()  # saves the persistent sessions
            self.proc.wait(timeout=20)
            self.proc = None


@dataclass
class Subscriber:
    """A persistent-session subscriber to ``vsa/#`` (QoS 1) recording every message."""

    port: int
    client_id: str = "test-subscriber"
    messages: list[tuple[str, bytes, bool]] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)
    subscribed: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=False
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("vsa/#", qos=1)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda c, u, mid, rc, p: self.subscribed.set()
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        if not self.subscribed.wait(20):
            raise RuntimeError("the test subscriber could not subscribe")

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self.cond:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))
            self.cond.notify_all()

    def wait(
        self, predicate: Callable[[list[tuple[str, bytes, bool]]], bool], timeout: float = 60.0
    ) -> bool:
        with self.cond:
            return bool(self.cond.wait_for(lambda: predicate(self.messages), timeout))

    def payloads(self, topic: str) -> list[bytes]:
        with self.cond:
            return [p for t, p, _ in self.messages if t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


async def run_engine_until(cfg: Config, sub: Subscriber, topic: str, payload: bytes) -> bool:
    """Run an engine publishing to the MQTT sink of ``cfg`` until ``sub`` has seen ``payload``
    on ``topic`` (False after the subscriber's timeout), then stop it."""
    assert cfg.sinks.mqtt is not None
    engine = Engine(cfg, [MqttSink(cfg.sinks.mqtt)])
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: engine.run(handle_signals=False))
        seen = await anyio.to_thread.run_sync(
            lambda: sub.wait(lambda m: payload in sub.payloads(topic))
        )
        engine.stop()
    return seen
