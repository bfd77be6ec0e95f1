"""Use cases of the match endpoint. Every outcome, success or error, is audited before it is returned."""

from kyc_match.domain.errors import KycMatchError
from kyc_match.domain.model import AuditRecord, CallContext, MatchQuery, Verdicts
from kyc_match.domain.ports import AuditTrail, OperatorDirectory


def match_identity(
    query: MatchQuery, context: CallContext, *, operators: OperatorDirectory, audit: AuditTrail
) -> Verdicts:
    """Route the query to the operator serving the number; audit the outcome before returning it.

    An error is audited too, then re-raised; if the audit entry cannot be stored, the caller gets
    AuditUnavailableError and no result.
    """
    operator_id: str | None = None
    attributes = tuple(query.attributes)
    try:
        operator = operators.operator_for(query.phone_number)
        operator_id = operator.operator_id
        verdicts = operator.match(query)
    except Exception as error:
        failure = error if isinstance(error, KycMatchError) else KycMatchError()
        audit.record(
            AuditRecord(
                context=context,
                status=failure.status,
                error_code=failure.code,
                phone_number=query.phone_number,
                operator_id=operator_id,
                attributes=attributes,
            )
        )
        raise
    audit.record(
        AuditRecord(
            context=context,
            status=200,
            phone_number=query.phone_number,
            operator_id=operator_id,
            attributes=attributes,
            verdicts=verdicts,
        )
    )
    return verdicts


def reject_request(error: KycMatchError, context: CallContext, *, audit: AuditTrail) -> None:
    """Audit a request refused before it reached an operator (invalid body, missing identifier…)."""
    audit.record(AuditRecord(context=context, status=error.status, error_code=error.code))
