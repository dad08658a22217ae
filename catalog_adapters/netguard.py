"""Where URLs found inside a remote catalog may lead: public addresses only, checked where the socket connects.

A feed or store API names image URLs; a poisoned one could make a worker call internal
services (loopback, the private network, a cloud metadata address at 169.254.169.254). The
guard sits in the connection itself, so it sees every request the session makes, every
redirect hop included:

1. the host is resolved once; if any of its addresses is loopback, private, link-local,
   multicast, reserved, unspecified or otherwise not globally routable, the request is refused
   before anything is sent;
2. the socket connects to the address that was checked (no second lookup, so a DNS answer that
   changes in between - "rebinding" - cannot slip in), and the address it actually connected to
   is checked again.

A seller whose images live on an internal host lists it in PRODUCTREEL_ALLOWED_PRIVATE_HOSTS:
comma-separated host names (trusted by name), IP addresses or CIDR networks (trusted by address).
The catalog URL the seller gives is not checked: only what is found inside it.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any

import requests
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family

from productreel.errors import InputError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SETTING = "PRODUCTREEL_ALLOWED_PRIVATE_HOSTS"


class AddressRefused(InputError):
    """A URL inside a catalog leads to an address the guard does not allow; ``reason`` says which and why."""

    def __init__(self, host: str, address: str, kind: str) -> None:
        self.host, self.address, self.kind = host, address, kind
        shown = host if host == address else f"{host} ({address})"
        self.reason = f"{shown} is a {kind} address; list it in {SETTING} if it is yours"
        super().__init__(f"refused: {self.reason}")


def address_kind(address: str | IPAddress) -> str | None:
    """Why an address is not public ('loopback', 'private', 'link-local', ...), or None when it is."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:  # ::ffff:127.0.0.1 and friends reach the IPv4 address inside
            return address_kind(embedded)
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local (cloud metadata)" if str(ip) in ("169.254.169.254", "fd00:ec2::254") else "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_reserved:  # before private: Python counts 240.0.0.0/4 as both
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "non-public"
    return None


@dataclass(frozen=True)
class Policy:
    """Which non-public hosts a seller trusts: names, and addresses or networks."""

    names: frozenset[str] = frozenset()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(default=())

    @classmethod
    def parse(cls, text: str | None) -> Policy:
        """A policy from the setting's text ("images.internal, 10.0.0.0/8, 127.0.0.1"); InputError naming a bad entry."""
        names: set[str] = set()
        networks = []
        for entry in (text or "").replace(";", ",").split(","):
            entry = entry.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            if "/" in entry or " " in entry or ":" in entry:
                raise InputError(f"{SETTING}: {entry!r} is neither a host name, an IP address nor a CIDR network")
            names.add(entry.rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def trusts_name(self, host: str) -> bool:
        """True for a host the seller listed by name."""
        return host.strip("[]").rstrip(".").lower() in self.names

    def check(self, host: str, address: str) -> None:
        """Raise AddressRefused unless ``address`` (what ``host`` resolved to) is public or listed."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:  # a dual-stack socket's view of an IPv4 peer
            ip = ip.ipv4_mapped
        if any(ip in net for net in self.networks):
            return
        kind = address_kind(ip)
        if kind is not None:
            raise AddressRefused(host.strip("[]"), str(ip), kind)


class _Guarded:
    """Mixed into urllib3's connections: resolve, check, connect to the checked address, check the peer."""

    policy: Policy

    def _new_conn(self) -> socket.socket:
        host = self._dns_host.strip("[]")  # type: ignore[attr-defined]
        if self.policy.trusts_name(host):
            return super()._new_conn()  # type: ignore[misc]
        try:
            infos = socket.getaddrinfo(host, self.port, allowed_gai_family(), socket.SOCK_STREAM)  # type: ignore[attr-defined]
        except socket.gaierror as exc:
            raise NameResolutionError(host, self, exc) from exc  # type: ignore[arg-type]
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:  # one bad address refuses the host: which one a client gets is not ours to pick
            self.policy.check(host, address)
        original = self._dns_host  # type: ignore[attr-defined]
        last: BaseException | None = None
        for address in addresses:
            self._dns_host = address  # connect to what was checked, not to a second lookup
            try:
                sock = super()._new_conn()  # type: ignore[misc]
                break
            except NewConnectionError as exc:
                last = exc
            finally:
                self._dns_host = original
        else:
            assert last is not None
            raise last
        try:
            self.policy.check(host, str(sock.getpeername()[0]))
        except AddressRefused:
            sock.close()
            raise
        return sock


def guard_session(session: requests.Session, policy: Policy) -> requests.Session:
    """Make every connection of ``session`` (redirect hops included) go through the guard; returns it.

    The session also stops reading proxies from the environment: through a proxy the guard
    would check the proxy's address, not the image host's.
    """
    http_conn = type("GuardedHTTPConnection", (_Guarded, HTTPConnection), {"policy": policy})
    https_conn = type("GuardedHTTPSConnection", (_Guarded, HTTPSConnection), {"policy": policy})
    pools: dict[str, Any] = {
        "http": type("GuardedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
        "https": type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
    }
    for adapter in session.adapters.values():
        manager = getattr(adapter, "poolmanager", None)
        if manager is not None:
            manager.clear()
            manager.pool_classes_by_scheme = pools
    session.trust_env = False
    session.proxies.clear()
    return session
