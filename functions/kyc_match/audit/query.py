"""Finding and exporting entries for an authorised person: by phone number, client and period."""

import csv
import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import date, timedelta
from typing import IO, TYPE_CHECKING, Any

from kyc_match.audit.reader import ENTRY_KEY, AuditReader

if TYPE_CHECKING:
    from kyc_match.domain.ports import Hasher

EXPORT_COLUMNS = (
    "clientId",
    "day",
    "timestamp",
    "requestId",
    "correlator",
    "correlatorHash",
    "operatorId",
    "purpose",
    "grant",
    "status",
    "errorCode",
    "latencyMs",
    "attributes",
    "results",
    "scores",
    "partialMatches",
    "matchLevel",
    "decision",
    "reasons",
    "policy",
    "phoneHash",
    "hashKeyId",
    "entryKey",
    # Added later, before apiKeyId so that the columns before them keep their place and apiKeyId stays
    # last (docs/deploy.md reads it as the last column).
    "lineChecks",  # a decision's line-check outcomes (#14): outcomes and windows, never a date
    "finalOutcome",  # the bank's final word on a decision (#26 item 7), filed beside it
    "apiKeyId",  # added with stable client ids (#17)
)


def entry_key_range(start: date | None, end: date | None) -> tuple[str, str]:
    """Entry keys begin with the ISO timestamp, so a period is a key range."""
    return (start.isoformat() if start else "0000", (end.isoformat() if end else "9999-12-31") + "\uffff")


def find_by_phone(
    reader: AuditReader,
    hashers: "Sequence[Hasher]",
    phone_number: str,
    client_ids: Collection[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> list[dict[str, Any]]:
    """Entries for a number, under the current and every previous hashing key; of these clients only,
    when given (a client's history ids: its stable id, its API key ids and legacy ids)."""
    low, high = entry_key_range(start, end)
    found: dict[str, dict[str, Any]] = {}
    for hasher in hashers:
        for entry in reader.entries_for_hash(hasher.hash(phone_number), low, high):
            if client_ids is None or entry.get("clientId") in client_ids:
                found[f"{entry['clientDay']}|{entry[ENTRY_KEY]}"] = entry
    return [found[key] for key in sorted(found, key=lambda k: k.split("|", 1)[1])]


def entries_between(
    reader: AuditReader, start: date | None, end: date | None, client_ids: Collection[str] | None = None
) -> Iterator[dict[str, Any]]:
    """A period through the day index; the whole trail when no period is given, from `start` on or up
    to `end` when one bound is (#26: a bound alone was ignored, so `--from` exported everything); of
    these clients only, when given (as in find_by_phone)."""
    if start is None or end is None:
        for entry in reader.all_entries():
            if _in(entry, start, end) and (client_ids is None or entry.get("clientId") in client_ids):
                yield entry
        return
    day = start
    while day <= end:
        for client_day in sorted(reader.client_days(day.isoformat())):
            if client_ids is None or client_day.rsplit("#", 1)[0] in client_ids:
                yield from reader.entries_of(client_day)
        day += timedelta(days=1)


def _in(entry: dict[str, Any], start: date | None, end: date | None) -> bool:
    """Whether the entry's day lies within the bounds given (none given: every entry)."""
    if start is None and end is None:
        return True
    day = str(entry.get("day", ""))
    return (start is None or day >= start.isoformat()) and (end is None or day <= end.isoformat())


def write_export(entries: Iterable[dict[str, Any]], output: IO[str], fmt: str) -> int:
    """JSON Lines (one entry per line, as stored) or CSV (one column per field, JSON in cells)."""
    count = 0
    if fmt == "jsonl":
        for entry in entries:
            output.write(json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n")
            count += 1
        return count
    writer = csv.DictWriter(output, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for entry in entries:
        row = {key: _cell(entry.get(key)) for key in EXPORT_COLUMNS}
        writer.writerow(row)
        count += 1
    return count


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return "" if value is None else value
