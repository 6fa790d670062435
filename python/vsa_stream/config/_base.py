"""What every section of the configuration shares: the strict base struct and common field types."""

from __future__ import annotations

from typing import Annotated

import msgspec

__all__ = ["Problem"]


_ID = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


_Point = tuple[float, float]


class _Base(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


_Seconds = Annotated[float, msgspec.Meta(ge=0.0, le=3600.0)]


_Cooldown = Annotated[float, msgspec.Meta(ge=0.0, le=86400.0)]


_Fraction = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]


#: A problem of a configuration: the path of the field (relative to where it is checked) and
#: the message for a person.
Problem = tuple[tuple[str | int, ...], str]
