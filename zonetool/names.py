"""Domain names as label tuples: the one place that knows escapes, case and order.

Names are kept as raw octets (RFC 1035 3.1) so that any legal name survives,
including labels holding dots or non-UTF-8 bytes that text-based libraries mangle.
Comparison is ASCII case-insensitive (RFC 4343); the spelling is kept for output.
"""

from __future__ import annotations

import ipaddress
import re
from functools import total_ordering

MAX_LABEL = 63  # RFC 1035 2.3.4
MAX_NAME = 255  # RFC 1035 2.3.4, octets on the wire including length octets

_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
# Characters that must be escaped in presentation format (RFC 1035 5.1).
_SPECIAL = frozenset(b'.\\"();@$ ')
_LDH = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


class NameError_(ValueError):
    """A name that cannot exist: a reason a person can act on."""


@total_ordering
class Name:
    """An absolute domain name; `labels` excludes the empty root label."""

    __slots__ = ("_hash", "key", "labels")

    def __init__(self, labels: tuple[bytes, ...]) -> None:
        self.labels = labels
        key = tuple(label.translate(_LOWER) for label in labels)
        # Why: most names are lower case already; sharing the tuple drops a copy of every label
        # (about a fifth of a big zone's memory, measured at 180k records).
        self.key = labels if key == labels else key
        self._hash = hash(self.key)

    # -- construction -----------------------------------------------------
    @classmethod
    def from_text(cls, text: str, origin: Name | None = None) -> Name:
        """Parse presentation text; relative names (no trailing dot) hang off `origin`."""
        if text == "@":
            if origin is None:
                raise NameError_("'@' needs an origin")
            return origin
        if text == ".":
            return ROOT
        if not text:
            raise NameError_("empty name")
        labels, absolute = _split(text)
        if not absolute:
            if origin is None:
                raise NameError_(f"relative name {text!r} needs an origin")
            labels = [*labels, *origin.labels]
        name = cls(tuple(labels))
        name.check()
        return name

    def check(self) -> None:
        """Raise NameError_ if a label or the whole name is too long."""
        for label in self.labels:
            if not label:
                raise NameError_("empty label (two dots in a row)")
            if len(label) > MAX_LABEL:
                raise NameError_(
                    f"label {label[:20].decode('ascii', 'replace')}... is {len(label)} octets, at most {MAX_LABEL}"
                )
        if self.wire_length() > MAX_NAME:
            raise NameError_(f"name is {self.wire_length()} octets long, at most {MAX_NAME}")

    # -- properties ---------------------------------------------------------
    def wire_length(self) -> int:
        return sum(len(label) + 1 for label in self.labels) + 1

    def is_root(self) -> bool:
        return not self.labels

    def is_wildcard(self) -> bool:
        return bool(self.labels) and self.labels[0] == b"*"

    def parent(self) -> Name:
        if not self.labels:
            raise NameError_("the root has no parent")
        return Name(self.labels[1:])

    def child(self, label: bytes) -> Name:
        return Name((label, *self.labels))

    def is_subdomain_of(self, other: Name) -> bool:
        """True if self is `other` or below it."""
        n = len(other.key)
        return n <= len(self.key) and (n == 0 or self.key[-n:] == other.key)

    def relativize(self, origin: Name) -> str:
        """Text relative to `origin` ('@' for the origin itself), absolute if outside.

        Only a suffix spelled exactly like the origin is dropped, so the text reads back
        with the same letter case (RFC 4343 keeps spellings; named prints them).
        """
        n = len(origin.labels)
        if self.labels == origin.labels:
            return "@"
        if n and len(self.labels) > n and self.labels[-n:] == origin.labels:
            return _join(self.labels[:-n])
        return self.to_text()

    def to_text(self) -> str:
        return _join(self.labels) + "." if self.labels else "."

    def canonical_key(self) -> tuple[bytes, ...]:
        """Sort key for RFC 4034 6.1 canonical order."""
        return self.key[::-1]

    def is_hostname(self) -> bool:
        """RFC 1123 2.1 / RFC 952 host name: LDH labels, no leading or trailing hyphen."""
        for label in self.labels:
            if not label or not set(label) <= _LDH or label[0] == 45 or label[-1] == 45:
                return False
        return True

    # -- dunder -----------------------------------------------------------------
    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[Name], tuple[tuple[bytes, ...]]]:
        # Why: `_hash` is hash() of bytes, which differs from process to process (PYTHONHASHSEED); a
        # pickled Name (serve --cache) must hash as the reading process's own Names do.
        return Name, (self.labels,)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Name) and self.key == other.key

    def __lt__(self, other: Name) -> bool:
        return self.key[::-1] < other.key[::-1]

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return f"Name({self.to_text()!r})"

    def __str__(self) -> str:
        return self.to_text()


ROOT = Name(())


