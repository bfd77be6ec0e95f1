"""Use cases of the API. Every outcome, success or error, is audited before it is returned."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from kyc_match.domain.errors import KycMatchError
from kyc_match.domain.model import (
    Assessment,
    AuditRecord,
    CallContext,
    MatchQuery,
    PolicyReference,
    ServedPolicy,
    Verdicts,
)
from kyc_match.domain.ports import AuditTrail, OperatorDirectory

if TYPE_CHECKING:
    from kyc_match.domain.policy import Policy


@dataclass(frozen=True)
class RiskAssessment:
    verdicts: Verdicts
    assessment: Assessment
    policy: PolicyReference


def match_identity(
    query: MatchQuery, context: CallContext, *, operators: OperatorDirectory, audit: AuditTrail
) -> Verdicts:
    """Route the query to the operator serving the number; audit the outcome before returning it.

    An error is audited too, then re-raised; if the audit entry cannot be stored, the caller gets
    AuditUnavailableError and no result.
    """
    verdicts, _ = _answer(query, context, operators, audit, policy=None)
    return verdicts


def assess_identity(
    query: MatchQuery,
    context: CallContext,
    served: ServedPolicy,
    *,
    operators: OperatorDirectory,
    audit: AuditTrail,
) -> RiskAssessment:
    """As match_identity, then the client's policy turns the verdicts into a level and a decision."""
    verdicts, assessment = _answer(query, context, operators, audit, policy=served)
    # Given a policy, always assessed.
    return RiskAssessment(verdicts, cast(Assessment, assessment), served.reference)


def _answer(
    query: MatchQuery,
    context: CallContext,
    operators: OperatorDirectory,
    audit: AuditTrail,
    policy: ServedPolicy | None,
) -> tuple[Verdicts, Assessment | None]:
    operator_id: str | None = None
    attributes = tuple(query.attributes)
    try:
        operator = operators.operator_for(query.phone_number)
        operator_id = operator.operator_id
        verdicts = operator.match(query)
        assessment = _assess(verdicts, policy.policy) if policy is not None else None
    except Exception as error:
        failure = error if isinstance(error, KycMatchError) else KycMatchError()
        audit.record(
            AuditRecord(
                context=context,
                error=failure,
                phone_number=query.phone_number,
                operator_id=operator_id,
                attributes=attributes,
            )
        )
        raise
    audit.record(
        AuditRecord(
            context=context,
            phone_number=query.phone_number,
            operator_id=operator_id,
            attributes=attributes,
            verdicts=verdicts,
            assessment=assessment,
            policy=policy.reference if policy is not None else None,
        )
    )
    return verdicts, assessment


def reject_request(error: KycMatchError, context: CallContext, *, audit: AuditTrail) -> None:
    """Audit a request refused before it reached an operator (invalid body, missing identifier…)."""
    audit.record(AuditRecord(context=context, error=error))


def _assess(verdicts: Verdicts, policy: "Policy") -> Assessment:
    from kyc_match.domain.assess import assess_risk  # noqa: PLC0415 - decision requests only

    return assess_risk(verdicts, policy)
