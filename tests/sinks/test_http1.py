"""The webhook HTTP/1.1 client against real servers on loopback that answer what each test says."""

from __future__ import annotations

import base64
import re
import shutil
import ssl
from pathlib import Path

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from http_script import CLOSE, HANG, no_content, server
from sample_events import make_event
from vsa_stream.sinks import DeliveryError
from vsa_stream.sinks.http1 import Http1Client, HttpError, Response
from vsa_stream.sinks.webhook import WebhookSink
from webhook_endpoint import endpoint


async def post_all(client: Http1Client, bodies: list[bytes], **kw: object) -> list[Response]:
    out: list[Response] = []

    async def one(body: bytes) -> None:
        out.append(await client.post(body, [("webhook-id", "x-1")], **kw))  # type: ignore[arg-type]

    async with anyio.create_task_group() as tg:
        for body in bodies:
            tg.start_soon(one, body)
    await client.aclose()
    return out


async def post_in_turn(client: Http1Client, count: int) -> list[Response | HttpError]:
    out: list[Response | HttpError] = []
    for i in range(count):
        try:
            out.append(await client.post(b"{%d}" % i))
        except HttpError as exc:
            out.append(exc)
    await client.aclose()
    return out


@pytest.mark.anyio
async def test_requests_share_kept_alive_connections_never_more_than_the_limit() -> None:
    bodies = [b'{"n":%d}' % i + b"x" * i for i in range(40)]
    with server(no_content) as seen:
        responses = await post_all(Http1Client(seen.url, max_connections=3), bodies)
    assert [r.status for r in responses] == [204] * 40
    assert len(seen.requests) == 40
    assert 1 <= seen.connections <= 3
    assert sorted(body for _, _, body in seen.requests) == sorted(bodies)
    _, headers, _ = seen.requests[0]
    assert headers["request-line"] == "POST /hook HTTP/1.1"
    assert headers["host"] == f"127.0.0.1:{seen.port}"
    assert headers["webhook-id"] == "x-1"


