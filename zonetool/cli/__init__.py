"""Command-line interface: each command lives in its own module and registers on `app`."""

from __future__ import annotations

from zonetool.cli import app as _app
from zonetool.cli import bindfiles as _bindfiles  # noqa: F401

# Importing a command module registers its commands on the shared app.
from zonetool.cli import zones as _zones  # noqa: F401

app = _app.app


def main() -> None:
    _app.run()
