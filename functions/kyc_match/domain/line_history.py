"""Line history use cases (CAMARA SIM Swap v2, Device Swap v1): did the line change SIM or device lately?

Routed like a match, to the operator serving the number. The audit entry records which API was asked
and the answer's shape (`swapped` and `maxAge`, or whether a date was returned), never a date.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar, runtime_checkable

from kyc_match.domain.errors import KycMatchError, ServiceNotApplicableError
from kyc_match.domain.model import AuditRecord, CallContext
from kyc_match.domain.ports import AuditTrail, OperatorAdapter, OperatorDirectory


@dataclass(frozen=True)
class LineApi:
    """One line-history API: its CAMARA name and version, and what its spec says about missing records."""

    name: str  # camelCase, as operator configuration names it (`apis.simSwap`)
    path: str  # the CAMARA base path, e.g. "sim-swap/v2"
    version: str
    date_property: str  # the retrieve-date response's property
    # Device Swap: a check on a line the operator has no record of is 422 (SIM Swap: not swapped).
    check_needs_record: bool = False


SIM_SWAP = LineApi("simSwap", "sim-swap/v2", "v2", "latestSimChange")
DEVICE_SWAP = LineApi("deviceSwap", "device-swap/v1", "v1", "latestDeviceChange", check_needs_record=True)
DEFAULT_MAX_AGE_HOURS = 240  # both specs' default for `maxAge`
MAX_AGE_RANGE = range(1, 2401)  # both specs: 1 to 2400 hours
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@runtime_checkable
class LineHistory(Protocol):
    """An operator adapter that can tell when a line last changed SIM or device."""

    def offers(self, api: str, version: str) -> bool: ...

    def latest_change(self, api: str, phone_number: str) -> datetime | None:
        """The latest change (timezone-aware), None if there is no record; raise IdentifierNotFoundError
        or ServiceNotApplicableError like a match."""
        ...


@dataclass(frozen=True)
class LineQuery:
    phone_number: str
    api: LineApi


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

    def answer(change: datetime | None) -> tuple[bool, Mapping[str, bool | int]]:
        if change is None and query.api.check_needs_record:
            raise ServiceNotApplicableError
        swapped = change is not None and change >= context.received_at - timedelta(hours=max_age_hours)
        return swapped, {"swapped": swapped, "maxAge": max_age_hours}

    return _ask(query, operation, context, operators, audit, answer)


def retrieve_swap_date(
    query: LineQuery, context: CallContext, *, operators: OperatorDirectory, audit: AuditTrail
) -> datetime | None:
    """The latest change, or None where the operator has no record (the spec's `null`)."""

    def answer(change: datetime | None) -> tuple[datetime | None, Mapping[str, bool | int]]:
        return change, {"dateReturned": change is not None}

    return _ask(query, f"{query.api.path}/retrieve-date", context, operators, audit, answer)


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
        history = _history(operator, query.api)
        result, recorded = answer(history.latest_change(query.api.name, query.phone_number))
    except Exception as error:
        failure = error if isinstance(error, KycMatchError) else KycMatchError()
        audit.record(_record(context, query, operation, operator, error=failure))
        raise
    audit.record(_record(context, query, operation, operator, answer=recorded))
    return result


class _Answer(Protocol[T_co]):
    def __call__(self, change: datetime | None) -> tuple[T_co, Mapping[str, bool | int]]: ...


def _history(operator: OperatorAdapter, api: LineApi) -> LineHistory:
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
