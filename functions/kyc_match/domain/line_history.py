"""Line history use cases (CAMARA SIM Swap v2, Device Swap v1, Number Recycling v0.2, KYC Tenure v0.2):
is the person on the line still the subscriber?

Routed like a match, to the operator serving the number. The operator answers each question itself
(a CAMARA operator through its own API; the sandbox from its records), through the `LineHistory`
port. The audit entry records which API was asked and the answer's shape (`swapped` and `maxAge`,
whether a date was returned…), never a date.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Protocol, TypeVar, runtime_checkable

from kyc_match.domain.errors import KycMatchError, OperatorBadGatewayError, ServiceNotApplicableError
from kyc_match.domain.model import AuditRecord, CallContext
from kyc_match.domain.ports import AuditTrail, OperatorAdapter, OperatorDirectory
from kyc_match.domain.purposes import DEFAULT_PURPOSE


@dataclass(frozen=True)
class LineApi:
    """One line-history API: its CAMARA name and version, and what its spec says about missing records."""

    name: str  # camelCase, as operator configuration names it (`apis.simSwap`)
    path: str  # the CAMARA base path, e.g. "sim-swap/v2"
    version: str
    operations: tuple[str, ...]  # the paths under `path`, e.g. ("check", "retrieve-date")
    date_property: str = ""  # the retrieve-date response's property (swap APIs only)
    # Device Swap: a check on a line the operator has no record of is 422 (SIM Swap: not swapped).
    check_needs_record: bool = False

    @property
    def scopes(self) -> frozenset[str]:
        """CAMARA's scopes for this API: `<api-name>:<operation>`, e.g. `sim-swap:check`."""
        return frozenset(self.scope(operation) for operation in self.operations)

    def scope(self, operation: str) -> str:
        return f"{self.path.split('/')[0]}:{operation}"


SIM_SWAP = LineApi("simSwap", "sim-swap/v2", "v2", ("check", "retrieve-date"), "latestSimChange")
DEVICE_SWAP = LineApi(
    "deviceSwap",
    "device-swap/v1",
    "v1",
    ("check", "retrieve-date"),
    "latestDeviceChange",
    check_needs_record=True,
)
NUMBER_RECYCLING = LineApi("numberRecycling", "number-recycling/v0.2", "v0.2", ("check",))
KYC_TENURE = LineApi("kycTenure", "kyc-tenure/v0.2", "v0.2", ("check-tenure",))
LINE_APIS = (SIM_SWAP, DEVICE_SWAP, NUMBER_RECYCLING, KYC_TENURE)
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


@dataclass(frozen=True)
class Tenure:
    """KYC Tenure's answer: continuous tenure since the date asked, and the contract type if known."""

    since_date: bool  # the spec's `tenureDateCheck`
    contract_type: str | None = None  # "PAYG" | "PAYM" | "Business"


@runtime_checkable
class LineHistory(Protocol):
    """An operator adapter that answers line-history questions for the numbers it serves.

    Each method raises like a match: IdentifierNotFoundError, ServiceNotApplicableError, the
    operator-failure errors. `offers` says whether the operator's configuration lists the API."""

    def offers(self, api: str, version: str) -> bool: ...

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


def check_swap(
    query: LineQuery,
    max_age_hours: int,
    context: CallContext,
    *,
    operators: OperatorDirectory,
    audit: AuditTrail,
) -> bool:
    """Was the SIM (device) changed within `max_age_hours` before the request arrived?"""
    operation = f"{query.api.path}/check"
    query = replace(query, asked_at=query.asked_at or context.received_at)

    def answer(history: LineHistory) -> tuple[bool, Mapping[str, bool | int]]:
        swapped = history.check_swap(query, max_age_hours)
        return swapped, {"swapped": swapped, "maxAge": max_age_hours}

    return _ask(query, operation, context, operators, audit, answer)


def retrieve_swap_date(
    query: LineQuery, context: CallContext, *, operators: OperatorDirectory, audit: AuditTrail
) -> datetime | None:
    """The latest change, or None where the operator has no record (the spec's `null`)."""

    def answer(history: LineHistory) -> tuple[datetime | None, Mapping[str, bool | int]]:
        change = history.swap_date(query)
        return change, {"dateReturned": change is not None}

    return _ask(query, f"{query.api.path}/retrieve-date", context, operators, audit, answer)


def check_recycling(
    query: LineQuery,
    specified_date: date,
    context: CallContext,
    *,
    operators: OperatorDirectory,
    audit: AuditTrail,
) -> bool:
    """Has the number changed subscriber after `specified_date`? (Number Recycling `check`)"""

    def answer(history: LineHistory) -> tuple[bool, Mapping[str, bool | int]]:
        recycled = history.check_recycled(query, specified_date)
        return recycled, {"phoneNumberRecycled": recycled}

    return _ask(query, f"{query.api.path}/check", context, operators, audit, answer)


def check_tenure(
    query: LineQuery,
    tenure_date: date,
    context: CallContext,
    *,
    operators: OperatorDirectory,
    audit: AuditTrail,
) -> Tenure:
    """Has the subscription had continuous tenure since `tenure_date`? (KYC Tenure `check-tenure`)

    A contract type outside the spec's values is the operator's fault (502), whichever adapter passed
    it on. The audit entry records the answer and whether a contract type came with it, not which one."""

    def answer(history: LineHistory) -> tuple[Tenure, Mapping[str, bool | int]]:
        tenure = history.check_tenure(query, tenure_date)
        if tenure.contract_type not in (None, *CONTRACT_TYPES):
            raise OperatorBadGatewayError
        shape = {
            "tenureDateCheck": tenure.since_date,
            "contractTypeReturned": tenure.contract_type is not None,
        }
        return tenure, shape

    return _ask(query, f"{query.api.path}/check-tenure", context, operators, audit, answer)


def _ask(
    query: LineQuery,
    operation: str,
    context: CallContext,
    operators: OperatorDirectory,
    audit: AuditTrail,
    answer: "_Answer[T]",
) -> T:
    operator: OperatorAdapter | None = None
    try:
        operator = operators.operator_for(query.phone_number)
        history = history_of(operator, query.api)
        result, recorded = answer(history)
    except Exception as error:
        failure = error if isinstance(error, KycMatchError) else KycMatchError()
        audit.record(_record(context, query, operation, operator, error=failure))
        raise
    audit.record(_record(context, query, operation, operator, answer=recorded))
    return result


class _Answer(Protocol[T_co]):
    def __call__(self, history: LineHistory) -> tuple[T_co, Mapping[str, bool | int]]: ...


def history_of(operator: OperatorAdapter, api: LineApi) -> LineHistory:
    """The operator's line history, if its configuration offers this API (and version): else 422."""
    if not isinstance(operator, LineHistory) or not operator.offers(api.name, api.version):
        raise ServiceNotApplicableError
    return operator


def _record(
    context: CallContext,
    query: LineQuery,
    operation: str,
    operator: OperatorAdapter | None,
    *,
    error: KycMatchError | None = None,
    answer: Mapping[str, bool | int] | None = None,
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
