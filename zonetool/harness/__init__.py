"""The sender-testing harness: reference delivery plans, resolvers, SMTP sinks.

    from zonetool.harness import WireResolver, check_attempts, plan_route

    plan = plan_route("user@example.com", WireResolver(dns_server.host, dns_server.port))
    assert check_attempts(plan, smtp_sinks.hosts_tried()) == []

`MailSinks` (aiosmtpd) is imported on first use, so planning routes stays light.
"""

from __future__ import annotations

from typing import Any

from zonetool.harness.grade import check_attempts, first_choice_report, matches_shares
from zonetool.harness.plan import Plan, Result, SampleReport, expected_first_shares, plan_route, sample_plans
from zonetool.harness.resolvers import WireResolver, ZoneResolver

__all__ = [
    "MailSinks",
    "Plan",
    "Result",
    "SampleReport",
    "WireResolver",
    "ZoneResolver",
    "check_attempts",
    "expected_first_shares",
    "first_choice_report",
    "matches_shares",
    "plan_route",
    "sample_plans",
]


def __getattr__(name: str) -> Any:
    if name in ("MailSinks", "SinkError", "SinkEvent"):
        from zonetool.harness import sinks

        return getattr(sinks, name)
    raise AttributeError(f"module 'zonetool.harness' has no attribute {name!r}")
