"""`kyc-match operator-sim`: a simulated CAMARA-profile operator on 127.0.0.1.

It serves OpenID discovery at `{issuer}/.well-known/openid-configuration` (the issuer is its base URL),
JWT Bearer, CIBA (poll) and client credentials, KYC Match, and the line-history APIs (SIM Swap, Device
Swap, Number Recycling, KYC Tenure) from the subscribers' line-history keys. Our client assertions
are verified against `--client-jwks` (our `GET /.well-known/jwks.json`). The API-call knobs act on
the match and the line-history paths alike.
"""

import argparse
import sys
from pathlib import Path
from typing import Any

from kyc_match_tools import local_aws
from kyc_match_tools.commands.arguments import port
from kyc_match_tools.errors import UsageError, one_line


def register(subcommands: Any) -> None:
    from kyc_match_tools.operator_sim.faults import (  # noqa: PLC0415
        AUTHORIZE_ERROR_CODES,
        MALFORMED_KINDS,
        TOKEN_ERROR_CODES,
    )

    parser = subcommands.add_parser(
        "operator-sim",
        help="run a simulated CAMARA operator: discovery, JWT Bearer / CIBA / client credentials, KYC Match "
        "and the line-history APIs",
    )
    parser.add_argument("--port", type=port, default=9001, help="port on 127.0.0.1 (0: any free one)")
    parser.add_argument(
        "--subscribers",
        type=Path,
        default=local_aws.DEFAULT_SUBSCRIBERS,
        metavar="FILE",
        help='subscriber file, as for the sandbox: {"subscribers": [...]} '
        "(default: the bundled test subscribers)",
    )
    parser.add_argument(
        "--operator-id", default="simulated", help="its id (a-z, 0-9, -), as in KYC_OPERATORS"
    )
    parser.add_argument(
        "--client-id",
        action="append",
        help="our client id at this operator (repeat for more; default: sim-client)",
    )
    parser.add_argument(
        "--client-jwks", metavar="URL", help="our JWKS (e.g. http://127.0.0.1:8080/.well-known/jwks.json)"
    )
    parser.add_argument(
        "--client-secret",
        default="sim-secret",
        help="accepted for client credentials only; '' for private_key_jwt only",
    )
    parser.add_argument(
        "--grant",
        action="append",
        choices=["jwt-bearer", "ciba", "client-credentials"],
        help="grants this operator allows (repeat; default: all three)",
    )
    parser.add_argument(
        "--purpose",
        action="append",
        help="purposes we were onboarded for, e.g. dpv:FraudPreventionAndDetection",
    )
    parser.add_argument(
        "--scope",
        action="append",
        help="API scopes we were onboarded for, e.g. sim-swap:check (repeat; default: all it serves)",
    )
    parser.add_argument(
        "--version", choices=["v0.4", "vwip", "v0.5rc1"], default="v0.4", help="KYC Match version served"
    )
    parser.add_argument("--token-ttl", type=float, default=3600.0, help="access token lifetime, seconds")
    parser.add_argument("--ciba-interval", type=float, default=1.0, help="CIBA poll interval, seconds")
    parser.add_argument("--ciba-expires-in", type=float, default=120.0, help="auth_req_id lifetime, seconds")
    parser.add_argument("--no-scores", action="store_true", help="never return <attr>MatchScore")
    parser.add_argument(
        "--id-document-required", action="store_true", help="v0.4: validate idDocument first for every line"
    )
    knobs = parser.add_argument_group("faults (also settable at run time: POST /_sim/faults)")
    knobs.add_argument("--latency", type=float, default=0.0, help="seconds before each API answer")
    knobs.add_argument("--token-latency", type=float, default=0.0, help="seconds before each token answer")
    knobs.add_argument("--fail-status", type=int, help="answer API calls with this status (e.g. 503)")
    knobs.add_argument("--fail-code", help="ErrorInfo code sent with --fail-status")
    knobs.add_argument("--fail-times", type=int, help="apply the API faults to the next N requests only")
    knobs.add_argument("--malformed", choices=MALFORMED_KINDS, help="answer 200 with a broken body")
    knobs.add_argument("--drop-connections", action="store_true", help="close connections without answering")
    knobs.add_argument("--token-fail-status", type=int, help="token endpoint answers this status")
    knobs.add_argument("--reject-credentials", action="store_true", help="token endpoint refuses everyone")
    knobs.add_argument("--reject-tokens", action="store_true", help="every bearer token is refused (401)")
    knobs.add_argument(
        "--bank-account-match", action="store_true", help="vwip: add bankAccountNumberMatch to answers"
    )
    knobs.add_argument(
        "--ciba-pending-polls", type=int, default=0, help="CIBA: authorization_pending N polls"
    )
    knobs.add_argument("--ciba-slow-down-polls", type=int, default=0, help="CIBA: slow_down N polls first")
    knobs.add_argument("--consent-refused", action="store_true", help="access_denied / invalid_grant")
    knobs.add_argument("--expired-request", action="store_true", help="CIBA polls answer expired_token")
    knobs.add_argument("--unknown-subscriber", action="store_true", help="every number is unknown")
    knobs.add_argument(
        "--authorize-error",
        choices=AUTHORIZE_ERROR_CODES,
        metavar="CODE",
        help="bc-authorize answers this Appendix A error: " + ", ".join(AUTHORIZE_ERROR_CODES),
    )
    knobs.add_argument(
        "--token-error",
        choices=TOKEN_ERROR_CODES,
        metavar="CODE",
        help="the token endpoint answers this Appendix A error: " + ", ".join(TOKEN_ERROR_CODES),
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from kyc_match_tools.operator_sim import FaultSettings, start_simulator  # noqa: PLC0415

    faults = FaultSettings(
        latency_seconds=args.latency,
        token_latency_seconds=args.token_latency,
        error_status=args.fail_status,
        error_code=args.fail_code,
        malformed=args.malformed,
        drop_connection=args.drop_connections,
        times=args.fail_times,
        token_error_status=args.token_fail_status,
        reject_credentials=args.reject_credentials,
        reject_tokens=args.reject_tokens,
        bank_account_match=args.bank_account_match,
        ciba_pending_polls=args.ciba_pending_polls,
        ciba_slow_down_polls=args.ciba_slow_down_polls,
        consent_refused=args.consent_refused,
        expired_request=args.expired_request,
        unknown_subscriber=args.unknown_subscriber,
        authorize_error=args.authorize_error,
        token_error=args.token_error,
    )
    client_ids = args.client_id or ["sim-client"]
    subscribers = local_aws.read_subscribers(args.subscribers)
    try:
        handle = start_simulator(
            subscribers,
            port=args.port,
            faults=faults,
            operator_id=args.operator_id,
            client_id=client_ids[0],
            other_client_ids=tuple(client_ids[1:]),
            client_secret=args.client_secret or None,
            client_jwks_url=args.client_jwks,
            grants=tuple(args.grant or ("jwt-bearer", "ciba", "client-credentials")),
            allowed_purposes=tuple(args.purpose or ()),
            allowed_scopes=tuple(args.scope or ()),
            version=args.version,
            token_ttl_seconds=args.token_ttl,
            ciba_interval_seconds=args.ciba_interval,
            ciba_expires_in_seconds=args.ciba_expires_in,
            returns_scores=not args.no_scores,
            id_document_required=args.id_document_required,
        )
    except OSError as error:
        raise UsageError(f"cannot listen on 127.0.0.1:{args.port}: {error.strerror or error}") from None
    except ValueError as error:  # pydantic's ValidationError of the simulated operator's configuration
        raise UsageError(f"invalid option: {one_line(error)}") from None
    print(
        f"operator simulator {args.operator_id!r} ({args.version}) on {handle.url}: "
        f"issuer {handle.issuer}, token {handle.token_url}, match {handle.match_url}, "
        f"admin {handle.url}/_sim/",
        file=sys.stderr,
        flush=True,
    )
    try:
        handle.wait()
    except KeyboardInterrupt:
        pass
    finally:
        handle.stop()
    return 0
