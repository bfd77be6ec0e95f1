"""Which endpoints an operator's OpenID discovery document may name (issue #23).

Configured URLs are checked at synth (infra/config.py: https on a public host in a deployed stage);
discovered ones arrive at run time, from the operator's server or whoever answers for it, and would
carry our client assertions and a `login_hint=tel:...`. In a deployed stage an endpoint must be
https on the issuer's host (or a host the operator's entry allows: `discoveryHosts`), and its host
must not be an address outside the public internet: loopback (the Lambda Runtime API on
127.0.0.1:9001), link-local (169.254.169.254, fe80::/10), private (10/8, 172.16/12, 192.168/16,
fc00::/7), unspecified, or a number a resolver might read as one. Locally (`kyc-match serve`, the
operator simulator) loopback hosts are allowed, over http too, as `OperatorUrl` allows them.

A name that resolves to a private address is not caught here (no DNS lookup): the issuer's own
host, or one the entry names, is trusted as far as TLS shows it is the operator's.
"""

import ipaddress
from collections.abc import Collection
from urllib.parse import urlsplit

_LOOPBACK_NAMES = ("localhost", ".localhost")


def allowed_endpoint(url: str, issuer: str, hosts: Collection[str], *, loopback: bool) -> bool:
    """May a discovered endpoint be used? `loopback`: a local run, where loopback hosts are allowed."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if loopback and _is_loopback(host):
        return True
    if parts.scheme != "https" or not _public(host):
        return False
    return host == (urlsplit(issuer).hostname or "").lower() or host in {name.lower() for name in hosts}


def _is_loopback(host: str) -> bool:
    if host.endswith(_LOOPBACK_NAMES):
        return True
    address = _address(host)
    return address is not None and address.is_loopback


def _public(host: str) -> bool:
    """A DNS name that is not a loopback name nor a number, or an address on the public internet."""
    if not host or host.endswith(_LOOPBACK_NAMES):
        return False
    address = _address(host)
    if address is None:
        last = host.rstrip(".").rsplit(".", 1)[-1]
        return not (last.isdigit() or last.startswith("0x"))  # 2130706433, 127.1, 0x7f.1: numbers
    return address.is_global and not address.is_multicast


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return address
