"""DNSSEC signing, pure (RFC 4033-4035, RFC 5155, RFC 9276): keys, canonical form, RRSIG, NSEC, NSEC3, DS.

No files, no sockets, no clock: keys come in as `Key` objects (zonetool.source.dnskeys reads and
writes BIND's key files), the signing window as numbers. Cryptography is the `cryptography`
package's (the dependency DKIM keys already load with).
"""

from typing import Any

from zonetool.dnssec.policy import ALGORITHMS, DEFAULTS, DnssecError, Policy, Window, window

# the cryptography-backed parts load on first use: the `dnssec:` block (in every compile) needs only the policy
_LAZY = {"Key": "keys", "ds_rdata": "keys", "generate": "keys", "key_tag": "keys", "SigningError": "sign",
         "sign_zone": "sign"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'zonetool.dnssec' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"zonetool.dnssec.{module}"), name)


__all__ = ["ALGORITHMS", "DEFAULTS", "DnssecError", "Key", "Policy", "SigningError", "Window", "ds_rdata",
           "generate", "key_tag", "sign_zone", "window"]
