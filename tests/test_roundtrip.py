"""Import then export gives named the same zone: named-compilezone is the referee.

For every BIND file, `named-compilezone -s full` prints one canonical text for the original
and for the file that went BIND -> Zone -> YAML -> compiler -> BIND. Names' letter case,
TTLs and record order are part of that text.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from zonetool.cli import app
from zonetool.loader import load_file, load_text
from zonetool.names import Name
from zonetool.source.bind import read_zone, write_zone
from zonetool.source.yaml_emit import zone_to_yaml

BIND = Path(__file__).resolve().parent / "data" / "bind"
ROOT = BIND.parent.parent.parent


def canonical(compilezone: str, origin: str, path: Path) -> str:
    result = subprocess.run(
        [compilezone, "-i", "none", "-s", "full", "-o", "-", origin, path.name],
        cwd=path.parent,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return "\n".join(line for line in result.stdout.splitlines() if not line.startswith("zone "))


def import_then_export(text: str, origin: str, file: Path) -> tuple[str, str]:
    """(YAML, BIND) after the whole trip, through the same loader the CLI uses."""
    zone = read_zone(text, Name.from_text(origin), str(file), base_dir=file.parent)
    yaml_text = zone_to_yaml(zone)
    again, findings = load_text(yaml_text, "roundtrip.yaml")
    assert again is not None, [f.format() for f in findings]
    assert not [f for f in findings if f.code in ("bad-rdata", "bad-name", "wrong-type", "unknown-key")], [
        f.format() for f in findings
    ]
    return yaml_text, write_zone(again)


FIXTURES = sorted(BIND.glob("*.zone"))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_round_trip(path: Path, tmp_path: Path, named_compilezone: str) -> None:
    origin = path.name.removesuffix(".zone") + "."
    _, exported = import_then_export(path.read_text(), origin, path)
    out = tmp_path / "out.zone"
    out.write_text(exported)
    original = canonical(named_compilezone, origin, path)
    assert original.count("\n") > 10
    assert canonical(named_compilezone, origin, out) == original


def test_cli_round_trip(tmp_path: Path, named_compilezone: str) -> None:
    """The same trip through the commands a person types."""
    runner = CliRunner()
    src = BIND / "example.com.zone"
    yaml_file = tmp_path / "example.com.yaml"
    assert runner.invoke(app, ["import", str(src), "-o", str(yaml_file)]).exit_code == 0
    out = tmp_path / "example.com.zone"
    result = runner.invoke(app, ["export", str(yaml_file), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert canonical(named_compilezone, "example.com.", out) == canonical(named_compilezone, "example.com.", src)


def yaml_zones() -> list[Path]:
    paths = sorted((ROOT / "zones").glob("*.yaml")) + sorted(BIND.glob("*.yaml"))
    return [p for p in paths if (z := load_file(p))[0] is not None and not any(f.severity == "error" for f in z[1])]


@pytest.mark.parametrize("path", yaml_zones(), ids=lambda p: p.name)
def test_yaml_zone_export_import_export(path: Path, tmp_path: Path, named_compilezone: str) -> None:
    """A YAML zone exported, imported and exported again is the same zone to named."""
    zone, _ = load_file(path)
    assert zone is not None
    origin = zone.origin.to_text()
    first = tmp_path / "first.zone"
    first.write_text(write_zone(zone))
    _, second_text = import_then_export(first.read_text(), origin, first)
    second = tmp_path / "second.zone"
    second.write_text(second_text)
    assert canonical(named_compilezone, origin, second) == canonical(named_compilezone, origin, first)


# ---------------------------------------------------------------------------
# hypothesis: random but valid zones, written in random but valid styles
# ---------------------------------------------------------------------------
HOST = st.from_regex(r"[a-z][a-z0-9]{0,7}(-[a-z0-9]{1,4})?", fullmatch=True)
ODD_LABEL = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="*"), min_size=1, max_size=8
)
TTL = st.sampled_from([0, 60, 300, 3600, 86400, 2147483647])
TXT_OCTETS = st.binary(min_size=0, max_size=300)
OUTSIDE = st.sampled_from(["mx.example.net.", "Mail.Example.ORG.", "a.b.c.example.info.", "x-1.example.net."])


def label_text(label: bytes) -> str:
    from zonetool.names import escape_label

    return escape_label(label)


def txt_string(data: bytes, rnd: int) -> str:
    out = []
    for c in data:
        if c in (0x22, 0x5C) or not 0x20 <= c <= 0x7E or (rnd & 1 and c in b" ;()"):
            out.append(f"\\{c:03d}" if rnd & 2 or c not in (0x22, 0x5C) else "\\" + chr(c))
        else:
            out.append(chr(c))
    return '"' + "".join(out) + '"'


@st.composite
def rdata(draw: st.DrawFn, origin: str) -> tuple[str, str]:
    kinds = ["A", "AAAA", "MX", "SRV", "TXT", "CAA", "PTR", "TLSA", "SSHFP", "HINFO", "TYPE", "NAPTR", "HTTPS",
             "LOC", "URI", "SPF", "EUI48"]  # fmt: skip
    kind = draw(st.sampled_from(kinds))
    if kind == "NAPTR":
        flags = draw(st.sampled_from(['"S"', '"a"', '""', '"U"']))
        regexp = draw(st.sampled_from(['""', '"!^.*$!sip:info@example.com!"', '"/(.*)/\\\\1/i"']))
        return "NAPTR", f'{draw(st.integers(0, 65535))} {draw(st.integers(0, 65535))} {flags} "E2U+sip" {regexp} .'
    if kind == "HTTPS":
        params = draw(
            st.lists(
                st.sampled_from(
                    [
                        "alpn=h2,h3",
                        "port=8443",
                        "ipv4hint=192.0.2.7",
                        "no-default-alpn",
                        'alpn="h3"',
                        "ipv6hint=2001:db8::5",
                    ]
                ),
                unique_by=lambda p: p.split("=")[0],
            )
        )
        return (
            "HTTPS",
            f"{draw(st.integers(1, 3))} {draw(st.sampled_from(['.', 'svc', 'svc.example.net.']))} "
            + " ".join(
                p for p in params if not (p == "no-default-alpn" and not any(q.startswith("alpn") for q in params))
            ),
        )
    if kind == "LOC":
        seconds = f"{draw(st.integers(0, 59))}.{draw(st.integers(0, 999)):03d}"
        lat = f"{draw(st.integers(0, 89))} {draw(st.integers(0, 59))} {seconds}"
        lon = f"{draw(st.integers(0, 179))} {draw(st.integers(0, 59))}"
        alt = f"{draw(st.integers(-99999, 100000))}.{draw(st.integers(0, 99)):02d}m"
        sizes = " ".join(
            f"{draw(st.integers(0, 9))}{'0' * draw(st.integers(0, 6))}m" for _ in range(draw(st.integers(0, 3)))
        )
        return "LOC", f"{lat} {draw(st.sampled_from('NS'))} {lon} {draw(st.sampled_from('EW'))} {alt} {sizes}".strip()
    if kind == "URI":
        return (
            "URI",
            f"{draw(st.integers(0, 65535))} {draw(st.integers(0, 65535))} "
            + txt_string(draw(st.binary(min_size=1, max_size=30)), 2),
        )
    if kind == "SPF":
        return "SPF", txt_string(draw(st.binary(max_size=60)), 0)
    if kind == "EUI48":
        return "EUI48", "-".join(f"{b:02x}" for b in draw(st.binary(min_size=6, max_size=6)))
    if kind == "A":
        return "A", ".".join(str(draw(st.integers(0, 255))) for _ in range(4))
    if kind == "AAAA":
        groups = [f"{draw(st.integers(0, 0xFFFF)):x}" for _ in range(8)]
        return "AAAA", ":".join(groups)
    if kind == "MX":
        return "MX", f"{draw(st.integers(0, 65535))} {draw(OUTSIDE)}"
    if kind == "SRV":
        nums = " ".join(str(draw(st.integers(0, 65535))) for _ in range(3))
        return "SRV", f"{nums} {draw(OUTSIDE)}"
    if kind == "TXT":
        strings = draw(st.lists(st.binary(max_size=255), min_size=1, max_size=3))
        style = draw(st.integers(0, 3))
        return "TXT", " ".join(txt_string(s, style) for s in strings)
    if kind == "CAA":
        tag = draw(st.sampled_from(["issue", "issuewild", "iodef", "Tag9"]))
        value = draw(st.binary(max_size=40))
        return "CAA", f"{draw(st.integers(0, 255))} {tag} {txt_string(value, 0)}"
    if kind == "PTR":
        return "PTR", draw(st.sampled_from(["@", "Target", "t.example.net.", "x.y"]))
    if kind == "TLSA":  # named checks digest lengths: SHA-256 32 octets, SHA-512 64
        matching = draw(st.integers(1, 2))
        data = draw(st.binary(min_size=32 * matching, max_size=32 * matching)).hex()
        return "TLSA", f"{draw(st.integers(0, 3))} {draw(st.integers(0, 1))} {matching} {data}"
    if kind == "SSHFP":
        fp = draw(st.integers(1, 2))
        digest = draw(st.binary(min_size=20 if fp == 1 else 32, max_size=20 if fp == 1 else 32)).hex()
        return "SSHFP", f"{draw(st.integers(1, 4))} {fp} {digest}"
    if kind == "HINFO":
        return "HINFO", f"{txt_string(draw(st.binary(max_size=20)), 1)} {txt_string(draw(st.binary(max_size=20)), 2)}"
    data = draw(st.binary(max_size=30))
    return f"TYPE{draw(st.integers(65280, 65534))}", f"\\# {len(data)} {data.hex()}" if data else "\\# 0"


@st.composite
def zones(draw: st.DrawFn) -> str:
    origin = draw(HOST) + ".Example."
    lines = [f"$ORIGIN {origin}"]
    default = draw(TTL)
    lines.append(f"$TTL {default}")
    lines.append(f"@ {draw(TTL)} IN SOA ns1 host\\.master ( {draw(st.integers(0, 2**32 - 1))} 1h 15m 1w 5m )")
    lines.append("  IN NS ns1")
    lines.append(f"  IN NS {draw(OUTSIDE)}")
    lines.append("ns1 A 192.0.2.1")
    owners: dict[str, int] = {}  # owner -> its TTL per type is fixed per (owner, type)
    ttls: dict[tuple[str, str], int] = {}
    used_hosts = {"ns1"}
    for _ in range(draw(st.integers(1, 25))):
        odd = draw(st.booleans())
        if odd:  # names beyond host names: only under TXT-like types (named checks host names for A/MX)
            owner = ".".join(label_text(lbl.encode()) for lbl in draw(st.lists(ODD_LABEL, min_size=1, max_size=2)))
            rtype, data = "TXT", f'"{draw(st.integers(0, 99))}"'
        else:
            owner = draw(st.one_of(HOST, st.builds(lambda a, b: f"{a}.{b}", HOST, HOST), st.just("@")))
            if draw(st.booleans()):
                owner = "*." + owner if owner != "@" else "*"
            rtype, data = draw(rdata(origin))
        key = owner.lower()
        if key in ("ns1",):
            continue
        ttl = ttls.setdefault((key, rtype), draw(TTL))  # RFC 2181 5.2: one TTL per RRset
        owners[key] = 1
        used_hosts.add(key)
        style = draw(st.integers(0, 5))
        ttl_text = "" if ttl == default and style % 2 else str(ttl)
        klass = "IN" if style in (0, 3, 4) else ""
        fields = [ttl_text, klass] if style != 4 else [klass, ttl_text]
        head = " ".join(f for f in fields if f)
        if style == 5:
            data = f"( {data} ; a comment inside\n  )"
        spelled = owner if draw(st.booleans()) or owner == "@" else f"{owner}.{origin}" if owner != "*" else owner
        if draw(st.booleans()):  # RFC 4343: any spelling; named keeps the first one it sees for each name
            spelled = (
                "".join(c.upper() if draw(st.booleans()) else c for c in spelled) if "\\" not in spelled else spelled
            )
        lines.append(f"{spelled}\t{head} {rtype}\t{data}".replace("\t ", "\t"))
    for i in range(draw(st.integers(0, 2))):  # CNAMEs: alone at their own names (RFC 2181 10.1)
        lines.append(f"alias{i} {draw(TTL)} CNAME {draw(st.sampled_from(['@', 'ns1', 'Target.example.net.']))}")
    # a delegation with glue
    if draw(st.booleans()):
        lines += ["sub NS ns.sub", "  NS ns.example.net.", "ns.sub A 192.0.2.53"]
        for _ in range(draw(st.integers(0, 2))):  # DS lives at the delegation, on the parent's side
            digest = draw(st.binary(min_size=32, max_size=32)).hex()
            alg = draw(st.sampled_from(["8", "13", "ECDSAP256SHA256"]))
            lines.append(f"sub DS {draw(st.integers(0, 65535))} {alg} 2 {digest}")
    return "\n".join(lines) + "\n"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=zones())
def test_random_zones_round_trip(text: str, tmp_path: Path, named_compilezone: str) -> None:
    origin = text.split()[1]
    src = tmp_path / "random.zone"
    src.write_text(text)
    original = canonical(named_compilezone, origin, src)
    _, exported = import_then_export(text, origin, src)
    out = tmp_path / "exported.zone"
    out.write_text(exported)
    assert canonical(named_compilezone, origin, out) == original, exported


def test_crlf_file_round_trip(tmp_path: Path, named_compilezone: str) -> None:
    src = tmp_path / "example.com.zone"
    src.write_bytes((BIND / "example.com.zone").read_bytes().replace(b"\n", b"\r\n"))
    _, exported = import_then_export(src.read_bytes().decode("utf-8"), "example.com.", src)
    out = tmp_path / "out.zone"
    out.write_text(exported)
    assert "\r" not in exported
    assert canonical(named_compilezone, "example.com.", out) == canonical(named_compilezone, "example.com.", src)


# ---------------------------------------------------------------------------
# the one hard part of writing YAML by hand: quoting
# ---------------------------------------------------------------------------
TRICKY = ["@", "*", "*.dev", "yes", "No", "on", "null", "~", "0x1", "1e3", "12:30", "2024-01-01", "", " lead",
          "trail ", "a: b", "a #b", "#c", "- x", "-all", "? q", "back\\slash", "\\# 3 abcdef", "'", '"', "%x", "!t",
          "&a", "|", ">", "[x]", "{y}", "a,b", "été", "tab\there", "nl\nx", "\x00\x7f\u2028", ".5", "+1", "=", "<<",
          ".inf", "1_000", "0o17", "v=spf1 -all", "10 mx1", "2001:db8::1", "::1", "a:b"]  # fmt: skip


def loads(text: str) -> object:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(text)


@pytest.mark.parametrize("value", TRICKY)
def test_scalars_read_back_exactly(value: str) -> None:
    check_scalar(value)


@settings(max_examples=300, deadline=None)
@given(value=st.text(max_size=12))
def test_random_scalars_read_back_exactly(value: str) -> None:
    check_scalar(value)


def check_scalar(value: str) -> None:
    from zonetool.source import yaml as yaml_source
    from zonetool.source.yaml_emit import scalar

    block = f"k: {scalar(value)}\n"
    flow = f"k: [{scalar(value, True)}, {scalar(value, True)}]\nm: {{a: {scalar(value, True)}}}\n"
    key = f"{scalar(value)}: 1\n"
    assert loads(block) == {"k": value}, block
    assert loads(flow) == {"k": [value, value], "m": {"a": value}}, flow
    assert loads(key) == {value: 1}, key
    for text, expected in ((block, {"k": value}), (flow, {"k": [value, value], "m": {"a": value}})):
        data, findings = yaml_source.load(text, "q.yaml")  # the loader zonetool itself uses
        assert data == expected and not findings, text
