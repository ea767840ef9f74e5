"""`zonetool examples`: copy the bundled zones and the sender examples out of the installed package.

A wheel has no repository around it, so the zones `zonetool serve` serves by default and the
pytest examples of the README ship inside the package (zonetool.bundled, zonetool.examples).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zonetool.cli.app import EXIT_USAGE, app, fail

# in a wheel: zonetool/<package folder>; in a source checkout: the repository's own folder
FOLDERS = {"zones": ("bundled", "zones"), "examples": ("examples", "examples")}


def bundled_folder(kind: str) -> Path | None:
    """Where the installed zones or examples are: inside the package (a wheel), else the checkout."""
    import zonetool

    package_root = Path(zonetool.__file__).resolve().parent
    inside, checkout = FOLDERS[kind]
    for folder in (package_root / inside, package_root.parent / checkout):
        if folder.is_dir():
            return folder
    return None


def bundled(kind: str) -> list[tuple[str, bytes]]:
    """(file name, content) of the bundled zones or examples."""
    folder = bundled_folder(kind)
    if folder is None:
        return []
    return sorted((p.name, p.read_bytes()) for p in folder.iterdir()
                  if p.is_file() and p.suffix in (".yaml", ".py", ".md") and not p.name.startswith("__"))


@app.command("examples")
def examples(
    dest: Annotated[Path, typer.Argument(help="Folder to create (zones/ and examples/ inside).")] = Path(
        "zonetool-examples"
    ),
    force: Annotated[bool, typer.Option("--force", help="Replace files that exist.")] = False,
) -> None:
    """Copy the bundled zones and the pytest examples into DEST, to serve, read and run them."""
    from zonetool.atomic import write_atomic

    plan = [(dest / kind / name, data) for kind in FOLDERS for name, data in bundled(kind)]
    if not plan:
        fail("this installation has no bundled zones or examples", EXIT_USAGE)
    taken = [str(path) for path, _ in plan if path.exists()]
    if taken and not force:
        fail(f"{taken[0]}: exists; give --force to replace it ({len(taken)} file(s) would be replaced)", EXIT_USAGE)
    for path, data in plan:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    typer.echo(f"{len(plan)} files -> {dest}/ (zonetool serve {dest}/zones; pytest {dest}/examples)", err=True)
