"""`audit verify`: every entry intact, every digested entry still there, nothing slipped in.

| finding | meaning |
| --- | --- |
| modified | an entry named by a digest fails its MAC (changed after it was written) |
| forged | an entry no digest names fails its MAC (written by someone without the key) |
| deleted | a digest names an entry the table no longer holds (before its retention ended) |
| chain | a day's entries no longer reproduce the digest's hash chain |
| digest | a digest fails its own MAC |
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kyc_match.audit.digest import chain_head
from kyc_match.audit.sealing import DIGEST_DOMAIN, KmsSealer
from kyc_match.audit.store import ENTRY_KEY
from kyc_match.tables import AUDIT


@dataclass(frozen=True)
class Finding:
    kind: str
    client_day: str
    entry_key: str = ""


@dataclass
class VerificationReport:
    entries: int = 0
    digests: int = 0
    undigested: int = 0  # intact entries of days not digested yet (today, or a late drain)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def verify_trail(
    entries: Iterable[dict[str, Any]], digests: Iterable[dict[str, Any]], sealer: KmsSealer
) -> VerificationReport:
    report = VerificationReport()
    by_key = {(entry[AUDIT.partition_key], entry[ENTRY_KEY]): entry for entry in entries}
    report.entries = len(by_key)
    digested: set[tuple[str, str]] = set()
    now = datetime.now(UTC).timestamp()
    for digest in digests:
        report.digests += 1
        client_day = str(digest.get("clientDay", ""))
        if not sealer.is_intact(digest, DIGEST_DOMAIN):
            report.findings.append(Finding("digest", client_day))
            continue
        listed = [(client_day, str(key)) for key in digest["entryKeys"]]
        digested.update(listed)
        if int(digest["expiresAt"]) <= now:
            continue  # its entries have legitimately expired
        present = [by_key[key] for key in listed if key in by_key]
        report.findings += [Finding("deleted", *key) for key in listed if key not in by_key]
        macs = (str(entry.get("entryMac", "")) for entry in present)
        if len(present) == len(listed) and chain_head(client_day, macs) != digest["chainHead"]:
            report.findings.append(Finding("chain", client_day))
    for key, entry in sorted(by_key.items()):
        if not sealer.is_intact(entry):
            report.findings.append(Finding("modified" if key in digested else "forged", *key))
        elif key not in digested:
            report.undigested += 1
    return report
