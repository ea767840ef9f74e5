"""BIND's DNSSEC key files, K<zone>+<alg>+<tag>.key and .private, read and written.

What `dnssec-keygen` writes is read here, and what zonetool writes `dnssec-signzone` reads,
so both tools share one key folder. Private files are written mode 0600, atomically.
Timing metadata (Publish, Activate, ...) is written for BIND and ignored on reading: every
key of the zone's algorithm in the folder is used.
"""

from __future__ import annotations

import base64
import binascii
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from zonetool.atomic import write_atomic
from zonetool.dnssec.keys import SEP, Key, KeyError_, b64
from zonetool.dnssec.policy import ALGORITHMS
from zonetool.names import Name, NameError_

if TYPE_CHECKING:
    from zonetool.dnssec import Policy
    from zonetool.zone import Zone


def file_stem(origin: Name, key: Key) -> str:
    """K<zone>+<alg>+<tag>, the zone with its trailing dot (as dnssec-keygen names them)."""
    return f"K{origin.to_text().lower()}+{key.algorithm:03d}+{key.tag:05d}"


def key_text(origin: Name, key: Key, now: int) -> str:
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now))
    kind = "key-signing" if key.is_sep else "zone-signing"
    human = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(now))
    return (f"; This is a {kind} key, keyid {key.tag}, for {origin.to_text()}\n"
            f"; Created: {stamp} ({human})\n; Publish: {stamp} ({human})\n; Activate: {stamp} ({human})\n"
            f"{origin.to_text()} IN DNSKEY {key.flags} 3 {key.algorithm} {b64(key.public)}\n")


def private_text(key: Key, now: int) -> str:
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now))
    lines = ["Private-key-format: v1.3", f"Algorithm: {key.algorithm} ({ALGORITHMS[key.algorithm]})"]
    p = key.private
    if key.algorithm == 13:
        lines.append(f"PrivateKey: {b64(p.private_numbers().private_value.to_bytes(32, 'big'))}")
    elif key.algorithm == 15:
        raw = p.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        lines.append(f"PrivateKey: {b64(raw)}")
    else:
        n = p.private_numbers()
        for label, value in (("Modulus", n.public_numbers.n), ("PublicExponent", n.public_numbers.e),
                             ("PrivateExponent", n.d), ("Prime1", n.p), ("Prime2", n.q), ("Exponent1", n.dmp1),
                             ("Exponent2", n.dmq1), ("Coefficient", n.iqmp)):
            lines.append(f"{label}: {b64(value.to_bytes((value.bit_length() + 7) // 8, 'big'))}")
    lines += [f"Created: {stamp}", f"Publish: {stamp}", f"Activate: {stamp}"]
    return "\n".join(lines) + "\n"


