"""SPF records (RFC 7208) as terms with their offsets; the grammar of 4.6 and 5-6 checked per term."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

MECHANISMS = frozenset(("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"))
LOOKUP_TERMS = frozenset(("include", "a", "mx", "ptr", "exists", "redirect"))  # RFC 7208 4.6.4
QUALIFIERS = "+-~?"
_VERSION = re.compile(r"v=spf1(?=\s|\Z)", re.I)  # RFC 7208 4.5
_MODIFIER = re.compile(r"([A-Za-z][A-Za-z0-9_.-]*)=(.*)\Z", re.S)  # RFC 7208 6 / 12: name "=" macro-string
_MECH = re.compile(r"([+\-~?]?)([A-Za-z][A-Za-z0-9_.-]*)(.*)\Z", re.S)
# domain-spec: macro-string, ending in a toplabel or a macro (RFC 7208 7.1); checked loosely
_MACRO = re.compile(r"%\{[slodiphcrtv][0-9]*r?[.\-+,/_=]*\}|%%|%_|%-", re.I)
_DOMAIN_CHARS = re.compile(r"[\x21-\x7e]+\Z")
_CIDR = re.compile(r"(?:/([0-9]+))?(?://([0-9]+))?\Z")

# why a term is wrong, by kind: the rules report each kind under its own code
SYNTAX, UNKNOWN, IP = "syntax", "unknown", "ip"


@dataclass(frozen=True, slots=True)
class Term:
    """One space-separated term after `v=spf1`; `start` is its offset in the record text."""

    text: str
    start: int
    qualifier: str  # "", "+", "-", "~", "?" (mechanisms only)
    name: str  # lower case: a mechanism or modifier name
    value: str  # what follows ':' / '=' (and any /cidr), "" if none
    modifier: bool
    problem: tuple[str, str] | None = None  # (kind, why) when the term is not valid SPF

    @property
    def target(self) -> str | None:
        """The domain this term looks up (include:, a:, mx:, exists:, redirect=), cidr removed."""
        if self.name not in LOOKUP_TERMS or not self.value:
            return None
        return self.value.split("/", 1)[0] or None

    @property
    def lookup(self) -> bool:
        return self.name in LOOKUP_TERMS


@dataclass(frozen=True, slots=True)
class Spf:
    text: str
    terms: tuple[Term, ...]

    @property
    def mechanisms(self) -> list[Term]:
        return [t for t in self.terms if not t.modifier]

    def modifier(self, name: str) -> Term | None:
        return next((t for t in self.terms if t.modifier and t.name == name), None)

    @property
    def lookups(self) -> list[Term]:
        """Terms that cost a DNS query (RFC 7208 4.6.4); redirect only counts when it is used."""
        return [t for t in self.terms if t.lookup and t.problem is None]


def is_spf(text: str) -> bool:
    """RFC 7208 4.5: a record is SPF when it starts with exactly `v=spf1` then a space or its end."""
    return _VERSION.match(text) is not None


def looks_like_spf(text: str) -> bool:
    """Meant as SPF but not recognised by receivers: `spf1` early, yet not `v=spf1 ...` at the start."""
    head = text.lstrip()[:12].lower()
    return not is_spf(text) and ("spf1" in head or head.startswith(("v=spf", "v = spf", "spf")))


def parse(text: str) -> Spf | None:
    """The terms of an SPF record, or None when `text` is no SPF record (is_spf)."""
    if not is_spf(text):
        return None
    terms: list[Term] = []
    for m in re.finditer(r"\S+", text[6:]):
        terms.append(_term(m.group(), m.start() + 6))
    return Spf(text, tuple(terms))


def _term(text: str, start: int) -> Term:
    mod = _MODIFIER.match(text)
    if mod and ":" not in mod.group(1):
        name, value = mod.group(1).lower(), mod.group(2)
        problem = None
        if name in ("redirect", "exp"):
            problem = _domain_problem(value, f"{name}=")
        return Term(text, start, "", name, value, True, problem)
    mech = _MECH.match(text)
    if mech is None:
        why = f"`{text}` is neither a mechanism nor a modifier"
        return Term(text, start, "", text.lower(), "", False, (SYNTAX, why))
    qualifier, name, rest = mech.group(1), mech.group(2).lower(), mech.group(3)
    if name not in MECHANISMS:
        return Term(text, start, qualifier, name, rest, False, (UNKNOWN, f"`{name}` is not an SPF mechanism"))
    value = rest[1:] if rest.startswith(":") else rest
    return Term(text, start, qualifier, name, value, False, _mechanism_problem(name, rest))


def _mechanism_problem(name: str, rest: str) -> tuple[str, str] | None:
    if name == "all":
        return None if rest == "" else (SYNTAX, "`all` takes no argument")
    if name in ("include", "exists"):
        if not rest.startswith(":") or len(rest) == 1:
            return (SYNTAX, f"`{name}` needs a domain: {name}:example.com")
        return _domain_problem(rest[1:], f"{name}:")
    if name in ("ip4", "ip6"):
        if not rest.startswith(":") or len(rest) == 1:
            return (SYNTAX, f"`{name}` needs an address: {name}:{'192.0.2.0/24' if name == 'ip4' else '2001:db8::/32'}")
        return _ip_problem(name, rest[1:])
    # a, mx, ptr: [":" domain-spec] [dual-cidr-length] (ptr takes no cidr)
    domain, cidr = rest, ""
    if rest.startswith(":"):
        domain, _, tail = rest[1:].partition("/")
        cidr = "/" + tail if tail or rest[1:].endswith("/") else ""
        problem = _domain_problem(domain, f"{name}:")
        if problem:
            return problem
    elif rest and not rest.startswith("/"):
        return (SYNTAX, f"`{name}{rest}`: write {name}:DOMAIN")
    else:
        cidr = rest
    if cidr:
        if name == "ptr":
            return (SYNTAX, "`ptr` takes no prefix length")
        m = _CIDR.match(cidr)
        if m is None or not (m.group(1) or m.group(2)):
            return (IP, f"`{cidr}` is not a prefix length (/N for IPv4, //N for IPv6)")
        if m.group(1) is not None and not 0 <= int(m.group(1)) <= 32:
            return (IP, f"IPv4 prefix length /{m.group(1)} is over 32")
        if m.group(2) is not None and not 0 <= int(m.group(2)) <= 128:
            return (IP, f"IPv6 prefix length //{m.group(2)} is over 128")
    return None


def _ip_problem(name: str, value: str) -> tuple[str, str] | None:
    address, slash, prefix = value.partition("/")
    cls = ipaddress.IPv4Address if name == "ip4" else ipaddress.IPv6Address
    limit = 32 if name == "ip4" else 128
    try:
        cls(address)
    except ValueError:
        return (IP, f"`{address}` is not an IPv{4 if name == 'ip4' else 6} address")
    if slash and (not prefix.isdigit() or not 0 <= int(prefix) <= limit):
        return (IP, f"prefix length /{prefix} is not 0..{limit}")
    return None


def _domain_problem(domain: str, what: str) -> tuple[str, str] | None:
    if not domain:
        return (SYNTAX, f"`{what}` needs a domain")
    if not _DOMAIN_CHARS.match(domain):
        return (SYNTAX, f"`{what}{domain}` is not a domain")
    plain = _MACRO.sub("", domain)
    if "%" in plain:
        return (SYNTAX, f"`{domain}` has a malformed macro (RFC 7208 7.1)")
    if plain == domain:  # no macro: a real name, which ends in a toplabel (RFC 7208 7.1)
        labels = domain.rstrip(".").split(".")
        if len(labels) < 2 or not labels[-1] or labels[-1].isdigit() or any(not label for label in labels):
            return (SYNTAX, f"`{domain}` is not a fully qualified domain")
        if any(len(label) > 63 for label in labels):
            return (SYNTAX, f"`{domain}` has a label over 63 octets")
    return None
