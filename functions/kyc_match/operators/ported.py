"""Number portability: a number's prefix says who issued it, the ported-numbers table who serves it now.

The table is keyed by the KMS keyed hash of the number (the audit trail's key and hasher), so it
holds no phone number in clear: item = {numberHash, operatorId, hashKeyId}.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from kyc_match.domain.errors import ServiceNotApplicableError, UnavailableError
from kyc_match.domain.ports import OperatorAdapter, OperatorDirectory
from kyc_match.tables import PORTED_NUMBERS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

NUMBER_HASH = PORTED_NUMBERS.partition_key
OPERATOR_ID = "operatorId"
HASH_KEY_ID = "hashKeyId"


class IdentifierHasher(Protocol):
    @property
    def key_id(self) -> str: ...

    def hash(self, identifier: str) -> str: ...


class PortedNumbers(Protocol):
    def operator_of(self, phone_number: str) -> str | None:
        """The id of the operator a number was ported to, or None if it was not ported."""
        ...


def ported_item(hasher: IdentifierHasher, phone_number: str, operator_id: str) -> dict[str, str]:
    return {NUMBER_HASH: hasher.hash(phone_number), OPERATOR_ID: operator_id, HASH_KEY_ID: hasher.key_id}


class DynamoDbPortedNumbers:
    def __init__(self, table: "Table", hasher: IdentifierHasher) -> None:
        self._table = table
        self._hasher = hasher

    def operator_of(self, phone_number: str) -> str | None:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            number_hash = self._hasher.hash(phone_number)
            response = self._table.get_item(Key={NUMBER_HASH: number_hash})
        except (BotoCoreError, ClientError):
            # Without the table we cannot tell who serves a ported number: asking the issuing
            # operator could match the wrong person's record.
            raise UnavailableError from None
        item: dict[str, Any] | None = response.get("Item")
        if item is None:
            return None
        operator_id = item.get(OPERATOR_ID)
        return operator_id if isinstance(operator_id, str) else None


class PortingDirectory:
    """Ported numbers first, then the longest prefix.

    A number ported to an operator we have no adapter for is `422 SERVICE_NOT_APPLICABLE`: the
    prefix's operator no longer holds that subscriber.
    """

    def __init__(
        self,
        prefixes: OperatorDirectory,
        ported: PortedNumbers,
        adapters_by_id: Mapping[str, OperatorAdapter],
    ) -> None:
        self._prefixes = prefixes
        self._ported = ported
        self._adapters = dict(adapters_by_id)

    def operator_for(self, phone_number: str) -> OperatorAdapter:
        operator_id = self._ported.operator_of(phone_number)
        if operator_id is None:
            return self._prefixes.operator_for(phone_number)
        adapter = self._adapters.get(operator_id)
        if adapter is None:
            raise ServiceNotApplicableError
        return adapter
