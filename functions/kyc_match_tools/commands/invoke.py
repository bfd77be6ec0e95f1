"""`kyc-match invoke EVENT.json`: the handler once, like `sam local invoke -e`."""

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from kyc_match_tools import local_aws
from kyc_match_tools.commands.local import start_local_aws


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser("invoke", help="run the handler once on an API Gateway event file")
    parser.add_argument("event", type=Path)
    parser.add_argument("--subscribers", type=Path, default=local_aws.DEFAULT_SUBSCRIBERS)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """The function's logs go to stderr, its response to stdout."""
    event = json.loads(args.event.read_text(encoding="utf-8"))
    with contextlib.redirect_stdout(sys.stderr):
        start_local_aws(args.subscribers)
        from kyc_match.handler import lambda_handler  # noqa: PLC0415 - after the environment is set
        from kyc_match_tools.lambda_context import local_context  # noqa: PLC0415

        response = lambda_handler(event, local_context())
    print(json.dumps(response, indent=2, ensure_ascii=False))
    return 0
