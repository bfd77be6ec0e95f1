"""The audit write on the request path (#29 item 3): through a low-level DynamoDB client with the entry
already in DynamoDB's wire form, and the stored entry the same as the resource layer stored it.

Every kind of entry the suite writes is made here through the handler (a match with scores and near
misses, its errors, a decision with its policy, every line operation), then read back through the
resource layer beside the same entry written the old way (the resource's put_item) into a twin table.
"""

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer

from kyc_match.api.app import ASSESS_PATH, MATCH_PATH
from kyc_match.audit import trail
from kyc_match.settings import get_settings
from kyc_match.tables import AUDIT
from kyc_match_tools import local_aws
from kyc_match_tools.aws_calls import function_clients
from support.people import FULL, ON_FILE, UNKNOWN

pytestmark = pytest.mark.usefixtures("local_stack", "handler_log")

# (path, body): each entry kind, with the fields it carries; answered or refused, each is audited.
REQUESTS = [
    (MATCH_PATH, {"phoneNumber": FULL, "givenName": "Federika", "familyName": "Sanchez",
                  "birthdate": ON_FILE["birthdate"], "email": ON_FILE["email"]}),
    (MATCH_PATH, {"phoneNumber": FULL, "idDocument": ON_FILE["idDocument"], "idDocumentType": "passport"}),
    (MATCH_PATH, {"phoneNumber": UNKNOWN, "givenName": "Ana"}),
    (MATCH_PATH, {"phoneNumber": FULL}),
    (MATCH_PATH, {"givenName": "Ana"}),
    (MATCH_PATH, {"phoneNumber": FULL, "birthdate": "2023-02-30"}),
    (ASSESS_PATH, {"phoneNumber": FULL, "givenName": "Federica", "familyName": "Sanchez Arjona",
                   "birthdate": "1978-08-22"}),
    (ASSESS_PATH, {"phoneNumber": FULL, "givenName": "Federika", "familyName": "Sanchez",
                   "birthdate": "1978-08-22"}),
    ("/sim-swap/v2/check", {"phoneNumber": FULL, "maxAge": 240}),
    ("/sim-swap/v2/retrieve-date", {"phoneNumber": FULL}),
    ("/device-swap/v1/check", {"phoneNumber": FULL}),
    ("/device-swap/v1/retrieve-date", {"phoneNumber": FULL}),
    ("/number-recycling/v0.2/check", {"phoneNumber": FULL, "specifiedDate": "2024-01-10"}),
    ("/kyc-tenure/v0.2/check-tenure", {"phoneNumber": FULL, "tenureDate": "2024-06-01"}),
]  # fmt: skip


@pytest.fixture
def written(handler_transport: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[dict, dict]]]:
    """Each request's entry as the trail built it (plain values) and the PutItem parameters botocore was
    given for it, before its own parameter hooks (the resource layer's serialisation is one)."""
    built: dict[str, dict[str, Any]] = {}
    puts: list[dict[str, Any]] = []

    def spy(*args: Any, **kwargs: Any) -> dict[str, Any]:
        item = original(*args, **kwargs)
        built[item[trail.ENTRY_KEY]] = copy.deepcopy(item)
        return item

    def params(params: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == get_settings().audit_table:
            puts.append(copy.deepcopy(params))

    original = trail.audit_item
    monkeypatch.setattr(trail, "audit_item", spy)
    emitters = [client.meta.events for client in function_clients()]
    for emitter in emitters:
        emitter.register_first("provide-client-params.dynamodb.PutItem", params, unique_id="wire-test")
    try:
        for path, body in REQUESTS:
            reply = handler_transport.send(body, path=path, headers={"x-correlator": f"wire-{uuid.uuid4()}"})
            assert reply.status < 500, (path, body, reply.text)
        by_key = {_plain_key(put["Item"][trail.ENTRY_KEY]): put for put in puts}
        yield [(item, by_key.get(key, {})) for key, item in built.items()]
    finally:
        for emitter in emitters:
            emitter.unregister("provide-client-params.dynamodb.PutItem", unique_id="wire-test")


def _plain_key(value: Any) -> str:
    return str(value["S"] if isinstance(value, dict) else value)  # wire form, or the plain item's


def test_the_entry_reaches_botocore_already_in_wire_form(written):
    """Before: the resource's put_item handed botocore the plain item, serialised by the resource
    layer's hooks on every request (~0.35 ms CPU)."""
    assert len(written) == len(REQUESTS)
    serializer = TypeSerializer()
    for item, put in written:
        assert put, f"no PutItem seen for {item[trail.ENTRY_KEY]}"
        assert put["Item"] == {name: serializer.serialize(value) for name, value in item.items()}, (
            "the item was not pre-serialised"
        )
        assert put["ConditionExpression"] == "attribute_not_exists(#pk)"
        assert put["ExpressionAttributeNames"] == {"#pk": AUDIT.partition_key}


def test_the_stored_entry_is_the_one_the_resource_layer_stored(written):
    settings = get_settings()
    twin_name = f"audit-twin-{uuid.uuid4().hex[:8]}"
    boto3.client("dynamodb").create_table(
        TableName=twin_name, BillingMode="PAY_PER_REQUEST", **local_aws._key_schema(AUDIT)
    )
    dynamodb = boto3.resource("dynamodb")
    stored, twin = dynamodb.Table(settings.audit_table), dynamodb.Table(twin_name)
    kinds = set()
    for item, _put in written:
        trail.put_new_entry(twin, item)  # the old write: the resource layer serialises the plain item
        key = {AUDIT.partition_key: item[AUDIT.partition_key], trail.ENTRY_KEY: item[trail.ENTRY_KEY]}
        ours = stored.get_item(Key=key, ConsistentRead=True)["Item"]
        assert ours == twin.get_item(Key=key, ConsistentRead=True)["Item"]
        kinds.add((item.get("api") or "match", item["status"], "policy" in item, "idDocumentType" in item))
    assert len(kinds) >= 10, kinds  # matches, errors, decisions and every line operation were compared
