"""Who may transfer a zone: `--allow-transfer` entries, by address, by TSIG key, or by both.

    192.0.2.7            that address, unsigned or signed
    10.0.0.0/8           that prefix
    key=xfr.example      any address, with a request signed by that key
    10.0.0.0/8,key=xfr   both required

A transfer is allowed when one entry matches in every part it names (Knot's acl has the same
shape). No entry: nobody (RFC 5936 4.2: the primary decides).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from zonetool.names import Name, NameError_

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Rule:
    network: Network | None
    key: Name | None

    def matches(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, key: Name | None) -> bool:
        if self.key is not None and key != self.key:
            return False
        if self.network is None:
            return True
        return address is not None and address.version == self.network.version and address in self.network


def parse_rule(text: str, keys: Mapping[Name, object] | None = None) -> Rule:
    """One entry; ValueError names what is wrong (a key that no --tsig-key file defines, too)."""
    network: Network | None = None
    key: Name | None = None
    for part in (p.strip() for p in text.split(",")):
        if part.startswith("key="):
            raw = part[4:]
            try:
                key = Name.from_text(raw if raw.endswith(".") else raw + ".")
            except NameError_ as exc:
                raise ValueError(f"allow-transfer {text!r}: key name {raw!r}: {exc}") from None
            if keys is not None and key not in keys:
                raise ValueError(f"allow-transfer {text!r}: no --tsig-key file defines the key {raw!r}")
        else:
            try:
                network = ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(
                    f"allow-transfer {text!r} is not an IP address or CIDR prefix (e.g. 192.0.2.1, 10.0.0.0/8), "
                    "a key=NAME, or both joined by a comma"
                ) from None
    if network is None and key is None:
        raise ValueError(f"allow-transfer {text!r}: empty")
    return Rule(network, key)


def client_address(client: tuple[str, int]) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(client[0].split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d
    return address


def allowed(rules: Sequence[Rule], client: tuple[str, int], key: Name | None) -> bool:
    address = client_address(client)
    return any(rule.matches(address, key) for rule in rules)
