"""Binding one UDP and one TCP socket on the same address and port (DNS serves both, RFC 7766).

Port 0 asks the kernel for a free TCP port and then binds UDP to that number, retrying if
UDP happens to be taken there. Errors come out as `BindError` with a message a person can act on.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import socket

UDP_BUFFER = 4 << 20  # a burst from a load generator must not overflow the kernel queue


class BindError(OSError):
    """The address or port cannot be used; `strerror` says why in words a person can act on."""

    def __init__(self, message: str, code: int = errno.EINVAL) -> None:
        super().__init__(code, message)

    def __str__(self) -> str:
        return self.strerror or ""


def family_of(address: str) -> socket.AddressFamily:
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        raise BindError(f"{address!r} is not an IP address (give e.g. 127.0.0.1 or ::1)") from None
    return socket.AF_INET6 if ip.version == 6 else socket.AF_INET


def _bind(kind: int, family: socket.AddressFamily, address: str, port: int, reuseport: bool) -> socket.socket:
    sock = socket.socket(family, kind)
    try:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart without TIME_WAIT trouble
        else:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_BUFFER)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, UDP_BUFFER)
        if reuseport:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((address.strip("[]"), port))
        if kind == socket.SOCK_STREAM:
            sock.listen(1024)
        return sock
    except BaseException:
        sock.close()
        raise


def _explain(exc: OSError, address: str, port: int) -> BindError:
    where = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return BindError(f"port {port} on {address} is already in use (another server?); "
                         f"choose another with --port, or --port 0 for a free one", exc.errno)
    if exc.errno == errno.EACCES:
        return BindError(f"no permission to listen on {where} (ports below 1024 need privileges)", exc.errno)
    if exc.errno == errno.EADDRNOTAVAIL:
        return BindError(f"address {address} is not configured on this machine", exc.errno)
    return BindError(f"cannot listen on {where}: {exc.strerror or exc}", exc.errno or errno.EINVAL)


def bind_pair(address: str, port: int, *, reuseport: bool = False) -> tuple[socket.socket, socket.socket]:
    """(udp, tcp) bound to the same address and port; `port` 0 picks a free one."""
    family = family_of(address)
    attempts = 20 if port == 0 else 1
    last: OSError | None = None
    for _ in range(attempts):
        try:
            tcp = _bind(socket.SOCK_STREAM, family, address, port, reuseport)
        except OSError as exc:
            raise _explain(exc, address, port) from None
        chosen = tcp.getsockname()[1]
        try:
            udp = _bind(socket.SOCK_DGRAM, family, address, chosen, reuseport)
        except OSError as exc:
            tcp.close()
            last = exc
            if port == 0 and exc.errno == errno.EADDRINUSE:
                continue  # the free TCP port is busy for UDP: ask again
            raise _explain(exc, address, chosen) from None
        return udp, tcp
    assert last is not None
    raise _explain(last, address, port)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or `localhost` (a scope id, `fe80::1%lo`, is ignored): what only this machine reaches."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False
