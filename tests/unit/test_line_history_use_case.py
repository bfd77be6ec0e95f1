"""Line-history use cases with in-memory fakes: the swap window, recycling after a date, tenure since a
date, missing records, operator capabilities (422, never 5xx) and the audit record of every outcome
(an answer's shape, never a date)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from kyc_match.domain.apis import DEVICE_SWAP, KYC_TENURE, NUMBER_RECYCLING, SIM_SWAP
from kyc_match.domain.errors import (
    AuditUnavailableError,
    IdentifierNotFoundError,
    OperatorBadGatewayError,
    ServiceNotApplicableError,
)
from kyc_match.domain.line_history import (
    LineQuery,
    Tenure,
    check_recycling,
    check_swap,
    check_tenure,
    retrieve_swap_date,
)
from kyc_match.domain.model import CallContext
from kyc_match.operators.config import OfferedApis, OperatorConfig
from kyc_match.operators.routing import PrefixRouter
from kyc_match.operators.sandbox import SandboxOperator
from support.doubles import FakeOperator, MemorySubscribers, MemoryTrail

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CONTEXT = CallContext("client-1", "req-1", "corr-1", NOW, 0)
SWAPPED = "+34600000005"
NEVER = "+34600000007"
RECYCLED = "+34600000009"
RECORDS = [
    {
        "phoneNumber": SWAPPED,
        "simSwapDate": "2026-11-30T13:00:00+02:00",
        "deviceSwapDate": "2026-11-20T12:00:00Z",
    },
    {"phoneNumber": NEVER},
    {"phoneNumber": "+34600000008", "simSwapDate": "yesterday"},
    {"phoneNumber": "+34600000004", "serviceApplicable": False},
    # Recycled: the new subscriber signed on 2026-11-20 (their own day; 2026-11-19 in UTC).
    {
        "phoneNumber": RECYCLED,
        "recycledDate": "2026-11-20T00:30:00+02:00",
        "tenureDate": "2026-11-20",
        "contractType": "Business",
    },
    {"phoneNumber": "+34600000010", "tenureDate": "2012-03-15"},
    {"phoneNumber": "+34600000011", "tenureDate": "15/03/2012"},
    {"phoneNumber": "+34600000012", "tenureDate": "2012-03-15", "contractType": "contract"},
]


def directory(apis: OfferedApis | None = None) -> PrefixRouter:
    config = OperatorConfig(id="sandbox", kind="sandbox", prefixes=("+34",), apis=apis)
    return PrefixRouter({"+34": SandboxOperator(config, MemorySubscribers(RECORDS))})


def check(number: str, max_age: int, api=SIM_SWAP, apis=None, trail=None) -> bool:  # type: ignore[no-untyped-def]
    trail = trail if trail is not None else MemoryTrail()
    return check_swap(LineQuery(number, api), max_age, CONTEXT, operators=directory(apis), audit=trail)


def test_the_window_is_max_age_hours_before_arrival_inclusive():
    # 13:00+02:00 is 11:00Z: one hour before NOW.
    assert check(SWAPPED, 1) is True
    assert check(SWAPPED, 2400) is True
    device_age = 10 * 24
    assert check(SWAPPED, device_age, DEVICE_SWAP) is True
    assert check(SWAPPED, device_age - 1, DEVICE_SWAP) is False


def test_no_record_is_not_swapped_for_sim_swap_and_422_for_device_swap():
    assert check(NEVER, 2400) is False
    with pytest.raises(ServiceNotApplicableError):
        check(NEVER, 2400, DEVICE_SWAP)


def test_an_api_the_operator_does_not_offer_is_422():
    for apis in (OfferedApis(), OfferedApis(device_swap=("v1",))):
        with pytest.raises(ServiceNotApplicableError):
            check(SWAPPED, 24, apis=apis)
    assert check(SWAPPED, 24, apis=OfferedApis(sim_swap=("v2",))) is True


def test_an_operator_without_line_history_is_422_not_a_server_error():
    trail = MemoryTrail()
    operators = PrefixRouter({"+34": FakeOperator("op-es")})
    with pytest.raises(ServiceNotApplicableError):
        retrieve_swap_date(LineQuery(SWAPPED, SIM_SWAP), CONTEXT, operators=operators, audit=trail)
    assert trail.records[0].operator_id == "op-es"
    assert isinstance(trail.records[0].error, ServiceNotApplicableError)


def test_retrieve_date_keeps_the_offset_and_audits_only_that_a_date_was_returned():
    trail = MemoryTrail()
    change = retrieve_swap_date(LineQuery(SWAPPED, SIM_SWAP), CONTEXT, operators=directory(), audit=trail)
    assert change == NOW - timedelta(hours=1)
    assert retrieve_swap_date(LineQuery(NEVER, SIM_SWAP), CONTEXT, operators=directory(), audit=trail) is None
    assert [(r.api, dict(r.answer)) for r in trail.records] == [
        ("sim-swap/v2/retrieve-date", {"dateReturned": True}),
        ("sim-swap/v2/retrieve-date", {"dateReturned": False}),
    ]


def test_check_is_audited_with_its_answer_and_window():
    trail = MemoryTrail()
    check(SWAPPED, 24, trail=trail)
    record = trail.records[0]
    assert (record.api, dict(record.answer), record.phone_number) == (
        "sim-swap/v2/check",
        {"swapped": True, "maxAge": 24},
        SWAPPED,
    )


@pytest.mark.parametrize(
    ("number", "error"),
    [
        ("+34600000099", IdentifierNotFoundError),
        ("+34600000004", ServiceNotApplicableError),
        ("+34600000008", OperatorBadGatewayError),
        ("+44700000001", ServiceNotApplicableError),
    ],
)
def test_refusals_are_audited_then_raised(number, error):
    trail = MemoryTrail()
    with pytest.raises(error):
        check(number, 24, trail=trail)
    assert isinstance(trail.records[0].error, error)
    assert trail.records[0].api == "sim-swap/v2/check"


def test_no_answer_without_its_audit_entry():
    with pytest.raises(AuditUnavailableError):
        check(SWAPPED, 24, trail=MemoryTrail(fail=True))


def recycled(number: str, specified: date, apis=None, trail=None) -> bool:  # type: ignore[no-untyped-def]
    trail = trail if trail is not None else MemoryTrail()
    query = LineQuery(number, NUMBER_RECYCLING)
    return check_recycling(query, specified, CONTEXT, operators=directory(apis), audit=trail)


def tenure(number: str, since: date, apis=None, trail=None) -> Tenure:  # type: ignore[no-untyped-def]
    trail = trail if trail is not None else MemoryTrail()
    return check_tenure(LineQuery(number, KYC_TENURE), since, CONTEXT, operators=directory(apis), audit=trail)


def test_recycled_only_after_the_day_the_current_subscriber_signed():
    assert recycled(RECYCLED, date(2026, 11, 19)) is True
    assert recycled(RECYCLED, date(2020, 1, 1)) is True
    # The spec's note: the day the user signed is not a change (that day as the record states it).
    assert recycled(RECYCLED, date(2026, 11, 20)) is False
    assert recycled(RECYCLED, date(2026, 11, 29)) is False


def test_a_number_without_any_record_is_not_recycled():
    assert recycled(NEVER, date(1990, 1, 1)) is False


def test_a_date_before_the_subscription_started_is_a_date_without_this_subscriber():
    # No change of subscriber on record, but the subscription began on 2012-03-15: on an earlier date
    # the number had no contract with this subscriber, which the spec's second note answers `true`.
    assert recycled("+34600000010", date(1990, 1, 1)) is True
    assert recycled("+34600000010", date(2012, 3, 14)) is True
    assert recycled("+34600000010", date(2012, 3, 15)) is False  # the day they signed: no change
    assert recycled("+34600000010", date(2024, 1, 10)) is False


def test_a_start_date_the_loaders_would_refuse_is_the_operators_fault_when_recycling_too():
    with pytest.raises(OperatorBadGatewayError):
        recycled("+34600000011", date(2024, 1, 10))


def test_tenure_since_the_start_of_the_subscription_inclusive():
    assert tenure("+34600000010", date(2012, 3, 15)) == Tenure(since_date=True)
    assert tenure("+34600000010", date(2020, 1, 1)) == Tenure(since_date=True)
    assert tenure("+34600000010", date(2012, 3, 14)) == Tenure(since_date=False)
    assert tenure(RECYCLED, date(2026, 11, 1)) == Tenure(since_date=False, contract_type="Business")


def test_without_a_start_date_tenure_is_not_confirmed():
    assert tenure(NEVER, date(2026, 11, 29)) == Tenure(since_date=False, contract_type=None)


@pytest.mark.parametrize("number", ["+34600000011", "+34600000012"], ids=["bad date", "bad contract type"])
def test_a_stored_value_outside_the_spec_is_the_operators_fault_not_a_crash(number):
    trail = MemoryTrail()
    with pytest.raises(OperatorBadGatewayError):
        tenure(number, date(2020, 1, 1), trail=trail)
    assert isinstance(trail.records[0].error, OperatorBadGatewayError)


def test_recycling_and_tenure_are_audited_with_the_answers_shape_never_a_date():
    trail = MemoryTrail()
    recycled(RECYCLED, date(2026, 11, 1), trail=trail)
    tenure(RECYCLED, date(2026, 11, 25), trail=trail)
    tenure(NEVER, date(2026, 11, 25), trail=trail)
    assert [(r.api, dict(r.answer), r.phone_number) for r in trail.records] == [
        ("number-recycling/v0.2/check", {"phoneNumberRecycled": True}, RECYCLED),
        ("kyc-tenure/v0.2/check-tenure", {"tenureDateCheck": True, "contractTypeReturned": True}, RECYCLED),
        ("kyc-tenure/v0.2/check-tenure", {"tenureDateCheck": False, "contractTypeReturned": False}, NEVER),
    ]
    assert all(r.operator_id == "sandbox" and r.error is None for r in trail.records)


def test_recycling_and_tenure_not_offered_are_422_and_audited():
    trail = MemoryTrail()
    only_swaps = OfferedApis(sim_swap=("v2",), device_swap=("v1",))
    with pytest.raises(ServiceNotApplicableError):
        recycled(RECYCLED, date(2026, 11, 1), apis=only_swaps, trail=trail)
    with pytest.raises(ServiceNotApplicableError):
        tenure(RECYCLED, date(2026, 11, 1), apis=OfferedApis(number_recycling=("v0.2",)), trail=trail)
    assert [(r.api, type(r.error)) for r in trail.records] == [
        ("number-recycling/v0.2/check", ServiceNotApplicableError),
        ("kyc-tenure/v0.2/check-tenure", ServiceNotApplicableError),
    ]
    assert recycled(RECYCLED, date(2026, 11, 1), apis=OfferedApis(number_recycling=("v0.2",))) is True
    assert tenure(RECYCLED, date(2026, 11, 25), apis=OfferedApis(kyc_tenure=("v0.2",))).since_date is True


@pytest.mark.parametrize(("ask", "api"), [(check_recycling, NUMBER_RECYCLING), (check_tenure, KYC_TENURE)])
def test_an_operator_without_line_history_answers_neither_recycling_nor_tenure(ask, api):
    trail, operators = MemoryTrail(), PrefixRouter({"+34": FakeOperator("op-es")})
    with pytest.raises(ServiceNotApplicableError):
        ask(LineQuery(RECYCLED, api), date(2020, 1, 1), CONTEXT, operators=operators, audit=trail)
    assert (trail.records[0].operator_id, trail.records[0].api) == (
        "op-es",
        f"{api.path}/{api.operations[0]}",
    )
