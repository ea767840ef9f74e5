"""An outside referee for the mail policy rules (issue 12 section 3): checkdmarc asks `zonetool serve`.

checkdmarc (domainaware, a test dependency) checks SPF, DMARC, MTA-STS and TLS-RPT in live DNS.
Here it asks one `zonetool serve` of the zones below (it takes a nameserver object with a port,
so no network namespace is needed), and `zonetool validate` judges the same files. One test
prints both side by side and holds:

- every error or warning checkdmarc reports for a zone's SPF, DMARC, MTA-STS or TLS-RPT, zonetool
  reports too, in the same family (and each broken zone's own code, which the table names);
- a zone zonetool calls clean gives no checkdmarc error and no warning in those families.

Two things are not DNS and are set aside, each said here: checkdmarc fetches the MTA-STS policy
over HTTPS (issue 12 section 4 serves it), so it is handed the policy the zone's MX records
imply; and a zone that publishes no MTA-STS or TLS-RPT record at all is not an error (both are
optional), though every zone here publishes them unless its breakage is about them.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import missing, zonetool_exe
from mta import stop

FAMILIES = ("spf", "dmarc", "mta-sts", "tls-rpt")
HOSTS = "  ns1: {A: 192.0.2.53}\n  mx1: {A: 192.0.2.10}\n  mta-sts: {A: 192.0.2.80}\n"


def _zone(origin: str, extra: str = "", **txt: str | list[str]) -> str:
    """A mail domain that passes every check; `txt` replaces or adds TXT records by owner ("@",
    "_dmarc", "_mta-sts", "_smtp._tls", ...), `extra` adds lines under records:."""
    records: dict[str, str | list[str]] = {
        "@": "v=spf1 mx -all",
        "_dmarc": f"v=DMARC1; p=reject; rua=mailto:dmarc@{origin}",
        "_mta-sts": "v=STSv1; id=20260101",
        "_smtp._tls": f"v=TLSRPTv1; rua=mailto:tls@{origin}",
        **txt,
    }
    body = "".join(f"  {owner!r}: {{TXT: {json.dumps(value)}}}\n" for owner, value in records.items())
    return (f"origin: {origin}\nnameservers: [ns1]\nmail:\n  exchangers:\n    - {{host: mx1, priority: 10}}\n"
            f"records:\n{HOSTS}{extra}{body}")


def _dmarc(origin: str, tags: str) -> dict[str, str]:
    return {"_dmarc": f"v=DMARC1; p=reject; rua=mailto:dmarc@{origin}; {tags}"}


def _includes(origin: str, n: int) -> dict[str, str]:
    return {f"_s{i}": "v=spf1 -all" for i in range(n)} | {
        "@": "v=spf1 " + " ".join(f"include:_s{i}.{origin}" for i in range(n)) + " -all"}


PEER_HOSTS = "".join(f"  h{i}: {{A: 192.0.2.{90 + i}}}\n" for i in range(9))

# origin -> (the zonetool code the zone is about, or None for a clean zone; its YAML)
ZONES: dict[str, tuple[str | None, str]] = {
    "clean.example": (None, _zone("clean.example")),
    "peer.example": (None, _zone("peer.example", PEER_HOSTS, _spf="v=spf1 " + " ".join(
        f"a:h{i}.peer.example" for i in range(9)) + " -all")),
    "reports.example": (None, _zone("reports.example", **{"authorized.example._report._dmarc": "v=DMARC1"})),
    "authorized.example": (None, _zone("authorized.example",
                                       _dmarc="v=DMARC1; p=reject; rua=mailto:d@reports.example")),
    # SPF
    "spf-unknown.example": ("spf-unknown-mechanism", _zone("spf-unknown.example",
                                                           **{"@": "v=spf1 mx ipv4:192.0.2.1 -all"})),
    "spf-syntax.example": ("spf-syntax", _zone("spf-syntax.example", **{"@": "v=spf1 mx include: -all"})),
    "spf-ip.example": ("spf-bad-ip", _zone("spf-ip.example", **{"@": "v=spf1 mx ip4:192.0.2.0/33 -all"})),
    "spf-ptr.example": ("spf-ptr", _zone("spf-ptr.example", **{"@": "v=spf1 mx ptr -all"})),
    "spf-lookups.example": ("spf-too-many-lookups", _zone("spf-lookups.example",
                                                          **_includes("spf-lookups.example", 11))),
    "spf-peer-lookups.example": ("spf-too-many-lookups", _zone("spf-peer-lookups.example", **{
        "@": "v=spf1 mx include:_spf.peer.example -all"})),
    "spf-void.example": ("spf-too-many-void-lookups", _zone("spf-void.example", **{
        "@": "v=spf1 mx a:n1.spf-void.example a:n2.spf-void.example a:n3.spf-void.example -all"})),
    "spf-void-one.example": ("spf-void-lookup", _zone("spf-void-one.example", **{
        "@": "v=spf1 mx a:n1.spf-void-one.example -all"})),
    "spf-redirect.example": ("spf-redirect-with-all", _zone("spf-redirect.example", **{
        "@": "v=spf1 mx redirect=_spf.spf-redirect.example -all", "_spf": "v=spf1 -all"})),
    "spf-two.example": ("spf-multiple", _zone("spf-two.example", **{"@": ["v=spf1 mx -all", "v=spf1 -all"]})),
    "spf-include-none.example": ("spf-include-no-spf", _zone("spf-include-none.example", **{
        "@": "v=spf1 mx include:_none.spf-include-none.example -all"})),
    "spf-loop.example": ("spf-include-loop", _zone("spf-loop.example", **{
        "@": "v=spf1 mx include:_a.spf-loop.example -all", "_a": "v=spf1 include:spf-loop.example -all"})),
    "spf-long.example": ("spf-too-long", _zone("spf-long.example", **{
        "@": "v=spf1 " + " ".join(f"ip6:2001:db8:{i:x}::/48" for i in range(30)) + " -all"})),
    "spf-version.example": ("spf-version", _zone("spf-version.example", **{"@": "v=spf1mx -all"})),
    # DMARC
    "dmarc-uri.example": ("dmarc-report-uri", _zone("dmarc-uri.example",
                                                    _dmarc="v=DMARC1; p=reject; rua=d@dmarc-uri.example")),
    "dmarc-pct.example": ("dmarc-removed-tag", _zone("dmarc-pct.example", **_dmarc("dmarc-pct.example", "pct=50"))),
    "dmarc-ri.example": ("dmarc-removed-tag", _zone("dmarc-ri.example", **_dmarc("dmarc-ri.example", "ri=3600"))),
    "dmarc-fo.example": ("dmarc-tag-value", _zone("dmarc-fo.example", **_dmarc("dmarc-fo.example", "fo=2"))),
    "dmarc-tag.example": ("dmarc-unknown-tag", _zone("dmarc-tag.example", **_dmarc("dmarc-tag.example", "rue=x"))),
    "dmarc-policy.example": ("dmarc-policy", _zone("dmarc-policy.example",
                                                   _dmarc="v=DMARC1; p=block; rua=mailto:d@dmarc-policy.example")),
    "dmarc-order.example": ("dmarc-version", _zone("dmarc-order.example",
                                                   _dmarc="p=reject; v=DMARC1; rua=mailto:d@dmarc-order.example")),
    "dmarc-external.example": ("dmarc-external-report", _zone(
        "dmarc-external.example", _dmarc="v=DMARC1; p=reject; rua=mailto:d@reports.example")),
    "dmarc-three.example": ("dmarc-too-many-uris", _zone("dmarc-three.example", _dmarc="v=DMARC1; p=reject; rua="
                                                         + ",".join(f"mailto:{u}@dmarc-three.example" for u in "abc"))),
    # MTA-STS, TLS-RPT
    "sts-id.example": ("mta-sts-record", _zone("sts-id.example", **{"_mta-sts": "v=STSv1; id=2026-01-01"})),
    "sts-noid.example": ("mta-sts-record", _zone("sts-noid.example", **{"_mta-sts": "v=STSv1;"})),
    "tlsrpt-http.example": ("tls-rpt-record", _zone("tlsrpt-http.example", **{
        "_smtp._tls": "v=TLSRPTv1; rua=http://reports.tlsrpt-http.example/"})),
    "tlsrpt-norua.example": ("tls-rpt-record", _zone("tlsrpt-norua.example", **{"_smtp._tls": "v=TLSRPTv1;"})),
}

# What each checkdmarc message is about, as the zonetool code that says the same. A message that
# matches none fails the test: a new checkdmarc check shows up here, not silently.
SAME: list[tuple[str, str]] = [
    (r"is not a valid SPF mechanism", "spf-unknown-mechanism"),
    (r"must have a value|is not a valid SPF", "spf-syntax"),
    (r"is not a valid IPv[46] value", "spf-bad-ip"),
    (r"ptr mechanism", "spf-ptr"),
    (r"requires \d+/10 maximum DNS lookups", "spf-too-many-lookups"),
    (r"\d+/2 maximum void DNS lookups", "spf-too-many-void-lookups"),
    (r"does not exist|void", "spf-void-lookup"),
    (r"redirect modifier was ignored", "spf-redirect-with-all"),
    (r"multiple SPF TXT records", "spf-multiple"),
    (r"include target .* has no SPF record", "spf-include-no-spf"),
    (r"Include loop|Redirect loop", "spf-include-loop"),
    (r"bytes, over 512", "spf-too-long"),
    (r"An SPF record does not exist", "spf-missing"),
    (r"resembles an SPF record was discarded", "spf-version"),
    (r"is not a valid DMARC report URI", "dmarc-report-uri"),
    (r"Support for the (pct|ri|rf) tag was removed", "dmarc-removed-tag"),
    (r"is not a valid (option|value) for the DMARC|must be an integer|between 0 and 100", "dmarc-tag-value"),
    (r"Unknown DMARC tag", "dmarc-unknown-tag"),
    (r"Tag p must have one of the following values", "dmarc-policy"),
    (r"Unrelated TXT records were discovered", "dmarc-version"),
    (r"does not indicate that it accepts DMARC reports", "dmarc-external-report"),
    (r"more than two rua URIs", "dmarc-too-many-uris"),
    (r"id value must be|missing the required id tag|MTA-STS record", "mta-sts-record"),
    (r"SMTP TLS Reporting URI|Expected tag_value|TLS-RPT|TLSRPT", "tls-rpt-record"),
]


def same_as(message: str, reported: list[str]) -> str | None:
    """The code zonetool reported that says what `message` says (None: none of them does)."""
    for pattern, code in SAME:
        if code in reported and re.search(pattern, message, re.I):
            return code
    return None


def family_of(code: str) -> str | None:
    return next((f for f in FAMILIES if code.startswith(f + "-")), None)


# checkdmarc's words for "there is no such record": an error only where the record is required
ABSENT = re.compile(r"does not exist|no .* record|not found", re.I)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    folder = tmp_path_factory.mktemp("mailzones")
    for origin, (_code, text) in ZONES.items():
        (folder / f"{origin}.yaml").write_text(text)
    server = subprocess.Popen([zonetool_exe(), "serve", str(folder), "--port", "0"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        deadline, port = time.monotonic() + 30, None
        while port is None and time.monotonic() < deadline:
            line = server.stderr.readline()
            if not line and server.poll() is not None:
                pytest.fail("zonetool serve ended before serving")
            m = re.search(r"serving .* on 127\.0\.0\.1:(\d+)", line)
            port = int(m.group(1)) if m else None
        assert port is not None, "zonetool serve did not say where it listens"
        yield folder, port
    finally:
        stop(server)


def _policy_of(origin: str) -> dict[str, Any]:
    """The MTA-STS policy the zone's MX implies (what the web server would serve, section 4)."""
    return {"policy": f"version: STSv1\nmode: enforce\nmx: mx1.{origin}\nmax_age: 604800\n", "warnings": []}


