"""The one settings object reads KYC_* variables as the stack sets them (infra/constructs/function.py)."""

import json
import os

import pytest
from pydantic import ValidationError

from kyc_match.settings import Settings


@pytest.fixture(autouse=True)
def no_kyc_variables(monkeypatch):
    for name in [name for name in os.environ if name.upper().startswith("KYC_")]:
        monkeypatch.delenv(name)


def test_defaults_without_variables():
    settings = Settings()
    assert settings.stage == "local"
    assert settings.previous_hash_key_ids == ()
    assert settings.audit_retention_days == 1826


def test_variables_are_read_by_prefixed_name_in_any_case(monkeypatch):
    monkeypatch.setenv("KYC_STAGE", "production")
    monkeypatch.setenv("kyc_audit_table", "audit-prod")
    monkeypatch.setenv("KYC_AUDIT_RETENTION_DAYS", "3650")
    monkeypatch.setenv("STAGE", "not-ours")
    settings = Settings()
    assert (settings.stage, settings.audit_table, settings.audit_retention_days) == (
        "production",
        "audit-prod",
        3650,
    )


def test_key_lists_are_json_as_the_stack_writes_them(monkeypatch):
    monkeypatch.setenv("KYC_PREVIOUS_HASH_KEY_IDS", json.dumps(["alias/old-1", "alias/old-2"]))
    assert Settings().previous_hash_key_ids == ("alias/old-1", "alias/old-2")


def test_a_list_that_is_not_json_fails_and_names_the_variable(monkeypatch):
    monkeypatch.setenv("KYC_PREVIOUS_SIGNING_KEY_IDS", "alias/a,alias/b")
    with pytest.raises(ValidationError, match="KYC_PREVIOUS_SIGNING_KEY_IDS must be a JSON list"):
        Settings()


def test_invalid_values_fail_validation(monkeypatch):
    monkeypatch.setenv("KYC_AUDIT_RETENTION_DAYS", "0")
    with pytest.raises(ValidationError, match="audit_retention_days"):
        Settings()


def test_arguments_take_precedence_over_variables(monkeypatch):
    monkeypatch.setenv("KYC_AUDIT_TABLE", "from-environment")
    assert Settings(audit_table="from-argument").audit_table == "from-argument"
    with pytest.raises(ValidationError):
        Settings(no_such_setting="x")  # type: ignore[call-arg]


def test_settings_are_frozen_and_hashable_for_the_per_settings_caches():
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.stage = "other"  # type: ignore[misc]
    assert hash(settings) == hash(Settings())
