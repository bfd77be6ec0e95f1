"""What every local command needs before the handler is imported: AWS stand-ins, tables, test data."""

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kyc_match_tools import local_aws
from kyc_match_tools.errors import UsageError, one_line

Subscribers = Sequence[Mapping[str, Any]]


def route_sandbox_to(subscribers: Subscribers, source: Path, operators_file: Path | None = None) -> str:
    """Unless operators are configured, the sandbox serves the subscribers' country codes; says which.

    Call before the settings are first read. Returns the start-up line (prefixes, never numbers).
    """
    from kyc_match.operators.config import SANDBOX_OPERATORS  # noqa: PLC0415
    from kyc_match_tools.sandbox import country_code_prefixes, sandbox_operators_json  # noqa: PLC0415

    prefixes = country_code_prefixes(subscribers, source.name)
    if os.environ.get("KYC_OPERATORS", "").strip():
        origin = operators_file.name if operators_file else "KYC_OPERATORS"
        return f"operators from {origin}: {_operators_summary(os.environ['KYC_OPERATORS'])}"
    if not prefixes:
        return f"operators: {_operators_summary('')} (the built-in default: {source.name} has no subscribers)"
    bundled = source == local_aws.DEFAULT_SUBSCRIBERS
    os.environ["KYC_OPERATORS"] = sandbox_operators_json(prefixes, bundled=bundled)
    routes = f"operators: sandbox serves {', '.join(prefixes)} (the country codes in {source.name})"
    for operator in SANDBOX_OPERATORS[1:] if bundled else ():  # for numbers of the bundled set
        routes += f"; {operator.id} serves {', '.join(operator.prefixes)} (no line-history API)"
    return routes


def _operators_summary(operators_json: str) -> str:
    from kyc_match.operators.config import parse_operators  # noqa: PLC0415

    try:
        operators = parse_operators(operators_json)
    except ValueError as error:  # pydantic's ValidationError is one; its text never quotes input
        raise UsageError(f"KYC_OPERATORS is not a valid operators list: {one_line(error)}") from None
    return "; ".join(f"{operator.id} serves {', '.join(operator.prefixes)}" for operator in operators)


def start_local_aws(subscribers: Subscribers, moto_port: int = 0) -> None:
    """Use AWS_ENDPOINT_URL when set (a moto server, DynamoDB Local…), else an embedded moto."""
    local_aws.use_local_credentials()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if not os.environ.get("AWS_ENDPOINT_URL"):
        local_aws.start_embedded_moto(moto_port)
    local_aws.ensure_audit_fallback_queue()
    from kyc_match.settings import get_settings  # noqa: PLC0415 - after the environment is set

    local_aws.prepare(get_settings(), subscribers)
