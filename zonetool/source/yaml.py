"""The YAML edge: zone files -> plain data, and a spec path -> (line, column) when a finding needs one.

Why this design (measured on a generated 100,000-record zone, 2.8 MB, on the 2-core dev machine):

    ruamel.yaml typ='rt'                         68 s   (issue 6)
    ruamel.yaml typ='safe', C parser             12.5 s (issue 6; ruamel.yaml.clib is not installed here)
    ruamel.yaml typ='safe', pure Python          15.4 s
    PyYAML CSafeLoader (libyaml) load            2.45 s
    PyYAML CSafeLoader compose (nodes+marks)     1.82 s
    libyaml events -> dicts/lists (this module)  0.32 s

Building Python nodes with marks for every scalar is most of the cost, and positions are
only needed for the few nodes a finding points at. So reading streams libyaml's parser
events (PyYAML's C binding) straight into dicts, lists, str, int, bool and None, and
positions are found lazily: `Positions` replays the event stream once, following only the
paths that findings ask for (a trie), so a clean zone never pays for them. ruamel.yaml
stays the library for round-trip edits (comments kept), where speed matters less.

Scalars follow a small, predictable subset of the YAML 1.2 core schema: plain `true`/`false`,
`null`/`~`/empty, and decimal integers without leading zeros are typed; everything else
(IP addresses, `1.2`, `0777`, `2024-01-01`, `yes`) stays text. Mapping keys are always
text (`null:` is the key "null", `1:` the owner "1"). Duplicate keys, unsupported tags and
complex keys are findings with their place, never exceptions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import yaml
from yaml import events as ev

from zonetool.findings import Finding, Where, error, not_utf8

# libyaml's C parser when PyYAML was built with it; the pure-Python parser gives the same events.
_Parser: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader) if yaml.__with_libyaml__ else yaml.SafeLoader

_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_STR_TAGS = frozenset(("tag:yaml.org,2002:str", "!"))
_MERGE = "<<"

_NO_KEY = object()  # a mapping frame waiting for its next key
_BAD_KEY = object()  # a key that could not be used (complex key): its value is dropped


class YamlSyntax(Exception):
    """Input that is not YAML (or not text); carries the finding to report."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


def _pos(mark: Any) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