def write_key(folder: Path, origin: Name, key: Key, now: int) -> tuple[Path, Path]:
    """Both files of `key` into `folder` (made if missing); the private one readable by its owner only."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = file_stem(origin, key)
    private = folder / f"{stem}.private"
    public = folder / f"{stem}.key"
    write_atomic(private, private_text(key, now), mode=0o600)
    write_atomic(public, key_text(origin, key, now))
    return public, private


def read_keys(folder: Path, origin: Name) -> list[Key]:
    """Every key of `origin` in `folder` (K<origin>+*.key with its .private), ordered by tag."""
    keys: list[Key] = []
    if not folder.is_dir():
        return keys
    prefix = f"k{origin.to_text().lower()}+"
    for public in sorted(folder.glob("K*.key")):
        if not public.name.lower().startswith(prefix):
            continue
        keys.append(read_key(public, origin))
    return sorted(keys, key=lambda k: (k.tag, k.flags))


def read_key(public: Path, origin: Name) -> Key:
    """One key from its .key file and the .private beside it; KeyError_ says file:line what is wrong."""
    flags, algorithm, pub = _read_public(public, origin)
    private_path = public.with_suffix(".private")
    try:
        text = private_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyError_(f"{private_path}: cannot read the private key: {exc}") from None
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    try:
        private = _private(algorithm, fields)
    except (KeyError, ValueError, binascii.Error) as exc:
        raise KeyError_(f"{private_path}: not a usable algorithm {algorithm} private key ({exc})") from None
    key = Key(algorithm, flags, private)
    if key.public != pub:
        raise KeyError_(f"{private_path}: the private key does not belong to the public key in {public.name}")
    return key


def _read_public(path: Path, origin: Name) -> tuple[int, int, bytes]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyError_(f"{path}: cannot read: {exc}") from None
    for number, line in enumerate(text.splitlines(), 1):
        body = line.split(";", 1)[0].split()
        if not body:
            continue
        upper = [t.upper() for t in body]
        if "DNSKEY" not in upper:
            raise KeyError_(f"{path}:{number}: not a DNSKEY record")
        at = upper.index("DNSKEY")
        try:
            owner = Name.from_text(body[0] if body[0].endswith(".") else body[0] + ".")
        except NameError_ as exc:
            raise KeyError_(f"{path}:{number}: bad owner: {exc}") from None
        if owner != origin:
            raise KeyError_(f"{path}:{number}: the key is for {owner}, not {origin}")
        fields = body[at + 1 :]
        try:
            flags, protocol, algorithm = int(fields[0]), int(fields[1]), int(fields[2])
            pub = base64.b64decode("".join(fields[3:]), validate=True)
        except (IndexError, ValueError, binascii.Error):
            raise KeyError_(f"{path}:{number}: DNSKEY needs flags, protocol, algorithm and a base64 key") from None
        if protocol != 3 or algorithm not in ALGORITHMS:
            raise KeyError_(f"{path}:{number}: protocol {protocol} algorithm {algorithm}: zonetool signs with "
                            f"protocol 3 and {', '.join(f'{v} ({k})' for k, v in ALGORITHMS.items())}")
        return flags, algorithm, pub
    raise KeyError_(f"{path}: no DNSKEY record in the file")


def _num(fields: dict[str, str], name: str) -> int:
    return int.from_bytes(base64.b64decode(fields[name], validate=True), "big")


def _private(algorithm: int, fields: dict[str, str]) -> Any:
    if algorithm == 13:
        return ec.derive_private_key(_num(fields, "PrivateKey"), ec.SECP256R1())
    if algorithm == 15:
        return ed25519.Ed25519PrivateKey.from_private_bytes(base64.b64decode(fields["PrivateKey"], validate=True))
    public = rsa.RSAPublicNumbers(_num(fields, "PublicExponent"), _num(fields, "Modulus"))
    return rsa.RSAPrivateNumbers(_num(fields, "Prime1"), _num(fields, "Prime2"), _num(fields, "PrivateExponent"),
                                 _num(fields, "Exponent1"), _num(fields, "Exponent2"), _num(fields, "Coefficient"),
                                 public).private_key()


def key_folder(zone: Zone, policy: Policy) -> Path:
    base = Path(zone.file).parent if zone.file and zone.file != "-" else Path(".")
    return base / policy.keys


def zone_keys(zone: Zone, policy: Policy) -> list[Key]:
    """The keys of the zone's algorithm in its key folder; DnssecError when there is none."""
    from zonetool.dnssec import ALGORITHMS, DnssecError

    folder = key_folder(zone, policy)
    keys = [k for k in read_keys(folder, zone.origin) if k.algorithm == policy.algorithm]
    if not keys:
        raise DnssecError(f"{zone.file or zone.origin}: no {ALGORITHMS[policy.algorithm]} key for {zone.origin} in "
                          f"{folder}/: make them with `zonetool keygen {zone.file or 'ZONE'}`")
    return keys


__all__ = ["SEP", "file_stem", "key_folder", "key_text", "private_text", "read_key", "read_keys", "write_key",
           "zone_keys"]
