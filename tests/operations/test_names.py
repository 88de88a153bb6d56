"""Names, full resource names and URLs into validated references; everything hostile rejected with a typed error."""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from known_services import hand_kept_rows

from airflow_provider_gcp_ops.operations.core import get_request, list_request
from airflow_provider_gcp_ops.operations.errors import InvalidOperationNameError
from airflow_provider_gcp_ops.operations.names import (
    CollectionRef,
    OperationRef,
    resolve_collection,
    resolve_operation,
    validate_endpoint,
)
from airflow_provider_gcp_ops.operations.services import ServiceSpec, get_service, service_for_host

ROWS = hand_kept_rows()
LOCATION = "europe-west1"


def example_name(spec: ServiceSpec, pattern: str, location: str = LOCATION, op_id: str = "op-123") -> str:
    """A concrete operation name for one of the row's patterns."""
    out = []
    segs = pattern.split("/")
    for i, seg in enumerate(segs):
        if seg == "*":
            previous = segs[i - 1]
            if i == len(segs) - 1:
                out.append(op_id)
            elif previous in ("locations", "regions"):
                out.append(location)
            else:
                out.append(f"my-{previous[:-1] if previous.endswith('s') else previous}")
        elif seg == "**":
            out.append("datasets/ds-1")
        else:
            out.append(seg)
    return "/".join(out)


CASES = [(spec.key, pattern) for spec in ROWS for pattern in spec.name_patterns]


def version_with(spec: ServiceSpec, pattern: str) -> str:
    """The first version that has a collection with this pattern (Vertex AI's solvers/* are v1beta1 only)."""
    return next(v for v in spec.versions if any(c.name == pattern for c in spec.collections(v)))


def expected_host(spec: ServiceSpec, name: str) -> str:
    has_location = "/locations/" in name or "/regions/" in name
    return spec.host_for(LOCATION if has_location else None)


# -- each form x each row ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "pattern"), CASES)
def test_three_forms_resolve_to_the_same_reference(key: str, pattern: str) -> None:
    spec = get_service(key)
    name = example_name(spec, pattern)
    host = expected_host(spec, name)
    version = version_with(spec, pattern)
    relative = resolve_operation(name, service=key, api_version=version)
    assert relative == OperationRef(service=key, api_version=version, host=host, name=name)
    full = resolve_operation(f"//{spec.host}/{name}", api_version=version)
    assert full == relative
    url = resolve_operation(f"https://{host}/{version}/{name}")
    assert url == relative
    assert resolve_operation(f"https://{host}:443/{version}/{name}?alt=json&x=1") == relative
    assert get_request(relative).url() == f"https://{host}/{version}/{name}"


@pytest.mark.parametrize("key", [spec.key for spec in ROWS])
def test_every_listed_version(key: str) -> None:
    spec = get_service(key)
    for version in spec.versions:
        name = example_name(spec, spec.collections(version)[0].name)
        ref = resolve_operation(name, service=key, api_version=version)
        assert ref.api_version == version
        assert ref.path().startswith(f"/{version}/")
        assert resolve_operation(get_request(ref).url()) == ref


@pytest.mark.parametrize(
    ("name", "service", "host"),
    [
        ("projects/p/regions/us-central1/operations/a", "dataproc", "us-central1-dataproc.googleapis.com"),
        ("projects/p/regions/global/operations/a", "dataproc", "dataproc.googleapis.com"),
        ("projects/p/locations/asia-east1/operations/a", "dataproc", "asia-east1-dataproc.googleapis.com"),
        ("projects/p/locations/us-central1/operations/a", "aiplatform", "us-central1-aiplatform.googleapis.com"),
        ("projects/p/locations/global/operations/a", "aiplatform", "aiplatform.googleapis.com"),
        ("projects/p/locations/eu/operations/a", "dialogflow", "eu-dialogflow.googleapis.com"),
        ("projects/p/operations/a", "dialogflow", "dialogflow.googleapis.com"),
        ("projects/p/locations/us-central1/operations/a", "composer", "composer.googleapis.com"),
        ("projects/p/instances/i/databases/d/operations/a", "spanner", "spanner.googleapis.com"),
    ],
)
def test_host_derivation(name: str, service: str, host: str) -> None:
    assert resolve_operation(name, service=service).host == host


