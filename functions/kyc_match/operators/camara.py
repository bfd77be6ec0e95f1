"""The `camara` adapter: forwards a match to an operator's own CAMARA KYC Match API over HTTPS.

One call = one deadline covering everything: discovery, token requests (CIBA polls included),
Secrets Manager reads, every attempt, headers and bodies, and the backoff between attempts. It is
the operator's `timeoutSeconds`, cut shorter when the function must keep time to write the audit
entry (`MatchQuery.answer_by`). Retried, with full-jitter backoff and only while the deadline allows:
connect errors (the request never reached the operator), a 401 once for a token we can get again
without the subscriber (not CIBA's), and 502/503/504 only where the request did not carry the
subscriber's data to a match endpoint that may have done the check (token endpoints; a match
endpoint declared `matchIdempotent`). A per-operator circuit breaker fails fast while the operator
keeps failing. Errors are domain errors with fixed messages: the operator's text is never passed on,
logged or put in an exception. Token and authorization errors: token_errors.py. With `"dpop": true`
the match call is `Authorization: DPoP` with a proof (dpop.py); a nonce challenge is answered once.

| operator outcome                                   | client gets                       | breaker  |
| -------------------------------------------------- | --------------------------------- | -------- |
| 200, valid answer                                  | verdicts (scores dropped if off)  | success  |
| 404 IDENTIFIER_NOT_FOUND                           | 404 IDENTIFIER_NOT_FOUND          | success  |
| 403 ID_DOCUMENT_REQUIRED / ID_DOCUMENT_MISMATCH    | the same 403                      | success  |
| 422 SERVICE_NOT_APPLICABLE                         | 422 SERVICE_NOT_APPLICABLE        | success  |
| connect error, 502/503/504, dropped connection,    | 502 BAD_GATEWAY                   | failure  |
| other status, malformed or oversized answer        |                                   |          |
| deadline passed                                    | 504 TIMEOUT                       | failure  |
| circuit open; 401 after a fresh token;             | 503 UNAVAILABLE                   | failure  |
| 403 PERMISSION_DENIED / INVALID_TOKEN_CONTEXT; 429 |                                   |          |
"""

import time
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from kyc_match.api.errors import answer_for
from kyc_match.domain.errors import (
    IdDocumentMismatchError,
    IdDocumentRequiredError,
    IdentifierNotFoundError,
    KycMatchError,
    OperatorBadGatewayError,
    OperatorTimeoutError,
    ServiceNotApplicableError,
    UnavailableError,
)
from kyc_match.domain.model import MatchQuery, Verdicts
from kyc_match.matching import AttributeMatch
from kyc_match.observability import SERVICE, logger, metrics
from kyc_match.operators.bounded import BodyError, DeadlinePassedError, Reply, exchange, operator_http_client
from kyc_match.operators.ciba import CibaFlow, Hasher, PendingAuthorizations, pending_key
from kyc_match.operators.config import OperatorConfig
from kyc_match.operators.dpop import TOKEN_TYPE as DPOP_SCHEME
from kyc_match.operators.dpop import DpopProver, nonce_challenged
from kyc_match.operators.failures import OperatorFailure
from kyc_match.operators.resilience import CircuitBreaker, Clock, Deadline, backoff_delay
from kyc_match.operators.secrets import SecretSource
from kyc_match.operators.signing import KmsJwtSigner
from kyc_match.operators.timing import operator_call
from kyc_match.operators.tokens import (
    AuthServer,
    Subject,
    TokenCache,
    client_credentials_token,
    jwt_bearer_token,
    scope_for,
    transport_failure,
)
from kyc_match.operators.translation import (
    MalformedAnswerError,
    error_code,
    match_url,
    read_verdicts,
    request_body,
)

if TYPE_CHECKING:
    import httpx

METRIC_NAMESPACE = "KycMatch"
OPERATOR_ERRORS_METRIC = "OperatorErrors"
MAX_ANSWER_BYTES = 65_536  # a full 24-attribute answer is under 2 kB
MAX_BACKOFF_SECONDS = 1.0

