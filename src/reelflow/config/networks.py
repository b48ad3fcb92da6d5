"""The networks an operator opens to egress (``[network] egress_allow``,
``REELFLOW_EGRESS_ALLOW``): parsed here, with the settings, and enforced by
``reelflow.net.egress``."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network, ip_network

Network = IPv4Network | IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs (``10.0.0.0/8``, ``::1/128``, a bare address = one host); ``ValueError`` names
    the first one that is not valid."""
    networks: list[Network] = []
    for value in values:
        text = value.strip()
        if not text:
            continue
        try:
            networks.append(ip_network(text))
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a CIDR ({exc})") from None
    return tuple(networks)
