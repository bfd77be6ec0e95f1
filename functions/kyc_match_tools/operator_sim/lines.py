"""The simulator's other CAMARA APIs (#14, #27), every operation of the registry (domain/apis.py): SIM
Swap v2 and Device Swap v1 (`check`, `retrieve-date`), Number Recycling v0.2 (`check`), KYC Tenure v0.2
(`check-tenure`) and KYC Age Verification v0.2 (`verify`), at their CAMARA paths under the simulator's
apiRoot, behind the same tokens as its KYC Match.

Answers come from the sandbox operator's LineHistory methods over the subscribers file
(`simSwapDate`, `deviceSwapDate`, `recycledDate`, `tenureDate`, `contractType`; `birthdate`,
`ageVerified`, `contentLock`, `parentalControl`), so the simulator and
the built-in sandbox answer alike. As the operator-access rules say:
- the token needs the operation's scope (`sim-swap:check`…; the swap specs also accept the bare API
  name, `sim-swap`), else `403 PERMISSION_DENIED`;
- a three-legged token names the subscriber: a body `phoneNumber` beside it is `422
  UNNECESSARY_IDENTIFIER`; a two-legged one needs it (`422 MISSING_IDENTIFIER`);
- bodies are checked as our own endpoints check them (api/line_models.py: `maxAge` 1 to 2400, dates
  as `YYYY-MM-DD` and not in the future, nothing else).
"""

import json
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import ValidationError

from kyc_match.api.line_models import REQUEST_MODELS, line_query
from kyc_match.catalogue import answer_for
from kyc_match.domain.apis import CAMARA_APIS, CamaraApi, by_route
from kyc_match.domain.errors import KycMatchError
from kyc_match.domain.line_history import LineQuery
from kyc_match.operators.sandbox import SandboxOperator
from kyc_match_tools.operator_sim.authorization import WHOLE_API_SCOPES, Grant
from kyc_match_tools.operator_sim.simulator import error_body, permitted_object

LINE_PATHS: Final[dict[str, tuple[CamaraApi, str]]] = by_route(CAMARA_APIS)


def line_response(history: SandboxOperator, path: str, body: bytes, grant: Grant) -> tuple[int, Any]:
    """The CAMARA answer to a line-history call under an access token: (status, JSON value)."""
    api, operation = LINE_PATHS[path]
    allowed = {api.scope(operation)} | ({api.path.split("/")[0]} & WHOLE_API_SCOPES)
    document = permitted_object(body, allowed=bool(allowed & grant.scopes))
    if isinstance(document, tuple):
        return document
    try:
        return 200, _answer(history, api, operation, document, grant.phone_number)
    except (ValidationError, ValueError):
        return error_body(400, "INVALID_ARGUMENT", "Client specified an invalid argument.")
    except KycMatchError as error:
        refusal = answer_for(error)
        return error_body(refusal.status, refusal.code, refusal.message)


def _answer(
    history: SandboxOperator,
    api: CamaraApi,
    operation: str,
    document: dict[str, Any],
    token_number: str | None,
) -> dict[str, Any]:
    """Our own request models and bounds for the operation (api/line_models.py), the sandbox's answer."""
    request = REQUEST_MODELS[api.scope(operation)].model_validate(document)
    asked_at = datetime.now(UTC)
    request.check_bounds(asked_at.date())
    subject = line_query(request, token_number, api)
    query = LineQuery(subject.phone_number, api, asked_at=asked_at)
    result, _ = request.question(query)(history)  # what our handler asks, answered by the sandbox itself
    return request.response(result, api)


def malformed_line_body(kind: str, answer: Any) -> bytes:
    """Break a good line-history answer: `not_json`, `not_object` as for a match; every other kind
    sends its first property as the string "maybe" (a boolean or date-time the spec requires)."""
    body = dict(answer) if isinstance(answer, dict) else {}
    if kind == "not_json":
        return b"<html>upstream error</html>"
    if kind == "not_object":
        return json.dumps([body]).encode()
    first = next(iter(body), "swapped")
    return json.dumps({**body, first: "maybe"}).encode()
