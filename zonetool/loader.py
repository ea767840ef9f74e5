"""Where the edges meet the core: files and folders -> compiled Zones plus every finding, placed.

Pipeline for one YAML file: read -> `source.yaml.load` (plain data) -> `compile.compile_zone`
-> `rules.run_rules` -> the zone's `silence:` -> line:column for every finding (the YAML
edge replays the file only when there is a finding to place). BIND files (`*.zone`) go
through `source.bind.read_zone` and the same rules. The CLI, the server and the editing
commands all load zones through here, so they judge a zone the same way.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from zonetool.findings import Finding, Severity, Where, error, not_utf8, warning
from zonetool.gcpause import paused
from zonetool.zone import Zone

if TYPE_CHECKING:
    from zonetool.crosszone import Refiner

YAML_SUFFIXES = (".yaml", ".yml")
BIND_SUFFIX = ".zone"
ZONE_SUFFIXES = (*YAML_SUFFIXES, BIND_SUFFIX)  # what a folder scan takes (and the server's watcher follows)
# Findings that mean "this file is not a YAML zone at all" (the CLI exits 2 for them).
NOT_YAML = frozenset(("yaml-syntax", "yaml-limit", "not-text", "not-a-mapping"))


@dataclass(frozen=True)
class Policy:
    """How the caller runs, given to the loader by the caller (no module state to set and restore).

    `one_shot`: the process builds its zones once, keeps them to its end and runs no other thread
    (validate, compile, export, import); loading then freezes what it built (see _no_gc).
    `fork`: the rules of a big zone may run half in a forked child (see _run_rules); only safe
    where no other thread could be caught holding a lock, so a server never asks for it.
    `compiled(zone)`: called for each zone built without errors, before its rules run (export
    starts writing the BIND text of a big zone then, on the core the rules leave).
    `cross_zone`: False when the caller runs `crosszone.refine` over every zone it loads (load_listed,
    a server): the rules that read other zones are left to it, so they run once per zone, not twice.
    """

    one_shot: bool = False
    fork: bool = False
    compiled: Callable[[Zone], None] | None = None
    cross_zone: bool = True

    def with_compiled(self, compiled: Callable[[Zone], None] | None) -> Policy:
        return replace(self, compiled=compiled)

    def refined(self) -> Policy:
        """This policy with the cross-zone rules left to `crosszone.refine`."""
        return replace(self, cross_zone=False)


LONG_RUNNING = Policy()  # serve, the testing harness, the editing commands: nothing frozen, nothing forked
ONE_SHOT_COMMAND = Policy(one_shot=True, fork=True)  # validate, compile, export, import


class LoadError(Exception):
    """A usage problem: a path that does not exist, a folder without zones, an unreadable file."""


@dataclass
class Loaded:
    zones: list[Zone] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)  # what listing the folders found (skipped files)

    def has_errors(self, strict: bool = False) -> bool:
        return has_errors(self.findings, strict)


def has_errors(findings: Iterable[Finding], strict: bool = False) -> bool:
    """True if a finding that is not silenced is an error (or a warning, with `strict`)."""
    return any(f.silenced is None and (strict or f.severity is Severity.ERROR) for f in findings)


def build_errors(findings: Iterable[Finding]) -> list[Finding]:
    """The errors of the reader and compiler (not of the rules): a zone with one is not whole."""
    from zonetool.rules import RULES

    return [f for f in findings if f.severity is Severity.ERROR and f.silenced is None and f.code not in RULES]


def serving_blockers(findings: Iterable[Finding], strict: bool = False) -> list[Finding]:
    """The findings that keep a zone from being served (issue 10: serve what NSD serves).

    Served as they are: every rule finding, errors included (a sender lab needs broken zones),
    except the rules NSD itself refuses a zone for (`Rule.unservable`, even when silenced).
    Never served: what could not be built (the reader's and compiler's errors). `strict`
    (`serve --strict`) adds every error that is not silenced, as `export` judges.
    """
    from zonetool.rules import RULES

    def blocks(f: Finding) -> bool:
        rule = RULES.get(f.code)
        if rule is not None and rule.unservable:
            return True
        return f.severity is Severity.ERROR and f.silenced is None and (strict or rule is None)

    return [f for f in findings if blocks(f)]


def sort_key(f: Finding) -> tuple[str, int, int]:
    return (f.where.file or "", f.where.line or 0, f.where.column or 0)


# ---------------------------------------------------------------------------
# one zone
# ---------------------------------------------------------------------------
def load_mapping(
    data: Mapping[str, object] | object, file: str | None = None, policy: Policy = LONG_RUNNING
) -> tuple[Zone | None, list[Finding]]:
    """Compile loaded data and judge it: findings carry spec paths (no line numbers)."""
    from zonetool.compile import compile_zone

    zone, findings = compile_zone(data, file)
    if zone is not None:
        if policy.compiled is not None and not has_errors(findings):
            policy.compiled(zone)
        judged = judge(zone, policy)
        if any(f.code == "missing-key" and f.where.path[:1] == ("soa",) for f in findings):
            judged = [f for f in judged if f.code != "soa-missing"]  # the compiler already said why there is none
        findings.extend(judged)
        if zone.faults_spec:  # the sender harness's `faults:` (issue 4), checked here so they get line:column
            from zonetool.faults import FaultSet

            findings.extend(FaultSet.from_spec(zone.faults_spec, zone.origin, file, zone.dnssec is not None)[1])
    return zone, findings


def judge(zone: Zone, policy: Policy = LONG_RUNNING) -> list[Finding]:
    """The rules' findings for a built zone, with the zone's own `silence:` applied."""
    from zonetool.rules import RULES, apply_silence

    findings = _run_rules(zone, policy)
    silence = zone.silence
    if not silence:
        return findings
    findings = apply_silence(findings, silence)
    known = list(RULES)
    for code in silence:
        if code not in RULES:
            close = difflib.get_close_matches(code, known, n=1)
            findings.append(warning("unknown-code", f"silence names `{code}`, which is no rule's code",
                                    Where(zone.file, path=("silence", code)),
                                    hint=f"did you mean `{close[0]}`?" if close else "see `zonetool rules`"))
    return findings


def _run_rules(zone: Zone, policy: Policy = LONG_RUNNING) -> list[Finding]:
    """`run_rules(zone)`, the same findings in the same order; for a big zone, when the policy
    allows forking, every other rule runs in a forked child (1.3 s of rules at 100k records -> ~0.8 s)."""
    from zonetool import forked
    from zonetool.rules import RULES, run_rules

    codes = [code for code, r in RULES.items() if policy.cross_zone or not r.cross_zone]
    if not policy.fork or len(zone) < forked.MIN_RECORDS:
        return run_rules(zone, only=None if policy.cross_zone else codes)
    theirs = codes[1::2]
    child = forked.start(lambda: run_rules(zone, only=theirs))
    mine = run_rules(zone, only=codes[0::2])
    other = child.result() if child is not None else None
    if other is None:  # no child, or it did not finish: run its rules here
        other = run_rules(zone, only=theirs)
    order = {code: i for i, code in enumerate(codes)}
    return sorted(mine + other, key=lambda f: order[f.code])  # stable: each rule's own order is kept


def _no_gc(policy: Policy = LONG_RUNNING) -> contextlib.AbstractContextManager[None]:
    """The collector paused while a zone is built; frozen after it in a one-shot command (gcpause)."""
    return paused(freeze=policy.one_shot)


def load_text(
    text: str | bytes, file: str | None = None, policy: Policy = LONG_RUNNING
) -> tuple[Zone | None, list[Finding]]:
    """A YAML zone from its text; every finding gets its line and column."""
    with _no_gc(policy):
        return _load_text(text, file, policy)


def _load_text(text: str | bytes, file: str | None, policy: Policy) -> tuple[Zone | None, list[Finding]]:
    from zonetool.source import yaml as yaml_source

    try:
        text = yaml_source.decode(text, file)
        data, findings = yaml_source.load(text, file)
    except yaml_source.YamlSyntax as exc:
        return None, [exc.finding]
    if not isinstance(data, dict):
        return None, [*findings, _not_a_mapping(data, text, file)]
    zone, more = load_mapping(data, file, policy)
    return zone, yaml_source.locate(findings + more, text, file)


def _not_a_mapping(data: object, text: str, file: str | None) -> Finding:
    if data is None:
        return error("not-a-mapping", "the file is empty: a zone file is a mapping with at least `origin:`",
                     Where(file, 1, 1), hint="origin: example.com")
    kind = "a list" if isinstance(data, list) else "a single value"
    hint = "a zone file is a mapping: origin: example.com, records: {...}"
    if any(token in text for token in ("$ORIGIN", "$TTL", " SOA ", "\tSOA\t", " IN ")):
        hint = "this looks like a BIND zone file: convert it with `zonetool import FILE --origin NAME`"
    return error("not-a-mapping", f"the file holds {kind}, not a zone (a YAML mapping)", Where(file, 1, 1), hint=hint)


STDIN = "-"  # a path of "-" is standard input (a YAML zone, or BIND text for import)


def read_bytes(path: str | Path) -> bytes:
    """A file's bytes (a FIFO or `<(command)` too: read to its end), or LoadError saying why not."""
    file = str(path)
    if file == STDIN:
        import sys

        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except IsADirectoryError:
        raise LoadError(f"{file}: is a folder, not a zone file") from None
    except FileNotFoundError:
        raise LoadError(f"{file}: {missing_reason(Path(path))}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LoadError(f"{file}: symbolic link loop") from None
        raise LoadError(f"{file}: cannot read: {exc.strerror}") from None


def missing_reason(p: Path) -> str:
    """Why a path that does not resolve is missing: gone, a dangling link, or a link loop (one wording
    for every command: `PATH: no such file or folder`)."""
    try:
        os.stat(p)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        if p.is_symlink():
            return f"symbolic link to {os.readlink(p)}, which does not exist"
    return "no such file or folder"


def load_file(path: str | Path, policy: Policy = LONG_RUNNING) -> tuple[Zone | None, list[Finding]]:
    """One zone file (YAML, or BIND for `*.zone`); raises LoadError if it cannot be read."""
    p = Path(path)
    file = str(path)
    data = read_bytes(p)
    if p.suffix == BIND_SUFFIX:
        return _load_bind(data, p, file, policy)
    return load_text(data, file, policy)


def _load_bind(data: bytes, p: Path, file: str, policy: Policy) -> tuple[Zone | None, list[Finding]]:
    """A master file named ORIGIN.zone, read by the BIND edge and judged by the same rules."""
    import importlib.util

    if importlib.util.find_spec("zonetool.source.bind") is None:
        raise LoadError(f"{file}: BIND zone files are not supported by this build")
    from zonetool.source import bind

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:  # other octets belong in \DDD escapes, as `zonetool import` says too
        return None, [not_utf8(data, exc, file, hint="write octets above 127 as \\DDD escapes")]
    # the origin: the file's own $ORIGIN, else its name (example.com.zone -> example.com.)
    found = bind.origin_from_text(text)
    origin = found.to_text() if found is not None else p.name[: -len(BIND_SUFFIX)]
    try:
        with _no_gc(policy):
            zone, warnings = bind.read_zone_with_warnings(text, origin, file, base_dir=p.parent)
    except bind.BindSyntaxError as exc:
        return None, [error("bind-syntax", exc.message, exc.where)]
    # The reader's `no-soa` warning is for import; here the soa-missing rule reports it (as an error).
    if policy.compiled is not None:
        policy.compiled(zone)
    return zone, [*(w for w in warnings if w.code != "no-soa"), *judge(zone, policy)]


# ---------------------------------------------------------------------------
# many zones
# ---------------------------------------------------------------------------
def zone_files(
    paths: Iterable[str | Path], notes: list[Finding] | None = None, empty_ok: bool = False
) -> list[Path]:
    """The zone files named by `paths`: files as given, folders by their *.yaml, *.yml, *.zone.

    Given by name, anything readable is read (a FIFO: `zonetool validate <(generate)`). Found in
    a folder, only regular files are: a FIFO there would block the scan, a device or a link loop
    is no zone. Those are skipped, each with a `skipped-file` warning appended to `notes`. A
    folder without zone files is a LoadError, unless `empty_ok` (a server whose folder was emptied
    for a moment keeps serving what it had).
    """
    return [Path(name) for name in zone_names(paths, notes, empty_ok)]


def zone_names(
    paths: Iterable[str | Path], notes: list[Finding] | None = None, empty_ok: bool = False
) -> list[str]:
    """`zone_files` as strings, spelled as str(Path) would: a Path per file costs ~10 us, 0.1 s at
    10,000 zone files, and a server's (warm) start needs none of them."""
    out: list[str] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found: list[str] = []
            prefix = str(p)
            # os.scandir: the entry knows its type without a stat, which counts at 10,000 zone files
            with os.scandir(p) as scan:
                entries = sorted((e for e in scan if not e.name.startswith(".") and e.name.endswith(ZONE_SUFFIXES)),
                                 key=lambda e: e.name)
            for entry in entries:
                f = entry.name if prefix == "." else os.path.join(prefix, entry.name)
                try:
                    regular = entry.is_file()
                except OSError:  # a link loop: skipped below, with its note
                    regular = False
                if regular:
                    found.append(f)
                elif notes is not None:
                    why = missing_reason(Path(f)) if not os.path.exists(f) else \
                        "not a regular file (a FIFO, socket or device)"
                    notes.append(warning("skipped-file", f"skipped: {why}", Where(f),
                                         hint="give it by name to read it anyway"))
            if not found and not empty_ok:
                raise LoadError(f"{raw}: no zone files (*.yaml, *.yml, *.zone) in this folder")
            out.extend(found)
        elif p.exists() or str(raw) == STDIN:
            out.append(str(p))
        else:
            raise LoadError(f"{raw}: {missing_reason(p)}")
    return out


def load_paths(
    paths: Iterable[str | Path],
    load: Callable[[Path], tuple[Zone | None, list[Finding]]] | None = None,
    empty_ok: bool = False,
    policy: Policy = LONG_RUNNING,
    refiner: Refiner | None = None,
) -> Loaded:
    """Every zone under `paths`; raises LoadError for usage problems, reports the rest as findings.

    `load` reads one file (default `load_file` with `policy`); a long-running server passes one
    that reuses what it built for files that did not change, so a reload costs what changed, not
    the whole set, and its `refiner` (zonetool.crosszone) re-runs the cross-zone rules only where
    a change can reach. `empty_ok`: see `zone_files`.
    """
    notes: list[Finding] = []
    files = zone_names(paths, notes, empty_ok)
    return load_listed(files, notes, load, policy, refiner)


def load_listed(
    files: Sequence[str | Path],
    notes: Iterable[Finding] = (),
    load: Callable[[Path], tuple[Zone | None, list[Finding]]] | None = None,
    policy: Policy = LONG_RUNNING,
    refiner: Refiner | None = None,
) -> Loaded:
    """`load_paths` of files already listed (`zone_files`), `notes` being what the listing found
    (its skipped-file warnings, which come first): a server that knows from inotify which files
    changed lists a 10,000-file folder without scanning it again."""
    loaded = Loaded(notes=list(notes))
    loaded.findings.extend(loaded.notes)
    origins: dict[object, str] = {}
    own = policy.refined()  # refine below runs the cross-zone rules of every zone, once
    for p in files:
        file = str(p)
        zone, findings = load(p) if load is not None else load_file(p, own)  # type: ignore[arg-type]
        findings = list(findings)  # the duplicate-origin finding below must not land in a cached list
        loaded.files.append(file)
        if zone is not None:
            first = origins.setdefault(zone.origin, file)
            if first != file:
                findings.append(_duplicate_origin(zone, first, Path(p)))
            loaded.zones.append(zone)
        loaded.findings.extend(findings)
    return across(loaded, refiner)


def across(loaded: Loaded, refiner: Refiner | None = None) -> Loaded:
    """What zones loaded together get from each other, in place: the DMARC report consent records
    (RFC 7489 7.1) and the findings of the rules that read other zones (SPF includes, DMARC reports).
    A server that patches its last load with the files that changed calls it too."""
    from zonetool.blocks.mailpolicy import Consents, authorize_reports
    from zonetool.crosszone import refine

    kept = None
    if refiner is not None:
        kept = refiner.consents = refiner.consents or Consents()
    loaded.zones = authorize_reports(loaded.zones, kept)
    loaded.findings = refine(loaded.zones, loaded.findings, refiner)
    return loaded


def _duplicate_origin(zone: Zone, first: str, p: Path) -> Finding:
    f = error("duplicate-origin", f"zone {zone.origin} is also defined in {first}", Where(str(p), path=("origin",)),
              hint="one zone per origin: merge the files or change an origin")
    if p.suffix in YAML_SUFFIXES:
        from zonetool.source import yaml as yaml_source

        text = yaml_source.decode(p.read_bytes(), str(p))
        return yaml_source.locate([f], text, str(p))[0]
    return f


def record_positions(zone: Zone) -> dict[tuple[str | int, ...], tuple[int, int]]:
    """Line and column of the YAML node behind each record of a zone loaded from a YAML file."""
    if zone.file is None or not zone.file.endswith(YAML_SUFFIXES):
        return {}
    from zonetool.source import yaml as yaml_source

    try:
        text = yaml_source.decode(Path(zone.file).read_bytes(), zone.file)
    except (OSError, yaml_source.YamlSyntax):
        return {}
    paths = {r.where.path for r in zone.records()}
    trie = yaml_source.Positions(text).resolve(paths)
    out: dict[tuple[str | int, ...], tuple[int, int]] = {}
    for path in paths:
        pos = yaml_source.lookup(trie, path, False)
        if pos is not None:
            out[path] = pos
    return out
