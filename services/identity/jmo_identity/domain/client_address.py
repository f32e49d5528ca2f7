"""Which address a request comes from, for throttling: the peer, or what trusted proxies say.

X-Forwarded-For is written by whoever sent the request, so it is believed only
as far as it was appended by proxies we run: walk it from the right (the
entry our own proxy added) past every trusted hop; the first address that is
not one of ours is the client. A request that did not come through a trusted
proxy is the peer itself, whatever header it carries.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

UNKNOWN = "unknown"


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs or single addresses (e.g. "10.0.0.0/8", "127.0.0.1"); raises ValueError on a bad one."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    candidate = value.strip().strip('"')
    if candidate.startswith("[") and "]" in candidate:  # "[2001:db8::1]:443"
        candidate = candidate[1 : candidate.index("]")]
    elif candidate.count(":") == 1:  # "203.0.113.7:5123"
        candidate = candidate.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket is the same client.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)


def client_address(peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The client's address as a string; `forwarded_for` holds every X-Forwarded-For header, in order."""
    peer_address = _address(peer) if peer else None
    if peer_address is None:
        return UNKNOWN
    if not _trusted(peer_address, trusted):
        return str(peer_address)
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    nearest = peer_address
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            # A proxy of ours would not write garbage: the entry came from the client side. The
            # last address we could trust is where the untrustworthy part starts.
            return str(nearest)
        if not _trusted(address, trusted):
            return str(address)
        nearest = address
    return str(nearest)
