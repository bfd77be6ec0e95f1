"""SIM Swap / Device Swap use cases with in-memory fakes: the window, missing records, operator
capabilities (422, never 5xx) and the audit record of every outcome (an answer's shape, never a date)."""

from datetime import UTC, datetime, timedelta

import pytest

from kyc_match.domain.errors import (
    AuditUnavailableError,
    IdentifierNotFoundError,
    OperatorBadGatewayError,
    ServiceNotApplicableError,
)
from kyc_match.domain.line_history import DEVICE_SWAP, SIM_SWAP, LineQuery, check_swap, retrieve_swap_date
from kyc_match.domain.model import CallContext
from kyc_match.operators.config import OfferedApis, OperatorConfig
from kyc_match.operators.directory import PrefixDirectory
from kyc_match.operators.sandbox import SandboxOperator
from support.doubles import FakeOperator, MemorySubscribers, MemoryTrail

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CONTEXT = CallContext("client-1", "req-1", "corr-1", NOW, 0)
SWAPPED = "+34600000005"
NEVER = "+34600000007"
RECORDS = [
    {
        "phoneNumber": SWAPPED,
        "simSwapDate": "2026-11-30T13:00:00+02:00",
        "deviceSwapDate": "2026-11-20T12:00:00Z",
    },
    {"phoneNumber": NEVER},
    {"phoneNumber": "+34600000008", "simSwapDate": "yesterday"},
    {"phoneNumber": "+34600000004", "serviceApplicable": False},
]


def directory(apis: OfferedApis | None = None) -> PrefixDirectory:
    config = OperatorConfig(id="sandbox", kind="sandbox", prefixes=("+34",), apis=apis)
    return PrefixDirectory({"+34": SandboxOperator(config, MemorySubscribers(RECORDS))})


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
    operators = PrefixDirectory({"+34": FakeOperator("op-es")})
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
