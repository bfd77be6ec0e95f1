"""Operator configuration: data, validated once per container.

`KYC_OPERATORS` is a JSON list of operators (camelCase keys). A bad entry fails at start-up with a
pydantic error naming the operator and the field, e.g. `operator 'op-es'.auth.issuer`. Inputs are
never echoed in those errors (`hide_input_in_errors`), so a secret pasted by mistake is not logged.

A `camara` operator has an `auth` object (see `AuthConfig` and docs/operators.md): the grant
(`jwt-bearer`, `ciba` or `client-credentials`), the operator's `issuer` (OpenID discovery) and our
`clientId` there. We authenticate with `private_key_jwt` (our KMS key); a client secret is possible
only for `client-credentials` with `tokenAuthMethod` `client_secret_basic` or `client_secret_post`,
and is never part of this configuration: `clientSecretId` names the Secrets Manager secret.

Entries written before `auth` existed (`tokenUrl`, `clientId`, `clientSecretId`, `clientSecretKey`,
`scope`, `tokenAuthMethod` beside `baseUrl`) keep working: they are read as
`auth: {"grant": "client-credentials", "tokenEndpoint": tokenUrl, ...}` with the secret they name.
"""

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, model_validator
from pydantic.alias_generators import to_camel, to_snake

from kyc_match.domain.apis import CAMARA_APIS, MATCH_ATTRIBUTES, MATCH_SCOPE

