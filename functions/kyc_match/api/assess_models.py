"""The decision endpoint's request: the match body plus a policy id, a purpose and line checks.

Its own module so that building it (a second full request model) happens on the first decision
request, not at every cold start.
"""

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StrictInt, StringConstraints, model_validator

from kyc_match.api.models import CalendarDate, KycMatchRequest, no_nulls
from kyc_match.domain.errors import InvalidArgumentError, OutOfRangeError
from kyc_match.domain.line_checks import LineCheck
from kyc_match.domain.line_history import AGE_THRESHOLD_RANGE, DEFAULT_MAX_AGE_HOURS, MAX_AGE_RANGE


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    _no_nulls = model_validator(mode="before")(no_nulls)


class SwapCheckAsked(_Part):
    """SIM or device swap within the last `maxAgeHours` (SIM/Device Swap `maxAge`: 1 to 2400, default 240)."""

    maxAgeHours: StrictInt = DEFAULT_MAX_AGE_HOURS


class SinceAsked(_Part):
    """Number Recycling's `specifiedDate` / KYC Tenure's `tenureDate`: a past calendar date."""

    since: CalendarDate


class AgeAsked(_Part):
    """KYC Age Verification: is the subscriber at least `minimum` years old (its `ageThreshold`, 0 to 120)?"""

    minimum: StrictInt


class LineChecksAsked(_Part):
    simSwap: SwapCheckAsked | None = None
    deviceSwap: SwapCheckAsked | None = None
    numberRecycling: SinceAsked | None = None
    tenure: SinceAsked | None = None
    age: AgeAsked | None = None

    def checks(self, today: date) -> tuple[LineCheck, ...]:
        """The checks asked, each within its spec's bounds (400 INVALID_ARGUMENT / OUT_OF_RANGE)."""
        checks: list[LineCheck] = []
        for signal, swap in (("simSwap", self.simSwap), ("deviceSwap", self.deviceSwap)):
            if swap is not None:
                checks.append(LineCheck(signal, max_age_hours=_max_age(signal, swap.maxAgeHours)))
        for signal, since in (("numberRecycling", self.numberRecycling), ("tenure", self.tenure)):
            if since is not None:
                checks.append(LineCheck(signal, since=_past(signal, since.since, today)))
        if self.age is not None:
            if self.age.minimum not in AGE_THRESHOLD_RANGE:
                raise OutOfRangeError("'lineChecks.age.minimum' must be from 0 to 120.")
            checks.append(LineCheck("age", minimum=self.age.minimum))
        return tuple(checks)


def _max_age(signal: str, hours: int) -> int:
    field = f"'lineChecks.{signal}.maxAgeHours'"
    if hours < MAX_AGE_RANGE.start:
        raise InvalidArgumentError(f"Invalid request body: {field} must be an integer from 1 to 2400.")
    if hours not in MAX_AGE_RANGE:
        raise OutOfRangeError(f"{field} must not exceed 2400 hours.")
    return hours


def _past(signal: str, value: str, today: date) -> date:
    asked = date.fromisoformat(value)  # CalendarDate: already a real date
    if asked > today:
        raise OutOfRangeError(f"'lineChecks.{signal}.since' must not be in the future.")
    return asked


class KycAssessRequest(KycMatchRequest):
    """The match body plus the client's policy to apply (its "default" policy when absent)."""

    policyId: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")] | None = None
    # One of the purposes the client was onboarded for (`dpv:<term>`); absent: its default purpose.
    # Any other value is refused with 403 PERMISSION_DENIED, not validated here.
    purpose: str | None = None
    # Questions about the line, asked of the same operator alongside the match (issue #14).
    lineChecks: LineChecksAsked | None = None

    def line_checks(self, today: date) -> tuple[LineCheck, ...]:
        return self.lineChecks.checks(today) if self.lineChecks is not None else ()
