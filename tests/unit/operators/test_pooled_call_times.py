"""Operator calls on the container's pool (a decision's line checks) never write to stdout from the
pool's threads: the request's thread emits their OperatorLatency lines when it closes its batch, a
call still running then at what it has cost so far, and nothing afterwards."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor, wait

from kyc_match.operators.tasks import PooledTasks
from kyc_match.operators.timing import operator_call


def latencies(out: str) -> list[str]:
    return sorted(json.loads(line)["operator"] for line in out.splitlines() if "OperatorLatency" in line)


def test_the_request_thread_emits_its_checks_latencies_once_when_it_stops_waiting(capsys):
    executor = ThreadPoolExecutor(2, thread_name_prefix="test-checks")
    release, entered = threading.Event(), threading.Event()

    def answers():
        with operator_call("op-fast"):
            return "answered"

    def hangs():
        with operator_call("op-slow"):
            entered.set()
            release.wait(10)
        return "too late"

    try:
        capsys.readouterr()
        batch = PooledTasks(executor).batch()
        fast, slow = batch.submit(answers), batch.submit(hangs)
        wait([fast])
        assert entered.wait(10)
        assert fast.result() == "answered"
        assert latencies(capsys.readouterr().out) == []  # not from the pool's thread
        batch.close()  # the request stops waiting: the finished call and the running one
        assert latencies(capsys.readouterr().out) == ["op-fast", "op-slow"]
        release.set()
        assert slow.result(10) == "too late"
        batch.close()  # closing again emits nothing twice
        assert latencies(capsys.readouterr().out) == []  # the abandoned call, nothing later
    finally:
        release.set()
        executor.shutdown(wait=True)


def test_a_task_not_started_when_the_request_stops_waiting_never_runs(capsys):
    executor = ThreadPoolExecutor(1, thread_name_prefix="test-checks")
    release = threading.Event()
    ran: list[str] = []
    try:
        batch = PooledTasks(executor).batch()
        batch.submit(lambda: release.wait(10))
        queued = batch.submit(lambda: ran.append("queued"))
        batch.close()
        assert queued.cancelled()
    finally:
        release.set()
        executor.shutdown(wait=True)
    assert ran == []
