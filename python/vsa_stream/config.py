"""The configuration: YAML decoded into msgspec Structs, validated with path-precise errors.

A configuration file is read in four steps, each of which can fail with a
:class:`~vsa_stream.errors.ConfigError` that names the field (``cameras[2].zones[0].polygon``)
and, where it can, the YAML line:

1. YAML is parsed (duplicate keys are an error, not a silent overwrite);
2. ``${VAR}`` / ``${VAR:-default}`` in string values are replaced from the environment, so
   secrets stay out of the file;
3. the data is converted into the :class:`Config` Structs (unknown keys are errors; a rule
   type outside the legal profile's closed set is an error naming the allowed ones);
4. cross-field checks (unique ids, zones a rule names exist, polygon geometry, ...).

Example:
    >>> cfg = loads("cameras: [{id: cam1, url: video.mp4, zones: [], rules: []}]")
    >>> cfg.cameras[0].fps
    10.0
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec

from vsa_stream.config_yaml import YamlDocument, parse_yaml
from vsa_stream.errors import ConfigError
from vsa_stream.redact import redact_text, redact_url
from vsa_stream.webhook_signature import parse_secret

__all__ = [
    "LEGAL_PROFILES",
    "SITUATIONS",
    "Camera",
    "Config",
    "DetectorConfig",
    "IntrusionRule",
    "JsonlSink",
    "LoggingConfig",
    "MotionConfig",
    "MqttSink",
    "OutboxConfig",
    "Privacy",
    "Rule",
    "ServerConfig",
    "Sinks",
    "StdoutSink",
    "WebhookEndpoint",
    "Zone",
    "json_schema",
    "load",
    "loads",
]

#: The closed set of situations of French law (loi JO 2023, décret 2023-828).
SITUATIONS: tuple[str, ...] = (
    "wrong_way",
    "intrusion",
    "weapon",
    "fire",
    "crowd_movement",
    "person_down",
    "density",
    "abandoned_object",
)

#: Which situation types each legal profile allows.
LEGAL_PROFILES: dict[str, tuple[str, ...]] = {"fr-2023": SITUATIONS}

#: Situation types this version of the engine can run.
IMPLEMENTED: tuple[str, ...] = ("intrusion",)

_ID = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
_Point = tuple[float, float]


class _Base(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class Zone(_Base):
    """A polygon of the image, in normalised (0..1) or pixel coordinates."""

    id: _ID
    polygon: Annotated[list[_Point], msgspec.Meta(min_length=3)]
    units: Literal["normalized", "pixels"] = "normalized"
    anchor: Literal["bottom_center", "center"] = "bottom_center"


class IntrusionRule(_Base, tag="intrusion", tag_field="type"):
    """Presence in a forbidden zone for at least ``min_dwell_s``.

    Without a detector, every moving blob of at least ``motion.min_area`` pixels counts as an
    object; ``classes`` filters only classified objects.
    """

    zones: Annotated[list[_ID], msgspec.Meta(min_length=1)]
    classes: list[str] = msgspec.field(default_factory=lambda: ["person", "vehicle"])
    min_dwell_s: Annotated[float, msgspec.Meta(ge=0.0, le=3600.0)] = 1.0
    exit_grace_s: Annotated[float, msgspec.Meta(ge=0.0, le=600.0)] = 1.0
    cooldown_s: Annotated[float, msgspec.Meta(ge=0.0, le=86400.0)] = 10.0


Rule = IntrusionRule


class MotionConfig(_Base):
    """The Rust motion kernel (background model, foreground blobs)."""

    factor: Annotated[int, msgspec.Meta(ge=1, le=16)] = 4
    alpha: Annotated[float, msgspec.Meta(gt=0.0, le=1.0)] = 0.05
    threshold: Annotated[float, msgspec.Meta(gt=0.0, le=255.0)] = 20.0
    min_area: Annotated[int, msgspec.Meta(ge=1)] = 400
    warmup_frames: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 5


class Camera(_Base):
    """One video stream and what to watch in it."""

    id: _ID
    url: Annotated[str, msgspec.Meta(min_length=1)]
    options: dict[str, str] = msgspec.field(default_factory=dict)
    fps: Annotated[float, msgspec.Meta(gt=0.0, le=120.0)] = 10.0
    realtime: bool = True
    loop: bool = False
    enabled: bool = True
    skip_loop_filter: bool = True
    zones: list[Zone] = msgspec.field(default_factory=list)
    rules: list[Rule] = msgspec.field(default_factory=list)
    motion: MotionConfig | None = None


class DetectorConfig(_Base):
    """An ONNX object detector (not available in this version: motion pipeline only)."""

    path: str


class StdoutSink(_Base):
    """Alerts as JSON lines on standard output."""

    enabled: bool = True


class JsonlSink(_Base):
    """Alerts appended to a JSON-lines file, fsynced per event."""

    path: Annotated[str, msgspec.Meta(min_length=1)]
    fsync: bool = True


#: Event types that are health signals, not detections (may be used in webhook filters).
SYSTEM_EVENTS: tuple[str, ...] = ("camera_offline", "camera_online", "camera_tampered")

#: Default waits before each webhook attempt: now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
WEBHOOK_RETRY_SCHEDULE_S: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)


class WebhookEndpoint(_Base):
    """A receiver of signed webhooks (Standard Webhooks)."""

    name: _ID
    url: Annotated[str, msgspec.Meta(min_length=1)]
    secrets: Annotated[list[str], msgspec.Meta(min_length=1, max_length=8)]
    types: list[str] | None = None
    concurrency: Annotated[int, msgspec.Meta(ge=1, le=64)] = 4
    timeout_s: Annotated[float, msgspec.Meta(gt=0.0, le=300.0)] = 15.0
    retry_schedule_s: Annotated[
        list[Annotated[float, msgspec.Meta(ge=0.0, le=604800.0)]],
        msgspec.Meta(min_length=1, max_length=32),
    ] = msgspec.field(default_factory=lambda: list(WEBHOOK_RETRY_SCHEDULE_S))
    allow_private: bool = False


class MqttSink(_Base):
    """An MQTT broker: events on ``<prefix>/<camera>/<type>``, camera status retained."""

    host: Annotated[str, msgspec.Meta(min_length=1)]
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 1883
    client_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    username: str | None = None
    password: str | None = None
    tls: bool = False
    topic_prefix: Annotated[str, msgspec.Meta(pattern=r"^[^#+\s]+$")] = "vsa"
    keepalive_s: Annotated[int, msgspec.Meta(ge=5, le=3600)] = 30


class Sinks(_Base):
    """Where alerts go; every alert reaches every configured sink."""

    stdout: StdoutSink | None = None
    jsonl: JsonlSink | None = None
    webhooks: list[WebhookEndpoint] = msgspec.field(default_factory=list)
    mqtt: MqttSink | None = None


class OutboxConfig(_Base):
    """The durable outbox every alert is committed to before delivery."""

    path: Annotated[str, msgspec.Meta(min_length=1)] | None = None
    synchronous: Literal["full", "normal"] = "full"
    keep_delivered_h: Annotated[float, msgspec.Meta(ge=0.0, le=8760.0)] = 24.0
    keep_events_days: Annotated[float, msgspec.Meta(ge=0.0, le=30.0)] = 30.0
    drain_s: Annotated[float, msgspec.Meta(ge=0.0, le=3600.0)] = 10.0


class ServerConfig(_Base):
    """The HTTP API (not available in this version)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8080


