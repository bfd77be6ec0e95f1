"""CIBA in poll mode inside one synchronous request, continued by a retry.

`bc-authorize` (login_hint=tel:+E164 and nothing else as a hint; scope `openid dpv:<Purpose> <API
scopes>`, every API scope the request needs at once), then polls of the token endpoint at the
`interval` given (+5 s for each `slow_down`), all within the call's deadline: the first poll at
once (an operator that needs no prompt answers it), each later one after the interval, waited for
only where the wait and the poll both fit. When they would not, the authorization is left pending:
its `auth_req_id` is stored under a keyed hash of (operator, client, scope, number), never the
number, a token or an assertion, until the operator's `expires_in`; the client gets
AuthorizationPendingError at once, with the seconds until the operator allows the next poll (its
`Retry-After`), and the same request retried then continues the same authorization, so the
subscriber is not prompted twice and the retry's first poll finds the token if they have answered.
The wait between two polls holds across that retry too: the stored authorization says when it may
next be polled, so a quick retry does not poll early (which an operator answers with `slow_down`,
adding 5 s for good). `expired_token` or `invalid_grant` on a continued authorization forgets it and
starts a new one.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Protocol

from kyc_match.domain.errors import AuthorizationPendingError, OperatorBadGatewayError
from kyc_match.operators.auth_server import AuthServer, Subject, read_access_token
from kyc_match.operators.bounded import finite_positive
from kyc_match.operators.failures import OperatorFailure
from kyc_match.operators.resilience import Deadline

if TYPE_CHECKING:
    from kyc_match.domain.ports import Hasher

CIBA_GRANT: Final = "urn:openid:params:grant-type:ciba"
DEFAULT_INTERVAL_SECONDS: Final = 5.0
SLOW_DOWN_SECONDS: Final = 5.0
MAX_PENDING_SECONDS: Final = 3600.0  # we keep no authorization longer, whatever the operator says
_RESTARTED: Final = frozenset({"expired_token", "invalid_grant"})


@dataclass(frozen=True)
class PendingAuthorization:
    auth_req_id: str
    interval: float
    expires_at: float  # epoch seconds
    next_poll_at: float = 0.0  # epoch seconds: not before (the interval after the last poll)


class PendingAuthorizations(Protocol):
    def get(self, key: str) -> PendingAuthorization | None: ...

    def put(self, key: str, pending: PendingAuthorization) -> None: ...

    def delete(self, key: str) -> None: ...


def pending_key(hasher: "Hasher", operator_id: str, client_id: str, scope: str, phone_number: str) -> str:
    """`scope`: the purpose and the API scopes, so a retry continues only an authorization for the same."""
    return hasher.hash("\x1f".join(("ciba", operator_id, client_id, scope, phone_number)))


class CibaFlow:
    def __init__(
        self,
        server: AuthServer,
        pending: PendingAuthorizations,
        *,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._server = server
        self._pending = pending
        self._wall_clock = wall_clock
        self._sleep = sleep

    def token(self, subject: Subject, scope: str, key: str, deadline: Deadline) -> tuple[str, float]:
        """`scope`: the purpose and the API scopes (grants.scope_for); `openid` is added here."""
        current = self._pending.get(key)
        if current is not None and current.expires_at <= self._wall_clock():
            current = None
        continued = current is not None
        if current is None:
            current = self._authorize(subject, scope, key, deadline)
        while True:
            try:
                return self._poll_until_done(current, key, deadline)
            except _Restart:
                self._pending.delete(key)
                if not continued:
                    raise OperatorFailure(OperatorBadGatewayError(), "authorization_unknown") from None
                continued = False  # once per request: a fresh authorization
                current = self._authorize(subject, scope, key, deadline)

    def _authorize(self, subject: Subject, scope: str, key: str, deadline: Deadline) -> PendingAuthorization:
        endpoints = self._server.endpoints(deadline)
        assert endpoints.backchannel is not None  # discovery guarantees it for a ciba grant
        form = {
            "scope": f"openid {scope}",
            "login_hint": f"tel:{subject.phone_number}",
        }
        reply = self._server.post_form(endpoints.backchannel, form, deadline)
        if reply.status != 200:
            raise self._server.refused(reply)
        document = reply.json_object() or {}
        auth_req_id = document.get("auth_req_id")
        lifetime = finite_positive(document.get("expires_in"))
        interval = finite_positive(document.get("interval", DEFAULT_INTERVAL_SECONDS))
        if not isinstance(auth_req_id, str) or not auth_req_id.isprintable() or len(auth_req_id) > 1024:
            raise OperatorFailure(OperatorBadGatewayError(), "authorization_answer_invalid")
        if lifetime is None or interval is None:
            raise OperatorFailure(OperatorBadGatewayError(), "authorization_answer_invalid")
        pending = PendingAuthorization(
            auth_req_id, min(interval, 60.0), self._wall_clock() + min(lifetime, MAX_PENDING_SECONDS)
        )
        self._pending.put(key, pending)
        return pending

    def _poll_until_done(
        self, pending: PendingAuthorization, key: str, deadline: Deadline
    ) -> tuple[str, float]:
        endpoint = self._server.endpoints(deadline).token
        interval = pending.interval
        wait = max(0.0, pending.next_poll_at - self._wall_clock())  # a retry soon after the last poll
        if wait:
            if wait >= deadline.remaining():
                raise self._still_pending(pending.next_poll_at)
            self._sleep(wait)
        while True:
            before = deadline.remaining()
            form: Callable[[], dict[str, str]] = partial(
                dict, grant_type=CIBA_GRANT, auth_req_id=pending.auth_req_id
            )
            reply = self._server.token_request(endpoint, form, deadline)
            poll_seconds = max(0.0, before - deadline.remaining())  # the next poll takes as long
            if reply.status == 200:
                self._pending.delete(key)
                return read_access_token(reply, self._server.token_type)
            code = _error_code(reply.json_object())
            if code == "slow_down":
                interval += SLOW_DOWN_SECONDS
                pending = PendingAuthorization(pending.auth_req_id, interval, pending.expires_at)
                self._pending.put(key, pending)
            elif code in _RESTARTED and reply.status == 400:
                raise _Restart
            elif code != "authorization_pending":
                self._pending.delete(key)
                raise self._server.refused(reply)
            # The wait and the next poll must both fit: a poll cut by the deadline would be a 504,
            # where the client is owed the documented "waiting for the subscriber" 503, at once rather
            # than after a wait that ends in no poll.
            if interval + poll_seconds >= deadline.remaining():
                # Kept for the retry: when the operator allows the next poll.
                pending = replace(pending, interval=interval, next_poll_at=self._wall_clock() + interval)
                self._pending.put(key, pending)
                raise self._still_pending(pending.next_poll_at)
            self._sleep(interval)

    def _still_pending(self, next_poll_at: float) -> OperatorFailure:
        """The client's answer while the subscriber has not answered: retry when the operator allows
        the next poll (rounded up to whole seconds, as `Retry-After` counts, so never early)."""
        wait = math.ceil(max(0.0, next_poll_at - self._wall_clock()))
        error = AuthorizationPendingError(retry_after_seconds=max(1, wait))
        return OperatorFailure(error, "authorization_pending", breaker=False)


class _Restart(Exception):
    """The operator no longer knows the authorization (expired or revoked)."""


def _error_code(document: dict[str, Any] | None) -> str | None:
    code = (document or {}).get("error")
    return code if isinstance(code, str) else None


class DynamoDbPendingAuthorizations:
    """The pending-authorizations table: pk (keyed hash), authReqId, interval, nextPollAt, expiresAt (TTL)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, key: str) -> PendingAuthorization | None:
        item = self._table.get_item(Key={"pk": key}, ConsistentRead=True).get("Item")
        if item is None:
            return None
        return PendingAuthorization(
            str(item["authReqId"]),
            float(item["interval"]),
            float(item["expiresAt"]),
            float(item.get("nextPollAt", 0)),
        )

    def put(self, key: str, pending: PendingAuthorization) -> None:
        from decimal import Decimal  # noqa: PLC0415

        self._table.put_item(
            Item={
                "pk": key,
                "authReqId": pending.auth_req_id,
                "interval": Decimal(str(pending.interval)),
                "nextPollAt": Decimal(str(round(pending.next_poll_at, 3))),
                "expiresAt": int(pending.expires_at) + 1,
            }
        )

    def delete(self, key: str) -> None:
        self._table.delete_item(Key={"pk": key})
