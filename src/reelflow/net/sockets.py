"""Plain TCP connections through the egress policy (Redis and AMQP notification targets)."""

from __future__ import annotations

import socket

from reelflow.net.egress import Address, EgressPolicy


def connect(policy: EgressPolicy, host: str, port: int, *, timeout: float | None) -> socket.socket:
    """A TCP socket to ``host``: resolved once, every address checked (``UrlNotAllowed``
    before any connection if one is refused), then connected to a checked address: the
    name is never looked up again, so a re-bound name cannot slip in between.
    ``OSError`` if none of the addresses answers."""
    return connect_addresses(policy.resolve(host, port), port, timeout=timeout)


def connect_addresses(
    addresses: list[Address], port: int, *, timeout: float | None
) -> socket.socket:
    """``socket.create_connection`` to the first of ``addresses`` that answers."""
    error: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((str(address), port), timeout=timeout)
        except OSError as exc:
            error = exc
    raise error if error is not None else OSError(f"no address to connect to on port {port}")
