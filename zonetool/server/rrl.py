"""Response-rate limiting (RRL) for UDP: an authoritative server must not be an amplifier.

Issue 16 measured a 43-octet query drawing a 1,231-octet answer (28.6x); with a forged source
address that is a reflection attack on whoever owns the address. As BIND, NSD and Knot do, each
(client prefix, answer account) pair gets a token bucket of RATE responses per second. Over the
limit the answer is dropped, except every SLIP-th one, which goes out as an empty answer with
TC=1: a real client behind the prefix retries over TCP (never limited: a forged source cannot
finish a handshake), a victim gets a packet no larger than the query.

The accounts follow BIND's and Knot's grouping, so random names cannot dodge the limit:
  * a positive answer: its own name and type;
  * NXDOMAIN, NODATA/referrals, wildcard answers: the zone they come from (one account per zone);
  * errors (REFUSED, FORMERR, NOTIMP, ...): the rcode.

Pure: no sockets and no clock of its own (`now` is passed in), so tests drive it with a fake clock.
"""

from __future__ import annotations

import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from zonetool.lookup import ZoneSet
from zonetool.names import Name
from zonetool.wire import WireError, scan_name

ALLOW, DROP, SLIP = 0, 1, 2
RATE_OFF_LOOPBACK = 200  # responses/s per prefix and account when serving beyond loopback (NSD's rrl-ratelimit)
SLIP_DEFAULT = 2  # every 2nd limited answer goes out truncated (BIND, NSD and Knot default)
IPV4_PREFIX, IPV6_PREFIX = 24, 56  # clients counted together (BIND's and Knot's defaults)
MAX_ENTRIES = 100_000  # buckets kept; the least recently used goes first (~20 MB at most)
ACCOUNTS_CACHED = 10_000  # answers whose account is remembered (see ResponseRateLimit)
_OPT_TAIL = 11  # our OPT RR: root owner, type, class, TTL, RDLEN 0 (wire.opt_record)


class RateLimiter:
    """Token buckets keyed by (client prefix, account); `allow` says ALLOW, DROP or SLIP.

    A bucket holds up to `rate` tokens (one second's worth: a short burst passes), refilled at
    `rate` per second; an answer takes one. Memory is bounded by `max_entries`: a new pair pushes
    out the least recently used one (which then starts full again, the same as a quiet client).
    Not thread-safe: one UDP thread owns it (each `--workers` process has its own).
    """

    def __init__(self, rate: float, slip: int = SLIP_DEFAULT, *, max_entries: int = MAX_ENTRIES) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        if slip < 0:
            raise ValueError(f"slip must be 0 (drop all) or more, got {slip}")
        self.rate = float(rate)
        self.slip = slip
        self.max_entries = max(1, max_entries)
        # (prefix, account) -> [tokens, last refill time, limited answers so far]
        self._buckets: OrderedDict[tuple[bytes, Hashable], list[float]] = OrderedDict()
        self.allowed = self.dropped = self.slipped = 0

    def allow(self, prefix: bytes, key: Hashable, now: float) -> int:
        buckets = self._buckets
        pair = (prefix, key)
        bucket = buckets.get(pair)
        if bucket is None:
            if len(buckets) >= self.max_entries:
                buckets.popitem(last=False)
            bucket = buckets[pair] = [self.rate, now, 0.0]
        else:
            buckets.move_to_end(pair)
            elapsed = now - bucket[1]
            if elapsed > 0:
                bucket[0] = min(self.rate, bucket[0] + elapsed * self.rate)
                bucket[1] = now
        if bucket[0] >= 1.0:
            bucket[0] -= 1.0
            self.allowed += 1
            return ALLOW
        bucket[2] += 1
        if self.slip and bucket[2] % self.slip == 0:
            self.slipped += 1
            return SLIP
        self.dropped += 1
        return DROP

    def __len__(self) -> int:
        return len(self._buckets)


def default_rate(address: str) -> float:
    """`--rrl`'s default for a listening address: off on loopback (a test lab's bursts are on purpose),
    NSD's 200/s on anything else, wildcard addresses included (they face the network)."""
    from zonetool.server.sockets import is_loopback

    return 0.0 if is_loopback(address) else float(RATE_OFF_LOOPBACK)


