"""The `camara` adapter: forwards a match to an operator's own CAMARA KYC Match API over HTTPS, and
each line-history question (SIM Swap, Device Swap, Number Recycling, KYC Tenure) and each age check
(KYC Age Verification) to its own API of that name under the same `{apiRoot}` (line_answers.py), with
the same machinery, the same token (every scope the request needs) and answers.

One call = one deadline covering everything: discovery, token requests (CIBA polls included),
Secrets Manager reads, every attempt, headers and bodies, and the backoff between attempts. It is
the operator's `timeoutSeconds`, cut shorter when the function must keep time to write the audit
entry (`MatchQuery.answer_by`). Retried, with full-jitter backoff and only while the deadline allows:
connect errors (the request never reached the operator), a 401 `invalid_token` (or naming no error)
once for a token we can get again without the subscriber (not CIBA's; a refused DPoP proof keeps the
token and is our credentials' fault), and 502/503/504 only where the request did not carry the
subscriber's data to a match endpoint that may have done the check (token endpoints; a match
endpoint declared `matchIdempotent`). A per-operator circuit breaker fails fast while the operator
keeps failing. Errors are domain errors with fixed messages: the operator's text is never passed on,
logged or put in an exception. Token and authorization errors: token_errors.py. With `"dpop": true`
the match call is `Authorization: DPoP` with a proof (dpop.py); a nonce challenge is answered once.
The body is serialised here, so a proof can bind its exact bytes (ICM r4.2 `camara:bh`).

One token for one request: a three-legged token is asked for every API scope the client's request
needs from this operator (`MatchQuery.line_scopes`, `LineQuery.scopes`), under one purpose, and each
call of that request finds it in the cache; calls running at once wait for the first one's token
request (token_cache.TokenCache.flight). A line-history 502/503/504 is not retried either (the operator
may have done the check). A line-history API the configuration does not offer is 422
SERVICE_NOT_APPLICABLE without a call.

| operator outcome                                   | client gets                       | breaker  |
| -------------------------------------------------- | --------------------------------- | -------- |
| 200, valid answer                                  | verdicts (scores dropped if off), | success  |
|                                                    | or the line-history answer        |          |
| 404 IDENTIFIER_NOT_FOUND                           | 404 IDENTIFIER_NOT_FOUND          | success  |
| 403 ID_DOCUMENT_REQUIRED / ID_DOCUMENT_MISMATCH    | the same 403                      | success  |
| 422 SERVICE_NOT_APPLICABLE                         | 422 SERVICE_NOT_APPLICABLE        | success  |
| 400 OUT_OF_RANGE (line-history APIs only)          | 400 OUT_OF_RANGE                  | success  |
| connect error, 502/503/504, dropped connection,    | 502 BAD_GATEWAY                   | failure  |
| other status, malformed or oversized answer        |                                   |          |
| deadline passed                                    | 504 TIMEOUT                       | failure  |
| circuit open; 401 after a fresh token;             | 503 UNAVAILABLE                   | failure  |
| 401 invalid_dpop_proof (token kept);               |                                   |          |
| 403 PERMISSION_DENIED / INVALID_TOKEN_CONTEXT; 429 |                                   |          |
"""

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, partial
from typing import TYPE_CHECKING, Generic, NoReturn, TypeVar
from urllib.parse import urlsplit

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from kyc_match.catalogue import answer_for
from kyc_match.domain.apis import CAMARA_APIS, MATCH_ATTRIBUTES, MATCH_SCOPE, CamaraApi
from kyc_match.domain.errors import (
    IdDocumentMismatchError,
    IdDocumentRequiredError,
    IdentifierNotFoundError,
    KycMatchError,
    OperatorBadGatewayError,
    OperatorTimeoutError,
    OutOfRangeError,
    ServiceNotApplicableError,
    UnavailableError,
)
from kyc_match.domain.line_history import AgeAnswer, AgeQuestion, LineQuery, Tenure
from kyc_match.domain.model import MatchQuery, Verdicts
from kyc_match.matching import AttributeMatch
from kyc_match.observability import SERVICE, logger, metrics
from kyc_match.operators.auth_server import AuthServer, Subject, transport_failure
from kyc_match.operators.bounded import BodyError, DeadlinePassedError, Reply, exchange, operator_http_client
from kyc_match.operators.ciba import CibaFlow, PendingAuthorizations, pending_key
from kyc_match.operators.config import OperatorConfig
from kyc_match.operators.dpop import (
    NONCE_ERROR,
    PROOF_ERROR,
    DpopProver,
    challenge_error,
    container_proof_keys,
    nonce_challenged,
)
from kyc_match.operators.dpop import TOKEN_TYPE as DPOP_SCHEME
from kyc_match.operators.failures import CREDENTIALS_REFUSED_METRIC, OperatorFailure
from kyc_match.operators.grants import api_scopes, client_credentials_token, jwt_bearer_token, scope_for
from kyc_match.operators.line_answers import (
    age_fields,
    change_date_reader,
    line_body,
    line_url,
    read_age,
    read_recycled,
    read_swapped,
    read_tenure,
)
from kyc_match.operators.resilience import CircuitBreaker, Clock, Deadline, backoff_delay
from kyc_match.operators.secrets import SecretSource
from kyc_match.operators.signing import KmsJwtSigner
from kyc_match.operators.timing import operator_call
from kyc_match.operators.token_cache import TokenCache, TokenKey
from kyc_match.operators.translation import (
    MalformedAnswerError,
    error_code,
    match_url,
    read_verdicts,
    request_body,
)

