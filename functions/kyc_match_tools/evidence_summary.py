"""The one-page summary of one number's evidence (`kyc-match audit evidence`, #26 item 3): what was
asked, each entry's date, endpoint, answer, decision, reasons and policy version, the policy versions
with their sha256, and how to check the rest of the directory.

Written from the entries (keyed hashes, names, codes) and what the requester supplied: the number
itself is never written, it is "the number you supplied" and its keyed hash.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

SUMMARY = "summary.md"


@dataclass(frozen=True)
class Request:
    """What was asked: whose entries, under which ids, of which period, found by which keyed hashes."""

    client: str
    ids: Sequence[str]
    start: date | None
    end: date | None
    hashes: Mapping[str, str]  # keyed hash -> the key that made it
    prepared: datetime


def summary(
    request: Request, entries: Sequence[Mapping[str, Any]], policies: Sequence[Mapping[str, Any]]
) -> str:
    decisions = Counter(str(entry["decision"]) for entry in entries if entry.get("decision"))
    undecided = sum(1 for entry in entries if not entry.get("decision"))
    days = sorted(str(entry.get("day", "")) for entry in entries)
    lines = [
        f"# Audit evidence: one number's entries, client `{request.client}`",
        "",
        f"**Asked**: every audit entry of client `{request.client}` (under its ids "
        f"{', '.join(f'`{name}`' for name in request.ids)}) for the number you supplied, "
        f"{period(request.start, request.end)}.",
        "The number is not written in this directory: its entries were found, and are listed, by its keyed "
        "hash (HMAC-SHA-256 by KMS; the key never leaves KMS), under each hashing key its entries were "
        "written with:",
        "",
        *(f"- `{value}` (key `{key}`)" for value, key in sorted(request.hashes.items())),
        "",
        f"**Prepared** {request.prepared.strftime('%Y-%m-%d %H:%M:%S')} UTC by `kyc-match audit evidence`.",
        "",
        f"## {len(entries)} entries, {days[0]} to {days[-1]}",
        "",
        "| # | when (UTC) | endpoint | answer | decision | reasons | policy |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *(_row(number, entry) for number, entry in enumerate(entries, 1)),
        "",
        "Decisions: "
        + (", ".join(f"{name} {count}" for name, count in sorted(decisions.items())) or "none")
        + f"; requests without a decision: {undecided}.",
        "",
        "## Policy versions the decisions name",
        "",
        *_policies(policies),
        "",
        "## Checking this directory",
        "",
        "`kyc-match audit verify --offline DIR --public-key witness.pem --replay` (no AWS access) proves "
        "each entry above is in the operator's signed witness chain as it was written, that the chain "
        "of signed headers is unbroken, that the directory holds no entry of another number or client, "
        "that each policy is the version its sha256 names, and decides each decision again under it. "
        "It cannot prove that the operator searched for every entry of the number: the witness commits "
        "to each client's count of entries, not to each number's.",
        "",
        "Files: `entries.jsonl` (the entries as stored), `proofs.jsonl` (each entry's inclusion proof), "
        "`witness/` (the signed headers), `policies.jsonl`, `keys/` (the witness public keys: check them "
        "against the ones the operator published), `client.json` (what was asked).",
        "",
    ]
    return "\n".join(lines)


def period(start: date | None, end: date | None) -> str:
    if start and end:
        return f"from {start.isoformat()} to {end.isoformat()}"
    if start:
        return f"from {start.isoformat()} on"
    if end:
        return f"up to {end.isoformat()}"
    return "over the whole trail"


def _row(number: int, entry: Mapping[str, Any]) -> str:
    when = str(entry.get("timestamp", "")).replace("T", " ")[:19]
    answer = str(entry.get("status", ""))
    if entry.get("errorCode"):
        answer += f" {entry['errorCode']}"
    cells = (str(number), when, _endpoint(entry), answer, str(entry.get("decision") or "—"), _reasons(entry))
    return "| " + " | ".join((*cells, _policy(entry.get("policy")))) + " |"


def _endpoint(entry: Mapping[str, Any]) -> str:
    if entry.get("api"):
        return f"`{entry['api']}`"
    return "KYC Decision" if entry.get("decision") or entry.get("policy") else "KYC Match"


def _reasons(entry: Mapping[str, Any]) -> str:
    reasons = entry.get("reasons")
    if not isinstance(reasons, list) or not reasons:
        return "—"
    return ", ".join(
        f"{reason.get('code')} ({reason.get('rule')})" if isinstance(reason, dict) else str(reason)
        for reason in reasons
    )


def _policy(policy: Any) -> str:
    if not isinstance(policy, Mapping) or "id" not in policy:
        return "—"
    source = f"{policy['source']} " if policy.get("source") else ""
    return f"{source}`{policy['id']}` v{policy.get('version')}"


def _policies(policies: Sequence[Mapping[str, Any]]) -> list[str]:
    if not policies:
        return ["None (no decision in these entries, or none of their policies found)."]
    return [
        "| source | id | version | sha256 |",
        "| --- | --- | --- | --- |",
        *(
            f"| {item['source']} | `{item['id']}` | {item['version']} | `{item['sha256']}` |"
            for item in policies
        ),
    ]
