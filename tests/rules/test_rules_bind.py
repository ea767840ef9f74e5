"""The same rules judge BIND master files, and BIND's own checker agrees with them.

Each case is a real master file read through the loader (the BIND edge), so findings carry
the file's line numbers; `named-checkzone` is run on the same file as the external referee.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from zonetool import loader

HEAD = """$ORIGIN example.com.
$TTL 3600
@    SOA ns1 hostmaster 1 3600 900 1209600 300
@    NS  ns1
@    NS  ns2
ns1  A   192.0.2.1
ns2  A   192.0.2.2
"""  # 7 lines: a case's first line is line 8

# code, the case's lines, what named-checkzone says about the same mistake, the line we report
CASES = [
    ("cname-and-other-data", "www CNAME ns1\nwww TXT x\n", "CNAME and other data", 8),
    ("mx-target-cname", "@ MX 10 mail\nmail CNAME ns1\n", "is a CNAME (illegal)", 8),
    ("srv-target-cname", "_x._tcp SRV 0 0 80 mail\nmail CNAME ns1\n", "is a CNAME (illegal)", 8),
    ("target-is-address", "@ MX 10 192.0.2.1\n", "MX is an address", 8),
    ("mx-target-no-address", "@ MX 10 mx1\n", "has no address records", 8),
    ("srv-target-no-address", "_x._tcp SRV 0 0 80 mx9\n", "has no address records", 8),
    ("glue-missing", "sub NS ns1.sub\n", "has no REQUIRED GLUE", 8),
]


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "example.com.zone"
    path.write_text(HEAD + body)
    return path


def _named(named_checkzone: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [named_checkzone, "-i", "local", "example.com", str(path)], capture_output=True, text=True, check=False
    )


def test_clean_master_file_passes_both(tmp_path: Path, named_checkzone: str) -> None:
    path = _write(tmp_path, '@ MX 10 mx1\nmx1 A 192.0.2.10\n@ TXT "v=spf1 mx -all"\n_dmarc TXT "v=DMARC1; p=none"\n')
    _zone, findings = loader.load_file(path)
    assert [f.format() for f in findings] == []
    named = _named(named_checkzone, path)
    assert named.returncode == 0
    assert "warning" not in named.stdout + named.stderr and "illegal" not in named.stdout


@pytest.mark.parametrize(("code", "body", "named_says", "line"), CASES, ids=[c[0] for c in CASES])
def test_rule_agrees_with_named_checkzone(
    tmp_path: Path, named_checkzone: str, code: str, body: str, named_says: str, line: int
) -> None:
    path = _write(tmp_path, body)
    _zone, findings = loader.load_file(path)
    assert [f.where.line for f in findings if f.code == code] == [line]
    assert all(f.where.file == str(path) for f in findings)
    named = _named(named_checkzone, path)
    assert named_says in named.stdout + named.stderr


def test_rules_only_bind_can_reach(tmp_path: Path) -> None:
    """A master file can lack SOA and NS entirely (the YAML compiler always makes them)."""
    path = tmp_path / "example.org.zone"
    path.write_text("$ORIGIN example.org.\n$TTL 3600\nwww A 192.0.2.1\n")
    _zone, findings = loader.load_file(path)
    codes = {f.code for f in findings}
    assert {"soa-missing", "ns-apex-missing"} <= codes


# issue 12: mail policy records imported from a master file, one mistake a line (line 8 on)
MAIL = """@ MX 10 ns1
@ TXT "v=spf1 mx ipv4:192.0.2.1 -all"
_dmarc TXT ( "v=DMARC1; p=reject; "
             "rua=dmarc@example.com" )
sel._domainkey TXT "v=DKIM1; k=ed25519; p=QUJD"
_mta-sts TXT "v=STSv1; id=2026-01-01"
_smtp._tls TXT "v=TLSRPTv1; rua=http://example.com/r"
_25._tcp.ns1 TLSA 1 1 1 8D02536C887482BC34FF54E41D2BA659
"""


def test_mail_policy_rules_judge_master_files(tmp_path: Path) -> None:
    """The mail rules point at the master file's own lines (a record in parentheses: its first line)."""
    _zone, findings = loader.load_file(_write(tmp_path, MAIL))
    lines = {(f.code, f.where.line) for f in findings if f.where.file == str(tmp_path / "example.com.zone")}
    assert {("spf-unknown-mechanism", 9), ("dmarc-report-uri", 10), ("dkim-key", 12), ("mta-sts-record", 13),
            ("mta-sts-policy-host", 13), ("tls-rpt-record", 14), ("tlsa-smtp-usage", 15), ("tlsa-length", 15),
            ("dane-unsigned", 15)} <= lines
    assert "character 11" in next(f.message for f in findings if f.code == "spf-unknown-mechanism")
