"""Each container remembers where a number goes for a bounded time and a bounded number of numbers:
a repeated number costs no table read, a number ported meanwhile is routed right within
ROUTE_CACHE_SECONDS, and memory stays flat whatever numbers arrive."""

import pytest

from kyc_match.domain.errors import UnavailableError
from kyc_match.operators.ported import ROUTE_CACHE_ENTRIES, ROUTE_CACHE_SECONDS, RecentRoutes
from kyc_match.operators.routing import PortingRouter, PrefixRouter
from support.doubles import FakeOperator, ManualClock, MemoryPortedNumbers

ES, JP = FakeOperator("op-es"), FakeOperator("op-jp")
NUMBER = "+34600000101"


def routes(table: MemoryPortedNumbers, clock: ManualClock, **bounds: float) -> RecentRoutes:
    return RecentRoutes(table, clock=clock, **bounds)  # type: ignore[arg-type]


def test_a_repeated_number_is_read_once_within_the_lifetime_not_ported_included():
    table, clock = MemoryPortedNumbers({NUMBER: "op-jp"}), ManualClock()
    cached = routes(table, clock)
    assert [cached.operator_of(NUMBER) for _ in range(3)] == ["op-jp"] * 3
    assert [cached.operator_of("+34600000001") for _ in range(3)] == [None] * 3  # "not ported" is kept too
    assert table.asked == [NUMBER, "+34600000001"]


def test_an_answer_is_read_again_once_its_lifetime_is_over():
    table, clock = MemoryPortedNumbers({NUMBER: "op-jp"}), ManualClock()
    cached = routes(table, clock)
    cached.operator_of(NUMBER)
    clock.advance(ROUTE_CACHE_SECONDS - 0.001)
    cached.operator_of(NUMBER)
    assert table.asked == [NUMBER]
    clock.advance(0.001)
    cached.operator_of(NUMBER)
    assert table.asked == [NUMBER, NUMBER]


def test_a_number_ported_meanwhile_goes_to_its_new_operator_within_the_stated_bound():
    """Given a number routed by its prefix, when it is ported, then requests within
    ROUTE_CACHE_SECONDS of the earlier read may still go to the old operator, and none after."""
    ported: dict[str, str] = {}
    clock = ManualClock()
    directory = PortingRouter(
        PrefixRouter({"+34": ES, "+81": JP}),
        routes(MemoryPortedNumbers(ported), clock),
        {"op-es": ES, "op-jp": JP},
    )
    assert directory.operator_for(NUMBER) is ES
    clock.advance(10)
    ported[NUMBER] = "op-jp"  # `kyc-match ported-numbers load` on another machine
    assert directory.operator_for(NUMBER) is ES  # within the bound: the container's answer still holds
    clock.advance(ROUTE_CACHE_SECONDS - 10)
    assert directory.operator_for(NUMBER) is JP


def test_the_lifetime_counts_from_the_read_not_from_when_it_ended():
    """A read that takes long (throttling, retries) does not stretch the bound."""
    clock = ManualClock()

    class SlowTable(MemoryPortedNumbers):
        def operator_of(self, phone_number: str) -> str | None:
            clock.advance(5)
            return super().operator_of(phone_number)

    table = SlowTable()
    cached = routes(table, clock)
    cached.operator_of(NUMBER)
    clock.advance(ROUTE_CACHE_SECONDS - 5)
    cached.operator_of(NUMBER)
    assert table.asked == [NUMBER, NUMBER]


def test_past_the_size_bound_the_least_recently_asked_number_is_forgotten():
    table, clock = MemoryPortedNumbers(), ManualClock()
    cached = routes(table, clock, entries=3)
    for number in ("+34600000001", "+34600000002", "+34600000003"):
        cached.operator_of(number)
    cached.operator_of("+34600000001")  # asked again: now the most recent
    cached.operator_of("+34600000004")  # one too many: +34600000002 goes
    table.asked.clear()
    for number in ("+34600000001", "+34600000003", "+34600000004", "+34600000002"):
        cached.operator_of(number)
    assert table.asked == ["+34600000002"]


def test_the_default_bound_holds_under_a_flood_of_distinct_numbers():
    table, clock = MemoryPortedNumbers(), ManualClock()
    cached = routes(table, clock)
    flood = [f"+346{index:08d}" for index in range(ROUTE_CACHE_ENTRIES + 500)]
    for number in flood:
        cached.operator_of(number)
    table.asked.clear()
    for number in flood[-ROUTE_CACHE_ENTRIES:]:
        cached.operator_of(number)
    assert table.asked == [], "the latest ROUTE_CACHE_ENTRIES numbers are all kept"
    cached.operator_of(flood[-ROUTE_CACHE_ENTRIES - 1])
    assert table.asked == [flood[-ROUTE_CACHE_ENTRIES - 1]], "just beyond the bound: forgotten"


def test_a_failed_read_is_not_kept():
    table, clock = MemoryPortedNumbers({NUMBER: "op-jp"}, fail=UnavailableError()), ManualClock()
    cached = routes(table, clock)
    with pytest.raises(UnavailableError):
        cached.operator_of(NUMBER)
    table.fail = None
    assert cached.operator_of(NUMBER) == "op-jp"
    assert table.asked == [NUMBER, NUMBER]


@pytest.mark.parametrize(("seconds", "entries"), [(0, 10), (60, 0)])
def test_a_cache_without_a_bound_is_refused(seconds, entries):
    with pytest.raises(ValueError, match="positive lifetime"):
        RecentRoutes(MemoryPortedNumbers(), seconds=seconds, entries=entries)
