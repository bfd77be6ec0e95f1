"""Which token a call asks for, per the CAMARA profile: `jwt-bearer` (an assertion with
`sub=tel:+E164` and `scope` = purpose + API scopes), `client-credentials` (two-legged, the purpose in
its scope); `ciba` is ciba.py. One token per request: the match and its line checks share the scope
set (api_scopes)."""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from kyc_match.domain.apis import MATCH_SCOPE
from kyc_match.operators.failures import CREDENTIALS_REFUSED_METRIC
from kyc_match.operators.resilience import Deadline

if TYPE_CHECKING:
    pass

from kyc_match.operators.auth_server import AuthServer, Subject, read_access_token

JWT_BEARER_GRANT: Final = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def scope_for(purpose: str, api_scopes: Iterable[str]) -> str:
    """Exactly one purpose, then the API scopes (CIBA's bc-authorize puts `openid` first)."""
    return " ".join((purpose, *api_scopes))


def api_scopes(configured: str, needed: Iterable[str]) -> tuple[str, ...]:
    """The API scopes of one token: MATCH_SCOPE among `needed` stands for the operator's configured
    match scopes (`auth.scope`, first and in their order); the others follow, sorted, so every call of
    one request names the same set in the same words (one cache key, one token request)."""
    wanted = set(needed)
    first = tuple(configured.split()) if MATCH_SCOPE in wanted else ()
    return (*first, *sorted(wanted - {MATCH_SCOPE} - set(first)))


def client_credentials_token(server: AuthServer, scope: str, deadline: Deadline) -> tuple[str, float]:
    """`scope`: the purpose and the API scopes (scope_for)."""
    endpoint = server.endpoints(deadline).token
    form = {"grant_type": "client_credentials", "scope": scope}
    reply = server.token_request(endpoint, lambda: form, deadline)
    if reply.status != 200:
        failure = server.refused(reply)
        if failure.metric == CREDENTIALS_REFUSED_METRIC:
            server.forget_secret()  # a rotated secret is read again next time
        raise failure
    return read_access_token(reply, server.token_type)


def jwt_bearer_token(
    server: AuthServer, subject: Subject, scope: str, deadline: Deadline
) -> tuple[str, float]:
    """RFC 7523 grant: the assertion (sub = tel:+E164, scope claim) both grants and authenticates."""
    endpoint = server.endpoints(deadline).token

    def form() -> dict[str, str]:
        audience = server.audience(endpoint)
        assertion = server.assertion(audience, subject=f"tel:{subject.phone_number}", scope=scope)
        return {"grant_type": JWT_BEARER_GRANT, "assertion": assertion}

    authenticate = server.auth.jwt_bearer_client_auth == "private_key_jwt"
    reply = server.token_request(endpoint, form, deadline, authenticate=authenticate)
    if reply.status != 200:
        raise server.refused(reply)
    return read_access_token(reply, server.token_type)
