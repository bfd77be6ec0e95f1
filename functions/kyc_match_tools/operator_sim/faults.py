"""The simulator's knobs: latency, error statuses, malformed bodies, dropped connections, token trouble.

Set them from the CLI, from tests (`handle.faults.set(...)`), or over HTTP (`POST /_sim/faults`).
"""

import threading
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal, get_args

Malformed = Literal[
    "not_json",  # a body that is not JSON
    "not_object",  # a JSON list
    "bad_result",  # a result other than "true"/"false"/"not_available"
    "extra_attribute",  # a result for an attribute that was not asked
    "score_on_true",  # a score beside "true"
    "score_out_of_range",  # a score of 100
]
MALFORMED_KINDS: tuple[str, ...] = get_args(Malformed)


@dataclass(frozen=True)
class FaultSettings:
    latency_seconds: float = 0.0  # delay before the match endpoint answers
    token_latency_seconds: float = 0.0  # delay before the token endpoint answers
    error_status: int | None = None  # the match endpoint answers this status (CAMARA ErrorInfo body)
    error_code: str | None = None  # the ErrorInfo code sent with error_status (default: per status)
    malformed: Malformed | None = None  # a 200 whose body breaks the contract
    drop_connection: bool = False  # close the connection without answering
    times: int | None = None  # the match faults above apply to the next N requests only (None: all)
    token_error_status: int | None = None  # the token endpoint answers this status
    reject_credentials: bool = False  # the token endpoint refuses the client credentials (401)
    reject_tokens: bool = False  # every bearer token is refused (401), even a fresh one
    bank_account_match: bool = False  # vwip: add bankAccountNumberMatch to every answer

    def __post_init__(self) -> None:
        if self.malformed is not None and self.malformed not in MALFORMED_KINDS:
            raise ValueError(f"malformed must be one of {', '.join(MALFORMED_KINDS)}")
        for status in (self.error_status, self.token_error_status):
            if status is not None and not 400 <= status <= 599:
                raise ValueError("error statuses must be 4xx or 5xx")


KNOB_NAMES = frozenset(item.name for item in fields(FaultSettings))


@dataclass
class Stats:
    token_requests: int = 0
    tokens_issued: int = 0
    match_requests: int = 0
    connections: int = 0
    correlators: list[str | None] = field(default_factory=list)


class Faults:
    """Thread-safe holder of the current knobs and counters."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self._lock = threading.Lock()
        self._settings = settings or FaultSettings()
        self._stats = Stats()

    @property
    def settings(self) -> FaultSettings:
        with self._lock:
            return self._settings

    def set(self, **knobs: Any) -> FaultSettings:
        """Change some knobs, keep the others; unknown names raise ValueError."""
        unknown = set(knobs) - KNOB_NAMES
        if unknown:
            raise ValueError(f"unknown knobs: {', '.join(sorted(unknown))}")
        with self._lock:
            self._settings = replace(self._settings, **knobs)
            return self._settings

    def clear(self) -> None:
        with self._lock:
            self._settings = FaultSettings()

    def stats(self) -> Stats:
        with self._lock:
            return replace(self._stats, correlators=list(self._stats.correlators))

    def reset_stats(self) -> None:
        with self._lock:
            self._stats = Stats()

    def count(self, counter: str, amount: int = 1) -> None:
        with self._lock:
            setattr(self._stats, counter, getattr(self._stats, counter) + amount)

    def note_match(self, correlator: str | None) -> FaultSettings:
        """Count a match request and return the knobs that apply to it (consuming one of `times`)."""
        with self._lock:
            self._stats.match_requests += 1
            self._stats.correlators.append(correlator)
            current = self._settings
            if current.times is None:
                return current
            if current.times <= 0:
                return _without_match_faults(current)
            self._settings = replace(current, times=current.times - 1)
            return current

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"faults": asdict(self._settings), "stats": asdict(self._stats)}


def _without_match_faults(settings: FaultSettings) -> FaultSettings:
    return replace(settings, latency_seconds=0.0, error_status=None, malformed=None, drop_connection=False)
