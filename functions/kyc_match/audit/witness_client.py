"""`audit verify --offline` of one client's bundle (#26 item 1): its entries against its own records,
each proven to be in a signed witness object by its inclusion proof, with nobody else's record.

The bundle holds the signed headers of the version 2 objects of the period (headers only: roots and
chain links), and per object the client's count leaf and records, each with its leaf index and audit
path (witness_tree). On top of `verify`'s findings (witness_check: `modified`, `deleted`, `inserted`,
`backdated`, `postdated`, `rewritten`, `forged`, `gap`, `chain`):

| finding | subject | meaning |
| --- | --- | --- |
| `unproven` | entry or object | a record (or the client's count leaf) whose audit path does not |
|  |  | lead to the root its object's signed header holds, or a proof for an object whose header |
|  |  | is not in the chain |
| `dropped` | object | the object's signed count of the client's records is not the number of records |
|  |  | the bundle proves, or a later count leaf of the client names this object as its previous |
|  |  | one and the bundle holds no count leaf of it (not checked in one number's evidence, |
|  |  | which holds no count leaf: `audit evidence`) |
| `outside` | entry | in one number's evidence, an entry of another number or client |

Entries dated before the first header of the bundle (sealed, if at all, in version 1 objects, which
hold every client's records and so are never in a client's bundle) are counted, not findings.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from kyc_match.audit.witness import ENTRY_KEY, WitnessObject, instant, object_name, parse_name
from kyc_match.audit.witness_check import (
    Finding,
    TimeBounds,
    Timing,
    WitnessReport,
    check_chain,
    check_entries,
)
from kyc_match.audit.witness_signature import UnverifiedObjectError, open_object
from kyc_match.audit.witness_tree import SEPARATOR, VERSION, client_of, count_leaf, proves, record_leaf
from kyc_match.tables import AUDIT

if TYPE_CHECKING:
    from joserfc.jwk import ECKey


@dataclass(frozen=True)
class ClientScope:
    """Whose bundle, and of which period (the entries' days; None: unbounded on that side)."""

    client: str
    ids: frozenset[str]  # the client's id, its API key ids and legacy ids
    start: date | None = None
    end: date | None = None
    # One number's evidence (#26 item 3): the keyed hashes of the number (one per hashing key its
    # entries were written under). Its bundle proves each of its records, with no count leaf.
    subject: frozenset[str] = frozenset()

    def holds(self, client_day: str) -> bool:
        day = client_day.rsplit("#", 1)[-1]
        after = self.start is None or day >= self.start.isoformat()
        return after and (self.end is None or day <= self.end.isoformat())


@dataclass
class ClientReport(WitnessReport):
    proven: int = 0  # records proven in a signed object


def open_header(body: bytes, keys: Mapping[str, "ECKey"]) -> dict[str, Any]:
    """A version 2 header alone, as a client's bundle holds it."""
    if SEPARATOR in body:
        raise UnverifiedObjectError("a client's bundle holds headers only")
    content = open_object(body, keys)
    if content.get("version") != VERSION:
        raise UnverifiedObjectError("not a version 2 header")
    return content


def check_client(
    headers: Iterable[WitnessObject],
    proofs: Iterable[Mapping[str, Any]],
    entries: Iterable[Mapping[str, Any]],
    keys: Mapping[str, "ECKey"],
    scope: ClientScope,
    now: datetime | None = None,
    bounds: TimeBounds | None = None,
) -> ClientReport:
    stored, entries = list(headers), list(entries)
    chain = check_chain(stored, keys, open_header, anchored=True)
    signed = {object_name(content["region"], content["sequence"]): content for content in chain.payloads}
    report = ClientReport(objects=len(stored))
    findings = set(chain.findings)
    proven: dict[str, dict[int, dict[str, Any]]] = {}  # object -> leaf index -> the client's record
    counted: set[tuple[str, int, str]] = set()  # (region, sequence, client) of each proven count leaf
    links: list[tuple[str, int, str]] = []  # (region, previous sequence, client) each count leaf names
    for row in proofs:
        name = str(row.get("object"))
        header = signed.get(name)
        if header is None:
            findings.add(Finding("unproven", (name,)))
            continue
        findings |= _row(row, name, header, scope, proven.setdefault(name, {}), (counted, links))
    if scope.subject:
        findings |= _outside(entries, scope)
    else:
        findings |= _back_links(stored, counted, links)
    report.proven = sum(len(records) for records in proven.values())
    payloads = [
        {
            "sealedAt": content.get("sealedAt"),
            "records": [
                record
                for _, record in sorted(proven.get(name, {}).items())
                if scope.holds(str(record["key"].get(AUDIT.partition_key, "")))
            ],
        }
        for name, content in signed.items()
    ]
    table = {(str(entry[AUDIT.partition_key]), str(entry[ENTRY_KEY])): entry for entry in entries}
    report.entries = len(table)
    timing = Timing(now or datetime.now(UTC), _since(bounds or TimeBounds(), signed.values()))
    findings |= check_entries(payloads, table, report, timing)
    report.findings = sorted(findings)
    return report


def _since(bounds: TimeBounds, headers: Iterable[Mapping[str, Any]]) -> TimeBounds:
    """Entries dated before the first header are not provable here: counted, as before the witness."""
    sealed = [at for at in (instant(header.get("sealedAt")) for header in headers) if at is not None]
    first = min(sealed, default=None)
    given = bounds.witnessed_since
    since = first if given is None or (first is not None and first > given) else given
    return TimeBounds(bounds.latest_seal, since, bounds.clock_skew)


def _row(
    row: Mapping[str, Any],
    name: str,
    header: Mapping[str, Any],
    scope: ClientScope,
    proven: dict[int, dict[str, Any]],
    links: tuple[set[tuple[str, int, str]], list[tuple[str, int, str]]],
) -> set[Finding]:
    """One object's proofs: each count leaf and record against the header's roots, and the counts."""
    findings: set[Finding] = set()
    counts: dict[str, Any] = {}
    for item in _items(row.get("counts")):
        leaf = item.get("leaf")
        if (
            not isinstance(leaf, dict)
            or leaf.get("client") not in scope.ids
            or not proves(count_leaf(leaf), item.get("index"), item.get("proof"), header["clientsTree"])
        ):
            findings.add(Finding("unproven", (name,)))
        else:
            counts[str(leaf["client"])] = leaf
            links[0].add((str(header["region"]), int(header["sequence"]), str(leaf["client"])))
            if isinstance(leaf.get("previous"), int) and leaf["previous"] > 0:
                links[1].append((str(header["region"]), leaf["previous"], str(leaf["client"])))
    for item in _items(row.get("records")):
        record = item.get("leaf")
        if not isinstance(record, dict) or not isinstance(record.get("key"), dict):
            findings.add(Finding("unproven", (name,)))
        elif not proves(record_leaf(record), item.get("index"), item.get("proof"), header["recordsTree"]):
            findings.add(Finding("unproven", _subject(record)))
        else:
            proven[int(item["index"])] = record
    if scope.subject:
        return findings  # one number's records: the client's signed counts would count the others
    seen = Counter(client_of(record) for record in proven.values())
    if any(counts.get(client, {}).get("records") != number for client, number in seen.items()):
        findings.add(Finding("dropped", (name,)))
    if any(leaf.get("records") != seen[client] for client, leaf in counts.items()):
        findings.add(Finding("dropped", (name,)))
    return findings


def _outside(entries: Iterable[Mapping[str, Any]], scope: ClientScope) -> set[Finding]:
    """One number's evidence holds that number's entries of the client only: any other is `outside`."""
    return {
        Finding("outside", (str(entry.get(AUDIT.partition_key)), str(entry.get(ENTRY_KEY))))
        for entry in entries
        if entry.get("phoneHash") not in scope.subject or entry.get("clientId") not in scope.ids
    }


def _items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _subject(record: Mapping[str, Any]) -> tuple[str, ...]:
    key = record["key"]
    return (str(key.get(AUDIT.partition_key)), str(key.get(ENTRY_KEY)))


def _back_links(
    stored: list[WitnessObject], counted: set[tuple[str, int, str]], links: list[tuple[str, int, str]]
) -> set[Finding]:
    """A count leaf names the client's previous object with records: within the bundle's headers, the
    bundle must hold that object's count leaf of the client."""
    first: dict[str, int] = {}
    for item in stored:
        place = parse_name(item.name)
        if place is not None:
            first[place[0]] = min(first.get(place[0], place[1]), place[1])
    return {
        Finding("dropped", (object_name(region, sequence),))
        for region, sequence, client in links
        if sequence >= first.get(region, sequence + 1) and (region, sequence, client) not in counted
    }
