"""The `mail:` block: one definition of a mail setup -> MX, SRV, A/AAAA records.

A mail domain is described once (exchangers with priority, weight, port and addresses)
and published in both forms senders look for: MX (RFC 5321 5.1) and, on request, the
`_smtp._tcp` SRV set (RFC 2782), plus the client services of RFC 6186 / RFC 8314. Every
record carries `origin="mail"` and the path of the item that made it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zonetool.blocks.context import Compiler, Path
from zonetool.blocks.mailpolicy import compile_dane, compile_policies
from zonetool.blocks.registry import block
from zonetool.blocks.services import number, srv_target
from zonetool.names import ROOT, Name
from zonetool.rrtypes import MX, SRV
from zonetool.schema import CLIENT_SERVICES

SMTP_PORT = 25
KEYS = {"mail": ("mail", "MX records (and _smtp._tcp / client SRV records) from one definition")}


@block("mail", keys=KEYS, order=20, position=30)
def compile_mail_block(c: Compiler, spec: Mapping[str, Any]) -> None:
    if "mail" in spec:
        compile_mail(c, spec["mail"], ("mail",))


def _label(c: Compiler, *labels: str) -> Name:
    return Name(tuple(label.encode("ascii") for label in labels) + c.origin.labels)


def compile_mail(c: Compiler, value: object, path: Path) -> None:
    spec = c.mapping(value, "mail", path)
    if spec is None:
        return
    ttl = c.ttl_of(spec, path, c.ttl)
    srv = _flag(c, spec, "srv", path)
    null = _flag(c, spec, "null", path)
    smtp = _label(c, "_smtp", "_tcp")
    hosts: list[Name] = []  # the exchangers that made an MX: mta_sts's default mx patterns

    if null:
        if spec.get("exchangers"):
            c.error("null-mx-with-exchangers", "a null MX (send-only domain) cannot also list exchangers",
                    (*path, "exchangers"), hint="RFC 7505 3: the null MX must be the only MX; remove `null: true` "
                    "or the exchangers")
        else:
            # RFC 7505 3: "0 ." says the domain accepts no mail.
            c.add(c.origin, ttl, MX(0, ROOT), (*path, "null"), "mail")
            if srv:  # RFC 2782: target "." = service decidedly not available
                c.add(smtp, ttl, SRV(0, 0, 0, ROOT), (*path, "srv"), "mail")
    if "exchangers" in spec and not (null and spec.get("exchangers")):
        exchangers = spec["exchangers"]
        epath = (*path, "exchangers")
        if not isinstance(exchangers, list):
            c.wrong_type("a list of exchangers", exchangers, epath, hint="exchangers: [{host: mx1, priority: 10}]")
        else:
            for i, item in enumerate(exchangers):
                host = _exchanger(c, item, (*epath, i), ttl, smtp if srv else None)
                if host is not None:
                    hosts.append(host)
    elif srv and not null:
        c.error("missing-key", "`srv: true` needs exchangers to publish", (*path, "srv"),
                hint="list them under mail.exchangers")

    for key, (service, port) in CLIENT_SERVICES.items():
        if key in spec:
            _client(c, spec[key], (*path, key), _label(c, service, "_tcp"), port, ttl)
    compile_policies(c, spec, path, ttl, hosts)  # spf:, dmarc:, tls_rpt:, mta_sts: (blocks/mailpolicy.py, issue 12)


def _flag(c: Compiler, spec: Mapping[str, Any], key: str, path: Path) -> bool:
    value = spec.get(key, False)
    if value is None or isinstance(value, bool):
        return bool(value)
    c.wrong_type("true or false", value, (*path, key))
    return False


def _exchanger(c: Compiler, value: object, path: Path, ttl: int, smtp: Name | None) -> Name | None:
    """One exchanger's MX (and SRV, addresses); its host when the MX was made."""
    spec = c.mapping(value, "exchanger", path)
    if spec is None or "host" not in spec:
        return None
    host = c.host(spec["host"], (*path, "host"), "exchanger host")
    priority = number(c, spec, "priority", path, None, "priority")
    weight = number(c, spec, "weight", path, 0, "weight")
    port = number(c, spec, "port", path, SMTP_PORT, "port")
    if host is None:
        return None
    if "addresses" in spec and not c.addresses(host, spec["addresses"], ttl, (*path, "addresses"), "mail"):
        return None
    if priority is None:
        return None
    c.add(c.origin, ttl, MX(priority, host), (*path, "host"), "mail")
    if smtp is not None and weight is not None and port is not None:
        c.add(smtp, ttl, SRV(priority, weight, port, host), (*path, "host"), "mail")
    if "dane" in spec:
        compile_dane(c, spec["dane"], (*path, "dane"), host, ttl)  # _25._tcp.<host> TLSA (RFC 7672)
    return host


def _client(c: Compiler, value: object, path: Path, owner: Name, default_port: int, ttl: int) -> None:
    """A client service: SRV per host, or `false` -> the RFC 6186 3.4 'not offered' record."""
    if value is False:
        c.add(owner, ttl, SRV(0, 0, 0, ROOT), path, "mail")
        return
    spec = c.mapping(value, "client", path)
    if spec is None or "hosts" not in spec:
        return
    ttl = c.ttl_of(spec, path, ttl)
    port = number(c, spec, "port", path, default_port, "port")
    if port is None:
        return
    hosts = spec["hosts"]
    items = hosts if isinstance(hosts, list) else [hosts]
    for i, item in enumerate(items):
        hpath = (*path, "hosts", i) if isinstance(hosts, list) else (*path, "hosts")
        if isinstance(item, Mapping):
            srv_target(c, item, hpath, owner, ttl, "client-host", port, "mail")
        else:
            host = c.host(item, hpath, "host")
            if host is not None:
                c.add(owner, ttl, SRV(0, 0, port, host), hpath, "mail")


