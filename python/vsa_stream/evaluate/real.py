"""Real annotated clips for ``vsa-stream eval --real``: the truth file, configs, running.

A set of real clips is a folder of videos (in subfolders or not) and one truth file, JSON: an
object whose keys are the clips' paths relative to the truth file's folder (keys starting with
``_`` are comments), each with ``width``, ``height``, ``fps``, ``duration_s``, an optional
``sha256`` of the file and its ``situations``: ``type`` (one of the eight), ``onset_s`` (the
situation starts), ``from_s`` (it holds: the person lies on the floor, the bag is unattended),
``to_s`` (it ends), an optional ``box`` ``[x0, y0, x1, y1]`` in pixels and a ``note``. An empty
list means nothing may be alerted.

Each clip is judged under a configuration found in a configs folder, the first that exists of:

1. ``<configs>/<clip path, suffix replaced by .yaml>`` (one clip: ``falls/x.mp4`` →
   ``falls/x.yaml``);
2. ``<configs>/<group>.yaml``, the group being the clip's first path component (``falls.yaml``);
3. ``<configs>/default.yaml``.

The config's first camera analyses the clip (its ``url`` is replaced by the clip's path); the
types it has a rule for are the types the clip is judged on. ``${VSA_MODELS}`` in the config
is the models folder given to :func:`run_real` (``--models DIR``), when one is given.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Annotated

import msgspec

from vsa_stream import config as config_mod
from vsa_stream.config import Config
from vsa_stream.evaluate.score import Interval, ScenarioResult, read_json_object, rule_thresholds
from vsa_stream.evaluate.suite import parallel_map, scan_events
from vsa_stream.event_types import SITUATIONS
from vsa_stream.events import decode, encode

__all__ = [
    "ClipSituation",
    "ClipTruth",
    "clip_config",
    "config_path",
    "load_clip_truth",
    "run_real",
    "truth_file",
]

_Time = Annotated[float, msgspec.Meta(ge=0.0)]


class ClipSituation(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One situation of a real clip (times in seconds from the start of the file)."""

    type: str
    onset_s: _Time
    from_s: _Time
    to_s: _Time
    box: Annotated[list[float], msgspec.Meta(min_length=4, max_length=4)] | None = None
    note: str = ""


