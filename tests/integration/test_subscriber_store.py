"""The sandbox's subscriber store is read from several threads at once (a decision's line checks,
`kyc-match serve`'s requests): it reads through the thread-safe low-level client, never the boto3
Table resource, and still answers the resource's plain Python values (Decimal numbers, dicts)."""

from decimal import Decimal

import pytest

from kyc_match import aws
from kyc_match.operators.subscribers import DynamoDbSubscriberStore
from kyc_match.settings import get_settings

pytestmark = pytest.mark.usefixtures("local_stack")

NUMBER = "+34600999101"  # not one of the default test subscribers


def test_reads_through_the_client_and_answers_plain_values(monkeypatch):
    table = aws.dynamodb().Table(get_settings().subscribers_table)
    item = {
        "phoneNumber": NUMBER,
        "givenName": "Prueba",
        "age": Decimal(41),
        "address": {"floor": Decimal(3)},
    }
    table.put_item(Item=item)

    def not_thread_safe(**_):
        raise AssertionError("the Table resource is not thread-safe: read through its client")

    monkeypatch.setattr(table, "get_item", not_thread_safe)
    store = DynamoDbSubscriberStore(table)
    assert store.find(NUMBER) == item
    assert store.find("+34600999102") is None
