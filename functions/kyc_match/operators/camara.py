"""The `camara` adapter: forwards a match to an operator's own CAMARA KYC Match API over HTTPS.

One call = one deadline (`timeoutSeconds`) covering the token fetch, every attempt and the backoff
between them. Retried, with full-jitter backoff and only while the deadline allows: connect errors
(the request never reached the operator), 502/503/504, and a 401 once (token expired or revoked:
refetch and retry). Anything else is final. A per-operator circuit breaker fails fast while the
operator keeps failing. Errors are domain errors with fixed messages: the operator's body or error
text is never passed on, logged or put in an exception.

| operator outcome                                   | client gets                       | breaker  |
| -------------------------------------------------- | --------------------------------- | -------- |
| 200, valid answer                                  | verdicts (scores dropped if off)  | success  |
| 404 IDENTIFIER_NOT_FOUND                           | 404 IDENTIFIER_NOT_FOUND          | success  |
| 403 ID_DOCUMENT_REQUIRED / ID_DOCUMENT_MISMATCH    | the same 403                      | success  |
| 422 SERVICE_NOT_APPLICABLE                         | 422 SERVICE_NOT_APPLICABLE        | success  |
| connect error, 502/503/504 after retries, dropped  | 502 BAD_GATEWAY                   | failure  |
| connection, other status, malformed answer         |                                   |          |
| deadline passed                                    | 504 TIMEOUT                       | failure  |
| circuit open; token endpoint refuses credentials;  | 503 UNAVAILABLE                   | failure  |
| 401 after a fresh token; 403 PERMISSION_DENIED; 429|                                   |          |
"""

import time
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, NoReturn

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
from kyc_match.operators.config import OperatorConfig
from kyc_match.operators.oauth import ClientCredentialsTokens, CredentialsRefusedError, TokenEndpointError
from kyc_match.operators.resilience import CircuitBreaker, Clock, Deadline, backoff_delay
from kyc_match.operators.secrets import SecretSource, SecretUnavailableError
from kyc_match.operators.translation import MalformedAnswerError, error_code, match_url, read_verdicts

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


class OperatorFailure(Exception):
    """Internal: the operator (or our access to it) failed. `reason` is a fixed, data-free label."""

    def __init__(self, error: KycMatchError, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.error = error
        self.reason = reason
        self.retryable = retryable


class _TokenRejected(Exception):
    """Internal: the API answered 401 to our bearer token."""


@cache
def shared_http_client() -> "httpx.Client":
    """One pooled client per container, for every operator, reused across invocations."""
    import httpx  # noqa: PLC0415 - deferred: only containers with a camara operator import httpx

    return httpx.Client(
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=10, keepalive_expiry=30),
        follow_redirects=False,
        trust_env=False,  # no proxy or .netrc from the environment: operators are reached directly
        headers={"user-agent": "kyc-match-aggregator"},
    )