class ClipTruth(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The truth of one real clip."""

    width: Annotated[int, msgspec.Meta(gt=0)]
    height: Annotated[int, msgspec.Meta(gt=0)]
    fps: Annotated[float, msgspec.Meta(gt=0.0)]
    duration_s: Annotated[float, msgspec.Meta(gt=0.0)]
    sha256: str | None = None
    situations: list[ClipSituation]
    note: str = ""


def truth_file(path: str | os.PathLike[str]) -> Path:
    """The truth file of ``path``: the file itself, or ``truth.json`` in that folder.

    Raises:
        FileNotFoundError: neither exists.
    """
    path = Path(path)
    truth = path / "truth.json" if path.is_dir() else path
    if not truth.is_file():
        raise FileNotFoundError(f"no truth file: {truth} (give a folder holding truth.json)")
    return truth


def load_clip_truth(path: str | os.PathLike[str]) -> dict[str, ClipTruth]:
    """Read and check a truth file: clip path -> truth.

    Raises:
        ValueError: the file is not valid; the message names the clip and the field.
    """
    raw = read_json_object(path, "truth", "{clip path: truth}")
    clips: dict[str, ClipTruth] = {}
    for name, value in raw.items():
        if name.startswith("_"):
            continue
        where = f"{path}: {name}"
        try:
            clip = msgspec.convert(value, ClipTruth)
        except msgspec.ValidationError as exc:
            raise ValueError(f"{where}: {exc}") from None
        for i, s in enumerate(clip.situations):
            field = f"{where}: situations[{i}]"
            if s.type not in SITUATIONS:
                raise ValueError(f"{field}.type: {s.type!r} is not one of {', '.join(SITUATIONS)}")
            if not s.onset_s <= s.from_s <= s.to_s:
                raise ValueError(
                    f"{field}: expected onset_s <= from_s <= to_s, got "
                    f"{s.onset_s:g}, {s.from_s:g}, {s.to_s:g}"
                )
            if s.box is not None and not (s.box[0] < s.box[2] and s.box[1] < s.box[3]):
                raise ValueError(f"{field}.box: expected [x0, y0, x1, y1] with x0 < x1, y0 < y1")
        clips[name] = clip
    if not clips:
        raise ValueError(f"{path}: no clip")
    return clips


def config_path(configs: Path, clip: str) -> Path:
    """The config a clip is judged under (see the module's docstring).

    Raises:
        FileNotFoundError: none of the three exists.
    """
    rel = PurePosixPath(clip)
    candidates = [configs / rel.with_suffix(".yaml")]
    if len(rel.parts) > 1:
        candidates.append(configs / f"{rel.parts[0]}.yaml")
    candidates.append(configs / "default.yaml")
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"no config for clip {clip} (tried {tried})")


def clip_config(path: Path, video: Path, models: str | None) -> Config:
    """The config at ``path`` analysing ``video`` as fast as it decodes.

    Raises:
        ConfigError: the config is invalid.
    """
    env: Mapping[str, str] = os.environ if models is None else {**os.environ, "VSA_MODELS": models}
    config = config_mod.load(path, env=env)
    camera = msgspec.structs.replace(
        config.cameras[0], url=os.fspath(video), realtime=False, enabled=True
    )
    return msgspec.structs.replace(config, cameras=[camera])


def _interval(s: ClipSituation, clip: ClipTruth) -> Interval:
    """A situation as scored: its box normalised to the frame."""
    box = None
    if s.box is not None:
        x0, y0, x1, y1 = s.box
        box = (x0 / clip.width, y0 / clip.height, x1 / clip.width, y1 / clip.height)
    return Interval(s.type, s.onset_s, s.from_s, s.to_s, box)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _run_clip(job: tuple[str, str, str, str | None]) -> tuple[str, list[bytes]]:
    name, config, video, models = job
    events = scan_events(clip_config(Path(config), Path(video), models), name)
    return name, [encode(e) for e in events]


def run_real(
    truth: str | os.PathLike[str],
    *,
    configs: str | os.PathLike[str],
    models: str | os.PathLike[str] | None = None,
    clips: str | None = None,
    jobs: int = 2,
) -> list[ScenarioResult]:
    """Scan every clip of a truth file (or those matching the glob ``clips``), ``jobs`` at a time.

    Args:
        truth: the truth file, or the folder holding ``truth.json``.
        configs: the configs folder (see the module's docstring).
        models: the folder ``${VSA_MODELS}`` names in the configs; None: the environment's.
        clips: a glob on the clips' paths (``falls/*``); None: every clip.
        jobs: parallel processes.

    Raises:
        FileNotFoundError: no truth file, a clip or its config is missing.
        ValueError: the truth is invalid, or a clip's file differs from its ``sha256``.
        ConfigError: a config is invalid.
    """
    path = truth_file(truth)
    root = path.parent
    table = load_clip_truth(path)
    names = sorted(n for n in table if clips is None or fnmatch.fnmatchcase(n, clips))
    if not names:
        raise FileNotFoundError(f"no clip of {path} matches {clips!r}")
    configs = Path(configs)
    if not configs.is_dir():
        raise FileNotFoundError(f"configs folder {configs} does not exist (--configs DIR)")
    models_dir = None if models is None else os.fspath(Path(models).resolve())
    chosen: dict[str, Path] = {}
    for name in names:
        video = root / name
        if not video.is_file():
            raise FileNotFoundError(f"clip {name} of {path} is missing: {video}")
        expected = table[name].sha256
        if expected is not None and _sha256(video) != expected.lower():
            raise ValueError(f"clip {name}: the file {video} differs from the truth's sha256")
        chosen[name] = config_path(configs, name)
        clip_config(chosen[name], video, models_dir)  # fail here, not in a worker
    # the longest clips first: two processes finish together
    order = sorted(names, key=lambda n: -table[n].duration_s)
    jobs_list = [(n, str(chosen[n]), str(root / n), models_dir) for n in order]
    outputs = dict(parallel_map(_run_clip, jobs_list, jobs))
    results = []
    for name in names:
        clip = table[name]
        camera = clip_config(chosen[name], root / name, models_dir).cameras[0]
        results.append(
            ScenarioResult(
                name=name,
                folder=str(root / name),
                seed=None,
                fps=clip.fps,
                duration_s=clip.duration_s,
                truth=[_interval(s, clip) for s in clip.situations],
                thresholds=rule_thresholds(camera),
                events=[decode(line) for line in outputs[name]],
            )
        )
    return results
