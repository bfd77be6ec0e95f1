"""The six policies a risk review stored, approved and activated, each ACCEPTing on thin evidence
(issue #22), with the start of the message the policy checker now refuses each with. One copy, for
the unit tests (the checker) and the integration tests (the CLI and the handler)."""

from typing import Any


def policy(full: list[Any], partial: list[Any] | None = None, **rest: Any) -> dict[str, Any]:
    partial = partial or [{"attributes": ["name"], "accept": ["match", "near"]}]
    levels = {"FULL": {"groups": full}, "PARTIAL": {"groups": partial}}
    return {"policyId": "thin", "format": 2, "levels": levels} | rest


UNSAFE: dict[str, tuple[dict[str, Any], str]] = {
    "gender alone": (
        policy(
            [{"attributes": ["gender"]}],
            [{"attributes": ["gender"], "accept": ["match", "near"]}],
            decisions={"FULL": "ACCEPT", "PARTIAL": "STEP_UP", "NONE": "STEP_UP"},
        ),
        "levels.FULL: ACCEPT is reachable without a full name",
    ),
    "birthdate alone": (
        policy([{"attributes": ["birthdate"]}], [{"attributes": ["birthdate"], "accept": ["match", "near"]}]),
        "levels.FULL: ACCEPT is reachable without a full name",
    ),
    "givenName alone, ACCEPT at PARTIAL": (
        policy(
            [{"attributes": ["givenName", "familyName", "birthdate"]}],
            [{"attributes": ["givenName"]}],
            decisions={"FULL": "ACCEPT", "PARTIAL": "ACCEPT", "NONE": "STEP_UP"},
        ),
        "levels.PARTIAL: ACCEPT is reachable without a full name",
    ),
    "name alone": (
        policy([{"attributes": ["name"]}]),
        "levels.FULL: ACCEPT is reachable without an identity anchor (idDocument or birthdate)",
    ),
    "gender plus a name scoring 57": (
        policy(
            [{"attributes": ["gender"]}, {"attributes": ["name", "birthdate"], "minScore": {"name": 57}}],
            [{"attributes": ["gender"]}],
        ),
        "levels.FULL.groups[1].minScore.name: 57 is below 90, the lowest score an ACCEPT may count",
    ),
    "document at FULL, name only at PARTIAL": (
        # "John Smith" against Federica's record: ACCEPTed on the document, the name's mismatch unsaid.
        policy(
            [{"attributes": ["idDocument"]}],
            [{"attributes": ["idDocument", "name"], "accept": ["match", "near"], "minMatched": 1}],
        ),
        "levels.FULL: ACCEPT is reachable without a full name",
    ),
}
