"""SMTP TLS reporting (RFC 8460 3): the `_smtp._tls` TXT record."""

from __future__ import annotations

from collections.abc import Iterator

from zonetool.findings import Severity
from zonetool.mailpolicy import tlsrpt
from zonetool.rules.base import Context, Hit, hit, rule, text_of
from zonetool.rules.mailtext import at, txt_records

ERROR = Severity.ERROR


# RFC 8460 3: v=TLSRPTv1 first, rua= with mailto: or https: URIs, one record per name.
@rule("tls-rpt-record", ERROR, "`_smtp._tls` holds one `v=TLSRPTv1; rua=` record with mailto:/https: URIs",
      "RFC 8460 3")
def tls_rpt_record(ctx: Context) -> Iterator[Hit]:
    seen: dict[object, int] = {}
    for r, text in txt_records(ctx, b"_smtp"):
        if len(r.owner.key) < 2 or r.owner.key[1] != b"_tls":
            continue
        if tlsrpt.is_tlsrpt(text):
            seen[r.owner] = seen.get(r.owner, 0) + 1
            if seen[r.owner] == 2:
                yield hit(r, f"{text_of(r.owner, ctx.origin)} has more than one v=TLSRPTv1 record: senders then "
                          "report nowhere", hint="merge them: rua= takes a comma-separated list")
        elif "tlsrpt" not in text.lower():
            continue
        for offset, why in tlsrpt.problems(tlsrpt.parse(text)):
            yield hit(r, f"TLS-RPT record {at(offset)}: {why}",
                      hint='write "v=TLSRPTv1; rua=mailto:tls-reports@example.com"')
