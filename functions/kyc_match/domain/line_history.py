"""Line history use cases (CAMARA SIM Swap v2, Device Swap v1, Number Recycling v0.2, KYC Tenure v0.2):
is the person on the line still the subscriber?

Routed like a match, to the operator serving the number. The operator answers each question itself
(a CAMARA operator through its own API; the sandbox from its records), through the `LineHistory`
port. The audit entry records which API was asked and the answer's shape (`swapped` and `maxAge`,
whether a date was returned…), never a date.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Protocol, TypeVar, cast

from kyc_match.domain.apis import CAMARA_APIS, CamaraApi
from kyc_match.domain.errors import KycMatchError, OperatorBadGatewayError, ServiceNotApplicableError
from kyc_match.domain.model import AuditRecord, CallContext
from kyc_match.domain.ports import AuditTrail, OperatorAdapter, OperatorRouter
from kyc_match.domain.purposes import DEFAULT_PURPOSE

# The descriptors live in the registry (apis.py); `LineApi` is their name where line history asks.
LineApi = CamaraApi
LINE_APIS = CAMARA_APIS
DEFAULT_MAX_AGE_HOURS = 240  # both specs' default for `maxAge`
MAX_AGE_RANGE = range(1, 2401)  # both specs: 1 to 2400 hours
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True)
class LineQuery:
    """One question about a line, with what a networked operator needs to be asked it."""

    phone_number: str
    api: LineApi
    # When the request arrived: "within maxAge hours" counts back from here.
    asked_at: datetime | None = None
    correlator: str = ""
    purpose: str = DEFAULT_PURPOSE
    client_id: str = ""
    answer_by: float | None = None  # time.monotonic() deadline, as MatchQuery's
    # Every scope this request will need from the operator (a decision may ask for a match and
    # several line checks): a three-legged token is requested once, for all of them. A request that
    # also matches includes `kyc-match:match` here (and its MatchQuery.line_scopes the line scopes),
    # so that the match and the line checks name the same scope set, hence the same token.
    scopes: frozenset[str] = frozenset()


# KYC Tenure's `contractType`: prepaid, contract, business account.
CONTRACT_TYPES = ("PAYG", "PAYM", "Business")


# KYC Age Verification's tri-state answers (`ageCheck`, `contentLock`, `parentalControl`).
TRI_STATE = ("true", "false", "not_available")
AGE_THRESHOLD_RANGE = range(0, 121)  # the spec's AgeThreshold: 0 to 120


@dataclass(frozen=True)
class AgeQuestion:
    """KYC Age Verification's question: the threshold, the identity attributes sent to confirm that the
    subscriber is the contract holder (KYC Match names), and which optional indicators are wanted."""

    threshold: int
    attributes: Mapping[str, str] = field(default_factory=dict)
    include_content_lock: bool = False
    include_parental_control: bool = False


@dataclass(frozen=True)
class AgeAnswer:
    """KYC Age Verification's answer; None where the operator does not say (the property is omitted)."""

    age_check: str  # "true" | "false" | "not_available"
    verified_status: bool | None = None
    identity_match_score: int | None = None  # 0 to 100
    content_lock: str | None = None  # TRI_STATE
    parental_control: str | None = None  # TRI_STATE


def age_on(birthdate: date, day: date) -> int:
    """Whole years from `birthdate` to `day` (a birthday on 29 February comes on 1 March in other years)."""
    return day.year - birthdate.year - ((day.month, day.day) < (birthdate.month, birthdate.day))


def age_check(birthdate: date | None, threshold: int, day: date) -> str:
    """The spec's `ageCheck`: age >= threshold on `day`; `not_available` without a birth date."""
    if birthdate is None:
        return "not_available"
    return "true" if age_on(birthdate, day) >= threshold else "false"


@dataclass(frozen=True)
class Tenure:
    """KYC Tenure's answer: continuous tenure since the date asked, and the contract type if known."""

    since_date: bool  # the spec's `tenureDateCheck`
    contract_type: str | None = None  # "PAYG" | "PAYM" | "Business"


