"""The CAMARA contract as the spec files state it: schemas and test-plan scenarios, read from spec/."""

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from gherkin.parser import Parser
from openapi_schema_validator import OAS30Validator

SPEC_DIR = Path(__file__).resolve().parents[2] / "spec"
SPEC_FILE = SPEC_DIR / "kyc-match-v0.4.0.yaml"
COMMON_FILE = SPEC_DIR / "CAMARA_common.yaml"
FEATURE_FILE = SPEC_DIR / "kyc-match-v0.4.0.feature"
DECISION_FILE = SPEC_DIR.parent / "openapi" / "kyc-decision-v1.yaml"
COVERAGE_FILE = SPEC_DIR.parent / "openapi" / "kyc-coverage-v1.yaml"
SIM_SWAP_FILE = SPEC_DIR / "signals" / "sim-swap.yaml"
DEVICE_SWAP_FILE = SPEC_DIR / "signals" / "device-swap.yaml"
SIM_SWAP_FEATURES = tuple(sorted((SPEC_DIR / "signals").glob("sim-swap-*.feature")))
NUMBER_RECYCLING_FILE = SPEC_DIR / "signals" / "number-recycling.yaml"
NUMBER_RECYCLING_FEATURE = SPEC_DIR / "signals" / "number-recycling.feature"
KYC_TENURE_FILE = SPEC_DIR / "signals" / "kyc-tenure.yaml"
KYC_TENURE_FEATURE = SPEC_DIR / "signals" / "kyc-tenure.feature"
AGE_VERIFICATION_FILE = SPEC_DIR / "age" / "kyc-age-verification-v0.2.1.yaml"
AGE_VERIFICATION_FEATURE = SPEC_DIR / "age" / "kyc-age-verification-v0.2.1.feature"


@cache
def _document(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def _inline(node: Any, document: Mapping[str, Any], base: Path = SPEC_FILE) -> Any:
    """Resolve `#/...` and `file.yaml#/...` references, so a schema can be validated on its own."""
    if isinstance(node, dict):
        if "$ref" in node:
            file_part, _, pointer = node["$ref"].partition("#")
            target_file = (base.parent / file_part).resolve() if file_part else base
            target_document = _document(target_file) if file_part else document
            target: Any = target_document
            for part in pointer.strip("/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            return _inline(target, target_document, target_file)
        return {key: _inline(value, document, base) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, document, base) for item in node]
    return node


def schema(pointer: str, *, common: bool = False, spec: Path = SPEC_FILE) -> dict[str, Any]:
    """A schema of the spec (default KYC Match) by JSON pointer, e.g. '/components/schemas/KYC_MatchResponse'."""
    source = COMMON_FILE if common else spec
    document = _document(source)
    node: Any = document
    for part in pointer.strip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    resolved: dict[str, Any] = _inline(node, document, source)
    return resolved


def match_attributes() -> frozenset[str]:
    """The identity attributes a match request may carry (the request body's properties but phoneNumber)."""
    properties = schema("/components/schemas/KYC_MatchRequestBody")["properties"]
    return frozenset(properties) - {"phoneNumber"}


def scored_attributes() -> frozenset[str]:
    """The attributes the response may score (those with a `<attribute>MatchScore` property)."""
    properties = schema("/components/schemas/KYC_MatchResponse")["properties"]
    return frozenset(name.removesuffix("MatchScore") for name in properties if name.endswith("MatchScore"))


def error_schema(status: int, spec: Path = SPEC_FILE) -> dict[str, Any]:
    """The spec's response schema for an error status; statuses the API file lacks come from Commonalities."""
    responses = _document(spec)["components"]["responses"]
    name = f"Generic{status}"
    pointer = f"/components/responses/{name}/content/application~1json/schema"
    return schema(pointer, common=name not in responses, spec=spec)


def decision_schema(pointer: str) -> dict[str, Any]:
    """A schema of our own KYC Decision document (openapi/kyc-decision-v1.yaml)."""
    document = _document(DECISION_FILE)
    node: Any = document
    for part in pointer.strip("/").split("/"):
        node = node[part.replace("~1", "/")]
    resolved: dict[str, Any] = _inline(node, document, DECISION_FILE)
    return resolved


def decision_response_schema(status: int) -> dict[str, Any]:
    responses = "/paths/~1assess/post/responses"
    node = decision_schema(f"{responses}/{status}")
    schema_: dict[str, Any] = node["content"]["application/json"]["schema"]
    return schema_


def validate(instance: Any, schema_: Mapping[str, Any]) -> None:
    """Raise jsonschema.ValidationError when `instance` breaks the OpenAPI 3.0 schema."""
    OAS30Validator(dict(schema_)).validate(instance)


@cache
def scenarios(feature_file: Path = FEATURE_FILE) -> dict[str, dict[str, Any]]:
    """Every scenario of a test plan (default KYC Match's), by tag (without '@'), with its example rows."""
    feature = Parser().parse(feature_file.read_text(encoding="utf-8"))["feature"]
    found: dict[str, dict[str, Any]] = {}
    for child in feature["children"]:
        scenario = child.get("scenario")
        if not scenario:
            continue
        rows: list[dict[str, str]] = []
        for examples in scenario.get("examples", []):
            header = [cell["value"] for cell in examples["tableHeader"]["cells"]]
            rows += [
                dict(zip(header, (c["value"] for c in row["cells"]), strict=True))
                for row in examples["tableBody"]
            ]
        for tag in scenario["tags"]:
            found[tag["name"].lstrip("@")] = {"name": scenario["name"], "examples": rows}
    return found


def example_rows(tag: str) -> list[dict[str, str]]:
    return scenarios()[tag]["examples"]


def property_name(json_path: str) -> str:
    """'$.givenName' -> 'givenName'."""
    return json_path.removeprefix("$.")
