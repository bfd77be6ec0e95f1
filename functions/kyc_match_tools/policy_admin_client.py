"""`kyc-match policy` against AWS: a step is asked of the policy-admin function, never taken here (#23).

The command has assumed the operations role in the person's own session (identity.py); it signs the
request to the function's URL with that session's credentials (SigV4, service `lambda`), so Lambda
names that session to the function, which takes the person from it. Nothing in the body names anyone.
"""

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

URL_REGION = re.compile(r"^https://[a-z0-9]+\.lambda-url\.(?P<region>[a-z0-9-]+)\.on\.aws/?$")
TIMEOUT_SECONDS = 35.0  # the function's own timeout is 30 s

# (url, body, headers) -> (status, body): httpx by default, a double in tests.
Send = Callable[[str, bytes, Mapping[str, str]], tuple[int, bytes]]


class AdminRefused(Exception):
    """The function refused the step, or could not be asked; the message says why."""


def _send(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
    import httpx  # noqa: PLC0415 - only the commands that reach AWS need it

    try:
        response = httpx.post(url, content=body, headers=dict(headers), timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as error:
        raise AdminRefused(
            f"the policy-admin function could not be reached ({type(error).__name__})"
        ) from None
    return response.status_code, response.content


def signed_headers(url: str, body: bytes, region: str) -> dict[str, str]:
    """SigV4 headers for a POST of `body` to the function URL, with the credentials the command acts in."""
    from botocore.auth import SigV4Auth  # noqa: PLC0415
    from botocore.awsrequest import AWSRequest  # noqa: PLC0415
    from botocore.session import get_session  # noqa: PLC0415

    credentials = get_session().get_credentials()
    if credentials is None:
        raise AdminRefused("no AWS credentials to sign the request to the policy-admin function with")
    request = AWSRequest(method="POST", url=url, data=body, headers={"content-type": "application/json"})
    SigV4Auth(credentials.get_frozen_credentials(), "lambda", region).add_auth(request)
    return dict(request.headers.items())


def region_of(url: str) -> str:
    """The region in a function URL's host, else the AWS configuration's (a URL of another form)."""
    from botocore.session import get_session  # noqa: PLC0415

    match = URL_REGION.match(url)
    region = match["region"] if match else get_session().get_config_variable("region")
    if not region:
        raise AdminRefused("no region to sign the request to the policy-admin function for")
    return str(region)


def take_step(url: str, step: Mapping[str, Any], send: Send | None = None) -> dict[str, Any]:
    """Ask the function to take `step`; its answer (person, version, sha256) or AdminRefused."""
    body = json.dumps(step).encode()
    status, answer = (send or _send)(url, body, signed_headers(url, body, region_of(url)))
    try:
        said: dict[str, Any] = json.loads(answer)
    except ValueError:
        said = {}
    if status == 200 and isinstance(said, dict):
        return said
    refused = said.get("refused") if isinstance(said, dict) else None
    if not isinstance(refused, str):
        raise AdminRefused(f"the policy-admin function answered {status}")
    problems = [str(p) for p in said.get("problems", []) if str(p) not in refused]
    raise AdminRefused("; ".join([refused, *problems]))
