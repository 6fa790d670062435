"""Reading a configuration: YAML, ``${VAR}`` substitution, conversion into the structs."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from vsa_stream.authorisation import dates_as_text
from vsa_stream.config.checks import semantic_problems
from vsa_stream.config.messages import explain, format_path
from vsa_stream.config.model import Config
from vsa_stream.config.rules import LEGAL_PROFILES
from vsa_stream.config.yaml_document import YamlDocument, parse_yaml
from vsa_stream.errors import ConfigError

__all__ = ["load", "loads"]


def load(
    path: str | os.PathLike[str],
    *,
    env: Mapping[str, str] | None = None,
    cluster_node: bool = False,
) -> Config:
    """Read and validate a YAML configuration file.

    Args:
        path: the file.
        env: variables for ``${VAR}`` substitution; the process environment by default.
        cluster_node: a cluster daemon's own configuration (see :func:`loads`).

    Raises:
        ConfigError: the file cannot be read or is invalid; the error names the field.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read configuration: {exc}", source=source) from None
    return loads(text, source=source, env=env, cluster_node=cluster_node)


def loads(
    text: str,
    *,
    source: str | None = None,
    env: Mapping[str, str] | None = None,
    cluster_node: bool = False,
) -> Config:
    """Validate a configuration given as YAML text (see :func:`load`).

    With ``cluster_node``, the text is a cluster daemon's own configuration: no ``cameras``
    (they come from the cluster; the result has one placeholder camera, never run) and no sink
    needed (alerts go to the cluster's ``ALERTS`` stream).
    """
    doc = parse_yaml(text, source=source)
    if not isinstance(doc.data, dict):
        raise ConfigError("expected a mapping at the top level (cameras: ...)", source=source)
    data = _substitute_env(doc, doc.data, (), os.environ if env is None else env)
    if cluster_node:
        if "cameras" in data:
            raise ConfigError(
                "a cluster daemon's configuration has no cameras: they come from the cluster "
                "(vsa-stream cluster apply FLEET_CONFIG)",
                path="cameras",
                line=doc.line_of(("cameras",)),
                source=source,
            )
        data = {**data, "cameras": [{"id": "cluster-node", "url": "cluster"}]}
    _check_rule_types(doc, data)
    data = dates_as_text(data)
    try:
        config = msgspec.convert(data, Config, strict=True)
    except msgspec.ValidationError as exc:
        path, message = explain(str(exc), data)
        raise ConfigError(
            message, path=format_path(path), line=doc.line_of(path), source=source
        ) from None
    for path, message in semantic_problems(config):
        if cluster_node and path in (("sinks",), ("authorisations",)):
            continue  # the ALERTS stream is a sink; authorisations come with the cameras
        raise ConfigError(message, path=format_path(path), line=doc.line_of(path), source=source)
    return config


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
                path=format_path(path),
                line=doc.line_of(path),
                source=doc.source,
            )

        return _ENV.sub(replace, value)
    if isinstance(value, dict):
        return {k: _substitute_env(doc, v, (*path, k), env) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute_env(doc, v, (*path, i), env) for i, v in enumerate(value)]
    return value


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
            else:
                continue
            raise ConfigError(
                message, path=format_path(path), line=doc.line_of(path), source=doc.source
            )
