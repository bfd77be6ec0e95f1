"""`kyc-match serve`: the API over HTTP on this machine.

The terminal gets the start-up lines and one access line per request (method, path, status, time,
the correlation id of the function's log lines). What the function writes on standard output in
Lambda (its JSON log lines, its EMF metrics) goes to the log file instead (`--log-file`, by default
kyc-match-serve-PORT.log in the temporary folder), and with `--verbose` to the terminal as well.
"""

import argparse
import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from kyc_match_tools import local_aws
from kyc_match_tools.commands.arguments import add_subscribers_argument, port
from kyc_match_tools.commands.local import Subscribers, route_sandbox_to, start_local_aws
from kyc_match_tools.errors import UsageError, one_line

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

    from kyc_match_tools.operator_sim.local_operators import LocalOperators
    from kyc_match_tools.witness_local import BackgroundSealer

LOCAL_API_KEY = "local-dev-key"


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser("serve", help="run the API locally over HTTP (moto stands in for AWS)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=port, default=8080, help="port to listen on (0: any free one)")
    add_subscribers_argument(parser)
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help=f"accepted x-api-key (repeatable; default: {LOCAL_API_KEY})",
    )
    parser.add_argument(
        "--purpose",
        action="append",
        dest="purposes",
        metavar="DPV",
        help="purposes the local keys' clients are onboarded for (repeatable; the first is their default; "
        "default: dpv:FraudPreventionAndDetection)",
    )
    parser.add_argument(
        "--client",
        metavar="ID",
        help="the stable id of one client owning all the local keys, as while a key is rotated "
        "(default: each key is a client named after its key id)",
    )
    parser.add_argument(
        "--aws-port",
        type=port,
        metavar="PORT",
        default=0,
        help="port of the embedded moto server (default: any free one; ignored when AWS_ENDPOINT_URL is set)",
    )
    parser.add_argument(
        "--operators",
        type=Path,
        metavar="FILE",
        help="operators file: the KYC_OPERATORS list; camara entries may carry clientSecret (local only)",
    )
    parser.add_argument(
        "--ported-numbers",
        type=Path,
        metavar="FILE",
        help="CSV phoneNumber,operatorId loaded into the ported-numbers table",
    )
    parser.add_argument(
        "--log-file",
        type=Path,
        metavar="FILE",
        help="where the function's JSON log lines and metrics are appended "
        "(default: kyc-match-serve-PORT.log in the temporary folder)",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="print the function's log lines and metrics on the terminal too",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with _onboarding_read_afresh():
        return _serve(args)


@contextlib.contextmanager
def _onboarding_read_afresh() -> Iterator[None]:
    """A `kyc-match clients put` is seen by the next request, not a minute later (AWS caches 60 s);
    the environment is as it was once serve ends, refused or stopped."""
    before = os.environ.get(CLIENT_CACHE)
    os.environ.setdefault(CLIENT_CACHE, "0")
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(CLIENT_CACHE, None)


CLIENT_CACHE = "KYC_CLIENT_CACHE_SECONDS"


def _serve(args: argparse.Namespace) -> int:
    operators = _read_operators(args.operators)
    subscribers = local_aws.read_subscribers(args.subscribers)
    terminal = sys.stdout
    # A busy port is said at once, before the AWS stand-in starts.
    server = _bind(args.host, args.port, args.api_keys or [LOCAL_API_KEY], terminal)
    log_file = args.log_file or Path(tempfile.gettempdir()) / f"kyc-match-serve-{server.server_port}.log"
    sealer = None
    try:
        with _function_output(log_file, terminal if args.verbose else None):
            routes = _prepare(args, operators, subscribers)
            sealer = _start_sealer()
            server.server_activate()
            print(
                f"KYC Match API on http://{args.host}:{server.server_port}/kyc-match/v0.4/match",
                file=sys.stderr,
            )
            base = f"http://{args.host}:{server.server_port}"
            print(f"Our JWKS on {base}/.well-known/jwks.json", file=sys.stderr)
            print(routes, file=sys.stderr)
            print(
                f"AWS stand-in: export AWS_ENDPOINT_URL={os.environ['AWS_ENDPOINT_URL']} "
                "(for `kyc-match audit ...`)",
                file=sys.stderr,
            )
            print(f"Function logs: {log_file} (JSON lines; --verbose prints them here too)", file=sys.stderr)
            sys.stderr.flush()
            server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if sealer is not None:
            sealer.stop()
    return 0


@contextlib.contextmanager
def _function_output(path: Path, terminal: IO[str] | None) -> Iterator[None]:
    """Everything the function writes to standard output (Powertools' log lines through its handler's
    stream, EMF metrics through print) appended to `path`, and copied to `terminal` if given."""
    from kyc_match.observability import logger  # noqa: PLC0415

    try:
        sink = path.open("a", encoding="utf-8", buffering=1)
    except OSError as error:
        raise UsageError(f"cannot write the log file {path}: {error.strerror or error}") from None
    stream: IO[str] = sink if terminal is None else cast("IO[str]", _Both(sink, terminal))
    handler = logger.registered_handler
    previous = handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        with contextlib.redirect_stdout(stream):
            yield
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]  # before the file is closed
        sink.close()


