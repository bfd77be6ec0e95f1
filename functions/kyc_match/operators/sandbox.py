"""The sandbox operator: test subscribers in a table, answered the way a real operator would."""

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from kyc_match.domain.apis import MATCH_ATTRIBUTES, CamaraApi
from kyc_match.domain.errors import (
    IdDocumentMismatchError,
    IdDocumentRequiredError,
    IdentifierNotFoundError,
    OperatorBadGatewayError,
    ServiceNotApplicableError,
)
from kyc_match.domain.model import MatchQuery, Verdicts
from kyc_match.matching import AttributeMatch, identity_match_score, match_attributes
from kyc_match.operators.config import OperatorConfig
from kyc_match.operators.timing import operator_call

if TYPE_CHECKING:
    # The line-history answers' types: imported by the line checks that build one, so a container that
    # serves matches only starts without them (docs/performance.md, "Cold start as deployed").
    from kyc_match.domain.line_history import AgeAnswer, AgeQuestion, LineQuery, Tenure

SubscriberRecord = Mapping[str, Any]
# Line history per subscriber; a key absent means the operator has no record. The latest SIM change,
# device change and change of subscriber on the number: RFC 3339 date-times with an offset.
CHANGE_KEYS = {
    "simSwap": "simSwapDate",
    "deviceSwap": "deviceSwapDate",
    "numberRecycling": "recycledDate",
}
# The start of the current subscription (YYYY-MM-DD) and its contract type (CONTRACT_TYPES).
TENURE_KEY = "tenureDate"
CONTRACT_TYPE_KEY = "contractType"
TENURE_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# KYC Age Verification: the age is the subscriber's `birthdate`'s; these optional booleans answer
# `verifiedStatus` (the birth date was checked against an identity document), `contentLock` and
# `parentalControl` (absent: `not_available` when asked for, `verifiedStatus` not sent).
AGE_KEYS = ("ageVerified", "contentLock", "parentalControl")


class SubscriberStore(Protocol):
    def find(self, phone_number: str) -> SubscriberRecord | None: ...

    def attribute_names(self) -> frozenset[str]:
        """Every property name some subscriber record holds (a read of the whole store)."""
        ...


