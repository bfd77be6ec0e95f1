"""`kyc-match keys jwks`: our public signing keys as the JWK Set operators verify our assertions with.

With AWS_ENDPOINT_URL set (e.g. the one `kyc-match serve` prints), the keys of that local stand-in;
otherwise the account and region of the ambient credentials, with the key ids from the same
KYC_SIGNING_KEY_ID / KYC_PREVIOUS_SIGNING_KEY_IDS the function uses.
"""

import argparse
import json
import os
import sys
from typing import Any

from kyc_match_tools import local_aws


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser("keys", help="our client-assertion signing keys")
    actions = parser.add_subparsers(dest="action", required=True)
    jwks = actions.add_parser("jwks", help="print the JWK Set (current key first, then previous ones)")
    jwks.set_defaults(run=_jwks)


def _jwks(args: argparse.Namespace) -> int:
    if os.environ.get("AWS_ENDPOINT_URL"):
        local_aws.use_local_credentials()
    from kyc_match.operators.signing import SigningKeyError  # noqa: PLC0415 - after the environment
    from kyc_match.settings import get_settings  # noqa: PLC0415
    from kyc_match.wiring import public_jwks  # noqa: PLC0415

    try:
        document = public_jwks(get_settings())
    except SigningKeyError as error:
        print(f"kyc-match keys jwks: {error}", file=sys.stderr)
        return 1
    print(json.dumps(document, indent=2))
    return 0
