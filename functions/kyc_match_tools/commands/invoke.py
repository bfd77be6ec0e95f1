"""`kyc-match invoke EVENT.json`: the handler once, like `sam local invoke -e`."""

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from kyc_match_tools import local_aws
from kyc_match_tools.commands.arguments import add_subscribers_argument
from kyc_match_tools.commands.local import route_sandbox_to, start_local_aws
from kyc_match_tools.errors import UsageError
from kyc_match_tools.files import read_json

# What every API Gateway REST proxy event has and the function reads (events/ holds complete ones).
REQUIRED_FIELDS = {"httpMethod": str, "path": str, "requestContext": dict}


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser("invoke", help="run the handler once on an API Gateway event file")
    parser.add_argument(
        "event", type=Path, metavar="EVENT.json", help="API Gateway REST proxy event, e.g. from events/"
    )
    add_subscribers_argument(parser)
    parser.set_defaults(run=run)


def read_event(path: Path) -> dict[str, Any]:
    """The event in `path`; UsageError names the file and the problem, never the content."""
    event = read_json(path, "event file")
    if not isinstance(event, dict) or not all(
        isinstance(event.get(name), kind) for name, kind in REQUIRED_FIELDS.items()
    ):
        fields = ", ".join(REQUIRED_FIELDS)
        raise UsageError(f"{path}: not an API Gateway REST proxy event (a JSON object with {fields})")
    return event


def run(args: argparse.Namespace) -> int:
    """The function's logs go to stderr, its response to stdout."""
    event = read_event(args.event)
    subscribers = local_aws.read_subscribers(args.subscribers)
    print(route_sandbox_to(subscribers, args.subscribers), file=sys.stderr)
    with contextlib.redirect_stdout(sys.stderr):
        start_local_aws(subscribers)
        _onboard_event_client(event)
        from kyc_match.handler import lambda_handler  # noqa: PLC0415 - after the environment is set
        from kyc_match_tools.lambda_context import local_context  # noqa: PLC0415

        response = lambda_handler(event, local_context())
    print(json.dumps(response, indent=2, ensure_ascii=False))
    return 0


def _onboard_event_client(event: dict[str, Any]) -> None:
    """The event's API key id is a local client: onboarded for the default purpose, as serve's keys are."""
    from kyc_match.settings import get_settings  # noqa: PLC0415 - after the environment is set

    identity = (event.get("requestContext") or {}).get("identity") or {}
    client_id = identity.get("apiKeyId") if isinstance(identity, dict) else None
    if isinstance(client_id, str) and client_id:
        local_aws.onboard_clients(get_settings(), [client_id])