def decode(data: bytes | str, file: str | None) -> str:
    """UTF-8 text (a BOM is dropped); anything else is a `not-text` finding with its line."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise YamlSyntax(not_utf8(data, exc, file, hint="zone files are YAML in UTF-8")) from None


def _scalar(event: Any, file: str | None, findings: list[Finding]) -> Any:
    value = event.value
    tag = event.tag
    if tag is None or tag == "!":
        if event.style or not event.implicit[0]:  # plain style is '' (libyaml) or None (pure parser)
            return value  # quoted or block scalar: always text
        if value in _NULLS:
            return None
        if value in _BOOLS:
            return _BOOLS[value]
        if value[0] in "0123456789+-" and _INT.match(value):
            return int(value)
        return value
    if tag in _STR_TAGS:
        return value
    if tag == "tag:yaml.org,2002:int" and _INT.match(value.strip()):
        return int(value)
    if tag == "tag:yaml.org,2002:bool" and value in _BOOLS:
        return _BOOLS[value]
    if tag == "tag:yaml.org,2002:null" and value in _NULLS:
        return None
    line, column = _pos(event.start_mark)
    findings.append(error("yaml-tag", f"unsupported or mismatched tag {tag} on {value!r}", Where(file, line, column),
                          hint="write plain values; tags are not part of the zone format"))
    return value


def load(data: bytes | str, file: str | None = None) -> tuple[Any, list[Finding]]:
    """Plain data of one YAML document plus findings about the YAML itself.

    Raises YamlSyntax when the text is not YAML at all (the finding has line and column).
    """
    text = decode(data, file)
    if "&" in text:  # no anchor, no alias: nothing to expand (nesting is checked below)
        check_limits(text, file)
    findings: list[Finding] = []
    parser = _Parser(text)
    SC, MS, ME, SS, SE, AL = ev.ScalarEvent, ev.MappingStartEvent, ev.MappingEndEvent, \
        ev.SequenceStartEvent, ev.SequenceEndEvent, ev.AliasEvent
    DS = ev.DocumentStartEvent
    anchors: dict[str, Any] = {}
    # frames: [container, pending key, key mark, merges] for mappings; [list] for sequences
    stack: list[list[Any]] = []
    root: Any = None
    documents = 0
    try:
        get = parser.get_event
        while True:
            event = get()
            cls = event.__class__
            if cls is SC:
                if stack and stack[-1][0].__class__ is dict and stack[-1][1] is _NO_KEY:
                    frame = stack[-1]  # a key: always text; `<<` is YAML's merge key
                    value = event.value
                    if not event.style and value == _MERGE and event.tag is None:
                        frame[1] = _MERGE
                    else:
                        frame[1] = value
                    frame[2] = event.start_mark
                    if event.anchor:
                        anchors[event.anchor] = value
                    continue
                obj = _scalar(event, file, findings)
                if event.anchor:
                    anchors[event.anchor] = obj
            elif cls is MS:
                obj = {}
                if event.anchor:
                    anchors[event.anchor] = obj
                if len(stack) >= MAX_DEPTH:
                    raise _too_deep(event.start_mark, file)
                stack.append([obj, _NO_KEY, None, None])
                continue
            elif cls is SS:
                if len(stack) >= MAX_DEPTH:
                    raise _too_deep(event.start_mark, file)
                obj = []
                if event.anchor:
                    anchors[event.anchor] = obj
                stack.append([obj])
                continue
            elif cls is ME:
                frame = stack.pop()
                obj = frame[0]
                if frame[3]:
                    for source in frame[3]:
                        for k, v in source.items():
                            obj.setdefault(k, v)
            elif cls is SE:
                obj = stack.pop()[0]
            elif cls is AL:
                if event.anchor not in anchors:  # pragma: no cover - libyaml rejects this first
                    raise yaml.composer.ComposerError(None, None, f"found undefined alias {event.anchor}",
                                                      event.start_mark)
                obj = anchors[event.anchor]
                if stack and stack[-1][0].__class__ is dict and stack[-1][1] is _NO_KEY:
                    stack[-1][1] = obj if isinstance(obj, str) else _BAD_KEY
                    stack[-1][2] = event.start_mark
                    continue
            elif cls is DS:
                documents += 1
                if documents > 1:
                    line, column = _pos(event.start_mark)
                    raise YamlSyntax(error("yaml-syntax", "a zone file holds one YAML document; found a second one",
                                           Where(file, line, column), hint="put each zone in its own file"))
                continue
            elif cls is ev.StreamEndEvent:
                break
            else:
                continue
            # attach a finished node to its parent
            if not stack:
                root = obj
                continue
            frame = stack[-1]
            parent = frame[0]
            if parent.__class__ is list:
                parent.append(obj)
                continue
            key = frame[1]
            if key is _NO_KEY:  # a mapping or sequence used as a key
                frame[1] = _BAD_KEY
                frame[2] = event.start_mark
                continue
            frame[1] = _NO_KEY
            if key is _BAD_KEY:
                line, column = _pos(frame[2])
                findings.append(error("yaml-complex-key", "a mapping key must be plain text",
                                      Where(file, line, column)))
            elif key is _MERGE:
                sources = obj if isinstance(obj, list) else [obj]
                if all(isinstance(s, dict) for s in sources):
                    frame[3] = (frame[3] or []) + sources
                else:
                    line, column = _pos(frame[2])
                    findings.append(error("yaml-syntax", "`<<` merges mappings only", Where(file, line, column)))
            else:
                if key in parent:
                    line, column = _pos(frame[2])
                    findings.append(error("duplicate-key", f"key `{key}` appears twice in this mapping; the last "
                                          "one would win", Where(file, line, column),
                                          hint="merge the two entries into one"))
                parent[key] = obj
    except yaml.YAMLError as exc:
        raise YamlSyntax(_syntax(exc, text, file)) from None
    finally:
        parser.dispose()
    return root, findings


def _syntax(exc: yaml.YAMLError, text: str, file: str | None) -> Finding:
    """The `yaml-syntax` finding for a parser error, at its position."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line, column = _pos(mark) if mark is not None else (None, None)
        problem = exc.problem or str(exc)
        if problem.startswith("exceeded maximum nesting depth") and mark is not None:  # libyaml's own limit
            return _too_deep(mark, file).finding
        context = f" ({exc.context})" if exc.context else ""
        hint = None
        if mark is not None and 0 <= mark.index < len(text) and text[mark.index] == "\t":
            hint = "YAML indents with spaces, never tabs"
        return error("yaml-syntax", f"{problem}{context}", Where(file, line, column), hint)
    position = getattr(exc, "position", None)  # reader errors: control characters and the like
    line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
    return error("yaml-syntax", str(exc).splitlines()[0], Where(file, line))


