"""When/Then steps shared by the line-history test plans (SIM Swap, Device Swap, Number Recycling, KYC
Tenure): a call with its own correlator, a 200 checked against the spec's own schema, and the check
that every scenario of a plan has a test."""

import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from support import contract
from support.assertions import assert_error
from support.transports import Reply, Transport

# phoneNumber values the specs' PhoneNumber pattern refuses (C02.01 of every plan).
# `None`: the spec declares no property nullable; a null number is not a missing one (422 MISSING_IDENTIFIER).
INVALID_NUMBERS = ["34600000005", "+0600000005", "+34 600 000 005", "+1234", 34600000005, None]


def send(api: Transport, path: str, body: Any, **kwargs: Any) -> tuple[Reply, str]:
    """POST `body` to `path` with a fresh x-correlator (unless `headers` are given); the reply and it."""
    headers = kwargs.pop("headers", {"x-correlator": f"line-{uuid.uuid4()}"})
    return api.send(body, path=path, headers=headers, **kwargs), headers.get("x-correlator", "")


def answer(api: Transport, path: str, body: Any, schema_name: str, spec: Path) -> tuple[dict[str, Any], str]:
    """The plans' success Then-steps: 200, JSON, the correlator echoed, the body valid against the
    spec's `schema_name`. Returns the body and the correlator."""
    reply, correlator = send(api, path, body)
    assert reply.status == 200, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.headers["x-correlator"] == correlator
    document = reply.json()
    contract.validate(document, contract.schema(f"/components/schemas/{schema_name}", spec=spec))
    assert isinstance(document, dict)
    return document, correlator


def assert_every_scenario_tested(
    request: pytest.FixtureRequest, plans: Iterable[Mapping[str, Any]], set_aside: set[str]
) -> None:
    """Every scenario of the plans has a test marked `scenario(<tag>)`, but those set aside (each
    with its reason where declared); and a scenario set aside exists in the plans."""
    covered = {marker.args[0] for item in request.session.items for marker in item.iter_markers("scenario")}
    planned = {tag for plan in plans for tag in plan}
    assert planned - set_aside - covered == set()
    assert planned >= set_aside, "a scenario set aside must exist in the plans"


def assert_unauthenticated(
    api: Transport, path: str, body: Any, spec: Path, *, key: str | None = None
) -> None:
    """401 UNAUTHENTICATED without an API key or (over HTTP, where keys are checked) with `key`, one no
    client holds: the plans' expired and invalid tokens."""
    if key is None:
        reply, _ = send(api, path, body, authenticated=False)
    else:
        reply, _ = send(api, path, body, headers={"x-api-key": key, "x-correlator": "line-bad-key"})
    assert_error(reply, 401, "UNAUTHENTICATED", spec)
