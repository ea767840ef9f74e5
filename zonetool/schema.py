"""The YAML zone format as one table: the compiler's key checks and the JSON Schema come from it.

`BLOCKS` lists, for every mapping of the format, its keys with their kind and a short
description, and which keys are required. `zonetool.compile` checks unknown and missing
keys against this table, and `SCHEMA` (JSON Schema draft 2020-12) is derived from it, so
the two cannot drift apart. Value checks the schema cannot express (names, TTL units,
record data) stay in the compiler.
"""

from __future__ import annotations

import re
from typing import Any

from zonetool.faults import ACTIONS, EFFECTS
from zonetool.rrtypes import HINT_TYPES, REGISTRY, spec_named

MAX_TTL = 2**31 - 1  # RFC 2181 8
MAX_U16 = 2**16 - 1
MAX_U32 = 2**32 - 1

# Client services of RFC 6186 (submission, imap, pop3) and RFC 8314 (submissions, imaps, pop3s):
# block key -> (SRV service label, default port).
CLIENT_SERVICES: dict[str, tuple[str, int]] = {
    "submission": ("_submission", 587),
    "submissions": ("_submissions", 465),
    "imap": ("_imap", 143),
    "imaps": ("_imaps", 993),
    "pop3": ("_pop3", 110),
    "pop3s": ("_pop3s", 995),
}

# The record types a hint names (any registered type is accepted; others as TYPEnnn, RFC 3597 5).
RECORD_TYPES = HINT_TYPES
TYPE_KEY = re.compile(r"^(?:[A-Z][A-Z0-9]*|TYPE[0-9]+)$")


class Block:
    """One mapping of the format: its keys (kind, description) and the required ones."""

    __slots__ = ("description", "keys", "required")

    def __init__(self, description: str, keys: dict[str, tuple[str, str]], required: tuple[str, ...] = ()) -> None:
        self.description = description
        self.keys = keys
        self.required = required


_HOST = ("name", "host name, relative to the origin unless it ends in '.'")
def _item_block(spec: Any) -> Block:
    """A type's mapping form (its own fragment from zonetool.rrtypes) as a block of the format."""
    return Block(spec.mapping_doc or f"{spec.rtype} item.", {**spec.mapping_fields, "ttl": _TTL}, spec.mapping_required)


# the types with a mapping form, in the order the schema lists them (MX, SRV first, as always)
MAPPING_SPECS = sorted(
    (s for s in REGISTRY.values() if s.mapping_fields), key=lambda s: (s.rtype not in HINT_TYPES, s.code)
)
_ADDRS = ("addresses", "IPv4/IPv6 addresses of an in-zone host: creates its A/AAAA records")
_TTL = ("ttl", "TTL: seconds or units (30s, 5m, 1h, 2d, 1w, combinable: 1h30m)")

