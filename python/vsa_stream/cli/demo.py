"""``vsa-stream demo``: the main job on the embedded default, with no network and no model.

Renders the synthetic ``intruder`` scene to a temporary folder, then runs the engine on it
with the packaged example configuration (``vsa_stream/data/demo.yaml``), exactly as the
daemon would run a camera: alerts are printed as JSON lines on standard output.
"""

from __future__ import annotations

import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import anyio

from vsa_stream import config as config_mod
from vsa_stream.engine import Engine
from vsa_stream.sinks import Sink, StdoutSink
from vsa_stream.sinks.memory import MemorySink

__all__ = ["demo_config_text", "run_demo"]


def demo_config_text() -> str:
    """The packaged demo configuration (YAML)."""
    return resources.files("vsa_stream").joinpath("data/demo.yaml").read_text(encoding="utf-8")


def run_demo(*, keep: str | None = None, fast: bool = False) -> int:
    """Render the scene, run the engine, print alerts; 0 if at least one intrusion was seen."""
    from vsa_stream.synth import render

    with tempfile.TemporaryDirectory(prefix="vsa-demo-") as tmp:
        folder = Path(keep) if keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        video, truth_path = folder / "intruder.mp4", folder / "intruder.truth.json"
        started = time.monotonic()
        print("rendering the synthetic 'intruder' scene...", file=sys.stderr)
        truth = render("intruder", video, truth_path)
        entry = truth.events[0].start_s
        print(
            f"  {truth.n_frames} frames {truth.width}x{truth.height} in "
            f"{time.monotonic() - started:.1f} s; the intruder enters the zone at {entry:.1f} s",
            file=sys.stderr,
        )
        config = config_mod.loads(
            demo_config_text(), source="demo.yaml", env={"VSA_DEMO_VIDEO": str(video)}
        )
        mode = "as fast as possible" if fast else "in real time"
        print(f"running the engine on it {mode}; alerts follow:", file=sys.stderr)
        kept = MemorySink("counter", types=["intrusion"])
        sinks: list[Sink] = [StdoutSink(), kept]
        result = anyio.run(Engine(config, sinks, scan=fast).run)
        alerts = len(kept.opened("intrusion"))
        print(
            f"done in {time.monotonic() - started:.1f} s: {alerts} intrusion alert(s), "
            f"{result.events} event revisions",
            file=sys.stderr,
        )
    return 0 if alerts else 1
