"""Cross-field checks: what a struct alone cannot say (unique ids, zones a rule names, geometry,
files, addresses, the classes detectors produce)."""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Collection, Mapping
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from vsa_stream import _core
from vsa_stream.authorisation import PROFILE_LIMITS, authorisation_problems
from vsa_stream.config.cameras import Calibration, Camera, Zone
from vsa_stream.config.detection import TrackingConfig
from vsa_stream.config.messages import format_path
from vsa_stream.config.model import Config
from vsa_stream.config.rules import LEGAL_PROFILES
from vsa_stream.config.server import ServerConfig, is_host_name, is_loopback_host, is_private_host
from vsa_stream.config.sinks import MqttSink
from vsa_stream.config.statistics import statistics_class_problems, statistics_problems
from vsa_stream.event_types import SYSTEM_EVENTS
from vsa_stream.redact import redact_url
from vsa_stream.tls import TlsFileError, check_server_files, client_context
from vsa_stream.webhook_signature import parse_secret

__all__ = ["class_problems", "semantic_problems"]


_SCHEMES = (
    "file", "rtsp", "rtsps", "rtmp", "http", "https", "tcp", "udp", "rtp", "srt",
    "replay",  # recorded detections, for load tests (vsa_stream.sources.replay)
)  # fmt: skip