def referee(origins: list[str], port: int, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, list[str]]]:
    """origin -> family -> checkdmarc's errors and warnings (absent optional records left out)."""
    try:
        import dns.nameserver
        from checkdmarc import mta_sts
        from checkdmarc.dmarc import check_dmarc
        from checkdmarc.smtp_tls_reporting import check_smtp_tls_reporting
        from checkdmarc.spf import check_spf
    except ImportError:
        missing("checkdmarc is not installed (pip install -e '.[test]')")
    monkeypatch.setattr(mta_sts, "download_mta_sts_policy", lambda domain, **_: _policy_of(domain))
    nameservers = [dns.nameserver.Do53Nameserver("127.0.0.1", port)]
    checks = {"spf": check_spf, "dmarc": check_dmarc, "mta-sts": mta_sts.check_mta_sts,
              "tls-rpt": check_smtp_tls_reporting}
    out: dict[str, dict[str, list[str]]] = {}
    for origin in origins:
        out[origin] = {}
        for family, check in checks.items():
            result = check(origin, nameservers=nameservers, timeout=3)
            said = list(result.get("warnings", []))
            error = result.get("error")
            if error and not (family in ("mta-sts", "tls-rpt") and ABSENT.search(error)):
                said.insert(0, f"error: {error}")
            out[origin][family] = said
    return out


