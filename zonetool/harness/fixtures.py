"""pytest fixtures of the sender harness, registered through `zonetool.testing` (the pytest11 plugin).

def test_backup_mx(dns_server, smtp_sinks):
    dns_server.load("zones/example.com.yaml")
    smtp_sinks.add_zones(dns_server.zones.values(), behaviours={"mx1.example.com": "refuse"})
    ...send through your sender: DNS at dns_server.host:dns_server.port, SMTP port smtp_sinks.port_for(25)...
    assert smtp_sinks.delivered_to() == ["backup.example.com."]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from zonetool.harness.sinks import MailSinks


@pytest.fixture
def smtp_sinks() -> Iterator[MailSinks]:
    """Started SMTP sinks (none yet: add them with `add_zones` or `add`); ports 25, 465 and 587 are
    mapped to free high ports so the test runs without root: ask `port_for(25)` where to connect."""
    from zonetool.harness.sinks import MailSinks, free_port

    ports: dict[int, int] = {}
    for port in (25, 465, 587):
        ports[port] = free_port(exclude=ports.values())
    with MailSinks(ports=ports) as sinks:
        yield sinks
