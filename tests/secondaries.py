"""Configurations of real secondaries (NSD, Knot, BIND `named`) for tests that transfer from zonetool.

Each builder writes its daemon's config into `tmp` (listening on 127.0.0.1@`port`, transferring
example.com from zonetool at 127.0.0.1@`primary`), checks it with the daemon's own checker, and
returns the command that starts it. With a `secret`, transfers and NOTIFY use the TSIG key KEY.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from conftest import require_tool

KEY = "xfr.example"


def _key_block(secret: str | None, template: str) -> str:
    return template.format(name=KEY, secret=secret) if secret else ""


def nsd_conf(tmp: Path, port: int, primary: int, secret: str | None = None, protocol: str = "AXFR ") -> list[str]:
    keys = _key_block(secret, 'key:\n    name: "{name}"\n    algorithm: hmac-sha256\n    secret: "{secret}"\n')
    key = KEY if secret else "NOKEY"
    conf = tmp / "nsd.conf"
    conf.write_text(f"""\
server:
    ip-address: 127.0.0.1@{port}
    port: {port}
    username: ""
    chroot: ""
    zonesdir: "{tmp}"
    pidfile: "{tmp}/nsd.pid"
    xfrdfile: "{tmp}/xfrd.state"
    xfrdir: "{tmp}"
    zonelistfile: "{tmp}/zone.list"
    database: ""
    logfile: "{tmp}/nsd.log"
    server-count: 1
remote-control:
    control-enable: no
{keys}zone:
    name: example.com
    zonefile: "example.com.zone"
    request-xfr: {protocol}127.0.0.1@{primary} {key}
    allow-notify: 127.0.0.1 {key}
""")
    subprocess.run([require_tool("nsd-checkconf"), str(conf)], check=True)
    return [require_tool("nsd"), "-c", str(conf), "-d"]


def knot_conf(tmp: Path, port: int, primary: int, secret: str | None = None) -> list[str]:
    keys = _key_block(secret, "key:\n  - id: {name}\n    algorithm: hmac-sha256\n    secret: {secret}\n")
    key = f"\n    key: {KEY}" if secret else ""
    (tmp / "run").mkdir(exist_ok=True)
    (tmp / "storage").mkdir(exist_ok=True)
    conf = tmp / "knot.conf"
    conf.write_text(f"""\
server:
    rundir: "{tmp}/run"
    listen: 127.0.0.1@{port}
database:
    storage: "{tmp}/storage"
log:
  - target: stderr
    any: info
{keys}remote:
  - id: zonetool
    address: 127.0.0.1@{primary}{key}
acl:
  - id: notify-from-zonetool
    address: 127.0.0.1{key}
    action: notify
template:
  - id: default
    storage: "{tmp}/storage"
zone:
  - domain: example.com
    master: zonetool
    acl: notify-from-zonetool
""")
    subprocess.run([require_tool("knotc"), "-c", str(conf), "conf-check"], check=True, capture_output=True)
    return [require_tool("knotd"), "-c", str(conf)]


def bind_conf(tmp: Path, port: int, primary: int, secret: str | None = None) -> list[str]:
    keys = _key_block(secret, 'key "{name}" {{ algorithm hmac-sha256; secret "{secret}"; }};\n')
    key = f' key "{KEY}"' if secret else ""
    conf = tmp / "named.conf"
    conf.write_text(f"""\
options {{
    directory "{tmp}";
    pid-file "{tmp}/named.pid";
    session-keyfile "{tmp}/session.key";
    managed-keys-directory "{tmp}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
}};
controls {{ }};
{keys}zone "example.com" {{
    type secondary;
    primaries port {primary} {{ 127.0.0.1{key}; }};
    file "{tmp}/example.com.db";
    allow-notify {{ {key.strip() or "127.0.0.1"}; }};
}};
""")
    subprocess.run([require_tool("named-checkconf"), str(conf)], check=True)
    return [require_tool("named"), "-g", "-n", "1", "-c", str(conf)]


SECONDARIES: dict[str, Callable[..., list[str]]] = {"nsd": nsd_conf, "knot": knot_conf, "bind": bind_conf}


def knot_catalog_conf(tmp: Path, port: int, primary: int, catalog: str, secret: str | None = None) -> list[str]:
    """Knot configured with the catalog zone only (RFC 9432 consumer): `catalog-role: interpret`,
    every member zone from the template `member` (transferred from zonetool, NOTIFY accepted)."""
    keys = _key_block(secret, "key:\n  - id: {name}\n    algorithm: hmac-sha256\n    secret: {secret}\n")
    key = f"\n    key: {KEY}" if secret else ""
    (tmp / "run").mkdir(exist_ok=True)
    (tmp / "storage").mkdir(exist_ok=True)
    conf = tmp / "knot.conf"
    conf.write_text(f"""\
server:
    rundir: "{tmp}/run"
    listen: 127.0.0.1@{port}
database:
    storage: "{tmp}/storage"
log:
  - target: stderr
    any: info
{keys}remote:
  - id: zonetool
    address: 127.0.0.1@{primary}{key}
acl:
  - id: notify-from-zonetool
    address: 127.0.0.1{key}
    action: notify
template:
  - id: default
    storage: "{tmp}/storage"
    zonefile-sync: -1
  - id: member
    storage: "{tmp}/storage"
    master: zonetool
    acl: notify-from-zonetool
    zonefile-sync: -1
    zonefile-load: none
    journal-content: none
zone:
  - domain: {catalog}
    master: zonetool
    acl: notify-from-zonetool
    catalog-role: interpret
    catalog-template: member
""")
    subprocess.run([require_tool("knotc"), "-c", str(conf), "conf-check"], check=True, capture_output=True)
    return [require_tool("knotd"), "-c", str(conf)]


def bind_catalog_conf(tmp: Path, port: int, primary: int, catalog: str, secret: str | None = None) -> list[str]:
    """BIND `named` configured with the catalog zone only: `catalog-zones` names it and where its
    members come from (`default-primaries`); the members are kept in memory."""
    keys = _key_block(secret, 'key "{name}" {{ algorithm hmac-sha256; secret "{secret}"; }};\n')
    key = f' key "{KEY}"' if secret else ""
    conf = tmp / "named.conf"
    conf.write_text(f"""\
options {{
    directory "{tmp}";
    pid-file "{tmp}/named.pid";
    session-keyfile "{tmp}/session.key";
    managed-keys-directory "{tmp}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
    allow-new-zones yes;
    allow-notify {{ {key.strip() or "127.0.0.1"}; }};
    serial-query-rate 1000;
    transfers-in 100;
    transfers-per-ns 100;
    catalog-zones {{
        zone "{catalog}" default-primaries port {primary} {{ 127.0.0.1{key}; }}
            in-memory yes min-update-interval 1;
    }};
}};
controls {{ }};
{keys}zone "{catalog}" {{
    type secondary;
    primaries port {primary} {{ 127.0.0.1{key}; }};
    file "{tmp}/catalog.db";
}};
""")
    subprocess.run([require_tool("named-checkconf"), str(conf)], check=True)
    return [require_tool("named"), "-g", "-n", "1", "-c", str(conf)]


CATALOG_CONSUMERS: dict[str, Callable[..., list[str]]] = {"knot": knot_catalog_conf, "bind": bind_catalog_conf}


def launch(cmd: list[str], tmp: Path, processes: list[subprocess.Popen[str]]) -> None:
    """Start a secondary, its output in tmp/secondary.log (the tests print its tail when it fails)."""
    log = (tmp / "secondary.log").open("w")
    processes.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True))
