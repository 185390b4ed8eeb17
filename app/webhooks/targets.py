"""Where a webhook may point: http(s) only, and never at a private, loopback, link-local, multicast or reserved
address (SSRF), checked at registration and again before every delivery (a name may be re-pointed: DNS rebinding).

The delivery then connects to the addresses checked, not to a fresh lookup (``transport.py``).
``WEBHOOKS_ALLOW_PRIVATE`` lifts the address rule (local development, tests with a local receiver);
``WEBHOOKS_REQUIRE_HTTPS`` (on in production) refuses plain http.
"""
import ipaddress
import socket
from urllib.parse import urlsplit

from flask import current_app


class UnsafeTarget(Exception):
    """A URL webhooks must not be sent to; the message says why."""


def resolve(host, port):
    """Every address ``host`` resolves to (``socket.getaddrinfo``); an empty list when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        return []
    return [info[4][0] for info in infos]


def forbidden_address(address):
    """Why an address is off limits, or None for a public unicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    # Most specific first: Python counts link-local, unspecified and reserved ranges as private too.
    for label, flag in (("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
                        ("multicast", ip.is_multicast), ("unspecified", ip.is_unspecified),
                        ("reserved", ip.is_reserved), ("private", ip.is_private), ("non-global", not ip.is_global)):
        if flag:
            return label
    return None


def _parts(url):
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise UnsafeTarget(f"Not a valid URL: {error}.") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("The URL must start with https:// (or http://).")
    if parts.scheme == "http" and current_app.config["WEBHOOKS_REQUIRE_HTTPS"]:
        raise UnsafeTarget("The URL must use https.")
    if not parts.hostname:
        raise UnsafeTarget("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeTarget("The URL must not carry credentials.")
    return parts.hostname, port


def check(url):
    """The addresses ``url``'s host resolves to now, in resolver order and without repeats, once they are all
    allowed (public unless WEBHOOKS_ALLOW_PRIVATE); raise ``UnsafeTarget`` otherwise. Delivery connects to these
    addresses only (``transport.post``), so a name re-pointed after the check is not followed."""
    host, port = _parts(url)
    addresses = list(dict.fromkeys(resolve(host, port)))
    if not addresses:
        raise UnsafeTarget(f"The host {host} does not resolve.")
    if current_app.config["WEBHOOKS_ALLOW_PRIVATE"]:
        return addresses
    for address in addresses:
        problem = forbidden_address(address)
        if problem:
            raise UnsafeTarget(f"The host {host} resolves to a {problem} address ({address}); webhooks go to public "
                               "addresses only.")
    return addresses
