"""Which addresses a webhook may reach. A portal's URL must not become a way into the gateway's own network
(server-side request forgery): the host is resolved where the connection is made, every address it resolves to
is checked, and the connection goes to a checked address (``transport``).

Always refused: loopback, link-local, cloud metadata, unspecified, multicast, reserved and other non-public
addresses, and the gateway's own addresses. Private networks (RFC 1918, unique local IPv6, carrier-grade NAT,
and any an operator lists in ``WEBHOOK_PRIVATE_NETWORKS``) only for a portal an operator has allowed them.
IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by that IPv4 address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from yarl import URL

from gateway.settings import Settings, SettingsError

log = logging.getLogger("gateway.deliveries")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[Address]]]

# What the portal is told, at the save and in its test: one answer for every refused address, so the gateway
# is no oracle for what names inside its network resolve to. The reason goes to the server's log.
REFUSED = (
    "the URL's host must resolve only to public internet addresses (loopback, link-local, metadata, private, "
    "reserved and the gateway's own addresses are refused; an operator may allow private ones for a portal)"
)


class Kind(StrEnum):
    GATEWAY = "the gateway itself"
    METADATA = "a cloud metadata address"
    LOOPBACK = "a loopback address"
    UNSPECIFIED = "an unspecified address"
    LINK_LOCAL = "a link-local address"
    MULTICAST = "a multicast or broadcast address"
    RESERVED = "a reserved or otherwise non-public address"
    PRIVATE = "a private network address"
    UNRESOLVED = "a name that does not resolve"


METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle
        "169.254.170.2",  # AWS ECS task credentials
        "fd00:ec2::254",  # AWS over IPv6
        "fd00:ec2::23",  # AWS DNS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure platform (wire server)
    )
)
PRIVATE: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
# IPv6 ranges this Python still counts as global that are not the public internet: local-use NAT64 (RFC 8215, which
# a translator inside the network may turn into any internal IPv4 address), deprecated site-local, documentation
# (RFC 9637) and SRv6 segment identifiers.
NOT_PUBLIC_V6: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n) for n in ("64:ff9b:1::/48", "fec0::/10", "3fff::/20", "5f00::/16")
)
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")  # no IPv6 address outside it is on the public internet
# IPv4 ranges some Python versions count as global: IETF protocol assignments and the retired 6to4 relay anycast.
NOT_PUBLIC_V4: tuple[Network, ...] = tuple(ipaddress.ip_network(n) for n in ("192.0.0.0/24", "192.88.99.0/24"))
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPATIBLE = ipaddress.ip_network("::/96")
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, when it stands for one."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or address in _TRANSLATED or (address in _COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def kind(address: Address) -> Kind | None:
    """What kind of non-public address this is; None for a public internet address."""
    address = embedded_ipv4(address) or address
    if address in METADATA:
        return Kind.METADATA
    if address.is_loopback:
        return Kind.LOOPBACK
    if address.is_unspecified or (isinstance(address, ipaddress.IPv4Address) and address.packed[0] == 0):
        return Kind.UNSPECIFIED
    if address.is_link_local:
        return Kind.LINK_LOCAL
    if address.is_multicast or address == ipaddress.IPv4Address("255.255.255.255"):
        return Kind.MULTICAST
    if any(address in network for network in PRIVATE):
        return Kind.PRIVATE
    if not address.is_global or any(address in network for network in (*NOT_PUBLIC_V6, *NOT_PUBLIC_V4)):
        return Kind.RESERVED
    if isinstance(address, ipaddress.IPv6Address) and address not in _GLOBAL_UNICAST:
        return Kind.RESERVED
    return None


@dataclass(frozen=True)
class NetworkPolicy:
    """The operator's part of the rules: the networks counted as private, and the gateway's own addresses."""

    private_networks: tuple[Network, ...] = ()
    own_addresses: frozenset[Address] = frozenset()
    own_port: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> NetworkPolicy:
        try:
            networks = tuple(
                ipaddress.ip_network(n.strip(), strict=False)
                for n in settings.webhook_private_networks.split(",")
                if n.strip()
            )
        except ValueError as exc:
            raise SettingsError(f"WEBHOOK_PRIVATE_NETWORKS: {exc}") from None
        own = URL(settings.public_url)
        port = own.explicit_port or (443 if own.scheme == "https" else 80)
        return cls(networks, frozenset(_own_addresses(own.raw_host or "", port)), port)

    def listed(self, address: Address) -> bool:
        plain = embedded_ipv4(address) or address
        return any(plain in network or address in network for network in self.private_networks)

    def refusal(self, address: Address, port: int, allow_private: bool) -> Kind | None:
        """Why a webhook may not connect to ``address:port``; None when it may."""
        plain = embedded_ipv4(address) or address
        found = kind(address)
        if plain in self.own_addresses and (port == self.own_port or not self.listed(address)):
            return Kind.GATEWAY
        if found is Kind.METADATA:
            return found
        behind = _behind_translation(address)
        if behind is not None and (behind_kind := kind(behind)) in _NEVER_BY_PREFIX:
            # an IPv6 form that carries an IPv4 address (mapped, NAT64, local-use NAT64, 6to4…): listing the IPv6
            # prefix (a translator's) never opens metadata, loopback or link-local behind it; only the IPv4 network
            # itself listed does, and metadata never
            if behind_kind is Kind.METADATA or not any(behind in n for n in self.private_networks):
                return behind_kind
        if found is Kind.PRIVATE or self.listed(address):
            return None if allow_private else Kind.PRIVATE
        return found


_NEVER_BY_PREFIX = (Kind.METADATA, Kind.LOOPBACK, Kind.LINK_LOCAL, Kind.UNSPECIFIED, Kind.MULTICAST)


def _behind_translation(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries: the forms ``embedded_ipv4`` reads, and the local-use NAT64 prefix,
    whose translators an operator runs (RFC 8215; its low 32 bits as the /96 layout has them)."""
    if isinstance(address, ipaddress.IPv6Address) and address in _LOCAL_NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return embedded_ipv4(address)


