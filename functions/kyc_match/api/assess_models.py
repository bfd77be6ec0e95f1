"""The decision endpoint's request: the match body plus a policy id.

Its own module so that building it (a second full request model) happens on the first decision
request, not at every cold start.
"""

from typing import Annotated

from pydantic import StringConstraints

from kyc_match.api.models import KycMatchRequest


class KycAssessRequest(KycMatchRequest):
    """The match body plus the client's policy to apply (its "default" policy when absent)."""

    policyId: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")] | None = None
