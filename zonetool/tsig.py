"""TSIG (RFC 8945): signing and checking DNS messages with a shared secret, as pure functions over bytes.

No sockets and no clock of its own: the caller passes `now`, so the server, the NOTIFY sender and
the tests use the same code, and a test can be a minute late on purpose. The responder checks a
signed request with `check_request`, then signs each reply (every message of a zone transfer
included, RFC 8945 5.3.1) with the `Signer` it got back.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from zonetool.names import Name
from zonetool.rrtypes import RRType, WireError, read_name
from zonetool.wire import tsig_start

TSIG, ANY = int(RRType.TSIG), int(RRType.ANY)  # RFC 8945 4.2
NOTAUTH, FORMERR = 9, 1
BADSIG, BADKEY, BADTIME, BADTRUNC = 16, 17, 18, 22  # RFC 8945 3
ERROR_NAMES = {0: "NOERROR", BADSIG: "BADSIG", BADKEY: "BADKEY", BADTIME: "BADTIME", BADTRUNC: "BADTRUNC"}
DEFAULT_FUDGE = 300  # RFC 8945 10: 300 seconds

# RFC 8945 6: the algorithm names; hmac-sha256 is the one every implementation must have.
ALGORITHMS: dict[str, Callable[..., object]] = {
    "hmac-sha1": hashlib.sha1,
    "hmac-sha224": hashlib.sha224,
    "hmac-sha256": hashlib.sha256,
    "hmac-sha384": hashlib.sha384,
    "hmac-sha512": hashlib.sha512,
}


_ALGORITHM_NAMES = {name: Name.from_text(name + ".") for name in ALGORITHMS}


class TsigFormError(ValueError):
    """A TSIG record that cannot be read: the answer is FORMERR."""


def _canonical(name: Name) -> bytes:
    """A name in canonical wire form (RFC 4034 6.2: lower case, uncompressed), as the MAC covers it."""
    return b"".join(bytes((len(label),)) + label.lower() for label in name.labels) + b"\x00"


@dataclass(frozen=True, slots=True)
class Key:
    """A shared secret; `repr` never shows it (keys are never printed or logged)."""

    name: Name
    algorithm: str  # one of ALGORITHMS
    secret: bytes

    def __repr__(self) -> str:
        return f"Key({self.name.to_text()}, {self.algorithm})"

    def mac(self, data: bytes) -> bytes:
        return hmac.new(self.secret, data, ALGORITHMS[self.algorithm]).digest()  # type: ignore[arg-type]

    @property
    def algorithm_name(self) -> Name:
        return _ALGORITHM_NAMES[self.algorithm]

    @property
    def mac_size(self) -> int:
        return ALGORITHMS[self.algorithm]().digest_size  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class TsigRecord:
    """The TSIG RR of a message (RFC 8945 4.2) and where it starts."""

    key_name: Name
    algorithm: Name
    time_signed: int
    fudge: int
    mac: bytes
    original_id: int
    error: int
    other: bytes
    start: int  # offset of the RR's owner name: the message without it is data[:start]


def _read_name(data: bytes, pos: int, pointers: bool) -> tuple[Name, int]:
    try:
        return read_name(data, pos, pointers)
    except WireError as exc:
        raise TsigFormError(f"TSIG name: {exc}") from None


def read_tsig(data: bytes, start: int) -> TsigRecord:
    """The TSIG RR whose owner name begins at `start` (the last record of the additional section)."""
    key_name, pos = _read_name(data, start, True)
    if pos + 10 > len(data):
        raise TsigFormError("TSIG record header runs past the end")
    rtype, rclass, ttl, rdlen = struct.unpack_from("!HHIH", data, pos)
    pos += 10
    end = pos + rdlen
    if rtype != TSIG or rclass != ANY or ttl != 0 or end != len(data):
        raise TsigFormError("TSIG is not class ANY, TTL 0, last in the message")  # RFC 8945 4.2
    algorithm, pos = _read_name(data, pos, False)  # RFC 8945 4.2: never compressed
    if pos + 10 > end:
        raise TsigFormError("TSIG data too short")
    high, low, fudge, mac_len = struct.unpack_from("!HIHH", data, pos)
    pos += 10
    mac = data[pos : pos + mac_len]
    pos += mac_len
    if pos + 6 > end:
        raise TsigFormError("TSIG data too short")
    original_id, error, other_len = struct.unpack_from("!HHH", data, pos)
    pos += 6
    other = data[pos : pos + other_len]
    if pos + other_len != end:
        raise TsigFormError("TSIG data length does not match its fields")
    return TsigRecord(key_name, algorithm, high << 32 | low, fudge, mac, original_id, error, other, start)


def _unsigned(data: bytes, record: TsigRecord) -> bytes:
    """The message as it was before signing: TSIG removed, ARCOUNT one less, the original ID (RFC 8945 4.3.1)."""
    arcount = struct.unpack_from("!H", data, 10)[0]
    return struct.pack("!H", record.original_id) + data[2:10] + struct.pack("!H", arcount - 1) + data[12 : record.start]


def _variables(key: Key, time_signed: int, fudge: int, error: int, other: bytes) -> bytes:
    """The TSIG variables the MAC covers (RFC 8945 4.3.3)."""
    return (_canonical(key.name) + struct.pack("!HI", ANY, 0) + _canonical(key.algorithm_name)
            + _timers(time_signed, fudge) + struct.pack("!HH", error, len(other)) + other)


def _timers(time_signed: int, fudge: int) -> bytes:
    return struct.pack("!HIH", time_signed >> 32, time_signed & 0xFFFFFFFF, fudge)


def _prior(mac: bytes) -> bytes:
    return struct.pack("!H", len(mac)) + mac


def _append(message: bytes, key_name: Name, algorithm: Name, time_signed: int, fudge: int, mac: bytes,
            original_id: int, error: int, other: bytes) -> bytes:
    """`message` with its TSIG RR appended and ARCOUNT one more."""
    rdata = (_canonical(algorithm) + _timers(time_signed, fudge) + _prior(mac)
             + struct.pack("!HHH", original_id, error, len(other)) + other)
    rr = _canonical(key_name) + struct.pack("!HHIH", TSIG, ANY, 0, len(rdata)) + rdata
    arcount = struct.unpack_from("!H", message, 10)[0]
    return message[:10] + struct.pack("!H", arcount + 1) + message[12:] + rr


def sign_request(message: bytes, key: Key, now: int, fudge: int = DEFAULT_FUDGE) -> tuple[bytes, bytes]:
    """A request (NOTIFY, a test's query) signed: (the signed message, its MAC for checking the reply)."""
    original_id = struct.unpack_from("!H", message, 0)[0]
    mac = key.mac(message + _variables(key, now, fudge, 0, b""))
    return _append(message, key.name, key.algorithm_name, now, fudge, mac, original_id, 0, b""), mac


def record_size(key: Key, other: int = 0) -> int:
    """Octets a TSIG RR of `key` adds to a message (so an answer can leave room for it)."""
    algorithm = len(_canonical(key.algorithm_name))
    return len(_canonical(key.name)) + 10 + algorithm + 10 + key.mac_size + 6 + other


class Signer:
    """Signs the replies to one checked request: the first with the request's MAC and every
    variable, each later message of the same transfer with the MAC before it and the timers only
    (RFC 8945 5.3.1), so a secondary can check every message of a multi-message AXFR."""

    __slots__ = ("_prior", "_signed", "error", "fudge", "key", "original_id", "other", "time_signed")

    def __init__(self, key: Key, request_mac: bytes, original_id: int, *, error: int = 0, other: bytes = b"",
                 time_signed: int | None = None, fudge: int = DEFAULT_FUDGE) -> None:
        self.key, self.original_id, self.error, self.other = key, original_id, error, other
        self.time_signed, self.fudge = time_signed, fudge  # a BADTIME reply keeps the request's time
        self._prior = request_mac
        self._signed = 0

    def sign(self, message: bytes, now: int) -> bytes:
        """The next reply, signed."""
        key, signed_at = self.key, (self.time_signed if self.time_signed is not None else now)
        if self._signed == 0:
            covered = _variables(key, signed_at, self.fudge, self.error, self.other)
            error, other = self.error, self.other
        else:
            covered, error, other = _timers(signed_at, self.fudge), 0, b""
        mac = key.mac(_prior(self._prior) + message + covered)
        self._prior = mac
        self._signed += 1
        return _append(message, key.name, key.algorithm_name, signed_at, self.fudge, mac, self.original_id, error,
                       other)


@dataclass(frozen=True, slots=True)
class Checked:
    """The outcome of checking a signed request.

    `error` 0: good, `signer` signs the replies. Otherwise the RFC's error: BADKEY and BADSIG
    replies go unsigned (`signer` None, RFC 8945 5.2.1, 5.2.2), a BADTIME reply is signed and
    carries the server's time (5.2.3).
    """

    record: TsigRecord
    error: int
    key: Key | None
    signer: Signer | None

    @property
    def key_name(self) -> str:
        return self.record.key_name.to_text()


def check_request(data: bytes, start: int, keys: Mapping[Name, Key], now: int) -> Checked:
    """Check the TSIG of a request (RFC 8945 5.2: key, then MAC, then time). Raises TsigFormError."""
    record = read_tsig(data, start)
    key = keys.get(record.key_name)
    if key is None or key.algorithm_name != record.algorithm:
        return Checked(record, BADKEY, None, None)  # 5.2.1
    if len(record.mac) > key.mac_size:
        raise TsigFormError("TSIG MAC longer than its algorithm's")  # 5.2.2.1
    if len(record.mac) < key.mac_size:
        return Checked(record, BADTRUNC, key, None)  # 5.2.2.1: we take untruncated MACs only
    expected = key.mac(_unsigned(data, record)
                       + _variables(key, record.time_signed, record.fudge, record.error, record.other))
    if not hmac.compare_digest(expected, record.mac):
        return Checked(record, BADSIG, key, None)  # 5.2.2
    if abs(now - record.time_signed) > record.fudge:
        server_time = struct.pack("!HI", now >> 32, now & 0xFFFFFFFF)
        signer = Signer(key, record.mac, record.original_id, error=BADTIME, other=server_time,
                        time_signed=record.time_signed, fudge=record.fudge)
        return Checked(record, BADTIME, key, signer)  # 5.2.3
    return Checked(record, 0, key, Signer(key, record.mac, record.original_id, fudge=record.fudge))


def unsigned_error(reply: bytes, record: TsigRecord, error: int) -> bytes:
    """An error reply with an unsigned TSIG (MAC size 0) naming the key and the TSIG error (5.2.1, 5.2.2)."""
    return _append(reply, record.key_name, record.algorithm, record.time_signed, record.fudge, b"",
                   record.original_id, error, b"")


def reply_problem(data: bytes, key: Key, request_mac: bytes, now: int | None = None) -> str | None:
    """What is wrong with the signature of a single reply to our signed request (a NOTIFY's
    answer), or None when `key` signed it over our MAC within its fudge (RFC 8945 5.4)."""
    start = tsig_start(data)
    if start is None:
        return "not signed"
    try:
        record = read_tsig(data, start)
    except TsigFormError as exc:
        return f"a malformed TSIG record ({exc})"
    if record.key_name != key.name:
        return f"signed with another key ({record.key_name.to_text()})"
    if record.error:  # RFC 8945 5.3.2: the other side refused our signature (its reply is unsigned)
        return f"TSIG error {ERROR_NAMES.get(record.error, str(record.error))}: it does not accept our key"
    digest = (_prior(request_mac) + _unsigned(data, record)
              + _variables(key, record.time_signed, record.fudge, record.error, record.other))
    if not hmac.compare_digest(key.mac(digest), record.mac):
        return "a MAC that does not verify (RFC 8945 5.4.2: another secret)"
    if now is not None and abs(now - record.time_signed) > record.fudge:
        return f"signed {now - record.time_signed:+d} s away from our clock, beyond its fudge (RFC 8945 5.4.3)"
    return None


def check_reply(data: bytes, key: Key, request_mac: bytes, now: int | None = None) -> bool:
    """Whether a single reply (a NOTIFY's answer) is signed by `key` over our request's MAC."""
    return reply_problem(data, key, request_mac, now) is None


class ReplyError(Exception):
    """A reply to our signed request that does not verify, or the server's TSIG error (`error`)."""

    def __init__(self, message: str, error: int = 0) -> None:
        super().__init__(message)
        self.error = error


MAX_UNSIGNED = 99  # RFC 8945 5.3.1: a client accepts up to 99 unsigned messages between signed ones


class ReplyVerifier:
    """Checks every reply to one signed request (an AXFR's messages, an UPDATE's answer): the first
    over the request's MAC with every variable, each later signed one over the MAC before it, the
    unsigned messages since, and the timers (RFC 8945 5.3.1); each within its fudge of `now` (5.4.3)."""

    __slots__ = ("_pending", "_prior", "key", "signed")

    def __init__(self, key: Key, request_mac: bytes) -> None:
        self.key = key
        self._prior = request_mac
        self._pending: list[bytes] = []
        self.signed = 0

    def check(self, data: bytes, now: int) -> None:
        """One reply, in the order received; raises ReplyError."""
        start = tsig_start(data)
        if start is None:
            if not self.signed:
                raise ReplyError("the reply is not signed (no TSIG record)")
            if len(self._pending) == MAX_UNSIGNED:
                raise ReplyError(f"more than {MAX_UNSIGNED} unsigned messages in a row")
            self._pending.append(data)
            return
        try:
            record = read_tsig(data, start)
        except TsigFormError as exc:
            raise ReplyError(f"the reply's TSIG cannot be read: {exc}") from None
        key = self.key
        if record.error:  # the server's verdict on our request: BADKEY, BADSIG unsigned (5.2.1, 5.2.2)
            raise ReplyError(f"the server answered {ERROR_NAMES.get(record.error, f'TSIG error {record.error}')}",
                             record.error)
        if record.key_name != key.name or record.algorithm != key.algorithm_name:
            raise ReplyError(f"the reply is signed with another key ({record.key_name.to_text()})")
        if self.signed == 0:
            covered = _variables(key, record.time_signed, record.fudge, record.error, record.other)
        else:
            covered = _timers(record.time_signed, record.fudge)
        digest = _prior(self._prior) + b"".join(self._pending) + _unsigned(data, record) + covered
        if not hmac.compare_digest(key.mac(digest), record.mac):
            raise ReplyError("the reply's MAC does not verify (BADSIG)", BADSIG)
        if abs(now - record.time_signed) > record.fudge:
            raise ReplyError(f"the reply was signed {record.time_signed - now:+d} s from our clock (BADTIME)",
                             BADTIME)
        self._prior, self._pending = record.mac, []
        self.signed += 1

    def finish(self) -> None:
        """After the last message: it must have been signed (RFC 8945 5.3.1)."""
        if self._pending or not self.signed:
            raise ReplyError("the last message of the reply is not signed")
