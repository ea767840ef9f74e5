"""Configurations of real primaries (BIND `named`, Knot) that accept RFC 2136 updates signed with a key.

Each builder writes its daemon's config into `tmp` (listening on 127.0.0.1@`port`, primary of
example.com loaded from `zonefile`, a BIND master file zonetool exported), checks it with the
daemon's own checker, and returns the command that starts it in the foreground. Updates and
transfers are allowed to the TSIG key KEY (hmac-sha256, `secret`) only: no address is enough.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from conftest import require_tool

KEY = "update.example"


def bind_primary(tmp: Path, port: int, zonefile: Path, secret: str) -> list[str]:
    db = tmp / "example.com.db"
    shutil.copyfile(zonefile, db)  # named writes its journal beside it
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
key "{KEY}" {{ algorithm hmac-sha256; secret "{secret}"; }};
zone "example.com" {{
    type primary;
    file "{db}";
    allow-update {{ key "{KEY}"; }};
    allow-transfer {{ key "{KEY}"; }};
}};
""")
    subprocess.run([require_tool("named-checkconf"), str(conf)], check=True)
    return [require_tool("named"), "-g", "-n", "1", "-c", str(conf)]


def knot_primary(tmp: Path, port: int, zonefile: Path, secret: str) -> list[str]:
    for sub in ("run", "storage"):
        (tmp / sub).mkdir(exist_ok=True)
    shutil.copyfile(zonefile, tmp / "storage" / "example.com.zone")
    conf = tmp / "knot.conf"
    conf.write_text(f"""\
server:
    rundir: "{tmp}/run"
    listen: 127.0.0.1@{port}
    # Knot gives up on a TCP message after 500 ms by default: a loaded CI machine reading a
    # 100,000-record AXFR can be slower (the transfer was cut mid-way once in CI).
    tcp-io-timeout: 30000
database:
    storage: "{tmp}/storage"
log:
  - target: stderr
    any: info
key:
  - id: {KEY}
    algorithm: hmac-sha256
    secret: {secret}
acl:
  - id: update-with-key
    key: {KEY}
    action: [update, transfer]
template:
  - id: default
    storage: "{tmp}/storage"
    file: "%s.zone"
zone:
  - domain: example.com
    acl: update-with-key
""")
    subprocess.run([require_tool("knotc"), "-c", str(conf), "conf-check"], check=True, capture_output=True)
    return [require_tool("knotd"), "-c", str(conf)]


PRIMARIES: dict[str, Callable[[Path, int, Path, str], list[str]]] = {"bind": bind_primary, "knot": knot_primary}


def launch(cmd: list[str], tmp: Path, processes: list[subprocess.Popen[str]]) -> None:
    """Start a primary, its output in tmp/primary.log (the tests print its tail when it fails)."""
    log = (tmp / "primary.log").open("w")
    processes.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True))
