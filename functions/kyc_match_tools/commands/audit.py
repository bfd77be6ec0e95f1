"""`kyc-match audit find|export|verify|flush|drain`: the trail of the current deployment or local store.

With AWS_ENDPOINT_URL set (e.g. the one `kyc-match serve` prints), the commands read that local
stand-in; otherwise the AWS account and region of the ambient credentials, with table, bucket and
key names from the same KYC_* variables the function uses. `verify --offline` reads a directory only.
"""

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from kyc_match_tools.commands import audit_access
from kyc_match_tools.commands.arguments import check_period, day, e164
from kyc_match_tools.commands.audit_evidence import register_evidence
from kyc_match_tools.errors import UsageError, one_line


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser("audit", help="find, export and verify audit entries")
    actions = parser.add_subparsers(dest="action", required=True)

    find = actions.add_parser("find", help="entries for a phone number (hashed with every known key)")
    find.add_argument("--phone", required=True, type=e164, help="E.164 number, e.g. +34600000001")
    _period_and_client(find)
    find.set_defaults(run=_find)

    export = actions.add_parser("export", help="entries as JSON Lines or CSV, or a bundle for a regulator")
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl", help="file format")
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")
    export.add_argument(
        "--bundle",
        type=Path,
        metavar="DIR",
        help="write the whole trail, every witness object and the witness public keys to a new directory, "
        "for `audit verify --offline`; with --client, that client's entries of the period (--from, --to) "
        "with their inclusion proofs and the signed witness headers, nobody else's",
    )
    _period_and_client(export)
    export.set_defaults(run=_export)

    register_evidence(actions)

    verify = actions.add_parser(
        "verify", help="check the witness chain and the table against it; exit 1 on any finding"
    )
    verify.add_argument(
        "--offline", type=Path, metavar="DIR", help="check an export bundle, with no AWS access"
    )
    verify.add_argument(
        "--public-key",
        action="append",
        type=Path,
        dest="public_keys",
        metavar="FILE",
        help="witness public key(s): a PEM, or the JWK Set of GET /.well-known/witness-keys.json "
        "(repeatable; with --offline)",
    )
    verify.add_argument(
        "--witnessed-since",
        type=day,
        metavar="YYYY-MM-DD",
        help="when the witness started: entries dated before it, never witnessed, are counted, not "
        "findings (default: none; every entry must have been witnessed)",
    )
    verify.add_argument(
        "--replay",
        action="store_true",
        help="with --offline: decide each entry again under the policy it names, from the bundle's "
        "policies; print any decision that would differ",
    )
    verify.set_defaults(run=_verify)

    flush = actions.add_parser("flush", help="seal what the audit table's stream holds now (local sealer)")
    flush.set_defaults(run=_flush)

    drain = actions.add_parser("drain", help="store the entries waiting in the fallback queue")
    drain.set_defaults(run=_drain)


def _period_and_client(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--client", help="the client's id; its API key ids and legacy ids (clients get) are searched too"
    )
    parser.add_argument("--from", dest="start", type=day, help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="end", type=day, help="last day, YYYY-MM-DD")


