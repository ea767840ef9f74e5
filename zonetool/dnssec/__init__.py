"""DNSSEC signing, pure (RFC 4033-4035, RFC 5155, RFC 9276): keys, canonical form, RRSIG, NSEC, NSEC3, DS.

No files, no sockets, no clock: keys come in as `Key` objects (zonetool.source.dnskeys reads and
writes BIND's key files), the signing window as numbers. Cryptography is the `cryptography`
package's (the dependency DKIM keys already load with).
"""

from zonetool.dnssec.keys import Key, ds_rdata, generate, key_tag
from zonetool.dnssec.policy import ALGORITHMS, DEFAULTS, DnssecError, Policy, Window, window
from zonetool.dnssec.sign import SigningError, sign_zone

__all__ = ["ALGORITHMS", "DEFAULTS", "DnssecError", "Key", "Policy", "SigningError", "Window", "ds_rdata",
           "generate", "key_tag", "sign_zone", "window"]
