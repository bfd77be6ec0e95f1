"""The load script's core, small: two simulated operators behind `kyc-match serve`, every answer
right and every request audited exactly once, and 64 clients at once answered without a connection
error (#29 item 7). Counts only: no timing is asserted."""

import asyncio
import importlib.util
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

LOAD_SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "load.py"


def _load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kyc_match_bench_load", LOAD_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


load = _load_module()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with load.local_setup(latency=0.005, workdir=tmp_path_factory.mktemp("load")) as local:
        yield local


def _run(setup: Any, requests: int, concurrency: int) -> tuple[Any, list[str]]:
    run_id = uuid.uuid4().hex[:12]
    report = asyncio.run(load.run_load(setup.base_url, requests, concurrency, time_limit=60, run_id=run_id))
    return report, load.check_audit(setup, report)


def test_sequential_load_is_answered_and_audited(setup: Any) -> None:
    report, unaudited = _run(setup, requests=100, concurrency=1)
    assert report.error_count == 0, dict(report.errors)
    assert len(report.correlators) == 100
    assert unaudited == []


def test_concurrent_load_is_answered_and_audited(setup: Any) -> None:
    report, unaudited = _run(setup, requests=100, concurrency=4)
    assert report.error_count == 0, dict(report.errors)
    assert unaudited == []


def test_64_concurrent_clients_get_no_connection_error(setup: Any) -> None:
    """#29 item 7: with a listen backlog of 5, 64 clients connecting together lost handshakes
    (ReadError: reset by the server's kernel, retried SYNs a second later)."""
    report, unaudited = _run(setup, requests=128, concurrency=64)
    assert report.connection_errors == 0, dict(report.errors)
    assert report.error_count == 0, dict(report.errors)
    assert len(report.correlators) == 128
    assert unaudited == []
