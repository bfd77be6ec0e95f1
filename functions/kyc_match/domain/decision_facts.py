"""What a decision reads of the request besides the verdicts, worked out once: whether the ID document
has expired, whether the request contradicts itself, the customer's age in whole years when the
operator confirmed the birth date. Flags and names leave this module, never a value or a date."""

from collections.abc import Mapping
from datetime import date

from kyc_match.domain.decision_model import RequestFacts, Signal
from kyc_match.domain.model import Verdicts
from kyc_match.matching.consistency import inconsistent_attributes


def decision_facts(
    attributes: Mapping[str, str],
    verdicts: Verdicts,
    today: date,
    *,
    operator_outcome: str | None = None,
    signals: tuple[Signal, ...] = (),
    not_sent: tuple[str, ...] = (),
) -> RequestFacts:
    return RequestFacts(
        id_document_type=attributes.get("idDocumentType"),
        operator_outcome=operator_outcome,
        signals=signals,
        id_document_expired=_expired(attributes, verdicts, today),
        inconsistent=inconsistent_attributes(attributes),
        age_years=_age(attributes, verdicts, today),
        not_sent=not_sent,
    )


def _expired(attributes: Mapping[str, str], verdicts: Verdicts, today: date) -> bool:
    """The expiry sent is past, or the operator holds another one (which may be past): no anchor."""
    sent = attributes.get("idDocumentExpiryDate")
    if sent is None:
        return False
    verdict = verdicts.get("idDocumentExpiryDate")
    return _day(sent) < today or (verdict is not None and verdict.result == "false")


def _age(attributes: Mapping[str, str], verdicts: Verdicts, today: date) -> int | None:
    verdict, sent = verdicts.get("birthdate"), attributes.get("birthdate")
    if verdict is None or verdict.result != "true" or sent is None:
        return None
    born = _day(sent)
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:  # the request model lets only real dates through; anything else is no date
        return date.max
