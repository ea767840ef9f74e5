"""The mail block's policy keys (issue 12 section 1): `spf:`, `dmarc:`, `tls_rpt:`, `mta_sts:`, `dkim:` and
an exchanger's `dane:` -> records.

Each key builds the record an operator would otherwise write by hand; the compiler checks only
shapes and fixed choices, and the same rules that judge hand-written records (zonetool.rules.spf,
dmarc, tlsrpt) judge these, pointing at the key that made them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from pathlib import Path as FilePath
from typing import Any

from zonetool.blocks.context import Compiler, Path
from zonetool.mailpolicy import dane as maildane
from zonetool.mailpolicy import dkim as mailkeys
from zonetool.mailpolicy import dmarc, mtasts
from zonetool.names import Name, NameError_
from zonetool.rrtypes import CNAME, TXT, RRType, parse_rdata
from zonetool.schema import MAX_U32
from zonetool.zone import Record, RRset, Zone

SPF_ALL = {"fail": "-all", "softfail": "~all", "neutral": "?all"}  # RFC 7208 4.6.2 qualifiers
POLICIES = ("none", "quarantine", "reject")  # RFC 7489 6.3
ALIGNMENT = {"relaxed": "r", "strict": "s"}
_TXT_CODE = int(RRType.TXT)
_HEX256 = re.compile(r"[0-9A-Fa-f]{64}\Z")  # a SHA-256 digest (RFC 6698 2.1.3)


def compile_policies(c: Compiler, spec: Mapping[str, Any], path: Path, ttl: int, exchangers: list[Name]) -> None:
    """The policy keys of one `mail:` mapping (called by blocks/mail.py with the exchangers it read)."""
    if "spf" in spec:
        _spf(c, spec["spf"], (*path, "spf"), ttl)
    if "dmarc" in spec:
        _dmarc(c, spec["dmarc"], (*path, "dmarc"), ttl)
    if "tls_rpt" in spec:
        _tls_rpt(c, spec["tls_rpt"], (*path, "tls_rpt"), ttl)
    if "mta_sts" in spec:
        _mta_sts(c, spec["mta_sts"], (*path, "mta_sts"), ttl, exchangers)
    if "dkim" in spec:
        _dkim(c, spec["dkim"], (*path, "dkim"), ttl)


def _owner(c: Compiler, *labels: bytes) -> Name:
    return Name((*labels, *c.origin.labels))


def _strings(c: Compiler, spec: Mapping[str, Any], key: str, path: Path, example: str) -> list[str] | None:
    value = spec.get(key, [])
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        c.wrong_type("a list of strings", value, (*path, key), hint=f"{key}: [{example}]")
        return None
    return [i.strip() for i in items]


def _choice(c: Compiler, spec: Mapping[str, Any], key: str, path: Path, choices: Any, default: str | None) -> Any:
    value = spec.get(key, default)
    if value is None or value in choices:
        return value
    c.error("bad-value", f"{key} must be one of {', '.join(choices)}, got {value!r}", (*path, key))
    return False


def _spf(c: Compiler, value: object, path: Path, ttl: int) -> None:
    """v=spf1 [mx] [a] MECHANISMS... ALL at the apex, split into 255-octet strings (RFC 7208 3.3)."""
    spec = c.mapping(value, "spf", path)
    if spec is None:
        return
    mechanisms = _strings(c, spec, "mechanisms", path, "ip4:198.51.100.0/24, include:_spf.example.net")
    ending = _choice(c, spec, "all", path, SPF_ALL, "fail")
    mx, a = spec.get("mx", True), spec.get("a", False)
    for key, flag in (("mx", mx), ("a", a)):
        if not isinstance(flag, bool):
            c.wrong_type("true or false", flag, (*path, key))
            return
    if mechanisms is None or ending is False:
        return
    terms = ["v=spf1", *(["mx"] if mx else []), *(["a"] if a else []), *mechanisms, SPF_ALL[ending]]
    c.add(c.origin, ttl, TXT.from_value(" ".join(terms)), path, "mail")


def _uri(address: str) -> str:
    """A report address as a URI: a bare mail address gets `mailto:` (RFC 7489 6.2)."""
    return address if ":" in address else f"mailto:{address}"


def _dmarc(c: Compiler, value: object, path: Path, ttl: int) -> None:
    """v=DMARC1; p=...; [sp=; np=; adkim=; aspf=; pct=; fo=; rua=; ruf=] at _dmarc (RFC 7489 6.3)."""
    spec = c.mapping(value, "dmarc", path)
    if spec is None:
        return
    policy = _choice(c, spec, "policy", path, POLICIES, "none")
    sub = _choice(c, spec, "subdomain_policy", path, POLICIES, None)
    np = _choice(c, spec, "np", path, POLICIES, None)
    adkim = _choice(c, spec, "adkim", path, ALIGNMENT, None)
    aspf = _choice(c, spec, "aspf", path, ALIGNMENT, None)
    rua = _strings(c, spec, "rua", path, "dmarc@example.com")
    ruf = _strings(c, spec, "ruf", path, "dmarc-forensic@example.com")
    if False in (policy, sub, np, adkim, aspf) or rua is None or ruf is None:
        return
    tags = [f"v=DMARC1; p={policy}"]
    tags += [f"{tag}={v}" for tag, v in (("sp", sub), ("np", np)) if v]
    tags += [f"{tag}={ALIGNMENT[v]}" for tag, v in (("adkim", adkim), ("aspf", aspf)) if v]
    if "fo" in spec:
        tags.append(f"fo={spec['fo']}")
    tags += [f"{tag}={','.join(_uri(a) for a in uris)}" for tag, uris in (("rua", rua), ("ruf", ruf)) if uris]
    c.add(_owner(c, b"_dmarc"), ttl, TXT.from_value("; ".join(tags)), path, "mail")


def _tls_rpt(c: Compiler, value: object, path: Path, ttl: int) -> None:
    """v=TLSRPTv1; rua=... at _smtp._tls (RFC 8460 3): mail addresses get mailto:, https: stays."""
    spec = c.mapping(value, "tls-rpt", path)
    if spec is None:
        return
    rua = _strings(c, spec, "rua", path, "tls-reports@example.com")
    if not rua:
        if rua == []:
            c.error("missing-key", "tls_rpt needs `rua`: where reports go", path, hint="rua: [tls-reports@example.com]")
        return
    text = "v=TLSRPTv1; rua=" + ",".join(_uri(a) for a in rua)
    c.add(_owner(c, b"_smtp", b"_tls"), ttl, TXT.from_value(text), path, "mail")


def _pattern(c: Compiler, value: str, path: Path) -> str | None:
    """One policy mx pattern as an absolute name without the dot; relative to the origin like every host."""
    wild = value.startswith("*.")
    name = c.name(value[2:] if wild else value, path, "mx pattern")
    if name is None:
        return None
    text = ("*." if wild else "") + name.to_text().rstrip(".").lower()
    problem = mtasts.pattern_problem(text)
    if problem:
        c.error("bad-value", f"mta_sts mx {problem}", path, hint="mx: [mx1, '*.mail.example.net.']")
        return None
    return text


def _mta_sts(c: Compiler, value: object, path: Path, ttl: int, exchangers: list[Name]) -> None:
    """The policy (kept on the Zone for `export --mta-sts` and the rules), its `_mta-sts` TXT and host.

    RFC 8461 3.1: the id changes whenever the policy does, so it is a digest of the policy text.
    """
    spec = c.mapping(value, "mta-sts", path)
    if spec is None:
        return
    mode = _choice(c, spec, "mode", path, mtasts.MODES, "testing")
    max_age = c.seconds(spec.get("max_age", mtasts.DEFAULT_MAX_AGE), (*path, "max_age"), MAX_U32, "max_age")
    if max_age is not None and max_age > mtasts.MAX_AGE_LIMIT:
        c.error("bad-duration", f"max_age {max_age} is over one year ({mtasts.MAX_AGE_LIMIT} s, RFC 8461 3.2)",
                (*path, "max_age"), hint="max_age: 1w (senders refetch weekly); 52w at most")
        max_age = None
    if "mx" in spec:
        given = _strings(c, spec, "mx", path, "mx1, '*.mail.example.net.'")
        if given is None:
            return
        each = [_pattern(c, p, (*path, "mx", i) if isinstance(spec["mx"], list) else (*path, "mx"))
                for i, p in enumerate(given)]
        if None in each:
            return
        patterns = [p for p in each if p is not None]
    else:
        patterns = [host.to_text().rstrip(".").lower() for host in exchangers]  # RFC 8461 3.2: every MX
    if not patterns and mode not in ("none", False):
        c.error("missing-key", "mta_sts needs mx patterns: the mail block lists no exchangers", path,
                hint="list the exchangers under mail.exchangers, or give mx: [...]")
        return
    if mode is False or max_age is None:
        return
    host = _owner(c, b"mta-sts")
    if "addresses" in spec and "cname" in spec:
        c.error("bad-value", "give the policy host addresses or a cname, not both (RFC 1034 3.6.2)",
                (*path, "cname"))
        return
    if "addresses" in spec and not c.addresses(host, spec["addresses"], ttl, (*path, "addresses"), "mail"):
        return
    if "cname" in spec:
        target = c.host(spec["cname"], (*path, "cname"), "policy host cname")
        if target is None:
            return
        c.add(host, ttl, CNAME(target), (*path, "cname"), "mail")
    policy = mtasts.Policy(c.origin.to_text().rstrip(".").lower(), mode, max_age, tuple(dict.fromkeys(patterns)),
                           c.where(path))
    c.mta_sts = policy
    c.add(_owner(c, b"_mta-sts"), ttl, TXT.from_value(f"v=STSv1; id={policy.id}"), path, "mail")


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_SELECTOR = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\Z")  # RFC 6376 3.1: sub-domain *("." sub-domain)


def _read(c: Compiler, value: object, path: Path, what: str) -> bytes | None:
    """A file the zone names (relative to the zone file's folder), or a finding saying why not."""
    if not isinstance(value, str) or not value.strip():
        c.wrong_type(f"the path of a {what} file", value, path)
        return None
    file = FilePath(value.strip())
    if not file.is_absolute() and c.file:
        file = FilePath(c.file).parent / file
    try:
        return file.read_bytes()
    except OSError as exc:
        c.error("bad-key-file", f"cannot read the {what} file {file}: {exc.strerror or exc}", path,
                hint="the path is relative to the zone file's folder")
        return None


def _dkim(c: Compiler, value: object, path: Path, ttl: int) -> None:
    """Each selector's key record at `<selector>._domainkey` (RFC 6376 3.6.1, 3.6.2.1)."""
    if not isinstance(value, list):
        c.wrong_type("a list of selectors", value, path, hint="dkim: [{selector: s2026, key_file: dkim.pem}]")
        return
    for i, item in enumerate(value):
        ipath = (*path, i)
        spec = c.mapping(item, "dkim-key", ipath)
        if spec is None:
            continue
        selector = spec.get("selector")
        if not isinstance(selector, str) or not _SELECTOR.match(selector):
            c.error("bad-value", f"DKIM selector {selector!r} is not letters, digits and hyphens in dot-separated "
                    "labels (RFC 6376 3.1)", (*ipath, "selector"), hint="selector: s2026")
            continue
        kind = _choice(c, spec, "type", ipath, mailkeys.KEY_TYPES, None)
        testing = spec.get("testing", False)
        if not isinstance(testing, bool):
            c.wrong_type("true or false", testing, (*ipath, "testing"))
            continue
        if ("key" in spec) == ("key_file" in spec):
            c.error("missing-key" if "key" not in spec else "bad-value",
                    "a DKIM selector needs its public key: `key` (base64) or `key_file` (a PEM file), one of them",
                    ipath, hint="key_file: dkim/s2026.pub.pem")
            continue
        if kind is False:
            continue
        if "key_file" in spec:
            kpath: Path = (*ipath, "key_file")
            data = _read(c, spec["key_file"], kpath, "DKIM key")
            source = f"the key file {spec['key_file']}"
        else:
            kpath = (*ipath, "key")
            data = spec["key"].encode("ascii", "replace") if isinstance(spec["key"], str) else None
            source = "the key"
            if data is None:
                c.wrong_type("base64 text", spec["key"], kpath)
        if data is None:
            continue
        try:
            k, p = mailkeys.public_key_tags(data, kind)
        except ValueError as exc:
            c.error("bad-key", f"DKIM selector {selector}: {source} {exc}", kpath,
                    hint="a PEM public key (-----BEGIN PUBLIC KEY-----), or its base64 body")
            continue
        text = f"v=DKIM1; k={k}; {'t=y; ' if testing else ''}p={p}"  # RFC 6376 3.6.1: t=y = testing
        owner = _owner(c, *selector.encode("ascii").split(b"."), b"_domainkey")
        c.add(owner, ttl, TXT.from_value(text), kpath, "mail")


def compile_dane(c: Compiler, value: object, path: Path, host: Name, ttl: int) -> None:
    """`dane:` of one exchanger -> TLSA at `_25._tcp.<host>` (RFC 7672 2.2.1): now and, for a rollover, next."""
    spec = c.mapping(value, "dane", path)
    if spec is None:
        return
    if not host.is_subdomain_of(c.origin):
        c.error("tlsa-not-in-zone", f"{host.to_text()} is outside {c.origin.to_text()}: its TLSA record belongs "
                "in the zone that holds the host", path, hint="give dane: where that zone lists the host")
        return
    usage = spec.get("usage", 3)
    if usage not in (2, 3):  # RFC 7672 3.1.3: 0 and 1 SHOULD NOT be used for SMTP
        c.error("bad-value", f"dane usage must be 3 (DANE-EE: the server's key) or 2 (DANE-TA: the issuing CA's), "
                f"got {usage!r} (RFC 7672 3.1)", (*path, "usage"))
        return
    digests = _digests(c, spec, path, "dane")
    if "next" in spec:
        nspec = c.mapping(spec["next"], "dane-next", (*path, "next"))
        more = _digests(c, nspec, (*path, "next"), "dane.next") if nspec is not None else None
        digests = None if more is None or digests is None else digests + more
    if not digests:
        return
    owner = Name((b"_25", b"_tcp", *host.labels))
    for digest, dpath in digests:  # RFC 6698 2.1: selector 1 = SubjectPublicKeyInfo, matching type 1 = SHA-256
        c.add(owner, ttl, parse_rdata("TLSA", f"{usage} 1 1 {digest}", c.origin), dpath, "mail")


def _digests(c: Compiler, spec: Mapping[str, Any], path: Path, what: str) -> list[tuple[str, Path]] | None:
    """The SHA-256 digests of `cert:` (a certificate file) and `hash:` (hex), each with its path."""
    if ("cert" in spec) == ("hash" in spec):
        c.error("missing-key" if "cert" not in spec else "bad-value",
                f"{what} needs `cert` (the certificate file) or `hash` (the SHA-256 of its public key), one of them",
                path, hint="cert: certs/mx1.pem")
        return None
    if "cert" in spec:
        data = _read(c, spec["cert"], (*path, "cert"), "certificate")
        if data is None:
            return None
        try:
            return [(maildane.tlsa_311(data).hex(), (*path, "cert"))]
        except ValueError:
            why = ("holds no certificate (expected -----BEGIN CERTIFICATE-----)"
                   if b"-----BEGIN" in data and b"BEGIN CERTIFICATE" not in data else "is no X.509 certificate")
            c.error("bad-certificate", f"the certificate file {spec['cert']} {why}", (*path, "cert"),
                    hint="a PEM certificate (-----BEGIN CERTIFICATE-----) of the exchanger, or of its CA for usage 2")
            return None
    hashes = _strings(c, spec, "hash", path, "<64 hex digits>")
    if hashes is None:
        return None
    out = []
    for i, h in enumerate(hashes):
        hpath = (*path, "hash", i) if isinstance(spec["hash"], list) else (*path, "hash")
        if not _HEX256.match(h):
            c.error("bad-value", f"{what} hash must be a SHA-256 digest: 64 hex digits, got {len(h)} characters "
                    "(RFC 6698 2.1.3)", hpath, hint="openssl x509 -in CERT -pubkey -noout | openssl pkey -pubin "
                    "-outform DER | sha256sum")
            return None
        out.append((h.lower(), hpath))
    return out


Ask = tuple[Name, Name, Record]  # the report domain, the consent name it must hold, the record to make there


class Consents:
    """What authorize_reports keeps from one load to the next (a server's reloads, issue 11): each
    zone's asks, computed once per zone object, and each copy made, given back while its zone and
    consents are the same (a new copy at each reload would count as a changed zone)."""

    def __init__(self) -> None:
        self.asks: dict[int, tuple[Zone, list[Ask]]] = {}
        self.copies: dict[int, tuple[Zone, frozenset[tuple[Name, int]], Zone]] = {}


def authorize_reports(zones: list[Zone], kept: Consents | None = None) -> list[Zone]:
    """`zones`, where a report domain among them gets the consent record the `dmarc:` key's rua/ruf need.

    RFC 7489 7.1: reports go to a domain outside the sender's only if `<domain>._report._dmarc.<report
    domain>` holds a `v=DMARC1` TXT. When zonetool builds both zones (validated, compiled or served
    together), it writes that record into the report domain's zone; a zone gaining one is a copy
    (the caller's zones may be cached and served). Hand-written DMARC records get no consent made
    for them: the dmarc-external-report rule says what is missing.
    """
    memo = kept if kept is not None else Consents()
    if len(zones) < 2:
        memo.asks.clear()
        memo.copies.clear()
        return zones
    known = memo.asks
    if len(known) > 2 * len(zones):  # zones replaced many times over: drop what is no longer loaded
        ids = {id(z) for z in zones}
        for key in [key for key in known if key not in ids]:
            del known[key]
    asking: list[tuple[Zone, list[Ask]]] = []
    for zone in zones:
        entry = known.get(id(zone))
        if entry is None or entry[0] is not zone:
            entry = known[id(zone)] = (zone, _asks(zone))
        if entry[1]:
            asking.append(entry)
    made: dict[Name, dict[Name, Record]] = {}  # report zone origin -> consent name -> record
    if asking:
        by_origin = {z.origin: z for z in zones}
        for zone, asks in asking:
            for target, consent, record in asks:
                other = _holder(by_origin, target)
                if other is None or other is zone:
                    continue
                if consent.is_subdomain_of(other.origin) and not _consents(other, consent):
                    made.setdefault(other.origin, {})[consent] = record
    copies: dict[int, tuple[Zone, frozenset[tuple[Name, int]], Zone]] = {}
    out = [_copy(z, made[z.origin], memo, copies) if z.origin in made else z for z in zones] if made else zones
    memo.copies = copies  # only this load's: a replaced zone's copy is not held on to
    return out


def _asks(zone: Zone) -> list[Ask]:
    """The consents the `dmarc:` key of this zone needs from other organisations' domains."""
    out: list[Ask] = []
    rrset = zone.rrset(Name((b"_dmarc", *zone.origin.labels)), _TXT_CODE)
    for r in rrset.records if rrset is not None else []:
        if r.origin != "mail" or not isinstance(r.rdata, TXT):
            continue
        record = dmarc.parse(r.rdata.joined().decode("utf-8", "replace"))
        for key in ("rua", "ruf"):
            tag = record.tag(key)
            for uri in dmarc.report_uris(tag) if tag else []:
                host = uri.mailbox_domain if uri.problem is None else None
                target = _domain(host) if host else None
                if target is None or target.is_subdomain_of(zone.origin) or zone.origin.is_subdomain_of(target):
                    continue  # the same organization needs no consent (a stand-in for RFC 7489 3.2)
                consent = Name((*zone.origin.labels, b"_report", b"_dmarc", *target.labels))
                out.append((target, consent, Record(consent, r.ttl, TXT.from_value("v=DMARC1"), r.where, "mail")))
    return out


def _copy(zone: Zone, consents: dict[Name, Record], memo: Consents,
          copies: dict[int, tuple[Zone, frozenset[tuple[Name, int]], Zone]]) -> Zone:
    key = frozenset((name, r.ttl) for name, r in consents.items())
    hit = memo.copies.get(id(zone))
    made = hit[2] if hit is not None and hit[0] is zone and hit[1] == key else _with(zone, list(consents.values()))
    copies[id(zone)] = (zone, key, made)
    return made


def _domain(text: str) -> Name | None:
    try:
        return Name.from_text(text.rstrip(".") + ".")
    except NameError_:
        return None


def _holder(by_origin: dict[Name, Zone], name: Name) -> Zone | None:
    """The zone among them whose origin is the closest enclosing one of `name` (the deepest wins)."""
    labels = name.labels
    for i in range(len(labels) + 1):
        zone = by_origin.get(Name(labels[i:]))
        if zone is not None:
            return zone
    return None


def _consents(zone: Zone, name: Name) -> bool:
    rrset = zone.rrset(name, _TXT_CODE)
    return rrset is not None and any(
        isinstance(r.rdata, TXT) and dmarc.is_dmarc(r.rdata.joined().decode("utf-8", "replace"))
        for r in rrset.records)


def _with(zone: Zone, records: list[Record]) -> Zone:
    """A copy of `zone` with `records` added; the original (perhaps cached, perhaps served) is untouched."""
    new = copy.copy(zone)
    new.nodes = dict(zone.nodes)
    for record in records:
        node = new.nodes[record.owner] = dict(new.nodes.get(record.owner, {}))
        old = node.get(_TXT_CODE)
        node[_TXT_CODE] = RRset(record.owner, _TXT_CODE, [*(old.records if old else []), record])
    new.duplicates = list(zone.duplicates)
    new._ents = new._cuts = None
    return new
