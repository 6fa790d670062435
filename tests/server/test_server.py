"""The HTTP API against a real daemon on a loopback port, with a real HTTP client."""

from __future__ import annotations

import json
import re
import ssl
from pathlib import Path

import httpx
import pytest

from api_daemon import OPERATOR, VIEWER, api_config, make_event, running_daemon, still_clip
from tls_files import make_pki
from vsa_stream.audit import verify
from vsa_stream.events import decode


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return still_clip(tmp_path_factory.mktemp("clip") / "still.mp4")


def test_health_readiness_and_metrics(tmp_path: Path, clip: Path) -> None:
    with running_daemon(api_config(tmp_path, clip)) as run, run.client(VIEWER) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.get("/readyz").json() == {"ready": True}
        run.inject(make_event())
        metrics = http.get("/metrics")
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
        text = metrics.text
        assert "vsa_event_loop_lag_seconds " in text
        assert 'vsa_frames_decoded_total{camera="cam"}' in text
        assert 'vsa_frames_dropped_total{camera="cam"}' in text
        assert 'vsa_delivery_lag_seconds{sink="collect"}' in text


def test_tokens_and_roles(tmp_path: Path, clip: Path) -> None:
    with running_daemon(api_config(tmp_path, clip)) as run:
        event = make_event()
        run.inject(event)
        review = f"/api/events/{event.id}/review"
        body = {"review": "confirmed"}
        with run.client(None) as anonymous:
            missing = anonymous.get("/api/events")
            assert missing.status_code == 401
            assert missing.json() == {"error": "unauthorized"}
            assert missing.headers["www-authenticate"] == "Bearer"
            assert anonymous.get("/metrics").status_code == 401
            assert anonymous.get("/healthz").status_code == 200  # probes need no token
        with run.client("operator-token-012345678X") as wrong:  # one character off
            response = wrong.post(review, json=body)
            assert response.status_code == 401
            assert response.json() == {"error": "unauthorized"}
        with httpx.Client(base_url=run.url, headers={"Authorization": f"Basic {OPERATOR}"}) as c:
            assert c.get("/api/events").status_code == 401
        with run.client(VIEWER) as viewer:
            assert viewer.get(f"/api/events/{event.id}").status_code == 200
            refused = viewer.post(review, json=body)
            assert refused.status_code == 403
            assert refused.json() == {"error": "forbidden"}
            assert viewer.get(f"/api/events/{event.id}/snapshot").status_code == 403
        with run.client(OPERATOR) as operator:
            assert operator.get(f"/api/events/{event.id}").json()["review"] == "pending"


def test_events_filters_pagination_and_one_event(tmp_path: Path, clip: Path) -> None:
    with running_daemon(api_config(tmp_path, clip)) as run, run.client(VIEWER) as http:
        events = [make_event(kind="intrusion") for _ in range(5)]
        events += [make_event(kind="fire", state="closed") for _ in range(3)]
        events += [make_event(camera="other", kind="intrusion") for _ in range(2)]
        run.inject(*events)
        run.inject(events[0].revised(state="updated"))

        def ids(**params: str) -> list[str]:  # oldest first
            return list(reversed(served(**params)))

        def served(**params: str) -> list[str]:  # in the order of the pages
            found: list[str] = []
            after: str | None = None
            while True:
                query = dict(params, limit="2") | ({"after": after} if after else {})
                page = http.get("/api/events", params=query).json()
                found += [e["id"] for e in page["events"]]
                after = page["next"]
                if after is None:
                    return found

        assert ids() == [e.id for e in events]
        assert served(order="desc") == served() == [e.id for e in reversed(events)]
        assert served(order="asc") == [e.id for e in events]
        assert http.get("/api/events", params={"order": "up"}).status_code == 400
        assert ids(camera="cam") == [e.id for e in events[:8]]
        assert ids(type="fire") == [e.id for e in events[5:8]]
        assert ids(state="updated") == [events[0].id]
        assert ids(camera="other", type="intrusion", review="pending") == [e.id for e in events[8:]]
        one = http.get(f"/api/events/{events[0].id}")
        assert decode(one.content).revision == 2
        assert http.get("/api/events/nope").status_code == 404
        bad = http.get("/api/events", params={"state": "burning"})
        assert bad.status_code == 400
        assert "state must be one of" in bad.json()["error"]
        assert http.get("/api/events", params={"limit": "0"}).status_code == 400
        assert http.get("/api/events", params={"cam": "x"}).status_code == 400


