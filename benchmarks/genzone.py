"""Generate benchmark zones: the same records as YAML and as a BIND file, plus a dnsperf query list.

The mix imitates a mail hosting zone: per host an A, some AAAA, MX, SRV, TXT and CNAME records,
so lookups, additional-section processing and negative answers are all exercised.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

ORIGIN = "bench.example"


def host_records(i: int) -> list[tuple[str, str, str]]:
    """Records (owner, type, rdata) for host number i: about 5 per host."""
    h = f"h{i}"
    recs = [(h, "A", f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}")]
    if i % 2 == 0:
        recs.append((h, "AAAA", f"2001:db8::{i >> 16:x}:{i & 0xFFFF:x}"))
    if i % 3 == 0:
        recs.append((f"mail{i}", "MX", f"10 {h}"))
        recs.append((f"mail{i}", "MX", f"20 h{i + 1}"))
    if i % 5 == 0:
        recs.append((f"_sip._tcp.s{i}", "SRV", f"0 5 5060 {h}"))
    if i % 7 == 0:
        recs.append((h, "TXT", f"v=spf1 ip4:10.0.0.{i % 250} -all"))
    if i % 11 == 0:
        recs.append((f"www{i}", "CNAME", h))
    return recs


def generate(n_records: int) -> list[tuple[str, str, str]]:
    records: list[tuple[str, str, str]] = []
    i = 0
    while len(records) < n_records:
        records.extend(host_records(i))
        i += 1
    return records[:n_records]


def _yaml_scalar(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_yaml(records: list[tuple[str, str, str]], path: Path) -> None:
    by_owner: dict[str, dict[str, list[str]]] = {}
    for owner, rtype, rdata in records:
        by_owner.setdefault(owner, {}).setdefault(rtype, []).append(rdata)
    lines = [
        f"origin: {ORIGIN}",
        "ttl: 1h",
        "soa: {primary: ns1, contact: hostmaster@bench.example, serial: 2026112801,"
        " refresh: 2h, retry: 30m, expire: 2w, negative: 5m}",
        "nameservers: [ns1, ns2]",
        "records:",
        "  ns1: {A: 192.0.2.53}",
        "  ns2: {A: 192.0.2.54}",
    ]
    for owner, types in by_owner.items():
        parts = []
        for rtype, values in types.items():
            if len(values) == 1:
                parts.append(f"{rtype}: {_yaml_scalar(values[0])}")
            else:
                parts.append(f"{rtype}: [{', '.join(_yaml_scalar(v) for v in values)}]")
        lines.append(f"  {owner}: {{{', '.join(parts)}}}")
    path.write_text("\n".join(lines) + "\n")


def write_bind(records: list[tuple[str, str, str]], path: Path) -> None:
    lines = [
        f"$ORIGIN {ORIGIN}.",
        "$TTL 3600",
        "@ SOA ns1 hostmaster 2026112801 7200 1800 1209600 300",
        "@ NS ns1",
        "@ NS ns2",
        "ns1 A 192.0.2.53",
        "ns2 A 192.0.2.54",
    ]
    for owner, rtype, rdata in records:
        if rtype == "TXT":
            rdata = f'"{rdata}"'
        lines.append(f"{owner} {rtype} {rdata}")
    path.write_text("\n".join(lines) + "\n")


def write_queries(records: list[tuple[str, str, str]], path: Path, count: int = 20000, seed: int = 1) -> None:
    """The dnsperf mix: MX, SRV, A, NXDOMAIN and NODATA in roughly equal shares."""
    rng = random.Random(seed)
    by_type: dict[str, list[str]] = {}
    for owner, rtype, _ in records:
        by_type.setdefault(rtype, []).append(owner)
    lines = []
    for k in range(count):
        kind = k % 5
        if kind == 0 and "MX" in by_type:
            lines.append(f"{rng.choice(by_type['MX'])}.{ORIGIN} MX")
        elif kind == 1 and "SRV" in by_type:
            lines.append(f"{rng.choice(by_type['SRV'])}.{ORIGIN} SRV")
        elif kind == 2:
            lines.append(f"{rng.choice(by_type['A'])}.{ORIGIN} A")
        elif kind == 3:
            lines.append(f"nx{rng.randrange(10**6)}.{ORIGIN} A")
        else:
            lines.append(f"{rng.choice(by_type['A'])}.{ORIGIN} MX")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("records", type=int)
    parser.add_argument("outdir", type=Path)
    args = parser.parse_args()
    args.outdir.mkdir(parents=True, exist_ok=True)
    recs = generate(args.records)
    write_yaml(recs, args.outdir / f"{ORIGIN}.yaml")
    write_bind(recs, args.outdir / f"{ORIGIN}.zone")
    write_queries(recs, args.outdir / "queries.txt")


if __name__ == "__main__":
    main()
