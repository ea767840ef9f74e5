"""A tiny real mail sender's routing step: which host does mail for a domain go to? (RFC 5321 5.1)

This is the kind of code zonetool's `dns_server` fixture is for: it asks a real DNS server
(here through dnspython) and must behave correctly for every answer it can get.
"""

from __future__ import annotations

from dataclasses import dataclass

import dns.exception
import dns.rdatatype
import dns.resolver


class PermanentFailure(Exception):
    """Mail for this domain can never be delivered (bounce it)."""


class TemporaryFailure(Exception):
    """Try again later (keep the message queued)."""


@dataclass(frozen=True)
class Route:
    exchange: str
    address: str


def resolver_for(host: str, port: int) -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = port
    resolver.lifetime = 3.0
    return resolver


def pick_route(domain: str, resolver: dns.resolver.Resolver) -> Route:
    """The first exchange, by preference, that has an address."""
    try:
        answer = resolver.resolve(domain, "MX")
        exchanges = sorted((r.preference, r.exchange.to_text()) for r in answer)
    except dns.resolver.NXDOMAIN:
        raise PermanentFailure(f"{domain} does not exist") from None
    except dns.resolver.NoAnswer:
        exchanges = [(0, domain.rstrip(".") + ".")]  # RFC 5321 5.1: no MX, the domain itself is the host
    except (dns.resolver.NoNameservers, dns.exception.Timeout) as exc:
        raise TemporaryFailure(f"cannot look up MX for {domain}: {exc}") from None
    if exchanges == [(0, ".")]:
        raise PermanentFailure(f"{domain} accepts no mail (null MX, RFC 7505)")
    for _, exchange in exchanges:
        try:
            address = resolver.resolve(exchange, "A")[0].address
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            continue  # this exchange has no address: try the next one
        except (dns.resolver.NoNameservers, dns.exception.Timeout) as exc:
            raise TemporaryFailure(f"cannot look up {exchange}: {exc}") from None
        return Route(exchange, address)
    raise TemporaryFailure(f"no exchange of {domain} has an address")