def test_review_reaches_every_sink_and_the_audit_log(tmp_path: Path, clip: Path) -> None:
    cfg = api_config(tmp_path, clip)
    with running_daemon(cfg) as run, run.client(OPERATOR) as http:
        event = make_event()
        run.inject(event)
        response = http.post(
            f"/api/events/{event.id}/review", json={"review": "dismissed", "note": "a cleaner"}
        )
        assert response.status_code == 200
        revised = decode(response.content)
        assert (revised.revision, revised.review, revised.review_note) == (
            2,
            "dismissed",
            "a cleaner",
        )
        listed = http.get("/api/events", params={"review": "dismissed"}).json()["events"]
        assert [e["id"] for e in listed] == [event.id]
        bad = http.post(f"/api/events/{event.id}/review", json={"review": "maybe"})
        assert bad.status_code == 422
        assert http.post("/api/events/nope/review", json={"review": "confirmed"}).status_code == 404
        assert http.post(f"/api/events/{event.id}/review", content=b"{").status_code == 400
    # The sink got the review as a revision (delivery drains before the daemon returns).
    assert [(e.revision, e.review) for e in run.sink.events] == [(1, "pending"), (2, "dismissed")]
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [e["kind"] for e in lines] == ["daemon_start", "review", "daemon_stop"]
    assert lines[1]["data"]["actor"] == "alice"
    assert lines[1]["data"]["event_id"] == event.id
    assert "a cleaner" not in (tmp_path / "audit.jsonl").read_text()  # a hash of the note only
    assert OPERATOR not in (tmp_path / "audit.jsonl").read_text()
    assert verify(tmp_path / "audit.jsonl").ok


