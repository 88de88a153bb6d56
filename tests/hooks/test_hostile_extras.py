"""Hostile connection extras: every one is refused before any network call with the one configuration error,
which names the extra and never quotes its value (key material least of all); none falls back to ADC."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_gcp_ops.hooks.credentials import (
    KNOWN_EXTRAS,
    MAX_KEY_BYTES,
    CredentialsConfigError,
    build_credentials,
    parse_settings,
)

from .keys import key_secret_fragments, service_account_info


def _key(**changes: Any) -> dict[str, Any]:
    return {**service_account_info(), **changes}


PEM = service_account_info()["private_key"]


def refused(extras: Any, extra: str) -> CredentialsConfigError:
    """The extras fail in parse_settings or build_credentials (no network: key material is checked first)."""
    with pytest.raises(CredentialsConfigError) as info:
        build_credentials(parse_settings(extras))
    text = str(info.value) + repr(info.value)
    assert extra in text
    for fragment in key_secret_fragments():
        assert fragment not in text
    return info.value


@pytest.mark.parametrize(
    ("extras", "extra"),
    [
        ({"keyfile_dict": _key(private_key=[PEM])}, "keyfile_dict"),
        ({"keyfile_dict": _key(private_key={"pem": PEM})}, "keyfile_dict"),
        ({"keyfile_dict": _key(private_key=PEM + "garbage-after-the-key")}, "keyfile_dict"),
        ({"keyfile_dict": _key(private_key=PEM + PEM)}, "keyfile_dict"),
        ({"keyfile_dict": _key(client_email=5)}, "keyfile_dict"),
        ({"keyfile_dict": _key(client_email=["a@b.c"])}, "keyfile_dict"),
        ({"keyfile_dict": _key(token_uri=7)}, "keyfile_dict"),
        ({"keyfile_dict": "null"}, "keyfile_dict"),
        ({"keyfile_dict": "[1, 2]"}, "keyfile_dict"),
        ({"keyfile_dict": 5}, "keyfile_dict"),
        ({"keyfile_dict": "[" * 100_000}, "keyfile_dict"),
        ({"credential_config_file": 5}, "credential_config_file"),
        ({"credential_config_file": ["/x.json"]}, "credential_config_file"),
        ({"credential_config_file": json.dumps(_key(private_key=[PEM]))}, "credential_config_file"),
        ({"credential_config_file": _key(private_key=PEM + "x")}, "credential_config_file"),
        ({"key_path": 5}, "key_path"),
        ({"impersonation_chain": [["a@b.c"]]}, "impersonation_chain"),
        ({"impersonation_chain": 5}, "impersonation_chain"),
        ({"quota_project_id": 5}, "quota_project_id"),
        ({"quota_project_id": "bad project\r\nX-Injected: 1"}, "quota_project_id"),
        ({"project": ["p"]}, "project"),
        ({"scope": 5}, "scope"),
        ({"num_retries": "9" * 5000}, "num_retries"),
        ({"emulator_host": "127.0.0.1:99999"}, "emulator_host"),
        ({"emulator_host": "127.0.0.1:\uff18\uff10\uff18\uff10"}, "emulator_host"),
        ({"emulator_host": 8080}, "emulator_host"),
        ({"endpoint": "https://evil.example/path"}, "endpoint"),
    ],
)
def test_a_malformed_extra_is_one_typed_error_naming_it(extras: dict[str, Any], extra: str) -> None:
    refused(extras, extra)


@pytest.mark.parametrize("content", ["dir", "missing", "not-json", "garbage-pem", "huge"])
@pytest.mark.parametrize("extra", ["key_path", "credential_config_file"])
def test_a_bad_key_file_is_one_typed_error_naming_the_extra(tmp_path: Path, content: str, extra: str) -> None:
    path = tmp_path / "key.json"
    if content == "dir":
        path.mkdir()
    elif content == "not-json":
        path.write_text("{" + PEM)
    elif content == "garbage-pem":
        path.write_text(json.dumps(_key(private_key=PEM + "trailing")))
    elif content == "huge":
        path.write_text(json.dumps(_key(padding="x" * (MAX_KEY_BYTES + 1))))
    refused({extra: str(path)}, extra)


def test_a_10_mb_keyfile_dict_is_refused_fast() -> None:
    started = time.monotonic()
    refused({"keyfile_dict": _key(private_key="A" * 10_000_000)}, "keyfile_dict")
    refused({"keyfile_dict": json.dumps(_key(private_key="A" * 10_000_000))}, "keyfile_dict")
    assert time.monotonic() - started < 1.0


def test_a_valid_key_still_builds() -> None:
    credentials, project = build_credentials(parse_settings({"keyfile_dict": service_account_info()}))
    assert project == "key-project" and credentials.service_account_email.startswith("runner@")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
KEYS = st.sampled_from(
    [
        *sorted(KNOWN_EXTRAS),  # every extra the hook reads, so a new one is covered without editing this list
        "extra__google_cloud_platform__keyfile_dict",
        "extra__google_cloud_operations__emulator_host",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extras=st.dictionaries(KEYS, JSON, max_size=4))
def test_any_extras_parse_or_fail_with_the_configuration_error(extras: dict[str, Any]) -> None:
    try:
        parsed = parse_settings(extras)
    except CredentialsConfigError:
        return
    # What parsed is well-typed: nothing else reaches google-auth or the clients.
    assert parsed.key_path is None or isinstance(parsed.key_path, str)
    assert all(isinstance(s, str) for s in parsed.scopes + parsed.impersonation_chain)
    for value in (parsed.project, parsed.quota_project_id, parsed.emulator_host, parsed.endpoint):
        assert value is None or isinstance(value, str)
    assert parsed.num_retries is None or isinstance(parsed.num_retries, int)
    if parsed.keyfile_dict is not None or isinstance(parsed.credential_config_file, dict):
        with contextlib.suppress(CredentialsConfigError):
            build_credentials(parsed)
