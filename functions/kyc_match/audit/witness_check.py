"""`audit verify`, the pure part: the witness chain, then the table against what the witness saw.

The same code checks the live trail (objects and entries read from AWS) and a regulator's export
(read from a directory, public keys from PEM files): nothing here calls AWS.

| finding | subject | meaning |
| --- | --- | --- |
| `modified` | entry | the stream showed the entry changed, or the table holds other content than witnessed |
|  |  | (an entry back after a witnessed removal, restored or put back, must hold what was removed) |
| `deleted` | entry | the stream showed the entry removed (not by TTL), or it is gone before it expired; a |
|  |  | removal marked as TTL's counts as expiry only stamped and sealed after the witnessed expiresAt |
| `inserted` | entry | in the table, never witnessed, although its timestamp is past the time bounds (older |
|  |  | than the fallback queue and the stream keep it, or in the future) |
| `backdated` | entry | its INSERT was sealed longer after its timestamp than the fallback queue and the |
|  |  | stream keep an entry (TimeBounds.latest_seal) |
| `postdated` | entry | its INSERT was sealed before its timestamp |
| `rewritten` | object | a second version of a witness object name (the first version is the one checked) |
| `forged` | object | not a witness object signed by a witness key (too large ones are not even read) |
| `gap` | object | sequence numbers missing from a region's chain, below its last signed object: one |
|  |  | finding per run of missing numbers (`witness/<region>/<first>-<last>` for more than one) |
| `chain` | object | an object whose `previous` is not the hash of the object before it (or, past objects |
|  |  | that do not verify, of the last one that does), or whose name lies |

The work is linear in what the bucket and the table hold, whatever the names say: the chain of a
region ends at its last validly signed object, and a gap is one finding however many numbers it spans.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kyc_match.audit.canonical import entry_hash
from kyc_match.audit.witness import (
    ENTRY_KEY,
    EXPIRES_AT,
    PREFIX,
    WitnessObject,
    instant,
    is_expiry,
    object_name,
    parse_name,
)
from kyc_match.audit.witness_signature import UnverifiedObjectError
from kyc_match.audit.witness_tree import link_hash, open_witness
from kyc_match.tables import AUDIT

if TYPE_CHECKING:
    from joserfc.jwk import ECKey

# A stream keeps a record 24 hours: the sealer has it sealed by then, or never will.
STREAM_RETENTION = timedelta(hours=24)
# The audit fallback queue keeps an entry the table refused 14 days (the SQS maximum,
# infra/constructs/audit.py QUEUE_RETENTION): an entry reaches the table at most that long after its
# timestamp, and is sealed at most STREAM_RETENTION after that.
QUEUE_RETENTION = timedelta(days=14)
# Clocks disagree a little: an entry's timestamp (the match function's clock) ahead of a sealing time
# (the sealer's) or of the verifier's `now` by this much is not yet a finding.
CLOCK_SKEW = timedelta(minutes=5)

EntryKey = tuple[str, str]


@dataclass(frozen=True)
class TimeBounds:
    """How late an entry may be sealed after its timestamp, and which unwitnessed entries are not (yet)
    findings: `pending` within `latest_seal` of now, `before_witness` only if dated before
    `witnessed_since` (the configured start of the witness; None: every entry should be witnessed)."""

    latest_seal: timedelta = QUEUE_RETENTION + STREAM_RETENTION
    witnessed_since: datetime | None = None
    clock_skew: timedelta = CLOCK_SKEW


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
    pending: int = 0  # entries the sealer may not have reached yet (TimeBounds.latest_seal)
    before_witness: int = 0  # entries dated before the configured start of the witness
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass
class Chain:
    """The verified payloads of the first versions, in chain order, and what was wrong with the rest."""

    payloads: list[dict[str, Any]] = field(default_factory=list)
    findings: set[Finding] = field(default_factory=set)


def check_witness(
    objects: Iterable[WitnessObject],
    entries: Iterable[Mapping[str, Any]],
    keys: Mapping[str, "ECKey"],
    now: datetime | None = None,
    bounds: TimeBounds | None = None,
) -> WitnessReport:
    stored = list(objects)
    chain = check_chain(stored, keys)
    table = {(str(entry[AUDIT.partition_key]), str(entry[ENTRY_KEY])): entry for entry in entries}
    report = WitnessReport(entries=len(table), objects=len(stored))
    timing = Timing(now or datetime.now(UTC), bounds or TimeBounds())
    findings = chain.findings | check_entries(chain.payloads, table, report, timing)
    report.findings = sorted(findings)
    return report


@dataclass(frozen=True)
class Timing:
    now: datetime
    bounds: TimeBounds


Opener = Callable[[bytes, Mapping[str, "ECKey"]], dict[str, Any]]


def open_whole(body: bytes, keys: Mapping[str, "ECKey"]) -> dict[str, Any]:
    """A witness object with its records (either version), as the bucket and a whole-trail bundle hold it."""
    content = open_witness(body, keys)
    if not isinstance(content.get("records"), list):
        raise UnverifiedObjectError("no records")
    return content


# --- The chain ------------------------------------------------------------------------------------------


def check_chain(
    stored: list[WitnessObject],
    keys: Mapping[str, "ECKey"],
    opener: Opener = open_whole,
    anchored: bool = False,
) -> Chain:
    """Each region's chain. `anchored`: it starts at its first object held (a client's bundle holds the
    headers of a period), not at sequence 1."""
    chain = Chain()
    first: dict[str, dict[int, WitnessObject]] = defaultdict(dict)  # region -> sequence -> first version
    for item in sorted(stored, key=lambda found: (found.name, found.version)):
        place = parse_name(item.name)
        if place is None:
            chain.findings.add(Finding("forged", (item.name,)))
        elif item.version > 0 or place[1] in first[place[0]]:
            chain.findings.add(Finding("rewritten", (item.name,)))
        else:
            first[place[0]][place[1]] = item
    for region in sorted(first):
        _check_region(region, first[region], (keys, opener), chain, anchored)
    return chain


def _check_region(
    region: str,
    objects: dict[int, WitnessObject],
    opening: tuple[Mapping[str, "ECKey"], Opener],
    chain: Chain,
    anchored: bool,
) -> None:
    """The region's objects in sequence order, present ones only: the chain ends at its last validly
    signed object, and each run of missing numbers below it is one `gap`."""
    opened = {sequence: _opened(objects[sequence], *opening, chain) for sequence in sorted(objects)}
    valid = [sequence for sequence, content in opened.items() if content is not None]
    last_valid: str | None = None  # the hash of the last object that verified
    before = min(objects) - 1 if anchored and objects else 0
    for sequence, content in opened.items():
        if valid and sequence > valid[-1]:
            break  # past the chain's end: what is there was named `forged` when opened
        if sequence > before + 1:
            chain.findings.add(Finding("gap", (_missing(region, before + 1, sequence - 1),)))
        if content is not None:
            previous = objects.get(sequence - 1)
            if not _links(content, region, sequence, previous, last_valid, opened):
                chain.findings.add(Finding("chain", (objects[sequence].name,)))
            chain.payloads.append(content)
            last_valid = link_hash(objects[sequence].body)
        before = sequence


def _links(
    content: dict[str, Any],
    region: str,
    sequence: int,
    before: WitnessObject | None,
    last_valid: str | None,
    opened: dict[int, dict[str, Any] | None],
) -> bool:
    """Named right, and chained to the object before it (or, past objects that do not verify, to the
    last one that does: where a sealer goes on from). After a gap there is nothing to compare."""
    if content.get("region") != region or content.get("sequence") != sequence:
        return False
    previous = content.get("previous")
    if sequence == 1:
        return previous is None
    if before is None:
        return True
    if previous == link_hash(before.body):
        return True
    return opened.get(sequence - 1) is None and previous == last_valid


def _missing(region: str, first: int, last: int) -> str:
    if first == last:
        return object_name(region, first)
    return f"{PREFIX}{region}/{first:012d}-{last:012d}"


def _opened(
    item: WitnessObject, keys: Mapping[str, "ECKey"], opener: Opener, chain: Chain
) -> dict[str, Any] | None:
    try:
        return opener(item.body, keys)
    except UnverifiedObjectError:
        chain.findings.add(Finding("forged", (item.name,)))
        return None


# --- The entries ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Seen:
    """A witnessed record and when it was sealed (the object's time: the sealer's clock)."""

    record: dict[str, Any]
    sealed_at: datetime | None


def check_entries(
    payloads: list[dict[str, Any]],
    table: dict[EntryKey, Mapping[str, Any]],
    report: WitnessReport,
    timing: Timing,
) -> set[Finding]:
    findings: set[Finding] = set()
    history: dict[EntryKey, list[_Seen]] = defaultdict(list)
    for content in payloads:
        sealed_at = instant(content.get("sealedAt"))
        for record in content["records"]:
            key = record.get("key") or {}
            history[(str(key.get(AUDIT.partition_key)), str(key.get(ENTRY_KEY)))].append(
                _Seen(record, sealed_at)
            )
    for key, seen in history.items():
        kinds = _history_findings(seen) | _time_findings(key, seen, timing.bounds)
        kinds |= _table_findings(seen[-1].record, table.get(key), timing.now)
        findings |= {Finding(kind, key) for kind in kinds}
    for key in table.keys() - history.keys():
        kind = _unwitnessed(key, timing)
        if kind == "pending":
            report.pending += 1
        elif kind == "before_witness":
            report.before_witness += 1
        else:
            findings.add(Finding(kind, key))
    return findings


def _unwitnessed(key: EntryKey, timing: Timing) -> str:
    """`pending` (it may still be sealed), `before_witness` (dated before the configured start of the
    witness) or `inserted`: by the entry's timestamp, bounded both ways, never trusted past the bounds."""
    written = _timestamp(key)
    bounds = timing.bounds
    if written is None or written > timing.now + bounds.clock_skew:
        return "inserted"  # no date, or dated in the future: no entry is written ahead of its time
    if bounds.witnessed_since is not None and written < bounds.witnessed_since:
        return "before_witness"
    return "pending" if written >= timing.now - bounds.latest_seal else "inserted"


