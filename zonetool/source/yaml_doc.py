"""The round-trip document engine under `zonetool edit` and `zonetool fmt` (ruamel.yaml `rt`).

A zone lives in git and is edited by hand and by script, so an edit must change only
what was asked: every comment, blank line, key order, quoting style and indentation of
the rest of the file is kept. ruamel.yaml's round-trip mode keeps most of that, but it
has one indentation setting per document and attaches comments to neighbouring nodes
(deleting a node can take a comment line with it). `Document.dump` therefore computes
the change as a line diff between a dump of the unedited document and a dump of the
edited one, applies that diff to the ORIGINAL text, and keeps every comment line a
deletion would have dropped.

Why a module of its own: the engine knows YAML text (indentation, comments, quoting, line
endings) and nothing of the zone format; the edits (`yaml_edit`) and the layout (`yaml_fmt`)
both stand on it, and neither on the other.
"""

from __future__ import annotations

import difflib
import io
import itertools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from zonetool.source.yaml import check_limits


class EditError(ValueError):
    """An edit that cannot be made as asked (missing host, duplicate, wrong shape)."""



# ---------------------------------------------------------------------------
# loading and dumping
# ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Indent:
    """ruamel.yaml's three indentation knobs, as found in a file."""

    mapping: int = 2
    sequence: int = 4
    offset: int = 2


_KEY_ONLY = re.compile(r"^(\s*)(?:- )?[^\s#][^#]*:\s*(?:#.*)?$")
_DASH = re.compile(r"^(\s*)-(\s+)\S")
_KEY = re.compile(r"^(\s*)[^\s#-][^#]*?:(\s|$)")


def detect_indent(text: str) -> Indent:
    """The most common mapping indent, sequence indent and dash offset in `text`."""
    maps: Counter[int] = Counter()
    seqs: Counter[tuple[int, int]] = Counter()
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    for prev, line in itertools.pairwise(lines):
        head = _KEY_ONLY.match(prev)
        if head is None or prev.rstrip().endswith(("|", ">", "|-", ">-")):
            continue
        parent = len(head.group(1))
        if prev.lstrip().startswith("- "):
            parent += 2  # key of a mapping that is itself a sequence item
        dash = _DASH.match(line)
        if dash:
            col = len(dash.group(1))
            seqs[(col - parent + 1 + len(dash.group(2)), col - parent)] += 1
            continue
        key = _KEY.match(line)
        if key and len(key.group(1)) > parent:
            maps[len(key.group(1)) - parent] += 1
    mapping = maps.most_common(1)[0][0] if maps else 2
    sequence, offset = seqs.most_common(1)[0][0] if seqs else (mapping + 2, mapping)
    if offset < 0 or sequence < offset + 2:
        sequence, offset = mapping + 2, mapping
    return Indent(mapping, sequence, offset)


