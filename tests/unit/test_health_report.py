"""The health report: what it answers, how long it keeps an answer, and that a failing probe is a 503."""

from kyc_match.health import CACHE_SECONDS, CachedHealth, HealthReport
from support.doubles import CountingProbe, ManualClock


def test_all_probes_ok_is_a_200_naming_each_check():
    report = HealthReport({"table": True, "kms": True})
    assert report.status == 200
    assert report.body() == {"status": "ok", "checks": {"table": "ok", "kms": "ok"}}


def test_one_probe_down_is_a_503_naming_which():
    report = HealthReport({"table": True, "kms": False})
    assert report.status == 503
    assert report.body() == {"status": "unavailable", "checks": {"table": "ok", "kms": "unavailable"}}


def test_probes_run_once_per_cache_period_then_again():
    clock, table = ManualClock(), CountingProbe([True, False])
    health = CachedHealth({"table": table}, clock=clock)
    assert health.report().healthy and health.report().healthy
    clock.advance(CACHE_SECONDS - 0.1)
    assert health.report().healthy and table.calls == 1
    clock.advance(0.1)
    assert not health.report().healthy and table.calls == 2


def test_a_failure_is_cached_too():
    clock, kms = ManualClock(), CountingProbe([False, True])
    health = CachedHealth({"kms": kms}, clock=clock)
    assert health.report().status == 503
    clock.advance(1)
    assert health.report().status == 503 and kms.calls == 1


def test_a_probe_that_raises_is_unavailable_and_its_text_is_not_logged(handler_log):
    def broken() -> bool:
        raise RuntimeError("secret detail +34600000001")

    report = CachedHealth({"table": lambda: True, "kms": broken}).report()
    assert report.body()["checks"] == {"table": "ok", "kms": "unavailable"}
    lines = handler_log.read_text().splitlines()
    assert [line for line in lines if "health probe failed" in line and '"error_type":"RuntimeError"' in line]
    assert not [line for line in lines if "+34600000001" in line or "secret detail" in line]