def test_unambiguous_relative_names_need_no_service() -> None:
    assert resolve_operation("projects/p/regions/r1/operations/a").service == "dataproc"
    assert resolve_operation("projects/p/instances/i/operations/a").service == "spanner"
    assert resolve_operation("projects/p/instanceConfigs/c/operations/a").service == "spanner"


def test_ambiguous_relative_names_list_the_candidates() -> None:
    with pytest.raises(InvalidOperationNameError) as info:
        resolve_operation("projects/p/locations/l/operations/a")
    message = str(info.value)
    assert "ambiguous" in message
    assert "service=" in message
    for key in ("aiplatform", "alloydb"):
        assert repr(key) in message
    assert "more" in message  # about a hundred APIs have projects/*/locations/*/operations/*: the list is cut


def test_url_keeps_its_known_host() -> None:
    # Dataproc answers regional names on its global host too (as the recorded traffic shows).
    ref = resolve_operation("https://dataproc.googleapis.com/v1/projects/p/regions/us-central1/operations/a")
    assert ref.host == "dataproc.googleapis.com"
    upper = resolve_operation("https://DATAPROC.googleapis.com/v1/projects/p/regions/us-central1/operations/a")
    assert upper.host == "dataproc.googleapis.com"


def test_url_percent_escapes_are_decoded_once() -> None:
    ref = resolve_operation("https://dataproc.googleapis.com/v1/projects/p/regions/r/operations/a%40b")
    assert ref.name == "projects/p/regions/r/operations/a@b"
    assert ref.path() == "/v1/projects/p/regions/r/operations/a%40b"


def test_properties() -> None:
    ref = resolve_operation("projects/proj-1/regions/us-east1/operations/abc-123")
    assert (ref.project, ref.location, ref.operation_id) == ("proj-1", "us-east1", "abc-123")
    assert ref.spec is get_service("dataproc")
    assert ref.full_resource_name == "//dataproc.googleapis.com/projects/proj-1/regions/us-east1/operations/abc-123"
    spanner = resolve_operation("projects/p/instances/i/databases/d/operations/_auto_op_1")
    assert spanner.location is None
    assert spanner.project == "p"
    assert spanner.operation_id == "_auto_op_1"
    vertex = resolve_operation("projects/1/locations/us-central1/datasets/locations/operations/9", service="aiplatform")
    assert vertex.location == "us-central1"


def test_path_suffixes() -> None:
    ref = resolve_operation("projects/p/regions/r/operations/a")
    assert ref.path(":cancel") == "/v1/projects/p/regions/r/operations/a:cancel"
    assert ref.path(":wait") == "/v1/projects/p/regions/r/operations/a:wait"
    for bad in ("/x", "?a=b", ":ca ncel", ":", "cancel"):
        with pytest.raises(ValueError, match="suffix"):
            ref.path(bad)


# -- endpoint override ---------------------------------------------------------------------------------------


def test_endpoint_override_replaces_the_derived_host() -> None:
    ref = resolve_operation(
        "projects/p/regions/us-central1/operations/a", endpoint="Dataproc-Private.corp.example:8443"
    )
    assert ref.host == "dataproc-private.corp.example:8443"
    assert (
        get_request(ref).url()
        == "https://dataproc-private.corp.example:8443/v1/projects/p/regions/us-central1/operations/a"
    )
    url_ref = resolve_operation(
        "https://dataproc.googleapis.com/v1/projects/p/regions/r/operations/a", endpoint="10.0.0.7"
    )
    assert url_ref.host == "10.0.0.7"


@pytest.mark.parametrize(
    "endpoint",
    [
        "",
        "https://dataproc.googleapis.com",
        "dataproc.googleapis.com/v1",
        "user@dataproc.googleapis.com",
        "host:0",
        "host:65536",
        "host:",
        "host:80:80",
        "ho st",
        "host?x",
        "-bad.example",
        "[::1]:8080",
        "évil.example",
        "host:\uff18\uff10",  # fullwidth digits
    ],
)
def test_bad_endpoints_are_rejected(endpoint: str) -> None:
    with pytest.raises(InvalidOperationNameError, match="endpoint"):
        validate_endpoint(endpoint)
    with pytest.raises(InvalidOperationNameError, match="endpoint"):
        resolve_operation("projects/p/regions/r/operations/a", endpoint=endpoint)


