"""Where a webhook may be sent: public addresses only, unless the deployment allows private
ones (`FLUXUS_WEBHOOKS_ALLOW_PRIVATE`, for local development).

Checked when an endpoint is saved and again on the address resolved at each delivery, which
is the address the request is then sent to (a name that later resolves to 127.0.0.1 — DNS
rebinding — is refused, not followed)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from services.core.errors import ValidationError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedTarget(ValidationError):
    """The webhook URL points somewhere Fluxus does not send webhooks."""

    code = "webhook_target_refused"


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (the Host header, the TLS server name)
    port: int
    address: str  # the checked IP the request goes to


def _public(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def parse(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:  # e.g. an unclosed [IPv6 literal
        raise RefusedTarget("the URL does not parse", errors={"url": [str(exc)]}) from exc
    if parts.scheme not in ("http", "https") or not hostname:
        raise RefusedTarget("the URL must be http:// or https:// with a host",
                            errors={"url": ["must be an absolute http(s) URL"]})
    if parts.username or parts.password:
        raise RefusedTarget("the URL must not carry credentials",
                            errors={"url": ["must not contain user:password@"]})
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise RefusedTarget("the URL's port is not valid", errors={"url": [str(exc)]}) from exc
    return parts.scheme, hostname, port


def resolve(url: str, *, allow_private: bool) -> Target:
    """The address to send to, or RefusedTarget if any address the name has is not public."""
    scheme, host, port = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise RefusedTarget(f"{host} does not resolve",
                            errors={"url": ["the host name does not resolve"]}) from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise RefusedTarget(f"{host} does not resolve", errors={"url": ["no address"]})
    if not allow_private:
        refused = [str(a) for a in addresses if not _public(a)]
        if refused:
            raise RefusedTarget(
                f"{host} resolves to a private, loopback or link-local address ({refused[0]})",
                errors={"url": ["private, loopback and link-local targets are refused"]},
            )
    return Target(scheme, host, port, str(addresses[0]))