class _Both(io.TextIOBase):
    """A text stream writing to two: the log file and the terminal (`--verbose`)."""

    def __init__(self, *streams: IO[str]) -> None:
        self._streams = streams

    def write(self, text: str) -> int:
        for stream in self._streams:
            stream.write(text)
            stream.flush()
        return len(text)

    def flush(self) -> None:
        for stream in self._streams:
            stream.flush()


def _start_sealer() -> "BackgroundSealer":
    """The audit witness's sealer on the local stream, every WINDOW_SECONDS (`audit flush`: now)."""
    from kyc_match.settings import get_settings  # noqa: PLC0415 - after the environment is set
    from kyc_match_tools.witness_local import BackgroundSealer  # noqa: PLC0415

    sealer = BackgroundSealer(get_settings())
    sealer.start()
    return sealer


def _read_operators(path: Path | None) -> "LocalOperators | None":
    from kyc_match_tools.operator_sim.local_operators import read_local_operators  # noqa: PLC0415

    if path is None:
        return None
    try:
        return read_local_operators(path)
    except OSError as error:
        raise UsageError(f"cannot read the operators file {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise UsageError(f"invalid --operators file: {one_line(error)}") from None


def local_api_keys(keys: list[str]) -> dict[str, str]:
    """x-api-key value -> the API key id the handler sees, as API Gateway would pass it."""
    return {key: f"local-key-{number}" for number, key in enumerate(keys, start=1)}


def _bind(host: str, port: int, keys: list[str], terminal: IO[str]) -> "ThreadingHTTPServer":
    from kyc_match_tools.reference_pages import page  # noqa: PLC0415
    from kyc_match_tools.server import Access, make_server  # noqa: PLC0415

    def access(answered: Access) -> None:
        print(answered.line(), file=terminal, flush=True)

    try:
        return make_server(
            host, port, _handler, local_api_keys(keys), listen=False, jwks=_jwks, pages=page, access=access
        )
    except OSError as error:
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


def _prepare(args: argparse.Namespace, operators: "LocalOperators | None", subscribers: Subscribers) -> str:
    """Operators, AWS stand-in, tables and data, then the handler; returns the routes line."""
    from kyc_match_tools.operator_sim.local_operators import prepare_local_operators  # noqa: PLC0415

    if operators is not None:
        os.environ["KYC_OPERATORS"] = operators.operators_json  # secrets stripped: they go to moto
    routes = route_sandbox_to(subscribers, args.subscribers, args.operators)
    start_local_aws(subscribers, args.aws_port)
    try:
        prepare_local_operators(operators, args.ported_numbers)
        _onboard(local_api_keys(args.api_keys or [LOCAL_API_KEY]).values(), args.purposes or (), args.client)
    except (OSError, ValueError) as error:  # ClientProfileError included: a purpose not on the DPV list
        raise UsageError(one_line(error)) from None
    from kyc_match import handler  # noqa: F401, PLC0415 - settings checked before the first request

    return routes


def _jwks() -> dict[str, Any]:
    """Our JWK Set, answered beside the handler (see kyc_match_tools/server.py)."""
    from kyc_match.settings import get_settings  # noqa: PLC0415 - after the environment is set
    from kyc_match.wiring import public_jwks  # noqa: PLC0415

    return dict(public_jwks(get_settings()))


def _handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The function's handler, imported once the environment is set (the port is bound before)."""
    from kyc_match.handler import lambda_handler  # noqa: PLC0415

    response: dict[str, Any] = lambda_handler(event, context)
    return response


def _onboard(api_key_ids: Any, purposes: Any, client_id: str | None) -> None:
    """The local keys' clients, onboarded as `kyc-match clients put` would (a key of no client is
    refused by the function)."""
    from kyc_match.settings import get_settings  # noqa: PLC0415 - after the environment is set

    local_aws.onboard_clients(get_settings(), api_key_ids, purposes, client_id)