@pytest.mark.anyio
async def test_answers_framed_by_length_chunks_or_close_after_an_interim_answer() -> None:
    answers = [
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        b"HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\nRetry-After: 7\r\n\r\n"
        b"5;ext=1\r\nhello\r\n3\r\n!!!\r\n0\r\nx-trailer: 1\r\n\r\n",
        b"HTTP/1.0 202 Accepted\r\n\r\nread until the server closes" + CLOSE,
        b"HTTP/1.1 410 Gone\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ]

    with server(lambda index, _: answers[index]) as seen:
        got = await post_in_turn(Http1Client(seen.url), 5)
    assert [r.status for r in got if isinstance(r, Response)] == [200, 503, 202, 410, 204]
    second = got[1]
    assert isinstance(second, Response)
    assert second.headers["retry-after"] == "7"
    # 1 and 2 on the first connection, 3 ends it (an answer without length lasts until the
    # server closes), 4 says close, 5 on a new one.
    assert [number for number, _, _ in seen.requests] == [1, 1, 1, 2, 3]


@pytest.mark.anyio
async def test_a_kept_alive_connection_the_server_dropped_is_replaced_once() -> None:
    def drop_second_on_each(_: int, on_conn: int) -> bytes:
        return CLOSE if on_conn == 1 else no_content(0, 0)

    with server(drop_second_on_each) as seen:
        got = await post_in_turn(Http1Client(seen.url, max_connections=1), 2)
    assert [r.status for r in got if isinstance(r, Response)] == [204, 204]
    assert seen.connections == 2
    assert [number for number, _, _ in seen.requests] == [1, 1, 2]


@pytest.mark.anyio
async def test_a_new_connection_closed_without_answer_is_an_error_not_a_loop() -> None:
    with server(lambda _, __: CLOSE) as seen:
        got = await post_in_turn(Http1Client(seen.url), 1)
    assert isinstance(got[0], HttpError)
    assert "before any answer" in str(got[0])
    assert len(seen.requests) == 1


@pytest.mark.anyio
async def test_no_answer_in_time_and_garbage_answers_are_errors() -> None:
    with server(lambda _, __: HANG) as seen:
        (hung,) = await post_in_turn(Http1Client(seen.url, timeout_s=0.3), 1)
    assert isinstance(hung, HttpError)
    assert "within 0.3 s" in str(hung)
    with server(lambda _, __: b"SSH-2.0-OpenSSH_9.2\r\n\r\n") as seen:
        (garbage,) = await post_in_turn(Http1Client(seen.url), 1)
    assert isinstance(garbage, HttpError)
    assert "malformed HTTP/1.1 answer: illegal status line" in str(garbage)
    big = b"HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n" + b"x" * 5000
    with server(lambda _, __: big) as seen:
        (too_big,) = await post_in_turn(Http1Client(seen.url, max_body=1000), 1)
    assert isinstance(too_big, HttpError)
    assert "larger than 1000" in str(too_big)
    port = seen.port  # the server is gone: nothing listens there now
    (refused,) = await post_in_turn(Http1Client(f"http://127.0.0.1:{port}/"), 1)
    assert isinstance(refused, HttpError)
    assert "cannot connect" in str(refused)


@pytest.mark.anyio
async def test_connects_to_the_addresses_given_keeping_the_url_host_and_its_credentials() -> None:
    with server(no_content) as seen:
        url = f"http://ops:p%40ss@webhook.invalid:{seen.port}/in?x=1"
        responses = await post_all(Http1Client(url), [b"{}"], addresses=["127.0.0.1"])
    assert [r.status for r in responses] == [204]
    (_, headers, _) = seen.requests[0]
    assert headers["request-line"] == "POST /in?x=1 HTTP/1.1"
    assert headers["host"] == f"webhook.invalid:{seen.port}"
    assert headers["authorization"] == "Basic " + base64.b64encode(b"ops:p@ss").decode()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
@pytest.mark.anyio
async def test_https_checks_the_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    await anyio.run_process(  # output captured, an error raised on failure
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"],
    )  # fmt: skip
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))
    with server(no_content, tls=tls) as seen:
        url = f"https://localhost:{seen.port}/hook"
        ok = await post_in_turn(Http1Client(url, ssl_context=trusting), 2)
        (untrusted,) = await post_in_turn(Http1Client(url), 1)  # certifi's CAs: not ours
    assert [r.status for r in ok if isinstance(r, Response)] == [204, 204]
    assert isinstance(untrusted, HttpError)
    assert "CERTIFICATE_VERIFY_FAILED" in str(untrusted)
    assert len(seen.requests) == 2  # nothing was sent over the untrusted connection


# --- fuzzing: malformed answers from a real loopback server --------------------------------

_CODES = st.one_of(
    st.integers(100, 599).map(str), st.sampled_from(["", "20", "2000", "-1", "0x1F", "٢٠٠", "2 0"])
)
_STATUS_LINE = st.one_of(
    st.builds(
        lambda version, code, reason: f"{version} {code} {reason}".encode(),
        st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2", "HTTP/1.x", "http/1.1", "HTTP/1.1 "]),
        _CODES,
        st.text(max_size=12),
    ),
    st.binary(max_size=30),
)
_NAMES = [b"content-length", b"Transfer-Encoding", b"connection", b"retry-after"]
_VALUES = [b"0", b"5", b"-1", b"1, 2", b"99999999999999999999", b"chunked", b"gzip, chunked",
           b"chunked, gzip", b"close", b"keep-alive", b"", b" 3 "]  # fmt: skip
_HEADER = st.one_of(
    st.tuples(st.sampled_from(_NAMES), st.sampled_from(_VALUES)),
    st.tuples(st.binary(max_size=12), st.binary(max_size=20)),
)


def _chunked(pieces: list[tuple[bytes, str]], trailer: bytes) -> bytes:
    out = b""
    for data, size in pieces:
        out += size.encode() + b"\r\n" + data + b"\r\n"
    return out + b"0\r\n" + trailer + b"\r\n"


