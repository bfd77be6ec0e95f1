"""Only what the stream says is sealed (#23 item 2): each record handed to the sealer is read back from
the audit table's stream by its sequence number, and the stream's own record is what gets sealed.

Anyone who may invoke the sealer function can hand it anything: a REMOVE marked as a TTL expiry, a
record of another table's stream, a real record retouched. A record is kept only when the stream of
the audit table (in the function's own account and region) holds a record with that sequence number
and it is the same record (event, keys, both images, identity, time: its witness form). Anything else
is refused: not sealed, counted, logged by reason only (a handed record may carry anything).

The event does not name the record's shard. The stream's shards are listed (DescribeStream, at most
MAX_DESCRIBE_PAGES pages), the shards whose sequence range holds the number tried nearest first (at
most MAX_SHARD_TRIES), and from the one that holds it the records that follow are read (at most
MAX_PAGES pages): a batch from the event source mapping, consecutive records of one shard, costs one
DescribeStream, one GetShardIterator and one GetRecords. A direct invocation spreading its records
gets at most MAX_RUNS such reads; records beyond them are refused unchecked.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from kyc_match.audit.witness import witness_record

MAX_DESCRIBE_PAGES: Final = 10  # 100 shards a page: a day's shards of a table with many partitions
MAX_SHARD_TRIES: Final = 4
MAX_RUNS: Final = 4
MAX_PAGES: Final = 4
MAX_GET_RECORDS: Final = 1000  # GetRecords' own limit
_SEQUENCE_DIGITS: Final = 40  # DynamoDB Streams sequence numbers are 21 to 40 digits
# Answers meaning "no record with that number here": try the next shard, or refuse the record.
_NOT_HELD: Final = {"ValidationException", "ResourceNotFoundException", "TrimmedDataAccessException"}

FOREIGN = "foreign-stream"  # not a stream of the audit table, in this account and region
MALFORMED = "malformed"  # no record shape or sequence number to look up
DUPLICATE = "duplicate"  # a sequence number handed twice
NOT_IN_STREAM = "not-in-stream"  # the stream holds no record with that number
DIFFERS = "differs"  # the stream's record with that number is another record
UNCHECKED = "unchecked"  # past the reads one invocation may make


@dataclass
class CheckedBatch:
    """The stream's own records for the handed records it holds as handed (in stream order), and the
    count of refused records by reason."""

    records: list[dict[str, Any]] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)

    def refuse(self, reason: str, count: int = 1) -> None:
        if count:
            self.refused[reason] = self.refused.get(reason, 0) + count

    @property
    def refused_count(self) -> int:
        return sum(self.refused.values())


class StreamCheck:
    """Reads handed records back from the audit table's stream (dynamodbstreams client)."""

    def __init__(self, streams: Any, table: str) -> None:
        self._streams = streams
        self._table = table

    def check(self, handed: list[Any], function_arn: str) -> CheckedBatch:
        """What of `handed` (a Lambda event's records) the stream holds: see the module's docstring."""
        batch = CheckedBatch()
        arn, pending = self._ours(handed, function_arn, batch)
        if arn is None or not pending:
            return batch
        shards: list[dict[str, Any]] | None = None
        for _ in range(MAX_RUNS):
            if not pending:
                break
            shards = shards if shards is not None else self._shards(arn)
            first = min(pending)
            found = self._run(arn, shards, first, max(pending), len(pending))
            for number in [first, *(n for n in found if n in pending and n != first)]:
                self._compare(pending.pop(number), found.get(number), batch)
        batch.refuse(UNCHECKED, len(pending))
        batch.records.sort(key=lambda record: int(record["dynamodb"]["SequenceNumber"]))
        return batch

    def _ours(
        self, handed: list[Any], function_arn: str, batch: CheckedBatch
    ) -> tuple[str | None, dict[int, Mapping[str, Any]]]:
        """(the audit stream's ARN the records name, the records to look up by sequence number); the
        others refused. All records of a batch come from one stream: the first one of ours names it."""
        prefix = _stream_prefix(function_arn, self._table)
        arn: str | None = None
        pending: dict[int, Mapping[str, Any]] = {}
        for record in handed:
            source = record.get("eventSourceARN") if isinstance(record, Mapping) else None
            if not isinstance(source, str) or not source.startswith(prefix) or source != (arn or source):
                batch.refuse(FOREIGN)
                continue
            arn = source
            number = _sequence(record)
            if number is None:
                batch.refuse(MALFORMED)
            elif number in pending:
                batch.refuse(DUPLICATE)
            else:
                pending[number] = record
        return arn, pending

    def _compare(self, handed: Mapping[str, Any], held: dict[str, Any] | None, batch: CheckedBatch) -> None:
        form = _witnessed(handed)
        if held is None:
            batch.refuse(NOT_IN_STREAM)
        elif form is None or form != _witnessed(held):
            batch.refuse(DIFFERS)
        else:
            batch.records.append(held)

    def _shards(self, arn: str) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        start: dict[str, str] = {}
        for _ in range(MAX_DESCRIBE_PAGES):
            described = self._streams.describe_stream(StreamArn=arn, **start)["StreamDescription"]
            shards.extend(described.get("Shards", []))
            last = described.get("LastEvaluatedShardId")
            if not last:
                break
            start = {"ExclusiveStartShardId": last}
        return shards

    def _run(
        self, arn: str, shards: list[dict[str, Any]], first: int, last: int, wanted: int
    ) -> dict[int, dict[str, Any]]:
        """The stream's records from `first` on (up to `last`) in the shard that holds `first`; empty if
        none of the candidate shards does."""
        for shard in _candidates(shards, first)[:MAX_SHARD_TRIES]:
            found = self._read(arn, shard["ShardId"], first, last, min(MAX_GET_RECORDS, wanted))
            if first in found:
                return found
        return {}

    def _read(self, arn: str, shard_id: str, first: int, last: int, limit: int) -> dict[int, dict[str, Any]]:
        from botocore.exceptions import ClientError  # noqa: PLC0415 - the sealer only

        found: dict[int, dict[str, Any]] = {}
        try:
            iterator = self._streams.get_shard_iterator(
                StreamArn=arn,
                ShardId=shard_id,
                ShardIteratorType="AT_SEQUENCE_NUMBER",
                SequenceNumber=str(first),
            )["ShardIterator"]
            for _ in range(MAX_PAGES):
                page = self._streams.get_records(ShardIterator=iterator, Limit=limit)
                records = {int(r["dynamodb"]["SequenceNumber"]): r for r in page.get("Records", [])}
                if records and not found and min(records) != first:
                    return {}  # this shard does not hold `first`
                found.update(records)
                iterator = page.get("NextShardIterator")
                if not iterator or (found and max(found) >= last):
                    break
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in _NOT_HELD:
                raise  # throttled, unreachable, denied: the batch is retried
        return found


