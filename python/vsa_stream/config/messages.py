"""msgspec's validation messages turned into a field path and a message for a person."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from vsa_stream.config.model import Config
from vsa_stream.redact import redact_text

__all__ = ["explain", "format_path"]


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


def explain(text: str, data: Any) -> tuple[tuple[str | int, ...], str]:
    """Turn a msgspec validation message into (path, message for a person)."""
    match = _AT.match(text)
    message = match.group("msg") if match else text
    path = _parse_path(match.group("path") or "") if match else ()
    field = _FIELD.match(message)
    if field:
        path = (*path, field.group(2))
        if field.group(1) == "contains unknown":
            return path, "unknown key" + _known_keys_hint(path[:-1], data)
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
    secret = any(p in _SECRET_FIELDS for p in path if isinstance(p, str))
    if value is not None and not isinstance(value, dict | list) and not secret:
        message += f" (value: {redact_text(repr(value))})"
    return path, message[:1].lower() + message[1:]


#: Fields whose values never appear in an error message.
_SECRET_FIELDS = ("secrets", "password", "token", "tokens")


def _known_keys_hint(path: tuple[str | int, ...], data: Any) -> str:
    struct = _struct_at(path, data)
    if struct is None:
        return ""
    return "; expected one of: " + ", ".join(struct.__struct_fields__)


def _struct_at(path: tuple[str | int, ...], data: Any) -> type[msgspec.Struct] | None:
    """The Struct type found at ``path`` of a Config; a tagged union (the rules) resolves to
    the member whose tag the document's ``type`` names there."""
    current: Any = Config
    for depth, part in enumerate(path):
        if isinstance(part, int):
            continue
        by_name = {f.name: f.type for f in msgspec.structs.fields(current)}
        if part not in by_name:
            return None
        members = _structs_in(by_name[part])
        if len(members) > 1:
            # the item of this field that the path goes on into: its tag picks the member
            item = _lookup(data, path[: depth + 2] if _indexed(path, depth) else path[: depth + 1])
            tag = item.get("type") if isinstance(item, dict) else None
            members = [m for m in members if m.__struct_config__.tag == tag]
        if len(members) != 1:
            return None
        current = members[0]
    return current if isinstance(current, type) and issubclass(current, msgspec.Struct) else None


def _indexed(path: tuple[str | int, ...], depth: int) -> bool:
    return depth + 1 < len(path) and isinstance(path[depth + 1], int)


def _structs_in(tp: Any) -> list[type[msgspec.Struct]]:
    """The Struct types inside ``list[X]``, ``X | Y | None``, ``Annotated[X, ...]``."""
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return [tp]
    if getattr(tp, "__metadata__", None) is not None:
        return _structs_in(tp.__origin__)
    return [s for arg in getattr(tp, "__args__", ()) for s in _structs_in(arg)]


def format_path(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out
