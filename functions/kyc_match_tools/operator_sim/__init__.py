"""A simulated CAMARA-profile operator on loopback: OpenID discovery, JWT Bearer / CIBA / client
credentials with private_key_jwt, KYC Match bound to the token's subscriber, with fault knobs.

Local tooling only (never in the Lambda asset): `kyc-match operator-sim`, or `start_simulator(...)`
from tests.
"""

from kyc_match_tools.operator_sim.faults import Faults, FaultSettings, Stats
from kyc_match_tools.operator_sim.server import SimulatorHandle, start_simulator
from kyc_match_tools.operator_sim.simulator import OperatorSimulator, SimulatorOptions

__all__ = [
    "FaultSettings",
    "Faults",
    "OperatorSimulator",
    "SimulatorHandle",
    "SimulatorOptions",
    "Stats",
    "start_simulator",
]
