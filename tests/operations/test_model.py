"""Operation parsing, the state rule, timestamps and the metadata shapes that carry start/end times."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_gcp_ops.operations.errors import MalformedResponseError, OperationsError
from airflow_provider_gcp_ops.operations.model import Operation, OperationState, Status, parse_timestamp

UTC = timezone.utc
NAME = "projects/p/regions/us-central1/operations/abc"


# -- timestamps ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-04-01T12:34:56Z", datetime(2024, 4, 1, 12, 34, 56, tzinfo=UTC)),
        ("2024-04-01T12:34:56.1Z", datetime(2024, 4, 1, 12, 34, 56, 100000, tzinfo=UTC)),
        ("2024-04-01T12:34:56.123456Z", datetime(2024, 4, 1, 12, 34, 56, 123456, tzinfo=UTC)),
        ("2024-04-12T20:41:43.788252560Z", datetime(2024, 4, 12, 20, 41, 43, 788252, tzinfo=UTC)),
        ("2024-04-12T20:41:43.000000001Z", datetime(2024, 4, 12, 20, 41, 43, 0, tzinfo=UTC)),
        ("2024-04-01t12:34:56z", datetime(2024, 4, 1, 12, 34, 56, tzinfo=UTC)),
        ("2024-04-01T14:34:56+02:00", datetime(2024, 4, 1, 12, 34, 56, tzinfo=UTC)),
        ("2024-04-01T07:04:56.5-05:30", datetime(2024, 4, 1, 12, 34, 56, 500000, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_accepts_rfc3339(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "yesterday",
        "2024-04-01",
        "2024-04-01T12:34:56",  # no offset: ambiguous
        "2024-04-01T12:34:56.Z",
        "2024-04-01T12:34:56.1234567890Z",  # 10 digits
        "2024-13-01T12:34:56Z",
        "2024-02-30T12:34:56Z",
        "0000-01-01T00:00:00Z",
        "2024-04-01T25:00:00Z",
        "2024-04-01T12:34:56+24:00",
        "${timestamp}",
        1712000000,
        ["2024-04-01T12:34:56Z"],
    ],
)
def test_parse_timestamp_returns_none_for_garbage(value: object) -> None:
    assert parse_timestamp(value) is None


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)))
def test_parse_timestamp_round_trips_isoformat(moment: datetime) -> None:
    text = moment.isoformat().replace("+00:00", "Z")
    assert parse_timestamp(text) == moment


@given(st.text(max_size=40))
def test_parse_timestamp_never_raises(text: str) -> None:
    result = parse_timestamp(text)
    assert result is None or result.tzinfo is not None


# -- parsing ------------------------------------------------------------------------------------------------


def test_missing_done_means_false() -> None:
    op = Operation.from_json({"name": NAME})
    assert op.done is False
    assert op.state is OperationState.RUNNING
    assert op.metadata is None
    assert op.metadata_type is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(True, True), (False, False), (None, False), ("true", True), ("false", False), ("TRUE", True), (" false ", False)],
)
def test_done_is_strict_but_tolerant(raw: object, expected: bool) -> None:
    assert Operation.from_json({"name": NAME, "done": raw}).done is expected


@pytest.mark.parametrize("raw", [1, 0, "yes", "1", [], {}])
def test_done_rejects_other_values(raw: object) -> None:
    with pytest.raises(MalformedResponseError, match="done"):
        Operation.from_json({"name": NAME, "done": raw})


@pytest.mark.parametrize(
    "data",
    [None, [], "projects/p", 3, {}, {"name": ""}, {"name": 5}, {"done": True}],
)
def test_not_an_operation_is_malformed(data: object) -> None:
    with pytest.raises(MalformedResponseError) as info:
        Operation.from_json(data)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, OperationsError)


@pytest.mark.parametrize("field_name", ["metadata", "response"])
def test_non_object_metadata_or_response_is_malformed(field_name: str) -> None:
    with pytest.raises(MalformedResponseError, match=field_name):
        Operation.from_json({"name": NAME, field_name: ["x"]})


@pytest.mark.parametrize(
    ("raw", "code"),
    [(6, 6), ("6", 6), (" 14 ", 14), ("ALREADY_EXISTS", 6), ("cancelled", 1), (1.0, 1), (99, 99), ("NOPE", 2)],
)
def test_error_code_forms(raw: object, code: int) -> None:
    op = Operation.from_json({"name": NAME, "done": True, "error": {"code": raw, "message": "m"}})
    assert op.error == Status(code=code, message="m")


def test_status_rpc_name() -> None:
    assert Status(1).rpc_name == "CANCELLED"
    assert Status(16).rpc_name == "UNAUTHENTICATED"
    assert Status(42).rpc_name == "CODE_42"


def test_error_object_must_be_an_object() -> None:
    with pytest.raises(MalformedResponseError):
        Operation.from_json({"name": NAME, "done": True, "error": "boom"})


def test_unknown_metadata_type_is_kept_as_is() -> None:
    md = {"@type": "type.googleapis.com/never.heard.Of", "nested": {"x": [1, 2]}}
    op = Operation.from_json({"name": NAME, "metadata": md})
    assert op.metadata == md
    assert op.metadata_type == "type.googleapis.com/never.heard.Of"


def test_error_details_are_kept() -> None:
    details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "X"}, "junk"]
    op = Operation.from_json({"name": NAME, "done": True, "error": {"code": 9, "details": details}})
    assert op.error is not None
    assert op.error.details == ({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "X"},)


# -- the state rule -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "state"),
    [
        ({"done": False}, OperationState.RUNNING),
        ({}, OperationState.RUNNING),
        ({"done": False, "error": {"code": 1}}, OperationState.RUNNING),  # not done wins: never terminal early
        ({"done": True, "response": {"@type": "x"}}, OperationState.SUCCEEDED),
        ({"done": True}, OperationState.SUCCEEDED),  # Empty response may be omitted
        ({"done": True, "error": {"code": 1, "message": "Operation was cancelled"}}, OperationState.CANCELLED),
        ({"done": True, "error": {"code": "CANCELLED"}}, OperationState.CANCELLED),
        ({"done": True, "error": {"code": 6}}, OperationState.FAILED),
        ({"done": True, "error": {"code": 13}}, OperationState.FAILED),
        ({"done": True, "error": {}}, OperationState.FAILED),  # an error object is never success
        ({"done": True, "error": {"code": 2}, "response": {}}, OperationState.FAILED),
        ({"done": True, "error": None, "response": {}}, OperationState.SUCCEEDED),
    ],
)
def test_state(body: dict[str, object], state: OperationState) -> None:
    op = Operation.from_json({"name": NAME, **body})
    assert op.state is state
    assert op.state.is_terminal is (state is not OperationState.RUNNING)


def test_is_terminal() -> None:
    assert [s for s in OperationState if not s.is_terminal] == [OperationState.RUNNING]


# -- start and end times ------------------------------------------------------------------------------------

T1 = "2024-05-01T10:00:00Z"
T2 = "2024-05-01T10:05:00.5Z"
D1 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
D2 = datetime(2024, 5, 1, 10, 5, 0, 500000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("metadata", "start"),
    [
        ({"@type": "type.googleapis.com/google.cloud.common.OperationMetadata", "createTime": T1}, D1),
        ({"@type": "x.CreateDatasetOperationMetadata", "genericMetadata": {"createTime": T1}}, D1),
        ({"@type": "x.CreateInstanceMetadata", "startTime": T1}, D1),
        ({"@type": "x.CreateInstanceMetadata", "requestTime": T1}, D1),
        ({"@type": "x.ExportMetadata", "commonMetadata": {"startTime": T1}}, D1),
        ({"@type": "x.ExportEntitiesMetadata", "common": {"startTime": T1}}, D1),
        (
            {
                "@type": "x.ClusterOperationMetadata",
                "status": {"state": "DONE", "stateStartTime": T2},
                "statusHistory": [{"state": "PENDING", "stateStartTime": T1}, {"state": "RUNNING"}],
            },
            D1,
        ),
        ({"@type": "x.ClusterOperationMetadata", "status": {"state": "PENDING", "stateStartTime": T1}}, D1),
        (
            {
                "@type": "x.ClusterOperationMetadata",
                "status": {"state": "RUNNING", "stateStartTime": T2},
                "statusHistory": [{"state": "PENDING", "stateStartTime": "garbage"}],
            },
            D2,
        ),
        ({"@type": "x.UpdateDatabaseDdlMetadata", "progress": [{"startTime": T1}, {"startTime": T2}]}, D1),
        ({"@type": "x.RestoreMetadata", "progress": {"startTime": T1}}, D1),
        ({"createTime": T1}, D1),  # no @type at all
        ({"@type": "x.OperationMetadata", "createTime": "not a time", "startTime": T2}, D2),
        ({"@type": "x.OperationMetadata", "createTime": 17}, None),
        ({"@type": "x.OperationMetadata"}, None),
        ({"@type": "x.OperationMetadata", "statusHistory": "garbage", "progress": []}, None),
        # Cloud Run v2 echoes the Service as metadata: its latest mutation time, not its createTime
        ({"@type": "type.googleapis.com/google.cloud.run.v2.Service", "createTime": T1}, D1),
        ({"@type": "type.googleapis.com/google.cloud.run.v2.Service", "createTime": T1, "updateTime": T2}, D2),
        (
            {"@type": "type.googleapis.com/google.cloud.run.v2.Service", "updateTime": T1, "deleteTime": T2},
            D2,
        ),
        ({"@type": "type.googleapis.com/google.cloud.run.v2.Service", "uid": "u"}, None),
    ],
)
def test_start_time_shapes(metadata: dict[str, object], start: datetime | None) -> None:
    assert Operation.from_json({"name": NAME, "metadata": metadata}).start_time() == start


def test_start_time_without_metadata() -> None:
    assert Operation.from_json({"name": NAME}).start_time() is None
    assert Operation.from_json({"name": NAME, "done": True}).end_time() is None


@pytest.mark.parametrize(
    ("metadata", "end"),
    [
        ({"@type": "x.OperationMetadata", "createTime": T1, "endTime": T2}, D2),
        ({"@type": "x.BatchOperationMetadata", "doneTime": T2}, D2),
        ({"@type": "x.CreateInstanceMetadata", "finishTime": T2}, D2),
        ({"@type": "x.CreateDatasetOperationMetadata", "genericMetadata": {"createTime": T1, "updateTime": T2}}, D2),
        ({"@type": "x.ClusterOperationMetadata", "status": {"state": "DONE", "stateStartTime": T2}}, D2),
        ({"@type": "x.ClusterOperationMetadata", "status": {"state": "RUNNING", "stateStartTime": T2}}, None),
        ({"@type": "x.UpdateDatabaseDdlMetadata", "progress": [{"endTime": T1}, {"endTime": T2}]}, D2),
        ({"@type": "x.OperationMetadata", "createTime": T1}, None),
    ],
)
def test_end_time_shapes(metadata: dict[str, object], end: datetime | None) -> None:
    assert Operation.from_json({"name": NAME, "done": True, "metadata": metadata}).end_time() == end


def test_running_operation_has_no_end_time() -> None:
    md = {"@type": "x.BatchOperationMetadata", "createTime": T1, "doneTime": T2}
    assert Operation.from_json({"name": NAME, "metadata": md}).end_time() is None


# -- summary, round trip, immutability ----------------------------------------------------------------------


def test_summary_is_json_safe() -> None:
    op = Operation.from_json(
        {
            "name": NAME,
            "done": True,
            "metadata": {"@type": "x.OperationMetadata", "createTime": T1},
            "error": {"code": 1, "message": "Operation was cancelled."},
        }
    )
    summary = op.summary()
    assert json.loads(json.dumps(summary)) == summary
    assert summary == {
        "name": NAME,
        "done": True,
        "state": "cancelled",
        "error_code": 1,
        "error_status": "CANCELLED",
        "error_message": "Operation was cancelled.",
        "metadata_type": "x.OperationMetadata",
        "start_time": "2024-05-01T10:00:00+00:00",
    }


def test_summary_of_running_operation() -> None:
    summary = Operation.from_json({"name": NAME}).summary()
    assert summary["state"] == "running"
    assert summary["error_code"] is None
    assert summary["start_time"] is None


def test_to_json_round_trip() -> None:
    body = {
        "name": NAME,
        "done": True,
        "metadata": {"@type": "x", "createTime": T1},
        "error": {"code": 6, "message": "exists", "details": [{"@type": "y"}]},
    }
    op = Operation.from_json(body)
    assert Operation.from_json(op.to_json()) == op
    assert json.loads(json.dumps(op.to_json())) == op.to_json()


def test_operation_is_frozen_and_hashable() -> None:
    op = Operation.from_json({"name": NAME, "metadata": {"a": 1}})
    with pytest.raises(AttributeError):
        op.done = True  # type: ignore[misc]
    assert hash(op) == hash(Operation.from_json({"name": NAME, "metadata": {"a": 2}}))


def test_parsing_copies_the_input() -> None:
    md = {"@type": "x.OperationMetadata", "createTime": T1}
    op = Operation.from_json({"name": NAME, "metadata": md})
    md["createTime"] = T2
    assert op.start_time() == D1
