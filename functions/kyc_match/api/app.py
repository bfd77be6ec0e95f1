"""The REST resolver: routes, and the rendering of every outcome as a CAMARA response."""

import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as PowertoolsNotFound
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from kyc_match.api.correlator import HEADER as CORRELATOR_HEADER
from kyc_match.api.correlator import INVALID_MESSAGE as INVALID_CORRELATOR_MESSAGE
from kyc_match.api.correlator import read_correlator
from kyc_match.api.models import KycMatchRequest, match_response_body
from kyc_match.api.parsing import Request, build_query, check_content_type, parse_match_request
from kyc_match.catalogue import answer_for, error_body
from kyc_match.domain.apis import CAMARA_APIS, CamaraApi, operations
from kyc_match.domain.clients import ClientProfile, purpose_for
from kyc_match.domain.errors import (
    AuditUnavailableError,
    AuthorizationPendingError,
    ClientNotOnboardedError,
    InvalidArgumentError,
    KycMatchError,
    MethodNotAllowedError,
    NotFoundError,
    RetiredPolicyError,
    UnauthenticatedError,
    UnknownPolicyError,
)
from kyc_match.domain.model import CallContext, MatchQuery
from kyc_match.domain.ports import PolicyStore
from kyc_match.domain.use_cases import match_identity, reject_request
from kyc_match.observability import (
    logger,
    metrics,
    report_client_request,
    report_decision,
    report_unanswered,
)
from kyc_match.wiring import Dependencies, dependencies

if TYPE_CHECKING:
    from kyc_match.domain.decision_model import ServedPolicy
    from kyc_match.domain.line_checks import LineCheck

