"""The egress policy: which addresses reelflow may connect to on behalf of an account.

Every outbound connection made for an account (URL inputs and each of their redirects,
webhooks, Redis and AMQP notification targets) goes through one ``EgressPolicy``. By
default only public unicast addresses are allowed; refused are:

    0.0.0.0/8, ::                       unspecified ("this network")
    127.0.0.0/8, ::1                    loopback
    10/8, 172.16/12, 192.168/16         private (RFC 1918)
    fc00::/7, fec0::/10                 private (unique local, site-local)
    100.64.0.0/10                       carrier-grade NAT (RFC 6598)
    169.254.0.0/16, fe80::/10           link-local (cloud metadata services live here)
    224.0.0.0/4, ff00::/8               multicast
    255.255.255.255                     broadcast
    240.0.0.0/4, documentation, benchmarking and every other non-global range  reserved

An IPv6 address that carries an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible
``::a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) is judged by that IPv4 address too.
Operators open ranges with ``REELFLOW_EGRESS_ALLOW`` / ``[network] egress_allow``: an address
inside an allowed CIDR (or carrying one) is allowed whatever the table says.

The check is made on the resolved address at connect time (:meth:`EgressPolicy.resolve`,
then connect to exactly those addresses: ``reelflow.net.sockets`` and ``reelflow.net.http``),
so a name that resolves to a refused address, or that is re-bound between a check and the
connection, gets nowhere. :meth:`EgressPolicy.check_url` is the cheap check at submission: it
refuses hosts that are refused by their spelling alone (IP literals in any numeric form the
system resolver accepts, such as ``0x7f000001``, ``2130706433``, ``127.1`` or, once
IDNA-mapped as the resolver maps it, ``127。0。0。1``, and ``localhost``), without DNS.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from ipaddress import (
    IPv4Address,
    IPv6Address,
    ip_address,
    ip_network,
)
from urllib.parse import urlsplit

from reelflow.config import Settings
from reelflow.config.networks import Network
from reelflow.errors import UrlNotAllowed

Address = IPv4Address | IPv6Address

ALLOW_SETTING = "REELFLOW_EGRESS_ALLOW"
# Spellings that inet_aton (and so getaddrinfo and FFmpeg) read as an IPv4 address:
# 1 to 4 parts, each decimal, octal (leading 0) or hex (0x), optionally a trailing dot.
_NUMERIC_V4 = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.I)

_LOOPBACK = "a loopback address"
_PRIVATE = "a private address"
_RESERVED = "a reserved address"
# Checked in order, first match wins (broadcast before the reserved 240/4).
_RULES: tuple[tuple[Network, str], ...] = tuple(
    (ip_network(cidr), rule)
    for cidr, rule in (
        ("0.0.0.0/8", "an unspecified address"),
        ("127.0.0.0/8", _LOOPBACK),
        ("10.0.0.0/8", _PRIVATE),
        ("172.16.0.0/12", _PRIVATE),
        ("192.168.0.0/16", _PRIVATE),
        ("100.64.0.0/10", "a carrier-grade NAT address"),
        ("169.254.0.0/16", "a link-local address"),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("240.0.0.0/4", _RESERVED),
        ("::/128", "an unspecified address"),
        ("::1/128", _LOOPBACK),
        ("fc00::/7", _PRIVATE),
        ("fec0::/10", _PRIVATE),
        ("fe80::/10", "a link-local address"),
        ("ff00::/8", "a multicast address"),
    )
)
_NAT64 = ip_network("64:ff9b::/96")
_COMPAT = ip_network("::/96")


@dataclass(frozen=True)
class EgressPolicy:
    """``EgressPolicy(allow=(...))``: public unicast only, plus the ``allow`` CIDRs.

    Immutable and thread-safe: built once from the settings (:meth:`from_settings`) and
    handed to every part that connects out."""

    allow: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> EgressPolicy:
        """The policy of ``settings.egress_allow``."""
        return cls(tuple(settings.egress_allow))

    def refusal(self, address: Address) -> str | None:
        """Which rule refuses ``address`` (``"a loopback address"``), or ``None`` if the
        policy allows connecting to it."""
        if self._allowed(address):
            return None
        inner = embedded_ipv4(address)
        if inner is not None:
            if self._allowed(inner):
                return None
            rule = _rule(inner)
            if rule is not None:
                return f"an IPv6 form of {inner}, {rule}"
            if isinstance(address, IPv6Address) and (
                address in _COMPAT or address.ipv4_mapped is not None
            ):
                return None  # it is that public IPv4 address, spelled as IPv6
        return _rule(address)

    def check_address(self, address: Address, *, host: str = "", resolved: bool = False) -> None:
        """Raise ``UrlNotAllowed`` if ``address`` is refused; the message names ``host``
        (the URL's spelling) and, when ``resolved``, says the name led there."""
        rule = self.refusal(address)
        if rule is None:
            return
        spelled = host.strip("[]")
        if not spelled or spelled.lower() == str(address):
            reason = f"{address} is {rule}"
        elif resolved:
            reason = f"{spelled} resolves to {address}, {rule}"
        else:
            reason = f"{spelled} is {address}, {rule}"
        raise UrlNotAllowed(_refused(reason), host=spelled or str(address))

    def check_host(self, host: str) -> None:
        """Refuse ``host`` if its spelling alone is refused (no DNS): an IP literal in any
        numeric form, or ``localhost``. Other names are judged at connect time."""
        name = _ascii(host.strip("[]")).rstrip(".").lower()
        if name == "localhost" or name.endswith(".localhost"):
            # RFC 6761: always loopback; the resolver would answer 127.0.0.1 or ::1.
            if not (self._allowed(IPv4Address("127.0.0.1")) or self._allowed(IPv6Address("::1"))):
                raise UrlNotAllowed(_refused(f"{host} is {_LOOPBACK}"), host=host)
            return
        address = literal_address(host)
        if address is not None:
            self.check_address(address, host=host)

    def check_url(self, url: str) -> None:
        """:meth:`check_host` of the URL's host; ``ValueError`` for a URL with no host."""
        host = urlsplit(url).hostname
        if not host:
            raise ValueError(f"{url!r} has no host")
        self.check_host(host)

    def resolve(self, host: str, port: int) -> list[Address]:
        """The addresses to connect to for ``host`` (one system-resolver lookup), every one
        of them checked: ``UrlNotAllowed`` if any is refused (a name that mixes public and
        internal answers is refused as a whole); ``OSError`` (``socket.gaierror``) if the
        name does not resolve. Connect to these addresses, never to ``host`` again."""
        literal = literal_address(host)
        if literal is not None:
            self.check_address(literal, host=host)
            return [literal]
        found: list[Address] = []
        for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
            address = ip_address(str(sockaddr[0]))
            if address not in found:
                found.append(address)
        for address in found:
            self.check_address(address, host=host, resolved=True)
        return found

    def _allowed(self, address: Address) -> bool:
        return any(address.version == net.version and address in net for net in self.allow)


def literal_address(host: str) -> Address | None:
    """The IP address that ``host`` spells, in any form the system resolver reads as one
    (``[::1]``, ``2130706433``, ``0x7f.1``, ``0177.0.0.1``), else ``None`` (a name)."""
    text = _ascii(host.strip())
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ip_address(text)
    except ValueError:
        pass
    if _NUMERIC_V4.match(text):
        try:
            return IPv4Address(socket.inet_aton(text.rstrip(".")))
        except OSError:
            return None  # out of range: not an address; the resolver will not find it either
    return None


def _ascii(host: str) -> str:
    """``host`` as the resolver and httpx see it: a non-ASCII name IDNA-encoded, which maps
    full-width digits and ideographic full stops (``127。0。0。1``) to ASCII."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host  # not a valid name: nothing will resolve it


def embedded_ipv4(address: Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4)."""
    if not isinstance(address, IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _COMPAT and int(address) > 1):
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _rule(address: Address) -> str | None:
    for network, rule in _RULES:
        if address.version == network.version and address in network:
            return rule
    if not address.is_global:
        return "not a public unicast address"
    return None


def _refused(reason: str) -> str:
    return f"{reason}; the egress policy refuses it ({ALLOW_SETTING})"
