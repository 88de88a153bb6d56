"""The parsers against real Google traffic (``tests/fixtures/recorded``, see its SOURCES.md).

Every recorded Operation body parses, with the state and start time it should have; every recorded error body
becomes the right exception; every recorded operation poll URL of a service in the table resolves and is
rebuilt byte for byte; the poll URLs of services not in the table are refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from airflow_provider_gcp_ops.operations.core import get_request
from airflow_provider_gcp_ops.operations.errors import (
    ApiError,
    InvalidArgument,
    InvalidOperationNameError,
    NotFound,
    PermissionDenied,
    error_from_response,
)
from airflow_provider_gcp_ops.operations.model import Operation, OperationState
from airflow_provider_gcp_ops.operations.names import resolve_operation
from airflow_provider_gcp_ops.operations.services import (
    ServiceSpec,
    register_service,
    service_for_host,
    unregister_service,
)

from .recorded import REPO_ROOT, Exchange, all_exchanges, fixture_files, fixtures_dir, is_error, is_operation, load_file

ROOT = fixtures_dir()
pytestmark = pytest.mark.skipif(
    not ROOT.is_dir(),
    reason=f"recorded fixtures not found at {ROOT} (set GCP_OPS_FIXTURES)",
)

EXCHANGES: list[Exchange] = list(all_exchanges()) if ROOT.is_dir() else []
OPERATIONS = [e for e in EXCHANGES if is_operation(e.json())]
ERRORS = [e for e in EXCHANGES if e.status >= 400]
POLLS = [e for e in EXCHANGES if e.method == "GET" and "/operations/" in e.url and e.status == 200]
UTC = timezone.utc
NORMALISED = datetime(2024, 4, 1, 12, 34, 56, 123456, tzinfo=UTC)  # the golden logs' placeholder timestamp


def by_id(exchanges: list[Exchange]) -> dict[str, Exchange]:
    return {e.id: e for e in exchanges}


def ids(exchanges: list[Exchange]) -> list[str]:
    return [e.id for e in exchanges]


def concrete(text: str) -> str:
    """Replace the golden logs' ``${placeholder}`` IDs by plain values (``${projectId}`` → ``projectid``)."""
    return re.sub(r"\$\{(\w+)\}", lambda m: m.group(1).lower(), text)


def without_query(url: str) -> str:
    return url.split("?", 1)[0].replace(":443/", "/", 1)


# -- the fixture reader itself --------------------------------------------------------------------------------


def _sources_table() -> Iterator[tuple[str, list[int]]]:
    text = (ROOT / "SOURCES.md").read_text(encoding="utf-8")
    for line in text.splitlines():
        match = re.match(r"\| `([^`]+\.(?:log|vcr\.yaml))` \| [^|]+ \| ([\d,]+) \|", line)
        if match:
            yield match.group(1), [int(x) for x in match.group(2).split(",")]


def test_every_fixture_file_is_listed_and_read_completely() -> None:
    listed = dict(_sources_table())
    files = {p.relative_to(ROOT).as_posix(): p for p in fixture_files()}
    assert set(files) == set(listed)
    for source, wanted in listed.items():
        exchanges = load_file(files[source])
        if source.endswith(".vcr.yaml"):
            assert [e.index for e in exchanges] == wanted, source
        else:
            assert len(exchanges) == len(wanted), source
        for e in exchanges:
            assert e.method in {"GET", "POST", "PATCH", "DELETE", "PUT"}
            assert e.url.startswith("https://")
            assert 200 <= e.status < 600
            assert e.body.strip() == b"" or e.json() is not None, e.id


def test_the_corpus_has_what_the_tests_rely_on() -> None:
    assert len(OPERATIONS) >= 90
    assert {e.status for e in ERRORS} == {400, 403, 404}
    assert len(POLLS) >= 40


# -- every Operation body parses, with the right state ---------------------------------------------------------

FAILED_ALREADY_EXISTS = {
    "resourcemanager/tagkey-create-already-exists-error.log#3",
    "resourcemanager/tagvalue-create-already-exists-error.log#5",
}
PENDING_POLLS = {
    "redis/instance-crud-with-pending-poll.vcr.yaml#2",
    "redis/instance-crud-with-pending-poll.vcr.yaml#8",
    "redis/instance-crud-with-pending-poll.vcr.yaml#14",
}


