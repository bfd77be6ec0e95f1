"""The decision endpoint's request: the match body plus a policy id and a purpose.

Its own module so that building it (a second full request model) happens on the first decision
request, not at every cold start.
"""

from typing import Annotated

from pydantic import StringConstraints

from kyc_match.api.models import KycMatchRequest


class KycAssessRequest(KycMatchRequest):
    """The match body plus the client's policy to apply (its "default" policy when absent)."""

    policyId: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")] | None = None
    # One of the purposes the client was onboarded for (`dpv:<term>`); absent: its default purpose.
    # Any other value is refused with 403 PERMISSION_DENIED, not validated here.
    purpose: str | None = None
