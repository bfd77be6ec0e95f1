"""serve's access line names a path only as one of our routes: a decision's id is never printed."""

import pytest

from kyc_match.api.app import COVERAGE_PATH, MATCH_PATH, WITNESS_KEYS_PATH
from kyc_match_tools.server import OTHER_PATH, access_path


@pytest.mark.parametrize("path", [MATCH_PATH, COVERAGE_PATH, WITNESS_KEYS_PATH])
def test_our_paths_are_named_as_they_are(path):
    assert access_path(path) == path


def test_an_outcome_is_named_by_its_route_not_its_decision_id():
    named = access_path("/kyc-decision/v1/decisions/c2VjcmV0LWlk/outcome")
    assert named == "/kyc-decision/v1/decisions/{decisionId}/outcome"


@pytest.mark.parametrize(
    "path",
    [
        "/kyc-match/v0.4/+34600000001",
        "/kyc-decision/v1/decisions/a/b/outcome",
        "/kyc-decision/v1/decisions//outcome",
    ],
)
def test_any_other_path_is_not_printed(path):
    assert access_path(path) == OTHER_PATH