@pytest.mark.parametrize("exchange", OPERATIONS, ids=ids(OPERATIONS))
def test_every_operation_body_parses(exchange: Exchange) -> None:
    body = exchange.json()
    op = Operation.from_json(body)
    assert op.name == body["name"]
    assert op.done is bool(body.get("done", False))
    if not op.done:
        assert op.state is OperationState.RUNNING
    elif "error" in body:
        assert op.state is OperationState.FAILED
    else:
        assert op.state is OperationState.SUCCEEDED
    assert op.metadata_type == (body.get("metadata") or {}).get("@type")
    summary = op.summary()
    assert summary["state"] == op.state.value
    assert Operation.from_json(op.to_json()) == op


def test_final_polls_succeeded() -> None:
    final = [e for e in POLLS if e.json().get("done") is True and e.id not in FAILED_ALREADY_EXISTS]
    assert len(final) >= 40
    for e in final:
        assert Operation.from_json(e.json()).state is OperationState.SUCCEEDED, e.id


@pytest.mark.parametrize("key", sorted(FAILED_ALREADY_EXISTS))
def test_already_exists_operations_failed_with_code_6(key: str) -> None:
    op = Operation.from_json(by_id(EXCHANGES)[key].json())
    assert op.state is OperationState.FAILED
    assert op.error is not None
    assert op.error.code == 6
    assert op.error.rpc_name == "ALREADY_EXISTS"
    assert op.error.details == ()
    assert "already exists" in op.error.message
    assert op.summary()["error_status"] == "ALREADY_EXISTS"


def test_explicit_done_false_is_running() -> None:
    explicit = [e for e in OPERATIONS if e.json().get("done") is False]
    assert {e.source.split("/")[0] for e in explicit} == {"alloydb", "eventarc", "redis"}
    for e in explicit:
        assert Operation.from_json(e.json()).state is OperationState.RUNNING, e.id


def test_redis_pending_polls_are_running() -> None:
    table = by_id(EXCHANGES)
    for key in PENDING_POLLS:
        assert table[key].method == "GET"
        assert Operation.from_json(table[key].json()).state is OperationState.RUNNING


def test_initial_responses_without_done_are_running() -> None:
    for e in OPERATIONS:
        if e.method != "GET" and "done" not in e.json():
            assert Operation.from_json(e.json()).state is OperationState.RUNNING, e.id


# -- start times from real metadata shapes ------------------------------------------------------------------------

START_TIMES = {
    # Dataproc ClusterOperationMetadata: first statusHistory entry (normalised timestamps in the golden log)
    "dataproc/cluster-crud-gcloud.log#1": NORMALISED,
    # ... and status.stateStartTime on the first response, which has no history yet
    "dataproc/cluster-crud-gcloud.log#0": NORMALISED,
    # Dataproc BatchOperationMetadata.createTime, with enum-as-int operationType
    "dataproc/batch-create-lro.log#1": NORMALISED,
    # Vertex AI genericMetadata.createTime
    "aiplatform/dataset-create-delete.log#1": NORMALISED,
    # generic OperationMetadata.createTime (real, un-normalised)
    "eventarc/trigger-crud.vcr.yaml#20": datetime(2024, 4, 25, 1, 38, 13, 282926, tzinfo=UTC),
    # Redis: nanosecond precision
    "redis/instance-crud-with-pending-poll.vcr.yaml#2": datetime(2024, 4, 12, 20, 41, 43, 788252, tzinfo=UTC),
    # Spanner instance metadata startTime; DDL progress[0].startTime
    "spanner/database-create-ddl.vcr.yaml#2": datetime(2025, 3, 30, 22, 59, 41, 662158, tzinfo=UTC),
    "spanner/database-create-ddl.vcr.yaml#8": datetime(2025, 3, 30, 22, 59, 56, 47888, tzinfo=UTC),
    # Bigtable requestTime
    "bigtable/instance-appprofile-nested-operation-name.log#1": NORMALISED,
    # no time in the metadata at all
    "spanner/database-create-ddl.vcr.yaml#7": None,
    "resourcemanager/tagkey-create-already-exists-error.log#3": None,
    "cloudfunctions/function-crud.vcr.yaml#4": None,
    # Cloud Run v2 sends the Service as metadata: the update's start is its updateTime, the delete's its deleteTime
    "run/service-crud.vcr.yaml#2": datetime(2024, 4, 25, 1, 58, 35, 886675, tzinfo=UTC),
    "run/service-crud.vcr.yaml#7": datetime(2024, 4, 25, 1, 58, 49, 390665, tzinfo=UTC),
    "run/service-crud.vcr.yaml#12": datetime(2024, 4, 25, 1, 59, 2, 29208, tzinfo=UTC),
    # API Keys operations have no metadata at all
    "apikeys/key-crud-global-operations.vcr.yaml#3": None,
    "apikeys/key-crud-global-operations.vcr.yaml#2": None,
}
END_TIMES = {
    "redis/instance-crud-with-pending-poll.vcr.yaml#3": datetime(2024, 4, 12, 20, 46, 40, 567885, tzinfo=UTC),
    "redis/instance-crud-with-pending-poll.vcr.yaml#2": None,  # still running
    "eventarc/trigger-crud.vcr.yaml#20": datetime(2024, 4, 25, 1, 38, 18, 526926, tzinfo=UTC),
    "spanner/database-create-ddl.vcr.yaml#9": datetime(2025, 3, 30, 23, 0, 22, 785908, tzinfo=UTC),
    "dataproc/cluster-crud-gcloud.log#1": NORMALISED,  # status DONE's stateStartTime
    "dataproc/batch-create-lro.log#1": None,  # running, although its metadata carries doneTime
}


