"""Clients onboarded in the local (moto) configuration table, as `kyc-match clients put` does: the
function refuses a client without a record. (The in-memory double of the port is doubles.MemoryClients.)"""

from kyc_match.settings import get_settings
from kyc_match_tools import local_aws


def onboard(client_id: str, *purposes: str) -> str:
    """Onboard `client_id` for these purposes (default: the service's default one); returns the id."""
    local_aws.onboard_clients(get_settings(), [client_id], purposes)
    return client_id
