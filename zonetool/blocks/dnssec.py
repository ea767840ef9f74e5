"""The `dnssec:` block: the zone is signed when exported (and served), with these settings.

`dnssec: true` (or `{}`) takes every default: ECDSAP256SHA256, NSEC, signatures valid 14 days
and renewed every 7, keys in `keys/` beside the zone file. The values land in `Zone.dnssec`
as a `zonetool.dnssec.Policy`; signing itself happens at the edges (export, serve).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zonetool.blocks.context import Compiler, Path
from zonetool.blocks.registry import block
from zonetool.dnssec.policy import ALGORITHMS, BY_MNEMONIC, DEFAULTS, Policy
from zonetool.schema import MAX_U32

KEYS = {"dnssec": ("dnssec", "sign the zone (DNSKEY, RRSIG, NSEC/NSEC3): true, or a mapping of settings")}
_ALGORITHM_HINT = "algorithm: " + ", ".join(f"{name} ({number})" for number, name in ALGORITHMS.items())


@block("dnssec", keys=KEYS, order=80, position=90)
def compile_dnssec(c: Compiler, spec: Mapping[str, Any]) -> None:
    value = spec.get("dnssec")
    if value is None or value is False:
        return
    path: Path = ("dnssec",)
    if value is True:
        c.dnssec = Policy(dnskey_ttl=c.ttl)
        return
    settings = c.mapping(value, "dnssec", path)
    if settings is None:
        return
    algorithm = _algorithm(c, settings.get("algorithm", DEFAULTS.algorithm), (*path, "algorithm"))
    denial = settings.get("denial", DEFAULTS.denial)
    if denial not in ("nsec", "nsec3"):
        c.error("bad-dnssec", f"dnssec.denial must be nsec or nsec3, got {denial!r}", (*path, "denial"),
                hint="nsec3 uses RFC 9276's parameters: no extra iterations, no salt, no opt-out")
        denial = None
    validity = _duration(c, settings, "validity", DEFAULTS.validity)
    refresh = _duration(c, settings, "refresh", DEFAULTS.refresh)
    if validity is not None and refresh is not None and not 0 < refresh < validity:
        c.error("bad-dnssec", f"dnssec.refresh ({refresh}s) must be above 0 and below dnssec.validity ({validity}s)",
                (*path, "refresh" if "refresh" in settings else "validity"),
                hint="signatures are renewed every `refresh`, so each keeps at least validity - refresh to live")
        refresh = None
    keys = settings.get("keys", DEFAULTS.keys)
    if not isinstance(keys, str) or not keys.strip():
        c.wrong_type("a folder (relative to the zone file)", keys, (*path, "keys"))
        keys = None
    dnskey_ttl = c.ttl_of(settings, path, c.ttl) if "ttl" in settings else c.ttl
    if None in (algorithm, denial, validity, refresh, keys):
        return  # reported; the zone is not signed with half its settings
    c.dnssec = Policy(algorithm, denial, validity, refresh, keys.strip(), dnskey_ttl)  # type: ignore[arg-type, union-attr]


def _algorithm(c: Compiler, value: object, path: Path) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value in ALGORITHMS:
        return value
    if isinstance(value, str):
        text = value.strip().upper()
        if text in BY_MNEMONIC:
            return BY_MNEMONIC[text]
        if text.isdigit() and int(text) in ALGORITHMS:
            return int(text)
    c.error("bad-dnssec", f"dnssec.algorithm {value!r} is not one zonetool signs with", path, hint=_ALGORITHM_HINT)
    return None


def _duration(c: Compiler, settings: Mapping[str, Any], key: str, default: int) -> int | None:
    if key not in settings:
        return default
    return c.seconds(settings[key], ("dnssec", key), limit=MAX_U32, what=f"dnssec.{key}")
