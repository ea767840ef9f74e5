"""`serve --catalog NAME`: the served zone files plus the catalog zone that lists them (RFC 9432).

A `ZoneSource` whose every load adds the catalog (zonetool.catalog) to the zones it hands over, so
the runner swaps it in, keeps its IXFR history and sends NOTIFY for it like for any changed zone.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from zonetool.catalog import Catalog
from zonetool.names import Name
from zonetool.server.zonesource import GRACE, Outcome, ZoneSource


class CatalogSource(ZoneSource):
    """The zone files of `paths`, and the catalog `catalog` listing every zone served from them."""

    def __init__(self, paths: Sequence[str | os.PathLike[str]], catalog: Name, *, strict: bool = False,
                 grace: float = GRACE) -> None:
        super().__init__(paths, strict=strict, grace=grace)
        self.catalog = Catalog(catalog)

    def load(self, full: bool = False, changed: Iterable[str] | None = None) -> Outcome:
        outcome = super().load(full, changed)
        if outcome.zones is None:
            return outcome
        name = self.catalog.name
        zones = [z for z in outcome.zones if z.origin != name]  # the catalog's name is the catalog's
        zone, changed = self.catalog.update(z.origin for z in zones)
        outcome.zones = [*zones, zone]
        if changed and name not in outcome.changed:
            outcome.changed.append(name)
        return outcome
