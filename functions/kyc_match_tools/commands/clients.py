"""`kyc-match clients put|get|list`: clients' onboarding (their DPV purposes) in the configuration table.

With AWS_ENDPOINT_URL set (e.g. the one `kyc-match serve` prints), the local stand-in; otherwise the
deployment of the ambient AWS credentials (table name from KYC_CONFIG_TABLE).
"""

import argparse
import json
import os
import sys
from typing import Any

from kyc_match_tools import local_aws


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser("clients", help="manage clients' onboarding: the purposes they may use")
    actions = parser.add_subparsers(dest="action", required=True)

    put = actions.add_parser("put", help="set a client's purposes (replaces its record)")
    put.add_argument("--client", required=True, help="API key id of the client")
    put.add_argument(
        "--purpose",
        action="append",
        required=True,
        dest="purposes",
        help="a DPV purpose, e.g. dpv:FraudPreventionAndDetection (repeatable)",
    )
    put.add_argument("--default", help="the purpose of calls that name none (default: the first --purpose)")
    put.set_defaults(run=_put)

    get = actions.add_parser("get", help="print a client's onboarding record")
    get.add_argument("--client", required=True)
    get.set_defaults(run=_get)

    listing = actions.add_parser("list", help="every onboarded client and its purposes")
    listing.set_defaults(run=_list)


def _store() -> Any:
    if os.environ.get("AWS_ENDPOINT_URL"):
        local_aws.use_local_credentials()
    from kyc_match.settings import get_settings  # noqa: PLC0415
    from kyc_match.wiring import client_store  # noqa: PLC0415 - after the environment is set

    return client_store(get_settings())


def _put(args: argparse.Namespace) -> int:
    from kyc_match.domain.clients import ClientProfile, ClientProfileError  # noqa: PLC0415

    try:
        profile = ClientProfile.of(args.purposes, args.default)
    except ClientProfileError as error:
        for problem in error.problems:
            print(f"kyc-match clients put: {problem}", file=sys.stderr)
        return 2
    _store().put(args.client, profile)
    print(f"onboarded {args.client} for {', '.join(profile.purposes)}", file=sys.stderr)
    return 0


def _get(args: argparse.Namespace) -> int:
    profile = _store().profile(args.client)
    if profile is None:
        print(f"no onboarding record for {args.client}", file=sys.stderr)
        return 1
    print(json.dumps({"client": args.client, **profile.document()}, indent=2))
    return 0


def _list(_: argparse.Namespace) -> int:
    for client_id, profile in _store().list():
        print(f"{client_id}\t{profile.default_purpose}\t{' '.join(profile.purposes)}")
    return 0
