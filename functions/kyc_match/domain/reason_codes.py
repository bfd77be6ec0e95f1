"""The catalogue of reason codes: every reason a decision gives carries one of these, documented in
docs/decision.md ("Reason codes"; a test checks the two agree both ways).

Each code has the line an analyst reads (`{subject}` is an attribute name, a list of them, or a line
check, never a value) and the built-in next step for a STEP_UP it decides, used when the policy's
`nextSteps` names none. A next step never sends a one-time password to a line whose SIM or device
changed, or whose number changed hands: that line may be the fraudster's.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class ReasonCode:
    text: str  # "{subject}" stands for the attribute(s) or the signal
    next_step: str  # what a STEP_UP decided by it asks for, unless the policy says otherwise


_Code = ReasonCode
CATALOGUE: dict[str, ReasonCode] = {
    "attributeMatched": _Code("{subject} matched the operator's record", "manualReview"),
    "attributeNear": _Code("{subject} nearly matched the operator's record", "documentCheck"),
    "attributeContradicted": _Code("{subject} contradicted the operator's record", "documentCheck"),
    "contradictionTolerated": _Code(
        "{subject} contradicted the operator's record, which the policy tolerates", "documentCheck"
    ),
    "attributeUnavailable": _Code("the operator holds no {subject} to compare", "documentCheck"),
    "evidenceMissing": _Code("not sent, needed for a higher level: {subject}", "documentCheck"),
    "attributeNotSent": _Code(
        "withheld from the operator, which does not verify them (data minimisation): {subject}",
        "documentCheck",
    ),
    "documentExpired": _Code("the ID document has expired: it is no identity anchor", "documentCheck"),
    "evidenceBelowFloor": _Code(
        "not enough evidence to accept: a full name and an identity anchor must match", "documentCheck"
    ),
    "requestInconsistent": _Code("the request contradicts itself: {subject}", "manualReview"),
    "ageBelowMinimum": _Code("the customer is younger than the policy's minimum age", "manualReview"),
    "ageUnconfirmed": _Code(
        "neither a birth date nor an age check confirmed by the operator for the minimum age", "documentCheck"
    ),
    "parentalControlOn": _Code("the line has parental control on, which the policy refuses", "manualReview"),
    "parentalControlUnconfirmed": _Code(
        "the operator did not say whether the line has parental control on", "documentCheck"
    ),
    "operatorIdDocumentMismatch": _Code("the operator says the ID document does not match", "documentCheck"),
    "operatorIdDocumentRequired": _Code("the operator needs the ID document to match", "documentCheck"),
    "operatorNumberUnknown": _Code("the operator has no subscriber with this number", "documentCheck"),
    "operatorServiceNotApplicable": _Code("the operator cannot match this line", "documentCheck"),
    "simSwapped": _Code("the SIM was swapped within the window checked", "manualReview"),
    "deviceSwapped": _Code("the device was swapped within the window checked", "manualReview"),
    "numberRecycled": _Code("the number changed subscriber within the window checked", "documentCheck"),
    "tenureTooShort": _Code("the line has not been held for the time checked", "documentCheck"),
    "lineCheckUnavailable": _Code("the operator could not answer the {subject} check", "manualReview"),
}

# A reason about one attribute's outcome, by that outcome.
OUTCOME_CODES = {
    "match": "attributeMatched",
    "near": "attributeNear",
    "mismatch": "attributeContradicted",
    "unavailable": "attributeUnavailable",
    "missing": "evidenceMissing",
    "expired": "documentExpired",
}
OPERATOR_CODES = {
    "ID_DOCUMENT_MISMATCH": "operatorIdDocumentMismatch",
    "ID_DOCUMENT_REQUIRED": "operatorIdDocumentRequired",
    "IDENTIFIER_NOT_FOUND": "operatorNumberUnknown",
    "SERVICE_NOT_APPLICABLE": "operatorServiceNotApplicable",
}
SIGNAL_CODES = {
    "swapped": {"simSwap": "simSwapped", "deviceSwap": "deviceSwapped"},
    "recycled": {"numberRecycling": "numberRecycled"},
    "notHeld": {"tenure": "tenureTooShort"},
    "unavailable": {
        "simSwap": "lineCheckUnavailable",
        "deviceSwap": "lineCheckUnavailable",
        "numberRecycling": "lineCheckUnavailable",
        "tenure": "lineCheckUnavailable",
        "age": "lineCheckUnavailable",
    },
}
# Codes after which a one-time password to the line proves nothing: the line may have changed hands.
LINE_AT_RISK = frozenset({"simSwapped", "deviceSwapped", "numberRecycled"})


def signal_code(signal: str, outcome: str) -> str:
    return SIGNAL_CODES[outcome][signal]


def text_of(code: str, subject: str) -> str:
    return CATALOGUE[code].text.format(subject=subject)
