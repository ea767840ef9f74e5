"""DKIM keys (RFC 6376 3.6.1, RFC 8301, RFC 8463) at `<selector>._domainkey`: tags, key type, the key itself."""

from __future__ import annotations

from collections.abc import Iterator

from zonetool.findings import Severity
from zonetool.mailpolicy import dkim
from zonetool.rules.base import Context, Hit, hit, rule, text_of
from zonetool.rules.mailtext import at, txt_records
from zonetool.zone import Record

ERROR, WARNING = Severity.ERROR, Severity.WARNING


def _keys(ctx: Context) -> list[tuple[Record, dkim.Dkim, dkim.Key | None]]:
    """Every TXT at a name below a selector label of `_domainkey`, parsed, with its decoded key."""

    def build(ctx: Context) -> list[tuple[Record, dkim.Dkim, dkim.Key | None]]:
        out = []
        for r, text in txt_records(ctx):
            if b"_domainkey" not in r.owner.key[1:] or not r.owner.is_subdomain_of(ctx.origin):
                continue
            record = dkim.parse(text)
            p = record.tag("p")
            key = dkim.decode_key(record.key_type, p.value) if p and record.key_type in dkim.KEY_TYPES else None
            out.append((r, record, key))
        return out

    return ctx.memo("dkim", build)


# RFC 6376 3.6.1: tag=value pairs, v=DKIM1 first if present, p= required.
@rule("dkim-syntax", ERROR, "a DKIM key record is tag=value pairs with `p=`, `v=DKIM1` first if present",
      "RFC 6376 3.6.1")
def dkim_syntax(ctx: Context) -> Iterator[Hit]:
    for r, record, _key in _keys(ctx):
        where = text_of(r.owner, ctx.origin)
        for offset, why in record.tags.errors:
            yield hit(r, f"DKIM key {where} {at(offset)}: {why}", hint="write v=DKIM1; k=rsa; p=BASE64")
        why = dkim.version_problem(record)
        if why:
            yield hit(r, f"DKIM key {where}: {why}", hint="write v=DKIM1 first, or leave v= out")
        if record.tag("p") is None:
            yield hit(r, f"DKIM key {where} has no p= tag, so no signature verifies",
                      hint="publish the public key as p=BASE64 (an empty p= revokes the key)")


# RFC 6376 3.6.1 / RFC 8463 3: the key types are rsa and ed25519.
@rule("dkim-key-type", ERROR, "DKIM `k=` is rsa or ed25519", "RFC 8463 3")
def dkim_key_type(ctx: Context) -> Iterator[Hit]:
    for r, record, _key in _keys(ctx):
        k = record.tag("k")
        if k is not None and record.key_type not in dkim.KEY_TYPES:
            yield hit(r, f"DKIM key {text_of(r.owner, ctx.origin)} {at(k.start)}: k={k.value} is no key type "
                      "verifiers know", hint="write k=rsa or k=ed25519")


# RFC 6376 3.6.1: p= is base64 of the public key; one that does not load fails every signature.
@rule("dkim-key", ERROR, "DKIM `p=` is base64 of a public key that loads", "RFC 6376 3.6.1")
def dkim_key(ctx: Context) -> Iterator[Hit]:
    for r, record, key in _keys(ctx):
        if key is not None and key.problem is not None:
            p = record.tag("p")
            yield hit(r, f"DKIM key {text_of(r.owner, ctx.origin)} {at(p.start if p else 0)}: {key.problem}",
                      hint="paste the base64 body of the public key (SubjectPublicKeyInfo), without PEM lines")


# RFC 8301 3.2: verifiers MUST NOT accept RSA keys under 1024 bits.
@rule("dkim-rsa-too-short", ERROR, "a DKIM RSA key has at least 1024 bits", "RFC 8301 3.2")
def dkim_rsa_too_short(ctx: Context) -> Iterator[Hit]:
    for r, _record, key in _keys(ctx):
        if key is not None and key.problem is None and key.kind == "rsa" and key.bits < 1024:
            yield hit(r, f"DKIM key {text_of(r.owner, ctx.origin)} is RSA {key.bits} bits; verifiers refuse keys "
                      "under 1024 bits", hint="make a 2048-bit key (openssl genpkey -algorithm RSA -pkeyopt "
                      "rsa_keygen_bits:2048)")


# RFC 8301 3.2: signers SHOULD use RSA keys of at least 2048 bits.
@rule("dkim-rsa-weak", WARNING, "a DKIM RSA key has at least 2048 bits", "RFC 8301 3.2")
def dkim_rsa_weak(ctx: Context) -> Iterator[Hit]:
    for r, _record, key in _keys(ctx):
        if key is not None and key.problem is None and key.kind == "rsa" and 1024 <= key.bits < 2048:
            yield hit(r, f"DKIM key {text_of(r.owner, ctx.origin)} is RSA {key.bits} bits; RFC 8301 asks for 2048",
                      hint="rotate to a 2048-bit key under a new selector")


# RFC 6376 3.6.1: t=y says the domain is testing DKIM; verifiers may treat failures as unsigned.
@rule("dkim-testing", WARNING, "a DKIM key is not left in testing mode (`t=y`)", "RFC 6376 3.6.1")
def dkim_testing(ctx: Context) -> Iterator[Hit]:
    for r, record, _key in _keys(ctx):
        if record.testing:
            t = record.tag("t")
            yield hit(r, f"DKIM key {text_of(r.owner, ctx.origin)} {at(t.start if t else 0)}: t=y (testing): "
                      "verifiers may ignore failed signatures", hint="drop t=y once signing works")
