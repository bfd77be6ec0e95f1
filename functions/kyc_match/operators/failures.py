"""What an operator call can end in besides verdicts: a failure of ours or the operator's, with a
fixed, data-free reason, the CAMARA answer for our client, and whether it counts against the breaker."""

from kyc_match.domain.errors import KycMatchError

CREDENTIALS_REFUSED_METRIC = "OperatorCredentialsRefused"
CONSENT_REFUSED_METRIC = "OperatorConsentRefused"


class OperatorFailure(Exception):
    """`reason` is a fixed label (logged, never shown to the client); `error` is the client's answer.

    `retryable`: the request did not reach the operator or may be repeated safely. `breaker`: counts
    as a failure of the operator (False for answers that are the subscriber's, such as no consent).
    `metric`: an extra per-operator metric for the alarms (our credentials refused, consent refused).
    """

    def __init__(
        self,
        error: KycMatchError,
        reason: str,
        *,
        retryable: bool = False,
        breaker: bool = True,
        metric: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.error = error
        self.reason = reason
        self.retryable = retryable
        self.breaker = breaker
        self.metric = metric
