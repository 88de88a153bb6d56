"""Pure parts of the emulator, without HTTP: filters, wire formats, clock, page tokens, operation timelines."""

from __future__ import annotations

import json
import random
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_gcp_ops.emulator import filters, wire
from airflow_provider_gcp_ops.emulator.catalog import IdStyle, known_profiles, profile_for
from airflow_provider_gcp_ops.emulator.clock import VirtualClock
from airflow_provider_gcp_ops.emulator.faults import FaultPlan, parse_plan
from airflow_provider_gcp_ops.emulator.operation import CancelMode, Operation, Phase, new_operation_id
from airflow_provider_gcp_ops.emulator.store import InvalidPageTokenError, decode_page_token, encode_page_token
from airflow_provider_gcp_ops.operations.codes import RpcCode
from airflow_provider_gcp_ops.operations.services import ServiceSpec, get_service, services

OPS: list[dict[str, Any]] = [
    {"name": "a", "metadata": {"status": {"state": "RUNNING"}, "tags": ["x", "y"], "n": 3, "flag": False}},
    {"name": "b", "done": True, "error": {"code": 1}, "metadata": {"status": {"state": "DONE"}}},
    {"name": "c", "done": True, "response": {}, "metadata": {"clusterName": "etl"}},
]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_filter_parser_only_raises_filter_error(text: str) -> None:
    try:
        predicate = filters.parse(text)
    except filters.FilterError:
        return
    for op in OPS:
        assert predicate(op) in (True, False)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=5), st.integers(), st.booleans()), max_size=4))
def test_json_filters_of_scalars_parse(data: dict[str, Any]) -> None:
    data.pop("operation_state_matcher", None)
    predicate = filters.parse(json.dumps(data) if data else "{}")
    for op in OPS:
        predicate(op)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("metadata.tags:x", ["a"]),
        ("tags:z", []),
        ("metadata.n = 3", ["a"]),
        ("n = 3.0", ["a"]),
        ("flag = false", ["a"]),
        ("metadata.status:state", ["a", "b"]),
        ('name = "c"', ["c"]),
        ("name != c AND done = true", ["b"]),
        ("cluster_name = etl", ["c"]),
        ("clusterName:et", ["c"]),
        ("done = TRUE", ["b", "c"]),
    ],
)
def test_filter_semantics(text: str, names: list[str]) -> None:
    predicate = filters.parse(text)
    assert [op["name"] for op in OPS if predicate(op)] == names


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda x: round(x, 3)))
def test_durations_round_trip(seconds: float) -> None:
    assert wire.parse_duration(wire.format_duration(seconds)) == pytest.approx(seconds, abs=1e-3)


@pytest.mark.parametrize("text", ["", "10", "s", "1.s", "1.0000000001s", "abc", "1e3s", "--1s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        wire.parse_duration(text)


def test_wire_formats() -> None:
    assert wire.parse_duration("-1.5s") == -1.5
    assert wire.format_duration(2) == "2s"
    assert wire.format_duration(0.25) == "0.25s"
    assert wire.rfc3339(0) == "1970-01-01T00:00:00.000000Z"
    assert wire.retry_after_header(0.1) == "1"
    assert wire.retry_after_header(3) == "3"
    body = wire.error_body(RpcCode.NOT_FOUND, "gone")
    assert body == {"error": {"code": 404, "message": "gone", "status": "NOT_FOUND"}}


def test_clock_scales_and_maps_back() -> None:
    clock = VirtualClock(1000.0)
    time.sleep(0.01)
    v1 = clock.now()
    assert v1 >= 10
    clock.set_scale(1.0)
    v2 = clock.now()
    assert v2 >= v1  # changing the scale never moves time backwards
    assert clock.real_of(v1) == pytest.approx(clock.epoch + v1 / 1000.0, abs=1e-6)
    assert clock.real_seconds_until(v2 - 5) == 0.0
    with pytest.raises(ValueError, match="time_scale"):
        VirtualClock(0)


def test_page_tokens() -> None:
    token = encode_page_token(42, "abc")
    assert decode_page_token(token, "abc") == 42
    for bad in ("###", "e30", encode_page_token(1, "other")):
        with pytest.raises(InvalidPageTokenError):
            decode_page_token(bad, "abc")


def test_fault_plan_default_seed_and_bare_list() -> None:
    plan = parse_plan([{"kind": "503"}], default_seed=9)
    assert plan.seed == 9
    assert plan.rules[0].route == "*"
    assert FaultPlan().decide("get", "/x") is None


def test_every_row_has_a_profile_and_unknown_rows_get_a_generic_one() -> None:
    for spec in services():
        assert profile_for(spec).key == spec.key
    assert set(known_profiles()) >= {"dataproc", "spanner", "aiplatform"}
    custom = ServiceSpec(
        key="newsvc",
        title="New",
        host="new.googleapis.com",
        versions=("v1",),
        name_patterns=("projects/*/zones/*/operations/*",),
    )
    profile = profile_for(custom)
    assert profile.collection == "zones"
    assert custom.matches(profile.collection_path("p", "z") + "/operations/x")


def make_op(duration: float, pending: float, cancel_at: float | None, delay: float, mode: CancelMode) -> Operation:
    spec = get_service("alloydb")
    op = Operation(
        name="projects/p/locations/l/operations/x",
        parent="projects/p/locations/l",
        spec=spec,
        profile=profile_for(spec),
        project="p",
        location="l",
        api_version="v1",
        seq=1,
        created_v=100.0,
        create_wall=1_700_000_000.0,
        duration_s=duration,
        pending_s=min(pending, duration),
        cancel_mode=mode,
        cancel_delay_s=delay,
        resource_name="projects/p/locations/l/clusters/c",
        resource_uuid="u",
    )
    if cancel_at is not None:
        op.cancel_requested_v = 100.0 + cancel_at
    return op


@settings(max_examples=300, deadline=None)
@given(
    duration=st.floats(0, 100),
    pending=st.floats(0, 10),
    cancel_at=st.one_of(st.none(), st.floats(0, 100)),
    delay=st.floats(0, 10),
    mode=st.sampled_from(list(CancelMode)),
    now=st.floats(0, 300),
)
def test_timeline_invariants(
    duration: float, pending: float, cancel_at: float | None, delay: float, mode: CancelMode, now: float
) -> None:
    op = make_op(duration, pending, cancel_at, delay, mode)
    events = op.timeline(100.0 + now)
    assert events
    times = [t for _, t in events]
    assert times == sorted(times)
    done = [p for p, _ in events if p.done]
    assert len(done) <= 1
    assert not done or events[-1][0].done
    if events[-1][0] is Phase.CANCELLED:
        assert mode is CancelMode.CANCELLABLE
        assert cancel_at is not None
    body = op.as_dict(100.0 + now)
    assert ("done" in body) == events[-1][0].done
    assert ("error" in body) + ("response" in body) == (1 if body.get("done") else 0)


def test_ids_are_reproducible() -> None:
    a = [new_operation_id(s, random.Random(1), 1.0) for s in IdStyle]
    b = [new_operation_id(s, random.Random(1), 1.0) for s in IdStyle]
    assert a == b
    assert len(set(a)) == len(a)