def _time_findings(key: EntryKey, seen: list[_Seen], bounds: TimeBounds) -> set[str]:
    """An INSERT of the entry's own key is sealed between its timestamp and `latest_seal` after it."""
    written = _timestamp(key)
    kinds: set[str] = set()
    for item in seen:
        if item.record.get("event") != "INSERT" or written is None or item.sealed_at is None:
            continue
        if item.sealed_at > written + bounds.latest_seal:
            kinds.add("backdated")
        elif item.sealed_at + bounds.clock_skew < written:
            kinds.add("postdated")
    return kinds


def _timestamp(key: EntryKey) -> datetime | None:
    return instant(key[1].split("#", 1)[0])


def _history_findings(seen: list[_Seen]) -> set[str]:
    """What the stream itself showed: any change, any removal that was not an expiry, any unseen change."""
    kinds: set[str] = set()
    state: str | None = None
    expires: Any = None  # the expiresAt of what the witness last saw written
    removed: str | None = None  # the hash of what the last removal took away
    for item in seen:
        record = item.record
        event = record.get("event")
        if event == "MODIFY":
            kinds.add("modified")
        if event == "REMOVE":
            due = expires if state is not None else record.get(EXPIRES_AT)  # witnessed, else its own
            if not is_expiry(record, due, item.sealed_at):
                kinds.add("deleted")
        old = record.get("oldHash")
        if old is not None and state is not None and old != state:
            kinds.add("modified")  # the item changed between two records the witness saw
        if event == "INSERT" and removed is not None and record.get("newHash") != removed:
            kinds.add("modified")  # put back after a removal, with other content than was removed
        removed = old if event == "REMOVE" else removed
        state = record.get("newHash")
        expires = record.get(EXPIRES_AT) if event != "REMOVE" else None
    return kinds


def _table_findings(last: dict[str, Any], entry: Mapping[str, Any] | None, now: datetime) -> set[str]:
    """The table against the last thing witnessed: a change or removal the sealer has not seen yet."""
    if last.get("event") == "REMOVE":
        # Present again (a restored table, or put back and not sealed yet): it must be what was removed.
        restored = entry is None or entry_hash(dict(entry)) == last.get("oldHash")
        return set() if restored else {"modified"}
    if entry is None:
        expires = last.get(EXPIRES_AT)
        expired = isinstance(expires, int) and expires <= now.timestamp()
        return set() if expired else {"deleted"}
    return set() if entry_hash(dict(entry)) == last.get("newHash") else {"modified"}
