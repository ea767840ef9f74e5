"""DKIM key records (RFC 6376 3.6.1, RFC 8301, RFC 8463): tags, and the key `p=` decoded and measured.

Keys are parsed with the `cryptography` package: "it decodes" is not enough, a key that no
verifier can load fails every signature.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from zonetool.mailpolicy.tags import Tag, TagList, parse_tags

KEY_TYPES = ("rsa", "ed25519")
_B64 = re.compile(r"[A-Za-z0-9+/=\s]*\Z")


@dataclass(frozen=True, slots=True)
class Key:
    """What `p=` holds: its type and size (bits for RSA), or why it is no usable key."""

    kind: str  # "rsa", "ed25519", "" (revoked: empty p=)
    bits: int = 0
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Dkim:
    text: str
    tags: TagList

    def tag(self, key: str) -> Tag | None:
        return self.tags.get(key)

    @property
    def key_type(self) -> str:
        k = self.tag("k")
        return k.value.lower() if k else "rsa"  # RFC 6376 3.6.1: k= defaults to rsa

    @property
    def testing(self) -> bool:
        t = self.tag("t")
        return t is not None and "y" in [f.strip().lower() for f in t.value.split(":")]


def parse(text: str) -> Dkim:
    return Dkim(text, parse_tags(text))


def version_problem(record: Dkim) -> str | None:
    """RFC 6376 3.6.1: v= is optional, but when present it is first and says DKIM1."""
    v = record.tag("v")
    if v is None:
        return None
    if v.value != "DKIM1":
        return f"v={v.value}: the only version is DKIM1"
    if record.tags.tags[0] is not v:
        return "v=DKIM1 must be the first tag"
    return None


def decode_key(kind: str, p: str) -> Key:
    """Load `p=` as a key of type `kind` (SubjectPublicKeyInfo for rsa, 32 raw octets for ed25519)."""
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

    if not p.strip():
        return Key("")  # RFC 6376 3.6.1: an empty p= means the key was revoked
    if not _B64.match(p):
        return Key(kind, problem="p= is not base64")
    try:
        der = base64.b64decode("".join(p.split()), validate=True)
    except (binascii.Error, ValueError):
        return Key(kind, problem="p= is not valid base64 (wrong length or padding)")
    if kind == "ed25519":
        if len(der) != 32:
            return Key(kind, problem=f"an ed25519 key is 32 octets (RFC 8463 4.2), p= has {len(der)}")
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(der)
        except ValueError as exc:
            return Key(kind, problem=f"p= is no ed25519 key: {exc}")
        return Key(kind, 256)
    try:
        key = load_der_public_key(der)
    except ValueError:
        try:  # some publish the bare RSAPublicKey (PKCS#1); verifiers that accept it exist
            pem = b"-----BEGIN RSA PUBLIC KEY-----\n" + base64.encodebytes(der) + b"-----END RSA PUBLIC KEY-----\n"
            key = load_pem_public_key(pem)
        except ValueError:
            return Key(kind, problem="p= does not hold a public key (SubjectPublicKeyInfo)")
    if not isinstance(key, rsa.RSAPublicKey):
        return Key(kind, problem=f"p= holds a {type(key).__name__.removesuffix('PublicKey')} key, not an RSA key")
    return Key("rsa", key.key_size)


def public_key_tags(data: bytes, kind: str | None = None) -> tuple[str, str]:
    """(k=, p=) of a DKIM key record for a public key given as PEM, DER or base64.

    RSA keys are published as SubjectPublicKeyInfo (RFC 6376 3.6.1), ed25519 keys as their 32 raw
    octets (RFC 8463 4.2); `kind` (rsa, ed25519, None: the key's own) must agree with the key.
    Raises ValueError saying why the key is unusable, to follow "the key ...".
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    key: object
    if b"-----BEGIN" in data:
        label = data.split(b"-----BEGIN", 1)[1].split(b"-----", 1)[0]
        if b"PRIVATE" in label:
            raise ValueError("is a private key: publish its public half (openssl pkey -in KEY -pubout)")
        try:
            key = serialization.load_pem_public_key(data)
        except ValueError:
            raise ValueError(f"is no PEM public key (it says BEGIN{label.decode('ascii', 'replace')}; "
                             "expected BEGIN PUBLIC KEY)") from None
    else:
        try:
            der = base64.b64decode(b"".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            der = data  # a DER file
        if len(der) == 32:
            key = ed25519.Ed25519PublicKey.from_public_bytes(der)  # RFC 8463 4.2: the raw key
        else:
            try:
                key = serialization.load_der_public_key(der)
            except ValueError:
                raise ValueError("is no public key (PEM, or base64 of a SubjectPublicKeyInfo or of "
                                 "32 ed25519 octets)") from None
    if isinstance(key, rsa.RSAPublicKey):
        found = "rsa"
        raw = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    elif isinstance(key, ed25519.Ed25519PublicKey):
        found = "ed25519"
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    else:
        name = type(key).__name__.removeprefix("_").removesuffix("PublicKey")
        raise ValueError(f"is a {name} key; DKIM keys are rsa or ed25519 (RFC 8463 3)")
    if kind is not None and kind != found:
        raise ValueError(f"is an {found} key, but type says {kind}")
    return found, base64.b64encode(raw).decode("ascii")