# -- serialization --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "pattern"), CASES)
def test_to_dict_from_dict_round_trip(key: str, pattern: str) -> None:
    spec = get_service(key)
    ref = resolve_operation(example_name(spec, pattern), service=key, api_version=version_with(spec, pattern))
    data = json.loads(json.dumps(ref.to_dict()))
    assert OperationRef.from_dict(data) == ref


def test_round_trip_with_endpoint_and_version() -> None:
    ref = resolve_operation(
        "projects/p/locations/l/operations/x", service="datafusion", api_version="v1beta1", endpoint="localhost:9000"
    )
    assert OperationRef.from_dict(ref.to_dict()) == ref


@pytest.mark.parametrize(
    "data",
    [
        None,
        "projects/p",
        {},
        {"service": "dataproc", "api_version": "v1", "host": "dataproc.googleapis.com"},
        {"service": "dataproc", "api_version": "v1", "host": "dataproc.googleapis.com", "name": 5},
        {
            "service": "nope",
            "api_version": "v1",
            "host": "dataproc.googleapis.com",
            "name": "projects/p/regions/r/operations/a",
        },
        {
            "service": "dataproc",
            "api_version": "v9",
            "host": "dataproc.googleapis.com",
            "name": "projects/p/regions/r/operations/a",
        },
        {"service": "dataproc", "api_version": "v1", "host": "evil.com/x", "name": "projects/p/regions/r/operations/a"},
        {
            "service": "dataproc",
            "api_version": "v1",
            "host": "dataproc.googleapis.com",
            "name": "projects/../operations/a",
        },
    ],
)
def test_from_dict_validates_again(data: object) -> None:
    with pytest.raises(InvalidOperationNameError):
        OperationRef.from_dict(data)  # type: ignore[arg-type]


# -- percent-encoding ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op_id", "encoded"),
    [
        ("op-1_2.3~4", "op-1_2.3~4"),
        ("a@b", "a%40b"),
        ("a+b=c", "a%2Bb%3Dc"),
        ("${operationID}", "%24%7BoperationID%7D"),
        ("é", "%C3%A9"),
        ("dot.", "dot."),
        ("...", "..."),
        ("a;b,c", "a%3Bb%2Cc"),
        ("'\"<>", "%27%22%3C%3E"),
    ],
)
def test_segments_are_percent_encoded(op_id: str, encoded: str) -> None:
    ref = resolve_operation(f"projects/p/regions/r/operations/{op_id}")
    assert ref.name.endswith(op_id)
    assert ref.path() == f"/v1/projects/p/regions/r/operations/{encoded}"
    assert resolve_operation(get_request(ref).url()) == ref


def test_domain_scoped_project_keeps_its_colon_encoded() -> None:
    ref = resolve_operation("projects/example.com:proj/regions/r/operations/a")
    assert ref.project == "example.com:proj"
    assert ref.path() == "/v1/projects/example.com%3Aproj/regions/r/operations/a"


# -- rejections, each quoting the input --------------------------------------------------------------------

