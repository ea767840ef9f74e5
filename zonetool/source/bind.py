"""BIND master files (RFC 1035 5) in and out: the edge that speaks named's text.

The reader is one pass over the lines: common lines are split with `str.split`,
only lines with quotes, parentheses, comments or escapes go through the lexer.
Each type's text is read and written by its module in `zonetool.rrtypes` (found in the
registry by type code); types kept as wire octets (`Generic`: TLSA, DNSKEY, ...) convert
from and to their native text there too, so they come back out exactly as they went in.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from zonetool.durations import MAX_TTL, parse_duration
from zonetool.findings import Finding, Where, not_utf8, warning
from zonetool.names import Name, NameError_
from zonetool.rrtypes import (
    SOA,
    Generic,
    Rdata,
    RdataError,
    RRType,
    check_length,
    rdata_text,
    rrset_order,
    spec_of,
    type_from_text,
    type_mnemonic,
)
from zonetool.rrtypes.base import NameOf
from zonetool.rrtypes.text import LEX, NEEDS_LEXER, TOKENS, unescape
from zonetool.zone import Record, Zone, common_ttl

__all__ = ["BindSyntaxError", "rdata_text", "read_zone", "read_zone_with_warnings", "type_mnemonic", "write_zone"]

DIGEST_PREFIX = "; zonetool content-digest: "
MAX_INCLUDE_DEPTH = 16


class BindSyntaxError(ValueError):
    """A master file that named would refuse: the message carries file:line:column."""

    def __init__(self, message: str, where: Where) -> None:
        super().__init__(f"{where}: {message}")
        self.message = message
        self.where = where


# ===========================================================================
# reader
# ===========================================================================
# One lexer for the lines that need it (RFC 1035 5.1): quoted strings, parentheses, comments, escapes;
# its token grammar is the one every rdata reader shares (zonetool.rrtypes.text).
_LEX = LEX
_NEEDS_LEXER = NEEDS_LEXER
_TOKENS = TOKENS
_CLASSES = frozenset({"IN", "CLASS1"})
_OTHER_CLASSES = frozenset({"CH", "CS", "HS", "NONE", "ANY"})


@dataclass(slots=True)
class _Entry:
    """One logical line: its tokens, where each token starts, and whether the owner was left blank."""

    tokens: list[str]
    lines: list[int] | None  # None for a single physical line (then `line` applies to all)
    columns: list[int] | None  # None when the fast path skipped them; recomputed on error
    line: int
    blank_owner: bool
    raw: str  # the first physical line, to recompute columns


def _lex_line(text: str, line_no: int, where_file: str | None, depth: int) -> tuple[list[tuple[str, int]], int]:
    """Tokens with 1-based columns of one physical line; returns the parenthesis depth after it."""
    out: list[tuple[str, int]] = []
    for m in _LEX.finditer(text):
        kind = m.lastgroup
        if kind == "ws" or kind == "comment":
            continue
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
            if depth < 0:
                raise BindSyntaxError("')' without '('", Where(where_file, line_no, m.start() + 1))
        elif kind == "bad":
            what = "unbalanced quote" if m.group() == '"' else f"stray {m.group()!r}"
            raise BindSyntaxError(what, Where(where_file, line_no, m.start() + 1))
        else:
            out.append((m.group(), m.start() + 1))
    return out, depth


def _entries(text: str, file: str | None) -> Iterator[_Entry]:
    """Logical lines of a master file: parentheses joined, comments dropped."""
    lines = text.split("\n")
    needs_lexer = _NEEDS_LEXER.search
    find_tokens = _TOKENS.findall
    i, count = 0, len(lines)
    while i < count:
        raw = lines[i]
        i += 1
        if not raw or raw.isspace():
            continue
        blank = raw[0] in " \t"
        if needs_lexer(raw) is None:
            tokens = raw.split()
            yield _Entry(tokens, None, None, i, blank, raw)
            continue
        if "(" not in raw and ")" not in raw:  # quotes, escapes or a comment on one line: C-speed findall
            tokens = find_tokens(raw)
            for k, token in enumerate(tokens):
                if token[0] == ";":
                    del tokens[k:]
                    break
            if not any(t == '"' or t == "\\" for t in tokens):
                if tokens:
                    yield _Entry(tokens, None, None, i, blank, raw)
                continue
        start = i
        pairs, depth = _lex_line(raw, i, file, 0)
        if depth == 0:
            if pairs:
                yield _Entry([t for t, _ in pairs], None, [c for _, c in pairs], i, blank, raw)
            continue
        tokens = [t for t, _ in pairs]
        columns = [c for _, c in pairs]
        line_of = [start] * len(pairs)
        while depth > 0:
            if i >= count:
                raise BindSyntaxError("'(' is never closed", Where(file, start, raw.find("(") + 1))
            more, depth = _lex_line(lines[i], i + 1, file, depth)
            i += 1
            for t, c in more:
                tokens.append(t)
                columns.append(c)
                line_of.append(i)
        if tokens:
            yield _Entry(tokens, line_of, columns, start, blank, raw)


def _token_where(entry: _Entry, index: int, file: str | None) -> Where:
    if not entry.tokens:
        return Where(file, entry.line, 1)
    index = max(0, min(index, len(entry.tokens) - 1))
    columns = entry.columns
    if columns is None:
        columns = [c for _, c in _lex_line(entry.raw, entry.line, file, 0)[0]]
    line = entry.lines[index] if entry.lines is not None else entry.line
    return Where(file, line, columns[index] if index < len(columns) else 1)


def _parse_ttl(token: str) -> int:
    """A TTL as BIND writes it: seconds or units (1h30m, 2W); the one duration grammar is durations.py's."""
    try:
        return parse_duration(token)
    except ValueError:
        raise RdataError(f"{token!r} is not a TTL (seconds, or units s m h d w such as 1h30m)") from None