# The operator's CAMARA answers we pass on as ours: (status, code) -> domain error.
_PASSED_ON: dict[tuple[int, str], type[KycMatchError]] = {
    (404, "IDENTIFIER_NOT_FOUND"): IdentifierNotFoundError,
    (403, "KNOW_YOUR_CUSTOMER.ID_DOCUMENT_REQUIRED"): IdDocumentRequiredError,
    (403, "KNOW_YOUR_CUSTOMER.ID_DOCUMENT_MISMATCH"): IdDocumentMismatchError,
    (422, "SERVICE_NOT_APPLICABLE"): ServiceNotApplicableError,
}
_RETRYABLE_STATUSES = frozenset({502, 503, 504})


class _TokenRejected(Exception):
    """Internal: the API answered 401 to our bearer token."""


@cache
def shared_http_client() -> "httpx.Client":
    """One pooled client per container, for every operator, reused across invocations."""
    return operator_http_client()


class CamaraOperator:
    def __init__(
        self,
        config: OperatorConfig,
        http: "httpx.Client",
        server: AuthServer,
        breaker: CircuitBreaker,
        *,
        hasher: Hasher,
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
        if not self._breaker.allow():
            self._report(OperatorFailure(UnavailableError(), "circuit_open"))
            raise UnavailableError
        try:
            with operator_call(self._config.id, self._clock):  # the call only: not the breaker's fast fail
                verdicts = self._call(query)
        except OperatorFailure as failure:
            if failure.breaker:
                self._breaker.record_failure()
            else:
                self._breaker.record_success()  # the operator answered, about the subscriber
            self._report(failure)
            raise failure.error from None
        except KycMatchError:
            self._breaker.record_success()  # the operator answered, with a CAMARA outcome
            raise
        except BaseException:
            self._breaker.record_failure()
            raise
        self._breaker.record_success()
        return verdicts

    def _deadline(self, query: MatchQuery) -> Deadline:
        budget = self._config.timeout_seconds
        if query.answer_by is not None:
            budget = min(budget, query.answer_by - self._clock())
        return Deadline(max(budget, 0.0), self._clock)

    def _call(self, query: MatchQuery) -> Verdicts:
        config = self._config
        deadline = self._deadline(query)
        attempt, refreshed = 0, False
        while True:
            attempt += 1
            try:
                return self._attempt(query, deadline)
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

    def _attempt(self, query: MatchQuery, deadline: Deadline) -> Verdicts:
        key, token = self._token(query, deadline)
        body = request_body(query, self._config.api_version, with_identifier=self._config.sends_identifier)
        reply = self._post_match(body, token, query.correlator, deadline)
        # RFC 9449 §9: a resource server may ask for a nonce; the same request once more with it.
        dpop = self._dpop
        if (
            reply.status == 401
            and dpop
            and dpop.learn_nonce(reply.headers)
            and nonce_challenged(reply.headers)
        ):
            reply = self._post_match(body, token, query.correlator, deadline)
        if reply.status == 401:
            self._tokens.drop(key, token)
            raise _TokenRejected
        return self._interpret(reply.status, reply.body, query)

    def _post_match(self, body: object, token: str, correlator: str, deadline: Deadline) -> Reply:
        headers = {
            "authorization": f"Bearer {token}",
            "x-correlator": correlator,
            "accept": "application/json",
        }
        if self._dpop is not None:
            headers["authorization"] = f"{DPOP_SCHEME} {token}"
            headers["dpop"] = self._dpop.proof("POST", self._url, access_token=token)
        try:
            return exchange(
                self._http,
                "POST",
                self._url,
                deadline,
                MAX_ANSWER_BYTES,
                connect_timeout=self._config.connect_timeout_seconds,
                json=body,
                headers=headers,
            )
        except BodyError:
            raise OperatorFailure(OperatorBadGatewayError(), "answer_too_large") from None
        except DeadlinePassedError:
            raise OperatorFailure(OperatorTimeoutError(), "deadline") from None
        except Exception as error:
            transport_failure(error, deadline)

    def _token(self, query: MatchQuery, deadline: Deadline) -> tuple[tuple[str, str], str]:
        auth = self._auth
        subject = None
        if auth.three_legged:
            subject = Subject(query.phone_number, self._hasher.hash(query.phone_number))
        key = (subject.number_hash if subject else "", scope_for(auth, query.purpose))
        cached = self._tokens.get(key)
        if cached is not None:
            return key, cached
        fetched_at = self._clock()
        if subject is None:
            token, lifetime = client_credentials_token(self._server, query.purpose, deadline)
        elif auth.grant == "jwt-bearer":
            token, lifetime = jwt_bearer_token(self._server, subject, query.purpose, deadline)
        else:
            assert self._ciba is not None  # built with the adapter for a ciba grant
            ciba_key = pending_key(
                self._hasher, self.operator_id, query.client_id, query.purpose, subject.phone_number
            )
            token, lifetime = self._ciba.token(subject, query.purpose, ciba_key, deadline)
        self._tokens.put(key, token, lifetime, fetched_at)
        return key, token

    def _interpret(self, status: int, content: bytes, query: MatchQuery) -> Verdicts:
        if status == 200:
            return self._verdicts(content, query)
        if status in _RETRYABLE_STATUSES:
            # The request reached the operator, which may have done the check: only an operator that
            # declares its match endpoint idempotent is asked again.
            retryable = self._config.match_idempotent
            raise OperatorFailure(OperatorBadGatewayError(), f"status_{status}", retryable=retryable)
        if status == 429:
            raise OperatorFailure(UnavailableError(), "throttled")
        code = error_code(content, status) if status in {403, 404, 422} else None
        passed_on = _PASSED_ON.get((status, code or ""))
        if passed_on is not None:
            raise passed_on
        if (status, code) == (403, "PERMISSION_DENIED"):
            raise OperatorFailure(UnavailableError(), "permission_denied")
        if (status, code) == (403, "INVALID_TOKEN_CONTEXT"):
            raise OperatorFailure(UnavailableError(), "token_context")
        raise OperatorFailure(OperatorBadGatewayError(), f"status_{status}")

    def _verdicts(self, content: bytes, query: MatchQuery) -> Verdicts:
        try:
            verdicts = read_verdicts(content, query.attributes.keys(), self._config.api_version)
        except MalformedAnswerError:
            raise OperatorFailure(OperatorBadGatewayError(), "malformed_answer") from None
        if self._config.id_document_required:
            document = verdicts.get("idDocument")
            if document is not None and document.result == "false":
                raise IdDocumentMismatchError  # v0.4 second-level validation, whatever the version
        if not self._config.returns_scores:
            return {name: AttributeMatch(verdict.result) for name, verdict in verdicts.items()}
        return verdicts

    def _report(self, failure: OperatorFailure) -> None:
        """One log line and metrics per failed call: the operator id and a fixed reason, no data."""
        answer = answer_for(failure.error)  # what our client will be answered
        logger.warning(
            "operator call failed",
            extra={
                "operator": self._config.id,
                "grant": self._auth.grant,
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
    hasher: Hasher,
    pending: PendingAuthorizations | None = None,
    http: "httpx.Client | None" = None,
) -> CamaraOperator:
    """The adapter for one `camara` operator, on the container's shared HTTP client."""
    if config.auth is None:
        raise ValueError("a camara operator needs auth")
    client = http or shared_http_client()
    uses_secret = config.auth.client_secret_id is not None
    server = AuthServer(
        config.id,
        config.auth,
        client,
        signer,
        secrets if uses_secret else None,
        connect_timeout=config.connect_timeout_seconds,
        dpop=DpopProver(signer) if config.auth.dpop else None,
    )
    breaker = CircuitBreaker(config.circuit_failure_threshold, config.circuit_cooldown_seconds)
    return CamaraOperator(
        config,
        client,
        server,
        breaker,
        hasher=hasher,
        pending=pending if config.auth.grant == "ciba" else None,
        dpop=DpopProver(signer) if config.auth.dpop else None,
    )
