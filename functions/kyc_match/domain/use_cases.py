"""Use cases of the API. Every outcome, success or error, is audited before it is returned."""

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, cast

from kyc_match.domain.errors import (
    IdDocumentMismatchError,
    IdDocumentRequiredError,
    IdentifierNotFoundError,
    KycMatchError,
    ServiceNotApplicableError,
)
from kyc_match.domain.model import AuditRecord, CallContext, MatchQuery, Verdicts
from kyc_match.domain.ports import AuditTrail, OperatorAdapter, OperatorRouter, TaskPool

if TYPE_CHECKING:
    # A decision's values: annotations only here, so the CAMARA match path never builds them.
    from kyc_match.domain.decision_model import (
        Assessment,
        PolicyReference,
        RequestFacts,
        ServedPolicy,
        Signal,
    )
    from kyc_match.domain.line_checks import LineCheck, LineCheckRun, Unanswered
    from kyc_match.domain.policy import Policy

# Operator refusals that are answers about the customer: on the decision endpoint the policy decides
# what they mean; on the CAMARA endpoint they stay the spec's errors.
OPERATOR_OUTCOMES: dict[type[KycMatchError], str] = {
    IdDocumentMismatchError: "ID_DOCUMENT_MISMATCH",
    IdDocumentRequiredError: "ID_DOCUMENT_REQUIRED",
    IdentifierNotFoundError: "IDENTIFIER_NOT_FOUND",
    ServiceNotApplicableError: "SERVICE_NOT_APPLICABLE",
}


@dataclass(frozen=True)
class RiskAssessment:
    verdicts: Verdicts
    assessment: "Assessment"
    policy: "PolicyReference"
    # Why each unavailable line check is so, asked of an operator: for the caller to log and count.
    unanswered: "tuple[Unanswered, ...]" = ()


def match_identity(
    query: MatchQuery, context: CallContext, *, operators: OperatorRouter, audit: AuditTrail
) -> Verdicts:
    """Route the query to the operator serving the number; audit the outcome before returning it.

    An error is audited too, then re-raised; if the audit entry cannot be stored, the caller gets
    AuditUnavailableError and no result.
    """
    verdicts, _, _ = _answer(query, context, operators, audit, policy=None)
    return verdicts


def assess_identity(
    query: MatchQuery,
    context: CallContext,
    served: "ServedPolicy",
    *,
    operators: OperatorRouter,
    audit: AuditTrail,
    line_checks: "tuple[LineCheck, ...]" = (),
    pool: TaskPool | None = None,
    minimise: bool = False,
) -> RiskAssessment:
    """As match_identity, then the client's policy turns the verdicts into a level and a decision.

    An operator refusal about the customer (document mismatch or required, unknown number, service not
    applicable) is a decision too, by the policy's `operatorOutcomes`, audited like any other.
    The line checks asked run alongside the match at the same operator; their outcomes are facts
    of the decision (domain/line_checks.py), recorded with it; `pool` (the container's) runs them.
    `minimise` (the client's onboarding): only the attributes the operator verifies are forwarded; the
    others are decided on as never sent, named in a reason and in the audit entry.
    """
    if line_checks:
        if pool is None:
            raise ValueError("line checks need the pool they run on")
        from kyc_match.domain.line_checks import line_scopes  # noqa: PLC0415 - decisions with checks only

        query = replace(query, line_scopes=query.line_scopes | line_scopes(line_checks))
    verdicts, assessment, unanswered = _answer(
        query, context, operators, audit, policy=served, line_checks=line_checks, pool=pool, minimise=minimise
    )
    # Given a policy, always assessed.
    return RiskAssessment(verdicts, cast("Assessment", assessment), served.reference, unanswered)