class _Reader:
    """State of one master file being read; included files share it."""

    def __init__(self, origin: Name | None, base_dir: Path | None) -> None:
        self.first_origin = origin
        self.base_dir = base_dir
        self.records: list[Record] = []
        self.warnings: list[Finding] = []
        self.default_ttl: int | None = None  # $TTL (RFC 2308 4)
        self.last_ttl: int | None = None  # RFC 1035 5.1: the last stated TTL when no $TTL
        self._names: dict[tuple[str, Name | None], Name] = {}
        self._name_of: dict[Name | None, NameOf] = {}

    # -- names -------------------------------------------------------------
    def name(self, text: str, origin: Name | None) -> Name:
        key = (text, origin)
        name = self._names.get(key)
        if name is None:
            if "\\" not in text and text not in ("@", "."):
                absolute = text.endswith(".")
                parts = (text[:-1] if absolute else text).split(".")
                if not all(parts):
                    raise NameError_(f"empty label in {text!r}")
                labels = tuple(p.encode("utf-8") for p in parts)
                if not absolute:
                    if origin is None:
                        raise NameError_(f"relative name {text!r} needs an $ORIGIN")
                    labels += origin.labels
                name = Name(labels)
                # RFC 1035 2.3.4 limits; an ASCII text of at most 63 characters cannot break them alone
                wire = len(text) + 1 + (0 if absolute or origin is None else origin.wire_length())
                if len(text) > 63 or wire > 255 or not text.isascii():
                    name.check()
            else:
                name = Name.from_text(text, origin)
            if len(self._names) < 200_000:
                self._names[key] = name
        return name

    # -- reading ---------------------------------------------------------------
    def read(self, text: str, file: str | None, origin: Name | None, owner: Name | None, depth: int) -> None:
        for entry in _entries(text, file):
            tokens = entry.tokens
            first = tokens[0]
            if not entry.blank_owner and first[0] == "$":
                origin, owner = self.directive(entry, file, origin, owner, depth)
                continue
            try:
                owner = self.record(entry, file, origin, owner)
            except BindSyntaxError:
                raise
            except (ValueError, IndexError) as exc:  # a safety net: record() places its own errors
                raise BindSyntaxError(f"cannot read this record: {exc}", _token_where(entry, 0, file)) from None

    def directive(
        self, entry: _Entry, file: str | None, origin: Name | None, owner: Name | None, depth: int
    ) -> tuple[Name | None, Name | None]:
        tokens = entry.tokens
        word = tokens[0].upper()
        where = _token_where(entry, 0, file)
        if word == "$ORIGIN":
            if len(tokens) != 2:
                raise BindSyntaxError("$ORIGIN takes one domain name", where)
            try:
                new = self.name(tokens[1], origin)
            except NameError_ as exc:
                raise BindSyntaxError(f"$ORIGIN: {exc}", _token_where(entry, 1, file)) from None
            if self.first_origin is None:
                self.first_origin = new
            return new, owner
        if word == "$TTL":
            if len(tokens) != 2:
                raise BindSyntaxError("$TTL takes one TTL", where)
            try:
                self.default_ttl = self.limit_ttl(_parse_ttl(tokens[1]), _token_where(entry, 1, file))
            except RdataError as exc:
                raise BindSyntaxError(f"$TTL: {exc}", _token_where(entry, 1, file)) from None
            self.last_ttl = self.default_ttl
            return origin, owner
        if word == "$INCLUDE":
            if len(tokens) not in (2, 3):
                raise BindSyntaxError("$INCLUDE takes a file name and an optional origin", where)
            self.include(entry, file, origin, owner, depth)
            return origin, owner  # RFC 1035 5.1: origin and owner revert after $INCLUDE
        if word == "$GENERATE":
            self.generate(entry, file, origin)
            return origin, owner
        raise BindSyntaxError(f"unknown directive {tokens[0]} (use $ORIGIN, $TTL, $INCLUDE or $GENERATE)", where)

    def include(self, entry: _Entry, file: str | None, origin: Name | None, owner: Name | None, depth: int) -> None:
        tokens = entry.tokens
        if depth >= MAX_INCLUDE_DEPTH:
            raise BindSyntaxError(
                f"$INCLUDE nested more than {MAX_INCLUDE_DEPTH} deep (a loop?)", _token_where(entry, 0, file)
            )
        target = unescape(tokens[1]).decode("utf-8", "replace")
        base = self.base_dir if self.base_dir is not None else (Path(file).parent if file else Path.cwd())
        path = Path(target) if Path(target).is_absolute() else base / target
        new_origin = origin
        if len(tokens) == 3:
            try:
                new_origin = self.name(tokens[2], origin)
            except NameError_ as exc:
                raise BindSyntaxError(f"$INCLUDE origin: {exc}", _token_where(entry, 2, file)) from None
        at = _token_where(entry, 1, file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            why = "symbolic link loop" if exc.errno == errno.ELOOP else exc.strerror
            raise BindSyntaxError(f"$INCLUDE cannot read {path}: {why}", at) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            found = not_utf8(data, exc, str(path))
            raise BindSyntaxError(f"{found.message} (in the file included at {at})", found.where) from None
        try:
            self.read(text, str(path), new_origin, new_origin if len(tokens) == 3 else owner, depth + 1)
        except BindSyntaxError as exc:  # name the zone file and line that included it, too
            raise BindSyntaxError(f"{exc.message} (in the file included at {at})", exc.where) from None

    def limit_ttl(self, ttl: int, where: Where) -> int:
        if ttl > MAX_TTL:  # RFC 2181 8: values with the top bit set are treated as zero
            self.warnings.append(
                warning("ttl-too-large", f"TTL {ttl} is above {MAX_TTL}; set to 0 (RFC 2181 8)", where)
            )
            return 0
        return ttl

    def record(self, entry: _Entry, file: str | None, origin: Name | None, owner: Name | None) -> Name:
        tokens = entry.tokens
        i = 0
        if entry.blank_owner:
            if owner is None:
                raise BindSyntaxError("no owner name yet (the line starts with blanks)", _token_where(entry, 0, file))
        else:
            try:
                owner = self.name(tokens[0], origin)
            except NameError_ as exc:
                raise BindSyntaxError(f"owner name: {exc}", _token_where(entry, 0, file)) from None
            i = 1
        ttl: int | None = None
        seen_class = False
        code: int | None = None
        while i < len(tokens):
            token = tokens[i]
            first = token[0]
            if first.isdigit() and ttl is None:
                try:
                    ttl = self.limit_ttl(_parse_ttl(token), _token_where(entry, i, file))
                except RdataError as exc:
                    raise BindSyntaxError(str(exc), _token_where(entry, i, file)) from None
                i += 1
                continue
            upper = token.upper()
            if not seen_class and (upper in _CLASSES or upper in _OTHER_CLASSES or upper.startswith("CLASS")):
                if upper not in _CLASSES:
                    raise BindSyntaxError(
                        f"class {token} does not match the zone's class IN", _token_where(entry, i, file)
                    )
                seen_class = True
                i += 1
                continue
            code = type_from_text(token)
            if code is None:
                raise BindSyntaxError(f"unknown record type {token!r}", _token_where(entry, i, file))
            i += 1
            break
        if code is None:
            raise BindSyntaxError("record has no type", _token_where(entry, len(tokens) - 1, file))
        type_index = i - 1
        rd_tokens = tokens[i:]
        try:
            rdata = self.rdata(code, rd_tokens, origin)
            check_length(rdata)
        except (RdataError, NameError_) as exc:
            mnemonic = type_mnemonic(code)
            raise BindSyntaxError(
                f"{mnemonic}: {exc}", _token_where(entry, i if rd_tokens else type_index, file)
            ) from None
        if ttl is None:
            if self.default_ttl is not None:
                ttl = self.default_ttl
            elif self.last_ttl is not None:
                ttl = self.last_ttl
            elif isinstance(rdata, SOA):  # BIND: with no $TTL the SOA MINIMUM stands in
                ttl = rdata.minimum
                self.default_ttl = ttl
                self.warnings.append(
                    warning(
                        "no-default-ttl", "no $TTL; using the SOA MINIMUM as the default", _token_where(entry, 0, file)
                    )
                )
            else:
                raise BindSyntaxError("no TTL: add a $TTL line or a TTL on this record", _token_where(entry, 0, file))
        self.last_ttl = ttl
        line = entry.line
        if not entry.blank_owner:
            column = 1
        elif entry.columns is not None:
            column = entry.columns[0]
        else:
            column = len(entry.raw) - len(entry.raw.lstrip()) + 1
        self.records.append(Record(owner, ttl, rdata, Where(file, line, column)))
        return owner

    def rdata(self, code: int, tokens: list[str], origin: Name | None) -> Rdata:
        spec = spec_of(code)
        if tokens and tokens[0] == "\\#":
            generic = Generic.from_generic(code, tokens)  # RFC 3597 5, also for known types
            if spec is None:
                return generic
            rdata = spec.from_wire(generic.data)
            if hasattr(spec, "text"):
                spec.text(generic.data, origin)  # refuse what BIND would refuse
            return rdata
        if spec is None:
            raise RdataError(f"type {type_mnemonic(code)} can only be read in RFC 3597 form (\\# LENGTH HEX)")
        name_of = self._name_of.get(origin)
        if name_of is None:  # one reader of names per origin, through the name cache
            name = self.name
            name_of = self._name_of[origin] = lambda token, field: name(token, origin)
        return spec.from_text(tokens, origin, name_of)

    # -- $GENERATE (a BIND extension) ---------------------------------------------
    def generate(self, entry: _Entry, file: str | None, origin: Name | None) -> None:
        tokens = entry.tokens
        if len(tokens) < 4:
            raise BindSyntaxError("$GENERATE takes: range lhs [ttl] [class] type rhs", _token_where(entry, 0, file))
        m = re.fullmatch(r"(\d+)-(\d+)(?:/(\d+))?", tokens[1])
        if not m:
            raise BindSyntaxError(
                f"$GENERATE range {tokens[1]!r} is not start-stop[/step]", _token_where(entry, 1, file)
            )
        start, stop, step = int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)
        if start > stop or step == 0 or stop - start > 1_000_000:
            raise BindSyntaxError(f"$GENERATE range {tokens[1]!r} is empty or too large", _token_where(entry, 1, file))
        lhs, rest = tokens[2], tokens[3:]
        for value in range(start, stop + 1, step):
            try:
                line_tokens = [_substitute(lhs, value), *(_substitute(t, value) for t in rest)]
            except ValueError as exc:
                raise BindSyntaxError(f"$GENERATE: {exc}", _token_where(entry, 2, file)) from None
            generated = _Entry(line_tokens, None, None, entry.line, False, entry.raw)
            try:
                self.record(generated, file, origin, None)
            except BindSyntaxError as exc:
                raise BindSyntaxError(f"$GENERATE ({value}): {exc.message}", _token_where(entry, 0, file)) from None


