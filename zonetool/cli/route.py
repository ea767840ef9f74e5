"""`zonetool route`: the delivery plan a compliant sender follows, from zone files or a live server."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from zonetool.cli.app import Format, FormatOpt, app, echo_json, fail

if TYPE_CHECKING:
    from zonetool.harness.plan import Plan, SampleReport

# What a compliant sender does with each outcome, in one sentence.
OUTCOME_TEXT = {
    "deliver": "deliver: try the hosts group by group; move to the next group only when every host of a group "
    "failed (connection refused, timeout, 4xx)",
    "null-mx": "does not accept mail (null MX): fail at once with 556 5.1.10, no connection, no fallback",
    "not-offered": "service not offered here (SRV target '.'): do not connect",
    "defer": "temporary failure: keep the message queued and retry later; never bounce, never use A/AAAA instead",
    "no-such-domain": "no such domain (NXDOMAIN): bounce at once (5.1.2)",
    "no-route": "no usable host: bounce (permanent failure)",
    "no-srv": "no SRV records: the client uses its configured host and port",
    "unresolvable": "every target lies outside the served zones: nothing to try against these zones",
}


@app.command()
def route(
    destination: Annotated[str, typer.Argument(help="user@domain or domain (user@[192.0.2.1] works too).")],
    zone: Annotated[
        list[Path] | None, typer.Option("--zone", "-z", help="YAML zone file or directory (repeatable).")
    ] = None,
    server: Annotated[
        str | None, typer.Option("--server", "-s", help="Ask this DNS server over the wire: HOST:PORT.")
    ] = None,
    service: Annotated[
        str | None,
        typer.Option(
            "--service",
            help="SRV routing for smtp, submission, submissions, imap, imaps, pop3, pop3s, or an owner like _x._tcp.",
        ),
    ] = None,
    samples: Annotated[int, typer.Option("--samples", "-n", help="Draw N plans and count which host comes first.")] = 0,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed for --samples (default: random).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for each answer (--server).")] = 2.0,
    format: FormatOpt = Format.text,
) -> None:
    """Print the delivery plan a compliant sender follows, and what it must do in each failure case."""
    import random

    from zonetool.harness.plan import SERVICES, plan_route, sample_plans

    if bool(zone) == bool(server):
        fail("give the zones to read (--zone PATH) or a DNS server to ask (--server HOST:PORT), one of the two")
    if samples < 0:
        fail("--samples must not be negative")
    if timeout <= 0:
        fail("--timeout must be positive")
    if service is not None and service not in SERVICES and not service.startswith("_"):
        fail(f"--service {service!r}: one of {', '.join(SERVICES)}, or an SRV owner prefix such as _xmpp-server._tcp")

    resolver = _zone_resolver(zone) if zone else _wire_resolver(server or "", timeout)
    try:
        plan = plan_route(destination, resolver, service=service)
    except ValueError as exc:
        fail(str(exc))

    report = None
    if samples:
        used_seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
        report = sample_plans(plan, samples, random.Random(used_seed))
    if format is Format.json:
        data: dict[str, Any] = plan.to_json()
        data["explanation"] = OUTCOME_TEXT.get(plan.outcome, plan.outcome)
        if report is not None:
            data["samples"] = {**report.to_json(), "seed": used_seed}
        echo_json(data)
        return
    typer.echo(format_plan(plan))
    if report is not None:
        typer.echo("")
        typer.echo(format_samples(report, used_seed))


def _zone_resolver(paths: list[Path]) -> Any:
    from zonetool.faults import FaultSet
    from zonetool.harness.resolvers import ZoneResolver
    from zonetool.loader import LoadError, load_paths, serving_blockers

    try:
        loaded = load_paths(paths)
    except LoadError as exc:
        fail(str(exc))
    # The zones `zonetool serve` would serve, judged the same way, so --zone and --server agree:
    # rule errors (an MX at a CNAME, an exchanger without addresses) are what the plan is about.
    blockers = serving_blockers(loaded.findings)
    if blockers:
        for finding in blockers:
            typer.echo(finding.format(), err=True)
        fail(f"{len(blockers)} error(s) in the zone files that no name server would serve; "
             "fix them first (zonetool validate)", 1, blockers)
    # The loader has reported bad `faults:` items already (with line:column); the good ones apply.
    faults = FaultSet.merge(*(FaultSet.from_spec(z.faults_spec, z.origin, z.file)[0] for z in loaded.zones))
    if not loaded.zones:
        fail(f"no zones found in {', '.join(map(str, paths))}")
    return ZoneResolver(loaded.zones, faults)


def _wire_resolver(server: str, timeout: float) -> Any:
    from zonetool.harness.resolvers import WireResolver, parse_server

    try:
        host, port = parse_server(server)
    except ValueError as exc:
        fail(f"--server: {exc}")
    return WireResolver(host, port, timeout=timeout)


def format_plan(plan: Plan) -> str:
    """The plan as a person reads it: groups, hosts with port and addresses, then the notes."""
    lines = []
    if plan.mode == "srv":
        head = f"{plan.owner} SRV ({plan.service})"
    elif plan.mode == "literal":
        head = "address literal"
    else:
        head = f"{plan.domain} MX" + (" (implicit: no MX, the domain's own addresses)" if plan.implicit else "")
    lines.append(f"{head}: {OUTCOME_TEXT.get(plan.outcome, plan.outcome)}")
    for step, group in enumerate(plan.groups, 1):
        label = "priority" if plan.mode == "srv" else "preference"
        order = ""
        if group.randomise:
            order = " (weighted random order, RFC 2782)" if group.weighted else " (random order, RFC 5321 5.1)"
        lines.append(f"  {label} {group.preference}:{order}")
        for t in group.targets:
            weight = f" weight {t.weight}" if t.weight is not None else ""
            addresses = ", ".join(t.addresses) or "-"
            status = "" if t.usable else f"  [{t.status}]"
            alias = f" (alias of {t.cname})" if t.cname is not None else ""
            lines.append(f"    {step}. {t.host}{alias} port {t.port}{weight}  {addresses}{status}")
    if plan.notes:
        lines.append("notes:")
        for note in plan.notes:
            lines.append(f"  - {note.code}: {note.message}")
    return "\n".join(lines)


def format_samples(report: SampleReport, seed: int) -> str:
    lines = [f"{report.samples} drawn plans (seed {seed}): how often each host came first"]
    width = max((len(h) for h in report.expected), default=4)
    lines.append(f"  {'host':<{width}}  {'first':>7}  {'observed':>8}  {'promised':>8}")
    for host, share in report.expected.items():
        count = report.first.get(host, 0)
        observed = count / report.samples if report.samples else 0.0
        lines.append(f"  {host:<{width}}  {count:>7}  {observed:>8.1%}  {share:>8.1%}")
    stat, df = report.chi_square()
    if df:
        lines.append(f"  chi-square {stat:.2f} with {df} degree(s) of freedom")
    return "\n".join(lines)