# ---------------------------------------------------------------------------
# limits: what one file may ask of a reader (README "Limits and security defaults")
# ---------------------------------------------------------------------------
MAX_DEPTH = 64  # mappings and lists inside each other; a zone needs about 6
MAX_ALIAS_NODES = 100_000  # nodes that aliases stand for, in all ("billion laughs" asks for 10^9)


def _too_deep(mark: Any, file: str | None) -> YamlSyntax:
    line, column = _pos(mark)
    return YamlSyntax(error("yaml-limit", f"mappings and lists nested more than {MAX_DEPTH} deep",
                            Where(file, line, column), hint="a zone needs a handful of levels; is this a zone?"))


def check_limits(text: str, file: str | None = None) -> None:
    """Refuse absurd nesting and alias bombs before a reader builds anything (raises YamlSyntax).

    Why a separate pass: ruamel.yaml (fmt, the editing commands) expands nothing itself but
    recurses once per level and its users walk aliased nodes as often as they are named, and
    a shared node walked 10^9 times is a hang. This pass over libyaml's events builds nothing:
    each container only counts its nodes, each anchor remembers its count, each alias adds
    it. So time and memory stay linear in the text, whatever the aliases claim.
    """
    parser = _Parser(text)
    SC, MS, ME, SS, SE, AL = ev.ScalarEvent, ev.MappingStartEvent, ev.MappingEndEvent, \
        ev.SequenceStartEvent, ev.SequenceEndEvent, ev.AliasEvent
    sizes: dict[str, int] = {}  # anchor -> nodes it stands for (its node closed)
    stack: list[list[Any]] = []  # open containers: [nodes so far, anchor]
    expanded = 0
    try:
        get = parser.get_event
        while True:
            event = get()
            cls = event.__class__
            if cls is SC:
                if stack:
                    stack[-1][0] += 1
                if event.anchor:
                    sizes[event.anchor] = 1
            elif cls is MS or cls is SS:
                if len(stack) >= MAX_DEPTH:
                    raise _too_deep(event.start_mark, file)
                if event.anchor:
                    sizes.pop(event.anchor, None)  # open: an alias to it now would be recursive
                stack.append([1, event.anchor])
            elif cls is ME or cls is SE:
                count, anchor = stack.pop()
                if anchor:
                    sizes[anchor] = count
                if stack:
                    stack[-1][0] += count
            elif cls is AL:
                line, column = _pos(event.start_mark)
                size = sizes.get(event.anchor)
                if size is None:
                    raise YamlSyntax(error("yaml-limit", f"alias *{event.anchor} inside its own anchor "
                                           "(a recursive node)", Where(file, line, column)))
                expanded += size
                if expanded > MAX_ALIAS_NODES:
                    raise YamlSyntax(error(
                        "yaml-limit", f"aliases stand for more than {MAX_ALIAS_NODES:,} nodes (an alias bomb?)",
                        Where(file, line, column), hint="write the values out, or alias fewer or smaller nodes"))
                if stack:
                    stack[-1][0] += size
            elif cls is ev.StreamEndEvent:
                return
    except yaml.YAMLError as exc:
        raise YamlSyntax(_syntax(exc, text, file)) from None
    finally:
        parser.dispose()


# ---------------------------------------------------------------------------
# positions on demand
# ---------------------------------------------------------------------------
# Codes whose path names a key (point at the key, not at its value).
KEY_CODES = frozenset(("unknown-key", "soa-in-records", "unknown-code"))


