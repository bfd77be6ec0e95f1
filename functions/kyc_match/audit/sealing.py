"""A KMS MAC over an item's canonical form: policy items are sealed by operations and checked by the
match function before a policy is served. Audit entries are not sealed one by one any more: the
witness (audit/witness.py) records each entry's hash from the table's stream, signed by the sealer."""

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from kyc_match.audit.canonical import canonical_bytes
from kyc_match.audit.hashing import HMAC_ALGORITHM

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient


class KmsSealer:
    """Seals with the current key; verifies with whichever key the sealed item names."""

    def __init__(self, kms: "KMSClient", key_id: str) -> None:
        self._kms = kms
        self._key_id = key_id

    def seal(self, item: dict[str, Any], domain: str) -> dict[str, Any]:
        response = self._kms.generate_mac(
            KeyId=self._key_id, MacAlgorithm=HMAC_ALGORITHM, Message=canonical_bytes(item, domain)
        )
        return {**item, "entryMac": response["Mac"].hex(), "macKeyId": self._key_id}

    def is_intact(self, item: dict[str, Any], domain: str) -> bool:
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
