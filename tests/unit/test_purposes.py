"""The DPV purpose list we ship, and choosing a call's purpose from a client's onboarding."""

import csv

import pytest

from kyc_match.domain.clients import ClientProfile, ClientProfileError, purpose_for
from kyc_match.domain.errors import ClientNotOnboardedError, PurposeNotAllowedError
from kyc_match.domain.purposes import DEFAULT_PURPOSE, DPV_PURPOSES_FILE, dpv_purposes, is_purpose


def test_the_shipped_list_is_the_unchanged_dpv_2_0_purposes_module():
    with DPV_PURPOSES_FILE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 99  # 95 purposes, the Purpose and Sector classes, hasPurpose and hasSector
    assert len(dpv_purposes()) == 95
    assert {
        "dpv:FraudPreventionAndDetection",
        "dpv:IdentityVerification",
        "dpv:CounterMoneyLaundering",
    } <= dpv_purposes()


@pytest.mark.parametrize(
    "value",
    [
        "dpv:Purpose",
        "dpv:Sector",
        "dpv:hasPurpose",
        "FraudPreventionAndDetection",
        "dpv:frauddetection",
        "dpv:",
    ],
)
def test_what_is_not_a_purpose(value):
    assert not is_purpose(value)


def test_the_default_purpose_is_a_dpv_purpose():
    assert is_purpose(DEFAULT_PURPOSE)


def test_a_profile_keeps_order_drops_duplicates_and_defaults_to_the_first():
    profile = ClientProfile.of(
        ["dpv:IdentityVerification", "dpv:FraudPreventionAndDetection", "dpv:IdentityVerification"]
    )
    assert profile.purposes == ("dpv:IdentityVerification", "dpv:FraudPreventionAndDetection")
    assert profile.default_purpose == "dpv:IdentityVerification"


def test_an_invalid_profile_names_every_problem():
    with pytest.raises(ClientProfileError) as raised:
        ClientProfile.of(["dpv:Nope", "dpv:Marketing"], "dpv:IdentityVerification")
    assert raised.value.problems == [
        "'dpv:Nope' is not a DPV purpose (dpv:<term>)",
        "the default purpose must be one of the purposes",
    ]
    with pytest.raises(ClientProfileError, match="at least one purpose"):
        ClientProfile.of([])


def test_purpose_for_a_call():
    profile = ClientProfile.of(["dpv:FraudPreventionAndDetection", "dpv:IdentityVerification"])
    assert purpose_for(profile, None) == "dpv:FraudPreventionAndDetection"
    assert purpose_for(profile, "dpv:IdentityVerification") == "dpv:IdentityVerification"
    with pytest.raises(PurposeNotAllowedError):
        purpose_for(profile, "dpv:Marketing")
    with pytest.raises(ClientNotOnboardedError):
        purpose_for(None, None)