@pytest.mark.parametrize(("key", "expected"), sorted(START_TIMES.items()))
def test_start_time(key: str, expected: datetime | None) -> None:
    assert Operation.from_json(by_id(EXCHANGES)[key].json()).start_time() == expected


@pytest.mark.parametrize(("key", "expected"), sorted(END_TIMES.items()))
def test_end_time(key: str, expected: datetime | None) -> None:
    assert Operation.from_json(by_id(EXCHANGES)[key].json()).end_time() == expected


def test_every_create_time_in_operation_metadata_is_the_start_time() -> None:
    checked = 0
    for e in OPERATIONS:
        md = e.json().get("metadata") or {}
        if "createTime" in md and "Metadata" in md.get("@type", ""):
            assert Operation.from_json(e.json()).start_time() is not None, e.id
            checked += 1
    assert checked >= 30


def test_enum_as_int_metadata_parses() -> None:
    op = Operation.from_json(by_id(EXCHANGES)["dataproc/batch-create-lro.log#1"].json())
    assert op.metadata is not None
    assert op.metadata["operationType"] == 1
    later = Operation.from_json(by_id(EXCHANGES)["dataproc/batch-create-lro.log#2"].json())
    assert later.metadata is not None
    assert later.metadata["operationType"] == "BATCH"


def test_operations_without_metadata_parse() -> None:
    bare = [e for e in OPERATIONS if "metadata" not in e.json()]
    assert {e.source.split("/")[0] for e in bare} >= {"apikeys", "resourcemanager"}
    for e in bare:
        op = Operation.from_json(e.json())
        assert op.metadata is None
        assert op.metadata_type is None
        assert op.start_time() is None


# -- every recorded error body becomes the right exception --------------------------------------------------------

ERROR_CLASSES: dict[int, type[ApiError]] = {400: InvalidArgument, 403: PermissionDenied, 404: NotFound}


@pytest.mark.parametrize("exchange", ERRORS, ids=ids(ERRORS))
def test_every_error_body_maps_to_its_class(exchange: Exchange) -> None:
    body = exchange.json()
    assert is_error(body)
    exc = error_from_response(
        exchange.status, exchange.response_headers, exchange.body, method=exchange.method, url=exchange.url
    )
    assert type(exc) is ERROR_CLASSES[exchange.status]
    assert exc.http_status == exchange.status
    assert exc.rpc_status == body["error"]["status"]
    assert exc.message == body["error"]["message"]
    assert exc.url == exchange.url.split("?", 1)[0]
    assert "?" not in str(exc)
    assert str(exc).startswith(f"{exchange.status} {exc.rpc_status}: ")
    assert str(exc).endswith(f"({exchange.method} {exc.url})")


# -- every operation poll URL: rebuilt if the service is in the table, refused if not ------------------------------


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


