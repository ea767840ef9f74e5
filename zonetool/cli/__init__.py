"""Command-line interface: each command lives in its own module and registers on `app`."""

from __future__ import annotations

from zonetool.cli import app as _app
from zonetool.cli import bindfiles as _bindfiles  # noqa: F401
from zonetool.cli import dnssec as _dnssec  # noqa: F401
from zonetool.cli import edit as _edit  # noqa: F401
from zonetool.cli import examples as _examples  # noqa: F401
from zonetool.cli import push as _push  # noqa: F401
from zonetool.cli import route as _route  # noqa: F401
from zonetool.cli import rules as _rules  # noqa: F401
from zonetool.cli import serve as _serve  # noqa: F401

# Importing a command module registers its commands on the shared app.
from zonetool.cli import zones as _zones  # noqa: F401

app = _app.app


def main() -> None:
    _app.run()
