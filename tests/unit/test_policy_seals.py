"""Policy seals are checked with our keys only (#23 item 5): the configured seal key, then the keys
configured as used before a rotation; never a key the sealed item names. KMS is a local double that
answers GenerateMac/VerifyMac as KMS does (an HMAC per key; a wrong MAC is KMSInvalidMacException)."""

import hashlib
import hmac
from typing import Any

import pytest
from botocore.exceptions import ClientError

from kyc_match.policies.seal import KmsSealer

DOMAIN = "kyc-match/policy-item/v1"
OURS, PREVIOUS, ATTACKERS = (
    "arn:aws:kms:eu-west-1:1:key/ours",
    "arn:aws:kms:eu-west-1:1:key/old",
    "mallory-key",
)
ITEM = {"pk": "POLICY#bank-1", "sk": "default#v000001", "kind": "version", "sha256": "ab" * 32}


class MacKms:
    """GenerateMac/VerifyMac over a secret per key id; records the key ids VerifyMac was asked with."""

    def __init__(self) -> None:
        self.verified_with: list[str] = []

    def generate_mac(self, *, KeyId: str, MacAlgorithm: str, Message: bytes) -> dict[str, Any]:
        return {"Mac": hmac.new(f"secret of {KeyId}".encode(), Message, hashlib.sha256).digest()}

    def verify_mac(self, *, KeyId: str, MacAlgorithm: str, Message: bytes, Mac: bytes) -> dict[str, Any]:
        self.verified_with.append(KeyId)
        if not hmac.compare_digest(
            self.generate_mac(KeyId=KeyId, MacAlgorithm="", Message=Message)["Mac"], Mac
        ):
            raise ClientError({"Error": {"Code": "KMSInvalidMacException", "Message": "x"}}, "VerifyMac")
        return {"MacValid": True, "KeyId": KeyId}


@pytest.fixture
def kms() -> MacKms:
    return MacKms()


def test_an_item_sealed_with_the_configured_key_is_intact(kms):
    sealer = KmsSealer(kms, OURS)  # type: ignore[arg-type]
    sealed = sealer.seal(ITEM, DOMAIN)
    assert sealed["macKeyId"] == OURS
    assert sealer.is_intact(sealed, DOMAIN)


def test_an_item_sealed_with_a_key_it_names_but_not_ours_is_refused_without_asking_that_key(kms):
    forged = KmsSealer(kms, ATTACKERS).seal(ITEM, DOMAIN)  # type: ignore[arg-type]
    assert forged["macKeyId"] == ATTACKERS
    sealer = KmsSealer(kms, OURS, (PREVIOUS,))  # type: ignore[arg-type]
    assert not sealer.is_intact(forged, DOMAIN)
    assert kms.verified_with == [OURS, PREVIOUS]


def test_an_item_sealed_before_a_rotation_verifies_with_the_configured_previous_key(kms):
    old = KmsSealer(kms, PREVIOUS).seal(ITEM, DOMAIN)  # type: ignore[arg-type]
    assert KmsSealer(kms, OURS, (PREVIOUS,)).is_intact(old, DOMAIN)  # type: ignore[arg-type]
    assert not KmsSealer(kms, OURS).is_intact(old, DOMAIN), "a key no longer configured seals nothing"  # type: ignore[arg-type]


def test_an_item_naming_our_key_with_its_seal_moved_to_another_item_is_refused(kms):
    sealer = KmsSealer(kms, OURS)  # type: ignore[arg-type]
    sealed = sealer.seal(ITEM, DOMAIN)
    assert not sealer.is_intact({**sealed, "sha256": "cd" * 32}, DOMAIN)
    assert not sealer.is_intact({**sealed, "sk": "default#v000002"}, DOMAIN)


@pytest.mark.parametrize("mac", [None, 17, "not hex", ""], ids=["absent", "number", "not-hex", "empty"])
def test_an_item_without_a_readable_seal_is_refused(kms, mac):
    sealer = KmsSealer(kms, OURS)  # type: ignore[arg-type]
    item = {**ITEM, "macKeyId": OURS, **({} if mac is None else {"entryMac": mac})}
    assert not sealer.is_intact(item, DOMAIN)


def test_kms_refusing_to_verify_is_not_a_verdict_on_the_item(kms):
    """AccessDenied or throttling raises: the store answers 503 (unavailable), it does not call it forged."""

    def refuse(**_: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "x"}}, "VerifyMac")

    sealer = KmsSealer(kms, OURS)  # type: ignore[arg-type]
    sealed = sealer.seal(ITEM, DOMAIN)
    kms.verify_mac = refuse  # type: ignore[method-assign]
    with pytest.raises(ClientError):
        sealer.is_intact(sealed, DOMAIN)
