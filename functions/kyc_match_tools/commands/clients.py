"""`kyc-match clients apply|put|get|list|offboard`: clients' onboarding in a region's configuration table.

A client has a stable id (e.g. `acme-bank`), the same in every region, and in each region the ids of
its API keys there. `apply FILE` stores every client of a stage's file (clients/<stage>.json) with its
keys of every region (where the stage's configuration is a global table, once, in either region: #25);
`put` changes one client. With AWS_ENDPOINT_URL set (e.g. the one `kyc-match serve`
prints), the local stand-in; otherwise the deployment of the ambient AWS credentials (table name from
KYC_CONFIG_TABLE, region from AWS_DEFAULT_REGION or --region).
"""

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kyc_match_tools import local_aws
from kyc_match_tools.errors import UsageError
from kyc_match_tools.files import read_json

if TYPE_CHECKING:
    from kyc_match.clients.store import DynamoDbClientStore
    from kyc_match.domain.clients import ClientProfile, ClientProfileError, ClientRecord


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "clients", help="manage clients' onboarding: their id, API keys, purposes"
    )
    actions = parser.add_subparsers(dest="action", required=True)

    apply = actions.add_parser("apply", help="store the clients of a stage's file for this region")
    apply.add_argument("file", type=Path, help="the stage's clients file, e.g. clients/production.json")
    apply.set_defaults(run=_apply)

    put = actions.add_parser(
        "put", help="set a client's purposes, the policies its keys may use, and its API keys in this region"
    )
    put.add_argument("--client", required=True, help="the client's stable id, e.g. acme-bank")
    put.add_argument(
        "--purpose",
        action="append",
        required=True,
        dest="purposes",
        help="a DPV purpose, e.g. dpv:FraudPreventionAndDetection (repeatable)",
    )
    put.add_argument("--default", help="the purpose of calls that name none (default: the first --purpose)")
    put.add_argument(
        "--policy",
        action="append",
        dest="policies",
        metavar="POLICY_ID",
        help="a risk policy the client's keys may use on /kyc-decision (repeatable; replaces the list; "
        "default: the policies it has, or 'default' only)",
    )
    put.add_argument(
        "--default-policy",
        metavar="POLICY_ID",
        help="the policy of decision requests that name none (default: the first --policy)",
    )
    put.add_argument(
        "--retention-days",
        type=int,
        metavar="DAYS",
        help="how long its audit entries are kept, 1826 to 3653 days, within the witness bucket's Object "
        "Lock (default: the retention it has, or the deployment's auditRetentionDays)",
    )
    put.add_argument(
        "--minimise-attributes",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="its decisions forward to the operator only the attributes that operator verifies, the "
        "others reported as not sent (default: as it is; off for a new client)",
    )
    put.add_argument(
        "--api-key-id",
        action="append",
        dest="api_key_ids",
        metavar="KEY_ID",
        help="an API key id of the client, of any region (repeatable; replaces the list; "
        "default: the keys it has)",
    )
    put.add_argument(
        "--legacy-id",
        action="append",
        dest="legacy_ids",
        default=[],
        metavar="ID",
        help="an id its audit entries were filed under before it had this one (repeatable; added)",
    )
    put.set_defaults(run=_put)

    get = actions.add_parser("get", help="print a client's onboarding record")
    get.add_argument("--client", required=True, help="the client's stable id, e.g. acme-bank")
    get.set_defaults(run=_get)

    listing = actions.add_parser("list", help="every onboarded client: default purpose, purposes, API keys")
    listing.set_defaults(run=_list)

    offboard = actions.add_parser(
        "offboard",
        help="remove a client's API keys (the function refuses them) and say what happens to its entries",
    )
    offboard.add_argument("--client", required=True, help="the client's stable id, e.g. acme-bank")
    offboard.set_defaults(run=_offboard)
    for action in (apply, put, get, listing, offboard):
        action.add_argument(
            "--region", help="the region whose configuration table to use (default: AWS_DEFAULT_REGION)"
        )


def _store(region: str | None = None) -> "DynamoDbClientStore":
    if region:  # before any AWS client exists: a region's keys go to that region's table only
        os.environ["AWS_DEFAULT_REGION"] = region
    if os.environ.get("AWS_ENDPOINT_URL"):
        local_aws.use_local_credentials()
    from kyc_match.settings import get_settings  # noqa: PLC0415
    from kyc_match.wiring import client_store  # noqa: PLC0415 - after the environment is set

    return client_store(get_settings())


def history_ids(client_id: str) -> tuple[str, ...]:
    """Every `clientId` a client's audit entries may carry (`audit find|export`, `policy simulate`)."""
    record = _store().record(client_id)
    return record.history_ids() if record else (client_id,)


def _put(args: argparse.Namespace) -> int:
    from kyc_match.domain.clients import ClientProfile, ClientProfileError, ClientRecord  # noqa: PLC0415

    store = _store(args.region)
    current = store.record(args.client)
    keys = args.api_key_ids if args.api_key_ids is not None else (current.api_key_ids if current else ())
    policies = args.policies if args.policies is not None else (current.profile.policies if current else None)
    default_policy = args.default_policy
    if default_policy is None and args.policies is None and current is not None:
        default_policy = current.profile.default_policy
    retention = args.retention_days
    if retention is None and current is not None:
        retention = current.profile.retention_days
    try:
        minimise = args.minimise_attributes
        if minimise is None:
            minimise = current.profile.minimise_attributes if current else False
        profile = ClientProfile.of(
            args.purposes, args.default, policies, default_policy, retention, minimise_attributes=minimise
        )
        record = ClientRecord.of(args.client, profile, keys, args.legacy_ids)
    except ClientProfileError as error:
        return _refused("put", error)
    return _stored("put", store, record)


