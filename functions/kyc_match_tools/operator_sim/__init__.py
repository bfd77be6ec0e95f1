"""A simulated CAMARA-profile operator on loopback: OpenID discovery, JWT Bearer / CIBA / client
credentials with private_key_jwt, KYC Match bound to the token's subscriber, with fault knobs.

Local tooling only (never in the Lambda asset): `kyc-match operator-sim`, or `start_simulator(...)`
from tests.

The names below are loaded on first use: every `kyc-match` command reads the fault catalogue for its
`--help`, and only `operator-sim` needs the simulator (and the JOSE and crypto libraries it imports).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kyc_match_tools.operator_sim.faults import Faults, FaultSettings, Stats
    from kyc_match_tools.operator_sim.server import SimulatorHandle, start_simulator
    from kyc_match_tools.operator_sim.simulator import OperatorSimulator, SimulatorOptions

_MODULE_OF = {
    "FaultSettings": "faults",
    "Faults": "faults",
    "Stats": "faults",
    "SimulatorHandle": "server",
    "start_simulator": "server",
    "OperatorSimulator": "simulator",
    "SimulatorOptions": "simulator",
}
__all__ = [
    "FaultSettings",
    "Faults",
    "OperatorSimulator",
    "SimulatorHandle",
    "SimulatorOptions",
    "Stats",
    "start_simulator",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
