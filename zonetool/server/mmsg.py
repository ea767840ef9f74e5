"""Batched datagram I/O: Linux recvmmsg(2)/sendmmsg(2) through ctypes, for the UDP loop.

Why: at ~150k queries/s most of a cache hit's cost is not the answer (about 1 us) but the two
system calls per datagram and the (host, port) tuple recvfrom builds and sendto parses back.
One recvmmsg takes every datagram already queued (NSD does the same) and one sendmmsg answers
them all; the client's address never leaves its sockaddr octets, because each reply slot points
at the name slot its query came in. The hot loop (in `udp.py`) touches only memoryviews over
these buffers: no ctypes attribute access per datagram.

Anything missing (not Linux, no libc symbol) makes `open_batch` return None and the UDP
server keeps its portable one-datagram loop.
"""

from __future__ import annotations

import ctypes
import socket
import struct
import sys
from dataclasses import dataclass
from typing import Any

MSG_WAITFORONE = 0x10000  # linux/socket.h: block for the first datagram only
SLOT = 65535  # a UDP payload's largest size: a query is never cut short, as with recvfrom(65535)


class _IOVec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class _MsgHdr(ctypes.Structure):
    _fields_ = [
        ("msg_name", ctypes.c_void_p),
        ("msg_namelen", ctypes.c_uint32),
        ("msg_iov", ctypes.c_void_p),
        ("msg_iovlen", ctypes.c_size_t),
        ("msg_control", ctypes.c_void_p),
        ("msg_controllen", ctypes.c_size_t),
        ("msg_flags", ctypes.c_int),
    ]


class _MMsgHdr(ctypes.Structure):
    _fields_ = [("msg_hdr", _MsgHdr), ("msg_len", ctypes.c_uint)]


_NAME = 128  # sizeof(struct sockaddr_storage)
_WORD = ctypes.sizeof(ctypes.c_size_t)
_M = ctypes.sizeof(_MMsgHdr)
_LEN_AT = _MMsgHdr.msg_len.offset
_NAME_AT = _MMsgHdr.msg_hdr.offset + _MsgHdr.msg_name.offset


def _address(buffer: bytearray) -> int:
    return ctypes.addressof(ctypes.c_char.from_buffer(buffer))


@dataclass
class Batch:
    """Buffers for `size` datagrams in and out, and the two calls over them.

    `recv()` returns how many arrived; datagram i is `rbuf[i*SLOT : i*SLOT + n]` with
    n = `lens[i*lstride + len_at]` (the mmsghdr array seen as uint32) and came from name slot i.
    Reply j goes into `sbuf[j*SLOT:]` with its length at `slens[2*j + 1]`; `send_from(first, count)`
    sends replies first..first+count-1, reply j to name slot j unless `aim(j, i)` points it at slot i.
    """

    size: int
    family: int
    rbuf: memoryview
    sbuf: memoryview
    lens: memoryview  # the recv mmsghdr array as uint32, for msg_len
    slens: memoryview  # send iovec array as size_t: (base, len) pairs
    names: bytearray
    lstride: int
    len_at: int
    _recv: object
    _send: object
    _fd: int
    _rmsgs: int
    _smsgs: int
    _sptrs: memoryview  # send mmsghdr array as size_t, to re-aim msg_name
    _name_base: int
    _keep: tuple[object, ...]

    def recv(self) -> int:
        """Block for one datagram, take up to `size`; -1 with errno set on error (or shutdown)."""
        return self._recv(self._fd, self._rmsgs, self.size, MSG_WAITFORONE, None)  # type: ignore[operator]

    def send_from(self, first: int, count: int) -> int:
        return self._send(self._fd, self._smsgs + first * _M, count, 0)  # type: ignore[operator]

    def aim(self, reply: int, query: int) -> None:
        self._sptrs[(reply * _M + _NAME_AT) // _WORD] = self._name_base + query * _NAME

    def peer(self, slot: int) -> tuple[Any, ...]:
        """Name slot `slot` as recvfrom would give it, for the slow path and the query log."""
        at = slot * _NAME
        (port,) = struct.unpack_from("!H", self.names, at + 2)
        if self.family == socket.AF_INET6:  # sockaddr_in6: port, flowinfo, address, scope id
            (flow,) = struct.unpack_from("!I", self.names, at + 4)
            (scope,) = struct.unpack_from("=I", self.names, at + 24)
            return socket.inet_ntop(socket.AF_INET6, bytes(self.names[at + 8 : at + 24])), port, flow, scope
        return socket.inet_ntop(socket.AF_INET, bytes(self.names[at + 4 : at + 8])), port


    def peers(self, count: int) -> bytes:
        """The first `count` slots' addresses as one copy of octets (for the query log; see `peer_in`)."""
        return bytes(self.names[: count * _NAME])

    def peer_in(self, blob: bytes, slot: int) -> tuple[str, int]:
        """Slot `slot`'s address from a `peers` copy, as (host, port)."""
        at = slot * _NAME
        (port,) = struct.unpack_from("!H", blob, at + 2)
        if self.family == socket.AF_INET6:
            return socket.inet_ntop(socket.AF_INET6, blob[at + 8 : at + 24]), port
        return socket.inet_ntop(socket.AF_INET, blob[at + 4 : at + 8]), port


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # the process's own symbols, libc's among them
        recv, send = libc.recvmmsg, libc.sendmmsg
    except (OSError, AttributeError):
        return None
    recv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_void_p]
    send.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
    recv.restype = send.restype = ctypes.c_int
    return libc


