"""A throw-away service account key, made fresh per test session (no key material is committed)."""

from __future__ import annotations

import functools
import json
from typing import Any


@functools.cache
def service_account_info(project: str = "key-project") -> dict[str, Any]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": project,
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": pem,
        "client_email": f"runner@{project}.iam.gserviceaccount.com",
        "client_id": "123456789012345678901",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


def key_secret_fragments() -> list[str]:
    """Pieces of the key that must never appear in a log line, an error text, XCom or trigger kwargs."""
    pem = service_account_info()["private_key"]
    body = "".join(pem.splitlines()[1:-1])
    return [body[i : i + 40] for i in range(0, len(body), 200)] + [service_account_info()["private_key_id"]]


def keyfile_json() -> str:
    return json.dumps(service_account_info())