class CamaraOperator:
    def __init__(
        self,
        config: OperatorConfig,
        http: "httpx.Client",
        tokens: ClientCredentialsTokens,
        breaker: CircuitBreaker,
        *,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if config.base_url is None:
            raise ValueError("a camara operator needs baseUrl")
        self._config = config
        self._http = http
        self._tokens = tokens
        self._breaker = breaker
        self._clock = clock
        self._sleep = sleep
        self._url = match_url(config.base_url, config.api_version)

    @property
    def operator_id(self) -> str:
        return self._config.id

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
            verdicts = self._call(query)
        except OperatorFailure as failure:
            self._breaker.record_failure()
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

    def _call(self, query: MatchQuery) -> Verdicts:
        config = self._config
        deadline = Deadline(config.timeout_seconds, self._clock)
        attempt, refreshed = 0, False
        while True:
            attempt += 1
            try:
                return self._attempt(query, deadline)
            except _TokenRejected:
                if refreshed:
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
        token = self._token(deadline)
        try:
            with self._http.stream(
                "POST",
                self._url,
                json={"phoneNumber": query.phone_number, **query.attributes},
                headers={
                    "authorization": f"Bearer {token}",
                    "x-correlator": query.correlator,
                    "accept": "application/json",
                },
                timeout=self._timeout(deadline),
            ) as response:
                status = response.status_code
                content = _read_capped(response, deadline)
        except OperatorFailure:
            raise
        except Exception as error:
            _transport_failure(error, deadline)
        return self._interpret(status, content, query, token)

    def _token(self, deadline: Deadline) -> str:
        try:
            return self._tokens.token(self._timeout(deadline))
        except CredentialsRefusedError:
            raise OperatorFailure(UnavailableError(), "credentials_refused") from None
        except SecretUnavailableError:
            raise OperatorFailure(UnavailableError(), "secret_unavailable") from None
        except TokenEndpointError as error:
            reason = "token_endpoint_unavailable" if error.retryable else "token_endpoint_invalid"
            raise OperatorFailure(OperatorBadGatewayError(), reason, retryable=error.retryable) from None
        except OperatorFailure:
            raise
        except Exception as error:
            _transport_failure(error, deadline)

    def _timeout(self, deadline: Deadline) -> "httpx.Timeout":
        import httpx  # noqa: PLC0415 - already imported by the client factory

        remaining = deadline.remaining()
        if remaining <= 0:
            raise OperatorFailure(OperatorTimeoutError(), "deadline")
        return httpx.Timeout(remaining, connect=min(remaining, self._config.connect_timeout_seconds))

    def _interpret(self, status: int, content: bytes, query: MatchQuery, token: str) -> Verdicts:
        if status == 200:
            return self._verdicts(content, query)
        if status == 401:
            self._tokens.invalidate(token)
            raise _TokenRejected
        if status in _RETRYABLE_STATUSES:
            raise OperatorFailure(OperatorBadGatewayError(), f"status_{status}", retryable=True)
        if status == 429:
            raise OperatorFailure(UnavailableError(), "throttled")
        code = error_code(content, status) if status in {403, 404, 422} else None
        passed_on = _PASSED_ON.get((status, code or ""))
        if passed_on is not None:
            raise passed_on
        if (status, code) == (403, "PERMISSION_DENIED"):
            raise OperatorFailure(UnavailableError(), "permission_denied")
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
        """One metric and one log line per failed call: the operator id and a fixed reason, no data."""
        answer = answer_for(failure.error)  # what our client will be answered
        logger.warning(
            "operator call failed",
            extra={
                "operator": self._config.id,
                "reason": failure.reason,
                "status": answer.status,
                "error_code": answer.code,
            },
        )
        with single_metric(
            name=OPERATOR_ERRORS_METRIC,
            unit=MetricUnit.Count,
            value=1,
            namespace=metrics.namespace or METRIC_NAMESPACE,
            default_dimensions={"service": SERVICE},
        ) as metric:
            metric.add_dimension(name="operator", value=self._config.id)


def _read_capped(response: "httpx.Response", deadline: Deadline) -> bytes:
    """The body, chunk by chunk: stop at the size cap, and when the deadline passes mid-body."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise OperatorFailure(OperatorBadGatewayError(), "answer_too_large")
        if deadline.expired:
            raise OperatorFailure(OperatorTimeoutError(), "deadline")
        chunks.append(chunk)
    return b"".join(chunks)


def _transport_failure(error: Exception, deadline: Deadline) -> NoReturn:
    """Classify an httpx error. Only connect failures are retryable: the request never left."""
    import httpx  # noqa: PLC0415

    if isinstance(error, httpx.ConnectTimeout) and not deadline.expired:
        raise OperatorFailure(OperatorBadGatewayError(), "connect_timeout", retryable=True) from None
    if isinstance(error, httpx.TimeoutException):
        raise OperatorFailure(OperatorTimeoutError(), "timeout") from None
    if isinstance(error, httpx.ConnectError):
        raise OperatorFailure(OperatorBadGatewayError(), "connect_error", retryable=True) from None
    if isinstance(error, httpx.TransportError):
        raise OperatorFailure(OperatorBadGatewayError(), "connection_lost") from None
    if isinstance(error, httpx.HTTPError):
        raise OperatorFailure(OperatorBadGatewayError(), "http_error") from None
    raise error


def build_camara_operator(config: OperatorConfig, secrets: SecretSource) -> CamaraOperator:
    """The adapter for one `camara` operator, on the container's shared HTTP client."""
    if config.token_url is None or config.client_id is None or config.client_secret_id is None:
        raise ValueError("a camara operator needs tokenUrl, clientId and clientSecretId")
    secret_id, secret_key = config.client_secret_id, config.client_secret_key or config.id
    http = shared_http_client()
    tokens = ClientCredentialsTokens(
        http,
        config.token_url,
        config.client_id,
        lambda: secrets.client_secret(secret_id, secret_key),
        scope=config.scope,
        auth_method=config.token_auth_method,
        on_refused=lambda: secrets.forget(secret_id),  # a rotated secret is read again next time
    )
    breaker = CircuitBreaker(config.circuit_failure_threshold, config.circuit_cooldown_seconds)
    return CamaraOperator(config, http, tokens, breaker)
