"""No token in any log record, at DEBUG too, while google-auth logs its requests (an impersonated identity: the
source token goes to IAM, the impersonated one to the API); no key material in any configuration error."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import google.oauth2.credentials
import pytest
from google.auth import impersonated_credentials

from airflow_provider_gcp_ops.operations.async_client import AsyncOperationsClient
from airflow_provider_gcp_ops.operations.sync_client import OperationsClient

from .server import IMPERSONATED_TOKEN, PLANTED_TOKEN, HostileServer

NAME = "projects/p/regions/us-central1/operations/op"
# Clients address an emulator-style base URL with the service's host as the first path segment (core.HttpRequest).
API_PREFIX = "/us-central1-dataproc.googleapis.com/v1/"
OP_PATH = API_PREFIX + NAME


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    srv = HostileServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def google_debug_logging() -> Iterator[None]:
    """The ``google`` logger configured at DEBUG, as a task log at DEBUG does: google-auth then logs requests."""
    logger = logging.getLogger("google")
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.propagate = True
    yield
    logger.setLevel(level)
    logger.propagate = propagate


def impersonated(server: HostileServer) -> Any:
    source = google.oauth2.credentials.Credentials(token=PLANTED_TOKEN)
    return impersonated_credentials.Credentials(
        source_credentials=source,
        target_principal="target@p.iam.gserviceaccount.com",
        target_scopes=["https://www.googleapis.com/auth/cloud-platform"],
        iam_endpoint_override=server.token_uri,
    )


@pytest.mark.usefixtures("google_debug_logging")
@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_impersonation_at_debug_logs_no_token(
    server: HostileServer, flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    server.mode, server.token_mode = "ok", "impersonation_ok"
    server.requests.clear()
    caplog.set_level(logging.DEBUG)
    creds = impersonated(server)
    if flavour == "sync":
        with OperationsClient(credentials=creds, emulator_host=server.host) as client:
            assert client.get(NAME).done
    else:

        async def run() -> None:
            async with AsyncOperationsClient(credentials=creds, emulator_host=server.host) as client:
                assert (await client.get(NAME)).done

        asyncio.run(run())
    assert server.requests == ["POST /token", f"GET {OP_PATH}"]
    google_records = [r for r in caplog.records if r.name.startswith("google.auth")]
    assert google_records, "google-auth logged nothing: the test would prove nothing"
    for record in caplog.records:
        dumped = record.getMessage() + repr(vars(record))
        assert PLANTED_TOKEN not in dumped and IMPERSONATED_TOKEN not in dumped, record.name