def _sse_events(response: httpx.Response, count: int) -> list[tuple[str, dict[str, object]]]:
    out: list[tuple[str, dict[str, object]]] = []
    seq, data = "", ""
    for line in response.iter_lines():
        if line.startswith("id: "):
            seq = line[4:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and data:
            out.append((seq, json.loads(data)))
            data = ""
            if len(out) == count:
                break
    return out


def test_event_stream_sends_new_revisions_and_resumes(tmp_path: Path, clip: Path) -> None:
    with running_daemon(api_config(tmp_path, clip)) as run, run.client(VIEWER) as http:
        before = make_event()
        run.inject(before)
        with http.stream("GET", "/api/stream") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            first, other = make_event(), make_event(camera="other")
            run.inject(first, other)
            run.inject(first.revised(state="closed"))
            got = _sse_events(stream, 3)
        assert [(e["id"], e["revision"]) for _, e in got] == [
            (first.id, 1),
            (other.id, 1),
            (first.id, 2),
        ]
        # Resume after the first one: the two later revisions come again, then only one camera.
        with http.stream("GET", "/api/stream", headers={"Last-Event-ID": got[0][0]}) as stream:
            again = _sse_events(stream, 2)
        assert [e["id"] for _, e in again] == [other.id, first.id]
        with http.stream(
            "GET", "/api/stream", params={"camera": "cam"}, headers={"Last-Event-ID": "0"}
        ) as stream:
            mine = _sse_events(stream, 3)
        assert [e["id"] for _, e in mine] == [before.id, first.id, first.id]
        for bad in ("abc", "-1", "1.5", ""):
            refused = http.get("/api/stream", headers={"Last-Event-ID": bad})
            assert refused.status_code == 400, bad
            assert "Last-Event-ID" in refused.json()["error"]


def test_dead_letters_listed_and_redriven_through_the_api(tmp_path: Path, clip: Path) -> None:
    with running_daemon(api_config(tmp_path, clip)) as run:
        event = make_event()
        (row,) = run.inject(event)
        outbox = run.daemon.engine.outbox
        outbox.give_up("webhook:ops", row.seq, 8, "HTTP 500")  # what delivery does at the end
        with run.client(VIEWER) as viewer:
            dead = viewer.get("/api/outbox/dead").json()["dead"]
            assert [(d["sink"], d["event_id"], d["attempts"]) for d in dead] == [
                ("webhook:ops", event.id, 8)
            ]
            assert viewer.get("/api/outbox/dead", params={"sink": "x"}).json() == {"dead": []}
            assert viewer.post("/api/outbox/redrive").status_code == 403
        with run.client(OPERATOR) as operator:
            assert operator.post("/api/outbox/redrive").json() == {"redriven": 1}
            assert operator.get("/api/outbox/dead").json() == {"dead": []}
        assert [r.attempts for r in outbox.retries("webhook:ops")] == [0]  # queued again
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    redrives = [e["data"] for e in audit if e["kind"] == "outbox_redrive"]
    assert redrives == [{"actor": "alice", "sink": None, "count": 1}]


def test_every_answer_is_in_the_openapi_document(tmp_path: Path, clip: Path) -> None:
    """Each (path, method, status) the API answers, good requests and bad, is documented."""
    answered: list[tuple[str, str, int]] = []

    def record(response: httpx.Response) -> None:
        answered.append((response.request.method, response.request.url.path, response.status_code))

    cfg = api_config(tmp_path, clip)
    cfg.privacy.snapshots = True
    with running_daemon(cfg) as run:
        event = make_event()
        run.inject(event)
        hooks = {"response": [record]}
        with (
            run.client(OPERATOR) as http,
            run.client(VIEWER) as viewer,
            run.client(None) as anonymous,
        ):
            for client in (http, viewer, anonymous):
                client.event_hooks = hooks
            for client in (http, viewer, anonymous):
                client.get("/healthz")
                client.get("/readyz")
                client.get("/metrics")
                client.get("/api/openapi.json")
                client.get("/api/me")
                client.get("/api/cameras")
                client.get("/api/events")
                client.get(f"/api/events/{event.id}")
                client.get(f"/api/events/{event.id}/snapshot")
                client.post(f"/api/events/{event.id}/review", json={"review": "confirmed"})
                client.get("/api/stream", headers={"Last-Event-ID": "x"})
                client.get("/api/outbox/dead")
                client.post("/api/outbox/redrive")
                client.post("/api/config/reload")
            http.get("/api/events", params={"limit": "0"})
            http.get("/api/events/nope")
            http.get("/api/events/nope/snapshot")
            http.post(f"/api/events/{event.id}/review", content=b"{")
            http.post(f"/api/events/{event.id}/review", json={"review": "maybe"})
            http.post("/api/events/nope/review", json={"review": "confirmed"})
            with http.stream("GET", "/api/stream") as stream:
                record(stream)
            for path in ("/api/events", "/api/openapi.json", "/healthz"):  # DNS rebinding
                http.get(path, headers={"Host": "rebound.example"})
            doc = http.get("/api/openapi.json").json()
    assert {status for _, _, status in answered} >= {200, 400, 401, 403, 404, 421, 422}

    def template(path: str) -> str:
        for documented in doc["paths"]:
            pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(documented)) + "$"
            if re.match(pattern, path):
                return str(documented)
        raise AssertionError(f"{path} is not in the OpenAPI document")

    for method, path, status in answered:
        operation = doc["paths"][template(path)][method.lower()]
        assert str(status) in operation["responses"], (method, path, status)


def test_cameras_and_openapi(tmp_path: Path, clip: Path) -> None:
    with running_daemon(api_config(tmp_path, clip)) as run, run.client(VIEWER) as http:
        cams = http.get("/api/cameras").json()["cameras"]
        assert [c["id"] for c in cams] == ["cam"]
        cam = cams[0]
        assert cam["state"] in ("connecting", "streaming")
        assert cam["history"][0]["state"] == "connecting"
        assert cam["zones"] == [
            {
                "id": "gate",
                "units": "normalized",
                "polygon": [[0.5, 0.5], [0.9, 0.5], [0.9, 0.9], [0.5, 0.9]],
            }
        ]
        assert {"decoded", "dropped", "reconnects", "decode_fps", "detection"} <= set(cam)
        assert http.get("/api/me").json() == {"name": "screen", "role": "viewer"}
        doc = httpx.get(run.url + "/api/openapi.json").json()
        assert doc["openapi"] == "3.1.0"
        assert {"/api/events", "/api/events/{event_id}/review", "/api/stream"} <= set(doc["paths"])
        assert "Event" in doc["components"]["schemas"]


