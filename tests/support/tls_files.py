"""A throwaway PKI made with the ``openssl`` command: a CA, a server and a client certificate."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

OPENSSL = shutil.which("openssl")


@dataclass(frozen=True)
class Pki:
    """PEM files: the CA, a server certificate for ``localhost`` and 127.0.0.1 signed by it,
    a client certificate signed by it, an unrelated self-signed CA, and a server certificate
    of the CA for another name (``elsewhere.example``)."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path
    other_key: Path
    elsewhere_cert: Path
    elsewhere_key: Path


def _run(*args: str) -> None:
    assert OPENSSL is not None
    subprocess.run([OPENSSL, *args], check=True, capture_output=True)


def _self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    _run(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-days", "2", "-keyout", str(key), "-out", str(cert), "-subj", f"/CN=vsa test {name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    return cert, key


def _signed(folder: Path, name: str, ca: tuple[Path, Path], extensions: str) -> tuple[Path, Path]:
    cert, key, csr = folder / f"{name}.pem", folder / f"{name}.key", folder / f"{name}.csr"
    ext = folder / f"{name}.ext"
    ext.write_text(extensions)
    _run(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={name}",
    )  # fmt: skip
    _run(
        "x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
        "-CAcreateserial", "-days", "2", "-out", str(cert), "-extfile", str(ext),
    )  # fmt: skip
    return cert, key


def make_pki(folder: Path) -> Pki:
    """Write a fresh PKI into ``folder`` (skips the test when ``openssl`` is missing, which
    fails it under CI=true)."""
    if OPENSSL is None:
        pytest.skip("needs the openssl command (Debian package openssl)")
    folder.mkdir(parents=True, exist_ok=True)
    ca = _self_signed(folder, "ca")
    other = _self_signed(folder, "other-ca")
    common = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
    serving = common + "extendedKeyUsage=serverAuth\nsubjectAltName="
    server = _signed(folder, "server", ca, serving + "DNS:localhost,IP:127.0.0.1\n")
    client = _signed(folder, "client", ca, common + "extendedKeyUsage=clientAuth\n")
    elsewhere = _signed(folder, "elsewhere", ca, serving + "DNS:elsewhere.example\n")
    return Pki(ca[0], *server, *client, *other, *elsewhere)