class LineHistory(Protocol):
    """An operator adapter that answers line-history questions for the numbers it serves.

    Each method raises like a match: IdentifierNotFoundError, ServiceNotApplicableError, the
    operator-failure errors. Whether it answers an API is asked (`offers(api)`, the OperatorAdapter
    port), never inferred from `isinstance` against this protocol: a method added here once made every
    adapter lacking it fail such a check, and every check of every API became unavailable."""

    def offers(self, api: CamaraApi) -> bool: ...

    def check_swap(self, query: LineQuery, max_age_hours: int) -> bool:
        """SIM/Device Swap `check`: changed within `max_age_hours` before `query.asked_at`?"""
        ...

    def swap_date(self, query: LineQuery) -> datetime | None:
        """SIM/Device Swap `retrieve-date`: the latest change (timezone-aware), None if no record."""
        ...

    def check_recycled(self, query: LineQuery, specified_date: date) -> bool:
        """Number Recycling `check`: has the number changed subscriber after `specified_date`?"""
        ...

    def check_tenure(self, query: LineQuery, tenure_date: date) -> Tenure:
        """KYC Tenure `check-tenure`: continuous tenure since `tenure_date`?"""
        ...

    def verify_age(self, query: LineQuery, asked: "AgeQuestion") -> "AgeAnswer":
        """KYC Age Verification `verify`: is the subscriber at least `asked.threshold` years old?"""
        ...


# What the audit entry keeps of an answer: its shape (booleans, the window asked), never a date.
AnswerShape = Mapping[str, bool | int]


class Question(Protocol[T_co]):
    """One operation asked of an operator's line history: the answer, and its shape for the audit."""

    def __call__(self, history: LineHistory) -> tuple[T_co, AnswerShape]: ...


def swap_question(query: LineQuery, max_age_hours: int) -> Question[bool]:
    """SIM/Device Swap `check`."""

    def question(history: LineHistory) -> tuple[bool, AnswerShape]:
        swapped = history.check_swap(query, max_age_hours)
        return swapped, {"swapped": swapped, "maxAge": max_age_hours}

    return question


def swap_date_question(query: LineQuery) -> Question[datetime | None]:
    """SIM/Device Swap `retrieve-date`: whether a date came back is kept, not the date."""

    def question(history: LineHistory) -> tuple[datetime | None, AnswerShape]:
        change = history.swap_date(query)
        return change, {"dateReturned": change is not None}

    return question


def recycling_question(query: LineQuery, specified_date: date) -> Question[bool]:
    """Number Recycling `check`."""

    def question(history: LineHistory) -> tuple[bool, AnswerShape]:
        recycled = history.check_recycled(query, specified_date)
        return recycled, {"phoneNumberRecycled": recycled}

    return question


def tenure_question(query: LineQuery, tenure_date: date) -> Question[Tenure]:
    """KYC Tenure `check-tenure`. A contract type outside the spec's values is the operator's fault
    (502), whichever adapter passed it on. The shape says whether a contract type came, not which."""

    def question(history: LineHistory) -> tuple[Tenure, AnswerShape]:
        tenure = history.check_tenure(query, tenure_date)
        if tenure.contract_type not in (None, *CONTRACT_TYPES):
            raise OperatorBadGatewayError
        return tenure, {
            "tenureDateCheck": tenure.since_date,
            "contractTypeReturned": tenure.contract_type is not None,
        }

    return question


def age_question(query: LineQuery, asked: AgeQuestion) -> Question[AgeAnswer]:
    """KYC Age Verification `verify`. An answer outside the spec (an `ageCheck` not in its enum, a score
    outside 0 to 100, an indicator not asked for) is the operator's fault (502), whichever adapter passed
    it on. The audit entry keeps the threshold and the outcome (`ageCheck` only when available), never a
    date nor the attributes."""

    def question(history: LineHistory) -> tuple[AgeAnswer, AnswerShape]:
        answer = history.verify_age(query, asked)
        if not _within_spec(answer, asked):
            raise OperatorBadGatewayError
        shape: dict[str, bool | int] = {"ageThreshold": asked.threshold}
        if answer.age_check == "not_available":
            shape["ageCheckAvailable"] = False
        else:
            shape["ageCheck"] = answer.age_check == "true"
        if answer.identity_match_score is not None:
            shape["identityMatchScore"] = answer.identity_match_score
        return answer, shape

    return question


