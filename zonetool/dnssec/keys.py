"""DNSSEC keys: generation, the DNSKEY form of a public key, key tags, signing, DS digests.

A `Key` holds a `cryptography` private key; BIND's K<zone>+<alg>+<tag> files are read and
written by zonetool.source.dnskeys (the edge), the fields they hold are made here.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from zonetool.dnssec.policy import ALGORITHMS, DnssecError

ZONE_KEY, SEP = 0x0100, 0x0001  # DNSKEY flags (RFC 4034 2.1.1): 256 = ZSK, 257 = KSK or CSK
_ECDSA = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)  # RFC 6979: same data, same signature
_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


class KeyError_(DnssecError):
    """A key that cannot be used: the message says which and why."""


@dataclass(frozen=True, slots=True)
class Key:
    """One DNSSEC key pair of a zone; `private` is a cryptography private key object."""

    algorithm: int
    flags: int
    private: Any = field(repr=False)
    public: bytes = field(init=False)  # the DNSKEY public key field (RFC 4034 2.1.4)
    tag: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "public", public_key_field(self.algorithm, self.private))
        object.__setattr__(self, "tag", key_tag(self.dnskey()))

    @property
    def is_sep(self) -> bool:
        return bool(self.flags & SEP)

    def dnskey(self) -> bytes:
        """DNSKEY RDATA: flags, protocol 3, algorithm, public key (RFC 4034 2.1)."""
        return self.flags.to_bytes(2, "big") + bytes((3, self.algorithm)) + self.public

    def sign(self, data: bytes) -> bytes:
        """The signature field of an RRSIG over `data` (RFC 5702 3, RFC 6605 4, RFC 8080 4)."""
        if self.algorithm == 13:
            r, s = decode_dss_signature(self.private.sign(data, _ECDSA))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        if self.algorithm == 15:
            return bytes(self.private.sign(data))
        return bytes(self.private.sign(data, _PKCS1, _SHA256))


def generate(algorithm: int, flags: int = ZONE_KEY | SEP, rsa_bits: int = 2048) -> Key:
    """A new key; the default flags make a CSK (one key signing every RRset)."""
    if algorithm == 13:
        private: Any = ec.generate_private_key(ec.SECP256R1())
    elif algorithm == 15:
        private = ed25519.Ed25519PrivateKey.generate()
    elif algorithm == 8:
        private = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    else:
        raise KeyError_(f"algorithm {algorithm} is not one zonetool signs with ({_known()})")
    return Key(algorithm, flags, private)


def public_key_field(algorithm: int, private: Any) -> bytes:
    pub = private.public_key()
    if algorithm == 13:
        numbers = pub.public_numbers()
        return numbers.x.to_bytes(32, "big") + numbers.y.to_bytes(32, "big")  # RFC 6605 4
    if algorithm == 15:
        from cryptography.hazmat.primitives import serialization

        return bytes(pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))  # RFC 8080 3
    if algorithm == 8:
        numbers = pub.public_numbers()
        e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
        n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        head = bytes((len(e),)) if len(e) < 256 else b"\x00" + len(e).to_bytes(2, "big")  # RFC 3110 2
        return head + e + n
    raise KeyError_(f"algorithm {algorithm} is not one zonetool signs with ({_known()})")


def verify(algorithm: int, public: bytes, signature: bytes, data: bytes) -> bool:
    """Whether `signature` (an RRSIG's field) is one over `data` by the DNSKEY public key field `public`."""
    from cryptography.exceptions import InvalidSignature

    try:
        if algorithm == 13 and len(public) == 64 and len(signature) == 64:  # RFC 6605 4
            x, y = int.from_bytes(public[:32], "big"), int.from_bytes(public[32:], "big")
            point = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            point.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
        elif algorithm == 15:  # RFC 8080 3, 4
            ed25519.Ed25519PublicKey.from_public_bytes(public).verify(signature, data)
        elif algorithm == 8 and public:  # RFC 3110 2, RFC 5702 3
            size, at = (public[0], 1) if public[0] else (int.from_bytes(public[1:3], "big"), 3)
            e, n = int.from_bytes(public[at : at + size], "big"), int.from_bytes(public[at + size :], "big")
            rsa.RSAPublicNumbers(e, n).public_key().verify(signature, data, _PKCS1, _SHA256)
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def key_tag(dnskey: bytes) -> int:
    """RFC 4034 Appendix B (algorithm 1 aside, which zonetool never uses)."""
    total = 0
    for i, octet in enumerate(dnskey):
        total += octet if i & 1 else octet << 8
    total += (total >> 16) & 0xFFFF
    return total & 0xFFFF


def ds_rdata(owner_wire: bytes, key: Key, digest_type: int = 2) -> bytes:
    """DS RDATA for `key` (RFC 4034 5.1.4; SHA-256 is digest type 2, RFC 4509)."""
    if digest_type != 2:
        raise KeyError_("only DS digest type 2 (SHA-256) is made")
    dnskey = key.dnskey()
    digest = hashlib.sha256(owner_wire + dnskey).digest()
    return key.tag.to_bytes(2, "big") + bytes((key.algorithm, digest_type)) + digest


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _known() -> str:
    return ", ".join(f"{name} ({number})" for number, name in ALGORITHMS.items())