BLOCKS: dict[str, Block] = {
    "zone": Block(
        "One DNS zone.",
        {
            "origin": ("name", "the zone's apex, absolute (a trailing dot is optional)"),
            "ttl": ("ttl", "default TTL of every record (default 1h)"),
            "soa": ("soa", "SOA timers and names; every key has a default"),
            "nameservers": ("names", "apex NS records"),
            "mail": ("mail", "MX records (and _smtp._tcp / client SRV records) from one definition"),
            "services": ("services", "other SRV record sets"),
            "records": ("records", "every other record, by owner name"),
            "silence": ("silence", "finding code -> the reason it is accepted; shown in the output"),
            "faults": ("faults", "sender-harness faults, passed through as data"),
            "dnssec": ("dnssec", "sign the zone (DNSKEY, RRSIG, NSEC/NSEC3): true, or a mapping of settings"),
        },
        ("origin",),
    ),
    "dnssec": Block(
        "DNSSEC signing (RFC 4033-4035): what `export` writes and `serve` answers with.",
        {
            "algorithm": ("dnssec-algorithm", "ECDSAP256SHA256 (13, default), ED25519 (15) or RSASHA256 (8)"),
            "denial": ("dnssec-denial", "nsec (default) or nsec3 (RFC 9276: no extra iterations, no salt)"),
            "validity": ("duration", "how long each signature is valid (default 14d)"),
            "refresh": ("duration", "how often signatures are renewed; below validity (default 7d)"),
            "keys": ("string", "folder of the K<zone>+<alg>+<tag> key files, relative to the zone file (default keys)"),
            "ttl": ("ttl", "TTL of the DNSKEY records (default: the zone ttl)"),
        },
    ),
    "soa": Block(
        "SOA record (RFC 1035 3.3.13).",
        {
            "primary": ("name", "MNAME (default: the first nameserver)"),
            "contact": ("email", "RNAME as an e-mail address (default hostmaster@<origin>)"),
            "serial": ("serial", "'auto' (date-based YYYYMMDDnn) or 0..4294967295 (default auto)"),
            "refresh": ("duration", "REFRESH (default 1h)"),
            "retry": ("duration", "RETRY (default 15m)"),
            "expire": ("duration", "EXPIRE (default 1w)"),
            "negative": ("duration", "MINIMUM: negative-caching TTL, RFC 2308 (default 5m)"),
            "ttl": ("ttl", "TTL of the SOA record itself (default: the zone ttl)"),
        },
    ),
    "mail": Block(
        "Mail: MX records, and optionally SRV records, from one list of exchangers.",
        {
            "ttl": ("ttl", "TTL for every record this block makes"),
            "exchangers": ("exchangers", "MX hosts"),
            "srv": ("bool", "also publish _smtp._tcp SRV records (priority, weight, port, host)"),
            "null": ("bool", "send-only domain: RFC 7505 null MX '0 .' (no exchangers)"),
            "spf": ("spf", "the apex SPF record (RFC 7208), built from mechanisms"),
            "dmarc": ("dmarc", "the _dmarc record (RFC 7489)"),
            "tls_rpt": ("tls-rpt", "the _smtp._tls TLS reporting record (RFC 8460)"),
            "mta_sts": ("mta-sts", "the MTA-STS policy (RFC 8461): _mta-sts TXT, policy host, export --mta-sts"),
            "dkim": ("dkim", "DKIM selectors and their public keys: <selector>._domainkey TXT (RFC 6376 3.6.1)"),
            **{
                key: ("client", f"{label}._tcp SRV records (default port {port}); false = not offered")
                for key, (label, port) in CLIENT_SERVICES.items()
            },
        },
    ),
    "spf": Block(
        "The apex SPF record: v=spf1 [mx] [a] MECHANISMS... ALL, split into 255-octet strings.",
        {
            "mx": ("bool", "the exchangers may send for the domain (default true)"),
            "a": ("bool", "the apex address may send (default false)"),
            "mechanisms": ("strings", "further mechanisms, e.g. ip4:198.51.100.0/24, include:_spf.example.net"),
            "all": ("spf-all", "everyone else: fail (-all, default), softfail (~all) or neutral (?all)"),
        },
    ),
    "dmarc": Block(
        "The _dmarc record: v=DMARC1; p=... (RFC 7489 6.3).",
        {
            "policy": ("dmarc-policy", "p: none (default), quarantine or reject"),
            "subdomain_policy": ("dmarc-policy", "sp: the policy for subdomains"),
            "np": ("dmarc-policy", "np (DMARCbis): the policy for subdomains that do not exist"),
            "adkim": ("alignment", "DKIM alignment: relaxed or strict"),
            "aspf": ("alignment", "SPF alignment: relaxed or strict"),
            "fo": ("string", "failure reporting options: 0, 1, d, s joined by ':'"),
            "rua": ("strings", "aggregate report addresses (mailto: is added to a bare address)"),
            "ruf": ("strings", "failure report addresses"),
        },
    ),
    "tls-rpt": Block(
        "The _smtp._tls record: v=TLSRPTv1; rua=... (RFC 8460 3).",
        {"rua": ("strings", "report addresses (mail) or https: URLs")},
        ("rua",),
    ),
    "mta-sts": Block(
        "The MTA-STS policy (RFC 8461 3.2), its `_mta-sts` record (the id is a digest of the policy) and host.",
        {
            "mode": ("mta-sts-mode", "enforce, testing (default) or none"),
            "max_age": ("duration", "how long senders cache the policy: seconds or units, at most 1 year (default 1w)"),
            "mx": ("strings", "mx patterns (host names, or *.name), relative to the origin unless they end in '.' "
                   "(default: every exchanger)"),
            "addresses": ("addresses", "addresses of the policy host mta-sts.<domain> (its A/AAAA records)"),
            "cname": ("name", "or: the policy host mta-sts.<domain> is a CNAME to this web server"),
        },
    ),
    "dkim-key": Block(
        "One DKIM selector: its public key -> <selector>._domainkey TXT `v=DKIM1; k=...; p=...`.",
        {
            "selector": ("string", "the selector signers name in s= (letters, digits, hyphens; dots between labels)"),
            "key_file": ("string", "a PEM public key file, relative to the zone file's folder"),
            "key": ("string", "or: the public key as base64 (SubjectPublicKeyInfo, or 32 raw octets for ed25519)"),
            "type": ("dkim-type", "rsa or ed25519 (RFC 8463); default: the key's own"),
            "testing": ("bool", "t=y: the domain is testing DKIM (default false)"),
        },
        ("selector",),
    ),
    "dane": Block(
        "TLSA records for this exchanger at _25._tcp.<host> (RFC 7672): usage 3 1 1 (SHA-256 of the public key).",
        {
            "cert": ("string", "the exchanger's certificate file (PEM or DER), relative to the zone file's folder"),
            "hash": ("digests", "or: SHA-256 digests of its SubjectPublicKeyInfo (64 hex digits)"),
            "usage": ("dane-usage", "3 (DANE-EE, default: the server's own key) or 2 (DANE-TA: cert is the CA's)"),
            "next": ("dane-next", "the next key, published beside the current one for a rollover"),
        },
    ),
    "dane-next": Block(
        "The key of the next certificate (a second TLSA record, RFC 7671 8.1).",
        {
            "cert": ("string", "the next certificate file"),
            "hash": ("digests", "or: the SHA-256 digests of its SubjectPublicKeyInfo"),
        },
    ),
    "exchanger": Block(
        "One mail exchanger.",
        {
            "host": _HOST,
            "priority": ("u16", "MX preference and SRV priority (lower is tried first)"),
            "weight": ("u16", "SRV weight among equal priorities (default 0)"),
            "port": ("u16", "SRV port (default 25)"),
            "addresses": _ADDRS,
            "dane": ("dane", "TLSA records at _25._tcp.<host> from its certificate or key hashes (in-zone hosts)"),
        },
        ("host", "priority"),
    ),
    "client": Block(
        "A client mail service (RFC 6186, RFC 8314).",
        {
            "port": ("u16", "port (default: the service's standard port)"),
            "hosts": ("client-hosts", "servers offering the service"),
            "ttl": _TTL,
        },
        ("hosts",),
    ),
    "client-host": Block(
        "One server of a client mail service.",
        {
            "host": _HOST,
            "priority": ("u16", "SRV priority (default 0)"),
            "weight": ("u16", "SRV weight (default 0)"),
            "port": ("u16", "SRV port (default: the block's port)"),
            "addresses": _ADDRS,
        },
        ("host",),
    ),
    "service": Block(
        "One SRV record set (RFC 2782).",
        {
            "name": ("name", "owner, _service._proto[.name], relative to the origin"),
            "ttl": _TTL,
            "targets": ("targets", "the SRV targets"),
        },
        ("name", "targets"),
    ),
    "target": Block(
        "One SRV target.",
        {
            "host": _HOST,
            "port": ("u16", "port ('.' with port 0 means: not offered)"),
            "priority": ("u16", "SRV priority (default 0)"),
            "weight": ("u16", "SRV weight (default 0)"),
            "addresses": _ADDRS,
        },
        ("host", "port"),
    ),
    "fault": Block(
        "One sender-harness fault (zonetool.faults): which questions are answered badly, and how.",
        {
            "name": ("fault-names", "name it fires for, relative to the origin; '*.x' = every name below x"),
            "names": ("fault-names", "several names (instead of name)"),
            "type": ("fault-types", "record type asked (mnemonic or number; default: every type)"),
            "types": ("fault-types", "several types (instead of type)"),
            "action": ("fault-action", "what the answer becomes: " + ", ".join(ACTIONS)),
            "delay": ("delay", "how late the reply comes: milliseconds, 1500ms or a duration like 2s"),
        },
        ("action",),
    ),
    "values": Block(
        "Several items of one type with a shared TTL.",
        {"values": ("items", "the items"), "ttl": _TTL},
        ("values",),
    ),
    # mapping forms of one record item: each type's own fragment (zonetool.rrtypes), then "value"
    **{spec.rtype: _item_block(spec) for spec in MAPPING_SPECS},
    "value": Block("One item in mapping form.", {"value": ("item", "the item's data"), "ttl": _TTL}, ("value",)),
}


