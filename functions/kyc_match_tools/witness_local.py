"""The sealer on a laptop: read the audit table's stream (moto) and seal what it holds.

In AWS, Lambda's event source mapping reads the stream and remembers where it stopped. Here the
chain is the bookmark: the head object (the last one that verifies) lists the stream sequence
numbers it sealed, and the next flush reads the stream after the highest. `kyc-match serve` flushes
every WINDOW_SECONDS in a background thread; `kyc-match audit flush` flushes once, now. Both may run
at once: each try is a single conditional write, and a loser reads the stream again, so no record is
sealed twice.
"""

import logging
import sys
import threading
from typing import Any

from kyc_match import aws
from kyc_match.audit.witness import MAX_RECORDS_PER_OBJECT
from kyc_match.audit.witness_sealer import SealResult, WitnessConflictError, WitnessSealer
from kyc_match.settings import Settings

WINDOW_SECONDS = 10.0  # the local batch window: a change is witnessed within this (AWS: see docs/audit.md)
_MAX_ROUNDS = 32  # flush rounds (lost races included) before giving up until the next window
_MAX_PAGES = 10_000  # GetRecords pages per shard and flush: a bound, never reached locally


def flush(settings: Settings, *, metrics: bool = False) -> list[SealResult]:
    """Seal every stream record not sealed yet; the objects written, oldest first. With `metrics`, as
    the sealer function does it (EMF metrics and log lines on standard output)."""
    from kyc_match.jobs.witness import seal  # noqa: PLC0415
    from kyc_match.wiring import witness_sealer  # noqa: PLC0415

    sealer = witness_sealer(settings)
    written: list[SealResult] = []
    for _ in range(_MAX_ROUNDS):
        records = stream_records(settings.audit_table, _checkpoint(sealer.head().content))
        if not records:
            return written
        try:
            for first in range(0, len(records), MAX_RECORDS_PER_OBJECT):  # objects verify can open
                chunk = records[first : first + MAX_RECORDS_PER_OBJECT]
                result = seal(sealer, chunk, attempts=1) if metrics else _quietly(sealer, chunk)
                if result is not None:
                    written.append(result)
        except WitnessConflictError:
            continue  # another sealer wrote first: read the stream again after its records
    return written


def stream_records(table: str, after: int | None) -> list[dict[str, Any]]:
    """The table's stream records after a sequence number (all of them for None), in order."""
    streams = aws.dynamodb_streams()
    arn = aws.dynamodb().meta.client.describe_table(TableName=table)["Table"].get("LatestStreamArn")
    if not arn:
        return []
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"].get("Shards", []):
        start = {"ShardIteratorType": "TRIM_HORIZON"}
        if after is not None and int(shard["SequenceNumberRange"]["StartingSequenceNumber"]) <= after:
            start = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": str(after)}
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], **start)[
            "ShardIterator"
        ]
        for _ in range(_MAX_PAGES):
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            if not page["Records"]:
                break
            records.extend(page["Records"])
            iterator = page["NextShardIterator"]
    return sorted(records, key=lambda record: int(record["dynamodb"]["SequenceNumber"]))


def _quietly(sealer: WitnessSealer, records: list[dict[str, Any]]) -> SealResult | None:
    from kyc_match.audit.witness import witness_records  # noqa: PLC0415

    return sealer.seal(witness_records(records), attempts=1)


def _checkpoint(head: dict[str, Any] | None) -> int | None:
    """The highest stream sequence number the head object sealed (the bookmark): a verified payload,
    so an object someone else wrote cannot make the sealer skip records."""
    if head is None:
        return None
    try:
        return max(int(record["seq"]) for record in head["records"])
    except (ValueError, KeyError, TypeError):
        return None  # no sequence numbers: read the stream from its start


# The keys Powertools' Logger adds for the Lambda invocation being served (inject_lambda_context and
# its correlation id). It keeps them in its formatter, shared by every thread, until the next request.
INVOCATION_KEYS = (
    "correlation_id",
    "function_request_id",
    "function_name",
    "function_arn",
    "function_memory_size",
    "cold_start",
    "xray_trace_id",
)


class _NoInvocation(logging.Filter):
    """The sealer's log lines belong to no request: on its thread, the keys of the request served last
    (or being served now) are dropped (a key set to None is left out of the line), as the witness
    function's own lines in AWS carry only its own invocation's."""

    def __init__(self, thread: threading.Thread) -> None:
        super().__init__()
        self._thread = thread

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread == self._thread.ident:
            for key in INVOCATION_KEYS:
                setattr(record, key, None)
        return True


class BackgroundSealer:
    """`kyc-match serve`'s sealer: flushes every WINDOW_SECONDS until stopped (a daemon thread)."""

    def __init__(self, settings: Settings, window: float = WINDOW_SECONDS) -> None:
        self._settings = settings
        self._window = window
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="witness-sealer", daemon=True)
        self._filter = _NoInvocation(self._thread)

    def start(self) -> None:
        from kyc_match.observability import logger  # noqa: PLC0415

        logger.addFilter(self._filter)
        self._thread.start()

    def stop(self) -> None:
        from kyc_match.observability import logger  # noqa: PLC0415

        self._stop.set()
        self._thread.join(timeout=self._window + 5)
        logger.removeFilter(self._filter)

    def _run(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        from kyc_match.audit.witness_sealer import WitnessChainBrokenError  # noqa: PLC0415

        while not self._stop.wait(self._window):
            try:
                flush(self._settings, metrics=True)
            except (BotoCoreError, ClientError, WitnessChainBrokenError) as error:
                # The stand-in stopped, or the chain is broken (counted as a metric): try next window.
                print(f"witness sealer: {type(error).__name__}", file=sys.stderr, flush=True)
