"""The operator-latency metric: milliseconds of the block, one EMF line, the operator as only dimension."""

import json
import subprocess
import sys
from pathlib import Path

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


EMITTERS = """
import sys, threading
from kyc_match.operators.timing import operator_call

def calls(name):
    for _ in range(1000):
        with operator_call(name):
            pass

threads = [threading.Thread(target=calls, args=(f"op-{index}",)) for index in range(5)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


def test_operator_calls_ending_on_several_threads_emit_whole_lines():
    """`kyc-match serve`'s request threads end operator calls side by side in one process: each EMF
    line must stay one JSON document on stdout (a pipe, as in Lambda), or CloudWatch drops it.
    `print` writes the text and the newline separately, so unserialised threads interleave them."""
    functions = Path(__file__).resolve().parents[3] / "functions"
    completed = subprocess.run(
        [sys.executable, "-c", EMITTERS],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=functions,
        check=True,
    )
    lines = completed.stdout.splitlines()
    assert len(lines) == 5000
    assert [line for line in lines if not _whole_document(line)] == []


def _whole_document(line: str) -> bool:
    try:
        return "OperatorLatency" in json.loads(line)
    except ValueError:
        return False