if TYPE_CHECKING:
    import httpx

    from kyc_match.domain.ports import Hasher

METRIC_NAMESPACE = "KycMatch"
OPERATOR_ERRORS_METRIC = "OperatorErrors"
MAX_ANSWER_BYTES = 65_536  # a full 24-attribute answer is under 2 kB
MAX_BACKOFF_SECONDS = 1.0
T = TypeVar("T")

# The operator's CAMARA answers we pass on as ours: (status, code) -> domain error.
_PASSED_ON: dict[tuple[int, str], type[KycMatchError]] = {
    (404, "IDENTIFIER_NOT_FOUND"): IdentifierNotFoundError,
    (403, "KNOW_YOUR_CUSTOMER.ID_DOCUMENT_REQUIRED"): IdDocumentRequiredError,
    (403, "KNOW_YOUR_CUSTOMER.ID_DOCUMENT_MISMATCH"): IdDocumentMismatchError,
    (422, "SERVICE_NOT_APPLICABLE"): ServiceNotApplicableError,
}
# The line-history APIs' besides: the swap specs answer a maxAge within 1..2400 hours but beyond the
# operator's privacy threshold with 400 OUT_OF_RANGE, which is the client's to know.
_LINE_PASSED_ON: dict[tuple[int, str], type[KycMatchError]] = {
    **_PASSED_ON,
    (400, "OUT_OF_RANGE"): OutOfRangeError,
}
_RETRYABLE_STATUSES = frozenset({502, 503, 504})
# An API 401 that refuses our DPoP proof rather than the token: (WWW-Authenticate error) -> reason.
_PROOF_REFUSALS: dict[str | None, str] = {
    PROOF_ERROR: "api_proof_refused",
    NONCE_ERROR: "api_nonce_refused",  # after the one retry with its nonce, or without a usable one
}


class _TokenRejected(Exception):
    """Internal: the API answered 401 to our bearer token."""


@cache
def shared_http_client() -> "httpx.Client":
    """One pooled client per container, for every operator, reused across invocations."""
    return operator_http_client()


def forget_shared_http_client() -> None:
    """Close the shared client's pool and forget it (a SnapStart restore: its connections belong to
    the container the snapshot was taken in); the next adapter built gets a new one."""
    if shared_http_client.cache_info().currsize:
        shared_http_client().close()
    shared_http_client.cache_clear()