def _find(args: argparse.Namespace) -> int:
    from kyc_match.audit.query import find_by_phone  # noqa: PLC0415

    check_period(args.start, args.end)
    parts = audit_access.components()
    clients = audit_access.client_history_ids(args.client)
    entries = find_by_phone(parts.reader, parts.hashers, args.phone, clients, args.start, args.end)
    for entry in entries:
        print(json.dumps(entry, sort_keys=True, ensure_ascii=False))
    print(f"{len(entries)} entries", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    from kyc_match.audit.query import entries_between, write_export  # noqa: PLC0415

    check_period(args.start, args.end)
    if args.bundle:
        return _export_bundle(args)
    parts = audit_access.components()
    clients = audit_access.client_history_ids(args.client)
    entries = entries_between(parts.reader, args.start, args.end, clients)
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


def _export_bundle(args: argparse.Namespace) -> int:
    if args.output or args.format != "jsonl":
        raise UsageError("--bundle exports JSON Lines into its directory: no --output, --format")
    if (args.start or args.end) and not args.client:
        raise UsageError("--bundle exports the whole trail: --from and --to go with --client")
    from kyc_match.audit.witness_signature import public_key_pem  # noqa: PLC0415
    from kyc_match.wiring import witness_public_keys  # noqa: PLC0415
    from kyc_match_tools.witness_bundle import write_bundle  # noqa: PLC0415

    parts = audit_access.components()
    keys = witness_public_keys(audit_access.settings())
    pems = {kid: public_key_pem(key) for kid, key in keys.items()}
    try:
        if args.client:
            written = _client_bundle(args, parts, keys, pems)
        else:
            objects = parts.witness.all_versions()
            written = write_bundle(args.bundle, parts.reader.all_entries(), objects, pems)
    except FileExistsError:
        raise UsageError(f"{args.bundle} holds an export already: give a new directory") from None
    except OSError as error:
        raise UsageError(f"cannot write {args.bundle}: {error.strerror or error}") from None
    for name in written.refused:  # escaped: a name in the bucket is anyone's text, control codes too
        print(f"refused\t{name.encode('unicode_escape').decode('ascii')}")
    policies, missing = audit_access.bundle_policies(args.bundle, args.client)
    refused = f", {len(written.refused)} objects refused: not witness names" if written.refused else ""
    kind = "witness headers" if args.client else "witness objects"
    absent = f" ({missing} not found: {MISSING_POLICIES})" if missing else ""
    print(
        f"{written.entries} entries, {written.objects} {kind}, {policies} policy versions{absent}, "
        f"{len(pems)} public keys in {args.bundle}{refused}",
        file=sys.stderr,
    )
    return 1 if written.refused else 0


MISSING_POLICIES = "built-in versions before the current one are in the repository's git history only"


def _client_bundle(args: argparse.Namespace, parts: Any, keys: Any, pems: dict[str, bytes]) -> Any:
    from kyc_match.audit.query import entries_between  # noqa: PLC0415
    from kyc_match.audit.witness_client import ClientScope  # noqa: PLC0415
    from kyc_match_tools.witness_bundle import write_client_bundle  # noqa: PLC0415

    ids = audit_access.client_history_ids(args.client) or (args.client,)
    scope = ClientScope(args.client, frozenset(ids), args.start, args.end)
    entries = entries_between(parts.reader, args.start, args.end, scope.ids)
    return write_client_bundle(args.bundle, scope, entries, parts.witness.all_versions(), keys, pems)


def _verify(args: argparse.Namespace) -> int:
    from kyc_match.audit.witness_check import check_witness  # noqa: PLC0415

    policies = 0
    if args.replay and not args.offline:
        raise UsageError("--replay goes with --offline: it replays a bundle's decisions under its policies")
    if args.offline:
        entries, objects, keys = _offline(args.offline, args.public_keys or [])
        client = _client_bundle_of(args.offline)
        policies = _policies(args, entries)
        if client is not None:
            return max(_verify_client(args, client, entries, objects, keys), policies)
    elif args.public_keys:
        raise UsageError("--public-key goes with --offline (online, the keys come from KMS)")
    else:
        from kyc_match.wiring import witness_public_keys  # noqa: PLC0415

        parts = audit_access.components()
        entries, objects = list(parts.reader.all_entries()), list(parts.witness.all_versions())
        keys = witness_public_keys(audit_access.settings())
    report = check_witness(objects, entries, keys, bounds=_bounds(args))
    older = f", {report.before_witness} entries older than the witness" if report.before_witness else ""
    _print_report(
        report, f"{report.entries} entries, {report.objects} witness objects, {report.pending} entries not "
        f"witnessed yet{older}",
    )  # fmt: skip
    return max(0 if report.ok else 1, policies)  # a policy not as listed, a replay that differs: 1


def _policies(args: argparse.Namespace, entries: list[dict[str, Any]]) -> int:
    """The bundle's policies: each sha256 recomputed (`policy<TAB>source<TAB>id<TAB>version` for one
    that is not what it is listed with), and with --replay each decision decided again under the policy
    its entry names (`differs<TAB>clientDay<TAB>entryKey<TAB>was<TAB>would be`). 1 on any, else 0."""
    from kyc_match.audit.replay import intact_policies, policy_key, replay_evidence  # noqa: PLC0415
    from kyc_match_tools.witness_bundle import read_policies  # noqa: PLC0415

    try:
        listed = read_policies(args.offline)
    except (OSError, ValueError) as error:
        raise UsageError(f"{args.offline}: cannot read its policies ({one_line(error)})") from None
    intact, broken = intact_policies(listed)
    for source, policy_id, version in broken:
        print(f"policy\t{source}\t{policy_id}\t{version}")
    hashes = {key: str(item.get("sha256")) for item in listed if (key := policy_key(item)) in intact}
    if not args.replay:
        if listed:
            print(
                f"{len(intact)} of {len(listed)} policy versions as listed (sha256 recomputed)",
                file=sys.stderr,
            )
        return 1 if broken else 0
    replayed = replay_evidence(entries, intact, hashes)
    for line in replayed.differs:
        print("\t".join(("differs", *line)))
    absent = (
        f", {replayed.without_policy} without their policy in the bundle ({MISSING_POLICIES})"
        if replayed.without_policy
        else ""
    )
    print(
        f"replayed {replayed.replayed} decisions under {len(intact)} policy versions: "
        f"{len(replayed.differs)} would differ, {replayed.skipped} not replayable{absent}",
        file=sys.stderr,
    )
    return 1 if broken or replayed.differs else 0


def _client_bundle_of(directory: Path) -> Any:
    from kyc_match_tools.witness_bundle import read_client_bundle  # noqa: PLC0415

    try:
        return read_client_bundle(directory)
    except OSError as error:
        raise UsageError(f"cannot read {error.filename or directory}: {error.strerror or error}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise UsageError(f"{directory}: not a client's audit bundle ({one_line(error)})") from None


def _verify_client(args: argparse.Namespace, client: Any, entries: Any, objects: Any, keys: Any) -> int:
    """A client's bundle: its entries, each record proven in a signed object, the chain of headers."""
    from kyc_match.audit.witness_client import check_client  # noqa: PLC0415

    scope, proofs = client
    report = check_client(objects, proofs, entries, keys, scope, bounds=_bounds(args))
    older = f", {report.before_witness} entries older than the proofs" if report.before_witness else ""
    _print_report(
        report, f"client {scope.client}: {report.entries} entries, {report.proven} records proven in "
        f"{report.objects} signed witness headers, {report.pending} entries not witnessed yet{older}",
    )  # fmt: skip
    return 0 if report.ok else 1


def _bounds(args: argparse.Namespace) -> Any:
    """The time bounds `verify` checks entries against: --witnessed-since, if given."""
    from kyc_match.audit.witness_check import TimeBounds  # noqa: PLC0415

    since = datetime.combine(args.witnessed_since, time(), UTC) if args.witnessed_since else None
    return TimeBounds(witnessed_since=since)


def _print_report(report: Any, summary: str) -> None:
    """One line per finding on stdout, then the verdict and what was checked on stderr."""
    for finding in report.findings:
        print(finding.line())
    verdict = "OK" if report.ok else f"FAILED: {len(report.findings)} findings"
    print(f"{verdict} — {summary}", file=sys.stderr)


def _offline(directory: Path, key_files: list[Path]) -> tuple[Any, Any, Any]:
    """A bundle and PEM keys, read with no AWS client ever created."""
    from kyc_match.audit.witness_signature import key_ring, public_key_from_pem  # noqa: PLC0415
    from kyc_match_tools.witness_bundle import read_bundle  # noqa: PLC0415

    if not key_files:
        raise UsageError("--offline needs the witness public key: --public-key FILE (repeatable)")
    try:
        keys = key_ring(key for path in key_files for key in _public_keys(path, public_key_from_pem))
        entries, objects = read_bundle(directory)
    except OSError as error:
        raise UsageError(f"cannot read {error.filename or directory}: {error.strerror or error}") from None
    except ValueError as error:  # not PEM, a private key, a line that is not JSON
        raise UsageError(f"{one_line(error)}") from None
    return entries, objects, keys


def _public_keys(path: Path, parse: Callable[[bytes], Any]) -> list[Any]:
    """One --public-key file: a PEM, or a JWK Set (or one JWK) as the service publishes the witness keys;
    a file that is no public key is named, not described in ASN.1 terms."""
    from kyc_match.audit.witness_signature import public_key_from_jwk  # noqa: PLC0415

    pem = path.read_bytes()
    try:
        if pem.lstrip().startswith(b"{"):
            document = json.loads(pem)
            jwks = document.get("keys", [document]) if isinstance(document, dict) else None
            if not isinstance(jwks, list) or not jwks:
                raise ValueError("no keys")
            return [public_key_from_jwk(jwk) for jwk in jwks]
        return [parse(pem)]
    except ValueError as error:
        if "private key" in str(error):
            raise UsageError(f"{path}: {one_line(error)}") from None
        raise UsageError(
            f"{path}: not a witness public key (a PEM 'BEGIN PUBLIC KEY' block, EC P-256, or the JWK Set "
            "of GET /.well-known/witness-keys.json): get it there or with `aws kms get-public-key` "
            "(docs/audit.md, Verifying an export)"
        ) from None


def _flush(_: argparse.Namespace) -> int:
    from kyc_match.audit.witness import object_name  # noqa: PLC0415
    from kyc_match_tools.witness_local import flush  # noqa: PLC0415

    audit_access.use_local_stand_in_if_set()
    settings = audit_access.settings()
    flush(settings)
    from kyc_match.wiring import witness_sealer  # noqa: PLC0415

    sealer = witness_sealer(settings)
    sequence = sealer.head().sequence
    head = (
        object_name(sealer.region, sequence) if sequence else "none (nothing written to the audit table yet)"
    )
    print(f"witness up to date: head {head}", file=sys.stderr)
    return 0


def _drain(_: argparse.Namespace) -> int:
    audit_access.use_local_stand_in_if_set()
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