def _looks_like_a_broken_url(url: str) -> bool:
    """A file path that does not exist and has the marks of a URL whose ``://`` is mistyped
    (``rtsp//user:pw@host``, ``rtsp:/host``): a config error rather than a camera that fails
    with "no such file" at run time."""
    path = url.removeprefix("file://")
    if os.path.exists(path):
        return False
    return "@" in path or bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*(:/?|//)", path))


def _tracking_problems(tracking: TrackingConfig) -> list[tuple[tuple[str | int, ...], str]]:
    at = ("tracking",)
    if tracking.low_score > tracking.high_score:
        return [
            (
                (*at, "low_score"),
                f"must not exceed high_score ({tracking.high_score:g}), got {tracking.low_score:g}",
            )
        ]
    if tracking.tentative_score > tracking.new_track_score:
        return [
            (
                (*at, "tentative_score"),
                f"must not exceed new_track_score ({tracking.new_track_score:g}), "
                f"got {tracking.tentative_score:g}",
            )
        ]
    return []


def semantic_problems(config: Config) -> list[tuple[tuple[str | int, ...], str]]:
    problems: list[tuple[tuple[str | int, ...], str]] = []
    seen_cameras: dict[str, int] = {}
    live_ok = PROFILE_LIMITS[config.privacy.legal_profile].live_sources
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
        elif scheme not in ("file", "replay") and not live_ok:
            problems.append(
                (
                    (*at, "url"),
                    f"the legal profile {config.privacy.legal_profile} analyses recorded files "
                    f"only, not a live stream ({scheme}://): a live camera needs "
                    "privacy.legal_profile: fr-2023 and an authorisation",
                )
            )
        elif scheme == "file" and _looks_like_a_broken_url(camera.url):
            problems.append(
                (
                    (*at, "url"),
                    f"{redact_url(camera.url)} is neither an existing file nor a URL: write "
                    "scheme://host/path (rtsp://, http://, ...)",
                )
            )
        if camera.supervision.backoff_min_s > camera.supervision.backoff_max_s:
            problems.append(
                (
                    (*at, "supervision", "backoff_min_s"),
                    "must not exceed supervision.backoff_max_s "
                    f"({camera.supervision.backoff_max_s:g})",
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
            for key in ("zones", "exclude_zones"):
                for n, zone_id in enumerate(getattr(rule, key, [])):
                    if zone_id not in zone_ids:
                        known = ", ".join(zone_ids) or "none defined"
                        problems.append(
                            (
                                (*at, "rules", k, key, n),
                                f"unknown zone {zone_id!r}; this camera's zones: {known}",
                            )
                        )
            problems.extend(((*at, "rules", k, *p), m) for p, m in rule.problems(camera))
            classes = rule.classified_classes()
            if classes is not None and not config.detectors_for(camera):
                problems.append(
                    (
                        (*at, "rules", k, "type"),
                        f"{rule.__struct_config__.tag} needs classified detections "
                        f"({', '.join(classes)}): give this camera a detector (detectors)",
                    )
                )
        if camera.calibration is not None:
            problems.extend(
                ((*at, "calibration", *p), m) for p, m in _calibration_problems(camera.calibration)
            )
        if camera.statistics is not None:
            problems.extend(
                ((*at, "statistics", *p), m)
                for p, m in statistics_problems(
                    camera.statistics, list(zone_ids), bool(config.detectors_for(camera))
                )
            )
    if not any(camera.enabled for camera in config.cameras):
        problems.append((("cameras",), "every camera has enabled: false; nothing would run"))
    detector_ids: dict[str, int] = {}
    for i, detector in enumerate(config.detectors):
        if detector.id in detector_ids:
            problems.append(
                (
                    ("detectors", i, "id"),
                    f"duplicate detector id {detector.id!r} "
                    f"(also detectors[{detector_ids[detector.id]}])",
                )
            )
        detector_ids.setdefault(detector.id, i)
    for i, camera in enumerate(config.cameras):
        for k, name in enumerate(camera.detectors or []):
            if name not in detector_ids:
                known = ", ".join(detector_ids) or "none defined"
                problems.append(
                    (
                        ("cameras", i, "detectors", k),
                        f"unknown detector {name!r}; detectors: {known}",
                    )
                )
    problems.extend(_tracking_problems(config.tracking))
    problems.extend(_server_problems(config.server))
    problems.extend(_audit_problems(config))
    stdout_on = config.sinks.stdout is not None and config.sinks.stdout.enabled
    sinks = config.sinks
    if not stdout_on and sinks.jsonl is None and not sinks.webhooks and sinks.mqtt is None:
        problems.append((("sinks",), "no sink enabled: alerts would go nowhere"))
    if config.sinks.jsonl is not None:
        problem = _writable_file_problem(config.sinks.jsonl.path)
        if problem:
            problems.append((("sinks", "jsonl", "path"), problem))
    problems.extend(_webhook_problems(config))
    if config.sinks.mqtt is not None:
        problems.extend(_mqtt_problems(config.sinks.mqtt))
    if config.outbox.path is None:
        problem = _writable_file_problem(config.outbox_path())
        if problem:
            problems.append((("state_dir",), problem))
    else:
        problem = _writable_file_problem(config.outbox.path)
        if problem:
            problems.append((("outbox", "path"), problem))
    problems.extend(
        authorisation_problems(
            config.authorisations,
            config.privacy.legal_profile,
            [c.id for c in config.cameras],
            LEGAL_PROFILES[config.privacy.legal_profile],
            watching=any(c.rules or c.statistics is None for c in config.cameras),
        )
    )
    if config.notice is not None:
        for camera_id in config.notice.places:
            if camera_id not in seen_cameras:
                problems.append((("notice", "places", camera_id), f"unknown camera {camera_id!r}"))
    if not config.privacy.blur_persons and config.privacy.blur_off_reason is None:
        problems.append(
            (
                ("privacy", "blur_persons"),
                "false keeps persons recognisable in snapshots: give the reason in "
                "privacy.blur_off_reason (it is logged and audited at every start)",
            )
        )
    return problems


def class_problems(
    camera: Camera, produced: Mapping[str, Collection[str]]
) -> list[tuple[str, str]]:
    """Rules of ``camera`` that need detector classes none of its detectors produces.

    Checked once the models are loaded (``vsa-stream check``, the engine at start): only a
    model says which classes it has. With detectors, a camera's objects are their detections
    (no motion blobs), so every rule filtering on ``classes`` needs one of them produced,
    except ``fire`` (flame colour needs no class), ``density`` from occupancy and
    ``abandoned_object`` with static evidence.

    Args:
        camera: a validated camera.
        produced: each detector of the camera -> the engine classes its model produces (its
            class map); no detector: nothing to check.

    Returns:
        ``(path, message)`` per problem, the path relative to the camera (``rules[1].classes``).

    Example:
        >>> from vsa_stream.config import WeaponRule
        >>> cam = Camera(id="c", url="v.mp4", rules=[WeaponRule()])
        >>> class_problems(cam, {"coco": ["person", "vehicle", "bag"]})[0][0]
        'rules[0].classes'
    """
    if not produced:
        return []
    made = {c for classes in produced.values() for c in classes}
    problems: list[tuple[str, str]] = []
    for k, rule in enumerate(camera.rules):
        classes = rule.produced_classes()
        if classes is None or made.intersection(classes):
            continue
        kind = rule.__struct_config__.tag
        detectors = "; ".join(
            f"{d} produces {', '.join(sorted(classes)) or 'nothing'}"
            for d, classes in produced.items()
        )
        problems.append(
            (
                format_path(("rules", k, "classes")),
                f"the {kind} rule needs class {' or '.join(classes)}, which no detector of "
                f"camera {camera.id!r} produces ({detectors}); give the camera a detector whose "
                "model has it (or map a model class to it with class_map)",
            )
        )
    if camera.statistics is not None:
        made_by = "; ".join(
            f"{d} produces {', '.join(sorted(c)) or 'nothing'}" for d, c in produced.items()
        )
        problems.extend(
            (format_path(("statistics", *p)), m)
            for p, m in statistics_class_problems(camera.statistics, made, made_by)
        )
    return problems


def _calibration_problems(cal: Calibration) -> list[tuple[tuple[str | int, ...], str]]:
    if len(cal.image_points) != len(cal.ground_points):
        return [
            (
                ("ground_points",),
                f"expected as many points as image_points ({len(cal.image_points)}), "
                f"got {len(cal.ground_points)}",
            )
        ]
    for key, points in (("image_points", cal.image_points), ("ground_points", cal.ground_points)):
        for n, (x, y) in enumerate(points):
            if not (math.isfinite(x) and math.isfinite(y)):
                return [((key, n), f"coordinates must be finite numbers, got ({x}, {y})")]
            if (
                key == "image_points"
                and cal.units == "normalized"
                and not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0)
            ):
                return [((key, n), f"normalized coordinates must lie in [0, 1], got ({x}, {y})")]
    try:
        _core.Homography(
            np.array(cal.image_points, dtype=np.float64),
            np.array(cal.ground_points, dtype=np.float64),
        )
    except ValueError as exc:
        return [(("image_points",), f"no usable homography: {exc}")]
    return []


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
        elif not hook.allow_private and is_private_host(url.hostname):
            problems.append(
                (
                    (*at, "url"),
                    f"{url.hostname} is a private, loopback or link-local address (refused to "
                    "protect internal services); set allow_private: true to allow it",
                )
            )
        if hook.ca_file is not None:
            if url.scheme != "https":
                problems.append(((*at, "ca_file"), "a CA file is for an https:// URL"))
            problems.extend(_tls_file_problems(at, ca_file=hook.ca_file))
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


def _audit_problems(config: Config) -> list[tuple[tuple[str | int, ...], str]]:
    """The audit key file must exist, be private, and live outside the state folder (whoever
    can write the log there would read the key beside it)."""
    audit = config.audit
    if audit.key_file is not None and audit.key_env is not None:
        return [(("audit", "key_env"), "give key_file or key_env, not both")]
    if audit.key_file is None:
        return []
    at: tuple[str | int, ...] = ("audit", "key_file")
    key = Path(audit.key_file).resolve()
    state = Path(config.state_dir).resolve()
    if key == state or state in key.parents:
        return [(at, f"the audit key must be kept outside state_dir ({config.state_dir})")]
    try:
        mode = stat.S_IMODE(key.stat().st_mode)
    except OSError as exc:
        return [(at, f"cannot read the audit key: {exc.strerror or exc}")]
    if mode & 0o077:
        return [(at, f"the audit key is open to other users (mode {mode:04o}): chmod 600 it")]
    return []


def _server_problems(server: ServerConfig) -> list[tuple[tuple[str | int, ...], str]]:
    problems: list[tuple[tuple[str | int, ...], str]] = []
    names: dict[str, int] = {}
    values: dict[str, int] = {}
    for i, token in enumerate(server.tokens):
        at: tuple[str | int, ...] = ("server", "tokens", i)
        if token.name in names:
            problems.append(((*at, "name"), f"duplicate token name {token.name!r}"))
        names.setdefault(token.name, i)
        if token.token in values:
            problems.append(((*at, "token"), f"same token as server.tokens[{values[token.token]}]"))
        values.setdefault(token.token, i)
    if server.tls is not None:
        try:
            check_server_files(server.tls.cert, server.tls.key)
        except TlsFileError as exc:
            problems.append((("server", "tls", exc.which), str(exc)))
    for i, name in enumerate(server.allowed_hosts):
        if not is_host_name(name):
            problems.append(
                (
                    ("server", "allowed_hosts", i),
                    f"expected a host name or an IP address (no scheme, port or wildcard), "
                    f"got {name[:80]!r}",
                )
            )
    if server.enabled and not server.tokens and not is_loopback_host(server.host):
        problems.append(
            (
                ("server", "host"),
                f"{server.host} is not a loopback address: give server.tokens, or the API "
                "would be open to the network without authentication",
            )
        )
    return problems


def _mqtt_problems(mqtt: MqttSink) -> list[tuple[tuple[str | int, ...], str]]:
    at: tuple[str | int, ...] = ("sinks", "mqtt")
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for name in ("ca_file", "cert_file", "key_file"):
        if getattr(mqtt, name) is not None and not mqtt.tls:
            problems.append(((*at, name), f"{name} needs tls: true"))
    if mqtt.key_file is not None and mqtt.cert_file is None:
        problems.append(((*at, "key_file"), "a key without its certificate: give cert_file"))
    if not problems:
        problems.extend(
            _tls_file_problems(
                at, ca_file=mqtt.ca_file, cert_file=mqtt.cert_file, key_file=mqtt.key_file
            )
        )
    return problems


def _tls_file_problems(
    at: tuple[str | int, ...],
    ca_file: str | None = None,
    cert_file: str | None = None,
    key_file: str | None = None,
) -> list[tuple[tuple[str | int, ...], str]]:
    """The problem of the first unusable file of a client's TLS settings, under ``at``."""
    try:
        client_context(ca_file, cert_file, key_file)
    except TlsFileError as exc:
        if exc.which == "key" and key_file is None:
            return [((*at, "cert_file"), f"{exc} (or give key_file)")]
        return [((*at, f"{exc.which}_file"), str(exc))]
    return []


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
    if not problems:
        try:  # the very check the geometry kernels make: the rules will use this polygon
            _core.validate_polygon(np.asarray(zone.polygon, dtype=np.float64))
        except ValueError as exc:
            problems.append((("polygon",), str(exc)))
    return problems
