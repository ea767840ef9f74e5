"""The YAML edge: libyaml events -> plain data, YAML-level findings, and lazy path positions."""

from __future__ import annotations

import pytest
import yaml as pyyaml
from hypothesis import given, settings
from hypothesis import strategies as st

from zonetool.findings import Where, error
from zonetool.source.yaml import Positions, YamlSyntax, load, locate


def test_plain_data_and_scalar_typing() -> None:
    text = (
        "a: 1\nb: -7\nc: 010\nd: 1.2\ne: true\nf: no\ng: ~\nh:\ni: '5'\nj: 192.0.2.1\n"
        "k: 2001:db8::1\nl: 2024-01-01\nnull: x\n1: y\nm: [1, 'a', {n: false}]\no: |\n  text\n"
    )
    data, findings = load(text, "f.yaml")
    assert findings == []
    assert data == {
        "a": 1, "b": -7, "c": "010", "d": "1.2", "e": True, "f": "no", "g": None, "h": None, "i": "5",
        "j": "192.0.2.1", "k": "2001:db8::1", "l": "2024-01-01", "null": "x", "1": "y",
        "m": [1, "a", {"n": False}], "o": "text\n",
    }  # fmt: skip
    assert all(isinstance(k, str) for k in data)


def test_same_result_as_pyyaml_for_ordinary_documents() -> None:
    text = "origin: example.com\nrecords:\n  www: {A: [192.0.2.1, 192.0.2.2], TXT: 'x y'}\n  mx: {MX: '10 a'}\n"
    assert load(text)[0] == pyyaml.load(text, Loader=pyyaml.CSafeLoader)


def test_anchors_aliases_and_merge_keys() -> None:
    text = "base: &b {ttl: 5m, A: 192.0.2.1}\nx:\n  <<: *b\n  A: 192.0.2.9\ny: *b\nl: [&v 7, *v]\n"
    data, findings = load(text)
    assert not findings
    assert data["x"] == {"ttl": "5m", "A": "192.0.2.9"}  # explicit keys win over merged ones
    assert data["y"] == {"ttl": "5m", "A": "192.0.2.1"} and data["l"] == [7, 7]


def test_explicit_tags() -> None:
    data, findings = load("a: !!str 10\nb: !!int '12'\nc: !!binary aGk=\n", "t.yaml")
    assert data["a"] == "10" and data["b"] == 12
    assert [(f.code, f.where.line, f.where.column) for f in findings] == [("yaml-tag", 3, 4)]


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("a: [1, 2\nb: 3\n", 2, 2, "expected ',' or ']'"),
        ("a: 1\n  b: 2\n", 2, 4, "mapping values are not allowed"),
        ("a: 'unterminated\n", 2, 1, "quoted scalar"),
        ("a: *nope\n", 1, 4, "undefined alias"),
        ("a: 1\n---\nb: 2\n", 2, 1, "one YAML document"),
        ("\ta: 1\n", 1, 1, "cannot start any token"),
    ],
)
def test_syntax_errors_have_line_and_column(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(YamlSyntax) as info:
        load(text, "bad.yaml")
    f = info.value.finding
    assert f.code == "yaml-syntax" and f.where == Where("bad.yaml", line, column), f.format()
    assert words in f.message
    if text.startswith("\t"):
        assert f.hint is not None and "tab" in f.hint


def test_not_utf8_is_reported_with_line() -> None:
    with pytest.raises(YamlSyntax) as info:
        load(b"origin: example.com\nrecords: \xff\xfe\n", "bin.yaml")
    f = info.value.finding
    assert (f.code, f.where.line, f.where.column) == ("not-text", 2, 10)


def test_utf8_bom_is_accepted() -> None:
    assert load("\ufefforigin: x\n".encode())[0] == {"origin": "x"}


def test_duplicate_keys_are_findings_at_the_second_key() -> None:
    data, findings = load("origin: a\nrecords:\n  www: {A: 192.0.2.1}\n  www: {A: 192.0.2.2}\n", "d.yaml")
    assert [(f.code, f.where.line, f.where.column) for f in findings] == [("duplicate-key", 4, 3)]
    assert data["records"]["www"] == {"A": "192.0.2.2"}
    _, findings = load("origin: a\nrecords:\n  www: {A: 192.0.2.1}\n  web: {A: 192.0.2.2}\n")
    assert findings == []


def test_complex_key_is_a_finding() -> None:
    data, findings = load("? [a, b]\n: 1\nc: 2\n", "k.yaml")
    assert data == {"c": 2}
    assert [(f.code, f.where.line) for f in findings] == [("yaml-complex-key", 1)]


POS_TEXT = """\
origin: example.com
mail:
  exchangers:
    - host: mx1
      priority: 10
    - {host: mx2, priority: 20}
records:
  www:
    A: [192.0.2.1, 192.0.2.2]
  "quoted": {TXT: "x"}
"""


def test_positions_of_paths() -> None:
    trie = Positions(POS_TEXT).resolve(
        [
            ("mail", "exchangers", 0, "priority"),
            ("mail", "exchangers", 1, "host"),
            ("records", "www", "A", 1),
            ("records", "quoted", "TXT"),
            ("records", "www"),
        ]
    )
    ex = trie["mail"]["exchangers"]
    assert ex[0]["priority"].value_pos == (5, 17) and ex[0]["priority"].key_pos == (5, 7)
    assert ex[1]["host"].value_pos == (6, 14)
    assert trie["records"]["www"]["A"][1].value_pos == (9, 20)
    assert trie["records"]["quoted"]["TXT"].value_pos == (10, 19)
    assert trie["records"]["www"].key_pos == (8, 3)


def test_locate_falls_back_to_the_deepest_existing_node() -> None:
    findings = [
        error("x", "m", Where("p.yaml", path=("mail", "exchangers", 1, "weight"))),  # not written: the item
        error("y", "m", Where("p.yaml", path=("records", "www"))),  # an owner: its name
        error("unknown-key", "m", Where("p.yaml", path=("mail", "exchangers"))),  # a key code: the key
        error("z", "m", Where("other.yaml", path=("records",))),  # another file: untouched
        error("w", "m", Where("p.yaml", 3, 4, path=("records",))),  # already placed: untouched
    ]
    out = locate(findings, POS_TEXT, "p.yaml")
    assert [(f.where.line, f.where.column) for f in out] == [(6, 7), (8, 3), (3, 3), (None, None), (3, 4)]


def test_locate_survives_text_with_later_syntax_error() -> None:
    out = locate([error("x", "m", Where("f", path=("a",)))], "a: 1\nb: [\n", "f")
    assert (out[0].where.line, out[0].where.column) == (1, 4)


_PIECES = [
    "origin: example.com\n", "records:\n", "  www: {A: 192.0.2.1}\n", "  - a\n", "x: [1, {b: 2}\n", "&a x: *a\n",
    "? [k]\n", ": v\n", "\t", "'", '"', "{", "}", "---\n", "!!int a\n", "<<: *m\n", "\xff", "\x00", "\n", "  ", "#c\n",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES) | st.text(max_size=5), max_size=12))
def test_any_text_gives_data_or_a_placed_finding(pieces: list[str]) -> None:
    from zonetool.loader import load_text

    text = "".join(pieces)
    _, findings = load_text(text.encode("utf-8", "surrogatepass"), "fuzz.yaml")
    for f in findings:
        assert f.where.file == "fuzz.yaml" and f.where.line is not None, f.format()
