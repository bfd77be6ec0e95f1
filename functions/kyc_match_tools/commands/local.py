"""What every local command needs before the handler is imported: AWS stand-ins, tables, test data."""

import logging
import os
from pathlib import Path

from kyc_match_tools import local_aws


def start_local_aws(subscribers: Path = local_aws.DEFAULT_SUBSCRIBERS, moto_port: int = 0) -> None:
    """Use AWS_ENDPOINT_URL when set (a moto server, DynamoDB Local…), else an embedded moto."""
    local_aws.use_local_credentials()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if not os.environ.get("AWS_ENDPOINT_URL"):
        local_aws.start_embedded_moto(moto_port)
    local_aws.ensure_audit_fallback_queue()
    from kyc_match.settings import get_settings  # noqa: PLC0415 - after the environment is set

    local_aws.prepare(get_settings(), subscribers)