@dataclass(frozen=True)
class ApiRequest(Generic[T]):
    """One call to one of the operator's CAMARA APIs (KYC Match or a line-history API)."""

    url: str
    body: Mapping[str, object]
    phone_number: str
    correlator: str
    purpose: str
    client_id: str
    answer_by: float | None
    # The token's API scopes: every scope the client's request needs from this operator, so that the
    # match and the line checks of one request share one token (grants.api_scopes).
    scopes: tuple[str, ...]
    read: Callable[[bytes], T]  # a 200 answer's body -> the answer; MalformedAnswerError if it is not one
    gateway_retryable: bool = False  # may a 502/503/504 be asked again (the operator said so)?
    passed_on: Mapping[tuple[int, str], type[KycMatchError]] = field(default_factory=lambda: _PASSED_ON)


class CamaraOperator:
    """KYC Match and the line-history APIs (LineHistory) of one operator, behind one breaker, one
    token cache and one deadline per call. Thread-safe: the calls of one request may run concurrently."""

    def __init__(
        self,
        config: OperatorConfig,
        http: "httpx.Client",
        server: AuthServer,
        breaker: CircuitBreaker,
        *,
        hasher: "Hasher",
        pending: PendingAuthorizations | None = None,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
        dpop: DpopProver | None = None,
    ) -> None:
        if config.base_url is None or config.auth is None:
            raise ValueError("a camara operator needs baseUrl and auth")
        if config.auth.grant == "ciba" and pending is None:
            raise ValueError("a ciba operator needs the pending-authorizations store")
        self._config = config
        self._auth = config.auth
        self._base_url = config.base_url
        self._http = http
        self._server = server
        self._breaker = breaker
        self._hasher = hasher
        self._clock = clock
        self._sleep = sleep
        self._tokens = TokenCache(clock)
        self._dpop = dpop  # the API's own prover (its nonce is not the authorization server's)
        self._ciba = CibaFlow(server, pending, wall_clock=wall_clock, sleep=sleep) if pending else None
        self._url = match_url(config.base_url, config.api_version)

    @property
    def operator_id(self) -> str:
        return self._config.id

    @property
    def grant(self) -> str | None:
        return self._auth.grant

    @property
    def breaker(self) -> CircuitBreaker:
        return self._breaker

    def match(self, query: MatchQuery) -> Verdicts:
        if self._config.id_document_required and "idDocument" not in query.attributes:
            raise IdDocumentRequiredError  # the operator would refuse it: save the round-trip
        body = request_body(query, self._config.api_version, with_identifier=self._config.sends_identifier)
        request = ApiRequest(
            self._url,
            body,
            query.phone_number,
            query.correlator,
            query.purpose,
            query.client_id,
            query.answer_by,
            self._token_scopes({MATCH_SCOPE, *query.line_scopes}),
            partial(self._verdicts, query=query),
            gateway_retryable=self._config.match_idempotent,
        )
        return self._guarded(request)

    # --- LineHistory: the operator's own SIM Swap, Device Swap, Number Recycling, KYC Tenure APIs ---

    def offers(self, api: CamaraApi) -> bool:
        return self._config.offered_apis.offers(api.name, api.version)

    @property
    def verified_attributes(self) -> frozenset[str]:
        """As its entry declares; none declared: every attribute (nothing is withheld from it)."""
        declared = self._config.verified_attributes
        return frozenset(MATCH_ATTRIBUTES if declared is None else declared)

    def check_swap(self, query: LineQuery, max_age_hours: int) -> bool:
        return self._line(query, "check", read_swapped, maxAge=max_age_hours)

    def swap_date(self, query: LineQuery) -> datetime | None:
        return self._line(query, "retrieve-date", change_date_reader(query.api))

    def check_recycled(self, query: LineQuery, specified_date: date) -> bool:
        return self._line(query, "check", read_recycled, specifiedDate=specified_date)

    def check_tenure(self, query: LineQuery, tenure_date: date) -> Tenure:
        return self._line(query, "check-tenure", read_tenure, tenureDate=tenure_date)

    def verify_age(self, query: LineQuery, asked: AgeQuestion) -> AgeAnswer:
        return self._line(query, "verify", read_age, **age_fields(asked))

    def _line(
        self, query: LineQuery, operation: str, read: Callable[[bytes], T], **fields: int | str | bool | date
    ) -> T:
        api = query.api
        if not self.offers(api):
            raise ServiceNotApplicableError  # not configured: the operator is not asked
        # Each line-history spec: phoneNumber MUST come with a two-legged token and MUST NOT with a
        # three-legged one (422 MISSING_IDENTIFIER / UNNECESSARY_IDENTIFIER); `identifierInBody` is
        # the match's setting only.
        identifier = None if self._auth.three_legged else query.phone_number
        request = ApiRequest(
            line_url(self._base_url, api, operation),
            line_body(identifier, **fields),
            query.phone_number,
            query.correlator,
            query.purpose,
            query.client_id,
            query.answer_by,
            self._token_scopes({api.scope(operation), *query.scopes}),
            read,
            passed_on=_LINE_PASSED_ON,
        )
        return self._guarded(request)

    def _token_scopes(self, needed: set[str]) -> tuple[str, ...]:
        """The token's API scopes: those of `needed` this operator serves (the match's, and the
        line-history APIs its entry offers). A check of an API it does not offer is answered without a
        call; asking its scope too would have the one token, and the match with it, refused."""
        return api_scopes(self._auth.scope, {scope for scope in needed if self._serves(scope)})

    def _serves(self, scope: str) -> bool:
        if scope == MATCH_SCOPE:
            return True
        return any(scope in api.scopes and self.offers(api) for api in CAMARA_APIS)

    # --- one call: breaker, deadline, attempts, token, answer ------------------------------------

    def _guarded(self, request: ApiRequest[T]) -> T:
        if not self._breaker.allow():
            self._report(OperatorFailure(UnavailableError(), "circuit_open"), request)
            raise UnavailableError
        try:
            with operator_call(self._config.id, self._clock):  # the call only: not the breaker's fast fail
                answer = self._call(request)
        except OperatorFailure as failure:
            if failure.breaker:
                self._breaker.record_failure()
            else:
                self._breaker.record_success()  # the operator answered, about the subscriber
            self._report(failure, request)
            raise failure.error from None
        except KycMatchError:
            self._breaker.record_success()  # the operator answered, with a CAMARA outcome
            raise
        except BaseException:
            self._breaker.record_failure()
            raise
        self._breaker.record_success()
        return answer

    def _deadline(self, answer_by: float | None) -> Deadline:
        budget = self._config.timeout_seconds
        if answer_by is not None:
            budget = min(budget, answer_by - self._clock())
        return Deadline(max(budget, 0.0), self._clock)

    def _call(self, request: ApiRequest[T]) -> T:
        config = self._config
        deadline = self._deadline(request.answer_by)
        attempt, refreshed = 0, False
        while True:
            attempt += 1
            try:
                return self._attempt(request, deadline)
            except _TokenRejected:
                if refreshed or self._auth.grant == "ciba":  # a new CIBA token would prompt again
                    raise OperatorFailure(UnavailableError(), "token_rejected") from None
                refreshed, attempt = True, attempt - 1  # a token refresh is not an attempt
            except OperatorFailure as failure:
                if not failure.retryable or attempt >= config.max_attempts:
                    raise
                delay = backoff_delay(attempt - 1, config.retry_base_delay_seconds, MAX_BACKOFF_SECONDS)
                if delay >= deadline.remaining():
                    raise  # no time left for another attempt: the operator's failure stands
                self._sleep(delay)

    def _attempt(self, request: ApiRequest[T], deadline: Deadline) -> T:
        key, token = self._token(request, deadline)
        dpop = self._dpop
        sent = dpop.nonce if dpop else None
        reply = self._post(request, token, deadline)
        # RFC 9449 §9: a resource server may ask for a nonce; the same request once more with it.
        if (
            dpop
            and dpop.retry_for(reply.headers, sent)
            and reply.status == 401
            and nonce_challenged(reply.headers)
        ):
            reply = self._post(request, token, deadline)
        if reply.status == 401:
            self._refused(reply, key, token)
        return self._interpret(reply.status, reply.body, request)

    def _refused(self, reply: Reply, key: TokenKey, token: str) -> NoReturn:
        """An API 401, by its `WWW-Authenticate` error: a refused proof (or a nonce demanded again after
        we sent it) is our credentials' fault and the token stays; `invalid_token`, or no error named,
        drops the token (_TokenRejected: one more try with a new one where that prompts nobody)."""
        error = challenge_error(reply.headers)
        if error in _PROOF_REFUSALS:
            raise OperatorFailure(
                UnavailableError(), _PROOF_REFUSALS[error], metric=CREDENTIALS_REFUSED_METRIC
            )
        self._tokens.drop(key, token)
        raise _TokenRejected

    def _post(self, request: ApiRequest[T], token: str, deadline: Deadline) -> Reply:
        content = json.dumps(request.body, separators=(",", ":")).encode("utf-8")  # the bytes sent
        headers = {
            "authorization": f"Bearer {token}",
            "x-correlator": request.correlator,
            "accept": "application/json",
            "content-type": "application/json",
        }
        if self._dpop is not None:
            endpoints = self._server.endpoints(deadline)  # ICM r4.2 camara:bh / camara:qh, the algorithm
            headers["authorization"] = f"{DPOP_SCHEME} {token}"
            headers["dpop"] = self._dpop.proof(
                "POST",
                request.url,
                access_token=token,
                body=content,
                binding=endpoints.dpop_binding,
                algorithm=endpoints.dpop_algorithm,
            )
        try:
            return exchange(
                self._http,
                "POST",
                request.url,
                deadline,
                MAX_ANSWER_BYTES,
                connect_timeout=self._config.connect_timeout_seconds,
                content=content,
                headers=headers,
            )
        except BodyError:
            raise OperatorFailure(OperatorBadGatewayError(), "answer_too_large") from None
        except DeadlinePassedError:
            raise OperatorFailure(OperatorTimeoutError(), "deadline") from None
        except Exception as error:
            transport_failure(error, deadline)

    def _token(self, request: ApiRequest[T], deadline: Deadline) -> tuple[TokenKey, str]:
        """The cached token for (subscriber, client, purpose and scopes), else one fetched: by one call
        at a time per key, so concurrent calls of one request make one token request."""
        auth = self._auth
        scope = scope_for(request.purpose, request.scopes)
        subject = None
        if auth.three_legged:
            subject = Subject(request.phone_number, self._hasher.hash(request.phone_number))
            key: TokenKey = (subject.number_hash, request.client_id, scope)
        else:
            key = ("", "", scope)  # a two-legged token serves every number and client
        cached = self._tokens.get(key)
        if cached is not None:
            return key, cached
        with self._tokens.flight(key, deadline):
            cached = self._tokens.get(key)  # fetched by a concurrent call while this one waited
            if cached is not None:
                return key, cached
            fetched_at = self._clock()
            if subject is None:
                token, lifetime = client_credentials_token(self._server, scope, deadline)
            elif auth.grant == "jwt-bearer":
                token, lifetime = jwt_bearer_token(self._server, subject, scope, deadline)
            else:
                assert self._ciba is not None  # built with the adapter for a ciba grant
                ciba_key = pending_key(
                    self._hasher, self.operator_id, request.client_id, scope, subject.phone_number
                )
                token, lifetime = self._ciba.token(subject, scope, ciba_key, deadline)
            self._tokens.put(key, token, lifetime, fetched_at)
        return key, token

    def _interpret(self, status: int, content: bytes, request: ApiRequest[T]) -> T:
        if status == 200:
            try:
                return request.read(content)
            except MalformedAnswerError:
                raise OperatorFailure(OperatorBadGatewayError(), "malformed_answer") from None
        if status in _RETRYABLE_STATUSES:
            # The request reached the operator, which may have done the check: only an operator that
            # declares its match endpoint idempotent is asked again.
            raise OperatorFailure(
                OperatorBadGatewayError(), f"status_{status}", retryable=request.gateway_retryable
            )
        if status == 429:
            raise OperatorFailure(UnavailableError(), "throttled")
        code = error_code(content, status) if status in {400, 403, 404, 422} else None
        passed_on = request.passed_on.get((status, code or ""))
        if passed_on is not None:
            raise passed_on
        if (status, code) == (403, "PERMISSION_DENIED"):
            raise OperatorFailure(UnavailableError(), "permission_denied")
        if (status, code) == (403, "INVALID_TOKEN_CONTEXT"):
            raise OperatorFailure(UnavailableError(), "token_context")
        raise OperatorFailure(OperatorBadGatewayError(), f"status_{status}")

    def _verdicts(self, content: bytes, query: MatchQuery) -> Verdicts:
        verdicts = read_verdicts(content, query.attributes.keys(), self._config.api_version)
        if self._config.id_document_required:
            document = verdicts.get("idDocument")
            if document is not None and document.result == "false":
                raise IdDocumentMismatchError  # v0.4 second-level validation, whatever the version
        if not self._config.returns_scores:
            return {name: AttributeMatch(verdict.result) for name, verdict in verdicts.items()}
        return verdicts

    def _report(self, failure: OperatorFailure, request: ApiRequest[T]) -> None:
        """One log line and metrics per failed call: the operator id, the API (its path, e.g.
        `/sim-swap/v2/check`) and a fixed reason, no data."""
        answer = answer_for(failure.error)  # what our client will be answered
        logger.warning(
            "operator call failed",
            extra={
                "operator": self._config.id,
                "grant": self._auth.grant,
                "api": urlsplit(request.url).path.removeprefix(urlsplit(self._base_url).path),
                "reason": failure.reason,
                "status": answer.status,
                "error_code": answer.code,
            },
        )
        names = [OPERATOR_ERRORS_METRIC] if failure.breaker else []
        if failure.metric is not None:
            names.append(failure.metric)
        for name in names:
            with single_metric(
                name=name,
                unit=MetricUnit.Count,
                value=1,
                namespace=metrics.namespace or METRIC_NAMESPACE,
                default_dimensions={"service": SERVICE},
            ) as metric:
                metric.add_dimension(name="operator", value=self._config.id)