OK = "projects/p/regions/r/operations/a"
DP = "https://dataproc.googleapis.com/v1/projects/p/regions/r/operations/a"
REJECTIONS = [
    ("", {}, "empty"),
    ("projects/p/regions/r/operations/../a", {}, "dot segment"),
    ("projects/p/regions/./operations/a", {}, "dot segment"),
    ("projects/p/regions/r/operations/..", {}, "dot segment"),
    ("projects/p/regions/r/operations/\uff0e\uff0e", {}, "dot segment"),  # fullwidth dots fold to '..'
    ("projects//regions/r/operations/a", {}, "empty path segment"),
    ("/projects/p/regions/r/operations/a", {}, "empty path segment"),
    ("projects/p/regions/r/operations/a/", {}, "empty path segment"),
    ("projects/p/regions/r/operations/a?alt=json", {}, "'?'"),
    ("projects/p/regions/r/operations/a#x", {}, "'#'"),
    ("projects/p/regions/r/operations/a b", {}, "whitespace"),
    (" projects/p/regions/r/operations/a", {}, "whitespace"),
    ("projects/p/regions/r/operations/a\n", {}, "whitespace"),
    ("projects/p/regions/r/operations/a\x00", {}, "control"),
    ("projects/p/regions/r/operations/a\u202e", {}, "invisible"),
    ("projects/p/regions/r/operations/a\u00a0", {}, "whitespace"),
    ("projects/p/regions/r/operations/%2e%2e", {}, "'%'"),
    ("projects/p/regions/r/operations/a%20b", {}, "'%'"),
    ("projects/p/regions/r\\operations/a", {}, "backslash"),
    ("projects/p/regions/r/operations/a:cancel", {}, "method verb"),
    ("projects/p/locations/l/operations/a", {}, "ambiguous"),
    ("foo/bar", {}, "matches no service"),
    ("operations/abc", {}, "ambiguous"),
    ("nothing/abc/operations/x", {}, "matches no service"),
    (OK, {"service": "spanner"}, "does not match the Spanner"),
    (OK, {"service": "nope"}, "unknown service"),
    (OK, {"api_version": "v9"}, "no API version 'v9'"),
    ("projects/p/regions/US-CENTRAL1/operations/a", {}, "cannot form a Dataproc endpoint host"),
    ("projects/p/regions/a.b/operations/a", {}, "cannot form a Dataproc endpoint host"),
    ("https://evil.example.com/v1/projects/p/regions/r/operations/a", {}, "not an endpoint"),
    ("https://dataproc.googleapis.com.evil.com/v1/projects/p/regions/r/operations/a", {}, "not an endpoint"),
    ("https://evil.com/dataproc.googleapis.com/v1/projects/p/regions/r/operations/a", {}, "not an endpoint"),
    ("https://googleapis.com/v1/projects/p/regions/r/operations/a", {}, "not an endpoint"),
    ("https://pubsub.googleapis.com/v1/projects/p/operations/a", {}, "not an endpoint"),
    ("https://dataproc.googleapis.com./v1/projects/p/regions/r/operations/a", {}, "host"),
    ("http://dataproc.googleapis.com/v1/projects/p/regions/r/operations/a", {}, "only https"),
    ("ftp://dataproc.googleapis.com/v1/projects/p/regions/r/operations/a", {}, "only https"),
    ("https:/dataproc.googleapis.com/v1/projects/p/regions/r/operations/a", {}, "not a valid URL"),
    ("https://x@dataproc.googleapis.com/v1/projects/p/regions/r/operations/a", {}, "userinfo"),
    ("https://127.0.0.1/v1/projects/p/regions/r/operations/a", {}, "IP literal"),
    ("https://[::1]/v1/projects/p/regions/r/operations/a", {}, "IP literal"),
    ("https://dataproc.googleapis.com:8443/v1/projects/p/regions/r/operations/a", {}, "port '8443'"),
    ("https://dataproc.googleapis.com/v9/projects/p/regions/r/operations/a", {}, "no API version 'v9'"),
    ("https://dataproc.googleapis.com/projects/p/regions/r/operations/a", {}, "no API version 'projects'"),
    ("https://dataproc.googleapis.com/v1/", {}, "empty"),
    ("https://dataproc.googleapis.com", {}, "/{version}/{name}"),
    (DP + ":cancel", {}, "method verb"),
    (DP + "#frag", {}, "fragment"),
    ("https://dataproc.googleapis.com/v1/projects/p/regions/r/operations/%2e%2e", {}, "dot segment"),
    ("https://dataproc.googleapis.com/v1/projects/p/regions/r/operations/%2E.", {}, "dot segment"),
    ("https://dataproc.googleapis.com/v1/projects/p/regions/r/operations/a%2Fb", {}, "encoded '/'"),
    ("https://dataproc.googleapis.com/v1/projects/p/regions/r/operations/a%zz", {}, "malformed percent"),
    ("https://dataproc.googleapis.com/v1/projects/p/regions/r/operations/a%ff", {}, "UTF-8"),
    ("https://dataproc.googleapis.com/v1/projects/p/regions/r/operations/a%2500", {}, "'%'"),
    ("https://dataproc.googleapis.com/v1/projects/p/regions/r/operations/a%00", {}, "control"),
    ("https://dataproc.googleapis.com/v1/projects/p/regions/r/operations/a%3Acancel", {}, "method verb"),
    ("https://dataproc.googleapis.com/v1//projects/p/regions/r/operations/a", {}, "empty path segment"),
    (DP, {"service": "spanner"}, "belongs to service 'dataproc'"),
    (
        "https://datafusion.googleapis.com/v1/projects/p/locations/l/operations/a",
        {"api_version": "v1beta1"},
        "api_version='v1beta1'",
    ),
    ("//evil.example.com/projects/p/regions/r/operations/a", {}, "not an endpoint"),
    ("//dataproc.googleapis.com:443/projects/p/regions/r/operations/a", {}, "no port"),
    ("//dataproc.googleapis.com/projects/p/regions/r/operations/../a", {}, "dot segment"),
    ("//dataproc.googleapis.com", {}, "empty"),
    ("x" * 3000, {}, "longer than"),
]