_PLAIN_LABEL = re.compile(b"[" + re.escape(bytes(c for c in range(0x21, 0x7F) if c not in _SPECIAL)) + b"]*\\Z")


def escape_label(label: bytes) -> str:
    if _PLAIN_LABEL.match(label):  # the common case, without a loop over every octet
        return label.decode("ascii")
    out = []
    for c in label:
        if c in _SPECIAL:
            out.append("\\" + chr(c))
        elif 0x21 <= c <= 0x7E:
            out.append(chr(c))
        else:
            out.append(f"\\{c:03d}")
    return "".join(out)


_PLAIN_NAME = re.compile(
    b"[" + re.escape(bytes(c for c in range(0x21, 0x7F) if c not in _SPECIAL or c == 0x2E)) + b"]*\\Z"
)


def _join(labels: tuple[bytes, ...]) -> str:
    # Why: to_text runs for every name of a 100k-record export/import (~1M labels); one match over
    # the joined octets replaces a call per label. A dot inside a label would be ambiguous, so the
    # dot count must equal the separators; anything else takes the escaping path (same output).
    raw = b".".join(labels)
    if _PLAIN_NAME.match(raw) and raw.count(b".") == len(labels) - 1:
        return raw.decode("ascii")
    return ".".join(escape_label(label) for label in labels)


def _split(text: str) -> tuple[list[bytes], bool]:
    """Split presentation text into raw labels, honouring \\X and \\DDD (RFC 1035 5.1)."""
    labels: list[bytes] = []
    current = bytearray()
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            if i + 4 <= n and text[i + 1 : i + 4].isdigit():
                value = int(text[i + 1 : i + 4])
                if value > 255:
                    raise NameError_(f"escape \\{text[i + 1 : i + 4]} is above 255")
                current.append(value)
                i += 4
                continue
            if i + 1 >= n:
                raise NameError_("name ends in a lone backslash")
            current.extend(text[i + 1].encode("utf-8"))
            i += 2
            continue
        if ch == ".":
            if not current:
                raise NameError_(f"empty label in {text!r}")
            labels.append(bytes(current))
            current = bytearray()
            i += 1
            continue
        current.extend(ch.encode("utf-8"))
        i += 1
    if current:
        labels.append(bytes(current))
        return labels, False
    return labels, True


def to_ascii(text: str) -> str:
    """Convert an internationalised name to its xn-- form (IDNA 2003 via the stdlib codec)."""
    if text.isascii():
        return text
    trailing = text.endswith(".")
    parts = text.rstrip(".").split(".")
    try:
        converted = [p if p.isascii() else p.encode("idna").decode("ascii") for p in parts]
    except UnicodeError as exc:
        raise NameError_(f"cannot convert internationalised name {text!r} to xn-- form: {exc}") from None
    return ".".join(converted) + ("." if trailing else "")


def repeats_origin(name: Name, origin: Name) -> bool:
    """True for mx2.example.com.example.com. in example.com.: an absolute name written without its dot.

    RFC 1035 5.1: a name without a trailing dot is relative, so the origin is appended once more.
    """
    n, k = len(name.key), len(origin.key)
    return k > 0 and n >= 2 * k and name.key[n - 2 * k :] == origin.key + origin.key


# ---------------------------------------------------------------------------
# name checks: what a name (or the text of one) was probably meant to be
# ---------------------------------------------------------------------------
_DIGITS = frozenset(b"0123456789")
_MAYBE_IP = re.compile(r"[0-9.]+\.?\Z|.*:")


def _is_octet(label: bytes) -> bool:
    return 0 < len(label) <= 3 and set(label) <= _DIGITS and int(label) <= 255


def looks_like_address(name: Name, origin: Name) -> str | None:
    """The address a name was meant to be, if it reads as one.

    `192.0.2.1` written without a trailing dot becomes 192.0.2.1.example.com.: a leading
    run of four octet labels is caught, as is any all-numeric name and an IPv6 literal.
    """
    labels = name.labels
    if len(labels) >= 4 and all(_is_octet(label) for label in labels[:4]):
        return ".".join(label.decode() for label in labels[:4])
    relative = labels[: len(labels) - len(origin.labels)] if name.is_subdomain_of(origin) else labels
    if relative and all(set(label) <= _DIGITS for label in relative):
        return ".".join(label.decode() for label in relative)
    if labels and b":" in labels[0]:
        try:
            return str(ipaddress.IPv6Address(labels[0].decode("ascii")))
        except (ValueError, UnicodeDecodeError):
            return None
    return None


def is_address_text(text: str) -> bool:
    """An IPv4/IPv6 literal (a trailing dot tolerated) where a host name belongs.

    A cheap pre-check keeps big zones fast: most host names never reach `ipaddress`.
    """
    if not _MAYBE_IP.match(text):
        return False
    try:
        ipaddress.ip_address(text.rstrip("."))
    except ValueError:
        return False
    return True
