"""TLS settings: the files a configuration names are checked at load (errors name the field),
and a webhook trusts a private CA only through its ``ca_file`` (a real TLS receiver on
loopback)."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import msgspec
import pytest

from authorised import authorised
from collect import Collect
from http_script import no_content, server
from sample_events import make_event
from tls_files import OPENSSL, Pki, make_pki
from vsa_stream import config
from vsa_stream.daemon import Daemon
from vsa_stream.errors import ConfigError
from vsa_stream.outbox import Outbox
from vsa_stream.sinks import DeliveryError
from vsa_stream.sinks.mqtt import MqttSink
from vsa_stream.sinks.webhook import WebhookSink
from webhook_endpoint import endpoint


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> dict[str, Path]:
    """Files that are not what a field wants: garbage, a passphrase-protected key."""
    folder = tmp_path_factory.mktemp("bad")
    garbage = folder / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    encrypted = folder / "encrypted.key"
    assert OPENSSL is not None
    subprocess.run(
        [OPENSSL, "pkey", "-in", str(pki.server_key), "-aes256", "-passout", "pass:secret",
         "-out", str(encrypted)],
        check=True, capture_output=True,
    )  # fmt: skip
    return {"garbage": garbage, "encrypted": encrypted, "missing": folder / "missing.pem"}


def load(text: str) -> config.Config:
    live = "cameras: [{id: cam, url: rtsp://cam.example/live}]\n" + authorised(["cam"])
    return config.loads(live + text, env={})


def refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(text)
    return info.value


def server_tls(cert: Path, key: Path) -> str:
    return f"server: {{enabled: true, tls: {{cert: '{cert}', key: '{key}'}}}}\n"


def test_the_api_certificate_and_key_are_checked_at_load(pki: Pki, bad: dict[str, Path]) -> None:
    good = load(server_tls(pki.server_cert, pki.server_key))
    assert good.server.tls is not None
    assert good.server.tls.cert == str(pki.server_cert)
    cases = [
        (bad["missing"], pki.server_key, "server.tls.cert", "no such file"),
        (bad["garbage"], pki.server_key, "server.tls.cert", "no PEM certificate"),
        (pki.server_key, pki.server_key, "server.tls.cert", "no PEM certificate"),
        (pki.server_cert, bad["missing"], "server.tls.key", "no such file"),
        (pki.server_cert, bad["garbage"], "server.tls.key", "no PEM private key"),
        (pki.server_cert, pki.client_key, "server.tls.key", "not the private key of"),
        (pki.server_cert, bad["encrypted"], "server.tls.key", "passphrase"),
        (pki.server_cert, pki.server_key.parent, "server.tls.key", "is a directory"),
    ]
    for cert, key, path, words in cases:
        err = refused(server_tls(cert, key))
        assert err.path == path, (cert, key)
        assert words in err.message, (cert, key, err.message)


def test_allowed_hosts_are_names_and_extend_the_loopback_names() -> None:
    cfg = load("server: {host: 0.0.0.0, tokens: [{name: a, token: 0123456789abcdef}]}\n")
    assert cfg.server.host_names() == {"127.0.0.1", "localhost", "::1"}  # not the wildcard
    cfg = load("server: {host: cam.example.org, allowed_hosts: ['[FD00::1]', Ops.Example.]}\n")
    assert cfg.server.host_names() == {
        "127.0.0.1",
        "localhost",
        "::1",
        "cam.example.org",
        "fd00::1",
        "ops.example",
    }
    for entry in ("https://ops.example", "ops.example:8080", "*", "*.example.org", "a b"):
        err = refused(f"server: {{allowed_hosts: [ok.example, '{entry}']}}\n")
        assert err.path == "server.allowed_hosts[1]", entry
        assert "host name or an IP address" in err.message


def test_webhook_and_mqtt_trust_files_are_checked_at_load(pki: Pki, bad: dict[str, Path]) -> None:
    hook = "sinks: {{webhooks: [{{name: rx, url: '{url}', secrets: [{secret}], ca_file: '{ca}'}}]}}"
    secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
    ok = load(hook.format(url="https://rx.example/in", secret=secret, ca=pki.ca))
    assert ok.sinks.webhooks[0].ca_file == str(pki.ca)
    for url, ca, words in (
        ("https://rx.example/in", bad["missing"], "no such file"),
        ("https://rx.example/in", bad["garbage"], "no PEM certificate"),
        ("http://rx.example/in", pki.ca, "https://"),
    ):
        err = refused(hook.format(url=url, secret=secret, ca=ca))
        assert err.path == "sinks.webhooks[0].ca_file"
        assert words in err.message

    def mqtt(**fields: object) -> str:
        items = ", ".join(f"{k}: {v if v is True else repr(str(v))}" for k, v in fields.items())
        return f"sinks: {{mqtt: {{host: broker.example, {items}}}}}\n"

    tls: dict[str, object] = {"tls": True, "ca_file": pki.ca}
    assert load(mqtt(**tls, cert_file=pki.client_cert, key_file=pki.client_key)).sinks.mqtt
    for fields, path, words in (
        ({"ca_file": pki.ca}, "ca_file", "needs tls: true"),
        ({**tls, "ca_file": bad["garbage"]}, "ca_file", "no PEM certificate"),
        ({**tls, "key_file": pki.client_key}, "key_file", "give cert_file"),
        ({**tls, "cert_file": bad["missing"], "key_file": pki.client_key}, "cert_file", "no such"),
        ({**tls, "cert_file": pki.client_cert}, "cert_file", "or give key_file"),
        ({**tls, "cert_file": pki.client_cert, "key_file": pki.server_key}, "key_file", "not the"),
        ({**tls, "cert_file": pki.client_cert, "key_file": bad["encrypted"]}, "key_file", "pass"),
    ):
        err = refused(mqtt(**fields))
        assert err.path == f"sinks.mqtt.{path}", fields
        assert words in err.message, (fields, err.message)


async def _send(sink: WebhookSink) -> DeliveryError | None:
    try:
        await sink.send(make_event())
    except DeliveryError as exc:
        return exc
    finally:
        await sink.aclose()
    return None


@pytest.mark.anyio
async def test_a_webhook_trusts_a_private_ca_only_through_its_ca_file(pki: Pki) -> None:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(pki.server_cert, pki.server_key)
    with server(no_content, tls=tls) as seen:
        url = f"https://localhost:{seen.port}/hook"
        untrusted = await _send(WebhookSink(endpoint(url)))  # the system's CAs only
        other = await _send(WebhookSink(endpoint(url, ca_file=str(pki.other_ca))))
        trusted = await _send(WebhookSink(endpoint(url, ca_file=str(pki.ca))))
        by_address = url.replace("localhost", "127.0.0.1")
        by_address_ok = await _send(WebhookSink(endpoint(by_address, ca_file=str(pki.ca))))
    assert isinstance(untrusted, DeliveryError)
    assert "CERTIFICATE_VERIFY_FAILED" in str(untrusted)
    assert isinstance(other, DeliveryError)
    assert "CERTIFICATE_VERIFY_FAILED" in str(other)
    assert trusted is None
    assert by_address_ok is None  # the certificate names 127.0.0.1 too
    assert len(seen.requests) == 2  # nothing was sent over an untrusted connection


@pytest.mark.anyio
async def test_a_webhook_checks_the_name_even_with_its_ca_file(pki: Pki) -> None:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # the right CA, another name
    tls.load_cert_chain(pki.elsewhere_cert, pki.elsewhere_key)
    with server(no_content, tls=tls) as seen:
        url = f"https://localhost:{seen.port}/hook"
        wrong_name = await _send(WebhookSink(endpoint(url, ca_file=str(pki.ca))))
    assert isinstance(wrong_name, DeliveryError)
    assert "Hostname mismatch" in str(wrong_name)
    assert seen.requests == []


def test_a_file_gone_since_the_check_fails_the_start_naming_the_field(
    pki: Pki, tmp_path: Path
) -> None:
    key = tmp_path / "server.key"
    key.write_bytes(pki.server_key.read_bytes())
    ca = tmp_path / "ca.pem"
    ca.write_bytes(pki.ca.read_bytes())
    cfg = load(f"state_dir: '{tmp_path / 'state'}'\n" + server_tls(pki.server_cert, key))
    key.unlink()
    ca.unlink()
    outbox = Outbox(cfg.outbox_path())
    try:
        with pytest.raises(ConfigError) as info:
            Daemon(cfg, [Collect()], outbox, source="test")
    finally:
        outbox.close()
    assert info.value.path == "server.tls.key"
    assert "no such file" in info.value.message
    with pytest.raises(ConfigError, match="webhook rx: no such file") as hook:
        WebhookSink(endpoint("https://rx.example/in", ca_file=str(ca)))
    assert hook.value.path == "sinks.webhooks"
    gone = msgspec.convert(
        {"host": "broker.example", "tls": True, "ca_file": str(ca)}, config.MqttSink
    )
    with pytest.raises(ConfigError, match="no such file") as mqtt:
        MqttSink(gone)
    assert mqtt.value.path == "sinks.mqtt.ca_file"