def _stream_prefix(function_arn: str, table: str) -> str:
    """`arn:<partition>:dynamodb:<region>:<account>:table/<audit table>/stream/`, from the function's own
    ARN (arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>])."""
    parts = function_arn.split(":")
    if len(parts) < 7:
        raise ValueError("not a function ARN")
    return f"arn:{parts[1]}:dynamodb:{parts[3]}:{parts[4]}:table/{table}/stream/"


def _sequence(record: Mapping[str, Any]) -> int | None:
    change = record.get("dynamodb")
    number = change.get("SequenceNumber") if isinstance(change, Mapping) else None
    if not isinstance(number, str) or not number.isdecimal() or not 0 < len(number) <= _SEQUENCE_DIGITS:
        return None
    return int(number)


def _candidates(shards: Iterable[Mapping[str, Any]], number: int) -> list[Mapping[str, Any]]:
    """The shards whose sequence range may hold `number`, the one starting nearest below it first."""
    holding = []
    for shard in shards:
        bounds = shard.get("SequenceNumberRange", {})
        start, end = bounds.get("StartingSequenceNumber"), bounds.get("EndingSequenceNumber")
        if start is not None and int(start) <= number and (end is None or number <= int(end)):
            holding.append(shard)
    return sorted(holding, key=lambda shard: -int(shard["SequenceNumberRange"]["StartingSequenceNumber"]))


def _witnessed(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The record's witness form (what a seal holds of it: event, keys, image hashes, identity, time,
    sequence number); None for a record without that shape."""
    try:
        return witness_record(record)
    except (KeyError, TypeError, AttributeError, ValueError):
        return None