class _Trie(dict):  # type: ignore[type-arg]
    """Wanted paths; each node records where its key and its value start."""

    __slots__ = ("key_pos", "value_pos")

    def __init__(self) -> None:
        super().__init__()
        self.key_pos: tuple[int, int] | None = None
        self.value_pos: tuple[int, int] | None = None


class Positions:
    """Line and column of spec paths in one YAML text, found in one replay of the events."""

    def __init__(self, text: str) -> None:
        self.text = text

    def resolve(self, paths: Iterable[tuple[str | int, ...]]) -> _Trie:
        trie = _Trie()
        for path in paths:
            node = trie
            for part in path:
                node = node.setdefault(part, _Trie())
        if not trie:
            return trie
        self._walk(trie)
        return trie

    def _walk(self, trie: _Trie) -> None:
        parser = _Parser(self.text)
        SC, MS, ME, SS, SE, AL = ev.ScalarEvent, ev.MappingStartEvent, ev.MappingEndEvent, \
            ev.SequenceStartEvent, ev.SequenceEndEvent, ev.AliasEvent
        # frames: [is_mapping, trie node or None, pending key (None = expecting one), next index, is a key]
        stack: list[list[Any]] = []
        try:
            while True:
                event = parser.get_event()
                cls = event.__class__
                if cls is ev.StreamEndEvent or cls is ev.DocumentEndEvent:
                    break
                if cls is ME or cls is SE:
                    if not stack.pop()[4]:  # a complex key's end leaves its mapping waiting for the value
                        self._done(stack)
                    continue
                if cls not in (SC, MS, SS, AL):
                    continue
                # where does this node sit?
                if not stack:
                    node: _Trie | None = trie
                    if cls is not SC:
                        trie.value_pos = _pos(event.start_mark)
                elif stack[-1][0] and stack[-1][2] is None:
                    # a key of a mapping
                    frame = stack[-1]
                    key = event.value if cls is SC else _BAD_KEY
                    frame[2] = key
                    parent = frame[1]
                    if parent is not None and cls is SC and key in parent:
                        parent[key].key_pos = _pos(event.start_mark)
                    if cls is MS or cls is SS:  # complex key: skip its content
                        stack.append([cls is MS, None, None, 0, True])
                    continue
                else:
                    frame = stack[-1]
                    parent = frame[1]
                    part = frame[2] if frame[0] else frame[3]
                    node = parent.get(part) if parent is not None else None
                    if node is not None:
                        node.value_pos = _pos(event.start_mark)
                if cls is MS or cls is SS:
                    stack.append([cls is MS, node, None, 0, False])
                else:
                    self._done(stack)
        except yaml.YAMLError:
            return  # positions found so far stay valid
        finally:
            parser.dispose()

    @staticmethod
    def _done(stack: list[list[Any]]) -> None:
        """A node finished: its parent moves on to the next key or index."""
        if stack:
            frame = stack[-1]
            if frame[0]:
                frame[2] = None
            else:
                frame[3] += 1


def lookup(trie: _Trie, path: tuple[str | int, ...], at_key: bool) -> tuple[int, int] | None:
    """The deepest known position along `path` (a path the text lacks falls back to its parent)."""
    best = trie.value_pos
    node = trie
    for i, part in enumerate(path):
        child = node.get(part)
        if child is None:
            break
        last = i == len(path) - 1
        if last and at_key and child.key_pos is not None:
            return child.key_pos
        if child.value_pos is not None:
            best = child.value_pos
        elif child.key_pos is not None:
            best = child.key_pos
        node = child
    return best


def locate(findings: list[Finding], text: str, file: str | None) -> list[Finding]:
    """Give line:column to the findings of `file` that only carry a spec path."""
    todo = [f for f in findings if f.where.file == file and f.where.line is None]
    if not todo:
        return findings
    trie = Positions(text).resolve(f.where.path for f in todo)
    out: list[Finding] = []
    for f in findings:
        if f.where.file == file and f.where.line is None:
            path = f.where.path
            # an owner's own finding points at its name (the key), not at its records
            at_key = f.code in KEY_CODES or (len(path) == 2 and path[0] == "records")
            pos = lookup(trie, path, at_key) or (1, 1)
            f = replace(f, where=replace(f.where, line=pos[0], column=pos[1]))
        out.append(f)
    return out