@pytest.mark.parametrize(("value", "kwargs", "fragment"), REJECTIONS)
def test_rejections_are_typed_and_quote_the_input(value: str, kwargs: dict[str, str], fragment: str) -> None:
    with pytest.raises(InvalidOperationNameError) as info:
        resolve_operation(value, **kwargs)
    message = str(info.value)
    assert fragment in message
    assert info.value.value == value
    assert isinstance(info.value, ValueError)
    if len(value) <= 200 and "?" not in value and "#" not in value and "@" not in value:
        assert repr(value) in message


@pytest.mark.parametrize("value", [None, 5, b"projects/p/regions/r/operations/a", ["x"]])
def test_non_strings_are_rejected(value: object) -> None:
    with pytest.raises(InvalidOperationNameError, match="expected a string"):
        resolve_operation(value)  # type: ignore[arg-type]


def test_secrets_in_rejected_urls_are_redacted() -> None:
    secret = "SECRET-123"
    for value in (
        f"https://user:{secret}@dataproc.googleapis.com/v1/projects/p/regions/r/operations/a",
        f"https://evil.example.com/v1/projects/p/regions/r/operations/a?access_token={secret}",
        f"projects/p/regions/r/operations/a?key={secret}",
    ):
        with pytest.raises(InvalidOperationNameError) as info:
            resolve_operation(value)
        assert secret not in str(info.value)
        assert secret not in repr(info.value)
        assert "<redacted>" in str(info.value)


# -- collections ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        ("projects/p/locations/us-central1", {"service": "alloydb"}, ("alloydb", "v1", "alloydb.googleapis.com")),
        (
            "projects/p/locations/us-central1/operations",
            {"service": "aiplatform"},
            ("aiplatform", "v1", "us-central1-aiplatform.googleapis.com"),
        ),
        ("projects/p/regions/us-central1", {}, ("dataproc", "v1", "us-central1-dataproc.googleapis.com")),
        ("projects/p/regions/us-central1/operations", {}, ("dataproc", "v1", "us-central1-dataproc.googleapis.com")),
        ("projects/p/instances/i", {}, ("spanner", "v1", "spanner.googleapis.com")),
        ("projects/p/instances/i/databases/d/operations", {}, ("spanner", "v1", "spanner.googleapis.com")),
        (
            "https://alloydb.googleapis.com/v1beta/projects/p/locations/us-central1/operations?pageSize=5",
            {},
            ("alloydb", "v1beta", "alloydb.googleapis.com"),
        ),
        (
            "//run.googleapis.com/projects/p/locations/us-central1/operations",
            {},
            ("run", "v2", "run.googleapis.com"),
        ),
    ],
)
def test_collections(value: str, kwargs: dict[str, str], expected: tuple[str, str, str]) -> None:
    coll = resolve_collection(value, **kwargs)
    assert (coll.service, coll.api_version, coll.host) == expected
    assert not coll.parent.endswith("/operations")
    assert coll.path() == f"/{coll.api_version}/{coll.parent}/operations"
    assert CollectionRef.from_dict(json.loads(json.dumps(coll.to_dict()))) == coll
    assert resolve_collection(list_request(coll).url()) == coll


def test_collection_properties() -> None:
    coll = resolve_collection("projects/p/regions/us-west1")
    assert (coll.project, coll.location, coll.spec.key) == ("p", "us-west1", "dataproc")


