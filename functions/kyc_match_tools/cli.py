"""The `kyc-match` command: run the API locally, or invoke the handler on an event file."""

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from kyc_match_tools import local_aws

LOCAL_API_KEY = "local-dev-key"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kyc-match", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API locally over HTTP (moto stands in for AWS)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--subscribers",
        type=Path,
        default=local_aws.DEFAULT_SUBSCRIBERS,
        help='sandbox subscribers file: {"subscribers": [...]}',
    )
    serve.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help=f"accepted x-api-key (repeatable; default: {LOCAL_API_KEY})",
    )

    invoke = commands.add_parser("invoke", help="run the handler once on an API Gateway event file")
    invoke.add_argument("event", type=Path)
    invoke.add_argument("--subscribers", type=Path, default=local_aws.DEFAULT_SUBSCRIBERS)

    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    return _invoke(args)


def _start_local_aws(subscribers: Path) -> None:
    """Use AWS_ENDPOINT_URL when set (a moto server, DynamoDB Local…), else an embedded moto."""
    local_aws.use_local_credentials()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if not os.environ.get("AWS_ENDPOINT_URL"):
        local_aws.start_embedded_moto()
    from kyc_match.settings import get_settings  # noqa: PLC0415 - after the environment is set

    local_aws.prepare(get_settings(), subscribers)


def _serve(args: argparse.Namespace) -> int:
    _start_local_aws(args.subscribers)
    from kyc_match.handler import lambda_handler  # noqa: PLC0415
    from kyc_match_tools.server import make_server  # noqa: PLC0415

    keys = args.api_keys or [LOCAL_API_KEY]
    api_keys = {key: f"local-key-{number}" for number, key in enumerate(keys, start=1)}
    server = make_server(args.host, args.port, lambda_handler, api_keys)
    print(
        f"KYC Match API on http://{args.host}:{server.server_port}/kyc-match/v0.4/match",
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


def _invoke(args: argparse.Namespace) -> int:
    """Like `sam local invoke -e`: the function's logs on stderr, its response on stdout."""
    event = json.loads(args.event.read_text(encoding="utf-8"))
    with contextlib.redirect_stdout(sys.stderr):
        _start_local_aws(args.subscribers)
        from kyc_match.handler import lambda_handler  # noqa: PLC0415
        from kyc_match_tools.lambda_context import local_context  # noqa: PLC0415

        response = lambda_handler(event, local_context())
    print(json.dumps(response, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