def build_camara_operator(
    config: OperatorConfig,
    secrets: SecretSource,
    signer: KmsJwtSigner,
    hasher: "Hasher",
    pending: PendingAuthorizations | None = None,
    http: "httpx.Client | None" = None,
    *,
    local: bool = False,
    clock: Clock = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    wall_clock: Callable[[], float] = time.time,
) -> CamaraOperator:
    """The adapter for one `camara` operator, on the container's shared HTTP client. `local`: not a
    deployed stage, so OpenID discovery may name loopback endpoints (the operator simulator). The
    clocks and `sleep` are the real ones but in tests, where a manual clock moves instead."""
    if config.auth is None:
        raise ValueError("a camara operator needs auth")
    client = http or shared_http_client()
    uses_secret = config.auth.client_secret_id is not None
    keys = container_proof_keys()  # DPoP: the container's in-memory key, not the KMS assertion key
    server = AuthServer(
        config.id,
        config.auth,
        client,
        signer,
        secrets if uses_secret else None,
        connect_timeout=config.connect_timeout_seconds,
        dpop=DpopProver(keys) if config.auth.dpop else None,
        loopback_allowed=local,
    )
    breaker = CircuitBreaker(config.circuit_failure_threshold, config.circuit_cooldown_seconds, clock)
    return CamaraOperator(
        config,
        client,
        server,
        breaker,
        hasher=hasher,
        pending=pending if config.auth.grant == "ciba" else None,
        clock=clock,
        sleep=sleep,
        wall_clock=wall_clock,
        dpop=DpopProver(keys) if config.auth.dpop else None,
    )