E164Prefix = Annotated[str, Field(pattern=r"^\+[1-9][0-9]{0,14}$")]
ApiVersion = Literal["v0.4", "vwip", "v0.5rc1"]
Grant = Literal["jwt-bearer", "ciba", "client-credentials"]
TokenAuthMethod = Literal["private_key_jwt", "client_secret_basic", "client_secret_post"]
# Every assertion's `aud`: the endpoint's URL (the profile's recommendation, which CIBA Core requires
# servers to accept), the issuer identifier (FAPI 2.0, the draft successor of RFC 7523), or both as an
# array (RFC 7519 §4.1.3 allows one).
AssertionAudience = Literal["tokenEndpoint", "issuer", "both"]
JwtBearerClientAuth = Literal["none", "private_key_jwt"]  # RFC 7523 §3.1 leaves it to the server
HostName = Annotated[str, Field(pattern=r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")]
_SCOPE_TOKEN = r"[!#-\[\]-~]+"  # noqa: S105 - RFC 6749 scope-token characters, no secret
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# The adapter's whole budget for one operator call (token, attempts, backoff) must leave room, inside
# the Lambda timeout (25 s, itself under API Gateway's 29 s), for routing, the audit write and a
# pathological last read; see docs/operators.md ("The camara adapter").
MAX_OPERATOR_TIMEOUT_SECONDS = 12.0


def _match_attribute(value: str) -> str:
    if value not in MATCH_ATTRIBUTES:
        raise ValueError("is not a KYC Match attribute")
    return value


MatchAttribute = Annotated[str, AfterValidator(_match_attribute)]


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

# One model configuration for every part of an operator entry: camelCase keys, nothing unknown,
# immutable, and no submitted value echoed in a validation error.
CAMEL_CASE_CONFIG = ConfigDict(
    extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True, hide_input_in_errors=True
)

_LEGACY_FIELDS = ("tokenUrl", "clientId", "clientSecretId", "clientSecretKey", "scope", "tokenAuthMethod")
_LEGACY_RENAMES = {"tokenUrl": "tokenEndpoint"}


class AuthConfig(BaseModel):
    """How we get an access token from one operator (CAMARA Security and Interoperability Profile)."""

    model_config = CAMEL_CASE_CONFIG

    grant: Grant
    client_id: str = Field(min_length=1, max_length=256)  # ours, as the operator registered us
    issuer: OperatorUrl | None = None  # resolved by OpenID discovery
    # Explicit endpoints override what discovery finds (and make it unnecessary).
    token_endpoint: OperatorUrl | None = None
    backchannel_authentication_endpoint: OperatorUrl | None = None
    # Hosts besides the issuer's that its discovery document may name for an endpoint (discovered.py).
    discovery_hosts: tuple[HostName, ...] = Field(default=(), max_length=8)
    # API scopes; our client's purpose (`dpv:...`) is added per call, so none here.
    scope: str = Field(default=MATCH_SCOPE, pattern=rf"^{_SCOPE_TOKEN}( {_SCOPE_TOKEN})*$", max_length=1024)
    token_auth_method: TokenAuthMethod = "private_key_jwt"  # noqa: S105 - a method name
    client_secret_id: str | None = Field(default=None, min_length=1, max_length=2048)  # secret name or ARN
    client_secret_key: str | None = Field(default=None, min_length=1, max_length=256)  # JSON secret's key
    dpop: bool = False  # RFC 9449 proofs on token requests and match calls; DPoP tokens only
    assertion_audience: AssertionAudience = "tokenEndpoint"
    # JWT Bearer: the grant assertion authenticates us ("none"), or a client assertion goes with it.
    jwt_bearer_client_auth: JwtBearerClientAuth = "none"

    @model_validator(mode="after")
    def _consistent(self) -> "AuthConfig":
        if self.issuer is None and self.token_endpoint is None:
            raise ValueError("needs issuer (OpenID discovery) or tokenEndpoint")
        if self.grant == "ciba" and self.issuer is None and self.backchannel_authentication_endpoint is None:
            raise ValueError("a ciba grant needs issuer or backchannelAuthenticationEndpoint")
        if any(part.startswith("dpv:") for part in self.scope.split()):
            raise ValueError("scope holds API scopes only: the purpose (dpv:...) is the client's, per call")
        uses_secret = self.token_auth_method != "private_key_jwt"  # noqa: S105
        if uses_secret and self.grant != "client-credentials":
            raise ValueError(
                "a client secret is possible only with grant client-credentials; "
                "jwt-bearer and ciba authenticate with private_key_jwt (remove tokenAuthMethod)"
            )
        if uses_secret != (self.client_secret_id is not None):
            raise ValueError(
                "clientSecretId goes with tokenAuthMethod client_secret_basic or client_secret_post, "
                "and only with them"
            )
        if self.client_secret_key is not None and self.client_secret_id is None:
            raise ValueError("clientSecretKey needs clientSecretId")
        if self.assertion_audience != "tokenEndpoint" and self.issuer is None:
            raise ValueError("assertionAudience issuer or both needs issuer (the issuer identifier)")
        if self.jwt_bearer_client_auth != "none" and self.grant != "jwt-bearer":
            raise ValueError("jwtBearerClientAuth applies to grant jwt-bearer only")
        return self

    @property
    def three_legged(self) -> bool:
        return self.grant != "client-credentials"


class OfferedApis(BaseModel):
    """The CAMARA APIs (and their versions) an operator offers besides KYC Match: one key per API of
    the registry (domain/apis.py), its capability name."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)

    sim_swap: tuple[Literal["v2"], ...] = ()
    device_swap: tuple[Literal["v1"], ...] = ()
    number_recycling: tuple[Literal["v0.2"], ...] = ()
    kyc_tenure: tuple[Literal["v0.2"], ...] = ()
    kyc_age_verification: tuple[Literal["v0.2"], ...] = ()  # KYC Age Verification v0.2.1

    def offers(self, api: str, version: str) -> bool:
        return version in getattr(self, to_snake(api), ())


# Every API of the registry at its version: what a sandbox operator offers unless told otherwise.
ALL_LINE_APIS = OfferedApis.model_validate({api.name: [api.version] for api in CAMARA_APIS})


class OperatorConfig(BaseModel):
    """One operator the aggregator can ask, and the number ranges it serves."""

    model_config = CAMEL_CASE_CONFIG

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    kind: Literal["sandbox", "camara"]
    prefixes: tuple[E164Prefix, ...] = Field(min_length=1)
    id_document_required: bool = False
    returns_scores: bool = True
    # The line-history APIs: a sandbox operator offers all unless told otherwise; a camara operator
    # offers what its entry lists, at the same apiRoot as its KYC Match (docs/operators.md).
    apis: OfferedApis | None = None
    # The KYC Match attributes it verifies (coverage, data minimisation: docs/api.md#kyc-coverage).
    # Absent: a camara operator is taken to verify every attribute (nothing is withheld from it); a
    # sandbox operator, those its subscriber data holds for some subscriber.
    verified_attributes: tuple[MatchAttribute, ...] | None = Field(
        default=None, max_length=len(MATCH_ATTRIBUTES)
    )

    # kind "camara": the operator's own CAMARA APIs, with an access token per `auth`.
    # {apiRoot}: the match path is appended per api_version, a line-history API's path per its version.
    base_url: OperatorUrl | None = None
    auth: AuthConfig | None = None
    # Send phoneNumber in the match body? Default: only with a two-legged token (a three-legged one
    # already names the subscriber).
    identifier_in_body: bool | None = None
    # The operator declares its match endpoint idempotent: a 502/503/504 may then be retried.
    match_idempotent: bool = False
    api_version: ApiVersion = "v0.4"
    timeout_seconds: float = Field(default=8.0, gt=0, le=MAX_OPERATOR_TIMEOUT_SECONDS)
    connect_timeout_seconds: float = Field(default=2.0, gt=0, le=MAX_OPERATOR_TIMEOUT_SECONDS)
    max_attempts: int = Field(default=3, ge=1, le=5)
    retry_base_delay_seconds: float = Field(default=0.1, ge=0, le=2)
    circuit_failure_threshold: int = Field(default=5, ge=1, le=100)
    circuit_cooldown_seconds: float = Field(default=30.0, gt=0, le=600)

    @model_validator(mode="before")
    @classmethod
    def _legacy_credentials(cls, data: Any) -> Any:
        """Entries from before `auth`: their client-credentials fields become `auth`."""
        if not isinstance(data, dict):
            return data
        legacy = [name for name in _LEGACY_FIELDS if name in data]
        if not legacy:
            return data
        if "auth" in data:
            raise ValueError(f"{', '.join(legacy)} belong inside auth (see docs/operators.md)")
        entry = {name: value for name, value in data.items() if name not in _LEGACY_FIELDS}
        auth = {_LEGACY_RENAMES.get(name, name): data[name] for name in legacy}
        auth.setdefault("tokenAuthMethod", "client_secret_basic")
        entry["auth"] = {"grant": "client-credentials", **auth}
        return entry

    @model_validator(mode="after")
    def _fields_of_the_kind(self) -> "OperatorConfig":
        if self.kind == "camara":
            missing = [name for name in ("baseUrl", "auth") if getattr(self, to_snake(name)) is None]
            if missing:
                raise ValueError(f"a camara operator requires {', '.join(missing)}")
        else:
            names = ("base_url", "auth", "identifier_in_body")
            present = [to_camel(name) for name in names if getattr(self, name) is not None]
            if present:
                raise ValueError(f"{', '.join(present)} only apply to camara operators")
        return self

    @property
    def offered_apis(self) -> OfferedApis:
        if self.apis is not None:
            return self.apis
        return ALL_LINE_APIS if self.kind == "sandbox" else OfferedApis()

    @property
    def sends_identifier(self) -> bool:
        """phoneNumber in the match body: as configured, else only for a two-legged token."""
        if self.identifier_in_body is not None:
            return self.identifier_in_body
        return self.auth is None or not self.auth.three_legged


SANDBOX_OPERATORS = (
    OperatorConfig(id="sandbox", kind="sandbox", prefixes=("+34", "+81")),
    # Offers KYC Match only: its numbers (the longer prefix wins) get 422 SERVICE_NOT_APPLICABLE from
    # every line-history API, as from an operator that does not offer them.
    OperatorConfig(id="sandbox-match-only", kind="sandbox", prefixes=("+34699",), apis=OfferedApis()),
)

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