TABLE_POLLS = [e for e in POLLS if service_for_host(_host(e.url)) is not None]
FOREIGN_POLLS = [e for e in POLLS if service_for_host(_host(e.url)) is None]


def test_every_recorded_poll_url_belongs_to_a_service_in_the_table() -> None:
    # The table is generated from Google's Discovery documents: every API in the recordings is in it.
    in_table = {service_for_host(_host(e.url)).key for e in TABLE_POLLS}  # type: ignore[union-attr]
    assert in_table == {
        "aiplatform",
        "alloydb",
        "apikeys",
        "bigtableadmin",
        "cloudfunctions",
        "cloudresourcemanager",
        "composer",
        "dataproc",
        "developerconnect",
        "eventarc",
        "redis",
        "run",
        "spanner",
    }
    assert FOREIGN_POLLS == []


@pytest.mark.parametrize("exchange", TABLE_POLLS, ids=ids(TABLE_POLLS))
def test_table_poll_urls_are_rebuilt_exactly(exchange: Exchange) -> None:
    url = concrete(exchange.url)
    ref = resolve_operation(url)
    assert get_request(ref).url() == without_query(url)
    # The name in the response body is the one we resolved, and resolving it with the row gives the same path.
    body_name = concrete(exchange.json()["name"])
    assert ref.name == body_name
    by_name = resolve_operation(body_name, service=ref.service, api_version=ref.api_version)
    assert by_name.path() == ref.path()


@pytest.mark.parametrize("exchange", TABLE_POLLS, ids=ids(TABLE_POLLS))
def test_table_poll_urls_with_placeholders_round_trip_through_escaping(exchange: Exchange) -> None:
    # "${projectId}" is a legal (if odd) segment: it is escaped on the way out and decodes back unchanged.
    ref = resolve_operation(exchange.url)
    rebuilt = get_request(ref).url()
    assert unquote(rebuilt) == without_query(exchange.url)
    assert resolve_operation(rebuilt) == ref


def test_a_poll_url_on_a_host_outside_the_table_is_refused() -> None:
    url = TABLE_POLLS[0].url.replace(".googleapis.com", ".example.com", 1)
    with pytest.raises(InvalidOperationNameError, match="not an endpoint of any service"):
        resolve_operation(concrete(url))


@pytest.fixture
def extra_row() -> Iterator[ServiceSpec]:
    # A service this release does not know (no Discovery document names it): added at runtime.
    row = ServiceSpec(
        key="lroexample",
        title="An API unknown to the table",
        host="lroexample.googleapis.com",
        regional_host="lroexample.{location}.rep.googleapis.com",
        versions=("v1",),
        name_patterns=("projects/*/locations/*/operations/*",),
    )
    register_service(row)
    try:
        yield row
    finally:
        unregister_service(row.key)


def test_registering_a_row_makes_its_urls_resolve(extra_row: ServiceSpec) -> None:
    url = "https://lroexample.googleapis.com/v1/projects/p/locations/us-central1/operations/o"
    ref = resolve_operation(url)
    assert ref.service == extra_row.key
    assert get_request(ref).url() == url
    unregister_service(extra_row.key)
    with pytest.raises(InvalidOperationNameError, match="not an endpoint of any service"):
        resolve_operation(url)
    register_service(extra_row)


def test_registered_regional_rep_endpoint_is_derived_from_the_location(extra_row: ServiceSpec) -> None:
    ref = resolve_operation("projects/p/locations/us-central1/operations/o", service=extra_row.key)
    assert ref.host == "lroexample.us-central1.rep.googleapis.com"


def test_recorded_rep_endpoint_urls_resolve_to_their_regional_host() -> None:
    polls = [e for e in TABLE_POLLS if e.source.startswith("developerconnect/")]
    assert polls
    assert {resolve_operation(concrete(e.url)).host for e in polls} == {
        "developerconnect.us-central1.rep.googleapis.com"
    }


def test_fixtures_dir_comes_from_the_environment_or_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GCP_OPS_FIXTURES", "/somewhere/else")
    assert fixtures_dir() == Path("/somewhere/else")
    monkeypatch.delenv("GCP_OPS_FIXTURES")
    assert fixtures_dir() == REPO_ROOT / "tests" / "fixtures" / "recorded"