def block(name: str) -> Block:
    return BLOCKS[name]


def item_block(rtype: str) -> Block:
    """The mapping form of one item of `rtype` (its type's fragment, looked up when asked: types may be added)."""
    block = _ITEM_BLOCKS.get(rtype)
    if block is None:
        spec = spec_named(rtype) if TYPE_KEY.match(rtype) else None
        block = _item_block(spec) if spec is not None and spec.mapping_fields else BLOCKS["value"]
        _ITEM_BLOCKS[rtype] = block
    return block


_ITEM_BLOCKS: dict[str, Block] = {}


# ---------------------------------------------------------------------------
# JSON Schema (draft 2020-12), derived from BLOCKS
# ---------------------------------------------------------------------------
_NAME = {"type": "string", "minLength": 1}
_INT = {"type": "integer"}
_TTL_SCHEMA: dict[str, Any] = {
    "description": "seconds (0..2147483647, RFC 2181 8) or units: 30s, 5m, 1h, 2d, 1w, 1h30m",
    "oneOf": [
        {"type": "integer", "minimum": 0, "maximum": MAX_TTL},
        {"type": "string", "pattern": r"^\s*(?:[0-9]+|(?:[0-9]+[smhdwSMHDW])+)\s*$"},
    ],
}
_DURATION: dict[str, Any] = {
    "description": "seconds (0..4294967295) or units: 30s, 5m, 1h, 2d, 1w, 1h30m",
    "oneOf": [
        {"type": "integer", "minimum": 0, "maximum": MAX_U32},
        {"type": "string", "pattern": r"^\s*(?:[0-9]+|(?:[0-9]+[smhdwSMHDW])+)\s*$"},
    ],
}
_SCALAR = {"type": ["string", "integer"]}