@pytest.mark.parametrize(
    ("value", "kwargs", "fragment"),
    [
        ("projects/p/locations/l", {}, "ambiguous"),
        ("operations", {}, "no parent"),
        ("projects/p/locations/l/operations/x", {"service": "alloydb"}, "does not match"),
        ("projects/p/../l", {"service": "alloydb"}, "dot segment"),
        ("https://evil.example.com/v1/projects/p/locations/l/operations", {}, "not an endpoint"),
        ("projects/p/locations/l:list", {"service": "alloydb"}, "method verb"),
        ("projects/p/locations/l", {"service": "alloydb", "endpoint": "a/b"}, "endpoint"),
    ],
)
def test_collection_rejections(value: str, kwargs: dict[str, str], fragment: str) -> None:
    with pytest.raises(InvalidOperationNameError) as info:
        resolve_collection(value, **kwargs)
    assert fragment in str(info.value)


def test_collection_from_dict_validates() -> None:
    with pytest.raises(InvalidOperationNameError):
        CollectionRef.from_dict({"service": "dataproc", "api_version": "v1", "host": "h"})  # type: ignore[typeddict-item]


# -- property: whatever the input, the request goes to a table host (or the endpoint) and stays in /{version}/ --

_KNOWN_HOSTS = sorted(
    {spec.host for spec in ROWS}
    | {spec.host_for("us-central1") for spec in ROWS}
    | {spec.host_for("europe-west4") for spec in ROWS}
)
_HOSTILE_HOSTS = [
    "evil.example.com",
    "dataproc.googleapis.com.evil.com",
    "dataproc.googleapis.com@evil.com",
    "evil.com#@dataproc.googleapis.com",
    "evil.com\\@dataproc.googleapis.com",
    "127.0.0.1",
    "[::1]",
    "localhost",
    "googleapis.com",
    "x-dataproc.googleapis.com.",
    "DATAPROC.GOOGLEAPIS.COM",
    "dataproc.googleapis.com:8443",
    "dataproc.googleapis.com:443",
    "us-central1-dataproc.googleapis.com",
    "",
]
_VALID_SEGMENTS = st.sampled_from(
    ["p", "my-proj", "us-central1", "global", "europe-west4", "op-1", "a~b.c_d", "${operationID}", "é", "evil.com"]
)
_HOSTILE_SEGMENTS = st.sampled_from(
    [
        "..",
        ".",
        "",
        "%2e%2e",
        "%2E.",
        "%2f",
        "%2F..",
        "%252e",
        "a%40b",
        "@",
        "\\",
        " ",
        "\t",
        ":cancel",
        "a:wait",
        "?alt=json",
        "#x",
        "\u202e",
        "\uff0e\uff0e",
        "operations",
        "regions",
        "evil.com/..",
        "UPPER",
    ]
)
# Valid values are listed three times so that a good share of the inputs gets past validation.
_SEGMENTS = st.one_of(_VALID_SEGMENTS, _VALID_SEGMENTS, _VALID_SEGMENTS, _HOSTILE_SEGMENTS, st.text(max_size=6))


