"""Tamper evidence: a KMS MAC over each entry's canonical form, checked again by `audit verify`."""

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from kyc_match.audit.canonical import canonical_bytes
from kyc_match.audit.hashing import HMAC_ALGORITHM

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

ENTRY_DOMAIN = "kyc-match/audit-entry/v1"
DIGEST_DOMAIN = "kyc-match/audit-digest/v1"


class KmsSealer:
    """Seals with the current key; verifies with whichever key the sealed item names."""

    def __init__(self, kms: "KMSClient", key_id: str) -> None:
        self._kms = kms
        self._key_id = key_id

    def seal(self, item: dict[str, Any], domain: str = ENTRY_DOMAIN) -> dict[str, Any]:
        response = self._kms.generate_mac(
            KeyId=self._key_id, MacAlgorithm=HMAC_ALGORITHM, Message=canonical_bytes(item, domain)
        )
        return {**item, "entryMac": response["Mac"].hex(), "macKeyId": self._key_id}

    def is_intact(self, item: dict[str, Any], domain: str = ENTRY_DOMAIN) -> bool:
        mac, key_id = item.get("entryMac"), item.get("macKeyId")
        if not isinstance(mac, str) or not isinstance(key_id, str):
            return False
        try:
            response = self._kms.verify_mac(
                KeyId=key_id,
                MacAlgorithm=HMAC_ALGORITHM,
                Message=canonical_bytes(item, domain),
                Mac=bytes.fromhex(mac),
            )
        except ValueError:  # not hex: forged by hand
            return False
        except ClientError as error:
            if error.response["Error"]["Code"] in {"KMSInvalidMacException", "KMSInvalidMac"}:
                return False
            raise
        return bool(response["MacValid"])
