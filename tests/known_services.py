"""The services the project knew before the table was generated from Discovery: their rows also have an overlay
entry (short title, legacy or preferred regional hosts), the emulator has a profile for each, and the recorded
exchanges cover most of them. Tests that check per-service behaviour in depth run over these; the generated rows
are covered by the comparison with Google's discovery client (tests/operations/test_discovery_parity.py)."""

from __future__ import annotations

from airflow_provider_gcp_ops.operations.services import ServiceSpec, get_service

HAND_KEPT = (
    "aiplatform",
    "alloydb",
    "composer",
    "datafusion",
    "datalineage",
    "dataproc",
    "dialogflow",
    "run",
    "spanner",
)


def hand_kept_rows() -> list[ServiceSpec]:
    return [get_service(key) for key in HAND_KEPT]
