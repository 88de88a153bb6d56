"""Connection extras → credentials, exactly as google_cloud_platform connections hold them."""

from __future__ import annotations

import json

import pytest
from google.auth import impersonated_credentials
from google.oauth2 import service_account

from airflow_provider_gcp_ops.hooks.credentials import (
    CredentialsConfigError,
    UnsupportedCredentialExtraError,
    build_credentials,
    parse_chain,
    parse_settings,
)
from airflow_provider_gcp_ops.operations.auth import CLOUD_PLATFORM_SCOPE

from .keys import key_secret_fragments, keyfile_json, service_account_info


def test_empty_extras_mean_adc_with_cloud_platform_scope() -> None:
    settings = parse_settings({})
    assert settings.scopes == (CLOUD_PLATFORM_SCOPE,)
    assert settings.key_path is None and settings.keyfile_dict is None


@pytest.mark.parametrize("prefix", ["", "extra__google_cloud_platform__"])
def test_keys_with_and_without_the_legacy_prefix(prefix: str) -> None:
    settings = parse_settings(
        {
            f"{prefix}key_path": "/keys/sa.json",
            f"{prefix}scope": "https://a/scope, https://b/scope",
            f"{prefix}project": "proj",
            f"{prefix}num_retries": "5",  # a URI connection carries every extra as a string
            f"{prefix}impersonation_chain": "a@p.iam.gserviceaccount.com,b@p.iam.gserviceaccount.com",
            f"{prefix}quota_project_id": "billing",
        }
    )
    assert settings.key_path == "/keys/sa.json"
    assert settings.scopes == ("https://a/scope", "https://b/scope")
    assert settings.project == "proj"
    assert settings.num_retries == 5
    assert settings.impersonation_chain == ("a@p.iam.gserviceaccount.com", "b@p.iam.gserviceaccount.com")
    assert settings.quota_project_id == "billing"


def test_the_unprefixed_key_wins_and_empty_values_are_absent() -> None:
    settings = parse_settings({"project": "", "extra__google_cloud_platform__project": "legacy", "key_path": "new"})
    assert settings.project == "legacy"
    assert settings.key_path == "new"


def test_operator_chain_overrides_the_connections() -> None:
    settings = parse_settings(
        {"impersonation_chain": "a@p.iam.gserviceaccount.com"}, impersonation_chain=["t@p.iam.gserviceaccount.com"]
    )
    assert settings.impersonation_chain == ("t@p.iam.gserviceaccount.com",)


@pytest.mark.parametrize("bad", ["not-an-email", "a b@p.com"])
def test_bad_chain_entries_are_refused(bad: str) -> None:
    with pytest.raises(CredentialsConfigError, match="impersonation_chain"):
        parse_chain(bad)


@pytest.mark.parametrize("bad", ["abc", "-1", "1.5"])
def test_bad_num_retries(bad: str) -> None:
    with pytest.raises(CredentialsConfigError, match="num_retries"):
        parse_settings({"num_retries": bad})


def test_keyfile_dict_as_json_string_builds_service_account_credentials() -> None:
    settings = parse_settings({"keyfile_dict": keyfile_json()})
    credentials, project = build_credentials(settings)
    assert isinstance(credentials, service_account.Credentials)
    assert credentials.service_account_email == service_account_info()["client_email"]
    assert project == "key-project"


def test_project_extra_overrides_the_keys_project() -> None:
    _, project = build_credentials(parse_settings({"keyfile_dict": service_account_info(), "project": "other"}))
    assert project == "other"


def test_key_path(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "sa.json"  # type: ignore[operator]
    path.write_text(keyfile_json())
    credentials, _ = build_credentials(parse_settings({"key_path": str(path)}))
    assert isinstance(credentials, service_account.Credentials)


def test_impersonation_chain_targets_the_last_account() -> None:
    settings = parse_settings(
        {"keyfile_dict": service_account_info()},
        impersonation_chain="mid@p.iam.gserviceaccount.com,target@p.iam.gserviceaccount.com",
    )
    credentials, _ = build_credentials(settings)
    assert isinstance(credentials, impersonated_credentials.Credentials)
    assert credentials.service_account_email == "target@p.iam.gserviceaccount.com"
    assert credentials._delegates == ["mid@p.iam.gserviceaccount.com"]


def test_quota_project_is_applied() -> None:
    credentials, _ = build_credentials(
        parse_settings({"keyfile_dict": service_account_info(), "quota_project_id": "billing"})
    )
    assert credentials.quota_project_id == "billing"


def test_invalid_key_material_errors_never_quote_the_key() -> None:
    broken = dict(service_account_info())
    broken["private_key"] = broken["private_key"][:-80]  # truncated PEM
    texts = []
    for extras in (
        {"keyfile_dict": json.dumps(broken)},
        {"keyfile_dict": json.dumps(broken)[:-3]},  # not JSON
        {"keyfile_dict": keyfile_json(), "key_path": "/x.json"},
    ):
        with pytest.raises(CredentialsConfigError) as info:
            build_credentials(parse_settings(extras))
        texts += [str(info.value), repr(info.value)]
    for text in texts:
        for fragment in key_secret_fragments():
            assert fragment not in text


def test_settings_repr_hides_key_material() -> None:
    settings = parse_settings({"keyfile_dict": keyfile_json()})
    for fragment in key_secret_fragments():
        assert fragment not in repr(settings)


# -- extras the hook does not implement: a typed error naming the extra, never ADC --------------------------
@pytest.mark.parametrize(
    "key",
    [
        "key_secret_name",
        "extra__google_cloud_platform__key_secret_name",
        "key_secret_project_id",
        "is_anonymous",
        "idp_issuer_url",
        "client_secret",
        "extra__google_cloud_platform__some_future_credential",
        "extra__google_cloud_operations__typo_key_path",
    ],
)
def test_a_credential_extra_we_do_not_implement_is_refused_by_name(key: str) -> None:
    secret_value = "projects/p/secrets/sa-key-value-must-not-leak"
    with pytest.raises(UnsupportedCredentialExtraError) as info:
        parse_settings({key: secret_value, "project": "p"})
    assert info.value.extra == key
    assert key in str(info.value)
    assert secret_value not in str(info.value)
    assert "Application Default Credentials" in str(info.value)


@pytest.mark.parametrize("value", [None, "", False, "false"])
def test_an_unset_unsupported_extra_is_no_error(value: object) -> None:
    """Connection forms store every field, empty or ``false``: those choose no identity."""
    assert parse_settings({"is_anonymous": value, "key_secret_name": ""}).project is None


def test_the_connection_form_prefix_is_read() -> None:
    settings = parse_settings(
        {"extra__google_cloud_operations__project": "form-project", "extra__google_cloud_operations__endpoint": "h"}
    )
    assert (settings.project, settings.endpoint) == ("form-project", "h")
