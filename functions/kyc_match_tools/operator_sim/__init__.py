"""A simulated operator: OAuth2 client credentials + CAMARA KYC Match on loopback, with fault knobs.

Local tooling only (never in the Lambda asset): `kyc-match operator-sim`, or `start_simulator(...)`
from tests.
"""

from kyc_match_tools.operator_sim.faults import Faults, FaultSettings, Stats
from kyc_match_tools.operator_sim.server import (
    OperatorSimulator,
    SimulatorHandle,
    SimulatorOptions,
    start_simulator,
)

__all__ = [
    "FaultSettings",
    "Faults",
    "OperatorSimulator",
    "SimulatorHandle",
    "SimulatorOptions",
    "Stats",
    "start_simulator",
]
