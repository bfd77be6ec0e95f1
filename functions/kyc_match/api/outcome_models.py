"""The final-outcome request (#26 item 7): a closed list of outcomes and reasons, an opaque analyst
reference; no free text, so nothing personal can be written into the trail through it."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from kyc_match.domain.outcomes import ANALYST_REFERENCE_PATTERN

AnalystReference = Annotated[str, StringConstraints(pattern=ANALYST_REFERENCE_PATTERN)]
ReasonCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z_]{0,39}$")]


class FinalOutcomeRequest(BaseModel):
    # Python's engine: the analyst reference's pattern looks ahead (no phone-like run), Rust's cannot.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, regex_engine="python-re")

    outcome: Literal["ACCEPTED", "REJECTED"]
    reasonCode: ReasonCode  # checked against the list (domain/outcomes.py) by the use case
    analystReference: AnalystReference
