"""``GET /api/stats``: the statistics intervals, as JSON or CSV.

Query: ``camera``, ``from`` and ``to`` (ISO 8601, or Unix seconds; intervals that start in
``[from, to)``), ``format`` (``json``, the default, or ``csv``), ``limit`` (1..10000, default
10000). Without a statistics database (no camera has ``statistics``) the answer is empty.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
import msgspec
from starlette.requests import Request
from starlette.responses import Response

from vsa_stream.server.auth import Principal
from vsa_stream.stats.store import CameraInterval, StatisticsStore, to_csv

__all__ = ["MAX_INTERVALS", "parse_time", "statistics_handler", "statistics_openapi"]

#: The most intervals one answer holds.
MAX_INTERVALS = 10000
_PARAMS = frozenset({"camera", "from", "to", "format", "limit"})


def parse_time(text: str) -> float:
    """Unix seconds from ``text``: a number, or an ISO 8601 date or time (UTC when it names no
    offset).

    Raises:
        ValueError: neither.

    Example:
        >>> parse_time("1970-01-02"), parse_time("3600")
        (86400.0, 3600.0)
    """
    try:
        return float(text)
    except ValueError:
        pass
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _error(status: int, message: str) -> Response:
    return Response(msgspec.json.encode({"error": message}), status, media_type="application/json")


def statistics_handler(
    store: Callable[[], StatisticsStore | None],
) -> Callable[[Request, Principal], Awaitable[Response]]:
    """The handler of ``/api/stats`` reading ``store()``."""

    async def handle(request: Request, who: Principal) -> Response:
        q = request.query_params
        unknown = set(q) - _PARAMS
        if unknown:
            return _error(400, f"unknown query parameter {sorted(unknown)[0]!r}")
        kind = q.get("format", "json")
        if kind not in ("json", "csv"):
            return _error(400, "format must be json (the default) or csv")
        bounds: dict[str, float | None] = {}
        for name in ("from", "to"):
            text = q.get(name)
            try:
                bounds[name] = None if text is None else parse_time(text)
            except ValueError:
                return _error(400, f"{name} must be an ISO 8601 date or time, or Unix seconds")
        try:
            limit = int(q.get("limit", str(MAX_INTERVALS)))
        except ValueError:
            limit = -1
        if not 1 <= limit <= MAX_INTERVALS:
            return _error(400, f"limit must be an integer from 1 to {MAX_INTERVALS}")
        found: list[CameraInterval] = []
        db = store()
        if db is not None:
            found = await anyio.to_thread.run_sync(
                lambda: db.query(
                    camera_id=q.get("camera"),
                    since=bounds["from"],
                    until=bounds["to"],
                    limit=limit,
                )
            )
        if kind == "csv":
            return Response(to_csv(found), 200, media_type="text/csv; charset=utf-8")
        return Response(
            msgspec.json.encode({"intervals": found}), 200, media_type="application/json"
        )

    return handle


def statistics_openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    """The OpenAPI path item of ``/api/stats`` and the schemas it refers to."""
    (_, schemas) = msgspec.json.schema_components(
        [CameraInterval], ref_template="#/components/schemas/{name}"
    )
    schemas["StatsPage"] = {
        "type": "object",
        "properties": {
            "intervals": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/CameraInterval"},
            }
        },
        "required": ["intervals"],
    }

    def param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "description": description,
                "schema": schema}  # fmt: skip

    error = {
        "description": "error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    text = {"type": "string"}
    path = {
        "get": {
            "summary": "Statistics intervals (counts per line and direction, zone occupancy), "
            'oldest first; counts below min_count read "< k" (viewer)',
            "security": [{"bearer": []}],
            "parameters": [
                param("camera", "camera id", text),
                param("from", "intervals starting at or after (ISO 8601 or Unix seconds)", text),
                param("to", "intervals starting before (ISO 8601 or Unix seconds)", text),
                param("format", "json (default) or csv", {"enum": ["json", "csv"]}),
                param(
                    "limit",
                    "intervals at most",
                    {"type": "integer", "minimum": 1, "maximum": MAX_INTERVALS},
                ),
            ],
            "responses": {
                "200": {
                    "description": "the intervals",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/StatsPage"}},
                        "text/csv": {},
                    },
                },
                "400": error,
                "401": error | {"description": "missing or wrong token"},
                "403": error | {"description": "the token's role is not enough"},
            },
        }
    }
    return path, schemas