def client_prefix(host: str) -> bytes:
    """The client's /24 (IPv4) or /56 (IPv6) as octets; an IPv4-mapped IPv6 address counts as IPv4."""
    host = host.split("%", 1)[0]
    if ":" in host:
        try:
            packed = socket.inet_pton(socket.AF_INET6, host)
        except OSError:
            return host.encode()
        if packed[:12] != b"\x00" * 10 + b"\xff\xff":
            return packed[: IPV6_PREFIX // 8]
        packed = packed[12:]
    else:
        try:
            packed = socket.inet_pton(socket.AF_INET, host)
        except OSError:
            return host.encode()
    return packed[: IPV4_PREFIX // 8]


def account(reply: bytes, zones: ZoneSet) -> Hashable:
    """Which account an answer is charged to (see the module docstring); read from the reply's octets."""
    if len(reply) < 12:
        return ("error", -1)
    rcode = reply[3] & 0x0F
    if rcode not in (0, 3) or reply[4:6] != b"\x00\x01":
        return ("error", rcode)
    try:
        labels, end = scan_name(reply, 12)
    except WireError:
        return ("error", rcode)
    name = Name(labels)
    zone = zones.find(name)
    apex = None if zone is None else zone.origin.key
    if rcode == 3:
        return ("nxdomain", apex)
    if reply[6:8] == b"\x00\x00":
        return ("empty", apex)  # NODATA and referrals
    if zone is not None and name not in zone.nodes:
        return ("wildcard", apex)  # synthesized from a wildcard (RFC 4592): any name under it is one account
    return ("answer", name.key, reply[end : end + 2])


def slipped(reply: bytes) -> bytes:
    """The reply cut to its header and question, TC set (RFC 1035 4.2.1: the client retries over TCP).

    Our OPT record, always last and 11 octets (wire.opt_record), stays (RFC 6891 7).
    """
    if len(reply) < 12:
        return reply
    flags = reply[2] | 0x02
    question = b""
    if reply[4:6] == b"\x00\x01":
        try:
            _, end = scan_name(reply, 12)
            question = reply[12 : end + 4]
        except WireError:
            pass
    opt = reply[-_OPT_TAIL:] if reply[10:12] != b"\x00\x00" and reply[-_OPT_TAIL:-8] == b"\x00\x00\x29" else b""
    counts = (b"\x00\x01" if question else b"\x00\x00") + b"\x00\x00\x00\x00" + (b"\x00\x01" if opt else b"\x00\x00")
    return reply[:2] + bytes((flags, reply[3])) + counts + question + opt


class ResponseRateLimit:
    """The UDP transport's limit: `limit(reply, client_host)` gives the octets to send, or None (dropped).

    Every limited answer is counted in `report` (the Server's Trouble: one line per interval).
    """

    def __init__(
        self,
        limiter: RateLimiter,
        zones: Callable[[], ZoneSet],
        report: Callable[[str, str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limiter = limiter
        self.zones = zones
        self.report = report
        self.clock = clock
        # reply after its ID -> account, for the zones it was worked out with: `account` costs ~6 us
        # (a name and a zone look-up), a dict hit ~0.1 us; emptied when full, so it stays bounded
        self._accounts: dict[bytes, Hashable] = {}
        self._accounts_for: ZoneSet | None = None

    def __call__(self, reply: bytes, host: str) -> bytes | None:
        prefix = client_prefix(host)
        zones = self.zones()
        accounts = self._accounts
        if zones is not self._accounts_for:  # a reload: the zones (and so the accounts) changed
            accounts.clear()
            self._accounts_for = zones
        tail = reply[2:]
        charged = accounts.get(tail)
        if charged is None:
            if len(accounts) >= ACCOUNTS_CACHED:
                accounts.clear()
            charged = accounts[tail] = account(reply, zones)
        verdict = self.limiter.allow(prefix, charged, self.clock())
        if verdict == ALLOW:
            return reply
        if self.report is not None:
            bits = IPV6_PREFIX if len(prefix) == IPV6_PREFIX // 8 else IPV4_PREFIX
            what = "slipped (TC=1)" if verdict == SLIP else "dropped"
            self.report(
                "rrl-slipped" if verdict == SLIP else "rrl-dropped",
                f"{host} (/{bits}): over {self.limiter.rate:g} answers/s, {what}",
            )
        return slipped(reply) if verdict == SLIP else None
