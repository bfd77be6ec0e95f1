"""`kyc-match policy put|get|list`: a client's risk policies in the configuration table.

With AWS_ENDPOINT_URL set (e.g. the one `kyc-match serve` prints), the local stand-in; otherwise the
deployment of the ambient AWS credentials (table name from KYC_CONFIG_TABLE).
"""

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from kyc_match_tools import local_aws


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser("policy", help="manage clients' risk policies")
    actions = parser.add_subparsers(dest="action", required=True)

    put = actions.add_parser("put", help="validate a policy file and store it as the next version")
    put.add_argument("--client", required=True, help="API key id of the client")
    put.add_argument("file", type=Path)
    put.set_defaults(run=_put)

    get = actions.add_parser("get", help="print a policy (latest version unless --version)")
    get.add_argument("--client", required=True)
    get.add_argument("--policy", required=True, help="policy id")
    get.add_argument("--version", type=int)
    get.set_defaults(run=_get)

    listing = actions.add_parser("list", help="the latest version of each of a client's policies")
    listing.add_argument("--client", required=True)
    listing.set_defaults(run=_list)


def _store() -> Any:
    if os.environ.get("AWS_ENDPOINT_URL"):
        local_aws.use_local_credentials()
    from kyc_match.settings import get_settings  # noqa: PLC0415
    from kyc_match.wiring import policy_store  # noqa: PLC0415 - after the environment is set

    return policy_store(get_settings())


def _put(args: argparse.Namespace) -> int:
    from kyc_match.domain.policy import PolicyError, parse_policy  # noqa: PLC0415

    try:
        policy = parse_policy(args.file.read_text(encoding="utf-8"))
    except PolicyError as error:
        for problem in error.problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        return 2
    stored = _store().put(args.client, policy)
    print(f"stored {stored.policy_id} version {stored.version} for {args.client}", file=sys.stderr)
    return 0


def _get(args: argparse.Namespace) -> int:
    store = _store()
    policy = (
        store.version(args.client, args.policy, args.version)
        if args.version
        else store.latest(args.client, args.policy)
    )
    if policy is None:
        print(f"no policy {args.policy} for {args.client}", file=sys.stderr)
        return 1
    print(json.dumps(policy.model_dump(by_alias=True), indent=2))
    return 0


def _list(args: argparse.Namespace) -> int:
    for policy in _store().list_latest(args.client):
        print(f"{policy.policy_id}\tv{policy.version}\t{policy.description}")
    return 0
