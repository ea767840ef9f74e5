"""Grading a sender against the reference plan: which hosts it tried, in which order, how often first.

Pure over a `Plan` from `plan.py` (built there, only read here) and what a test observed of a
real sender: the hosts it connected to (`check_attempts`) or its first choices over many
messages (`first_choice_report`, `matches_shares`). No DNS lookups, no sockets.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from zonetool.harness.plan import DELIVER, Plan, SampleReport, expected_first_shares
from zonetool.names import Name


def _key(host: str | Name) -> str:
    text = host.to_text() if isinstance(host, Name) else host
    return text.lower().rstrip(".")


def check_attempts(plan: Plan, tried: Sequence[str | Name]) -> list[str]:
    """What a sender did wrong, judged by the plan: `tried` is the hosts it connected to, in order.

    Flags a connection when the plan allows none (null MX, DNS error, NXDOMAIN), a host that is
    not a usable target (e.g. the domain's own address after SERVFAIL), and a host tried before
    every usable host of a better preference was tried (backup first). Stopping early is allowed:
    a sender stops at the first success.
    """
    problems: list[str] = []
    if plan.outcome != DELIVER:
        if tried:
            problems.append(
                f"the plan says {plan.outcome} (no connection allowed) but the sender connected to "
                + ", ".join(_key(h) for h in tried)
            )
        return problems
    group_of: dict[str, int] = {}
    for i, group in enumerate(plan.groups):
        for t in group.targets:
            if t.usable:
                group_of.setdefault(_key(t.host), i)
    seen: set[str] = set()
    for host in tried:
        key = _key(host)
        for part in key.split("/"):  # a sink shared by several names reports them joined
            if part in group_of:
                key = part
                break
        if key not in group_of:
            problems.append(f"connected to {key}, which is not a usable host of the plan")
            continue
        g = group_of[key]
        skipped = [h for h, gi in group_of.items() if gi < g and h not in seen]
        if skipped:
            label = "priority" if plan.mode == "srv" else "preference"
            problems.append(
                f"tried {key} ({label} {plan.groups[g].preference}) before {', '.join(sorted(skipped))} "
                f"of a lower {label}"
            )
        seen.add(key)
    return problems


def first_choice_report(plan: Plan, firsts: Sequence[str | Name]) -> SampleReport:
    """Observed first choices of a sender over many messages, against the shares the plan promises."""
    expected = expected_first_shares(plan)
    counts: Counter[str] = Counter()
    names = {_key(h): h for h in expected}
    for host in firsts:
        counts[names.get(_key(host), _key(host))] += 1
    return SampleReport(len(firsts), dict(counts), expected, Counter())


# Upper 0.1% points of the chi-square distribution, by degrees of freedom (for tests and --samples).
CHI2_999 = {1: 10.828, 2: 13.816, 3: 16.266, 4: 18.467, 5: 20.515, 6: 22.458, 7: 24.322, 8: 26.124, 9: 27.877}


def matches_shares(report: SampleReport) -> bool:
    """True unless the observed first choices are off the promised shares at the 0.1% level."""
    stat, df = report.chi_square()
    observed_elsewhere = sum(c for h, c in report.first.items() if report.expected.get(h, 0) <= 0)
    if observed_elsewhere:
        return False
    if df == 0:
        return True
    # Beyond the table, the Wilson-Hilferty approximation (z = 3.0902 for 0.999).
    limit = CHI2_999.get(df) or df * (1 - 2 / (9 * df) + 3.0902 * (2 / (9 * df)) ** 0.5) ** 3
    return stat <= limit