def zonetool_says(folder: Path) -> dict[str, dict[str, list[str]]]:
    """origin -> family -> the codes `zonetool validate` reports for it."""
    done = subprocess.run([zonetool_exe(), "validate", str(folder), "--format", "json"], capture_output=True,
                          text=True, check=False)
    doc = json.loads(done.stdout)
    origin_of = {z["file"]: z["origin"].rstrip(".") for z in doc["zones"]}
    out: dict[str, dict[str, list[str]]] = {o: {f: [] for f in FAMILIES} for o in origin_of.values()}
    for f in doc["findings"]:
        family = family_of(f["code"])
        if family is not None and f["file"] in origin_of:
            out[origin_of[f["file"]]][family].append(f["code"])
    return out


def test_checkdmarc_finds_nothing_zonetool_misses(served: tuple[Path, int], monkeypatch: pytest.MonkeyPatch) -> None:
    folder, port = served
    theirs = referee(sorted(ZONES), port, monkeypatch)
    ours = zonetool_says(folder)
    rows = [f"{'zone':26} {'family':8} {'zonetool':34} checkdmarc"]
    misses, noisy_clean, not_about = [], [], []
    for origin in sorted(ZONES):
        code, _text = ZONES[origin]
        for family in FAMILIES:
            they, we = theirs[origin][family], ours[origin][family]
            if they or we:
                rows.append(f"{origin:26} {family:8} {','.join(dict.fromkeys(we)) or '-':34} "
                            f"{' | '.join(m[:70] for m in they) or '-'}")
            misses += [(origin, message) for message in they if same_as(message, we) is None]
            if code is None and they:
                noisy_clean.append((origin, family, they))
        if code is not None and not any(code in codes for codes in ours[origin].values()):
            not_about.append((origin, code))
    print("\n" + "\n".join(rows))
    assert misses == [], "checkdmarc reports what zonetool does not"
    assert not_about == [], "a broken zone does not get the code it was written for"
    clean = [o for o in ZONES if not any(ours[o].values())]
    assert sorted(clean) == sorted(o for o, (c, _) in ZONES.items() if c is None)
    assert noisy_clean == [], "zones zonetool calls clean get checkdmarc errors or warnings"
    broken_seen = [o for o, (c, _) in ZONES.items() if c is not None and any(theirs[o].values())]
    assert len(broken_seen) == len([c for c, _ in ZONES.values() if c is not None]), "checkdmarc missed a broken zone"