def _any_case(*words: str) -> str:
    """A pattern for any of `words` in any letter case (faults take SERVFAIL as servfail)."""
    def one(word: str) -> str:
        return "".join(f"[{ch.lower()}{ch.upper()}]" if ch.isalpha() else ch if ch == "-" else re.escape(ch)
                       for ch in word)

    return "^(?:" + "|".join(one(w) for w in words) + ")$"


def _one_or_many(item: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [item, {"type": "array", "items": item}]}


_KINDS: dict[str, dict[str, Any]] = {
    "name": _NAME,
    "names": _one_or_many(_NAME),
    "email": _NAME,
    "string": {"type": "string"},
    "bool": {"type": "boolean"},
    "ttl": _TTL_SCHEMA,
    "duration": _DURATION,
    "serial": {"oneOf": [{"const": "auto"}, {"type": "integer", "minimum": 0, "maximum": MAX_U32}]},
    "u16": {"type": "integer", "minimum": 0, "maximum": MAX_U16},
    "u8": {"type": "integer", "minimum": 0, "maximum": 255},
    "addresses": _one_or_many({"type": "string"}),
    "soa": {"$ref": "#/$defs/soa"},
    "mail": {"$ref": "#/$defs/mail"},
    "exchangers": {"type": "array", "items": {"$ref": "#/$defs/exchanger"}},
    "strings": _one_or_many({"type": "string", "minLength": 1}),
    "spf": {"$ref": "#/$defs/spf"},
    "spf-all": {"enum": ["fail", "softfail", "neutral"]},
    "dmarc": {"$ref": "#/$defs/dmarc"},
    "dmarc-policy": {"enum": ["none", "quarantine", "reject"]},
    "alignment": {"enum": ["relaxed", "strict"]},
    "tls-rpt": {"$ref": "#/$defs/tls-rpt"},
    "mta-sts": {"$ref": "#/$defs/mta-sts"},
    "mta-sts-mode": {"enum": ["enforce", "testing", "none"]},
    "dkim": {"type": "array", "items": {"$ref": "#/$defs/dkim-key"}},
    "dkim-type": {"enum": ["rsa", "ed25519"]},
    "dane": {"$ref": "#/$defs/dane"},
    "dane-next": {"$ref": "#/$defs/dane-next"},
    "dane-usage": {"enum": [2, 3]},
    "digests": _one_or_many({"type": "string", "pattern": "^[0-9A-Fa-f]{64}$"}),
    "client": {"oneOf": [{"const": False}, {"$ref": "#/$defs/client"}]},
    "client-hosts": _one_or_many({"oneOf": [_NAME, {"$ref": "#/$defs/client-host"}]}),
    "services": {"type": "array", "items": {"$ref": "#/$defs/service"}},
    "targets": {"type": "array", "items": {"$ref": "#/$defs/target"}},
    "records": {"type": "object", "additionalProperties": {"$ref": "#/$defs/owner"}},
    "silence": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}},
    "faults": {"type": "array", "items": {"$ref": "#/$defs/fault"}},
    "dnssec": {"oneOf": [{"type": "boolean"}, {"$ref": "#/$defs/dnssec"}]},
    "dnssec-algorithm": {"enum": ["ECDSAP256SHA256", "ED25519", "RSASHA256", 13, 15, 8]},
    "dnssec-denial": {"enum": ["nsec", "nsec3"]},
    "fault-names": _one_or_many(_NAME),
    "fault-types": _one_or_many({"type": ["string", "integer"]}),
    "fault-action": {"anyOf": [{"enum": list(ACTIONS)}, {"type": "string", "pattern": _any_case(*ACTIONS)}]},
    "delay": {
        "oneOf": [
            {"type": "integer", "minimum": 0},
            {"type": "string", "pattern": r"^\s*(?:[0-9]+\s*[mM][sS]|[0-9]+|(?:[0-9]+[smhdwSMHDW])+)\s*$"},
        ],
    },
    # a TXT item may also be a list of strings (one record of several character-strings)
    "item": {"oneOf": [_SCALAR, {"type": "array", "items": {"type": "string"}}]},
    # anyOf: a list of strings is both one TXT item and a list of items, and both are right
    "items": {"anyOf": [{"$ref": "#/$defs/item"}, {"type": "array", "items": {"$ref": "#/$defs/item"}}]},
}