_GEN_MOD = re.compile(r"\$\{(-?\d+)(?:,(\d+)(?:,([doxXnN]))?)?\}|\$\$|\\\$|\$")


def _substitute(template: str, value: int) -> str:
    """BIND $GENERATE: `$`, `${offset,width,base}`, `\\$` a literal dollar."""

    def repl(m: re.Match[str]) -> str:
        text = m.group()
        if text == "\\$" or text == "$$":
            return "$"
        if text == "$":
            return str(value)
        offset, width, base = int(m.group(1)), int(m.group(2) or 0), m.group(3) or "d"
        v = value + offset
        if base in "nN":
            digits = f"{v:x}" if base == "n" else f"{v:X}"
            digits = digits.zfill(width)[::-1]
            return ".".join(digits)
        return format(v, f"0{width}{base}")

    return _GEN_MOD.sub(repl, template)


def read_zone_with_warnings(
    text: str, origin: Name | str | None, file: str | None = None, *, base_dir: Path | None = None
) -> tuple[Zone, list[Finding]]:
    """Read master text into a Zone plus what named would warn about (records it ignored)."""
    if isinstance(origin, str):
        try:
            origin = Name.from_text(origin if origin.endswith(".") else origin + ".")
        except NameError_ as exc:
            raise BindSyntaxError(f"origin {origin!r}: {exc}", Where(file)) from None
    reader = _Reader(origin, base_dir)
    reader.read(text, file, origin, None, 0)
    records = reader.records
    zone_origin = origin or reader.first_origin
    if zone_origin is None:
        soa = next((r for r in records if isinstance(r.rdata, SOA)), None)
        if soa is None:
            raise BindSyntaxError("no origin: pass one, or start the file with $ORIGIN or an SOA", Where(file, 1, 1))
        zone_origin = soa.owner
    zone = Zone(zone_origin, file)
    warnings = reader.warnings
    for record in records:
        if not record.owner.is_subdomain_of(zone_origin):  # named: "ignoring out-of-zone data"
            warnings.append(
                warning("out-of-zone", f"{record.owner} is outside {zone_origin}; ignored as named does", record.where)
            )
            continue
        if isinstance(record.rdata, SOA):
            if record.owner != zone_origin:
                raise BindSyntaxError(f"SOA at {record.owner} is not at the zone's origin {zone_origin}", record.where)
            if zone.soa is not None and zone.soa != record.rdata:
                raise BindSyntaxError("a zone has exactly one SOA record (RFC 1035 5.2)", record.where)
        zone.add(record)
    if zone.soa is None:
        warnings.append(warning("no-soa", f"no SOA record at {zone_origin}", Where(file, 1, 1)))
    return zone, warnings


