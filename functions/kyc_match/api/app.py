"""The REST resolver: routes, and the rendering of every outcome as a CAMARA response."""

import json
import time
import traceback
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as PowertoolsNotFound
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from kyc_match.api.correlator import HEADER as CORRELATOR_HEADER
from kyc_match.api.correlator import read_correlator
from kyc_match.api.models import match_response_body
from kyc_match.api.parsing import build_query, check_content_type, parse_match_request
from kyc_match.domain.errors import (
    AuditUnavailableError,
    InvalidArgumentError,
    KycMatchError,
    MethodNotAllowedError,
    NotFoundError,
    UnauthenticatedError,
)
from kyc_match.domain.match import match_identity, reject_request
from kyc_match.domain.model import CallContext
from kyc_match.observability import logger, metrics
from kyc_match.wiring import dependencies

MATCH_PATH = "/kyc-match/v0.4/match"
OTHER_METHODS = ["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

app = APIGatewayRestResolver()


def resolve(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    correlator = read_correlator(event.get("headers"))
    logger.append_keys(correlator=correlator.value)
    app.append_context(correlator=correlator)
    return app.resolve(event, context)


@app.post(MATCH_PATH)
def match() -> Response[str]:
    context = _call_context()
    event = app.current_event
    audit = dependencies().audit
    try:
        if not app.context["correlator"].valid:
            raise InvalidArgumentError("The x-correlator header does not match the CAMARA pattern.")
        check_content_type(event.headers.get("content-type"))
        request = parse_match_request(event.decoded_body)
        query = build_query(request, _token_phone_number(), context.correlator)
    except KycMatchError as error:
        reject_request(error, context, audit=audit)
        raise
    verdicts = match_identity(query, context, operators=dependencies().operators, audit=audit)
    _log_outcome(200, None)
    return _json(200, match_response_body(dict(verdicts)))


@app.route(MATCH_PATH, method=OTHER_METHODS)
def method_not_allowed() -> Response[str]:
    raise MethodNotAllowedError


@app.not_found
def not_found(_: PowertoolsNotFound) -> Response[str]:
    error = NotFoundError()
    _log_outcome(error.status, error.code)
    return _error(error)


@app.exception_handler(KycMatchError)
def camara_error(error: KycMatchError) -> Response[str]:
    if isinstance(error, AuditUnavailableError):
        metrics.add_metric(name="AuditWriteFailures", unit=MetricUnit.Count, value=1)
    _log_outcome(error.status, error.code)
    return _error(error)


@app.exception_handler(Exception)
def unexpected_error(error: Exception) -> Response[str]:
    # Type and stack frames only: an exception's text may quote request data.
    logger.error(
        "unexpected error",
        extra={"error_type": type(error).__name__, "frames": traceback.format_tb(error.__traceback__)},
    )
    return _error(KycMatchError())


def _call_context() -> CallContext:
    request_context = app.current_event.request_context
    client_id = request_context.identity.api_key_id
    if not client_id:
        # API Gateway requires the key before the function runs; this guards direct invocations.
        raise UnauthenticatedError
    return CallContext(
        client_id=client_id,
        request_id=request_context.request_id,
        correlator=app.context["correlator"].value,
        received_at=datetime.now(UTC),
        started_ns=time.monotonic_ns(),
    )


def _token_phone_number() -> str | None:
    """A three-legged token's subject, as an authorizer puts it in the request context."""
    authorizer = app.current_event.request_context.authorizer.raw_event or {}
    phone_number = authorizer.get("phoneNumber")
    return phone_number if isinstance(phone_number, str) and phone_number else None


def _log_outcome(status: int, code: str | None) -> None:
    metrics.add_metric(name="MatchRequests", unit=MetricUnit.Count, value=1)
    logger.info("request answered", extra={"status": status, "error_code": code})


def _error(error: KycMatchError) -> Response[str]:
    return _json(error.status, {"status": error.status, "code": error.code, "message": error.detail})


def _json(status: int, body: dict[str, Any]) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, ensure_ascii=False),
        headers={CORRELATOR_HEADER: app.context["correlator"].value},
    )
