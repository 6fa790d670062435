"""TLS files and contexts: the API's certificate, and the trust of webhooks and MQTT.

One place reads every PEM file the configuration names, so that ``vsa-stream check`` and the
daemon's start accept and refuse the same files: the configuration's checks call these
functions and turn a :class:`TlsFileError` into an error naming the field.

Trust: a client context trusts the system's store (the operating system's CA bundle, as
``ssl.create_default_context`` loads it) **plus** the certificates of ``ca_file`` when one is
given, and checks the server's name. A ``ca_file`` adds to the system store; it does not replace
it.

Example:
    >>> context = client_context()
    >>> context.check_hostname, context.verify_mode == ssl.CERT_REQUIRED
    (True, True)
"""

from __future__ import annotations

import os
import ssl

__all__ = ["TlsFileError", "check_server_files", "client_context", "server_context"]


class TlsFileError(ValueError):
    """A PEM file that cannot be used; ``which`` says which of the files given is at fault
    (``"ca"``, ``"cert"`` or ``"key"``)."""

    def __init__(self, which: str, message: str) -> None:
        super().__init__(message)
        self.which = which


def _readable(which: str, path: str) -> None:
    if not os.path.exists(path):
        raise TlsFileError(which, f"no such file: {path}")
    if os.path.isdir(path):
        raise TlsFileError(which, f"{path} is a directory; expected a PEM file")
    if not os.access(path, os.R_OK):
        raise TlsFileError(which, f"{path} is not readable")


def _load_ca(context: ssl.SSLContext, path: str) -> None:
    _readable("ca", path)
    try:
        context.load_verify_locations(cafile=path)
    except ssl.SSLError:
        raise TlsFileError("ca", f"{path} holds no PEM certificate that can be read") from None


def _load_chain(context: ssl.SSLContext, cert: str, key: str | None) -> None:
    """Load a certificate and its private key (``key`` None: the key is in ``cert``)."""
    _readable("cert", cert)
    if key is not None:
        _readable("key", key)
    try:  # the certificate alone first, so that a bad one is not blamed on the key
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=cert)
    except ssl.SSLError:
        raise TlsFileError("cert", f"{cert} holds no PEM certificate that can be read") from None
    asked = False

    def password() -> bytes:
        nonlocal asked
        asked = True
        return b""  # never prompt on the terminal: an encrypted key is refused below

    where = key if key is not None else cert
    try:
        context.load_cert_chain(cert, key, password)
    except ssl.SSLError as exc:
        if asked:
            message = f"{where} is encrypted with a passphrase, which is not supported: decrypt it"
        elif exc.reason == "KEY_VALUES_MISMATCH":
            message = f"{where} is not the private key of the certificate {cert}"
        else:
            message = f"{where} holds no PEM private key that can be read"
        raise TlsFileError("key", message) from None


def client_context(
    ca_file: str | None = None, cert_file: str | None = None, key_file: str | None = None
) -> ssl.SSLContext:
    """A client context: the system's trust store plus ``ca_file``, server names checked,
    and the client certificate ``cert_file`` (its key in ``key_file``, or in ``cert_file``).

    Raises:
        TlsFileError: a file is missing, unreadable, or not what it should be.
    """
    context = ssl.create_default_context()
    if ca_file is not None:
        _load_ca(context, ca_file)
    if cert_file is not None:
        _load_chain(context, cert_file, key_file)
    return context


def server_context(cert: str, key: str) -> ssl.SSLContext:
    """A server context with the certificate ``cert`` and its private key ``key`` (TLS 1.2
    at least, Python's default ciphers).

    Raises:
        TlsFileError: a file is missing, unreadable, or not what it should be.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    _load_chain(context, cert, key)
    return context


def check_server_files(cert: str, key: str) -> None:
    """Check that ``cert`` and ``key`` make a usable server certificate (see
    :func:`server_context`)."""
    server_context(cert, key)
