"""Reloading a running engine's configuration: only what changed restarts.

::

    load the file ─► plan (validate, load new models, build changed sinks) ─► apply
                      │ any error: ConfigError naming the field, nothing changed

A reload is planned in full before anything changes: the new file is validated as at a start
(the same path-precise errors), the detectors and pose model it changes are loaded, the rules
of every camera that will run are checked against its detectors' classes, and the sinks whose
settings changed are built. Only then is the plan applied:

- a camera added (or enabled) starts, one removed (or disabled) stops, its open events closed
  with the reason ``reconfigured``;
- a camera whose stream or analysis changed (``url``, ``options``, ``fps``, ``loop``,
  ``realtime``, ``skip_loop_filter``, ``motion``, ``detectors``, ``detect_fps``,
  ``supervision``, the global ``motion`` and ``tracking``, or the settings of a detector it
  uses) restarts;
- a camera whose ``zones``, ``rules``, ``calibration``, ``max_alerts_per_minute`` or
  ``tamper`` changed keeps its stream: its rules are swapped between two frames (see
  :meth:`Analyzer.reconfigure <vsa_stream.analyzer.Analyzer.reconfigure>`);
- a sink whose settings changed is rebuilt under the same name, from the same outbox cursor.

Every other camera and sink is left alone: it does not miss a frame or a revision. The
top-level settings in :data:`RESTART_ONLY` are read once at start; a reload that changes them
keeps the running values, says so in its report and logs a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio
import anyio.to_thread
import msgspec

from vsa_stream.config import Camera, Config, DetectorConfig, Sinks, class_problems
from vsa_stream.detection.model import Model, load_model
from vsa_stream.detection.pose import PoseModel, load_pose
from vsa_stream.engine import Engine, model_classes
from vsa_stream.errors import ConfigError, ModelError
from vsa_stream.rules import wants_pose
from vsa_stream.sinks import Sink, build_sinks
from vsa_stream.stats.store import retention_days

__all__ = ["RELOAD_REASON", "RESTART_ONLY", "ReloadPlan", "ReloadReport", "apply", "plan"]

#: The reason given to events closed by a reload (a rule or a camera taken out).
RELOAD_REASON = "reconfigured"

#: Top-level settings a reload does not change (read once at start: the API's socket, the
#: state folder, the outbox and its delivery, the evidence store, the audit key, logging).
RESTART_ONLY: tuple[str, ...] = ("state_dir", "outbox", "server", "privacy", "audit", "logging")

# Camera fields a reload swaps without touching the stream.
_RULE_FIELDS = ("zones", "rules", "calibration", "max_alerts_per_minute", "tamper")


class ReloadReport(msgspec.Struct, kw_only=True):
    """What a reload did (``ok``) or why it changed nothing (``error``, ``field``)."""

    ok: bool
    actor: str
    old_sha256: str
    new_sha256: str | None = None
    error: str | None = None
    field: str | None = None
    started: list[str] = msgspec.field(default_factory=list)
    stopped: list[str] = msgspec.field(default_factory=list)
    restarted: list[str] = msgspec.field(default_factory=list)
    rules_swapped: list[str] = msgspec.field(default_factory=list)
    detectors_loaded: list[str] = msgspec.field(default_factory=list)
    sinks_added: list[str] = msgspec.field(default_factory=list)
    sinks_removed: list[str] = msgspec.field(default_factory=list)
    sinks_rebuilt: list[str] = msgspec.field(default_factory=list)
    #: Settings of :data:`RESTART_ONLY` that differ in the file: kept as they run.
    restart_required: list[str] = msgspec.field(default_factory=list)


@dataclass(slots=True)
class ReloadPlan:
    """Everything a reload changes, prepared (models loaded, sinks built) by :func:`plan`."""

    config: Config
    restart_required: list[str]
    start: list[Camera] = field(default_factory=list)
    stop: list[str] = field(default_factory=list)
    restart: list[Camera] = field(default_factory=list)
    swap: list[Camera] = field(default_factory=list)
    models: dict[str, tuple[DetectorConfig, Model]] = field(default_factory=dict)
    drop_detectors: list[str] = field(default_factory=list)
    pose_changed: bool = False
    pose: PoseModel | None = None
    sinks_add: list[Sink] = field(default_factory=list)
    sinks_remove: list[str] = field(default_factory=list)
    sinks_rebuilt: list[str] = field(default_factory=list)

    def report(self, actor: str, old_sha256: str, new_sha256: str) -> ReloadReport:
        """The report of this plan once applied."""
        return ReloadReport(
            ok=True,
            actor=actor,
            old_sha256=old_sha256,
            new_sha256=new_sha256,
            started=[c.id for c in self.start],
            stopped=list(self.stop),
            restarted=[c.id for c in self.restart],
            rules_swapped=[c.id for c in self.swap],
            detectors_loaded=sorted(self.models),
            sinks_added=[s.name for s in self.sinks_add if s.name not in self.sinks_rebuilt],
            sinks_removed=[n for n in self.sinks_remove if n not in self.sinks_rebuilt],
            sinks_rebuilt=list(self.sinks_rebuilt),
            restart_required=list(self.restart_required),
        )


def _encode(value: object) -> bytes:
    return msgspec.json.encode(value, order="deterministic")


def effective(old: Config, new: Config) -> tuple[Config, list[str]]:
    """``new`` with the :data:`RESTART_ONLY` settings of ``old``, and those that differ."""
    differ = [
        name for name in RESTART_ONLY if _encode(getattr(old, name)) != _encode(getattr(new, name))
    ]
    if retention_days(old) != retention_days(new):
        # The statistics store and its retention are set up at start; the counters follow.
        differ.append("statistics")
    kept = msgspec.structs.replace(new, **{name: getattr(old, name) for name in RESTART_ONLY})
    return kept, differ


def _stream_key(config: Config, camera: Camera) -> bytes:
    """What a camera's stream and perception depend on: equal keys, no restart needed."""
    bare = msgspec.structs.replace(
        camera, zones=[], rules=[], calibration=None, max_alerts_per_minute=1, tamper=False
    )
    detectors = [config.detector(d) for d in config.detectors_for(camera)]
    return _encode([bare, config.motion_for(camera), config.tracking, detectors])


