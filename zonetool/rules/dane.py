"""DANE for SMTP (RFC 7672, RFC 6698): TLSA at `_25._tcp.<exchanger>`, fields that fit, a signed zone."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from zonetool.findings import Severity
from zonetool.names import Name
from zonetool.rrtypes import MX
from zonetool.rules.base import MX_CODE, Context, Hit, hit, rule, text_of
from zonetool.rules.mailtext import DNSKEY_CODE, TLSA_CODE, tlsa
from zonetool.zone import Record, Zone

ERROR, WARNING = Severity.ERROR, Severity.WARNING
DIGEST_LENGTHS = {1: 32, 2: 64}  # RFC 6698 2.1.3: SHA-256, SHA-512


def _smtp_tlsa(ctx: Context) -> list[tuple[Record, Name, tuple[int, int, int, bytes]]]:
    """(record, exchanger host, fields) of every TLSA at `_25._tcp.<host>`."""
    out = []
    for r in ctx.records(TLSA_CODE):
        fields = tlsa(r)
        if fields is not None and r.owner.key[:2] == (b"_25", b"_tcp"):
            out.append((r, Name(r.owner.labels[2:]), fields))
    return out


def _exchangers(zones: Iterable[Zone]) -> set[Name]:
    """Every host an MX record of `zones` names (built once per run over all zones, see Context.across)."""
    return {
        r.rdata.exchange
        for zone in zones
        for node in zone.nodes.values()
        if (rrset := node.get(MX_CODE)) is not None
        for r in rrset.records
        if isinstance(r.rdata, MX) and not r.rdata.is_null()
    }


# RFC 7672 2.2.1 / 3: SMTP clients look for TLSA only at an MX host's _25._tcp name.
@rule("tlsa-not-exchanger", WARNING, "`_25._tcp.<host>` TLSA is for a host some MX names", "RFC 7672 2.2.1",
      cross_zone=True)
def tlsa_not_exchanger(ctx: Context) -> Iterator[Hit]:
    found = _smtp_tlsa(ctx)
    if not found:
        return
    exchangers = ctx.across("mx-exchangers", _exchangers)
    reported: set[Name] = set()
    for r, host, _fields in found:
        if host not in exchangers and host not in reported:
            reported.add(host)
            yield hit(r, f"TLSA at {text_of(r.owner, ctx.origin)}: no MX record in the zones validated here names "
                      f"{host.to_text()}, so no sender looks for it", hint="put the TLSA under the exchanger's own "
                      "name (_25._tcp.<MX host>), or add the MX")


# RFC 7672 3.1.3: usages 0 (PKIX-TA) and 1 (PKIX-EE) SHOULD NOT be used for SMTP.
@rule("tlsa-smtp-usage", WARNING, "SMTP TLSA uses usage 2 (DANE-TA) or 3 (DANE-EE)", "RFC 7672 3.1.3")
def tlsa_smtp_usage(ctx: Context) -> Iterator[Hit]:
    for r, _host, (usage, _selector, _mtype, _data) in _smtp_tlsa(ctx):
        if usage in (0, 1):
            kind = "PKIX-TA" if usage == 0 else "PKIX-EE"
            yield hit(r, f"TLSA at {text_of(r.owner, ctx.origin)} has usage {usage} ({kind}); "
                      "SMTP senders treat it as unusable", hint="publish 3 1 1 (the server key's SHA-256) or 2 1 1")


# RFC 6698 2.1: usage 0..3, selector 0..1, matching type 0..2; other values match nothing.
@rule("tlsa-fields", ERROR, "TLSA usage, selector and matching type are defined values", "RFC 6698 2.1")
def tlsa_fields(ctx: Context) -> Iterator[Hit]:
    for r in ctx.records(TLSA_CODE):
        fields = tlsa(r)
        if fields is None:
            yield hit(r, f"TLSA at {text_of(r.owner, ctx.origin)} is shorter than its 3 fields",
                      hint="write usage selector matching-type data, e.g. 3 1 1 <sha256 hex>")
            continue
        usage, selector, mtype, _data = fields
        bad = [f"{what} {value}" for what, value, top in
               (("usage", usage, 3), ("selector", selector, 1), ("matching type", mtype, 2)) if value > top]
        if bad:
            yield hit(r, f"TLSA at {text_of(r.owner, ctx.origin)}: {', '.join(bad)} is not defined, so the record "
                      "matches no certificate", hint="usage 0-3, selector 0-1, matching type 0-2 (3 1 1 for SMTP)")


# RFC 6698 2.1.3: matching type 1 is a SHA-256 digest (32 octets), 2 a SHA-512 digest (64 octets).
@rule("tlsa-length", ERROR, "TLSA data has the length its matching type says (32 or 64 octets)", "RFC 6698 2.1.3")
def tlsa_length(ctx: Context) -> Iterator[Hit]:
    for r in ctx.records(TLSA_CODE):
        fields = tlsa(r)
        if fields is None:
            continue
        _usage, _selector, mtype, data = fields
        want = DIGEST_LENGTHS.get(mtype)
        if want is not None and len(data) != want:
            yield hit(r, f"TLSA at {text_of(r.owner, ctx.origin)}: matching type {mtype} is "
                      f"{'SHA-256' if mtype == 1 else 'SHA-512'}, {want} octets ({want * 2} hex digits), but the data "
                      f"is {len(data)} octets", hint="paste the whole digest (openssl x509 -pubkey | openssl pkey "
                      "-pubin -outform DER | sha256sum)")
        elif mtype == 0 and not data:
            yield hit(r, f"TLSA at {text_of(r.owner, ctx.origin)}: matching type 0 needs the full certificate or key",
                      hint="use matching type 1 with the SHA-256 digest instead")


# RFC 7672 2.2: DANE records count only when the zone is signed (DNSSEC); otherwise senders ignore them.
@rule("dane-unsigned", WARNING, "a zone with SMTP TLSA records is signed (has a DNSKEY)", "RFC 7672 2.2")
def dane_unsigned(ctx: Context) -> Iterator[Hit]:
    found = _smtp_tlsa(ctx)
    # a zone with `dnssec:` gets its DNSKEY when export or serve signs it
    if found and ctx.zone.rrset(ctx.origin, DNSKEY_CODE) is None and ctx.zone.dnssec is None:
        yield hit(found[0][0], f"{ctx.origin.to_text()} publishes TLSA for SMTP but is not signed (no DNSKEY at the "
                  "apex): senders use DANE only from validated answers", hint="sign the zone (DNSSEC) where it is "
                  "published, or silence this code if the signer adds the DNSKEY")
