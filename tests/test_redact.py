"""No credential reaches a log line or an error message."""

from __future__ import annotations

import io
import json

from vsa_stream.log import configure_logging, get_logger
from vsa_stream.redact import redact_text, redact_url


def test_redact_url_masks_password_and_tokens() -> None:
    assert redact_url("rtsp://admin:pa55@cam:554/live") == "rtsp://admin:***@cam:554/live"
    assert redact_url("https://h/x?token=abc&fps=5") == "https://h/x?token=***&fps=5"
    assert redact_url("rtsp://cam/live") == "rtsp://cam/live"
    assert redact_url("/videos/a.mp4") == "/videos/a.mp4"
    assert redact_url("rtsp://admin:p@ss@cam/live") == "rtsp://admin:***@cam/live"
    assert redact_url("https://TOKEN123@host/x") == "https://***@host/x"
    assert redact_url("srt://h:9000?passphrase=hunter22") == "srt://h:9000?passphrase=***"
    assert redact_url("http://h/x?apikey=k&api_key=k2") == "http://h/x?apikey=***&api_key=***"


def test_redact_text_finds_urls_inside_messages() -> None:
    text = "Connection refused: rtsp://u:p%40ss@10.0.0.1/s (and http://a:b@c/d)"
    out = redact_text(text)
    assert "p%40ss" not in out
    assert ":b@" not in out
    assert "rtsp://u:***@10.0.0.1/s" in out


def test_every_log_line_is_json_with_bound_context_and_no_secret() -> None:
    buf = io.StringIO()
    configure_logging("info", "json", stream=buf)
    log = get_logger(camera_id="gate")
    log.info("cannot open", url="rtsp://admin:hunter2@cam/live", detail="x rtsp://a:b@c/d y")
    log.debug("hidden at info level")
    lines = buf.getvalue().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["camera_id"] == "gate"
    assert record["event"] == "cannot open"
    assert record["level"] == "info"
    assert "hunter2" not in lines[0]
    assert ":b@" not in lines[0]
    assert record["url"] == "rtsp://admin:***@cam/live"


def test_tracebacks_are_logged_as_text_and_redacted() -> None:
    buf = io.StringIO()
    configure_logging("info", "json", stream=buf)
    try:
        raise OSError("cannot reach rtsp://admin:hunter2@cam/live")
    except OSError:
        get_logger(camera_id="gate").exception("camera failed")
    record = json.loads(buf.getvalue())
    assert "Traceback" in record["exception"]
    assert "hunter2" not in buf.getvalue()
    assert "rtsp://admin:***@cam/live" in record["exception"]