class Privacy(_Base):
    """Legal profile and data minimisation."""

    legal_profile: Literal["fr-2023"] = "fr-2023"


class LoggingConfig(_Base):
    """Log level and format (``auto``: JSON lines unless the log stream is a terminal)."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class Config(_Base):
    """The whole configuration of one daemon."""

    cameras: Annotated[list[Camera], msgspec.Meta(min_length=1)]
    privacy: Privacy = msgspec.field(default_factory=Privacy)
    motion: MotionConfig = msgspec.field(default_factory=MotionConfig)
    detector: DetectorConfig | None = None
    sinks: Sinks = msgspec.field(default_factory=lambda: Sinks(stdout=StdoutSink()))
    state_dir: Annotated[str, msgspec.Meta(min_length=1)] = "vsa-state"
    outbox: OutboxConfig = msgspec.field(default_factory=OutboxConfig)
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)
    logging: LoggingConfig = msgspec.field(default_factory=LoggingConfig)

    def motion_for(self, camera: Camera) -> MotionConfig:
        """The motion settings of ``camera``: its own when given, else the global ones."""
        return camera.motion if camera.motion is not None else self.motion

    def outbox_path(self) -> str:
        """The outbox database: ``outbox.path``, else ``outbox.sqlite3`` in ``state_dir``."""
        if self.outbox.path is not None:
            return self.outbox.path
        return os.path.join(self.state_dir, "outbox.sqlite3")


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the configuration, generated from the Structs."""
    schema = msgspec.json.schema(Config)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "vsa_stream configuration"
    return schema


