"""openapi/kyc-match-aggregator.yaml: one self-contained document for everything we serve (#28 item 2).

The committed file is what `python -m kyc_match_tools.openapi_bundle` writes today (so it cannot drift
from spec/, openapi/, the API registry or the error catalogue), it is a valid OpenAPI 3.0 document
with no reference outside itself, and it lists exactly the routes the function answers.
"""

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from kyc_match.api.app import (
    ASSESS_PATH,
    COVERAGE_PATH,
    HEALTH_PATH,
    JWKS_PATH,
    LINE_PATHS,
    MATCH_PATH,
    OUTCOME_PATH,
    WITNESS_KEYS_PATH,
)
from kyc_match.catalogue import CATALOGUE
from kyc_match.domain.apis import CAMARA_APIS, CamaraApi
from kyc_match_tools import openapi_bundle
from kyc_match_tools.openapi_bundle import OUTPUT, ROOT, BundleError, build, bundle, render

SERVICE_PATHS = {HEALTH_PATH, JWKS_PATH, WITNESS_KEYS_PATH}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / OUTPUT).read_text(encoding="utf-8"))
    return loaded


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def test_the_committed_document_is_what_the_bundler_writes_today() -> None:
    committed = (ROOT / OUTPUT).read_bytes()
    assert committed == build().encode("utf-8"), (
        f"{OUTPUT} is stale: run .venv/bin/python -m kyc_match_tools.openapi_bundle and commit it"
    )
    assert openapi_bundle.main(["--check"]) == 0


def test_it_is_a_valid_openapi_3_0_document(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.0.")
    validate(document)


def test_every_reference_is_inside_the_document_and_resolves(document: dict[str, Any]) -> None:
    refs = _refs(document)
    assert refs
    for ref in set(refs):
        assert ref.startswith("#/components/"), ref
        _, _, kind, name = ref.split("/")
        assert name in document["components"][kind], ref


def test_it_lists_every_route_the_function_answers_and_no_other(document: dict[str, Any]) -> None:
    outcome = OUTCOME_PATH.replace("<decision_id>", "{decisionId}")  # the resolver's syntax, OpenAPI's
    served = {MATCH_PATH, ASSESS_PATH, COVERAGE_PATH, outcome, *LINE_PATHS, *SERVICE_PATHS}
    assert set(document["paths"]) == served
    # Every API of the registry, including KYC Age Verification (#27 item 2), under its own tag.
    tags = {tag["name"] for tag in document["tags"]}
    for api in CAMARA_APIS:
        assert api.title.rsplit(" v", 1)[0] in tags
        for route in api.routes:
            assert document["paths"][route]["post"]["tags"] == [api.title.rsplit(" v", 1)[0]]


def test_api_operations_take_our_api_key_and_the_service_routes_none(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"] == {
        "apiKey": {
            "type": "apiKey",
            "in": "header",
            "name": "x-api-key",
            "description": document["components"]["securitySchemes"]["apiKey"]["description"],
        }
    }
    assert document["security"] == [{"apiKey": []}]
    for name, operation in _operations(document).items():
        if name.split(" ")[1] in SERVICE_PATHS:
            assert operation["security"] == [], name
        else:
            assert "security" not in operation, name  # the document's: x-api-key, not CAMARA's openId


def test_every_status_of_the_error_catalogue_is_declared_by_every_api_operation(
    document: dict[str, Any],
) -> None:
    statuses = {str(error.status) for error in CATALOGUE}
    for name, operation in _operations(document).items():
        if name.split(" ")[1] not in SERVICE_PATHS:
            assert statuses <= set(operation["responses"]), name
    throttled = document["components"]["responses"]["Aggregator_Generic429"]
    codes = throttled["content"]["application/json"]["schema"]["allOf"][1]["properties"]["code"]["enum"]
    assert codes == ["TOO_MANY_REQUESTS", "QUOTA_EXCEEDED"]
    for error in CATALOGUE:  # the catalogue, as a table in the description
        assert f"| {error.status} | `{error.code}` | {error.message} |" in document["info"]["description"]


def test_camara_schemas_are_kept_under_prefixed_names(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    source = yaml.safe_load((ROOT / "spec" / "signals" / "sim-swap.yaml").read_text(encoding="utf-8"))
    assert schemas["SimSwap_CheckSimSwapInfo"] == source["components"]["schemas"]["CheckSimSwapInfo"]
    match = document["paths"][MATCH_PATH]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert match == {"$ref": "#/components/schemas/KycMatch_KYC_MatchRequestBody"}
    # What openapi/kyc-decision-v1.yaml took from spec/ by a remote reference, now local.
    assess = schemas["KycDecision_AssessResponse"]["properties"]["matchResults"]
    assert assess == {"$ref": "#/components/schemas/KycMatch_KYC_MatchResponse"}


def test_a_described_reference_is_read_as_its_type() -> None:
    """CAMARA's `allOf: [{$ref}, {description}]` keeps its description, as a single-reference allOf."""
    response = bundle()["components"]["schemas"]["KycMatch_KYC_MatchResponse"]["properties"]["nameMatch"]
    assert response["allOf"] == [{"$ref": "#/components/schemas/KycMatch_MatchResult"}]
    assert response["description"].startswith("Indicates whether the complete name")


FAKE_SPEC = """\
openapi: 3.0.3
info: {title: Fake Signal, version: 0.1.0}
servers: [{url: '{apiRoot}/fake-signal/v0.1'}]
paths:
  /check:
    post:
      operationId: checkFakeSignal
      security: [{openId: ['fake-signal:check']}]
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/FakeRequest'}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '../CAMARA_common.yaml#/components/schemas/PhoneNumber'}
components:
  securitySchemes:
    openId: {type: openIdConnect, openIdConnectUrl: https://example.org/.well-known/openid-configuration}
  schemas:
    FakeRequest:
      type: object
      properties:
        phoneNumber: {$ref: '../CAMARA_common.yaml#/components/schemas/PhoneNumber'}
"""


def test_an_api_added_to_the_registry_is_bundled(tmp_path: Path) -> None:
    for folder in ("openapi", "spec"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / "spec" / "signals" / "fake-signal.yaml").write_text(FAKE_SPEC, encoding="utf-8")
    fake = CamaraApi(
        "fakeSignal", "fake-signal/v0.1", "v0.1", ("check",), "Fake Signal v0.1.0", "signals/fake-signal.yaml"
    )

    document = bundle(tmp_path, (*CAMARA_APIS, fake))

    validate(yaml.safe_load(render(document)))
    operation = document["paths"]["/fake-signal/v0.1/check"]["post"]
    assert operation["tags"] == ["Fake Signal"]
    assert "security" not in operation
    schemas = document["components"]["schemas"]
    assert schemas["FakeSignal_FakeRequest"]["properties"]["phoneNumber"] == {
        "$ref": "#/components/schemas/Common_PhoneNumber"
    }


def test_a_reference_the_bundler_cannot_follow_is_refused(tmp_path: Path) -> None:
    for folder in ("openapi", "spec"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    broken = FAKE_SPEC.replace("../CAMARA_common.yaml#/components/schemas/PhoneNumber", "#/paths/~1check")
    (tmp_path / "spec" / "signals" / "fake-signal.yaml").write_text(broken, encoding="utf-8")
    fake = CamaraApi(
        "fakeSignal", "fake-signal/v0.1", "v0.1", ("check",), "Fake Signal v0.1.0", "signals/fake-signal.yaml"
    )

    with pytest.raises(BundleError, match="is not to a component"):
        bundle(tmp_path, (*CAMARA_APIS, fake))
