"""A webhook endpoint of the tests, with its signing secrets."""

from __future__ import annotations

import base64

import msgspec

from vsa_stream import config

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"an older key, still accepted..").decode()


def endpoint(url: str, **fields: object) -> config.WebhookEndpoint:
    data: dict[str, object] = {
        "name": "rx",
        "url": url,
        "secrets": [SECRET],
        "allow_private": True,
        **fields,
    }
    return msgspec.convert(data, config.WebhookEndpoint)
