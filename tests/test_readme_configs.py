"""Every configuration snippet the README shows is checked by the tool of the daemon it configures.

A snippet is a fenced block whose first line names its file (`# knot.conf`, `# nsd.conf`,
`// named.conf`, ...); issue 11 found the Knot one refused by `knotc conf-check`.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import require_tool

README = Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
# first-line file name -> (tool, arguments before the file, arguments after it)
CHECKERS: dict[str, tuple[str, list[str], list[str]]] = {
    "knot.conf": ("knotc", ["-c"], ["conf-check"]),
    "nsd.conf": ("nsd-checkconf", [], []),
    "named.conf": ("named-checkconf", [], []),
}


def snippets() -> list[tuple[str, str]]:
    found = []
    for block in FENCE.findall(README.read_text(encoding="utf-8")):
        first = block.split("\n", 1)[0]
        match = re.match(r"^(?:#|//)\s*(\S+\.(?:conf|cf))\b", first)
        if match:
            found.append((match.group(1), block))
    return found


def test_the_readme_shows_a_snippet_for_each_secondary() -> None:
    names = [name for name, _ in snippets()]
    assert {"knot.conf", "nsd.conf", "named.conf"} <= set(names)
    assert set(names) <= set(CHECKERS), f"a snippet no test checks: {set(names) - set(CHECKERS)}"


@pytest.mark.parametrize(("name", "text"), snippets(), ids=[n for n, _ in snippets()])
def test_snippet_passes_its_own_checker(name: str, text: str, tmp_path: Path) -> None:
    tool, before, after = CHECKERS[name]
    exe = require_tool(tool)
    path = tmp_path / name
    path.write_text(text)
    out = subprocess.run([exe, *before, str(path), *after], capture_output=True, text=True, timeout=60,
                         cwd=tmp_path)
    assert out.returncode == 0, f"{tool} refused the README's {name}:\n{out.stdout}{out.stderr}"
