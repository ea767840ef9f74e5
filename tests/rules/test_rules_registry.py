"""The registry itself: codes are stable and documented, and every rule has its two tests."""

from __future__ import annotations

import re
from pathlib import Path

from zonetool.findings import Finding, Severity, Where
from zonetool.rules import FAMILIES, RULES, apply_silence, rule
from zonetool.rules.doc import section, table

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def test_codes_are_stable_kebab_case_with_rfc() -> None:
    assert len(RULES) >= 40
    for code, r in RULES.items():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", code), code
        assert r.code == code and r.family in FAMILIES
        assert r.rfc.startswith("RFC "), code
        assert isinstance(r.severity, Severity)


def test_every_rule_has_a_failing_test() -> None:
    """Each code is asserted somewhere in tests/rules (as a expected finding code)."""
    text = "\n".join(p.read_text() for p in HERE.glob("test_rules_*.py") if p.name != Path(__file__).name)
    missing = [code for code in RULES if f'"{code}"' not in text]
    assert missing == []


def test_registering_a_code_twice_is_refused() -> None:
    code = next(iter(RULES))
    try:
        rule(code, Severity.ERROR, "dup", "RFC 1")(lambda ctx: [])
    except ValueError as exc:
        assert code in str(exc)
    else:  # pragma: no cover
        raise AssertionError("duplicate code accepted")


def test_silence_keeps_the_finding_visible() -> None:
    f = Finding("spf-missing", Severity.WARNING, "no SPF", Where("z.yaml", 3, 1))
    g = Finding("dmarc-missing", Severity.WARNING, "no DMARC", Where("z.yaml", 3, 1))
    out = apply_silence([f, g], {"spf-missing": "lab zone"})
    assert out[0].silenced == "lab zone" and out[1].silenced is None
    assert "silenced because: lab zone" in out[0].format()


def test_readme_table_matches_registry() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert section(readme) == table(), "README rules section is stale: run `python -m zonetool.rules.doc README.md`"
