"""An OAuth 2.0 token endpoint, so that google-auth's real service-account refresh flow runs against the emulator.

``POST /token`` accepts the JWT-bearer grant (RFC 7523) that ``google.oauth2.service_account.Credentials`` sends
to its key's ``token_uri`` (Google's own is ``https://oauth2.googleapis.com/token``, see "Using OAuth 2.0 for
Server to Server Applications"), and answers as Google does: ``{"access_token", "expires_in", "token_type"}``;
a bad request ``400 {"error": "invalid_grant", "error_description": ...}``. A service-account key whose
``token_uri`` is ``http://<emulator>/token`` makes every refresh come here. The signature is not verified (the
emulator holds no public keys); the grant type, the JWT's shape and its ``iss``, ``aud``, ``iat``/``exp`` are.

Query parameters of the ``token_uri`` tune one key: ``expires_in`` (seconds, default 3600; google-auth refreshes
a token 3 min 45 s before it expires, so ``expires_in=240`` means a refresh about every 15 s). Faults: the fault
plan's route ``token`` (``match`` is tested against the path *and* the query string, so one key can be singled
out): 429/500/502/503 answer with an OAuth error body (google-auth retries these, then raises a retryable
``RefreshError``), ``reset`` drops the connection (google-auth's ``TransportError``), ``latency``/``stall`` delay.
Requests are counted in the stats as route ``token``.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
import urllib.parse
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from airflow_provider_gcp_ops.emulator.faults import FaultKind, FaultRule
from airflow_provider_gcp_ops.emulator.responses import ConnectionResetResponse
from airflow_provider_gcp_ops.emulator.state import EmulatorState

TOKEN_PATH = "/token"  # noqa: S105 - a URL path, not a secret
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_EXPIRES_IN_S = 3600
MAX_EXPIRES_IN_S = 3600  # Google's service-account tokens last at most one hour
CLOCK_SKEW_S = 300.0

_FAULT_STATUS = {
    FaultKind.TOO_MANY_REQUESTS: (429, "rate_limit_exceeded"),
    FaultKind.INTERNAL: (500, "internal_failure"),
    FaultKind.BAD_GATEWAY: (502, "server_error"),
    FaultKind.UNAVAILABLE: (503, "temporarily_unavailable"),
}


class GrantError(ValueError):
    """The grant is not acceptable (answered ``400 invalid_grant`` / ``unsupported_grant_type``)."""

    def __init__(self, description: str, error: str = "invalid_grant") -> None:
        super().__init__(description)
        self.error = error


def oauth_error(status: int, error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


class TokenEndpoint:
    """The ``POST /token`` handler on an emulator's state (counters and the fault plan)."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    async def handle(self, request: Request) -> Response:
        state = self.state
        state.stats.count_request("token", None)
        response = await self._answer(request)
        if not isinstance(response, ConnectionResetResponse):
            state.stats.count_response(response.status_code)
        return response

    async def _answer(self, request: Request) -> Response:
        if request.method != "POST":
            return oauth_error(405, "invalid_request", "the token endpoint takes POST")
        where = request.url.path + ("?" + request.url.query if request.url.query else "")
        fault = self.state.faults.decide("token", where)
        if fault is not None:
            self.state.stats.count_fault(fault.kind.value)
            faulted = await self._fault(fault)
            if faulted is not None:
                return faulted
        form = urllib.parse.parse_qs((await request.body()).decode("utf-8", "replace"))
        try:
            expires_in = _expires_in(request.query_params.get("expires_in"))
            grant_type, assertion = (form.get(k, [""])[0] for k in ("grant_type", "assertion"))
            claims = check_grant(grant_type, assertion, time.time())
        except GrantError as exc:
            return oauth_error(400, exc.error, str(exc))
        token = f"ya29.emulator-{secrets.token_urlsafe(18)}"
        body: dict[str, Any] = {"access_token": token, "expires_in": expires_in, "token_type": "Bearer"}
        if claims.get("target_audience"):  # an ID-token grant: google-auth reads "id_token"
            body = {"id_token": token}
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def _fault(self, fault: FaultRule) -> Response | None:
        if fault.kind in _FAULT_STATUS:
            status, error = _FAULT_STATUS[fault.kind]
            return oauth_error(status, error, "emulator fault")
        if fault.kind is FaultKind.RESET:
            return ConnectionResetResponse()
        await self.state.sleep(fault.latency_s if fault.kind is FaultKind.LATENCY else fault.stall_s)
        return None


def _expires_in(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_EXPIRES_IN_S
    try:
        value = int(raw)
    except ValueError:
        raise GrantError("expires_in must be an integer number of seconds", "invalid_request") from None
    if not 1 <= value <= MAX_EXPIRES_IN_S:
        raise GrantError(f"expires_in must be between 1 and {MAX_EXPIRES_IN_S}", "invalid_request")
    return value


def check_grant(grant_type: str, assertion: str, now: float) -> dict[str, Any]:
    """The JWT-bearer grant's claims, or :class:`GrantError` naming what is wrong (never quoting the assertion)."""
    if grant_type != JWT_BEARER:
        raise GrantError(f"grant_type must be {JWT_BEARER}", "unsupported_grant_type")
    parts = assertion.split(".")
    if len(parts) != 3 or not all(parts):
        raise GrantError("the assertion is not a signed JWT (header.payload.signature)")
    try:
        header = json.loads(_b64url(parts[0]))
        claims = json.loads(_b64url(parts[1]))
    except (ValueError, binascii.Error):
        raise GrantError("the assertion's header or payload is not base64url JSON") from None
    if not isinstance(header, dict) or header.get("alg") != "RS256":
        raise GrantError("the assertion must be signed with RS256")
    if not isinstance(claims, dict):
        raise GrantError("the assertion's payload is not a JSON object")
    for claim in ("iss", "aud", "iat", "exp"):
        if claim not in claims:
            raise GrantError(f"the assertion has no {claim!r} claim")
    if not isinstance(claims["iss"], str) or "@" not in claims["iss"]:
        raise GrantError("'iss' must be the service account's email")
    if not isinstance(claims["aud"], str) or not claims["aud"].split("?")[0].endswith(TOKEN_PATH):
        raise GrantError("'aud' must be this token endpoint")
    iat, exp = claims["iat"], claims["exp"]
    if not isinstance(iat, int | float) or not isinstance(exp, int | float):
        raise GrantError("'iat' and 'exp' must be numbers")
    if exp <= now - CLOCK_SKEW_S or iat > now + CLOCK_SKEW_S or exp - iat > 3600:
        raise GrantError("the assertion is expired, not yet valid, or lasts over an hour")
    return claims


def service_account_key(emulator_url: str, *, name: str = "emulated", expires_in: int | None = None) -> dict[str, Any]:
    """A fresh service-account key (JSON info) whose ``token_uri`` is this emulator's token endpoint.

    ``emulator_url``: ``http://host:port``. ``name`` becomes the account (``<name>@emulator.iam.gserviceaccount.com``)
    and a ``key=<name>`` query parameter, so a fault rule's ``match`` can single the key out. Needs ``cryptography``
    (a dependency of google-auth).
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    query = {"key": name, **({} if expires_in is None else {"expires_in": str(expires_in)})}
    return {
        "type": "service_account",
        "project_id": "emulator",
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": f"{name}@emulator.iam.gserviceaccount.com",
        "client_id": str(secrets.randbelow(10**20)),
        "token_uri": f"{emulator_url.rstrip('/')}{TOKEN_PATH}?{urllib.parse.urlencode(query)}",
    }


def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