def _own_addresses(host: str, port: int) -> set[Address]:
    """The addresses of the gateway's public host, looked up once at start."""
    try:
        return {ipaddress.ip_address(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    except (OSError, ValueError, UnicodeError):
        log.warning("the gateway's public host does not resolve; it is refused by name only", extra={"host": host})
        return set()


async def system_resolve(host: str, port: int) -> list[Address]:
    """The operating system's resolver, as a connection would use it: it reads ``127.1``, ``2130706433`` or
    ``0x7f000001`` as the IPv4 address they mean, so the check sees what the socket would reach."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).partition("%")[0])
        if address not in found:
            found.append(address)
    return found


class AddressRefused(Exception):
    """No connection may be made: the host resolves to an address the policy refuses, or to none."""

    def __init__(self, host: str, reason: Kind, addresses: Iterable[Address] = ()) -> None:
        self.host, self.reason, self.addresses = host, reason, tuple(addresses)
        shown = ", ".join(str(a) for a in self.addresses)
        super().__init__(f"{host} ({shown or 'no address'}): {reason.value}")


async def checked(
    host: str, port: int, policy: NetworkPolicy, allow_private: bool, resolve: Resolver = system_resolve
) -> list[Address]:
    """Resolve the host and check every address it has; any refused address refuses them all (a name that mixes
    public and internal addresses is not to be trusted). Returns the addresses to connect to, in order."""
    try:
        addresses = await resolve(host, port)
    except (OSError, ValueError, UnicodeError) as exc:
        raise AddressRefused(host, Kind.UNRESOLVED) from exc
    if not addresses:
        raise AddressRefused(host, Kind.UNRESOLVED)
    for address in addresses:
        reason = policy.refusal(address, port, allow_private)
        if reason is not None:
            raise AddressRefused(host, reason, addresses)
    return addresses