_CHUNK = st.tuples(st.binary(max_size=20), st.sampled_from(["", "zz", "-1", "ffffffffffff"]))
_BODY = st.one_of(
    st.binary(max_size=60),
    st.builds(
        _chunked,
        st.lists(
            st.one_of(st.binary(max_size=20).map(lambda d: (d, f"{len(d):x}")), _CHUNK),
            max_size=4,
        ),
        st.sampled_from([b"", b"x-t: 1\r\n", b"bad trailer\r\n"]),
    ),
)


@st.composite
def answers(draw: st.DrawFn) -> bytes:
    """A mostly-HTTP answer: random status line, headers, body, line ends and truncation."""
    eol = draw(st.sampled_from([b"\r\n", b"\n", b"\r"]))
    head = draw(_STATUS_LINE) + eol
    for name, value in draw(st.lists(_HEADER, max_size=5)):
        head += name + draw(st.sampled_from([b": ", b":", b" : ", b""])) + value + eol
    raw = head + eol + draw(_BODY)
    if draw(st.booleans()):
        raw = raw[: draw(st.integers(0, len(raw)))]
    return raw


def test_malformed_answers_are_delivery_errors_never_hangs_or_other_exceptions() -> None:
    """Whatever the server answers before closing the connection, a webhook delivery ends with
    success (a well-formed 2xx) or a DeliveryError, and never waits for its time-out."""
    current = [b""]
    with server(lambda _, __: current[0] + CLOSE) as seen:

        @settings(max_examples=300, deadline=None, database=None)
        @given(answers())
        def check(answer: bytes) -> None:
            current[0] = answer
            sink = WebhookSink(endpoint(seen.url, timeout_s=60.0))

            async def main() -> DeliveryError | None:
                try:
                    await sink.send(make_event())
                except DeliveryError as exc:
                    return exc
                finally:
                    await sink.aclose()
                return None

            # hypothesis calls check() synchronously, once per example: a loop each example
            outcome = anyio.run(main)
            assert outcome is None or "within 60 s" not in str(outcome)
            if outcome is None:  # only a complete, well-formed 2xx is a success
                assert re.match(rb"HTTP/1\.[01] 2\d\d[ \r\n]", answer)

        check()


def test_well_formed_answers_keep_their_status_and_headers() -> None:
    """The same answers, written well, parse to their status and headers, over one kept-alive
    connection."""
    current: list[bytes] = []

    @settings(max_examples=60, deadline=None, database=None)
    @given(
        st.lists(
            st.tuples(
                st.integers(200, 599),
                st.dictionaries(
                    st.from_regex(r"x-[a-z0-9-]{1,10}", fullmatch=True),
                    st.from_regex(r"[!-~]([ -~]{0,20}[!-~])?", fullmatch=True),
                    max_size=4,
                ),
                st.binary(max_size=50),
                st.booleans(),
            ),
            min_size=1,
            max_size=4,
        )
    )
    def check(exchanges: list[tuple[int, dict[str, str], bytes, bool]]) -> None:
        current.clear()
        for status, headers, body, chunked in exchanges:
            if status in (204, 304):  # never a body: its bytes would be a second answer
                body, chunked = b"", False
            head = f"HTTP/1.1 {status} Whatever\r\n" + "".join(
                f"{k}: {v}\r\n" for k, v in headers.items()
            )
            if chunked:
                framed = _chunked([(body, f"{len(body):x}")] if body else [], b"")
                current.append(f"{head}transfer-encoding: chunked\r\n\r\n".encode() + framed)
            else:
                current.append(f"{head}content-length: {len(body)}\r\n\r\n".encode() + body)
        with server(lambda index, _: current[index]) as seen:
            client = Http1Client(seen.url, max_connections=1)
            # hypothesis calls check() synchronously, once per example: a loop each example
            got = anyio.run(post_in_turn, client, len(exchanges))
        assert seen.connections == 1
        for response, (status, headers, _, _) in zip(got, exchanges, strict=True):
            assert isinstance(response, Response)
            assert response.status == status
            assert {k: response.headers[k] for k in headers} == headers

    check()
