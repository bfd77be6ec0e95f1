"""The simulated operator's state and logic, independent of the HTTP plumbing (server.py).

Match answers (and line-history answers, lines.py) come from the sandbox operator (`SandboxOperator`
over an in-memory subscriber store), so a simulated operator and the built-in sandbox judge alike.
The subscriber of a three-legged token is the one the match is about: the body may omit
`phoneNumber`, and a different one is refused with `403 INVALID_TOKEN_CONTEXT`, as KYC Match says.
"""

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from kyc_match.api.models import KycMatchRequest, match_response_body
from kyc_match.catalogue import answer_for
from kyc_match.domain.apis import MATCH_SCOPE
from kyc_match.domain.errors import KycMatchError
from kyc_match.domain.model import MatchQuery
from kyc_match.domain.purposes import is_purpose
from kyc_match.operators.config import OperatorConfig
from kyc_match.operators.sandbox import SandboxOperator, SubscriberRecord
from kyc_match_tools.operator_sim.authorization import (
    ALL_GRANTS,
    API_SCOPES,
    AuthorizationOptions,
    AuthorizationServer,
    Grant,
    GrantName,
)
from kyc_match_tools.operator_sim.faults import Faults

ApiVersion = Literal["v0.4", "vwip", "v0.5rc1"]
BANK_ACCOUNT = re.compile(r"^[A-Z]+:[A-Za-z0-9]+$")


class MemorySubscribers:
    def __init__(self, records: Iterable[Mapping[str, Any]]) -> None:
        self._records = {str(record["phoneNumber"]): dict(record) for record in records}

    def find(self, phone_number: str) -> SubscriberRecord | None:
        return self._records.get(phone_number)

    def attribute_names(self) -> frozenset[str]:
        return frozenset(name for record in self._records.values() for name in record)


@dataclass(frozen=True)
class SimulatorOptions:
    operator_id: str = "simulated"
    client_id: str = "sim-client"
    other_client_ids: tuple[str, ...] = ()  # more API consumers (private_key_jwt, same JWKS)
    # Accepted for client credentials only (client_secret_basic/post); None: private_key_jwt only.
    client_secret: str | None = "sim-secret"  # noqa: S105 - a local simulator's demo credential
    client_jwks_url: str | None = None  # the consumer's JWKS: where its assertions' keys are
    grants: tuple[GrantName, ...] = ALL_GRANTS
    allowed_purposes: tuple[str, ...] = ()  # the purposes the consumer was onboarded for; (): any DPV one
    allowed_scopes: tuple[str, ...] = ()  # the API scopes it was onboarded for; (): every one served
    version: ApiVersion = "v0.4"
    token_ttl_seconds: float = 3600.0
    ciba_interval_seconds: float = 1.0
    ciba_expires_in_seconds: float = 120.0
    enforce_interval: bool = True  # a CIBA poll before the interval has passed gets slow_down
    clock: Callable[[], float] = time.monotonic  # times CIBA requests, JWKS refetches (tests: a ManualClock)
    returns_scores: bool = True
    id_document_required: bool = False

    def __post_init__(self) -> None:
        unknown = [purpose for purpose in self.allowed_purposes if not is_purpose(purpose)]
        if unknown:
            raise ValueError(f"not DPV purposes: {', '.join(unknown)}")
        unknown_scopes = sorted(set(self.allowed_scopes) - API_SCOPES)
        if unknown_scopes:
            raise ValueError(f"not API scopes served here: {', '.join(unknown_scopes)}")
        if not self.grants or set(self.grants) - set(ALL_GRANTS):
            raise ValueError(f"grants must be some of {', '.join(ALL_GRANTS)}")

    def authorization(self) -> AuthorizationOptions:
        return AuthorizationOptions(
            client_id=self.client_id,
            other_client_ids=self.other_client_ids,
            client_secret=self.client_secret,
            client_jwks_url=self.client_jwks_url,
            grants=self.grants,
            allowed_purposes=self.allowed_purposes,
            allowed_scopes=self.allowed_scopes,
            token_ttl_seconds=self.token_ttl_seconds,
            ciba_interval_seconds=self.ciba_interval_seconds,
            ciba_expires_in_seconds=self.ciba_expires_in_seconds,
            enforce_interval=self.enforce_interval,
            clock=self.clock,
        )


