"""The OpenAPI 3.1 document of the HTTP API (``GET /api/openapi.json``).

Schemas of the bodies are generated from the same msgspec Structs the server encodes and
decodes, so the document cannot drift from the wire format.

Example:
    >>> doc = openapi_document()
    >>> doc["openapi"], "/api/events/{event_id}/review" in doc["paths"]
    ('3.1.0', True)
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Literal

import msgspec

from vsa_stream import __version__
from vsa_stream.event_types import EVENT_TYPES
from vsa_stream.events import Cause, Event
from vsa_stream.reload import ReloadReport
from vsa_stream.server.hosts import PROBES
from vsa_stream.server.stats_api import statistics_openapi

__all__ = ["ReviewRequest", "openapi_document"]


class ReviewRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The body of ``POST /api/events/{id}/review``: the verdict, for a ``false_alarm`` its
    cause, and an optional note (``dismissed``: the cause-less verdict of earlier versions)."""

    review: Literal["confirmed", "false_alarm", "unclear", "dismissed"]
    note: str | None = None
    cause: Cause | None = None


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR = _json(_ref("Error"), "error")
_AUTH = {
    "401": _ERROR | {"description": "missing or wrong token"},
    "403": _ERROR | {"description": "the token's role is not enough"},
}


def _param(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def openapi_document(
    served: Collection[str] | None = None, *, review_status: int = 200
) -> dict[str, Any]:
    """The OpenAPI document (a fresh dict each call).

    Args:
        served: the paths the server serves (None: every path a daemon serves); the others
            are left out.
        review_status: the status of an accepted review (200: the daemon applies it; 202: the
            cluster console records it, and the raising node applies it).
    """
    (_, components) = msgspec.json.schema_components(
        [Event, ReviewRequest, ReloadReport], ref_template="#/components/schemas/{name}"
    )
    components["Error"] = {
        "type": "object",
        "properties": {"error": {"type": "string"}},
        "required": ["error"],
    }
    components["EventPage"] = {
        "type": "object",
        "properties": {
            "events": {"type": "array", "items": _ref("Event")},
            "next": {
                "type": ["string", "null"],
                "description": "pass as `after` for the next page",
            },
        },
        "required": ["events", "next"],
    }
    event_id = {"name": "event_id", "in": "path", "required": True, "schema": {"type": "string"}}
    viewer: list[dict[str, list[str]]] = [{"bearer": []}]
    paths: dict[str, Any] = {
        "/healthz": {
            "get": {"summary": "The process is alive", "responses": {"200": _json({}, "alive")}}
        },
        "/readyz": {
            "get": {
                "summary": (
                    "Ready: a daemon's cameras started and outbox open; a console's fleet "
                    "view caught up with ALERTS"
                ),
                "responses": {"200": _json({}, "ready"), "503": _json({}, "not ready yet")},
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics (viewer)",
                "security": viewer,
                "responses": {
                    "200": {"description": "text format 0.0.4", "content": {"text/plain": {}}},
                    **_AUTH,
                },
            }
        },
        "/api/events": {
            "get": {
                "summary": "Latest revision of each event, newest first (or `order=asc`), one "
                "page (viewer)",
                "security": viewer,
                "parameters": [
                    _param("camera", "camera id"),
                    _param("type", "event type", {"enum": list(EVENT_TYPES)}),
                    _param("state", "lifecycle", {"enum": ["open", "updated", "closed"]}),
                    _param(
                        "review",
                        "review state",
                        {"enum": ["pending", "confirmed", "false_alarm", "unclear", "dismissed"]},
                    ),
                    _param("after", "the `next` of the previous page"),
                    _param(
                        "order",
                        "desc: newest first (default); asc: oldest first",
                        {"enum": ["desc", "asc"]},
                    ),
                    _param("limit", "page size", {"type": "integer", "minimum": 1, "maximum": 500}),
                ],
                "responses": {"200": _json(_ref("EventPage"), "a page"), "400": _ERROR, **_AUTH},
            }
        },
        "/api/events/{event_id}": {
            "get": {
                "summary": "Latest revision of one event (viewer)",
                "security": viewer,
                "parameters": [event_id],
                "responses": {"200": _json(_ref("Event"), "the event"), "404": _ERROR, **_AUTH},
            }
        },
        "/api/events/{event_id}/review": {
            "post": {
                "summary": "Record a verdict (confirmed, false_alarm with its cause, unclear): a "
                "new revision to every sink (operator)",
                "security": viewer,
                "parameters": [event_id],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("ReviewRequest")}},
                },
                "responses": {
                    str(review_status): _json(
                        _ref("Event"),
                        "the new revision"
                        if review_status == 200
                        else "recorded: the event as its next revision will read "
                        "(header Vsa-Review-Recorded: false when already recorded)",
                    ),
                    "400": _ERROR | {"description": "the body is not JSON"},
                    "404": _ERROR,
                    "422": _ERROR,
                    **_AUTH,
                },
            }
        },
        "/api/events/{event_id}/snapshot": {
            "get": {
                "summary": "Evidence snapshot, persons pixelated; every read is audited (operator)",
                "security": viewer,
                "parameters": [event_id, _param("kind", "which", {"enum": ["open", "closed"]})],
                "responses": {
                    "200": {"description": "JPEG", "content": {"image/jpeg": {}}},
                    "404": _ERROR,
                    **_AUTH,
                },
            }
        },
        "/api/cameras": {
            "get": {
                "summary": (
                    "Cameras: state, counters, zones; a daemon adds history and detection "
                    "rates, a console the node running each (viewer)"
                ),
                "security": viewer,
                "responses": {"200": _json({"type": "object"}, "cameras"), **_AUTH},
            }
        },
        "/api/openapi.json": {
            "get": {
                "summary": "This document (no token)",
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")},
            }
        },
        "/api/outbox/dead": {
            "get": {
                "summary": "Dead letters: revisions every delivery attempt to a sink failed "
                "(viewer)",
                "security": viewer,
                "parameters": [_param("sink", "only this sink (e.g. webhook:ops)")],
                "responses": {"200": _json({"type": "object"}, "{dead: [...]}"), **_AUTH},
            }
        },
        "/api/outbox/redrive": {
            "post": {
                "summary": "Re-queue the dead letters with a fresh retry schedule; audited "
                "(operator)",
                "security": viewer,
                "parameters": [_param("sink", "only this sink")],
                "responses": {"200": _json({"type": "object"}, "{redriven: N}"), **_AUTH},
            }
        },
        "/api/config/reload": {
            "post": {
                "summary": "Load the configuration file again and apply only what changed; "
                "invalid: nothing changes; audited (operator)",
                "security": viewer,
                "responses": {
                    "200": _json(_ref("ReloadReport"), "applied: what started, stopped, ..."),
                    "422": _json(_ref("ReloadReport"), "rejected, nothing changed (error, field)"),
                    "503": _ERROR | {"description": "the daemon has no configuration file"},
                    **_AUTH,
                },
            }
        },
        "/api/me": {
            "get": {
                "summary": "The token's name and role, so a client shows only what it may do "
                "(viewer)",
                "security": viewer,
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string"},
                                "role": {"enum": ["viewer", "operator"]},
                            },
                        },
                        "who",
                    ),
                    **_AUTH,
                },
            }
        },
        "/api/stream": {
            "get": {
                "summary": "Server-sent events: each new revision (`event: revision`, id = seq; "
                "send Last-Event-ID to resume) (viewer)",
                "security": viewer,
                "parameters": [
                    _param("camera", "only this camera"),
                    {
                        "name": "Last-Event-ID",
                        "in": "header",
                        "description": "the id of the last revision received, to resume",
                        "schema": {"type": "string", "pattern": "^[0-9]+$"},
                    },
                ],
                "responses": {
                    "200": {"description": "event stream", "content": {"text/event-stream": {}}},
                    "400": _ERROR | {"description": "a Last-Event-ID that is not a number"},
                    **_AUTH,
                },
            }
        },
    }
    if review_status == 202:
        paths["/api/events/{event_id}/review"]["post"]["responses"]["409"] = _ERROR | {
            "description": "the node that raised this event is not known"
        }
    paths["/api/stats"], stats_schemas = statistics_openapi()
    if served is not None:
        paths = {path: operations for path, operations in paths.items() if path in served}
    if "/api/stats" in paths:
        components.update(stats_schemas)
    # The Host allow-list (server/hosts.py) answers every route but the probes.
    for path, operations in paths.items():
        if path not in PROBES:
            for operation in operations.values():
                operation["responses"]["421"] = _ERROR | {
                    "description": "the Host header is not an allowed name (server.allowed_hosts)"
                }
    return {
        "openapi": "3.1.0",
        "info": {"title": "vsa_stream", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
