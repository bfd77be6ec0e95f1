"""Routing: which operator serves a phone number (longest E.164 prefix wins)."""

from collections.abc import Mapping

from kyc_match.domain.errors import ServiceNotApplicableError
from kyc_match.domain.ports import OperatorAdapter


class PrefixDirectory:
    def __init__(self, adapters_by_prefix: Mapping[str, OperatorAdapter]) -> None:
        # Longest prefixes first, so "+3460" wins over "+34".
        self._routes = sorted(adapters_by_prefix.items(), key=lambda item: len(item[0]), reverse=True)

    def operator_for(self, phone_number: str) -> OperatorAdapter:
        for prefix, adapter in self._routes:
            if phone_number.startswith(prefix):
                return adapter
        raise ServiceNotApplicableError
