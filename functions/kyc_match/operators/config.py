"""Operator configuration: data, validated once per container."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.alias_generators import to_camel

E164Prefix = Annotated[str, Field(pattern=r"^\+[1-9][0-9]{0,14}$")]


class OperatorConfig(BaseModel):
    """One operator the aggregator can ask, and the number ranges it serves."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    kind: Literal["sandbox"]
    prefixes: tuple[E164Prefix, ...] = Field(min_length=1)
    id_document_required: bool = False
    returns_scores: bool = True


SANDBOX_OPERATORS = (OperatorConfig(id="sandbox", kind="sandbox", prefixes=("+34", "+81")),)

_OPERATOR_LIST: TypeAdapter[tuple[OperatorConfig, ...]] = TypeAdapter(tuple[OperatorConfig, ...])


def parse_operators(raw_json: str) -> tuple[OperatorConfig, ...]:
    """Parse the operators JSON (a list); an empty string means the built-in sandbox operator.

    Raises pydantic.ValidationError or ValueError with a message naming the bad entry.
    """
    if not raw_json.strip():
        return SANDBOX_OPERATORS
    operators = _OPERATOR_LIST.validate_json(raw_json)
    ids = [operator.id for operator in operators]
    if len(set(ids)) != len(ids):
        raise ValueError("operator ids must be unique")
    return operators
