"""MTA-STS (RFC 8461): the `_mta-sts` TXT record and the policy host senders fetch the policy from."""

from __future__ import annotations

from collections.abc import Iterator

from zonetool.findings import Severity, Where
from zonetool.mailpolicy import mtasts
from zonetool.rrtypes import MX
from zonetool.rules.base import MX_CODE, Context, Hit, field_where, hit, rule, text_of
from zonetool.rules.mailtext import ADDRESS, at, resolves, txt_records

ERROR = Severity.ERROR


# RFC 8461 3.1: v=STSv1 first, an id of 1-32 letters and digits, one such record per name.
@rule("mta-sts-record", ERROR, "`_mta-sts` holds one `v=STSv1; id=...` record (id: 1-32 letters, digits)",
      "RFC 8461 3.1")
def mta_sts_record(ctx: Context) -> Iterator[Hit]:
    seen: dict[object, int] = {}
    for r, text in txt_records(ctx, b"_mta-sts"):
        record = mtasts.parse(text)
        if mtasts.is_sts(text):
            seen[r.owner] = seen.get(r.owner, 0) + 1
            if seen[r.owner] == 2:
                yield hit(r, f"{text_of(r.owner, ctx.origin)} has more than one v=STSv1 record: senders then use "
                          "no policy", hint="keep one record")
        elif not mtasts.looks_like_sts(text):
            continue
        for offset, why in mtasts.problems(record):
            yield hit(r, f"MTA-STS record {at(offset)}: {why}", hint='write "v=STSv1; id=20260101T000000"; change '
                      "the id whenever the policy changes")


# RFC 8461 3.2: the policy is fetched from https://mta-sts.<domain>/.well-known/mta-sts.txt.
@rule("mta-sts-policy-host", ERROR, "with `_mta-sts` published, `mta-sts.<domain>` has an address", "RFC 8461 3.2",
      cross_zone=True)
def mta_sts_policy_host(ctx: Context) -> Iterator[Hit]:
    for r, text in txt_records(ctx, b"_mta-sts"):
        if not mtasts.is_sts(text):
            continue
        host = r.owner.parent().child(b"mta-sts")
        zone = ctx.zone_of(host)
        if zone is not None and not resolves(zone, host, ADDRESS):
            yield hit(r, f"MTA-STS is announced but the policy host {host.to_text()} has no A or AAAA record, so "
                      "senders cannot fetch the policy", hint=f"add an address for {host.to_text()} (the web server "
                      "that serves /.well-known/mta-sts.txt)")


# RFC 8461 4.1: a sender under an enforced policy refuses every MX that no policy mx pattern matches.
@rule("mta-sts-mx-coverage", ERROR, "the mail block's MTA-STS policy names every MX host", "RFC 8461 4.1")
def mta_sts_mx_coverage(ctx: Context) -> Iterator[Hit]:
    policy = getattr(ctx.zone, "mta_sts", None)
    if not isinstance(policy, mtasts.Policy) or policy.mode == "none" or not isinstance(policy.where, Where):
        return
    rrset = ctx.zone.rrset(ctx.origin, MX_CODE)
    for r in rrset.records if rrset is not None else []:
        rdata = r.rdata
        if not isinstance(rdata, MX) or rdata.is_null():
            continue
        host = rdata.exchange.to_text().rstrip(".")
        if not any(mtasts.matches(p, host) for p in policy.mx):
            yield Hit(field_where(policy.where, "mx"), f"the MTA-STS policy's mx patterns ({', '.join(policy.mx)}) "
                      f"do not match the MX host {host}: senders in {policy.mode} mode "
                      f"{'refuse' if policy.mode == 'enforce' else 'report'} delivery to it",
                      hint=f"add {host}. to mta_sts.mx (without mx: every exchanger of the mail block)")
