"""The `services:` block: SRV record sets (RFC 2782), each target with optional `addresses:`.

`srv_target` (one SRV target in mapping form) and `number` are shared with the `mail:`
block's client services. Every record carries `origin="services"` and its item's path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zonetool.blocks.context import Compiler, Path
from zonetool.blocks.registry import block
from zonetool.names import Name
from zonetool.rrtypes import SRV
from zonetool.schema import MAX_U16

KEYS = {"services": ("services", "other SRV record sets")}


@block("services", keys=KEYS, order=30, position=40)
def compile_services_block(c: Compiler, spec: Mapping[str, Any]) -> None:
    if "services" in spec:
        compile_services(c, spec["services"], ("services",))


def number(c: Compiler, spec: Mapping[str, Any], key: str, path: Path, default: int | None, what: str) -> int | None:
    if key not in spec:
        return default
    return c.integer(spec[key], (*path, key), what, MAX_U16)


def srv_target(c: Compiler, value: object, path: Path, owner: Name, ttl: int, block: str, port: int | None,
            origin: str) -> None:
    """One SRV target in mapping form: {host, port, priority, weight, addresses}."""
    spec = c.mapping(value, block, path)
    if spec is None or "host" not in spec:
        return
    host = c.host(spec["host"], (*path, "host"), "SRV target")
    priority = number(c, spec, "priority", path, 0, "priority")
    weight = number(c, spec, "weight", path, 0, "weight")
    port = number(c, spec, "port", path, port, "port")
    if host is None:
        return
    if "addresses" in spec and not c.addresses(host, spec["addresses"], ttl, (*path, "addresses"), origin):
        return
    if priority is None or weight is None or port is None:
        return
    c.add(owner, ttl, SRV(priority, weight, port, host), (*path, "host"), origin)



def compile_services(c: Compiler, value: object, path: Path) -> None:
    if not isinstance(value, list):
        c.wrong_type("a list of services", value, path,
                     hint="services: [{name: _xmpp-server._tcp, targets: [{host: xmpp1, port: 5269}]}]")
        return
    for i, item in enumerate(value):
        spath = (*path, i)
        spec = c.mapping(item, "service", spath)
        if spec is None or "name" not in spec or "targets" not in spec:
            continue
        owner = c.name(spec["name"], (*spath, "name"), "service name")
        ttl = c.ttl_of(spec, spath, c.ttl)
        targets = spec["targets"]
        tpath = (*spath, "targets")
        if not isinstance(targets, list):
            c.wrong_type("a list of targets", targets, tpath, hint="targets: [{host: xmpp1, port: 5269}]")
            continue
        if not targets:
            c.error("empty-list", "a service needs at least one target", tpath,
                    hint="to say the service is not offered, use one target {host: '.', port: 0} (RFC 2782)")
            continue
        if owner is None:
            continue
        for j, target in enumerate(targets):
            srv_target(c, target, (*tpath, j), owner, ttl, "target", None, "services")