def _answer(
    query: MatchQuery,
    context: CallContext,
    operators: OperatorRouter,
    audit: AuditTrail,
    policy: "ServedPolicy | None",
    line_checks: "tuple[LineCheck, ...]" = (),
    pool: TaskPool | None = None,
    minimise: bool = False,
) -> "tuple[Verdicts, Assessment | None, tuple[Unanswered, ...]]":
    operator: OperatorAdapter | None = None
    running: LineCheckRun | None = None
    not_sent: tuple[str, ...] = ()
    try:
        operator = operators.operator_for(query.phone_number)
        if minimise:
            query, not_sent = _minimised(query, operator.verified_attributes)
        running = _start_line_checks(operator, line_checks, pool, query, context)
        # Everything withheld: nothing to ask (a body of the number alone is no match request).
        verdicts = operator.match(query) if query.attributes or not not_sent else {}
        signals = running.finish() if running else ()
        assessment = None
        if policy is not None:
            facts = _facts(query, verdicts, context, None, signals, not_sent)
            assessment = _assess(verdicts, policy.policy, facts)
    except Exception as error:
        outcome = _operator_outcome(error)
        if policy is None or outcome is None:
            if running:
                running.abandon()
            _audit_failure(error, context, query, operator, audit, not_sent)
            raise
        verdicts = {}
        # No operator serves the number: no check could be asked.
        signals = running.finish() if running else tuple(check.unavailable() for check in line_checks)
        facts = _facts(query, verdicts, context, outcome, signals, not_sent)
        assessment = _assess(verdicts, policy.policy, facts)
    attributes = tuple(query.attributes)  # those the operator was sent
    id_document_type = query.attributes.get("idDocumentType") if policy is not None else None
    audit.record(
        AuditRecord(
            context=context,
            phone_number=query.phone_number,
            operator_id=operator.operator_id if operator else None,
            grant=operator.grant if operator else None,
            attributes=attributes,
            verdicts=verdicts,
            assessment=assessment,
            policy=policy.reference if policy is not None else None,
            id_document_type=id_document_type,
            not_sent=not_sent,
        )
    )
    return verdicts, assessment, running.unanswered if running else ()


def _minimised(query: MatchQuery, verified: frozenset[str]) -> tuple[MatchQuery, tuple[str, ...]]:
    """The query with only the attributes the operator verifies, and the names of those withheld."""
    kept = {name: value for name, value in query.attributes.items() if name in verified}
    withheld = tuple(name for name in query.attributes if name not in verified)
    return (replace(query, attributes=kept), withheld) if withheld else (query, ())


def _start_line_checks(
    operator: OperatorAdapter,
    line_checks: "tuple[LineCheck, ...]",
    pool: TaskPool | None,
    query: MatchQuery,
    context: CallContext,
) -> "LineCheckRun | None":
    if not line_checks or pool is None:
        return None
    from kyc_match.domain.line_checks import LineCheckRun  # noqa: PLC0415 - decisions with checks only

    return LineCheckRun(operator, line_checks, query, context.received_at, pool)


def _operator_outcome(error: Exception) -> str | None:
    return next((name for kind, name in OPERATOR_OUTCOMES.items() if isinstance(error, kind)), None)


def _audit_failure(
    error: Exception,
    context: CallContext,
    query: MatchQuery,
    operator: OperatorAdapter | None,
    audit: AuditTrail,
    not_sent: tuple[str, ...] = (),
) -> None:
    failure = error if isinstance(error, KycMatchError) else KycMatchError()
    audit.record(
        AuditRecord(
            context=context,
            error=failure,
            phone_number=query.phone_number,
            operator_id=operator.operator_id if operator else None,
            grant=operator.grant if operator else None,
            attributes=tuple(query.attributes),
            not_sent=not_sent,
        )
    )


def reject_request(
    error: KycMatchError, context: CallContext, *, audit: AuditTrail, api: str | None = None
) -> None:
    """Audit a request refused before it reached an operator (invalid body, missing identifier…);
    `api`: the line-history operation it asked (e.g. "sim-swap/v2/check")."""
    audit.record(AuditRecord(context=context, error=error, api=api))


def _facts(
    query: MatchQuery,
    verdicts: Verdicts,
    context: CallContext,
    operator_outcome: str | None,
    signals: "tuple[Signal, ...]",
    not_sent: tuple[str, ...] = (),
) -> "RequestFacts":
    from kyc_match.domain.decision_facts import decision_facts  # noqa: PLC0415 - decision requests only

    today = context.received_at.date()
    outcome = operator_outcome
    return decision_facts(
        query.attributes, verdicts, today, operator_outcome=outcome, signals=signals, not_sent=not_sent
    )


def _assess(verdicts: Verdicts, policy: "Policy", facts: "RequestFacts") -> "Assessment":
    from kyc_match.domain.assess import evaluate  # noqa: PLC0415 - decision requests only

    return evaluate(policy, verdicts, facts)
