"""The decision endpoint's policy cache stays bounded whatever policyIds clients send (#13 item 6).

Every unknown `policyId` costs a query; its answer (no such policy) is cached like a found one, so a
client sending a new id on every request must not grow the cache beyond CACHE_ENTRIES.
"""

from typing import Any

import pytest
from botocore.exceptions import ClientError

from kyc_match.domain.errors import UnavailableError
from kyc_match.policies.store import CACHE_ENTRIES, CACHE_SECONDS, DynamoDbPolicyStore
from support.doubles import ManualClock


class NoPoliciesTable:
    """A configuration table holding no policy at all, counting the queries made of it."""

    def __init__(self) -> None:
        self.queries = 0

    def query(self, **_: Any) -> dict[str, Any]:
        self.queries += 1
        return {"Items": []}


def queries_for(store: DynamoDbPolicyStore, table: NoPoliciesTable, policy_id: str) -> int:
    before = table.queries
    assert store.active("flooding-client", policy_id) is None
    return table.queries - before


def test_a_flood_of_new_policy_ids_keeps_only_the_latest_cache_entries():
    table, clock = NoPoliciesTable(), ManualClock(1000.0)
    store = DynamoDbPolicyStore(table, sealer=None, clock=clock)  # type: ignore[arg-type]
    flood = [f"policy-{number}" for number in range(10 * CACHE_ENTRIES)]
    for policy_id in flood:
        assert queries_for(store, table, policy_id) == 1
    clock.advance(CACHE_SECONDS / 2)

    assert all(queries_for(store, table, policy_id) == 0 for policy_id in flood[-CACHE_ENTRIES:])
    assert queries_for(store, table, flood[-CACHE_ENTRIES - 1]) == 1, "just beyond the bound: evicted"
    assert queries_for(store, table, flood[0]) == 1


class ThrottledTable(NoPoliciesTable):
    """The configuration table refusing reads, as DynamoDB does throttled (after the client's retries)."""

    def query(self, **_: Any) -> dict[str, Any]:
        self.queries += 1
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "simulated"}}, "Query")


def test_a_refused_read_is_the_services_503_and_is_not_cached():
    table = ThrottledTable()
    store = DynamoDbPolicyStore(table, sealer=None, clock=ManualClock(1000.0))  # type: ignore[arg-type]
    for _ in range(2):
        with pytest.raises(UnavailableError):
            store.active("a-client", "default")
    assert table.queries == 2, "a refusal is asked again, not remembered"
