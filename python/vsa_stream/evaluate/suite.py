"""The synthetic scenario suite: render it, scan every scenario with the engine.

A suite folder holds ``standin.onnx`` (the stand-in detector, see
:mod:`vsa_stream.synth.standin`) and one folder per scenario and seed with ``video.mp4``,
``truth.json`` and ``config.yaml`` (:func:`generate_suite`); :func:`run_suite` scans them,
several in parallel processes, as ``vsa-stream scan`` does.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import msgspec

from vsa_stream import config as config_mod
from vsa_stream.config import Config
from vsa_stream.evaluate.score import Interval, ScenarioResult, rule_thresholds
from vsa_stream.events import Event, encode
from vsa_stream.synth.truth import load_truth

__all__ = [
    "TUNING_SEEDS",
    "fresh_seed_base",
    "generate_suite",
    "parallel_map",
    "run_scenario",
    "run_suite",
    "scan_events",
    "scenario_config",
    "scenario_folders",
]

#: The seeds the suite's rules and scenes were tuned on; fresh seeds start above.
TUNING_SEEDS = range(10)


# --------------------------------------------------------------------------- generating


def fresh_seed_base() -> int:
    """A random first seed above the tuning seeds (0-9), for a suite no one tuned on.

    Print it with the results: ``--seed-base`` replays the run.
    """
    import random

    return random.SystemRandom().randrange(TUNING_SEEDS.stop, 100_000)


def _render_one(job: tuple[str, str, int, int, int, float]) -> str:
    from vsa_stream.synth.situations import render_scenario

    name, folder, seed, width, height, fps = job
    render_scenario(name, folder, seed=seed, width=width, height=height, fps=fps)
    return folder


def generate_suite(
    folder: str | os.PathLike[str],
    *,
    seeds: Sequence[int] = (10, 11, 12),
    scenarios: Sequence[str] | None = None,
    width: int = 384,
    height: int = 216,
    fps: float = 10.0,
    jobs: int = 2,
) -> list[Path]:
    """Render every scenario (or ``scenarios``) for every seed into ``folder``.

    Each goes to ``folder/<scenario>-s<seed>/``; the stand-in detector to
    ``folder/standin.onnx`` (needs the ``onnx`` package: ``pip install vsa_stream[eval]``).
    Seeds 0-9 are the ones the suite was tuned on: measure on others (:func:`fresh_seed_base`).

    Raises:
        ValueError: an unknown scenario, or a negative seed.
        ModuleNotFoundError: ``onnx`` is not installed.
    """
    from vsa_stream.synth.situations import SITUATIONS, STANDIN_MODEL
    from vsa_stream.synth.standin import build_standin_detector

    names = list(SITUATIONS) if scenarios is None else list(scenarios)
    unknown = [n for n in names if n not in SITUATIONS]
    if unknown:
        raise ValueError(f"unknown scenario {unknown[0]!r}; known: {', '.join(SITUATIONS)}")
    if any(seed < 0 for seed in seeds):
        raise ValueError(f"seeds must be >= 0, got {min(seeds)}")
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    build_standin_detector(root / STANDIN_MODEL)
    job_list = [
        (n, str(root / f"{n}-s{seed}"), seed, width, height, fps) for seed in seeds for n in names
    ]
    return [Path(p) for p in parallel_map(_render_one, job_list, jobs)]


def parallel_map(fn: Any, items: list[Any], jobs: int) -> list[Any]:
    """``fn`` over ``items`` in ``jobs`` spawned processes (in this one when ``jobs`` <= 1),
    results in order. ``fn`` must be a module-level function (it is pickled)."""
    if jobs <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        return list(pool.map(fn, items))


# --------------------------------------------------------------------------- running


def scan_events(config: Config, where: str) -> list[Event]:
    """Scan the first camera of ``config`` with the engine; its event revisions.

    Raises:
        RuntimeError: the camera failed (``where`` names it in the message).
    """
    from vsa_stream.engine import Engine
    from vsa_stream.log import configure_logging
    from vsa_stream.sinks.memory import MemorySink

    configure_logging(level="warning", fmt="json")
    sink = MemorySink("eval")
    engine = Engine(config, [sink], scan=True)
    result = anyio.run(engine.run)
    status = result.cameras[0]
    if status.state == "failed":
        raise RuntimeError(f"{where}: {status.error}")
    return sink.events


def scenario_config(folder: str | os.PathLike[str]) -> Config:
    """The config of a scenario folder, its video and model paths resolved."""
    folder = Path(folder)
    config = config_mod.load(folder / "config.yaml")
    camera = config.cameras[0]
    camera = msgspec.structs.replace(
        camera, url=str(folder / camera.url), realtime=False, enabled=True
    )
    detectors = [
        msgspec.structs.replace(
            d, model=msgspec.structs.replace(d.model, path=str((folder / d.model.path).resolve()))
        )
        for d in config.detectors
    ]
    return msgspec.structs.replace(config, cameras=[camera], detectors=detectors)


def run_scenario(folder: str | os.PathLike[str]) -> list[Event]:
    """Scan one scenario with the engine; writes and returns its event revisions."""
    events = scan_events(scenario_config(folder), str(folder))
    with open(Path(folder) / "events.jsonl", "wb") as f:
        for event in events:
            f.write(encode(event) + b"\n")
    return events


def _run_one(folder: str) -> tuple[str, list[bytes]]:
    return folder, [encode(e) for e in run_scenario(folder)]


def scenario_folders(suite: str | os.PathLike[str]) -> list[Path]:
    """The scenario folders of a suite (those holding a ``truth.json``), sorted."""
    return sorted(p.parent for p in Path(suite).glob("*/truth.json"))


def run_suite(suite: str | os.PathLike[str], *, jobs: int = 2) -> list[ScenarioResult]:
    """Scan every scenario of ``suite``, ``jobs`` at a time.

    Raises:
        FileNotFoundError: no scenario in ``suite``.
    """
    from vsa_stream.events import decode

    folders = scenario_folders(suite)
    if not folders:
        raise FileNotFoundError(f"no scenario (*/truth.json) in {suite}")
    outputs = dict(parallel_map(_run_one, [str(f) for f in folders], jobs))
    results = []
    for folder in folders:
        truth = load_truth(folder / "truth.json")
        config = scenario_config(folder)
        results.append(
            ScenarioResult(
                name=truth.scenario,
                folder=str(folder),
                seed=truth.seed,
                fps=truth.fps,
                duration_s=truth.n_frames / truth.fps,
                truth=[Interval(e.type, e.start_s, e.start_s, e.end_s) for e in truth.events],
                thresholds=rule_thresholds(config.cameras[0]),
                events=[decode(line) for line in outputs[str(folder)]],
            )
        )
    return results