def load(path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate a YAML configuration file.

    Args:
        path: the file.
        env: variables for ``${VAR}`` substitution; the process environment by default.

    Raises:
        ConfigError: the file cannot be read or is invalid; the error names the field.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read configuration: {exc}", source=source) from None
    return loads(text, source=source, env=env)


def loads(text: str, *, source: str | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Validate a configuration given as YAML text (see :func:`load`)."""
    doc = parse_yaml(text, source=source)
    if not isinstance(doc.data, dict):
        raise ConfigError("expected a mapping at the top level (cameras: ...)", source=source)
    data = _substitute_env(doc, doc.data, (), os.environ if env is None else env)
    _check_rule_types(doc, data)
    try:
        config = msgspec.convert(data, Config, strict=True)
    except msgspec.ValidationError as exc:
        path, message = _explain(str(exc), data)
        raise ConfigError(
            message, path=_format_path(path), line=doc.line_of(path), source=source
        ) from None
    for path, message in _semantic_problems(config):
        raise ConfigError(message, path=_format_path(path), line=doc.line_of(path), source=source)
    return config


# --- environment substitution -------------------------------------------------------------

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\$")


def _substitute_env(
    doc: YamlDocument, value: Any, path: tuple[str | int, ...], env: Mapping[str, str]
) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise ConfigError(
                f"environment variable {name} is not set (write ${{{name}:-default}} "
                "to give a default)",
                path=_format_path(path),
                line=doc.line_of(path),
                source=doc.source,
            )

        return _ENV.sub(replace, value)
    if isinstance(value, dict):
        return {k: _substitute_env(doc, v, (*path, k), env) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute_env(doc, v, (*path, i), env) for i, v in enumerate(value)]
    return value


# --- the closed set -------------------------------------------------------------------------


def _check_rule_types(doc: YamlDocument, data: dict[str, Any]) -> None:
    privacy = data.get("privacy")
    profile = privacy.get("legal_profile", "fr-2023") if isinstance(privacy, dict) else "fr-2023"
    allowed = LEGAL_PROFILES.get(profile) if isinstance(profile, str) else None
    if allowed is None:
        raise ConfigError(
            f"unknown legal profile {profile!r}; known: {', '.join(LEGAL_PROFILES)}",
            path="privacy.legal_profile",
            line=doc.line_of(("privacy", "legal_profile")),
            source=doc.source,
        )
    cameras = data.get("cameras")
    for i, camera in enumerate(cameras if isinstance(cameras, list) else []):
        rules = camera.get("rules") if isinstance(camera, dict) else None
        for j, rule in enumerate(rules if isinstance(rules, list) else []):
            if not isinstance(rule, dict):
                continue
            path: tuple[str | int, ...] = ("cameras", i, "rules", j, "type")
            kind = rule.get("type")
            if kind is None:
                message = f"missing rule type; one of: {', '.join(allowed)}"
                path = path[:-1]
            elif kind not in allowed:
                message = (
                    f"{kind!r} is not a situation the legal profile {profile} allows; "
                    f"allowed: {', '.join(allowed)}"
                )
            elif kind not in IMPLEMENTED:
                message = (
                    f"{kind!r} is allowed by {profile} but not implemented in this version; "
                    f"implemented: {', '.join(IMPLEMENTED)}"
                )
            else:
                continue
            raise ConfigError(
                message, path=_format_path(path), line=doc.line_of(path), source=doc.source
            )


# --- msgspec errors into field paths --------------------------------------------------------

_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[\.\.\.\]")
_FIELD = re.compile(r"^Object (contains unknown|missing required) field `([^`]+)`$")
_LENGTH = re.compile(r"^Expected `array` of length (>=|<=|) ?(\d+)")


def _parse_path(text: str) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for match in _SEGMENT.finditer(text):
        if match.group(1) is not None:
            parts.append(match.group(1))
        elif match.group(2) is not None:
            parts.append(int(match.group(2)))
    return tuple(parts)


def _lookup(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        if isinstance(data, list) != isinstance(part, int):
            return None
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _explain(text: str, data: Any) -> tuple[tuple[str | int, ...], str]:
    """Turn a msgspec validation message into (path, message for a person)."""
    match = _AT.match(text)
    message = match.group("msg") if match else text
    path = _parse_path(match.group("path") or "") if match else ()
    field = _FIELD.match(message)
    if field:
        path = (*path, field.group(2))
        if field.group(1) == "contains unknown":
            return path, "unknown key" + _known_keys_hint(path[:-1])
        return path, "required field is missing"
    length = _LENGTH.match(message)
    value = _lookup(data, path)
    if length and isinstance(value, list):
        bound = int(length.group(2))
        noun = "entry" if bound == 1 else "entries"
        noun = "points" if path and path[-1] == "polygon" else noun
        relation = {">=": "at least", "<=": "at most", "": "exactly"}[length.group(1)]
        return path, f"expected {relation} {bound} {noun}, got {len(value)}"
    message = message.replace("`", "")
    secret = any(p in ("secrets", "password") for p in path if isinstance(p, str))
    if value is not None and not isinstance(value, dict | list) and not secret:
        message += f" (value: {redact_text(repr(value))})"
    return path, message[:1].lower() + message[1:]


def _known_keys_hint(path: tuple[str | int, ...]) -> str:
    struct = _struct_at(path)
    if struct is None:
        return ""
    return "; expected one of: " + ", ".join(struct.__struct_fields__)


def _struct_at(path: tuple[str | int, ...]) -> type[msgspec.Struct] | None:
    """The Struct type found at ``path`` of a Config (ignoring list indices)."""
    current: Any = Config
    for part in path:
        if isinstance(part, int):
            continue
        hints = msgspec.structs.fields(current)
        by_name = {f.name: f.type for f in hints}
        if part not in by_name:
            return None
        current = _unwrap(by_name[part])
        if current is None:
            return None
    return current if isinstance(current, type) and issubclass(current, msgspec.Struct) else None


def _unwrap(tp: Any) -> Any:
    """The Struct inside ``list[X]``, ``X | None``, ``Annotated[X, ...]``; None otherwise."""
    for _ in range(4):
        if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
            return tp
        args = [a for a in getattr(tp, "__args__", ()) if a is not type(None)]
        if getattr(tp, "__metadata__", None) is not None:
            tp = tp.__origin__
        elif args:
            tp = args[0]
        else:
            return None
    return None


def _format_path(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


# --- cross-field checks ---------------------------------------------------------------------

_SCHEMES = ("file", "rtsp", "rtsps", "rtmp", "http", "https", "tcp", "udp", "rtp", "srt")


def _semantic_problems(config: Config) -> list[tuple[tuple[str | int, ...], str]]:
    problems: list[tuple[tuple[str | int, ...], str]] = []
    seen_cameras: dict[str, int] = {}
    for i, camera in enumerate(config.cameras):
        at: tuple[str | int, ...] = ("cameras", i)
        if camera.id in seen_cameras:
            problems.append(
                (
                    (*at, "id"),
                    f"duplicate camera id {camera.id!r} (also cameras[{seen_cameras[camera.id]}])",
                )
            )
        seen_cameras.setdefault(camera.id, i)
        scheme = camera.url.split("://", 1)[0].lower() if "://" in camera.url else "file"
        if scheme not in _SCHEMES:
            problems.append(
                (
                    (*at, "url"),
                    f"unsupported URL scheme {scheme!r} in {redact_url(camera.url)}; "
                    f"expected a file path or one of: {', '.join(_SCHEMES)}",
                )
            )
        zone_ids: dict[str, int] = {}
        for k, zone in enumerate(camera.zones):
            zat = (*at, "zones", k)
            if zone.id in zone_ids:
                problems.append(((*zat, "id"), f"duplicate zone id {zone.id!r} in this camera"))
            zone_ids.setdefault(zone.id, k)
            problems.extend(((*zat, *p), m) for p, m in _polygon_problems(zone))
        for k, rule in enumerate(camera.rules):
            for n, zone_id in enumerate(rule.zones):
                if zone_id not in zone_ids:
                    known = ", ".join(zone_ids) or "none defined"
                    problems.append(
                        (
                            (*at, "rules", k, "zones", n),
                            f"unknown zone {zone_id!r}; this camera's zones: {known}",
                        )
                    )
    if not any(camera.enabled for camera in config.cameras):
        problems.append((("cameras",), "every camera has enabled: false; nothing would run"))
    if config.detector is not None:
        problems.append(
            (
                ("detector",),
                "ONNX detection is not available in this version; remove this section "
                "(the motion pipeline runs without a model)",
            )
        )
    if config.server.enabled:
        problems.append((("server", "enabled"), "the HTTP API is not available in this version"))
    stdout_on = config.sinks.stdout is not None and config.sinks.stdout.enabled
    sinks = config.sinks
    if not stdout_on and sinks.jsonl is None and not sinks.webhooks and sinks.mqtt is None:
        problems.append((("sinks",), "no sink enabled: alerts would go nowhere"))
    if config.sinks.jsonl is not None:
        problem = _writable_file_problem(config.sinks.jsonl.path)
        if problem:
            problems.append((("sinks", "jsonl", "path"), problem))
    problems.extend(_webhook_problems(config))
    if config.outbox.path is None:
        problem = _writable_file_problem(config.outbox_path())
        if problem:
            problems.append((("state_dir",), problem))
    else:
        problem = _writable_file_problem(config.outbox.path)
        if problem:
            problems.append((("outbox", "path"), problem))
    return problems


def _webhook_problems(config: Config) -> list[tuple[tuple[str | int, ...], str]]:
    problems: list[tuple[tuple[str | int, ...], str]] = []
    names: dict[str, int] = {}
    known_types = (*LEGAL_PROFILES[config.privacy.legal_profile], *SYSTEM_EVENTS)
    for i, hook in enumerate(config.sinks.webhooks):
        at: tuple[str | int, ...] = ("sinks", "webhooks", i)
        if hook.name in names:
            problems.append(((*at, "name"), f"duplicate webhook name {hook.name!r}"))
        names.setdefault(hook.name, i)
        url = urlsplit(hook.url)
        if url.scheme not in ("http", "https") or not url.hostname:
            problems.append(
                ((*at, "url"), f"expected an http:// or https:// URL, got {redact_url(hook.url)}")
            )
        elif not hook.allow_private and _is_private_host(url.hostname):
            problems.append(
                (
                    (*at, "url"),
                    f"{url.hostname} is a private, loopback or link-local address (refused to "
                    "protect internal services); set allow_private: true to allow it",
                )
            )
        for k, secret in enumerate(hook.secrets):
            try:
                parse_secret(secret)
            except ValueError as exc:
                problems.append(((*at, "secrets", k), str(exc)))
        for k, kind in enumerate(hook.types or []):
            if kind not in known_types:
                problems.append(
                    (
                        (*at, "types", k),
                        f"unknown event type {kind!r}; known: {', '.join(known_types)}",
                    )
                )
    return problems


def _is_private_host(host: str) -> bool:
    """True for an IP literal that is not globally routable, and for ``localhost``."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a name: checked when it is resolved, before each request
    return not address.is_global or address.is_multicast


def _writable_file_problem(path: str) -> str | None:
    """Why a file could not be appended to, without creating it; None when it could."""
    target = Path(path)
    if target.is_dir():
        return f"{path} is a directory; expected a file"
    if target.exists():
        return None if os.access(target, os.W_OK) else f"{path} is not writable"
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent  # missing folders are created: the first existing one decides
    if not parent.is_dir():
        return f"{parent} is not a directory"
    return None if os.access(parent, os.W_OK | os.X_OK) else f"cannot create files in {parent}"


def _polygon_problems(zone: Zone) -> list[tuple[tuple[str | int, ...], str]]:
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for n, (x, y) in enumerate(zone.polygon):
        if not (x == x and y == y) or abs(x) == float("inf") or abs(y) == float("inf"):
            problems.append((("polygon", n), f"coordinates must be finite numbers, got ({x}, {y})"))
        elif zone.units == "normalized" and not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            problems.append(
                (
                    ("polygon", n),
                    f"normalized coordinates must lie in [0, 1], got ({x}, {y}); "
                    "set units: pixels for pixel coordinates",
                )
            )
        elif x < 0 or y < 0:
            problems.append((("polygon", n), f"pixel coordinates must be >= 0, got ({x}, {y})"))
    if not problems and _area(zone.polygon) == 0.0:
        problems.append((("polygon",), "polygon has zero area (its points are collinear)"))
    return problems


def _area(points: list[_Point]) -> float:
    total = 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True):
        total += x0 * y1 - x1 * y0
    return abs(total) / 2.0


def dumps_schema() -> bytes:
    """The JSON Schema, pretty-printed."""
    return msgspec.json.format(msgspec.json.encode(json_schema()), indent=2)
