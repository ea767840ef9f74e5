"""Zone-level validation: every rule in one registry, run over a built Zone.

The compiler (YAML) and the BIND reader already refuse what cannot become a record;
these rules judge the zone as a whole, whichever source built it. Adding a rule is one
`@rule(...)` function in the family module plus a passing and a failing test.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import replace

from zonetool.findings import Finding
from zonetool.names import Name
from zonetool.rules.base import RULES, Context, Rule, rule
from zonetool.zone import Zone

__all__ = ["FAMILIES", "RULES", "Rule", "apply_silence", "rule", "run_rules"]

# Importing a family module registers its rules; this order is the order of findings.
FAMILIES = ("names", "mx", "srv", "cname", "ns", "ttl", "hygiene", "spf", "dmarc", "dkim", "mtasts", "tlsrpt", "dane")
for _family in FAMILIES:
    importlib.import_module(f"zonetool.rules.{_family}")


def run_rules(
    zone: Zone, only: Iterable[str] | None = None, peers: Mapping[Name, Zone] | None = None
) -> list[Finding]:
    """Every finding of every rule (or of the codes in `only`), in registry order; `peers` are
    the other zones validated together (by origin), which the cross-zone rules read."""
    ctx = Context(zone, peers)
    wanted = None if only is None else set(only)
    findings: list[Finding] = []
    for code, r in RULES.items():
        if wanted is None or code in wanted:
            findings.extend(r.run(ctx))
    return findings


def apply_silence(findings: Iterable[Finding], silence: Mapping[str, str]) -> list[Finding]:
    """Mark findings whose code the zone's owner silenced; they stay visible with the reason."""
    return [replace(f, silenced=silence[f.code]) if f.code in silence else f for f in findings]
