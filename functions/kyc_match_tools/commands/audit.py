"""`kyc-match audit find|export|verify|digest|drain`: the trail of the current deployment or local store.

With AWS_ENDPOINT_URL set (e.g. the one `kyc-match serve` prints), the commands read that local
stand-in; otherwise the AWS account and region of the ambient credentials, with table, bucket and
key names from the same KYC_* variables the function uses.
"""

import argparse
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kyc_match_tools import local_aws
from kyc_match_tools.commands.arguments import day
from kyc_match_tools.errors import UsageError


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser("audit", help="find, export and verify audit entries")
    actions = parser.add_subparsers(dest="action", required=True)

    find = actions.add_parser("find", help="entries for a phone number (hashed with every known key)")
    find.add_argument("--phone", required=True, help="E.164 number, e.g. +34600000001")
    _period_and_client(find)
    find.set_defaults(run=_find)

    export = actions.add_parser("export", help="entries as JSON Lines or CSV, for a regulator")
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl", help="file format")
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")
    _period_and_client(export)
    export.set_defaults(run=_export)

    verify = actions.add_parser("verify", help="check every entry and digest; exit 1 on any finding")
    verify.set_defaults(run=_verify)

    digest = actions.add_parser("digest", help="seal and store the digests of a day (default: yesterday)")
    digest.add_argument("--day", type=day)
    digest.set_defaults(run=_digest)

    drain = actions.add_parser("drain", help="store the entries waiting in the fallback queue")
    drain.set_defaults(run=_drain)


def _period_and_client(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--client", help="the client's id; its API key ids and legacy ids (clients get) are searched too"
    )
    parser.add_argument("--from", dest="start", type=day, help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="end", type=day, help="last day, YYYY-MM-DD")


def _use_local_stand_in_if_set() -> None:
    if os.environ.get("AWS_ENDPOINT_URL"):
        local_aws.use_local_credentials()


def _components() -> Any:
    _use_local_stand_in_if_set()
    from kyc_match.settings import get_settings  # noqa: PLC0415 - after the environment
    from kyc_match.wiring import audit_components  # noqa: PLC0415

    return audit_components(get_settings())


def _history_ids(client_id: str | None) -> tuple[str, ...] | None:
    from kyc_match_tools.commands.clients import history_ids  # noqa: PLC0415

    return history_ids(client_id) if client_id else None


def _find(args: argparse.Namespace) -> int:
    from kyc_match.audit.query import find_by_phone  # noqa: PLC0415

    parts = _components()
    clients = _history_ids(args.client)
    entries = find_by_phone(parts.reader, parts.hashers, args.phone, clients, args.start, args.end)
    for entry in entries:
        print(json.dumps(entry, sort_keys=True, ensure_ascii=False))
    print(f"{len(entries)} entries", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    from kyc_match.audit.query import entries_between, write_export  # noqa: PLC0415

    parts = _components()
    entries = entries_between(parts.reader, args.start, args.end, _history_ids(args.client))
    if args.output:
        try:
            output = args.output.open("w", encoding="utf-8", newline="")
        except OSError as error:
            raise UsageError(f"cannot write {args.output}: {error.strerror or error}") from None
        with output:
            count = write_export(entries, output, args.format)
    else:
        count = write_export(entries, sys.stdout, args.format)
    print(f"{count} entries exported", file=sys.stderr)
    return 0


def _verify(_: argparse.Namespace) -> int:
    from kyc_match.audit.verify import verify_trail  # noqa: PLC0415

    parts = _components()
    report = verify_trail(parts.reader.all_entries(), parts.digests.all(), parts.sealer)
    for finding in report.findings:
        print(f"{finding.kind}\t{finding.client_day}\t{finding.entry_key}")
    verdict = "OK" if report.ok else f"FAILED: {len(report.findings)} findings"
    print(
        f"{verdict} — {report.entries} entries, {report.digests} digests, "
        f"{report.undigested} entries not digested yet",
        file=sys.stderr,
    )
    return 0 if report.ok else 1


def _digest(args: argparse.Namespace) -> int:
    from kyc_match.audit.digest import write_daily_digests  # noqa: PLC0415

    parts = _components()
    day = args.day or datetime.now(UTC).date() - timedelta(days=1)
    keys = write_daily_digests(day.isoformat(), parts.reader, parts.digests, parts.sealer, parts.retention)
    print(f"{len(keys)} digests written for {day.isoformat()}", file=sys.stderr)
    return 0


def _drain(_: argparse.Namespace) -> int:
    _use_local_stand_in_if_set()
    from kyc_match import aws  # noqa: PLC0415
    from kyc_match.jobs.drain import store_entry  # noqa: PLC0415
    from kyc_match.settings import get_settings  # noqa: PLC0415
    from kyc_match.wiring import audit_table  # noqa: PLC0415

    settings = get_settings()
    queue_url = settings.audit_fallback_queue_url
    if not queue_url:
        print("KYC_AUDIT_FALLBACK_QUEUE_URL is not set", file=sys.stderr)
        return 2
    stored = 0
    while messages := aws.sqs().receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            store_entry(audit_table(settings), json.loads(message["Body"]))
            aws.sqs().delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            stored += 1
    print(f"{stored} queued entries stored", file=sys.stderr)
    return 0
