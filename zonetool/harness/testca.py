"""A throw-away certificate authority for the sender lab: made at start, one leaf per exchanger host.

The SMTP sinks offer STARTTLS with the leaf of their exchanger, the MTA-STS policy hosts serve
HTTPS with theirs, and a sender told to trust `ca_pem` (Postfix `smtp_tls_CAfile`, exim
`tls_verify_certificates`, Python's `ssl.create_default_context(cafile=...)`) verifies both, as it
would a public CA's. `serve --smtp --dane` publishes `3 1 1` of each leaf (zonetool.mailpolicy.dane).

Made with `cryptography` (a dependency already, for DKIM keys) rather than trustme: trustme is a
test helper on top of the same package; this CA is part of `zonetool serve` itself, and needs only
a few builder calls. Keys are ECDSA P-256: a key takes well under a millisecond (RSA 2048: ~50 ms,
once per exchanger), and every TLS stack a sender uses (OpenSSL, GnuTLS) speaks it.

Making keys and certificates is pure (octets out); `server_context` and `write_ca` are the edges
(an `ssl.SSLContext` loads its chain from files, written to the CA's private folder).
"""

from __future__ import annotations

import contextlib
import datetime
import re
import shutil
import ssl
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from zonetool.atomic import write_atomic

VALIDITY = datetime.timedelta(days=30)
SKEW = datetime.timedelta(hours=1)  # valid from an hour ago: a sender's clock a little behind still accepts


@dataclass(frozen=True, slots=True)
class Leaf:
    """One host's certificate and key (PEM), issued by the test CA."""

    host: str  # the name, lower case, no trailing dot
    certificate: x509.Certificate
    cert_pem: bytes
    key_pem: bytes

    @property
    def chain_pem(self) -> bytes:
        return self.cert_pem


def host_key(host: str) -> str:
    """`MX1.Example.com.` -> `mx1.example.com`: the name a certificate is for."""
    return host.rstrip(".").lower()


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "zonetool sender lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common[:64])])


class TestCA:
    """A CA key and self-signed certificate, and leaves issued on demand (one per host, kept)."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, name: str = "zonetool test CA") -> None:
        now = datetime.datetime.now(datetime.UTC)
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = _name(name)
        ski = x509.SubjectKeyIdentifier.from_public_key(self.key.public_key())
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - SKEW)
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.ca_pem = self.certificate.public_bytes(serialization.Encoding.PEM)
        self._leaves: dict[str, Leaf] = {}
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        self._folder: Path | None = None

    # -- pure: certificates ---------------------------------------------------------------
    def leaf(self, host: str) -> Leaf:
        """The certificate for `host` (issued the first time, the same one after): its name is the
        subjectAltName dNSName senders check (RFC 6125 6.4; the CN is not used)."""
        key_name = host_key(host)
        with self._lock:
            found = self._leaves.get(key_name)
            if found is None:
                found = self._leaves[key_name] = self._issue(key_name)
            return found

    def _issue(self, host: str) -> Leaf:
        now = datetime.datetime.now(datetime.UTC)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(host))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - SKEW)
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        return Leaf(host, cert, cert.public_bytes(serialization.Encoding.PEM), key_pem)

    # -- edges: files and TLS contexts ----------------------------------------------------------
    def write_ca(self, path: str | Path) -> Path:
        """The CA certificate (PEM) at `path`, written atomically (a sender reading it never sees half)."""
        path = Path(path)
        write_atomic(path, self.ca_pem)
        return path

    def folder(self) -> Path:
        """A private folder (0700) for the leaves' key files, removed by `close()`."""
        with self._lock:
            if self._folder is None:
                self._folder = Path(tempfile.mkdtemp(prefix="zonetool-tls-"))
            return self._folder

    def server_context(self, host: str) -> ssl.SSLContext:
        """A server-side TLS context presenting `host`'s certificate (made once per host, shared)."""
        key_name = host_key(host)
        with self._lock:
            found = self._contexts.get(key_name)
        if found is not None:
            return found
        context = self.new_context(key_name)
        with self._lock:
            return self._contexts.setdefault(key_name, context)

    def new_context(self, host: str) -> ssl.SSLContext:
        """A fresh server-side TLS context with `host`'s certificate (one to give its own SNI callback)."""
        cert_file, key_file = self._files(host)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2  # RFC 8996: TLS 1.0 and 1.1 are gone
        context.load_cert_chain(cert_file, key_file)
        return context

    def _files(self, host: str) -> tuple[Path, Path]:
        """The leaf's certificate and key files in the private folder (0700: the keys are ours alone)."""
        leaf = self.leaf(host)
        folder = self.folder()
        stem = re.sub(r"[^a-z0-9._-]", "_", leaf.host) or "_root"
        cert_file, key_file = folder / f"{stem}.crt", folder / f"{stem}.key"
        if not key_file.exists():
            write_atomic(key_file, leaf.key_pem)
            write_atomic(cert_file, leaf.chain_pem)
        return cert_file, key_file

    def close(self) -> None:
        """Remove the key files (the contexts already loaded keep working)."""
        with self._lock:
            folder, self._folder = self._folder, None
        if folder is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(folder)


def publish(ca: TestCA, out: str | Path | None = None) -> tuple[Path, Path | None]:
    """Write the CA certificate where senders can read it: `out`, or `ca.pem` in a new world-readable
    temporary folder (an MTA's unprivileged delivery process reads it). Returns (path, folder to
    remove at the end, or None when the user named the file: theirs to keep)."""
    if out is not None:
        return ca.write_ca(out), None
    folder = Path(tempfile.mkdtemp(prefix="zonetool-ca-"))
    folder.chmod(0o755)
    path = ca.write_ca(folder / "ca.pem")
    path.chmod(0o644)
    return path, folder
