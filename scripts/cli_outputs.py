"""Run every zonetool command on the bundled zones, the test data and a corpus of odd zones, and
write what each printed (stdout, stderr, exit code, files written) into OUTDIR.

Why: a restructuring must not change what users see. Run it on two commits and `diff -r` the
folders; any difference is a behaviour change to explain or undo.

    python scripts/cli_outputs.py OUTDIR [--zonetool PATH] [--no-serve]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Zones that reach many code paths: every mapping form, text forms of many types, blocks, faults,
# and mistakes that rules and the compiler report.
CORPUS: dict[str, str] = {
    "kitchen.example.yaml": """\
origin: kitchen.example
ttl: 1h
soa: {primary: ns1, contact: hostmaster@kitchen.example, serial: 2026120201}
nameservers: [ns1, ns2.other.example.]
mail:
  exchangers:
    - {host: mx1, priority: 10, addresses: [192.0.2.25, "2001:db8::25"]}
    - {host: mx2, priority: 10, weight: 3, addresses: [192.0.2.26]}
    - {host: mx3.other.example., priority: 20}
  srv: true
  submission: {port: 587, hosts: [mx1]}
  imaps: {hosts: [{host: imap, weight: 5, addresses: [192.0.2.20]}]}
  pop3: false
services:
  - name: _xmpp-server._tcp
    ttl: 10m
    targets:
      - {host: xmpp, port: 5269, priority: 5, weight: 10}
      - {host: xmpp2, port: 5269, priority: 5, weight: 0}
faults:
  - {name: slow, action: delay, delay: 150ms}
  - {name: broken, action: servfail}
  - {name: gone, type: MX, action: nxdomain}
  - {name: nope, action: refused}
  - {name: quiet, action: timeout}
  - {name: big, action: truncate}
  - {name: wrongid, action: bad-id}
records:
  ns1: {A: 192.0.2.53}
  xmpp: {A: 192.0.2.5}
  xmpp2: {AAAA: "2001:db8::5"}
  "@":
    TXT: ["v=spf1 mx -all", ["two", "strings"]]
    CAA:
      - {tag: issue, value: ca.example}
      - "0 iodef \\"mailto:sec@kitchen.example\\""
    SSHFP: "1 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    HTTPS: '1 . alpn="h2,h3" port=443 ipv4hint=192.0.2.80'
    LOC: "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m"
  _25._tcp.mx1:
    TLSA: "3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  sub: {NS: ns.sub, DS: "12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
  ns.sub: {A: 192.0.2.99}
  alias: {CNAME: www}
  www: {A: 192.0.2.80, ttl: 5m}
  ptr: {PTR: host.kitchen.example.}
  legacy: {MX: {priority: 5, host: mx1}}
  _sip._udp.legacy: {SRV: ["0 0 5060 mx1", {priority: 1, weight: 2, port: 5061, host: xmpp}]}
  opaque: {TYPE65280: "\\\\# 3 abcdef"}
  naptr: {NAPTR: '100 10 "S" "SIP+D2U" "" _sip._udp'}
  hinfo: {HINFO: '"PC" "Linux"'}
  key: {OPENPGPKEY: "AQIDBAUGBwgJCgsMDQ4PEA=="}
  apl: {APL: "1:192.0.2.0/24 !2:2001:db8::/32"}
silence:
  mx-equal-priority: shuffling is wanted here
""",
    "broken.example.yaml": """\
origin: broken.example
ttl: 1h
soa: {primary: ns1, contact: hostmaster@broken.example, serial: 1, refresh: 100, retry: 9000}
nameservers: [ns1]
mail:
  exchangers:
    - {host: mx.broken.example, priority: 10}
    - {host: 192.0.2.1, priority: 20}
    - {host: missing, priority: 30}
records:
  ns1: {A: 192.0.2.53, CNAME: elsewhere}
  "@": {TXT: ["v=spf1 -all", "v=spf1 mx -all"], CNAME: www}
  www: {A: 999.1.1.1, AAAA: "not-an-address"}
  dup: {CNAME: [a, b]}
  low: {A: 192.0.2.1, ttl: 5}
  _sip._tcp: {SRV: {port: 70000, host: sip}}
  bad: {MX: "ten mx1", CAA: {tag: "is sue", value: x}, BOGUS: "1 2 3"}
  outside.other.example.: {A: 192.0.2.2}
faults:
  - {name: x, action: explode}
  - {action: delay, delay: forever}
""",
    "nullmx.example.yaml": """\