@st.composite
def hostile_inputs(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    segments = draw(st.lists(_SEGMENTS, min_size=0, max_size=9))
    structured = ["projects", draw(_SEGMENTS), draw(st.sampled_from(["regions", "locations", "instances"]))]
    shape = draw(st.integers(0, 3))
    if shape == 0:  # free-form segments
        name = "/".join(segments)
    else:  # a well-formed skeleton with hostile values in the slots
        middle = segments[:1] if shape == 1 else []
        name = "/".join([*structured, draw(_SEGMENTS), *middle, "operations", draw(_SEGMENTS)])
    form = draw(st.sampled_from(["relative", "full", "url", "raw"]))
    host = draw(st.one_of(st.sampled_from(_KNOWN_HOSTS), st.sampled_from(_HOSTILE_HOSTS)))
    version = draw(st.sampled_from(["v1", "v1beta1", "v2", "v9", "..", "%2e%2e"]))
    scheme = draw(st.sampled_from(["https", "https", "http", "HTTPS", "javascript", "file"]))
    value = {
        "relative": name,
        "full": f"//{host}/{name}",
        "url": f"{scheme}://{host}/{version}/{name}" + draw(st.sampled_from(["", "?alt=json", "#f", ":cancel"])),
        "raw": draw(st.text(max_size=40)),
    }[form]
    kwargs: dict[str, str] = {}
    if draw(st.integers(0, 2)) == 0:
        kwargs["service"] = draw(st.sampled_from([spec.key for spec in ROWS] + ["nope"]))
    if draw(st.integers(0, 3)) == 0:
        kwargs["api_version"] = draw(st.sampled_from(["v1", "v1beta1", "v2", "../v1"]))
    if draw(st.integers(0, 4)) == 0:
        kwargs["endpoint"] = draw(st.sampled_from(["private.example:8443", "localhost", "a/b", "x@y", "h:99999"]))
    return value, kwargs


@st.composite
def near_valid_inputs(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    """A valid name of a random row, in a random form, with at most one segment swapped for a drawn one."""
    key, pattern = draw(st.sampled_from(CASES))
    spec = get_service(key)
    location = draw(st.sampled_from(["us-central1", "global", "asia-east1"]))
    segments = example_name(spec, pattern, location=location).split("/")
    if draw(st.integers(0, 2)) == 0:
        index = draw(st.integers(0, len(segments) - 1))
        segments[index] = draw(_SEGMENTS)
    name = "/".join(segments)
    host = spec.host_for(location)
    version = draw(st.sampled_from(spec.versions))
    form = draw(st.sampled_from(["relative", "full", "url"]))
    value = {"relative": name, "full": f"//{spec.host}/{name}", "url": f"https://{host}/{version}/{name}"}[form]
    kwargs = {"service": key} if form == "relative" or draw(st.booleans()) else {}
    if draw(st.integers(0, 4)) == 0:
        kwargs["endpoint"] = "private.example:8443"
    return value, kwargs


INPUTS = st.one_of(hostile_inputs(), near_valid_inputs(), near_valid_inputs())


def _assert_safe(ref: OperationRef, kwargs: dict[str, str]) -> None:
    url = get_request(ref).url()
    parts = urlsplit(url)
    assert parts.scheme == "https"
    assert parts.username is None
    assert parts.password is None
    assert not parts.query
    assert not parts.fragment
    if "endpoint" in kwargs:
        assert parts.netloc == kwargs["endpoint"].lower()
    else:
        assert parts.port is None
        assert parts.hostname is not None
        spec = service_for_host(parts.hostname)
        assert spec is not None
        assert spec.key == ref.service
    assert ref.api_version in ref.spec.versions
    assert parts.path.startswith(f"/{ref.api_version}/")
    raw_segments = parts.path.split("/")[1:]
    assert all(raw_segments)
    decoded = [unquote(seg) for seg in raw_segments]
    assert ".." not in decoded
    assert "." not in decoded
    assert all("/" not in seg for seg in decoded)
    assert ref.spec.matches(ref.name)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(INPUTS)
@example(("https://dataproc.googleapis.com/v1/projects/p/regions/r/operations/%2e%2e", {}))
@example(("https://dataproc.googleapis.com@evil.com/v1/projects/p/regions/r/operations/a", {}))
@example(("projects/p/regions/r/operations/a", {"endpoint": "private.example:8443"}))
def test_property_request_never_leaves_the_table(case: tuple[str, dict[str, str]]) -> None:
    value, kwargs = case
    try:
        ref = resolve_operation(value, **kwargs)
    except InvalidOperationNameError:
        event("rejected")
        return
    event("accepted")
    _assert_safe(ref, kwargs)
    assert OperationRef.from_dict(ref.to_dict()) == ref


@settings(max_examples=150, deadline=None)
@given(INPUTS)
def test_property_collections_never_leave_the_table(case: tuple[str, dict[str, str]]) -> None:
    value, kwargs = case
    try:
        coll = resolve_collection(value, **kwargs)
    except InvalidOperationNameError:
        return
    parts = urlsplit(list_request(coll).url())
    if "endpoint" not in kwargs:
        assert parts.hostname is not None
        assert service_for_host(parts.hostname) is not None
    assert parts.path.startswith(f"/{coll.api_version}/")
    assert parts.path.endswith("/operations")
    assert ".." not in [unquote(seg) for seg in parts.path.split("/")]
