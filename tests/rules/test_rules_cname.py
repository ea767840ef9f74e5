"""CNAME: alone at its name, never at the apex, no loops, short chains."""

from __future__ import annotations

from collections.abc import Callable


def test_clean_aliases(findings: Callable) -> None:
    assert findings("www CNAME web\nweb A 192.0.2.1\nblog CNAME ghs.example.net.\nold CNAME www") == []


def test_cname_and_other_data(findings: Callable) -> None:
    report = findings("web A 192.0.2.1\nwww CNAME web\nwww TXT hello\nwww MX 10 web")
    assert report.codes() == ["cname-and-other-data"]
    assert report.lines("cname-and-other-data") == [2]
    assert "MX" in report[0].message and "TXT" in report[0].message


def test_cname_multiple(findings: Callable) -> None:
    report = findings("a A 192.0.2.1\nb A 192.0.2.2\nwww CNAME a\nwww CNAME b")
    assert report.codes() == ["cname-multiple"]
    assert report.lines("cname-multiple") == [4]


def test_cname_at_apex(findings: Callable) -> None:
    report = findings("@ CNAME web.example.net.")
    assert report.codes() == ["cname-at-apex"]
    assert report.lines("cname-at-apex") == [1]


def test_cname_loop(findings: Callable) -> None:
    report = findings("a CNAME b\nb CNAME c\nc CNAME a\nd CNAME a\nself CNAME self")
    assert sorted(report.lines("cname-loop")) == [1, 5]
    assert "a -> b -> c -> a" in " ".join(f.message for f in report)
    assert "cname-chain" not in report.codes()


def _chain(n: int) -> str:
    return "\n".join(f"c{i} CNAME c{i + 1}" for i in range(n)) + f"\nc{n} A 192.0.2.1"


def test_cname_chain(findings: Callable) -> None:
    assert findings(_chain(8)) == []
    report = findings(_chain(9))
    assert report.codes() == ["cname-chain"]  # reported once, at the head of the chain
    assert report.lines("cname-chain") == [1]
    assert "9 CNAMEs" in report[0].message
