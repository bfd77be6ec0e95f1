"""`kyc-match ported-numbers load FILE.csv`; the file format and checks: `kyc_match_tools.ported_numbers`."""

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from kyc_match_tools.errors import UsageError, one_line
from kyc_match_tools.ported_numbers import load_file


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser("ported-numbers", help="manage the ported-numbers routing table")
    actions = parser.add_subparsers(dest="action", required=True)
    load = actions.add_parser("load", help="hash and load a CSV of phoneNumber,operatorId")
    load.add_argument(
        "file", type=Path, help="CSV with a header: phoneNumber,operatorId (E.164, an operator id)"
    )
    load.add_argument(
        "--operators",
        type=Path,
        help="operators file (as for serve) giving the known operator ids; default: KYC_OPERATORS",
    )
    load.add_argument("--table", help="table name (default: KYC_PORTED_NUMBERS_TABLE)")
    load.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from kyc_match.operators.config import parse_operators  # noqa: PLC0415
    from kyc_match.settings import get_settings  # noqa: PLC0415

    if os.environ.get("AWS_ENDPOINT_URL") and not os.environ.get("AWS_ACCESS_KEY_ID"):
        from kyc_match_tools.local_aws import use_local_credentials  # noqa: PLC0415

        use_local_credentials()  # a local endpoint (moto): fake credentials, never a real account
    settings = get_settings()
    if args.table:
        settings = settings.model_copy(update={"ported_numbers_table": args.table})
    try:
        if args.operators:
            from kyc_match_tools.operator_sim.local_operators import read_local_operators  # noqa: PLC0415

            operators = read_local_operators(args.operators).operators
        else:
            operators = parse_operators(settings.operators)
        count = load_file(args.file, {operator.id for operator in operators}, settings)
    except OSError as error:
        raise UsageError(f"cannot read {error.filename or args.file}: {error.strerror or error}") from None
    except ValueError as error:
        raise UsageError(one_line(error)) from None
    print(f"loaded {count} ported numbers into {settings.ported_numbers_table}", file=sys.stderr)
    return 0