def _object(b: Block) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "object",
        "description": b.description,
        "properties": {k: {**_KINDS[kind], "description": text} for k, (kind, text) in b.keys.items()},
        "additionalProperties": False,
    }
    if b.required:
        out["required"] = list(b.required)
    return out


def _build_schema() -> dict[str, Any]:
    defs: dict[str, Any] = {name: _object(b) for name, b in BLOCKS.items() if name != "zone"}
    item_forms = [*({"$ref": f"#/$defs/{spec.rtype}"} for spec in MAPPING_SPECS), {"$ref": "#/$defs/value"}]
    defs["item"] = {"anyOf": [_KINDS["item"], *item_forms]}
    defs["rtype"] = {
        "description": "one item, a list of items, or {values: [...], ttl: ...}",
        "anyOf": [{"$ref": "#/$defs/item"}, {"type": "array", "items": {"$ref": "#/$defs/item"}},
                  {"$ref": "#/$defs/values"}],
    }
    defs["owner"] = {
        "type": "object",
        "description": "records of one owner: type -> items; `ttl` is the owner's default TTL",
        "properties": {"ttl": _TTL_SCHEMA, "SOA": {"not": {}, "description": "use the soa: block"}},
        "patternProperties": {TYPE_KEY.pattern: {"$ref": "#/$defs/rtype"}},
        "additionalProperties": False,
    }
    late = [a for a, e in EFFECTS.items() if e.needs_delay]
    defs["fault"]["allOf"] = [
        {"anyOf": [{"required": ["name"]}, {"required": ["names"]}]},  # a fault needs a name
        {"not": {"required": ["name", "names"]}},
        {"not": {"required": ["type", "types"]}},
        {"if": {"properties": {"action": {"pattern": _any_case(*late)}}, "required": ["action"]},
         "then": {"required": ["delay"]}},
    ]
    defs["mta-sts"]["not"] = {"required": ["addresses", "cname"]}  # the policy host has one or the other
    one_key = [{"required": ["key"]}, {"required": ["key_file"]}]
    defs["dkim-key"]["oneOf"] = one_key  # exactly one of key, key_file
    for name in ("dane", "dane-next"):
        defs[name]["oneOf"] = [{"required": ["cert"]}, {"required": ["hash"]}]
    defs["mail"]["properties"]["null"] = {**_KINDS["bool"], "description": BLOCKS["mail"].keys["null"][1]}
    top = _object(BLOCKS["zone"])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://zonetool.invalid/zone.schema.json",
        "title": "zonetool YAML zone",
        **top,
        "$defs": defs,
    }


SCHEMA: dict[str, Any] = _build_schema()
