"""Reading one decision back for its final outcome (#26 item 7): the decision, its number's keyed hash
and the key that made it, nothing else. The API function's only read of the audit table, narrowed in
IAM to these attributes (infra/constructs/function.py)."""

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from kyc_match.domain.errors import AuditUnavailableError
from kyc_match.domain.outcomes import DecisionKey, RecordedDecision
from kyc_match.tables import AUDIT, DECISION_READ

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ENTRY_KEY = AUDIT.sort_key or "entryKey"
READ_ATTRIBUTES = DECISION_READ  # what GetItem may return here: IAM allows these names only
DECISIONS = frozenset({"ACCEPT", "STEP_UP", "REJECT"})


class DynamoDbDecisionLedger:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def decision(self, key: DecisionKey) -> RecordedDecision | None:
        try:
            answer = self._client.get_item(
                TableName=self._table_name,
                Key={AUDIT.partition_key: {"S": key.client_day}, ENTRY_KEY: {"S": key.entry_key}},
                ProjectionExpression=", ".join(f"#a{index}" for index in range(len(READ_ATTRIBUTES))),
                ExpressionAttributeNames={f"#a{index}": name for index, name in enumerate(READ_ATTRIBUTES)},
                ConsistentRead=True,  # a decision answered a moment ago is found
            )
        except (BotoCoreError, ClientError) as error:  # the trail out of reach: 503, as for a write
            raise AuditUnavailableError from error
        item = answer.get("Item") or {}
        decision = item.get("decision", {}).get("S")
        if decision not in DECISIONS:  # no entry there, or an entry that is no decision (an error)
            return None
        return RecordedDecision(
            decision=decision,
            phone_hash=item.get("phoneHash", {}).get("S"),
            hash_key_id=item.get("hashKeyId", {}).get("S"),
        )
