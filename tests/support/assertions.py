"""Then-steps of the CAMARA test plan, checked against the spec's own schemas."""

from pathlib import Path

from support import contract
from support.transports import Reply

RESPONSE_SCHEMA = contract.schema("/components/schemas/KYC_MatchResponse")


def assert_success(reply: Reply, correlator: str) -> dict[str, object]:
    assert reply.status == 200, reply.text
    assert reply.headers["x-correlator"] == correlator
    assert reply.headers["content-type"].startswith("application/json")
    body = reply.json()
    contract.validate(body, RESPONSE_SCHEMA)
    assert isinstance(body, dict)
    return body


def assert_error(reply: Reply, status: int, code: str, spec: Path = contract.SPEC_FILE) -> dict[str, object]:
    assert reply.status == status, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.headers.get("x-correlator"), "every response carries an x-correlator"
    body = reply.json()
    contract.validate(body, contract.error_schema(status, spec))
    assert body["status"] == status
    assert body["code"] == code
    assert isinstance(body["message"], str) and len(body["message"]) > 10, "a user friendly text"
    return body


def assert_only_sent_attributes(body: dict[str, object], sent: dict[str, object]) -> None:
    """The response holds results for the attributes sent, and nothing else."""
    expected = {f"{name}Match" for name in sent if name != "phoneNumber"}
    results = {key for key in body if key.endswith("Match")}
    assert results == expected
    for key in body:
        if key.endswith("MatchScore"):
            assert body[key.removesuffix("Score")] == "false", f"{key} only beside a false"