class SandboxOperator:
    """Subscriber records are keyed by CAMARA property names; a missing key is `not_available`.

    Two per-subscriber flags reproduce the CAMARA scenarios: `serviceApplicable: false` and
    `idDocumentRequired: true` (second-level validation for that line).
    """

    def __init__(self, config: OperatorConfig, subscribers: SubscriberStore) -> None:
        self._config = config
        self._subscribers = subscribers
        self._verified: frozenset[str] | None = None

    @property
    def operator_id(self) -> str:
        return self._config.id

    @property
    def grant(self) -> str | None:
        return None  # in-process test subscribers: no authorization server

    def match(self, query: MatchQuery) -> Verdicts:
        """The adapter port: the answer, timed as this operator's call (OperatorLatency)."""
        with operator_call(self._config.id):  # the sandbox stands in for the operator's whole answer
            return self.answer(query)

    def answer(self, query: MatchQuery) -> Verdicts:
        """The answer alone, untimed: what the operator simulator serves, being the operator itself."""
        record = self._record(query.phone_number)
        stored = {name: value for name, value in record.items() if isinstance(value, str)}
        if self._config.id_document_required or record.get("idDocumentRequired") is True:
            _validate_id_document(query, stored)
        verdicts = match_attributes(query.attributes, stored, explain=query.explain)
        if not self._config.returns_scores:
            return {name: AttributeMatch(verdict.result) for name, verdict in verdicts.items()}
        return verdicts

    def offers(self, api: CamaraApi) -> bool:
        return self._config.offered_apis.offers(api.name, api.version)

    @property
    def verified_attributes(self) -> frozenset[str]:
        """As configured, else derived from the data: an attribute some test subscriber holds. Read
        once per container (the sandbox table is a few records; changing it needs a new container)."""
        if self._config.verified_attributes is not None:
            return frozenset(self._config.verified_attributes)
        if self._verified is None:
            self._verified = self._subscribers.attribute_names() & frozenset(MATCH_ATTRIBUTES)
        return self._verified

    def check_swap(self, query: "LineQuery", max_age_hours: int) -> bool:
        change = self.swap_date(query)
        if change is None and query.api.check_needs_record:
            raise ServiceNotApplicableError
        asked_at = query.asked_at or datetime.now(UTC)
        return change is not None and change >= asked_at - timedelta(hours=max_age_hours)

    def swap_date(self, query: "LineQuery") -> datetime | None:
        return self._change(query.api.name, query.phone_number)

    def check_recycled(self, query: "LineQuery", specified_date: date) -> bool:
        """Recycled when the current subscriber took the number on a later day than `specified_date`
        (the record's own calendar day: a contract signed on the specified date is not a change).

        The current subscriber took it at `recycledDate`, or, with no change of subscriber on record, at
        the start of their subscription (`tenureDate`): a date before it is a date with no contract
        for this subscriber, which the spec's second note answers `true`."""
        change = self._change(query.api.name, query.phone_number)
        if change is not None:
            return change.date() > specified_date
        started = self._subscription_start(query.phone_number)
        return started is not None and started > specified_date

    def check_tenure(self, query: "LineQuery", tenure_date: date) -> "Tenure":
        """Tenure held when the subscription started on or before `tenure_date`; without a start date
        on record the operator cannot confirm it (`false`), and the contract type is sent if known."""
        from kyc_match.domain.line_history import Tenure  # noqa: PLC0415 - see TYPE_CHECKING above

        with operator_call(self._config.id):
            record = self._record(query.phone_number)
        started = _tenure_start(record)
        held = started is not None and started <= tenure_date
        # A contract type outside the spec's values is refused by the loaders and by the use case.
        return Tenure(since_date=held, contract_type=record.get(CONTRACT_TYPE_KEY))

    def verify_age(self, query: "LineQuery", asked: "AgeQuestion") -> "AgeAnswer":
        """At least `asked.threshold` years old on the day asked (UTC), by the record's birth date
        (`not_available` without one); the attributes sent matched as a match would, folded into one
        `identityMatchScore`; the indicators only when asked for."""
        from kyc_match.domain.line_history import AgeAnswer, age_check  # noqa: PLC0415 - see above

        with operator_call(self._config.id):
            record = self._record(query.phone_number)
        day = (query.asked_at or datetime.now(UTC)).date()
        stored = {name: value for name, value in record.items() if isinstance(value, str)}
        verified = record.get("ageVerified")
        return AgeAnswer(
            age_check=age_check(parse_tenure_date(record.get("birthdate")), asked.threshold, day),
            verified_status=verified if isinstance(verified, bool) else None,
            identity_match_score=identity_match_score(match_attributes(asked.attributes, stored)),
            content_lock=_indicator(record, "contentLock") if asked.include_content_lock else None,
            parental_control=_indicator(record, "parentalControl")
            if asked.include_parental_control
            else None,
        )

    def _subscription_start(self, phone_number: str) -> date | None:
        with operator_call(self._config.id):
            return _tenure_start(self._record(phone_number))

    def _change(self, api: str, phone_number: str) -> datetime | None:
        with operator_call(self._config.id):
            stored = self._record(phone_number).get(CHANGE_KEYS[api])
        if stored is None:
            return None
        change = parse_change_date(stored)
        if change is None:  # the loaders refuse such a value; a hand-edited table is the operator's fault
            raise OperatorBadGatewayError
        return change

    def _record(self, phone_number: str) -> SubscriberRecord:
        record = self._subscribers.find(phone_number)
        if record is None:
            raise IdentifierNotFoundError
        if record.get("serviceApplicable") is False:
            raise ServiceNotApplicableError
        return record


def _indicator(record: SubscriberRecord, key: str) -> str:
    value = record.get(key)
    return ("true" if value else "false") if isinstance(value, bool) else "not_available"


def _tenure_start(record: SubscriberRecord) -> date | None:
    start = record.get(TENURE_KEY)
    started = parse_tenure_date(start)
    if start is not None and started is None:  # the loaders refuse it: a hand-edited table
        raise OperatorBadGatewayError
    return started


def parse_change_date(value: object) -> datetime | None:
    """An RFC 3339 date-time with its offset (the specs require one), else None."""
    if not isinstance(value, str) or "T" not in value.upper():
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def parse_tenure_date(value: object) -> date | None:
    """A calendar date `YYYY-MM-DD` (the Tenure spec's format), else None."""
    if not isinstance(value, str) or not TENURE_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _validate_id_document(query: MatchQuery, stored: Mapping[str, str]) -> None:
    requested = query.attributes.get("idDocument")
    if requested is None:
        raise IdDocumentRequiredError
    verdict = match_attributes({"idDocument": requested}, stored)["idDocument"]
    if verdict.result != "true":
        raise IdDocumentMismatchError