class OperatorSimulator:
    def __init__(
        self, subscribers: Iterable[Mapping[str, Any]], options: SimulatorOptions, faults: Faults
    ) -> None:
        self.options = options
        self.faults = faults
        records = [dict(record) for record in subscribers]
        if options.version != "v0.4":
            # vwip and v0.5rc1 have no second-level idDocument validation (no 403 ID_DOCUMENT_*): the
            # document is matched like any attribute, and the aggregator applies the v0.4 rule itself.
            for record in records:
                record.pop("idDocumentRequired", None)
        config = OperatorConfig(
            id=options.operator_id,
            kind="sandbox",
            prefixes=("+1",),
            id_document_required=options.id_document_required and options.version == "v0.4",
            returns_scores=options.returns_scores,
        )
        subscriber_store = MemorySubscribers(records)
        self.operator = SandboxOperator(config, subscriber_store)
        self.authorization = AuthorizationServer(
            options.authorization(), faults, lambda number: subscriber_store.find(number) is not None
        )
        self._bank_accounts = {
            str(record["phoneNumber"]): record.get("bankAccountNumber") for record in records
        }

    @property
    def match_path(self) -> str:
        return f"/kyc-match/{self.options.version}/match"

    def grant(
        self, headers: Mapping[str, str], path: str | None = None, *, body: bytes = b"", query: str = ""
    ) -> Grant | None:
        """The token's grant for a POST to `path` (default: the match) with `body` and the raw `query`;
        None: no valid token; DpopRejectedError: a DPoP proof does not hold."""
        url = self.authorization.issuer + (path or self.match_path)
        return self.authorization.grant_of(headers, "POST", url, body=body, query=query)

    def match_response(self, body: bytes, correlator: str, grant: Grant) -> tuple[int, Any]:  # noqa: PLR0911
        """The CAMARA answer to a match body under an access token: (status, JSON value)."""
        document = permitted_object(body, allowed=bool(MATCH_SCOPE in grant.scopes))
        if isinstance(document, tuple):
            return document
        bank_account = document.pop("bankAccountNumber", None) if self.options.version != "v0.4" else None
        if bank_account is not None and not _valid_bank_account(bank_account):
            return error_body(400, "INVALID_ARGUMENT", "bankAccountNumber is invalid.")
        try:
            request = KycMatchRequest.model_validate(document)
        except ValidationError:
            return error_body(400, "INVALID_ARGUMENT", "Client specified an invalid argument.")
        phone_number = request.phoneNumber
        if grant.phone_number is not None:
            if phone_number is not None and phone_number != grant.phone_number:
                return error_body(
                    403, "INVALID_TOKEN_CONTEXT", "phoneNumber is not consistent with access token."
                )
            phone_number = grant.phone_number
        elif phone_number is None:
            return error_body(422, "MISSING_IDENTIFIER", "No phone number has been provided")
        query = MatchQuery(phone_number, request.attributes(), correlator)
        try:
            verdicts = self.operator.answer(query) if query.attributes else {}
        except KycMatchError as error:
            refusal = answer_for(error)
            return error_body(refusal.status, refusal.code, refusal.message)
        answer: dict[str, Any] = dict(match_response_body(dict(verdicts)))
        if self.options.version != "v0.4" and (
            bank_account is not None or self.faults.settings.bank_account_match
        ):
            answer["bankAccountNumberMatch"] = self._bank_account_result(phone_number, bank_account)
        return 200, answer

    def _bank_account_result(self, phone_number: str, sent: str | None) -> str:
        stored = self._bank_accounts.get(phone_number)
        if sent is None or not isinstance(stored, str):
            return "not_available"
        return "true" if sent == stored else "false"


def malformed_body(kind: str, answer: Any) -> bytes:
    """Break a good answer the way `kind` says."""
    body = dict(answer) if isinstance(answer, dict) else {}
    if kind == "not_json":
        return b"<html>upstream error</html>"
    if kind == "not_object":
        return json.dumps([body]).encode()
    first = next((key for key in body if key.endswith("Match")), "nameMatch")
    if kind == "bad_result":
        body[first] = "maybe"
    elif kind == "extra_attribute":
        body["nationalityMatch" if first != "nationalityMatch" else "genderMatch"] = "true"
    elif kind == "score_on_true":
        body[first] = "true"
        body[first + "Score"] = 50
    elif kind == "score_out_of_range":
        body[first] = "false"
        body[first + "Score"] = 100
    return json.dumps(body).encode()


def error_body(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"status": status, "code": code, "message": message}


def permitted_object(body: bytes, *, allowed: bool) -> dict[str, Any] | tuple[int, dict[str, Any]]:
    """The body of an API call as a JSON object, or the operator's error: 403 when the token lacks
    the operation's scope, 400 when the body is not a JSON object."""
    if not allowed:
        return error_body(
            403, "PERMISSION_DENIED", "Client does not have sufficient permissions to perform this action."
        )
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # nested past the decoder's limit: still not a usable body
        return error_body(400, "INVALID_ARGUMENT", "The request body is not valid JSON.")
    if not isinstance(document, dict):
        return error_body(400, "INVALID_ARGUMENT", "The request body must be a JSON object.")
    return document


def _valid_bank_account(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 50 and BANK_ACCOUNT.fullmatch(value) is not None
