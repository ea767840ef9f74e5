"""The cyclic garbage collector paused while a burst of acyclic objects is made.

Building a zone, unpacking a snapshot and signing make hundreds of thousands of small objects that
form no cycles; each allocation burst would have the collector walk everything made so far
(measured: about a third of a 100k-record load, half of an incremental re-sign, most of a
snapshot zone's unpacking). Reference counting still frees them.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused(freeze: bool = False) -> Iterator[None]:
    """No cyclic collection inside; `freeze`: what was made is left out of every later collection.

    Freeze where what was made is kept, or is acyclic: everything built while paused sits in the
    youngest generation, so the next collections would walk it all (gen0, gen1, then a full pass:
    ~0.4-0.6 s for 100k records, measured). A one-shot command keeps it to the end anyway; a
    server's snapshot (serve --cache) is acyclic, so reference counting frees it on a reload. Not
    for the zones a server builds from files: a cycle among them would never be collected.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was:
            gc.enable()
