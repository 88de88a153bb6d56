"""Hostile names and hosts (hypothesis): a reference, however built, carries only a host its service and name
allow; anything else is an InvalidOperationNameError before any request."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_gcp_ops.operations.errors import InvalidOperationNameError
from airflow_provider_gcp_ops.operations.names import CollectionRef, OperationRef, resolve_operation

LABELS = st.sampled_from(["us-central1", "europe-west4", "a", "xn--80ak6aa92e", "evil", "us--x", "", "US-CENTRAL1"])
SERVICES = st.sampled_from(["dataproc", "aiplatform", "dialogflow"])


def _allowed(ref: OperationRef | CollectionRef, location: str | None) -> bool:
    spec = ref.spec
    return ref.host == spec.host or (location is not None and ref.host == spec.host_for(location))


@settings(max_examples=400, deadline=None)
@given(service=SERVICES, label=LABELS, host_label=LABELS, collection=st.sampled_from(["regions", "locations"]))
def test_a_hand_built_reference_is_as_strict_as_the_resolver(
    service: str, label: str, host_label: str, collection: str
) -> None:
    name = f"projects/p/{collection}/{label}/operations/x"
    host = f"{host_label}-{service}.googleapis.com"
    for build in (
        lambda: OperationRef(service, "v1", host, name),
        lambda: OperationRef.from_dict({"service": service, "api_version": "v1", "host": host, "name": name}),
    ):
        try:
            ref = build()
        except InvalidOperationNameError:
            continue
        assert host_label.lower() == label and "--" not in label
        assert _allowed(ref, label)


@settings(max_examples=300, deadline=None)
@given(
    service=SERVICES,
    label=LABELS,
    url_label=st.one_of(st.none(), LABELS),
)
def test_a_url_host_must_agree_with_the_names_location(service: str, label: str, url_label: str | None) -> None:
    host = f"{service}.googleapis.com" if url_label is None else f"{url_label}-{service}.googleapis.com"
    value = f"https://{host}/v1/projects/p/locations/{label}/operations/x"
    try:
        ref = resolve_operation(value, service=service)
    except InvalidOperationNameError:
        return
    assert _allowed(ref, label)
    assert "xn--" not in ref.host


@pytest.mark.parametrize("host", ["storage.googleapis.com", "evil-dataproc.googleapis.com", "a b", "x/y"])
def test_a_collection_reference_refuses_a_foreign_host(host: str) -> None:
    with pytest.raises(InvalidOperationNameError):
        CollectionRef("dataproc", "v1", host, "projects/p/regions/us-central1")


def test_a_configured_endpoint_is_still_accepted() -> None:
    ref = OperationRef("dataproc", "v1", "10.0.0.5:8443", "projects/p/regions/us-central1/operations/x")
    assert ref.host == "10.0.0.5:8443"