def make_yaml(indent: Indent = Indent()) -> YAML:
    """A round-trip YAML that keeps quotes and long lines as the user wrote them."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line the user wrote on one line
    yaml.indent(mapping=indent.mapping, sequence=indent.sequence, offset=indent.offset)
    return yaml


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _split_comment(line: str) -> tuple[str, str, str] | None:
    """(code, gap, comment) of a line with an end-of-line comment outside quotes."""
    quote = ""
    for n, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'" and (n == 0 or not line[n - 1].isalnum()):
            quote = ch
        elif ch == "#" and n > 0 and line[n - 1] in " \t":
            code = line[:n].rstrip()
            if not code.strip():
                return None
            return code, line[len(code) : n], line[n:]
    return None


def _keep_comment_gaps(old: list[str], new: list[str]) -> list[str]:
    """Keep the spaces between a value and its end-of-line comment as they were.

    ruamel keeps a comment's column, which drifts when a value grows and shrinks again;
    keeping the gap instead makes an edit and its inverse give back the same bytes.
    """
    gaps = {}
    for line in old:
        parts = _split_comment(line)
        if parts:
            gaps.setdefault(parts[2], parts[1])
    result = []
    for line in new:
        parts = _split_comment(line)
        if parts and parts[2] in gaps:
            line = parts[0] + gaps[parts[2]] + parts[2]
        result.append(line)
    return result


def _insert_before_outer_comments(out: list[str], inserted: list[str]) -> None:
    """Append `inserted` to `out`, but above the comment lines that introduce an outer key.

    ruamel attaches a comment that precedes the next top-level key to the end of the
    previous block, so an item appended to that block would land below the comment.
    """
    depth = min((_indent(ln) for ln in inserted if ln.strip()), default=0)
    cut = len(out)
    while cut > 0 and (not out[cut - 1].strip() or (_is_comment(out[cut - 1]) and _indent(out[cut - 1]) < depth)):
        cut -= 1
    if not any(_is_comment(ln) for ln in out[cut:]):
        cut = len(out)  # only blank lines: leave them where they are
    out[cut:cut] = inserted


def _is_crlf(text: str) -> bool:
    """Does the file end its lines with CRLF (mostly)? Edits and fmt keep its endings."""
    crlf = text.count("\r\n")
    return bool(crlf) and crlf * 2 >= text.count("\n")



class Document:
    """A zone file loaded for round-trip editing."""

    def __init__(self, text: str, file: str | None = None) -> None:
        check_limits(text, file)  # raises YamlSyntax: ruamel must never see an alias bomb or 10,000 levels
        self.as_read = text
        self.crlf = _is_crlf(text)
        # All the work is on LF text (ruamel writes LF); `dump` gives a CRLF file back in CRLF.
        self.original = text.replace("\r\n", "\n") if self.crlf else text
        text = self.original
        self.indent = detect_indent(text)
        self._yaml = make_yaml(self.indent)
        data = self._yaml.load(text)
        if not isinstance(data, CommentedMap):
            raise EditError("the file is not a YAML mapping (a zone needs at least `origin:`)")
        self.data: CommentedMap = data
        self._baseline: str | None = None  # ruamel's dump of the unedited file

    def _dump(self, data: Any) -> str:
        out = io.StringIO()
        self._yaml.dump(data, out)
        return out.getvalue()

    def roundtrip(self) -> str:
        """ruamel.yaml's own dump, without the splice `dump` does (to test fidelity)."""
        return self._dump(self.data)

    def dump(self) -> str:
        """The edited text: the original with only the changed lines replaced."""
        new = self._dump(self.data)
        if self._baseline is None:
            self._baseline = self._dump(self._yaml.load(self.original))
        baseline = self._baseline
        if new == baseline:
            return self.as_read
        base_lines = baseline.splitlines(keepends=True)
        orig_lines = self.original.splitlines(keepends=True)
        if orig_lines and not orig_lines[-1].endswith("\n"):
            orig_lines[-1] += "\n"
        # Lines ruamel would re-spell (odd spacing) stay as written when they are untouched.
        source = orig_lines if len(orig_lines) == len(base_lines) else base_lines
        new_lines = new.splitlines(keepends=True)
        want = Counter(ln.strip() for ln in source if _is_comment(ln))
        have = Counter(ln.strip() for ln in new_lines if _is_comment(ln))
        out: list[str] = []
        matcher = difflib.SequenceMatcher(None, base_lines, new_lines, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                out.extend(source[i1:i2])
                continue
            inserted = new_lines[j1:j2]
            if tag == "insert":
                _insert_before_outer_comments(out, inserted)
                continue
            kept: list[str] = []
            for n in range(i1, i2):
                line = source[n]
                if _is_comment(line) and have[line.strip()] < want[line.strip()]:
                    have[line.strip()] += 1
                    if n > i1 and not source[n - 1].strip() and (kept or (out and out[-1].strip())):
                        kept.append(source[n - 1])  # the blank line that set this comment apart
                    kept.append(line)
            # a blank line that closed a deleted block still separates what follows
            if tag == "delete" and not source[i2 - 1].strip() and (kept or (out and out[-1].strip())):
                kept.append(source[i2 - 1])
            out.extend(kept)
            out.extend(_keep_comment_gaps(source[i1:i2], inserted))
        out_text = "".join(out)
        return out_text.replace("\n", "\r\n") if self.crlf else out_text


# ---------------------------------------------------------------------------
# small node helpers
# ---------------------------------------------------------------------------
PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_\\][A-Za-z0-9_.*\\ =;/+-]*$")
NOT_PLAIN = re.compile(
    r"^(?:[-+]?(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:e[-+]?\d+)?|true|false|yes|no|on|off|null|~|y|n)$", re.I
)


def scalar(value: str, like: Any = None) -> Any:
    """A new string node, quoted like its neighbour, or plain when plain is unambiguous."""
    if isinstance(like, DoubleQuotedScalarString):
        return DoubleQuotedScalarString(value)
    if isinstance(like, SingleQuotedScalarString) and "'" not in value:
        return SingleQuotedScalarString(value)
    if PLAIN_SAFE.match(value) and not NOT_PLAIN.match(value) and not value.endswith(" "):
        return value
    return DoubleQuotedScalarString(value)


def flow_map(items: Iterable[tuple[str, Any]]) -> CommentedMap:
    node = CommentedMap(items)
    node.fa.set_flow_style()
    return node


def flow_seq(items: Iterable[Any]) -> CommentedSeq:
    node = CommentedSeq(items)
    node.fa.set_flow_style()
    return node


def is_flow(node: Any) -> bool:
    return isinstance(node, CommentedMap | CommentedSeq) and node.fa.flow_style()




def comments_of(text: str) -> Counter[str]:
    """Comment texts in `text` (whole-line and end-of-line), with their counts."""
    found: Counter[str] = Counter()
    for line in text.splitlines():
        if _is_comment(line):
            found[line.strip()] += 1
        elif parts := _split_comment(line):
            found[parts[2].strip()] += 1
    return found
