"""What the operator serving a number can check, asked before sending it anything (issue #27 item 4).

Answered from configuration alone: the operator is not called and no personal data leaves; the
number is routed (prefixes, ported numbers) exactly as a match would be, and audited under its keyed
hash. A client learns which attributes are worth sending (data minimisation) and whether the
subscriber will be asked to authorize (CIBA) before it sends any.
"""

from dataclasses import dataclass
from typing import Any

from kyc_match.domain.apis import CAMARA_APIS, KYC_MATCH_NAME, KYC_MATCH_VERSION, MATCH_ATTRIBUTES
from kyc_match.domain.errors import KycMatchError
from kyc_match.domain.model import AuditRecord, CallContext
from kyc_match.domain.ports import AuditTrail, OperatorAdapter, OperatorRouter

# Where a coverage answer is filed in the audit trail (its `api`), as a line-history call is.
COVERAGE_API = "kyc-coverage/v1/check"
# The grants whose token names the subscriber (three-legged); with CIBA the subscriber is also asked,
# on their own device, before the operator answers.
THREE_LEGGED = frozenset({"jwt-bearer", "ciba"})
SUBSCRIBER_ASKED = frozenset({"ciba"})


@dataclass(frozen=True)
class Coverage:
    operator_id: str  # the operator's id as our configuration names it (also in every audit entry)
    apis: tuple[tuple[str, str], ...]  # (capability name, version): KYC Match first, then the registry's
    verified_attributes: tuple[str, ...]  # in the KYC Match request's order
    grant: str | None  # None: no authorization (the sandbox)

    @classmethod
    def of(cls, operator: OperatorAdapter) -> "Coverage":
        offered = tuple((api.name, api.version) for api in CAMARA_APIS if operator.offers(api))
        verified = operator.verified_attributes
        return cls(
            operator.operator_id,
            ((KYC_MATCH_NAME, KYC_MATCH_VERSION), *offered),
            tuple(name for name in MATCH_ATTRIBUTES if name in verified),
            operator.grant,
        )

    def document(self) -> dict[str, Any]:
        """The response body: names, versions and flags, nothing about the subscriber."""
        return {
            "operatorId": self.operator_id,
            "apis": [{"name": name, "version": version} for name, version in self.apis],
            "verifiedAttributes": list(self.verified_attributes),
            "authorization": {
                "grant": self.grant or "none",
                "threeLegged": self.grant in THREE_LEGGED,
                "subscriberInvolved": self.grant in SUBSCRIBER_ASKED,
            },
        }

    def audit_shape(self) -> dict[str, bool | int]:
        """What the audit entry keeps of the answer: counts and the flag, besides the operator's id."""
        return {
            "apis": len(self.apis),
            "verifiedAttributes": len(self.verified_attributes),
            "subscriberInvolved": self.grant in SUBSCRIBER_ASKED,
        }


def check_coverage(
    phone_number: str, context: CallContext, *, operators: OperatorRouter, audit: AuditTrail
) -> Coverage:
    """Route the number and describe its operator; audited (keyed hash of the number) before returned.

    No operator serves the number: ServiceNotApplicableError (422), audited like a match's."""
    operator: OperatorAdapter | None = None
    try:
        operator = operators.operator_for(phone_number)
        coverage = Coverage.of(operator)
    except Exception as error:
        failure = error if isinstance(error, KycMatchError) else KycMatchError()
        operator_id = operator.operator_id if operator else None
        audit.record(AuditRecord(context, failure, phone_number, operator_id=operator_id, api=COVERAGE_API))
        raise
    audit.record(
        AuditRecord(
            context,
            phone_number=phone_number,
            operator_id=operator.operator_id,
            grant=operator.grant,
            api=COVERAGE_API,
            answer=coverage.audit_shape(),
        )
    )
    return coverage