MATCH_PATH = "/kyc-match/v0.4/match"
ASSESS_PATH = "/kyc-decision/v1/assess"
# What the number's operator can check, answered from configuration (domain/coverage.py): ours, no CAMARA API.
COVERAGE_PATH = "/kyc-coverage/v1/check"
# The bank's final word on one of its decisions (#26 item 7); `decisionId` from the decision's answer.
OUTCOME_PATH = "/kyc-decision/v1/decisions/<decision_id>/outcome"
JWKS_PATH = "/.well-known/jwks.json"
# The audit witness keys' public halves, for auditors (`kyc-match audit verify --offline … --public-key`).
WITNESS_KEYS_PATH = "/.well-known/witness-keys.json"
# Route 53 health checks (and people) ask whether this region can serve: no API key, no personal data.
HEALTH_PATH = "/health"
# The other CAMARA APIs (issues #14, #27), from the registry (domain/apis.py): each operation at its
# own path (`/sim-swap/v2/check`, `/kyc-tenure/v0.2/check-tenure`).
LINE_OPERATIONS = operations(CAMARA_APIS)
LINE_PATHS = tuple(api.route(operation) for api, operation in LINE_OPERATIONS)
JWKS_CACHE_SECONDS = 300  # a new key is published longer than this before it signs (docs/operators.md)
T = TypeVar("T")
AUDIT_RESERVE_SECONDS = 3.0  # the audit write (DynamoDB, then the SQS fallback) and the answer
OTHER_METHODS = ["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]

app = APIGatewayRestResolver()


def resolve(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    correlator = read_correlator(event.get("headers"))
    # Never logged, whatever its shape: any correlator may be client text (a phone number).
    app.append_context(correlator=correlator)
    return app.resolve(event, context)


@app.post(MATCH_PATH)
def match() -> Response[str]:
    context, deps = _call_context(), dependencies()
    context, profile = _identified(context, deps)
    # The CAMARA path carries no purpose: the client's default one, from its onboarding.
    context = _rejecting_audited(context, deps, lambda: _with_purpose(context, profile, None))
    query = _rejecting_audited(context, deps, lambda: _query(_request(KycMatchRequest), context))
    verdicts = match_identity(query, context, operators=deps.operators, audit=deps.audit)
    _log_outcome(200, None)
    return _json(200, match_response_body(dict(verdicts)))


@app.post(ASSESS_PATH)
def assess() -> Response[str]:
    # The decision machinery (policy models, its request model) is imported on first use: a container
    # that serves only CAMARA matches never builds it at cold start.
    from kyc_match.api.assess_models import KycAssessRequest  # noqa: PLC0415
    from kyc_match.domain.assess import assessment_document  # noqa: PLC0415
    from kyc_match.domain.outcomes import decision_id, entry_key  # noqa: PLC0415
    from kyc_match.domain.use_cases import assess_identity  # noqa: PLC0415

    context, deps = _call_context(), dependencies()
    context, profile = _identified(context, deps)  # first: every refusal is filed under the client
    request = _rejecting_audited(context, deps, lambda: _request(KycAssessRequest))
    context = _rejecting_audited(context, deps, lambda: _with_purpose(context, profile, request.purpose))

    def prepare() -> "tuple[MatchQuery, ServedPolicy, tuple[LineCheck, ...]]":
        from kyc_match.domain.line_checks import required_line_checks  # noqa: PLC0415 - see above

        query = _query(request, context, explain=True)
        today = context.received_at.date()
        # The client's onboarding binds the policies its keys may use; the request only chooses among them.
        served = _policy(deps.policies, context.client_id, _bound_policy(profile, request.policyId))
        birthdate_sent = request.birthdate is not None
        checks = required_line_checks(
            request.line_checks(today), served.policy, today, birthdate_sent=birthdate_sent
        )
        return query, served, checks

    query, policy, checks = _rejecting_audited(context, deps, prepare)
    result = assess_identity(
        query,
        context,
        policy,
        operators=deps.operators,
        audit=deps.audit,
        line_checks=checks,
        pool=deps.line_checks,
        minimise=profile is not None and profile.minimise_attributes,
    )
    report_unanswered(result.unanswered)
    report_decision(app.context.get("client_id"), result.policy, result.assessment.decision)
    _log_outcome(200, None)
    body = {
        "decisionId": decision_id(entry_key(context).entry_key),  # names its audit entry, to this client
        "matchResults": match_response_body(dict(result.verdicts)),
        **assessment_document(result.assessment),
        "policy": result.policy.document(),
    }
    return _json(200, body)


@app.post(COVERAGE_PATH)
def coverage() -> Response[str]:
    """Same keys, purpose, x-correlator rules, routing and audit as a match; no operator is called."""
    from kyc_match.api.coverage_models import KycCoverageRequest  # noqa: PLC0415 - coverage calls only
    from kyc_match.domain.coverage import COVERAGE_API, check_coverage  # noqa: PLC0415

    call = _begin(COVERAGE_API)
    context, deps, refused_or = call.context, call.deps, call.refused_or
    request = refused_or(lambda: _request(KycCoverageRequest))
    phone_number = refused_or(lambda: request.subject(_token_phone_number()))
    answer = check_coverage(phone_number, context, operators=deps.operators, audit=deps.audit)
    _log_outcome(200, None)
    return _json(200, answer.document())


@app.post(OUTCOME_PATH)
def final_outcome(decision_id: str) -> Response[str]:
    """Record the client's final outcome of one of its decisions, once (201); 404 for an id naming
    none of its decisions, whoever else's it may be; 409 when one is on record already."""
    from kyc_match.api.outcome_models import FinalOutcomeRequest  # noqa: PLC0415 - outcome calls only
    from kyc_match.domain.outcomes import OUTCOME_API, record_outcome  # noqa: PLC0415

    call = _begin(OUTCOME_API)
    context, deps, refused_or = call.context, call.deps, call.refused_or
    request = refused_or(lambda: _request(FinalOutcomeRequest))
    if deps.decisions is None:
        raise KycMatchError  # wiring always builds one; a test's partial wiring is a bug
    ledger = deps.decisions
    final = refused_or(
        lambda: record_outcome(
            context,
            decision_id,
            request.outcome,
            request.reasonCode,
            request.analystReference,
            decisions=ledger,
            audit=deps.audit,
        )
    )
    _log_outcome(201, None)
    recorded_at = context.received_at.isoformat(timespec="seconds")
    answer = {**final.document(), "decisionEntryKey": final.decision.entry_key, "recordedAt": recorded_at}
    return _json(201, answer)


def _line_history(api: CamaraApi, operation: str) -> Response[str]:
    """Same keys, purpose, x-correlator rules, routing and audit as a match; the spec's own body."""
    from kyc_match.api import line_models as models  # noqa: PLC0415 - line-history calls only

    call = _begin(f"{api.path}/{operation}")  # a refusal is filed under the API asked too
    context, deps, refused_or = call.context, call.deps, call.refused_or
    request = refused_or(lambda: _request(models.REQUEST_MODELS[api.scope(operation)]))
    refused_or(lambda: request.check_bounds(context.received_at.date()))
    subject = refused_or(lambda: models.line_query(request, _token_phone_number(), api))
    query = replace(
        subject,
        asked_at=context.received_at,
        correlator=context.correlator,
        purpose=context.purpose,
        client_id=context.client_id,
        answer_by=_answer_by(),
        scopes=frozenset({api.scope(operation)}),
    )
    body = models.answer(request, query, operation, context, operators=deps.operators, audit=deps.audit)
    _log_outcome(200, None)
    return _json(200, body)


def _line_route(api: CamaraApi, operation: str) -> Callable[[], Response[str]]:
    def route() -> Response[str]:
        return _line_history(api, operation)

    route.__name__ = f"{api.name}_{operation.replace('-', '_')}"
    return route


def route_apis(resolver: APIGatewayRestResolver, apis: tuple[CamaraApi, ...]) -> None:
    """Every operation of `apis` at its path: POST answers it, any other method is 405."""
    for api, operation in operations(apis):
        resolver.post(api.route(operation))(_line_route(api, operation))
        resolver.route(api.route(operation), method=OTHER_METHODS)(method_not_allowed)


@app.get(JWKS_PATH)
def jwks() -> Response[str]:
    """Our public signing keys, for operators verifying our client assertions. No API key (in AWS a
    route of its own without one), no personal data, cacheable."""
    from kyc_match.settings import get_settings  # noqa: PLC0415
    from kyc_match.wiring import public_jwks  # noqa: PLC0415

    return _json(200, public_jwks(get_settings()), {"Cache-Control": f"public, max-age={JWKS_CACHE_SECONDS}"})


@app.get(WITNESS_KEYS_PATH)
def witness_keys() -> Response[str]:
    """The audit witness's public keys (JWK Set), current and previous, of every region that can be
    read: what an auditor verifies an export with. No API key, no personal data, cacheable."""
    from kyc_match.settings import get_settings  # noqa: PLC0415
    from kyc_match.wiring import witness_jwks  # noqa: PLC0415

    cache = {"Cache-Control": f"public, max-age={JWKS_CACHE_SECONDS}"}
    return _json(200, witness_jwks(get_settings()), cache)


@app.get(HEALTH_PATH)
def health() -> Response[str]:
    """200 when the audit table and the identifier key answer, else 503; checks cached a few seconds."""
    report = dependencies().health.report()
    # 1 or 0 per check: with mutual TLS, Route 53 (no client certificate) watches this metric instead,
    # fed by an in-region scheduled probe (infra/constructs/front_door.py).
    metrics.add_metric(name="Healthy", unit=MetricUnit.Count, value=1 if report.healthy else 0)
    return _json(report.status, report.body(), {"Cache-Control": "no-store"})


@app.route(JWKS_PATH, method=["POST", *(method for method in OTHER_METHODS if method != "GET")])
@app.route(WITNESS_KEYS_PATH, method=["POST", *(method for method in OTHER_METHODS if method != "GET")])
@app.route(HEALTH_PATH, method=["POST", *(method for method in OTHER_METHODS if method != "GET")])
def get_only_method_not_allowed() -> Response[str]:
    raise MethodNotAllowedError


@app.route(MATCH_PATH, method=OTHER_METHODS)
@app.route(ASSESS_PATH, method=OTHER_METHODS)
@app.route(COVERAGE_PATH, method=OTHER_METHODS)
@app.route(OUTCOME_PATH, method=OTHER_METHODS)
def method_not_allowed(**_: str) -> Response[str]:  # the outcome path's decision_id, unused
    raise MethodNotAllowedError


route_apis(app, CAMARA_APIS)


@app.not_found
def not_found(_: PowertoolsNotFound) -> Response[str]:
    return _error(NotFoundError())


@app.exception_handler(KycMatchError)
def camara_error(error: KycMatchError) -> Response[str]:
    if isinstance(error, AuditUnavailableError):
        metrics.add_metric(name="AuditWriteFailures", unit=MetricUnit.Count, value=1)
    return _error(error)


@app.exception_handler(Exception)
def unexpected_error(error: Exception) -> Response[str]:
    # Type and stack frames only: an exception's text may quote request data.
    logger.error(
        "unexpected error",
        extra={"error_type": type(error).__name__, "frames": traceback.format_tb(error.__traceback__)},
    )
    return _error(KycMatchError())


@dataclass(frozen=True)
class _Call:
    """A call identified and its purpose settled; its refusals are audited under `api`."""

    context: CallContext
    deps: Dependencies
    api: str

    def refused_or(self, step: Callable[[], T]) -> T:
        return _rejecting_audited(self.context, self.deps, step, api=self.api)


def _begin(api: str) -> _Call:
    """The preamble of the calls that name their API (coverage, final outcome, line history): the
    request carries no purpose, so the client's default one, from its onboarding."""
    context, deps = _call_context(), dependencies()
    context, profile = _identified(context, deps)
    context = _rejecting_audited(context, deps, lambda: _with_purpose(context, profile, None), api=api)
    return _Call(context, deps, api)


def _rejecting_audited(
    context: CallContext, deps: Dependencies, step: Callable[[], T], *, api: str | None = None
) -> T:
    """Run the request checks; a refusal is audited like any other outcome (under the line-history
    operation asked, if one was), then answered."""
    try:
        return step()
    except KycMatchError as error:
        reject_request(error, context, audit=deps.audit, api=api)
        raise


def _request(model: type[Request]) -> Request:
    event = app.current_event
    if not app.context["correlator"].valid:
        raise InvalidArgumentError(INVALID_CORRELATOR_MESSAGE)
    check_content_type(event.headers.get("content-type"))
    try:
        body = event.decoded_body
    except ValueError:  # isBase64Encoded with bad base64, or bytes that are not UTF-8: was a 500
        raise InvalidArgumentError("Invalid request body: the body is not valid JSON.") from None
    return parse_match_request(body, model)


def _query(request: KycMatchRequest, context: CallContext, *, explain: bool = False) -> MatchQuery:
    query = build_query(request, _token_phone_number(), context.correlator, explain=explain)
    return replace(query, client_id=context.client_id, purpose=context.purpose, answer_by=_answer_by())


def _answer_by() -> float | None:
    """The operator must have answered this long before the function's own timeout: the audit entry
    of a request whose data reached an operator is written whatever the operator does."""
    remaining_ms = getattr(app.lambda_context, "get_remaining_time_in_millis", None)
    if remaining_ms is None:
        return None
    return time.monotonic() + float(remaining_ms()) / 1000 - AUDIT_RESERVE_SECONDS


def _identified(context: CallContext, deps: Dependencies) -> tuple[CallContext, ClientProfile | None]:
    """The call filed under the stable id of the client its API key belongs to (one cached read).

    A key of no client keeps its key id as client id: refused by `_with_purpose`, audited under it.
    First the audit trail begins the call's entry (a correlator's keyed hash, beside the request)."""
    deps.audit.begin(context)
    client = _rejecting_audited(context, deps, lambda: deps.clients.client_for_key(context.api_key_id))
    if client is None:
        return context, None
    app.append_context(client_id=client.id)  # an onboarded client: its answer is counted (#25 item 7)
    retention = client.profile.retention_days  # its entries' expiry (#26 item 4)
    return replace(context, client_id=client.id, retention_days=retention), client.profile


def _with_purpose(context: CallContext, profile: ClientProfile | None, requested: str | None) -> CallContext:
    return replace(context, purpose=purpose_for(profile, requested))


def _bound_policy(profile: ClientProfile | None, requested: str | None) -> str:
    if profile is None:  # refused before: a client with no onboarding has no purpose either
        raise ClientNotOnboardedError
    return profile.policy_for(requested)


def _policy(policies: PolicyStore, client_id: str, policy_id: str) -> "ServedPolicy":
    """The client's active policy by id; a client without an active "default" gets the built-in one."""
    from kyc_match.domain.policy import PolicyError  # noqa: PLC0415 - see assess()
    from kyc_match.domain.policy_hash import built_in_policy  # noqa: PLC0415

    built_in = built_in_policy()
    try:
        served = policies.active(client_id, policy_id)
    except PolicyError:
        # Stored before format 2: refused rather than migrated, since its levels may accept on thin
        # evidence and a silent translation would change decisions nobody signed off.
        raise RetiredPolicyError from None
    if served is not None:
        return served
    if policy_id == built_in.reference.id:
        return built_in
    raise UnknownPolicyError


def _call_context() -> CallContext:
    request_context = app.current_event.request_context
    api_key_id = request_context.identity.api_key_id
    if not api_key_id:
        # API Gateway requires the key before the function runs; this guards direct invocations.
        raise UnauthenticatedError
    return CallContext(
        client_id=api_key_id,  # until _identified resolves the key to its client
        api_key_id=api_key_id,
        request_id=request_context.request_id,
        correlator=app.context["correlator"].value,
        received_at=datetime.now(UTC),
        started_ns=time.monotonic_ns(),
        purpose="",  # not settled yet: _with_purpose sets it from the client's onboarding
    )


def _token_phone_number() -> str | None:
    """A three-legged token's subject, as an authorizer puts it in the request context."""
    authorizer = app.current_event.request_context.authorizer.raw_event or {}
    phone_number = authorizer.get("phoneNumber")
    return phone_number if isinstance(phone_number, str) and phone_number else None


def _log_outcome(status: int, code: str | None) -> None:
    metrics.add_metric(name="MatchRequests", unit=MetricUnit.Count, value=1)
    report_client_request(app.context.get("client_id"), status)
    logger.info("request answered", extra={"status": status, "error_code": code})


def _error(error: KycMatchError) -> Response[str]:
    """Every error answer: status, code and message from the catalogue (kyc_match/catalogue.py), logged."""
    answer = answer_for(error)
    _log_outcome(answer.status, answer.code)
    return _json(answer.status, error_body(error), _error_headers(error))


def _error_headers(error: KycMatchError) -> dict[str, str]:
    # A 405 names what the resource does allow (RFC 9110 §15.5.6).
    if isinstance(error, MethodNotAllowedError):
        get_only = {JWKS_PATH, WITNESS_KEYS_PATH, HEALTH_PATH}
        return {"Allow": "GET" if app.current_event.path in get_only else "POST"}
    # CIBA: when the operator allows the next poll, so the client's retry finds the token (RFC 9110 §10.2.3).
    if isinstance(error, AuthorizationPendingError) and error.retry_after_seconds is not None:
        return {"Retry-After": str(error.retry_after_seconds)}
    return {}


def _json(status: int, body: dict[str, Any], extra_headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, ensure_ascii=False),
        headers={CORRELATOR_HEADER: app.context["correlator"].value, **(extra_headers or {})},
    )