def open_batch(sock: socket.socket, size: int = 64) -> Batch | None:
    """Batch buffers over `sock` (blocking, AF_INET or AF_INET6), or None where recvmmsg is unavailable."""
    libc = _libc()
    if libc is None or sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.gettimeout() is not None:
        return None
    namelen = 16 if sock.family == socket.AF_INET else 28  # sockaddr_in / sockaddr_in6
    rbuf, sbuf, names = bytearray(size * SLOT), bytearray(size * SLOT), bytearray(size * _NAME)
    sraw_iov = bytearray(size * ctypes.sizeof(_IOVec))
    riov = (_IOVec * size).from_buffer(bytearray(size * ctypes.sizeof(_IOVec)))
    siov = (_IOVec * size).from_buffer(sraw_iov)
    rraw, sraw = bytearray(size * _M), bytearray(size * _M)
    rmsgs, smsgs = (_MMsgHdr * size).from_buffer(rraw), (_MMsgHdr * size).from_buffer(sraw)
    rbase, sbase, nbase = _address(rbuf), _address(sbuf), _address(names)
    for i in range(size):
        riov[i].iov_base, riov[i].iov_len = rbase + i * SLOT, SLOT
        siov[i].iov_base, siov[i].iov_len = sbase + i * SLOT, 0
        for msgs, iov in ((rmsgs, riov), (smsgs, siov)):
            hdr = msgs[i].msg_hdr
            hdr.msg_name, hdr.msg_namelen = nbase + i * _NAME, namelen
            hdr.msg_iov, hdr.msg_iovlen = ctypes.addressof(iov[i]), 1
    return Batch(
        size=size,
        family=sock.family,
        rbuf=memoryview(rbuf),
        sbuf=memoryview(sbuf),
        lens=memoryview(rraw).cast("I"),
        slens=memoryview(sraw_iov).cast("N"),
        names=names,
        lstride=_M // 4,
        len_at=_LEN_AT // 4,
        _recv=libc.recvmmsg,
        _send=libc.sendmmsg,
        _fd=sock.fileno(),
        _rmsgs=ctypes.addressof(rmsgs),
        _smsgs=ctypes.addressof(smsgs),
        _sptrs=memoryview(sraw).cast("N"),
        _name_base=nbase,
        _keep=(riov, siov, rmsgs, smsgs, rraw, sraw, sraw_iov, rbuf, sbuf),
    )