def _rules_key(camera: Camera) -> bytes:
    return _encode([getattr(camera, name) for name in _RULE_FIELDS])


def sink_settings(sinks: Sinks) -> dict[str, bytes]:
    """The settings of each sink ``sinks`` builds, by the sink's name (its outbox cursor)."""
    out: dict[str, bytes] = {}
    if sinks.stdout is not None and sinks.stdout.enabled:
        out["stdout"] = _encode(sinks.stdout)
    if sinks.jsonl is not None:
        out["jsonl"] = _encode(sinks.jsonl)
    for endpoint in sinks.webhooks:
        out[f"webhook:{endpoint.name}"] = _encode(endpoint)
    if sinks.mqtt is not None:
        out["mqtt"] = _encode(sinks.mqtt)
    return out


def _only(sinks: Sinks, names: set[str]) -> Sinks:
    """The part of ``sinks`` that builds the sinks named ``names``."""
    return Sinks(
        stdout=sinks.stdout if "stdout" in names else None,
        jsonl=sinks.jsonl if "jsonl" in names else None,
        webhooks=[w for w in sinks.webhooks if f"webhook:{w.name}" in names],
        mqtt=sinks.mqtt if "mqtt" in names else None,
    )


def _detector_field(config: Config, detector_id: str) -> str:
    i = next(i for i, d in enumerate(config.detectors) if d.id == detector_id)
    return f"detectors[{i}].model"


def _camera_field(config: Config, camera_id: str) -> str:
    i = next(i for i, c in enumerate(config.cameras) if c.id == camera_id)
    return f"cameras[{i}]"


