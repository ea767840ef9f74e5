"""TLSA association data of a certificate (RFC 6698 2.1): the one place `3 1 1` is computed.

Pure: a certificate (PEM or DER octets, or a `cryptography` Certificate) in, octets or text out.
The mail block's `dane:` key and `zonetool serve --smtp --dane` (the sinks' certificates) both
publish what `tlsa_311` returns, so a TLSA the server publishes is the one a sender checks.
"""

from __future__ import annotations

import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import serialization

USAGE_DANE_EE, SELECTOR_SPKI, MATCHING_SHA256, MATCHING_SHA512 = 3, 1, 1, 2  # RFC 6698 2.1.1-2.1.3


def load_certificate(data: bytes | x509.Certificate) -> x509.Certificate:
    """A certificate from PEM or DER octets (the first one of a PEM chain: the leaf)."""
    if isinstance(data, x509.Certificate):
        return data
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def spki(certificate: bytes | x509.Certificate) -> bytes:
    """The DER SubjectPublicKeyInfo: what selector 1 matches (RFC 6698 2.1.2)."""
    key = load_certificate(certificate).public_key()
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def association(certificate: bytes | x509.Certificate, selector: int = SELECTOR_SPKI,
                matching: int = MATCHING_SHA256) -> bytes:
    """The association data for `selector` (0 whole certificate, 1 SPKI) and `matching` (0 exact, 1 SHA-256,
    2 SHA-512), RFC 6698 2.1.2-2.1.3."""
    cert = load_certificate(certificate)
    if selector == 0:
        selected = cert.public_bytes(serialization.Encoding.DER)
    elif selector == 1:
        selected = spki(cert)
    else:
        raise ValueError(f"TLSA selector {selector}: 0 (certificate) or 1 (SubjectPublicKeyInfo)")
    if matching == 0:
        return selected
    if matching == 1:
        return hashlib.sha256(selected).digest()
    if matching == 2:
        return hashlib.sha512(selected).digest()
    raise ValueError(f"TLSA matching type {matching}: 0 (exact), 1 (SHA-256) or 2 (SHA-512)")


def tlsa_311(certificate: bytes | x509.Certificate) -> bytes:
    """SHA-256 of the SubjectPublicKeyInfo: DANE-EE(3) SPKI(1) SHA-256(1), what RFC 7672 3.1.1 recommends
    for SMTP (it survives a re-issued certificate with the same key)."""
    return association(certificate, SELECTOR_SPKI, MATCHING_SHA256)


def tlsa_311_text(certificate: bytes | x509.Certificate) -> str:
    """The TLSA RDATA as zone-file text: `3 1 1 <64 hex digits>`."""
    return f"{USAGE_DANE_EE} {SELECTOR_SPKI} {MATCHING_SHA256} {tlsa_311(certificate).hex().upper()}"