def read_zone(text: str, origin: Name | str | None, file: str | None = None, *, base_dir: Path | None = None) -> Zone:
    """Read RFC 1035 master text; BindSyntaxError (file:line:column) on anything named would refuse."""
    return read_zone_with_warnings(text, origin, file, base_dir=base_dir)[0]


def origin_from_text(text: str) -> Name | None:
    """The first absolute $ORIGIN in a file (how `import` guesses the origin)."""
    for line in text.split("\n"):
        parts = line.split()
        if len(parts) >= 2 and parts[0].upper() == "$ORIGIN" and parts[1].endswith("."):
            try:
                return Name.from_text(parts[1])
            except NameError_:
                return None
    return None


# ===========================================================================
# writer
# ===========================================================================
_OWNER_WIDTH_CAP = 32
_TYPE_WIDTH_CAP = 10


def write_zone(zone: Zone, *, digest: str | None = None) -> str:
    """RFC 1035 master text for people and named alike: same zone, same bytes.

    `digest` (zonetool.serial.content_digest) goes into a header comment so a
    later export can tell whether the content changed and keep an auto serial.
    """
    origin = zone.origin
    default_ttl = common_ttl(zone)
    rows: list[tuple[str, str, str, str]] = []
    soa_rows: list[str] = []
    last: str | None = None
    for name in zone.names():
        node = zone.nodes[name]
        codes = sorted(node, key=lambda c: (c != RRType.SOA, c != RRType.NS, c))
        for code in codes:
            rrset = node[code]
            # Each RRset keeps the spelling its first record had, as named does (RFC 4343).
            owner_text = rrset.owner.relativize(origin)
            records = rrset.records if len(rrset.records) == 1 else sorted(rrset.records, key=rrset_order(code))
            for record in records:
                ttl = "" if record.ttl == default_ttl else str(record.ttl)
                if isinstance(record.rdata, SOA) and name == origin:
                    soa_rows = _soa_lines(record, owner_text, origin, default_ttl)
                    rows.append(("\0soa", ttl, "SOA", ""))
                    last = owner_text
                    continue
                owner = "" if owner_text == last else owner_text
                last = owner_text
                mnemonic, text = rdata_text(record.rdata, origin)
                rows.append((owner, ttl, mnemonic, text))
    owner_w = min(max((len(r[0]) for r in rows if r[0] != "\0soa"), default=1), _OWNER_WIDTH_CAP)
    ttl_w = max((len(r[1]) for r in rows), default=0)
    type_w = min(max((len(r[2]) for r in rows), default=1), _TYPE_WIDTH_CAP)
    out: list[str] = []
    if digest is not None:
        out.append(f"{DIGEST_PREFIX}{digest}")
    out.append(f"$ORIGIN {origin.to_text()}")
    out.append(f"$TTL {default_ttl}")
    for owner, ttl, mnemonic, text in rows:
        if owner == "\0soa":
            out.extend(soa_rows)
            continue
        parts = [owner.ljust(owner_w)]
        if ttl_w:
            parts.append(ttl.rjust(ttl_w))
        parts.append("IN")
        parts.append(mnemonic.ljust(type_w))
        parts.append(text)
        out.append(" ".join(parts).rstrip())
    return "\n".join(out) + "\n"


def _soa_lines(record: Record, owner: str, origin: Name, default_ttl: int) -> list[str]:
    soa = record.rdata
    assert isinstance(soa, SOA)
    ttl = "" if record.ttl == default_ttl else f" {record.ttl}"
    head = f"{owner}{ttl} IN SOA {soa.mname.relativize(origin)} {soa.rname.relativize(origin)} ("
    width = max(len(str(v)) for v in (soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum))
    fields = [
        (soa.serial, "serial"),
        (soa.refresh, "refresh"),
        (soa.retry, "retry"),
        (soa.expire, "expire"),
        (soa.minimum, "minimum (negative-caching TTL, RFC 2308)"),
    ]
    lines = [head]
    for i, (value, label) in enumerate(fields):
        close = " )" if i == len(fields) - 1 else "  "
        lines.append(f"        {str(value).ljust(width)}{close} ; {label}")
    return lines