async def plan(engine: Engine, old: Config, new: Config) -> ReloadPlan:
    """Compare ``new`` with the running ``old`` and prepare the changes; nothing runs yet.

    Raises:
        ConfigError: the new configuration cannot run (a model that does not load, a rule
            needing a class its detectors lack, a sink that cannot be opened), naming the
            field; nothing was changed.
    """
    config, restart_required = effective(old, new)
    result = ReloadPlan(config=config, restart_required=restart_required)
    running = engine.running()
    unstarted = {s.camera_id for s in engine.camera_statuses() if s.camera_id not in running}
    before = {c.id: c for c in old.cameras if c.enabled}
    after = {c.id: c for c in config.cameras if c.enabled}
    result.stop = [cid for cid in before if cid not in after]
    result.pose_changed = _encode(old.pose) != _encode(config.pose)
    for cid, camera in after.items():
        previous = before.get(cid)
        if previous is None:
            result.start.append(camera)
        elif _stream_key(old, previous) != _stream_key(config, camera):
            result.restart.append(camera)
        elif cid in unstarted:
            if _rules_key(previous) != _rules_key(camera):
                result.restart.append(camera)  # it could not start: it may now
        elif _rules_key(previous) != _rules_key(camera) or (
            result.pose_changed and (wants_pose(previous) or wants_pose(camera))
        ):
            result.swap.append(camera)
    # detectors: load those that change or that no running camera has loaded yet
    changed = {
        d.id
        for d in config.detectors
        if any(o.id == d.id and _encode(o) != _encode(d) for o in old.detectors)
    }
    gone = {d.id for d in old.detectors} - {d.id for d in config.detectors}
    result.drop_detectors = sorted((changed | gone) & set(engine.detectors))
    wanted = {d for c in result.start + result.restart for d in config.detectors_for(c)}
    for detector_id in sorted(wanted):
        if detector_id in engine.detectors and detector_id not in changed:
            continue
        dconf = config.detector(detector_id)
        try:
            model = await anyio.to_thread.run_sync(load_model, dconf.model)
        except ModelError as exc:
            raise ConfigError(str(exc), path=_detector_field(config, detector_id)) from None
        result.models[detector_id] = (dconf, model)
    produced = {d: model_classes(s.model) for d, s in engine.detectors.items()}
    produced.update({d: model_classes(m) for d, (_, m) in result.models.items()})
    for camera in result.start + result.restart + result.swap:
        ids = config.detectors_for(camera)
        for path, message in class_problems(camera, {d: produced[d] for d in ids if d in produced}):
            raise ConfigError(message, path=f"{_camera_field(config, camera.id)}.{path}")
    needs_pose = any(wants_pose(c) for c in result.start + result.restart + result.swap)
    if config.pose is not None and needs_pose and (result.pose_changed or engine.pose is None):
        try:
            result.pose = await anyio.to_thread.run_sync(load_pose, config.pose)
        except ModelError as exc:
            raise ConfigError(str(exc), path="pose.model") from None
        result.pose_changed = True
    elif not result.pose_changed:
        result.pose = engine.pose
    # sinks: those whose settings changed are rebuilt under their name
    was, will = sink_settings(old.sinks), sink_settings(config.sinks)
    result.sinks_rebuilt = sorted(n for n in was.keys() & will.keys() if was[n] != will[n])
    added = sorted(will.keys() - was.keys())
    result.sinks_remove = sorted(was.keys() - will.keys()) + result.sinks_rebuilt
    try:  # last: nothing after it can reject the plan, so no sink is opened for nothing
        result.sinks_add = build_sinks(
            _only(config.sinks, set(added + result.sinks_rebuilt)), config.state_dir
        )
    except OSError as exc:
        raise ConfigError(f"cannot open: {exc}", path="sinks.jsonl.path") from None
    return result


async def apply(engine: Engine, prepared: ReloadPlan) -> None:
    """Apply a plan to the running engine (cameras, detectors, rules, sinks, in that order)."""
    engine.config = prepared.config
    async with anyio.create_task_group() as tg:
        for camera_id in prepared.stop + [c.id for c in prepared.restart]:
            tg.start_soon(engine.stop_camera, camera_id, RELOAD_REASON)
    for detector_id in prepared.drop_detectors:
        engine.remove_detector(detector_id)
    for detector_id, (dconf, model) in prepared.models.items():
        engine.install_detector(detector_id, dconf, model)
    if prepared.pose_changed:
        engine.pose = prepared.pose
    running = engine.running()
    for camera in prepared.swap:
        pipeline = running.get(camera.id)
        if pipeline is not None:
            await anyio.to_thread.run_sync(pipeline.reconfigure, camera, engine.pose)
    starting = {c.id for c in prepared.start + prepared.restart}
    for camera in prepared.config.cameras:  # in the order of the file
        if camera.id in starting:
            await engine.start_camera(camera, prepared.config)
    taken = await engine.delivery.reconfigure(prepared.sinks_add, prepared.sinks_remove)
    engine.sinks[:] = [s for s in engine.sinks if s not in taken] + prepared.sinks_add
    for sink in taken:
        with anyio.CancelScope(shield=True):
            await sink.aclose()
