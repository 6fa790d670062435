"""The engine in dynamic mode (cluster workers): cameras started and stopped while it runs."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import msgspec
import pytest

from collect import Collect
from vsa_stream import config
from vsa_stream.engine import Engine
from vsa_stream.pipeline import CameraStatus
from vsa_stream.synth import Truth

ZONE = "[[0.63, 0.56], [0.94, 0.53], [0.96, 0.93], [0.60, 0.95]]"


def camera(video: Path, camera_id: str) -> config.Camera:
    cfg = config.loads(
        f"""
privacy: {{legal_profile: lab}}
cameras:
  - id: {camera_id}
    url: {json.dumps(str(video))}
    fps: 10
    loop: true
    zones: [{{id: restricted, polygon: {ZONE}}}]
    rules: [{{type: intrusion, zones: [restricted], min_dwell_s: 0.5}}]
"""
    )
    return cfg.cameras[0]


def test_cameras_start_and_stop_while_the_engine_runs(
    small_intruder: tuple[Path, Truth],
) -> None:
    video, _ = small_intruder
    base = config.loads("privacy: {legal_profile: lab}\nsinks: {}", cluster_node=True)
    sink = Collect()
    engine = Engine(base, [sink], dynamic=True)
    fenced = {"b": True}
    statuses: dict[str, CameraStatus | None] = {}

    async def drive() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: engine.run(handle_signals=False))
            await engine.wait_accepting()
            a = await engine.start_camera(camera(video, "a"))
            b = await engine.start_camera(camera(video, "b"), guard=lambda: not fenced["b"])
            with pytest.raises(RuntimeError, match="already running"):
                await engine.start_camera(camera(video, "a"))
            with anyio.fail_after(60):
                # Polls state the engine's threads update (no event to await); fail_after bounds it.
                while not any(e.camera_id == "a" and e.state == "open" for e in sink.events):  # noqa: ASYNC110
                    await anyio.sleep(0.05)
            assert set(engine.running()) == {"a", "b"}
            assert a.analysed > 0
            assert b.analysed == 0  # its guard refuses every frame
            fenced["b"] = False
            with anyio.fail_after(30):
                # Polls state the engine's threads update (no event to await); fail_after bounds it.
                while b.analysed == 0:  # noqa: ASYNC110
                    await anyio.sleep(0.05)
            statuses["a"] = await engine.stop_camera("a")
            statuses["missing"] = await engine.stop_camera("missing")
            assert set(engine.running()) == {"b"}
            engine.stop()

    anyio.run(drive)
    assert statuses["missing"] is None
    stopped = statuses["a"]
    assert stopped is not None
    assert stopped.state == "stopped"
    # Stopping a camera closes its open event.
    states = [e.state for e in sink.events if e.camera_id == "a"]
    assert states[0] == "open"
    assert states[-1] == "closed"
    assert {s.camera_id for s in engine.result.cameras} == {"a", "b"}
    with pytest.raises(RuntimeError, match="dynamic"):
        anyio.run(engine.start_camera, msgspec.structs.replace(camera(video, "c")))
