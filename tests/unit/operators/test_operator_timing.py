"""The operator-latency metric: milliseconds of the block, one EMF line, the operator as only dimension."""

import json

import pytest

from kyc_match.operators.timing import operator_call
from support.doubles import ManualClock


def emitted(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if "OperatorLatency" in line]


def test_an_answer_is_timed_in_milliseconds(capsys):
    clock = ManualClock(100.0)
    with operator_call("op-a", clock):
        clock.advance(0.25)
    [metric] = emitted(capsys.readouterr().out)
    directive = metric["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "KycMatch"
    assert directive["Dimensions"] == [["service", "operator"]]
    assert directive["Metrics"] == [{"Name": "OperatorLatency", "Unit": "Milliseconds"}]
    assert set(metric) == {"_aws", "service", "operator", "OperatorLatency"}
    assert (metric["service"], metric["operator"], metric["OperatorLatency"]) == (
        "kyc-match",
        "op-a",
        [250.0],
    )


def test_a_failed_call_is_timed_too_and_its_error_passes_through(capsys):
    clock = ManualClock()

    class Hung(Exception):
        pass

    with pytest.raises(Hung), operator_call("op-b", clock):
        clock.advance(1.5)
        raise Hung
    [metric] = emitted(capsys.readouterr().out)
    assert (metric["operator"], metric["OperatorLatency"]) == ("op-b", [1500.0])