origin: nullmx.example
soa: {primary: ns1.nullmx.example., contact: hostmaster@nullmx.example, serial: 7}
nameservers: [ns1, ns2]
mail: {null: true}
records:
  ns1: {A: 192.0.2.53}
  ns2: {A: 198.51.100.53}
""",
    "syntax.example.yaml": "origin: syntax.example\nrecords:\n  a: {A: [1, 2\n  b: c\n",
    "notmap.example.yaml": "- just\n- a list\n",
}


def run(out: Path, cmd: list[str], cwd: Path, stdin: str | None = None, name: str | None = None) -> None:
    """One command: its outputs in out/NAME.txt (paths of the scratch folder made relative)."""
    proc = subprocess.run(cmd, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"})
    label = name or "_".join(c.replace("/", "~") for c in cmd[1:])[:150]
    text = (f"$ {' '.join(cmd[1:])}\nexit {proc.returncode}\n--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}")
    (out / f"{label}.txt").write_text(text.replace(str(cwd), "<tmp>"))


def files(out: Path, folder: Path, label: str) -> None:
    """Every file under folder, concatenated in name order, as the written result of a command."""
    parts = [f"=== {p.relative_to(folder)}\n{p.read_text()}" for p in sorted(folder.rglob("*")) if p.is_file()]
    (out / f"{label}.files.txt").write_text("".join(parts))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--zonetool", default=str(Path(sys.executable).with_name("zonetool")))
    ap.add_argument("--no-serve", action="store_true", help="skip the served answers (needs dig)")
    args = ap.parse_args()
    out: Path = args.outdir
    out.mkdir(parents=True, exist_ok=True)
    zt = [args.zonetool]
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        shutil.copytree(ROOT / "zones", tmp / "zones")
        shutil.copytree(ROOT / "tests" / "data", tmp / "data")
        corpus = tmp / "corpus"
        corpus.mkdir()
        for fname, text in CORPUS.items():
            (corpus / fname).write_text(text)
        yamls = sorted(p.relative_to(tmp) for p in [*tmp.glob("zones/*.yaml"), *tmp.glob("data/**/*.yaml"),
                                                     *corpus.glob("*.yaml")])
        binds = sorted(p.relative_to(tmp) for p in tmp.glob("data/bind/*.zone"))
        run(out, [*zt, "--help"], tmp)
        run(out, [*zt, "rules"], tmp)
        run(out, [*zt, "schema"], tmp)
        for fmt in ("text", "json"):
            run(out, [*zt, "validate", "-f", fmt, "zones"], tmp)
            run(out, [*zt, "validate", "-f", fmt, "--strict", "zones"], tmp)
            run(out, [*zt, "compile", "-f", fmt, "zones"], tmp)
        for y in [*yamls, *binds]:
            for fmt in ("text", "json"):
                run(out, [*zt, "validate", "-f", fmt, str(y)], tmp)
                run(out, [*zt, "compile", "-f", fmt, str(y)], tmp)
            run(out, [*zt, "export", str(y), "-o", "-"], tmp)
        for fmt in ("text", "json"):
            dest = tmp / f"export-{fmt}"
            run(out, [*zt, "export", "-f", fmt, "zones", "-o", f"{dest.name}/"], tmp)
            files(out, dest, f"export-{fmt}")
        for b in binds:
            run(out, [*zt, "import", str(b)], tmp)
            run(out, [*zt, "import", "-f", "json", str(b), "-o", f"{b.name}.yaml"], tmp)
        run(out, [*zt, "import", "data/bind/example.com.zone", "--origin", "wrong.example"], tmp)
        fmtdir = tmp / "fmt"
        shutil.copytree(tmp / "data", fmtdir)
        shutil.copytree(corpus, fmtdir / "corpus")
        run(out, [*zt, "fmt", "--check", "fmt"], tmp)
        run(out, [*zt, "fmt", "-f", "json", "fmt"], tmp)
        files(out, fmtdir, "fmt")
        run(out, [*zt, "diff", "zones/example.com.yaml", "zones/example.com.yaml"], tmp)
        run(out, [*zt, "diff", "data/bind/example.com.zone", "zones/example.com.yaml"], tmp)
        run(out, [*zt, "diff", "-f", "json", "data/bind/example.com.zone", "zones/example.com.yaml"], tmp)
        run(out, [*zt, "diff", "zones/example.com.yaml", "corpus/kitchen.example.yaml"], tmp)
        for dest in ("user@example.com", "example.net", "example.org", "user@kitchen.example",
                     "nullmx.example", "broken.example"):
            for extra in ([], ["-f", "json"], ["-n", "200", "--seed", "7"], ["--service", "submission"]):
                run(out, [*zt, "route", dest, "-z", "zones", "-z", "corpus", *extra], tmp)
        edits = [
            ["mx", "add", "E", "mx9", "-p", "30", "-a", "192.0.2.99"],
            ["mx", "set", "E", "mx1", "-p", "15"],
            ["mx", "remove", "E", "backup-mx"],
            ["srv", "add", "E", "_imaps._tcp", "mx1", "--port", "993"],
            ["srv", "add", "E", "_submission._tcp", "mx1", "--port", "587", "-p", "5"],
            ["record", "add", "E", "@", "TXT", "v=spf1 -all"],
            ["record", "add", "E", "new", "A", "192.0.2.7", "--ttl", "5m"],
            ["record", "set", "E", "www", "CNAME", "ns1"],
            ["record", "remove", "E", "_dmarc", "TXT"],
            ["record", "add", "E", "bad", "A", "not-an-ip"],
            ["mx", "add", "E", "mx8", "-p", "40", "--strict"],
        ]
        for i, edit in enumerate(edits):
            for dry in ([], ["-n"], ["-f", "json"]):
                target = tmp / f"edit{i}{''.join(dry)}.yaml"
                shutil.copy(tmp / "zones" / "example.com.yaml", target)
                cmd = [target.name if a == "E" else a for a in edit]
                run(out, [*zt, *cmd, *dry], tmp, name=f"edit{i}{''.join(dry)}")
                (out / f"edit{i}{''.join(dry)}.result.yaml").write_text(target.read_text())
        for i, yaml in enumerate(sorted(corpus.glob("*.yaml"))):
            run(out, [*zt, "fmt", "-"], tmp, stdin=yaml.read_text(), name=f"fmt-stdin{i}")
            run(out, [*zt, "validate", "-"], tmp, stdin=yaml.read_text(), name=f"validate-stdin{i}")
        if not args.no_serve and shutil.which("dig"):
            serve(out, zt, tmp)
    return 0


QUERIES = [
    ("example.com", "MX"), ("example.com", "SOA"), ("example.com", "NS"), ("www.example.com", "A"),
    ("nosuch.example.com", "A"), ("example.com", "AAAA"), ("_dmarc.example.com", "TXT"),
    ("kitchen.example", "MX"), ("kitchen.example", "CAA"), ("kitchen.example", "HTTPS"),
    ("_25._tcp.mx1.kitchen.example", "TLSA"), ("x.sub.kitchen.example", "A"), ("alias.kitchen.example", "A"),
    ("_xmpp-server._tcp.kitchen.example", "SRV"), ("broken.kitchen.example", "A"), ("gone.kitchen.example", "MX"),
    ("nope.kitchen.example", "A"), ("opaque.kitchen.example", "TYPE65280"), ("nullmx.example", "MX"),
    ("example.org", "MX"), ("example.net", "SRV"), ("key.kitchen.example", "OPENPGPKEY"),
("naptr.kitchen.example", "NAPTR"), ("other.example", "A"),
]


def serve(out: Path, zt: list[str], tmp: Path) -> None:
    """Answers of a served set (dig's sections without ids or timing), and AXFRs."""
    served = tmp / "served"
    served.mkdir()
    for p in [*(tmp / "zones").glob("*.yaml"), tmp / "corpus" / "kitchen.example.yaml",
              tmp / "corpus" / "nullmx.example.yaml"]:
        shutil.copy(p, served / p.name)
    port = free_port()
    proc = subprocess.Popen([*zt, "serve", "served", "--port", str(port), "--allow-transfer", "127.0.0.1"], cwd=tmp,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        dig = ["dig", "@127.0.0.1", "-p", str(port), "+tries=1", "+time=2"]
        for _ in range(200):
            r = subprocess.run([*dig, "+short", "example.com", "SOA"], capture_output=True)
            if r.returncode == 0 and r.stdout:
                break
            time.sleep(0.1)
        lines = []
        for qname, qtype in QUERIES:
            for flags in (["+norec"], ["+tcp", "+norec"], ["+dnssec", "+bufsize=512"]):
                r = subprocess.run([*dig, *flags, "+noall", "+answer", "+authority", "+additional", qname, qtype],
                                   capture_output=True, text=True)
                lines.append(f"$ dig {' '.join(flags)} {qname} {qtype}\n{r.stdout}")
        for zone in ("example.com", "kitchen.example", "nullmx.example"):
            r = subprocess.run([*dig, "+noall", "+answer", zone, "AXFR"], capture_output=True, text=True)
            lines.append(f"$ dig {zone} AXFR\n{r.stdout}")
        (out / "serve.answers.txt").write_text("".join(lines))
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    sys.exit(main())
