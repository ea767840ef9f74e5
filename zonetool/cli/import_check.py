"""The YAML `zonetool import` writes, and the check of its promise: it compiles back to exactly
the records read.

The check is never skipped; for a big zone it and the writing of the records run on two cores.
The YAML is a head (`yaml_head`: the document without its records, a zone of its own) and the
records' entries, which are cut by node into two runs (`yaml_records`). Run k is right when
head + run k compiles to the zone's records at run k's nodes plus whatever the head alone
compiles to, and the head is right when all it compiles to is in the zone. Every node is in
exactly one run, so a record lost or added anywhere fails one of these. A forked child writes
and checks the second run while this process does the first: on a 100k-record zone about 1.5 s
of a 5-6 s import. Where fork is missing or the child fails, the work is done here in turn.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields as dc_fields
from typing import TYPE_CHECKING

from zonetool import forked
from zonetool.names import Name

if TYPE_CHECKING:
    from zonetool.source.yaml_emit import Layout
    from zonetool.zone import Zone

Row = tuple[tuple[bytes, ...], int, int, tuple[object, ...]]
Result = tuple[str, list[str], list[str]]  # (records text, differences, compiler messages)


def rows(zone: Zone | None, names: Iterable[Name] | None = None) -> set[Row]:
    """Each record as (owner labels, TTL, type, data fields with names as raw labels): exact
    octets and the letter case of every name, without printing 200,000 records. Nodes are
    walked unsorted (a set needs no order): the check of a 100k-record zone went from 1.35 s
    (presentation text) to ~0.3 s."""
    if zone is None:
        return set()
    field_names: dict[type, tuple[str, ...]] = {}

    def exact(rdata: object) -> tuple[object, ...]:
        cls = rdata.__class__
        names = field_names.get(cls)
        if names is None:
            names = field_names[cls] = tuple(f.name for f in dc_fields(cls))  # type: ignore[arg-type]
        return (cls, *[v.labels if v.__class__ is Name else v for v in map(rdata.__getattribute__, names)])

    nodes = zone.nodes.values() if names is None else (zone.nodes[n] for n in names)
    # the RRset's spelling is what named keeps and prints for every record of the set
    return {
        (rrset.owner.labels, r.ttl, r.code, exact(r.rdata))
        for node in nodes
        for rrset in node.values()
        for r in rrset.records
    }


def describe(want: set[Row], got: set[Row]) -> list[str]:
    """'lost' lines for rows of `want` missing from `got`, 'added' for the other way round."""
    diff = sorted((Name(row[0]).to_text(), row[1], row[2], row in want) for row in want ^ got)
    return [f"{'lost' if lost else 'added'}: {owner} {ttl} type {code}" for owner, ttl, code, lost in diff]


def _without_default_soa(zone: Zone, got: set[Row]) -> set[Row]:
    if zone.soa is None:  # the YAML side gets the format's default SOA; that is not a loss
        return {row for row in got if row[2] != 6}
    return got


def _compile(text: str, label: str) -> tuple[Zone | None, list[str]]:
    from zonetool.compile import compile_zone
    from zonetool.source import yaml as yaml_source

    spec, _ = yaml_source.load(text, label)
    zone, problems = compile_zone(spec, label)
    return zone, [f.format() for f in problems]


def _run(zone: Zone, head: str, head_rows: set[Row], layout: Layout, names: list[Name], label: str) -> Result:
    """Write the records of `names` and check head + them."""
    from zonetool.source.yaml_emit import with_records_key, yaml_records

    text = yaml_records(zone, names, layout)
    again, messages = _compile(head + with_records_key(text), label)
    lost = [] if again is not None else ["the YAML does not compile"]
    lost += describe(rows(zone, names) | head_rows, _without_default_soa(zone, rows(again)))
    return text, lost, messages


def checked_yaml(zone: Zone, label: str) -> Result:
    """(the YAML text of `zone`, differences, compiler messages); no differences = keep the text."""
    from zonetool.source.yaml_emit import with_records_key, yaml_head

    head, layout = yaml_head(zone)
    names = list(zone.names())
    if len(zone) < forked.MIN_RECORDS:  # the whole text in one check
        text, lost, messages = _run(zone, head, set(), layout, names, label)
        return head + with_records_key(text), lost, messages
    head_zone, messages = _compile(head, label)
    if head_zone is None:
        return head, ["the YAML's head does not compile"], messages
    head_rows = _without_default_soa(zone, rows(head_zone))
    owners = [n for n in {Name(row[0]) for row in head_rows} if n in zone.nodes]
    lost = describe(rows(zone, owners), rows(zone, owners) | head_rows)  # the head adds nothing
    half = len(names) // 2
    child = forked.start(lambda: _run(zone, head, head_rows, layout, names[half:], label))
    first = _run(zone, head, head_rows, layout, names[:half], label)
    second = child.result() if child is not None else None
    if second is None:  # no child, or it did not finish: do its part here
        second = _run(zone, head, head_rows, layout, names[half:], label)
    return (
        head + with_records_key(first[0] + second[0]),
        lost + first[1] + second[1],
        messages + first[2] + second[2],
    )
