"""`audit verify`, the pure part: the witness chain, then the table against what the witness saw.

The same code checks the live trail (objects and entries read from AWS) and a regulator's export
(read from a directory, public keys from PEM files): nothing here calls AWS.

| finding | subject | meaning |
| --- | --- | --- |
| `modified` | entry | the stream showed the entry changed, or the table holds other content than witnessed |
|  |  | (an entry back after a witnessed removal, restored or put back, must hold what was removed) |
| `deleted` | entry | the stream showed the entry removed (not by TTL), or it is gone before it expired |
| `inserted` | entry | in the table, never witnessed, although the stream's 24 hours are long past |
| `rewritten` | object | a second version of a witness object name (the first version is the one checked) |
| `forged` | object | not a witness object signed by a witness key |
| `gap` | object | a sequence number missing from a region's chain |
| `chain` | object | an object whose `previous` is not the hash of the object before it, or whose name lies |
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kyc_match.audit.canonical import entry_hash
from kyc_match.audit.witness import ENTRY_KEY, WitnessObject, object_hash, object_name, parse_name
from kyc_match.audit.witness_signature import UnverifiedObjectError, open_object
from kyc_match.tables import AUDIT

if TYPE_CHECKING:
    from joserfc.jwk import ECKey

# A stream keeps a record 24 hours: an entry older than that, with no record, was never witnessed.
STREAM_RETENTION = timedelta(hours=24)

EntryKey = tuple[str, str]


@dataclass(frozen=True, order=True)
class Finding:
    kind: str
    subject: tuple[str, ...]  # (clientDay, entryKey) of an entry, or (name,) of a witness object

    def line(self) -> str:
        return "\t".join((self.kind, *self.subject))


@dataclass
class WitnessReport:
    entries: int = 0
    objects: int = 0
    pending: int = 0  # entries the sealer has not reached yet (within the stream's 24 hours)
    before_witness: int = 0  # entries older than the first witness object (written before it existed)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass
class _Chain:
    """The verified payloads of the first versions, in chain order, and what was wrong with the rest."""

    payloads: list[dict[str, Any]] = field(default_factory=list)
    findings: set[Finding] = field(default_factory=set)


def check_witness(
    objects: Iterable[WitnessObject],
    entries: Iterable[Mapping[str, Any]],
    keys: Mapping[str, "ECKey"],
    now: datetime | None = None,
) -> WitnessReport:
    stored = list(objects)
    chain = _check_chain(stored, keys)
    table = {(str(entry[AUDIT.partition_key]), str(entry[ENTRY_KEY])): entry for entry in entries}
    report = WitnessReport(entries=len(table), objects=len(stored))
    findings = chain.findings | _check_entries(chain.payloads, table, report, now or datetime.now(UTC))
    report.findings = sorted(findings)
    return report


def _check_chain(stored: list[WitnessObject], keys: Mapping[str, "ECKey"]) -> _Chain:
    chain = _Chain()
    first: dict[tuple[str, int], WitnessObject] = {}
    for item in sorted(stored, key=lambda found: (found.name, found.version)):
        place = parse_name(item.name)
        if place is None:
            chain.findings.add(Finding("forged", (item.name,)))
        elif item.version > 0 or place in first:
            chain.findings.add(Finding("rewritten", (item.name,)))
        else:
            first[place] = item
    regions = sorted({region for region, _ in first})
    for region in regions:
        last = max(sequence for name_region, sequence in first if name_region == region)
        for sequence in range(1, last + 1):
            found = first.get((region, sequence))
            if found is None:
                chain.findings.add(Finding("gap", (object_name(region, sequence),)))
                continue
            content = _opened(found, keys, chain)
            if content is None:
                continue
            before = first.get((region, sequence - 1))
            expected = object_hash(before.body) if before else None
            named_right = content.get("region") == region and content.get("sequence") == sequence
            if not named_right or (content.get("previous") != expected and (before or sequence == 1)):
                chain.findings.add(Finding("chain", (found.name,)))
            chain.payloads.append(content)
    return chain


def _opened(item: WitnessObject, keys: Mapping[str, "ECKey"], chain: _Chain) -> dict[str, Any] | None:
    try:
        content = open_object(item.body, keys)
    except UnverifiedObjectError:
        chain.findings.add(Finding("forged", (item.name,)))
        return None
    if not isinstance(content.get("records"), list):
        chain.findings.add(Finding("forged", (item.name,)))
        return None
    return content


def _check_entries(
    payloads: list[dict[str, Any]],
    table: dict[EntryKey, Mapping[str, Any]],
    report: WitnessReport,
    now: datetime,
) -> set[Finding]:
    findings: set[Finding] = set()
    history: dict[EntryKey, list[dict[str, Any]]] = defaultdict(list)
    for content in payloads:
        for record in content["records"]:
            key = record.get("key") or {}
            history[(str(key.get(AUDIT.partition_key)), str(key.get(ENTRY_KEY)))].append(record)
    for key, records in history.items():
        findings |= {Finding(kind, key) for kind in _history_findings(records)}
        findings |= {Finding(kind, key) for kind in _table_findings(records[-1], table.get(key), now)}
    sealed = sorted(_instant(content.get("sealedAt")) or now for content in payloads)
    for key in table.keys() - history.keys():
        written = _instant(key[1].split("#", 1)[0])
        if not sealed or (written is not None and written >= sealed[-1] - STREAM_RETENTION):
            report.pending += 1
        elif written is not None and written < sealed[0] - STREAM_RETENTION:
            report.before_witness += 1
        else:
            findings.add(Finding("inserted", key))
    return findings


def _history_findings(records: list[dict[str, Any]]) -> set[str]:
    """What the stream itself showed: any change, any removal that was not TTL's, any unseen change."""
    kinds: set[str] = set()
    state: str | None = None
    removed: str | None = None  # the hash of what the last removal took away
    for record in records:
        event = record.get("event")
        if event == "MODIFY":
            kinds.add("modified")
        if event == "REMOVE" and record.get("by") != "ttl":
            kinds.add("deleted")
        old = record.get("oldHash")
        if old is not None and state is not None and old != state:
            kinds.add("modified")  # the item changed between two records the witness saw
        if event == "INSERT" and removed is not None and record.get("newHash") != removed:
            kinds.add("modified")  # put back after a removal, with other content than was removed
        removed = old if event == "REMOVE" else removed
        state = record.get("newHash")
    return kinds


def _table_findings(last: dict[str, Any], entry: Mapping[str, Any] | None, now: datetime) -> set[str]:
    """The table against the last thing witnessed: a change or removal the sealer has not seen yet."""
    if last.get("event") == "REMOVE":
        # Present again (a restored table, or put back and not sealed yet): it must be what was removed.
        restored = entry is None or entry_hash(dict(entry)) == last.get("oldHash")
        return set() if restored else {"modified"}
    if entry is None:
        expires = last.get("expiresAt")
        expired = isinstance(expires, int) and expires <= now.timestamp()
        return set() if expired else {"deleted"}
    return set() if entry_hash(dict(entry)) == last.get("newHash") else {"modified"}


def _instant(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
