"""Handed stream records read back from the stream (#23 item 2), against a stream double that answers
DescribeStream (paged), GetShardIterator (AT_SEQUENCE_NUMBER) and GetRecords as DynamoDB Streams does,
and counts the calls: what the stream holds is kept, as it holds it; anything else is refused, in a
bounded number of calls whatever the handed records say."""

from typing import Any

import pytest
from botocore.exceptions import ClientError

from kyc_match.audit.witness import witness_record
from kyc_match.audit.witness_stream import (
    DIFFERS,
    DUPLICATE,
    FOREIGN,
    MALFORMED,
    MAX_DESCRIBE_PAGES,
    MAX_PAGES,
    MAX_RUNS,
    MAX_SHARD_TRIES,
    NOT_IN_STREAM,
    UNCHECKED,
    StreamCheck,
)
from support.witness import stream_record

TABLE = "audit"
FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:kyc-match-witness:live"
STREAM = "arn:aws:dynamodb:eu-west-1:123456789012:table/audit/stream/2026-01-01T00:00:00.000"
CLOSED, OPEN = 10**20, 2 * 10**20  # where each shard's sequence numbers start


def entry(number: int) -> dict[str, Any]:
    return {
        "clientDay": "bank-1#2026-01-01",
        "entryKey": f"2026-01-01T00:00:00.000+00:00#r{number}",
        "status": 200,
    }


def held(seq: int) -> dict[str, Any]:
    return stream_record("INSERT", new=entry(seq % 1000), seq=seq)


class Streams:
    """A stream of two shards, a closed one and the open one after it, one shard a DescribeStream page."""

    def __init__(self, closed: int = 5, open_: int = 5) -> None:
        self.shards = {
            "shard-closed": (CLOSED, CLOSED + closed - 1, [held(CLOSED + n) for n in range(closed)]),
            "shard-open": (OPEN, None, [held(OPEN + n) for n in range(open_)]),
        }
        self.calls: list[str] = []
        self._iterators: dict[str, tuple[str, int]] = {}

    def describe_stream(self, StreamArn: str, ExclusiveStartShardId: str | None = None) -> dict[str, Any]:
        self.calls.append("DescribeStream")
        assert StreamArn == STREAM
        names = list(self.shards)
        index = 0 if ExclusiveStartShardId is None else names.index(ExclusiveStartShardId) + 1
        start, end, _ = self.shards[names[index]]
        bounds = {"StartingSequenceNumber": str(start)}
        if end is not None:
            bounds["EndingSequenceNumber"] = str(end)
        description: dict[str, Any] = {"Shards": [{"ShardId": names[index], "SequenceNumberRange": bounds}]}
        if index + 1 < len(names):
            description["LastEvaluatedShardId"] = names[index]
        return {"StreamDescription": description}

    def get_shard_iterator(self, **asked: str) -> dict[str, str]:
        self.calls.append("GetShardIterator")
        assert (asked["StreamArn"], asked["ShardIteratorType"]) == (STREAM, "AT_SEQUENCE_NUMBER")
        start, end, _ = self.shards[asked["ShardId"]]
        number = int(asked["SequenceNumber"])
        if number < start or (end is not None and number > end):
            raise ClientError({"Error": {"Code": "ValidationException"}}, "GetShardIterator")
        return {"ShardIterator": self._iterator(asked["ShardId"], number)}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        self.calls.append("GetRecords")
        shard, number = self._iterators[ShardIterator]
        after = [r for r in self.shards[shard][2] if int(r["dynamodb"]["SequenceNumber"]) >= number][:Limit]
        following = int(after[-1]["dynamodb"]["SequenceNumber"]) + 1 if after else number
        return {
            "Records": [_as_get_records(r) for r in after],
            "NextShardIterator": self._iterator(shard, following),
        }

    def _iterator(self, shard: str, number: int) -> str:
        name = f"iterator-{len(self._iterators)}"
        self._iterators[name] = (shard, number)
        return name


def _as_get_records(record: dict[str, Any]) -> dict[str, Any]:
    """GetRecords' form: no eventSourceARN, the creation time a datetime, the identity capitalised."""
    from datetime import UTC, datetime

    change = {**record["dynamodb"]}
    change["ApproximateCreationDateTime"] = datetime.fromtimestamp(change["ApproximateCreationDateTime"], UTC)
    found = {name: value for name, value in record.items() if name != "eventSourceARN"}
    if "userIdentity" in record:
        identity = record["userIdentity"]
        found["userIdentity"] = {"Type": identity["type"], "PrincipalId": identity["principalId"]}
    return {**found, "dynamodb": change}


def handed(*numbers: int) -> list[dict[str, Any]]:
    """What the event source mapping delivers for these stream records."""
    return [held(number) for number in numbers]


