"""The JSON Schema for editors: valid zones pass, broken ones fail, and it agrees with the validator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from zonetool.cli import app
from zonetool.loader import has_errors, load_text
from zonetool.schema import SCHEMA

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "edit"
GOOD = [
    DATA / "commented.yaml",
    DATA / "messy.yaml",
    *sorted((ROOT / "zones").glob("**/*.yaml")),
    *sorted((ROOT / "examples").glob("**/*.yaml")),
]
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
BASE = "origin: example.org\nnameservers: [ns1.example.com.]\n"


def as_json(node: Any) -> Any:
    """What an editor validates: YAML with JSON's string keys (`null:` is the key "null")."""
    if isinstance(node, dict):
        return {json.dumps(k) if k is None or isinstance(k, bool) else str(k): as_json(v) for k, v in node.items()}
    if isinstance(node, list):
        return [as_json(v) for v in node]
    return node


def schema_errors(text: str) -> list[str]:
    data = as_json(YAML(typ="safe").load(text))
    return [e.message for e in VALIDATOR.iter_errors(data)]


def test_cli_prints_the_schema_and_it_is_a_valid_draft_2020_12_schema() -> None:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    printed: dict[str, Any] = json.loads(result.output)
    assert printed == SCHEMA
    jsonschema.Draft202012Validator.check_schema(printed)


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_every_example_zone_passes_schema_and_validator(path: Path) -> None:
    text = path.read_text()
    assert schema_errors(text) == []
    _, findings = load_text(text, str(path))
    assert not has_errors(findings), [f.format() for f in findings]


# Structural mistakes: each must be refused by the schema AND by the validator.
BAD = {
    "unknown top-level key": BASE + "mial: {exchangers: []}\n",
    "unknown key in soa": BASE + "soa: {primary: ns1.example.com., serail: 1}\n",
    "unknown key in exchanger": BASE + "mail: {exchangers: [{host: mx.example.com., priority: 1, prio: 2}]}\n",
    "exchanger without host": BASE + "mail: {exchangers: [{priority: 10}]}\n",
    "exchanger without priority": BASE + "mail: {exchangers: [{host: mx.example.com.}]}\n",
    "priority out of range": BASE + "mail: {exchangers: [{host: mx.example.com., priority: 70000}]}\n",
    "negative priority": BASE + "mail: {exchangers: [{host: mx.example.com., priority: -1}]}\n",
    "port out of range": BASE + "services: [{name: _x._tcp, targets: [{host: a.example.com., port: 65536}]}]\n",
    "weight is text": BASE + "mail: {exchangers: [{host: mx.example.com., priority: 1, weight: heavy}]}\n",
    "ttl is a list": BASE + "ttl: [1h]\n",
    "ttl has a bad unit": BASE + "ttl: 1y\n",
    "serial out of range": BASE + "soa: {serial: 4294967296}\n",
    "serial is a word": BASE + "soa: {serial: today}\n",
    "records is a list": BASE + "records: [www]\n",
    "services is a mapping": BASE + "services: {name: _x._tcp}\n",
    "SOA under records": BASE + "records: {'@': {SOA: 'a b 1 2 3 4 5'}}\n",
    "lower-case type key": BASE + "records: {www: {a: 192.0.2.1}}\n",
    "service without name": BASE + "services: [{targets: [{host: a.example.com., port: 1}]}]\n",
    "srv flag is text": BASE + "mail: {exchangers: [{host: mx.example.com., priority: 1}], srv: maybe}\n",
    "silence reason is empty": BASE + "silence: {spf-missing: ''}\n",
}


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
def test_schema_and_validator_agree_on_structural_errors(text: str) -> None:
    assert schema_errors(text), "the schema accepted it"
    _, findings = load_text(text, "bad.yaml")
    assert has_errors(findings), "the validator accepted it"
    placed = [f for f in findings if f.severity.value == "error"]
    assert all(f.where.line is not None for f in placed), [f.format() for f in placed]


def test_modeline_from_the_readme_is_a_comment_the_tools_accept() -> None:
    readme = (ROOT / "README.md").read_text()
    modeline = next(line for line in readme.splitlines() if line.startswith("# yaml-language-server: $schema="))
    text = modeline + "\n" + (DATA / "commented.yaml").read_text()
    assert schema_errors(text) == []
    _, findings = load_text(text, "z.yaml")
    assert not has_errors(findings)
