"""`kyc-match serve`: the API over HTTP on this machine."""

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from kyc_match_tools import local_aws
from kyc_match_tools.commands.local import start_local_aws

LOCAL_API_KEY = "local-dev-key"


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser("serve", help="run the API locally over HTTP (moto stands in for AWS)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--subscribers",
        type=Path,
        default=local_aws.DEFAULT_SUBSCRIBERS,
        help='sandbox subscribers file: {"subscribers": [...]}',
    )
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help=f"accepted x-api-key (repeatable; default: {LOCAL_API_KEY})",
    )
    parser.add_argument(
        "--aws-port",
        type=int,
        default=0,
        help="port of the embedded moto server (default: any free one; ignored when AWS_ENDPOINT_URL is set)",
    )
    parser.add_argument(
        "--operators",
        type=Path,
        help="operators file: the KYC_OPERATORS list; camara entries may carry clientSecret (local only)",
    )
    parser.add_argument(
        "--ported-numbers", type=Path, help="CSV phoneNumber,operatorId loaded into the ported-numbers table"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from kyc_match_tools.operator_sim import local_operators  # noqa: PLC0415

    try:
        operators = local_operators.read_local_operators(args.operators) if args.operators else None
    except (OSError, ValueError) as error:
        print(f"kyc-match serve: invalid --operators file: {error}", file=sys.stderr)
        return 2
    if operators is not None:
        os.environ["KYC_OPERATORS"] = operators.operators_json  # secrets stripped: they go to moto
    start_local_aws(args.subscribers, args.aws_port)
    try:
        local_operators.prepare_local_operators(operators, args.ported_numbers)
    except (OSError, ValueError) as error:
        print(f"kyc-match serve: {error}", file=sys.stderr)
        return 2
    from kyc_match.handler import lambda_handler  # noqa: PLC0415 - after the environment is set
    from kyc_match_tools.server import make_server  # noqa: PLC0415

    keys = args.api_keys or [LOCAL_API_KEY]
    api_keys = {key: f"local-key-{number}" for number, key in enumerate(keys, start=1)}
    server = make_server(args.host, args.port, lambda_handler, api_keys)
    url = f"http://{args.host}:{server.server_port}/kyc-match/v0.4/match"
    print(f"KYC Match API on {url}", file=sys.stderr)
    print(
        f"AWS stand-in: export AWS_ENDPOINT_URL={os.environ['AWS_ENDPOINT_URL']} (for `kyc-match audit ...`)",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
