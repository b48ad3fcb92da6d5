"""An httpx transport that connects only where the egress policy allows.

httpcore opens every connection through a ``NetworkBackend``; ``GuardedBackend`` resolves the
request's host once, checks every address (``UrlNotAllowed`` before any connection if one is
refused) and connects to a checked address. TLS still verifies the certificate for the name,
and the ``Host`` header is the name: only the socket's address is pinned. Each redirect hop is
a request of its own, so it opens its own connection through the same check; a pooled
connection is reused only for the same origin it was checked for.

``UrlNotAllowed`` is not an httpx error: it leaves ``client.get(...)`` as it is raised, so a
caller can tell a refused address from an unreachable one.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable

import httpcore
import httpx

from reelflow.errors import UrlNotAllowed
from reelflow.net.egress import EgressPolicy

DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
# httpcore's SOCKET_OPTION, spelled out (httpcore does not export it).
SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend, with every TCP connection checked by ``policy``."""

    def __init__(self, policy: EgressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self._policy.resolve(host, port)
        except OSError as exc:  # the name does not resolve
            raise httpcore.ConnectError(f"{host}: {exc.strerror or exc}") from exc
        error: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error if error is not None else httpcore.ConnectError(f"{host}: no address")

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        raise UrlNotAllowed(f"unix socket {path}: the egress policy refuses local sockets")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` whose connections go through :class:`GuardedBackend`; never
    through a proxy from the environment (the proxy would connect, unchecked)."""

    def __init__(
        self,
        policy: EgressPolicy,
        *,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> None:
        # The CA bundle is loaded once, for both pools below.
        context = (
            verify
            if isinstance(verify, ssl.SSLContext)
            else httpx.create_ssl_context(verify=verify, trust_env=False)
        )
        super().__init__(verify=context, limits=limits, trust_env=False)
        # HTTPTransport offers no network_backend argument: the pool it built is replaced
        # by the same pool with the guarded backend.
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )
