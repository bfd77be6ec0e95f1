"""A KMS MAC over an item's canonical form: policy items are sealed by the policy-admin function (no
person may, #23) and checked by the match function before a policy is served. Audit entries are not
sealed one by one any more: the witness (audit/witness.py) records each entry's hash from the table's
stream, signed by the sealer.

A seal is checked with our keys only: the configured key, then the keys configured as used before a
rotation (#23). The key an item names (`macKeyId`) is a record of who sealed it, never a key to check
with: anyone who may write the table can create an HMAC key of their own and name it there.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from kyc_match.audit.canonical import canonical_bytes
from kyc_match.audit.hashing import HMAC_ALGORITHM

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

INVALID_MAC_CODES = frozenset({"KMSInvalidMacException", "KMSInvalidMac"})


class KmsSealer:
    """Seals with the current key; verifies with the current key, then each previous one, never another."""

    def __init__(self, kms: "KMSClient", key_id: str, previous_key_ids: Sequence[str] = ()) -> None:
        self._kms = kms
        self._key_id = key_id
        self._verifying_keys = (key_id, *(key for key in previous_key_ids if key != key_id))

    def seal(self, item: dict[str, Any], domain: str) -> dict[str, Any]:
        response = self._kms.generate_mac(
            KeyId=self._key_id, MacAlgorithm=HMAC_ALGORITHM, Message=canonical_bytes(item, domain)
        )
        return {**item, "entryMac": response["Mac"].hex(), "macKeyId": self._key_id}

    def is_intact(self, item: dict[str, Any], domain: str) -> bool:
        mac = item.get("entryMac")
        if not isinstance(mac, str):
            return False
        try:
            sealed = bytes.fromhex(mac)
        except ValueError:  # not hex: forged by hand
            return False
        message = canonical_bytes(item, domain)
        return any(self._verifies(key_id, message, sealed) for key_id in self._verifying_keys)

    def _verifies(self, key_id: str, message: bytes, mac: bytes) -> bool:
        try:
            response = self._kms.verify_mac(
                KeyId=key_id, MacAlgorithm=HMAC_ALGORITHM, Message=message, Mac=mac
            )
        except ClientError as error:
            if error.response["Error"]["Code"] in INVALID_MAC_CODES:
                return False
            raise
        return bool(response["MacValid"])
