"""`kyc-match audit evidence --client ID --phone +E164 DIR` (#26 item 3): one number's file, for a
regulator's request or the data subject's access request.

DIR holds that number's entries of that client (found by the number's keyed hash under every hashing
key, as `audit find` finds them), each witness record of theirs with its inclusion proof, the signed
witness headers, the policy versions the decisions name, the witness public keys and `summary.md`; it
verifies with `audit verify --offline DIR --public-key FILE` and holds no other number's entry nor
another client's. The number itself is written nowhere, nor printed.
"""

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kyc_match_tools.commands.arguments import check_period, day, e164
from kyc_match_tools.errors import UsageError

NO_ENTRIES = 1  # the answer is "no": nothing of the number, nothing written


def register_evidence(actions: Any) -> None:
    evidence = actions.add_parser(
        "evidence",
        help="one number's file: its entries of a client, their inclusion proofs, the policies and a "
        "one-page summary, into a new directory (verify with `verify --offline`)",
    )
    evidence.add_argument("--client", required=True, help="the client's id (its key and legacy ids too)")
    evidence.add_argument("--phone", required=True, type=e164, help="E.164 number, e.g. +34600000001")
    evidence.add_argument("--from", dest="start", type=day, help="first day, YYYY-MM-DD")
    evidence.add_argument("--to", dest="end", type=day, help="last day, YYYY-MM-DD")
    evidence.add_argument("directory", type=Path, metavar="DIR", help="a new directory to write")
    evidence.set_defaults(run=_evidence)


def _evidence(args: argparse.Namespace) -> int:
    from kyc_match.audit.query import find_by_phone  # noqa: PLC0415
    from kyc_match_tools.commands import audit_access  # noqa: PLC0415
    from kyc_match_tools.evidence_summary import period  # noqa: PLC0415

    check_period(args.start, args.end)
    if args.directory.exists() and (not args.directory.is_dir() or any(args.directory.iterdir())):
        raise UsageError(f"{args.directory} is not a new, empty directory")
    parts = audit_access.components()
    ids = audit_access.client_history_ids(args.client) or (args.client,)
    entries = find_by_phone(parts.reader, parts.hashers, args.phone, ids, args.start, args.end)
    if not entries:
        print(
            f"no entries of client {args.client} for the number you supplied "
            f"({period(args.start, args.end)}): nothing written",
            file=sys.stderr,
        )
        return NO_ENTRIES
    written, policies = _write(args, parts, tuple(ids), entries)
    print(
        f"{written.entries} entries of client {args.client} for the number you supplied, "
        f"{written.objects} witness headers, {len(policies)} policy versions, summary.md in "
        f"{args.directory}",
        file=sys.stderr,
    )
    return 1 if written.refused else 0


def _write(
    args: argparse.Namespace, parts: Any, ids: tuple[str, ...], entries: list[dict[str, Any]]
) -> tuple[Any, list[dict[str, Any]]]:
    from kyc_match.audit.witness_client import ClientScope  # noqa: PLC0415
    from kyc_match.audit.witness_signature import public_key_pem  # noqa: PLC0415
    from kyc_match.wiring import witness_public_keys  # noqa: PLC0415
    from kyc_match_tools.commands import audit_access  # noqa: PLC0415
    from kyc_match_tools.evidence_summary import SUMMARY, Request, summary  # noqa: PLC0415
    from kyc_match_tools.witness_bundle import read_policies, write_client_bundle  # noqa: PLC0415

    hashes = {str(entry["phoneHash"]): str(entry.get("hashKeyId", "")) for entry in entries}
    scope = ClientScope(args.client, frozenset(ids), args.start, args.end, frozenset(hashes))
    keys = witness_public_keys(audit_access.settings())
    pems = {kid: public_key_pem(key) for kid, key in keys.items()}
    only = {(str(entry["clientDay"]), str(entry["entryKey"])) for entry in entries}
    try:
        written = write_client_bundle(
            args.directory, scope, entries, parts.witness.all_versions(), keys, pems, only
        )
    except OSError as error:
        raise UsageError(f"cannot write {args.directory}: {error.strerror or error}") from None
    for name in written.refused:  # escaped, as `export --bundle` does: a bucket name is anyone's text
        print(f"refused\t{name.encode('unicode_escape').decode('ascii')}")
    audit_access.bundle_policies(args.directory, args.client)
    policies = read_policies(args.directory)
    request = Request(args.client, sorted(ids), args.start, args.end, hashes, datetime.now(UTC))
    (args.directory / SUMMARY).write_text(summary(request, entries, policies), encoding="utf-8")
    return written, policies