def _within_spec(answer: AgeAnswer, asked: AgeQuestion) -> bool:
    score = answer.identity_match_score
    return (
        answer.age_check in TRI_STATE
        and (score is None or 0 <= score <= 100)
        and answer.content_lock in ((None, *TRI_STATE) if asked.include_content_lock else (None,))
        and answer.parental_control in ((None, *TRI_STATE) if asked.include_parental_control else (None,))
    )


def check_swap(
    query: LineQuery,
    max_age_hours: int,
    context: CallContext,
    *,
    operators: OperatorRouter,
    audit: AuditTrail,
) -> bool:
    """Was the SIM (device) changed within `max_age_hours` before the request arrived?"""
    query = replace(query, asked_at=query.asked_at or context.received_at)
    question = swap_question(query, max_age_hours)
    return ask(query, "check", question, context, operators=operators, audit=audit)


def retrieve_swap_date(
    query: LineQuery, context: CallContext, *, operators: OperatorRouter, audit: AuditTrail
) -> datetime | None:
    """The latest change, or None where the operator has no record (the spec's `null`)."""
    question = swap_date_question(query)
    return ask(query, "retrieve-date", question, context, operators=operators, audit=audit)


def check_recycling(
    query: LineQuery,
    specified_date: date,
    context: CallContext,
    *,
    operators: OperatorRouter,
    audit: AuditTrail,
) -> bool:
    """Has the number changed subscriber after `specified_date`? (Number Recycling `check`)"""
    question = recycling_question(query, specified_date)
    return ask(query, "check", question, context, operators=operators, audit=audit)


def check_tenure(
    query: LineQuery,
    tenure_date: date,
    context: CallContext,
    *,
    operators: OperatorRouter,
    audit: AuditTrail,
) -> Tenure:
    """Has the subscription had continuous tenure since `tenure_date`? (KYC Tenure `check-tenure`)"""
    question = tenure_question(query, tenure_date)
    return ask(query, "check-tenure", question, context, operators=operators, audit=audit)


def ask(
    query: LineQuery,
    operation: str,
    question: Question[T],
    context: CallContext,
    *,
    operators: OperatorRouter,
    audit: AuditTrail,
) -> T:
    """Ask the operator serving the number one operation of `query.api`, if it offers the API (else
    422); audited either way under `<api path>/<operation>`, with the answer's shape."""
    asked = f"{query.api.path}/{operation}"
    operator: OperatorAdapter | None = None
    try:
        operator = operators.operator_for(query.phone_number)
        history = history_of(operator, query.api)
        result, recorded = question(history)
    except Exception as error:
        failure = error if isinstance(error, KycMatchError) else KycMatchError()
        audit.record(_record(context, query, asked, operator, error=failure))
        raise
    audit.record(_record(context, query, asked, operator, answer=recorded))
    return result


def history_of(operator: OperatorAdapter, api: CamaraApi) -> LineHistory:
    """The operator's line history, if it offers this API (and version): else 422.

    The adapter's own answer decides. One that offers an API must answer its questions: a method it
    lacks fails that question (an error, counted), not every question of every API."""
    if not operator.offers(api):
        raise ServiceNotApplicableError
    return cast("LineHistory", operator)


def _record(
    context: CallContext,
    query: LineQuery,
    operation: str,
    operator: OperatorAdapter | None,
    *,
    error: KycMatchError | None = None,
    answer: AnswerShape | None = None,
) -> AuditRecord:
    return AuditRecord(
        context=context,
        error=error,
        phone_number=query.phone_number,
        operator_id=operator.operator_id if operator else None,
        grant=operator.grant if operator else None,
        api=operation,
        answer=answer or {},
    )
