"""`fmt`'s line-by-line layout of big records: blocks (yaml_fmt) gives the very bytes the
ruamel.yaml path gives, and is taken for the shapes programs write (issue 16, item 12)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, ZONES, zonetool_exe

from zonetool.source import yaml_fmt
from zonetool.source.yaml_fmt import format_text

HEAD = "origin: example.com\nnameservers: [ns1, ns2]\nttl: 1h\n"

# records: blocks the fast path takes (each compared byte for byte with the ruamel.yaml path)
SIMPLE = {
    "flow": "records:\n  ns1: {A: 192.0.2.53}\n  www: {A: [192.0.2.1, '192.0.2.2'], TXT: \"v=spf1 -all\"}\n"
            "  '@': {MX: ['10 mx1', 20 mx2], TXT: 'say \"hi\"'}\n  \"*.dev\": {A: 192.0.2.9}\n"
            "  'plain': {CNAME: www}\n  _sip._tcp: {SRV: {values: ['0 5 5060 sip'], ttl: 300}}\n"
            "  e: {TXT: []}\n  f: {TXT: [ a ,  b ]}\n  mx1: {A : 192.0.2.10, ttl: 60}\n",
    "block": "records:\n  h0:\n    A: 10.0.0.0\n    TXT: v=spf1 ip4:10.0.0.0 -all\n    AAAA: '2001:db8::'\n"
             "  mail0:\n    MX: [10 h0, 20 h1]\n  \"@\":\n    TXT: 'say \"hi\"'\n    ttl: 300\n"
             "  'x':\n    A: 192.0.2.1\n",
    "records last": "mail: {exchangers: [{host: mx1, priority: 10}]}\nrecords:\n  mx1: {A: 192.0.2.10}\n",
    "records first": "records:\n  mx1: {A: 192.0.2.10}\nsoa: {serial: 7, primary: ns1}\nsilence: {spf-missing: lab}\n",
    "blank lines after": "records:\n  mx1: {A: 192.0.2.10}\n\n\nsilence: {spf-missing: lab}\n",
    "at the end": "records:\n  mx1: {A: 192.0.2.10}\n\n",
}
# blocks it leaves to ruamel.yaml (still formatted, the slow way)
OTHER = {
    "comment": "records:\n  # hosts\n  a: {A: 192.0.2.1}\n",
    "blank line": "records:\n  a: {A: 192.0.2.1}\n\n  b: {A: 192.0.2.2}\n",
    "four spaces": "records:\n    a:\n        A: 192.0.2.1\n",
    "block list": "records:\n  a:\n    A:\n      - 192.0.2.1\n",
    "float": "records:\n  a: {TXT: 1.5}\n",
    "bool": "records:\n  a: {TXT: yes}\n",
    "hex": "records:\n  a: {TXT: 0x10}\n",
    "date": "records:\n  a: {TXT: 2024-01-01}\n",
    "sexagesimal": "records:\n  a:\n    TXT: 1:20\n",
    "int key": "records:\n  1: {A: 192.0.2.1}\n",
    "date key": "records:\n  2024-01-01: {A: 192.0.2.1}\n",
    "hex key": "records:\n  0x1f: {A: 192.0.2.1}\n",
    "unicode": "records:\n  a: {TXT: \"caf\u00e9\"}\n",
    "anchor": "records:\n  a: &x {A: 192.0.2.1}\n  b: *x\n",
    "duplicate": "records:\n  a: {A: 192.0.2.1}\n  a: {A: 192.0.2.2}\n",
    "crlf": "records:\r\n  a: {A: 192.0.2.1}\r\n",
    "backslash": "records:\n  a: {TXT: 'a\\b'}\n",
}


@pytest.mark.parametrize("name", sorted(SIMPLE))
def test_fast_path_taken_and_identical(name: str) -> None:
    text = HEAD + SIMPLE[name]
    assert yaml_fmt.split(text) is not None
    assert format_text(text) == format_text(text, fast=False)


@pytest.mark.parametrize("name", sorted(OTHER))
def test_other_shapes_go_through_ruamel(name: str) -> None:
    text = HEAD + OTHER[name]
    assert yaml_fmt.split(text) is None
    if name != "duplicate":  # ruamel refuses duplicate keys, as before
        assert format_text(text) == format_text(text, fast=False)


def test_bundled_and_generated_zones_identical(tmp_path: Path) -> None:
    texts = [p.read_text() for p in sorted(ZONES.glob("*.yaml"))]
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "genzone.py"), "3000", str(tmp_path)], check=True)
    generated = (tmp_path / "bench.example.yaml").read_text()
    imported = subprocess.run([zonetool_exe(), "import", str(tmp_path / "bench.example.zone")],
                              capture_output=True, text=True, check=True).stdout
    for text in [*texts, generated, imported]:
        assert format_text(text) == format_text(text, fast=False)
    assert yaml_fmt.split(generated) is not None and yaml_fmt.split(imported) is not None


def test_fmt_of_a_big_generated_zone_is_fast(tmp_path: Path) -> None:
    """60,000 records (1.6 MB): the fast path against ruamel.yaml's, in the same run."""
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "genzone.py"), "60000", str(tmp_path)], check=True)
    text = (tmp_path / "bench.example.yaml").read_text()
    start = time.perf_counter()
    fast = format_text(text)
    fast_s = time.perf_counter() - start
    assert fast == text  # genzone already writes the canonical layout
    small = "\n".join(text.splitlines()[:6000]) + "\n"  # a tenth of it the ruamel.yaml way
    start = time.perf_counter()
    format_text(small, fast=False)
    slow_s = (time.perf_counter() - start) * 10
    assert fast_s * 5 < slow_s, (fast_s, slow_s)  # measured ~50x


