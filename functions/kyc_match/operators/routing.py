"""Routing: which operator serves a phone number: a ported number's operator (operators/ported.py),
else the longest E.164 prefix's."""

from collections.abc import Mapping
from typing import TYPE_CHECKING

from kyc_match.domain.errors import ServiceNotApplicableError
from kyc_match.domain.ports import OperatorAdapter, OperatorRouter

if TYPE_CHECKING:
    from kyc_match.operators.ported import PortedNumbers


class PrefixRouter:
    def __init__(self, adapters_by_prefix: Mapping[str, OperatorAdapter]) -> None:
        # Longest prefixes first, so "+3460" wins over "+34".
        self._routes = sorted(adapters_by_prefix.items(), key=lambda item: len(item[0]), reverse=True)

    def operator_for(self, phone_number: str) -> OperatorAdapter:
        for prefix, adapter in self._routes:
            if phone_number.startswith(prefix):
                return adapter
        raise ServiceNotApplicableError


class PortingRouter:
    """Ported numbers first, then the longest prefix.

    A number ported to an operator we have no adapter for is `422 SERVICE_NOT_APPLICABLE`: the
    prefix's operator no longer holds that subscriber.
    """

    def __init__(
        self,
        prefixes: OperatorRouter,
        ported: "PortedNumbers",
        adapters_by_id: Mapping[str, OperatorAdapter],
    ) -> None:
        self._prefixes = prefixes
        self._ported = ported
        self._adapters = dict(adapters_by_id)

    @property
    def ported(self) -> "PortedNumbers":
        """Where ported numbers are looked up (the container's `RecentRoutes`)."""
        return self._ported

    def operator_for(self, phone_number: str) -> OperatorAdapter:
        operator_id = self._ported.operator_of(phone_number)
        if operator_id is None:
            return self._prefixes.operator_for(phone_number)
        adapter = self._adapters.get(operator_id)
        if adapter is None:
            raise ServiceNotApplicableError
        return adapter
