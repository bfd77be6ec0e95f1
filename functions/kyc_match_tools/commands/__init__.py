"""Sub-commands of `kyc-match`: each module has `register(subparsers)`, which sets `run` on its parser."""

from types import ModuleType

from kyc_match_tools.commands import audit, clients, invoke, keys, operator_sim, policy, ported_numbers, serve

COMMANDS: tuple[ModuleType, ...] = (serve, invoke, audit, policy, clients, operator_sim, ported_numbers, keys)