# -- generated records: blocks, both paths -------------------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_PLAINS = st.sampled_from(["192.0.2.1", "10 mx1", "v=spf1 mx -all", "300", "0", "h0", "a-b_c", "x/y+z@w",
                           "2001:db8::1", "1h", "yes", "1.5", "0x10", "08", "null", "a:b", "2024-01-01"])
_QUOTED = st.text(alphabet=st.sampled_from(list("ab 1.:-'\"@*#{}[],")), min_size=0, max_size=8)
_VALUES = st.one_of(_PLAINS, _QUOTED.map(lambda t: '"' + t.replace('"', "") + '"'),
                    _QUOTED.map(lambda t: "'" + t.replace("'", "") + "'"))
_KEYS = st.one_of(st.sampled_from(["www", "@", "*.dev", "_sip._tcp", "1", "ttl", "MX", "A", "y"]),
                  st.sampled_from(["www", "@", "mx1", "a b"]).map(lambda k: f'"{k}"'),
                  st.sampled_from(["www", "x", "@"]).map(lambda k: f"'{k}'"))


def _flow_value(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(_VALUES)
    items = draw(st.lists(_VALUES, max_size=3))
    sep = draw(st.sampled_from([", ", ",", " , "]))
    return "[" + sep.join(items) + "]"


@st.composite
def _records_block(draw: st.DrawFn) -> str:
    lines = ["records:"]
    for owner in draw(st.lists(_KEYS, min_size=1, max_size=4)):
        types = draw(st.lists(_KEYS, min_size=1, max_size=3))
        if draw(st.booleans()):
            lines.append(f"  {owner}: {{" + ", ".join(f"{t}: {_flow_value(draw)}" for t in types) + "}")
        else:
            lines.append(f"  {owner}:")
            lines += [f"    {t}: {_flow_value(draw)}" for t in types]
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_records_block())
def test_generated_blocks_same_bytes_either_way(block: str) -> None:
    text = HEAD + block
    if yaml_fmt.split(text) is None:
        return  # not the simple shape: only ruamel.yaml formats it
    try:
        slow = format_text(text, fast=False)
    except Exception:  # e.g. a duplicate key: ruamel refuses, and so must the fast path's caller
        pytest.fail(f"the fast path took a block ruamel.yaml refuses:\n{block}")
    assert format_text(text) == slow, block
