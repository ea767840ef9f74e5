"""The package's shape: no import cycles among zonetool modules, no module over 800 lines.

Imports are read with `ast`, every one of them: at the top, inside functions, under
`if TYPE_CHECKING:`. A cycle held apart only by a late import is still a cycle: the two
modules cannot be understood (or tested, or moved) one without the other.

`python tests/test_structure.py` prints every strongly connected component and every module
over the limit.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "zonetool"
MAX_LINES = 800


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (packages by their __init__)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The zonetool modules `name` imports anywhere in its file."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                out.add(sub if sub in known else source)
    return {m for m in out if m in known and m != name}


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports_of(name, path, known) for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for v in sorted(edges):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return sorted(found)


def long_modules() -> Iterator[tuple[str, int]]:
    for name, path in modules().items():
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES:
            yield name, lines


def test_the_graph_sees_function_level_imports() -> None:
    """The reader itself: a late import counts (zonetool.cli.edit imports the edits in its commands)."""
    edges = graph()
    assert "zonetool.source.yaml_edit" in edges["zonetool.cli.edit"]
    assert "zonetool.source.yaml_doc" in edges["zonetool.cli.edit"]  # under TYPE_CHECKING
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_split_modules_import_one_way() -> None:
    """Issue 15: the edits and fmt stand on the document engine, never on each other; grading reads plans."""
    edges = graph()
    doc, edit, fmt = "zonetool.source.yaml_doc", "zonetool.source.yaml_edit", "zonetool.source.yaml_fmt"
    assert doc in edges[edit] and doc in edges[fmt]
    assert fmt not in edges[edit] and edit not in edges[fmt]
    assert not edges[doc] & {edit, fmt}
    assert "zonetool.harness.plan" in edges["zonetool.harness.grade"]
    assert "zonetool.harness.grade" not in edges["zonetool.harness.plan"]
    assert not edges["zonetool.rules.base"] - {"zonetool.findings", "zonetool.names", "zonetool.zone"}


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_no_module_over_800_lines() -> None:
    assert list(long_modules()) == []


if __name__ == "__main__":
    for component in cycles(graph()):
        print("cycle:", " <-> ".join(component))
    for name, lines in long_modules():
        print(f"long: {name} {lines} lines")
