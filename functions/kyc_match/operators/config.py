"""Operator configuration: data, validated once per container.

`KYC_OPERATORS` is a JSON list of operators (camelCase keys). A bad entry fails at start-up with a
pydantic error naming the operator and the field, e.g. `operator 'op-es'.tokenUrl`. Inputs are
never echoed in those errors (`hide_input_in_errors`), so a secret pasted by mistake is not logged.
Client secrets are never part of this configuration: `clientSecretId` names the AWS Secrets Manager
secret that holds one.
"""

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, model_validator
from pydantic.alias_generators import to_camel

E164Prefix = Annotated[str, Field(pattern=r"^\+[1-9][0-9]{0,14}$")]
ApiVersion = Literal["v0.4", "vwip"]
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# The adapter's whole budget for one operator call (token, attempts, backoff) must leave room, inside
# the Lambda timeout (25 s, itself under API Gateway's 29 s), for routing, the audit write and a
# pathological last read; see docs/operators.md ("The camara adapter").
MAX_OPERATOR_TIMEOUT_SECONDS = 12.0


def _operator_url(value: str) -> str:
    """https, or http to a loopback host only (local simulators); no credentials, query or fragment."""
    parts = urlsplit(value)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ValueError("must be an absolute https URL")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError("must use https (plain http is accepted for loopback hosts only)")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("must not carry credentials, a query or a fragment")
    return value.rstrip("/")


OperatorUrl = Annotated[str, AfterValidator(_operator_url)]

_CAMARA_FIELDS = ("base_url", "token_url", "client_id", "client_secret_id")


class OperatorConfig(BaseModel):
    """One operator the aggregator can ask, and the number ranges it serves."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        hide_input_in_errors=True,
    )

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    kind: Literal["sandbox", "camara"]
    prefixes: tuple[E164Prefix, ...] = Field(min_length=1)
    id_document_required: bool = False
    returns_scores: bool = True

    # kind "camara": the operator's own CAMARA KYC Match API behind OAuth2 client credentials.
    base_url: OperatorUrl | None = None  # {apiRoot}: the match path is appended per api_version
    token_url: OperatorUrl | None = None
    client_id: str | None = Field(default=None, min_length=1, max_length=256)
    client_secret_id: str | None = Field(default=None, min_length=1, max_length=2048)  # secret name or ARN
    client_secret_key: str | None = Field(default=None, min_length=1, max_length=256)  # JSON secret's key
    scope: str | None = Field(default=None, min_length=1, max_length=1024)
    token_auth_method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"  # noqa: S105
    api_version: ApiVersion = "v0.4"
    timeout_seconds: float = Field(default=8.0, gt=0, le=MAX_OPERATOR_TIMEOUT_SECONDS)
    connect_timeout_seconds: float = Field(default=2.0, gt=0, le=MAX_OPERATOR_TIMEOUT_SECONDS)
    max_attempts: int = Field(default=3, ge=1, le=5)
    retry_base_delay_seconds: float = Field(default=0.1, ge=0, le=2)
    circuit_failure_threshold: int = Field(default=5, ge=1, le=100)
    circuit_cooldown_seconds: float = Field(default=30.0, gt=0, le=600)

    @model_validator(mode="after")
    def _fields_of_the_kind(self) -> "OperatorConfig":
        if self.kind == "camara":
            missing = [to_camel(name) for name in _CAMARA_FIELDS if getattr(self, name) is None]
            if missing:
                raise ValueError(f"a camara operator requires {', '.join(missing)}")
        else:
            names = (*_CAMARA_FIELDS, "client_secret_key", "scope")
            present = [to_camel(name) for name in names if getattr(self, name) is not None]
            if present:
                raise ValueError(f"{', '.join(present)} only apply to camara operators")
        return self


SANDBOX_OPERATORS = (OperatorConfig(id="sandbox", kind="sandbox", prefixes=("+34", "+81")),)

_HIDDEN = ConfigDict(hide_input_in_errors=True)
_RAW_LIST: TypeAdapter[list[Any]] = TypeAdapter(list[Any], config=_HIDDEN)
_BY_LABEL: TypeAdapter[dict[str, OperatorConfig]] = TypeAdapter(dict[str, OperatorConfig], config=_HIDDEN)


def parse_operators(raw_json: str) -> tuple[OperatorConfig, ...]:
    """Parse the operators JSON (a list); an empty string means the built-in sandbox operator.

    Raises pydantic.ValidationError (locations read `operator '<id>'.<field>`) or ValueError, with a
    message naming the bad entry; never one quoting a configured value.
    """
    if not raw_json.strip():
        return SANDBOX_OPERATORS
    entries = _RAW_LIST.validate_json(raw_json)
    labelled: dict[str, Any] = {}
    for index, entry in enumerate(entries):
        operator_id = entry.get("id") if isinstance(entry, dict) else None
        label = f"operator {operator_id!r}" if isinstance(operator_id, str) else f"operator #{index}"
        if label in labelled:
            raise ValueError(f"operator ids must be unique: {label} appears twice")
        labelled[label] = entry
    operators = tuple(_BY_LABEL.validate_python(labelled).values())
    _check_prefixes(operators)
    return operators


def _check_prefixes(operators: tuple[OperatorConfig, ...]) -> None:
    owners: dict[str, str] = {}
    for operator in operators:
        for prefix in operator.prefixes:
            if prefix in owners:
                raise ValueError(
                    f"prefix {prefix} is served by both operator {owners[prefix]!r} and {operator.id!r}"
                )
            owners[prefix] = operator.id