def test_anonymous_viewer_on_loopback_without_tokens(tmp_path: Path, clip: Path) -> None:
    cfg = api_config(tmp_path, clip)
    cfg.server.tokens.clear()
    with running_daemon(cfg) as run, run.client(None) as http:
        event = make_event()
        run.inject(event)
        assert http.get(f"/api/events/{event.id}").status_code == 200
        review = http.post(f"/api/events/{event.id}/review", json={"review": "confirmed"})
        assert review.status_code == 403


def test_https_with_a_verifying_client(tmp_path: Path, clip: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    tls = f"  tls: {{cert: {pki.server_cert}, key: {pki.server_key}}}"
    trust = ssl.create_default_context(cafile=str(pki.ca))
    with running_daemon(api_config(tmp_path, clip, server=tls), verify=trust) as run:
        assert run.url.startswith("https://127.0.0.1:")
        with run.client(VIEWER) as http:
            assert http.get("/api/me").json() == {"name": "screen", "role": "viewer"}
        with httpx.Client(base_url=run.url.replace("127.0.0.1", "localhost"), verify=trust) as h:
            assert h.get("/healthz").json() == {"status": "ok"}  # the name in the certificate
        with (
            httpx.Client(base_url=run.url) as untrusting,  # the system's CAs: not ours
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            untrusting.get("/healthz")
        plain = run.url.replace("https://", "http://")
        with httpx.Client(base_url=plain) as cleartext, pytest.raises(httpx.TransportError):
            cleartext.get("/healthz")  # no answer in clear on the TLS port


def test_requests_naming_another_host_are_refused(tmp_path: Path, clip: Path) -> None:
    extra = "  allowed_hosts: [cam.example.org, '[fd00::5]']"
    with running_daemon(api_config(tmp_path, clip, server=extra)) as run, run.client() as http:
        port = run.url.rsplit(":", 1)[1]
        for host in ("127.0.0.1", f"localhost:{port}", f"[::1]:{port}", "CAM.example.org:443"):
            assert http.get("/api/me", headers={"Host": host}).status_code == 200, host
        assert http.get("/api/me", headers={"Host": "[FD00::5]"}).status_code == 200
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", "cam"):
            refused = http.get("/api/events", headers={"Host": host})
            assert refused.status_code == 421, host
            assert "server.allowed_hosts" in refused.json()["error"]
            assert http.get("/operator", headers={"Host": host}).status_code == 421
            redrive = http.post("/api/outbox/redrive", headers={"Host": host})
            assert redrive.status_code == 421
            # the probes answer whatever the Host (load balancers probe by address)
            assert http.get("/healthz", headers={"Host": host}).status_code == 200
            assert http.get("/readyz", headers={"Host": host}).status_code == 200


def test_a_network_bind_without_tls_warns_at_every_start(
    tmp_path: Path, clip: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warning = "http api served without TLS on a non-loopback address"
    pki = make_pki(tmp_path / "pki")
    tls = f"\n  tls: {{cert: {pki.server_cert}, key: {pki.server_key}}}"
    trust = ssl.create_default_context(cafile=str(pki.ca))
    for server, trusting, warned in (
        ("  host: 0.0.0.0", True, 1),
        ("  host: 0.0.0.0", True, 1),  # every start, not once per state folder
        ("  host: 0.0.0.0" + tls, trust, 0),
        ("  host: 127.0.0.1", True, 0),
    ):
        capsys.readouterr()
        cfg = api_config(tmp_path, clip, server=server)
        with running_daemon(cfg, verify=trusting) as run, run.client() as http:
            assert http.get("/api/me").status_code == 200
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
        warnings = [line for line in lines if line.get("event", "").startswith(warning)]
        assert len(warnings) == warned, server
        assert all(w["level"] == "warning" and "server.tls" in w["event"] for w in warnings)