def _apply(args: argparse.Namespace) -> int:
    from kyc_match.domain.clients import ClientProfileError  # noqa: PLC0415
    from kyc_match_tools.onboarding import read_clients_file  # noqa: PLC0415

    store = _store(args.region)
    try:
        records = read_clients_file(read_json(args.file, "clients file"), _region())
    except ClientProfileError as error:
        raise UsageError(f"{args.file}: {'; '.join(error.problems)}") from None
    return max((_stored("apply", store, record) for record in records), default=0)


def _stored(command: str, store: "DynamoDbClientStore", record: "ClientRecord") -> int:
    """Store one record, saying what changed; 2 with the problems when refused."""
    from kyc_match.domain.clients import ClientProfileError  # noqa: PLC0415

    previous = store.record(record.id)
    if previous is not None and record.replacing(previous) == previous:
        print(f"{record.id}: unchanged", file=sys.stderr)
        return 0
    uncovered = _beyond_witness_lock(record.profile.retention_days)
    if uncovered:
        print(f"kyc-match clients {command}: {record.id}: {uncovered}", file=sys.stderr)
        return 2
    try:
        stored = store.put(record)
    except ClientProfileError as error:
        return _refused(command, error)
    profile, keys = stored.profile, " ".join(stored.api_key_ids) or "none"
    print(
        f"onboarded {stored.id} for {', '.join(profile.purposes)}; {_policies(profile)}; "
        f"{_retention(profile)}API keys in {_region()}: {keys}",
        file=sys.stderr,
    )
    return 0


def _retention(profile: "ClientProfile") -> str:
    """Said when the client set one (none: the deployment's auditRetentionDays, as before #26)."""
    return f"entries kept {profile.retention_days} days; " if profile.retention_days else ""


def _beyond_witness_lock(retention_days: int | None) -> str:
    """Why a retention is refused: longer than this region's witness objects are locked (the witness
    would no longer prove an entry still in the table); "" when covered or not set."""
    if retention_days is None:
        return ""
    locked = _witness_lock_days()
    if locked is None:
        return "the witness bucket has no default Object Lock retention: no retentionDays can be checked"
    if retention_days > locked:
        return (
            f"retentionDays {retention_days} exceeds the witness bucket's Object Lock ({locked} days in "
            f"{_region()}): raise auditRetentionDays (the lock) first"
        )
    return ""


def _policies(profile: "ClientProfile") -> str:
    if len(profile.policies) == 1:
        return f"policy {profile.default_policy}"
    return f"policies {', '.join(profile.policies)} ({profile.default_policy} when a request names none)"
    return 0


def _refused(command: str, error: "ClientProfileError") -> int:
    for problem in error.problems:
        print(f"kyc-match clients {command}: {problem}", file=sys.stderr)
    return 2


def _region() -> str:
    """The region the store works in: the file's key ids of that region are the ones stored."""
    import boto3  # noqa: PLC0415

    region = boto3.session.Session().region_name
    if not region:
        raise UsageError("no AWS region: set AWS_DEFAULT_REGION or pass --region")
    return region


def _get(args: argparse.Namespace) -> int:
    record = _store(args.region).record(args.client)
    if record is None:
        print(f"no onboarding record for {args.client}", file=sys.stderr)
        return 1
    print(json.dumps({"client": record.id, **record.document()}, indent=2))
    return 0


def _list(args: argparse.Namespace) -> int:
    for record in _store(args.region).list():
        profile = record.profile
        keys = " ".join(record.api_key_ids) or "-"
        print(f"{record.id}\t{profile.default_purpose}\t{' '.join(profile.purposes)}\t{keys}")
    return 0


def _witness_lock_days() -> int | None:
    """The default Object Lock retention of this region's witness bucket, in days (None: none set)."""
    from kyc_match import aws  # noqa: PLC0415
    from kyc_match.settings import get_settings  # noqa: PLC0415

    bucket = get_settings().audit_witness_bucket
    rule = aws.s3().get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"].get("Rule", {})
    retention = rule.get("DefaultRetention", {})
    if "Days" in retention:
        return int(retention["Days"])
    return int(retention["Years"]) * 365 if "Years" in retention else None


def _offboard(args: argparse.Namespace) -> int:
    """#25 item 7: the client's key items go (in every region, where the configuration is a global
    table), its record stays; nothing of its audit trail is deleted: each entry stays until its TTL."""
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    from kyc_match.settings import get_settings  # noqa: PLC0415

    store = _store(args.region)
    result = store.offboard(args.client)
    if result is None:
        print(f"no onboarding record for {args.client}", file=sys.stderr)
        return 1
    record, removed = result
    days = record.profile.retention_days or get_settings().audit_retention_days
    source = "its retentionDays" if record.profile.retention_days else "auditRetentionDays: it set none"
    last = (datetime.now(UTC) + timedelta(days=days)).date().isoformat()
    keys = ", ".join(removed) or "none (it had no key left)"
    print(f"offboarded {record.id}: API key ids removed: {keys}")
    print(
        "  requests with them are refused (403) from now on; containers that cached the key within the "
        "last minute refuse them within a minute"
    )
    print(f"  its record stays, the removed key ids kept as its legacy ids: {' '.join(record.legacy_ids)}")
    print(
        f"  its audit entries are not deleted: each stays until its TTL, {days} days after its request "
        f"({source}), so one written today expires on {last}; each keeps the expiresAt it was written "
        f"with; until then `kyc-match audit find|export --client {record.id}` finds them"
    )
    print(
        "  its risk policies stay in the configuration table (`kyc-match policy deactivate` retires one); "
        "API Gateway keys: disable, then delete each in every region (aws apigateway update-api-key "
        "--api-key ID --patch-operations op=replace,path=/enabled,value=false)"
    )
    return 0
