"""The CAMARA APIs we serve besides KYC Match, one descriptor each: the registry (issue #27 item 1).

A descriptor names the API as operators' configuration names it (`apis.simSwap`: the capability an
operator is asked about with `offers(api)`), its CAMARA base path and version, its operations (one
route each, `/{path}/{operation}`, and one scope each, `<api-name>:<operation>`), its spec's version
and file. What reads it: the routes (api/app.py), API Gateway's resources (infra/constructs/api.py),
the operator simulator (kyc_match_tools/operator_sim/lines.py), the request models (api/line_models.py,
one per scope), the `camara` adapter's URLs and token scopes, and the docs' endpoint table; a test
compares them all with this registry. Adding an API is one descriptor here, its request model, its
sandbox answer and its tests.

Capability is asked, never inferred: every operator adapter answers `offers(api)` (ports.py). An
adapter that offers an API answers its questions through the methods of the line-history port.
"""

from dataclasses import dataclass

# KYC Match's CAMARA scope, defined here only: an operator's default token scope (operators/config.py),
# the operator simulator's, and, in a request's scopes (LineQuery.scopes), the sign that the request
# also matches: a three-legged operator's one token for the request then covers the match and the
# line checks.
MATCH_SCOPE = "kyc-match:match"


@dataclass(frozen=True)
class CamaraApi:
    """One CAMARA API: its capability name and version, its operations, and its spec."""

    name: str  # camelCase, as operator configuration names it (`apis.simSwap`): the capability name
    path: str  # the CAMARA base path, e.g. "sim-swap/v2"
    version: str
    operations: tuple[str, ...]  # the paths under `path`, e.g. ("check", "retrieve-date")
    title: str = ""  # the CAMARA API's name and the spec version we implement, e.g. "SIM Swap v2.1.0"
    spec_file: str = ""  # under spec/ (vendored, unchanged)
    date_property: str = ""  # the retrieve-date response's property (swap APIs only)
    # Device Swap: a check on a line the operator has no record of is 422 (SIM Swap: not swapped).
    check_needs_record: bool = False

    @property
    def scopes(self) -> frozenset[str]:
        """CAMARA's scopes for this API: `<api-name>:<operation>`, e.g. `sim-swap:check`."""
        return frozenset(self.scope(operation) for operation in self.operations)

    def scope(self, operation: str) -> str:
        return f"{self.path.split('/')[0]}:{operation}"

    def route(self, operation: str) -> str:
        """Our path for the operation, as CAMARA's: `/sim-swap/v2/check`."""
        return f"/{self.path}/{operation}"

    @property
    def routes(self) -> tuple[str, ...]:
        return tuple(self.route(operation) for operation in self.operations)


SIM_SWAP = CamaraApi(
    "simSwap",
    "sim-swap/v2",
    "v2",
    ("check", "retrieve-date"),
    "SIM Swap v2.1.0",
    "signals/sim-swap.yaml",
    "latestSimChange",
)
DEVICE_SWAP = CamaraApi(
    "deviceSwap",
    "device-swap/v1",
    "v1",
    ("check", "retrieve-date"),
    "Device Swap v1.0.0",
    "signals/device-swap.yaml",
    "latestDeviceChange",
    check_needs_record=True,
)
NUMBER_RECYCLING = CamaraApi(
    "numberRecycling",
    "number-recycling/v0.2",
    "v0.2",
    ("check",),
    "Number Recycling v0.2.0",
    "signals/number-recycling.yaml",
)
KYC_TENURE = CamaraApi(
    "kycTenure", "kyc-tenure/v0.2", "v0.2", ("check-tenure",), "KYC Tenure v0.2.0", "signals/kyc-tenure.yaml"
)
AGE_VERIFICATION = CamaraApi(
    "kycAgeVerification",
    "kyc-age-verification/v0.2",
    "v0.2",
    ("verify",),
    "KYC Age Verification v0.2.1",
    "age/kyc-age-verification-v0.2.1.yaml",
)
# KYC Match itself, which every operator answers (in the version it speaks: operators/translation.py):
# its capability name and the version our clients call, and the attributes of its request, each of
# which an operator may or may not verify (`verifiedAttributes` in its configuration).
KYC_MATCH_NAME = "kycMatch"
KYC_MATCH_VERSION = "v0.4"
MATCH_ATTRIBUTES = (
    "idDocument", "idDocumentType", "idDocumentExpiryDate", "name", "givenName", "familyName",
    "nameKanaHankaku", "nameKanaZenkaku", "middleNames", "familyNameAtBirth", "address", "streetName",
    "streetNumber", "postalCode", "region", "locality", "country", "houseNumberExtension", "birthdate",
    "email", "gender", "cityOfBirth", "countryOfBirth", "nationality",
)  # fmt: skip
# The registry, in the order the docs list them.
CAMARA_APIS: tuple[CamaraApi, ...] = (SIM_SWAP, DEVICE_SWAP, NUMBER_RECYCLING, KYC_TENURE, AGE_VERIFICATION)


def operations(apis: tuple[CamaraApi, ...] = CAMARA_APIS) -> tuple[tuple[CamaraApi, str], ...]:
    """Every (API, operation) of the registry: one route, one scope, one request model each."""
    return tuple((api, operation) for api in apis for operation in api.operations)


def by_route(apis: tuple[CamaraApi, ...] = CAMARA_APIS) -> dict[str, tuple[CamaraApi, str]]:
    return {api.route(operation): (api, operation) for api, operation in operations(apis)}
