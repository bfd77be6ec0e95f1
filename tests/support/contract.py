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


@cache
def _document(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def _inline(node: Any, document: Mapping[str, Any]) -> Any:
    """Resolve the local `#/...` references, so a schema can be validated on its own."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return _inline(target, document)
        return {key: _inline(value, document) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, document) for item in node]
    return node


def schema(pointer: str, *, common: bool = False) -> dict[str, Any]:
    """A schema of the spec by JSON pointer, e.g. '/components/schemas/KYC_MatchResponse'."""
    document = _document(COMMON_FILE if common else SPEC_FILE)
    node: Any = document
    for part in pointer.strip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    resolved: dict[str, Any] = _inline(node, document)
    return resolved


def error_schema(status: int) -> dict[str, Any]:
    """The spec's response schema for an error status; statuses the API file lacks come from Commonalities."""
    responses = _document(SPEC_FILE)["components"]["responses"]
    name = f"Generic{status}"
    pointer = f"/components/responses/{name}/content/application~1json/schema"
    return schema(pointer, common=name not in responses)


def validate(instance: Any, schema_: Mapping[str, Any]) -> None:
    """Raise jsonschema.ValidationError when `instance` breaks the OpenAPI 3.0 schema."""
    OAS30Validator(dict(schema_)).validate(instance)


@cache
def scenarios() -> dict[str, dict[str, Any]]:
    """Every scenario of the test plan, by tag (without '@'), with its example rows."""
    feature = Parser().parse(FEATURE_FILE.read_text(encoding="utf-8"))["feature"]
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
