"""The generated service table: up to date with the Discovery documents, and what it decides per collection,
per version and per host (verbs, cancel body, regional, ``.rep`` and mTLS hosts, retired hosts)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_gcp_ops.operations import service_verbs
from airflow_provider_gcp_ops.operations.core import cancel_request, get_request, list_request, wait_request
from airflow_provider_gcp_ops.operations.errors import InvalidOperationNameError, Unimplemented
from airflow_provider_gcp_ops.operations.names import resolve_collection, resolve_operation
from airflow_provider_gcp_ops.operations.services import Verb, get_service, service_for_host

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_table_is_what_the_generator_writes_from_the_installed_documents() -> None:
    """A client upgrade that changes the documents fails here; rerun scripts/generate_services.py and read the diff."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_services.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr


def test_the_generator_counts_what_google_ships() -> None:
    spec = importlib.util.spec_from_file_location("generate_services", ROOT / "scripts" / "generate_services.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    table = module.generate()
    assert len(table["apis"]) == len(list(service_verbs())) >= 132
    # The three APIs whose Operation has no ``done`` (their own shape) are not in the table.
    assert not {"container", "deploymentmanager", "sqladmin"} & set(table["apis"])


def test_verbs_differ_per_collection_and_a_missing_verb_is_refused_before_any_request() -> None:
    top = resolve_operation("featureGroups/g/operations/1", service="aiplatform")  # Vertex AI top level, no project
    assert get_request(top).path == "/v1/featureGroups/g/operations/1"
    with pytest.raises(InvalidOperationNameError, match="operations collection patterns"):
        resolve_collection("featureGroups/g", service="aiplatform")  # that collection has no list
    assert top.supports(Verb.DELETE) and not top.supports(Verb.CANCEL)
    with pytest.raises(Unimplemented, match="no request was sent"):
        cancel_request(top)
    located = resolve_operation("projects/p/locations/us-central1/operations/1", service="aiplatform")
    assert located.supports(Verb.CANCEL)
    assert wait_request(located, 5).query == (("timeout", "5s"),)


def test_cancel_body_is_per_version() -> None:
    name = "projects/p/locations/l/operations/o"
    v1 = cancel_request(resolve_operation(name, service="alloydb", api_version="v1"))
    beta = cancel_request(resolve_operation(name, service="alloydb", api_version="v1beta"))
    assert (v1.has_body, v1.json) == (True, {})
    assert (beta.has_body, beta.body_bytes()) == (False, None)


def test_versions_discovery_lists_and_patterns_only_some_versions_have() -> None:
    assert "v1beta2" in get_service("dataproc").versions
    assert "v1" in get_service("run").versions and get_service("run").default_version == "v2"
    ref = resolve_operation("projects/p/instanceConfigs/c/ssdCaches/s/operations/o", service="spanner")
    assert ref.path() == "/v1/projects/p/instanceConfigs/c/ssdCaches/s/operations/o"
    with pytest.raises(InvalidOperationNameError, match="v1beta2"):
        resolve_operation("projects/p/locations/l/operations/o", service="dataproc", api_version="v1beta2")


@pytest.mark.parametrize(
    ("url", "service"),
    [
        ("https://aiplatform.eu.rep.googleapis.com/v1/projects/p/locations/eu/operations/1", "aiplatform"),
        ("https://dialogflow.us.rep.googleapis.com/v3/projects/p/locations/us/operations/1", "dialogflow"),
        ("https://alloydb.mtls.googleapis.com/v1/projects/p/locations/l/operations/1", "alloydb"),
        ("https://documentai.googleapis.com/v1/projects/p/locations/us/operations/1", "documentai"),
        ("https://translation.googleapis.com/v3/projects/p/locations/l/operations/1", "translate"),
        ("https://dns.googleapis.com/dns/v1/projects/p/locations/l/operations/1", "dns"),
    ],
)
def test_rep_and_mtls_hosts_are_hosts_of_their_service(url: str, service: str) -> None:
    ref = resolve_operation(url)
    assert ref.service == service
    assert get_request(ref).url() == url


def test_relative_names_get_the_preferred_regional_host() -> None:
    def host(name: str, service: str) -> str:
        return resolve_operation(name, service=service).host

    assert host("projects/p/locations/us/operations/1", "dialogflow") == "dialogflow.us.rep.googleapis.com"
    assert (
        host("projects/p/locations/europe-west2/operations/1", "dialogflow") == "europe-west2-dialogflow.googleapis.com"
    )
    assert host("projects/p/locations/eu/operations/1", "aiplatform") == "aiplatform.eu.rep.googleapis.com"
    assert host("projects/p/locations/us/operations/1", "documentai") == "documentai.googleapis.com"


def test_a_retired_host_is_refused_with_its_replacement() -> None:
    assert service_for_host("us-dialogflow.googleapis.com") is get_service("dialogflow")
    with pytest.raises(InvalidOperationNameError, match=r"discontinued on 2024-04-16.*dialogflow\.us\.rep"):
        resolve_operation("https://us-dialogflow.googleapis.com/v2/projects/p/locations/us/operations/1")


def test_a_full_resource_name_identifies_the_service_and_a_relative_one_says_which_fit() -> None:
    ref = resolve_operation("//speech.googleapis.com/projects/p/locations/global/operations/1")
    assert ref.service == "speech"
    with pytest.raises(InvalidOperationNameError, match=r"ambiguous.*'aiplatform'.* and [0-9]+ more"):
        resolve_operation("projects/p/locations/us/operations/1")


def test_list_shapes() -> None:
    top = list_request(resolve_collection("operations", service="serviceusage"), filter="done=true")
    assert (top.path, top.query) == ("/v1/operations", (("filter", "done=true"),))
    named = list_request(resolve_collection("projects/p/regions/r", service="dataproc"), page_size=5)
    assert (named.path, named.query) == ("/v1/projects/p/regions/r/operations", (("pageSize", "5"),))
    with pytest.raises(ValueError, match="does not take 'returnPartialSuccess'"):
        list_request(resolve_collection("projects/p/regions/r", service="dataproc", api_version="v1beta2"),
                     return_partial_success=True)  # fmt: skip


def test_service_verbs_lists_every_service_with_its_verbs() -> None:
    rows = {row.key: row for row in service_verbs()}
    assert rows["run"].verbs["v2"] == ("get", "list", "delete", "wait")
    assert rows["composer"].verbs["v1"] == ("get", "list", "delete")
    assert rows["aiplatform"].collections > 200