def seqs(records: list[dict[str, Any]]) -> list[int]:
    return [int(record["dynamodb"]["SequenceNumber"]) for record in records]


def test_a_batch_of_the_mapping_is_kept_as_the_stream_holds_it_in_three_calls():
    streams = Streams()
    checked = StreamCheck(streams, TABLE).check(handed(*range(OPEN, OPEN + 5)), FUNCTION_ARN)
    assert (seqs(checked.records), checked.refused) == (list(range(OPEN, OPEN + 5)), {})
    assert "eventSourceARN" not in checked.records[0]  # the stream's own record, GetRecords' form
    assert streams.calls == ["DescribeStream", "DescribeStream", "GetShardIterator", "GetRecords"]


def test_the_shard_is_found_by_its_sequence_range_in_a_closed_shard_too():
    streams = Streams()
    checked = StreamCheck(streams, TABLE).check(handed(CLOSED + 3, CLOSED + 4), FUNCTION_ARN)
    assert (seqs(checked.records), checked.refused) == ([CLOSED + 3, CLOSED + 4], {})


def test_a_ttl_expiry_the_stream_holds_is_kept_and_still_an_expiry():
    streams = Streams()
    removal = stream_record("REMOVE", old=entry(1), by_ttl=True, seq=OPEN + 5)
    streams.shards["shard-open"][2].append(removal)
    checked = StreamCheck(streams, TABLE).check([removal], FUNCTION_ARN)
    [kept] = checked.records
    assert witness_record(kept)["by"] == "ttl"


def _ttl(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"}}


def _image(record: dict[str, Any]) -> dict[str, Any]:
    change = {**record["dynamodb"], "NewImage": {**record["dynamodb"]["NewImage"], "status": {"N": "404"}}}
    return {**record, "dynamodb": change}


def _later(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "dynamodb": {**record["dynamodb"], "ApproximateCreationDateTime": 1_900_000_000}}


@pytest.mark.parametrize("retouch", [_ttl, _image, _later], ids=lambda f: f.__name__)
def test_a_retouched_record_is_refused_and_the_others_kept(retouch):
    first, second = handed(OPEN, OPEN + 1)
    checked = StreamCheck(Streams(), TABLE).check([first, retouch(second)], FUNCTION_ARN)
    assert (seqs(checked.records), checked.refused) == ([OPEN], {DIFFERS: 1})


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (STREAM.replace("table/audit/", "table/other/"), FOREIGN),
        (STREAM.replace("123456789012", "210987654321"), FOREIGN),
        (STREAM.replace("eu-west-1", "eu-central-1"), FOREIGN),
        (None, FOREIGN),
    ],
)
def test_a_record_of_another_stream_is_refused_without_a_call(source, reason):
    streams = Streams()
    record = {**held(OPEN), "eventSourceARN": source}
    checked = StreamCheck(streams, TABLE).check([record], FUNCTION_ARN)
    assert (checked.records, checked.refused, streams.calls) == ([], {reason: 1}, [])


def test_invented_malformed_and_repeated_numbers_are_refused():
    invented = held(OPEN + 50)  # past the shard's last record
    before = held(CLOSED - 1)  # below every shard
    malformed = [
        {**held(OPEN), "dynamodb": {**held(OPEN)["dynamodb"], "SequenceNumber": bad}}
        for bad in ("", "1e5", "9" * 41)
    ]
    checked = StreamCheck(Streams(), TABLE).check(
        [*handed(OPEN), held(OPEN), invented, before, *malformed, "not a record"], FUNCTION_ARN
    )
    assert seqs(checked.records) == [OPEN]
    assert checked.refused == {DUPLICATE: 1, NOT_IN_STREAM: 2, MALFORMED: 3, FOREIGN: 1}


def test_a_hundred_scattered_inventions_cost_a_bounded_number_of_calls():
    """A direct invocation that spreads its records over the sequence space: each run costs at most the
    shard tries and their pages; past MAX_RUNS runs, records are refused unchecked."""
    streams = Streams()
    scattered = [held(OPEN + 10 + 1000 * n) for n in range(100)]
    checked = StreamCheck(streams, TABLE).check(scattered, FUNCTION_ARN)
    assert checked.records == []
    assert checked.refused == {NOT_IN_STREAM: MAX_RUNS, UNCHECKED: 100 - MAX_RUNS}
    bound = MAX_DESCRIBE_PAGES + MAX_RUNS * MAX_SHARD_TRIES * (1 + MAX_PAGES)
    assert len(streams.calls) <= bound


def test_a_throttled_stream_is_an_error_so_the_batch_is_retried():
    class Throttled(Streams):
        def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
            raise ClientError({"Error": {"Code": "LimitExceededException"}}, "GetRecords")

    with pytest.raises(ClientError):
        StreamCheck(Throttled(), TABLE).check(handed(OPEN), FUNCTION_ARN)
