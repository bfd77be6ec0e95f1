"""The simulator's check of an API call's body: the operator's own errors, never a dropped connection."""

import pytest

from kyc_match_tools.operator_sim.simulator import permitted_object


def test_a_token_without_the_operations_scope_is_refused_before_the_body_is_read():
    status, body = permitted_object(b"not even json", allowed=False)  # type: ignore[misc]
    assert (status, body["code"]) == (403, "PERMISSION_DENIED")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "The request body is not valid JSON."),
        (b"[" * 100_000, "The request body is not valid JSON."),  # deeper than json's recursion limit
        (b"[]", "The request body must be a JSON object."),
    ],
)
def test_a_body_that_is_not_a_json_object_is_invalid_argument(body: bytes, message: str):
    status, answer = permitted_object(body, allowed=True)  # type: ignore[misc]
    assert (status, answer["code"], answer["message"]) == (400, "INVALID_ARGUMENT", message)


def test_a_json_object_is_handed_back():
    assert permitted_object(b'{"phoneNumber": "+34600000005"}', allowed=True) == {
        "phoneNumber": "+34600000005"
    }
