"""Reading the audit trail the suite produced (moto's DynamoDB)."""

from typing import Any

import boto3

from kyc_match.settings import get_settings


def audit_items() -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb").Table(get_settings().audit_table)
    items: list[dict[str, Any]] = []
    response = table.scan()
    items += response["Items"]
    while "LastEvaluatedKey" in response:
        response = table.scan(ExclusiveStartKey=response["LastEvaluatedKey"])
        items += response["Items"]
    return items


def audit_item_for(correlator: str) -> dict[str, Any]:
    matches = [item for item in audit_items() if item.get("correlator") == correlator]
    assert len(matches) == 1, f"expected one audit entry for {correlator}, found {len(matches)}"
    return matches[0]
