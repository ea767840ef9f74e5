"""Round-trip editing at the YAML level: byte-for-byte inverses and comment survival."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zonetool.source import yaml_doc, yaml_fmt
from zonetool.source import yaml_edit as ye

ROOT = Path(__file__).resolve().parent.parent
COMMENTED = Path(__file__).resolve().parent / "data" / "edit" / "commented.yaml"
TODAY = date(2026, 11, 28)


def zone_files() -> list[Path]:
    found = sorted((ROOT / "zones").glob("**/*.yaml")) + sorted((ROOT / "examples").glob("**/*.yaml"))
    return [COMMENTED, *found]


ZONES = pytest.mark.parametrize("path", zone_files(), ids=lambda p: p.name)
_SERIAL = re.compile(r"^(\s*serial:\s*)\d+", re.M)


def unserial(text: str) -> str:
    return _SERIAL.sub(r"\1N", text)


def comments(text: str) -> Counter[str]:
    return Counter(line.strip() for line in text.splitlines() if line.lstrip().startswith("#"))


Edit = Callable[[ye.Document], None]


def edit(text: str, fn: Callable[[ye.Document], None]) -> str:
    return ye.apply_edit(text, fn, today=TODAY).new_text


def assert_inverse(text: str, forward: Callable[[ye.Document], None], back: Callable[[ye.Document], None]) -> None:
    once = edit(text, forward)
    assert once != text, "the forward edit changed nothing"
    assert not comments(text) - comments(once), "a comment line was lost by the forward edit"
    again = edit(once, back)
    assert not comments(text) - comments(again), "a comment line was lost by the inverse edit"
    assert unserial(again) == unserial(text)
    assert again.count("\n") == text.count("\n")


@ZONES
def test_ruamel_round_trip_is_byte_exact(path: Path) -> None:
    text = path.read_text()
    assert ye.Document(text).roundtrip() == text


@ZONES
def test_mx_add_then_remove(path: Path) -> None:
    text = path.read_text()
    doc = ye.Document(text)
    mail = doc.data.get("mail")
    if isinstance(mail, dict) and (mail.get("null") or mail.get(None)):  # YAML 1.2: `null:` is None
        with pytest.raises(ye.EditError, match="null MX"):
            ye.mx_add(doc, "edit-mx", 77)
        return
    assert_inverse(text, lambda d: ye.mx_add(d, "edit-mx", 77), lambda d: ye.mx_remove(d, "edit-mx"))


def _first_exchanger(doc: ye.Document) -> tuple[str, int] | None:
    mail = doc.data.get("mail")
    if isinstance(mail, dict):
        for item in mail.get("exchangers") or []:
            if isinstance(item, dict):
                return str(item["host"]), int(item["priority"])
        return None
    at = (doc.data.get("records") or {}).get("@") or {}
    mx = at.get("MX") if isinstance(at, dict) else None
    for item in [mx] if isinstance(mx, str) else mx or []:
        if isinstance(item, str):
            pref, host = item.split()
            return host, int(pref)
    return None


def _with_exchangers() -> list[Path]:
    return [p for p in zone_files() if _first_exchanger(ye.Document(p.read_text())) is not None]


def _with_services() -> list[Path]:
    return [p for p in zone_files() if ye.Document(p.read_text()).data.get("services")]


def test_edit_fixtures_cover_exchangers_and_services() -> None:
    assert _with_exchangers() and _with_services()


@pytest.mark.parametrize("path", _with_exchangers(), ids=lambda p: p.name)
def test_mx_set_then_set_back(path: Path) -> None:
    text = path.read_text()
    first = _first_exchanger(ye.Document(text))
    assert first is not None
    host, priority = first
    assert_inverse(
        text, lambda d: ye.mx_set(d, host, priority=priority + 1), lambda d: ye.mx_set(d, host, priority=priority)
    )


@ZONES
def test_srv_add_then_remove_new_name(path: Path) -> None:
    text = path.read_text()
    assert_inverse(
        text,
        lambda d: ye.srv_add(d, "_edit._tcp", "srvhost", port=1234, priority=1, weight=2),
        lambda d: ye.srv_remove(d, "_edit._tcp", "srvhost"),
    )


@pytest.mark.parametrize("path", _with_services(), ids=lambda p: p.name)
def test_srv_add_then_remove_in_existing_service(path: Path) -> None:
    text = path.read_text()
    services = ye.Document(text).data.get("services")
    name = str(services[0]["name"])
    assert_inverse(
        text,
        lambda d: ye.srv_add(d, name, "extra-target", port=4321),
        lambda d: ye.srv_remove(d, name, "extra-target"),
    )


@ZONES
def test_record_add_then_remove_new_owner(path: Path) -> None:
    text = path.read_text()
    assert_inverse(
        text,
        lambda d: ye.record_add(d, "edit-owner", "TXT", "hello world"),
        lambda d: ye.record_remove(d, "edit-owner", "TXT", "hello world"),
    )


def _owner_with_a(doc: ye.Document) -> tuple[str, str] | None:
    for owner, types in (doc.data.get("records") or {}).items():
        if isinstance(types, dict) and isinstance(types.get("A"), str):
            return str(owner), str(types["A"])
    return None


@ZONES
def test_record_add_to_existing_rrset_then_remove(path: Path) -> None:
    text = path.read_text()
    found = _owner_with_a(ye.Document(text))
    if found is None:
        pytest.skip("no owner with a single A record")
    owner, _ = found
    assert_inverse(
        text,
        lambda d: ye.record_add(d, owner, "A", "192.0.2.254"),
        lambda d: ye.record_remove(d, owner, "A", "192.0.2.254"),
    )


@ZONES
def test_record_set_then_set_back(path: Path) -> None:
    text = path.read_text()
    found = _owner_with_a(ye.Document(text))
    if found is None:
        pytest.skip("no owner with a single A record")
    owner, old = found
    assert_inverse(
        text, lambda d: ye.record_set(d, owner, "A", "192.0.2.253"), lambda d: ye.record_set(d, owner, "A", old)
    )


# -- the commented zone: shapes the generic tests do not reach -------------------------
TEXT = COMMENTED.read_text()


@pytest.mark.parametrize(
    ("forward", "back"),
    [
        (
            lambda d: ye.mx_add(d, "mx3", 20, weight=1, port=2525, addresses=["192.0.2.12"]),
            lambda d: ye.mx_remove(d, "mx3"),
        ),
        (lambda d: ye.mx_set(d, "mx2.example.net.", weight=9), lambda d: ye.mx_set(d, "mx2", weight=1)),
        (lambda d: ye.srv_set(d, "_sip._udp", "sip", weight=10), lambda d: ye.srv_set(d, "_sip._udp", "sip", weight=5)),
        (lambda d: ye.srv_add(d, "_sip._udp", "sip2", port=5061), lambda d: ye.srv_remove(d, "_sip._udp", "sip2")),
        (
            lambda d: ye.record_add(d, "imap", "A", "192.0.2.22"),
            lambda d: ye.record_remove(d, "imap", "A", "192.0.2.22"),
        ),
        (
            lambda d: ye.record_add(d, "host", "AAAA", "2001:db8::8"),
            lambda d: ye.record_remove(d, "host", "AAAA", "2001:db8::8"),
        ),
        (lambda d: ye.record_add(d, "host", "MX", "30 mx3"), lambda d: ye.record_remove(d, "host", "MX", "30 mx3")),
        (lambda d: ye.record_add(d, "@", "TXT", "second"), lambda d: ye.record_remove(d, "@", "TXT", "second")),
        (
            lambda d: ye.record_add(d, "host", "CAA", '0 issue "ca.example"'),
            lambda d: ye.record_remove(d, "host", "CAA", None),
        ),
        (lambda d: ye.record_set(d, "www", "CNAME", "host"), lambda d: ye.record_set(d, "www", "CNAME", "@")),
    ],
)
def test_commented_zone_inverse_pairs(
    forward: Callable[[ye.Document], None], back: Callable[[ye.Document], None]
) -> None:
    assert_inverse(TEXT, forward, back)


def test_remove_keeps_comment_lines_of_removed_nodes() -> None:
    out = edit(TEXT, lambda d: ye.srv_remove(d, "_sip._udp", "sip"))
    assert "_sip._udp" not in out
    assert not comments(TEXT) - comments(out)
    assert "\n\n# --- everything else ---" in out  # the separating blank line stays


def test_new_service_goes_above_the_next_sections_comment() -> None:
    out = edit(TEXT, lambda d: ye.srv_add(d, "_ldap._tcp", "ldap", port=389))
    assert out.index("_ldap._tcp") < out.index("# --- everything else ---")


def test_mx_remove_in_records_form_matches_relative_and_absolute() -> None:
    text = "origin: example.org\nrecords:\n  '@': {MX: ['10 mx1', '20 mx2.example.org.']}  # mail\n"
    out = edit(text, lambda d: ye.mx_remove(d, "mx2"))
    assert out == "origin: example.org\nrecords:\n  '@': {MX: '10 mx1'}  # mail\n"


def test_mx_add_without_mail_block_creates_records_at_apex_and_remove_drops_it() -> None:
    text = "origin: example.org\n# only this\n"
    out = edit(text, lambda d: ye.mx_add(d, "mx1", 10))
    assert "records:" in out and '"@": {MX: 10 mx1}' in out
    assert edit(out, lambda d: ye.mx_remove(d, "mx1")) == text


def test_duplicate_and_missing_are_refused() -> None:
    doc = ye.Document(TEXT)
    with pytest.raises(ye.EditError, match="already"):
        ye.mx_add(doc, "mx1", 10)
    with pytest.raises(ye.EditError, match="not an exchanger"):
        ye.mx_remove(doc, "nosuch")
    with pytest.raises(ye.EditError, match="already"):
        ye.record_add(doc, "imap", "A", "192.0.2.20")
    with pytest.raises(ye.EditError, match="not there"):
        ye.record_remove(doc, "imap", "A", "192.0.2.99")
    with pytest.raises(ye.EditError, match="SOA"):
        ye.record_add(doc, "@", "SOA", "x")


@pytest.mark.parametrize(
    ("old", "today", "new"),
    [
        (2026010101, date(2026, 11, 28), 2026112800),
        (2026112800, date(2026, 11, 28), 2026112801),
        (2026112899, date(2026, 11, 28), 2026112900),  # past 99 it counts on (still increasing)
        (2027010105, date(2026, 11, 28), 2027010106),  # already ahead of today
        (42, date(2026, 11, 28), 43),
        (2**32 - 1, date(2026, 11, 28), 0),  # RFC 1982 wrap
    ],
)
def test_next_serial(old: int, today: date, new: int) -> None:
    assert ye.next_serial(old, today) == new


def test_auto_serial_is_not_touched_and_no_change_means_no_bump() -> None:
    text = "origin: example.org\nsoa: {serial: auto}\nrecords:\n  a: {A: 192.0.2.1}\n"
    out = edit(text, lambda d: ye.record_add(d, "b", "A", "192.0.2.2"))
    assert "serial: auto" in out and "b: {A: 192.0.2.2}" in out
    result = ye.apply_edit(TEXT, lambda d: ye.mx_set(d, "mx1", priority=10), today=TODAY)
    assert not result.changed and result.serial is None


@pytest.mark.parametrize(
    ("text", "indent"),
    [
        ("a:\n  b:\n    - x\n", yaml_doc.Indent(2, 4, 2)),
        ("a:\n    b:\n    - x\n", yaml_doc.Indent(4, 2, 0)),
        ("a:\n  b:\n  - x\n  - y\n", yaml_doc.Indent(2, 2, 0)),
        ("a:\n    b: 1\n    c:\n      - x\n", yaml_doc.Indent(4, 4, 2)),
    ],
)
def test_detect_indent(text: str, indent: yaml_doc.Indent) -> None:
    assert yaml_doc.detect_indent(text) == indent
    assert ye.Document(text).roundtrip() == text


def test_odd_spacing_elsewhere_survives_an_edit() -> None:
    text = "origin:    example.org\nrecords:\n  a:   {A: 192.0.2.1}\n  b: {A: 192.0.2.2}\n"
    out = edit(text, lambda d: ye.record_add(d, "b", "A", "192.0.2.3"))
    assert out.startswith("origin:    example.org\nrecords:\n  a:   {A: 192.0.2.1}\n")


def test_edit_in_a_four_space_zone_uses_its_indentation() -> None:
    text = (
        "origin: example.org\n"
        "mail:\n"
        "    exchangers:\n"
        "    -   host: mx1\n"
        "        priority: 10\n"
        "records:\n"
        "    mx1:\n"
        "        A: 192.0.2.1\n"
    )
    out = edit(text, lambda d: ye.record_add(d, "mx2", "A", "192.0.2.2"))
    assert out == text + "    mx2:\n        A: 192.0.2.2\n"
    out = edit(text, lambda d: ye.mx_add(d, "mx2", 20))
    assert out.startswith(text.split("records:")[0] + "    -   host: mx2\n        priority: 20\nrecords:")
    assert edit(out, lambda d: ye.mx_remove(d, "mx2")) == text


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["host", "imap", "lab", "@", "fresh", "_dmarc"]), st.integers(100, 120)),
        min_size=1,
        max_size=4,
        unique=True,
    )
)
def test_any_adds_then_removes_in_reverse_give_back_the_file(adds: list[tuple[str, int]]) -> None:
    text = TEXT
    for owner, n in adds:
        text = edit(text, lambda d, o=owner, n=n: ye.record_add(d, o, "A", f"192.0.2.{n}"))
    assert not comments(TEXT) - comments(text)
    for owner, n in reversed(adds):
        text = edit(text, lambda d, o=owner, n=n: ye.record_remove(d, o, "A", f"192.0.2.{n}"))
    assert unserial(text) == unserial(TEXT)


def test_a_crlf_file_keeps_crlf_through_edits_and_fmt() -> None:
    """ruamel writes new lines with LF; a CRLF file must come back all CRLF, and byte-exact after the inverse."""
    text = COMMENTED.read_text().replace("\n", "\r\n")
    once = edit(text, lambda d: ye.mx_add(d, "edit-mx", 77))
    assert "edit-mx" in once and once.count("\r\n") == once.count("\n")
    again = edit(once, lambda d: ye.mx_remove(d, "edit-mx"))
    assert unserial(again) == unserial(text)
    formatted = yaml_fmt.format_text(text)
    assert formatted.count("\r\n") == formatted.count("\n") > 10
    assert yaml_fmt.format_text(formatted) == formatted
    lf = COMMENTED.read_text()
    assert "\r" not in edit(lf, lambda d: ye.mx_add(d, "edit-mx", 77))  # an LF file stays LF
