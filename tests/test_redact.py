"""No credential reaches a log line or an error message."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from api_daemon import still_clip
from vsa_stream import config
from vsa_stream.errors import ConfigError
from vsa_stream.log import configure_logging, get_logger
from vsa_stream.redact import redact_text, redact_url

ROOT = Path(__file__).resolve().parent.parent


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


def test_standard_library_logging_is_json_and_redacted() -> None:
    """Libraries log through ``logging`` (uvicorn, asyncio, paho): same lines, same masking."""
    buf = io.StringIO()
    configure_logging("info", "json", stream=buf)
    logging.getLogger("paho.mqtt.client").warning("connect to mqtt://u:hunter2@broker failed")
    try:
        raise ConnectionError("rtsp://admin:hunter2@cam/live reset")
    except ConnectionError:
        logging.getLogger("asyncio").exception("Task exception was never retrieved")
    logging.getLogger("uvicorn.error").info("Started server process")  # a library's info line
    lines = buf.getvalue().splitlines()
    records = [json.loads(line) for line in lines]
    assert [(r["logger"], r["level"]) for r in records] == [
        ("paho.mqtt.client", "warning"),
        ("asyncio", "error"),
    ]
    assert "hunter2" not in buf.getvalue()
    assert records[0]["event"] == "connect to mqtt://u:***@broker failed"
    assert "Traceback" in records[1]["exception"]


def test_daemon_stderr_stays_json_lines_when_uvicorn_logs(tmp_path: Path) -> None:
    """A malformed request makes uvicorn log a warning: a JSON line like the daemon's own."""
    clip = still_clip(tmp_path / "still.mp4")
    cfg = tmp_path / "daemon.yaml"
    cfg.write_text(
        "privacy: {legal_profile: lab}\n"
        f"cameras: [{{id: cam, url: {json.dumps(str(clip))}, loop: true}}]\n"
        f"state_dir: {json.dumps(str(tmp_path / 'state'))}\n"
        "server: {enabled: true, port: 0}\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vsa_stream", "run", str(cfg)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    lines: list[str] = []
    try:
        for line in proc.stderr:
            lines.append(line)
            if "http api listening" in line:
                url = json.loads(line)["url"]
                break
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            s.recv(1024)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, rest = proc.communicate(timeout=60)
    lines += rest.splitlines()
    records = [json.loads(line) for line in lines if line.strip()]  # every line is JSON
    uvicorn = [r for r in records if r.get("logger", "").startswith("uvicorn")]
    assert uvicorn, lines
    assert {r["level"] for r in uvicorn} <= {"warning", "error"}


def test_config_errors_never_echo_a_token_or_a_password() -> None:
    short = "s3cr3t-tok"
    with pytest.raises(ConfigError) as err:
        config.loads(
            "privacy: {legal_profile: lab}\ncameras: [{id: c, url: a.mp4}]\n"
            f"server: {{enabled: true, tokens: [{{name: a, token: {short}, role: viewer}}]}}"
        )
    assert err.value.path == "server.tokens[0].token"
    assert short not in str(err.value)
    # a URL whose "://" is mistyped is no file path: an error naming the field, password masked
    for url in ("rtsp//admin:hunter2@10.0.0.5/live", "rtsp:/admin:hunter2@10.0.0.5/live"):
        with pytest.raises(ConfigError) as err:
            config.loads(f"privacy: {{legal_profile: lab}}\ncameras: [{{id: c, url: '{url}'}}]")
        assert err.value.path == "cameras[0].url"
        assert "neither an existing file nor a URL" in str(err.value)
        assert "hunter2" not in str(err.value)
        assert "admin:***@10.0.0.5" in str(err.value)
