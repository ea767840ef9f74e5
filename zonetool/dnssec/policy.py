"""A zone's signing policy (the `dnssec:` block's values) and the signing window it gives at a time."""

from __future__ import annotations

from dataclasses import dataclass

# algorithm number -> mnemonic (RFC 8624 3.1: the ones to sign with); 13 is the default
ALGORITHMS: dict[int, str] = {13: "ECDSAP256SHA256", 15: "ED25519", 8: "RSASHA256"}
BY_MNEMONIC: dict[str, int] = {v: k for k, v in ALGORITHMS.items()}
DAY = 86400
CLOCK_SKEW = 3600  # inception an hour early: validators whose clocks lag still accept fresh signatures


class DnssecError(ValueError):
    """A zone that cannot be signed as asked (no key, an unusable key file): the message says which and why."""


@dataclass(frozen=True, slots=True)
class Policy:
    """How a zone is signed. `keys` is the key folder as written (relative to the zone file)."""

    algorithm: int = 13
    denial: str = "nsec"  # or "nsec3": RFC 9276 3.1 parameters, no extra iterations, no salt, no opt-out
    validity: int = 14 * DAY  # each signature's lifetime (RRSIG expiration - window start)
    refresh: int = 7 * DAY  # a new window starts this often: signatures keep >= validity - refresh left
    keys: str = "keys"
    dnskey_ttl: int | None = None  # None: the zone's default TTL


DEFAULTS = Policy()


@dataclass(frozen=True, slots=True)
class Window:
    """RRSIG inception and expiration (RFC 4034 3.1.5), seconds since the epoch."""

    inception: int
    expiration: int


def window(policy: Policy, now: int) -> Window:
    """The window of the refresh period holding `now`: the same for every signing inside one period.

    So an unchanged zone signed twice in a period gives the same RRSIG fields (and, with
    deterministic signatures, the same bytes), and a signature made at any moment of the period
    stays valid for at least `validity - refresh` more.
    """
    start = now - now % policy.refresh
    return Window(start - CLOCK_SKEW, start + policy.validity)
